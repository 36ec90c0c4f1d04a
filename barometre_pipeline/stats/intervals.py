"""Confidence intervals for design-based proportions (R ``svyciprop`` and friends).

All functions are vectorised over numpy arrays: the pipeline computes thousands of cells at
once. Inputs are the estimated proportion ``p``, its linearised standard error ``se``, the
design degrees of freedom ``df`` and the unweighted number of respondents of the domain.

Methods (names as in R ``svyciprop`` where R has them):

- ``beta``: Korn–Graubard, a Clopper–Pearson interval on the effective sample size with a
  degrees-of-freedom correction. The default, conservative for small or extreme proportions.
- ``logit`` / ``xlogit``: Wald interval on the logit scale, back-transformed.
- ``likelihood``: R's design-adjusted profile likelihood of the logit (profile grid, FMM
  spline and IRLS replayed as R does them; exact for equally weighted samples).
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


def _likelihood(p, se, df, n_unweighted, level):
    """R ``method="likelihood"``: the design-adjusted profile likelihood of a logit fit."""
    low = np.empty_like(p)
    high = np.empty_like(p)
    t = _critical_value(df, level)
    for i in np.ndindex(p.shape):
        # Scalar per cell (cheap next to the aggregation): the profile is a short loop.
        low[i], high[i] = _profile_likelihood_interval(float(p[i]), float(se[i]), float(t[i]), float(n_unweighted[i]))
    return low, high


# R glm.control() defaults, which decide where the IRLS fit stops (and so the weights it keeps).
_GLM_EPSILON = 1e-8
_GLM_MAXIT = 25
# MASS profile.glm defaults: at most maxsteps - 1 steps of zmax / 5 standard errors each side.
_PROFILE_MAXSTEPS = 10
_PROFILE_STEPS_PER_ZMAX = 5
_DOUBLE_EPSILON = float(np.finfo(float).eps)


def _binomial_deviance(p, m, n):
    # Binary responses: the saturated log-likelihood is 0, so the deviance is -2 log L(m).
    return -2 * n * (special.xlogy(p, m) + special.xlogy(1 - p, 1 - m))


def _r_logit_inverse(eta):
    # R's binomial()$linkinv (C logit_linkinv) clamps |eta| > 30 to a mean of eps / 1 - eps;
    # the profile of a rare proportion steps past that, and R's deviance stays finite there.
    if eta < -30:
        return _DOUBLE_EPSILON
    if eta > 30:
        return 1 - _DOUBLE_EPSILON
    return float(special.expit(eta))


def _fit_intercept_only_logit(p, n):
    """Replay R ``glm.fit`` (IRLS) for ``y ~ 1``, binomial, on n equally weighted rows.

    R's ``naive.cov`` (hence the design effect ``lambda``) is taken from the working weights
    of the *penultimate* iterate, which sits ~1e-4 away from p; replaying the iterations is
    what brings the lower bound from 2e-4 to 1e-6 of R. Returns (coefficient, fitted mean,
    working variance of the penultimate iterate, deviance).
    """
    # The two response classes y = 1 and y = 0 with their shares; R's mustart is
    # (w y + 0.5) / (w + 1) per row, with svyglm's weights rescaled to mean 1.
    y = np.array([1.0, 0.0])
    share = np.array([p, 1 - p])
    mu = (y + 0.5) / 2
    eta = special.logit(mu)
    deviance_old = -2 * n * np.sum(share * (special.xlogy(y, mu) + special.xlogy(1 - y, 1 - mu)))
    for _ in range(_GLM_MAXIT):
        variance = mu * (1 - mu)
        working_response = eta + (y - mu) / variance
        previous_variance = float(np.sum(share * variance))
        coefficient = float(np.sum(share * variance * working_response) / previous_variance)
        mu = np.full(2, special.expit(coefficient))
        eta = np.full(2, coefficient)
        deviance = _binomial_deviance(p, mu[0], n)
        if abs(deviance - deviance_old) / (abs(deviance) + 0.1) < _GLM_EPSILON:
            break
        deviance_old = deviance
    return coefficient, float(mu[0]), previous_variance, deviance


def _profile_likelihood_interval(p, se, t, n):
    """Reproduce ``svyciprop(method="likelihood")`` = ``confint.svyglm(method="likelihood")``.

    survey rescales the level so that the profile cut-off ``qnorm`` equals ``t_df sqrt(lambda)``
    (lambda = design / naive variance of the logit), then MASS ``confint.glm`` profiles the
    quasibinomial deviance (divided by the survey dispersion, the design variance of the
    Pearson residuals = n/(n-1)) on a grid of standard-error steps, interpolates it with an FMM
    cubic spline and inverts the spline linearly. The grid and spline are approximations, but
    they are R's: an exact root of the same statistic misses R's lower bound by ~2 %.
    """
    coefficient, mu, previous_variance, deviance = _fit_intercept_only_logit(p, n)
    fitted_variance = mu * (1 - mu)
    design_variance = se**2 / fitted_variance**2
    misspecification = design_variance * n * previous_variance
    tail = stats.norm.sf(t * np.sqrt(misspecification))  # (1 - adjusted level) / 2
    dispersion = n / (n - 1) * p * (1 - p) / fitted_variance
    # quasibinomial profiles use an F(1, n - p) limit, at alpha = (1 - adjusted level) / 4.
    zmax = np.sqrt(stats.f.isf(tail / 2, 1, n - 1))
    step = zmax / _PROFILE_STEPS_PER_ZMAX * np.sqrt(design_variance)
    coefficients = [coefficient]
    signed_roots = [0.0]
    for sign in (-1, 1):
        z = 0.0
        for k in range(1, _PROFILE_MAXSTEPS):
            if abs(z) >= zmax:
                break
            b = coefficient + sign * k * step
            excess = (_binomial_deviance(p, _r_logit_inverse(b), n) - deviance) / dispersion
            z = sign * np.sqrt(max(excess, 0.0))
            coefficients.append(b)
            signed_roots.append(z)
    order = np.argsort(coefficients)
    knots = np.asarray(coefficients)[order]
    values = np.asarray(signed_roots)[order]
    # R spline(): 3 * (number of knots) equally spaced points over the knot range.
    grid = np.linspace(knots[0], knots[-1], 3 * len(knots))
    curve = _fmm_spline(knots, values, grid)
    # R approx(): sort by the interpolated statistic, NA (here NaN) outside its range.
    by_curve = np.argsort(curve, kind="stable")
    cutoffs = stats.norm.ppf([tail, 1 - tail])
    bounds = np.interp(cutoffs, curve[by_curve], grid[by_curve], left=np.nan, right=np.nan)
    for side, sign in ((0, -1), (1, 1)):
        if np.isnan(bounds[side]):
            # The 9-step grid stopped short of the cut-off (well under one effective case on
            # that side): R returns NA; a published cell needs a bound, so solve the same
            # statistic exactly instead.
            def excess(b):
                log_likelihood = p * special.log_expit(b) + (1 - p) * special.log_expit(-b)
                return (-2 * n * log_likelihood - deviance) / dispersion - cutoffs[1] ** 2

            far = coefficient + sign * step
            while excess(far) < 0:
                far += sign * step
            bounds[side] = optimize.brentq(excess, *sorted((coefficient, far)))
    return float(special.expit(bounds[0])), float(special.expit(bounds[1]))


def _fmm_spline(x, y, at):
    """Cubic spline with Forsythe–Malcolm–Moler end conditions (R ``spline(method="fmm")``).

    The ends match the third derivative of the cubic through the four end knots, so a cubic
    is reproduced exactly; scipy's not-a-knot spline differs near the ends, which is where
    the profile's cut-offs fall.
    """
    n = len(x)
    b = np.zeros(n)
    c = np.zeros(n)
    d = np.zeros(n)
    if n < 3:
        slope = (y[1] - y[0]) / (x[1] - x[0])
        return y[0] + slope * (at - x[0])
    # Tridiagonal system: b diagonal, d off-diagonal, c right-hand side (R splines.c).
    d[0] = x[1] - x[0]
    c[1] = (y[1] - y[0]) / d[0]
    for i in range(1, n - 1):
        d[i] = x[i + 1] - x[i]
        b[i] = 2 * (d[i - 1] + d[i])
        c[i + 1] = (y[i + 1] - y[i]) / d[i]
        c[i] = c[i + 1] - c[i]
    b[0] = -d[0]
    b[-1] = -d[n - 2]
    c[0] = c[-1] = 0.0
    if n > 3:
        c[0] = c[2] / (x[3] - x[1]) - c[1] / (x[2] - x[0])
        c[-1] = c[n - 2] / (x[n - 1] - x[n - 3]) - c[n - 3] / (x[n - 2] - x[n - 4])
        c[0] = c[0] * d[0] ** 2 / (x[3] - x[0])
        c[-1] = -c[-1] * d[n - 2] ** 2 / (x[n - 1] - x[n - 4])
    for i in range(1, n):
        ratio = d[i - 1] / b[i - 1]
        b[i] -= ratio * d[i - 1]
        c[i] -= ratio * c[i - 1]
    c[-1] /= b[-1]
    for i in range(n - 2, -1, -1):
        c[i] = (c[i] - d[i] * c[i + 1]) / b[i]
    b[-1] = (y[-1] - y[-2]) / d[n - 2] + d[n - 2] * (c[n - 2] + 2 * c[-1])
    for i in range(n - 1):
        b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2 * c[i])
        d[i] = (c[i + 1] - c[i]) / d[i]
        c[i] = 3 * c[i]
    c[-1] *= 3
    d[-1] = d[n - 2]
    segment = np.clip(np.searchsorted(x, at, side="right") - 1, 0, n - 1)
    offset = at - x[segment]
    return y[segment] + offset * (b[segment] + offset * (c[segment] + offset * d[segment]))


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
            low, high = _likelihood(safe_p, safe_se, df, np.where(interior, n_unweighted, 2.0), level)
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
