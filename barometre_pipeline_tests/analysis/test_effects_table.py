"""The common effects schema, published effects and the pilot ↔ literature links."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from barometre_pipeline.analysis.effects_table import (
    EFFECT_COLUMNS,
    conform_effects,
    link_counterparts,
    literature_effects,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "analysis"


@pytest.fixture(scope="module")
def literature():
    staged = pd.read_csv(FIXTURES / "scientific_effects_staged.csv", dtype={"period": str})
    return literature_effects(staged).set_index("effect_code")


def test_conform_orders_fills_and_types():
    table = conform_effects(pd.DataFrame([{"measure": "difference", "effect_code": "A",
                                           "estimate": "0.1", "p_value": 0.01}]))
    assert list(table.columns) == list(EFFECT_COLUMNS)
    assert table.loc[0, "cell"] == "_T" and not table.loc[0, "suppressed"]
    assert bool(table.loc[0, "significant"]) is True and table.loc[0, "estimate"] == 0.1


def test_conform_refuses_unknown_measures_and_repeated_keys():
    with pytest.raises(ValueError, match="measure"):
        conform_effects(pd.DataFrame([{"measure": "risk_ratio", "effect_code": "A"}]))
    with pytest.raises(ValueError, match="unique"):
        conform_effects(pd.DataFrame([{"measure": "difference", "effect_code": "A"}] * 2))


def test_units_become_measures_and_codes_stay_per_publication(literature):
    assert literature.loc["SCI_LI2022_CBONLY_DEPRESS", "measure"] == "odds_ratio"
    assert literature.loc["SCI_OSDUHS2013_CB_DISTRESS", "measure"] == "adjusted_odds_ratio"
    assert literature.loc["SCI_MOLERO2022_DEP", "measure"] == "correlation"
    assert literature.loc["SCI_LI2022_CBONLY_DEPRESS", "counterpart"] == "WHO5_LOW|CV_ANY"
    assert literature.index.is_unique


def test_log_scale_se_is_derived_from_the_published_interval(literature):
    row = literature.loc["SCI_LI2022_CBONLY_DEPRESS"]
    # Li et al.: 3.38 (2.57-4.46); the derived se rebuilds the interval around the log estimate
    assert np.exp(np.log(row["ci_low"]) + 2 * 1.959964 * row["se"]) == pytest.approx(row["ci_high"])
    assert 0 < row["p_value"] < 1e-6
    assert "SE_DERIVEE_DE_L_IC" in row["quality_flags"]
    # no interval published: no se, no p-value invented
    assert np.isnan(literature.loc["SCI_YRBS2021_OBESITY_AOR", "se"])


def test_pilot_ratios_are_linked_to_literature_ratios_of_the_same_outcome_and_exposure(literature):
    pilot = pd.DataFrame([
        {"effect_code": "PILOT_OR_WHO5_LOW_CV_ANY", "source_family": "pilot", "source_id": "p",
         "outcome": "WHO5_LOW", "exposure": "CV_ANY", "measure": "adjusted_odds_ratio"},
        {"effect_code": "PILOT_DIFF_WHO5_LOW_CV_ANY", "source_family": "pilot", "source_id": "p",
         "outcome": "WHO5_LOW", "exposure": "CV_ANY", "measure": "difference"},
        {"effect_code": "PILOT_OR_CV_ANY_SEX_M", "source_family": "pilot", "source_id": "p",
         "outcome": "CV_ANY", "exposure": "sex=M/F", "measure": "adjusted_odds_ratio"},
    ])
    linked = link_counterparts(pd.concat([pilot, literature.reset_index()])).set_index("effect_code")
    assert linked.loc["PILOT_OR_WHO5_LOW_CV_ANY", "counterpart"] == "SCI_LI2022_CBONLY_DEPRESS;SCI_OSDUHS2013_CB_DISTRESS"
    assert linked.loc["PILOT_OR_CV_ANY_SEX_M", "counterpart"] == "SCI_ABCD2022_BOYS_AOR"
    assert pd.isna(linked.loc["PILOT_DIFF_WHO5_LOW_CV_ANY", "counterpart"])
    # literature rows keep their own key
    assert linked.loc["SCI_MOLERO2022_DEP", "counterpart"] == "WHO5_LOW|CV_ANY"
