"""The generated site in a real headless Chromium, opened from file:// with no network.

Each test can fail: the figures shown are compared with the export rows they name, filters must
move those figures to the rows of the new selection, axe-core (vendored, see vendor/README.md)
must report nothing, and the 390 px layout must fit its viewport.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest

from barometre_pipeline.publish.contract import KEY_COLUMNS
from barometre_pipeline.publish.site import labels
from barometre_pipeline.publish.site.formatting import count, percent
from barometre_pipeline.publish.site.texts import UI
from barometre_pipeline.publish.site.views import NAVIGATION, VIEWS
from barometre_pipeline_tests.site.conftest import AXE, ChromiumMissing, require_chromium

VIEW_PAGES = [f"{v.slug}.html" for v in VIEWS]
OTHER_PAGES = ["methode.html", "fiches/index.html", "fiches/CV_ANY.html", "fiches/SELF_HARM_IDEATION.html"]
ALL_PAGES = VIEW_PAGES + OTHER_PAGES + [f"en/{p}" for p in VIEW_PAGES + OTHER_PAGES]
SCREENSHOT_VIEWS = ["index.html", "territoires.html", "exposition.html"]
# Codes that must never reach a reader: UPPER_SNAKE identifiers and source ids.
RAW_CODE = re.compile(r"\b[A-Z][A-Z0-9]+(?:_[A-Z0-9+]+)+\b|\b(?:pilot|public|scientific)_[a-z0-9_]+\b|(?<![\w-])_[TU]\b")

FIGURES_JS = """() => Array.from(document.querySelectorAll('[data-key][data-field]')).map(e => ({
    key: e.getAttribute('data-key'), field: e.getAttribute('data-field'), text: e.textContent.trim(),
    panel: (e.closest('section[data-panel]') || {id: ''}).id,
    lang: document.documentElement.lang}))"""


def _export_rows(indicators: pd.DataFrame) -> dict[str, dict]:
    records = indicators.to_dict("records")
    return {"|".join(str(r[c]) for c in KEY_COLUMNS): r for r in records}


def _expected(row: dict, field: str, language: str) -> str | None:
    """What a published cell must read as; None for withheld cells (checked separately)."""
    if row["suppressed"]:
        return None
    if field == "estimate":
        return percent(row["estimate"], language) if row["unit"] == "proportion" else None
    if field == "ci":
        if pd.isna(row["ci_low"]) or pd.isna(row["ci_high"]):
            return "–"
        return f"{percent(row['ci_low'], language)} {UI[language]['to']} {percent(row['ci_high'], language)}"
    if field == "n":
        return count(row["n_unweighted"], language)
    raise AssertionError(f"unknown data-field {field!r}")


def _check_figures(figures: list[dict], rows: dict[str, dict], page: str) -> int:
    """Every displayed figure equals its export row; returns how many were checked."""
    checked = 0
    for figure in figures:
        assert figure["key"] in rows, f"{page}: figure {figure} names no row of the indicators export"
        row = rows[figure["key"]]
        language = figure["lang"]
        expected = _expected(row, figure["field"], language)
        if row["suppressed"]:
            reason = labels.withheld_reason(row["suppression_reason"])
            assert figure["text"].startswith(UI[language]["withheld"]), f"{page}: withheld cell shows {figure['text']!r}"
            assert reason[language] in figure["text"] or reason[f"{language}_short"] in figure["text"], (
                f"{page}: withheld cell {figure['key']} does not give its reason: {figure['text']!r}")
            assert "%" not in figure["text"], f"{page}: withheld cell shows a number: {figure['text']!r}"
        elif expected is not None:
            assert figure["text"] == expected, f"{page}: {figure['key']} {figure['field']} shows {figure['text']!r}, export says {expected!r}"
        checked += 1
    return checked


def test_require_chromium_names_debian_chromium_when_absent(tmp_path):
    with pytest.raises(ChromiumMissing, match=r"Debian's chromium.*apt-get install chromium"):
        require_chromium(tmp_path / "no-such-chromium")
    executable = tmp_path / "chromium"
    executable.write_text("#!/bin/sh\n")
    executable.chmod(0o755)
    assert require_chromium(executable) == executable


def test_site_replaces_the_previous_dashboard(site_run):
    export = site_run.run.export_dir
    assert (site_run.site / "index.html").is_file() and (site_run.site / "en" / "index.html").is_file()
    assert not (export / "dashboard").exists()
    assert not (Path(__file__).parents[2] / "barometre_pipeline" / "publish" / "dashboard.py").exists()
    materialised = {e.asset_key.to_user_string() for e in site_run.run.result.get_asset_materialization_events()}
    assert "exports/site" in materialised and "exports/dashboard" not in materialised


@pytest.mark.parametrize("page", ALL_PAGES)
def test_every_view_renders_offline_without_console_error(open_page, site_run, page):
    opened = open_page(page)
    site_root = site_run.site.as_uri() + "/"
    outside = [url for url in opened.requests if not url.startswith(site_root)]
    assert not outside, f"{page}: requests outside the site folder: {outside}"
    assert not opened.console_errors, f"{page}: console errors: {opened.console_errors}"
    state = opened.page.evaluate("""() => ({
        nojs: document.querySelectorAll('.nojs').length,
        panels: Array.from(document.querySelectorAll('section[data-panel]')).map(s => ({
            id: s.id, text: s.querySelector('.panel-body').innerText.trim().length,
            charts: s.querySelectorAll('.chart').length, drawn: s.querySelectorAll('.chart svg').length})),
        h1: (document.querySelector('h1') || {}).textContent,
        text: document.body.innerText})""")
    assert state["h1"], f"{page}: no heading"
    assert state["nojs"] == 0, f"{page}: a panel was left unrendered"
    for panel in state["panels"]:
        assert panel["text"] > 0, f"{page}: panel {panel['id']} is empty"
        assert panel["drawn"] == panel["charts"], f"{page}: panel {panel['id']} has an undrawn chart"
    if page.replace("en/", "") in VIEW_PAGES:
        assert state["panels"], f"{page}: no panel"
    raw = sorted(set(RAW_CODE.findall(state["text"])))
    assert not raw, f"{page}: raw codes shown to readers: {raw}"
    opened.page.close()


@pytest.mark.parametrize("page", ALL_PAGES)
def test_axe_core_reports_no_violation(open_page, page):
    opened = open_page(page)
    opened.page.add_script_tag(path=str(AXE))
    result = opened.page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
    }""")
    assert result == [], f"{page}: axe-core violations: {result}"
    opened.page.close()


@pytest.mark.parametrize("page", VIEW_PAGES + OTHER_PAGES[:2] + ["en/index.html", "en/exposition.html"])
def test_390px_fits_the_viewport_with_text_of_at_least_12px(open_page, page):
    opened = open_page(page, width=390)
    widths = opened.page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] == 390, f"{page}: document is {widths[0]} px wide at a 390 px viewport"
    small = opened.page.evaluate("""() => {
        const out = [];
        for (const el of document.querySelectorAll('body *')) {
            const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
            if (!own || !el.getClientRects().length) continue;
            const style = getComputedStyle(el);
            if (style.visibility === 'hidden' || style.display === 'none') continue;
            if (el.closest('[hidden], .skip')) continue;
            const size = parseFloat(style.fontSize);
            if (size < 12) out.push(el.tagName + ' ' + size + 'px: ' + el.textContent.trim().slice(0, 40));
        }
        return out;
    }""")
    assert not small, f"{page}: text under 12 px at 390 px: {small[:10]}"
    opened.page.close()


def test_displayed_figures_are_traceable_to_export_rows(open_page, site_run):
    rows = _export_rows(site_run.indicators)
    checked = 0
    panels = set()
    for page in VIEW_PAGES + ["fiches/CV_ANY.html", "en/index.html", "en/formes.html"]:
        opened = open_page(page)
        figures = opened.page.evaluate(FIGURES_JS)
        checked += _check_figures(figures, rows, page)
        panels |= {f"{page}#{f['panel']}" for f in figures}
        effect_keys = opened.page.evaluate("() => Array.from(document.querySelectorAll('[data-effect-key]')).map(e => e.getAttribute('data-effect-key'))")
        known = set(site_run.effects[["effect_code", "territory", "period", "cell"]].astype(str).agg("|".join, axis=1))
        assert set(effect_keys) <= known, f"{page}: effects shown that are not in the effects export: {set(effect_keys) - known}"
        opened.page.close()
    assert checked >= 50, f"only {checked} displayed figures were traced to export rows"
    assert len(panels) >= 15, f"figures traced in only {len(panels)} panels"


def _state_figures(opened) -> list[dict]:
    return opened.page.evaluate(FIGURES_JS)


def _select(opened, name: str, value: str) -> None:
    before = opened.page.evaluate("() => document.documentElement.getAttribute('data-rendered')")
    opened.page.select_option(f"#f-{name}", value)
    opened.page.wait_for_function(f"() => document.documentElement.getAttribute('data-rendered') !== '{before}'", timeout=30_000)


def test_each_filter_moves_figures_to_the_matching_export_rows(open_page, site_run):
    rows = _export_rows(site_run.indicators)
    opened = open_page("index.html")
    pilot = site_run.indicators[site_run.indicators["source_family"] == "pilot"]
    latest = {t: max(p) for t, p in pilot.groupby("territory")["period"]}
    steps = [
        ("t", "CA-QC", {"territory": "CA-QC", "period": latest["CA-QC"]}),
        ("w", "2025", {"territory": "CA-QC", "period": "2025"}),
        ("sex", "F", {"territory": "CA-QC", "period": "2025", "sex": "F"}),
        ("level", "SEC3", {"territory": "CA-QC", "period": "2025", "sex": "F", "level": "SEC3"}),
        ("t", "FR-OT", {"territory": "FR-OT", "period": "2025", "sex": "F", "level": "_T"}),
        ("sex", "_T", {"territory": "FR-OT", "period": "2025", "sex": "_T", "level": "_T"}),
        ("dep", "45", {"territory": "FR-OT", "period": "2025", "departement": "45"}),
    ]
    previous = [f["text"] for f in _state_figures(opened)]
    for name, value, expected in steps:
        _select(opened, name, value)
        figures = [f for f in _state_figures(opened) if f["panel"] in ("p-headline", "p-key-figures")]
        assert figures, f"after {name}={value}: no figure displayed"
        _check_figures(figures, rows, f"index.html after {name}={value}")
        for figure in figures:
            row = rows[figure["key"]]
            for column in ("sex", "level", "departement", "age_band", "sector", "priority_education"):
                assert row[column] == expected.get(column, "_T"), f"after {name}={value}: {figure['key']} is not the selected cell"
            assert row["territory"] == expected["territory"] and row["period"] == expected["period"], (
                f"after {name}={value}: {figure['key']} is not the selected territory and wave")
        texts = [f["text"] for f in figures]
        assert texts != previous, f"changing {name} to {value} did not change the figures"
        previous = texts
    assert "dep=45" in opened.page.evaluate("() => location.hash")
    opened.page.close()


def test_filters_reach_every_chart_and_table_of_a_view(open_page, site_run):
    opened = open_page("formes.html")
    before = {f["key"] for f in _state_figures(opened)}
    _select(opened, "sex", "M")
    after = _state_figures(opened)
    rows = _export_rows(site_run.indicators)
    _check_figures(after, rows, "formes.html sex=M")
    assert before.isdisjoint({f["key"] for f in after})
    assert all(rows[f["key"]]["sex"] == "M" for f in after)
    opened.page.close()


def test_heat_table_follows_its_indicator_menu(open_page, site_run):
    rows = _export_rows(site_run.indicators)
    opened = open_page("exposition.html")
    before = opened.page.evaluate("() => document.documentElement.getAttribute('data-rendered')")
    opened.page.select_option("#heat-code", "WITNESS")
    opened.page.wait_for_function(f"() => document.documentElement.getAttribute('data-rendered') !== '{before}'", timeout=30_000)
    figures = [f for f in _state_figures(opened) if f["panel"] == "p-sex-level"]
    assert figures and {rows[f["key"]]["indicator_code"] for f in figures} == {"WITNESS"}
    assert {rows[f["key"]]["breakdown"] for f in figures} <= {"sex×level", "sex", "level", "_T"}
    _check_figures(figures, rows, "exposition.html heat WITNESS")
    opened.page.close()


def test_the_helpline_panel_names_the_line_of_the_chosen_territory(open_page):
    """Pupils were asked about their own territory's line: the 3018 in France, Tel-jeunes (or
    Kids Help Phone) in Québec; the panel never names the other territory's line."""
    panel_text = "() => document.querySelector('#p-helpline').textContent"
    for page, steps in (("aide.html", (("CA-QC", "Tel-jeunes", "3018"), ("FR-OT", "3018", "Tel-jeunes"))),
                        ("en/aide.html", (("CA-QC", "Kids Help Phone", "3018"),))):
        opened = open_page(page)
        for territory, named, other in steps:
            _select(opened, "t", territory)
            text = opened.page.evaluate(panel_text)
            assert named in text and other not in text, f"{page} t={territory}: {text[:300]!r}"
        opened.page.close()


def test_withheld_cells_show_their_reason_never_zero(open_page, site_run):
    rows = _export_rows(site_run.indicators)
    opened = open_page("exposition.html")
    withheld = opened.page.evaluate("""() => Array.from(document.querySelectorAll('.withheld [data-key]')).map(e => ({
        key: e.getAttribute('data-key'), field: e.getAttribute('data-field'), text: e.textContent.trim(), panel: '', lang: 'fr'}))""")
    assert withheld, "no withheld cell shown on the exposure view although the export withholds some"
    assert all(rows[w["key"]]["suppressed"] for w in withheld)
    _check_figures(withheld, rows, "exposition.html")
    reasons = {w["text"] for w in withheld}
    assert any("secret statistique" in r for r in reasons) and any("répondants" in r for r in reasons)
    opened.page.close()


def test_map_gives_interval_and_n_on_focus_and_hover(open_page, site_run):
    opened = open_page("territoires.html")
    page = opened.page
    page.focus('path[data-dep="45"]')
    focused = page.text_content(".map-info")
    row = _export_rows(site_run.indicators)[page.get_attribute('path[data-dep="45"]', "data-key")]
    assert percent(row["estimate"]) in focused and percent(row["ci_low"]) in focused and count(row["n_unweighted"]) in focused
    page.hover('path[data-dep="18"]')
    assert "Cher" in page.text_content(".map-info")
    # No département is withheld in the shipped sample: withhold one in the page's data (as the
    # export would, value removed and reason kept) and redraw, to see the hatching and the reason.
    page.evaluate("""() => {
        const row = window.BAROMETRE_SITE.rows[document.querySelector('path[data-dep="36"]').getAttribute('data-key')];
        row.e = null; row.lo = null; row.hi = null; row.n = null; row.w = 'confidentiality:schools<3';
        window.BAROMETRE.reasons['confidentiality:schools<3'] = {fr: 'moins de 3 établissements dans la case (confidentialité)', fr_short: 'trop peu de répondants'};
        window.BAROMETRE_SITE.render();
    }""")
    indre = page.locator('path[data-dep="36"]')
    assert indre.get_attribute("fill") == "url(#hatch)"
    assert indre.get_attribute("aria-label") == "Indre (36) : Non publié : moins de 3 établissements dans la case (confidentialité)"
    assert page.text_content('text[data-dep-label="36"]') == "Non publié"
    indre.focus()
    assert "moins de 3 établissements" in page.text_content(".map-info")
    page.close()


def test_screenshots_of_three_views_at_two_widths(open_page, tmp_path_factory):
    # Run artefacts, never committed: pytest's temporary folder by default (it keeps the last
    # three runs), or BAROMETRE_SITE_SCREENSHOTS for a CI job that uploads them.
    chosen = os.environ.get("BAROMETRE_SITE_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("site_screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    for width in (1366, 390):
        for page in SCREENSHOT_VIEWS:
            opened = open_page(page, width=width)
            target = folder / f"{page.removesuffix('.html')}-{width}.png"
            opened.page.screenshot(path=str(target), full_page=True)
            opened.page.close()
            assert target.stat().st_size > 20_000, f"{target} looks empty"
    print(f"site screenshots: {folder}")


def test_print_stylesheet_hides_navigation_and_filters_hint(open_page):
    opened = open_page("index.html")
    opened.page.emulate_media(media="print")
    hidden = opened.page.evaluate("() => [getComputedStyle(document.querySelector('.site-nav')).display, getComputedStyle(document.querySelector('.filters .hint')).display]")
    assert hidden == ["none", "none"]
    opened.page.close()


def test_navigation_reaches_every_view_in_both_languages(site_run):
    for prefix in ("", "en/"):
        index = (site_run.site / f"{prefix}index.html").read_text(encoding="utf-8")
        for view in NAVIGATION:
            href = "fiches/index.html" if view.slug == "fiches" else f"{view.slug}.html"
            assert f'href="{href}"' in index, f"{prefix}index.html does not link to {href}"
            assert (site_run.site / prefix / href).is_file()
