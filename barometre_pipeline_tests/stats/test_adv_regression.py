"""Survey logistic regression against R `svyglm(..., family=quasibinomial())` on apiclus1."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from barometre_pipeline.stats.design import SurveyDesign
from barometre_pipeline.stats.regression import ConvergenceError, fit_logistic

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "survey"


@pytest.fixture(scope="module")
def apiclus1() -> pd.DataFrame:
    frame = pd.read_csv(FIXTURES / "apiclus1.csv")
    frame["sch_wide_yes"] = frame["sch.wide"] == "Yes"
    return frame


def _fit(frame: pd.DataFrame, predictors=("ell", "meals"), **options):
    return fit_logistic(frame, "sch_wide_yes", list(predictors), weight="pw", psu="dnum", fpc="fpc",
                        **options)


def test_coefficients_and_design_standard_errors_match_r(apiclus1):
    fit = _fit(apiclus1)
    table = fit.coefficients.set_index("term")
    assert table["estimate"].tolist() == pytest.approx([1.899557, 0.039925, -0.019115], abs=1e-6)
    assert table["se"].tolist() == pytest.approx([0.509915, 0.012443, 0.008825], abs=1e-6)
    assert fit.df == 12  # R svyglm df.residual: 15 PSUs - 1 stratum + 1 - 3 coefficients


def test_odds_ratio_interval_matches_r_confint(apiclus1):
    odds_ratio, low, high = _fit(apiclus1).odds_ratio("ell")
    assert odds_ratio == pytest.approx(1.0407331, abs=1e-7)
    assert low == pytest.approx(1.0128976, abs=1e-7)
    assert high == pytest.approx(1.0693336, abs=1e-7)


def test_weights_alone_understate_the_standard_error(apiclus1):
    # Treating pw as frequency weights (statsmodels freq_weights) gives SE 0.0879 for the
    # intercept: the weights would count 6194 independent schools instead of 15 districts.
    fit = _fit(apiclus1)
    x = np.column_stack([np.ones(len(apiclus1)), apiclus1["ell"], apiclus1["meals"]])
    mu = 1 / (1 + np.exp(-x @ fit.coefficients["estimate"].to_numpy()))
    information = x.T @ (x * (apiclus1["pw"].to_numpy() * mu * (1 - mu))[:, None])
    frequency_se = np.sqrt(np.diag(np.linalg.inv(information)))
    assert frequency_se[0] == pytest.approx(0.0879, abs=1e-4)
    assert fit.coefficients["se"].iloc[0] > 5 * frequency_se[0]


def test_categorical_predictor_uses_the_requested_reference(apiclus1):
    by_h = _fit(apiclus1, ("ell", "stype"), reference_levels={"stype": "H"}).coefficients.set_index("term")
    by_e = _fit(apiclus1, ("ell", "stype"), reference_levels={"stype": "E"}).coefficients.set_index("term")
    assert set(by_h.index) == {"(Intercept)", "ell", "stype[E]", "stype[M]"}
    # Changing the reference only reparametrises the same model.
    assert by_e.loc["stype[H]", "estimate"] == pytest.approx(-by_h.loc["stype[E]", "estimate"], abs=1e-7)
    assert by_e.loc["ell", "estimate"] == pytest.approx(by_h.loc["ell", "estimate"], abs=1e-7)
    assert by_e.loc["ell", "se"] == pytest.approx(by_h.loc["ell", "se"], rel=1e-6)
    with pytest.raises(ValueError, match="reference level 'K'"):
        _fit(apiclus1, ("ell", "stype"), reference_levels={"stype": "K"})


def test_missing_values_are_a_domain_of_the_full_design(apiclus1):
    frame = apiclus1.copy()
    frame.loc[frame.index[:10], "ell"] = np.nan
    with_missing = _fit(frame)
    design = SurveyDesign.from_frame(frame, weight="pw", psu="dnum", fpc="fpc")
    zeroed = SurveyDesign(weights=np.where(frame["ell"].isna(), 0.0, design.weights), psu=design.psu,
                          fpc=design.fpc)
    explicit = fit_logistic(frame.fillna({"ell": 0.0}), "sch_wide_yes", ["ell", "meals"], design=zeroed)
    assert with_missing.n_used == len(frame) - 10
    assert with_missing.coefficients["se"].tolist() == pytest.approx(explicit.coefficients["se"].tolist())
    assert with_missing.coefficients["estimate"].tolist() != pytest.approx(
        _fit(apiclus1).coefficients["estimate"].tolist())


def test_complete_separation_is_reported(apiclus1):
    frame = apiclus1.assign(perfect=apiclus1["api00"])
    frame["sch_wide_yes"] = frame["api00"] > 650
    with pytest.raises(ConvergenceError):
        fit_logistic(frame, "sch_wide_yes", ["perfect"], weight="pw", psu="dnum", fpc="fpc",
                     max_iterations=25)
