"""The finite population of a territory: every pupil of the frame, with exposure and risk factors.

One pupil per enrolled pupil of the frame (no sampling yet), built with vectorised numpy draws.
Schools keep their attributes across waves (random intercept, prevention programme); pupils are
drawn anew for each wave (a new school year: new cohort, new answers).

Boolean answers are stored as int8 with -1 for "not asked / no answer"; categories as pandas
categoricals of canonical codes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from barometre_pipeline.simulate.frames import SchoolFrame
from barometre_pipeline.simulate.planted_model import PlantedModel

# Level attributes from data/codebook.yaml (typical age at the start of the school year).
LEVEL_TYPICAL_AGE: dict[str, int] = {
    "6E": 11, "5E": 12, "4E": 13, "3E": 14, "2NDE": 15, "1RE": 16, "TLE": 17,
    "SEC1": 12, "SEC2": 13, "SEC3": 14, "SEC4": 15, "SEC5": 16,
}
LEVEL_GRADE_GROUP: dict[str, str] = {
    "6E": "COLLEGE", "5E": "COLLEGE", "4E": "COLLEGE", "3E": "COLLEGE",
    "2NDE": "LYCEE", "1RE": "LYCEE", "TLE": "LYCEE",
    "SEC1": "COLLEGE", "SEC2": "COLLEGE", "SEC3": "COLLEGE", "SEC4": "LYCEE", "SEC5": "LYCEE",
}
SEXES = ("F", "M", "X")
TERRITORY_SEEDS = {"FR-OT": 1, "CA-QC": 2, "FR": 3}


def wave_rng(seed: int, territory: str, stream: str) -> np.random.Generator:
    """An independent, reproducible random stream per seed × territory × purpose (wave, sample...)."""
    words = [seed, TERRITORY_SEEDS[territory], *(ord(c) for c in stream)]
    return np.random.default_rng(np.random.SeedSequence(words))


def logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def bernoulli(rng: np.random.Generator, probability: np.ndarray | float, size: int) -> np.ndarray:
    return (rng.random(size) < probability).astype(np.int8)


def draw_school_attributes(frame: SchoolFrame, rng: np.random.Generator,
                           model: PlantedModel) -> pd.DataFrame:
    """Schools with their persistent random intercept and prevention programme."""
    schools = frame.schools.copy()
    n = len(schools)
    schools["pupils"] = frame.school_sizes().to_numpy()
    schools["school_effect"] = rng.normal(0.0, model.school_intercept_sd, n)
    schools["prevention_programme"] = rng.random(n) < model.programme_school_share
    return schools.reset_index(drop=True)


def _categorical(codes: np.ndarray, categories: tuple[str, ...]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=list(categories))


def draw_pupils(frame: SchoolFrame, schools: pd.DataFrame, rng: np.random.Generator,
                model: PlantedModel) -> pd.DataFrame:
    """Every pupil of the frame with sex, level, age and risk factors (no outcomes yet)."""
    levels = frame.levels
    school_index = pd.Index(schools["school_id"])
    enrolment = frame.enrolment
    counts = enrolment["pupils"].to_numpy(dtype=np.int64)
    school_of_row = school_index.get_indexer(enrolment["school_id"])
    level_of_row = pd.Index(levels).get_indexer(enrolment["level"])
    sex_of_row = pd.Index(SEXES).get_indexer(enrolment["sex"])

    school = np.repeat(school_of_row, counts)
    level = np.repeat(level_of_row, counts).astype(np.int8)
    frame_sex = np.repeat(sex_of_row, counts).astype(np.int8)
    n = len(school)

    sex = frame_sex.copy()
    sex[rng.random(n) < model.share_sex_other] = 2
    typical_age = np.array([LEVEL_TYPICAL_AGE[code] for code in levels])[level]
    # Surveyed in spring: about half have had their birthday; some are a year behind or ahead.
    age_shift = rng.choice(np.array([-1, 0, 1, 2]), size=n, p=[0.02, 0.86, 0.10, 0.02])
    age = typical_age + (rng.random(n) < 0.55) + age_shift

    first_smartphone_age = np.clip(np.rint(rng.normal(10.9, 1.4, n)), 6, None)
    first_smartphone_age = np.minimum(first_smartphone_age, age).astype(np.int16)
    smartphone_before_11 = (first_smartphone_age < 11).astype(np.int8)
    girl = (sex == 0).astype(np.int8)
    social_media_before_13 = bernoulli(
        rng, logistic(-0.3 + 1.1 * smartphone_before_11 + 0.2 * girl), n)
    log_hours = np.log(2.9) + 0.25 * social_media_before_13 + 0.06 * (age - 14) + rng.normal(0.0, 0.5, n)
    screen_time_hours = np.clip(np.round(np.exp(log_hours) * 2.0) / 2.0, 0.0, 16.0)
    school_effect = schools["school_effect"].to_numpy()[school]
    lower_secondary = np.array([LEVEL_GRADE_GROUP[code] == "COLLEGE" for code in levels])[level]
    bullied_in_person = bernoulli(
        rng, logistic(-2.2 + 0.35 * lower_secondary + 0.8 * school_effect), n)
    programme = schools["prevention_programme"].to_numpy()[school]
    prevention_session = bernoulli(
        rng, np.where(programme, model.session_share_programme_schools,
                      model.session_share_other_schools), n)

    stratum_codes = pd.Categorical(schools["stratum"])
    return pd.DataFrame({
        "school_index": school.astype(np.int32),
        "school_id": pd.Categorical.from_codes(school, categories=schools["school_id"]),
        "stratum": pd.Categorical.from_codes(stratum_codes.codes[school], categories=stratum_codes.categories),
        "level": _categorical(level, levels),
        "frame_sex": _categorical(frame_sex, SEXES),
        "sex": _categorical(sex, SEXES),
        "age": age.astype(np.int16),
        "first_smartphone_age": first_smartphone_age,
        "smartphone_before_11": smartphone_before_11,
        "social_media_before_13": social_media_before_13,
        "screen_time_hours": screen_time_hours,
        "screen_time_high": (screen_time_hours >= 4.0).astype(np.int8),
        "bullied_in_person": bullied_in_person,
        "prevention_session": prevention_session,
    })
