"""Pilot estimates set beside the published series: pairing rules, verdicts, and a real run."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from barometre_pipeline.analysis.comparisons import (
    COMPARISON_COLUMNS,
    compare_pilot_with_history,
    territory_relation,
)
from barometre_pipeline.settings import PROJECT_ROOT

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "analysis_comparisons"


@pytest.fixture(scope="module")
def small_table() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "indicators_small.csv", dtype={"period": str})


@pytest.fixture(scope="module")
def crosswalk() -> dict:
    return yaml.safe_load((FIXTURES / "crosswalk_groups.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def comparisons(small_table: pd.DataFrame, crosswalk: dict) -> pd.DataFrame:
    return compare_pilot_with_history(small_table, crosswalk)


def only(table: pd.DataFrame, **where: str) -> pd.Series:
    mask = pd.Series(True, index=table.index)
    for column, value in where.items():
        mask &= table[column] == value
    assert mask.sum() == 1, f"expected one row for {where}, got {int(mask.sum())}"
    return table[mask].iloc[0]


def test_columns_are_the_documented_ones(comparisons: pd.DataFrame) -> None:
    assert list(comparisons.columns) == list(COMPARISON_COLUMNS)


def test_exactly_the_expected_pairs_are_made(comparisons: pd.DataFrame) -> None:
    pairs = set(zip(comparisons["source_id_pilot"], comparisons["sex"], comparisons["grade_group"],
                    comparisons["source_id_reference"], strict=True))
    assert pairs == {
        ("pilot_fr", "_T", "COLLEGE", "public_national"),
        ("pilot_fr", "_T", "COLLEGE", "public_with_ci"),
        ("pilot_fr", "_T", "COLLEGE", "public_close"),
        ("pilot_fr", "_T", "COLLEGE", "public_two_months"),
        ("pilot_fr", "_T", "_T", "public_international"),
        ("pilot_fr", "_T", "_T", "public_fr_total"),
        ("pilot_qc", "_T", "_T", "public_qc"),
        ("pilot_qc", "_T", "_T", "public_ca"),
        ("pilot_qc", "_T", "_T", "public_international"),
        ("pilot_qc", "X", "_T", "public_qc"),
    }


def test_reference_without_interval_or_n_is_only_indicative(comparisons: pd.DataFrame) -> None:
    row = only(comparisons, source_id_pilot="pilot_fr", source_id_reference="public_national")
    # The reference was published with level COLLEGE: read as the collège grade group.
    assert row["grade_group"] == "COLLEGE"
    assert row["same_definition"]
    # 25 % lies below the pilot's interval, but the reference's own error is unknown: no verdict.
    assert row["verdict"] == "indicative"
    assert row["verdict_fr"] == "indicatif : incertitude de la référence inconnue"
    assert row["reference_uncertainty"] == "unknown"
    assert row["difference"] == pytest.approx(0.30 - 0.25)
    assert math.isnan(row["se_difference"]) and math.isnan(row["p_value"]) and math.isnan(row["q_value"])
    assert "sous l'intervalle" in row["reason"]
    assert "inclus" in row["reason"]  # FR-OT is a territory within France


def test_reference_with_n_only_gets_a_binomial_error_times_the_design_effect(comparisons, crosswalk):
    row = only(comparisons, source_id_pilot="pilot_qc", source_id_reference="public_qc", sex="_T")
    assert row["reference_uncertainty"] == "binomial_with_deff"
    se_reference = math.sqrt(0.2 * 0.8 / 13602 * 2.0)  # default design effect of the crosswalk
    assert row["se_difference"] == pytest.approx(math.hypot(0.008, se_reference), rel=1e-9)
    assert row["verdict"] == "higher"


def test_verdicts_use_benjamini_hochberg_q_values_over_the_family(comparisons):
    tested = comparisons[comparisons["p_value"].notna()].sort_values("p_value")
    assert len(tested) == 3
    # R: p.adjust(p, "BH") on the family's three p-values.
    p = tested["p_value"].to_numpy()
    expected = [min(min(p[j] * 3 / (j + 1) for j in range(i, 3)), 1) for i in range(3)]
    assert tested["q_value"].to_numpy() == pytest.approx(expected, rel=1e-12)
    assert ((tested["q_value"] < 0.05) == tested["verdict"].isin(["higher", "lower"])).all()
    assert comparisons.loc[comparisons["p_value"].isna(), "q_value"].isna().all()


def test_the_pilots_other_sex_is_never_a_trans_or_non_binary_group(comparisons):
    row = only(comparisons, source_id_pilot="pilot_qc", sex="X")
    assert not row["same_definition"]
    assert row["verdict"] == "not_comparable"
    assert "autre / préfère ne pas répondre" in row["reason"]


def test_two_intervals_give_a_z_test(comparisons: pd.DataFrame) -> None:
    lower = only(comparisons, source_id_reference="public_with_ci")
    se_reference = (0.380 - 0.340) / (2 * 1.959964)
    assert lower["se_difference"] == pytest.approx(math.hypot(0.010, se_reference), rel=1e-4)
    assert lower["verdict"] == "lower"
    assert lower["p_value"] < 0.05
    close = only(comparisons, source_id_reference="public_close")
    assert close["verdict"] == "not_different"
    assert close["p_value"] > 0.05
    assert close["test"] == "z_independent"
    assert "SOURCE_SECONDAIRE" in close["reason"]


def test_different_definitions_are_not_comparable(comparisons: pd.DataFrame) -> None:
    for reference in ("public_two_months", "public_international"):
        rows = comparisons[comparisons["source_id_reference"] == reference]
        assert (rows["verdict"] == "not_comparable").all()
        assert (~rows["same_definition"]).all()
        assert rows["se_difference"].isna().all()
        assert rows["reason"].str.contains("2 derniers mois").all()
        assert rows["verdict_fr"].str.startswith("Non comparable").all()
    quebec = only(comparisons, source_id_pilot="pilot_qc", source_id_reference="public_international")
    assert "12 derniers mois" in quebec["reason"]
    assert "11, 13 et 15 ans" in quebec["reason"]


def test_quebec_pilot_is_paired_with_quebec_first_then_canada(comparisons: pd.DataFrame) -> None:
    quebec = comparisons[(comparisons["source_id_pilot"] == "pilot_qc") & (comparisons["sex"] == "_T")]
    assert list(quebec["source_id_reference"]) == ["public_qc", "public_ca", "public_international"]
    assert list(quebec["territory_relation"]) == ["same_territory", "pilot_within_reference",
                                                  "international"]
    assert list(quebec["verdict"]) == ["higher", "indicative", "not_comparable"]


def test_same_definition_inside_the_interval_without_uncertainty_is_indicative(comparisons) -> None:
    row = only(comparisons, source_id_pilot="pilot_fr", source_id_reference="public_fr_total")
    assert row["verdict"] == "indicative"
    assert "dans l'intervalle" in row["reason"]


def test_territory_relations() -> None:
    assert territory_relation("FR-OT", "FR-OT") == (0, "same_territory")
    assert territory_relation("FR-OT", "FR") == (1, "pilot_within_reference")
    assert territory_relation("FR-OT", "FR-MET") == (1, "pilot_within_reference")
    assert territory_relation("FR-OT", "FR-37") == (1, "reference_within_pilot")
    assert territory_relation("CA-QC", "CA-QC-02") == (1, "reference_within_pilot")
    assert territory_relation("CA-QC", "INT") == (2, "international")
    assert territory_relation("CA-QC", "FR") is None
    assert territory_relation("FR-OT", "US") is None


def test_without_pilot_rows_the_table_is_empty(small_table: pd.DataFrame) -> None:
    published_only = small_table[small_table["source_family"] != "pilot"]
    result = compare_pilot_with_history(published_only, None)
    assert result.empty
    assert list(result.columns) == list(COMPARISON_COLUMNS)


# --- on a real pipeline run ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_comparisons(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    from barometre_pipeline_tests.pipeline.conftest import copy_data, run_pipeline

    with pytest.MonkeyPatch.context() as monkeypatch:
        run = run_pipeline(copy_data(tmp_path_factory.mktemp("comparisons") / "data"), monkeypatch)
    assert run.result.success
    crosswalk = yaml.safe_load(
        (PROJECT_ROOT / "data" / "reference" / "indicator_crosswalk.yaml").read_text(encoding="utf-8"))
    return compare_pilot_with_history(run.indicators(), crosswalk)


def test_depp_college_row_is_compared_with_the_orleans_tours_pilot(real_comparisons: pd.DataFrame) -> None:
    depp = real_comparisons[
        (real_comparisons["indicator_code"] == "CV_ANY")
        & (real_comparisons["source_id_reference"] == "public_fr_depp")
        & (real_comparisons["period_reference"] == "2021-2022")
        & (real_comparisons["sex"] == "_T") & (real_comparisons["grade_group"] == "COLLEGE")]
    assert set(depp["source_id_pilot"]) == {"pilot_orleans_tours_2025", "pilot_orleans_tours_2026"}
    assert (depp["territory_pilot"] == "FR-OT").all()
    assert list(depp["estimate_reference"]) == pytest.approx([0.28, 0.28])
    assert (depp["comparability_group_reference"] == "CV_ANY_SCHOOLYEAR_FR_DEPP").all()
    assert depp["same_definition"].all()
    # DEPP publishes neither interval nor n here: no test, the verdict is indicative.
    assert (depp["verdict"] == "indicative").all()
    assert (depp["reference_uncertainty"] == "unknown").all()


def test_hbsc_is_not_comparable_with_any_pilot(real_comparisons: pd.DataFrame) -> None:
    hbsc = real_comparisons[(real_comparisons["indicator_code"] == "CV_ANY")
                            & (real_comparisons["comparability_group_reference"] == "CYBERBULLIED_HBSC")
                            & (real_comparisons["period_reference"] == "2021-2022")
                            & (real_comparisons["sex"] == "_T")]
    assert {"FR-OT", "CA-QC"} <= set(hbsc["territory_pilot"])
    assert (hbsc["verdict"] == "not_comparable").all()
    assert hbsc["reason"].str.contains("2 derniers mois").all()


def test_quebec_pilot_never_meets_french_references(real_comparisons: pd.DataFrame) -> None:
    quebec = real_comparisons[real_comparisons["territory_pilot"] == "CA-QC"]
    assert not quebec.empty
    assert not quebec["territory_reference"].str.startswith("FR").any()
    assert (quebec["source_id_reference"] == "public_ca_statcan").any()
