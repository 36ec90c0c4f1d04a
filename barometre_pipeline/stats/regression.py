"""Survey-weighted logistic regression with design-based standard errors (R ``svyglm``).

Coefficients solve the weighted likelihood equations (IRLS); their covariance is the sandwich
``A⁻¹ V A⁻¹`` where ``A`` is the weighted information matrix and ``V`` the design covariance
of the totals of the per-respondent score contributions ``w x (y - μ)`` (strata, PSUs, fpc,
calibration). Weights alone are not a design: treating them as frequency weights understates
the standard errors several-fold on clustered samples.

Inference follows R: t statistics with ``design df + 1 - number of coefficients`` degrees of
freedom (``svyglm``'s ``df.residual``), and Wald intervals ``confint`` exponentiated into odds
ratio intervals. Rows with a missing outcome or predictor are a domain, not a smaller design:
their scores are zero, PSUs keep their place in the variance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from barometre_pipeline.stats.design import SurveyDesign
from barometre_pipeline.stats.taylor import design_degrees_of_freedom
from barometre_pipeline.stats.weighting import Calibration

INTERCEPT = "(Intercept)"


class ConvergenceError(RuntimeError):
    """IRLS did not converge (separation or a degenerate design matrix)."""


@dataclass(frozen=True, eq=False)
class LogisticFit:
    """A fitted survey logistic model.

    ``coefficients`` has one row per term with columns ``term, estimate, se, t, p_value,
    ci_low, ci_high, odds_ratio, or_ci_low, or_ci_high``.
    """

    coefficients: pd.DataFrame
    covariance: np.ndarray
    df: int
    n_used: int
    weighted_n: float
    iterations: int
    confidence: float

    def odds_ratio(self, term: str) -> tuple[float, float, float]:
        """Odds ratio of a term with its interval."""
        row = self.coefficients.set_index("term").loc[term]
        return float(row["odds_ratio"]), float(row["or_ci_low"]), float(row["or_ci_high"])


def model_matrix(frame: pd.DataFrame, predictors: Sequence[str],
                 reference_levels: Mapping[str, object] | None = None) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Design matrix with an intercept, treatment-coded categorical predictors.

    Numeric and boolean columns enter as they are; other columns (or any column named in
    ``reference_levels``) are categorical, with the given reference level or else the first
    sorted level. Returns the matrix, the term names (``variable[level]`` for dummies) and the
    mask of rows with every predictor observed.
    """
    reference_levels = dict(reference_levels or {})
    unknown = set(reference_levels) - set(predictors)
    if unknown:
        raise ValueError(f"reference levels given for variables that are not predictors: {sorted(unknown)}")
    columns: list[np.ndarray] = [np.ones(len(frame))]
    names = [INTERCEPT]
    observed = np.ones(len(frame), dtype=bool)
    for predictor in predictors:
        values = frame[predictor]
        observed &= values.notna().to_numpy()
        categorical = predictor in reference_levels or not (
            pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values))
        if not categorical:
            columns.append(values.astype(float).fillna(0.0).to_numpy())
            names.append(predictor)
            continue
        levels = sorted(values.dropna().unique(), key=str)
        reference = reference_levels.get(predictor, levels[0] if levels else None)
        if reference not in levels:
            raise ValueError(f"reference level {reference!r} of {predictor!r} is not observed "
                             f"(levels: {levels})")
        for level in levels:
            if level == reference:
                continue
            columns.append((values == level).to_numpy(dtype=float))
            names.append(f"{predictor}[{level}]")
    return np.column_stack(columns), names, observed


def _irls(x: np.ndarray, y: np.ndarray, w: np.ndarray, max_iterations: int,
          tolerance: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Weighted logistic fit; returns coefficients, fitted probabilities, iterations."""
    beta = np.zeros(x.shape[1])
    # Start from the weighted mean on the logit scale, as glm does with mustart.
    mean = float(np.clip(np.sum(w * y) / np.sum(w), 1e-6, 1 - 1e-6))
    beta[0] = math.log(mean / (1 - mean))
    deviance = math.inf
    eta = x @ beta
    mu = special.expit(eta)
    for iteration in range(1, max_iterations + 1):
        variance = np.clip(mu * (1 - mu), 1e-12, None)
        working = eta + (y - mu) / variance
        weight = w * variance
        information = x.T @ (x * weight[:, None])
        beta = np.linalg.solve(information, x.T @ (weight * working))
        # Kept for the next step, which starts from these very values.
        eta = x @ beta
        mu = special.expit(eta)
        new_deviance = -2.0 * float(np.sum(w * (y * np.log(np.clip(mu, 1e-300, None))
                                                + (1 - y) * np.log(np.clip(1 - mu, 1e-300, None)))))
        # glm's convergence rule: relative change of the deviance.
        if abs(new_deviance - deviance) / (abs(new_deviance) + 0.1) < tolerance:
            return beta, mu, iteration
        deviance = new_deviance
    raise ConvergenceError(f"logistic IRLS did not converge in {max_iterations} iterations "
                           "(complete separation?)")


def _outcome_values(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    observed = values.notna().to_numpy()
    numeric = values.where(values.notna(), 0).astype(float).to_numpy()
    if np.any((numeric < 0) | (numeric > 1)):
        raise ValueError("the outcome of a logistic model must be boolean or in [0, 1]")
    return numeric, observed


def fit_logistic(frame: pd.DataFrame, outcome: str, predictors: Sequence[str], *,
                 design: SurveyDesign | None = None, weight: str | None = None,
                 strata: str | None = None, psu: str | None = None, fpc: str | None = None,
                 reference_levels: Mapping[str, object] | None = None,
                 calibration: Calibration | None = None, confidence: float = 0.95,
                 max_iterations: int = 50, tolerance: float = 1e-10) -> LogisticFit:
    """Design-based logistic regression of a binary ``outcome`` on ``predictors``.

    Give either a :class:`SurveyDesign` aligned with ``frame`` or the design column names
    (``weight``, ``strata``, ``psu``, ``fpc``). ``calibration`` (from
    :mod:`barometre_pipeline.stats.weighting`) makes the variance account for raking.
    """
    if design is None:
        design = SurveyDesign.from_frame(frame, weight=weight, strata=strata, psu=psu, fpc=fpc)
    if design.n != len(frame):
        raise ValueError(f"design has {design.n} rows, the frame has {len(frame)}")
    x, names, predictors_observed = model_matrix(frame, predictors, reference_levels)
    y, outcome_observed = _outcome_values(frame[outcome])
    used = predictors_observed & outcome_observed & (design.weights > 0)
    if used.sum() <= x.shape[1]:
        raise ValueError(f"{int(used.sum())} usable rows for {x.shape[1]} coefficients")
    w_used = design.weights[used]
    x_used, y_used = x[used], y[used]  # one copy of the used rows (a national wave: ~40 MB)
    beta, mu_used, iterations = _irls(x_used, y_used, w_used, max_iterations, tolerance)

    information = x_used.T @ (x_used * (w_used * mu_used * (1 - mu_used))[:, None])
    inverse_information = np.linalg.inv(information)
    scores = np.zeros_like(x)
    scores[used] = x_used * (w_used * (y_used - mu_used))[:, None]
    del x_used
    # Influence of each respondent on the coefficients; its design covariance is the sandwich.
    influence = scores @ inverse_information
    if calibration is not None:
        influence = calibration.residualize(influence)
    covariance = design.covariance(influence)

    df = _residual_df(design, used, len(beta))
    se = np.sqrt(np.diag(covariance))
    t = beta / se
    p_value = 2 * stats.t.sf(np.abs(t), df)
    critical = float(stats.t.ppf(0.5 + confidence / 2, df))
    table = pd.DataFrame({
        "term": names, "estimate": beta, "se": se, "t": t, "p_value": p_value,
        "ci_low": beta - critical * se, "ci_high": beta + critical * se,
    })
    table["odds_ratio"] = np.exp(table["estimate"])
    table["or_ci_low"] = np.exp(table["ci_low"])
    table["or_ci_high"] = np.exp(table["ci_high"])
    return LogisticFit(coefficients=table, covariance=covariance, df=df, n_used=int(used.sum()),
                       weighted_n=float(w_used.sum()), iterations=iterations, confidence=confidence)


def _residual_df(design: SurveyDesign, used: np.ndarray, n_coefficients: int) -> int:
    """R ``svyglm``: design df over the PSUs that hold used rows, + 1 - number of coefficients."""
    strata = design.strata[used] if design.strata is not None else None
    psu = design.psu[used] if design.psu is not None else None
    design_df = design_degrees_of_freedom(strata, psu, n=int(used.sum()))
    return max(design_df + 1 - n_coefficients, 1)
