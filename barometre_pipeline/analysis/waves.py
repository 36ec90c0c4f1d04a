"""Change between two pilot waves, cell by cell of the indicators table.

A trend is only read where the definition did not move: two waves of a territory are compared
on an indicator cell only when both rows carry the same ``comparability_group``. The two waves
are treated as independent samples (``se = sqrt(se1² + se2²)``, Welch–Satterthwaite df from the
design df of each wave). Where a school is sampled in both waves the real covariance is positive,
so this standard error is conservative. Cells suppressed (or without an estimate) in either wave
are skipped: a suppressed figure must not be recoverable through a published difference.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from barometre_pipeline.analysis.effects_table import (
    TOTAL,
    conform_effects,
    empty_effects,
    join_flags,
)
from barometre_pipeline.analysis.labels import (
    french_percent,
    french_point_interval,
    french_points,
)
from barometre_pipeline.stats.comparisons import benjamini_hochberg, difference_independent

DIMENSIONS: tuple[str, ...] = ("sex", "level", "age_band", "grade_group", "departement", "sector",
                               "priority_education")
CELL_KEYS: tuple[str, ...] = ("indicator_code", "territory", "comparability_group", *DIMENSIONS)
PILOT_FAMILY = "pilot"


def wave_differences(indicators: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Later − earlier wave for every pilot indicator cell published in two consecutive waves.

    ``indicators``: the consolidated indicators table (``indicator_code, source_id,
    source_family, territory, period``, the dimension columns, ``estimate, se, df,
    n_unweighted, suppressed, comparability_group``; ``indicator_label_fr/en``, ``unit`` and
    ``quality_flags`` are used when present). Returns effect rows (:data:`EFFECT_COLUMNS`) with
    ``measure = difference``, ``exposure = wave``, ``period = "<earlier>/<later>"``,
    ``source_id`` of the later wave, ``reference_group = "period=<earlier> (<source_id>)"`` and
    ``cell`` naming the breakdown (``sex=F;level=6E``; ``_T`` for the whole population).
    The wave differences are one family of tests: ``q_value`` is the Benjamini–Hochberg adjusted
    p-value within it (with some 800 cells, about 40 differences would pass p < 0.05 by chance
    alone), and ``significant`` and the sentence use it (q < 5 %).
    """
    table = indicators[indicators["source_family"] == PILOT_FAMILY].copy()
    published = ~table["suppressed"].astype("boolean").fillna(False).astype(bool)
    table = table[published & table["estimate"].notna() & table["se"].notna()]
    if table.empty:
        return empty_effects()
    for column in DIMENSIONS:
        if column not in table:
            table[column] = TOTAL
        table[column] = table[column].fillna(TOTAL).astype(str)
    table["comparability_group"] = table["comparability_group"].fillna("").astype(str)
    table["period"] = table["period"].astype(str)
    repeated = table.duplicated([*CELL_KEYS, "period"], keep=False)
    if repeated.any():
        example = table.loc[repeated, [*CELL_KEYS, "period"]].head(3).to_dict("records")
        raise ValueError(f"several published rows for one cell and period: {example}")

    table = table.sort_values([*CELL_KEYS, "period"], kind="stable").reset_index(drop=True)
    earlier = table.groupby(list(CELL_KEYS), sort=False, dropna=False).shift(1)
    has_earlier = earlier["period"].notna()
    later_rows = table[has_earlier].reset_index(drop=True)
    earlier_rows = earlier[has_earlier].reset_index(drop=True)
    if later_rows.empty:
        return empty_effects()

    result = difference_independent(
        later_rows["estimate"].to_numpy(float), later_rows["se"].to_numpy(float),
        earlier_rows["estimate"].to_numpy(float), earlier_rows["se"].to_numpy(float),
        later_rows["df"].to_numpy(float) if "df" in later_rows else None,
        earlier_rows["df"].to_numpy(float) if "df" in earlier_rows else None,
        confidence=confidence)
    q_values = benjamini_hochberg(result.p_value)
    rows = []
    for i, (later, before) in enumerate(zip(later_rows.to_dict("records"),
                                            earlier_rows.to_dict("records"), strict=True)):
        code = str(later["indicator_code"])
        label_fr = _text(later.get("indicator_label_fr")) or code
        label_en = _text(later.get("indicator_label_en")) or code
        estimate = float(result.difference[i])
        low, high = float(result.ci_low[i]), float(result.ci_high[i])
        p_value = float(result.p_value[i])
        q_value = float(q_values[i])
        df = float(result.df[i])
        rows.append({
            "effect_code": f"PILOT_WAVE_DIFF_{code}",
            "label_fr": f"Évolution entre vagues : {label_fr}",
            "label_en": f"Change between waves: {label_en}",
            "source_id": later["source_id"], "source_family": PILOT_FAMILY,
            "territory": later["territory"], "period": f"{before['period']}/{later['period']}",
            "exposure": "wave", "outcome": code, "measure": "difference",
            "estimate": estimate, "se": float(result.se[i]), "ci_low": low, "ci_high": high,
            "p_value": p_value, "df": df if math.isfinite(df) else math.nan,
            "n_unweighted": _count(later.get("n_unweighted")) + _count(before.get("n_unweighted")),
            "adjusted_for": None,
            "reference_group": f"period={before['period']} ({before['source_id']})",
            "comparability_group": later["comparability_group"] or None,
            "counterpart": None,
            "interpretation_fr": _sentence(label_fr, later, before, estimate, low, high, q_value),
            "quality_flags": join_flags(later.get("quality_flags"), before.get("quality_flags")),
            "provenance": None,
            "cell": _cell(later),
            "significant": bool(q_value < 1 - confidence) if math.isfinite(q_value) else None,
            "q_value": q_value,
        })
    return conform_effects(pd.DataFrame(rows))


def _cell(row: dict) -> str:
    parts = [f"{d}={row[d]}" for d in DIMENSIONS if row[d] != TOTAL]
    return ";".join(parts) or TOTAL


def _sentence(label: str, later: dict, before: dict, estimate: float, low: float, high: float,
              q_value: float) -> str:
    proportion = _text(later.get("unit")) in ("", "proportion")
    if proportion:
        movement = (f"passe de {french_percent(float(before['estimate']))} en {before['period']} à "
                    f"{french_percent(float(later['estimate']))} en {later['period']} "
                    f"({french_points(estimate)}, {french_point_interval(low, high)})")
    else:
        movement = (f"passe de {before['estimate']:.3g} en {before['period']} à "
                    f"{later['estimate']:.3g} en {later['period']}")
    verdict = ("écart significatif au seuil de 5 % après correction pour tests multiples"
               if q_value < 0.05 else "écart non significatif au seuil de 5 % après correction "
               "pour tests multiples : pas d'évolution démontrée")
    return f"« {label} » {movement} ; {verdict}."


def _count(value: object) -> int:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0
    return int(number) if np.isfinite(number) else 0


def _text(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)
