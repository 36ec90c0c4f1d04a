"""The publication policy: which estimates may leave the warehouse, and how reliable they are.

One configurable :class:`PublicationPolicy` is applied to every microdata indicator table:

1. **Primary suppression** of cells too small to publish: unweighted n below the minimum,
   effective n below the minimum, stricter minimums for sensitive indicators (self-harm
   ideation), and — following the NCHS 2017 Data Presentation Standards for Proportions — cells
   whose confidence interval is too wide to carry information.
2. **Reliability** of what remains, per NCHS: ``reliable``, or ``unreliable`` (published with a
   flag) when the design has fewer than 8 degrees of freedom or the complementary proportion
   fails the relative-width rule.
3. **Complementary suppression**: a cell suppressed alone among its siblings could be recovered
   from the published total minus the published siblings (counts are additive: the weighted
   count of a total is the sum of its parts). Within every additive group — the rows of a table
   that differ only in one broken-down dimension, together with that dimension's ``_T`` total
   row, plus any declared hierarchy such as level → grade group — the next smallest cell is
   suppressed until no suppressed cell is determined by the published ones. The final check
   is exact linear algebra on the table's additive constraints, so patterns that pass the
   "two per line" rule but still leak a cell (bridges in two-way tables) are caught too.

Suppressed rows keep their keys and ``n_unweighted`` but lose estimate, se and interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.linalg import null_space

TOTAL = "_T"
RELIABLE = "reliable"
UNRELIABLE = "unreliable"
SUPPRESSED = "suppressed"
COMPLEMENTARY = "complementary"
MASKED_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "cv")


@dataclass(frozen=True)
class PublicationPolicy:
    """Thresholds of the publication rules (defaults: NCHS 2017 for proportions).

    ``sensitive_indicators`` (codes in ``indicator_column``) or a boolean ``sensitive`` column of
    the table mark sensitive rows, which need ``sensitive_min_n_unweighted`` respondents and at
    least ``sensitive_min_events`` respondents on each side of the proportion (a cell where
    nobody, or everybody, reports self-harm ideation discloses every pupil's answer).
    """

    min_n_unweighted: int = 30
    min_n_effective: float = 30.0
    sensitive_min_n_unweighted: int = 100
    sensitive_min_events: int = 5
    sensitive_indicators: frozenset[str] = field(default_factory=frozenset)
    indicator_column: str = "indicator_code"
    # NCHS proportion rules: CI width <= 0.05 is fine; >= 0.30 is suppressed; in between the
    # relative width (width / p) must be <= 130 %.
    apply_nchs_width_rules: bool = True
    narrow_ci_width: float = 0.05
    max_ci_width: float = 0.30
    max_relative_ci_width: float = 1.30
    min_df: int = 8
    # Non-proportions (column ``unit`` other than ``proportion``): flagged above this RSE.
    max_relative_standard_error: float = 0.30
    complementary: bool = True

    def __post_init__(self) -> None:
        if self.min_n_unweighted < 1 or self.min_n_effective < 0:
            raise ValueError("minimum cell sizes must be positive")
        if not 0 < self.narrow_ci_width <= self.max_ci_width:
            raise ValueError("narrow_ci_width must be positive and not above max_ci_width")


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
class AdditiveGroup:
    """Row positions (within a table) of a total and of the parts that add up to it."""

    total: int
    members: tuple[int, ...]


def _as_float(table: pd.DataFrame, column: str) -> np.ndarray:
    if column not in table:
        return np.full(len(table), np.nan)
    return pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)


def _sensitive_rows(table: pd.DataFrame, policy: PublicationPolicy) -> np.ndarray:
    sensitive = np.zeros(len(table), dtype=bool)
    if "sensitive" in table:
        sensitive |= table["sensitive"].fillna(False).astype(bool).to_numpy()
    if policy.sensitive_indicators and policy.indicator_column in table:
        sensitive |= table[policy.indicator_column].isin(policy.sensitive_indicators).to_numpy()
    return sensitive


def _is_proportion(table: pd.DataFrame) -> np.ndarray:
    if "unit" not in table:
        return np.ones(len(table), dtype=bool)
    return (table["unit"].fillna("proportion") == "proportion").to_numpy()


def primary_assessment(table: pd.DataFrame, policy: PublicationPolicy) -> tuple[np.ndarray, list[list[str]], np.ndarray]:
    """Row-wise rules: (suppressed, reasons per row, reliability per row)."""
    n = _as_float(table, "n_unweighted")
    n_effective = _as_float(table, "n_effective")
    # No design effect (p = 0 or 1 has zero linearised variance): NCHS then uses the actual n.
    n_effective = np.where(np.isfinite(n_effective), n_effective, n)
    estimate = _as_float(table, "estimate")
    se = _as_float(table, "se")
    width = _as_float(table, "ci_high") - _as_float(table, "ci_low")
    df = _as_float(table, "df")
    sensitive = _sensitive_rows(table, policy)
    proportion = _is_proportion(table)

    reasons: list[list[str]] = [[] for _ in range(len(table))]
    reliability = np.full(len(table), RELIABLE, dtype=object)
    for i in range(len(table)):
        row = reasons[i]
        if not np.isfinite(estimate[i]):
            row.append("no_estimate")
        if not n[i] >= policy.min_n_unweighted:
            row.append(f"n_unweighted<{policy.min_n_unweighted}")
        if not n_effective[i] >= policy.min_n_effective:
            row.append(f"n_effective<{policy.min_n_effective:g}")
        if sensitive[i] and not row:
            events = estimate[i] * n[i]
            if (n[i] < policy.sensitive_min_n_unweighted
                    or min(events, n[i] - events) < policy.sensitive_min_events - 1e-9):
                row.append("sensitive")
        if row:
            continue
        if proportion[i] and policy.apply_nchs_width_rules:
            reason = _nchs_width_rule(estimate[i], width[i], policy)
            if reason:
                row.append(reason)
                continue
            # Complement rule: 1 - p must also pass the relative width rule, else flag.
            if _nchs_width_rule(1.0 - estimate[i], width[i], policy):
                reliability[i] = UNRELIABLE
        elif not proportion[i] and estimate[i] != 0 and se[i] / abs(estimate[i]) > policy.max_relative_standard_error:
            reliability[i] = UNRELIABLE
        if np.isfinite(df[i]) and df[i] < policy.min_df:
            reliability[i] = UNRELIABLE
    suppressed = np.array([bool(row) for row in reasons])
    reliability[suppressed] = SUPPRESSED
    return suppressed, reasons, reliability


def _nchs_width_rule(p: float, width: float, policy: PublicationPolicy) -> str | None:
    """Reason to suppress a proportion under the NCHS width rules, or None."""
    if not np.isfinite(width):
        return None
    if width >= policy.max_ci_width:
        return f"ci_width>={policy.max_ci_width:g}"
    if width <= policy.narrow_ci_width:
        return None
    relative = width / p if p > 0 else math.inf
    if relative > policy.max_relative_ci_width:
        return f"relative_ci_width>{policy.max_relative_ci_width:.0%}"
    return None


def additive_groups(table: pd.DataFrame, dimensions: Sequence[str],
                    hierarchies: Sequence[DimensionHierarchy] = ()) -> list[AdditiveGroup]:
    """Additive groups of one table (row positions 0..len-1).

    For each dimension, the rows sharing every other dimension value: the row where the
    dimension is ``_T`` is the total of the rows where it is not. For a hierarchy, the row
    ``child=_T, parent=G`` is the total of the rows ``child=c`` (c in G) with ``parent`` either
    ``_T`` or ``G``.
    """
    keys = table[list(dimensions)].astype(str).reset_index(drop=True)
    if keys.duplicated().any():
        duplicated = keys[keys.duplicated()].iloc[0].to_dict()
        raise ValueError(f"a table has two rows for the same dimension values {duplicated}")
    position = {tuple(row): i for i, row in enumerate(keys.itertuples(index=False, name=None))}
    groups: list[AdditiveGroup] = []
    for d in range(len(dimensions)):
        others = [k for k in range(len(dimensions)) if k != d]
        members_by_context: dict[tuple[str, ...], list[int]] = {}
        totals_by_context: dict[tuple[str, ...], int] = {}
        for key, i in position.items():
            context = tuple(key[k] for k in others)
            if key[d] == TOTAL:
                totals_by_context[context] = i
            else:
                members_by_context.setdefault(context, []).append(i)
        for context, total in totals_by_context.items():
            members = members_by_context.get(context)
            if members:
                groups.append(AdditiveGroup(total, tuple(sorted(members))))
    for hierarchy in hierarchies:
        if hierarchy.child not in dimensions or hierarchy.parent not in dimensions:
            continue
        c, p = list(dimensions).index(hierarchy.child), list(dimensions).index(hierarchy.parent)
        for key, total in position.items():
            if key[c] != TOTAL or key[p] == TOTAL:
                continue
            children = [code for code, parent in hierarchy.parent_of.items() if parent == key[p]]
            members = []
            for child in children:
                for parent_value in (TOTAL, key[p]):
                    candidate = list(key)
                    candidate[c], candidate[p] = child, parent_value
                    if tuple(candidate) in position:
                        members.append(position[tuple(candidate)])
                        break
            if members:
                groups.append(AdditiveGroup(total, tuple(sorted(members))))
    return groups


def _constraint_matrix(groups: Sequence[AdditiveGroup], size: int) -> np.ndarray:
    matrix = np.zeros((len(groups), size))
    for g, group in enumerate(groups):
        matrix[g, group.total] = 1.0
        matrix[g, list(group.members)] = -1.0
    return matrix


def recoverable_cells(groups: Sequence[AdditiveGroup], suppressed: np.ndarray) -> np.ndarray:
    """Suppressed cells whose (weighted count) value follows from the published cells.

    With the additive constraints ``A x = 0`` and the published part known, the suppressed
    values ``x_S`` solve ``A_S x_S = -A_P x_P``; cell j is determined iff every solution of
    ``A_S z = 0`` has ``z_j = 0``.
    """
    suppressed = np.asarray(suppressed, dtype=bool)
    hidden = np.flatnonzero(suppressed)
    result = np.zeros(len(suppressed), dtype=bool)
    if len(hidden) == 0 or not groups:
        return result
    matrix = _constraint_matrix(groups, len(suppressed))[:, hidden]
    matrix = matrix[np.any(matrix != 0, axis=1)]
    if len(matrix) == 0:
        return result
    kernel = null_space(matrix)
    free = np.linalg.norm(kernel, axis=1) > 1e-9 if kernel.size else np.zeros(len(hidden), dtype=bool)
    result[hidden[~free]] = True
    return result


def complementary_suppression(groups: Sequence[AdditiveGroup], suppressed: np.ndarray,
                              size: np.ndarray) -> np.ndarray:
    """Cells to suppress in addition to ``suppressed`` so that none can be recovered.

    First the line rule (a group with a published total never has exactly one suppressed
    part: the smallest published sibling, by ``size``, joins it), iterated until stable; then
    the exact check, suppressing the smallest published cell sharing a group with any cell
    that is still recoverable, until none is.
    """
    hidden = np.asarray(suppressed, dtype=bool).copy()
    order = np.asarray(size, dtype=float)
    order = np.where(np.isfinite(order), order, -np.inf)

    def smallest(candidates: list[int]) -> int | None:
        published = [i for i in candidates if not hidden[i]]
        return min(published, key=lambda i: (order[i], i)) if published else None

    while True:
        changed = False
        for group in groups:
            if hidden[group.total]:
                continue
            n_hidden = sum(hidden[i] for i in group.members)
            if n_hidden == 1:
                choice = smallest(list(group.members))
                hidden[choice if choice is not None else group.total] = True
                changed = True
        if changed:
            continue
        leaking = np.flatnonzero(recoverable_cells(groups, hidden))
        if len(leaking) == 0:
            return hidden & ~np.asarray(suppressed, dtype=bool)
        choice = _breaking_cell(groups, hidden, int(leaking[0]), smallest)
        if choice is None:
            return hidden & ~np.asarray(suppressed, dtype=bool)
        hidden[choice] = True


def _breaking_cell(groups: Sequence[AdditiveGroup], hidden: np.ndarray, cell: int,
                   smallest: Callable[[list[int]], int | None]) -> int | None:
    """The published cell to hide so that a recoverable ``cell`` gains a degree of freedom.

    The value of ``cell`` is pinned by the published cells of the groups reachable from it
    through hidden cells; the smallest published part of those groups is hidden (a total
    only when no part is left).
    """
    reached, frontier, visited = {cell}, [cell], set()
    while frontier:
        current = frontier.pop()
        for index, group in enumerate(groups):
            if index in visited or (current != group.total and current not in group.members):
                continue
            visited.add(index)
            for other in (group.total, *group.members):
                if hidden[other] and other not in reached:
                    reached.add(other)
                    frontier.append(other)
    related = [groups[index] for index in sorted(visited)]
    choice = smallest([i for group in related for i in group.members])
    return choice if choice is not None else smallest([group.total for group in related])


def apply_publication_policy(table: pd.DataFrame, policy: PublicationPolicy, table_keys: Sequence[str],
                             dimensions: Sequence[str],
                             hierarchies: Sequence[DimensionHierarchy] = ()) -> pd.DataFrame:
    """Apply the policy to an indicator table, adding ``reliability, suppressed, suppression_reason``.

    ``table_keys`` identify a table (indicator, source, territory, period); ``dimensions`` are
    the breakdown columns holding ``_T`` for totals; ``hierarchies`` declare dimensions nested in
    others (level in grade group) so their sums are protected too. Masked columns of suppressed
    rows (estimate, se, ci_low, ci_high, cv) become null; keys and counts are kept.
    """
    missing = [c for c in list(table_keys) + list(dimensions) + ["estimate", "n_unweighted"] if c not in table]
    if missing:
        raise ValueError(f"indicator table lacks columns {missing}")
    result = table.reset_index(drop=True).copy()
    suppressed, reasons, reliability = primary_assessment(result, policy)
    if policy.complementary and len(result):
        size = _as_float(result, "n_unweighted")
        grouping = result.groupby(list(table_keys), sort=False, dropna=False).indices if table_keys else {(): np.arange(len(result))}
        for rows in grouping.values():
            rows = np.asarray(rows)
            groups = additive_groups(result.iloc[rows], dimensions, hierarchies)
            extra = complementary_suppression(groups, suppressed[rows], size[rows])
            for i in rows[extra]:
                reasons[i].append(COMPLEMENTARY)
            suppressed[rows[extra]] = True
    reliability[suppressed] = SUPPRESSED
    result["reliability"] = reliability
    result["suppressed"] = suppressed
    result["suppression_reason"] = [";".join(row) if row else None for row in reasons]
    for column in MASKED_COLUMNS:
        if column in result:
            result[column] = result[column].astype(float).where(~suppressed)
    return result
