"""Victims compared with non-victims: differences of proportions and adjusted odds ratios."""

import numpy as np
import pytest

from barometre_pipeline.analysis.impacts import impact_effects
from barometre_pipeline.analysis.model_frame import DesignColumns
from barometre_pipeline.stats.comparisons import difference_independent
from barometre_pipeline.stats.design import SurveyDesign
from barometre_pipeline.stats.estimators import survey_proportion
from barometre_pipeline_tests.analysis.simulated_survey import (
    PLANTED_WHO5_LOW_ODDS_RATIO,
    simulated_respondents,
)


@pytest.fixture(scope="module")
def respondents():
    return simulated_respondents()


@pytest.fixture(scope="module")
def effects(respondents):
    return impact_effects(respondents, "sim", "FR-OT", "2025").set_index("effect_code")


def test_codes_join_the_literature_counterparts(effects):
    row = effects.loc["PILOT_OR_WHO5_LOW_CV_ANY"]
    assert (row["outcome"], row["exposure"], row["measure"]) == ("WHO5_LOW", "CV_ANY", "adjusted_odds_ratio")
    assert effects.loc["PILOT_DIFF_SELF_HARM_IDEATION_CV_ANY", "measure"] == "difference"


def test_adjusted_odds_ratio_covers_the_planted_one(effects):
    row = effects.loc["PILOT_OR_WHO5_LOW_CV_ANY"]
    assert row["ci_low"] < PLANTED_WHO5_LOW_ODDS_RATIO < row["ci_high"]
    assert row["adjusted_for"] == "sex|grade_group"


def test_difference_is_victims_minus_non_victims_on_the_full_design(respondents, effects):
    design = SurveyDesign.from_frame(respondents, weight="final_weight", strata="stratum", psu="psu", fpc="fpc")
    victims = respondents["cv_any"].to_numpy()
    outcome = respondents["who5_low"].to_numpy(dtype=object)
    p_victims = survey_proportion(design, outcome, victims)
    p_others = survey_proportion(design, outcome, ~victims)
    row = effects.loc["PILOT_DIFF_WHO5_LOW_CV_ANY"]
    assert row["estimate"] == pytest.approx(p_victims.estimate - p_others.estimate)
    # pupils who skipped the question are outside both groups, not counted as "no"
    assert row["n_unweighted"] == p_victims.n_unweighted + p_others.n_unweighted < len(respondents)
    # same-design domains: not the independent-samples formula
    independent = difference_independent(p_victims.estimate, p_victims.se, p_others.estimate, p_others.se)
    assert row["se"] != pytest.approx(float(independent.se), rel=1e-3)


def test_both_cyber_and_in_person_victims_are_compared_with_victims_of_neither(respondents, effects):
    row = effects.loc["PILOT_DIFF_WHO5_LOW_CV_ANY&BULLIED_IN_PERSON"]
    both = respondents["cv_any"] & respondents["bullied_in_person"]
    neither = ~respondents["cv_any"] & ~respondents["bullied_in_person"]
    observed = respondents["who5_low"].notna()
    assert row["n_unweighted"] == int(((both | neither) & observed).sum())
    # the model also leaves out the few pupils answering "X" (too few for their own term)
    model_n = effects.loc["PILOT_OR_WHO5_LOW_CV_ANY&BULLIED_IN_PERSON", "n_unweighted"]
    assert model_n == int(((both | neither) & observed & (respondents["sex"] != "X")).sum())


def test_sensitive_outcome_is_suppressed_below_100_per_group(respondents):
    small = respondents[respondents["psu"].isin(respondents["psu"].unique()[:12])]
    assert small["cv_any"].sum() < 100 < (~small["cv_any"]).sum()
    effects = impact_effects(small, "sim", "FR-OT", "2025").set_index("effect_code")
    harm = effects.loc[["PILOT_DIFF_SELF_HARM_IDEATION_CV_ANY", "PILOT_OR_SELF_HARM_IDEATION_CV_ANY"]]
    assert harm["suppressed"].all() and harm["estimate"].isna().all() and harm["se"].isna().all()
    assert (harm["quality_flags"] == "SUPPRIME_SENSIBLE").all()
    assert harm["n_unweighted"].notna().all()
    # a non-sensitive outcome of the same groups is published
    assert not effects.loc["PILOT_OR_WHO5_LOW_CV_ANY", "suppressed"]
    assert np.isfinite(effects.loc["PILOT_OR_WHO5_LOW_CV_ANY", "estimate"])


def test_victims_only_outcomes_are_refused(respondents):
    with pytest.raises(ValueError, match="victims only"):
        impact_effects(respondents, "sim", "FR-OT", "2025", outcomes=["absence_because"])


def test_design_columns_can_be_renamed(respondents, effects):
    renamed = respondents.rename(columns={"final_weight": "w"})
    again = impact_effects(renamed, "sim", "FR-OT", "2025", design=DesignColumns(weight="w"))
    assert again.set_index("effect_code").loc["PILOT_OR_WHO5_LOW_CV_ANY", "estimate"] == pytest.approx(
        effects.loc["PILOT_OR_WHO5_LOW_CV_ANY", "estimate"])
