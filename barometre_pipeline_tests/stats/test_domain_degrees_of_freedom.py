"""Domain degrees of freedom and Korn–Graubard intervals against R survey 4.1-1.

References: fixtures/survey_domains (R code in make_fixtures.R, README beside it).
"""

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from barometre_pipeline.stats.design import SurveyDesign
from barometre_pipeline.stats.domain_estimates import IndicatorSpec, estimate_proportions
from barometre_pipeline.stats.estimators import survey_proportion
from barometre_pipeline.stats.publication import PublicationPolicy, apply_publication_policy

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DOMAINS = FIXTURES / "survey_domains"
SCH_WIDE = IndicatorSpec("sch_wide", "\"sch.wide\" = 'Yes'")


@pytest.fixture(scope="module")
def apiclus1() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "survey" / "apiclus1.csv")


@pytest.fixture(scope="module")
def r_api() -> pd.DataFrame:
    return pd.read_csv(DOMAINS / "apiclus1_domains_r_reference.csv").set_index("domain")


def _clus1(apiclus1: pd.DataFrame, breakdown: str) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("api", apiclus1.assign(district=apiclus1["dnum"].astype(str)))
    return estimate_proportions(con, "api", weight="pw", strata=None, psu="dnum", fpc="fpc",
                                indicators=[SCH_WIDE], breakdowns=[[breakdown]])


def test_small_domain_interval_uses_the_domain_df_like_r(apiclus1, r_api):
    table = _clus1(apiclus1, "stype").set_index("stype")
    high_schools, reference = table.loc["H"], r_api.loc["stype==H"]
    assert high_schools["df"] == reference["df"] == 7
    assert high_schools["estimate"] == pytest.approx(reference["estimate"], rel=1e-12)
    assert high_schools["se"] == pytest.approx(reference["se"], rel=1e-8)
    assert high_schools["ci_low"] == pytest.approx(reference["ci_low"], rel=1e-8)
    assert high_schools["ci_high"] == pytest.approx(reference["ci_high"], rel=1e-8)


def test_whole_design_df_would_give_a_narrower_interval_than_r(apiclus1, r_api):
    # The bug this guards against: the design's 14 df instead of the domain's 7.
    from barometre_pipeline.stats.intervals import proportion_interval

    row = _clus1(apiclus1, "stype").set_index("stype").loc["H"]
    low, high = proportion_interval(row["estimate"], row["se"], 14, row["n_unweighted"])
    assert float(low) > r_api.loc["stype==H", "ci_low"] + 1e-3


def test_one_psu_domain_has_no_df_no_interval_and_is_never_published(apiclus1, r_api):
    table = _clus1(apiclus1, "district").set_index("district")
    one_district, reference = table.loc["716"], r_api.loc["dnum==716"]
    assert one_district["df"] == reference["df"] == 0
    assert one_district["n_psu"] == 1
    assert one_district["estimate"] == pytest.approx(reference["estimate"], rel=1e-12)
    assert 0 < one_district["estimate"] < 1 and one_district["se"] < 1e-12  # R: 6.6e-17
    assert np.isnan(one_district["ci_low"]) and np.isnan(one_district["ci_high"])  # R: NaN
    assert np.isnan(reference["ci_low"])
    published = apply_publication_policy(
        table.reset_index().assign(indicator_code="sch_wide"), PublicationPolicy(min_n_unweighted=1,
                                                                                min_n_effective=0),
        ["indicator_code"], ["district"])
    row = published.set_index("district").loc["716"]
    assert row["suppressed"]
    assert "reliability:psu<2" in row["suppression_reason"]
    assert "confidentiality:schools<3" in row["suppression_reason"]
    assert np.isnan(row["estimate"]) and np.isnan(row["deff"]) and np.isnan(row["n_effective"])


def test_numpy_reference_reports_the_domain_df(apiclus1, r_api):
    design = SurveyDesign.from_frame(apiclus1, weight="pw", psu="dnum", fpc="fpc")
    outcome = (apiclus1["sch.wide"] == "Yes").to_numpy()
    assert survey_proportion(design, outcome, (apiclus1["stype"] == "H").to_numpy()).df == 7
    assert survey_proportion(design, outcome, (apiclus1["dnum"] == 716).to_numpy()).df == 0
    assert survey_proportion(design, outcome).df == 14


def test_stratified_cluster_domains_match_r_svyciprop():
    """NHANES subsample: every domain's estimate, SE, df and KG interval equal R's."""
    frame = pd.read_csv(DOMAINS / "nhanes_subsample.csv")
    reference = pd.read_csv(DOMAINS / "nhanes_subsample_r_reference.csv", dtype=str)
    con = duckdb.connect()
    con.register("nhanes", frame.assign(sex=frame["RIAGENDR"].astype(str), race_=frame["race"].astype(str),
                                        age=frame["agecat"].astype(str)))
    table = estimate_proportions(
        con, "nhanes", weight="WTMEC2YR", strata="SDMVSTRA", psu="psu_id", fpc=None,
        indicators=[IndicatorSpec("hi_chol", "CASE WHEN HI_CHOL IS NULL THEN NULL ELSE HI_CHOL = 1 END")],
        breakdowns=[[], ["sex"], ["race_"], ["age"], ["sex", "age"]])
    table = table.set_index(["sex", "race_", "age"])
    assert len(reference) == 19
    for row in reference.itertuples():
        ours = table.loc[(row.sex, row.race, row.agecat)]
        assert ours["n_unweighted"] == int(row.n)
        assert ours["df"] == int(row.df), (row.domain, row.sex, row.race, row.agecat)
        assert ours["n_psu"] == int(row.psus)
        assert ours["estimate"] == pytest.approx(float(row.estimate), rel=1e-10)
        assert ours["se"] == pytest.approx(float(row.se), rel=1e-7)
        assert ours["ci_low"] == pytest.approx(float(row.ci_low), rel=1e-6, abs=1e-12)
        assert ours["ci_high"] == pytest.approx(float(row.ci_high), rel=1e-6)


def test_two_stage_design_with_both_fpcs_matches_r():
    """svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2), domain by domain."""
    frame = pd.read_csv(FIXTURES / "survey" / "apiclus2.csv")
    reference = pd.read_csv(DOMAINS / "apiclus2_two_stage_r_reference.csv").set_index("domain")
    con = duckdb.connect()
    con.register("api2", frame)
    both = estimate_proportions(con, "api2", weight="pw", strata=None, psu="dnum", fpc="fpc1",
                                fpc2="fpc2", indicators=[SCH_WIDE], breakdowns=[[], ["stype"]])
    first_only = estimate_proportions(con, "api2", weight="pw", strata=None, psu="dnum", fpc=None,
                                      indicators=[SCH_WIDE], breakdowns=[[], ["stype"]])
    for ours, replaced in zip(both.itertuples(), first_only.itertuples(), strict=True):
        expected = reference.loc[ours.stype]
        assert ours.df == expected["df"]
        assert ours.estimate == pytest.approx(expected["estimate"], rel=1e-12)
        assert ours.se == pytest.approx(expected["se"], rel=1e-9)
        assert ours.ci_low == pytest.approx(expected["ci_low"], rel=1e-8)
        assert ours.ci_high == pytest.approx(expected["ci_high"], rel=1e-8)
        # Schools with replacement (the rule when only the first stage's size is declared).
        assert replaced.se == pytest.approx(expected["se_schools_with_replacement"], rel=1e-9)
        assert replaced.se > ours.se


def test_only_a_first_stage_size_means_schools_with_replacement():
    from barometre_pipeline.indicators.microdata_indicators import design_fpc_columns

    assert design_fpc_columns({"fpc", "fpc2", "psu"}) == ("fpc", "fpc2")
    assert design_fpc_columns({"fpc", "psu"}) == (None, None)
    assert design_fpc_columns({"psu"}) == (None, None)
