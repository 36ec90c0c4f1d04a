"""Indicators worded per territory: the helpline each pilot territory asked about (3018 in France,
Tel-jeunes in Québec) is named in that territory's report sections, tables and site views, and
never in the other's."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml

from barometre_pipeline.indicators.catalogue import (
    CatalogueError,
    indicator_label,
    load_catalogue,
    territory_and_parents,
)
from barometre_pipeline.publish.report.build import SCOPES, ReportBuilder
from barometre_pipeline.publish.report.tables import PublishedTables
from barometre_pipeline.publish.site.build import _indicator_entries
from barometre_pipeline.settings import PROJECT_ROOT
from barometre_pipeline.vocabulary import TERRITORY_ORLEANS_TOURS, TERRITORY_QUEBEC

CATALOGUE = PROJECT_ROOT / "data" / "indicators.yaml"
HELPLINE = "KNOWS_HELPLINE"
FRENCH_LINE, QUEBEC_LINE = "3018", "Tel-jeunes"


def _spec() -> dict:
    raw = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    return next(s for s in raw["indicators"] if s["code"] == HELPLINE)


@pytest.mark.parametrize(("territory", "named", "not_named"), [
    (TERRITORY_ORLEANS_TOURS, FRENCH_LINE, QUEBEC_LINE),   # through FR, the territory containing it
    ("FR", FRENCH_LINE, QUEBEC_LINE),
    (TERRITORY_QUEBEC, QUEBEC_LINE, FRENCH_LINE),
    ("CA-QC-02", QUEBEC_LINE, FRENCH_LINE),                # a Québec region
])
def test_the_catalogue_names_each_territory_its_own_helpline(territory, named, not_named):
    indicator = load_catalogue(CATALOGUE).by_code()[HELPLINE]
    for language in ("fr", "en"):
        label = indicator.label(language, territory)
        assert named in label and not_named not in label
        assert indicator_label(_spec(), language, territory) == label


@pytest.mark.parametrize("territory", [None, "CA-ON", "INT"])
def test_without_a_territory_of_its_own_the_label_names_no_line(territory):
    for language in ("fr", "en"):
        label = indicator_label(_spec(), language, territory)
        assert label == _spec()[f"label_{language}"]
        assert FRENCH_LINE not in label and QUEBEC_LINE not in label


def test_territory_and_parents():
    assert territory_and_parents("FR-OT") == ["FR-OT", "FR"]
    assert territory_and_parents("CA-QC-02") == ["CA-QC-02", "CA-QC", "CA"]
    assert territory_and_parents("INT") == ["INT"]


@pytest.mark.parametrize(("labels", "found"), [
    ("{FR: {fr: \"Connaît le 3018\"}}", "`territory_labels.FR` must have exactly non-empty `fr` and `en`"),
    ("{FR: {fr: \"\", en: x}}", "`territory_labels.FR` must have exactly non-empty `fr` and `en`"),
    ("[FR]", "field `territory_labels` must map territory codes"),
])
def test_a_malformed_territory_label_is_refused_with_file_indicator_and_field(tmp_path, labels, found):
    path = tmp_path / "indicators.yaml"
    path.write_text(textwrap.dedent(f"""\
        breakdown_sets: {{total: []}}
        indicators:
          - {{code: A, label_fr: a, label_en: a, numerator: x, unit: proportion}}
          - {{code: KNOWS_X, label_fr: b, label_en: b, numerator: y, unit: proportion,
             territory_labels: {labels}}}
        """), encoding="utf-8")
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(path)
    message = str(raised.value)
    assert str(path) in message and "indicators[1] (KNOWS_X)" in message and found in message


def _tables() -> PublishedTables:
    rows = [{"indicator_code": HELPLINE, "source_id": f"pilot_{t}", "source_family": "pilot",
             "territory": t, "period": "2026"} for t in (TERRITORY_ORLEANS_TOURS, TERRITORY_QUEBEC)]
    empty = pd.DataFrame()
    return PublishedTables(
        indicators=pd.DataFrame(rows), effects=empty, comparisons=empty, sources=empty,
        catalogue=yaml.safe_load(CATALOGUE.read_text(encoding="utf-8")),
        codebook=yaml.safe_load((PROJECT_ROOT / "data" / "codebook.yaml").read_text(encoding="utf-8")),
        help_resources=empty, margins={}, data_dir=Path(PROJECT_ROOT / "data"))


def test_each_report_labels_the_helpline_of_its_territory():
    tables = _tables()
    by_slug = {scope.slug: ReportBuilder(tables, scope) for scope in SCOPES}
    quebec, france, both = by_slug["quebec"], by_slug["orleans_tours"], by_slug["ensemble"]
    assert QUEBEC_LINE in quebec.indicator_label(HELPLINE) and FRENCH_LINE not in quebec.indicator_label(HELPLINE)
    assert FRENCH_LINE in france.indicator_label(HELPLINE) and QUEBEC_LINE not in france.indicator_label(HELPLINE)
    # The combined report: a table of both territories names neither line; a territory's own
    # section, or a row of the export, names that territory's line.
    general = both.indicator_label(HELPLINE)
    assert FRENCH_LINE not in general and QUEBEC_LINE not in general
    assert QUEBEC_LINE in both.indicator_label(HELPLINE, TERRITORY_QUEBEC)
    assert FRENCH_LINE in both.indicator_label(HELPLINE, TERRITORY_ORLEANS_TOURS)
    quebec_row = tables.indicators.iloc[1].to_dict()
    assert QUEBEC_LINE in both.indicator_label(quebec_row)
    # Other indicators keep their one label.
    assert both.indicator_label("CV_ANY", TERRITORY_QUEBEC) == both.indicator_label("CV_ANY")


def test_the_site_payload_words_the_helpline_for_each_territory_it_is_published_for():
    catalogue = yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))
    entries = _indicator_entries(catalogue, territories={
        HELPLINE: {TERRITORY_ORLEANS_TOURS, TERRITORY_QUEBEC}, "CV_ANY": {TERRITORY_QUEBEC}})
    helpline = entries[HELPLINE]
    assert FRENCH_LINE not in helpline["fr"] + helpline["en"] and QUEBEC_LINE not in helpline["fr"] + helpline["en"]
    assert set(helpline["territories"]) == {TERRITORY_ORLEANS_TOURS, TERRITORY_QUEBEC}
    for language in ("fr", "en"):
        assert FRENCH_LINE in helpline["territories"][TERRITORY_ORLEANS_TOURS][language]
        assert QUEBEC_LINE not in helpline["territories"][TERRITORY_ORLEANS_TOURS][language]
        assert QUEBEC_LINE in helpline["territories"][TERRITORY_QUEBEC][language]
        assert FRENCH_LINE not in helpline["territories"][TERRITORY_QUEBEC][language]
    assert "territories" not in entries["CV_ANY"]
