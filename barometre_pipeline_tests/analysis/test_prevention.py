"""Prevention sessions and programme schools on a simulated survey."""

import numpy as np
import pandas as pd
import pytest

from barometre_pipeline.analysis.prevention import (
    prevention_session_effects,
    programme_difference_in_differences,
    programme_schools_by_rule,
)
from barometre_pipeline_tests.analysis.simulated_survey import simulated_respondents


def test_session_effects_give_a_raw_difference_and_an_adjusted_odds_ratio():
    frame = simulated_respondents()
    effects = prevention_session_effects(frame, "sim", "FR-OT", "2025").set_index("measure")
    assert effects.loc["difference", "effect_code"] == "PILOT_DIFF_CV_ANY_PREVENTION_SESSION"
    assert effects.loc["adjusted_odds_ratio", "adjusted_for"] == "sex|grade_group"
    # sessions were drawn independently of victimisation: no association
    assert effects.loc["adjusted_odds_ratio", "ci_low"] < 1 < effects.loc["adjusted_odds_ratio", "ci_high"]


def test_pooled_territories_are_adjusted_for():
    one, other = simulated_respondents(seed=1), simulated_respondents(seed=2)
    other = other.assign(territory="CA-QC", psu="Q" + other["psu"], stratum="Q" + other["stratum"])
    effects = prevention_session_effects(pd.concat([one, other]), "pooled", "_T", "2025")
    assert "territory" in effects.set_index("measure").loc["adjusted_odds_ratio", "adjusted_for"]


def _two_waves(change_programme: float, change_other: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(5)
    waves = []
    for period, shift in (("2025", (0.0, 0.0)), ("2026", (change_programme, change_other))):
        frame = simulated_respondents(seed=int(period), schools_per_stratum=30)
        programme = frame["psu"].str[-2:].astype(int) % 3 == 0
        frame["prevention_session"] = rng.random(len(frame)) < np.where(programme, 0.8, 0.15)
        base = np.where(programme, 0.25, 0.30) + np.where(programme, shift[0], shift[1])
        frame["cv_any"] = rng.random(len(frame)) < base
        frame["period"] = period
        waves.append(frame)
    return waves[0], waves[1]


def test_rule_classifies_schools_from_the_later_wave():
    _, later = _two_waves(0.0, 0.0)
    by_rule = programme_schools_by_rule(later)
    truth = {s: int(s[-2:]) % 3 == 0 for s in later["school_id"].unique()}
    assert sum(by_rule[s] == truth[s] for s in truth) >= 0.95 * len(truth)


def test_difference_in_differences_recovers_a_planted_gap():
    earlier, later = _two_waves(-0.06, 0.04)
    effects = programme_difference_in_differences(earlier, later, "sim_2026", "FR-OT").set_index("measure")
    did = effects.loc["difference_in_differences"]
    assert did["ci_low"] < -0.10 < did["ci_high"] and did["ci_high"] < 0
    gaps = effects.loc["difference"].set_index("period")["estimate"]
    assert did["estimate"] == pytest.approx(gaps["2026"] - gaps["2025"])
    assert "au moins la moitié" in did["reference_group"]
    assert "sans que cela prouve" in did["interpretation_fr"]
    assert "PROGRAMME_SELON_REGLE" in did["quality_flags"]


def test_no_planted_gap_no_difference():
    earlier, later = _two_waves(0.02, 0.02)
    did = programme_difference_in_differences(earlier, later, "sim_2026", "FR-OT").set_index("measure")
    row = did.loc["difference_in_differences"]
    assert row["ci_low"] < 0 < row["ci_high"]

