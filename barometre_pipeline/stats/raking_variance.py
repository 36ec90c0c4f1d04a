"""Calibration-aware variance for raked weights, as SQL fragments of the domain-estimate pass.

Raking makes the weighted margins equal to known population totals, so the part of an
estimate's variance explained by the margins disappears. R ``survey`` (``rake()`` then
``svymean`` / ``svyciprop``) accounts for it in ``svyrecvar``: before the design variance, each
respondent's linearised score x_i (already multiplied by its weight w_i) is replaced by

    r_i = w_i · (u_i − x_i'β),   u_i = x_i / w_i,

where x_i here is the row of margin-category indicators (one dummy per category of every raked
variable) and β the *unweighted* least-squares coefficients of u on those dummies. R gets there by
backfitting (``x − w · ave(x / w, margin)`` over the margins, ten sweeps); the fixed point is the
least-squares residual, which is what is computed here exactly. (This is R's ``rake()`` design;
``calibrate(calfun = "raking")`` would weight the regression by the design weights instead.)

For a proportion p = A / B of a domain (weighted totals A of members with the outcome, B of
members), W·u_i = d_i (y_i − p), so X'(W·u) = nA − p·nB with nA, nB the *unweighted* counts of
domain members (with outcome / all) in each margin category, and W·β = G (nA − p·nB) with G
the pseudo-inverse of the unweighted Gram matrix X'X (or, as R, the linear operator of its ten
backfitting sweeps, :data:`R_BACKFITTING_SWEEPS`). G depends on the sample only, not on the
indicator or the cell; it is computed once from a small count query (:meth:`RakingMargins.from_relation`)
and inlined in the estimation SQL. Everything else stays set-based: for each cell, γ = W·β per
category, x'γ per combination of categories, and per PSU the residual total

    Z_psu = (A_psu − p·B_psu) − Σ_combos (Σ w in the PSU's combo) · x'γ,

which is non-zero also in PSUs without domain members. The second stage (pupils within schools)
needs Σ r_i² within each PSU, which expands into sums of w² by category combination.
Respondents with a blank raking variable were not raked (they keep a rescaled design weight):
their dummy row is zero and their score is left as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# R ``svyrecvar`` removes the raking margins' cell means by backfitting with a fixed ten sweeps.
# When the margins are associated the loop stops short of the least-squares projection (9e-6
# relative on apiclus2's SE); reproducing R's standard errors means running the same ten sweeps.
R_BACKFITTING_SWEEPS = 10


def _backfitting_operator(gram: np.ndarray, sizes: Sequence[int], sweeps: int) -> np.ndarray:
    """Linear map from X'u to β after ``sweeps`` backfitting sweeps (block Gauss–Seidel).

    One step on margin j subtracts the unweighted cell means of the current residual
    u − Xβ, i.e. β_j += D_j⁻¹ (X_j'u − (X'X)_j β) with D_j the cell counts. Starting from β = 0,
    β stays linear in c = X'u: β = M c, and each step updates the rows of M the same way.
    """
    size = gram.shape[0]
    operator = np.zeros((size, size))
    identity = np.eye(size)
    bounds = np.cumsum([0, *sizes])
    for _ in range(sweeps):
        for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
            counts = np.diag(gram)[start:stop]
            operator[start:stop] += (identity[start:stop] - gram[start:stop] @ operator) / counts[:, None]
    return operator


@dataclass(frozen=True, eq=False)
class RakingMargins:
    """The raked variables, their sample categories and the pseudo-inverse of X'X."""

    variables: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]
    inverse_gram: np.ndarray  # G: W·β = G (nA − p·nB); (X'X)⁺ or R's backfitting operator

    @classmethod
    def from_relation(cls, con: duckdb.DuckDBPyConnection, relation: str,
                      variables: Sequence[str], sweeps: int | None = R_BACKFITTING_SWEEPS) -> RakingMargins:
        """Categories and the operator G of the margin dummies over the relation.

        ``sweeps=None`` gives the exact least-squares projection (G = (X'X)⁺); an integer gives
        the backfitting R's ``svyrecvar`` runs (that many sweeps over the margins from β = 0),
        which is what R's published standard errors are.
        """
        if not variables:
            raise ValueError("raking margins: no variable given")
        names = list(dict.fromkeys(variables))
        columns = [row[0] for row in con.execute(f"DESCRIBE {relation}").fetchall()]
        missing = [name for name in names if name not in columns]
        if missing:
            raise ValueError(f"raking margin variable(s) {missing} are not columns of {relation}")
        classified = " AND ".join(f"{_quote(v)} IS NOT NULL" for v in names)
        casts = ", ".join(f"CAST({_quote(v)} AS VARCHAR)" for v in names)
        rows = con.execute(
            f"SELECT {casts}, COUNT(*) FROM {relation} WHERE {classified} GROUP BY ALL"
        ).fetchall()
        categories = tuple(tuple(sorted({row[j] for row in rows})) for j in range(len(names)))
        offsets = np.cumsum([0] + [len(c) for c in categories])
        position = [{category: int(offsets[j]) + i for i, category in enumerate(cats)}
                    for j, cats in enumerate(categories)]
        gram = np.zeros((int(offsets[-1]), int(offsets[-1])))
        for row in rows:
            index = [position[j][row[j]] for j in range(len(names))]
            for a in index:
                for b in index:
                    gram[a, b] += row[-1]
        if sweeps is None:
            # The dummies of the margins are collinear (each margin's dummies sum to one): any
            # generalised inverse gives the same fitted values; the Moore–Penrose one is stable.
            operator = np.linalg.pinv(gram) if gram.size else gram
        else:
            operator = _backfitting_operator(gram, [len(c) for c in categories], sweeps)
        return cls(tuple(names), categories, operator)

    def category_columns(self) -> list[str]:
        return [f"_c{j}" for j in range(len(self.variables))]

    def category_expressions(self) -> list[str]:
        """Per-respondent global category index of each margin (NULL when not raked)."""
        classified = " AND ".join(f"{_quote(v)} IS NOT NULL" for v in self.variables)
        expressions = []
        offset = 0
        for j, (variable, categories) in enumerate(zip(self.variables, self.categories, strict=True)):
            whens = " ".join(f"WHEN {_literal(c)} THEN {offset + i}" for i, c in enumerate(categories))
            expressions.append(
                f"CASE WHEN {classified} THEN CASE CAST({_quote(variable)} AS VARCHAR) {whens} END END "
                f"AS _c{j}")
            offset += len(categories)
        return expressions

    def gram_values_sql(self) -> str:
        """The non-zero entries of G as a VALUES list (category, category, value)."""
        entries = [f"({a}, {b}, {float(self.inverse_gram[a, b])!r}::DOUBLE)"
                   for a, b in zip(*np.nonzero(self.inverse_gram), strict=True)]
        return ", ".join(entries) if entries else "(0, 0, 0.0::DOUBLE)"


def calibrated_variance_sql(raking: RakingMargins, *, n_indicators: int,
                            breakdowns: Sequence[Sequence[str]], dim_alias: dict[str, str],
                            labels: Sequence[str], having: str, two_stage: bool) -> tuple[str, str]:
    """Extra CTEs and the ``contributions`` body of the calibration-aware variance.

    Reads the CTEs of :func:`barometre_pipeline.stats.domain_estimates._proportions_sql`
    (``finest`` grouped by the margin categories too, ``long_units`` with ``_psu``, ``cells``,
    ``design_f``); each contribution row is one stratum's (or one PSU's second-stage) share of
    the variance of the cell's weighted total, as the fixed-weight contributions.
    """
    margins = raking.category_columns()
    dims = [dim_alias[d] for d in dim_alias]
    cell_keys = ["_k", *dims]
    using_cell = ", ".join(cell_keys)
    combo = ", ".join(margins)
    grouping_sets = ", ".join(
        "(" + ", ".join(["_stratum", "_psu", *[dim_alias[d] for d in b], *margins]) + ")" for b in breakdowns)
    rolled = [f"SUM({name}) AS {name}" for i in range(n_indicators)
              for name in ([f"_a{i}", f"_b{i}", f"_n{i}", f"_e{i}"] + ([f"_aa{i}", f"_bb{i}"] if two_stage else []))]
    second = (lambda i: f", 'aa': COALESCE(_aa{i}, 0), 'bb': COALESCE(_bb{i}, 0)") if two_stage else (lambda i: "")
    structs = ", ".join(f"{{'k': {i}, 'n': _n{i}, 'e': _e{i}{second(i)}}}" for i in range(n_indicators))
    dim_select = "".join(f"{d}, " for d in dims)
    cell_cat = " UNION ALL ".join(
        f"SELECT s.k AS _k, {dim_select}{m} AS cat, SUM(s.n) AS nb, SUM(s.e) AS na "
        f"FROM long_combo WHERE {m} IS NOT NULL GROUP BY ALL" for m in margins)
    gamma_joins = " ".join(
        f"LEFT JOIN gamma g{j} ON g{j}._k = c._k AND g{j}.cat = co.{m}"
        + "".join(f" AND g{j}.{d} = c.{d}" for d in dims)
        for j, m in enumerate(margins))
    xg = " + ".join(f"COALESCE(g{j}.gamma, 0)" for j in range(len(margins)))
    cross = f"""
member_cross AS (
    SELECT l._k, {''.join(f'l.{d}, ' for d in dims)}l._stratum, l._psu,
           SUM((l.aa - c.p * l.bb) * cg.xg) AS cross_term
    FROM (SELECT s.k AS _k, {dim_select}_stratum, _psu, {combo}, s.aa AS aa, s.bb AS bb
          FROM long_combo) l
    JOIN cells c USING ({using_cell})
    JOIN combo_gamma cg USING ({using_cell}, {combo})
    GROUP BY ALL
),""" if two_stage else ""
    within = """,
           (COALESCE(m.aa, 0) * (1 - 2 * c.p) + c.p * c.p * COALESCE(m.bb, 0))
               - 2 * COALESCE(x.cross_term, 0) + COALESCE(pc.q, 0) AS ss""" if two_stage else ""
    cross_join = f"LEFT JOIN member_cross x USING ({using_cell}, _stratum, _psu)" if two_stage else ""
    member_squares = ", SUM(s.aa) AS aa, SUM(s.bb) AS bb" if two_stage else ""
    ctes = f"""
unit_combo AS (
    SELECT _stratum, _psu, {', '.join([*labels, *margins, *rolled])} FROM finest
    GROUP BY GROUPING SETS ({grouping_sets}) HAVING {having}
),
long_combo AS (SELECT _stratum, _psu, {dim_select}{combo}, UNNEST([{structs}]) AS s FROM unit_combo),
cell_cat AS ({cell_cat}),
gmat AS (SELECT * FROM (VALUES {raking.gram_values_sql()}) AS g(cat, l, g)),
gamma AS (
    SELECT cc._k, {''.join(f'cc.{d}, ' for d in dims)}g.cat, SUM(g.g * (cc.na - c.p * cc.nb)) AS gamma
    FROM cell_cat cc JOIN cells c USING ({using_cell}) JOIN gmat g ON g.l = cc.cat
    GROUP BY ALL
),
combos AS (SELECT DISTINCT {combo} FROM finest WHERE {margins[0]} IS NOT NULL),
combo_gamma AS (
    SELECT c._k, {''.join(f'c.{d}, ' for d in dims)}{', '.join('co.' + m for m in margins)}, {xg} AS xg
    FROM cells c CROSS JOIN combos co {gamma_joins}
),
psu_combo AS (
    SELECT _stratum, _psu, {combo}, SUM(_wt) AS wt, SUM(_ww) AS ww
    FROM finest WHERE {margins[0]} IS NOT NULL GROUP BY ALL
),
psu_calib AS (
    SELECT cg._k, {''.join(f'cg.{d}, ' for d in dims)}pc._stratum, pc._psu,
           SUM(pc.wt * cg.xg) AS mg, SUM(pc.ww * cg.xg * cg.xg) AS q
    FROM psu_combo pc JOIN combo_gamma cg USING ({combo}) GROUP BY ALL
),
member_psu AS (
    SELECT s.k AS _k, {dim_select}_stratum, _psu, SUM(s.a) AS a, SUM(s.b) AS b{member_squares}
    FROM long_units GROUP BY ALL
),{cross}
psu_scores AS (
    SELECT {using_cell}, _stratum, _psu,
           (COALESCE(m.a, 0) - c.p * COALESCE(m.b, 0)) - COALESCE(pc.mg, 0) AS z{within}
    FROM member_psu m FULL JOIN psu_calib pc USING ({using_cell}, _stratum, _psu)
    JOIN cells c USING ({using_cell}) {cross_join}
),"""
    second_stage = f"""
    UNION ALL
    SELECT {using_cell},
           d.f_h * CASE WHEN u.m_i > 1 THEN
               (1 - CASE WHEN u.n2_i <= 1 THEN u.n2_i ELSE u.m_i / u.n2_i END) * u.m_i / (u.m_i - 1.0)
               * (z.ss - z.z * z.z / u.m_i)
           ELSE 0 END AS v
    FROM psu_scores z
    JOIN (SELECT _stratum, _psu, SUM(_rows) AS m_i, MAX(_fpc2) AS n2_i FROM finest GROUP BY ALL) u
      USING (_stratum, _psu)
    JOIN design_f d USING (_stratum)""" if two_stage else ""
    contributions = f"""
    SELECT {using_cell},
           (1 - MAX(d.f_h)) * CASE
               WHEN MAX(d.n_h) > 1 THEN MAX(d.n_h) / (MAX(d.n_h) - 1.0)
                   * (SUM(z.z * z.z) - SUM(z.z) ^ 2 / MAX(d.n_h))
               ELSE SUM(z.z * z.z)
           END AS v
    FROM psu_scores z JOIN design_f d USING (_stratum)
    GROUP BY {using_cell}, _stratum{second_stage}"""
    return ctes, contributions
