"""Pilot estimates set beside the published series (DEPP, HBSC, ISQ, Statistics Canada...).

:func:`compare_pilot_with_history` pairs every published pilot cell (``source_family ==
"pilot"``, not suppressed) with each public or scientific row of the consolidated ``indicators``
table that carries the same ``indicator_code``, the same ``sex`` and the same ``grade_group``, and
returns one comparison row per pair.

Which cells are paired
    Pilot cells: ``level``, ``age_band``, ``departement``, ``sector`` and ``priority_education``
    at the total ``_T``; ``grade_group`` COLLEGE, LYCEE or ``_T``. Published rows: the same, except
    that a ``level`` of COLLEGE / LYCEE is read as that grade group (publishers report "collège" as
    a level). ``_U`` counts as "not broken down" in a column that is ``_U`` / ``_T`` on every row
    of that indicator and source (pilot indicators outside the département / sector breakdown
    sets). Proportions only are compared with proportions (``unit`` equal where both give one).

Which territories are paired, best match first (``territory_relation``, output order)
    0 ``same_territory`` (CA-QC pilot with CA-QC figures);
    1 ``pilot_within_reference`` (FR-OT pilot with France or metropolitan France, CA-QC pilot with
    Canada: the pilot is one territory within the reference, the reason says so) and
    ``reference_within_pilot`` (a département of the académie, a Québec region);
    2 ``international`` (``INT``: HBSC averages, reviews), compared with both pilots.
    Rows of unrelated countries (US YRBS for a French or Québec pilot) are not paired.

Verdict (``verdict``, French label in ``verdict_fr``, explanation in ``reason``)
    ``not_comparable``: the comparability groups differ (``same_definition`` false). The definitions
    measure different things (reference period school year vs 12 months vs 2 months, population
    11/13/15-year-olds vs pupils, items); no test is made and ``reason`` lists the differences
    read from the crosswalk's group definitions.
    The pilot's third sex option ("autre / préfère ne pas répondre") is never the same population
    as a publisher's trans or non-binary group (or any other "X" row): such pairs are
    ``not_comparable``.
    Otherwise the difference ``pilot − reference`` is tested with the reference's own sampling
    error (``reference_uncertainty``):

    - ``published_interval``: the reference's ``se``, or its published 95 % interval read as
      width / (2 × 1.96);
    - ``binomial_with_deff``: the source gives its sample size n only: se = sqrt(p(1 − p) / n ×
      deff), deff from ``reference_uncertainty`` in the crosswalk (per source, else its default,
      documented there);
    - ``unknown``: neither; no test is made and the verdict is ``indicative`` ("indicatif :
      incertitude de la référence inconnue"), with the position of the published value against
      the pilot's interval given in ``reason`` as a description only.

    Tested pairs: two-sided z test on the difference of two independent samples,
    ``se_difference = sqrt(se_pilot² + se_reference²)``
    (:func:`barometre_pipeline.stats.comparisons.difference_independent`). All tested pairs form
    one family: ``q_value`` is the Benjamini–Hochberg adjusted p-value within it, and the verdict
    uses the q-value (significant when q < 1 − ``level``).

    ``difference`` (pilot − reference) is filled for every pair, as a description only: for a
    not_comparable pair it is no evidence of anything.

    ``higher`` / ``lower``: the pilot is significantly above / below the reference (q-value);
    ``not_different``: no significant difference; ``indicative``: the reference's uncertainty is
    unknown; ``not_tested``: the pilot cell has neither a standard error nor an interval (should
    not happen for a published cell).

A significant difference between a territorial pilot in 2025 and a national survey of 2021-2022
mixes territory and time; the reason states both whenever they differ.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from barometre_pipeline.stats.comparisons import benjamini_hochberg, difference_independent

TOTAL = "_T"
UNKNOWN = "_U"
GRADE_GROUPS = ("COLLEGE", "LYCEE")
REFERENCE_FAMILIES = ("public", "scientific")
# Dimensions a compared cell must not be broken down by (sex and grade group are matched).
UNMATCHED_DIMENSIONS = ("age_band", "departement", "sector", "priority_education")

COMPARISON_COLUMNS: tuple[str, ...] = (
    "indicator_code", "territory_pilot", "period_pilot", "source_id_pilot", "estimate_pilot",
    "ci_low_pilot", "ci_high_pilot", "source_id_reference", "territory_reference",
    "period_reference", "estimate_reference", "ci_low_reference", "ci_high_reference", "sex",
    "grade_group", "comparability_group_pilot", "comparability_group_reference", "same_definition",
    "difference", "se_difference", "verdict", "verdict_fr", "reason",
    # Appended after the columns of the brief: how the pair was matched and tested.
    "territory_relation", "p_value", "test", "q_value", "reference_uncertainty",
)
PUBLISHED_INTERVAL = "published_interval"
BINOMIAL_WITH_DEFF = "binomial_with_deff"
UNKNOWN_UNCERTAINTY = "unknown"
# The pilot's third sex option is not a gender-identity category.
NOT_SAME_POPULATION_SEX = ("X",)

VERDICT_LABELS_FR: dict[str, str] = {
    "not_comparable": "Non comparable (définitions différentes)",
    "higher": "Pilote significativement plus élevé que la référence",
    "lower": "Pilote significativement plus bas que la référence",
    "not_different": "Pas de différence significative",
    "not_tested": "Non testé (incertitude du pilote inconnue)",
    "indicative": "indicatif : incertitude de la référence inconnue",
}

# Territories that contain a territory beyond what its code says (FR-OT is not a prefix of FR-37).
_ACADEMIE_OT_DEPARTEMENTS = ("FR-18", "FR-28", "FR-36", "FR-37", "FR-41", "FR-45")
EXTRA_PARENTS: dict[str, tuple[str, ...]] = {
    "FR-OT": ("FR-MET",),
    **{d: ("FR-OT", "FR-MET") for d in _ACADEMIE_OT_DEPARTEMENTS},
}
INTERNATIONAL = "INT"

TERRITORY_NAMES_FR: dict[str, str] = {
    "FR": "France", "FR-MET": "France métropolitaine", "FR-OT": "académie d'Orléans-Tours",
    "CA": "Canada", "CA-QC": "Québec", "INT": "ensemble international",
}

# What the pilot questionnaires measure (domain brief): used when the pilot's group has no
# definition in the crosswalk (CV_REPEATED_PILOT...).
PILOT_REFERENCE_PERIOD: dict[str, str] = {"FR-OT": "année scolaire", "CA-QC": "12 derniers mois"}
PILOT_POPULATION: dict[str, str] = {
    "FR-OT": "élèves de la 6e à la terminale (environ 11-18 ans)",
    "CA-QC": "élèves de secondaire 1 à 5 (environ 12-17 ans)",
}

# Reference period named in a group definition, first match wins.
_PERIOD_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"12 derniers mois", re.I), "12 derniers mois"),
    (re.compile(r"deux derniers mois|2 derniers mois", re.I), "2 derniers mois"),
    (re.compile(r"année scolaire", re.I), "année scolaire"),
    (re.compile(r"au cours de la vie", re.I), "vie entière"),
    (re.compile(r"non bornée", re.I), "non bornée"),
)
# Population named in a group definition: ages, US grades or adults.
_POPULATION_PATTERN = re.compile(
    r"\d+(?:, \d+)* et \d+ ans|\d+-\d+ ans|\d+ ans et plus|grades \d+-\d+|adultes", re.I)


def _not_broken_down(cells: pd.DataFrame, dimension: str) -> pd.Series:
    """Rows whose ``dimension`` is the total, or ``_U`` in a table never broken down by it.

    Pilot indicators outside the département / sector breakdown sets come out of consolidation
    with ``_U`` (unknown) in those columns on every row: for them ``_U`` means "all pupils".
    """
    values = _column(cells, dimension).astype(object).where(lambda v: v.notna(), TOTAL).astype(str)
    unused = values.isin([TOTAL, UNKNOWN]).groupby(
        [cells["indicator_code"], cells["source_id"]]).transform("all")
    return (values == TOTAL) | ((values == UNKNOWN) & unused)


def _column(table: pd.DataFrame, name: str, default: Any = None) -> pd.Series:
    return table[name] if name in table else pd.Series(default, index=table.index, dtype=object)


def _normalised_cells(table: pd.DataFrame) -> pd.DataFrame:
    """Keep cells not broken down beyond sex × grade group; read level COLLEGE/LYCEE as grade group."""
    cells = table.copy()
    level = _column(cells, "level", TOTAL).fillna(TOTAL).astype(str)
    grade_group = _column(cells, "grade_group", TOTAL).fillna(TOTAL).astype(str)
    level_is_group = level.isin(GRADE_GROUPS) & (grade_group.isin([TOTAL]) | (grade_group == level))
    cells["grade_group"] = grade_group.where(~level_is_group, level)
    cells["level"] = level.where(~level_is_group, TOTAL)
    cells["sex"] = _column(cells, "sex", TOTAL).fillna(TOTAL).astype(str)
    keep = (cells["level"] == TOTAL) & cells["grade_group"].isin((*GRADE_GROUPS, TOTAL))
    for dimension in UNMATCHED_DIMENSIONS:
        keep &= _not_broken_down(cells, dimension)
    return cells[keep]


def _ancestors(territory: str) -> set[str]:
    """Territories containing ``territory``: code prefixes (CA-QC-02 ⊂ CA-QC ⊂ CA) and known parents."""
    parts = territory.split("-")
    found = {"-".join(parts[:i]) for i in range(1, len(parts))}
    for parent in EXTRA_PARENTS.get(territory, ()):
        found |= {parent} | _ancestors(parent)
    return found


def territory_relation(pilot: str, reference: str) -> tuple[int, str] | None:
    """(rank, relation) of a reference territory to a pilot territory; None = not to be paired."""
    if reference == pilot:
        return 0, "same_territory"
    if reference in _ancestors(pilot):
        return 1, "pilot_within_reference"
    if pilot in _ancestors(reference):
        return 1, "reference_within_pilot"
    if reference == INTERNATIONAL:
        return 2, "international"
    return None


def _territory_name(code: str) -> str:
    return TERRITORY_NAMES_FR.get(code, code)


def _territory_note(relation: str, pilot: str, reference: str) -> str | None:
    if relation == "pilot_within_reference":
        return (f"le pilote ({_territory_name(pilot)}) porte sur un territoire inclus dans celui de "
                f"la référence ({_territory_name(reference)}) : un écart peut être territorial")
    if relation == "reference_within_pilot":
        return (f"la référence ({_territory_name(reference)}) ne couvre qu'une partie du "
                f"territoire du pilote ({_territory_name(pilot)})")
    if relation == "international":
        return (f"référence internationale ({reference}), qui ne mesure pas le territoire du "
                f"pilote ({_territory_name(pilot)}) en particulier")
    return None


def _group_definitions(crosswalk: Mapping | None) -> dict[str, str]:
    groups = (crosswalk or {}).get("groups") or {}
    return {str(code): str(text) for code, text in groups.items()}


def _reference_period(definition: str | None) -> str | None:
    for pattern, label in _PERIOD_PATTERNS:
        if definition and pattern.search(definition):
            return label
    return None


def _population(definition: str | None) -> str | None:
    found = _POPULATION_PATTERN.search(definition or "")
    return found.group(0) if found else None


def definition_differences(pilot_group: str | None, reference_group: str | None,
                           pilot_territory: str, definitions: Mapping[str, str]) -> list[str]:
    """Why two comparability groups are not the same measure, in French, most telling first."""
    pilot_definition = definitions.get(pilot_group or "")
    reference_definition = definitions.get(reference_group or "")
    reasons = [f"définitions différentes (groupe {pilot_group} pour le pilote, "
               f"{reference_group} pour la référence)"]
    pilot_period = (_reference_period(pilot_definition)
                    or PILOT_REFERENCE_PERIOD.get(pilot_territory))
    reference_period = _reference_period(reference_definition)
    if reference_period and pilot_period and reference_period != pilot_period:
        reasons.append(f"période de référence : {reference_period} pour la référence, "
                       f"{pilot_period} pour le pilote")
    reference_population = _population(reference_definition)
    pilot_population = PILOT_POPULATION.get(pilot_territory)
    if reference_population and reference_population != _population(pilot_definition):
        reasons.append(f"population : {reference_population} pour la référence"
                       + (f", {pilot_population} pour le pilote" if pilot_population else ""))
    if len(reasons) == 1:
        reasons.append("items ou mode de mesure différents")
    if reference_definition:
        reasons.append(f"définition de la référence : {reference_definition}")
    return reasons


def _se_from_interval(low: np.ndarray, high: np.ndarray, level: float) -> np.ndarray:
    # A published 95 % interval is read as symmetric normal: se = width / (2 z).
    return (high - low) / (2 * stats.norm.ppf(0.5 + level / 2))


def _candidate_pairs(indicators: pd.DataFrame) -> pd.DataFrame:
    family = indicators["source_family"].astype(str)
    suppressed = _column(indicators, "suppressed", False).fillna(False).astype(bool)
    has_estimate = pd.to_numeric(indicators["estimate"], errors="coerce").notna()
    pilot = _normalised_cells(indicators[(family == "pilot") & ~suppressed & has_estimate])
    reference = _normalised_cells(
        indicators[family.isin(REFERENCE_FAMILIES) & ~suppressed & has_estimate])
    columns = ["indicator_code", "source_id", "territory", "period", "sex", "grade_group",
               "estimate", "se", "ci_low", "ci_high", "unit", "comparability_group",
               "quality_flags", "n_unweighted"]
    pilot = pilot.reindex(columns=columns)
    reference = reference.reindex(columns=columns)
    pairs = pilot.merge(reference, on=["indicator_code", "sex", "grade_group"],
                        suffixes=("_pilot", "_reference"))
    same_unit = (pairs["unit_pilot"].isna() | pairs["unit_reference"].isna()
                 | (pairs["unit_pilot"] == pairs["unit_reference"]))
    pairs = pairs[same_unit].reset_index(drop=True)
    relations = [territory_relation(str(p), str(r)) for p, r in
                 zip(pairs["territory_pilot"], pairs["territory_reference"], strict=True)]
    pairs["_rank"] = [r[0] if r else None for r in relations]
    pairs["territory_relation"] = [r[1] if r else None for r in relations]
    return pairs[pairs["territory_relation"].notna()].reset_index(drop=True)


def reference_design_effects(crosswalk: Mapping | None) -> tuple[float, dict[str, float]]:
    """(default design effect, per-source design effects) for references that give only n."""
    block = (crosswalk or {}).get("reference_uncertainty") or {}
    default = float(block.get("default_design_effect", DEFAULT_REFERENCE_DEFF))
    per_source = {str(k): float(v) for k, v in (block.get("design_effects") or {}).items()}
    return default, per_source


# Used only when the crosswalk declares none (see data/reference/indicator_crosswalk.yaml).
DEFAULT_REFERENCE_DEFF = 2.0


def _test_pairs(pairs: pd.DataFrame, level: float, crosswalk: Mapping | None = None) -> pd.DataFrame:
    """difference, se_difference, p_value, test, reference_uncertainty and direction of every pair."""
    number = {c: pd.to_numeric(pairs[c], errors="coerce").to_numpy(dtype=float) for c in (
        "estimate_pilot", "se_pilot", "ci_low_pilot", "ci_high_pilot", "estimate_reference",
        "se_reference", "ci_low_reference", "ci_high_reference", "n_unweighted_reference")}
    se_pilot = np.where(np.isfinite(number["se_pilot"]), number["se_pilot"],
                        _se_from_interval(number["ci_low_pilot"], number["ci_high_pilot"], level))
    published = np.where(
        np.isfinite(number["se_reference"]), number["se_reference"],
        _se_from_interval(number["ci_low_reference"], number["ci_high_reference"], level))
    default_deff, deffs = reference_design_effects(crosswalk)
    deff = np.array([deffs.get(str(s), default_deff) for s in pairs["source_id_reference"]], dtype=float)
    p_reference, n_reference = number["estimate_reference"], number["n_unweighted_reference"]
    with np.errstate(invalid="ignore", divide="ignore"):
        binomial = np.sqrt(p_reference * (1 - p_reference) / n_reference * deff)
    has_published = np.isfinite(published)
    has_binomial = ~has_published & np.isfinite(binomial) & (n_reference > 0)
    se_reference = np.where(has_published, published, np.where(has_binomial, binomial, np.nan))
    uncertainty = np.where(has_published, PUBLISHED_INTERVAL,
                           np.where(has_binomial, BINOMIAL_WITH_DEFF, UNKNOWN_UNCERTAINTY))
    difference = number["estimate_pilot"] - p_reference
    two_sample = np.isfinite(se_pilot) & np.isfinite(se_reference)
    tested = difference_independent(number["estimate_pilot"], np.where(two_sample, se_pilot, 1.0),
                                    p_reference, np.where(two_sample, se_reference, 0.0),
                                    confidence=level)
    pilot_known = np.isfinite(se_pilot) | (np.isfinite(number["ci_low_pilot"])
                                           & np.isfinite(number["ci_high_pilot"]))
    test = np.where(two_sample, "z_independent",
                    np.where(pilot_known, "none_reference_uncertainty_unknown", "none"))
    return pd.DataFrame({
        "difference": difference,
        "se_difference": np.where(two_sample, tested.se, np.nan),
        "p_value": np.where(two_sample, tested.p_value, np.nan),
        "test": test, "reference_uncertainty": uncertainty,
        "_position": np.where(p_reference < number["ci_low_pilot"], 1,
                              np.where(p_reference > number["ci_high_pilot"], -1, 0)),
    })


def _percent(value: float) -> str:
    return f"{100 * value:.1f} %".replace(".", ",")


def _verdict(row: Mapping[str, Any], definitions: Mapping[str, str], level: float) -> tuple[str, str]:
    notes: list[str] = []
    if not row["same_definition"]:
        verdict = "not_comparable"
        if str(row["sex"]) in NOT_SAME_POPULATION_SEX:
            notes.append("populations différentes : la modalité « autre / préfère ne pas répondre » "
                         "du pilote n'est pas le groupe trans ou non binaire (ni aucun autre groupe) "
                         "de la référence")
        else:
            notes += definition_differences(row["comparability_group_pilot"],
                                            row["comparability_group_reference"],
                                            str(row["territory_pilot"]), definitions)
    elif row["test"] == "none":
        verdict = "not_tested"
        notes.append("ni erreur type ni intervalle pour la cellule du pilote")
    elif row["test"] != "z_independent":
        verdict = "indicative"
        confidence = f"{100 * level:g} %".replace(".", ",")
        position = {1: "sous", -1: "au-dessus de", 0: "dans"}[int(row["_position"])]
        notes.append(
            f"même définition ; ni intervalle, ni erreur type, ni taille d'échantillon publiés "
            f"pour la référence : aucun test (la valeur publiée, {_percent(row['estimate_reference'])}, "
            f"est {position} l'intervalle de confiance à {confidence} du pilote "
            f"[{_percent(row['ci_low_pilot'])} ; {_percent(row['ci_high_pilot'])}], à titre descriptif)")
    else:
        verdict = {1: "higher", -1: "lower", 0: "not_different"}[int(row["_direction"])]
        source = ("déduite de son intervalle publié" if row["reference_uncertainty"] == PUBLISHED_INTERVAL
                  else "binomiale sur sa taille d'échantillon publiée, multipliée par un effet de "
                  "plan documenté")
        notes.append(f"même définition ; test z sur la différence de deux échantillons "
                     f"indépendants (erreur type de la référence {source}), p = {row['p_value']:.3g}, "
                     f"q (Benjamini-Hochberg) = {row['q_value']:.3g}")
    territory = _territory_note(str(row["territory_relation"]), str(row["territory_pilot"]),
                                str(row["territory_reference"]))
    if territory:
        notes.append(territory)
    if str(row["period_pilot"]) != str(row["period_reference"]):
        notes.append(f"périodes différentes (pilote {row['period_pilot']}, référence "
                     f"{row['period_reference']}) : un écart mêle évolution dans le temps et "
                     f"différence de territoire ou de population")
    flags = row.get("quality_flags_reference")
    if isinstance(flags, str) and flags.strip():
        notes.append(f"référence signalée : {flags.strip()}")
    return verdict, " ; ".join(notes)


def compare_pilot_with_history(indicators: pd.DataFrame, crosswalk: Mapping | None = None,
                               *, level: float = 0.95) -> pd.DataFrame:
    """One row per (published pilot cell, published reference row) pair; see the module docstring.

    ``indicators`` is the consolidated table (export contract v1 columns; only indicator_code,
    source_id, source_family, territory, period, the dimension columns, estimate, se, ci_low,
    ci_high, unit, suppressed, comparability_group and quality_flags are read). ``crosswalk`` is
    the parsed data/reference/indicator_crosswalk.yaml; its ``groups`` definitions explain why two
    groups differ (without it the reason names the groups only).
    """
    pairs = _candidate_pairs(indicators)
    if pairs.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COMPARISON_COLUMNS})
    pairs["same_definition"] = (pairs["comparability_group_pilot"].notna()
                                & (pairs["comparability_group_pilot"]
                                   == pairs["comparability_group_reference"])
                                & ~pairs["sex"].astype(str).isin(NOT_SAME_POPULATION_SEX)).astype(bool)
    pairs = pd.concat([pairs, _test_pairs(pairs, level, crosswalk)], axis=1)
    # One family: every same-definition pair actually tested.
    family = pairs["same_definition"] & (pairs["test"] == "z_independent")
    pairs["q_value"] = np.nan
    pairs.loc[family, "q_value"] = benjamini_hochberg(pairs.loc[family, "p_value"].to_numpy(float))
    significant = family & (pairs["q_value"] < 1 - level)
    pairs["_direction"] = np.where(significant, np.sign(pairs["difference"]), 0).astype(int)
    definitions = _group_definitions(crosswalk)
    verdicts = [_verdict(row, definitions, level) for row in pairs.to_dict("records")]
    pairs["verdict"] = [v for v, _ in verdicts]
    pairs["reason"] = [r for _, r in verdicts]
    pairs["verdict_fr"] = pairs["verdict"].map(VERDICT_LABELS_FR)
    # Tests ran on every pair for speed; a non-comparable pair has no difference to test.
    not_comparable = pairs["verdict"] == "not_comparable"
    pairs.loc[not_comparable, ["se_difference", "p_value", "q_value"]] = np.nan
    pairs.loc[not_comparable, "test"] = "none"
    pairs = pairs.sort_values(["indicator_code", "territory_pilot", "period_pilot", "sex",
                               "grade_group", "_rank", "source_id_reference", "period_reference"],
                              kind="stable")
    return pairs.reindex(columns=list(COMPARISON_COLUMNS)).reset_index(drop=True)
