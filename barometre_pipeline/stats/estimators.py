"""Reference design-based estimators in numpy: totals, means, proportions, ratios, by domain.

These are the readable, exact counterparts of the SQL engine in ``domain_estimates``: each
estimator is linearised into weighted scores whose design covariance comes from
:mod:`barometre_pipeline.stats.taylor`. Domain semantics follow R ``svyby``: a domain is a
subset of the full design (PSUs without domain members contribute zero scores) and missing
outcome values are left out of the domain rather than removed from the design. Degrees of
freedom are the domain's (R ``degf`` of the subset, what ``svyciprop`` uses); without a domain
they are the whole design's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from barometre_pipeline.stats.design import SurveyDesign
from barometre_pipeline.stats.taylor import domain_degrees_of_freedom


@dataclass(frozen=True)
class Estimate:
    """One design-based estimate with its precision and design effects."""

    estimate: float
    se: float
    df: int
    n_unweighted: int
    weighted_n: float
    deff: float  # design effect against SRS with replacement (R deff="replace")
    deff_without_replacement: float  # against SRS without replacement (R deff=TRUE)

    @property
    def variance(self) -> float:
        return self.se**2

    @property
    def n_effective(self) -> float:
        return self.n_unweighted / self.deff if self.deff > 0 else math.nan

    @property
    def cv(self) -> float:
        return self.se / abs(self.estimate) if self.estimate != 0 else math.nan


def _domain_mask(design: SurveyDesign, outcome: np.ndarray, domain: np.ndarray | None) -> np.ndarray:
    """Rows in the domain with an observed outcome (missing values are outside the domain)."""
    observed = ~pd.isna(outcome)
    if domain is None:
        return observed
    return observed & np.asarray(domain, dtype=bool)


def _df(design: SurveyDesign, mask: np.ndarray, domain: np.ndarray | None) -> int:
    if domain is None:
        return design.degrees_of_freedom
    return domain_degrees_of_freedom(design.strata, design.psu, mask & (design.weights > 0))


def _as_float(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Outcome as float with rows outside the domain set to 0 (so NaN never leaks)."""
    numeric = pd.to_numeric(pd.Series(values), errors="raise").to_numpy(dtype=float)
    return np.where(mask, numeric, 0.0)


def _srs_variance_of_mean(y: np.ndarray, w: np.ndarray, mean: float) -> tuple[float, float, int, float]:
    """Variance of the mean under SRS with replacement, as R (svyvar / n); plus n, N."""
    n = len(y)
    total_weight = float(np.sum(w))
    if n < 2 or total_weight <= 0:
        return math.nan, total_weight, n, math.nan
    population_variance = float(np.sum(w * (y - mean) ** 2) / total_weight * n / (n - 1))
    return population_variance / n, total_weight, n, (total_weight - n) / total_weight


def _design_effects(variance: float, srs_variance: float, wor_factor: float) -> tuple[float, float]:
    if not srs_variance > 0:
        return math.nan, math.nan
    return variance / srs_variance, variance / (srs_variance * wor_factor)


def survey_mean(design: SurveyDesign, outcome: np.ndarray, domain: np.ndarray | None = None) -> Estimate:
    """Weighted mean of ``outcome`` in a domain (R ``svymean``; domain as ``svyby``)."""
    mask = _domain_mask(design, outcome, domain)
    y = _as_float(outcome, mask)
    w = np.where(mask, design.weights, 0.0)
    total_weight = float(np.sum(w))
    mean = float(np.sum(w * y) / total_weight) if total_weight > 0 else math.nan
    scores = np.where(mask, w * (y - mean) / total_weight, 0.0) if total_weight > 0 else w
    variance = float(design.covariance(scores)[0, 0])
    srs, weighted_n, n, wor = _srs_variance_of_mean(y[mask], w[mask], mean)
    deff, deff_wor = _design_effects(variance, srs, wor)
    return Estimate(mean, math.sqrt(variance), _df(design, mask, domain), n, weighted_n, deff, deff_wor)


def survey_proportion(design: SurveyDesign, indicator: np.ndarray, domain: np.ndarray | None = None) -> Estimate:
    """Proportion of respondents for whom ``indicator`` is true (NaN/None = missing)."""
    values = pd.Series(indicator)
    missing = values.isna().to_numpy()
    numeric = np.where(missing, math.nan, values.where(~missing, False).astype(bool).to_numpy(dtype=float))
    return survey_mean(design, numeric, domain)


def survey_total(design: SurveyDesign, outcome: np.ndarray, domain: np.ndarray | None = None) -> Estimate:
    """Weighted total of ``outcome`` in a domain (R ``svytotal``)."""
    mask = _domain_mask(design, outcome, domain)
    y = _as_float(outcome, mask)
    w = np.where(mask, design.weights, 0.0)
    total = float(np.sum(w * y))
    variance = float(design.covariance(w * y)[0, 0])
    weighted_n = float(np.sum(w))
    mean = total / weighted_n if weighted_n > 0 else math.nan
    srs, _, n, wor = _srs_variance_of_mean(y[mask], w[mask], mean)
    deff, deff_wor = _design_effects(variance, srs * weighted_n**2, wor)
    return Estimate(total, math.sqrt(variance), _df(design, mask, domain), n, weighted_n, deff, deff_wor)


def survey_ratio(design: SurveyDesign, numerator: np.ndarray, denominator: np.ndarray,
                 domain: np.ndarray | None = None) -> Estimate:
    """Ratio of two weighted totals (R ``svyratio``); design effects are not defined here."""
    mask = _domain_mask(design, numerator, domain) & ~pd.isna(denominator)
    y = _as_float(numerator, mask)
    x = _as_float(denominator, mask)
    w = np.where(mask, design.weights, 0.0)
    x_total = float(np.sum(w * x))
    ratio = float(np.sum(w * y) / x_total)
    variance = float(design.covariance(w * (y - ratio * x) / x_total)[0, 0])
    return Estimate(ratio, math.sqrt(variance), _df(design, mask, domain), int(mask.sum()),
                    float(np.sum(w)), math.nan, math.nan)


def estimates_by(design: SurveyDesign, outcome: np.ndarray, by: np.ndarray,
                 statistic: str = "mean") -> pd.DataFrame:
    """Estimates for every level of ``by`` (R ``svyby(~y, ~by, design, svymean)``).

    One row per domain level (missing levels of ``by`` are not reported), with columns
    ``domain, estimate, se, df, n_unweighted, weighted_n, deff, deff_without_replacement,
    n_effective, cv``.
    """
    estimator = {"mean": survey_mean, "total": survey_total, "proportion": survey_proportion}[statistic]
    labels = pd.Series(by)
    rows = []
    for level in pd.unique(labels.dropna()):
        result = estimator(design, outcome, (labels == level).to_numpy())
        rows.append({"domain": level, "estimate": result.estimate, "se": result.se, "df": result.df,
                     "n_unweighted": result.n_unweighted, "weighted_n": result.weighted_n,
                     "deff": result.deff, "deff_without_replacement": result.deff_without_replacement,
                     "n_effective": result.n_effective, "cv": result.cv})
    return pd.DataFrame(rows).sort_values("domain", kind="stable").reset_index(drop=True)
