"""The estimation pass on a crafted two-stage raked school survey, against R and a row-by-row reference.

``estimate_proportions`` gets its standard errors from aggregated totals (sparse products over
PSUs × margin combinations). Fixtures in ``fixtures/survey_raking_crafted`` (made by
``make_pupils.py``, references by ``make_fixtures.R`` with R survey 4.1.1, see its README): four
strata of schools, one with a single sampled school (lonely PSU), a school with a single sampled
pupil, margins (level, sex, stratum) tied to the outcomes, pupils with a blank sex (not raked), a
school with no region, an indicator on a sub-population with missing answers.

- Fixed weights and ``rake()`` designs: every domain's estimate and SE equal R's ``svyby``.
- Pupils left out of the raking (R cannot rake a blank margin): the SE equals a reference that
  follows R ``svyrecvar`` row by row (ten backfitting sweeps on the raked pupils, then
  ``multistage``/``onestrat`` written out with loops over strata, schools and pupils).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from barometre_pipeline.stats.domain_estimates import (
    IndicatorSpec,
    estimate_proportion_groups,
    estimate_proportions,
)

CRAFTED = Path(__file__).resolve().parents[1] / "fixtures" / "survey_raking_crafted"
MARGINS = ["level", "sex", "stratum"]
INDICATORS = [IndicatorSpec("VICTIM", "victim = 1"),
              IndicatorSpec("INSULTED", "insulted = 1", "level <> 'TLE'")]
BREAKDOWNS = [[], ["sex"], ["level"], ["region"], ["sex", "level"]]
DIMENSIONS = ("sex", "level", "region")


@pytest.fixture(scope="module")
def pupils() -> pd.DataFrame:
    frame = pd.read_csv(CRAFTED / "crafted_pupils.csv", dtype={"insulted": "Int64"})
    raked = pd.read_csv(CRAFTED / "crafted_raked_weights.csv")
    frame = frame.merge(raked, on="pupil", how="left", validate="1:1")
    # Pupils with a blank sex were not raked: they keep their design weight.
    frame["weight"] = frame["raked_weight"].fillna(frame["design_weight"])
    return frame


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(CRAFTED / "crafted_r_reference.csv", keep_default_na=False)


def _estimate(frame: pd.DataFrame, weight: str, raking_margins) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("pupils", frame)
    return estimate_proportions(con, "pupils", weight=weight, strata="stratum", psu="school", fpc="fpc",
                                fpc2="fpc2", indicators=INDICATORS, breakdowns=BREAKDOWNS,
                                raking_margins=raking_margins)


def _assert_equals_r(table: pd.DataFrame, expected: pd.DataFrame) -> None:
    keys = ["indicator_code", *DIMENSIONS]
    merged = table.merge(expected.rename(columns={"indicator": "indicator_code"}), on=keys,
                         how="outer", suffixes=("", "_r"), validate="1:1", indicator=True)
    # The same cells on both sides (INSULTED has no TLE cell).
    assert set(merged["_merge"]) == {"both"}
    assert len(merged) == 25
    for row in merged.itertuples():
        assert row.estimate == pytest.approx(row.estimate_r, rel=1e-9)
        assert row.se == pytest.approx(row.se_r, rel=1e-8), (row.indicator_code, row.sex, row.level, row.region)


def test_fixed_weight_se_equals_r_with_a_lonely_school_and_a_lonely_pupil(pupils, reference):
    table = _estimate(pupils, "design_weight", None)
    _assert_equals_r(table, reference[reference["design"] == "fixed"])


def test_rake_se_equals_r_in_every_domain(pupils, reference):
    known = pupils[pupils["sex"].notna()].reset_index(drop=True)
    table = _estimate(known, "raked_weight", MARGINS)
    _assert_equals_r(table, reference[reference["design"] == "raked"])
    fixed = _estimate(known, "raked_weight", None)
    # The calibration matters here: the raked SE is not the fixed-weight one in most domains.
    assert (np.abs(table["se"] / fixed["se"] - 1) > 0.02).sum() >= 10


def _r_multistage_variance(scores: np.ndarray, frame: pd.DataFrame) -> float:
    """R ``multistage`` with lonely.psu = "adjust", loops over strata, schools and pupils."""
    variance = 0.0
    for _, stratum in frame.groupby("stratum"):
        schools = stratum.groupby("school").indices
        n, population = len(schools), stratum["fpc"].iloc[0]
        totals = np.array([scores[stratum.index[i]].sum() for i in schools.values()])
        f = (population - n) / population
        # onestrat: a lonely unit is not centred.
        deviations = totals - totals.mean() if n > 1 else totals
        variance += f * (n / (n - 1) if n > 1 else 1.0) * np.sum(deviations ** 2)
        for rows in schools.values():
            x = scores[stratum.index[rows]]
            m, pupils_in_school = len(x), stratum["fpc2"].iloc[rows[0]]
            f2 = (pupils_in_school - m) / pupils_in_school
            deviations = x - x.mean() if m > 1 else x
            variance += n / population * f2 * (m / (m - 1) if m > 1 else 1.0) * np.sum(deviations ** 2)
    return variance


def _reference_se(frame: pd.DataFrame, spec: IndicatorSpec, cell: dict[str, str]) -> tuple[float, float]:
    w = frame["weight"].to_numpy(float)
    outcome = frame[spec.code.lower()]
    members = outcome.notna().to_numpy()
    if spec.code == "INSULTED":
        members &= (frame["level"] != "TLE").to_numpy()
    for dimension, value in cell.items():
        members &= (frame[dimension] == value).fillna(False).to_numpy(bool)
    y = outcome.fillna(0).to_numpy(float)
    total = np.sum(w * members)
    p = float(np.sum(w * members * y) / total)
    scores = w * members * (y - p) / total
    # R svyrecvar on a rake() design: ten sweeps of x − w · ave(x / w, margin), raked pupils only.
    raked = frame["sex"].notna().to_numpy()
    for _ in range(10):
        for margin in MARGINS:
            part = scores[raked] / w[raked]
            means = pd.Series(part).groupby(frame.loc[raked, margin].to_numpy()).transform("mean").to_numpy()
            scores[raked] -= w[raked] * means
    return p, float(np.sqrt(_r_multistage_variance(scores, frame)))


def test_pupils_left_out_of_the_raking_keep_their_scores(pupils):
    table = _estimate(pupils, "weight", MARGINS)
    assert len(table) == 25
    for row in table.itertuples(index=False):
        cell = {d: getattr(row, d) for d in DIMENSIONS if getattr(row, d) != "_T"}
        spec = next(s for s in INDICATORS if s.code == row.indicator_code)
        p, se = _reference_se(pupils, spec, cell)
        assert row.estimate == pytest.approx(p, rel=1e-12)
        assert row.se == pytest.approx(se, rel=1e-9), (row.indicator_code, cell)


def test_two_runs_give_the_same_bytes(pupils):
    first, second = _estimate(pupils, "weight", MARGINS), _estimate(pupils, "weight", MARGINS)
    assert first.to_csv(float_format="%.17g") == second.to_csv(float_format="%.17g")


def test_groups_read_together_equal_groups_estimated_alone(pupils):
    """One scan for several (indicators, breakdowns) groups gives each group's own table."""
    con = duckdb.connect()
    con.register("pupils", pupils)
    design = {"weight": "weight", "strata": "stratum", "psu": "school", "fpc": "fpc", "fpc2": "fpc2",
              "raking_margins": MARGINS}
    groups = [([INDICATORS[0]], [[], ["region"]]), ([INDICATORS[1]], [["sex", "level"]])]
    together = estimate_proportion_groups(con, "pupils", groups=groups, **design)
    for (indicators, breakdowns), table in zip(groups, together, strict=True):
        alone = estimate_proportions(con, "pupils", indicators=indicators, breakdowns=breakdowns, **design)
        assert list(table.columns) == list(alone.columns)
        pd.testing.assert_frame_equal(table, alone, check_exact=False, rtol=1e-12)
    assert list(together[0].columns[:3]) == ["indicator_code", "region", "estimate"]
