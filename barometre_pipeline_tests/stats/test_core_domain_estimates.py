"""The DuckDB engine against the numpy reference estimators and R's published figures."""

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from barometre_pipeline.stats.design import SurveyDesign
from barometre_pipeline.stats.domain_estimates import IndicatorSpec, estimate_proportions
from barometre_pipeline.stats.estimators import survey_proportion
from barometre_pipeline.stats.intervals import proportion_interval

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "survey"

SCH_WIDE = IndicatorSpec("sch_wide", "\"sch.wide\" = 'Yes'")
# Defined on elementary and middle schools only; NULL (missing) when ell is missing.
AWARDS_NOT_HIGH = IndicatorSpec("awards", "awards = 'Yes'", "stype <> 'H'")
LOW_ELL = IndicatorSpec("low_ell", "CASE WHEN mobility > 20 THEN NULL ELSE ell < 10 END")


@pytest.fixture(scope="module")
def apiclus1() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "apiclus1.csv")


@pytest.fixture(scope="module")
def con(apiclus1):
    connection = duckdb.connect()
    connection.register("apiclus1_frame", apiclus1)
    connection.execute("CREATE TABLE apiclus1 AS SELECT * FROM apiclus1_frame")
    connection.register("apistrat_frame", pd.read_csv(FIXTURES / "apistrat.csv"))
    connection.execute("CREATE TABLE apistrat AS SELECT * FROM apistrat_frame")
    yield connection
    connection.close()


def clus1(con, **kwargs):
    return estimate_proportions(con, "apiclus1", weight="pw", strata=None, psu="dnum", fpc="fpc", **kwargs)


def test_overall_proportion_matches_r_including_fpc(con):
    table = clus1(con, indicators=[SCH_WIDE], breakdowns=[[]])
    assert len(table) == 1
    row = table.iloc[0]
    assert row["estimate"] == pytest.approx(0.874316940, rel=1e-8)
    assert row["se"] == pytest.approx(0.020359477, rel=1e-7)
    assert row["df"] == 14
    assert row["n_unweighted"] == 183


def test_output_layout(con):
    table = clus1(con, indicators=[SCH_WIDE, AWARDS_NOT_HIGH], breakdowns=[[], ["stype"], ["stype", "both"]])
    assert list(table.columns) == [
        "indicator_code", "stype", "both", "estimate", "se", "ci_low", "ci_high", "ci_method",
        "df", "n_unweighted", "n_effective", "deff", "weighted_n", "cv", "n_psu", "n_events",
    ]
    overall = table[(table["stype"] == "_T") & (table["both"] == "_T")]
    assert list(overall["indicator_code"]) == ["sch_wide", "awards"]
    by_type = table[(table["indicator_code"] == "sch_wide") & (table["both"] == "_T") & (table["stype"] != "_T")]
    assert sorted(by_type["stype"]) == ["E", "H", "M"]
    # The awards indicator has no population among high schools: no H cell is reported.
    assert not ((table["indicator_code"] == "awards") & (table["stype"] == "H")).any()
    assert set(table["ci_method"]) == {"beta"}


def test_svyby_domains_match_numpy_reference(con, apiclus1):
    design = SurveyDesign.from_frame(apiclus1, weight="pw", psu="dnum", fpc="fpc")
    table = clus1(con, indicators=[SCH_WIDE, AWARDS_NOT_HIGH, LOW_ELL], breakdowns=[["stype"], ["stype", "both"]])
    low_ell = (apiclus1["ell"] < 10).astype(float).where(apiclus1["mobility"] <= 20)
    outcomes = {
        "sch_wide": ((apiclus1["sch.wide"] == "Yes").to_numpy(), None),
        "awards": ((apiclus1["awards"] == "Yes").to_numpy(), (apiclus1["stype"] != "H").to_numpy()),
        "low_ell": (low_ell.to_numpy(), None),
    }
    assert len(table) > 20
    for row in table.itertuples():
        outcome, population = outcomes[row.indicator_code]
        cell = (apiclus1["stype"] == row.stype).to_numpy()
        if row.both != "_T":
            cell &= (apiclus1["both"] == row.both).to_numpy()
        if population is not None:
            cell &= population
        reference = survey_proportion(design, outcome, cell)
        assert row.estimate == pytest.approx(reference.estimate, rel=1e-12, abs=1e-15)
        assert row.se == pytest.approx(reference.se, rel=1e-9, abs=1e-15)
        assert row.n_unweighted == reference.n_unweighted
        assert row.weighted_n == pytest.approx(reference.weighted_n, rel=1e-12)
        if np.isfinite(reference.deff):
            assert row.deff == pytest.approx(reference.deff, rel=1e-9)
            assert row.n_effective == pytest.approx(reference.n_effective, rel=1e-9)
        # The interval uses the domain's degrees of freedom (R degf of the subset).
        assert row.df == reference.df
        low, high = proportion_interval(reference.estimate, reference.se, reference.df, reference.n_unweighted)
        assert (row.ci_low, row.ci_high) == pytest.approx((float(low), float(high)), rel=1e-8, abs=1e-12)


def test_missing_outcome_is_excluded_from_the_domain(con, apiclus1):
    table = clus1(con, indicators=[LOW_ELL], breakdowns=[[]])
    observed = apiclus1["mobility"] <= 20
    assert table.iloc[0]["n_unweighted"] == int(observed.sum())
    assert table.iloc[0]["df"] == 14


def test_cell_estimate_equals_a_direct_weighted_share(con):
    table = clus1(con, indicators=[SCH_WIDE], breakdowns=[["stype"]])
    by_hand = con.execute(
        "SELECT SUM(pw) FILTER (WHERE \"sch.wide\" = 'Yes') / SUM(pw) FROM apiclus1 WHERE stype = 'E'"
    ).fetchone()[0]
    assert table.set_index("stype").loc["E", "estimate"] == pytest.approx(by_hand, rel=1e-12)


def test_stratified_unclustered_design(con):
    apistrat = pd.read_csv(FIXTURES / "apistrat.csv")
    design = SurveyDesign.from_frame(apistrat, weight="pw", strata="stype", fpc="fpc")
    table = estimate_proportions(con, "apistrat", weight="pw", strata="stype", psu=None, fpc="fpc",
                                 indicators=[SCH_WIDE], breakdowns=[[], ["both"]])
    # R 4.1-1: degf(subset(dstrat, both == "No")) = 84, "Yes" = 110; the whole design 197.
    assert dict(zip(table["both"], table["df"], strict=True)) == {"_T": 197, "No": 84, "Yes": 110}
    for row in table.itertuples():
        cell = None if row.both == "_T" else (apistrat["both"] == row.both).to_numpy()
        reference = survey_proportion(design, (apistrat["sch.wide"] == "Yes").to_numpy(), cell)
        assert row.estimate == pytest.approx(reference.estimate, rel=1e-12)
        assert row.se == pytest.approx(reference.se, rel=1e-9, abs=1e-15)


def test_proportion_of_one_gets_a_non_degenerate_interval(con):
    table = clus1(con, indicators=[SCH_WIDE], breakdowns=[["both"]])
    certain = table.set_index("both").loc["Yes"]
    assert certain["estimate"] == 1.0 and certain["se"] == 0.0
    assert certain["ci_high"] == 1.0 and 0.9 < certain["ci_low"] < 1.0


def test_relation_may_be_a_select_and_other_interval_methods(con):
    relation = "(SELECT *, pw * 2 AS double_weight FROM apiclus1)"
    table = estimate_proportions(con, relation, weight="double_weight", strata=None, psu="dnum",
                                 fpc="fpc", indicators=[SCH_WIDE], breakdowns=[[]], ci_method="logit")
    row = table.iloc[0]
    # Scaling the weights changes neither the proportion nor its standard error.
    assert row["estimate"] == pytest.approx(0.874316940, rel=1e-8)
    assert row["se"] == pytest.approx(0.020359477, rel=1e-7)
    assert row["ci_method"] == "logit"
    low, high = proportion_interval(row["estimate"], row["se"], 14, 183, "logit")
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((float(low), float(high)))


def test_lonely_psu_and_sampling_fraction_agree_with_numpy():
    rng = np.random.default_rng(7)
    n = 400
    frame = pd.DataFrame({
        "stratum": np.where(np.arange(n) < 30, "lonely", np.where(np.arange(n) % 2 == 0, "a", "b")),
        "school": rng.integers(0, 12, n),
        "w": rng.uniform(1, 5, n),
        "sex": rng.choice(["F", "M"], n),
        "y": rng.random(n) < 0.3,
    })
    frame.loc[frame["stratum"] == "lonely", "school"] = 99  # a single PSU in that stratum
    frame["fraction"] = np.where(frame["stratum"] == "a", 0.2, 0.05)
    connection = duckdb.connect()
    connection.register("frame", frame)
    table = estimate_proportions(connection, "frame", weight="w", strata="stratum", psu="school",
                                 fpc="fraction", indicators=[IndicatorSpec("y", "y")],
                                 breakdowns=[[], ["sex"]])
    design = SurveyDesign.from_frame(frame, weight="w", strata="stratum", psu="school", fpc="fraction")
    for row in table.itertuples():
        cell = None if row.sex == "_T" else (frame["sex"] == row.sex).to_numpy()
        reference = survey_proportion(design, frame["y"].to_numpy(), cell)
        assert row.df == reference.df
        assert row.se == pytest.approx(reference.se, rel=1e-10)
