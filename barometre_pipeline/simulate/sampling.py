"""Stratified two-stage cluster sample of pupils, with unit nonresponse.

Stage 1: within each stratum (département in France, group of administrative regions in Québec),
schools are drawn with probability proportional to their number of pupils (systematic PPS on a
random order; schools whose probability would exceed 1 are taken with certainty).
Stage 2: a fixed take of pupils per sampled school by simple random sampling (every pupil when the
school is smaller than the take). With PPS and a fixed take the design is nearly self-weighting.

The design weight is 1 / (school inclusion probability × pupil inclusion probability). Nonresponse
depends on sex and grade group (boys and lycée pupils answer less), so the respondents' design
weights no longer add up to the population: the pipeline must rake them to the margins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from barometre_pipeline.simulate.population import LEVEL_GRADE_GROUP

DEFAULT_TAKE_PER_SCHOOL = 40
# Response propensity by grade group × sex (F, M, X).
RESPONSE_PROPENSITY = {
    "COLLEGE": (0.90, 0.85, 0.85),
    "LYCEE": (0.82, 0.74, 0.80),
}
EXPECTED_RESPONSE_RATE = 0.83
# Never sample more than this share of a territory's schools: a pilot is a sample, not a census.
MAX_SCHOOL_SHARE = 0.6


@dataclass(frozen=True)
class SamplePlan:
    schools_per_stratum: dict[str, int]
    take_per_school: int


def _allocate(schools: pd.DataFrame, n_schools: int) -> dict[str, int]:
    pupils = schools.groupby("stratum")["pupils"].sum()
    available = schools.groupby("stratum").size()
    allocation = np.minimum(np.maximum(2, np.round(n_schools * pupils / pupils.sum())), available)
    return {str(k): int(v) for k, v in allocation.items()}


def expected_sampled_pupils(schools: pd.DataFrame, plan: SamplePlan) -> float:
    """Expected number of sampled pupils: small schools give fewer pupils than the take."""
    expected = 0.0
    for stratum, rows in schools.groupby("stratum"):
        sizes = rows["pupils"].to_numpy(dtype=float)
        probability = pps_inclusion_probabilities(sizes, plan.schools_per_stratum[str(stratum)])
        expected += float(np.sum(probability * np.minimum(plan.take_per_school, sizes)))
    return expected


def plan_sample(schools: pd.DataFrame, n_respondents: int,
                take_per_school: int = DEFAULT_TAKE_PER_SCHOOL) -> SamplePlan:
    """Schools per stratum (proportional to pupils, at least 2) and pupils per school.

    More schools are added until the expected sample reaches the target; past
    ``MAX_SCHOOL_SHARE`` of the schools, the take per school grows instead.
    """
    target = n_respondents / EXPECTED_RESPONSE_RATE
    max_schools = max(2, int(MAX_SCHOOL_SHARE * len(schools)))
    n_schools = min(max_schools, math.ceil(target / take_per_school))
    plan = SamplePlan(_allocate(schools, n_schools), take_per_school)
    for _ in range(20):
        expected = expected_sampled_pupils(schools, plan)
        if expected >= 0.995 * target:
            break
        if n_schools < max_schools:
            n_schools = min(max_schools, math.ceil(n_schools * target / expected))
        else:
            take_per_school = math.ceil(take_per_school * target / expected)
        plan = SamplePlan(_allocate(schools, n_schools), take_per_school)
    return plan


def pps_inclusion_probabilities(sizes: np.ndarray, n: int) -> np.ndarray:
    """Inclusion probabilities of a PPS sample of ``n`` units, certainty units set to 1."""
    probability = np.zeros(len(sizes))
    certain = np.zeros(len(sizes), dtype=bool)
    for _ in range(len(sizes)):
        remaining = n - certain.sum()
        rest = ~certain
        total = sizes[rest].sum()
        if remaining <= 0 or total <= 0:
            break
        probability[rest] = remaining * sizes[rest] / total
        new_certain = rest & (probability >= 1.0)
        if not new_certain.any():
            break
        certain |= new_certain
    probability[certain] = 1.0
    return np.minimum(probability, 1.0)


def systematic_pps(rng: np.random.Generator, probability: np.ndarray) -> np.ndarray:
    """Indices drawn by systematic sampling on a random order with the given inclusion probabilities."""
    order = rng.permutation(len(probability))
    cumulative = np.cumsum(probability[order])
    n = int(round(cumulative[-1]))
    points = rng.random() + np.arange(n)
    picked = np.searchsorted(cumulative, points, side="right")
    return np.sort(order[np.unique(np.minimum(picked, len(order) - 1))])


def draw_schools(schools: pd.DataFrame, plan: SamplePlan, rng: np.random.Generator) -> pd.DataFrame:
    """Sampled schools with their inclusion probability and their stratum's school count (fpc)."""
    parts = []
    for stratum, rows in schools.groupby("stratum", sort=True):
        sizes = rows["pupils"].to_numpy(dtype=float)
        probability = pps_inclusion_probabilities(sizes, plan.schools_per_stratum[str(stratum)])
        picked = systematic_pps(rng, probability)
        part = rows.iloc[picked].copy()
        part["school_probability"] = probability[picked]
        part["schools_in_stratum"] = len(rows)
        parts.append(part)
    return pd.concat(parts).sort_index()


def draw_sample(population: pd.DataFrame, schools: pd.DataFrame, plan: SamplePlan,
                rng: np.random.Generator) -> pd.DataFrame:
    """Sampled pupils (respondents and nonrespondents) with design columns.

    Added columns: school_probability, pupil_probability, design_weight, schools_in_stratum,
    responded (bool).
    """
    sampled_schools = draw_schools(schools, plan, rng)
    school_index = population["school_index"].to_numpy()
    in_sample = np.zeros(len(schools), dtype=bool)
    in_sample[sampled_schools.index.to_numpy()] = True
    candidates = np.flatnonzero(in_sample[school_index])
    # Simple random sample within each school: rank pupils by a random key inside their school.
    key = rng.random(len(candidates))
    order = np.lexsort((key, school_index[candidates]))
    ordered_school = school_index[candidates][order]
    first_of_school = np.r_[0, np.flatnonzero(np.diff(ordered_school)) + 1]
    group_start = np.repeat(first_of_school, np.diff(np.r_[first_of_school, len(order)]))
    rank = np.arange(len(order)) - group_start
    chosen = np.sort(candidates[order[rank < plan.take_per_school]])

    sample = population.iloc[chosen].reset_index(drop=True)
    school = sample["school_index"].to_numpy()
    pupils_in_school = schools["pupils"].to_numpy()[school]
    take = np.minimum(plan.take_per_school, pupils_in_school)
    school_probability = np.zeros(len(schools))
    school_probability[sampled_schools.index] = sampled_schools["school_probability"].to_numpy()
    schools_in_stratum = np.zeros(len(schools), dtype=np.int64)
    schools_in_stratum[sampled_schools.index] = sampled_schools["schools_in_stratum"].to_numpy()
    sample["school_probability"] = school_probability[school]
    sample["pupil_probability"] = take / pupils_in_school
    sample["design_weight"] = 1.0 / (sample["school_probability"] * sample["pupil_probability"])
    sample["schools_in_stratum"] = schools_in_stratum[school]

    levels = list(sample["level"].cat.categories)
    grade_group = np.array([LEVEL_GRADE_GROUP[c] for c in levels])[sample["level"].cat.codes]
    propensity_table = np.array([RESPONSE_PROPENSITY[g] for g in grade_group])
    propensity = propensity_table[np.arange(len(sample)), sample["sex"].cat.codes.to_numpy()]
    sample["responded"] = rng.random(len(sample)) < propensity
    return sample
