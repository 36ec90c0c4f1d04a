"""Which vectors and factors go with cybervictimisation: survey-weighted adjusted odds ratios.

One logistic model of ``cv_any`` on sex (reference girls), grade group (or level), early
smartphone, early social media, high screen time, in-person bullying and, in France, priority
education. Each term's odds ratio is adjusted for all the others; its standard error is the
design-based sandwich (strata, schools as PSUs, fpc), so the interval reflects the clustering.

School context. In-person bullying, and cyberviolence, are both more frequent in some schools
(school climate): a pupil-level odds ratio that ignores it mixes "this pupil is bullied" with
"this pupil is in a school where many are". By default the model also holds each risk factor's
share among the school's respondents (a Mundlak-type contextual adjustment, one coefficient per
factor), so each pupil-level odds ratio reads "à établissement comparable". On the synthetic
pilot, whose generator ties in-person bullying to the school's random intercept, this moves the
bullying odds ratio from 3.8 to 3.5 (planted, within school: 3.0; population-averaged: 3.2).
``school_context=False`` gives the population-averaged odds ratios.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from barometre_pipeline.analysis.effects_table import (
    FLAG_SEPARATOR,
    conform_effects,
    empty_effects,
    join_flags,
    odds_ratio_columns,
)
from barometre_pipeline.analysis.labels import (
    adjustment_phrase,
    french_number,
    level_label,
    variable_label,
)
from barometre_pipeline.analysis.model_frame import (
    ADJUSTMENT_COLUMNS,
    WAREHOUSE_DESIGN,
    DesignColumns,
    as_labels,
    has_variation,
    model_columns,
    sex_and_grade,
    with_coded_design,
    with_indicators,
)
from barometre_pipeline.analysis.reproducible import one_blas_thread
from barometre_pipeline.stats.regression import INTERCEPT, fit_logistic

OUTCOME = "cv_any"
RISK_FACTORS: tuple[str, ...] = ("smartphone_before_11", "social_media_before_13",
                                 "screen_time_high", "bullied_in_person")
PRIORITY_EDUCATION = "priority_education"
PRIORITY_EDUCATION_REFERENCE = "HORS"
SCHOOL_SHARE_PREFIX = "school_share_"
# What the model reads from a respondents frame, besides the design.
COLUMNS: tuple[str, ...] = (OUTCOME, *RISK_FACTORS, PRIORITY_EDUCATION, *ADJUSTMENT_COLUMNS)
COMPARABILITY_GROUP = "PILOT_AOR_RISK_FACTORS_CV_ANY"
_DUMMY = re.compile(r"^(?P<variable>[^\[]+)\[(?P<level>.+)\]$")


@one_blas_thread
def risk_factor_odds_ratios(respondents: pd.DataFrame, source_id: str, territory: str,
                            period: str, *, design: DesignColumns = WAREHOUSE_DESIGN,
                            source_flags: Sequence[str] = (),
                            school_context: bool = True) -> pd.DataFrame:
    """Adjusted odds ratios of ``cv_any``, one effect row per model term (:data:`EFFECT_COLUMNS`).

    ``respondents``: one source's staged respondents with the design columns (by default
    ``final_weight, stratum, psu, fpc``). Priority education enters only where the column has
    at least two observed levels (France); a risk factor absent from the source is left out and
    named in ``quality_flags`` (``FACTEUR_ABSENT_<name>``). With ``school_context`` (and a PSU
    column) the school shares of the risk factors are adjusted for (``school_share_<factor>`` in
    ``adjusted_for``) and get no row of their own.
    """
    frame = with_indicators(with_coded_design(model_columns(respondents, COLUMNS, design), design),
                            (OUTCOME, *RISK_FACTORS))
    frame, adjustment = sex_and_grade(frame, OUTCOME)
    for factor in RISK_FACTORS:
        if has_variation(frame, factor):
            adjustment.add(factor)
        else:
            adjustment.flags.append(f"FACTEUR_ABSENT_{factor.upper()}")
    if has_variation(frame, PRIORITY_EDUCATION):
        frame[PRIORITY_EDUCATION] = as_labels(frame[PRIORITY_EDUCATION])
        levels = sorted(frame[PRIORITY_EDUCATION].dropna().unique())
        reference = PRIORITY_EDUCATION_REFERENCE if PRIORITY_EDUCATION_REFERENCE in levels else levels[0]
        adjustment.add(PRIORITY_EDUCATION, reference)
    if not adjustment.predictors:
        return empty_effects()
    exposures = list(adjustment.predictors)
    if school_context and design.psu is not None and design.psu in frame:
        for factor in [f for f in RISK_FACTORS if f in exposures]:
            share = f"{SCHOOL_SHARE_PREFIX}{factor}"
            frame[share] = frame.groupby(design.psu, dropna=False)[factor].transform("mean")
            adjustment.add(share)
    fit = fit_logistic(frame, OUTCOME, adjustment.predictors,
                       reference_levels=adjustment.reference_levels, **design.present(frame))

    rows = []
    flags = join_flags(source_flags, adjustment.flags)
    for term in fit.coefficients["term"]:
        if term == INTERCEPT:
            continue
        variable, level = _split_term(term)
        if variable not in exposures:
            continue
        others = [p for p in adjustment.predictors if p != variable]
        values = odds_ratio_columns(fit.coefficients, term, fit.df)
        rows.append({
            **_describe(variable, level, adjustment.reference_levels.get(variable)),
            **values,
            "source_id": source_id, "source_family": "pilot", "territory": territory,
            "period": period, "outcome": OUTCOME.upper(), "measure": "adjusted_odds_ratio",
            "n_unweighted": fit.n_used, "adjusted_for": FLAG_SEPARATOR.join(others),
            "comparability_group": COMPARABILITY_GROUP, "quality_flags": flags,
            "interpretation_fr": _sentence(variable, level, values, others),
        })
    return conform_effects(pd.DataFrame(rows))


def _split_term(term: str) -> tuple[str, str | None]:
    match = _DUMMY.match(term)
    return (match["variable"], match["level"]) if match else (term, None)


def _code_part(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", text.upper().replace("+", "_PLUS")).strip("_")


def _describe(variable: str, level: str | None, reference: str | None) -> dict[str, str | None]:
    """Codes and labels of one term. A categorical exposure reads ``sex=M/F`` (level/reference),
    the form the literature crosswalk uses in ``pilot_counterpart``."""
    if level is None:
        label = variable_label(variable)
        exposure = variable.upper()
        return {"effect_code": f"PILOT_OR_{OUTCOME.upper()}_{exposure}", "exposure": exposure,
                "reference_group": f"{variable}=false",
                "label_fr": f"Rapport de cotes ajusté de cyberviolence : {label.fr}",
                "label_en": f"Adjusted odds ratio of cyberviolence: {label.en}"}
    level_fr, level_en = level_label(variable, level)
    reference_fr, reference_en = level_label(variable, str(reference))
    return {"effect_code": f"PILOT_OR_{OUTCOME.upper()}_{_code_part(variable)}_{_code_part(level)}",
            "exposure": f"{variable}={level}/{reference}", "reference_group": f"{variable}={reference}",
            "label_fr": f"Rapport de cotes ajusté de cyberviolence : {level_fr} (réf. {reference_fr})",
            "label_en": f"Adjusted odds ratio of cyberviolence: {level_en} (ref. {reference_en})"}


def _sentence(variable: str, level: str | None, values: dict[str, float], others: list[str]) -> str:
    subject = variable_label(variable).group_fr if level is None else level_label(variable, level)[0]
    ratio = values["estimate"]
    direction = "plus élevée" if ratio >= 1 else "plus faible"
    adjusted = adjustment_phrase(others, frozenset(RISK_FACTORS))
    return (f"À {adjusted} comparables, la cote d'avoir subi une cyberviolence est {direction} chez "
            f"{subject} (rapport de cotes {french_number(ratio)}, IC 95 % "
            f"{french_number(values['ci_low'])} à {french_number(values['ci_high'])}) : "
            "une association, pas la preuve d'une cause.")

