"""Derived canonical variables (codebook `derived: true`), computed the same way for every source.

A source may map a derived variable directly (a public survey that only publishes `cv_any`, say):
the mapped value is then kept and not recomputed.
"""

from __future__ import annotations

import pandas as pd

from barometre_pipeline.staging.codebook import Codebook

CV_ITEMS = (
    "cv_insults", "cv_nicknames", "cv_rumours", "cv_humiliating_media", "cv_intimate_images",
    "cv_sexual_solicitation", "cv_threats", "cv_identity_theft", "cv_exclusion", "cv_harassment",
)
LOW_WELLBEING_BELOW = 13  # WHO-5 raw score < 13 is the usual screening cut-off for low wellbeing
HIGH_SCREEN_TIME_HOURS = 4
EARLY_SMARTPHONE_BEFORE = 11


def _any_at_least(items: pd.DataFrame, threshold: int) -> pd.Series:
    """True if any answered item reaches the threshold; False only if all items are answered and none
    does; unknown otherwise (a pupil who skipped items is not counted as a non-victim)."""
    reached = (items >= threshold).fillna(False).any(axis=1)
    complete = items.notna().all(axis=1)
    return reached.astype("boolean").mask(~reached & ~complete, pd.NA)


def _age_band(age: pd.Series) -> pd.Series:
    bands = pd.cut(age.astype("float64"), bins=[-1, 12, 14, 16, 99],
                   labels=["11-12", "13-14", "15-16", "17+"])
    return bands.astype("string")


def add_derived_variables(staged: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    out = staged.copy()
    items = [c for c in CV_ITEMS if c in out]
    if items and "cv_any" not in out:
        out["cv_any"] = _any_at_least(out[items].astype("Float64"), 1)
    if items and "cv_repeated" not in out:
        repeated = _any_at_least(out[items].astype("Float64"), 2)
        if "cv_harassment" in out:
            repeated = repeated | (out["cv_harassment"].astype("Float64") >= 1)
        out["cv_repeated"] = repeated.astype("boolean")
    if items and "cv_count" not in out:
        out["cv_count"] = (out[items].astype("Float64") >= 1).sum(axis=1).astype("Int64")
    if "level" in out and "grade_group" not in out:
        out["grade_group"] = out["level"].map(codebook.level_attribute("grade_group")).astype("string")
    if "age" in out and "age_band" not in out:
        out["age_band"] = _age_band(out["age"])
    if "first_smartphone_age" in out and "smartphone_before_11" not in out:
        out["smartphone_before_11"] = (
            out["first_smartphone_age"].astype("Float64") < EARLY_SMARTPHONE_BEFORE).astype("boolean")
    if "screen_time_hours" in out and "screen_time_high" not in out:
        out["screen_time_high"] = (
            out["screen_time_hours"].astype("Float64") >= HIGH_SCREEN_TIME_HOURS).astype("boolean")
    if "who5_score" in out and "who5_low" not in out:
        out["who5_low"] = (out["who5_score"].astype("Float64") < LOW_WELLBEING_BELOW).astype("boolean")
    return out
