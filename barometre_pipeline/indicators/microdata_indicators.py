"""Catalogue indicators for one microdata source: design-based estimates from one scan of the source.

Every indicator whose variables the source has is estimated, for each of its breakdown sets whose
dimensions the source has; territory and period are part of every breakdown so each row carries them.
Indicators sharing their breakdown sets form a group; all groups are estimated from a single read of
the relation (:func:`barometre_pipeline.stats.domain_estimates.estimate_proportion_groups`).
"""

from __future__ import annotations

from collections import defaultdict

import duckdb
import pandas as pd

from barometre_pipeline.calibration.raked_weights import RAKED_ON
from barometre_pipeline.indicators.catalogue import Catalogue, Indicator
from barometre_pipeline.stats.domain_estimates import IndicatorSpec, estimate_proportion_groups

SOURCE_DIMENSIONS = ("territory", "period")
TOTAL = "_T"


def populated_columns(con: duckdb.DuckDBPyConnection, relation: str) -> set[str]:
    """Columns of the relation that hold at least one non-null value."""
    columns = [row[0] for row in con.execute(f"DESCRIBE {relation}").fetchall()]
    if not columns:
        return set()
    counts = con.execute(
        "SELECT " + ", ".join(f'count("{c}")' for c in columns) + f" FROM {relation}"
    ).fetchone()
    return {c for c, n in zip(columns, counts or [], strict=True) if n}


def design_fpc_columns(available: set[str]) -> tuple[str | None, str | None]:
    """Finite-population corrections to use: both stages, or none.

    Schools are sampled, then pupils within them. With both population sizes declared (schools in
    the stratum ``fpc``, pupils in the school ``fpc2``) the variance is R's two-stage one. With
    only the first, a one-stage correction would treat each school as taken whole and understate
    the variance: schools are then treated as sampled with replacement (no correction).
    """
    if {"fpc", "fpc2"} <= available:
        return "fpc", "fpc2"
    return None, None


def raking_margins(con: duckdb.DuckDBPyConnection, relation: str, available: set[str]) -> list[str]:
    """The variables the final weights were raked on (weighting's ``raked_on`` column), if any.

    The standard errors are then calibration-aware on these margins, as R's ``rake()`` design.
    """
    if RAKED_ON not in available:
        return []
    values = [row[0] for row in con.execute(
        f'SELECT DISTINCT "{RAKED_ON}" FROM {relation} WHERE "{RAKED_ON}" IS NOT NULL').fetchall()]
    if len(values) > 1:
        raise ValueError(f"{relation}: respondents were raked on different margins {sorted(values)}")
    return values[0].split(",") if values else []


def _estimate_groups(
    con: duckdb.DuckDBPyConnection, relation: str,
    groups: dict[tuple[tuple[str, ...], ...], list[Indicator]], available: set[str],
    weight: str, ci_method: str, confidence: float,
) -> list[pd.DataFrame]:
    """One table per set of indicators sharing their breakdown sets, from one read of the relation."""
    if not groups:
        return []
    margins = raking_margins(con, relation, available)
    fpc, fpc2 = design_fpc_columns(available)
    requests = [
        ([IndicatorSpec(code=i.code, numerator=f"({i.numerator})", denominator=f"({i.denominator})")
          for i in indicators], [list(s) for s in sets])
        for sets, indicators in groups.items()
    ]
    return estimate_proportion_groups(
        con, relation, weight=weight, strata="stratum", psu="psu", fpc=fpc, fpc2=fpc2, groups=requests,
        ci_method=ci_method, confidence=confidence, raking_margins=margins or None,
    )


def estimate_source_indicators(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    catalogue: Catalogue,
    *,
    weight: str = "final_weight",
    ci_method: str = "beta",
    confidence: float = 0.95,
) -> pd.DataFrame:
    available = populated_columns(con, relation)
    for needed in ("stratum", "psu", weight):
        if needed not in available:
            raise ValueError(f"{relation}: design column `{needed}` is missing or empty")

    # Indicators sharing the same breakdown sets are estimated together (one pass per set).
    groups: dict[tuple[tuple[str, ...], ...], list[Indicator]] = defaultdict(list)
    for indicator in catalogue.indicators:
        if not indicator.variables() <= available:
            continue
        sets = []
        for name in indicator.breakdowns:
            dims = catalogue.breakdown_sets[name]
            if set(dims) <= available:
                sets.append(tuple(d for d in SOURCE_DIMENSIONS if d in available) + tuple(dims))
        groups[tuple(sets)].append(indicator)

    # Parallel float sums add in a different order on every run, changing the last bits of the
    # estimates; published figures must be reproducible, so the pass runs on one thread (the
    # respondents then arrive in a fixed order, and the numpy sums follow that order).
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    con.execute("SET threads = 1")
    try:
        frames = _estimate_groups(con, relation, groups, available, weight, ci_method, confidence)
    finally:
        con.execute(f"SET threads = {int(threads)}")
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True)
    dimension_columns = [
        c for c in table.columns
        if c not in {"indicator_code", "estimate", "se", "ci_low", "ci_high", "ci_method", "df",
                     "n_unweighted", "n_effective", "deff", "weighted_n", "cv", "n_psu", "n_events"}
    ]
    # Indicators estimated together share dimension columns; a column another group has but this
    # one lacks means "not broken down" (respondents without an answer fall in no cell).
    for column in dimension_columns:
        table[column] = table[column].fillna(TOTAL).astype(str)
    return table
