"""Design-based tests of association in a two-way table (R ``svychisq``).

Pearson's X² computed on weighted counts is far too liberal on a clustered sample. The
Rao–Scott second-order correction divides it by the mean generalised design effect of the
interaction contrasts and refers it to an F distribution whose degrees of freedom are
corrected by the spread of those design effects (R ``svychisq`` default ``statistic="F"``).
The Wald test compares the estimated interaction (observed minus independence totals) with its
design covariance directly.

Rows with a missing value in either variable are outside the table (a domain); the design's
degrees of freedom are those of the whole design, as in R.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from barometre_pipeline.stats.design import SurveyDesign
from barometre_pipeline.stats.weighting import Calibration

STATISTICS = ("F", "Chisq", "Wald", "adjWald")


@dataclass(frozen=True)
class AssociationTest:
    """Result of a test of independence between two categorical variables."""

    statistic: float
    ndf: float  # numerator df (``df`` of the chi-square for ``Chisq``)
    ddf: float  # denominator df (inf for ``Chisq``)
    p_value: float
    method: str
    pearson_chisq: float  # uncorrected X² on weighted counts rescaled to the sample size
    mean_design_effect: float  # mean eigenvalue of the generalised design effect matrix (nan for Wald)


def _covariance(design: SurveyDesign, calibration: Calibration | None, scores: np.ndarray) -> np.ndarray:
    residuals = calibration.residualize(scores) if calibration is not None else scores
    return design.covariance(residuals)


def _factor(values: np.ndarray) -> tuple[np.ndarray, int]:
    series = pd.Series(values)
    levels = sorted(series.dropna().unique(), key=str)
    position = {level: index for index, level in enumerate(levels)}
    codes = series.map(position).fillna(-1).astype(int).to_numpy()
    return codes, len(levels)


def association_test(design: SurveyDesign, rows: np.ndarray, columns: np.ndarray,
                     statistic: str = "F", calibration: Calibration | None = None) -> AssociationTest:
    """Test of independence of ``rows`` and ``columns`` (arrays aligned with the design).

    ``statistic``: ``"F"`` (Rao–Scott second order, R's default), ``"Chisq"`` (first-order
    Rao–Scott chi-square), ``"Wald"`` or ``"adjWald"`` (design-based Wald F tests).
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    row_code, n_rows = _factor(rows)
    column_code, n_columns = _factor(columns)
    if n_rows < 2 or n_columns < 2:
        raise ValueError("a test of association needs at least two levels in each variable")
    used = (row_code >= 0) & (column_code >= 0)
    # Cells in R's order: interaction(rows, columns), the row index varying fastest.
    cell = np.where(used, row_code + n_rows * column_code, 0)
    n_cells = n_rows * n_columns
    indicators = np.zeros((design.n, n_cells))
    indicators[np.flatnonzero(used), cell[used]] = 1.0
    weights = np.where(used, design.weights, 0.0)
    nu = design.degrees_of_freedom
    n_used = int(used.sum())

    weighted_counts = indicators.T @ weights
    pearson = _pearson_chisq(weighted_counts.reshape(n_columns, n_rows).T, n_used)

    if statistic in ("Wald", "adjWald"):
        return _wald_test(design, calibration, indicators, weights, row_code, column_code,
                          n_rows, n_columns, used, nu, statistic, pearson)

    total = weights.sum()
    proportions = weighted_counts / total
    scores = weights[:, None] * (indicators - proportions[None, :]) / total
    scores[~used] = 0.0
    variance = _covariance(design, calibration, scores)

    grid_rows = np.tile(np.arange(n_rows), n_columns)
    grid_columns = np.repeat(np.arange(n_columns), n_rows)
    main_effects = np.column_stack([np.ones(n_cells)]
                                   + [(grid_rows == r).astype(float) for r in range(1, n_rows)]
                                   + [(grid_columns == c).astype(float) for c in range(1, n_columns)])
    interactions = np.column_stack([((grid_rows == r) & (grid_columns == c)).astype(float)
                                    for c in range(1, n_columns) for r in range(1, n_rows)])
    # Interaction contrasts orthogonal to the main effects (R: qr.resid(qr(X1), X12[, -main])).
    coefficients, *_ = np.linalg.lstsq(main_effects, interactions, rcond=None)
    contrasts = interactions - main_effects @ coefficients
    inverse_p = np.diag(np.where(proportions == 0, 0.0, 1.0 / np.where(proportions == 0, 1.0, proportions)))
    denominator = contrasts.T @ (inverse_p / n_used) @ contrasts
    numerator = contrasts.T @ inverse_p @ variance @ inverse_p @ contrasts
    delta = np.linalg.solve(denominator, numerator)
    trace = float(np.trace(delta))
    d0 = trace**2 / float(np.trace(delta @ delta))
    mean_deff = trace / delta.shape[0]
    if statistic == "F":
        f_value = pearson / trace
        return AssociationTest(f_value, d0, d0 * nu, float(stats.f.sf(f_value, d0, d0 * nu)),
                               "Pearson's X^2: Rao & Scott adjustment (F)", pearson, mean_deff)
    chisq = pearson / mean_deff
    df = float(delta.shape[0])
    return AssociationTest(pearson, df, float("inf"), float(stats.chi2.sf(chisq, df)),
                           "Pearson's X^2: Rao & Scott adjustment (chi-square)", pearson, mean_deff)


def _pearson_chisq(table: np.ndarray, n: int) -> float:
    """Pearson's X² of a weighted table rescaled to ``n`` (R ``svytable(Ntotal=N)``)."""
    scaled = table / table.sum() * n
    expected = np.outer(scaled.sum(axis=1), scaled.sum(axis=0)) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(expected > 0, (scaled - expected) ** 2 / expected, 0.0)
    return float(terms.sum())


def _wald_test(design: SurveyDesign, calibration: Calibration | None, indicators: np.ndarray,
               weights: np.ndarray, row_code: np.ndarray, column_code: np.ndarray, n_rows: int,
               n_columns: int, used: np.ndarray, nu: int, statistic: str,
               pearson: float) -> AssociationTest:
    """Wald test that the cell totals equal row total × column total / grand total."""
    row_indicators = (row_code[:, None] == np.arange(n_rows)[None, :]) & used[:, None]
    column_indicators = (column_code[:, None] == np.arange(n_columns)[None, :]) & used[:, None]
    values = np.column_stack([indicators, row_indicators, column_indicators, used.astype(float)])
    totals = values.T @ weights
    covariance = _covariance(design, calibration, values * weights[:, None])
    n_cells = n_rows * n_columns
    row_totals = totals[n_cells:n_cells + n_rows]
    column_totals = totals[n_cells + n_rows:n_cells + n_rows + n_columns]
    grand = totals[-1]
    grid_rows = np.tile(np.arange(n_rows), n_columns)
    grid_columns = np.repeat(np.arange(n_columns), n_rows)
    # Jacobian of cell - row*column/grand with respect to (cells, rows, columns, grand).
    jacobian = np.column_stack([
        np.eye(n_cells),
        -(grid_rows[:, None] == np.arange(n_rows)[None, :]).astype(float) * (column_totals[grid_columns] / grand)[:, None],
        -(grid_columns[:, None] == np.arange(n_columns)[None, :]).astype(float) * (row_totals[grid_rows] / grand)[:, None],
        row_totals[grid_rows] * column_totals[grid_columns] / grand**2,
    ])
    departure = totals[:n_cells] - row_totals[grid_rows] * column_totals[grid_columns] / grand
    variance = jacobian @ covariance @ jacobian.T
    keep = (grid_rows > 0) & (grid_columns > 0)
    wald = float(departure[keep] @ np.linalg.solve(variance[np.ix_(keep, keep)], departure[keep]))
    ndf = (n_rows - 1) * (n_columns - 1)
    if statistic == "Wald":
        f_value, ddf = wald / ndf, nu
    else:
        ddf = nu - ndf + 1
        f_value = wald * ddf / (ndf * nu)
    return AssociationTest(f_value, float(ndf), float(ddf), float(stats.f.sf(f_value, ndf, ddf)),
                           f"Design-based {statistic} test of association", pearson, float("nan"))
