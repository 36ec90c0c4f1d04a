"""What the published reports say about their own sources and withheld cells, read from the rendered
HTML and PDF text: the Sources table of a territory's report lists what that report cites (and no
other territory's publishers), and the method text names a withheld cell's reason in the very words
the cells print (stats.publication.REASONS)."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import pytest

from barometre_pipeline.publish.report import SCOPES
from barometre_pipeline.publish.report.build import withheld_reason
from barometre_pipeline.stats.publication import (
    COMPLEMENTARY,
    CONFIDENTIALITY,
    REASONS,
    UNSTATED_REASON,
)
from barometre_pipeline_tests.report.test_report_pipeline import (
    _export,
    _html,
    _normal,
    _pdf,
    _pdf_text,
    _trace,
)

SCOPE = {s.slug: s for s in SCOPES}
# The `territory` cells of the shipped data/sources rows that concern one side of the Atlantic only
# (read from the sources export of the shipped data; pilot rows carry their territory code).
FRENCH_ONLY = {"FR-OT", "France", "France hexagonale", "Académie d'Orléans-Tours"}
QUEBEC_ONLY = {"CA-QC", "Québec", "Canada, Québec"}


class _SectionTables(HTMLParser):
    """The table rows (lists of cell texts) and the text of each top-level HTML section."""

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.rows: dict[str, list[list[str]]] = {}
        self.text: dict[str, str] = {}
        self.row: list[str] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.stack.append(dict(attrs).get("id", ""))
        elif tag == "tr" and self.stack:
            self.row = []
        elif tag == "td" and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "section":
            self.stack.pop()
        elif tag == "td" and self.cell is not None:
            self.row.append(_normal(unescape("".join(self.cell))))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.row:
                self.rows.setdefault(self.stack[0], []).append(self.row)
            self.row = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)
        if self.stack:
            self.text[self.stack[0]] = self.text.get(self.stack[0], "") + data + " "


def _sections(run, scope) -> _SectionTables:
    parser = _SectionTables()
    parser.feed(_html(run, scope))
    return parser


def _source_rows(run, scope) -> list[list[str]]:
    """The Sources table: [citation, period, territory, licence, address, flags] per row."""
    rows = _sections(run, scope).rows["sources"]
    assert rows and all(len(r) == 6 for r in rows)
    return rows


def _listed(rows: list[list[str]], source: dict) -> bool:
    """A sources-export row appears in the table: its title in the citation, its territory cell."""
    return any(str(source["title"]) in r[0] and r[2] == str(source["territory"]) for r in rows)


def _cited_by_sections(run, scope) -> set[str]:
    """The source ids of every number the report's other sections quote (its trace)."""
    cited = set()
    for entry in _trace(run, scope):
        if entry["section"] == "sources":
            continue
        for column in ("source_id", "source_id_reference"):
            if entry["key"].get(column):
                cited.add(entry["key"][column])
    return cited


@pytest.mark.parametrize("slug", ["orleans_tours", "quebec"])
def test_a_territory_report_lists_every_source_it_cites_and_no_other_territory(report_run, slug):
    scope = SCOPE[slug]
    sources = _export(report_run, "sources")
    by_id = {r["source_id"]: r for r in sources.to_dict("records")}
    rows = _source_rows(report_run, scope)
    cited = _cited_by_sections(report_run, scope)
    references = {s for s in cited if by_id[s]["source_family"] != "pilot"}
    assert references  # each territory's report does compare with public series
    for source_id in cited:
        assert _listed(rows, by_id[source_id]), source_id
    foreign = FRENCH_ONLY if slug == "quebec" else QUEBEC_ONLY
    shown_territories = {r[2] for r in rows}
    assert not shown_territories & foreign, shown_territories & foreign
    for source in by_id.values():
        if source["territory"] in foreign:
            assert not _listed(rows, source), source["source_id"]
            if source["source_family"] != "pilot":  # every pilot wave has the same publisher
                assert str(source["publisher"]).split("(")[0].strip() not in " ".join(
                    r[0] for r in rows), source["source_id"]
    # Fewer rows than the whole bibliography: the filter did drop something.
    assert len(rows) < len(sources)
    text = _normal(_sections(report_run, scope).text["sources"])
    assert "sources dont il cite" in text


def test_quebec_report_names_no_french_publisher(report_run):
    rows = _source_rows(report_run, SCOPE["quebec"])
    citations = " ".join(r[0] for r in rows)
    assert "e-Enfance" not in citations and "DEPP" not in citations
    assert "Institut de la statistique du Québec" in citations


def test_the_combined_report_keeps_every_source(report_run):
    sources = _export(report_run, "sources")
    rows = _source_rows(report_run, SCOPE["ensemble"])
    scope_territories = set(SCOPE["ensemble"].territories)
    expected = [s for s in sources.to_dict("records")
                if s["source_family"] != "pilot" or s["territory"] in scope_territories]
    assert len(rows) == len(expected)
    for source in expected:
        assert _listed(rows, source), source["source_id"]
    assert {"France", "Québec"} <= {r[2] for r in rows}


@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: s.slug)
def test_method_text_names_withheld_cells_in_the_cells_own_words(report_run, scope):
    complement = withheld_reason(COMPLEMENTARY)
    assert complement == f"masqué ({REASONS[COMPLEMENTARY].fr_short})"
    sections = _sections(report_run, scope)
    methods = _normal(unescape(sections.text["methodes"]))
    assert f"« {complement} »" in methods
    assert f"« {withheld_reason(f'{CONFIDENTIALITY}:n')} »" in methods
    glossary = sections.rows["glossaire"]
    assert [REASONS[COMPLEMENTARY].fr_short.capitalize()] == [
        r[0] for r in glossary if r[0].lower() == REASONS[COMPLEMENTARY].fr_short]
    html = _normal(unescape(re.sub(r"<[^>]+>", " ", _html(report_run, scope))))
    pdf = _normal(_pdf_text(_pdf(report_run, scope)))
    for text in (html, pdf):
        assert "secret secondaire" not in text
        # Every "masqué (...)" the reader sees, in the method text or in a cell, is a reason's
        # short words from the one vocabulary.
        words = {r.fr_short for r in REASONS.values()} | {UNSTATED_REASON.fr_short}
        found = re.findall(r"masqué \(([^)]*)\)", text)
        assert found
        assert set(found) <= words, set(found) - words
    assert f"« {complement} »" in pdf  # the method text as printed, line breaks aside
