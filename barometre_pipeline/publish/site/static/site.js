/* Barometre STOP Cyberviolences: filters, charts and tables of the static site.
 *
 * Reads window.BAROMETRE (assets/data.js: published aggregates only) and renders every
 * <section data-panel> of the page for the current filters. Every displayed figure carries the
 * key of the export row it comes from (data-key for `indicators`, data-effect-key for `effects`,
 * data-comparison-key for `comparisons`) so it can be traced and tested. Charts are Vega-Lite
 * specs rendered by the bundled vega-embed (assets/vega.js); each has a data table after it.
 * No network access: everything is in the page's folder.
 */
(function () {
  "use strict";

  var B = window.BAROMETRE;
  var LANG = document.documentElement.lang === "en" ? "en" : "fr";
  var T = B.i18n[LANG];
  var TOTAL = "_T";
  var DIMS = ["sex", "level", "age_band", "grade_group", "departement", "sector", "priority_education"];
  var FILTER_DIMS = { sex: "sex", level: "level", dep: "departement" };
  var NNBSP = "\u202f";
  var COLON = LANG === "fr" ? " : " : ": "; // French puts a space before ":"
  var MINUS = "\u2212";
  // Okabe-Ito palette (colour-blind safe); shapes and text labels are the second cue.
  var BLUE = "#0072B2", ORANGE = "#B35C00", GREEN = "#007A5E", GREY = "#595959", INK = "#1a1a1a";
  var SEQUENTIAL = ["#deebf7", "#9ecae1", "#4292c6", "#2171b5", "#08306b"];

  var state = { t: null, w: null, sex: TOTAL, level: TOTAL, dep: TOTAL };
  var views = []; // vega views to finalise before re-rendering

  /* ---------- data access ---------- */

  var pilotIndex = {};
  var pilotPeriods = {};
  B.rows.forEach(function (r) {
    if (r.f !== "pilot") { return; }
    pilotIndex[cellId(r.i, r.t, r.p, r)] = r;
    (pilotPeriods[r.t] = pilotPeriods[r.t] || {})[r.p] = true;
  });
  var rowsByKey = {};
  B.rows.forEach(function (r) { rowsByKey[r.k] = r; });

  function cellId(code, territory, period, dims) {
    return [code, territory, period].concat(DIMS.map(function (d) { return dims[d] || TOTAL; })).join("|");
  }

  function filterDims(ignore) {
    var dims = {};
    Object.keys(FILTER_DIMS).forEach(function (f) {
      var dim = FILTER_DIMS[f];
      dims[dim] = ignore && ignore.indexOf(dim) >= 0 ? TOTAL : state[f];
    });
    return dims;
  }

  function pilotRow(code, dims, territory, period) {
    return pilotIndex[cellId(code, territory || state.t, period || state.w, dims || filterDims())] || null;
  }

  function periods(territory) {
    return Object.keys(pilotPeriods[territory] || {}).sort();
  }

  function cellString(dims) {
    var parts = [];
    DIMS.forEach(function (d) { if (dims[d] && dims[d] !== TOTAL) { parts.push(d + "=" + dims[d]); } });
    return parts.length ? parts.join(";") : TOTAL;
  }

  /* ---------- formatting (same rules as publish/site/formatting.py) ---------- */

  function fixed(v, digits) {
    var text = Math.abs(v).toFixed(digits);
    if (LANG === "fr") { text = text.replace(".", ","); }
    var negative = v < 0 && Number(Math.abs(v).toFixed(digits)) !== 0;
    return (negative ? MINUS : "") + text;
  }
  function pct(v) {
    if (v === null || v === undefined) { return "–"; }
    return LANG === "fr" ? fixed(100 * v, 1) + NNBSP + "%" : fixed(100 * v, 1) + "%";
  }
  function count(v) {
    if (v === null || v === undefined) { return "–"; }
    var digits = String(Math.round(v)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return LANG === "fr" ? digits.replace(/,/g, NNBSP) : digits;
  }
  function ratio(v) { return v === null || v === undefined ? "–" : fixed(v, 2); }
  function points(v) {
    if (v === null || v === undefined) { return "–"; }
    var text = fixed(100 * v, 1);
    if (v > 0 && text !== "0,0" && text !== "0.0") { text = "+" + text; }
    return text + (LANG === "fr" ? " pt" : " pt");
  }
  function pvalue(v) {
    if (v === null || v === undefined) { return "–"; }
    if (v < 0.001) { return LANG === "fr" ? "< 0,001" : "< 0.001"; }
    return fixed(v, 3);
  }
  function value(v, unit) {
    if (unit === "proportion") { return pct(v); }
    if (v === null || v === undefined) { return "–"; }
    return Math.abs(v) >= 100 || Number.isInteger(v) ? count(v) : fixed(v, 2);
  }
  function interval(row) {
    return row.lo === null || row.hi === null ? "–" : value(row.lo, row.u) + " " + T.to + " " + value(row.hi, row.u);
  }
  function esc(text) {
    return String(text === null || text === undefined ? "" : text)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  function lab(entry, fallback) { return entry ? (entry[LANG] || entry.fr || fallback) : fallback; }
  // An indicator worded per territory (the helpline each territory asked about) reads its own
  // label where one territory is shown; the general label elsewhere.
  function indicatorLabel(code, t) {
    var entry = B.indicators[code];
    return lab(entry && t && entry.territories && entry.territories[t] || entry, code);
  }
  function dimLabel(dim, code) { return lab((B.dimensions[dim] || {})[code], code); }
  function territoryLabel(code) { return lab(B.territories[code], code); }
  function reason(row, short) {
    var entry = B.reasons[row.w] || {};
    return (short ? entry[LANG + "_short"] : entry[LANG]) || T.withheld;
  }
  function withheldText(row, short) { return T.withheld + COLON + reason(row, short); }
  function reliabilityNote(row) { return row && B.reliability[row.r] ? B.reliability[row.r][LANG] : ""; }

  /* ---------- table cells carrying their export key ---------- */

  function figureCells(row, missingLabel) {
    if (!row) {
      return '<td class="missing" colspan="3">' + esc(missingLabel || T.not_available) + "</td>";
    }
    if (row.e === null) {
      return '<td class="withheld" colspan="3"><span class="withheld-mark" aria-hidden="true">▨ </span>' +
        '<span class="fig" data-key="' + esc(row.k) + '" data-field="estimate">' + esc(withheldText(row)) + "</span></td>";
    }
    return '<td class="fig num" data-key="' + esc(row.k) + '" data-field="estimate">' + esc(value(row.e, row.u)) + "</td>" +
      '<td class="fig num" data-key="' + esc(row.k) + '" data-field="ci">' + esc(interval(row)) + "</td>" +
      '<td class="fig num" data-key="' + esc(row.k) + '" data-field="n">' + esc(count(row.n)) + "</td>";
  }

  function figureTable(caption, items, firstHeader) {
    var head = "<tr><th scope=\"col\">" + esc(firstHeader || T.col_category) + "</th><th scope=\"col\">" + esc(T.col_estimate) +
      "</th><th scope=\"col\">" + esc(T.col_interval) + "</th><th scope=\"col\">" + esc(T.col_n) + "</th><th scope=\"col\">" + esc(T.col_note) + "</th></tr>";
    var body = items.map(function (it) {
      return "<tr><th scope=\"row\">" + esc(it.label) + "</th>" + figureCells(it.row) + "<td>" + esc(reliabilityNote(it.row)) + "</td></tr>";
    }).join("");
    return tableWrap(caption, head, body);
  }

  // A wide table scrolls inside its own box (never the page); the box takes keyboard focus so it
  // can be scrolled without a mouse.
  function tableWrap(caption, head, body) {
    return '<div class="table-wrap" tabindex="0" role="region" aria-label="' + esc(caption) + '"><table><caption>' + esc(caption) + "</caption><thead>" + head +
      "</thead><tbody>" + body + "</tbody></table></div>";
  }

  /* ---------- Vega-Lite ---------- */

  var VEGA_CONFIG = {
    font: "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
    aria: false,
    background: null,
    view: { stroke: null },
    axis: {
      labelFontSize: 12, titleFontSize: 12, labelColor: INK, titleColor: INK, titleFontWeight: "normal",
      gridColor: "#cccccc", domainColor: GREY, tickColor: GREY, labelLimit: 0
    },
    legend: { labelFontSize: 12, titleFontSize: 12, labelColor: INK, titleColor: INK, orient: "bottom", labelLimit: 0 },
    text: { fontSize: 12, color: INK },
    title: { fontSize: 13 }
  };

  function wrap(text, width) {
    var max = Math.max(12, Math.floor(width / 7.2));
    var words = String(text).split(/\s+/), lines = [], line = "";
    words.forEach(function (word) {
      if ((line + " " + word).trim().length > max && line) { lines.push(line); line = word; } else { line = (line + " " + word).trim(); }
    });
    if (line) { lines.push(line); }
    return lines;
  }

  function narrow(container) { return (container.clientWidth || 600) < 520; }

  // Vega does not wrap titles: split them into lines that fit the chart's width.
  function axisTitle(text, container) {
    var lines = wrap(text, Math.max(160, (container.clientWidth || 600) - labelWidth(container) - 30));
    return lines.length > 1 ? lines : text;
  }

  // Two rows may read the same (one reference beside two pilot cells): invisible zero-width
  // spaces keep them apart on the band scale without changing what is read.
  function unique(index) { return new Array(index + 1).join("\u200b"); }

  function labelWidth(container) {
    var width = container.clientWidth || 600;
    return width < 520 ? Math.round(width * 0.42) : Math.min(260, Math.round(width * 0.34));
  }

  // Upper end of a proportion axis: room right of the highest whisker for its value label
  // (about 55 px), whatever the plot's width.
  function niceMax(max, container) {
    var plot = Math.max(120, ((container && container.clientWidth) || 600) - labelWidth(container || {}) - 20);
    var headroom = 1 + 55 / plot;
    var step = max * headroom > 0.5 ? 0.1 : 0.05;
    return Math.min(1, Math.max(step, Math.ceil((max * headroom) / step) * step));
  }

  // Horizontal interval chart: bar (or point) = estimate, black rule = 95 % interval.
  function intervalSpec(items, opts, container) {
    var lw = labelWidth(container);
    var lines = 1;
    var values = items.map(function (it, index) {
      var wrapped = wrap(it.label, lw);
      lines = Math.max(lines, wrapped.length);
      var r = it.row, ok = r && r.e !== null;
      return {
        order: index, label: wrapped.join("\n") + unique(index), fullLabel: it.label,
        e: ok ? r.e : null, lo: ok ? r.lo : null, hi: ok ? r.hi : null,
        textX: ok ? (r.hi !== null ? r.hi : r.e) : 0,
        // A caution or unreliable estimate keeps its bar but its label carries a warning sign
        // (the table's note column says why).
        text: ok ? pct(r.e) + (reliabilityNote(r) ? " ⚠" : "") : (r ? withheldText(r, true) : T.not_available),
        ci: ok ? T.interval + " " + pct(r.lo) + " " + T.to + " " + pct(r.hi) : "",
        n: ok ? "n = " + count(r.n) : "",
        status: ok ? "ok" : (r ? "withheld" : "missing")
      };
    });
    var x = { type: "quantitative", scale: { domain: [0, opts.max] },
      axis: { format: ".0%", title: axisTitle(T.axis_percent, container), grid: true, tickCount: narrow(container) ? 3 : 5, titlePadding: 8 } };
    var y = { field: "label", type: "nominal", sort: { field: "order", op: "min" },
      axis: { title: null, labelExpr: "split(datum.label, '\\n')", labelFontSize: 12, labelPadding: 6 } };
    return {
      width: "container",
      height: { step: Math.max(30, 15 * lines + 14) },
      config: VEGA_CONFIG,
      data: { values: values },
      encoding: { y: y },
      layer: [
        { transform: [{ filter: "datum.e !== null" }], mark: { type: "bar", color: opts.color || BLUE, height: { band: 0.55 } },
          encoding: { x: Object.assign({ field: "e" }, x),
            tooltip: [{ field: "fullLabel", title: " " }, { field: "text", title: T.col_estimate }, { field: "ci", title: T.interval }, { field: "n", title: "n" }] } },
        { transform: [{ filter: "datum.lo !== null" }], mark: { type: "rule", color: INK, strokeWidth: 2 },
          encoding: { x: { field: "lo", type: "quantitative" }, x2: { field: "hi" } } },
        { transform: [{ filter: "datum.lo !== null" }], mark: { type: "tick", color: INK, thickness: 2, size: 10 },
          encoding: { x: { field: "lo", type: "quantitative" } } },
        { transform: [{ filter: "datum.hi !== null" }], mark: { type: "tick", color: INK, thickness: 2, size: 10 },
          encoding: { x: { field: "hi", type: "quantitative" } } },
        { mark: { type: "text", align: "left", dx: 6, baseline: "middle", fontSize: 12 },
          encoding: { x: { field: "textX", type: "quantitative" }, text: { field: "text" } } }
      ]
    };
  }

  // Point-and-interval chart on a ratio (log) or points scale, with a reference line.
  function effectSpec(items, scale, container) {
    var lw = labelWidth(container);
    var lines = 1;
    var values = items.map(function (it, index) {
      var wrapped = wrap(it.label, lw);
      lines = Math.max(lines, wrapped.length);
      return { order: index, label: wrapped.join("\n") + unique(index), fullLabel: it.label, e: it.e, lo: it.lo, hi: it.hi,
        kind: it.kind || T.pilot, text: it.text, textX: it.hi !== null && it.hi !== undefined ? it.hi : it.e };
    }).filter(function (v) { return v.e !== null && v.e !== undefined; });
    if (!values.length) { return null; }
    var isRatio = scale === "ratio";
    var lo = Math.min.apply(null, values.map(function (v) { return v.lo !== null ? v.lo : v.e; }).concat(isRatio ? [0.8] : [-0.05]));
    var hi = Math.max.apply(null, values.map(function (v) { return v.hi !== null ? v.hi : v.e; }).concat(isRatio ? [1.25] : [0.05]));
    var domain = isRatio ? [Math.max(0.05, lo / 1.15), hi * 1.6] : [Math.floor((lo - 0.02) * 20) / 20, Math.ceil((hi + 0.06) * 20) / 20];
    var x = { type: "quantitative", scale: isRatio ? { type: "log", domain: domain } : { domain: domain, zero: false },
      axis: { title: axisTitle(isRatio ? T.axis_or : T.axis_points, container), grid: true, tickCount: narrow(container) ? 3 : 5, format: isRatio ? "~g" : "+.0%", titlePadding: 8 } };
    return {
      width: "container",
      height: { step: Math.max(30, 15 * lines + 14) },
      config: VEGA_CONFIG,
      data: { values: values },
      encoding: { y: { field: "label", type: "nominal", sort: { field: "order", op: "min" },
        axis: { title: null, labelExpr: "split(datum.label, '\\n')", labelPadding: 6 } } },
      layer: [
        { data: { values: [{ ref: isRatio ? 1 : 0 }] }, mark: { type: "rule", color: GREY, strokeDash: [4, 3] },
          encoding: { x: Object.assign({ field: "ref" }, x), y: null } },
        { mark: { type: "rule", color: INK, strokeWidth: 2 }, transform: [{ filter: "datum.lo !== null" }],
          encoding: { x: Object.assign({ field: "lo" }, x), x2: { field: "hi" } } },
        { mark: { type: "point", filled: true, size: 90, opacity: 1 },
          encoding: { x: Object.assign({ field: "e" }, x),
            shape: { field: "kind", type: "nominal", scale: { range: ["circle", "diamond"] }, legend: { title: null } },
            color: { field: "kind", type: "nominal", scale: { range: [BLUE, ORANGE] }, legend: { title: null } },
            tooltip: [{ field: "fullLabel", title: " " }, { field: "text", title: T.col_estimate }] } },
        { mark: { type: "text", align: "left", dx: 6, baseline: "middle" },
          encoding: { x: Object.assign({ field: "textX" }, x), text: { field: "text" } } }
      ]
    };
  }

  function chartBlock(panel, spec, index) {
    var id = panel.id + "-chart-" + (index || 0);
    return '<div class="chart" id="' + esc(id) + '" role="img" aria-label="' + esc(panel.title + ". " + T.chart_alt) + '" data-spec-index="' + (index || 0) + '"></div>';
  }

  function embed(container, spec) {
    if (!spec || !window.vegaEmbed) { return Promise.resolve(); }
    return window.vegaEmbed(container, spec, { actions: false, renderer: "svg" }).then(function (result) {
      views.push(result.view);
      // The container (role="img", aria-label) and the data table after it are the text
      // alternative; the drawing itself is hidden from assistive technology.
      var svg = container.querySelector("svg");
      if (svg) { svg.setAttribute("aria-hidden", "true"); svg.setAttribute("focusable", "false"); }
    }).catch(function (error) {
      container.textContent = String(error);
      throw error;
    });
  }

  /* ---------- panels ---------- */

  function ignoredNote(names) {
    if (!names.length) { return ""; }
    return T.filter_ignored + " " + names.join(", ") + ".";
  }

  function activeFilterNames(dims) {
    var names = [];
    Object.keys(FILTER_DIMS).forEach(function (f) {
      if (state[f] !== TOTAL && dims.indexOf(FILTER_DIMS[f]) >= 0) { names.push(T[f === "dep" ? "departement" : f]); }
    });
    return names;
  }

  var render = {};

  render.headline = function (panel) {
    var code = panel.codes[0];
    var row = pilotRow(code);
    var html = '<div class="headline">';
    if (!row) {
      html += '<p class="headline-missing">' + esc(T.not_available) + "</p>";
    } else if (row.e === null) {
      html += '<p class="headline-value fig withheld" data-key="' + esc(row.k) + '" data-field="estimate">' + esc(withheldText(row)) + "</p>";
    } else {
      html += '<p class="headline-value"><span class="fig" data-key="' + esc(row.k) + '" data-field="estimate">' + esc(pct(row.e)) + "</span></p>" +
        '<p class="headline-label">' + esc(indicatorLabel(code, state.t)) + " — " + esc(territoryLabel(state.t)) + ", " + esc(state.w) + "</p>" +
        "<p>" + esc(T.col_interval + COLON) + '<span class="fig" data-key="' + esc(row.k) + '" data-field="ci">' + esc(pct(row.lo) + " " + T.to + " " + pct(row.hi)) + "</span> · " +
        '<span class="fig" data-key="' + esc(row.k) + '" data-field="n">' + esc(count(row.n)) + "</span> " + esc(T.respondents) + "</p>";
      if (reliabilityNote(row)) { html += '<p class="caution">⚠ ' + esc(reliabilityNote(row)) + "</p>"; }
    }
    var change = waveChange(code, filterDims());
    html += '<p class="headline-change">' + change + "</p></div>";
    return { html: html };
  };

  function waveChange(code, dims) {
    var list = periods(state.t);
    var position = list.indexOf(state.w);
    if (position <= 0) {
      return esc(T.change_since + COLON + (LANG === "fr" ? "première vague publiée." : "first published wave."));
    }
    var label = list[position - 1] + "/" + state.w;
    var effect = B.effects.filter(function (e) {
      return e.c === "PILOT_WAVE_DIFF_" + code && e.t === state.t && e.p === label && e.cell === cellString(dims);
    })[0];
    if (!effect || effect.e === null) {
      return esc(T.change_since + " (" + list[position - 1] + ")" + COLON + T.not_available + ".");
    }
    return esc(T.change_since + " (" + list[position - 1] + ")" + COLON) +
      '<span class="fig-effect" data-effect-key="' + esc(effect.k) + '">' + esc(points(effect.e)) + "</span> (" +
      esc(T.interval + " " + points(effect.lo) + " " + T.to + " " + points(effect.hi)) + ") — " + esc(verdictOfEffect(effect)) + ".";
  }

  function hasQ(e) { return e.qv !== null && e.qv !== undefined; }

  // "Significant" is the export's verdict on the q-value; without a q-value a p below 0.05 is
  // reported as such, uncorrected for the many tests, never as a significant change.
  function significance(e) {
    if (hasQ(e)) { return e.sig ? T.significant : T.not_significant; }
    return e.pv !== null && e.pv !== undefined && e.pv < 0.05 ? T.significant_uncorrected : T.not_significant;
  }

  function verdictOfEffect(e) {
    var q = hasQ(e) ? ", q = " + pvalue(e.qv) : "";
    return significance(e) + " (p = " + pvalue(e.pv) + q + ")";
  }

  render.bars = function (panel, container) {
    var items = panel.codes.map(function (code) { return { label: indicatorLabel(code, state.t), row: pilotRow(code), code: code }; });
    if (panel.sort) {
      items.sort(function (a, b) {
        var av = a.row && a.row.e !== null ? a.row.e : -1, bv = b.row && b.row.e !== null ? b.row.e : -1;
        return bv - av;
      });
    }
    return { items: items, spec: function (max) { return intervalSpec(items, { max: max }, container); },
      table: figureTable(panel.title, items, T.col_indicator) };
  };

  // One indicator split by one dimension; the panel's own dimension ignores its filter.
  render.breakdown = function (panel, container) {
    var code = panel.codes[0], by = panel.by;
    var codes = Object.keys(B.dimensions[by] || {}).filter(function (c) { return c !== TOTAL && c !== "_U"; });
    if (by === "level") { codes = codes.filter(function (c) { return levelFits(c); }); }
    var ignore = [by];
    var dims = filterDims(ignore);
    var found = codes.some(function (c) { var d = Object.assign({}, dims); d[by] = c; return pilotRow(code, d); });
    var note = [];
    if (!found) {
      note = activeFilterNames(["sex", "level", "departement"].filter(function (d) { return d !== by; }));
      dims = filterDims(["sex", "level", "departement"]);
    }
    note = activeFilterNames([by]).concat(note);
    var items = [];
    codes.forEach(function (c) {
      var d = Object.assign({}, dims); d[by] = c;
      var row = pilotRow(code, d);
      if (row) { items.push({ label: dimLabel(by, c), row: row }); }
    });
    if (panel.rank) {
      items.sort(function (a, b) { return (b.row.e === null ? -1 : b.row.e) - (a.row.e === null ? -1 : a.row.e); });
    }
    if (!items.length) {
      return { html: '<p class="missing">' + esc(T.not_available) + "</p>", note: ignoredNote(note) };
    }
    return { items: items, note: ignoredNote(note), spec: function (max) { return intervalSpec(items, { max: max }, container); },
      table: figureTable(panel.title + " — " + indicatorLabel(code, state.t), items, T.col_category) };
  };

  function levelFits(level) {
    var info = B.levels[level] || {};
    var system = state.t === "CA-QC" ? "QC" : "FR";
    return info.system === system;
  }

  // Indicators published by sex × level: the heat table's indicator menu.
  var crossedCodes = {};
  B.rows.forEach(function (r) { if (r.f === "pilot" && r.b === "sex×level") { crossedCodes[r.i] = true; } });
  var heatCode = null;

  function heatMenu(code) {
    var codes = Object.keys(B.indicators).filter(function (c) { return crossedCodes[c]; });
    return '<div class="panel-control"><label for="heat-code">' + esc(T.col_indicator) + '</label><select id="heat-code">' +
      codes.map(function (c) {
        return '<option value="' + esc(c) + '"' + (c === code ? " selected" : "") + ">" + esc(indicatorLabel(c, state.t)) + "</option>";
      }).join("") + "</select></div>";
  }

  render.heat = function (panel) {
    var code = heatCode && crossedCodes[heatCode] ? heatCode : panel.codes[0];
    var levels = Object.keys(B.levels).filter(levelFits).sort(function (a, b) { return B.levels[a].order - B.levels[b].order; });
    var sexes = ["F", "M", "X", TOTAL];
    var values = [];
    var grid = levels.concat([TOTAL]).map(function (level) {
      return sexes.map(function (sex) {
        var dims = { sex: sex, level: level, departement: TOTAL };
        var row = pilotRow(code, dims);
        if (row && row.e !== null) { values.push(row.e); }
        return row;
      });
    });
    var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values);
    function colour(v) {
      if (hi <= lo) { return 2; }
      return Math.min(4, Math.floor(((v - lo) / (hi - lo)) * 5));
    }
    var head = "<tr><th scope=\"col\">" + esc(T.level) + " \\ " + esc(T.sex) + "</th>" +
      sexes.map(function (s) { return "<th scope=\"col\">" + esc(dimLabel("sex", s)) + "</th>"; }).join("") + "</tr>";
    var body = grid.map(function (cells, i) {
      var level = i < levels.length ? levels[i] : TOTAL;
      return "<tr><th scope=\"row\">" + esc(dimLabel("level", level)) + "</th>" + cells.map(function (row) {
        if (!row) { return '<td class="missing">–</td>'; }
        if (row.e === null) {
          return '<td class="withheld heat-withheld"><span class="fig" data-key="' + esc(row.k) + '" data-field="estimate">' + esc(withheldText(row, true)) + "</span></td>";
        }
        var bin = colour(row.e);
        return '<td class="heat heat-' + bin + '"><span class="fig" data-key="' + esc(row.k) + '" data-field="estimate">' + esc(pct(row.e)) + "</span>" +
          '<span class="heat-ci fig" data-key="' + esc(row.k) + '" data-field="ci">' + esc(interval(row)) + "</span>" +
          '<span class="heat-ci">n = <span class="fig" data-key="' + esc(row.k) + '" data-field="n">' + esc(count(row.n)) + "</span></span></td>";
      }).join("") + "</tr>";
    }).join("");
    var legend = '<p class="heat-legend">' + (LANG === "fr" ? "Plus la case est foncée, plus la part est élevée ; la valeur est écrite dans chaque case, avec son intervalle de confiance à 95 %. Case hachurée : non publiée, avec sa raison." :
      "The darker the cell, the higher the share; each cell shows its value and 95% confidence interval. Hatched cell: withheld, with its reason.") + "</p>";
    var note = ignoredNote(activeFilterNames(["sex", "level"]));
    return { html: heatMenu(code) + tableWrap(panel.title + " — " + indicatorLabel(code, state.t) + " (" + territoryLabel(state.t) + ", " + state.w + ")", head, body) + legend, note: note };
  };

  render.map = function (panel, container, section) {
    var code = panel.codes[0];
    var note = activeFilterNames(["sex", "level", "departement"]);
    var items = [];
    var values = [];
    B.departements.forEach(function (d) {
      var row = state.t === "FR-OT" ? pilotRow(code, { sex: TOTAL, level: TOTAL, departement: d.code }) : null;
      items.push({ label: d.name + " (" + d.code + ")", row: row, code: d.code });
      if (row && row.e !== null) { values.push(row.e); }
    });
    var lo = Math.min.apply(null, values), hi = Math.max.apply(null, values);
    var breaks = [];
    for (var i = 1; i < 5; i++) { breaks.push(lo + ((hi - lo) * i) / 5); }
    function bin(v) { var b = 0; breaks.forEach(function (x) { if (v >= x) { b += 1; } }); return b; }
    var info = section.querySelector(".map-info");
    items.forEach(function (it) {
      var path = section.querySelector('path[data-dep="' + it.code + '"]');
      var text = section.querySelector('text[data-dep-label="' + it.code + '"]');
      var description;
      path.removeAttribute("data-key");
      if (!it.row) {
        path.setAttribute("fill", "#f0f0f0");
        description = it.label + COLON + T.not_available;
        text.textContent = "–";
        text.setAttribute("class", "dep-label");
      } else if (it.row.e === null) {
        path.setAttribute("fill", "url(#hatch)");
        description = it.label + COLON + withheldText(it.row);
        text.textContent = T.withheld;
        text.setAttribute("class", "dep-label on-hatch");
        path.setAttribute("data-key", it.row.k);
      } else {
        var b = bin(it.row.e);
        path.setAttribute("fill", SEQUENTIAL[b]);
        description = it.label + COLON + pct(it.row.e) + ", " + T.interval + " " + pct(it.row.lo) + " " + T.to + " " + pct(it.row.hi) + ", n = " + count(it.row.n);
        text.textContent = pct(it.row.e);
        text.setAttribute("class", "dep-label" + (b >= 3 ? " on-dark" : ""));
        path.setAttribute("data-key", it.row.k);
      }
      path.setAttribute("aria-label", description);
      path.querySelector("title").textContent = description;
      var show = function () { info.textContent = description; };
      path.onfocus = show; path.onmouseenter = show;
    });
    info.textContent = state.t === "FR-OT" ? T.map_focus_hint : (LANG === "fr" ? "La carte porte sur l'académie d'Orléans-Tours : choisissez ce territoire." : "The map covers Orléans-Tours: choose that territory.");
    var legend = section.querySelector(".map-legend");
    if (values.length) {
      var edges = [lo].concat(breaks).concat([hi]);
      legend.innerHTML = '<p class="legend-title">' + esc(T.map_legend) + "</p><ul>" + SEQUENTIAL.map(function (c, k) {
        return '<li><span class="swatch" style="background:' + c + '"></span>' + esc(pct(edges[k]) + " – " + pct(edges[k + 1])) + "</li>";
      }).join("") + '<li><span class="swatch hatched"></span>' + esc(T.withheld) + "</li></ul>";
    } else {
      legend.innerHTML = "";
    }
    return { html: figureTable(panel.title, items, T.departement), note: ignoredNote(note) };
  };

  render.regions = function (panel, container) {
    var code = panel.codes[0];
    var rows = B.rows.filter(function (r) {
      return r.f === "pilot" && r.i === code && r.p === state.w && r.t.indexOf(state.t + "-") === 0 &&
        DIMS.every(function (d) { return r[d] === TOTAL; });
    });
    if (state.t !== "CA-QC") { return { html: '<p class="muted">' + esc(T.regions_fr) + "</p>" }; }
    if (!rows.length) { return { html: '<p class="notice">' + esc(T.regions_none) + "</p>" }; }
    var items = rows.map(function (r) { return { label: territoryLabel(r.t), row: r }; });
    items.sort(function (a, b) { return (b.row.e || -1) - (a.row.e || -1); });
    return { items: items, spec: function (max) { return intervalSpec(items, { max: max }, container); }, table: figureTable(panel.title, items, T.territory) };
  };

  render.territories = function (panel, container) {
    var dims = filterDims(["level", "departement"]);
    var items = [];
    panel.codes.forEach(function (code) {
      B.pilotTerritories.forEach(function (t) {
        var period = pilotPeriods[t] && pilotPeriods[t][state.w] ? state.w : periods(t).slice(-1)[0];
        items.push({ label: indicatorLabel(code, t) + " — " + territoryLabel(t) + " " + period, row: pilotRow(code, dims, t, period) });
      });
    });
    return { items: items, note: ignoredNote(activeFilterNames(["level", "departement"])),
      spec: function (max) { return intervalSpec(items, { max: max }, container); }, table: figureTable(panel.title, items, T.col_indicator) };
  };

  function effectLabel(e) {
    var exposure = lab(B.exposures[e.x], e.x);
    var outcome = lab(B.outcomes[e.o], null) || indicatorLabel(e.o, e.t);
    return exposure + " → " + outcome;
  }

  function effectText(e) {
    if (e.e === null) { return T.withheld; }
    return isRatio(e.m) ? ratio(e.e) : points(e.e);
  }
  function effectCI(e) {
    if (e.lo === null) { return "–"; }
    return isRatio(e.m) ? ratio(e.lo) + " " + T.to + " " + ratio(e.hi) : points(e.lo) + " " + T.to + " " + points(e.hi);
  }
  function isRatio(m) { return m === "adjusted_odds_ratio" || m === "odds_ratio"; }

  function effectRowsHtml(list, withInterpretation) {
    return list.map(function (e) {
      var interp = LANG === "fr" && e.txt ? e.txt : englishReading(e);
      return "<tr><th scope=\"row\">" + esc(effectLabel(e)) + "</th><td>" + esc(lab(B.measures[e.m], e.m)) + "</td>" +
        '<td class="fig-effect num" data-effect-key="' + esc(e.k) + '">' + esc(effectText(e)) + "</td><td class=\"num\">" + esc(effectCI(e)) + "</td>" +
        "<td class=\"num\">" + esc(pvalue(e.pv)) + "</td><td class=\"num\">" + esc(pvalue(e.qv)) + "</td>" +
        (withInterpretation ? "<td>" + esc(interp) + "</td>" : "") + "</tr>";
    }).join("");
  }

  function englishReading(e) {
    if (e.e === null) { return ""; }
    var what = isRatio(e.m) ? "odds ratio " + ratio(e.e) : points(e.e);
    return (e.en || effectLabel(e)) + ": " + what + " (95% CI " + effectCI(e) + "); " +
      (hasQ(e) ? (e.sig ? "statistically significant" : "not statistically significant")
        : (e.pv !== null && e.pv < 0.05 ? "p below 0.05 (not corrected for multiple tests)" : "not statistically significant")) +
      " — an association, not proof of an effect.";
  }

  function effectsHead(withInterpretation) {
    return "<tr><th scope=\"col\">" + esc(T.col_category) + "</th><th scope=\"col\">" + esc(T.col_measure) + "</th><th scope=\"col\">" + esc(T.col_estimate) +
      "</th><th scope=\"col\">" + esc(T.col_interval) + "</th><th scope=\"col\">" + esc(T.col_p) + "</th><th scope=\"col\">" + esc(T.col_q) + "</th>" +
      (withInterpretation ? "<th scope=\"col\">" + esc(T.col_interpretation) + "</th>" : "") + "</tr>";
  }

  function periodMatches(e, all) {
    if (e.p === state.w) { return true; }
    return all && e.p.split("/").indexOf(state.w) >= 0;
  }

  render.forest = function (panel, container) {
    var list = B.effects.filter(function (e) {
      return e.f === "pilot" && e.t === state.t && e.p === state.w && e.m === "adjusted_odds_ratio" && e.o === panel.codes[0] && e.cell === TOTAL;
    });
    list.sort(function (a, b) { return (b.e || 0) - (a.e || 0); });
    if (!list.length) { return { html: '<p class="missing">' + esc(T.not_available) + "</p>" }; }
    var items = list.map(function (e) { return { label: lab(B.exposures[e.x], e.x), e: e.e, lo: e.lo, hi: e.hi, text: ratio(e.e), kind: T.pilot }; });
    return { note: ignoredNote(activeFilterNames(["sex", "level", "departement"])),
      ownSpec: effectSpec(items, "ratio", container), table: tableWrap(panel.title, effectsHead(false), effectRowsHtml(list, false)) };
  };

  render.effects = function (panel, container) {
    var list = B.effects.filter(function (e) {
      return e.f === "pilot" && e.t === state.t && periodMatches(e, panel.allPeriods) && e.cell === TOTAL &&
        (!panel.measures || panel.measures.indexOf(e.m) >= 0) && (!panel.exposures || panel.exposures.indexOf(e.x) >= 0) &&
        (!panel.outcomes || panel.outcomes.indexOf(e.o) >= 0);
    });
    if (!list.length) { return { html: '<p class="missing">' + esc(T.not_available) + "</p>" }; }
    var specs = [];
    ["points", "ratio"].forEach(function (scale) {
      var part = list.filter(function (e) { return (scale === "ratio") === isRatio(e.m); });
      if (!part.length) { return; }
      var items = part.map(function (e) {
        var label = effectLabel(e) + (e.m === "difference_in_differences" ? " (" + lab(B.measures[e.m], e.m) + ", " + e.p + ")" : "");
        return { label: label, e: e.e, lo: e.lo, hi: e.hi, text: effectText(e), kind: T.pilot };
      });
      if (panel.counterparts && scale === "ratio") {
        part.forEach(function (e) {
          counterparts(e).forEach(function (c) {
            items.push({ label: lab({ fr: c.fr, en: c.en || c.fr }, c.c), e: c.e, lo: c.lo, hi: c.hi, text: ratio(c.e), kind: T.reference });
          });
        });
      }
      specs.push(effectSpec(items, scale, container));
    });
    var html = tableWrap(panel.title, effectsHead(true), effectRowsHtml(list, true));
    if (panel.counterparts) {
      var cps = [];
      list.forEach(function (e) { counterparts(e).forEach(function (c) { if (cps.indexOf(c) < 0) { cps.push(c); } }); });
      if (cps.length) {
        html += tableWrap(T.counterparts, "<tr><th scope=\"col\">" + esc(T.col_source) + "</th><th scope=\"col\">" + esc(T.col_measure) + "</th><th scope=\"col\">" +
          esc(T.col_estimate) + "</th><th scope=\"col\">" + esc(T.col_interval) + "</th></tr>",
          cps.map(function (c) {
            return "<tr><th scope=\"row\">" + esc(LANG === "fr" ? c.fr : (c.en || c.fr)) + "</th><td>" + esc(lab(B.measures[c.m], c.m)) + "</td>" +
              '<td class="fig-effect num" data-effect-key="' + esc(c.k) + '">' + esc(effectText(c)) + "</td><td class=\"num\">" + esc(effectCI(c)) + "</td></tr>";
          }).join(""));
      }
    }
    return { note: ignoredNote(activeFilterNames(["sex", "level", "departement"])), ownSpecs: specs, table: html };
  };

  function counterparts(e) {
    if (!e.cp) { return []; }
    var codes = e.cp.split(";");
    return B.effects.filter(function (c) { return c.f !== "pilot" && codes.indexOf(c.c) >= 0; });
  }

  render.waves = function (panel, container) {
    var code = panel.codes[0];
    var list = periods(state.t);
    var items = list.map(function (p) { return { label: (LANG === "fr" ? "Vague " : "Wave ") + p, row: pilotRow(code, filterDims(), state.t, p) }; });
    var html = "";
    if (list.length < 2) { html = '<p class="notice">' + esc(T.waves_none) + "</p>"; }
    var change = list.length >= 2 ? '<p class="headline-change">' + waveChangeFor(code, list) + "</p>" : "";
    return { items: items, spec: function (max) { return intervalSpec(items, { max: max }, container); },
      table: figureTable(panel.title + " — " + territoryLabel(state.t), items, T.col_wave) + change + html };
  };

  function waveChangeFor(code, list) {
    var saved = state.w;
    state.w = list[list.length - 1];
    var text = waveChange(code, filterDims());
    state.w = saved;
    return text;
  }

  render.wavechanges = function (panel) {
    var cell = cellString(filterDims());
    var list = B.effects.filter(function (e) { return e.f === "pilot" && e.t === state.t && e.x === "wave" && e.cell === cell; });
    if (!list.length) { return { html: '<p class="missing">' + esc(T.not_available) + "</p>" }; }
    list.sort(function (a, b) {
      var qa = hasQ(a) ? a.qv : 2, qb = hasQ(b) ? b.qv : 2;
      return qa !== qb ? qa - qb : (a.pv === null ? 2 : a.pv) - (b.pv === null ? 2 : b.pv);
    });
    var head = "<tr><th scope=\"col\">" + esc(T.col_indicator) + "</th><th scope=\"col\">" + esc(T.col_wave) + "</th><th scope=\"col\">" + esc(T.col_difference) +
      "</th><th scope=\"col\">" + esc(T.col_interval) + "</th><th scope=\"col\">" + esc(T.col_p) + "</th><th scope=\"col\">" + esc(T.col_q) + "</th><th scope=\"col\">" + esc(T.col_verdict) + "</th></tr>";
    var body = list.map(function (e) {
      return "<tr><th scope=\"row\">" + esc(indicatorLabel(e.o, e.t)) + "</th><td>" + esc(e.p.replace("/", " → ")) + "</td>" +
        '<td class="fig-effect num" data-effect-key="' + esc(e.k) + '">' + esc(effectText(e)) + "</td><td class=\"num\">" + esc(effectCI(e)) + "</td>" +
        "<td class=\"num\">" + esc(pvalue(e.pv)) + "</td><td class=\"num\">" + esc(pvalue(e.qv)) + "</td><td>" +
        (hasQ(e) && e.sig ? "<strong>" + esc(T.significant) + "</strong>" : esc(significance(e))) + "</td></tr>";
    }).join("");
    return { html: tableWrap(panel.title + " — " + territoryLabel(state.t), head, body) };
  };

  function comparisonPilotRow(c) {
    var dims = { sex: c.sex, grade_group: c.grade_group };
    return pilotIndex[cellId(c.i, c.t, c.p, dims)] || null;
  }

  function population(c) {
    var parts = [];
    if (c.sex !== TOTAL) { parts.push(dimLabel("sex", c.sex)); }
    if (c.grade_group !== TOTAL) { parts.push(gradeGroupLabel(c.grade_group)); }
    return parts.length ? parts.join(", ") : T.all;
  }

  // "Collège (6e-3e) / secondaire 1-3": the half that names the selected territory's school system.
  function gradeGroupLabel(code) {
    var parts = dimLabel("grade_group", code).split(" / ");
    return parts.length === 2 && LANG === "fr" ? parts[state.t === "CA-QC" ? 1 : 0] : parts.join(" / ");
  }

  function sourceName(id) {
    var s = B.sources[id];
    return s ? (s.short || s.publisher) : id;
  }

  render.compare = function (panel, container) {
    var list = B.comparisons.filter(function (c) { return c.t === state.t && c.p === state.w && (state.sex === TOTAL || c.sex === state.sex); });
    var charted = list.filter(function (c) { return c.same && c.v !== "not_comparable"; });
    charted.sort(function (a, b) {
      var ka = [a.i, a.sex, a.grade_group, a.sr, a.pr].join("|"), kb = [b.i, b.sex, b.grade_group, b.sr, b.pr].join("|");
      return ka < kb ? -1 : (ka > kb ? 1 : 0);
    });
    var context = list.filter(function (c) { return !(c.same && c.v !== "not_comparable"); });
    var items = [];
    // One pilot row per cell, then each of its references with the verdict in its label.
    var seen = {};
    charted.forEach(function (c) {
      var cell = c.i + "|" + c.sex + "|" + c.grade_group;
      if (!seen[cell]) {
        seen[cell] = true;
        items.push({ label: indicatorLabel(c.i, c.t) + " · " + population(c) + " — " + T.pilot + " " + c.p, e: c.ep, lo: c.lop, hi: c.hip, text: pct(c.ep), kind: T.pilot });
      }
      items.push({ label: sourceName(c.sr) + " " + c.pr + " (" + territoryLabel(c.tr) + ")" + COLON + lab(B.verdicts[c.v], c.v), e: c.er, lo: c.lor, hi: c.hir,
        text: pct(c.er), kind: T.reference });
    });
    var head = "<tr><th scope=\"col\">" + esc(T.col_indicator) + "</th><th scope=\"col\">" + esc(T.pilot) + "</th><th scope=\"col\">" + esc(T.reference) +
      "</th><th scope=\"col\">" + esc(T.col_source) + "</th><th scope=\"col\">" + esc(T.col_difference) + "</th><th scope=\"col\">" + esc(T.col_q) +
      "</th><th scope=\"col\">" + esc(T.col_verdict) + "</th></tr>";
    var body = charted.map(function (c) {
      var row = comparisonPilotRow(c);
      var pilotCell = row ? '<span class="fig" data-key="' + esc(row.k) + '" data-field="estimate">' + esc(pct(row.e)) + "</span>" : esc(pct(c.ep));
      return "<tr><th scope=\"row\">" + esc(indicatorLabel(c.i, c.t) + " · " + population(c)) + "</th><td class=\"num\">" + pilotCell + "<br>" +
        esc(T.interval + " " + pct(c.lop) + " " + T.to + " " + pct(c.hip)) + '</td><td class="num fig-comparison" data-comparison-key="' + esc(c.k) + '">' +
        esc(pct(c.er)) + (c.lor !== null ? "<br>" + esc(T.interval + " " + pct(c.lor) + " " + T.to + " " + pct(c.hir)) : "") + "</td><td>" +
        esc(sourceName(c.sr) + ", " + c.pr + " (" + territoryLabel(c.tr) + ")") + "</td><td class=\"num\">" + esc(points(c.d)) + "</td><td class=\"num\">" +
        esc(pvalue(c.qv !== null ? c.qv : c.pv)) + "</td><td><strong>" + esc(lab(B.verdicts[c.v], c.v)) + "</strong></td></tr>";
    }).join("");
    var html = charted.length ? tableWrap(panel.title, head, body) : '<p class="notice">' + esc(T.compare_none) + "</p>";
    var ctxHead = "<tr><th scope=\"col\">" + esc(T.col_indicator) + "</th><th scope=\"col\">" + esc(T.col_source) + "</th><th scope=\"col\">" + esc(T.col_estimate) +
      "</th><th scope=\"col\">" + esc(T.col_reason) + "</th></tr>";
    var ctxBody = context.map(function (c) {
      return "<tr><th scope=\"row\">" + esc(indicatorLabel(c.i, c.t) + " · " + population(c)) + "</th><td>" + esc(sourceName(c.sr) + ", " + c.pr + " (" + territoryLabel(c.tr) + ")") +
        '</td><td class="num fig-comparison" data-comparison-key="' + esc(c.k) + '">' + esc(pct(c.er)) + "</td><td>" + esc(c.why ? c.why[LANG] : "") + "</td></tr>";
    }).join("");
    html += '<h3 class="context-title">' + esc(T.compare_context) + "</h3>" +
      (context.length ? tableWrap(T.compare_context, ctxHead, ctxBody) : "<p>" + esc(T.compare_context_none) + "</p>");
    return { ownSpec: items.length ? effectSpecProportions(items, container) : null, table: html,
      note: ignoredNote(activeFilterNames(["level", "departement"])) };
  };

  function effectSpecProportions(items, container) {
    var spec = effectSpec(items, "points", container);
    if (!spec) { return null; }
    var max = niceMax(Math.max.apply(null, items.map(function (i) { return i.hi || i.e || 0; })), container);
    spec.layer.forEach(function (layer) {
      if (layer.encoding && layer.encoding.x) {
        layer.encoding.x.scale = { domain: [0, max] };
        layer.encoding.x.axis = { title: axisTitle(T.axis_percent, container), format: ".0%", grid: true, tickCount: narrow(container) ? 3 : 5 };
      }
    });
    spec.layer.shift(); // no zero reference line for levels
    return spec;
  }

  /* ---------- page ---------- */

  var renderCount = 0;

  function renderPage() {
    renderCount += 1;
    var thisRender = renderCount;
    var pending = [];
    views.forEach(function (v) { v.finalize(); });
    views = [];
    var panels = Array.prototype.slice.call(document.querySelectorAll("section[data-panel]"));
    var results = panels.map(function (section) {
      var panel = JSON.parse(section.getAttribute("data-panel"));
      var body = section.querySelector(".panel-body");
      return { section: section, panel: panel, body: body, out: render[panel.kind](panel, body, section) };
    });
    // Common axis: every proportion chart of the page shares one scale.
    var max = 0;
    results.forEach(function (r) {
      (r.out.items || []).forEach(function (it) { if (it.row && it.row.e !== null) { max = Math.max(max, it.row.hi !== null ? it.row.hi : it.row.e); } });
    });
    max = niceMax(max || 0.5, results.length ? results[0].body : null);
    results.forEach(function (r) {
      var out = r.out;
      var specs = out.ownSpecs || (out.ownSpec ? [out.ownSpec] : (out.spec ? [out.spec(max)] : []));
      specs = specs.filter(Boolean);
      r.body.innerHTML = specs.map(function (s, i) { return chartBlock(r.panel, s, i); }).join("") + (out.table || "") + (out.html || "");
      specs.forEach(function (s, i) { pending.push(embed(r.body.querySelector('[data-spec-index="' + i + '"]'), s)); });
      var note = r.section.querySelector(".filter-note");
      if (out.note) { note.textContent = out.note; note.hidden = false; } else { note.textContent = ""; note.hidden = true; }
    });
    document.querySelectorAll(".help-territory").forEach(function (box) {
      box.hidden = box.getAttribute("data-territory") !== state.t;
    });
    // Tests and print wait for this: every chart of this render is drawn.
    Promise.all(pending).then(function () {
      if (thisRender === renderCount) { document.documentElement.setAttribute("data-rendered", String(thisRender)); }
    });
  }

  /* ---------- filters ---------- */

  function option(valueCode, text, selected) {
    var o = document.createElement("option");
    o.value = valueCode; o.textContent = text; o.selected = !!selected;
    return o;
  }

  function fillSelect(select, entries, current) {
    select.innerHTML = "";
    entries.forEach(function (e) { select.appendChild(option(e[0], e[1], e[0] === current)); });
  }

  function availableLevels() {
    return Object.keys(B.levels).filter(levelFits).sort(function (a, b) { return B.levels[a].order - B.levels[b].order; });
  }

  function normaliseState() {
    if (B.pilotTerritories.indexOf(state.t) < 0) { state.t = B.pilotTerritories[0]; }
    var list = periods(state.t);
    if (list.indexOf(state.w) < 0) { state.w = list[list.length - 1]; }
    if (["F", "M", "X", TOTAL].indexOf(state.sex) < 0) { state.sex = TOTAL; }
    if (state.level !== TOTAL && availableLevels().indexOf(state.level) < 0) { state.level = TOTAL; }
    if (state.t !== "FR-OT" || B.departements.every(function (d) { return d.code !== state.dep; })) { state.dep = TOTAL; }
  }

  function buildFilters() {
    var form = document.getElementById("filters");
    if (!form) { return; }
    fillSelect(form.elements.t, B.pilotTerritories.map(function (t) { return [t, territoryLabel(t)]; }), state.t);
    fillSelect(form.elements.w, periods(state.t).map(function (p) { return [p, p]; }), state.w);
    fillSelect(form.elements.sex, [TOTAL, "F", "M", "X"].map(function (s) { return [s, dimLabel("sex", s)]; }), state.sex);
    fillSelect(form.elements.level, [[TOTAL, T.all]].concat(availableLevels().map(function (l) { return [l, dimLabel("level", l)]; })), state.level);
    fillSelect(form.elements.dep, [[TOTAL, T.all]].concat(B.departements.map(function (d) { return [d.code, d.name + " (" + d.code + ")"]; })), state.dep);
    form.elements.dep.disabled = state.t !== "FR-OT";
  }

  function readHash() {
    var hash = window.location.hash.replace(/^#/, "");
    hash.split("&").forEach(function (part) {
      var kv = part.split("=");
      if (kv.length === 2 && Object.prototype.hasOwnProperty.call(state, kv[0])) { state[kv[0]] = decodeURIComponent(kv[1]); }
    });
  }

  function hashOf() {
    return "#" + Object.keys(state).map(function (k) { return k + "=" + encodeURIComponent(state[k]); }).join("&");
  }

  function updateLinks() {
    var hash = hashOf();
    document.querySelectorAll("a[data-keep-filters]").forEach(function (a) {
      a.setAttribute("href", a.getAttribute("href").split("#")[0] + hash);
    });
    if (window.history && window.history.replaceState) { window.history.replaceState(null, "", hash); }
  }

  function onChange(event) {
    var name = event.target.name;
    state[name] = event.target.value;
    normaliseState();
    buildFilters();
    updateLinks();
    renderPage();
    var again = document.getElementById("filters").elements[name];
    if (again) { again.focus(); }
  }

  function start() {
    readHash();
    normaliseState();
    buildFilters();
    updateLinks();
    var form = document.getElementById("filters");
    document.addEventListener("change", function (event) {
      if (event.target.id !== "heat-code") { return; }
      heatCode = event.target.value;
      renderPage();
      document.getElementById("heat-code").focus();
    });
    if (form) {
      form.addEventListener("change", onChange);
      form.addEventListener("submit", function (e) { e.preventDefault(); });
    }
    if (document.querySelector("section[data-panel]")) { renderPage(); } else { document.documentElement.setAttribute("data-rendered", "0"); }
    var resizeTimer = null;
    var lastWidth = window.innerWidth;
    window.addEventListener("resize", function () {
      if (window.innerWidth === lastWidth) { return; }
      lastWidth = window.innerWidth;
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(function () { if (document.querySelector("section[data-panel]")) { renderPage(); } }, 200);
    });
    document.documentElement.setAttribute("data-ready", "true");
  }

  window.BAROMETRE_SITE = { state: state, render: renderPage, rows: rowsByKey };
  start();
}());
