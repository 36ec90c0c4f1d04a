"""One description per published table (barometre_pipeline.metadata) generates the export
contract, the pandera schema and the dictionary's column docs: each generated check fires on the
wrong side of its boundary and not on the right side."""

from __future__ import annotations

import pandas as pd
import pytest

from barometre_pipeline.metadata import INDICATORS, PUBLISHED_TABLES, dictionary_columns
from barometre_pipeline.publish.contract import INDICATORS_COLUMNS, KEY_COLUMNS
from barometre_pipeline.publish.other_datasets import OTHER_DATASETS
from barometre_pipeline.validation.schemas import consolidated_indicators_schema, validate
from barometre_pipeline.vocabulary import PUBLISHED_SEX_CODES, SOURCE_FAMILIES, TOTAL

MIN_N = 30


def _row(**changes) -> dict:
    row = {c.name: None for c in INDICATORS.columns}
    row.update({
        "indicator_code": "CV_ANY", "indicator_label_fr": "Victime", "source_id": "pilot_x",
        "source_family": "pilot", "territory": "FR-OT", "period": "2025", "breakdown": TOTAL,
        "estimate": 0.30, "se": 0.02, "ci_low": 0.26, "ci_high": 0.34, "n_unweighted": MIN_N,
        "unit": "proportion", "suppressed": False, "comparability_group": "CV_ANY_PILOT",
        "provenance": "{}",
    })
    for dimension in ("sex", "level", "age_band", "grade_group", "departement", "sector",
                      "priority_education"):
        row[dimension] = TOTAL
    row.update(changes)
    return row


def _failures(*rows: dict) -> set[str]:
    outcome = validate(consolidated_indicators_schema(MIN_N), pd.DataFrame(list(rows)))
    if outcome.passed:
        return set()
    return set(outcome.failure_cases["check"].astype(str))


def test_the_contract_is_the_description():
    assert INDICATORS_COLUMNS is INDICATORS.columns
    assert KEY_COLUMNS == INDICATORS.keys
    assert INDICATORS.column("sex").allowed == PUBLISHED_SEX_CODES
    assert INDICATORS.column("source_family").allowed == SOURCE_FAMILIES


def test_a_valid_row_passes():
    assert _failures(_row()) == set()


@pytest.mark.parametrize(("sex", "passes"), [("_U", True), ("X", True), ("_T", True),
                                             ("Z", False), ("f", False)])
def test_sex_codes_come_from_the_vocabulary(sex, passes):
    assert (not _failures(_row(sex=sex))) is passes


@pytest.mark.parametrize(("estimate", "passes"), [(1.0, True), (0.0, True), (1.0001, False),
                                                  (-0.0001, False)])
def test_proportions_lie_in_0_1(estimate, passes):
    row = _row(estimate=estimate, ci_low=min(estimate, 0.0), ci_high=max(estimate, 1.0))
    assert ("proportions_in_0_1" not in _failures(row)) is passes


def test_an_odds_ratio_may_exceed_one():
    assert _failures(_row(unit="odds_ratio", estimate=3.4, ci_low=2.0, ci_high=5.0)) == set()


@pytest.mark.parametrize(("n", "suppressed", "passes"), [(MIN_N, False, True),
                                                         (MIN_N - 1, False, False),
                                                         (MIN_N - 1, True, True)])
def test_published_pilot_cells_have_the_minimum_n(n, suppressed, passes):
    withheld = {"estimate": None, "se": None, "ci_low": None, "ci_high": None} if suppressed else {}
    failures = _failures(_row(n_unweighted=n, suppressed=suppressed, **withheld))
    assert (f"published_pilot_cells_have_n_at_least_{MIN_N}" not in failures) is passes


def test_a_public_figure_under_the_minimum_n_is_not_a_pilot_cell():
    assert _failures(_row(source_family="public", n_unweighted=10)) == set()


def test_a_suppressed_row_keeps_no_estimate():
    assert "suppressed_rows_have_no_estimate" in _failures(_row(suppressed=True))
    assert "suppressed_rows_have_no_estimate" in _failures(
        _row(suppressed=True, estimate=None, ci_low=None, ci_high=None))  # se left
    assert _failures(_row(suppressed=True, estimate=None, se=None, ci_low=None,
                          ci_high=None)) == set()


def test_the_interval_contains_the_estimate():
    assert "ci_low_below_estimate" in _failures(_row(ci_low=0.31))
    assert "ci_high_above_estimate" in _failures(_row(ci_high=0.29))
    assert _failures(_row(ci_low=0.30, ci_high=0.30)) == set()


def test_every_row_has_a_comparability_group():
    assert "comparability_group_given" in _failures(_row(comparability_group=None))


def test_a_missing_contract_column_fails():
    row = _row()
    del row["provenance"]
    assert _failures(row)


def test_the_dictionary_documents_every_published_table_from_the_same_descriptions():
    docs = dictionary_columns()
    assert set(docs) == set(PUBLISHED_TABLES) == {"indicators", *OTHER_DATASETS}
    for name, table in PUBLISHED_TABLES.items():
        assert [d["name"] for d in docs[name]] == list(table.column_names())
        assert all(d["description_fr"] and d["description_en"] for d in docs[name])
    assert OTHER_DATASETS["sources"] == docs["sources"]
    assert "update_status" in PUBLISHED_TABLES["sources"].column_names()


@pytest.mark.parametrize(("estimate", "passes"), [(0.03, True), (0.65, True), (0.029, False),
                                                  (0.651, False)])
def test_the_gx_plausibility_band_of_pilot_cv_any(estimate, passes):
    from barometre_pipeline.validation.expectations import plausibility_suite
    from barometre_pipeline.validation.gx_suites import run_suite

    frame = pd.DataFrame([_row(estimate=estimate, ci_low=None, ci_high=None),
                          _row(source_family="public", source_id="hbsc", estimate=0.9)])
    ((rows, expectations),) = plausibility_suite(INDICATORS, frame)
    assert len(rows) == 1  # the band applies to the pilot's overall CV_ANY only
    assert run_suite(rows, "band", expectations).success is passes
