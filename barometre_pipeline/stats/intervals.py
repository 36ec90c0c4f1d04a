"""Confidence intervals for design-based proportions (R ``svyciprop`` and friends).

All functions are vectorised over numpy arrays: the pipeline computes thousands of cells at
once. Inputs are the estimated proportion ``p``, its linearised standard error ``se``, the
design degrees of freedom ``df`` and the unweighted number of respondents of the domain.

Methods (names as in R ``svyciprop`` where R has them):

- ``beta``: Korn–Graubard, a Clopper–Pearson interval on the effective sample size with a
  degrees-of-freedom correction. The default, conservative for small or extreme proportions.
- ``logit`` / ``xlogit``: Wald interval on the logit scale, back-transformed.
- ``likelihood``: inverts the design-adjusted (Rao–Scott scaled) binomial likelihood ratio.
- ``asin``: Wald interval on the arcsine-square-root scale.
- ``mean``: plain Wald interval p ± t·se (may leave [0, 1]).
- ``wilson``: Wilson score interval on the effective sample size (t quantile, design df).
- ``clopper-pearson``: exact binomial interval on the effective sample size.

A proportion of exactly 0 or 1 has zero linearised variance, so its effective sample size is
undefined; every method then returns the exact Clopper–Pearson interval on the unweighted n
(the design effect cannot be estimated from the data), never [0, 0].
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special, stats

INTERVAL_METHODS = ("beta", "logit", "xlogit", "likelihood", "asin", "mean", "wilson", "clopper-pearson")


def _critical_value(df: np.ndarray, level: float) -> np.ndarray:
    """t quantile with the design df (normal quantile when df is infinite)."""
    alpha = 1 - level
    return np.where(np.isinf(df), stats.norm.ppf(1 - alpha / 2), stats.t.ppf(1 - alpha / 2, np.where(np.isinf(df), 1, df)))


def effective_sample_size(p: np.ndarray, se: np.ndarray) -> np.ndarray:
    """n such that a binomial proportion over n would have the design's variance."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return p * (1 - p) / se**2


def clopper_pearson(successes: np.ndarray, trials: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial interval; accepts non-integer (effective) counts."""
    alpha = 1 - level
    with np.errstate(invalid="ignore"):
        low = np.where(successes > 0, stats.beta.ppf(alpha / 2, successes, trials - successes + 1), 0.0)
        high = np.where(successes < trials, stats.beta.ppf(1 - alpha / 2, successes + 1, trials - successes), 1.0)
    return low, high


def _korn_graubard(p, se, df, n_unweighted, level):
    alpha = 1 - level
    n_eff = effective_sample_size(p, se)
    # R: n.eff * (qt(alpha/2, n - 1) / qt(alpha/2, degf))^2
    finite_df = np.isfinite(df)
    with np.errstate(invalid="ignore"):
        correction = np.where(
            finite_df,
            (stats.t.ppf(alpha / 2, np.maximum(n_unweighted - 1, 1)) / stats.t.ppf(alpha / 2, np.where(finite_df, df, 1))) ** 2,
            1.0,
        )
    return clopper_pearson(n_eff * correction * p, n_eff * correction, level)


def _transformed_wald(p, se, df, level, forward, derivative, backward):
    t = _critical_value(df, level)
    centre = forward(p)
    half_width = t * se * derivative(p)
    return backward(centre - half_width), backward(centre + half_width)


def _likelihood(p, se, df, level):
    """Invert the Rao–Scott scaled working binomial deviance (R ``method="likelihood"``).

    The working log-likelihood ``N [p log m + (1 - p) log(1 - m)]`` has naive variance
    p(1-p)/N at its maximum; dividing the deviance by the misspecification effect
    ``se^2 / (p(1-p)/N)`` gives a statistic compared with F(1, df) = t_df^2.
    """
    t = _critical_value(df, level)
    low = np.empty_like(p)
    high = np.empty_like(p)
    for i in np.ndindex(p.shape):
        # Scalar root finding per cell (cheap next to the aggregation); N cancels out of the
        # scaled deviance, which only depends on the effective sample size p(1-p)/se^2.
        scale = p[i] * (1 - p[i]) / se[i] ** 2

        def excess(m, i=i, scale=scale):
            deviance = 2 * scale * (special.xlogy(p[i], p[i] / m) + special.xlogy(1 - p[i], (1 - p[i]) / (1 - m)))
            return deviance - t[i] ** 2

        tiny = 1e-300
        low[i] = optimize.brentq(excess, tiny, p[i]) if p[i] > 0 else 0.0
        high[i] = optimize.brentq(excess, p[i], 1 - 1e-16) if p[i] < 1 else 1.0
    return low, high


def proportion_interval(p, se, df, n_unweighted, method: str = "beta", level: float = 0.95):
    """Confidence interval ``(low, high)`` for design-based proportions (vectorised)."""
    if method not in INTERVAL_METHODS:
        raise ValueError(f"unknown interval method {method!r}; choose one of {INTERVAL_METHODS}")
    p, se, df, n_unweighted = np.broadcast_arrays(
        np.asarray(p, dtype=float), np.asarray(se, dtype=float),
        np.asarray(df, dtype=float), np.asarray(n_unweighted, dtype=float),
    )
    interior = (p > 0) & (p < 1) & (se > 0)
    # Compute on safe values everywhere, then overwrite the degenerate cells.
    safe_p = np.where(interior, p, 0.5)
    safe_se = np.where(interior, se, 0.1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "beta":
            low, high = _korn_graubard(safe_p, safe_se, df, n_unweighted, level)
        elif method in ("logit", "xlogit"):
            low, high = _transformed_wald(safe_p, safe_se, df, level, special.logit,
                                          lambda q: 1 / (q * (1 - q)), special.expit)
        elif method == "asin":
            # R squares sin() of the bounds, so a negative bound folds back above 0.
            low, high = _transformed_wald(safe_p, safe_se, df, level, lambda q: np.arcsin(np.sqrt(q)),
                                          lambda q: 1 / (2 * np.sqrt(q * (1 - q))), lambda x: np.sin(x) ** 2)
        elif method == "mean":
            t = _critical_value(df, level)
            low, high = safe_p - t * safe_se, safe_p + t * safe_se
        elif method == "wilson":
            low, high = _wilson(safe_p, effective_sample_size(safe_p, safe_se), _critical_value(df, level))
        elif method == "clopper-pearson":
            n_eff = effective_sample_size(safe_p, safe_se)
            low, high = clopper_pearson(safe_p * n_eff, n_eff, level)
        else:
            low, high = _likelihood(safe_p, safe_se, df, level)
    exact_low, exact_high = clopper_pearson(np.where(p >= 1, n_unweighted, 0.0), n_unweighted, level)
    degenerate = ~interior & ((p <= 0) | (p >= 1))
    low = np.where(degenerate, exact_low, np.where(interior, low, np.nan))
    high = np.where(degenerate, exact_high, np.where(interior, high, np.nan))
    return low, high


def _wilson(p, n, z):
    denominator = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denominator
    half_width = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
    return centre - half_width, centre + half_width
