"""What readers see instead of codes: withheld-cell reasons, verdicts, dimension values, sources.

Field actors must never meet ``SOURCE_SECONDAIRE``, ``confidentiality:n<5`` or
``pilot_orleans_tours_2025``: every code that reaches a page goes through one of these functions,
in French and English. Territory, sex and family labels come from ``vocabulary``; levels, age
bands, sectors and priority-education codes from ``data/codebook.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from barometre_pipeline import vocabulary as voc
from barometre_pipeline.stats.publication import reader_reason

LANGUAGES = ("fr", "en")


def withheld_reason(reason: str | None) -> dict[str, str]:
    """The plain-language reason of a withheld cell (never the raw code): ``fr``/``en`` for tables,
    ``fr_short``/``en_short`` for chart labels. The words are the publication rules' own
    vocabulary (``stats.publication.REASONS``), shared with the report and the data dictionary."""
    return reader_reason(reason)


RELIABILITY_NOTES: dict[str, dict[str, str]] = {
    "caution": {"fr": "à interpréter avec prudence", "en": "interpret with caution"},
    "unreliable": {"fr": "peu fiable : ordre de grandeur seulement", "en": "unreliable: order of magnitude only"},
}

VERDICTS: dict[str, dict[str, str]] = {
    "higher": {"fr": "pilote plus élevé", "en": "pilot higher"},
    "lower": {"fr": "pilote plus bas", "en": "pilot lower"},
    "not_different": {"fr": "pas de différence démontrée", "en": "no difference shown"},
    "not_comparable": {"fr": "non comparable", "en": "not comparable"},
    "indicative": {"fr": "indicatif : incertitude de la référence inconnue",
                   "en": "indicative: reference uncertainty unknown"},
}

QUALITY_FLAGS: dict[str, dict[str, str]] = {
    "SOURCE_SECONDAIRE": {"fr": "chiffre repris d'une source secondaire (presse, synthèse)",
                          "en": "figure taken from a secondary source (press, review)"},
    "CALCUL_PAR_NOS_SOINS": {"fr": "calculé par nos soins à partir des micro-données publiques",
                             "en": "computed by us from the public microdata"},
    "SYNTHETIQUE": {"fr": "données synthétiques (simulation, aucune réponse réelle)",
                    "en": "synthetic data (simulation, no real answer)"},
}

DIMENSION_NAMES: dict[str, dict[str, str]] = {
    "sex": {"fr": "Sexe", "en": "Sex"},
    "level": {"fr": "Niveau", "en": "Grade"},
    "age_band": {"fr": "Âge", "en": "Age"},
    "grade_group": {"fr": "Cycle", "en": "School stage"},
    "departement": {"fr": "Département", "en": "Département"},
    "sector": {"fr": "Secteur", "en": "Sector"},
    "priority_education": {"fr": "Éducation prioritaire", "en": "Priority education"},
}
DIMENSIONS: tuple[str, ...] = tuple(DIMENSION_NAMES)

EXPOSURES: dict[str, dict[str, str]] = {
    "BULLIED_IN_PERSON": {"fr": "Harcelé(e) en présentiel", "en": "Bullied in person"},
    "grade_group=LYCEE/COLLEGE": {"fr": "Lycée (réf. collège)", "en": "Upper secondary (ref. lower)"},
    "priority_education=REP/HORS": {"fr": "REP (réf. hors éducation prioritaire)", "en": "REP (ref. not priority)"},
    "priority_education=REP+/HORS": {"fr": "REP+ (réf. hors éducation prioritaire)", "en": "REP+ (ref. not priority)"},
    "SCREEN_TIME_HIGH": {"fr": "Écrans 4 h ou plus par jour", "en": "Screens 4 h or more a day"},
    "sex=M/F": {"fr": "Garçons (réf. filles)", "en": "Boys (ref. girls)"},
    "sex=X/F": {"fr": "Autre / ne se prononce pas (réf. filles)", "en": "Other / prefer not to say (ref. girls)"},
    "SMARTPHONE_BEFORE_11": {"fr": "Smartphone avant 11 ans", "en": "Smartphone before age 11"},
    "SOCIAL_MEDIA_BEFORE_13": {"fr": "Réseau social avant 13 ans", "en": "Social media before age 13"},
    "PREVENTION_SESSION": {"fr": "Séance de prévention suivie", "en": "Attended a prevention session"},
    "PROGRAMME_SCHOOL": {"fr": "Établissement avec programme", "en": "School with a programme"},
    "CV_ANY": {"fr": "Victimes de cyberviolence", "en": "Cyberviolence victims"},
    "CV_ANY&BULLIED_IN_PERSON": {"fr": "Victimes de cyberviolence et de harcèlement en présentiel",
                                 "en": "Victims of cyberviolence and in-person bullying"},
}
OUTCOMES: dict[str, dict[str, str]] = {
    "CV_ANY": {"fr": "cyberviolence subie", "en": "cyberviolence experienced"},
    "WHO5_LOW": {"fr": "bien-être faible (OMS-5)", "en": "low wellbeing (WHO-5)"},
    "FEELS_UNSAFE": {"fr": "sentiment d'insécurité", "en": "feeling unsafe"},
    "SLEEP_PROBLEMS": {"fr": "troubles du sommeil", "en": "sleep problems"},
    "SELF_HARM_IDEATION": {"fr": "idées d'automutilation", "en": "self-harm ideation"},
}
MEASURES: dict[str, dict[str, str]] = {
    "adjusted_odds_ratio": {"fr": "rapport de cotes ajusté", "en": "adjusted odds ratio"},
    "odds_ratio": {"fr": "rapport de cotes", "en": "odds ratio"},
    "difference": {"fr": "écart (points de %)", "en": "difference (percentage points)"},
    "difference_in_differences": {"fr": "différence de différences (points de %)",
                                  "en": "difference in differences (percentage points)"},
    "correlation": {"fr": "corrélation", "en": "correlation"},
}


def codebook_values(codebook: Mapping, variable: str) -> dict[str, dict[str, str]]:
    """{code: {"fr", "en"}} of one coded variable of the codebook (English falls back to French)."""
    values = ((codebook.get("variables") or {}).get(variable) or {}).get("values") or {}
    out = {}
    for code, entry in values.items():
        fr = str(entry.get("fr", code))
        out[str(code)] = {"fr": fr, "en": str(entry.get("en") or fr)}
    return out


def dimension_values(codebook: Mapping) -> dict[str, dict[str, dict[str, str]]]:
    """Labels of every dimension value readers can meet, total included."""
    total = {"fr": "Ensemble", "en": "All"}
    sex = {code: dict(labels) for code, labels in voc.SEX_LABELS.items()}
    age = {code: {"fr": v["fr"], "en": v["fr"].replace(" ans et plus", "+ years").replace(" ans", " years")}
           for code, v in codebook_values(codebook, "age_band").items()}
    deps = {code: {"fr": f"{name} ({code})", "en": f"{name} ({code})"} for code, name in voc.DEPARTEMENT_LABELS.items()}
    grade = codebook_values(codebook, "grade_group")
    out = {
        "sex": sex,
        "level": codebook_values(codebook, "level"),
        "age_band": age,
        "grade_group": grade,
        "departement": deps,
        "sector": codebook_values(codebook, "sector"),
        "priority_education": codebook_values(codebook, "priority_education"),
    }
    for values in out.values():
        values.setdefault(voc.TOTAL, total)
        values.setdefault(voc.UNKNOWN, {"fr": "Non renseigné", "en": "Not answered"})
    return out


def level_order(codebook: Mapping) -> dict[str, dict]:
    """Each level's system (FR / QC), grade group and order, for sorting and filter menus."""
    values = ((codebook.get("variables") or {}).get("level") or {}).get("values") or {}
    return {str(code): {"system": v.get("system"), "grade_group": v.get("grade_group"), "order": v.get("order", 0)}
            for code, v in values.items()}


def territory_label(code: str, language: str) -> str:
    """Label of a territory code, also for sub-territories such as ``FR-37`` or ``CA-QC-02``."""
    if code in voc.TERRITORY_LABELS:
        return voc.label(voc.TERRITORY_LABELS, code, language)
    if code.startswith("FR-") and code[3:] in voc.DEPARTEMENT_LABELS:
        return voc.DEPARTEMENT_LABELS[code[3:]]
    if code == "FR-MET":
        return "France métropolitaine" if language == "fr" else "Metropolitan France"
    if code.startswith("CA-QC-"):
        return (f"Québec, région {code[6:]}" if language == "fr" else f"Quebec, region {code[6:]}")
    if code == "CA-ON":
        return "Ontario"
    return code


def short_publisher(publisher: str | None) -> str:
    """The publisher's name without its parenthesised or ';'-separated details."""
    text = (publisher or "").split(" (")[0].split(" ; ")[0].strip()
    return text or (publisher or "")


_REASON_PARTS = re.compile(r" ; (?![^\[]*\])")  # "; " outside "[a ; b]" intervals
_GROUP_DETAIL = re.compile(r"\s*\(groupe [^)]*\)")
_CODE_TOKEN = re.compile(r"\b[A-Z][A-Z0-9]+(?:_[A-Z0-9+]+)+\b|\b[a-z0-9]+(?:_[a-z0-9]+)+\b")


def comparison_reason(reason: str | None) -> dict[str, str]:
    """A comparison's reason for readers: comparability-group codes and variable names removed,
    quality flags spelled out. French is the export's own wording; English lists the kinds of
    difference it names (the export has no English reason)."""
    kept = []
    for part in _REASON_PARTS.split(reason or ""):
        part = _GROUP_DETAIL.sub("", part).strip()
        for flag, text in QUALITY_FLAGS.items():
            part = part.replace(flag, text["fr"])
        if part and not _CODE_TOKEN.search(part):
            kept.append(part)
    french = " ; ".join(kept)
    english = []
    lowered = (reason or "").lower()
    for marker, text in (("définitions différentes", "different definitions"),
                         ("items ou mode de mesure", "different items or measurement"),
                         ("période de référence", "different reference period"),
                         ("population", "different population"),
                         ("périodes différentes", "different survey years"),
                         ("territoire", "different territory"),
                         ("intervalle de la référence non publié", "reference interval not published"),
                         ("source_secondaire", "secondary source")):
        if marker in lowered:
            english.append(text)
    return {"fr": french, "en": "; ".join(english) or "see the French note"}
