"""What cyberviolence goes with for young people: victims compared with non-victims.

For each outcome (low WHO-5 wellbeing, feeling unsafe, sleep problems, self-harm or suicidal
ideation) two effects are measured on the whole design:

- the difference of proportions, victims minus non-victims (both groups are domains of the same
  design, so the variance comes from the linearised difference, not from ``se1² + se2²``);
- the odds ratio adjusted for sex and grade group (survey logistic regression).

The same two effects are measured for pupils victims of both cyberviolence and in-person bullying
against pupils victims of neither: the contrast of Li et al. (2022)'s "both" group.

``absence_because`` (missed school because of it) is asked to victims only: there is no
non-victim group to compare with, so it has no row here (its prevalence among victims is an
indicator, ``ABSENCE_VICTIMS``).

Sensitive outcomes (self-harm ideation) are published only with at least 100 respondents in each
compared group (the catalogue's ``sensitive_min_n_unweighted``), other outcomes with at least 30;
below that the row keeps its keys and counts, has no estimate and is marked suppressed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from barometre_pipeline.analysis.effects_table import (
    FLAG_SEPARATOR,
    conform_effects,
    difference_columns,
    join_flags,
    odds_ratio_columns,
    suppressed_columns,
)
from barometre_pipeline.analysis.labels import (
    adjustment_phrase,
    french_gap,
    french_number,
    french_point_interval,
    variable_label,
)
from barometre_pipeline.analysis.model_frame import (
    ADJUSTMENT_COLUMNS,
    WAREHOUSE_DESIGN,
    DesignColumns,
    indicator,
    model_columns,
    proportion_difference,
    sex_and_grade,
    with_coded_design,
    with_indicators,
)
from barometre_pipeline.analysis.reproducible import one_blas_thread
from barometre_pipeline.stats.regression import ConvergenceError, fit_logistic

IMPACT_OUTCOMES: tuple[str, ...] = ("who5_low", "feels_unsafe", "sleep_problems", "self_harm_ideation")
SENSITIVE_OUTCOMES = frozenset({"self_harm_ideation"})
# Asked to victims only: no comparison group, hence no victim/non-victim effect.
VICTIMS_ONLY_OUTCOMES = frozenset({"absence_because"})
MIN_GROUP_N = 30
SENSITIVE_MIN_GROUP_N = 100
EXPOSURE_COLUMN = "_exposure"
# What the models read from a respondents frame, besides the design.
COLUMNS: tuple[str, ...] = ("cv_any", "bullied_in_person", *IMPACT_OUTCOMES, *ADJUSTMENT_COLUMNS)


@dataclass(frozen=True)
class Contrast:
    """An exposed group against a reference group (rows in neither are outside the contrast)."""

    code: str  # as in the crosswalk's pilot_counterpart: CV_ANY, CV_ANY&BULLIED_IN_PERSON
    variable: str  # key of labels.VARIABLES
    reference_fr: str

    def groups(self, frame: pd.DataFrame) -> pd.Series:
        """1.0 exposed, 0.0 reference, NaN outside the contrast (or unknown)."""
        victim = indicator(frame["cv_any"])
        if self.code == "CV_ANY":
            return victim
        bullied = indicator(frame["bullied_in_person"])
        both = (victim == 1) & (bullied == 1)
        neither = (victim == 0) & (bullied == 0)
        return pd.Series(np.where(both, 1.0, np.where(neither, 0.0, np.nan)), index=frame.index)


CONTRASTS: tuple[Contrast, ...] = (
    Contrast("CV_ANY", "cv_any", "cv_any=false"),
    Contrast("CV_ANY&BULLIED_IN_PERSON", "cv_any&bullied_in_person",
             "cv_any=false & bullied_in_person=false"),
)


@one_blas_thread
def impact_effects(respondents: pd.DataFrame, source_id: str, territory: str, period: str, *,
                   design: DesignColumns = WAREHOUSE_DESIGN, source_flags: Sequence[str] = (),
                   outcomes: Sequence[str] = IMPACT_OUTCOMES,
                   min_group_n: int = MIN_GROUP_N,
                   sensitive_min_group_n: int = SENSITIVE_MIN_GROUP_N) -> pd.DataFrame:
    """Victims vs non-victims, per outcome: a ``difference`` row and an ``adjusted_odds_ratio``
    row (:data:`EFFECT_COLUMNS`), for each contrast of :data:`CONTRASTS` the source supports.

    Effect codes: ``PILOT_DIFF_<OUTCOME>_<EXPOSURE>`` and ``PILOT_OR_<OUTCOME>_<EXPOSURE>``, e.g.
    ``PILOT_OR_WHO5_LOW_CV_ANY`` (``outcome|exposure`` = the literature's ``pilot_counterpart``).
    """
    unknown = set(outcomes) & VICTIMS_ONLY_OUTCOMES
    if unknown:
        raise ValueError(f"{sorted(unknown)} are asked to victims only: no non-victim comparison")
    rows: list[dict] = []
    respondents = with_coded_design(
        model_columns(respondents, ("cv_any", "bullied_in_person", *outcomes, *ADJUSTMENT_COLUMNS),
                      design), design)
    for contrast in CONTRASTS:
        needed = {"cv_any"} | ({"bullied_in_person"} if "&" in contrast.code else set())
        if not needed <= set(respondents.columns):
            continue
        groups = contrast.groups(respondents)  # the same for every outcome
        for outcome in outcomes:
            if outcome not in respondents:
                continue
            rows += _outcome_rows(respondents, contrast, groups, outcome, design,
                                  sensitive_min_group_n if outcome in SENSITIVE_OUTCOMES else min_group_n)
    for row in rows:
        row.update({"source_id": source_id, "source_family": "pilot", "territory": territory,
                    "period": period, "quality_flags": join_flags(source_flags, row.get("quality_flags"))})
    return conform_effects(pd.DataFrame(rows))


def _outcome_rows(respondents: pd.DataFrame, contrast: Contrast, groups: pd.Series, outcome: str,
                  design: DesignColumns, min_group_n: int) -> list[dict]:
    frame = with_indicators(respondents, (outcome,))
    frame[EXPOSURE_COLUMN] = groups
    observed = frame[outcome].notna()
    exposed_n = int((observed & (frame[EXPOSURE_COLUMN] == 1)).sum())
    reference_n = int((observed & (frame[EXPOSURE_COLUMN] == 0)).sum())
    n_unweighted = exposed_n + reference_n
    sensitive = outcome in SENSITIVE_OUTCOMES
    common = {
        "exposure": contrast.code, "outcome": outcome.upper(), "reference_group": contrast.reference_fr,
        "n_unweighted": n_unweighted,
    }
    label = variable_label(outcome)
    exposure_label = variable_label(contrast.variable)
    difference_row = {
        **common,
        "effect_code": f"PILOT_DIFF_{outcome.upper()}_{contrast.code}",
        "label_fr": f"Écart de proportion ({label.fr}) : {exposure_label.group_fr} moins les autres",
        "label_en": f"Difference in proportion ({label.en}): {exposure_label.en} vs not",
        "measure": "difference", "comparability_group": "PILOT_IMPACT_DIFFERENCE",
    }
    ratio_row = {
        **common,
        "effect_code": f"PILOT_OR_{outcome.upper()}_{contrast.code}",
        "label_fr": f"Rapport de cotes ajusté ({label.fr}) : {exposure_label.fr}",
        "label_en": f"Adjusted odds ratio ({label.en}): {exposure_label.en}",
        "measure": "adjusted_odds_ratio", "comparability_group": "PILOT_IMPACT_AOR_SEX_GRADE",
    }
    if min(exposed_n, reference_n) < min_group_n:
        flag = "SUPPRIME_SENSIBLE" if sensitive else "SUPPRIME_EFFECTIF"
        reason = (f"Non publié : moins de {min_group_n} répondants dans un groupe comparé "
                  f"({exposed_n} exposés, {reference_n} non exposés)"
                  f"{' pour un indicateur sensible' if sensitive else ''}.")
        for row in (difference_row, ratio_row):
            row.update(suppressed_columns(), suppressed=True, quality_flags=flag, interpretation_fr=reason)
        return [difference_row, ratio_row]

    survey = design.design(frame)
    exposed = (frame[EXPOSURE_COLUMN] == 1).to_numpy()
    reference = (frame[EXPOSURE_COLUMN] == 0).to_numpy()
    difference = proportion_difference(survey, frame[outcome].to_numpy(), exposed, reference)
    difference_row.update(difference_columns(difference), adjusted_for=None)
    difference_row["interpretation_fr"] = (
        f"La part d'élèves concernés ({label.fr}) est {french_gap(float(difference.difference))} "
        f"chez {exposure_label.group_fr} à celle des autres élèves "
        f"({french_point_interval(float(difference.ci_low), float(difference.ci_high))}) : "
        "une association, qui ne dit pas ce qui est cause ou conséquence.")

    model_frame, adjustment = sex_and_grade(frame, outcome)
    predictors = [EXPOSURE_COLUMN, *adjustment.predictors]
    try:
        fit = fit_logistic(model_frame, outcome, predictors, reference_levels=adjustment.reference_levels,
                           **design.present(model_frame))
    except (ConvergenceError, ValueError, np.linalg.LinAlgError):
        ratio_row.update(suppressed_columns(), suppressed=True, quality_flags="MODELE_NON_ESTIMABLE",
                         interpretation_fr="Rapport de cotes non estimable sur ces données.")
        return [difference_row, ratio_row]
    values = odds_ratio_columns(fit.coefficients, EXPOSURE_COLUMN, fit.df)
    ratio_row.update(values, n_unweighted=fit.n_used,
                     adjusted_for=FLAG_SEPARATOR.join(adjustment.predictors),
                     quality_flags=join_flags(adjustment.flags))
    ratio_row["interpretation_fr"] = (
        f"À {adjustment_phrase(adjustment.predictors)} comparables, la cote de « {label.fr} » est "
        f"{french_number(values['estimate'])} fois celle des autres élèves chez {exposure_label.group_fr} "
        f"(IC 95 % {french_number(values['ci_low'])} à {french_number(values['ci_high'])}) : "
        "une association, pas la preuve d'un effet causal.")
    return [difference_row, ratio_row]
