"""Rao–Scott and Wald tests of association against R `svychisq(~sch.wide+stype, apiclus1 design)`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from barometre_pipeline.stats.association import association_test
from barometre_pipeline.stats.design import SurveyDesign

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "survey"


@pytest.fixture(scope="module")
def apiclus1() -> tuple[SurveyDesign, pd.DataFrame]:
    frame = pd.read_csv(FIXTURES / "apiclus1.csv")
    return SurveyDesign.from_frame(frame, weight="pw", psu="dnum", fpc="fpc"), frame


def test_rao_scott_second_order_matches_r(apiclus1):
    design, frame = apiclus1
    result = association_test(design, frame["sch.wide"].to_numpy(), frame["stype"].to_numpy())
    assert result.statistic == pytest.approx(5.1933695, abs=1e-7)
    assert result.ndf == pytest.approx(1.4946398, abs=1e-7)
    assert result.ddf == pytest.approx(20.9249569, abs=1e-7)
    assert result.p_value == pytest.approx(0.02174746, abs=1e-8)


def test_wald_matches_r(apiclus1):
    design, frame = apiclus1
    result = association_test(design, frame["sch.wide"].to_numpy(), frame["stype"].to_numpy(), "Wald")
    assert result.statistic == pytest.approx(2.4010586, abs=1e-7)
    assert (result.ndf, result.ddf) == (2, 14)
    assert result.p_value == pytest.approx(0.1268963, abs=1e-7)


def test_table_orientation_does_not_matter(apiclus1):
    design, frame = apiclus1
    for statistic in ("F", "Wald"):
        forward = association_test(design, frame["sch.wide"].to_numpy(), frame["stype"].to_numpy(), statistic)
        backward = association_test(design, frame["stype"].to_numpy(), frame["sch.wide"].to_numpy(), statistic)
        assert backward.statistic == pytest.approx(forward.statistic, rel=1e-9)
        assert backward.p_value == pytest.approx(forward.p_value, rel=1e-9)


def test_simple_random_sample_has_design_effect_near_one():
    rng = np.random.default_rng(3)
    n = 4000
    rows = rng.choice(["a", "b", "c"], size=n)
    columns = np.where(rng.random(n) < np.where(rows == "a", 0.3, 0.5), "yes", "no")
    design = SurveyDesign(weights=np.ones(n))
    result = association_test(design, rows, columns, "F")
    assert result.mean_design_effect == pytest.approx(1.0, abs=0.01)
    assert result.statistic * result.ndf == pytest.approx(result.pearson_chisq, rel=0.01)
    assert result.p_value < 1e-6


def test_missing_values_leave_the_table_and_bad_input_is_refused(apiclus1):
    design, frame = apiclus1
    rows = frame["sch.wide"].to_numpy(dtype=object).copy()
    rows[:5] = None
    result = association_test(design, rows, frame["stype"].to_numpy())
    assert np.isfinite(result.statistic) and result.ddf == pytest.approx(result.ndf * 14)
    with pytest.raises(ValueError, match="two levels"):
        association_test(design, np.full(len(frame), "x"), frame["stype"].to_numpy())
    with pytest.raises(ValueError, match="statistic"):
        association_test(design, frame["sch.wide"].to_numpy(), frame["stype"].to_numpy(), "G")
