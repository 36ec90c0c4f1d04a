"""Calibration-aware standard errors for raked weights in the SQL pass, against R ``rake()``.

References: ``fixtures/survey_raking`` (R survey 4.1-1, code in its README and make_fixtures.R):
apiclus1 (one-stage cluster sample with fpc) and apiclus2 (two stages, both fpcs) raked on
``stype`` and ``sch.wide`` to apipop's counts; ``svymean`` / ``svyciprop`` of ``awards == "Yes"``
overall and on domain subsets.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from barometre_pipeline.stats.domain_estimates import IndicatorSpec, estimate_proportions
from barometre_pipeline.stats.intervals import proportion_interval
from barometre_pipeline.stats.raking_variance import RakingMargins
from barometre_pipeline.stats.taylor import linearized_covariance
from barometre_pipeline.stats.weighting import calibrated_mean, rake

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RAKING = FIXTURES / "survey_raking"
AWARDS = [IndicatorSpec("AWARDS", "awards = 'Yes'")]
BREAKDOWNS = [[], ["stype"], ["yr.rnd"]]
MARGINS = ["stype", "sch.wide"]


def _cell(table: pd.DataFrame, domain: str, level: str) -> pd.Series:
    mask = pd.Series(True, index=table.index)
    for dimension in ("stype", "yr.rnd"):
        mask &= table[dimension] == (level if dimension == domain else "_T")
    (row,) = table[mask].itertuples(index=False)
    return pd.Series(row._asdict())


@pytest.fixture(scope="module")
def apiclus1() -> pd.DataFrame:
    data = pd.read_csv(FIXTURES / "survey" / "apiclus1.csv", dtype={"cds": str})
    weights = pd.read_csv(RAKING / "apiclus1_raked_weights.csv", dtype={"cds": str})
    return data.merge(weights, on="cds", validate="1:1")


def _estimate(frame: pd.DataFrame, *, raking_margins, fpc="fpc", fpc2=None) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("api", frame)
    table = estimate_proportions(con, "api", weight="raked_weight", strata=None, psu="dnum", fpc=fpc,
                                 fpc2=fpc2, indicators=AWARDS, breakdowns=BREAKDOWNS,
                                 raking_margins=raking_margins)
    return table.rename(columns={"yr_rnd": "yr.rnd"})


def test_one_stage_rake_se_matches_r_domain_by_domain(apiclus1):
    table = _estimate(apiclus1, raking_margins=MARGINS)
    reference = pd.read_csv(RAKING / "apiclus1_raking_r_reference.csv")
    assert len(reference) == 6
    for ref in reference.itertuples():
        row = _cell(table, ref.domain, ref.level)
        assert row["n_unweighted"] == ref.n
        assert row["df"] == ref.df
        assert row["estimate"] == pytest.approx(ref.estimate, rel=1e-9)
        assert row["se"] == pytest.approx(ref.se, rel=1e-8), (ref.domain, ref.level)


def test_fixed_weight_se_is_rs_naive_one_and_differs(apiclus1):
    """Without the margins the same SQL gives R's SE of the raked weights taken as fixed."""
    table = _estimate(apiclus1, raking_margins=None)
    reference = pd.read_csv(RAKING / "apiclus1_raking_r_reference.csv")
    for ref in reference.itertuples():
        row = _cell(table, ref.domain, ref.level)
        assert row["se"] == pytest.approx(ref.se_fixed_weights, rel=1e-8)
    total = reference[reference.domain == "total"].iloc[0]
    # Raking on margins correlated with the outcome halves the total's SE: the switch matters.
    assert total.se < 0.6 * total.se_fixed_weights


def test_total_interval_matches_r_and_domain_intervals_use_the_domain_n(apiclus1):
    """Korn–Graubard: the total equals R's ``svyciprop``. On a domain, R's ``svyciprop`` uses
    ``nrow(design) - 1`` in the df adjustment, and a subset of a raked design keeps every row
    (weight zero outside), so R takes the whole sample's n there; the pipeline keeps the domain's
    n (as R does for subsets of an uncalibrated design). Both forms are checked to be exactly
    that, so the only difference from R's interval is this choice."""
    table = _estimate(apiclus1, raking_margins=MARGINS)
    reference = pd.read_csv(RAKING / "apiclus1_raking_r_reference.csv")
    total = reference[reference.domain == "total"].iloc[0]
    row = _cell(table, "total", "_T")
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((total.ci_low, total.ci_high), rel=1e-8)
    for ref in reference[reference.domain != "total"].itertuples():
        row = _cell(table, ref.domain, ref.level)
        r_form = proportion_interval(np.array([ref.estimate]), np.array([ref.se]), np.array([float(ref.df)]),
                                     np.array([float(len(apiclus1))]), method="beta", level=0.95)
        assert (r_form[0][0], r_form[1][0]) == pytest.approx((ref.ci_low, ref.ci_high), rel=1e-8)
        ours = proportion_interval(np.array([row["estimate"]]), np.array([row["se"]]),
                                   np.array([float(row["df"])]), np.array([float(ref.n)]),
                                   method="beta", level=0.95)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((ours[0][0], ours[1][0]), rel=1e-12)
    small = _cell(table, "stype", "H")
    r_small = reference[(reference.domain == "stype") & (reference.level == "H")].iloc[0]
    # With 14 respondents and 7 df, R's whole-sample n (183) shrinks the effective n more:
    # its interval is wider than the domain-n form (0.630 vs 0.583).
    assert r_small.ci_high - r_small.ci_low > small["ci_high"] - small["ci_low"] + 0.04


def test_two_stage_rake_se_matches_r():
    data = pd.read_csv(FIXTURES / "survey" / "apiclus2.csv")
    weights = pd.read_csv(RAKING / "apiclus2_raked_weights.csv")
    frame = data.merge(weights, on="snum", validate="1:1")
    table = _estimate(frame, raking_margins=MARGINS, fpc="fpc1", fpc2="fpc2")
    reference = pd.read_csv(RAKING / "apiclus2_raking_r_reference.csv")
    for ref in reference.itertuples():
        row = _cell(table, ref.domain, ref.level)
        assert row["df"] == ref.df
        assert row["estimate"] == pytest.approx(ref.estimate, rel=1e-9)
        assert row["se"] == pytest.approx(ref.se, rel=1e-9), (ref.domain, ref.level)


def test_r_backfitting_stops_short_of_least_squares_on_associated_margins():
    """R's ten backfitting sweeps (reproduced above) versus the exact projection: on apiclus2,
    where school type and ``sch.wide`` are associated, they differ in the 6th digit; more sweeps
    converge to the least-squares operator."""
    data = pd.read_csv(FIXTURES / "survey" / "apiclus2.csv")
    con = duckdb.connect()
    con.register("api", data)
    exact = RakingMargins.from_relation(con, "api", MARGINS, sweeps=None)
    ten = RakingMargins.from_relation(con, "api", MARGINS)
    many = RakingMargins.from_relation(con, "api", MARGINS, sweeps=500)
    y = (data["awards"] == "Yes").to_numpy(float)
    dummies = pd.get_dummies(data[MARGINS]).to_numpy(float)
    c = dummies.T @ (y - y.mean())

    def fitted(margins: RakingMargins) -> np.ndarray:
        return dummies @ (margins.inverse_gram @ c)

    assert np.max(np.abs(fitted(many) - fitted(exact))) < 1e-12
    gap = np.max(np.abs(fitted(ten) - fitted(exact))) / np.max(np.abs(fitted(exact)))
    assert 1e-8 < gap < 1e-3


def test_numpy_oracle_reproduces_r_rake_means(apiclus1):
    """The numpy calibration (the oracle of the SQL path) against R, on a continuous mean."""
    margins_table = pd.read_csv(RAKING / "apiclus1_raking_margins.csv", dtype={"category": str})
    margins = {variable: {r.category: float(r.total) for r in group.itertuples()}
               for variable, group in margins_table.groupby("variable", sort=False)}
    raked = rake(apiclus1, "pw", margins, tolerance=1e-10)
    np.testing.assert_allclose(raked.weights, apiclus1["raked_weight"], rtol=1e-9)
    reference = pd.read_csv(RAKING / "apiclus1_raking_r_reference.csv")
    total = reference[reference.domain == "total"].iloc[0]
    mean, se = calibrated_mean(apiclus1["api00"].to_numpy(float), raked, None,
                               apiclus1["dnum"].to_numpy(), apiclus1["fpc"].to_numpy(float))
    assert mean == pytest.approx(total.api00_mean, rel=1e-9)
    assert se == pytest.approx(total.api00_se, rel=1e-8)


def test_unraked_respondents_keep_their_scores_as_the_oracle_does(apiclus1):
    """A respondent with a blank raking variable was not raked: its dummy row is zero."""
    frame = apiclus1.copy()
    frame.loc[frame.index[:7], "sch.wide"] = None
    table = _estimate(frame, raking_margins=MARGINS)
    classified = frame["sch.wide"].notna().to_numpy()
    # Oracle: R svyrecvar's loop, x - w * ave(x / w, margin) ten times, on the raked rows only.
    w = frame["raked_weight"].to_numpy(float)
    y = (frame["awards"] == "Yes").to_numpy(float)
    p = np.sum(w * y) / np.sum(w)
    residual = w * (y - p) / np.sum(w)
    raked = frame.loc[classified]
    for _ in range(10):
        for margin in MARGINS:
            part = residual[classified] / w[classified]
            means = pd.Series(part).groupby(raked[margin].to_numpy()).transform("mean").to_numpy()
            residual[classified] -= w[classified] * means
    se = np.sqrt(linearized_covariance(residual, None, frame["dnum"].to_numpy(),
                                       frame["fpc"].to_numpy(float))[0, 0])
    assert _cell(table, "total", "_T")["se"] == pytest.approx(se, rel=1e-9)
    # Treating the blank rows as raked would change the SE: the test tells the two apart.
    assert _cell(_estimate(apiclus1, raking_margins=MARGINS), "total", "_T")["se"] != pytest.approx(se, rel=1e-4)


def test_margin_errors_are_named(apiclus1):
    con = duckdb.connect()
    con.register("api", apiclus1)
    with pytest.raises(ValueError, match=r"'nonexistent'.*not columns of api"):
        RakingMargins.from_relation(con, "api", ["stype", "nonexistent"])
    with pytest.raises(ValueError, match="needs the PSU column"):
        estimate_proportions(con, "api", weight="raked_weight", strata=None, psu=None, fpc=None,
                             indicators=AWARDS, breakdowns=[[]], raking_margins=MARGINS)
