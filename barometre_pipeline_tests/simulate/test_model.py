"""The data-generating model: finite-population truth, design weights, planted effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from barometre_pipeline.simulate.ground_truth import (
    finite_population_truth,
    prevalence_by_programme,
)
from barometre_pipeline.simulate.pilot import load_territory, simulate_wave
from barometre_pipeline.simulate.planted_model import CV_ITEMS, PLATFORMS, PlantedModel

from .conftest import FRAMES_DIR


@pytest.fixture(scope="module")
def france():
    return load_territory("FR-OT", FRAMES_DIR, seed=11)


@pytest.fixture(scope="module")
def france_2025(france):
    # 30,000 respondents: large enough to recover the planted odds ratios, still < 1 s to draw.
    return simulate_wave(france, "2025", n_respondents=30_000)


def fit_logistic(design: np.ndarray, outcome: np.ndarray, iterations: int = 25) -> np.ndarray:
    """Unweighted maximum-likelihood logistic regression (Newton-Raphson)."""
    beta = np.zeros(design.shape[1])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-design @ beta))
        gradient = design.T @ (outcome - p)
        hessian = (design * (p * (1 - p))[:, None]).T @ design
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta


def test_every_pupil_of_the_frame_is_in_the_population(france, france_2025):
    assert len(france_2025.population) == france.frame.enrolment["pupils"].sum()
    shares = france_2025.population["sex"].value_counts(normalize=True)
    assert 0.005 < shares["X"] < 0.03


def test_items_platforms_and_help_are_consistent_with_cv_any(france_2025):
    population = france_2025.population
    items = population[list(CV_ITEMS)].to_numpy()
    assert items.min() == 0 and items.max() == 3
    victim = (items >= 1).any(axis=1)
    platforms = population[list(PLATFORMS)].to_numpy()
    assert (platforms[~victim] == -1).all()
    assert (platforms[victim] >= 0).all() and (platforms[victim] == 1).any(axis=1).all()
    told_nobody = population["told_nobody"].to_numpy()
    assert (told_nobody[~victim] == -1).all()
    assert 0.30 < told_nobody[victim].mean() < 0.42
    told_someone = population.loc[victim, ["told_parent", "told_friend", "told_staff"]].sum(axis=1)
    assert ((told_someone > 0) == (told_nobody[victim] == 0)).all()


def test_ground_truth_equals_a_recomputation_from_the_population(france_2025):
    population = france_2025.population
    truth = finite_population_truth(population, "FR-OT", "2025")
    items = population[list(CV_ITEMS)]
    recomputed = pd.DataFrame({
        "sex": population["sex"].astype(str),
        "level": population["level"].astype(str),
        "CV_ANY": (items >= 1).any(axis=1),
        "CV_REPEATED": (items >= 2).any(axis=1) | (population["cv_harassment"] >= 1),
        **{item.upper(): population[item] >= 1 for item in CV_ITEMS},
    })
    long = recomputed.melt(id_vars=["sex", "level"], var_name="indicator_code")
    cells = long.groupby(["indicator_code", "sex", "level"])["value"].agg(["mean", "size"])
    by_sex = long.groupby(["indicator_code", "sex"])["value"].agg(["mean", "size"])
    overall = long.groupby("indicator_code")["value"].agg(["mean", "size"])
    indexed = truth.set_index(["indicator_code", "sex", "level"])
    assert len(truth) == 12 * (3 + 1) * (7 + 1)
    for (code, sex, level), row in cells.iterrows():
        assert indexed.loc[(code, sex, level), "value"] == pytest.approx(row["mean"], abs=1e-12)
        assert indexed.loc[(code, sex, level), "population_n"] == row["size"]
    for (code, sex), row in by_sex.iterrows():
        assert indexed.loc[(code, sex, "_T"), "value"] == pytest.approx(row["mean"], abs=1e-12)
    for code, row in overall.iterrows():
        assert indexed.loc[(code, "_T", "_T"), "value"] == pytest.approx(row["mean"], abs=1e-12)
        assert indexed.loc[(code, "_T", "_T"), "population_n"] == len(population)


def test_prevalences_match_the_published_anchors(france_2025):
    truth = finite_population_truth(france_2025.population, "FR-OT", "2025").set_index(
        ["indicator_code", "sex", "level"])["value"]
    # DEPP: collège 31 % girls / 26 % boys; lycée 25 % / 20 %. Calibrated in expectation, so the
    # realised finite-population values are within sampling noise of ~100,000 pupils (< 1 point).
    college_girls = np.mean([truth[("CV_ANY", "F", lv)] for lv in ("6E", "5E", "4E", "3E")])
    lycee_boys = np.mean([truth[("CV_ANY", "M", lv)] for lv in ("2NDE", "1RE", "TLE")])
    assert college_girls == pytest.approx(0.31, abs=0.015)
    assert lycee_boys == pytest.approx(0.20, abs=0.015)


def test_design_weights_add_up_to_the_stratum_population(france, france_2025):
    sample = france_2025.sample
    population = france.schools.groupby("stratum")["pupils"].sum()
    weighted = sample.groupby("stratum", observed=True)["design_weight"].sum()
    weighted.index = weighted.index.astype(str)
    # PPS on school size with a fixed take: sum of weights = sum over schools of N_i / pi_i = N_h.
    pd.testing.assert_series_equal(weighted.sort_index(), population.sort_index().astype(float),
                                   check_names=False, rtol=1e-9)
    respondents = france_2025.respondents.groupby("stratum", observed=True)["design_weight"].sum()
    respondents.index = respondents.index.astype(str)
    assert ((respondents / population) < 0.95).all(), "nonresponse should leave weights to rake"
    assert france_2025.sample["school_id"].nunique() < len(france.schools)


def test_design_weights_stay_unbiased_over_replicate_samples(france):
    # Against a take larger than small schools: take-all schools make weights unequal; the
    # Horvitz-Thompson total must still equal N in every replicate (up to rounding of n_h).
    totals = []
    for replicate in range(3):
        wave = simulate_wave(load_territory("FR-OT", FRAMES_DIR, seed=100 + replicate), "2025", 2_000,
                             take_per_school=150)
        totals.append(wave.sample["design_weight"].sum())
    assert np.allclose(totals, france.frame.enrolment["pupils"].sum(), rtol=1e-9)


def test_planted_odds_ratios_are_recovered_by_an_unweighted_fit(france_2025):
    data = france_2025.respondents
    cv_any = (data[list(CV_ITEMS)].to_numpy() >= 1).any(axis=1).astype(float)
    sex = data["sex"].astype(str).to_numpy()
    lycee = data["level"].astype(str).isin(["2NDE", "1RE", "TLE"]).to_numpy()
    levels = pd.get_dummies(data["level"].astype(str)).to_numpy(dtype=float)
    rep = france_2025.schools["priority_education"].isin(["REP", "REP+"]).to_numpy()[data["school_index"]]
    factors = ["social_media_before_13", "smartphone_before_11", "screen_time_high",
               "bullied_in_person", "prevention_session"]
    design = np.column_stack([
        levels,  # one intercept per level (absorbs the grade group)
        sex == "M", (sex == "M") & lycee, sex == "X", (sex == "X") & lycee,
        rep, *(data[f].to_numpy() for f in factors),
    ]).astype(float)
    beta = fit_logistic(design, cv_any)
    fitted = dict(zip(["priority_education_rep", *factors], beta[-6:], strict=True))
    planted = {f: PlantedModel().cv_any_odds_ratios[f]
               for f in ("social_media_before_13", "bullied_in_person", "screen_time_high")}
    # Tolerance 0.12 on the log-odds scale: with ~30,000 respondents the standard error of these
    # log-ORs is 0.025-0.035, and leaving the school intercept (ICC 0.03) out of the fit attenuates
    # them by < 2 %; 0.12 is about 4 standard errors, and rejects an OR of 1.8 read as 1.6 or 2.0.
    for factor, odds_ratio in planted.items():
        assert fitted[factor] == pytest.approx(np.log(odds_ratio), abs=0.12), factor
    assert fitted["prevention_session"] < 0  # planted OR 0.8: protective


def test_who5_low_is_more_common_among_victims(france_2025):
    population = france_2025.population
    victim = (population[list(CV_ITEMS)].to_numpy() >= 1).any(axis=1)
    low = population["who5_score"].to_numpy() < 13
    boys = population["sex"].astype(str).to_numpy() == "M"
    # Among boys of one age, the planted conditional OR is 3.0; marginal over ages it stays close.
    a, b = low[boys & victim].mean(), low[boys & ~victim].mean()
    odds_ratio = (a / (1 - a)) / (b / (1 - b))
    assert 2.5 < odds_ratio < 3.6


def test_the_2026_wave_carries_the_planted_change(france, france_2025):
    wave_2026 = simulate_wave(france, "2026", n_respondents=500)
    before = prevalence_by_programme(france_2025.population)
    after = prevalence_by_programme(wave_2026.population)
    # Planted: -3 points where a prevention programme runs, +2 elsewhere, on ~70,000 and
    # ~130,000 pupils: the realised change is within about one point of the planted one.
    assert after["programme_schools"] - before["programme_schools"] == pytest.approx(-0.03, abs=0.012)
    assert after["other_schools"] - before["other_schools"] == pytest.approx(0.02, abs=0.01)
