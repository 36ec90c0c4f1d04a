"""Privacy guarantees of what leaves the warehouse (respondents are minors).

The blocking check proves, on the consolidated table, for every source whose cells the project
estimated itself (pilot and public microdata alike, i.e. every row with a reliability assessment):

1. no respondent-level column is published;
2. no published cell is under the reliability minimum of respondents;
3. no published cell is confidential (fewer than the minimum respondents or schools);
4. no confidential withheld cell can be recovered from everything published for the same source,
   territory and period — other breakdowns, margins and linked indicators — by exact linear
   algebra (:class:`barometre_pipeline.stats.disclosure.LinkedSystem`), not a heuristic;
5. withheld rows carry no estimate, interval, design effect or effective n.

Each function returns the offending rows (empty = the guarantee holds).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from barometre_pipeline.stats.disclosure import DimensionHierarchy, IndicatorLinks, LinkedSystem
from barometre_pipeline.stats.publication import MASKED_COLUMNS, PublicationPolicy

RESPONDENT_LEVEL_COLUMNS = (
    "respondent_pid", "respondent_id", "school_id", "psu", "stratum", "design_weight",
    "final_weight", "_source_file", "_source_line", "age", "who5_score",
)
TOTAL = "_T"
FAMILY_KEYS = ("source_id", "territory", "period")
NOT_ASSESSED = "not_assessed"


def respondent_level_columns(columns: Sequence[str]) -> list[str]:
    return [c for c in columns if c in RESPONDENT_LEVEL_COLUMNS]


def estimated_rows(table: pd.DataFrame) -> pd.Series:
    """Rows the project estimated from microdata (pilot or public): they carry an assessment."""
    if "reliability" not in table:
        return table["source_family"] == "pilot"
    return (table["reliability"].fillna(NOT_ASSESSED) != NOT_ASSESSED) | (table["source_family"] == "pilot")


def small_published_cells(table: pd.DataFrame, min_n_unweighted: int) -> pd.DataFrame:
    published = ~table["suppressed"].astype(bool)
    small = table["n_unweighted"].fillna(0) < min_n_unweighted
    return table[estimated_rows(table) & published & small]


def confidential_mask(table: pd.DataFrame, policy: PublicationPolicy) -> np.ndarray:
    """Cells under the confidentiality thresholds (respondents, and schools where known)."""
    n = pd.to_numeric(table["n_unweighted"], errors="coerce").fillna(0).to_numpy(float)
    mask = n < policy.min_respondents
    if "n_psu" in table:
        schools = pd.to_numeric(table["n_psu"], errors="coerce").to_numpy(float)
        mask |= np.isfinite(schools) & (schools < policy.min_schools)
    return mask


def published_confidential_cells(table: pd.DataFrame, policy: PublicationPolicy) -> pd.DataFrame:
    published = ~table["suppressed"].astype(bool).to_numpy()
    return table[estimated_rows(table).to_numpy() & published & confidential_mask(table, policy)]


def unmasked_withheld_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Withheld rows that still show a statistic (a design effect of 0-or-1 cells leaks p)."""
    columns = [c for c in MASKED_COLUMNS if c in table]
    if not columns:
        return table.iloc[0:0]
    leaked = table[columns].notna().any(axis=1)
    return table[table["suppressed"].astype(bool) & leaked]


def linked_recoverable_cells(table: pd.DataFrame, dimensions: Sequence[str], links: IndicatorLinks,
                             policy: PublicationPolicy,
                             hierarchies: Sequence[DimensionHierarchy] = ()) -> pd.DataFrame:
    """Confidential withheld cells a reader can solve for from the same family's published cells."""
    estimated = table[estimated_rows(table)].reset_index(drop=True)
    if estimated.empty:
        return table.iloc[0:0]
    confidential = confidential_mask(estimated, policy)
    published = ~estimated["suppressed"].astype(bool).to_numpy()
    hits = []
    with threadpool_limits(1):
        for _, rows in estimated.groupby(list(FAMILY_KEYS), sort=False, dropna=False).indices.items():
            rows = np.asarray(rows)
            if not (confidential[rows] & ~published[rows]).any():
                continue
            part = estimated.iloc[rows].reset_index(drop=True)
            system = LinkedSystem(part, dimensions, links, hierarchies, policy.indicator_column,
                                  public_size=policy.public_size)
            recovered = system.recoverable(published[rows], targets=np.flatnonzero(confidential[rows]))
            if recovered.any():
                hits.append(part[recovered])
    if not hits:
        return table.iloc[0:0]
    return pd.concat(hits, ignore_index=True)


def attach_design_counts(table: pd.DataFrame, design_counts: pd.DataFrame | None,
                         dimensions: Sequence[str]) -> pd.DataFrame:
    """The consolidated table with each estimated cell's number of schools (PSUs), when known."""
    if design_counts is None or design_counts.empty or "n_psu" in table:
        return table
    keys = ["indicator_code", *FAMILY_KEYS, *dimensions]
    counts = design_counts.copy()
    for column in keys:
        if column not in counts:
            counts[column] = TOTAL
        counts[column] = counts[column].fillna(TOTAL).astype(str)
    merged = table.copy()
    for column in keys:
        merged[column] = merged[column].astype(str)
    return merged.merge(counts[keys + ["n_psu"]].drop_duplicates(keys), on=keys, how="left")


def privacy_violations(table: pd.DataFrame, *, dimensions: Sequence[str], links: IndicatorLinks,
                       policy: PublicationPolicy, hierarchies: Sequence[DimensionHierarchy] = (),
                       design_counts: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Every guarantee at once: ``{name: offending rows}`` (all empty = the check passes)."""
    table = attach_design_counts(table, design_counts, dimensions)
    leaked = respondent_level_columns(list(table.columns))
    unknown_schools = table.iloc[0:0]
    if design_counts is not None:
        # The schools rule cannot be proven on a published cell whose school count is unknown.
        published = ~table["suppressed"].astype(bool)
        microdata = estimated_rows(table) & (table.get("ci_method", "") != "published")
        unknown_schools = table[published & microdata & table["n_psu"].isna()] if "n_psu" in table \
            else table[published & microdata]
    return {
        "respondent_level_columns": pd.DataFrame({"column": leaked}),
        "published_under_min_n": small_published_cells(table, policy.min_n_unweighted),
        "published_confidential": published_confidential_cells(table, policy),
        "recoverable_confidential": linked_recoverable_cells(table, dimensions, links, policy, hierarchies),
        "unmasked_withheld": unmasked_withheld_rows(table),
        "school_count_unknown": unknown_schools,
    }


def recoverable_suppressed_cells(
    table: pd.DataFrame, keys: Sequence[str], dimensions: Sequence[str]
) -> pd.DataFrame:
    """Quick screen: suppressed cells alone in an additive group whose total is published.

    Superseded by :func:`linked_recoverable_cells` (exact, across linked tables), kept because
    it names the dimension along which a lone cell leaks.
    """
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


def design_counts_from_warehouse(con, dimensions: Sequence[str]) -> pd.DataFrame:
    """Schools (PSUs) behind every estimated cell, from the per-source ``indicators.*`` tables.

    The consolidated contract has no school count, so the check reads it where estimation left it.
    """
    tables = [row[0] for row in con.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'indicators' "
        "AND column_name = 'n_psu'").fetchall()]
    frames = []
    for name in sorted(set(tables)):
        frame = con.execute(f'SELECT * FROM indicators."{name}"').df()
        if "source_id" not in frame:
            frame["source_id"] = name
        for column in dimensions:
            # A table not broken down by a dimension holds its total.
            frame[column] = frame[column].fillna(TOTAL) if column in frame else TOTAL
        frames.append(frame[[c for c in ["indicator_code", *FAMILY_KEYS, *dimensions, "n_psu"] if c in frame]])
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def check_consolidated_privacy(con, data_dir) -> tuple[bool, dict[str, int], pd.DataFrame]:
    """The blocking check's whole logic: (passed, offending rows per guarantee, failure cases).

    Reads ``consolidated.indicators`` and the per-source school counts from the warehouse, the
    policy and the indicator links from the catalogue in ``data_dir``.
    """
    from pathlib import Path

    from barometre_pipeline.indicators.catalogue import load_catalogue
    from barometre_pipeline.indicators.consolidate import (
        CONTRACT_DIMENSIONS,
        indicator_links,
        level_hierarchy,
        policy_from_catalogue,
    )
    from barometre_pipeline.staging.codebook import load_codebook

    catalogue = load_catalogue(Path(data_dir) / "indicators.yaml")
    codebook = load_codebook(Path(data_dir) / "codebook.yaml")
    table = con.execute("SELECT * FROM consolidated.indicators").df()
    dimensions = [d for d in CONTRACT_DIMENSIONS if d in table]
    violations = privacy_violations(
        table, dimensions=dimensions, links=indicator_links(catalogue),
        policy=policy_from_catalogue(catalogue), hierarchies=[level_hierarchy(codebook)],
        design_counts=design_counts_from_warehouse(con, dimensions))
    counts = {name: len(rows) for name, rows in violations.items()}
    shown = ["indicator_code", "source_id", *dimensions, "n_unweighted", "suppressed", "suppression_reason"]
    cases = [rows.reindex(columns=shown).assign(violation=name)
             for name, rows in violations.items() if len(rows) and name != "respondent_level_columns"]
    failures = pd.concat(cases, ignore_index=True) if cases else pd.DataFrame(columns=[*shown, "violation"])
    return not any(counts.values()), counts, failures
