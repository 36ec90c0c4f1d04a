"""Respondent frames ready for design-based models: 0/1 indicators, design, adjustment set.

Staged tables come out of DuckDB or pandas with nullable booleans, ``Int64`` or objects holding
``None``; the estimators want floats with NaN for "did not answer" (a missing answer is a domain,
never a zero). The adjustment rules shared by every model of the analysis live here too, so that
risk factors, impacts and prevention are adjusted the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from barometre_pipeline.stats.comparisons import Difference, domain_mean_difference
from barometre_pipeline.stats.design import SurveyDesign

# The adjustment set every model may use (sex, then grade group or else level).
ADJUSTMENT_COLUMNS: tuple[str, ...] = ("sex", "grade_group", "level")
SEX_REFERENCE = "F"
SEX_OTHER = "X"
# Respondents answering "X" are a small group: their odds ratio is only estimable with enough of
# them and both outcomes among them; otherwise they leave the model (their PSUs stay in the design).
MIN_SEX_OTHER_RESPONDENTS = 30
MIN_SEX_OTHER_OUTCOMES = 5


@dataclass(frozen=True)
class DesignColumns:
    """Column names of the survey design in a respondents frame (warehouse defaults)."""

    weight: str = "final_weight"
    strata: str | None = "stratum"
    psu: str | None = "psu"
    # No first-stage fpc by default: schools are sampled, then pupils within them, so a one-stage
    # correction (as if whole schools were taken) would understate the variance; schools are
    # treated as sampled with replacement, as for the published indicators without `fpc2`.
    fpc: str | None = None

    def present(self, frame: pd.DataFrame) -> dict[str, str | None]:
        """Keyword arguments of the stats library; absent or empty design columns are dropped."""

        def usable(name: str | None) -> str | None:
            if name is None or name not in frame or frame[name].isna().all():
                return None
            return name

        if self.weight not in frame:
            raise KeyError(f"weight column {self.weight!r} is missing from the respondents frame")
        return {"weight": self.weight, "strata": usable(self.strata), "psu": usable(self.psu),
                "fpc": usable(self.fpc)}

    def design(self, frame: pd.DataFrame) -> SurveyDesign:
        return SurveyDesign.from_frame(frame, **self.present(frame))

    def names(self) -> tuple[str, ...]:
        """The design's column names (those that are set)."""
        return tuple(n for n in (self.weight, self.strata, self.psu, self.fpc) if n is not None)


def model_columns(frame: pd.DataFrame, columns: Iterable[str], design: DesignColumns) -> pd.DataFrame:
    """``frame`` narrowed to the given columns and the design (those present), without a copy
    when it holds nothing else: models copy what they change, and a staged table has ~90 columns."""
    wanted = [c for c in dict.fromkeys([*columns, *design.names()]) if c in frame]
    return frame if len(wanted) == frame.shape[1] else frame[wanted]


def with_coded_design(frame: pd.DataFrame, design: DesignColumns) -> pd.DataFrame:
    """The frame with its strata and PSU labels replaced by integer codes in label order.

    The variance code numbers strata and PSUs by sorting their labels as text on every call
    (``np.unique`` on strings: seconds per call on a million respondents, and an analysis makes
    dozens of calls). Codes that already follow the labels' text order give the same numbering,
    hence the same sums in the same order and the same estimates to the last bit, at the price
    of one hash pass here. Columns with a missing label are left as they are.
    """
    coded = frame.copy(deep=False)
    for name in (design.strata, design.psu):
        if name is None or name not in coded:
            continue
        if isinstance(coded[name].dtype, pd.CategoricalDtype) and \
                coded[name].cat.categories.inferred_type == "string":
            codes = _categorical_text_codes(coded[name])
            if codes is not None:
                coded[name] = codes
            continue
        labels = coded[name].to_numpy()
        if labels.dtype.kind in "iub" or pd.isna(labels).any():
            continue
        codes, _ = pd.factorize(labels.astype(str), sort=True)
        coded[name] = codes.astype(np.int64)
    return coded


def _categorical_text_codes(values: pd.Series) -> np.ndarray | None:
    """The codes :func:`with_coded_design` gives the text labels of a categorical, computed on
    its categories (a few thousand schools) rather than on every row; None if a label is missing."""
    row_codes = values.cat.codes.to_numpy()
    if (row_codes < 0).any():
        return None
    categories = values.cat.categories
    used = np.flatnonzero(np.bincount(row_codes, minlength=len(categories)))
    # Only the labels that occur, as text, numbered in text order (as factorize over the rows).
    text_codes, _ = pd.factorize(np.asarray(categories[used]).astype(str), sort=True)
    lookup = np.full(len(categories), -1, dtype=np.int64)
    lookup[used] = text_codes
    return lookup[row_codes]


def as_labels(values: pd.Series) -> pd.Series:
    """Answers as text labels in a categorical: the same values as ``astype("string")``, but
    compared, counted and held per category instead of per respondent."""
    if isinstance(values.dtype, pd.CategoricalDtype) and \
            values.cat.categories.inferred_type in ("string", "empty"):
        return values
    return values.astype("string").astype("category")


def indicator(values: pd.Series) -> pd.Series:
    """A yes/no answer as float 1.0 / 0.0, NaN where the respondent did not answer."""
    missing = values.isna().to_numpy()
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        # Vectorised float(bool(v)): non-zero is 1.0 (same values as the loop below).
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        numeric = np.where(missing, np.nan, (np.nan_to_num(numbers, nan=0.0) != 0).astype(float))
        return pd.Series(numeric, index=values.index, name=values.name)
    as_object = values.astype(object).where(~missing, None)
    numeric = np.array([np.nan if m else float(bool(v)) for v, m in zip(as_object, missing, strict=True)],
                       dtype=float)
    return pd.Series(numeric, index=values.index, name=values.name)


def with_indicators(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """``frame`` with the given yes/no columns as float indicators (the other columns are
    shared with ``frame``, which is left unchanged: assigning a column replaces it)."""
    prepared = frame.copy(deep=False)
    for column in columns:
        if column in prepared:
            prepared[column] = indicator(prepared[column])
    return prepared


def proportion_difference(survey: SurveyDesign, values: np.ndarray, domain_a: np.ndarray,
                          domain_b: np.ndarray, confidence: float = 0.95) -> Difference:
    """Proportion in domain A minus domain B of a float 0/1 indicator (NaN: no answer).

    The same figures as ``stats.comparisons.domain_proportion_difference``, which accepts any
    yes/no values by going through one Python object per respondent (most of a second per call
    on a national wave); an :func:`indicator` is already numeric.
    """
    numbers = np.asarray(values, dtype=float)
    answered = numbers[~np.isnan(numbers)]
    if not ((answered == 0.0) | (answered == 1.0)).all():
        raise ValueError("a proportion needs a boolean (0/1) indicator")
    return domain_mean_difference(survey, numbers, domain_a, domain_b, confidence=confidence)


def observed_levels(frame: pd.DataFrame, column: str) -> list[str]:
    if column not in frame:
        return []
    values = frame[column]
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        present = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(values.cat.categories)))
        return sorted(set(np.asarray(values.cat.categories[present]).astype(str).tolist()))
    return sorted(values.dropna().astype(str).unique())


@dataclass
class Adjustment:
    """Variables of a model with their reference levels, and what had to be left out."""

    predictors: list[str] = field(default_factory=list)
    reference_levels: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)

    def add(self, variable: str, reference: str | None = None) -> None:
        self.predictors.append(variable)
        if reference is not None:
            self.reference_levels[variable] = reference


def sex_and_grade(frame: pd.DataFrame, outcome: str) -> tuple[pd.DataFrame, Adjustment]:
    """Adjustment for sex (reference girls) and grade group (or level when only one group).

    Returns the frame (sex ``X`` set to missing when too few to estimate) and the adjustment.
    """
    adjustment = Adjustment()
    prepared = frame.copy(deep=False)  # columns are replaced, never written into
    if len(observed_levels(prepared, "sex")) >= 2:
        sex = as_labels(prepared["sex"])
        other = (sex == SEX_OTHER).fillna(False).to_numpy(dtype=bool)
        if other.any() and not _sex_other_estimable(prepared.loc[other, outcome]):
            prepared["sex"] = sex.where(~other)
            adjustment.flags.append("SEXE_X_EXCLU_EFFECTIF_FAIBLE")
        reference = SEX_REFERENCE if SEX_REFERENCE in observed_levels(prepared, "sex") else None
        adjustment.add("sex", reference)
    for grade in ("grade_group", "level"):
        levels = observed_levels(prepared, grade)
        if len(levels) >= 2:
            prepared[grade] = as_labels(prepared[grade])
            adjustment.add(grade, levels[0])
            break
    return prepared, adjustment


def _sex_other_estimable(outcome: pd.Series) -> bool:
    values = indicator(outcome).dropna()
    events = int(values.sum())
    return (len(values) >= MIN_SEX_OTHER_RESPONDENTS and events >= MIN_SEX_OTHER_OUTCOMES
            and len(values) - events >= MIN_SEX_OTHER_OUTCOMES)


def has_variation(frame: pd.DataFrame, column: str) -> bool:
    """A predictor is usable when it is present with at least two observed values."""
    return column in frame and frame[column].dropna().nunique() >= 2


# The design of a warehouse respondents frame (staging.<id> joined with weighting.<id>).
WAREHOUSE_DESIGN = DesignColumns()
