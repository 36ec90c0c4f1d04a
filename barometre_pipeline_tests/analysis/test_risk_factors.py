"""Adjusted odds ratios of cybervictimisation on a simulated clustered, weighted survey."""

import numpy as np
import pytest

from barometre_pipeline.analysis.effects_table import EFFECT_COLUMNS
from barometre_pipeline.analysis.risk_factors import risk_factor_odds_ratios
from barometre_pipeline.stats.regression import fit_logistic
from barometre_pipeline_tests.analysis.simulated_survey import (
    PLANTED_CV_ANY_ODDS_RATIOS,
    simulated_respondents,
)


@pytest.fixture(scope="module")
def respondents():
    return simulated_respondents()


@pytest.fixture(scope="module")
def effects(respondents):
    return risk_factor_odds_ratios(respondents, "sim", "FR-OT", "2025", source_flags=["SYNTHETIQUE"],
                                   school_context=False).set_index("exposure")


def test_one_row_per_term_in_the_common_schema(effects):
    assert list(effects.reset_index()[list(EFFECT_COLUMNS)].columns) == list(EFFECT_COLUMNS)
    assert set(effects.index) == {"SOCIAL_MEDIA_BEFORE_13", "BULLIED_IN_PERSON", "SMARTPHONE_BEFORE_11",
                                  "SCREEN_TIME_HIGH", "sex=M/F", "grade_group=LYCEE/COLLEGE"}
    assert (effects["measure"] == "adjusted_odds_ratio").all()
    assert effects.loc["sex=M/F", "effect_code"] == "PILOT_OR_CV_ANY_SEX_M"


@pytest.mark.parametrize("exposure, planted", [
    ("SOCIAL_MEDIA_BEFORE_13", "social_media_before_13"),
    ("BULLIED_IN_PERSON", "bullied_in_person"),
    ("SCREEN_TIME_HIGH", "screen_time_high"),
    ("sex=M/F", "sex=M"),
])
def test_the_interval_covers_the_planted_odds_ratio(effects, exposure, planted):
    row = effects.loc[exposure]
    assert row["ci_low"] < PLANTED_CV_ANY_ODDS_RATIOS[planted] < row["ci_high"]
    # the interval is the exponentiated Wald interval of the log odds ratio
    assert np.log(row["ci_high"]) - np.log(row["estimate"]) == pytest.approx(
        np.log(row["estimate"]) - np.log(row["ci_low"]))


def test_each_term_is_adjusted_for_all_the_others(effects):
    adjusted = effects.loc["SOCIAL_MEDIA_BEFORE_13", "adjusted_for"].split("|")
    assert "social_media_before_13" not in adjusted
    assert {"sex", "grade_group", "bullied_in_person", "screen_time_high", "smartphone_before_11"} <= set(adjusted)


def test_standard_errors_account_for_the_clustering(respondents, effects):
    naive = fit_logistic(respondents.assign(cv_any=respondents["cv_any"].astype(float)), "cv_any",
                         ["bullied_in_person"], weight="final_weight")
    clustered = fit_logistic(respondents.assign(cv_any=respondents["cv_any"].astype(float)), "cv_any",
                             ["bullied_in_person"], weight="final_weight", strata="stratum", psu="psu")
    # sanity of the premise: the design's schools matter for the intercept's precision
    assert clustered.coefficients["se"].iloc[0] > naive.coefficients["se"].iloc[0]
    # and the analysis reports design-based degrees of freedom (PSUs − strata + 1 − terms), not n
    assert effects["df"].iloc[0] < 60


def test_a_handful_of_pupils_answering_x_leave_the_model_with_a_flag(effects, respondents):
    assert 0 < (respondents["sex"] == "X").sum() < 30
    assert "sex=X/F" not in effects.index
    assert "SEXE_X_EXCLU_EFFECTIF_FAIBLE" in effects.loc["BULLIED_IN_PERSON", "quality_flags"]
    assert "SYNTHETIQUE" in effects.loc["BULLIED_IN_PERSON", "quality_flags"]


def test_enough_pupils_answering_x_get_their_own_odds_ratio():
    frame = simulated_respondents(seed=11, share_sex_other=0.08)
    effects = risk_factor_odds_ratios(frame, "sim", "FR-OT", "2025").set_index("exposure")
    assert "sex=X/F" in effects.index
    assert effects["quality_flags"].isna().all()


def test_priority_education_enters_with_its_reference_when_present(respondents):
    frame = respondents.assign(priority_education=np.where(
        np.arange(len(respondents)) % 5 == 0, "REP", "HORS"))
    effects = risk_factor_odds_ratios(frame, "sim", "FR-OT", "2025").set_index("exposure")
    assert "priority_education=REP/HORS" in effects.index
    assert effects.loc["priority_education=REP/HORS", "effect_code"] == "PILOT_OR_CV_ANY_PRIORITY_EDUCATION_REP"


def test_school_context_is_adjusted_for_but_not_reported(respondents):
    effects = risk_factor_odds_ratios(respondents, "sim", "FR-OT", "2025")
    assert not effects["exposure"].str.contains("school_share").any()
    assert "school_share_bullied_in_person" in effects["adjusted_for"].iloc[0]
    assert "établissement" in effects["interpretation_fr"].iloc[0]


def test_interpretations_speak_of_association_not_cause(effects):
    text = " ".join(effects["interpretation_fr"])
    assert "association" in text and "cause" in text
    assert "provoque" not in text and "entraîne" not in text
