"""Pupil outcomes: cyberviolence items, vectors, consequences, help-seeking.

cv_any comes from a logistic model with a school random intercept and the planted conditional odds
ratios of :class:`PlantedModel`; the intercept of every territory × grade group × sex cell is
calibrated so that the expected finite-population prevalence hits its published anchor. The ten
items are then drawn for victims only, so that ``cv_any == any item >= 1`` by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from barometre_pipeline.simulate.planted_model import (
    BASELINE_WAVE,
    CV_ITEMS,
    PLATFORMS,
    PlantedModel,
)
from barometre_pipeline.simulate.population import LEVEL_GRADE_GROUP, bernoulli, logistic, logit

NOT_ASKED = -1  # the question was not shown (e.g. vectors for non-victims)
DONT_KNOW = -2  # "Je ne sais pas"
GRADE_GROUPS = ("COLLEGE", "LYCEE")


@dataclass
class OutcomeCalibration:
    """What the calibration solved, recorded in planted_effects_<wave>.json."""

    cell_intercepts: dict[str, float] = field(default_factory=dict)
    wave_shift_programme_schools: float = 0.0
    wave_shift_other_schools: float = 0.0


def solve_group_intercepts(linear_predictor: np.ndarray, group: np.ndarray, targets: np.ndarray,
                           iterations: int = 40) -> np.ndarray:
    """Intercept per group so that the mean of logistic(eta + a[group]) equals targets[group].

    Newton steps on all groups at once (bincount sums); rows with group -1 are ignored.
    """
    keep = group >= 0
    eta = linear_predictor[keep]
    grp = group[keep]
    size = np.bincount(grp, minlength=len(targets)).astype(float)
    intercept = np.array([logit(t) for t in targets]) - np.bincount(grp, eta, len(targets)) / np.maximum(size, 1)
    for _ in range(iterations):
        p = logistic(eta + intercept[grp])
        gap = np.bincount(grp, p, len(targets)) - size * targets
        slope = np.bincount(grp, p * (1.0 - p), len(targets))
        step = np.divide(gap, slope, out=np.zeros_like(gap), where=slope > 0)
        intercept -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return intercept


def _cv_any_probability(pupils: pd.DataFrame, schools: pd.DataFrame, territory: str, wave: str,
                        model: PlantedModel) -> tuple[np.ndarray, OutcomeCalibration]:
    ratios = {name: np.log(value) for name, value in model.cv_any_odds_ratios.items()}
    school = pupils["school_index"].to_numpy()
    rep = schools["priority_education"].isin(["REP", "REP+"]).to_numpy()[school]
    level_codes = list(pupils["level"].cat.categories)
    level_offset = np.array([model.level_log_odds[c] for c in level_codes])[pupils["level"].cat.codes]
    eta = (
        level_offset
        + schools["school_effect"].to_numpy()[school]
        + ratios["social_media_before_13"] * pupils["social_media_before_13"].to_numpy()
        + ratios["smartphone_before_11"] * pupils["smartphone_before_11"].to_numpy()
        + ratios["screen_time_high"] * pupils["screen_time_high"].to_numpy()
        + ratios["bullied_in_person"] * pupils["bullied_in_person"].to_numpy()
        + ratios["priority_education_rep"] * rep
        + ratios["prevention_session"] * pupils["prevention_session"].to_numpy()
    )
    grade_group = np.array([GRADE_GROUPS.index(LEVEL_GRADE_GROUP[c]) for c in level_codes])[
        pupils["level"].cat.codes]
    sex = pupils["sex"].cat.codes.to_numpy()  # 0 F, 1 M, 2 X
    # Cells: grade group × sex (F/M); "X" pupils take the girls' intercept times a planted OR.
    cell = np.where(sex < 2, grade_group * 2 + sex, -1)
    cell_names = [f"{territory}|{g}|{s}" for g in GRADE_GROUPS for s in ("F", "M")]
    targets = np.array([model.cv_any_targets[name] for name in cell_names])
    intercepts = solve_group_intercepts(eta, cell, targets)
    girls_cell = grade_group * 2
    eta = eta + np.where(sex < 2, intercepts[np.maximum(cell, 0)],
                         intercepts[girls_cell] + np.log(model.sex_other_odds_ratio_vs_girls))
    calibration = OutcomeCalibration(cell_intercepts=dict(zip(cell_names, intercepts.tolist(), strict=True)))

    if wave != BASELINE_WAVE:
        # Planted change: the expected prevalence moves by a fixed number of points in the
        # schools that run a prevention programme and in the others.
        programme = schools["prevention_programme"].to_numpy()[school].astype(np.int64)
        base_p = logistic(eta)
        group_size = np.bincount(programme, minlength=2)
        base_mean = np.bincount(programme, base_p, 2) / np.maximum(group_size, 1)
        change = np.array([model.change_2026_other_schools, model.change_2026_programme_schools])
        shifts = solve_group_intercepts(eta, programme, base_mean + change)
        eta = eta + shifts[programme]
        calibration.wave_shift_other_schools = float(shifts[0])
        calibration.wave_shift_programme_schools = float(shifts[1])
    return logistic(eta), calibration


def _draw_items(rng: np.random.Generator, girl: np.ndarray, repeated: np.ndarray,
                model: PlantedModel) -> np.ndarray:
    """Item frequencies 0..3 for victims (n_victims × 10), at least one item >= 1 per row."""
    n = len(girl)
    base = np.array([logit(model.item_share_given_victim[i]) for i in CV_ITEMS])
    girl_effect = np.array([np.log(model.item_girl_odds_ratio.get(i, 1.0)) for i in CV_ITEMS])
    harassment = np.array([i == "cv_harassment" for i in CV_ITEMS])
    # Repeated victims suffer more kinds of acts, and report "harassment" far more often.
    repeated_effect = np.where(harassment, 3.0, 0.5)
    log_odds = (base[None, :] + girl[:, None] * girl_effect[None, :]
                + (repeated[:, None] - 0.5) * repeated_effect[None, :])
    present = rng.random((n, len(CV_ITEMS))) < logistic(log_odds)
    none = np.flatnonzero(~present.any(axis=1))
    share = np.array([model.item_share_given_victim[i] for i in CV_ITEMS])
    chosen = np.searchsorted(np.cumsum(share / share.sum()), rng.random(len(none)), side="right")
    present[none, np.minimum(chosen, len(CV_ITEMS) - 1)] = True
    # Frequency once present: 1, 2-3, 4+ ; repeated victims skew to the higher answers.
    u = rng.random((n, len(CV_ITEMS)))
    cut_1 = np.where(repeated, 0.25, 0.85)[:, None]
    cut_2 = np.where(repeated, 0.65, 0.97)[:, None]
    frequency = 1 + (u > cut_1) + (u > cut_2)
    return (present * frequency).astype(np.int8)


def _asked_to_victims(values: np.ndarray, victim: np.ndarray) -> np.ndarray:
    out = np.full(len(victim), NOT_ASKED, dtype=np.int8)
    out[victim] = values
    return out


def draw_outcomes(pupils: pd.DataFrame, schools: pd.DataFrame, territory: str, wave: str,
                  rng: np.random.Generator, model: PlantedModel) -> tuple[pd.DataFrame, OutcomeCalibration]:
    """The pupils with every outcome column added (cv items, vectors, impact, help-seeking)."""
    n = len(pupils)
    p_cv, calibration = _cv_any_probability(pupils, schools, territory, wave, model)
    cv_any = rng.random(n) < p_cv
    victim = np.flatnonzero(cv_any)
    sex = pupils["sex"].cat.codes.to_numpy()
    girl = (sex == 0).astype(np.int8)
    boy = (sex == 1).astype(np.int8)
    other = (sex == 2).astype(np.int8)
    bullied = pupils["bullied_in_person"].to_numpy()
    session = pupils["prevention_session"].to_numpy()
    age = pupils["age"].to_numpy()
    nv = len(victim)

    out = pupils.copy()
    school = pupils["school_index"].to_numpy()
    out["prevention_programme"] = schools["prevention_programme"].to_numpy()[school].astype(np.int8)
    repeated_victim = bernoulli(rng, logistic(logit(model.repeated_victim_share) + 0.8 * bullied[victim]), nv)
    items = np.zeros((n, len(CV_ITEMS)), dtype=np.int8)
    items[victim] = _draw_items(rng, girl[victim], repeated_victim, model)
    for j, item in enumerate(CV_ITEMS):
        out[item] = items[:, j]

    # Vectors, asked to victims only.
    for platform in PLATFORMS:
        tilt = {"platform_games": 1.0 * boy, "platform_discord": 0.7 * boy,
                "platform_snapchat": 0.3 * girl, "platform_instagram": 0.3 * girl}.get(platform, 0.0)
        log_odds = logit(model.platform_share[platform]) + (tilt[victim] if np.ndim(tilt) else tilt)
        out[platform] = _asked_to_victims(bernoulli(rng, logistic(log_odds), nv), cv_any)
    platform_matrix = out[list(PLATFORMS)].to_numpy()[victim]
    no_platform = victim[(platform_matrix == 0).all(axis=1)]
    out.loc[no_platform, "platform_other"] = 1
    author_known = bernoulli(rng, 0.65, nv)
    same_school = np.where(author_known == 1, bernoulli(rng, 0.70, nv), DONT_KNOW).astype(np.int8)
    out["author_known"] = _asked_to_victims(author_known, cv_any)
    out["author_same_school"] = _asked_to_victims(same_school, cv_any)

    # Wellbeing and impact (Li et al. 2022 magnitudes).
    cv = cv_any.astype(np.int8)
    who5_low = bernoulli(rng, logistic(
        logit(model.who5_low_base_share_boys) + np.log(model.who5_low_odds_ratio_cv_any) * cv
        + np.log(model.who5_low_odds_ratio_girls) * girl + np.log(2.0) * other + 0.08 * (age - 14)), n)
    low_score = 12 - rng.binomial(12, 0.3, n)
    high_score = 13 + rng.binomial(12, 0.45, n)
    out["who5_score"] = np.where(who5_low == 1, low_score, high_score).astype(np.int8)
    out["self_harm_ideation"] = bernoulli(rng, logistic(
        logit(model.self_harm_base_share_boys) + np.log(model.self_harm_odds_ratio_cv_any) * cv
        + np.log(1.8) * girl + np.log(2.0) * other), n)
    out["sleep_problems"] = bernoulli(rng, logistic(
        logit(0.25) + np.log(model.sleep_problems_odds_ratio_cv_any) * cv
        + 0.3 * pupils["screen_time_high"].to_numpy()), n)
    out["feels_unsafe"] = bernoulli(rng, logistic(
        logit(0.10) + np.log(model.feels_unsafe_odds_ratio_cv_any) * cv + np.log(2.0) * bullied), n)
    out["absence_because"] = _asked_to_victims(
        bernoulli(rng, logistic(logit(0.07) + 1.0 * repeated_victim), nv), cv_any)
    out["perpetrator"] = bernoulli(rng, logistic(logit(0.05) + np.log(4.0) * cv + 0.4 * boy), n)
    out["witness"] = bernoulli(rng, logistic(logit(0.30) + np.log(3.0) * cv), n)

    # Help-seeking among victims.
    told_nobody = bernoulli(rng, np.where(boy[victim] == 1, model.told_nobody_share_boys,
                                          model.told_nobody_share_girls), nv)
    told = 1 - told_nobody
    told_parent = bernoulli(rng, 0.55, nv) * told
    told_friend = bernoulli(rng, 0.60, nv) * told
    told_staff = bernoulli(rng, logistic(logit(0.18) + np.log(1.5) * session[victim]), nv) * told
    told_friend[(told == 1) & (told_parent + told_friend + told_staff == 0)] = 1
    for name, values in (("told_parent", told_parent), ("told_friend", told_friend),
                         ("told_staff", told_staff), ("told_nobody", told_nobody),
                         ("reported_platform", bernoulli(rng, 0.20, nv))):
        out[name] = _asked_to_victims(values.astype(np.int8), cv_any)
    out["knows_helpline"] = bernoulli(rng, logistic(
        logit(model.knows_helpline_share[territory])
        + np.log(model.knows_helpline_odds_ratio_session) * session), n)
    return out, calibration


def cv_any_from_items(pupils: pd.DataFrame) -> np.ndarray:
    """cv_any as the pipeline derives it: at least one item at least once."""
    return (pupils[list(CV_ITEMS)].to_numpy() >= 1).any(axis=1)


def cv_repeated_from_items(pupils: pd.DataFrame) -> np.ndarray:
    """cv_repeated as defined in the codebook: an item at least 2-3 times, or repeated harassment."""
    items = pupils[list(CV_ITEMS)].to_numpy()
    return (items >= 2).any(axis=1) | (pupils["cv_harassment"].to_numpy() >= 1)
