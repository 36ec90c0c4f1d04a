"""Proportion intervals against R `svyciprop` on apiclus1 (p = 0.02185792, df = 14)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from barometre_pipeline.stats.design import SurveyDesign
from barometre_pipeline.stats.estimators import survey_proportion
from barometre_pipeline.stats.intervals import _fmm_spline, clopper_pearson, proportion_interval

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "survey"

# svyciprop(~I(ell==0), svydesign(id=~dnum, fpc=~fpc, data=apiclus1), method=...)
R_INTERVALS = {
    "beta": (0.00021615, 0.13750776),
    "logit": (0.00230469, 0.17774777),
    "xlogit": (0.00230469, 0.17774777),
    "asin": (0.00030719, 0.09557674),
    "mean": (-0.02666241, 0.07037825),
}


@pytest.fixture(scope="module")
def ell_zero():
    apiclus1 = pd.read_csv(FIXTURES / "apiclus1.csv")
    design = SurveyDesign.from_frame(apiclus1, psu="dnum", fpc="fpc")
    return survey_proportion(design, (apiclus1["ell"] == 0).to_numpy())


def test_estimate_and_df(ell_zero):
    assert ell_zero.estimate == pytest.approx(0.02185792, rel=1e-6)
    assert ell_zero.df == 14


@pytest.mark.parametrize("method", sorted(R_INTERVALS))
def test_interval_matches_r(ell_zero, method):
    low, high = proportion_interval(ell_zero.estimate, ell_zero.se, ell_zero.df, ell_zero.n_unweighted, method)
    expected_low, expected_high = R_INTERVALS[method]
    assert float(low) == pytest.approx(expected_low, rel=1e-4)
    assert float(high) == pytest.approx(expected_high, rel=1e-4)


def test_likelihood_interval(ell_zero):
    low, high = proportion_interval(ell_zero.estimate, ell_zero.se, ell_zero.df, ell_zero.n_unweighted, "likelihood")
    # R prints 0.00066392 to 5 significant digits (rounding up to 7.5e-6 relative); an exact
    # root of the same statistic would give 0.000675, R's profile grid + spline give this.
    assert float(low) == pytest.approx(0.00066392, rel=1e-5)
    assert float(high) == pytest.approx(0.10777841, rel=1e-6)


def test_fmm_spline_reproduces_a_cubic_unlike_natural_or_not_a_knot_ends():
    knots = np.array([-3.0, -1.5, 0.0, 0.7, 2.0, 4.0])
    cubic = 0.3 * knots**3 - knots**2 + 2 * knots - 1
    at = np.linspace(-3.0, 4.0, 18)
    np.testing.assert_allclose(_fmm_spline(knots, cubic, at), 0.3 * at**3 - at**2 + 2 * at - 1, atol=1e-12)


def test_likelihood_interval_when_the_profile_grid_stops_short_still_brackets_p():
    # Under one effective case: R's 9-step profile never reaches the lower cut-off (R gives NA).
    p, se = np.array([0.0068, 0.9932]), np.array([0.027, 0.027])
    low, high = proportion_interval(p, se, 30, 33, "likelihood")
    assert np.all(np.isfinite(low)) and np.all(np.isfinite(high))
    assert np.all((low < p) & (p < high))
    np.testing.assert_allclose(high[0], 1 - low[1], rtol=1e-9)  # the design is symmetric in p


def test_vectorised_over_cells(ell_zero):
    p = np.array([ell_zero.estimate, 0.5, 0.3])
    se = np.array([ell_zero.se, 0.05, 0.04])
    low, high = proportion_interval(p, se, 14, np.array([183, 100, 150]), "beta")
    assert low.shape == (3,)
    assert low[0] == pytest.approx(R_INTERVALS["beta"][0], rel=1e-4)
    single_low, single_high = proportion_interval(0.5, 0.05, 14, 100, "beta")
    assert low[1] == pytest.approx(float(single_low))
    assert high[1] == pytest.approx(float(single_high))
    assert np.all(low < p) and np.all(p < high)


@pytest.mark.parametrize("method", ["beta", "logit", "asin", "mean", "wilson", "likelihood", "clopper-pearson"])
def test_zero_or_one_gets_an_exact_interval_never_a_point(method):
    low, high = proportion_interval(np.array([0.0, 1.0]), np.array([0.0, 0.0]), 14, np.array([40, 40]), method)
    assert low[0] == 0.0 and high[0] == pytest.approx(1 - 0.025 ** (1 / 40))
    assert high[1] == 1.0 and low[1] == pytest.approx(0.025 ** (1 / 40))


def test_wilson_on_effective_sample_size_is_inside_unit_interval_and_contains_p():
    p = np.array([0.01, 0.2, 0.6])
    se = np.array([0.01, 0.03, 0.05])
    low, high = proportion_interval(p, se, np.inf, 500, "wilson")
    n_eff = p * (1 - p) / se**2
    z = 1.959963984540054
    centre = (p + z**2 / (2 * n_eff)) / (1 + z**2 / n_eff)
    np.testing.assert_allclose((low + high) / 2, centre)
    assert np.all(low > 0) and np.all(high < 1)


def test_clopper_pearson_known_value():
    # R binom.test(5, 20)$conf.int
    low, high = clopper_pearson(np.array(5.0), np.array(20.0))
    assert float(low) == pytest.approx(0.08657147, rel=1e-6)
    assert float(high) == pytest.approx(0.4910459, rel=1e-5)


def test_unknown_method_is_rejected():
    with pytest.raises(ValueError):
        proportion_interval(0.5, 0.1, 10, 100, "bogus")
