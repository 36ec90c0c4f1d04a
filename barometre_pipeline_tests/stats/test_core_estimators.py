"""Numpy reference estimators against R `survey` 4.1-1 on the California API samples.

Every expected figure below is quoted from R (see fixtures/survey/PROVENANCE.md).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from barometre_pipeline.stats.design import SurveyDesign
from barometre_pipeline.stats.estimators import (
    estimates_by,
    survey_mean,
    survey_proportion,
    survey_ratio,
    survey_total,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "survey"


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / f"{name}.csv")


@pytest.fixture(scope="module")
def apiclus1() -> pd.DataFrame:
    return load("apiclus1")


@pytest.fixture(scope="module")
def clus1_design(apiclus1: pd.DataFrame) -> SurveyDesign:
    # svydesign(id=~dnum, weights=~pw, fpc=~fpc, data=apiclus1)
    return SurveyDesign.from_frame(apiclus1, weight="pw", psu="dnum", fpc="fpc")


@pytest.fixture(scope="module")
def apistrat() -> pd.DataFrame:
    return load("apistrat")


@pytest.fixture(scope="module")
def strat_design(apistrat: pd.DataFrame) -> SurveyDesign:
    # svydesign(id=~1, strata=~stype, weights=~pw, fpc=~fpc, data=apistrat)
    return SurveyDesign.from_frame(apistrat, weight="pw", strata="stype", fpc="fpc")


def test_cluster_mean_and_both_design_effects(apiclus1, clus1_design):
    result = survey_mean(clus1_design, apiclus1["api00"].to_numpy())
    assert result.estimate == pytest.approx(644.169399, rel=1e-8)
    assert result.se == pytest.approx(23.542241, rel=1e-7)
    assert result.deff_without_replacement == pytest.approx(9.34587, rel=1e-5)
    assert result.deff == pytest.approx(9.06975, rel=1e-5)
    assert result.df == 14
    assert result.n_effective == pytest.approx(183 / 9.06975, rel=1e-5)


def test_stratified_mean(apistrat, strat_design):
    result = survey_mean(strat_design, apistrat["api00"].to_numpy())
    assert result.estimate == pytest.approx(662.28736, rel=1e-7)
    assert result.se == pytest.approx(9.40894, rel=1e-5)
    assert result.df == 200 - 3


def test_stratified_svyby(apistrat, strat_design):
    table = estimates_by(strat_design, apistrat["api00"].to_numpy(), apistrat["stype"].to_numpy())
    assert list(table["domain"]) == ["E", "H", "M"]
    np.testing.assert_allclose(table["estimate"], [674.43, 625.82, 636.60], rtol=1e-6)
    np.testing.assert_allclose(table["se"], [12.38248, 14.93713, 16.21471], rtol=1e-6)


def test_cluster_svyby_counts_psus_without_domain_members(apiclus1, clus1_design):
    table = estimates_by(clus1_design, apiclus1["ell"].to_numpy(), apiclus1["stype"].to_numpy())
    np.testing.assert_allclose(table["estimate"], [29.69444, 15.0, 22.68], rtol=1e-6)
    np.testing.assert_allclose(table["se"], [1.411617, 5.347065, 2.952862], rtol=1e-6)
    # Domain degrees of freedom, R 4.1-1 degf(subset(dclus1, stype == s)): E 14, H 7, M 11.
    assert list(table["df"]) == [14, 7, 11]


def test_domain_by_subsetting_rows_would_be_wrong(apiclus1, clus1_design):
    """Dropping the other schools changes n_h: the full-design domain SE must differ."""
    high = apiclus1["stype"] == "H"
    subset = apiclus1[high]
    naive = survey_mean(SurveyDesign.from_frame(subset, weight="pw", psu="dnum", fpc="fpc"),
                        subset["ell"].to_numpy())
    domain = survey_mean(clus1_design, apiclus1["ell"].to_numpy(), high.to_numpy())
    assert naive.estimate == pytest.approx(domain.estimate)
    assert abs(naive.se - domain.se) > 0.1


def test_proportion_and_its_design_effect(apiclus1, clus1_design):
    result = survey_proportion(clus1_design, (apiclus1["sch.wide"] == "Yes").to_numpy())
    assert result.estimate == pytest.approx(0.874316940, rel=1e-8)
    assert result.se == pytest.approx(0.020359477, rel=1e-7)
    # R svymean(..., deff=TRUE) reports the without-replacement design effect.
    assert result.deff_without_replacement == pytest.approx(0.70743, rel=1e-4)


def test_missing_outcome_is_a_domain_not_a_smaller_design(apiclus1, clus1_design):
    outcome = apiclus1["ell"].to_numpy(dtype=float).copy()
    outcome[apiclus1["stype"].to_numpy() != "E"] = np.nan
    as_missing = survey_mean(clus1_design, outcome)
    as_domain = survey_mean(clus1_design, apiclus1["ell"].to_numpy(), (apiclus1["stype"] == "E").to_numpy())
    assert as_missing.estimate == pytest.approx(29.69444, rel=1e-6)
    assert as_missing.se == pytest.approx(as_domain.se, rel=1e-12)
    assert as_missing.se == pytest.approx(1.411617, rel=1e-6)


def test_total(apiclus1, clus1_design):
    result = survey_total(clus1_design, apiclus1["enroll"].to_numpy())
    assert result.estimate == pytest.approx(3404940, rel=1e-6)
    assert result.se == pytest.approx(932235, rel=1e-6)


def test_ratio_of_a_domain_indicator_equals_the_domain_proportion(apiclus1, clus1_design):
    elementary = (apiclus1["stype"] == "E").to_numpy()
    yes = (apiclus1["sch.wide"] == "Yes").to_numpy()
    ratio = survey_ratio(clus1_design, (yes & elementary).astype(float), elementary.astype(float))
    domain = survey_proportion(clus1_design, yes, elementary)
    assert ratio.estimate == pytest.approx(domain.estimate, rel=1e-12)
    assert ratio.se == pytest.approx(domain.se, rel=1e-10)


def test_two_stage_cluster_mean():
    apiclus2 = load("apiclus2")
    # svydesign(id=~dnum+snum, fpc=~fpc1+fpc2, data=apiclus2): weights derived from the fpcs.
    design = SurveyDesign.from_frame(apiclus2, psu="dnum", ssu="snum", fpc="fpc1", fpc2="fpc2")
    np.testing.assert_allclose(design.weights, apiclus2["pw"], rtol=1e-6)
    result = survey_mean(design, apiclus2["api00"].to_numpy())
    assert result.estimate == pytest.approx(670.81, abs=0.005)
    assert result.se == pytest.approx(30.099, abs=0.0005)


def test_simple_random_sample_matches_textbook_formula():
    apisrs = load("apisrs")
    design = SurveyDesign.from_frame(apisrs, weight="pw", fpc="fpc")
    y = apisrs["api00"].to_numpy(dtype=float)
    n, population = len(y), apisrs["fpc"].iloc[0]
    result = survey_mean(design, y)
    assert result.estimate == pytest.approx(y.mean())
    assert result.se == pytest.approx(np.sqrt((1 - n / population) * y.var(ddof=1) / n), rel=1e-10)
    assert result.df == n - 1
