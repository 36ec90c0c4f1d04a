"""Finding rows in the published tables: one pilot cell, a breakdown, the waves of a territory.

A cell is named by its indicator, source and the dimensions it is broken down by; every other
dimension holds the total code. Rows come back as plain dicts (NaN read as None).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable

import pandas as pd

from barometre_pipeline.vocabulary import FAMILY_PILOT, TOTAL

DIMENSIONS = ("sex", "level", "age_band", "grade_group", "departement", "sector",
              "priority_education")


def as_row(series: pd.Series) -> dict:
    return {k: (None if not isinstance(v, (list, tuple, dict)) and pd.isna(v) else v)
            for k, v in series.items()}


def pilot_sources(indicators: pd.DataFrame, territory: str) -> list[tuple[str, str]]:
    """(period, source_id) of the pilot waves of a territory, oldest first."""
    rows = indicators[(indicators["source_family"] == FAMILY_PILOT)
                      & (indicators["territory"] == territory)]
    pairs = rows[["period", "source_id"]].drop_duplicates().sort_values(["period", "source_id"])
    return [(str(p), str(s)) for p, s in pairs.itertuples(index=False)]


# Lookups by full key, built once per table (a report looks up a few thousand cells).
_INDEXES: dict[int, tuple[weakref.ref, dict[tuple, dict]]] = {}


def _index(indicators: pd.DataFrame) -> dict[tuple, dict]:
    cached = _INDEXES.get(id(indicators))
    if cached is not None and cached[0]() is indicators:
        return cached[1]
    dims = [d for d in DIMENSIONS if d in indicators.columns]
    index: dict[tuple, dict] = {}
    for record in indicators.to_dict("records"):
        key = (record["indicator_code"], record["source_id"], *(record[d] for d in dims))
        index.setdefault(key, {k: (None if isinstance(v, float) and math.isnan(v) else v)
                               for k, v in record.items()})
    _INDEXES[id(indicators)] = (weakref.ref(indicators), index)
    return index


def cell(indicators: pd.DataFrame, code: str, source_id: str, **dims: str) -> dict | None:
    """The row of ``code`` in ``source_id`` broken down by exactly ``dims`` (others total)."""
    names = [d for d in DIMENSIONS if d in indicators.columns]
    return _index(indicators).get((code, source_id, *(dims.get(d, TOTAL) for d in names)))


def breakdown(indicators: pd.DataFrame, code: str, source_id: str, dim: str,
              order: Iterable[str] | None = None) -> list[dict]:
    """Rows of ``code`` broken down by ``dim`` alone (every other dimension total), in order."""
    mask = (indicators["indicator_code"] == code) & (indicators["source_id"] == source_id)
    for other in DIMENSIONS:
        if other in indicators.columns:
            mask &= (indicators[other] != TOTAL) if other == dim else (indicators[other] == TOTAL)
    rows = [as_row(r) for _, r in indicators[mask].iterrows()]
    if order is not None:
        rank = {code: i for i, code in enumerate(order)}
        rows = [r for r in rows if r[dim] in rank]
        rows.sort(key=lambda r: rank[r[dim]])
    else:
        rows.sort(key=lambda r: str(r[dim]))
    return rows


def effect(effects: pd.DataFrame, effect_code: str, source_id: str | None = None,
           cell_code: str = TOTAL) -> dict | None:
    mask = (effects["effect_code"] == effect_code) & (effects["cell"].fillna(TOTAL) == cell_code)
    if source_id is not None:
        mask &= effects["source_id"] == source_id
    rows = effects[mask]
    return as_row(rows.iloc[0]) if len(rows) else None


def effects_where(effects: pd.DataFrame, **equals: str) -> list[dict]:
    mask = pd.Series(True, index=effects.index)
    for column, value in equals.items():
        mask &= effects[column] == value
    return [as_row(r) for _, r in effects[mask].iterrows()]
