"""Differences between estimates: two domains of one survey, or two independent samples.

Two domains of the same design (girls vs boys, collège vs lycée) are correlated through shared
PSUs: the variance of their difference comes from linearising the difference itself, never
from ``se1² + se2²``. Two independent samples (two waves, two territories) have no covariance:
``se = sqrt(se1² + se2²)``, with Welch–Satterthwaite degrees of freedom when both sides
carry design df, a normal reference otherwise.

The functions take arrays (or scalars) and broadcast, so the pipeline can compare whole
indicator tables in one call (:func:`compare_tables`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from barometre_pipeline.stats.design import SurveyDesign
from barometre_pipeline.stats.weighting import Calibration

ArrayLike = npt.ArrayLike


@dataclass(frozen=True)
class Difference:
    """Estimate A − estimate B with its test and interval (arrays, or 0-d arrays for scalars).

    ``df`` is infinite where the reference distribution is the normal (z test).
    """

    difference: np.ndarray
    se: np.ndarray
    statistic: np.ndarray
    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    df: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({name: np.atleast_1d(getattr(self, name)) for name in
                             ("difference", "se", "statistic", "p_value", "ci_low", "ci_high", "df")})


def _inference(difference: np.ndarray, se: np.ndarray, df: np.ndarray, confidence: float) -> Difference:
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = np.where(se > 0, difference / se, np.nan)
    finite = np.isfinite(df)
    safe_df = np.where(finite & (df > 0), df, 1.0)
    t_tail = stats.t.sf(np.abs(statistic), safe_df)
    z_tail = stats.norm.sf(np.abs(statistic))
    p_value = 2 * np.where(finite, t_tail, z_tail)
    critical = np.where(finite, stats.t.ppf(0.5 + confidence / 2, safe_df),
                        stats.norm.ppf(0.5 + confidence / 2))
    invalid = finite & ~(df > 0)
    p_value = np.where(invalid, np.nan, p_value)
    critical = np.where(invalid, np.nan, critical)
    return Difference(difference=difference, se=se, statistic=statistic, p_value=p_value,
                      ci_low=difference - critical * se, ci_high=difference + critical * se, df=df)


def difference_correlated(estimate_a: ArrayLike, estimate_b: ArrayLike, se_a: ArrayLike,
                          se_b: ArrayLike, covariance_ab: ArrayLike, df: ArrayLike,
                          confidence: float = 0.95) -> Difference:
    """A − B for two estimates of the same design with known covariance (t test on ``df``)."""
    a, b = np.asarray(estimate_a, dtype=float), np.asarray(estimate_b, dtype=float)
    variance = (np.asarray(se_a, dtype=float) ** 2 + np.asarray(se_b, dtype=float) ** 2
                - 2 * np.asarray(covariance_ab, dtype=float))
    se = np.sqrt(np.clip(variance, 0.0, None))
    difference = a - b
    return _inference(difference, se, np.broadcast_to(np.asarray(df, dtype=float), difference.shape), confidence)


def difference_independent(estimate_a: ArrayLike, se_a: ArrayLike, estimate_b: ArrayLike,
                           se_b: ArrayLike, df_a: ArrayLike | None = None, df_b: ArrayLike | None = None,
                           confidence: float = 0.95) -> Difference:
    """A − B for estimates from independent samples (waves, territories).

    With both ``df_a`` and ``df_b`` the test is a t test on Welch–Satterthwaite df
    ``(v_a + v_b)² / (v_a²/df_a + v_b²/df_b)``; otherwise a z test.
    """
    a, b = np.asarray(estimate_a, dtype=float), np.asarray(estimate_b, dtype=float)
    variance_a = np.asarray(se_a, dtype=float) ** 2
    variance_b = np.asarray(se_b, dtype=float) ** 2
    difference = a - b
    se = np.sqrt(variance_a + variance_b)
    if df_a is None or df_b is None:
        df = np.full(difference.shape, np.inf)
    else:
        dfa, dfb = np.asarray(df_a, dtype=float), np.asarray(df_b, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            df = (variance_a + variance_b) ** 2 / (variance_a**2 / dfa + variance_b**2 / dfb)
        df = np.broadcast_to(np.where(np.isfinite(df), df, np.minimum(dfa, dfb)), difference.shape)
    return _inference(difference, se, np.asarray(df, dtype=float), confidence)


def domain_mean_difference(design: SurveyDesign, outcome: ArrayLike, domain_a: ArrayLike,
                           domain_b: ArrayLike, calibration: Calibration | None = None,
                           confidence: float = 0.95) -> Difference:
    """Mean (or proportion, for a 0/1 outcome) in domain A minus domain B, same design.

    The domains may overlap (girls vs everyone). Missing outcomes are outside both domains;
    the variance is the design variance of the linearised difference, df the design's.
    """
    values = pd.to_numeric(pd.Series(np.asarray(outcome)), errors="raise").to_numpy(dtype=float)
    observed = ~np.isnan(values)
    y = np.where(observed, values, 0.0)
    scores = np.zeros(design.n)
    means = []
    for sign, domain in ((1.0, domain_a), (-1.0, domain_b)):
        member = np.asarray(domain, dtype=bool) & observed
        w = np.where(member, design.weights, 0.0)
        total = w.sum()
        if total <= 0:
            raise ValueError("a compared domain has no respondent with an observed outcome")
        mean = float(np.sum(w * y) / total)
        means.append(mean)
        scores += sign * w * (y - mean) / total
    if calibration is not None:
        scores = calibration.residualize(scores)
    variance = float(design.covariance(scores)[0, 0])
    difference = np.asarray(means[0] - means[1])
    return _inference(difference, np.asarray(np.sqrt(max(variance, 0.0))),
                      np.asarray(float(design.degrees_of_freedom)), confidence)


def domain_proportion_difference(design: SurveyDesign, indicator: ArrayLike, domain_a: ArrayLike,
                                 domain_b: ArrayLike, calibration: Calibration | None = None,
                                 confidence: float = 0.95) -> Difference:
    """Proportion in domain A minus domain B (``indicator`` true/false, None = missing)."""
    values = pd.Series(np.asarray(indicator, dtype=object))
    observed = values.notna()
    numeric = values.where(observed, np.nan).astype(float)
    if not numeric[observed].isin([0.0, 1.0]).all():
        raise ValueError("a proportion needs a boolean (0/1) indicator")
    return domain_mean_difference(design, numeric.to_numpy(), domain_a, domain_b, calibration, confidence)


def compare_tables(current: pd.DataFrame, previous: pd.DataFrame, keys: Sequence[str],
                   confidence: float = 0.95, suffixes: tuple[str, str] = ("_a", "_b")) -> pd.DataFrame:
    """Row-wise independent-sample differences between two indicator tables (e.g. two waves).

    Both tables have ``keys`` and ``estimate, se`` (and optionally ``df``); rows are matched on
    ``keys`` (inner join). Returns the keys, both estimates and the :class:`Difference` columns.
    """
    columns = ["estimate", "se"] + (["df"] if "df" in current and "df" in previous else [])
    merged = current[list(keys) + columns].merge(previous[list(keys) + columns], on=list(keys),
                                                 suffixes=suffixes, validate="one_to_one")
    a, b = suffixes
    with_df = "df" in columns
    result = difference_independent(
        merged[f"estimate{a}"].to_numpy(float), merged[f"se{a}"].to_numpy(float),
        merged[f"estimate{b}"].to_numpy(float), merged[f"se{b}"].to_numpy(float),
        merged[f"df{a}"].to_numpy(float) if with_df else None,
        merged[f"df{b}"].to_numpy(float) if with_df else None, confidence)
    return pd.concat([merged.reset_index(drop=True), result.to_frame()], axis=1)


def benjamini_hochberg(p_values: ArrayLike) -> np.ndarray:
    """Benjamini–Hochberg q-values (R ``p.adjust(p, "BH")``); NaN p-values stay NaN, untested.

    A family of m tests rejected at q < α keeps the expected share of false discoveries among the
    rejections at most α (Benjamini & Hochberg 1995, JRSS B 57:289–300).
    """
    p = np.asarray(p_values, dtype=float)
    q = np.full(p.shape, np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    m = len(tested)
    if m == 0:
        return q
    order = tested[np.argsort(p[tested], kind="stable")]
    ranked = p[order] * m / np.arange(1, m + 1)
    # Step-up: the q-value of the i-th smallest p is the minimum over j >= i, capped at 1.
    q[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    return q
