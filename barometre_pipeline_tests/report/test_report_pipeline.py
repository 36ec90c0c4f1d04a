"""The reports the pipeline publishes, read back as a reader would (PDF text, HTML) and checked
against the published `indicators` export and the warehouse's unsuppressed estimates."""

from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pandas as pd
import pypdf
import pytest
import yaml

from barometre_pipeline.publish.report import SCOPES
from barometre_pipeline.publish.report.render import report_file_names
from barometre_pipeline.publish.report.trace import ROW_KEYS
from barometre_pipeline.vocabulary import TOTAL

# A quoted figure: digits with an optional decimal comma, then a (no-break) space and "%".
PERCENT = re.compile(r"(?<![\d,.])[+−-]?\d+(?:,\d+)?\s%")
DIMENSIONS = ("sex", "level", "age_band", "grade_group", "departement", "sector",
              "priority_education")


def _report_dir(run) -> Path:
    return run.export_dir / "report"


def _pdf(run, scope) -> pypdf.PdfReader:
    return pypdf.PdfReader(_report_dir(run) / report_file_names(scope)["pdf"])


def _trace(run, scope) -> list[dict]:
    path = _report_dir(run) / report_file_names(scope)["trace_json"]
    return json.loads(path.read_text(encoding="utf-8"))["numbers"]


def _html(run, scope) -> str:
    return (_report_dir(run) / report_file_names(scope)["html"]).read_text(encoding="utf-8")


def _pdf_text(reader: pypdf.PdfReader, pages=None) -> str:
    pages = range(len(reader.pages)) if pages is None else pages
    return "\n".join(reader.pages[i].extract_text() for i in pages)


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _french_percent(value: float) -> str:
    """Written independently of the report's formatter: one decimal, decimal comma."""
    return f"{round(100 * value, 1):.1f}".replace(".", ",").replace("-", "−") + " %"


def _top_level_pages(reader: pypdf.PdfReader) -> dict[str, int]:
    return {item.title: reader.get_destination_page_number(item)
            for item in reader.outline if not isinstance(item, list)}


def _export(run, name: str) -> pd.DataFrame:
    return pd.read_parquet(run.export_dir / name)


def _row(table: pd.DataFrame, name: str, key: dict) -> pd.Series:
    mask = pd.Series(True, index=table.index)
    for column, value in key.items():
        if column in table.columns:
            mask &= table[column].where(table[column].notna(), "").astype(str) == value
    rows = table[mask]
    assert len(rows) == 1, f"{name} key {key} matches {len(rows)} rows"
    return rows.iloc[0]


@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: s.slug)
def test_each_report_is_published_in_both_formats_with_its_trace(report_run, scope):
    names = report_file_names(scope)
    for name in names.values():
        assert (_report_dir(report_run) / name).stat().st_size > 1000, name
    html = _html(report_run, scope)
    # Self-contained: inline CSS and SVG, nothing fetched.
    assert "<svg" in html and "<style>" in html
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert "<script" not in html and "<link" not in html
    reader = _pdf(report_run, scope)
    assert len(reader.pages) >= 10


@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: s.slug)
def test_pdf_has_title_language_contents_page_numbers_and_running_headers(report_run, scope):
    reader = _pdf(report_run, scope)
    assert reader.metadata.title.startswith("Baromètre STOP Cyberviolences")
    assert str(reader.trailer["/Root"]["/Lang"]).startswith("fr")
    sections = _top_level_pages(reader)
    for title in ("1 Synthèse", "4 Résultats par thème", "9 Sources", "10 Glossaire",
                  "Annexe : tableaux des figures"):
        assert title in sections, sorted(sections)
    assert "Table des matières" in reader.pages[1].extract_text()
    last = len(reader.pages)
    page = reader.pages[sections["4 Résultats par thème"]].extract_text()
    assert f"/ {last}" in page  # "Page n / N"
    assert page.startswith("Baromètre STOP Cyberviolences")  # running header
    text = _pdf_text(reader)
    assert re.search(r"Figure 1 — ", text) and re.search(r"Tableau A\.1 — ", text)


@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: s.slug)
def test_executive_summary_is_one_page_and_every_percentage_is_the_indicators_export(
        report_run, scope):
    reader = _pdf(report_run, scope)
    sections = _top_level_pages(reader)
    first = sections["1 Synthèse"]
    assert sections["2 L'échantillon et sa représentativité"] == first + 1, "summary > 1 page"
    page = _normal(reader.pages[first].extract_text())
    indicators = _export(report_run, "indicators")
    entries = [e for e in _trace(report_run, scope) if e["section"] == "synthese"]
    by_text: dict[str, list[dict]] = {}
    for entry in entries:
        by_text.setdefault(_normal(entry["text"]), []).append(entry)

    quoted = [_normal(m) for m in PERCENT.findall(page)]
    assert len(quoted) >= 10
    for text in quoted:
        assert text in by_text, f"{text} on the summary page is not in the trace"
        entry = by_text[text][0]
        if entry["format"] == "percent_int":  # the confidence level of "IC 95 %"
            assert entry["table"] == "catalogue"
            continue
        assert entry["table"] == "indicators", entry
        row = _row(indicators, "indicators", entry["key"])
        assert not row["suppressed"]
        assert _french_percent(row[entry["column"]]) == text

    # The headline: CV_ANY for all pupils of each territory's latest wave, read from the export.
    pilots = indicators[(indicators["source_family"] == "pilot")
                        & (indicators["indicator_code"] == "CV_ANY")]
    for territory in scope.territories:
        rows = pilots[pilots["territory"] == territory]
        latest = rows[rows["period"] == rows["period"].max()]
        for dim in DIMENSIONS:
            latest = latest[latest[dim] == TOTAL]
        assert len(latest) == 1
        assert _french_percent(latest.iloc[0]["estimate"]) in page


@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: s.slug)
def test_every_percentage_in_the_pdf_is_traced_to_an_unsuppressed_export_row(report_run, scope):
    trace = _trace(report_run, scope)
    traced = {_normal(e["text"]) for e in trace}
    text = _pdf_text(_pdf(report_run, scope))
    untraced = sorted({_normal(m) for m in PERCENT.findall(text)} - traced)
    assert not untraced, untraced

    exports = {name: _export(report_run, name)
               for name in ("indicators", "effects", "comparisons", "sources")}
    checked = 0
    for entry in trace:
        if entry["table"] not in exports:
            continue
        assert set(entry["key"]) == set(ROW_KEYS[entry["table"]])
        row = _row(exports[entry["table"]], entry["table"], entry["key"])
        if "suppressed" in row.index and entry["column"] != "n_unweighted":
            assert not bool(row["suppressed"]), entry
        if not entry["derivation"]:
            assert row[entry["column"]] == pytest.approx(entry["value"], rel=1e-12), entry
            checked += 1
    assert checked > 100


@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: s.slug)
def test_no_suppressed_value_appears_in_text_tables_charts_or_trace(report_run, scope):
    indicators = _export(report_run, "indicators")
    hidden = indicators[indicators["suppressed"] & (indicators["source_family"] == "pilot")
                        & indicators["territory"].isin(scope.territories)]
    assert len(hidden) > 50  # the shipped sample does hide cells: the test has something to find
    assert hidden["estimate"].isna().all()

    # The values the warehouse computed for the hidden cells, before suppression.
    keys = ["indicator_code", "source_id", *DIMENSIONS]
    with duckdb.connect(str(report_run.warehouse), read_only=True) as con:
        raw = pd.concat([con.execute(f'SELECT * FROM indicators."{s}"').df()
                         for s in hidden["source_id"].unique()], ignore_index=True)
    for dim in DIMENSIONS:  # a source's own table only has the dimensions it breaks down by
        raw[dim] = raw[dim].fillna(TOTAL) if dim in raw.columns else TOTAL
    secret = hidden[keys].merge(raw[[*keys, "estimate", "ci_low", "ci_high"]], on=keys)
    assert len(secret) == len(hidden)

    trace = _trace(report_run, scope)
    hidden_keys = {tuple(r) for r in hidden[keys].astype(str).itertuples(index=False)}
    for entry in trace:
        # A withheld row keeps only its respondent count (export contract v1).
        if entry["table"] == "indicators" and entry["column"] != "n_unweighted":
            assert tuple(entry["key"][k] for k in keys) not in hidden_keys, entry

    traced = {_normal(e["text"]) for e in trace}
    html = _normal(re.sub(r"<[^>]+>", " ", _html(report_run, scope)))
    pdf = _normal(_pdf_text(_pdf(report_run, scope)))
    shown = {_normal(m) for m in PERCENT.findall(pdf) + PERCENT.findall(html)}
    leaked = []
    for value in pd.concat([secret["estimate"], secret["ci_low"], secret["ci_high"]]).dropna():
        text = _french_percent(value)
        # A hidden value whose text equals a published figure's cannot be told apart from it;
        # any other occurrence is a leak.
        if text not in traced and text in shown:
            leaked.append(text)
    assert not leaked, leaked
    assert "masqué" in pdf and "masqué" in html


class _SectionHelp(HTMLParser):
    """Which HTML sections contain a help box."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.help: dict[str, str] = {}
        self.in_help = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.stack.append(attrs.get("id", ""))
        if tag == "aside" and "help" in (attrs.get("class") or ""):
            self.in_help += 1

    def handle_endtag(self, tag):
        if tag == "section":
            self.stack.pop()
        if tag == "aside" and self.in_help:
            self.in_help -= 1

    def handle_data(self, data):
        if self.in_help and self.stack:
            self.help[self.stack[-1]] = self.help.get(self.stack[-1], "") + data


@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: s.slug)
def test_help_lines_shown_wherever_victimisation_and_impacts_are(report_run, scope):
    parser = _SectionHelp()
    parser.feed(_html(report_run, scope))
    expected = []
    if "FR-OT" in scope.territories:
        expected.append("3018")
    if "CA-QC" in scope.territories:
        expected += ["Tel-jeunes", "Jeunesse, J'écoute"]
    for section in ("synthese", "prevalence", "impacts", "aide"):
        for name in expected:
            assert name in parser.help.get(section, ""), (section, name)
    pdf = _pdf_text(_pdf(report_run, scope))
    for name in expected:
        assert pdf.count(name) >= 4


def test_quebec_report_uses_quebec_words(report_run):
    quebec = _pdf_text(_pdf(report_run, SCOPES[1]))
    france = _pdf_text(_pdf(report_run, SCOPES[0]))
    assert "Victimes de cyberintimidation (faits répétés)" in _normal(quebec)
    assert "Victimes de cyberharcèlement (faits répétés)" in _normal(france)
    assert "Secondaire" in quebec and "Secondaire" not in france.replace("secondaire", "")
    assert _normal(quebec).count("école") > _normal(france).count("école")


def _without_section(html: str, section: str) -> str:
    start = html.index(f'<section id="{section}"')
    end = html.find("<section id=", start + 1)
    return html[:start] + (html[end:] if end > 0 else "")


def test_each_report_names_the_helpline_its_territory_asked_about(report_run):
    """The helpline indicator reads as the line each territory's pupils were asked about: no
    3018 in the Québec report (bar the list of sources, which cites French publishers), no
    Tel-jeunes in the Orléans-Tours one; the combined report's shared table names neither."""
    labels = {s["code"]: s for s in yaml.safe_load(
        (report_run.data_dir / "indicators.yaml").read_text(encoding="utf-8"))["indicators"]}
    worded = labels["KNOWS_HELPLINE"]["territory_labels"]
    scopes = {scope.slug: scope for scope in SCOPES}
    france, quebec, both = (_html(report_run, scopes[slug]) for slug in ("orleans_tours", "quebec", "ensemble"))
    # pypdf reads the PDF's hyphen in "Tel-jeunes" as a soft hyphen.
    france_pdf, quebec_pdf = (_normal(_pdf_text(_pdf(report_run, scopes[slug]))).replace("\u00ad", "-")
                              for slug in ("orleans_tours", "quebec"))
    assert quebec_pdf.count(worded["CA-QC"]["fr"]) >= 3 and france_pdf.count(worded["FR"]["fr"]) >= 3
    assert not re.search(r"\b3018\b", _without_section(quebec, "sources"))
    assert "Tel-jeunes" not in france and "Tel-jeunes" not in france_pdf
    assert labels["KNOWS_HELPLINE"]["label_fr"] in both
    assert worded["CA-QC"]["fr"] in both and worded["FR"]["fr"] in both  # each territory's wave table


@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: s.slug)
def test_findings_never_claim_a_cause(report_run, scope):
    html = _html(report_run, scope)
    findings = " ".join(re.findall(r'<ul class="findings">(.*?)</ul>', html, flags=re.S))
    assert findings
    for word in ("cause", "provoque", "entraîne", "réduit", "grâce à", "effet du", "efficace"):
        assert word not in findings.lower(), word
    # The summary says what the figures are: associations, not effects.
    assert "des associations observées dans une enquête transversale, pas des effets" in \
        _normal(html)


def test_report_follows_a_changed_input_figure(report_run, changed_run):
    scope = SCOPES[0]  # Orléans-Tours: the changed figure is a DEPP collège rate
    before, after = _trace(report_run, scope), _trace(changed_run, scope)

    def depp(trace):
        return sorted({e["value"] for e in trace if e["key"].get("source_id") == "public_fr_depp"
                       and e["key"].get("indicator_code") == "CV_ANY"
                       and e["key"].get("period") == "2021-2022"
                       and e["key"].get("sex") == TOTAL})

    assert depp(before) == [0.28]
    assert depp(after) == [0.41]
    # The comparison rows against DEPP collège 2021-2022 now read 41,0 % (28,0 % before).
    def depp_rows(run):
        rows = re.findall(r"<tr>(.*?)</tr>", _html(run, scope), flags=re.S)
        texts = [_normal(unescape(re.sub(r"<[^>]+>", " ", r))) for r in rows]
        return [t for t in texts if "MENJ-DEPP, 2021-2022" in t and
                t.startswith("victimes d'au moins une cyberviolence, Collège (6e-3e) (20")]

    assert depp_rows(report_run) and all("28,0 %" in r for r in depp_rows(report_run))
    assert depp_rows(changed_run) and all("41,0 %" in r for r in depp_rows(changed_run))
    count_before = _normal(_pdf_text(_pdf(report_run, scope))).count("41,0 %")
    count_after = _normal(_pdf_text(_pdf(changed_run, scope))).count("41,0 %")
    assert count_after > count_before

    # The gap printed beside each of those rows follows: pilot minus the new reference.
    comparisons = _export(changed_run, "comparisons")
    rows = comparisons[(comparisons["indicator_code"] == "CV_ANY")
                       & (comparisons["source_id_reference"] == "public_fr_depp")
                       & (comparisons["period_reference"] == "2021-2022")
                       & (comparisons["sex"] == TOTAL) & (comparisons["grade_group"] == "COLLEGE")]
    assert len(rows) == len(depp_rows(changed_run)) >= 1
    for _, row in rows.iterrows():
        gap = row["estimate_pilot"] - 0.41
        assert gap < -0.08  # the pilot's collège rate is now far below the reference
        text = f"{100 * gap:+.1f}".replace(".", ",").replace("-", "−") + " points"
        assert any(text in r for r in depp_rows(changed_run)), text
        assert not any(text in r for r in depp_rows(report_run)), text
