"""Static dashboard: self-contained French HTML built from published aggregates only."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from barometre_pipeline.publish.dashboard import (
    SUPPRESSED_TEXT,
    format_value,
    render_dashboard,
    write_dashboard,
)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict]]:
    parser = _Collector()
    parser.feed(page)
    return parser.tags


def test_dashboard_renders_each_pilot_territory_with_its_headline(tmp_path, indicators_frame, catalogue):
    path = write_dashboard(indicators_frame, tmp_path, catalogue=catalogue)
    assert path == tmp_path / "dashboard" / "index.html"
    page = path.read_text(encoding="utf-8")
    assert '<html lang="fr">' in page
    assert 'id="t-FR-OT"' in page and 'id="t-CA-QC"' in page
    assert format_value(0.312, "proportion") in page  # FR-OT headline
    assert format_value(0.281, "proportion") + " à " + format_value(0.345, "proportion") in page
    assert "SYNTHÉTIQUES" in page
    # The public DEPP figures are shown next to the Orléans-Tours pilot.
    assert "depp_climat_scolaire" in page and format_value(0.28, "proportion") in page


def test_suppressed_and_caution_cells_are_flagged(indicators_frame):
    page = render_dashboard(indicators_frame)
    sex_chart = page[page.index('id="t-FR-OT-sex-t"'):]
    sex_chart = sex_chart[: sex_chart.index("</svg>")]
    assert "Autre / ne se prononce pas" in sex_chart and SUPPRESSED_TEXT in sex_chart
    assert "donnée non publiée (indicateur sensible)" in page  # the sensitive item
    assert "à interpréter avec prudence" in page  # the 3e cell
    # Every chart has a table fallback.
    assert page.count("<svg") == page.count("Voir les données en tableau")


def test_no_respondent_level_data_and_no_injected_markup(indicators_frame):
    planted = indicators_frame.assign(respondent_id=[f"RESP-{i:04d}-SECRET" for i in range(len(indicators_frame))])
    page = render_dashboard(planted)
    assert "RESP-" not in page and "respondent" not in page
    assert "<script" not in page.lower() and "&lt;script&gt;" in page


def test_no_external_resource_is_loaded(indicators_frame):
    page = render_dashboard(indicators_frame)
    for tag, attrs in _tags(page):
        for name in ("src", "srcset", "data"):
            assert name not in attrs, f"<{tag} {name}=...> loads a resource"
        if tag == "link":
            raise AssertionError("no <link> (stylesheet, font) allowed")
    assert not re.search(r"""src\s*=\s*["']?https?:""", page)
    assert not re.search(r"url\(|@import", page)


def test_rendering_is_deterministic(indicators_frame, catalogue):
    shuffled = indicators_frame.sample(frac=1.0, random_state=11)
    assert render_dashboard(indicators_frame, catalogue=catalogue) == render_dashboard(shuffled, catalogue=catalogue)


def test_the_suppression_text_follows_the_reasons(indicators_frame):
    frame = indicators_frame.copy()
    terminale = frame["level"] == "TLE"
    frame.loc[terminale, "suppression_reason"] = "complementary"
    page = render_dashboard(frame)
    assert "donnée non publiée (secret statistique)" in page
    frame.loc[terminale, "suppression_reason"] = "n_unweighted<30;complementary"
    assert "donnée non publiée (secret statistique)" not in render_dashboard(frame)


def test_catalogue_themes_decide_the_charts(indicators_frame, catalogue):
    page = render_dashboard(indicators_frame, catalogue=catalogue)
    items = page[page.index('id="t-FR-OT-items-t"'):]
    items = items[: items.index("</svg>")]
    assert "Insultes ou moqueries en ligne" in items and "Bien-être faible" not in items
    assert "Conséquences et bien-être, Académie d" in page  # WHO5_LOW's theme heading
