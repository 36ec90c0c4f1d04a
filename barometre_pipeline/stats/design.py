"""A survey sampling design: who represents whom, and how respondents were drawn.

The design carries per-respondent arrays only (weights, strata, PSUs, finite population
corrections); estimators take it together with outcome arrays of the same length. It mirrors
R ``svydesign(id=~psu+ssu, strata=~strata, weights=~w, fpc=~fpc+fpc2)``: PSUs are nested in
strata, and a missing weight is derived from the fpcs (inverse of the sampling fractions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from barometre_pipeline.stats.taylor import (
    design_degrees_of_freedom,
    linearized_covariance,
    psu_keys,
    two_stage_covariance,
)


@dataclass(frozen=True, eq=False)
class SurveyDesign:
    """Per-respondent design arrays (all of length n)."""

    weights: np.ndarray
    strata: np.ndarray | None = None
    psu: np.ndarray | None = None
    fpc: np.ndarray | None = None
    ssu: np.ndarray | None = None
    fpc2: np.ndarray | None = None
    lonely_psu: str = "adjust"

    def __post_init__(self) -> None:
        n = len(self.weights)
        for name in ("strata", "psu", "fpc", "ssu", "fpc2"):
            values = getattr(self, name)
            if values is not None and len(values) != n:
                raise ValueError(f"design array {name!r} has {len(values)} rows, weights have {n}")
        if np.any(~np.isfinite(self.weights)) or np.any(self.weights < 0):
            raise ValueError("weights must be finite and non-negative")
        if self.ssu is not None and self.psu is None:
            raise ValueError("a second-stage unit needs a first-stage PSU")

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, weight: str | None = None, strata: str | None = None,
                   psu: str | None = None, fpc: str | None = None, ssu: str | None = None,
                   fpc2: str | None = None, lonely_psu: str = "adjust") -> SurveyDesign:
        """Build a design from column names of a DataFrame (any of them may be omitted)."""

        def column(name: str | None, dtype: type | None = None) -> np.ndarray | None:
            if name is None:
                return None
            values = frame[name].to_numpy()
            return values.astype(dtype) if dtype is not None else values

        strata_values = column(strata)
        psu_values = column(psu)
        fpc_values = column(fpc, float)
        ssu_values = column(ssu)
        fpc2_values = column(fpc2, float)
        if weight is not None:
            weights = frame[weight].to_numpy(dtype=float)
        else:
            weights = _weights_from_fpc(len(frame), strata_values, psu_values, fpc_values,
                                        ssu_values, fpc2_values)
        return cls(weights=weights, strata=strata_values, psu=psu_values, fpc=fpc_values,
                   ssu=ssu_values, fpc2=fpc2_values, lonely_psu=lonely_psu)

    @property
    def n(self) -> int:
        return len(self.weights)

    @property
    def degrees_of_freedom(self) -> int:
        return design_degrees_of_freedom(self.strata, self.psu, n=self.n)

    @property
    def population_size(self) -> float:
        return float(np.sum(self.weights))

    def covariance(self, scores: np.ndarray) -> np.ndarray:
        """Design covariance of the totals of weighted scores (n or n×k)."""
        if self.ssu is not None:
            return two_stage_covariance(scores, self.strata, self.psu, self.fpc, self.ssu,
                                        self.fpc2, self.lonely_psu)
        return linearized_covariance(scores, self.strata, self.psu, self.fpc, self.lonely_psu)


def _inclusion_fraction(n: int, groups: np.ndarray | None, units: np.ndarray | None,
                        fpc: np.ndarray) -> np.ndarray:
    """Per-row sampling fraction of the stage (count of sampled units / fpc), as R does."""
    group_code, unit_code, n_groups, n_units = psu_keys(groups, units, n)
    unit_group = np.zeros(n_units, dtype=np.int64)
    unit_group[unit_code] = group_code
    sampled = np.bincount(unit_group, minlength=n_groups)[group_code].astype(float)
    if np.all(fpc <= 1):
        return fpc
    return sampled / fpc


def _weights_from_fpc(n: int, strata: np.ndarray | None, psu: np.ndarray | None,
                      fpc: np.ndarray | None, ssu: np.ndarray | None,
                      fpc2: np.ndarray | None) -> np.ndarray:
    if fpc is None:
        return np.ones(n)
    probability = _inclusion_fraction(n, strata, psu, fpc)
    if ssu is not None and fpc2 is not None:
        _, parent, _, _ = psu_keys(strata, psu, n)
        probability = probability * _inclusion_fraction(n, parent, ssu, fpc2)
    return 1.0 / probability
