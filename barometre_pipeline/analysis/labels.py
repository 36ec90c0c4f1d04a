"""Words for the analysis rows: variable labels in French and English, French number format.

The sentences of ``interpretation_fr`` are read by people who will act on them; every one says
"associé à", never "cause" or "entraîne", because a cross-sectional survey shows associations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class VariableLabel:
    fr: str  # noun phrase: "compte sur un réseau social avant 13 ans"
    en: str
    group_fr: str  # the exposed group as a subject: "les élèves ayant eu un compte ..."


VARIABLES: dict[str, VariableLabel] = {
    "cv_any": VariableLabel("avoir subi au moins une cyberviolence", "having experienced cyberviolence",
                            "les victimes de cyberviolence"),
    "cv_any&bullied_in_person": VariableLabel(
        "cyberviolence et harcèlement en présentiel", "both cyberviolence and in-person bullying",
        "les élèves victimes à la fois de cyberviolence et de harcèlement en présentiel"),
    "smartphone_before_11": VariableLabel("smartphone avant 11 ans", "smartphone before age 11",
                                          "les élèves ayant eu un smartphone avant 11 ans"),
    "social_media_before_13": VariableLabel(
        "compte sur un réseau social avant 13 ans", "social media account before age 13",
        "les élèves ayant eu un compte sur un réseau social avant 13 ans"),
    "screen_time_high": VariableLabel("temps d'écran élevé", "high screen time",
                                      "les élèves ayant un temps d'écran élevé"),
    "bullied_in_person": VariableLabel("harcèlement en présentiel", "in-person bullying",
                                       "les élèves harcelés en présentiel"),
    "prevention_session": VariableLabel("séance de prévention", "prevention session",
                                        "les élèves ayant suivi une séance de prévention"),
    "who5_low": VariableLabel("bien-être faible (OMS-5)", "low wellbeing (WHO-5)",
                              "les élèves au bien-être faible"),
    "feels_unsafe": VariableLabel("sentiment d'insécurité", "feeling unsafe",
                                  "les élèves ne se sentant pas en sécurité"),
    "sleep_problems": VariableLabel("troubles du sommeil", "sleep problems",
                                    "les élèves ayant des troubles du sommeil"),
    "self_harm_ideation": VariableLabel("idées d'automutilation ou suicidaires",
                                        "self-harm or suicidal ideation",
                                        "les élèves ayant des idées d'automutilation ou suicidaires"),
    "absence_because": VariableLabel("absence à cause des faits", "missed school because of it",
                                     "les victimes absentes à cause des faits"),
}

CATEGORY_LEVELS: dict[str, dict[str, tuple[str, str]]] = {
    "sex": {"F": ("filles", "girls"), "M": ("garçons", "boys"), "X": ("élèves se déclarant « autre »", "pupils answering 'other'")},
    "grade_group": {"COLLEGE": ("collégiens", "lower secondary"), "LYCEE": ("lycéens", "upper secondary")},
    "priority_education": {"HORS": ("hors éducation prioritaire", "outside priority education"),
                           "REP": ("élèves en REP", "REP priority education"),
                           "REP+": ("élèves en REP+", "REP+ priority education")},
    "territory": {"FR-OT": ("académie d'Orléans-Tours", "Orléans-Tours"), "CA-QC": ("Québec", "Québec")},
}


def variable_label(variable: str) -> VariableLabel:
    if variable in VARIABLES:
        return VARIABLES[variable]
    text = variable.replace("_", " ")
    return VariableLabel(text, text, f"les élèves ({text})")


def level_label(variable: str, level: str) -> tuple[str, str]:
    """French and English words for one level of a categorical variable."""
    labels = CATEGORY_LEVELS.get(variable, {})
    return labels.get(level, (f"{variable} = {level}", f"{variable} = {level}"))


def french_number(value: float, digits: int = 2) -> str:
    """``3.456`` -> ``"3,46"``; the minus sign is the typographic one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n.d."
    text = f"{value:.{digits}f}".replace(".", ",")
    return text.replace("-", "−")


def french_points(value: float, digits: int = 1) -> str:
    """A difference of proportions in percentage points, signed: ``-0.031`` -> ``"−3,1 points"``."""
    sign = "+" if value > 0 else ""
    return f"{sign}{french_number(100 * value, digits)} point{'s' if abs(100 * value) >= 2 else ''}"


def french_percent(value: float, digits: int = 1) -> str:
    return f"{french_number(100 * value, digits)} %"


_ADJUSTMENT_WORDS = {"sex": "sexe", "grade_group": "niveau", "level": "niveau",
                     "priority_education": "éducation prioritaire", "territory": "territoire"}


def adjustment_phrase(variables: list[str], risk_factors: frozenset[str] = frozenset()) -> str:
    """``["sex", "grade_group", "screen_time_high", "school_share_x"]`` ->
    ``"sexe, niveau, autres facteurs et contexte de l'établissement"``."""
    words: list[str] = []
    for variable in variables:
        if variable in risk_factors:
            word = "autres facteurs"
        elif variable.startswith("school_share_"):
            word = "contexte de l'établissement"
        else:
            word = _ADJUSTMENT_WORDS.get(variable, variable.replace("_", " "))
        if word not in words:
            words.append(word)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} et {words[-1]}"


def french_gap(value: float, digits: int = 1) -> str:
    """``0.248`` -> ``"supérieure de 24,8 points"``; ``-0.03`` -> ``"inférieure de 3,0 points"``."""
    word = "supérieure" if value >= 0 else "inférieure"
    return f"{word} de {french_number(100 * abs(value), digits)} points"


def french_point_interval(low: float, high: float, digits: int = 1) -> str:
    """``(-0.01, 0.03)`` -> ``"IC 95 % −1,0 à +3,0 points"``."""
    def signed(value: float) -> str:
        return ("+" if value > 0 else "") + french_number(100 * value, digits)
    return f"IC 95 % {signed(low)} à {signed(high)} points"
