"""Wave-to-wave differences of the indicators table."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from barometre_pipeline.analysis.waves import wave_differences

FIXTURES = Path(__file__).parent.parent / "fixtures" / "analysis"


@pytest.fixture(scope="module")
def indicators():
    return pd.read_csv(FIXTURES / "indicators_two_waves.csv", dtype={"period": str},
                       keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def differences(indicators):
    return wave_differences(indicators).set_index("cell")


def test_only_comparable_published_pilot_cells_of_two_waves_are_differenced(differences):
    # total and girls in FR-OT; not X (suppressed in 2025), not Québec (definition changed),
    # not WHO5_LOW (one wave), not the public rows
    assert sorted(differences.index) == ["_T", "sex=F"]
    assert (differences["territory"] == "FR-OT").all()
    assert (differences["exposure"] == "wave").all() and (differences["measure"] == "difference").all()
    assert differences["counterpart"].isna().all()


def test_difference_is_later_minus_earlier_with_independent_standard_errors(differences, indicators):
    total = differences.loc["_T"]
    assert total["estimate"] == pytest.approx(0.31 - 0.25)
    assert total["se"] == pytest.approx(np.hypot(0.010, 0.012))
    assert total["period"] == "2025/2026" and total["source_id"] == "pilot_fr_2026"
    assert total["reference_group"] == "period=2025 (pilot_fr_2025)"
    assert total["n_unweighted"] == 8100
    assert total["ci_low"] < total["estimate"] < total["ci_high"]


def test_significance_flag_follows_the_test(differences):
    assert bool(differences.loc["_T", "significant"]) is True  # +6 points, se 1.6
    assert bool(differences.loc["sex=F", "significant"]) is False  # +0.5 point, se 2.2
    assert differences.loc["_T", "p_value"] < 0.05 < differences.loc["sex=F", "p_value"]
    assert "non significatif" in differences.loc["sex=F", "interpretation_fr"]


def test_a_definition_change_breaks_the_trend(indicators):
    same = indicators.assign(comparability_group=indicators["comparability_group"].replace(
        "CV_ANY_QC_SCHOOLYEAR", "CV_ANY_QC_12M"))
    assert "CA-QC" in set(wave_differences(same)["territory"])
