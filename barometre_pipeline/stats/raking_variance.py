"""Calibration-aware variance for raked weights, from the domain-estimate pass's totals.

Raking makes the weighted margins equal to known population totals, so the part of an
estimate's variance explained by the margins disappears. R ``survey`` (``rake()`` then
``svymean`` / ``svyciprop``) accounts for it in ``svyrecvar``: before the design variance, each
respondent's linearised score x_i (already multiplied by its weight w_i) is replaced by

    r_i = w_i · (u_i − x_i'β),   u_i = x_i / w_i,

where x_i here is the row of margin-category indicators (one dummy per category of every raked
variable) and β the *unweighted* least-squares coefficients of u on those dummies. R gets there by
backfitting (``x − w · ave(x / w, margin)`` over the margins, ten sweeps); the fixed point is the
least-squares residual. (This is R's ``rake()`` design; ``calibrate(calfun = "raking")`` would
weight the regression by the design weights instead.)

For a proportion p = A / B of a domain (weighted totals A of members with the outcome, B of
members), W·u_i = d_i (y_i − p), so X'(W·u) = nA − p·nB with nA, nB the *unweighted* counts of
domain members (with outcome / all) in each margin category, and W·β = G (nA − p·nB) with G
the pseudo-inverse of the unweighted Gram matrix X'X (or, as R, the linear operator of its ten
backfitting sweeps, :data:`R_BACKFITTING_SWEEPS`). G depends on the sample only, not on the
indicator or the cell; it is computed once per pass from the counts of respondents per
combination of margin categories. For each cell, γ = W·β per category (C cells × L categories),
x'γ per combination of categories (C × K), and per PSU the residual total

    Z_psu = (A_psu − p·B_psu) − Σ_combos (Σ w in the PSU's combo) · x'γ,

which is non-zero also in PSUs without domain members: with WT the (PSU × combo) matrix of weight
totals, the calibration part of every cell's scores is one sparse product WT · (x'γ)ᵀ. The second
stage (pupils within schools) needs Σ r_i² within each PSU, which expands into Σ w² by combination
(WW · ((x'γ)²)ᵀ), the members' own squares, and the cross terms Σ (w²·d·y − p·w²·d)·x'γ of the
members' (PSU, combo) totals. These are small dense and sparse products, one breakdown at a
time (on a national wave: up to ~400 cell × indicator columns, L = 40 categories, K ≈ 600
combinations, P ≈ 6,000 PSUs) done with ``scipy.sparse`` and ``np.einsum``, whose sums run in a
fixed order on one thread, so a run is reproducible to the byte.
Respondents with a blank raking variable were not raked (they keep a rescaled design weight):
their dummy row is zero and their score is left as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from barometre_pipeline.stats.domain_totals import BreakdownCells, Codes, Finest, Units, group_ids


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


# R ``svyrecvar`` removes the raking margins' cell means by backfitting with a fixed ten sweeps.
# When the margins are associated the loop stops short of the least-squares projection (9e-6
# relative on apiclus2's SE); reproducing R's standard errors means running the same ten sweeps.
R_BACKFITTING_SWEEPS = 10

# Cap on the (PSU × cell × indicator) score matrices held at once (8M doubles, 64 MB each).
_MAX_SCORE_ENTRIES = 2**23


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


def check_margin_columns(columns: Sequence[str], variables: Sequence[str], relation: str) -> list[str]:
    """The distinct margin variables, or a ValueError naming those the relation lacks."""
    if not variables:
        raise ValueError("raking margins: no variable given")
    names = list(dict.fromkeys(variables))
    missing = [name for name in names if name not in columns]
    if missing:
        raise ValueError(f"raking margin variable(s) {missing} are not columns of {relation}")
    return names


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
        columns = [row[0] for row in con.execute(f"DESCRIBE {relation}").fetchall()]
        names = check_margin_columns(columns, variables, relation)
        classified = " AND ".join(f"{_quote(v)} IS NOT NULL" for v in names)
        casts = ", ".join(f"CAST({_quote(v)} AS VARCHAR)" for v in names)
        rows = con.execute(
            f"SELECT {casts}, COUNT(*) FROM {relation} WHERE {classified} GROUP BY ALL"
        ).fetchall()
        categories = tuple(tuple(sorted({row[j] for row in rows})) for j in range(len(names)))
        position = [{category: i for i, category in enumerate(cats)} for cats in categories]
        combos = np.array([[position[j][row[j]] for j in range(len(names))] for row in rows],
                          dtype=np.int64).reshape(len(rows), len(names))
        counts = np.array([row[-1] for row in rows], dtype=float)
        return cls.from_combinations(names, categories, combos, counts, sweeps)

    @classmethod
    def from_combinations(cls, variables: Sequence[str], categories: tuple[tuple[str, ...], ...],
                          combos: np.ndarray, counts: np.ndarray,
                          sweeps: int | None = R_BACKFITTING_SWEEPS) -> RakingMargins:
        """G from the respondents per combination (``combos``: each margin's category index)."""
        offsets = np.cumsum([0] + [len(c) for c in categories])
        size = int(offsets[-1])
        gram = np.zeros((size, size))
        index = combos + offsets[:-1]
        for a in range(index.shape[1]):
            for b in range(index.shape[1]):
                np.add.at(gram, (index[:, a], index[:, b]), counts)
        # Dense BLAS products: one thread, so the operator is the same bytes on every run.
        with threadpool_limits(limits=1, user_api="blas"):
            if sweeps is None:
                # The dummies of the margins are collinear (each margin's dummies sum to one): any
                # generalised inverse gives the same fitted values; the Moore–Penrose one is stable.
                operator = np.linalg.pinv(gram) if gram.size else gram
            else:
                operator = _backfitting_operator(gram, [len(c) for c in categories], sweeps)
        return cls(tuple(variables), categories, operator)

    @property
    def size(self) -> int:
        return self.inverse_gram.shape[0]


@dataclass(frozen=True)
class MarginCombinations:
    """Each respondent's combination of raking categories, and the operator G of the sample."""

    margins: RakingMargins
    of_row: np.ndarray        # (R,) combination of each respondent, -1 when not raked
    categories: np.ndarray    # (K, J) global category index (into G) of each combination's margins

    @classmethod
    def from_codes(cls, variables: Sequence[str], codes: Sequence[Codes],
                   sweeps: int | None = R_BACKFITTING_SWEEPS) -> MarginCombinations:
        """Respondents with every raking variable filled were raked; categories sorted by label."""
        size = len(codes[0].codes)
        classified = np.ones(size, dtype=bool)
        for column in codes:
            classified &= column.codes >= 0
        rows = np.flatnonzero(classified)
        categories, local = [], []
        for column in codes:
            used = np.unique(column.codes[rows])
            labels = sorted(column.labels[c] for c in used)
            rank = {label: i for i, label in enumerate(labels)}
            remap = np.full(len(column.labels), -1, dtype=np.int64)
            for c in used:
                remap[c] = rank[column.labels[c]]
            categories.append(tuple(labels))
            local.append(remap[column.codes[rows]])
        index, first = group_ids([(values, len(cats)) for values, cats in zip(local, categories, strict=True)],
                                 len(rows))
        combos = np.stack([values[first] for values in local], axis=1).reshape(len(first), len(codes))
        counts = np.bincount(index, minlength=len(first)).astype(float)
        margins = RakingMargins.from_combinations(variables, tuple(categories), combos, counts, sweeps)
        of_row = np.full(size, -1, dtype=np.int64)
        of_row[rows] = index
        offsets = np.cumsum([0] + [len(c) for c in categories])[:-1]
        return cls(margins, of_row, combos + offsets)


def calibrated_variance(combinations: MarginCombinations, finest: Finest, cells: BreakdownCells,
                        units: Units, p: np.ndarray, *, two_stage: bool) -> np.ndarray:
    """Σ over strata (and PSUs, second stage) of the variance of each cell's weighted total.

    ``p`` is (cells × indicators); so is the result, the numerator of Var(p) = total / B².
    """
    n_cells, n_indicators = p.shape
    n_psu = units.n_units
    per_indicator = max(n_psu * max(n_cells, 1), 1)
    chunk = max(1, _MAX_SCORE_ENTRIES // per_indicator)
    out = np.zeros((n_cells, n_indicators))
    for start in range(0, n_indicators, chunk):
        part = slice(start, min(start + chunk, n_indicators))
        out[:, part] = _calibrated_block(combinations, finest, cells, units, p[:, part], part, two_stage)
    return out


def _calibrated_block(combinations: MarginCombinations, finest: Finest, cells: BreakdownCells,
                      units: Units, p: np.ndarray, part: slice, two_stage: bool) -> np.ndarray:
    n_cells, n_ind = p.shape
    categories = combinations.categories
    n_combos, n_margins = categories.shape
    n_categories = combinations.margins.size
    n_psu = units.n_units
    combo = finest.combo
    raked = np.flatnonzero((cells.cell_of_group >= 0) & (combo >= 0))
    cell_r, combo_r = cells.cell_of_group[raked], combo[raked]

    # Unweighted counts of domain members (nB) and of events (nA) per (cell, category).
    rows = np.concatenate([cell_r * n_categories + categories[combo_r, j] for j in range(n_margins)])
    columns = np.tile(np.arange(len(raked)), n_margins)
    by_category = sp.csr_array((np.ones(len(rows)), (rows, columns)), shape=(n_cells * n_categories, len(raked)))
    nb = (by_category @ finest.n[raked, part]).reshape(n_cells, n_categories, n_ind)
    na = (by_category @ finest.e[raked, part]).reshape(n_cells, n_categories, n_ind)
    gamma = np.einsum("lm,cmi->cli", combinations.margins.inverse_gram, na - p[:, None, :] * nb)
    xg = gamma[:, categories[:, 0], :]
    for j in range(1, n_margins):
        xg = xg + gamma[:, categories[:, j], :]
    xg_columns = np.ascontiguousarray(xg.transpose(1, 0, 2).reshape(n_combos, n_cells * n_ind))

    all_raked = np.flatnonzero(combo >= 0)
    shape = (n_psu, n_combos)
    wt = sp.csr_array((finest.wt[all_raked], (finest.unit[all_raked], combo[all_raked])), shape=shape)
    scores = -(wt @ xg_columns)  # (PSU, cell × indicator)
    width = np.arange(n_ind)
    unit_rows = cells.unit[:, None]
    unit_columns = cells.cell[:, None] * n_ind + width
    p_unit = p[cells.cell]
    scores[unit_rows, unit_columns] += cells.a[:, part] - p_unit * cells.b[:, part]

    strata = sp.csr_array((np.ones(n_psu), (units.stratum_of, np.arange(n_psu))), shape=(units.n_strata, n_psu))
    sum_z = strata @ scores
    sum_zz = strata @ (scores * scores)
    n_h, f_h = units.n_h[:, None], units.f_h[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        first = (1 - f_h) * np.where(n_h > 1, n_h / (n_h - 1.0) * (sum_zz - sum_z ** 2 / n_h), sum_zz)
    total = first.sum(axis=0)

    if two_stage:
        ww = sp.csr_array((finest.ww[all_raked], (finest.unit[all_raked], combo[all_raked])), shape=shape)
        squares = ww @ (xg_columns * xg_columns)
        # Cross terms: members' (PSU, combo) totals of w²·d·y − p·w²·d times the combo's x'γ.
        pair, pair_first = group_ids([(cells.unit_of_group[raked], len(cells.cell)), (combo_r, n_combos)], len(raked))
        to_pair = sp.csr_array((np.ones(len(raked)), (pair, np.arange(len(raked)))),
                               shape=(len(pair_first), len(raked)))
        aa = to_pair @ finest.aa[raked, part]
        bb = to_pair @ finest.bb[raked, part]
        pair_cell, pair_combo = cell_r[pair_first], combo_r[pair_first]
        pair_terms = (aa - p[pair_cell] * bb) * xg[pair_cell, pair_combo, :]
        pair_unit = cells.unit_of_group[raked][pair_first]
        to_unit = sp.csr_array((np.ones(len(pair_first)), (pair_unit, np.arange(len(pair_first)))),
                               shape=(len(cells.cell), len(pair_first)))
        cross = to_unit @ pair_terms
        aa_u, bb_u = cells.aa[:, part], cells.bb[:, part]
        squares[unit_rows, unit_columns] += (aa_u * (1 - 2 * p_unit) + p_unit * p_unit * bb_u) - 2 * cross
        m = units.m[:, None]
        within = sp.csr_array(units.second_stage[None, :])
        total = total + (within @ (squares - scores * scores / m))[0]
    return total.reshape(n_cells, n_ind)
