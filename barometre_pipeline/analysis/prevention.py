"""Prevention: is cyberviolence lower where pupils had a prevention session, and did it fall more
in schools that ran a programme?

(a) Pupils who report a prevention session this year against the others: the raw difference of
    ``cv_any`` proportions (two domains of one design) and the odds ratio adjusted for sex and
    grade group (and territory when several territories are pooled in one frame).

(b) A difference in differences between two waves. A school "ran a programme" when at least half
    of its respondents in the LATER wave report a prevention session (:data:`PROGRAMME_RULE`), or
    when it is in a supplied list of programme schools. In each wave the gap
    ``p_programme − p_other`` is a difference of two domains of that wave's design (schools are
    the PSUs); the DiD is ``gap_later − gap_earlier`` =
    ``(p_prog,later − p_prog,earlier) − (p_none,later − p_none,earlier)``, with the two waves as
    independent samples. Schools of the earlier wave not sampled in the later one cannot be
    classified by the rule: they are left out (``earlier_only_schools="exclude"``, default) or
    classified on their own earlier-wave respondents (``"own_wave"``, which assumes a programme
    runs in both years). Schools sampled in both waves make the waves positively correlated, so
    the independent-samples standard error is conservative.

Neither is evidence that prevention works: schools choose to run programmes, pupils who attend
sessions differ from the others. The sentences say "associé à", never "a fait baisser".
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from barometre_pipeline.analysis.effects_table import (
    FLAG_SEPARATOR,
    conform_effects,
    difference_columns,
    join_flags,
    odds_ratio_columns,
)
from barometre_pipeline.analysis.labels import (
    adjustment_phrase,
    french_gap,
    french_number,
    french_point_interval,
    french_points,
)
from barometre_pipeline.analysis.model_frame import (
    ADJUSTMENT_COLUMNS,
    WAREHOUSE_DESIGN,
    DesignColumns,
    as_labels,
    indicator,
    model_columns,
    observed_levels,
    proportion_difference,
    sex_and_grade,
    with_coded_design,
    with_indicators,
)
from barometre_pipeline.analysis.reproducible import one_blas_thread
from barometre_pipeline.stats.comparisons import Difference, difference_independent
from barometre_pipeline.stats.regression import fit_logistic

OUTCOME = "cv_any"
SESSION = "prevention_session"
SCHOOL = "school_id"
TERRITORY = "territory"
# What the models read from a respondents frame, besides the design.
SESSION_COLUMNS: tuple[str, ...] = (OUTCOME, SESSION, TERRITORY, *ADJUSTMENT_COLUMNS)
PROGRAMME_COLUMNS: tuple[str, ...] = (OUTCOME, SESSION, SCHOOL, "period", "source_id")
PROGRAMME_SHARE_THRESHOLD = 0.5
PROGRAMME_RULE = ("établissement « avec programme » : au moins la moitié de ses répondants de la "
                  "vague la plus récente déclarent une séance de prévention")
PROGRAMME_RULE_EN = ("programme school: at least half of its respondents in the later wave report a "
                     "prevention session")


@one_blas_thread
def prevention_session_effects(respondents: pd.DataFrame, source_id: str, territory: str,
                               period: str, *, design: DesignColumns = WAREHOUSE_DESIGN,
                               source_flags: Sequence[str] = ()) -> pd.DataFrame:
    """``PILOT_DIFF_CV_ANY_PREVENTION_SESSION`` (session − no session, raw) and
    ``PILOT_OR_CV_ANY_PREVENTION_SESSION`` (adjusted odds ratio) effect rows."""
    frame = with_indicators(with_coded_design(model_columns(respondents, SESSION_COLUMNS, design),
                                              design), (OUTCOME, SESSION))
    survey = design.design(frame)
    session = (frame[SESSION] == 1).to_numpy()
    no_session = (frame[SESSION] == 0).to_numpy()
    difference = proportion_difference(survey, frame[OUTCOME].to_numpy(), session, no_session)
    n_compared = int((frame[OUTCOME].notna() & frame[SESSION].notna()).sum())
    common = {"source_id": source_id, "source_family": "pilot", "territory": territory,
              "period": period, "exposure": SESSION.upper(), "outcome": OUTCOME.upper(),
              "reference_group": f"{SESSION}=false"}
    rows = [{
        **common, **difference_columns(difference),
        "effect_code": f"PILOT_DIFF_{OUTCOME.upper()}_{SESSION.upper()}",
        "label_fr": "Écart de part de victimes : élèves ayant suivi une séance de prévention moins les autres",
        "label_en": "Difference in victimisation: pupils with a prevention session vs without",
        "measure": "difference", "n_unweighted": n_compared,
        "comparability_group": "PILOT_PREVENTION_SESSION_DIFFERENCE",
        "quality_flags": join_flags(source_flags),
        "interpretation_fr": (
            f"La part de victimes de cyberviolence est {french_gap(float(difference.difference))} "
            "chez les élèves ayant suivi une séance de prévention à celle des autres "
            f"({french_point_interval(float(difference.ci_low), float(difference.ci_high))}), sans "
            "ajustement : une association, qui ne prouve pas un effet des séances."),
    }]
    model_frame, adjustment = sex_and_grade(frame, OUTCOME)
    if TERRITORY in model_frame and model_frame[TERRITORY].dropna().nunique() > 1:
        model_frame[TERRITORY] = as_labels(model_frame[TERRITORY])
        adjustment.add(TERRITORY, sorted(model_frame[TERRITORY].dropna().unique())[0])
    fit = fit_logistic(model_frame, OUTCOME, [SESSION, *adjustment.predictors],
                       reference_levels=adjustment.reference_levels, **design.present(model_frame))
    values = odds_ratio_columns(fit.coefficients, SESSION, fit.df)
    rows.append({
        **common, **values,
        "effect_code": f"PILOT_OR_{OUTCOME.upper()}_{SESSION.upper()}",
        "label_fr": "Rapport de cotes ajusté de cyberviolence : séance de prévention",
        "label_en": "Adjusted odds ratio of cyberviolence: prevention session",
        "measure": "adjusted_odds_ratio", "n_unweighted": fit.n_used,
        "adjusted_for": FLAG_SEPARATOR.join(adjustment.predictors),
        "comparability_group": "PILOT_PREVENTION_SESSION_AOR",
        "quality_flags": join_flags(source_flags, adjustment.flags),
        "interpretation_fr": (
            f"À {adjustment_phrase(adjustment.predictors)} comparables, la cote d'avoir subi une "
            f"cyberviolence est {french_number(values['estimate'])} fois celle des autres chez les "
            f"élèves ayant suivi une séance de prévention (IC 95 % {french_number(values['ci_low'])} "
            f"à {french_number(values['ci_high'])}) : une association, pas la preuve d'un effet."),
    })
    return conform_effects(pd.DataFrame(rows))


def programme_schools_by_rule(later: pd.DataFrame, school: str = SCHOOL,
                              threshold: float = PROGRAMME_SHARE_THRESHOLD) -> dict[str, bool]:
    """School -> ran a programme, from the later wave: share of its respondents (who answered)
    reporting a prevention session ``>= threshold``. Schools with no answer are not classified."""
    session = indicator(later[SESSION])
    codes, names = _school_labels(later[school])
    share = session.groupby(codes).mean().dropna()
    return {names[k]: bool(v >= threshold) for k, v in share.items()}


def _school_labels(schools: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each respondent's school as a code into a list of school ids as text (``astype(str)``:
    a missing id reads "nan"), without one Python string per respondent."""
    if not isinstance(schools.dtype, pd.CategoricalDtype):
        codes, uniques = pd.factorize(schools.astype(str))
        return codes, [str(u) for u in uniques]
    codes = schools.cat.codes.to_numpy().astype(np.int64)
    names = [str(c) for c in np.asarray(schools.cat.categories).astype(str)]
    codes[codes < 0] = len(names)
    return codes, [*names, "nan"]


@one_blas_thread
def programme_difference_in_differences(
    earlier: pd.DataFrame, later: pd.DataFrame, source_id: str, territory: str, *,
    programme_schools: Collection[str] | None = None,
    earlier_only_schools: Literal["exclude", "own_wave"] = "exclude",
    design: DesignColumns = WAREHOUSE_DESIGN, source_flags: Sequence[str] = (),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Difference in differences of ``cv_any``, programme schools vs the others, between waves.

    ``earlier`` / ``later``: the two waves' respondents of one territory. ``programme_schools``:
    school ids known to run a programme (else :data:`PROGRAMME_RULE`). Returns three effect rows:
    ``PILOT_DID_CV_ANY_PROGRAMME_SCHOOL`` (``difference_in_differences``, period
    ``"<earlier>/<later>"``) and, per wave, ``PILOT_DIFF_CV_ANY_PROGRAMME_SCHOOL`` (programme −
    other schools, ``difference``). The rule or list used is in ``reference_group`` and
    ``quality_flags``.
    """
    flags = list(source_flags) + ["VAGUES_NON_INDEPENDANTES"]
    if programme_schools is not None:
        known = {str(s) for s in programme_schools}
        classify_later = classify_earlier = _from_list(known)
        flags.append("PROGRAMME_LISTE_FOURNIE")
        rule = "établissements de la liste fournie (programme de prévention)"
    else:
        by_rule = programme_schools_by_rule(later)
        classify_later = _from_mapping(by_rule)
        own = programme_schools_by_rule(earlier) if earlier_only_schools == "own_wave" else {}
        classify_earlier = _from_mapping({**own, **by_rule})
        flags.append("PROGRAMME_SELON_REGLE")
        rule = PROGRAMME_RULE + (" (établissements absents de la vague récente : classés sur leur "
                                 "propre vague)" if earlier_only_schools == "own_wave" else
                                 " (établissements absents de la vague récente : exclus)")
    periods = [_period(earlier), _period(later)]
    gaps: list[Difference] = []
    arms: list[tuple[float, float]] = []
    rows = []
    for wave, period, classify in ((earlier, periods[0], classify_earlier),
                                   (later, periods[1], classify_later)):
        frame = with_indicators(with_coded_design(model_columns(wave, PROGRAMME_COLUMNS, design),
                                                  design), (OUTCOME,))
        programme = classify(frame[SCHOOL])
        in_programme = (programme == 1).to_numpy()
        other = (programme == 0).to_numpy()
        survey = design.design(frame)
        gap = proportion_difference(survey, frame[OUTCOME].to_numpy(), in_programme, other,
                                    confidence=confidence)
        gaps.append(gap)
        arms.append((_weighted_mean(frame, in_programme, design.weight),
                     _weighted_mean(frame, other, design.weight)))
        observed = frame[OUTCOME].notna().to_numpy()
        rows.append({
            **difference_columns(gap),
            "effect_code": f"PILOT_DIFF_{OUTCOME.upper()}_PROGRAMME_SCHOOL",
            "label_fr": "Écart de part de victimes : établissements avec programme moins les autres",
            "label_en": "Difference in victimisation: programme schools vs other schools",
            "source_id": _source(wave, source_id), "period": period, "measure": "difference",
            "n_unweighted": int((observed & (in_programme | other)).sum()),
            "interpretation_fr": (
                f"En {period}, la part de victimes est {french_gap(float(gap.difference))} dans les "
                "établissements ayant mené un programme à celle des autres établissements "
                f"({french_point_interval(float(gap.ci_low), float(gap.ci_high))}) : une "
                "association, pas la preuve d'un effet du programme."),
        })
    did = difference_independent(gaps[1].difference, gaps[1].se, gaps[0].difference, gaps[0].se,
                                 gaps[1].df, gaps[0].df, confidence=confidence)
    change_programme = arms[1][0] - arms[0][0]
    change_other = arms[1][1] - arms[0][1]
    rows.append({
        **difference_columns(did),
        "effect_code": f"PILOT_DID_{OUTCOME.upper()}_PROGRAMME_SCHOOL",
        "label_fr": "Différence de différences : évolution de la part de victimes, établissements avec programme moins les autres",
        "label_en": "Difference in differences: change in victimisation, programme schools minus other schools",
        "source_id": source_id, "period": f"{periods[0]}/{periods[1]}",
        "measure": "difference_in_differences",
        "n_unweighted": sum(int(r["n_unweighted"]) for r in rows),
        "interpretation_fr": (
            f"Entre {periods[0]} et {periods[1]}, la part de victimes a évolué de "
            f"{french_points(change_programme)} dans les établissements ayant mené un programme et de "
            f"{french_points(change_other)} dans les autres : un écart d'évolution de "
            f"{french_points(float(did.difference))} "
            f"({french_point_interval(float(did.ci_low), float(did.ci_high))}), sans que cela "
            "prouve un effet du programme."),
    })
    for row in rows:
        row.update({"source_family": "pilot", "territory": territory,
                    "exposure": "PROGRAMME_SCHOOL", "outcome": OUTCOME.upper(),
                    "reference_group": f"autres établissements ; {rule}",
                    "comparability_group": "PILOT_PROGRAMME_SCHOOLS",
                    "quality_flags": join_flags(flags)})
    return conform_effects(pd.DataFrame(rows))


def _from_list(known: set[str]):
    def classify(schools: pd.Series) -> pd.Series:
        codes, names = _school_labels(schools)
        per_school = np.array([float(name in known) for name in names])
        return pd.Series(per_school[codes], index=schools.index)
    return classify


def _from_mapping(mapping: dict[str, bool]):
    def classify(schools: pd.Series) -> pd.Series:
        codes, names = _school_labels(schools)
        per_school = np.array([float(mapping[name]) if name in mapping else np.nan for name in names])
        return pd.Series(per_school[codes], index=schools.index)
    return classify


def _weighted_mean(frame: pd.DataFrame, member: np.ndarray, weight: str) -> float:
    values = frame[OUTCOME].to_numpy(dtype=float)
    keep = member & ~np.isnan(values)
    w = frame[weight].to_numpy(dtype=float)[keep]
    return float(np.sum(w * values[keep]) / np.sum(w)) if w.sum() > 0 else float("nan")


def _period(frame: pd.DataFrame) -> str:
    periods = observed_levels(frame, "period")
    if len(periods) != 1:
        raise ValueError(f"a wave must hold exactly one period, got {sorted(periods)}")
    return str(periods[0])


def _source(frame: pd.DataFrame, default: str) -> str:
    if "source_id" in frame:
        ids = observed_levels(frame, "source_id")
        if len(ids) == 1:
            return str(ids[0])
    return default
