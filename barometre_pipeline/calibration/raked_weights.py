"""Raked weights for one pilot source: design weights calibrated to the territory's margins."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from barometre_pipeline.calibration.population_margins import Margins
from barometre_pipeline.stats.weighting import Calibration, WeightTrimming, rake

# Weights beyond these multiples of the mean weight are trimmed, then margins are re-raked: a few
# pupils standing for a whole school would otherwise dominate small cells.
TRIMMING = WeightTrimming(lower=0.1, upper=8.0)
UNCLASSIFIED_SEX = "X"
# Column of the weights table naming the variables a respondent's weight was raked on (comma-
# separated; NULL when not raked): the estimation step makes its standard errors
# calibration-aware on exactly these margins.
RAKED_ON = "raked_on"


@dataclass(frozen=True)
class RakingOutcome:
    weights: pd.DataFrame  # respondent_pid, design_weight, final_weight, raked_on
    metadata: dict[str, object]
    # The numpy calibration (R's postStrata) of the raked respondents (``raked`` rows), kept for
    # the variance oracle; None when nothing was raked.
    calibration: Calibration | None = None
    raked: np.ndarray | None = None


def _sample_margins(staged: pd.DataFrame, margins: Margins) -> dict[str, dict[str, float]]:
    """Margins restricted to what the sample can carry.

    The official counts split pupils into F and M only; pupils answering "autre / préfère ne pas
    répondre" (X) are given their design-weighted share of the population, and the F and M totals
    are scaled down by the same share, so the three categories add up to the official total.
    """
    totals = {var: dict(cats) for var, cats in margins.totals.items() if var in staged}
    if "sex" in totals and (staged["sex"] == UNCLASSIFIED_SEX).any():
        weights = staged["design_weight"].to_numpy(float)
        share_x = weights[(staged["sex"] == UNCLASSIFIED_SEX).to_numpy()].sum() / weights.sum()
        population = sum(totals["sex"].values())
        totals["sex"] = {k: v * (1 - share_x) for k, v in totals["sex"].items()}
        totals["sex"][UNCLASSIFIED_SEX] = population * share_x
    # A margin category with no respondent (a level the pilot did not survey) cannot be fitted:
    # the population it stands for is left out of every margin so all margins keep one total.
    for var, cats in totals.items():
        present = set(staged[var].dropna().astype(str))
        totals[var] = {k: v for k, v in cats.items() if k in present}
    return totals


def weighting_columns(margins: Margins | None) -> list[str]:
    """The staged columns raking reads: load only these (a staged table has ~90 columns)."""
    return ["respondent_pid", "design_weight", *(margins.totals if margins else ())]


def raked_weights(staged: pd.DataFrame, margins: Margins | None) -> RakingOutcome:
    base = staged[["respondent_pid", "design_weight"]].copy()
    if margins is None or staged.empty:
        base["final_weight"] = base["design_weight"]
        base[RAKED_ON] = pd.Series([None] * len(base), dtype="string")
        reason = "no population margins for this territory" if margins is None else "no respondent"
        return RakingOutcome(base, {"method": "design weights (not raked)", "reason": reason})

    variables = [v for v in margins.totals if v in staged]
    classified = staged[variables].notna().all(axis=1).to_numpy()
    sample = staged.loc[classified]
    totals = _sample_margins(sample, margins)
    # Keep the margin totals equal (respondents in levels the pilot did not survey removed).
    population = min(sum(c.values()) for c in totals.values())
    totals = {v: {k: t * population / sum(c.values()) for k, t in c.items()} for v, c in totals.items()}
    result = rake(sample, "design_weight", totals, tolerance=1e-6 * population * 1e-3,
                  trimming=TRIMMING)
    final = base["design_weight"].to_numpy(float).copy()
    # Respondents who left a raking variable blank keep their design weight, scaled by the mean
    # raking factor, rather than being dropped.
    factor = result.weights.sum() / sample["design_weight"].sum()
    final[~classified] = final[~classified] * factor
    final[classified] = result.weights
    base["final_weight"] = final
    base[RAKED_ON] = pd.Series(np.where(classified, ",".join(totals), None), dtype="string")
    achieved = {
        var: {k: float(final[classified][sample[var].astype(str).to_numpy() == k].sum())
              for k in cats}
        for var, cats in totals.items()
    }
    worst = max(abs(achieved[v][k] - t) / t for v, c in totals.items() for k, t in c.items())
    metadata = {
        "method": "raking (iterative proportional fitting) with trimming",
        "margins_source": margins.source,
        "margins_estimated": margins.estimated,
        "margin_variables": variables,
        "respondents_raked": int(classified.sum()),
        "respondents_unclassified": int((~classified).sum()),
        "max_relative_margin_error": float(worst),
        "trimming_bounds_times_mean": [TRIMMING.lower, TRIMMING.upper],
        **{f"report_{k}": v for k, v in asdict(result.report).items()},
        "population_margins": totals,
    }
    if not np.all(np.isfinite(final)) or (final <= 0).any():
        raise ValueError("raking produced non-positive or non-finite weights")
    return RakingOutcome(base, metadata, result.calibration, classified)
