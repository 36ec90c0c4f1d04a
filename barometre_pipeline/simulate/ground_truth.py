"""Ground truth of a synthetic wave: finite-population values the pipeline should recover.

Long format, one row per indicator × sex × level cell (``_T`` for totals), proportions in 0..1:
``indicator_code, territory, period, sex, level, value, population_n``. Sex is the sex the pupil
reports in the questionnaire (F, M, or X for "autre / préfère ne pas répondre"), the same variable
the pipeline estimates by.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from barometre_pipeline.simulate.outcomes import cv_any_from_items, cv_repeated_from_items
from barometre_pipeline.simulate.planted_model import CV_ITEMS
from barometre_pipeline.vocabulary import TOTAL

GROUND_TRUTH_COLUMNS = ("indicator_code", "territory", "period", "sex", "level", "value", "population_n")


def indicator_matrix(population: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per-pupil 0/1 value of each ground-truth indicator, keyed by indicator code."""
    indicators = {
        "CV_ANY": cv_any_from_items(population),
        "CV_REPEATED": cv_repeated_from_items(population),
    }
    for item in CV_ITEMS:
        indicators[item.upper()] = population[item].to_numpy() >= 1
    return indicators


def finite_population_truth(population: pd.DataFrame, territory: str, period: str) -> pd.DataFrame:
    """Every indicator's finite-population proportion by sex × level, with margins and total."""
    sex_codes = population["sex"].cat.codes.to_numpy().astype(np.int64)
    level_codes = population["level"].cat.codes.to_numpy().astype(np.int64)
    sexes = [*population["sex"].cat.categories, TOTAL]
    levels = [*population["level"].cat.categories, TOTAL]
    n_sex, n_level = len(sexes) - 1, len(levels) - 1
    cell = sex_codes * n_level + level_codes

    def with_margins(counts: np.ndarray) -> np.ndarray:
        table = counts.reshape(n_sex, n_level)
        table = np.vstack([table, table.sum(axis=0, keepdims=True)])
        return np.hstack([table, table.sum(axis=1, keepdims=True)])

    population_n = with_margins(np.bincount(cell, minlength=n_sex * n_level))
    sex_grid, level_grid = np.meshgrid(sexes, levels, indexing="ij")
    parts = []
    for code, values in indicator_matrix(population).items():
        hits = with_margins(np.bincount(cell, weights=values.astype(float), minlength=n_sex * n_level))
        parts.append(pd.DataFrame({
            "indicator_code": code,
            "territory": territory,
            "period": period,
            "sex": sex_grid.ravel(),
            "level": level_grid.ravel(),
            "value": np.divide(hits, population_n, out=np.full(hits.shape, np.nan),
                               where=population_n > 0).ravel(),
            "population_n": population_n.ravel().astype(np.int64),
        }))
    truth = pd.concat(parts, ignore_index=True)
    return truth[truth["population_n"] > 0].reset_index(drop=True)


def prevalence_by_programme(population: pd.DataFrame) -> dict[str, float]:
    """Finite-population cv_any in schools with and without a prevention programme."""
    cv_any = cv_any_from_items(population)
    programme = population["prevention_programme"].to_numpy() == 1
    return {
        "programme_schools": float(cv_any[programme].mean()) if programme.any() else float("nan"),
        "other_schools": float(cv_any[~programme].mean()) if (~programme).any() else float("nan"),
        "all": float(cv_any.mean()),
    }
