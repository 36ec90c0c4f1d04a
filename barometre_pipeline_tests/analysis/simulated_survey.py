"""A small stratified two-stage survey with planted odds ratios, for the analysis tests.

3 strata × 20 schools × 30 pupils; a school random intercept (SD 0.4) makes the sample
clustered, and weights differ by stratum and, mildly, within schools. The planted odds ratios are
the log-odds coefficients of the simulation, so a correct design-based estimate covers them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PLANTED_CV_ANY_ODDS_RATIOS = {"social_media_before_13": 2.0, "bullied_in_person": 3.0,
                              "smartphone_before_11": 1.0, "screen_time_high": 1.4,
                              "sex=M": 0.7, "grade_group=LYCEE": 0.8}
PLANTED_WHO5_LOW_ODDS_RATIO = 3.0


def logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def simulated_respondents(seed: int = 7, schools_per_stratum: int = 20, pupils_per_school: int = 30,
                          share_sex_other: float = 0.005) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    strata = ["S1", "S2", "S3"]
    rows = []
    for s_index, stratum in enumerate(strata):
        for school in range(schools_per_stratum):
            school_id = f"{stratum}-{school:02d}"
            effect = rng.normal(0.0, 0.4)
            base_weight = (20.0, 45.0, 80.0)[s_index]
            for _ in range(pupils_per_school):
                rows.append((stratum, school_id, effect, base_weight * rng.uniform(0.8, 1.2)))
    frame = pd.DataFrame(rows, columns=["stratum", "psu", "school_effect", "final_weight"])
    n = len(frame)
    frame["school_id"] = frame["psu"]
    frame["fpc"] = 4.0 * schools_per_stratum
    u = rng.random(n)
    frame["sex"] = np.where(u < share_sex_other, "X", np.where(u < 0.5, "F", "M"))
    frame["grade_group"] = np.where(rng.random(n) < 0.6, "COLLEGE", "LYCEE")
    for factor, share in (("smartphone_before_11", 0.4), ("social_media_before_13", 0.5),
                          ("screen_time_high", 0.35), ("bullied_in_person", 0.15)):
        frame[factor] = rng.random(n) < share
    eta = -1.4 + frame["school_effect"].to_numpy()
    for factor in ("social_media_before_13", "bullied_in_person", "smartphone_before_11",
                   "screen_time_high"):
        eta = eta + np.log(PLANTED_CV_ANY_ODDS_RATIOS[factor]) * frame[factor].to_numpy()
    eta = eta + np.log(PLANTED_CV_ANY_ODDS_RATIOS["sex=M"]) * (frame["sex"] == "M").to_numpy()
    eta = eta + np.log(PLANTED_CV_ANY_ODDS_RATIOS["grade_group=LYCEE"]) * (frame["grade_group"] == "LYCEE").to_numpy()
    frame["cv_any"] = rng.random(n) < logistic(eta)
    victim = frame["cv_any"].to_numpy()
    frame["who5_low"] = rng.random(n) < logistic(-1.5 + np.log(PLANTED_WHO5_LOW_ODDS_RATIO) * victim)
    frame["feels_unsafe"] = rng.random(n) < logistic(-2.0 + 0.9 * victim)
    frame["sleep_problems"] = rng.random(n) < logistic(-1.2 + 0.7 * victim)
    frame["self_harm_ideation"] = rng.random(n) < logistic(-2.8 + 1.2 * victim)
    frame["prevention_session"] = rng.random(n) < 0.4
    # Missing answers are a domain, not a zero: a few pupils skip the wellbeing questions.
    frame["who5_low"] = frame["who5_low"].astype("boolean")
    frame.loc[rng.random(n) < 0.03, "who5_low"] = pd.NA
    frame["territory"] = "FR-OT"
    frame["period"] = "2025"
    return frame.drop(columns="school_effect")
