"""Differences of domain estimates (same design) and of independent samples."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from barometre_pipeline.stats.comparisons import (
    compare_tables,
    difference_correlated,
    difference_independent,
    domain_mean_difference,
    domain_proportion_difference,
)
from barometre_pipeline.stats.design import SurveyDesign

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "survey"


@pytest.fixture(scope="module")
def apistrat() -> tuple[SurveyDesign, pd.DataFrame]:
    frame = pd.read_csv(FIXTURES / "apistrat.csv")
    return SurveyDesign.from_frame(frame, weight="pw", strata="stype", fpc="fpc"), frame


@pytest.fixture(scope="module")
def apiclus1() -> tuple[SurveyDesign, pd.DataFrame]:
    frame = pd.read_csv(FIXTURES / "apiclus1.csv")
    return SurveyDesign.from_frame(frame, weight="pw", psu="dnum", fpc="fpc"), frame


def test_domains_that_are_strata_are_independent(apistrat):
    # R svyby(~api00, ~stype, apistrat design): E 674.43 (12.38248), H 625.82 (14.93713).
    design, frame = apistrat
    result = domain_mean_difference(design, frame["api00"], frame["stype"] == "E", frame["stype"] == "H")
    assert float(result.difference) == pytest.approx(674.43 - 625.82, abs=0.01)
    assert float(result.se) == pytest.approx(math.hypot(12.38248, 14.93713), abs=1e-4)
    assert float(result.df) == design.degrees_of_freedom


def test_shared_clusters_make_domains_covary(apiclus1):
    # R svyby(~ell, ~stype, apiclus1 design): E 29.69444 (1.411617), M 22.68 (2.952862).
    design, frame = apiclus1
    result = domain_mean_difference(design, frame["ell"], frame["stype"] == "E", frame["stype"] == "M")
    assert float(result.difference) == pytest.approx(29.69444 - 22.68, abs=1e-5)
    independent_se = math.hypot(1.411617, 2.952862)
    assert abs(float(result.se) - independent_se) > 0.05
    covariance = (1.411617**2 + 2.952862**2 - float(result.se) ** 2) / 2
    same = difference_correlated(29.69444, 22.68, 1.411617, 2.952862, covariance, 14)
    assert float(same.se) == pytest.approx(float(result.se), rel=1e-6)


def test_a_domain_against_itself_has_no_difference(apiclus1):
    design, frame = apiclus1
    domain = frame["stype"] == "E"
    result = domain_mean_difference(design, frame["ell"], domain, domain)
    assert float(result.difference) == 0.0 and float(result.se) == pytest.approx(0.0, abs=1e-12)


def test_independent_difference_uses_welch_degrees_of_freedom():
    result = difference_independent([0.30, 0.50], [0.03, 0.01], [0.20, 0.50], [0.04, 0.01],
                                    df_a=[10, 20], df_b=[10, 20])
    assert result.se.tolist() == pytest.approx([0.05, math.sqrt(2) * 0.01])
    # Equal variances and df: Welch df is the sum of the df.
    assert result.df[1] == pytest.approx(40.0)
    assert 10 < result.df[0] < 20
    assert result.p_value[1] == pytest.approx(1.0)
    assert result.ci_low[0] < 0.10 < result.ci_high[0]


def test_normal_reference_without_degrees_of_freedom():
    critical = stats.norm.ppf(0.975)
    result = difference_independent(critical * 5.0, 3.0, 0.0, 4.0)
    assert float(result.p_value) == pytest.approx(0.05)
    assert float(result.ci_low) == pytest.approx(0.0, abs=1e-12)
    assert np.isinf(result.df)


def test_compare_tables_matches_rows_on_keys():
    wave_1 = pd.DataFrame({"indicator_code": ["CV_ANY", "CV_ANY"], "sex": ["F", "M"],
                           "estimate": [0.30, 0.20], "se": [0.02, 0.02], "df": [30, 30]})
    wave_2 = wave_1.assign(estimate=[0.25, 0.20]).iloc[::-1]
    compared = compare_tables(wave_1, wave_2, ["indicator_code", "sex"]).set_index("sex")
    assert compared.loc["F", "difference"] == pytest.approx(0.05)
    assert compared.loc["M", "difference"] == pytest.approx(0.0)
    assert compared.loc["F", "se"] == pytest.approx(math.sqrt(2) * 0.02)


def test_proportion_difference_treats_missing_answers_as_outside_the_domains(apiclus1):
    design, frame = apiclus1
    indicator = (frame["sch.wide"] == "Yes").astype(object)
    indicator.iloc[:20] = None
    result = domain_proportion_difference(design, indicator, frame["stype"] == "E", frame["stype"] == "M")
    answered = indicator.notna()
    yes = frame["sch.wide"] == "Yes"
    w = frame["pw"]
    expected = [float((w * yes)[answered & (frame["stype"] == s)].sum() / w[answered & (frame["stype"] == s)].sum())
                for s in ("E", "M")]
    assert float(result.difference) == pytest.approx(expected[0] - expected[1])
    with pytest.raises(ValueError, match="boolean"):
        domain_proportion_difference(design, frame["ell"], frame["stype"] == "E", frame["stype"] == "M")
