"""Calibration of design weights to population margins: post-stratification and raking.

The barometer's sample of schools and pupils is adjusted to official enrolment counts
(level × sex, département...). Two adjustments are offered, both as in R ``survey``:

- :func:`post_stratify` — one (possibly joint) classification, every cell is scaled to its
  population count (R ``postStratify``);
- :func:`rake` — several margins fitted by iterative proportional fitting (R ``rake``), with
  optional trimming of extreme weights relative to the mean weight and re-raking.

Both return a :class:`CalibratedWeights` holding the new weights, a
:class:`WeightingReport` and a :class:`Calibration` whose :meth:`Calibration.residualize`
turns weighted scores into the calibration residuals that must be fed to the linearised
variance (R ``svyrecvar`` with ``postStrata``): calibration removes the part of the variance
explained by the margins, and ignoring it overstates standard errors.

Margins are ``{variable: {category: population total}}`` over DataFrame columns. Sample
categories are compared as strings, so a column of ints (``18``) matches a margin key ``"18"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from barometre_pipeline.stats.taylor import linearized_covariance

Margins = Mapping[str, Mapping[str, float]]

# Sweeps of the backfitting projection used for the raking variance; R uses 10, the projection
# has converged long before that for any realistic margin structure, the loop stops earlier
# once the residuals no longer move.
_RAKING_PROJECTION_SWEEPS = 50


class MarginError(ValueError):
    """The sample and the population margins do not describe the same categories."""


@dataclass(frozen=True)
class WeightingReport:
    """What happened during calibration, for the weighting asset's metadata."""

    method: str
    iterations: int
    converged: bool
    max_abs_margin_error: float
    n_trimmed: int
    trimming_rounds: int
    kish_design_effect: float  # 1 + CV² of the weights (population CV, n denominator)
    weight_ratio: float  # max weight / min positive weight
    min_weight: float
    max_weight: float
    mean_weight: float
    n_respondents: int


@dataclass(frozen=True, eq=False)
class Calibration:
    """What the variance needs to know about a calibration (R ``design$postStrata``).

    ``cells[i]`` are the integer cell codes of margin ``i`` per respondent and
    ``margin_weights[i]`` the weights right after that margin was fitted (R's ``weights``
    attribute); ``design_weights`` are the weights before calibration.
    """

    method: str  # "poststratify" or "rake"
    cells: tuple[np.ndarray, ...]
    margin_weights: tuple[np.ndarray, ...]
    design_weights: np.ndarray

    def residualize(self, scores: np.ndarray) -> np.ndarray:
        """Calibration residuals of weighted scores (n or n×k), same shape as the input.

        Post-stratification: each score minus its post-stratum's weighted mean, which is the
        residual of the weighted regression of the influence values on the cell dummies.
        Raking: the projection on the additive margin dummies computed by backfitting with
        unweighted cell means of ``scores / weights``, exactly as R ``svyrecvar`` does for
        ``rake`` (this is what reproduces R's standard errors).
        """
        matrix = np.asarray(scores, dtype=float)
        vector = matrix.ndim == 1
        x = matrix[:, None].copy() if vector else matrix.copy()
        if self.method == "poststratify":
            x = _remove_cell_means(x, self.cells[0], self.margin_weights[0], self.design_weights)
        else:
            for _ in range(_RAKING_PROJECTION_SWEEPS):
                before = x.copy()
                for codes, weights in zip(self.cells, self.margin_weights, strict=True):
                    x = _remove_cell_means(x, codes, weights, None)
                if np.allclose(x, before, rtol=0.0, atol=1e-15 * max(1.0, np.abs(before).max())):
                    break
        return x[:, 0] if vector else x


@dataclass(frozen=True, eq=False)
class CalibratedWeights:
    """Calibrated weights with their report and the information the variance needs."""

    weights: np.ndarray
    report: WeightingReport
    calibration: Calibration = field(repr=False)


@dataclass(frozen=True)
class WeightTrimming:
    """Bounds on weights, as multiples of the mean weight, enforced by trim-and-rerake.

    ``upper=5`` caps every weight at 5× the mean weight; ``lower=0.2`` raises every weight to at
    least a fifth of it. The weights are clipped, the margins re-raked, and the cycle repeated
    until the raked weights respect the bounds (with ``slack`` relative tolerance) or
    ``max_rounds`` is reached.
    """

    lower: float | None = None
    upper: float | None = 5.0
    max_rounds: int = 50
    slack: float = 1e-3

    def __post_init__(self) -> None:
        if self.lower is not None and self.lower < 0:
            raise ValueError("lower trimming bound must be non-negative")
        if self.upper is not None and self.upper <= 1:
            raise ValueError("upper trimming bound must exceed the mean weight (ratio > 1)")
        if self.lower is not None and self.lower >= 1:
            raise ValueError("lower trimming bound must be below the mean weight (ratio < 1)")

    def bounds(self, weights: np.ndarray) -> tuple[float, float]:
        """Absolute bounds for these weights (the mean moves as weights are re-raked)."""
        mean = float(np.mean(weights))
        lower = self.lower * mean if self.lower is not None else 0.0
        upper = self.upper * mean if self.upper is not None else math.inf
        return lower, upper

    def violations(self, weights: np.ndarray) -> np.ndarray:
        """Respondents whose weight is outside the bounds by more than the slack."""
        lower, upper = self.bounds(weights)
        return (weights > upper * (1 + self.slack)) | (weights < lower * (1 - self.slack))


def _remove_cell_means(x: np.ndarray, codes: np.ndarray, weights: np.ndarray,
                       old_weights: np.ndarray | None) -> np.ndarray:
    """``x - w * mean_cell(x / w)``, the mean weighted by ``old_weights`` (or unweighted)."""
    safe = np.where(weights > 0, weights, 1.0)
    unweighted = x / safe[:, None]
    size = int(codes.max()) + 1 if len(codes) else 0
    mean_weight = np.ones(len(codes)) if old_weights is None else old_weights
    denominator = np.bincount(codes, weights=mean_weight, minlength=size)
    denominator = np.where(denominator > 0, denominator, 1.0)
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        cell_mean = np.bincount(codes, weights=unweighted[:, j] * mean_weight, minlength=size) / denominator
        out[:, j] = x[:, j] - weights * cell_mean[codes]
    return out


def _design_weight_array(frame: pd.DataFrame, design_weights: str | np.ndarray | pd.Series) -> np.ndarray:
    if isinstance(design_weights, str):
        values = frame[design_weights].to_numpy(dtype=float)
    else:
        values = np.asarray(design_weights, dtype=float)
    if len(values) != len(frame):
        raise ValueError(f"design weights have {len(values)} rows, the frame has {len(frame)}")
    if np.any(~np.isfinite(values)) or np.any(values < 0):
        raise ValueError("design weights must be finite and non-negative")
    return values


def _margin_cells(frame: pd.DataFrame, variable: str, population: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Per-respondent cell codes of one margin and the population total of each code.

    Fails, naming the variable and category, when the sample and the margin disagree.
    """
    if variable not in frame.columns:
        raise MarginError(f"margin variable {variable!r} is not a column of the sample")
    column = frame[variable]
    missing = int(column.isna().sum())
    if missing:
        raise MarginError(f"margin variable {variable!r} has {missing} respondent(s) with no value; "
                          "every respondent must fall in a margin category")
    labels = column.astype(str).to_numpy()
    categories = [str(category) for category in population]
    for category, total in population.items():
        if not (isinstance(total, int | float | np.integer | np.floating) and math.isfinite(total)) or total < 0:
            raise MarginError(f"margin {variable!r} category {category!r} has an invalid population "
                              f"total {total!r}")
    position = {category: index for index, category in enumerate(categories)}
    unknown = sorted(set(labels) - set(position))
    if unknown:
        raise MarginError(f"margin variable {variable!r}: sample category {unknown[0]!r} has no "
                          f"population margin (unmatched categories: {unknown})")
    codes = np.array([position[label] for label in labels], dtype=np.int64)
    counts = np.bincount(codes, minlength=len(categories))
    totals = np.array([float(population[key]) for key in population], dtype=float)
    for index, category in enumerate(categories):
        if counts[index] == 0 and totals[index] > 0:
            raise MarginError(f"margin variable {variable!r}: population category {category!r} "
                              f"(total {totals[index]:g}) has no respondent; collapse it with a "
                              "neighbouring category")
        if counts[index] > 0 and totals[index] == 0:
            raise MarginError(f"margin variable {variable!r}: category {category!r} has "
                              f"{counts[index]} respondent(s) but a population total of 0")
    return codes, totals


def _check_margin_totals(margins: Margins, relative_tolerance: float = 1e-6) -> None:
    """Raking cannot converge when the margins disagree on the population size."""
    sums = {variable: float(sum(population.values())) for variable, population in margins.items()}
    reference = max(sums.values())
    if reference > 0 and (max(sums.values()) - min(sums.values())) > relative_tolerance * reference:
        raise MarginError(f"population margins have different totals: {sums}")


def _fit_margin(weights: np.ndarray, codes: np.ndarray, totals: np.ndarray) -> np.ndarray:
    achieved = np.bincount(codes, weights=weights, minlength=len(totals))
    factor = np.divide(totals, achieved, out=np.zeros_like(totals), where=achieved > 0)
    return weights * factor[codes]


def _margin_error(weights: np.ndarray, cells: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    return max(float(np.max(np.abs(np.bincount(codes, weights=weights, minlength=len(totals)) - totals)))
               for codes, totals in cells)


def _report(method: str, weights: np.ndarray, iterations: int, converged: bool, error: float,
            n_trimmed: int, rounds: int) -> WeightingReport:
    positive = weights[weights > 0]
    mean = float(np.mean(weights)) if len(weights) else math.nan
    kish = float(len(weights) * np.sum(weights**2) / np.sum(weights) ** 2) if np.sum(weights) > 0 else math.nan
    return WeightingReport(
        method=method, iterations=iterations, converged=converged, max_abs_margin_error=error,
        n_trimmed=n_trimmed, trimming_rounds=rounds, kish_design_effect=kish,
        weight_ratio=float(positive.max() / positive.min()) if len(positive) else math.nan,
        min_weight=float(weights.min()) if len(weights) else math.nan,
        max_weight=float(weights.max()) if len(weights) else math.nan,
        mean_weight=mean, n_respondents=len(weights))


def kish_design_effect(weights: np.ndarray) -> float:
    """Kish's design effect due to unequal weighting, ``n Σw² / (Σw)² = 1 + CV²``."""
    values = np.asarray(weights, dtype=float)
    return float(len(values) * np.sum(values**2) / np.sum(values) ** 2)


def post_stratify(frame: pd.DataFrame, design_weights: str | np.ndarray | pd.Series,
                  margins: Margins) -> CalibratedWeights:
    """Scale the weights of each post-stratum to its population count (R ``postStratify``).

    ``margins`` has exactly one variable; for a joint classification (level × sex) build a
    cell column first (:func:`joint_cell_column`) or use :func:`collapse_sparse_cells`.
    """
    if len(margins) != 1:
        raise ValueError(f"post-stratification takes one (joint) variable, got {list(margins)}")
    (variable, population), = margins.items()
    old = _design_weight_array(frame, design_weights)
    codes, totals = _margin_cells(frame, variable, population)
    weights = _fit_margin(old, codes, totals)
    error = _margin_error(weights, [(codes, totals)])
    calibration = Calibration("poststratify", (codes,), (weights,), old)
    report = _report("poststratify", weights, 1, True, error, 0, 0)
    return CalibratedWeights(weights, report, calibration)


def _ipf(weights: np.ndarray, cells: Sequence[tuple[np.ndarray, np.ndarray]], max_iterations: int,
         tolerance: float) -> tuple[np.ndarray, list[np.ndarray], int, bool]:
    """Iterative proportional fitting; returns weights, per-margin weights of the last sweep."""
    after_margin: list[np.ndarray] = []
    for iteration in range(1, max_iterations + 1):
        after_margin = []
        for codes, totals in cells:
            weights = _fit_margin(weights, codes, totals)
            after_margin.append(weights)
        if _margin_error(weights, cells) <= tolerance:
            return weights, after_margin, iteration, True
    return weights, after_margin, max_iterations, False


def _trim_and_rerake(weights: np.ndarray, after_margin: list[np.ndarray],
                     cells: Sequence[tuple[np.ndarray, np.ndarray]], trimming: WeightTrimming,
                     max_iterations: int, tolerance: float
                     ) -> tuple[np.ndarray, list[np.ndarray], int, bool, int, int]:
    """Clip to the bounds and re-rake until the raked weights respect the bounds.

    Returns weights, per-margin weights, IPF iterations, convergence (margins and bounds),
    number of respondents ever trimmed and number of trimming rounds.
    """
    trimmed = np.zeros(len(weights), dtype=bool)
    iterations, converged = 0, True
    for rounds in range(trimming.max_rounds + 1):
        outside = trimming.violations(weights)
        if not outside.any():
            return weights, after_margin, iterations, converged, int(trimmed.sum()), rounds
        if rounds == trimming.max_rounds:
            break
        trimmed |= outside
        weights = np.clip(weights, *trimming.bounds(weights))
        weights, after_margin, more, converged = _ipf(weights, cells, max_iterations, tolerance)
        iterations += more
    return weights, after_margin, iterations, False, int(trimmed.sum()), trimming.max_rounds


def rake(frame: pd.DataFrame, design_weights: str | np.ndarray | pd.Series, margins: Margins, *,
         max_iterations: int = 1000, tolerance: float = 1e-6,
         trimming: WeightTrimming | None = None) -> CalibratedWeights:
    """Rake design weights to several population margins (R ``rake``).

    ``tolerance`` is the largest accepted absolute difference between a weighted margin and
    its population total (in the units of the margins, i.e. pupils). With ``trimming`` the
    weights are clipped to the bounds and re-raked until both hold (the report says whether
    they did: a margin structure can make the bounds impossible).
    """
    if not margins:
        raise ValueError("raking needs at least one margin")
    _check_margin_totals(margins)
    old = _design_weight_array(frame, design_weights)
    cells = [_margin_cells(frame, variable, population) for variable, population in margins.items()]
    weights, after_margin, iterations, converged = _ipf(old.copy(), cells, max_iterations, tolerance)
    n_trimmed, rounds = 0, 0
    if trimming is not None:
        weights, after_margin, more, converged, n_trimmed, rounds = _trim_and_rerake(
            weights, after_margin, cells, trimming, max_iterations, tolerance)
        iterations += more
    error = _margin_error(weights, cells)
    calibration = Calibration("rake", tuple(codes for codes, _ in cells), tuple(after_margin), old)
    report = _report("rake", weights, iterations, converged, error, n_trimmed, rounds)
    return CalibratedWeights(weights, report, calibration)


def joint_cell_column(frame: pd.DataFrame, columns: Sequence[str], separator: str = "|") -> pd.Series:
    """One label per respondent for a joint classification, e.g. ``"3E|F"`` for level × sex."""
    if not columns:
        raise ValueError("a joint cell needs at least one column")
    labels = frame[columns[0]].astype(str)
    for column in columns[1:]:
        labels = labels + separator + frame[column].astype(str)
    missing = frame[list(columns)].isna().any(axis=1)
    return labels.where(~missing, None)


@dataclass(frozen=True)
class CollapsedCells:
    """Weighting cells after merging sparse ones.

    ``cells`` is the cell label of each respondent (aligned on the sample's index),
    ``margins`` the population per cell ready for :func:`post_stratify`, and ``merged`` maps
    every merged cell label to the fine cells it pools.
    """

    cells: pd.Series
    margins: dict[str, dict[str, float]]
    merged: dict[str, list[str]]


def collapse_sparse_cells(frame: pd.DataFrame, population: pd.DataFrame, fine: Sequence[str],
                          coarse: Sequence[str], min_respondents: int, *,
                          population_column: str = "population", cell_column: str = "weighting_cell",
                          separator: str = "|") -> CollapsedCells:
    """Merge fine weighting cells with fewer than ``min_respondents`` within their coarse cell.

    Typical use: fine = département × level × sex, coarse = level × sex. Within each coarse
    cell, the sparse fine cells (including those with no respondent) are pooled into one cell
    ``"<coarse>|*"``; if that pool is still sparse it absorbs the smallest adequate sibling,
    and when nothing adequate is left the whole coarse cell becomes one cell. ``population``
    has one row per fine cell with the ``fine`` columns and ``population_column``.
    """
    if not set(coarse) <= set(fine):
        raise ValueError(f"coarse columns {list(coarse)} must be a subset of fine columns {list(fine)}")
    fine_label = joint_cell_column(frame, fine, separator)
    if fine_label.isna().any():
        raise MarginError(f"{int(fine_label.isna().sum())} respondent(s) have no value in {list(fine)}")
    pop = population.copy()
    pop["_fine"] = joint_cell_column(pop, fine, separator)
    pop["_coarse"] = joint_cell_column(pop, coarse, separator)
    if pop["_fine"].duplicated().any():
        raise ValueError("population has duplicated fine cells")
    unknown = sorted(set(fine_label) - set(pop["_fine"]))
    if unknown:
        raise MarginError(f"sample cell {unknown[0]!r} of {list(fine)} has no population margin")
    counts = fine_label.value_counts()
    pop["_n"] = pop["_fine"].map(counts).fillna(0).astype(int)

    assignment: dict[str, str] = {}
    merged: dict[str, list[str]] = {}
    for coarse_key, group in pop.groupby("_coarse", sort=True):
        group = group.sort_values(["_n", "_fine"])
        sparse = group[group["_n"] < min_respondents]
        adequate = group[group["_n"] >= min_respondents]
        for label in adequate["_fine"]:
            assignment[label] = label
        if sparse.empty:
            continue
        pooled = list(sparse["_fine"])
        pooled_n = int(sparse["_n"].sum())
        remaining = list(zip(adequate["_fine"], adequate["_n"], strict=True))
        while pooled_n < min_respondents and remaining:
            label, n = remaining.pop(0)  # smallest adequate sibling first
            pooled.append(label)
            pooled_n += int(n)
        target = f"{coarse_key}{separator}*"
        for label in pooled:
            assignment[label] = target
        merged[target] = sorted(pooled)

    cell_population = pop.groupby(pop["_fine"].map(assignment))[population_column].sum()
    cells = fine_label.map(assignment).rename(cell_column)
    margins = {cell_column: {str(label): float(total) for label, total in cell_population.items()}}
    return CollapsedCells(cells=cells, margins=margins, merged=merged)


def calibrated_covariance(scores: np.ndarray, calibration: Calibration | None, strata: np.ndarray | None,
                          psu: np.ndarray | None, fpc: np.ndarray | None = None,
                          lonely_psu: str = "adjust") -> np.ndarray:
    """Design covariance of the totals of weighted scores, calibration-aware."""
    residuals = calibration.residualize(scores) if calibration is not None else scores
    return linearized_covariance(residuals, strata, psu, fpc, lonely_psu)


def calibrated_mean(outcome: np.ndarray, calibrated: CalibratedWeights, strata: np.ndarray | None,
                    psu: np.ndarray | None, fpc: np.ndarray | None = None,
                    use_calibration: bool = True) -> tuple[float, float]:
    """Weighted mean and its calibration-aware standard error (R ``svymean`` on a calibrated design).

    ``use_calibration=False`` gives the naive SE that treats the calibrated weights as design
    weights (what a weights-only engine would report).
    """
    y = np.asarray(outcome, dtype=float)
    w = calibrated.weights
    total = float(np.sum(w))
    mean = float(np.sum(w * y) / total)
    scores = w * (y - mean) / total
    calibration = calibrated.calibration if use_calibration else None
    variance = float(calibrated_covariance(scores, calibration, strata, psu, fpc)[0, 0])
    return mean, math.sqrt(variance)
