"""The effects table: one schema for every effect, measured on the pilot or published.

A pilot adjusted odds ratio, a wave-to-wave difference and an odds ratio from a meta-analysis
sit in the same table so the site and the report can set them side by side. ``counterpart`` links them:
on a pilot row it lists the literature effect codes measuring the same ``outcome|exposure``; on a
literature row it holds the staged ``pilot_counterpart`` key (``"WHO5_LOW|CV_ANY"``).

Conventions:

- ``estimate`` is on the natural scale of ``measure``: an odds ratio, a correlation, or a
  difference of proportions (0..1 scale, ``0.03`` = 3 points).
- ``se`` of a ratio (``odds_ratio``, ``adjusted_odds_ratio``) is on the log scale: the interval
  is ``exp(log(estimate) ± t·se)``. Elsewhere it is on the scale of the estimate.
- ``df`` is the t reference degrees of freedom; null (or infinite) means a normal reference.
- Lists inside a cell (``adjusted_for``, ``quality_flags``) are ``|``-separated;
  ``counterpart`` lists effect codes separated by ``;``.
- ``cell`` is ``_T`` for the whole population, else ``dimension=level`` pairs separated by ``;``
  (wave differences are computed in every published cell of the indicators table).
- A suppressed row keeps its keys and counts and has no estimate (as in the indicators contract).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from barometre_pipeline.analysis.labels import french_number
from barometre_pipeline.stats.comparisons import benjamini_hochberg

MEASURES = ("adjusted_odds_ratio", "odds_ratio", "difference", "difference_in_differences",
            "correlation")
RATIO_MEASURES = frozenset({"adjusted_odds_ratio", "odds_ratio"})
TOTAL = "_T"
SIGNIFICANCE_LEVEL = 0.05
FLAG_SEPARATOR = "|"
COUNTERPART_SEPARATOR = ";"

# The columns asked for by the analysis brief, in order, then `cell`, `significant`, `suppressed`
# appended (compatible additions: rows stay unique per cell, and suppression stays explicit).
EFFECT_COLUMNS: tuple[str, ...] = (
    "effect_code", "label_fr", "label_en", "source_id", "source_family", "territory", "period",
    "exposure", "outcome", "measure", "estimate", "se", "ci_low", "ci_high", "p_value", "df",
    "n_unweighted", "adjusted_for", "reference_group", "comparability_group", "counterpart",
    "interpretation_fr", "quality_flags", "provenance", "cell", "significant", "suppressed",
    "q_value",
)
EFFECT_KEY: tuple[str, ...] = ("effect_code", "source_id", "territory", "period", "cell")
_FLOAT_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "p_value", "df", "q_value")

# Quality flags set by the analysis (the sources' own flags, e.g. SYNTHETIQUE, are carried too).
QUALITY_FLAGS: dict[str, tuple[str, str]] = {
    "SEXE_X_EXCLU_EFFECTIF_FAIBLE": ("Élèves « autre » sexe exclus du modèle : effectif trop faible",
                                     "Pupils of sex 'other' left out of the model: too few"),
    "SUPPRIME_SENSIBLE": ("Non publié : indicateur sensible et moins de N répondants par groupe",
                          "Withheld: sensitive outcome with fewer than N respondents per group"),
    "SUPPRIME_EFFECTIF": ("Non publié : moins de N répondants dans un groupe comparé",
                          "Withheld: fewer than N respondents in a compared group"),
    "MODELE_NON_ESTIMABLE": ("Modèle non estimable (séparation ou effectifs insuffisants)",
                             "Model could not be fitted (separation or too few respondents)"),
    "SE_DERIVEE_DE_L_IC": ("Erreur type déduite de l'intervalle publié (approximation normale)",
                           "Standard error derived from the published interval (normal approximation)"),
    "PROGRAMME_SELON_REGLE": ("Établissements « avec programme » : au moins la moitié des répondants de la vague récente déclarent une séance",
                              "Programme schools: at least half of the later wave's respondents report a session"),
    "PROGRAMME_LISTE_FOURNIE": ("Établissements « avec programme » : liste fournie",
                                "Programme schools: list supplied"),
    "VAGUES_NON_INDEPENDANTES": ("Établissements communs aux deux vagues : erreur type prudente (vagues traitées comme indépendantes)",
                                 "Schools shared by both waves: conservative standard error (waves treated as independent)"),
}


def empty_effects() -> pd.DataFrame:
    return conform_effects(pd.DataFrame(columns=list(EFFECT_COLUMNS)))


def conform_effects(df: pd.DataFrame) -> pd.DataFrame:
    """Effect rows in :data:`EFFECT_COLUMNS` order and types; missing columns become null.

    ``cell`` defaults to ``_T``, ``suppressed`` to false. The pilot's tests form four families
    (:func:`effect_family`: wave differences, risk factors, impacts, prevention); ``q_value`` is
    the Benjamini–Hochberg adjusted p-value within each, and ``significant`` is ``q_value < 0.05``
    where a q-value exists, ``p_value < 0.05`` otherwise (literature effects); null without a
    p-value or when suppressed. Raises on an unknown ``measure`` or a repeated
    effect key.
    """
    table = df.reindex(columns=list(EFFECT_COLUMNS)).reset_index(drop=True)
    for column in _FLOAT_COLUMNS:
        table[column] = pd.to_numeric(table[column], errors="coerce").astype("float64")
    table["n_unweighted"] = pd.to_numeric(table["n_unweighted"], errors="coerce").round().astype("Int64")
    table["cell"] = table["cell"].fillna(TOTAL)
    table["suppressed"] = table["suppressed"].astype("boolean").fillna(False).astype(bool)
    families = pd.Series([effect_family(c, f) for c, f in
                          zip(table["effect_code"], table["source_family"], strict=True)], index=table.index)
    table["q_value"] = np.nan
    testable = families.notna() & table["p_value"].notna() & ~table["suppressed"]
    for _, rows in table[testable].groupby(families[testable]).groups.items():
        table.loc[rows, "q_value"] = benjamini_hochberg(table.loc[rows, "p_value"].to_numpy(float))
    significant = table["significant"].astype("boolean")
    computed = pd.Series(table["p_value"] < SIGNIFICANCE_LEVEL, dtype="boolean")
    computed[table["p_value"].isna() | table["suppressed"]] = pd.NA
    significant = significant.fillna(computed)
    by_q = table["q_value"].notna()
    significant[by_q] = (table.loc[by_q, "q_value"] < SIGNIFICANCE_LEVEL).astype("boolean")
    table["significant"] = significant
    text_columns = [c for c in EFFECT_COLUMNS if c not in _FLOAT_COLUMNS
                    and c not in ("n_unweighted", "suppressed", "significant")]
    for column in text_columns:
        table[column] = table[column].astype("string")
    unknown = set(table["measure"].dropna()) - set(MEASURES)
    if unknown or table["measure"].isna().any():
        raise ValueError(f"unknown effect measure(s): {sorted(unknown) or ['<null>']}")
    duplicated = table.duplicated(list(EFFECT_KEY), keep=False)
    if duplicated.any():
        keys = table.loc[duplicated, list(EFFECT_KEY)].drop_duplicates().head(5).to_dict("records")
        raise ValueError(f"effect rows are not unique on {EFFECT_KEY}: {keys}")
    return table


def effect_family(effect_code: object, source_family: object) -> str | None:
    """The multiple-testing family of a pilot effect row (None: literature, not adjusted)."""
    code = str(effect_code or "")
    if str(source_family) != "pilot":
        return None
    if code.startswith("PILOT_WAVE_"):
        return "wave_differences"
    if "PREVENTION_SESSION" in code or "PROGRAMME_SCHOOL" in code:
        return "prevention"
    if code.startswith("PILOT_OR_CV_ANY_"):
        return "risk_factors"
    return "impacts"


def join_flags(*groups: object) -> str | None:
    """``|``-joined flags without repeats; accepts strings (already joined) and iterables."""
    flags: list[str] = []
    for group in groups:
        if group is None or (isinstance(group, float) and math.isnan(group)):
            continue
        items = group.split(FLAG_SEPARATOR) if isinstance(group, str) else list(group)  # type: ignore[call-overload]
        flags.extend(str(f).strip() for f in items if str(f).strip())
    return FLAG_SEPARATOR.join(dict.fromkeys(flags)) or None


def counterpart_key(outcome: object, exposure: object) -> str:
    """The ``outcome|exposure`` key used by the crosswalk's ``pilot_counterpart``."""
    return f"{outcome}|{exposure}"


_UNIT_MEASURES = {"odds_ratio": "odds_ratio", "adjusted_odds_ratio": "adjusted_odds_ratio",
                  "correlation": "correlation"}


def literature_effects(staged_effects: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Rows of ``staging.scientific_effects`` (or any staged effects source) as effect rows.

    ``effect_code`` is the publication's own code (``source_indicator_code``: unique per figure,
    whereas ``indicator_code`` is shared by meta-analyses measuring the same thing). Rows whose
    unit is not an odds ratio or a correlation are left out. For ratios with a published
    interval, ``se`` (log scale) and ``p_value`` are derived from the interval.
    """
    if staged_effects.empty:
        return empty_effects()
    table = staged_effects[staged_effects["unit"].isin(list(_UNIT_MEASURES))].copy()
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    rows = []
    for record in table.to_dict("records"):
        measure = _UNIT_MEASURES[str(record["unit"])]
        estimate, low, high = (_float(record.get(c)) for c in ("estimate", "ci_low", "ci_high"))
        se = p_value = math.nan
        flags = [record.get("quality_flags")]
        if measure in RATIO_MEASURES and low > 0 and high > 0 and estimate > 0:
            se = (math.log(high) - math.log(low)) / (2 * z)
            p_value = float(2 * stats.norm.sf(abs(math.log(estimate)) / se)) if se > 0 else math.nan
            flags.append(["SE_DERIVEE_DE_L_IC"])
        code = _text(record.get("source_indicator_code")) or _text(record.get("indicator_code"))
        rows.append({
            "effect_code": code,
            "label_fr": _text(record.get("indicator_label_fr")) or code,
            "label_en": None,
            "source_id": record.get("source_id"),
            "source_family": record.get("source_family") or "scientific",
            "territory": record.get("territory"),
            "period": record.get("period"),
            "exposure": record.get("exposure"),
            "outcome": record.get("outcome"),
            "measure": measure,
            "estimate": estimate, "se": se, "ci_low": low, "ci_high": high, "p_value": p_value,
            "df": math.nan,
            "n_unweighted": record.get("n_unweighted"),
            "adjusted_for": None,
            "reference_group": None,
            "comparability_group": record.get("comparability_group"),
            "counterpart": _text(record.get("pilot_counterpart")) or None,
            "interpretation_fr": _literature_sentence(record, measure, estimate, low, high),
            "quality_flags": join_flags(*flags),
            "provenance": None,
            "cell": TOTAL,
        })
    return conform_effects(pd.DataFrame(rows))


def _literature_sentence(record: dict, measure: str, estimate: float, low: float, high: float) -> str:
    name = {"odds_ratio": "rapport de cotes", "adjusted_odds_ratio": "rapport de cotes ajusté",
            "correlation": "corrélation"}[measure]
    interval = (f" (IC 95 % {french_number(low)} à {french_number(high)})"
                if not (math.isnan(low) or math.isnan(high)) else "")
    source = ", ".join(t for t in (_text(record.get("publisher")), _text(record.get("publication_year"))) if t)
    return (f"Chiffre publié{f' ({source})' if source else ''} : {name} de {french_number(estimate)}"
            f"{interval} ; une association observée dans les études, pas la preuve d'un lien de cause "
            "à effet.")


def link_counterparts(effects: pd.DataFrame) -> pd.DataFrame:
    """Fill ``counterpart`` on pilot odds-ratio rows with the literature codes of the same key.

    A pilot row ``outcome=WHO5_LOW, exposure=CV_ANY`` gets every literature effect whose
    ``counterpart`` is ``"WHO5_LOW|CV_ANY"`` and whose measure is a ratio (an odds ratio can be
    set next to an odds ratio, not next to a difference of points or a correlation). Other rows
    are returned unchanged.
    """
    table = conform_effects(effects)
    literature = table[(table["source_family"] != "pilot") & table["counterpart"].notna()
                       & table["measure"].isin(list(RATIO_MEASURES))]
    codes_by_key: dict[str, list[str]] = {}
    for key, code in zip(literature["counterpart"], literature["effect_code"], strict=True):
        codes_by_key.setdefault(str(key), []).append(str(code))
    pilot_ratio = (table["source_family"] == "pilot") & table["measure"].isin(list(RATIO_MEASURES))
    keys = [counterpart_key(o, e) for o, e in zip(table["outcome"], table["exposure"], strict=True)]
    linked = [COUNTERPART_SEPARATOR.join(sorted(set(codes_by_key.get(k, [])))) or None for k in keys]
    table["counterpart"] = table["counterpart"].where(
        ~pilot_ratio, pd.Series(linked, index=table.index, dtype="string"))
    return table


def _float(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return number if np.isfinite(number) else math.nan


def _text(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def odds_ratio_columns(coefficients: pd.DataFrame, term: str, df: float) -> dict[str, float]:
    """Effect columns of one term of a :class:`~barometre_pipeline.stats.regression.LogisticFit`."""
    row = coefficients.set_index("term").loc[term]
    return {"estimate": float(row["odds_ratio"]), "se": float(row["se"]),
            "ci_low": float(row["or_ci_low"]), "ci_high": float(row["or_ci_high"]),
            "p_value": float(row["p_value"]), "df": float(df)}


def difference_columns(result: object) -> dict[str, float]:
    """Effect columns of a scalar :class:`~barometre_pipeline.stats.comparisons.Difference`."""
    return {"estimate": float(result.difference), "se": float(result.se),  # type: ignore[attr-defined]
            "ci_low": float(result.ci_low), "ci_high": float(result.ci_high),  # type: ignore[attr-defined]
            "p_value": float(result.p_value), "df": float(result.df)}  # type: ignore[attr-defined]


def suppressed_columns() -> dict[str, float]:
    return dict.fromkeys(_FLOAT_COLUMNS, math.nan)
