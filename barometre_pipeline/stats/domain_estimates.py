"""Design-based proportions for many indicators × breakdown cells, aggregated in DuckDB.

This is the function the pipeline calls to turn respondent-level microdata into published
indicator cells. All heavy work is one SQL statement: a single scan of the relation sums,
per (stratum, PSU, every dimension), the weighted numerator and denominator totals of every
indicator at once; GROUPING SETS roll that small table up to the (stratum, PSU, cell) totals
of each breakdown, and the design counts (PSUs per stratum, fpc) come from it too.

The variance is the Taylor linearisation of the ratio estimator p = Σ w·d·y / Σ w·d, with the
domain d = (denominator true and numerator not NULL) inside the full design, as R
``svyby(~y, ~cell, design, svymean)``: per PSU the score total is Z = (A − p·B) / W with A, B
the PSU's numerator and denominator totals in the cell; PSUs without cell members have Z = 0
but still count in n_h. For each stratum

    V_h = (1 − f_h) · n_h / (n_h − 1) · (Σ Z² − (Σ Z)² / n_h)

and a stratum with a single PSU is centred on the grand mean (R lonely.psu = "adjust"), which
is 0 for ratio scores. Degrees of freedom are those of the domain, as R ``degf()`` of the
subset design that ``svyciprop`` uses: PSUs holding at least one member of the cell minus the
strata holding those PSUs (a cell inside one school has df 0 and no interval). With
``raking_margins`` the scores are first replaced by their residuals on the raking margins (R's
``rake()`` design, :mod:`barometre_pipeline.stats.raking_variance`), in the same statement. The numpy
reference in :mod:`barometre_pipeline.stats.estimators` computes the same quantities
row by row, and the tests hold the two (and R's published figures) together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from barometre_pipeline.stats.intervals import proportion_interval
from barometre_pipeline.stats.raking_variance import RakingMargins, calibrated_variance_sql

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


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _dimensions(breakdowns: Sequence[Sequence[str]]) -> list[str]:
    """Every dimension used in any breakdown, in order of first appearance."""
    seen: list[str] = []
    for breakdown in breakdowns:
        for dimension in breakdown:
            if dimension not in seen:
                seen.append(dimension)
    return seen


def _proportions_sql(relation: str, *, weight: str, strata: str | None, psu: str | None,
                     fpc: str | None, indicators: Sequence[IndicatorSpec],
                     breakdowns: Sequence[Sequence[str]], fpc2: str | None = None,
                     raking: RakingMargins | None = None) -> str:
    dimensions = _dimensions(breakdowns)
    dim_alias = {d: f"_dim{i}" for i, d in enumerate(dimensions)}
    stratum_expr = _quote(strata) if strata else "0"
    fpc_expr = f"CAST({_quote(fpc)} AS DOUBLE)" if fpc else "NULL::DOUBLE"
    # Two stages (schools, then pupils in them) when both population sizes are declared.
    two_stage = bool(psu and fpc and fpc2)
    fpc2_expr = f"CAST({_quote(fpc2)} AS DOUBLE)" if two_stage else "NULL::DOUBLE"

    prepared_columns = [
        f"CAST({_quote(weight)} AS DOUBLE) AS _w",
        f"{stratum_expr} AS _stratum",
        f"{fpc_expr} AS _fpc",
        f"{fpc2_expr} AS _fpc2",
    ]
    if psu:
        prepared_columns.append(f"{_quote(psu)} AS _psu")
    prepared_columns += [f"{_quote(d)} AS {dim_alias[d]}" for d in dimensions]
    margin_keys = raking.category_columns() if raking else []
    if raking:
        prepared_columns += raking.category_expressions()
    for i, spec in enumerate(indicators):
        prepared_columns.append(f"CAST(({spec.numerator}) AS BOOLEAN) AS _y{i}")
        # Missing outcome = outside the domain (not a smaller design).
        prepared_columns.append(
            f"(COALESCE(CAST(({spec.denominator}) AS BOOLEAN), FALSE) AND ({spec.numerator}) IS NOT NULL) AS _d{i}"
        )
    prepared = f"SELECT {', '.join(prepared_columns)} FROM {relation}"

    def cell_labels(alias_of) -> list[str]:
        return [
            f"CASE WHEN GROUPING({alias_of(d)}) = 1 THEN {_literal(TOTAL_CODE)} "
            f"ELSE CAST({alias_of(d)} AS VARCHAR) END AS {dim_alias[d]}"
            for d in dimensions
        ]

    unit_keys = ["_stratum", "_psu"] if psu else ["_stratum"]
    grouping_sets = ", ".join(
        "(" + ", ".join(unit_keys + [dim_alias[d] for d in breakdown]) + ")" for breakdown in breakdowns
    )
    # A respondent with a missing value of a breakdown dimension belongs to no cell of it.
    having = " AND ".join(
        [f"(GROUPING({dim_alias[d]}) = 1 OR {dim_alias[d]} IS NOT NULL)" for d in dimensions]
    ) or "TRUE"
    labels = cell_labels(lambda d: dim_alias[d])
    dim_list = [dim_alias[d] for d in dimensions]

    # The only scan of the relation: additive totals at the finest level (stratum, PSU, every
    # dimension); the breakdown cells are rolled up from this much smaller table.
    finest_sums = ["COUNT(*) AS _rows", "MAX(_fpc) AS _fpc", "MAX(_fpc2) AS _fpc2"]
    if raking:
        finest_sums += ["SUM(_w) AS _wt", "SUM(_w * _w) AS _ww"]
    squares = not psu or two_stage
    for i in range(len(indicators)):
        finest_sums += [
            f"SUM(_w) FILTER (WHERE _d{i} AND _y{i}) AS _a{i}",
            f"SUM(_w) FILTER (WHERE _d{i}) AS _b{i}",
            f"COUNT(*) FILTER (WHERE _d{i}) AS _n{i}",
            f"COUNT(*) FILTER (WHERE _d{i} AND _y{i}) AS _e{i}",
        ]
        if squares:
            # Each respondent is its own PSU (or its own second-stage unit): its totals are
            # w·d·y and w·d, so their squares are sums of w² over respondents (y is 0/1).
            finest_sums += [
                f"SUM(_w * _w) FILTER (WHERE _d{i} AND _y{i}) AS _aa{i}",
                f"SUM(_w * _w) FILTER (WHERE _d{i}) AS _bb{i}",
            ]
    finest = (
        f"SELECT {', '.join(unit_keys + dim_list + margin_keys + finest_sums)} FROM prepared "
        f"GROUP BY {', '.join(unit_keys + dim_list + margin_keys)}"
    )
    rolled = [
        f"SUM({name}) AS {name}"
        for i in range(len(indicators))
        for name in ([f"_a{i}", f"_b{i}", f"_n{i}", f"_e{i}"] + ([f"_aa{i}", f"_bb{i}"] if squares else []))
    ]
    unit_cells = (
        f"SELECT {', '.join(unit_keys + labels + rolled)} FROM finest "
        f"GROUP BY GROUPING SETS ({grouping_sets}) HAVING {having}"
    )
    if psu:
        second = (lambda i: f", 'aa': COALESCE(_aa{i}, 0), 'bb': COALESCE(_bb{i}, 0)") if two_stage \
            else (lambda i: "")
        structs = ", ".join(
            f"{{'k': {i}, 'a': COALESCE(_a{i}, 0), 'b': COALESCE(_b{i}, 0), 'n': _n{i}, 'e': _e{i}{second(i)}}}"
            for i in range(len(indicators))
        )
        # `psus`: PSUs holding at least one member of the cell's domain (R degf of the subset).
        strata_cells = (
            f"SELECT s.k AS _k, _stratum, {', '.join(dim_list + [''])}"
            "SUM(s.a) AS sa, SUM(s.b) AS sb, SUM(s.a * s.a) AS saa, SUM(s.a * s.b) AS sab, "
            "SUM(s.b * s.b) AS sbb, SUM(s.n) AS n, SUM(s.e) AS e, "
            "COUNT(*) FILTER (WHERE s.n > 0) AS psus "
            "FROM long_units GROUP BY ALL"
        )
        design = ("SELECT _stratum, COUNT(DISTINCT _psu) AS n_h, MAX(_fpc) AS fpc_h "
                  "FROM finest GROUP BY _stratum")
    else:
        structs = ", ".join(
            f"{{'k': {i}, 'a': COALESCE(_a{i}, 0), 'b': COALESCE(_b{i}, 0), "
            f"'aa': COALESCE(_aa{i}, 0), 'bb': COALESCE(_bb{i}, 0), 'n': _n{i}, 'e': _e{i}}}"
            for i in range(len(indicators))
        )
        # Every respondent is its own PSU: the domain's PSUs are its respondents.
        strata_cells = (
            f"SELECT s.k AS _k, _stratum, {', '.join(dim_list + [''])}"
            "s.a AS sa, s.b AS sb, s.aa AS saa, s.aa AS sab, s.bb AS sbb, s.n AS n, s.e AS e, "
            "COALESCE(s.n, 0) AS psus FROM long_units"
        )
        design = "SELECT _stratum, SUM(_rows) AS n_h, MAX(_fpc) AS fpc_h FROM finest GROUP BY _stratum"
    unit_columns = ["_stratum", "_psu"] if (two_stage or raking) else ["_stratum"]
    long_units = f"SELECT {', '.join(unit_columns + dim_list + ['UNNEST([' + structs + ']) AS s'])} FROM unit_cells"

    cell_keys = ["_k"] + dim_list
    join_keys = ", ".join(cell_keys)
    second_stage = ""
    if two_stage:
        # R svyrecvar, two stages: within each school, pupils are a simple random sample of its
        # N2 pupils; that variance, weighted by the first-stage sampling fraction f1 = n_h / N1,
        # adds to the first stage's (1 - f1) term. Scores of non-members are zero; m_i counts
        # every sampled pupil of the school (the full design's, as R keeps it in a subset).
        second_stage = f"""
    UNION ALL
    SELECT {', '.join('c.' + k for k in cell_keys)},
           d.f_h * CASE WHEN u.m_i > 1 THEN
               (1 - CASE WHEN u.n2_i <= 1 THEN u.n2_i ELSE u.m_i / u.n2_i END) * u.m_i / (u.m_i - 1.0)
               * ((u.aa - 2 * c.p * u.aa + c.p * c.p * u.bb) - (u.a - c.p * u.b) ^ 2 / u.m_i)
           ELSE 0 END AS v
    FROM (
        SELECT l._stratum, l._psu, {', '.join('l.' + d for d in dim_list + [''])}s.k AS _k,
               s.a AS a, s.b AS b, s.aa AS aa, s.bb AS bb, pd.m_i, pd.n2_i
        FROM long_units l
        JOIN (SELECT _stratum, _psu, SUM(_rows) AS m_i, MAX(_fpc2) AS n2_i FROM finest GROUP BY ALL) pd
          USING (_stratum, _psu)
    ) u JOIN cells c USING ({join_keys}) JOIN design_f d USING (_stratum)"""
    fixed_contributions = f"""
    SELECT {', '.join('c.' + k for k in cell_keys)},
           (1 - d.f_h) * CASE
               WHEN d.n_h > 1 THEN d.n_h / (d.n_h - 1.0)
                   * ((s.saa - 2 * c.p * s.sab + c.p * c.p * s.sbb) - (s.sa - c.p * s.sb) ^ 2 / d.n_h)
               ELSE (s.saa - 2 * c.p * s.sab + c.p * c.p * s.sbb)
           END AS v
    FROM strata_cells s JOIN cells c USING ({join_keys}) JOIN design_f d USING (_stratum)
    {second_stage}"""
    if raking:
        calibrated_ctes, contributions = calibrated_variance_sql(
            raking, n_indicators=len(indicators), breakdowns=breakdowns, dim_alias=dim_alias,
            labels=labels, having=having, two_stage=two_stage)
    else:
        calibrated_ctes, contributions = "", fixed_contributions
    return f"""
WITH prepared AS ({prepared}),
finest AS ({finest}),
unit_cells AS ({unit_cells}),
long_units AS ({long_units}),
strata_cells AS ({strata_cells}),
design AS ({design}),
fpc_kind AS (SELECT COALESCE(MAX(fpc_h) <= 1, FALSE) AS is_fraction FROM design),
design_f AS (
    SELECT _stratum, n_h,
           CASE WHEN fpc_h IS NULL THEN 0.0
                WHEN (SELECT is_fraction FROM fpc_kind) THEN fpc_h
                ELSE n_h / fpc_h END AS f_h
    FROM design
),
cells AS (
    SELECT {join_keys}, SUM(sa) AS numerator_total, SUM(sb) AS weighted_n, SUM(n) AS n_unweighted,
           SUM(e) AS n_events, SUM(sa) / NULLIF(SUM(sb), 0) AS p, SUM(psus) AS n_psu,
           SUM(psus) - COUNT(*) FILTER (WHERE psus > 0) AS df
    FROM strata_cells GROUP BY ALL
),{calibrated_ctes}
contributions AS ({contributions}
)
SELECT c.*, COALESCE(v.total_v, 0) / (c.weighted_n * c.weighted_n) AS variance
FROM cells c
LEFT JOIN (SELECT {join_keys}, SUM(v) AS total_v FROM contributions GROUP BY ALL) v USING ({join_keys})
"""



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
    if not indicators:
        raise ValueError("no indicator to estimate")
    if not breakdowns:
        raise ValueError("no breakdown requested (use [[]] for the overall total)")
    dimensions = _dimensions(breakdowns)
    raking = None
    if raking_margins:
        if psu is None:
            raise ValueError("calibration-aware variance needs the PSU column (schools); got psu=None")
        raking = RakingMargins.from_relation(con, relation, raking_margins)
    sql = _proportions_sql(relation, weight=weight, strata=strata, psu=psu, fpc=fpc,
                           indicators=indicators, breakdowns=breakdowns, fpc2=fpc2, raking=raking)
    # Cells of a breakdown in which nobody belongs to the indicator's population (e.g. a
    # lycée-only indicator in a collège cell) have no estimate: they are not reported.
    cells = con.execute(sql).df()
    cells = cells[cells["n_unweighted"] > 0].reset_index(drop=True)

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
    for i, dimension in enumerate(dimensions):
        result[dimension] = cells[f"_dim{i}"].astype(str).to_numpy()
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
