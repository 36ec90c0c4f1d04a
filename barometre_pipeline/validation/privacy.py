"""Privacy guarantees of what leaves the warehouse (respondents are minors).

Three properties, each returning the offending rows (empty = holds):
1. no respondent-level column is published;
2. no published pilot cell is under the minimum unweighted n;
3. no suppressed cell can be recovered by subtraction: in every additive group (the cells of one
   dimension under a published total, other dimensions fixed), suppressed cells are 0 or >= 2.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

RESPONDENT_LEVEL_COLUMNS = (
    "respondent_pid", "respondent_id", "school_id", "psu", "stratum", "design_weight",
    "final_weight", "_source_file", "_source_line", "age", "who5_score",
)
TOTAL = "_T"


def respondent_level_columns(columns: Sequence[str]) -> list[str]:
    return [c for c in columns if c in RESPONDENT_LEVEL_COLUMNS]


def small_published_cells(table: pd.DataFrame, min_n_unweighted: int) -> pd.DataFrame:
    pilot = table["source_family"] == "pilot"
    published = ~table["suppressed"].astype(bool)
    small = table["n_unweighted"].fillna(0) < min_n_unweighted
    return table[pilot & published & small]


def recoverable_suppressed_cells(
    table: pd.DataFrame, keys: Sequence[str], dimensions: Sequence[str]
) -> pd.DataFrame:
    """Suppressed cells that are alone in an additive group whose total is published."""
    offending = []
    suppressed = table["suppressed"].astype(bool)
    for dimension in dimensions:
        others = [d for d in dimensions if d != dimension]
        group_keys = list(keys) + others
        cells = table[table[dimension] != TOTAL]
        totals = table[(table[dimension] == TOTAL) & ~suppressed]
        if cells.empty or totals.empty:
            continue
        counts = (
            cells.assign(_suppressed=suppressed[cells.index])
            .groupby(group_keys, dropna=False)["_suppressed"].sum()
            .rename("suppressed_in_group").reset_index()
        )
        lonely = counts[counts["suppressed_in_group"] == 1]
        with_total = lonely.merge(totals[group_keys].drop_duplicates(), on=group_keys)
        if with_total.empty:
            continue
        hits = cells[suppressed[cells.index]].merge(with_total[group_keys], on=group_keys)
        offending.append(hits.assign(recoverable_along=dimension))
    if not offending:
        return table.iloc[0:0]
    return pd.concat(offending, ignore_index=True)
