"""Design-based proportions for many indicators × breakdown cells, from one DuckDB scan.

This is the function the pipeline calls to turn respondent-level microdata into published
indicator cells. DuckDB reads the relation once: a projection gives, per respondent, the weight,
the design columns, the breakdown dimensions and, for every indicator, two booleans (in its
domain; in it with the outcome). :mod:`barometre_pipeline.stats.domain_totals` sums those rows
to the additive totals of every (stratum, PSU, cell) at once; the design counts (PSUs per
stratum, fpc) come from them too.

The variance is the Taylor linearisation of the ratio estimator p = Σ w·d·y / Σ w·d, with the
domain d = (denominator true and numerator not NULL) inside the full design, as R
``svyby(~y, ~cell, design, svymean)``: per PSU the score total is Z = (A − p·B) / W with A, B
the PSU's numerator and denominator totals in the cell; PSUs without cell members have Z = 0
but still count in n_h. For each stratum

    V_h = (1 − f_h) · n_h / (n_h − 1) · (Σ Z² − (Σ Z)² / n_h)

and a stratum with a single PSU is left uncentred (R lonely.psu = "adjust": survey 4.1's
``onestrat`` does not centre it, i.e. centres it on 0, the grand mean of uncalibrated ratio
scores); so is a school with a single sampled pupil in the second stage. Degrees of freedom are those of the domain, as R ``degf()`` of the
subset design that ``svyciprop`` uses: PSUs holding at least one member of the cell minus the
strata holding those PSUs (a cell inside one school has df 0 and no interval). With
``raking_margins`` the scores are first replaced by their residuals on the raking margins (R's
``rake()`` design, :mod:`barometre_pipeline.stats.raking_variance`). The numpy reference in
:mod:`barometre_pipeline.stats.estimators` computes the same quantities row by row, and the tests
hold the two (and R's published figures) together.

Every sum runs in a fixed order on one thread (``np.bincount``, ``scipy.sparse`` products): with
the relation read in a fixed order (DuckDB on one thread, as the pipeline runs it), two runs give
the same bytes.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import duckdb
import numpy as np
import pandas as pd
import pyarrow.compute as pc

from barometre_pipeline.stats.domain_totals import (
    BreakdownCells,
    Codes,
    Finest,
    Respondents,
    Units,
    breakdown_cells,
    finest_totals,
    group_ids,
    summing_matrix,
)
from barometre_pipeline.stats.intervals import proportion_interval
from barometre_pipeline.stats.raking_variance import (
    MarginCombinations,
    calibrated_variance,
    check_margin_columns,
)

TOTAL_CODE = "_T"
OUTPUT_STATISTICS = ("estimate", "se", "ci_low", "ci_high", "ci_method", "df", "n_unweighted",
                     "n_effective", "deff", "weighted_n", "cv", "n_psu", "n_events")


@dataclass(frozen=True)
class IndicatorSpec:
    """A proportion indicator: share of the population (denominator) meeting the numerator.

    Both are SQL boolean expressions over the relation's columns; a NULL numerator means the
    outcome is missing, and that respondent is outside the indicator's domain.
    """

    code: str
    numerator: str
    denominator: str = "TRUE"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _dimensions(breakdowns: Sequence[Sequence[str]]) -> list[str]:
    """Every dimension used in any breakdown, in order of first appearance."""
    seen: list[str] = []
    for breakdown in breakdowns:
        for dimension in breakdown:
            if dimension not in seen:
                seen.append(dimension)
    return seen


def _respondents_sql(relation: str, *, weight: str, strata: str | None, psu: str | None,
                     fpc: str | None, fpc2: str | None, dimensions: Sequence[str],
                     margins: Sequence[str], indicators: Sequence[IndicatorSpec]) -> str:
    """The one scan: per respondent, design columns, dimensions and indicator memberships."""
    columns = [f"CAST({_quote(weight)} AS DOUBLE) AS _w"]
    if strata:
        columns.append(f"CAST({_quote(strata)} AS VARCHAR) AS _stratum")
    if psu:
        columns.append(f"CAST({_quote(psu)} AS VARCHAR) AS _psu")
    if fpc:
        columns.append(f"CAST({_quote(fpc)} AS DOUBLE) AS _fpc")
    if fpc2:
        columns.append(f"CAST({_quote(fpc2)} AS DOUBLE) AS _fpc2")
    columns += [f"CAST({_quote(d)} AS VARCHAR) AS _dim{i}" for i, d in enumerate(dimensions)]
    columns += [f"CAST({_quote(m)} AS VARCHAR) AS _margin{j}" for j, m in enumerate(margins)]
    for i, spec in enumerate(indicators):
        # Missing outcome = outside the domain (not a smaller design).
        member = (f"(COALESCE(CAST(({spec.denominator}) AS BOOLEAN), FALSE) "
                  f"AND ({spec.numerator}) IS NOT NULL)")
        columns.append(f"{member} AS _d{i}")
        columns.append(f"({member} AND COALESCE(CAST(({spec.numerator}) AS BOOLEAN), FALSE)) AS _e{i}")
    return f"SELECT {', '.join(columns)} FROM {relation}"


def _read_respondents(con: duckdb.DuckDBPyConnection, sql: str, *, strata: str | None, psu: str | None,
                      fpc: str | None, fpc2: str | None, n_dimensions: int, n_margins: int,
                      n_indicators: int) -> Respondents:
    with warnings.catch_warnings():
        # con.sql() is refused while the caller holds an unfinished result on the connection;
        # the DB-API path it suggests instead costs one copy (about 0.05 s for 470k rows).
        warnings.filterwarnings("ignore", message="Arrow output on a DB-API result", category=UserWarning)
        table = con.execute(sql).to_arrow_table()
    size = table.num_rows

    def floats(name: str) -> np.ndarray:
        return table.column(name).to_numpy().astype(float, copy=True)

    def flags(name: str) -> np.ndarray:
        return table.column(name).to_numpy()

    stratum = Codes.from_arrow(table.column("_stratum")) if strata else Codes(np.zeros(size, np.int64), ("0",))
    members = np.stack([flags(f"_d{i}") for i in range(n_indicators)]).reshape(n_indicators, size)
    events = np.stack([flags(f"_e{i}") for i in range(n_indicators)]).reshape(n_indicators, size)
    weight = pc.fill_null(table.column("_w"), 0.0).to_numpy()
    return Respondents(
        weight=np.asarray(weight, dtype=float), stratum=stratum,
        psu=Codes.from_arrow(table.column("_psu")) if psu else None,
        fpc=floats("_fpc") if fpc else None, fpc2=floats("_fpc2") if fpc2 else None,
        dimensions=tuple(Codes.from_arrow(table.column(f"_dim{i}")) for i in range(n_dimensions)),
        margins=tuple(Codes.from_arrow(table.column(f"_margin{j}")) for j in range(n_margins)),
        members=members, events=events,
    )


@dataclass(frozen=True)
class CellTotals:
    """Per (cell, indicator): the totals, counts and design degrees of freedom of the domain."""

    numerator: np.ndarray
    weighted_n: np.ndarray
    n: np.ndarray
    events: np.ndarray
    n_psu: np.ndarray
    df: np.ndarray


def _cell_totals(cells: BreakdownCells, units: Units, with_psu: bool) -> CellTotals:
    n_cells = cells.n_cells

    def by_cell(values: np.ndarray) -> np.ndarray:
        return np.stack([np.bincount(cells.cell, weights=values[:, i], minlength=n_cells)
                         for i in range(values.shape[1])], axis=1).reshape(n_cells, values.shape[1])

    holding = (cells.n > 0).astype(float)
    # Each unit is a (cell, PSU): `psus` counts PSUs holding domain members (R degf of the
    # subset); without PSUs every respondent is one, so the domain's PSUs are its members.
    psus = by_cell(holding) if with_psu else by_cell(cells.n)
    stratum_index, stratum_first = group_ids([(cells.cell, max(n_cells, 1)),
                                              (cells.stratum, units.n_strata)], len(cells.cell))
    per_stratum = np.stack([np.bincount(stratum_index, weights=holding[:, i], minlength=len(stratum_first))
                            for i in range(holding.shape[1])], axis=1).reshape(len(stratum_first), -1)
    strata_holding = np.stack([np.bincount(cells.cell[stratum_first], weights=per_stratum[:, i] > 0,
                                           minlength=n_cells) for i in range(holding.shape[1])],
                              axis=1).reshape(n_cells, -1)
    return CellTotals(by_cell(cells.a), by_cell(cells.b), by_cell(cells.n), by_cell(cells.e),
                      psus, psus - strata_holding)


def _fixed_variance(cells: BreakdownCells, units: Units, p: np.ndarray, *, with_psu: bool,
                    two_stage: bool) -> np.ndarray:
    """Σ over strata (and PSUs, second stage) of the variance of each cell's weighted total."""
    n_cells, n_ind = p.shape
    p_unit = p[cells.cell]
    if with_psu:
        # Per (cell, stratum): sums over its PSUs of A, B and of their squares and product.
        index, first = group_ids([(cells.cell, max(n_cells, 1)), (cells.stratum, units.n_strata)],
                                 len(cells.cell))
        to_stratum = summing_matrix(index, len(first))
        sa, sb = to_stratum @ cells.a, to_stratum @ cells.b
        saa, sab, sbb = (to_stratum @ (cells.a * cells.a), to_stratum @ (cells.a * cells.b),
                         to_stratum @ (cells.b * cells.b))
        cell, stratum = cells.cell[first], cells.stratum[first]
    else:
        # Every respondent is its own PSU: its totals are w·d·y and w·d, so their squares are
        # sums of w² over respondents (y is 0/1); the units already are (cell, stratum).
        sa, sb, saa, sab, sbb = cells.a, cells.b, cells.aa, cells.aa, cells.bb
        cell, stratum = cells.cell, cells.stratum
    pc = p[cell]
    n_h, f_h = units.n_h[stratum][:, None], units.f_h[stratum][:, None]
    squares = saa - 2 * pc * sab + pc * pc * sbb
    with np.errstate(divide="ignore", invalid="ignore"):
        v = (1 - f_h) * np.where(n_h > 1, n_h / (n_h - 1.0) * (squares - (sa - pc * sb) ** 2 / n_h), squares)
    total = summing_matrix(cell, n_cells) @ v
    if two_stage:
        m = units.m[cells.unit][:, None]
        within = (cells.aa - 2 * p_unit * cells.aa + p_unit * p_unit * cells.bb) - (cells.a - p_unit * cells.b) ** 2 / m
        total = total + summing_matrix(cells.cell, n_cells) @ (units.second_stage[cells.unit][:, None] * within)
    return total.reshape(n_cells, n_ind)


def _unique_breakdowns(breakdowns: Sequence[Sequence[str]]) -> list[list[str]]:
    """Each breakdown once (the same dimensions in another order are the same cells)."""
    seen, unique = set(), []
    for breakdown in breakdowns:
        key = frozenset(breakdown)
        if key not in seen:
            seen.add(key)
            unique.append(list(breakdown))
    return unique


def estimate_proportions(con: duckdb.DuckDBPyConnection, relation: str, *, weight: str,
                         strata: str | None, psu: str | None, fpc: str | None,
                         indicators: Sequence[IndicatorSpec], breakdowns: Sequence[Sequence[str]],
                         ci_method: str = "beta", confidence: float = 0.95,
                         fpc2: str | None = None,
                         raking_margins: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per indicator × breakdown cell with design-based precision and interval.

    ``relation`` is a table/view name or a parenthesised SELECT; ``weight``, ``strata``,
    ``psu``, ``fpc`` and the breakdown dimensions are column names of it. An empty breakdown
    ``[]`` is the overall row; dimensions a row is not broken down by hold ``_T``.
    ``raking_margins`` names the columns the weights were raked on: the standard errors are then
    those of R's ``rake()`` design (calibration-aware, :mod:`barometre_pipeline.stats.raking_variance`)
    instead of treating the raked weights as fixed.
    """
    (table,) = estimate_proportion_groups(
        con, relation, weight=weight, strata=strata, psu=psu, fpc=fpc, groups=[(indicators, breakdowns)],
        ci_method=ci_method, confidence=confidence, fpc2=fpc2, raking_margins=raking_margins)
    return table


def estimate_proportion_groups(
    con: duckdb.DuckDBPyConnection, relation: str, *, weight: str, strata: str | None, psu: str | None,
    fpc: str | None, groups: Sequence[tuple[Sequence[IndicatorSpec], Sequence[Sequence[str]]]],
    ci_method: str = "beta", confidence: float = 0.95, fpc2: str | None = None,
    raking_margins: Sequence[str] | None = None,
) -> list[pd.DataFrame]:
    """:func:`estimate_proportions` for several (indicators, breakdowns) groups, one scan for all.

    Each group's table is the one :func:`estimate_proportions` gives for it alone (dimension
    columns of its own breakdowns only); the relation is read once for every group.
    """
    for indicators, breakdowns in groups:
        if not indicators:
            raise ValueError("no indicator to estimate")
        if not breakdowns:
            raise ValueError("no breakdown requested (use [[]] for the overall total)")
    every_indicator = [spec for indicators, _ in groups for spec in indicators]
    dimensions = _dimensions([breakdown for _, breakdowns in groups for breakdown in breakdowns])
    margins: list[str] = []
    if raking_margins:
        if psu is None:
            raise ValueError("calibration-aware variance needs the PSU column (schools); got psu=None")
        columns = [row[0] for row in con.execute(f"DESCRIBE {relation}").fetchall()]
        margins = check_margin_columns(columns, raking_margins, relation)
    # Two stages (schools, then pupils in them) when both population sizes are declared.
    two_stage = bool(psu and fpc and fpc2)
    sql = _respondents_sql(relation, weight=weight, strata=strata, psu=psu, fpc=fpc,
                           fpc2=fpc2 if two_stage else None, dimensions=dimensions, margins=margins,
                           indicators=every_indicator)
    sample = _read_respondents(con, sql, strata=strata, psu=psu, fpc=fpc, fpc2=fpc2 if two_stage else None,
                               n_dimensions=len(dimensions), n_margins=len(margins),
                               n_indicators=len(every_indicator))
    combinations = MarginCombinations.from_codes(margins, sample.margins) if margins else None
    # Sums of squared weights serve the variance when every respondent is its own PSU, or
    # within schools (second stage).
    finest, units = finest_totals(sample, None if combinations is None else combinations.of_row,
                                  squares=psu is None or two_stage)
    dimension_labels = [d.labels for d in sample.dimensions]

    tables = []
    start = 0
    for indicators, breakdowns in groups:
        columns = slice(start, start + len(indicators))
        start += len(indicators)
        own = replace(finest, **{name: np.ascontiguousarray(getattr(finest, name)[:, columns])
                                 for name in ("a", "b", "n", "e", "aa", "bb")
                                 if getattr(finest, name) is not None})
        parts = []
        for breakdown in _unique_breakdowns(breakdowns):
            cells = breakdown_cells(own, [dimensions.index(d) for d in breakdown], dimension_labels)
            if cells.n_cells:
                parts.append(_breakdown_table(own, cells, units, combinations, breakdown, _dimensions(breakdowns),
                                              with_psu=psu is not None, two_stage=two_stage))
        # Cells of a breakdown in which nobody belongs to the indicator's population (e.g. a
        # lycée-only indicator in a collège cell) have no estimate: they are not reported.
        cells_table = pd.concat(parts, ignore_index=True) if parts else _no_cells(_dimensions(breakdowns))
        cells_table = cells_table[cells_table["n_unweighted"] > 0].reset_index(drop=True)
        tables.append(_published_statistics(cells_table, indicators, _dimensions(breakdowns), ci_method, confidence))
    return tables


def _no_cells(dimensions: list[str]) -> pd.DataFrame:
    """The cell table of a relation without respondents."""
    return pd.DataFrame({name: pd.Series(dtype=float) for name in
                         ["_k", *dimensions, "p", "variance", "weighted_n", "n_unweighted", "n_events", "n_psu", "df"]})


def _breakdown_table(finest: Finest, cells: BreakdownCells, units: Units,
                     combinations: MarginCombinations | None,
                     breakdown: Sequence[str], dimensions: list[str], *, with_psu: bool,
                     two_stage: bool) -> pd.DataFrame:
    """One row per (indicator, cell) of the breakdown: p, variance, counts and df."""
    totals = _cell_totals(cells, units, with_psu)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(totals.weighted_n != 0, totals.numerator / totals.weighted_n, np.nan)
    if combinations is not None:
        total_v = calibrated_variance(combinations, finest, cells, units, p, two_stage=two_stage)
    else:
        total_v = _fixed_variance(cells, units, p, with_psu=with_psu, two_stage=two_stage)
    with np.errstate(divide="ignore", invalid="ignore"):
        variance = total_v / (totals.weighted_n * totals.weighted_n)
    n_cells, n_ind = p.shape
    part = {"_k": np.repeat(np.arange(n_ind)[None, :], n_cells, axis=0).ravel(order="F")}
    labels = {d: [row[j] for row in cells.labels] for j, d in enumerate(breakdown)}
    for dimension in dimensions:
        column = labels.get(dimension, [TOTAL_CODE] * n_cells)
        part[dimension] = np.tile(np.asarray(column, dtype=object), n_ind)
    for name, values in (("p", p), ("variance", variance), ("weighted_n", totals.weighted_n),
                         ("n_unweighted", totals.n), ("n_events", totals.events),
                         ("n_psu", totals.n_psu), ("df", totals.df)):
        part[name] = values.ravel(order="F")
    return pd.DataFrame(part)


def _published_statistics(cells: pd.DataFrame, indicators: Sequence[IndicatorSpec], dimensions: list[str],
                          ci_method: str, confidence: float) -> pd.DataFrame:
    codes = np.array([spec.code for spec in indicators], dtype=object)
    p = cells["p"].to_numpy(dtype=float)
    variance = np.clip(cells["variance"].to_numpy(dtype=float), 0.0, None)
    se = np.sqrt(variance)
    n = cells["n_unweighted"].to_numpy(dtype=float)
    df = cells["df"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        # R deff="replace": against SRS with replacement of the domain's n respondents,
        # whose variance for a 0/1 outcome is p(1-p)/(n-1) (svyvar uses n/(n-1)).
        srs_variance = np.where(n > 1, p * (1 - p) / (n - 1), np.nan)
        deff = np.where(srs_variance > 0, variance / srs_variance, np.nan)
        n_effective = np.where(deff > 0, n / deff, np.nan)
        cv = np.where(p > 0, se / p, np.nan)
    low, high = proportion_interval(p, se, df, n, method=ci_method, level=confidence)
    # A domain inside a single PSU (df 0) has no design-based interval: R returns NaN there.
    no_df = ~(df >= 1)
    low, high = np.where(no_df, np.nan, low), np.where(no_df, np.nan, high)

    result = pd.DataFrame({"indicator_code": codes[cells["_k"].to_numpy(dtype=int)]})
    for dimension in dimensions:
        result[dimension] = cells[dimension].astype(str).to_numpy()
    result["estimate"] = p
    result["se"] = se
    result["ci_low"] = low
    result["ci_high"] = high
    result["ci_method"] = ci_method
    result["df"] = cells["df"].to_numpy(dtype=np.int64)
    result["n_unweighted"] = cells["n_unweighted"].to_numpy(dtype=np.int64)
    result["n_effective"] = n_effective
    result["deff"] = deff
    result["weighted_n"] = cells["weighted_n"].to_numpy(dtype=float)
    result["cv"] = cv
    result["n_psu"] = cells["n_psu"].to_numpy(dtype=np.int64)
    result["n_events"] = cells["n_events"].fillna(0).to_numpy(dtype=np.int64)
    order = [pd.Categorical(result["indicator_code"], categories=list(codes), ordered=True)]
    result = result.assign(_order=order[0]).sort_values(["_order", *dimensions], kind="stable")
    return result.drop(columns="_order").reset_index(drop=True)
