"""Which withheld cells a reader can recover from what is published, by exact linear algebra.

A reader who sees the published proportions of one source's tables (every indicator, every
breakdown, one territory and period) can combine them. The attack model is deliberately strict:
the reader is assumed to know the weighted size of every breakdown cell (the raking margins are
public), so a published proportion p of an indicator whose population is the whole cell gives its
weighted numerator count Y = p·N exactly. The unknowns are the numerator counts Y of the other
cells, tied by linear equations:

- **additivity** inside an indicator: the count of a total is the sum of its parts, along every
  breakdown dimension and every declared hierarchy (level → grade group);
- **conditional indicators**: a published p of an indicator whose population is another
  indicator's numerator (victims of cyberviolence, pupils who attended prevention) ties the two:
  ``Y − p·Y_D = 0``, or ``Y + p·Y_D = N·p`` when the population is the complement (NOT D);
- **mixtures**: an indicator with the same numerator over D and over NOT D adds up to the
  indicator over everybody (``CV_ANY = CV_ANY_PREVENTED + CV_ANY_NOT_PREVENTED`` in counts).

A withheld cell is *recoverable* when every solution of the homogeneous system leaves its
unknown unchanged, i.e. its row of the null-space basis is zero.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

TOTAL = "_T"
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class DimensionHierarchy:
    """A dimension whose categories add up to the categories of a coarser dimension.

    ``DimensionHierarchy("level", "grade_group", {"6E": "COLLEGE", ..., "TLE": "LYCEE"})``:
    the row ``level=_T, grade_group=COLLEGE`` is the sum of the rows ``level=6E..3E``.
    """

    child: str
    parent: str
    parent_of: Mapping[str, str]


@dataclass(frozen=True)
class IndicatorLinks:
    """How indicators of one catalogue are tied to each other.

    ``population_of[code] = (base_code, complement)``: the indicator's population is the
    numerator of ``base_code`` (or its complement when ``complement``); indicators absent from
    it are over the whole cell. ``mixtures`` lists ``(whole, over_base, over_complement)``.
    """

    population_of: Mapping[str, tuple[str, bool]] = field(default_factory=dict)
    mixtures: tuple[tuple[str, str, str], ...] = ()

    @classmethod
    def from_definitions(cls, definitions: Mapping[str, tuple[str, str]]) -> IndicatorLinks:
        """Links from ``{code: (numerator, denominator)}`` SQL texts of a catalogue."""

        def normal(text: str) -> str:
            return " ".join(str(text).lower().replace("(", " ( ").replace(")", " ) ").split())

        def strip(text: str) -> str:
            text = normal(text)
            while text.startswith("( ") and text.endswith(" )"):
                text = text[2:-2].strip()
            return text

        whole: dict[str, str] = {}
        for code, (numerator, denominator) in definitions.items():
            if strip(denominator) == "true":
                whole.setdefault(strip(numerator), code)
        population_of: dict[str, tuple[str, bool]] = {}
        by_numerator: dict[str, dict[tuple[str, bool], str]] = {}
        for code, (numerator, denominator) in definitions.items():
            den = strip(denominator)
            if den == "true":
                continue
            complement = bool(re.match(r"^not\s", den))
            base_text = strip(den[4:]) if complement else den
            if base_text in whole:
                population_of[code] = (whole[base_text], complement)
                by_numerator.setdefault(strip(numerator), {})[(whole[base_text], complement)] = code
        mixtures = []
        for numerator, variants in by_numerator.items():
            if numerator not in whole:
                continue
            for (base, complement), code in sorted(variants.items()):
                other = variants.get((base, True))
                if not complement and other is not None:
                    mixtures.append((whole[numerator], code, other))
        return cls(population_of, tuple(sorted(mixtures)))


def cell_label(row: Mapping[str, object], dimensions: Sequence[str], indicator_column: str) -> str:
    """``CV_ANY|sex=X|level=TLE``: the name a complementary suppression cites."""
    parts = [str(row[indicator_column])]
    parts += [f"{d}={row[d]}" for d in dimensions if str(row[d]) != TOTAL]
    return "|".join(parts)


def additive_equations(keys: pd.DataFrame, dimensions: Sequence[str],
                       hierarchies: Sequence[DimensionHierarchy] = ()) -> list[tuple[int, tuple[int, ...]]]:
    """(total, parts) row positions of one indicator's table (positions 0..len-1 of ``keys``).

    For each dimension, the rows sharing every other dimension value: the row where the
    dimension is ``_T`` is the total of the rows where it is not. For a hierarchy, the row
    ``child=_T, parent=G`` is the total of the rows ``child=c`` (c in G) with ``parent`` either
    ``_T`` or ``G``.
    """
    frame = keys[list(dimensions)].astype(str).reset_index(drop=True)
    if frame.duplicated().any():
        duplicated = frame[frame.duplicated()].iloc[0].to_dict()
        raise ValueError(f"a table has two rows for the same dimension values {duplicated}")
    position = {tuple(row): i for i, row in enumerate(frame.itertuples(index=False, name=None))}
    equations: list[tuple[int, tuple[int, ...]]] = []
    for d in range(len(dimensions)):
        others = [k for k in range(len(dimensions)) if k != d]
        members: dict[tuple[str, ...], list[int]] = {}
        totals: dict[tuple[str, ...], int] = {}
        for key, i in position.items():
            context = tuple(key[k] for k in others)
            if key[d] == TOTAL:
                totals[context] = i
            else:
                members.setdefault(context, []).append(i)
        for context, total in totals.items():
            if members.get(context):
                equations.append((total, tuple(sorted(members[context]))))
    for hierarchy in hierarchies:
        if hierarchy.child not in dimensions or hierarchy.parent not in dimensions:
            continue
        c, p = list(dimensions).index(hierarchy.child), list(dimensions).index(hierarchy.parent)
        for key, total in position.items():
            if key[c] != TOTAL or key[p] == TOTAL:
                continue
            parts = []
            for child in (code for code, parent in hierarchy.parent_of.items() if parent == key[p]):
                for parent_value in (TOTAL, key[p]):
                    candidate = list(key)
                    candidate[c], candidate[p] = child, parent_value
                    if tuple(candidate) in position:
                        parts.append(position[tuple(candidate)])
                        break
            if parts:
                equations.append((total, tuple(sorted(parts))))
    return equations


class LinkedSystem:
    """The linear system of one family of tables (one source, territory and period).

    ``rows`` holds one row per indicator × cell with the indicator column, the dimensions and
    ``estimate``. Unknowns are the weighted numerator count Y of every row and the weighted
    size N of every cell; ``public_size(cell)`` says which cell sizes the reader knows (default:
    all of them, the strictest model; the raking margins are the realistic one, since a crossed
    cell's weighted size depends on the sample and is never published).
    """

    def __init__(self, rows: pd.DataFrame, dimensions: Sequence[str], links: IndicatorLinks,
                 hierarchies: Sequence[DimensionHierarchy] = (),
                 indicator_column: str = "indicator_code",
                 public_size: Callable[[dict[str, str]], bool] | None = None) -> None:
        self.rows = rows.reset_index(drop=True)
        self.size = len(self.rows)
        self.dimensions = list(dimensions)
        codes = self.rows[indicator_column].astype(str).to_numpy()
        self.codes = codes
        keys = self.rows[self.dimensions].astype(str)
        cells = [tuple(v) for v in keys.itertuples(index=False, name=None)]
        self.cells = cells
        index = {(code, cell): i for i, (code, cell) in enumerate(zip(codes, cells, strict=True))}
        self.estimate = pd.to_numeric(self.rows["estimate"], errors="coerce").to_numpy(dtype=float) \
            if "estimate" in self.rows else np.full(self.size, np.nan)
        extra: dict[tuple[str, tuple[str, ...]], int] = {}

        def unknown(code: str, cell: tuple[str, ...]) -> int:
            # A linked cell the table does not hold is an unknown nobody publishes.
            if (code, cell) in index:
                return index[(code, cell)]
            return extra.setdefault((code, cell), self.size + len(extra))

        def size_of(cell: tuple[str, ...]) -> int:
            return unknown("\x00N", cell)

        # Structural equations (always true): additivity of counts and sizes, and mixtures.
        self.structural: list[dict[int, float]] = []
        for code in pd.unique(codes):
            positions = np.flatnonzero(codes == code)
            for total, parts in additive_equations(self.rows.iloc[positions], self.dimensions, hierarchies):
                equation = {int(positions[total]): 1.0}
                for part in parts:
                    equation[int(positions[part])] = -1.0
                self.structural.append(equation)
        distinct = pd.DataFrame(sorted(set(cells)), columns=self.dimensions) if cells else keys
        distinct_cells = [tuple(v) for v in distinct.itertuples(index=False, name=None)]
        for total, parts in additive_equations(distinct, self.dimensions, hierarchies):
            equation = {size_of(distinct_cells[total]): 1.0}
            for part in parts:
                equation[size_of(distinct_cells[part])] = -1.0
            self.structural.append(equation)
        present = set(codes)
        for whole, over_base, over_complement in links.mixtures:
            if over_base not in present and over_complement not in present:
                continue
            for cell in sorted({cells[i] for i in np.flatnonzero(np.isin(codes, [over_base, over_complement]))}):
                self.structural.append({unknown(whole, cell): 1.0, unknown(over_base, cell): -1.0,
                                        unknown(over_complement, cell): -1.0})
        # Each row's population count as {unknown: coefficient} (without its known constant).
        self.population: list[dict[int, float]] = []
        for i, code in enumerate(codes):
            if code in links.population_of:
                base, complement = links.population_of[code]
                if complement:
                    self.population.append({size_of(cells[i]): 1.0, unknown(base, cells[i]): -1.0})
                else:
                    self.population.append({unknown(base, cells[i]): 1.0})
            else:
                self.population.append({size_of(cells[i]): 1.0})
        self.n_unknowns = self.size + len(extra)
        self.known_sizes = np.zeros(self.n_unknowns, dtype=bool)
        for (code, cell), position in extra.items():
            if code == "\x00N" and (public_size is None or public_size(dict(zip(self.dimensions, cell, strict=True)))):
                self.known_sizes[position] = True
        # Fixed for the system; recoverable() runs thousands of times on it. The population
        # rows are square (zero past the table's rows) so they substitute any unknown.
        self._structural_matrix = _sparse_rows(self.structural, self.n_unknowns)
        self._population_matrix = _sparse_rows(self.population, self.n_unknowns, self.n_unknowns)
        self._population_magnitude = abs(self._population_matrix)

    def _equations(self, published: np.ndarray) -> list[dict[int, float]]:
        """Structural equations plus one ``Y_i = p_i · population_i`` per published row."""
        equations = list(self.structural)
        for i in np.flatnonzero(published):
            if np.isfinite(self.estimate[i]):
                equation = {int(i): 1.0}
                for unknown, coefficient in self.population[i].items():
                    equation[unknown] = equation.get(unknown, 0.0) - float(self.estimate[i]) * coefficient
                equations.append(equation)
        return equations

    def _expansion(self, published: np.ndarray) -> sparse.csr_matrix:
        """Every unknown in terms of free unknowns, as a sparse matrix (row u: u's expansion).

        A published count is p times its population, whose terms may themselves be published
        counts: substituted up to four levels deep (a catalogue's links are two deep at most: an
        indicator over another's numerator, itself over the whole cell; the cap only stops a
        cyclic declaration). A known cell size expands to nothing.
        """
        free = (~self.known_sizes).astype(float)
        substituted = np.zeros(self.n_unknowns, dtype=bool)
        substituted[:self.size] = published & np.isfinite(self.estimate)
        scale = np.zeros(self.n_unknowns)
        scale[:self.size] = np.where(substituted[:self.size], self.estimate, 0.0)
        substitution = (sparse.diags(scale) @ self._population_matrix).tocsr()
        kept = sparse.diags(np.where(substituted, 0.0, free)).tocsr()
        expansion = sparse.diags(free).tocsr()
        for _ in range(4):
            expansion = (substitution @ expansion + kept).tocsr()
        return expansion

    def recoverable(self, published: np.ndarray,
                    targets: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """Boolean per row: withheld, and both its count and its population are determined.

        Published counts are substituted by p times their population, so the system's unknowns
        are only the withheld counts, the unknown cell sizes and the linked cells no table holds.
        ``targets`` (row positions) limits the answer to those rows: only the independent blocks
        of the system holding their unknowns are solved (complementary suppression asks about
        one cell at a time); other rows read False.
        """
        published = np.asarray(published, dtype=bool)
        result = np.zeros(self.size, dtype=bool)
        if published.all():
            return result
        asked = np.flatnonzero(~published) if targets is None else \
            np.array([t for t in np.asarray(targets, dtype=int).ravel() if not published[t]], dtype=int)
        if len(asked) == 0:
            return result
        expansion = self._expansion(published)
        system = (self._structural_matrix @ expansion).tocsr()
        system.data[np.abs(system.data) <= 1e-14] = 0.0
        system.eliminate_zeros()
        # The unknowns each asked row's answer depends on: its count and its population's terms
        # (in absolute values, so that terms cancelling out, as N − 1·N, still count).
        population_terms = (self._population_magnitude @ abs(expansion)).tocsr()
        needed = {int(i): [int(i), *population_terms.indices[
            population_terms.indptr[i]:population_terms.indptr[i + 1]].tolist()] for i in asked}
        determined = self.known_sizes.copy()
        # Unknowns in no equation stay free; published rows are known by construction.
        if system.nnz:
            wanted = None if targets is None else {u for terms in needed.values() for u in terms}
            for block, unknowns in _blocks(system, wanted):
                norms = np.linalg.norm(kernel_basis(block), axis=1)
                determined[unknowns[norms <= 1e-8]] = True
        for i, terms in needed.items():
            result[i] = bool(all(determined[u] for u in terms))
        return result

    def direct_neighbours(self, row: int, published: np.ndarray) -> list[int]:
        """Published rows sharing a structural equation with ``row``.

        Rows of the equations where ``row`` is the only withheld unknown come first (those are
        the equations that pin it); the others follow only when there is no such equation.
        """
        published = np.asarray(published, dtype=bool)
        pinning, other_rows = set(), set()
        for equation in self.structural:
            if row not in equation:
                continue
            unknowns = [u for u in equation if u != row and not self.known_sizes[u]
                        and not (u < self.size and published[u])]
            rows = {u for u in equation if u < self.size and published[u]}
            (pinning if not unknowns else other_rows).update(rows)
        return sorted(pinning or other_rows)

    def neighbours(self, row: int, published: np.ndarray) -> list[int]:
        """Published rows tied to ``row`` through equations (through any unknown)."""
        published = np.asarray(published, dtype=bool)
        equations = self._equations(published)
        start = [row, *(u for u in self.population[row] if not self.known_sizes[u])]
        reached, frontier, found = set(start), list(start), set()
        incidence: dict[int, list[int]] = {}
        for e, equation in enumerate(equations):
            for unknown in equation:
                incidence.setdefault(unknown, []).append(e)
        while frontier:
            current = frontier.pop()
            for e in incidence.get(current, []):
                for other in equations[e]:
                    if other < self.size and published[other]:
                        found.add(other)
                    if self.known_sizes[other]:
                        continue  # a known constant ties nothing together
                    if other not in reached and not (other < self.size and published[other]):
                        reached.add(other)
                        frontier.append(other)
        return sorted(found)


def kernel_basis(matrix: np.ndarray) -> np.ndarray:
    """Orthonormal basis (columns) of the null space of ``matrix``.

    A thin SVD of the matrix, padded with zero rows when it is wide, so the right singular
    vectors span the whole column space (scipy's ``null_space`` builds the full, square U of a
    tall matrix, thousands of times more work here).
    """
    m, n = matrix.shape
    if m < n:
        matrix = np.vstack([matrix, np.zeros((n - m, n))])
    _, singular, vt = np.linalg.svd(matrix, full_matrices=False)
    if singular.size == 0:
        return np.eye(n)
    rank = int(np.sum(singular > _TOLERANCE * max(singular[0], 1.0)))
    return vt[rank:].T


def _sparse_rows(rows: Sequence[Mapping[int, float]], n_columns: int,
                 n_rows: int | None = None) -> sparse.csr_matrix:
    """Equations ``{unknown: coefficient}`` as the rows of a sparse matrix (``n_rows`` pads it
    with empty rows)."""
    row_index = [r for r, row in enumerate(rows) for _ in row]
    columns = [u for row in rows for u in row]
    values = [v for row in rows for v in row.values()]
    return sparse.csr_matrix((values, (row_index, columns)),
                             shape=(len(rows) if n_rows is None else n_rows, n_columns))


def _blocks(system: sparse.csr_matrix,
            wanted: set[int] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Independent blocks of a sparse system (equations sharing no unknown), densely.

    Returns ``(block, unknowns)`` pairs: the block's non-empty equations in their order and its
    unknowns ascending (so a block is the same matrix however it is found); with ``wanted``,
    only the blocks holding one of those unknowns. Equations touching no wanted unknown are
    never densified: complementary suppression asks this thousands of times of systems with
    thousands of unknowns.
    """
    system = system[np.diff(system.indptr) > 0]
    unknowns = np.unique(system.indices)
    if len(unknowns) == 0:
        return []
    column_of = np.full(system.shape[1], -1, dtype=np.int64)
    column_of[unknowns] = np.arange(len(unknowns))
    compact = sparse.csr_matrix((system.data, column_of[system.indices], system.indptr),
                                shape=(system.shape[0], len(unknowns)))
    n_rows = compact.shape[0]
    # Bipartite graph: equations and unknowns are nodes, a coefficient is an edge.
    incidence = sparse.bmat([[None, compact], [compact.T, None]]).tocsr()
    _, label = csgraph.connected_components(incidence, directed=False)
    row_label, column_label = label[:n_rows], label[n_rows:]
    if wanted is None:
        labels = np.unique(column_label)
    else:
        positions = [column_of[u] for u in wanted if column_of[u] >= 0]
        labels = np.unique(column_label[positions])
    blocks = []
    for component in labels:
        rows = np.flatnonzero(row_label == component)
        cols = np.flatnonzero(column_label == component)
        blocks.append((compact[rows][:, cols].toarray(), unknowns[cols]))
    return blocks
