"""The publication policy: which estimates may leave the warehouse, and why the others do not.

Two rules, kept apart because they answer different questions:

1. **Reliability** (is the number worth reading?), after the NCHS Data Presentation Standards for
   Proportions (Parker et al. 2017, Vital Health Stat 2(175)): a cell is withheld when its
   respondents n < 30 or its effective n < 30 (effective n = n / design effect, the design effect
   taken as 1 when below 1, so a design effect under 1 never lifts a small cell), when its domain
   lies in fewer than 2 PSUs (no design-based variance, df 0), when its Korn–Graubard interval is
   30 points wide or more, or between 5 and 30 points wide with a relative width above 130 %. A
   published cell is flagged ``unreliable`` when its domain has fewer than 8 degrees of freedom or
   its complement fails the relative-width rule. Sensitive indicators (self-harm ideation) need
   100 respondents and 5 on each side of the proportion. An unreliable number recovered by
   subtraction discloses nothing about a person, so reliability needs no complementary suppression.
2. **Confidentiality** (statistical secrecy: could the number describe a few identifiable pupils
   or one school?): a cell with fewer than ``min_respondents`` respondents or drawn from fewer than
   ``min_schools`` schools (PSUs) is withheld, **and** so many other cells as needed for it to
   stay unrecoverable from everything published for the same source, territory and period —
   other breakdowns, margins and linked indicators — proven by exact linear algebra
   (:mod:`barometre_pipeline.stats.disclosure`). Complements are chosen cheapest first: cells
   already flagged unreliable, then ordinary cells (smallest n first), then margins, and girls' or
   boys' cells only when nothing else protects the cell.

Every withheld row keeps its keys and ``n_unweighted`` and says why in ``suppression_reason``:
``reliability:…``, ``confidentiality:…`` or ``complementary:<protected cell>``, ``;``-joined.
Estimate, se, interval, cv, design effect and effective n of a withheld row are nulled.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.linalg import null_space
from threadpoolctl import threadpool_limits

from barometre_pipeline.stats.disclosure import (
    DimensionHierarchy,
    IndicatorLinks,
    LinkedSystem,
    additive_equations,
    cell_label,
)

__all__ = [
    "AdditiveGroup", "DimensionHierarchy", "IndicatorLinks", "PublicationPolicy", "REASONS", "Reason",
    "additive_groups", "apply_publication_policy", "explain_reason", "primary_assessment",
    "reader_reason", "recoverable_cells",
]

TOTAL = "_T"
RELIABLE = "reliable"
UNRELIABLE = "unreliable"
SUPPRESSED = "suppressed"
RELIABILITY = "reliability"
CONFIDENTIALITY = "confidentiality"
COMPLEMENTARY = "complementary"
MASKED_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "cv", "deff", "n_effective")


@dataclass(frozen=True)
class PublicationPolicy:
    """Thresholds of the two rules (see the module docstring for their sources).

    ``sensitive_indicators`` (codes in ``indicator_column``) or a boolean ``sensitive`` column of
    the table mark sensitive rows. ``last_resort`` lists dimension values a complementary
    suppression may hide only when nothing else protects the cell (girls' and boys' cells).
    """

    # Reliability (NCHS 2017).
    min_n_unweighted: int = 30
    min_n_effective: float = 30.0
    min_psu: int = 2
    sensitive_min_n_unweighted: int = 100
    sensitive_min_events: int = 5
    sensitive_indicators: frozenset[str] = field(default_factory=frozenset)
    indicator_column: str = "indicator_code"
    apply_nchs_width_rules: bool = True
    narrow_ci_width: float = 0.05
    max_ci_width: float = 0.30
    max_relative_ci_width: float = 1.30
    min_df: int = 8
    max_relative_standard_error: float = 0.30  # non-proportions: flagged above this RSE
    # Confidentiality (statistical secrecy).
    min_respondents: int = 5
    min_schools: int = 3
    complementary: bool = True
    last_resort: tuple[tuple[str, tuple[str, ...]], ...] = (("sex", ("F", "M")),)
    # Cells whose weighted size a reader knows: None = every cell (strictest); otherwise the
    # grand total and the one-way cells of these dimensions (the raking margins).
    public_size_dimensions: tuple[str, ...] | None = None
    max_trials_per_tier: int = 12

    def public_size(self, cell: Mapping[str, str]) -> bool:
        if self.public_size_dimensions is None:
            return True
        broken_down = [d for d, v in cell.items() if v != TOTAL]
        return not broken_down or (len(broken_down) == 1 and broken_down[0] in self.public_size_dimensions)

    def __post_init__(self) -> None:
        if self.min_n_unweighted < 1 or self.min_n_effective < 0:
            raise ValueError("minimum cell sizes must be positive")
        if not 0 < self.narrow_ci_width <= self.max_ci_width:
            raise ValueError("narrow_ci_width must be positive and not above max_ci_width")
        if self.min_respondents < 1 or self.min_schools < 1:
            raise ValueError("confidentiality thresholds must be at least 1")


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


@dataclass
class Assessment:
    """Row-wise outcome of the two rules (before complementary suppression)."""

    reasons: list[list[str]]
    reliability: np.ndarray
    confidential: np.ndarray

    @property
    def withheld(self) -> np.ndarray:
        return np.array([bool(r) for r in self.reasons], dtype=bool)


def primary_assessment(table: pd.DataFrame, policy: PublicationPolicy) -> Assessment:
    """Reliability and confidentiality of each row on its own."""
    n = _as_float(table, "n_unweighted")
    deff = _as_float(table, "deff")
    # NCHS: effective n = n / deff with deff < 1 (or unknown: p = 0 or 1) taken as 1.
    n_effective = n / np.where(np.isfinite(deff), np.maximum(deff, 1.0), 1.0)
    if "deff" not in table and "n_effective" in table:
        n_effective = np.fmin(_as_float(table, "n_effective"), n)
    estimate = _as_float(table, "estimate")
    se = _as_float(table, "se")
    width = _as_float(table, "ci_high") - _as_float(table, "ci_low")
    df = _as_float(table, "df")
    n_psu = _as_float(table, "n_psu")
    events = _as_float(table, "n_events")
    events = np.where(np.isfinite(events), events, np.round(estimate * n))
    sensitive = _sensitive_rows(table, policy)
    proportion = _is_proportion(table)

    reasons: list[list[str]] = [[] for _ in range(len(table))]
    reliability = np.full(len(table), RELIABLE, dtype=object)
    confidential = np.zeros(len(table), dtype=bool)
    for i in range(len(table)):
        row = reasons[i]
        # Confidentiality first: it decides whether the cell must be protected by complements.
        if not n[i] >= policy.min_respondents:
            row.append(f"{CONFIDENTIALITY}:n<{policy.min_respondents}")
        if np.isfinite(n_psu[i]) and not n_psu[i] >= policy.min_schools:
            row.append(f"{CONFIDENTIALITY}:schools<{policy.min_schools}")
        confidential[i] = bool(row)
        if not np.isfinite(estimate[i]):
            row.append(f"{RELIABILITY}:no_estimate")
        if not n[i] >= policy.min_n_unweighted:
            row.append(f"{RELIABILITY}:n<{policy.min_n_unweighted}")
        if not n_effective[i] >= policy.min_n_effective:
            row.append(f"{RELIABILITY}:effective_n<{policy.min_n_effective:g}")
        if np.isfinite(n_psu[i]) and not n_psu[i] >= policy.min_psu:
            row.append(f"{RELIABILITY}:psu<{policy.min_psu}")
        elif np.isfinite(df[i]) and not df[i] >= 1:
            # Two PSUs in two strata: a variance, but no degrees of freedom for an interval.
            row.append(f"{RELIABILITY}:df<1")
        if sensitive[i]:
            if not n[i] >= policy.sensitive_min_n_unweighted:
                row.append(f"{RELIABILITY}:sensitive_n<{policy.sensitive_min_n_unweighted}")
            elif not min(events[i], n[i] - events[i]) >= policy.sensitive_min_events:
                row.append(f"{RELIABILITY}:sensitive_events<{policy.sensitive_min_events}")
        if row:
            continue
        if proportion[i] and policy.apply_nchs_width_rules:
            reason = _nchs_width_rule(estimate[i], width[i], policy)
            if reason:
                row.append(f"{RELIABILITY}:{reason}")
                continue
            # Complement rule: 1 - p must also pass the relative width rule, else flag.
            if _nchs_width_rule(1.0 - estimate[i], width[i], policy):
                reliability[i] = UNRELIABLE
        elif not proportion[i] and estimate[i] != 0 and se[i] / abs(estimate[i]) > policy.max_relative_standard_error:
            reliability[i] = UNRELIABLE
        if np.isfinite(df[i]) and df[i] < policy.min_df:
            reliability[i] = UNRELIABLE
    withheld = np.array([bool(row) for row in reasons], dtype=bool)
    reliability[withheld] = SUPPRESSED
    return Assessment(reasons, reliability, confidential)


def _nchs_width_rule(p: float, width: float, policy: PublicationPolicy) -> str | None:
    """Reason to withhold a proportion under the NCHS width rules, or None."""
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


# --- single-table additive groups (kept for callers that reason about one table) --------------


@dataclass(frozen=True)
class AdditiveGroup:
    """Row positions (within a table) of a total and of the parts that add up to it."""

    total: int
    members: tuple[int, ...]


def additive_groups(table: pd.DataFrame, dimensions: Sequence[str],
                    hierarchies: Sequence[DimensionHierarchy] = ()) -> list[AdditiveGroup]:
    """Additive groups of one indicator's table (row positions 0..len-1)."""
    return [AdditiveGroup(total, parts) for total, parts in additive_equations(table, dimensions, hierarchies)]


def recoverable_cells(groups: Sequence[AdditiveGroup], suppressed: np.ndarray) -> np.ndarray:
    """Suppressed cells of one table whose (weighted count) value follows from the published ones."""
    suppressed = np.asarray(suppressed, dtype=bool)
    hidden = np.flatnonzero(suppressed)
    result = np.zeros(len(suppressed), dtype=bool)
    if len(hidden) == 0 or not groups:
        return result
    matrix = np.zeros((len(groups), len(suppressed)))
    for g, group in enumerate(groups):
        matrix[g, group.total] = 1.0
        matrix[g, list(group.members)] = -1.0
    matrix = matrix[:, hidden]
    matrix = matrix[np.any(matrix != 0, axis=1)]
    if len(matrix) == 0:
        return result
    kernel = null_space(matrix)
    free = np.linalg.norm(kernel, axis=1) > 1e-9 if kernel.size else np.zeros(len(hidden), dtype=bool)
    result[hidden[~free]] = True
    return result


# --- complementary suppression over linked tables ----------------------------------------------


def _complement_cost(rows: pd.DataFrame, dimensions: Sequence[str], reliability: np.ndarray,
                     policy: PublicationPolicy) -> list[tuple[int, float]]:
    """(tier, n) per row: the lower, the sooner a row is hidden as a complement."""
    n = _as_float(rows, "n_unweighted")
    last_resort = np.zeros(len(rows), dtype=bool)
    for dimension, values in policy.last_resort:
        if dimension in rows:
            last_resort |= rows[dimension].astype(str).isin(values).to_numpy()
    totals = (rows[list(dimensions)].astype(str) == TOTAL).sum(axis=1).to_numpy() if dimensions else np.zeros(len(rows))
    grand_total = totals == len(dimensions)
    costs = []
    for i in range(len(rows)):
        if grand_total[i]:
            tier = 5
        elif last_resort[i]:
            tier = 4
        elif reliability[i] == UNRELIABLE:
            tier = 0
        elif totals[i] < len(dimensions) - 1:
            tier = 1  # a crossed cell
        else:
            tier = 2  # a one-way margin
        costs.append((tier, float(n[i]) if np.isfinite(n[i]) else 0.0))
    return costs


def protect_confidential_cells(system: LinkedSystem, published: np.ndarray, confidential: np.ndarray,
                               costs: Sequence[tuple[int, float]], max_trials: int = 12) -> dict[int, int]:
    """Hide published cells until no confidential cell is recoverable.

    Returns ``{hidden row: protected row}``. For the first recoverable confidential cell, the
    published cells tied to it are tried cheapest first; the first whose hiding makes the cell
    unrecoverable is hidden. When no cheap (non-last-resort) cell does it alone, the cheapest is
    hidden and the search goes on, so girls' and boys' cells go last.
    """
    published = np.asarray(published, dtype=bool).copy()
    confidential = np.asarray(confidential, dtype=bool)
    added: dict[int, int] = {}
    with threadpool_limits(1):
        return _protect(system, published, confidential, costs, max_trials, added)


def _protect(system: LinkedSystem, published: np.ndarray, confidential: np.ndarray,
             costs: Sequence[tuple[int, float]], max_trials: int, added: dict[int, int]) -> dict[int, int]:
    for _ in range(4 * system.size + 1):
        # Only confidential cells are asked about: every other row reads False.
        leaking = np.flatnonzero(system.recoverable(published, targets=np.flatnonzero(confidential)))
        if len(leaking) == 0:
            return added
        target = int(leaking[0])
        candidates = sorted(system.neighbours(target, published), key=lambda i: (costs[i], i))
        if not candidates:
            raise RuntimeError(f"cell {target} is recoverable but tied to no published cell")
        chosen = None
        for tier in sorted({costs[i][0] for i in candidates}):
            if tier >= 4 and any(costs[i][0] < 4 for i in system.direct_neighbours(target, published)):
                break  # girls' and boys' cells only when no other cell shares an equation
            for candidate in [i for i in candidates if costs[i][0] == tier][:max_trials]:
                trial = published.copy()
                trial[candidate] = False
                if not system.recoverable(trial, targets=[target])[target]:
                    chosen = candidate
                    break
            if chosen is not None:
                break
        if chosen is None:
            # No single cell protects it: hide the cheapest cell sharing an equation with it (a
            # margin before a girls' or boys' cell) and look again.
            direct = sorted(system.direct_neighbours(target, published), key=lambda i: (costs[i], i))
            chosen = direct[0] if direct else candidates[0]
        published[chosen] = False
        added[chosen] = target
    raise RuntimeError("complementary suppression did not converge")


def apply_publication_policy(table: pd.DataFrame, policy: PublicationPolicy, table_keys: Sequence[str],
                             dimensions: Sequence[str],
                             hierarchies: Sequence[DimensionHierarchy] = (),
                             links: IndicatorLinks | None = None) -> pd.DataFrame:
    """Apply the policy, adding ``reliability, suppressed, suppression_reason``.

    ``table_keys`` identify a family of tables a reader can combine (source, territory, period;
    the indicator column, if listed, is ignored so indicators are protected together);
    ``dimensions`` are the breakdown columns holding ``_T`` for totals; ``hierarchies`` declare
    nested dimensions; ``links`` ties indicators to each other (conditional populations,
    mixtures). Masked columns of withheld rows become null; keys and counts are kept.
    """
    missing = [c for c in list(table_keys) + list(dimensions) + ["estimate", "n_unweighted"] if c not in table]
    if missing:
        raise ValueError(f"indicator table lacks columns {missing}")
    links = links or IndicatorLinks()
    result = table.reset_index(drop=True).copy()
    assessment = primary_assessment(result, policy)
    reasons = assessment.reasons
    withheld = assessment.withheld
    if policy.complementary and len(result) and assessment.confidential.any():
        family_keys = [k for k in table_keys if k != policy.indicator_column]
        if policy.indicator_column not in result:
            result[policy.indicator_column] = "_"
        families = result.groupby(family_keys, sort=False, dropna=False).indices if family_keys \
            else {(): np.arange(len(result))}
        for rows in families.values():
            rows = np.asarray(rows)
            if not assessment.confidential[rows].any():
                continue
            part = result.iloc[rows].reset_index(drop=True)
            system = LinkedSystem(part, dimensions, links, hierarchies, policy.indicator_column,
                                  public_size=policy.public_size)
            costs = _complement_cost(part, dimensions, assessment.reliability[rows], policy)
            added = protect_confidential_cells(system, ~withheld[rows], assessment.confidential[rows], costs,
                                               policy.max_trials_per_tier)
            for local, protected in added.items():
                label = cell_label(part.iloc[protected], dimensions, policy.indicator_column)
                reasons[rows[local]].append(f"{COMPLEMENTARY}:{label}")
                withheld[rows[local]] = True
    reliability = assessment.reliability.copy()
    reliability[withheld] = SUPPRESSED
    result["reliability"] = reliability
    result["suppressed"] = withheld
    result["suppression_reason"] = [";".join(row) if row else None for row in reasons]
    for column in MASKED_COLUMNS:
        if column in result:
            result[column] = pd.to_numeric(result[column], errors="coerce").astype(float).where(~withheld)
    return result


def reliable_withheld_as_complement(table: pd.DataFrame) -> pd.DataFrame:
    """Rows withheld only to protect another cell (what protection costs readers)."""
    reason = table["suppression_reason"].fillna("")
    only_complement = reason.str.split(";").map(lambda parts: bool(parts) and all(
        p.startswith(COMPLEMENTARY) for p in parts if p))
    return table[table["suppressed"].astype(bool) & only_complement & (reason != "")]


def links_from_definitions(definitions: Mapping[str, tuple[str, str]]) -> IndicatorLinks:
    return IndicatorLinks.from_definitions(definitions)


# --- why a cell is withheld, in readers' words -------------------------------------------------
# The one vocabulary of withheld-cell reasons: the data dictionary, the site, the CSV bundles and
# the report all read it, so a new or reworded reason changes them together. One entry per reason
# key, most telling first (a cell withheld for several reasons shows the first one it has).


@dataclass(frozen=True)
class Reason:
    """One reason a cell is withheld.

    ``fr`` / ``en``: the full sentence; ``{t}`` is the threshold written in the code itself (the
    one configured in data/indicators.yaml), so a changed threshold never contradicts the text.
    ``fr_short`` / ``en_short``: a few words without any number, for chart labels and the report
    (where every number must come from a traced export row).
    """

    fr: str
    en: str
    fr_short: str
    en_short: str


REASONS: dict[str, Reason] = {
    f"{CONFIDENTIALITY}:n": Reason(
        "secret statistique : moins de {t} répondants, le chiffre pourrait décrire des élèves "
        "identifiables",
        "confidentiality: fewer than {t} respondents, the figure could describe identifiable "
        "pupils",
        "trop peu de répondants", "too few respondents"),
    f"{CONFIDENTIALITY}:schools": Reason(
        "secret statistique : répondants issus de moins de {t} établissements, le chiffre "
        "décrirait un établissement",
        "confidentiality: respondents from fewer than {t} schools, the figure would describe a "
        "school",
        "trop peu d'établissements", "too few schools"),
    COMPLEMENTARY: Reason(
        "secret statistique : masqué pour qu'une autre case confidentielle ne puisse pas être "
        "recalculée",
        "confidentiality: withheld so that another confidential cell cannot be recalculated",
        "secret statistique", "statistical confidentiality"),
    f"{RELIABILITY}:sensitive_n": Reason(
        "fiabilité : indicateur sensible, moins de {t} répondants (règle renforcée)",
        "reliability: sensitive indicator, fewer than {t} respondents (stricter rule)",
        "indicateur sensible, règle renforcée non remplie", "sensitive indicator, stricter rule not met"),
    f"{RELIABILITY}:sensitive_events": Reason(
        "fiabilité : indicateur sensible, moins de {t} « oui » ou « non » (règle renforcée)",
        "reliability: sensitive indicator, fewer than {t} yes or no answers (stricter rule)",
        "indicateur sensible, règle renforcée non remplie", "sensitive indicator, stricter rule not met"),
    f"{RELIABILITY}:no_estimate": Reason(
        "fiabilité : pas d'estimation possible",
        "reliability: no estimate possible",
        "aucune estimation possible", "no estimate possible"),
    f"{RELIABILITY}:n": Reason(
        "fiabilité : moins de {t} répondants (norme NCHS 2017), chiffre trop imprécis",
        "reliability: fewer than {t} respondents (NCHS 2017 standard), too imprecise",
        "trop peu de répondants", "too few respondents"),
    f"{RELIABILITY}:effective_n": Reason(
        "fiabilité : taille d'échantillon effective (répondants ÷ effet de plan) inférieure à {t}",
        "reliability: effective sample size (respondents ÷ design effect) below {t}",
        "trop peu d'information", "too little information"),
    f"{RELIABILITY}:psu": Reason(
        "fiabilité : tous les répondants viennent d'un seul établissement, la précision ne peut "
        "être estimée",
        "reliability: every respondent comes from a single school, precision cannot be estimated",
        "précision impossible à estimer", "precision cannot be estimated"),
    f"{RELIABILITY}:df": Reason(
        "fiabilité : pas assez d'établissements et de strates pour calculer un intervalle",
        "reliability: too few schools and strata to compute an interval",
        "précision impossible à estimer", "precision cannot be estimated"),
    f"{RELIABILITY}:ci_width": Reason(
        "fiabilité : intervalle de confiance trop large (largeur d'au moins {t} sur l'échelle 0-1)",
        "reliability: confidence interval too wide (width at least {t} on the 0-1 scale)",
        "estimation trop imprécise", "estimate too imprecise"),
    f"{RELIABILITY}:relative_ci_width": Reason(
        # No threshold here: "130 %" beside a withheld cell would read as its value.
        "fiabilité : intervalle de confiance trop large par rapport à l'estimation (norme NCHS "
        "2017)",
        "reliability: confidence interval too wide relative to the estimate (NCHS 2017 standard)",
        "estimation trop imprécise", "estimate too imprecise"),
    "not_published_by_source": Reason(
        "valeur non publiée par la source",
        "value not published by the source",
        "non publié par la source", "not published by the source"),
}
REASONS_FR: dict[str, str] = {code: reason.fr for code, reason in REASONS.items()}
# What readers see for a withheld cell whose reason is missing or unknown (never the raw code).
UNSTATED_REASON = Reason(
    "non publié en application des règles de publication",
    "withheld under the publication rules",
    "règles de publication", "publication rules")
# Analysts (explain_reason) also see which cell a complementary suppression protects.
_PROTECTED_CELL = {"fr": "case protégée : {cell}", "en": "protected cell: {cell}"}
_REASON_CODE = re.compile(r"^(?P<key>[a-z_]+(?::[a-z_]+)?)\s*(?:>=|<=|<|>)?\s*(?P<t>.*)$")


def _reason_parts(code: str) -> tuple[str, str]:
    """``reliability:n<30`` -> (``reliability:n``, ``30``); ``complementary:<cell>`` -> (
    ``complementary``, ``<cell>``)."""
    if code.startswith(COMPLEMENTARY + ":"):
        return COMPLEMENTARY, code.split(":", 1)[1]
    found = _REASON_CODE.match(code.strip())
    return (found["key"], found["t"]) if found else (code.strip(), "")


def reason_key(code: str) -> str:
    """The reason's key without its threshold (``confidentiality:schools<3`` -> ...``schools``)."""
    return _reason_parts(code)[0]


def reason_codes(reason: str | None) -> list[str]:
    """The codes of a ``suppression_reason`` (several joined by ``;``)."""
    return [c.strip() for c in (reason or "").split(";") if c.strip()]


def _threshold_words(threshold: str, language: str) -> str:
    """A threshold as readers write it: ``0.3`` -> ``0,3`` and ``130%`` -> ``130 %`` in French."""
    if language == "fr":
        return threshold.replace(".", ",").replace("%", "\u202f%")
    return threshold


def _sentence(reason: Reason, threshold: str, language: str) -> str:
    template = reason.fr if language == "fr" else reason.en
    return template.format(t=_threshold_words(threshold, language))


def explain_reason(reason: str | None, language: str = "fr") -> str | None:
    """Plain-language explanation of every code of a ``suppression_reason``, in French (``fr``)
    or English (``en``), for analysts: an unknown code is shown as it is, and a complementary
    suppression names the cell it protects."""
    if not reason:
        return None
    parts = []
    for code in reason_codes(reason):
        key, threshold = _reason_parts(code)
        entry = REASONS.get(key)
        if entry is None:
            parts.append(code)
        elif key == COMPLEMENTARY:
            parts.append(f"{_sentence(entry, '', language)} ({_PROTECTED_CELL[language].format(cell=threshold)})")
        else:
            parts.append(_sentence(entry, threshold, language))
    return " ; ".join(parts)


def explain_reason_fr(reason: str | None) -> str | None:
    """French explanation of a ``suppression_reason`` (several reasons joined by `` ; ``)."""
    return explain_reason(reason, "fr")


def reader_reason(reason: str | None) -> dict[str, str]:
    """Why a cell is withheld, for readers of the site, the CSV bundles and the report: its most
    telling reason (the first in ``REASONS`` order) as ``fr``/``en`` sentences with the threshold
    and ``fr_short``/``en_short`` words without number. A missing or unknown code reads as
    ``UNSTATED_REASON``, never as the code; the protected cell of a complement is not named."""
    known = [(key, threshold) for key, threshold in map(_reason_parts, reason_codes(reason))
             if key in REASONS]
    if known:
        order = list(REASONS)
        key, threshold = min(known, key=lambda part: order.index(part[0]))
        entry = REASONS[key]
        if key == COMPLEMENTARY:
            threshold = ""
    else:
        entry, threshold = UNSTATED_REASON, ""
    return {"fr": _sentence(entry, threshold, "fr"), "en": _sentence(entry, threshold, "en"),
            "fr_short": entry.fr_short, "en_short": entry.en_short}
