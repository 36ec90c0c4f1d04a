"""Static dashboard for field actors: one self-contained French HTML file, ``dashboard/index.html``.

Teachers, school nurses, CPE and associations open it on school networks that block CDNs, or
offline from a USB key: so no external resource at all (inline CSS and SVG, no script needed),
plain tables beside every chart for screen readers, and only published aggregates as input (the
table is conformed to the export contract first, which drops anything else and guarantees that
suppressed cells carry no estimate).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from barometre_pipeline.publish.atomic import publish_atomically
from barometre_pipeline.publish.contract import CONTRACT_VERSION, TOTAL_CODE, conform_to_contract

DASHBOARD_DIR = "dashboard"
HEADLINE_CODE = "CV_ANY"
ITEM_PREFIX = "CV_"  # item indicators when no catalogue is given
ITEM_THEME = "items"  # item indicators by catalogue theme
# Catalogue themes in reading order, with their French headings.
THEME_LABELS_FR = {
    "prevalence": "Victimes, auteurs et témoins",
    "exposure": "Exposition et facteurs de risque",
    "vectors": "Plateformes et auteurs (parmi les victimes)",
    "impact": "Conséquences et bien-être",
    "help": "Recherche d'aide",
    "prevention": "Prévention",
}
NBSP = "\u202f"  # narrow no-break space, the French typographic space before % and in numbers

SUPPRESSED_TEXT = "donnée non publiée (effectif insuffisant)"
# Reason prefixes (stats.publication writes e.g. "n_unweighted<30;n_effective<30"), most telling first.
SUPPRESSED_TEXT_BY_REASON: tuple[tuple[str, str], ...] = (
    ("n_unweighted", SUPPRESSED_TEXT),
    ("n_effective", SUPPRESSED_TEXT),
    ("no_estimate", SUPPRESSED_TEXT),
    ("sensitive", "donnée non publiée (indicateur sensible)"),
    ("ci_width", "donnée non publiée (estimation trop imprécise)"),
    ("relative_ci_width", "donnée non publiée (estimation trop imprécise)"),
    ("complementary", "donnée non publiée (secret statistique)"),
    ("not_published_by_source", "donnée non publiée par la source"),
)
RELIABILITY_TEXT = {
    "caution": "à interpréter avec prudence",
    "unreliable": "peu fiable, à interpréter avec prudence (ordre de grandeur)",
}
TERRITORY_LABELS = {
    "FR-OT": "Académie d'Orléans-Tours", "CA-QC": "Québec", "FR": "France", "CA": "Canada",
    "US": "États-Unis", "INT": "International",
}
SEX_LABELS = {"F": "Filles", "M": "Garçons", "X": "Autre / ne se prononce pas", "_U": "Non renseigné"}
LEVEL_LABELS = {
    "6E": "6e", "5E": "5e", "4E": "4e", "3E": "3e", "2NDE": "2nde", "1RE": "1re", "TLE": "Terminale",
    "SEC1": "Secondaire 1", "SEC2": "Secondaire 2", "SEC3": "Secondaire 3", "SEC4": "Secondaire 4",
    "SEC5": "Secondaire 5",
}
FAMILY_LABELS = {"pilot": "Enquête pilote", "public": "Statistique publique", "scientific": "Publication scientifique"}


@dataclass(frozen=True)
class Figure:
    """One published cell as the dashboard shows it."""

    label: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    unit: str
    n: int | None
    suppressed: bool
    suppression_reason: str | None
    reliability: str | None


def _value(value: object) -> object:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value


def _figure(row: Mapping, label: str) -> Figure:
    n = _value(row.get("n_unweighted"))
    return Figure(
        label=label,
        estimate=_value(row.get("estimate")),
        ci_low=_value(row.get("ci_low")),
        ci_high=_value(row.get("ci_high")),
        unit=str(row.get("unit") or ""),
        n=None if n is None else int(n),
        suppressed=bool(row.get("suppressed")),
        suppression_reason=_value(row.get("suppression_reason")),
        reliability=_value(row.get("reliability")),
    )


def _number(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}".replace(",", NBSP).replace(".", ",")


def format_value(value: float | None, unit: str) -> str:
    """French display of an estimate: ``28,4 %`` for proportions, ``3,38`` otherwise."""
    if value is None:
        return "–"
    if unit == "proportion":
        return f"{_number(100 * value, 1)}{NBSP}%"
    return _number(value, 2)


def _interval(figure: Figure) -> str:
    if figure.ci_low is None or figure.ci_high is None:
        return ""
    return f"{format_value(figure.ci_low, figure.unit)} à {format_value(figure.ci_high, figure.unit)}"


def _suppressed_text(figure: Figure) -> str:
    reasons = [r.strip() for r in (figure.suppression_reason or "").split(";") if r.strip()]
    for prefix, text in SUPPRESSED_TEXT_BY_REASON:
        if any(reason.startswith(prefix) for reason in reasons):
            return text
    return SUPPRESSED_TEXT


def _reliability_note(figure: Figure) -> str:
    return RELIABILITY_TEXT.get(figure.reliability or "", "")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _bar_chart(figures: Sequence[Figure], title: str, chart_id: str) -> str:
    """Horizontal bars with 95 % interval whiskers, as inline SVG, plus the same data as a table."""
    if not figures:
        return ""
    label_w, bar_w, row_h, value_w = 300, 330, 30, 270
    top = max([1e-9] + [f.ci_high or f.estimate or 0 for f in figures if not f.suppressed])
    scale_max = 1.0 if figures[0].unit == "proportion" and top > 0.5 else top * 1.15
    height = row_h * len(figures) + 10
    parts = [
        f'<svg role="img" aria-labelledby="{chart_id}-t" viewBox="0 0 {label_w + bar_w + value_w} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" class="chart"><title id="{chart_id}-t">{_e(title)}</title>'
    ]
    for i, f in enumerate(figures):
        y = 5 + i * row_h
        # Long labels are shortened in the chart only; the table below keeps them whole.
        short = f.label if len(f.label) <= 42 else f.label[:40].rstrip() + "…"
        parts.append(f'<text x="{label_w - 8}" y="{y + 19}" text-anchor="end" class="lbl">{_e(short)}</text>')
        if f.suppressed or f.estimate is None:
            parts.append(f'<text x="{label_w}" y="{y + 19}" class="supp">{_e(_suppressed_text(f))}</text>')
            continue
        x = label_w + bar_w * f.estimate / scale_max
        cls = "bar caution" if _reliability_note(f) else "bar"
        parts.append(f'<rect x="{label_w}" y="{y + 5}" width="{x - label_w:.1f}" height="{row_h - 12}" class="{cls}"/>')
        end = x
        if f.ci_low is not None and f.ci_high is not None:
            lo, hi = label_w + bar_w * f.ci_low / scale_max, label_w + bar_w * f.ci_high / scale_max
            mid = y + row_h / 2 - 1
            parts.append(f'<path d="M{lo:.1f} {mid}H{hi:.1f}M{lo:.1f} {mid - 6}V{mid + 6}M{hi:.1f} {mid - 6}V{mid + 6}" class="ci"/>')
            end = max(end, hi)
        note = " ⚠ à interpréter avec prudence" if _reliability_note(f) else ""
        parts.append(f'<text x="{end + 6:.1f}" y="{y + 19}" class="val">{_e(format_value(f.estimate, f.unit) + note)}</text>')
    parts.append("</svg>")
    return "".join(parts) + _figure_table(figures, title)


def _figure_table(figures: Sequence[Figure], title: str) -> str:
    rows = []
    for f in figures:
        if f.suppressed or f.estimate is None:
            cells = [f.label, _suppressed_text(f), "", "", ""]
        else:
            cells = [f.label, format_value(f.estimate, f.unit), _interval(f), "" if f.n is None else _number(f.n, 0), _reliability_note(f)]
        rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    head = "".join(f'<th scope="col">{h}</th>' for h in ("Catégorie", "Estimation", "Intervalle de confiance à 95 %", "Effectif (n)", "Fiabilité"))
    return (f"<details><summary>Voir les données en tableau : {_e(title)}</summary>"
            f"<table><caption>{_e(title)}</caption><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></details>")


def _headline(figure: Figure | None, label: str) -> str:
    if figure is None:
        return '<p class="headline-missing">Indicateur principal non disponible pour ce territoire.</p>'
    if figure.suppressed or figure.estimate is None:
        return f'<div class="headline"><p class="hl-label">{_e(label)}</p><p class="hl-supp">{_e(_suppressed_text(figure))}</p></div>'
    note = _reliability_note(figure)
    n_text = "" if figure.n is None else f"<p>Effectif : {_e(_number(figure.n, 0))} élèves répondants</p>"
    return (
        f'<div class="headline"><p class="hl-label">{_e(label)}</p>'
        f'<p class="hl-value">{_e(format_value(figure.estimate, figure.unit))}</p>'
        f"<p>Intervalle de confiance à 95 % : {_e(_interval(figure)) or 'non disponible'}</p>{n_text}"
        + (f'<p class="caution-note">⚠ {_e(note)}</p>' if note else "")
        + "</div>"
    )


def _comparison_table(rows: pd.DataFrame, pilot_group: str | None) -> str:
    if rows.empty:
        return "<p>Aucun chiffre publié comparable n'est disponible pour ce territoire.</p>"
    body = []
    for _, r in rows.iterrows():
        f = _figure(r, "")
        value = _suppressed_text(f) if f.suppressed or f.estimate is None else format_value(f.estimate, f.unit)
        group = r["comparability_group"]
        comparability = "même définition" if group is not None and group == pilot_group else f"définition différente ({group or 'non précisée'})"
        cells = [r["source_label"], FAMILY_LABELS.get(r["source_family"], r["source_family"]), r["period"],
                 TERRITORY_LABELS.get(r["territory"], r["territory"]), _population(r), value, _interval(f),
                 comparability, (r["quality_flags"] or "").replace("|", ", ")]
        body.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    head = "".join(f'<th scope="col">{h}</th>' for h in ("Source", "Type", "Période", "Territoire", "Population", "Valeur", "IC 95 %", "Comparabilité", "Alertes"))
    return f"<table><caption>Chiffres publiés (statistique publique et études)</caption><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _population(row: Mapping) -> str:
    parts = []
    if row["sex"] != TOTAL_CODE:
        parts.append(SEX_LABELS.get(row["sex"], row["sex"]))
    if row["level"] != TOTAL_CODE:
        parts.append(LEVEL_LABELS.get(row["level"], row["level"]))
    if row["grade_group"] != TOTAL_CODE:
        parts.append({"COLLEGE": "Collège", "LYCEE": "Lycée"}.get(row["grade_group"], row["grade_group"]))
    if row["age_band"] != TOTAL_CODE:
        parts.append(f"{row['age_band']} ans")
    if row["departement"] != TOTAL_CODE:
        parts.append(f"département {row['departement']}")
    return ", ".join(parts) or "Ensemble"


def _only(rows: pd.DataFrame, *dimensions: str) -> pd.DataFrame:
    """Rows broken down by exactly ``dimensions`` (grade_group is implied by level, so ignored)."""
    keep = pd.Series(True, index=rows.index)
    for name in ("sex", "level", "age_band", "departement", "sector", "priority_education"):
        is_total = rows[name] == TOTAL_CODE
        keep &= ~is_total if name in dimensions else is_total
    if "level" not in dimensions:
        keep &= rows["grade_group"] == TOTAL_CODE
    return rows[keep]


def _country(territory: str) -> str:
    return territory.split("-")[0]


def _waves_block(all_waves: pd.DataFrame, headline_code: str, label: str, anchor: str) -> str:
    """The headline across pilot waves, with the test of the last change (same definition only)."""
    totals = _only(all_waves[all_waves["indicator_code"] == headline_code])
    if totals.empty:
        return ""
    latest = totals.loc[totals["period"] == max(totals["period"])].iloc[0]
    waves = totals[totals["comparability_group"] == latest["comparability_group"]].sort_values("period")
    if len(waves) < 2:
        return ""
    figures = [_figure(r, f"Vague {r['period']}") for _, r in waves.iterrows()]
    before, after = waves.iloc[-2], waves.iloc[-1]
    sentence = ""
    if None not in (before["estimate"], after["estimate"], before["se"], after["se"]):
        change = float(after["estimate"]) - float(before["estimate"])
        z = change / math.hypot(float(before["se"]), float(after["se"]))
        verdict = "écart significatif au seuil de 5 %" if abs(z) >= 1.96 else "écart non significatif au seuil de 5 %"
        sentence = (f"<p>De {_e(before['period'])} à {_e(after['period'])} : {change * 100:+.1f} points ({verdict}, "
                    "même définition ; une évolution n'est pas une preuve d'effet).</p>").replace(".", ",", 1)
    return ("<h3>Évolution entre les vagues de l'enquête pilote</h3>"
            + _bar_chart(figures, f"{label} : évolution entre les vagues", f"{anchor}-waves") + sentence)


def _territory_section(frame: pd.DataFrame, territory: str, headline_code: str, item_prefix: str, themes: Mapping[str, str]) -> str:
    pilot = frame[(frame["source_family"] == "pilot") & (frame["territory"] == territory)]
    all_waves = pilot
    period = max(pilot["period"])
    pilot = pilot[pilot["period"] == period]
    anchor = f"t-{territory}"
    label = TERRITORY_LABELS.get(territory, territory)
    out = [f'<section id="{_e(anchor)}" aria-labelledby="{_e(anchor)}-h"><h2 id="{_e(anchor)}-h">{_e(label)} — {_e(period)}</h2>']

    head_rows = pilot[pilot["indicator_code"] == headline_code]
    total = _only(head_rows)
    head_label = total["indicator_label_fr"].iloc[0] if not total.empty else headline_code
    out.append(_headline(_figure(total.iloc[0], head_label) if not total.empty else None, head_label))
    out.append(_waves_block(all_waves, headline_code, label, anchor))

    pilot_group = total["comparability_group"].iloc[0] if not total.empty else None
    related = {territory, _country(territory), "INT"}
    same_measure = (frame["indicator_code"] == headline_code) | (frame["comparability_group"].notna() & (frame["comparability_group"] == pilot_group))
    comparisons = frame[(frame["source_family"] != "pilot") & same_measure & frame["territory"].isin(related)]
    out.append("<h3>Comparaison avec les chiffres publiés</h3>")
    if not total.empty and not comparisons.empty:
        ordered = comparisons.sort_values(["period", "source_id", "breakdown", "sex", "level"], ascending=[False, True, True, True, True])
        figures = [_figure(total.iloc[0], f"Enquête pilote {period} — {label}")]
        figures += [_figure(r, f"{r['source_label']} {r['period']} — {_population(r)}, {TERRITORY_LABELS.get(r['territory'], r['territory'])}")
                    for _, r in ordered.iterrows() if r["unit"] == figures[0].unit]
        out.append(_bar_chart(figures, f"{head_label} : enquête pilote et chiffres publiés, {label}", f"{anchor}-cmp"))
    out.append(_comparison_table(comparisons.sort_values(["period", "source_id", "breakdown", "sex", "level"], ascending=[False, True, True, True, True]), pilot_group))

    by_sex = _only(head_rows, "sex").copy()
    by_sex["order"] = by_sex["sex"].map({"F": 0, "M": 1, "X": 2}).fillna(9)
    figures = [_figure(r, SEX_LABELS.get(r["sex"], r["sex"])) for _, r in by_sex.sort_values(["order", "sex"]).iterrows()]
    if figures:
        out.append(f"<h3>{_e(head_label)} selon le sexe</h3>" + _bar_chart(figures, f"{head_label} selon le sexe, {label}", f"{anchor}-sex"))
    by_level = _only(head_rows, "level").copy()
    by_level["order"] = by_level["level"].map({code: i for i, code in enumerate(LEVEL_LABELS)}).fillna(99)
    figures = [_figure(r, LEVEL_LABELS.get(r["level"], r["level"])) for _, r in by_level.sort_values(["order", "level"]).iterrows()]
    if figures:
        out.append(f"<h3>{_e(head_label)} selon le niveau</h3>" + _bar_chart(figures, f"{head_label} selon le niveau, {label}", f"{anchor}-level"))

    totals = _only(pilot)
    not_headline = totals["indicator_code"] != headline_code
    if themes:
        is_item = totals["indicator_code"].map(lambda c: themes.get(c) == ITEM_THEME)
    else:
        is_item = totals["indicator_code"].str.startswith(item_prefix)
    items = totals[is_item & not_headline]
    if not items.empty:
        items = items.assign(sort_value=pd.to_numeric(items["estimate"]).fillna(-1.0)).sort_values(["sort_value", "indicator_code"], ascending=[False, True])
        figures = [_figure(r, r["indicator_label_fr"]) for _, r in items.iterrows()]
        out.append("<h3>Prévalence par type de cyberviolence</h3>" + _bar_chart(figures, f"Prévalence par type de cyberviolence, {label}", f"{anchor}-items"))

    others = totals[~is_item & not_headline]
    if not others.empty:
        theme_order = {theme: i for i, theme in enumerate(THEME_LABELS_FR)}
        others = others.assign(theme=others["indicator_code"].map(lambda c: themes.get(c, "")))
        groups = [(theme, unit, unit_rows)
                  for theme, rows in sorted(others.groupby("theme"), key=lambda kv: (theme_order.get(kv[0], len(theme_order)), kv[0]))
                  for unit, unit_rows in rows.sort_values("indicator_code").groupby("unit", sort=True)]
        for position, (theme, unit, unit_rows) in enumerate(groups):
            figures = [_figure(r, r["indicator_label_fr"]) for _, r in unit_rows.iterrows()]
            title = f"{THEME_LABELS_FR.get(theme) or theme or 'Autres indicateurs'}, {label}" + ("" if unit == "proportion" else f" ({unit})")
            out.append(f"<h3>{_e(title)}</h3>" + _bar_chart(figures, title, f"{anchor}-other-{position}"))
    out.append("</section>")
    return "\n".join(out)


SOURCE_LABEL_LENGTH = 40


def _source_label(source_id: str, provenance: str | None) -> str:
    """What a field reader recognises: the publisher (from the row's provenance), not our id."""
    try:
        publisher = json.loads(provenance or "{}").get("publisher")
    except (TypeError, ValueError):
        publisher = None
    if not publisher:
        return source_id
    return publisher if len(publisher) <= SOURCE_LABEL_LENGTH else publisher[: SOURCE_LABEL_LENGTH - 1] + "…"


def _sources_section(frame: pd.DataFrame) -> str:
    items = []
    for source_id, rows in frame.groupby("source_id", sort=True):
        family = rows["source_family"].iloc[0]
        try:
            provenance = json.loads(rows["provenance"].iloc[0])
        except (TypeError, ValueError):
            provenance = {}
        synthetic = family == "pilot" and provenance.get("synthetic", True)
        bits = [f"<strong>{_e(source_id)}</strong> ({_e(FAMILY_LABELS.get(family, family))})"]
        for key in ("publisher", "title", "licence"):
            if provenance.get(key):
                bits.append(_e(provenance[key]))
        if provenance.get("url"):
            # A link the reader may follow; the page itself loads nothing from it.
            bits.append(f'<a href="{_e(provenance["url"])}" rel="noopener">{_e(provenance["url"])}</a>')
        bits.append("périodes : " + _e(", ".join(sorted(set(rows["period"])))))
        flags = sorted({f for cell in rows["quality_flags"].dropna() for f in str(cell).split("|") if f})
        if flags:
            bits.append("alertes : " + _e(", ".join(flags)))
        if synthetic:
            bits.append('<span class="synthetic">données synthétiques (simulées)</span>')
        items.append("<li>" + " — ".join(bits) + "</li>")
    return (
        '<section id="sources" aria-labelledby="sources-h"><h2 id="sources-h">Sources et précautions</h2>'
        "<ul>" + "".join(items) + "</ul>"
        "<h3>Précautions de lecture</h3><ul>"
        "<li>Les intervalles de confiance à 95 % (traits noirs) tiennent compte du plan de sondage (élèves regroupés par établissement, pondération). Quand les intervalles de deux groupes se chevauchent largement, l'écart entre eux peut tenir au hasard de l'échantillon.</li>"
        f"<li>« {_e(SUPPRESSED_TEXT)} » : la cellule compte trop peu d'élèves pour être publiée sans risque pour la confidentialité ou la précision.</li>"
        "<li>« ⚠ à interpréter avec prudence » : l'estimation est imprécise (coefficient de variation élevé ou faible effectif).</li>"
        "<li>Comparabilité : les sources n'ont pas toutes la même définition ni la même période de référence (année scolaire, 12 derniers mois, 2 derniers mois ; au moins une cyberviolence ou harcèlement répété). Seuls les chiffres marqués « même définition » se comparent directement.</li>"
        "</ul></section>"
    )


STYLE = """
:root{--ink:#1b1b1b;--bar:#2a5d8f;--caution:#b5651d;--muted:#555}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:var(--ink);max-width:72rem;margin:0 auto;padding:1rem;line-height:1.45}
.banner{background:#fff4d6;border:2px solid #b5651d;padding:.75rem 1rem;border-radius:.4rem;font-weight:600}
nav ul{display:flex;flex-wrap:wrap;gap:1rem;list-style:none;padding:0}
section{border-top:3px solid #dde3ea;margin-top:2rem;padding-top:.5rem}
.headline{background:#eef3f8;border-radius:.5rem;padding:1rem 1.5rem;display:inline-block;min-width:18rem}
.hl-value{font-size:2.6rem;font-weight:700;margin:.2rem 0}.hl-label{font-weight:600;margin:0}
.hl-supp,.supp{fill:var(--muted);color:var(--muted);font-style:italic}
.caution-note{color:var(--caution);font-weight:600}
.chart{max-width:50rem;display:block}.chart text{font-size:13px;fill:var(--ink)}
.bar{fill:var(--bar)}.bar.caution{fill:var(--caution);opacity:.75}.ci{stroke:#000;stroke-width:1.5;fill:none}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #bbb;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eef3f8}caption{text-align:left;font-weight:600;padding:.25rem 0}
details{margin:.25rem 0 1rem}summary{cursor:pointer;color:var(--bar)}
.synthetic{background:#fff4d6;padding:0 .3rem;font-weight:600}
footer{margin-top:2rem;color:var(--muted);font-size:.9rem}
@media print{details{display:block}summary{display:none}}
"""


def render_dashboard(
    indicators: pd.DataFrame | pa.Table,
    *,
    catalogue: Sequence[Mapping] | None = None,
    headline_code: str = HEADLINE_CODE,
    item_prefix: str = ITEM_PREFIX,
) -> str:
    """The dashboard HTML for every territory that has pilot rows (deterministic, no timestamp).

    ``catalogue`` (recommended) supplies each indicator's ``theme``: theme ``items`` makes the
    item-prevalence chart, the other themes one chart each. Without it, item indicators are those
    whose code starts with ``item_prefix``.
    """
    frame = conform_to_contract(indicators, extra_columns="drop").to_pandas()
    frame = frame.astype(object).where(frame.notna(), None)
    frame["source_label"] = [_source_label(i, p) for i, p in zip(frame["source_id"], frame["provenance"], strict=True)]
    themes = {str(e.get("code")): str(e.get("theme")) for e in (catalogue or []) if e.get("theme")}
    territories = sorted(set(frame.loc[frame["source_family"] == "pilot", "territory"]))
    has_pilot = bool(territories)
    nav = "".join(f'<li><a href="#t-{_e(t)}">{_e(TERRITORY_LABELS.get(t, t))}</a></li>' for t in territories)
    body = [
        "<header><h1>Baromètre STOP Cyberviolences — tableau de bord</h1>",
        "<p>Cyberviolences subies par les élèves : estimations pondérées de l'enquête pilote et chiffres publiés de référence.</p>",
    ]
    if has_pilot:
        body.append('<p class="banner" role="note">Données pilotes SYNTHÉTIQUES (simulées) : aucune réponse réelle d\'élève. '
                    "Ces chiffres servent à tester la chaîne de production et ne décrivent pas la situation réelle.</p>")
    body.append(f'<nav aria-label="Territoires"><ul>{nav}<li><a href="#sources">Sources et précautions</a></li></ul></nav></header><main>')
    if not has_pilot:
        body.append("<p>Aucune donnée de l'enquête pilote n'est encore publiée.</p>")
    body += [_territory_section(frame, t, headline_code, item_prefix, themes) for t in territories]
    body.append(_sources_section(frame))
    body.append(f"</main><footer>Contrat d'export v{_e(CONTRACT_VERSION)} — données téléchargeables (Parquet, CSV) et dictionnaire des données dans le dossier d'export. "
                "Productions sous Licence Ouverte 2.0 / Etalab ; chiffres de tiers sous la licence de leur éditeur.</footer>")
    return ('<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>Baromètre STOP Cyberviolences — tableau de bord</title>"
            f"<style>{STYLE}</style></head><body>" + "\n".join(body) + "</body></html>\n")


def write_dashboard(
    indicators: pd.DataFrame | pa.Table,
    export_dir: Path,
    *,
    catalogue: Sequence[Mapping] | None = None,
    headline_code: str = HEADLINE_CODE,
) -> Path:
    """Publish ``<export_dir>/dashboard/index.html`` atomically; returns the file path."""
    page = render_dashboard(indicators, catalogue=catalogue, headline_code=headline_code)
    with publish_atomically(Path(export_dir), DASHBOARD_DIR) as staging:
        (staging / "index.html").write_text(page, encoding="utf-8")
    return Path(export_dir) / DASHBOARD_DIR / "index.html"
