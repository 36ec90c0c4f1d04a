"""Staging of published figures: prevalences and counts (``kind: aggregates``) and effect sizes such
as odds ratios and correlations (``kind: effects``).

One staged row per published figure, on the canonical aggregate columns (:data:`STAGED_COLUMNS`).
Everything source-specific is data:

* the manifest's ``columns`` say which file column holds each canonical field, and its value maps
  turn the source's wording into codes (``"filles"`` -> ``F``, ``"%"`` -> a proportion with scale
  0.01, ``"France hexagonale"`` -> ``FR-MET``). A field that has a value map must find every value
  in it: an unmapped value rejects the row, so a new wording is never guessed;
* ``data/reference/indicator_crosswalk.yaml`` maps each source indicator code to a catalogue code
  (or keeps the source's own code) and to an explicit comparability group; effects also get their
  exposure, outcome and the pilot association that can be set beside them.

A row that cannot be staged goes to the rejects with its file, line, field, value and reason, so
``len(frame) == len(staged) + len(rejects)``. Weak figures stay visible: notes marked
"SOURCE SECONDAIRE" / "CALCUL PAR NOS SOINS" and publishers quoted "(via ...)", "(cité par ...)" or
"– calcul" carry ``SOURCE_SECONDAIRE`` / ``CALCUL_PAR_NOS_SOINS`` in ``quality_flags`` (``|``-separated, with the
manifest's own ``provenance.quality_flags``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from barometre_pipeline.sources.header_resolution import resolve_columns
from barometre_pipeline.sources.manifest import ColumnMap, Manifest, ManifestError
from barometre_pipeline.sources.number_text import detect_decimal, parse_number
from barometre_pipeline.sources.read_result import (
    SOURCE_FILE_COLUMN,
    SOURCE_LINE_COLUMN,
    SourceReadError,
)
from barometre_pipeline.staging.codebook import load_codebook
from barometre_pipeline.vocabulary import REJECT_COLUMNS as REJECT_COLUMNS  # re-exported
from barometre_pipeline.vocabulary import SEX_CODES as ANSWERED_SEX_CODES
from barometre_pipeline.vocabulary import TOTAL

SEX_CODES = frozenset({*ANSWERED_SEX_CODES, TOTAL})

STAGED_COLUMNS = [
    "source_id",
    "source_family",
    "kind",
    "indicator_code",
    "source_indicator_code",
    "indicator_label_fr",
    "territory",
    "territory_label",
    "period",
    "period_label",
    "population",
    "sex",
    "level",
    "grade_group",
    "age_band",
    "estimate",
    "unit",
    "ci_low",
    "ci_high",
    "n_unweighted",
    "comparability_group",
    "exposure",
    "outcome",
    "pilot_counterpart",
    "quality_flags",
    "note",
    "publisher",
    "title",
    "publication_year",
    "url",
    SOURCE_FILE_COLUMN,
    SOURCE_LINE_COLUMN,
]
_FLOAT_COLUMNS = ("estimate", "ci_low", "ci_high")

# Canonical fields a manifest of an aggregates/effects source may map (or set in `constants`).
TEXT_FIELDS = (
    "indicator_label_fr",
    "population",
    "note",
    "publisher",
    "title",
    "publication_year",
    "url",
)
DIMENSION_FIELDS = ("territory", "sex", "level", "age_band")
NUMBER_FIELDS = ("estimate", "ci_low", "ci_high", "n_unweighted")
MAPPABLE_FIELDS = frozenset(
    {"source_indicator_code", "period", "unit", "exposure", "outcome", "quality_flags"}
    | set(TEXT_FIELDS)
    | set(DIMENSION_FIELDS)
    | set(NUMBER_FIELDS)
)
_REQUIRED_FIELDS = ("source_indicator_code", "estimate", "unit", "territory", "period")
# Dimensions a published figure is often not broken down by: empty means the total.
_TOTAL_BY_DEFAULT = ("sex", "level", "age_band")
# Facts files repeat a citation with "idem" (= same as the row above in the same file).
_REPEATABLE_FIELDS = ("publisher", "title", "url")


class UnitRule(BaseModel):
    model_config = ConfigDict(frozen=True)
    low: float | None
    high: float | None
    low_inclusive: bool = True
    effect: bool = False  # an effect size (needs kind: effects), not a prevalence or count


UNITS: dict[str, UnitRule] = {
    "proportion": UnitRule(low=0.0, high=1.0),
    "count": UnitRule(low=0.0, high=None),
    "count_per_year": UnitRule(low=0.0, high=None),
    "count_per_day": UnitRule(low=0.0, high=None),
    "odds_ratio": UnitRule(low=0.0, high=None, low_inclusive=False, effect=True),
    "adjusted_odds_ratio": UnitRule(low=0.0, high=None, low_inclusive=False, effect=True),
    "risk_ratio": UnitRule(low=0.0, high=None, low_inclusive=False, effect=True),
    "correlation": UnitRule(low=-1.0, high=1.0, effect=True),
}

SOURCE_SECONDAIRE = "SOURCE_SECONDAIRE"
# Export contract v1 separates quality flags with "|"; no flag is the empty string.
FLAG_SEPARATOR = "|"
CALCUL_PAR_NOS_SOINS = "CALCUL_PAR_NOS_SOINS"
# (pattern, column it is looked for in, flag). The markers are the conventions of the facts file:
# capitalised warnings in the note, and the citing outlet in brackets after the publisher.
_FLAG_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"source\s+secondaire", re.IGNORECASE), "note", SOURCE_SECONDAIRE),
    (
        re.compile(r"\([^)]*\b(?:via|cité par|citant)\b[^)]*\)", re.IGNORECASE),
        "publisher",
        SOURCE_SECONDAIRE,
    ),
    (re.compile(r"calcul\s+par\s+nos\s+soins", re.IGNORECASE), "note", CALCUL_PAR_NOS_SOINS),
    (re.compile(r"[–—-]\s*calcul\b", re.IGNORECASE), "publisher", CALCUL_PAR_NOS_SOINS),
)

_MONTHS = {
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
    "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "décembre": 12, "decembre": 12,
}  # fmt: skip
_MONTH_WORD = re.compile(r"\b(" + "|".join(_MONTHS) + r")\b", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|2\d\d\d)(?!\d)")
_UP_TO = re.compile(r"^\s*(?:≤|<=|<|jusqu'en|avant)\s*", re.IGNORECASE)


# --- crosswalk -----------------------------------------------------------------------------------


class CrosswalkError(ManifestError):
    """The indicator crosswalk cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CrosswalkEntry(_Strict):
    comparability_group: str
    indicator_code: str | None = None  # None: the source's own code is kept
    exposure: str | None = None
    outcome: str | None = None
    pilot_counterpart: str | None = None


class IndicatorCrosswalk(_Strict):
    version: int
    groups: dict[str, str]  # comparability group -> one-line definition
    sources: dict[str, dict[str, CrosswalkEntry]] = Field(default_factory=dict)
    # How comparisons treat a reference's sampling error (read by analysis.comparisons).
    reference_uncertainty: dict[str, Any] = Field(default_factory=dict)
    path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _groups_are_declared(self) -> IndicatorCrosswalk:
        for source_id, entries in self.sources.items():
            for code, entry in entries.items():
                if entry.comparability_group not in self.groups:
                    raise ValueError(
                        f"sources.{source_id}.{code}.comparability_group: "
                        f"{entry.comparability_group!r} is not declared under `groups`"
                    )
        return self

    def entry(self, source_id: str, source_indicator_code: str) -> CrosswalkEntry | None:
        return self.sources.get(source_id, {}).get(source_indicator_code)


def load_crosswalk(path: Path) -> IndicatorCrosswalk:
    """Read and validate the indicator crosswalk (``data/reference/indicator_crosswalk.yaml``)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CrosswalkError(f"indicator crosswalk {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise CrosswalkError(f"indicator crosswalk {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise CrosswalkError(f"indicator crosswalk {path} must be a YAML mapping")
    try:
        crosswalk = IndicatorCrosswalk.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"  - field `{'.'.join(str(p) for p in item['loc']) or '(top level)'}`: {item['msg']}"
            for item in exc.errors()
        ]
        raise CrosswalkError(
            "\n".join([f"invalid indicator crosswalk {path}:", *problems])
        ) from None
    return crosswalk.model_copy(update={"path": path})


def crosswalk_path(manifest: Manifest) -> Path:
    """Where the crosswalk of a manifest's data dir is: ``<data dir>/reference/indicator_crosswalk.yaml``
    (manifests live in ``<data dir>/sources``)."""
    if manifest.manifest_path is None:
        raise ManifestError(
            f"source {manifest.id}: the manifest was not loaded from a file, so its data dir (and "
            "crosswalk) is unknown; pass `crosswalk=` to stage_aggregates"
        )
    return manifest.manifest_path.parent.parent / "reference" / "indicator_crosswalk.yaml"


def grade_groups_by_level(manifest: Manifest) -> dict[str, str]:
    """Level code -> grade group (6E -> COLLEGE, SEC4 -> LYCEE...), from the codebook of the
    manifest's data dir; empty when there is none (then only COLLEGE/LYCEE levels get a group)."""
    if manifest.manifest_path is None:
        return {}
    path = manifest.manifest_path.parent.parent / "codebook.yaml"
    if not path.is_file():
        return {}
    groups = load_codebook(path).level_attribute("grade_group")
    return {code: str(group) for code, group in groups.items() if group}


# --- small parsers ---------------------------------------------------------------------------------


def parse_period(label: str) -> str | None:
    """A clean period from a published period label, or None when it names no year.

    "2021-2022 (enquête 2022)" -> "2021-2022"; "2021/2022" -> "2021-2022"; "mai 2024" -> "2024-05";
    "2023 (juin)" -> "2023-06"; "≤2018" -> "..2018"; "automne 2017 – été 2019" -> "2017-2019".
    Years inside brackets only count when there are none before them (they usually name the survey
    edition, not the period).
    """
    head = label.split("(")[0]
    years = _YEAR.findall(head) or _YEAR.findall(label)
    if not years:
        return None
    first, last = min(years), max(years)
    if first != last:
        return f"{first}-{last}"
    if _UP_TO.match(label):
        return f"..{first}"
    months = {_MONTHS[m.lower()] for m in _MONTH_WORD.findall(label)}
    if len(months) == 1:
        return f"{first}-{months.pop():02d}"
    return first


def quality_flags_of(note: str, publisher: str) -> list[str]:
    """Weak-figure flags read from a row's note and publisher text, in a stable order."""
    texts = {"note": note, "publisher": publisher}
    flags = [flag for pattern, column, flag in _FLAG_RULES if pattern.search(texts[column])]
    return list(dict.fromkeys(flags))


def _normalise_flag(flag: str) -> str:
    # "SOURCE SECONDAIRE" and "source-secondaire" are the same flag.
    return re.sub(r"[\s\-]+", "_", flag.strip()).upper()


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value).strip()


# --- staging ----------------------------------------------------------------------------------------


class _Problem(Exception):
    """One reason a row cannot be staged."""

    def __init__(self, field: str, value: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.value, self.reason = field, value, reason


def _field_plan(manifest: Manifest, frame: pd.DataFrame) -> dict[str, tuple[str, ColumnMap]]:
    """Canonical field -> (frame column, its map), after checking the manifest against the frame."""
    where = f"source manifest {manifest.manifest_path or manifest.id}"
    unknown = sorted(set(manifest.columns) - MAPPABLE_FIELDS)
    if unknown:
        raise ManifestError(
            f"{where}: field `columns.{unknown[0]}` is not a field of an {manifest.kind} source "
            f"(known: {', '.join(sorted(MAPPABLE_FIELDS))})"
        )
    unknown_constants = sorted(set(manifest.constants) - MAPPABLE_FIELDS)
    if unknown_constants:
        raise ManifestError(
            f"{where}: field `constants.{unknown_constants[0]}` is not a field of an "
            f"{manifest.kind} source"
        )
    both = sorted(set(manifest.columns) & set(manifest.constants))
    if both:
        raise ManifestError(
            f"{where}: field `{both[0]}` is both mapped in `columns` and fixed in `constants`"
        )
    for field in _REQUIRED_FIELDS:
        if field not in manifest.columns and field not in manifest.constants:
            raise ManifestError(
                f"{where}: field `columns.{field}` is needed (or a value in `constants.{field}`)"
            )
    files = sorted({_text(f) for f in frame.get(SOURCE_FILE_COLUMN, pd.Series(dtype=str))})
    try:
        resolved = resolve_columns(
            list(frame.columns), manifest.columns, ", ".join(files) or manifest.files
        )
    except SourceReadError as exc:
        raise ManifestError(f"{where}: {exc}") from exc
    return {field: (column, manifest.columns[field]) for field, column in resolved.items()}


def _mapped(field: str, raw: str, column_map: ColumnMap | None) -> Any:
    """A source value through the field's value map (exhaustive when present)."""
    if column_map is None or column_map.values is None:
        return raw
    values = column_map.values
    if raw in values:
        return values[raw]
    if raw == "" and field in _TOTAL_BY_DEFAULT:
        return TOTAL
    known = ", ".join(repr(k) for k in list(values)[:8])
    raise _Problem(
        field,
        raw,
        f"value {raw!r} is not in the manifest's value map for `{field}` (known: {known})",
    )


def _unit_and_scale(raw: Any, column_map: ColumnMap | None) -> tuple[str, float]:
    mapped = _mapped("unit", _text(raw), column_map) if isinstance(raw, str) else raw
    if isinstance(mapped, Mapping):
        unit, scale = _text(mapped.get("unit")), mapped.get("scale", 1.0)
    else:
        unit, scale = _text(mapped), 1.0
    if unit not in UNITS:
        raise _Problem("unit", _text(raw), f"unit {unit!r} is not one of {', '.join(UNITS)}")
    if not isinstance(scale, int | float) or isinstance(scale, bool):
        raise _Problem("unit", _text(raw), f"scale {scale!r} of unit {unit!r} is not a number")
    column_scale = column_map.scale if column_map is not None and column_map.scale else 1.0
    return unit, float(scale) * column_scale


def _check_range(field: str, raw: str, value: float, unit: str) -> None:
    rule = UNITS[unit]
    too_low = rule.low is not None and (
        value < rule.low or (value == rule.low and not rule.low_inclusive)
    )
    too_high = rule.high is not None and value > rule.high
    if too_low or too_high:
        bounds = f"{'[' if rule.low_inclusive else ']'}{rule.low}, {rule.high if rule.high is not None else '∞'}]"
        raise _Problem(field, raw, f"{value:g} is outside the range {bounds} of unit {unit}")


class _SourceStager:
    """Stages the rows of one frame for one manifest; keeps the state that spans rows."""

    def __init__(
        self, manifest: Manifest, frame: pd.DataFrame, crosswalk: IndicatorCrosswalk
    ) -> None:
        self.manifest = manifest
        self.crosswalk = crosswalk
        self.plan = _field_plan(manifest, frame)
        self.numbers = self._parse_numbers(frame)
        self.manifest_flags = [_normalise_flag(f) for f in manifest.provenance.quality_flags]
        self.grade_groups = grade_groups_by_level(manifest)
        self.grade_group_codes = set(self.grade_groups.values()) | {"COLLEGE", "LYCEE"}
        self.previous: dict[tuple[str, str], str] = {}  # (file, field) -> last explicit value
        self.first_line_of_code: dict[str, int] = {}
        self.first_line_of_key: dict[tuple[str, ...], int] = {}

    def _parse_numbers(self, frame: pd.DataFrame) -> dict[str, pd.Series]:
        decimal = self.manifest.read.decimal
        if decimal == "auto":
            columns = [self.plan[f][0] for f in ("estimate", "ci_low", "ci_high") if f in self.plan]
            decimal = detect_decimal(pd.concat([frame[c] for c in columns])) if columns else "."
        return {
            field: parse_number(
                frame[self.plan[field][0]].map(_text), decimal, self.manifest.read.thousands
            )
            for field in NUMBER_FIELDS
            if field in self.plan
        }

    def raw(self, record: Mapping[str, Any], field: str) -> Any:
        if field in self.manifest.constants:
            return self.manifest.constants[field]
        if field in self.plan:
            return _text(record[self.plan[field][0]])
        return ""

    def column_map(self, field: str) -> ColumnMap | None:
        return self.plan[field][1] if field in self.plan else None

    def number(self, field: str, position: int, record: Mapping[str, Any]) -> float | None:
        """The parsed number, None when the cell is empty; a non-number is a problem."""
        if field in self.manifest.constants:
            value = self.manifest.constants[field]
            return None if value is None else float(value)
        if field not in self.plan:
            return None
        raw = self.raw(record, field)
        if raw == "":
            return None
        parsed = self.numbers[field].iloc[position]
        if pd.isna(parsed):
            raise _Problem(field, raw, f"{raw!r} is not a number")
        return float(parsed)

    def repeated_text(self, record: Mapping[str, Any], field: str, file: str) -> str:
        value = _text(self.raw(record, field))
        if field in _REPEATABLE_FIELDS and value.casefold() == "idem":
            if (file, field) not in self.previous:
                raise _Problem(field, value, "'idem' with no row above it in the file to repeat")
            return self.previous[(file, field)]
        if value == "" and field in _REPEATABLE_FIELDS:
            value = _text(getattr(self.manifest.provenance, field, ""))
        self.previous[(file, field)] = value
        return value

    def stage_row(
        self, position: int, record: Mapping[str, Any], file: str, line: int
    ) -> dict[str, Any]:
        manifest = self.manifest
        code = _text(self.raw(record, "source_indicator_code"))
        if not code:
            raise _Problem("source_indicator_code", code, "the source indicator code is empty")
        row: dict[str, Any] = {
            "source_id": manifest.id,
            "source_family": manifest.family,
            "kind": manifest.kind,
            "source_indicator_code": code,
            SOURCE_FILE_COLUMN: file,
            SOURCE_LINE_COLUMN: line,
        }
        for field in TEXT_FIELDS:
            row[field] = self.repeated_text(record, field, file)

        for field in DIMENSION_FIELDS:
            raw = self.raw(record, field)
            value = (
                raw if field in manifest.constants else _mapped(field, raw, self.column_map(field))
            )
            value = _text(value)
            if value == "":
                if field not in _TOTAL_BY_DEFAULT:
                    raise _Problem(field, _text(raw), f"`{field}` is empty")
                value = TOTAL
            row[field] = value
        # Publishers give collège/lycée figures where the pilot has a grade-group breakdown: both
        # carry `grade_group` so that they meet in the consolidated table.
        level = row["level"]
        row["grade_group"] = (
            level if level in self.grade_group_codes else self.grade_groups.get(level, TOTAL)
        )
        row["territory_label"] = _text(self.raw(record, "territory"))
        if row["sex"] not in SEX_CODES:
            raise _Problem("sex", row["sex"], f"sex code {row['sex']!r} is not one of F, M, X, _T")

        period_label = _text(self.raw(record, "period"))
        period_map = self.column_map("period")
        if "period" in manifest.constants:
            period = period_label
        elif period_map is not None and period_map.values is not None:
            period = _text(_mapped("period", period_label, period_map))
        else:
            period = parse_period(period_label) or ""
        if not period:
            raise _Problem("period", period_label, f"no year found in period {period_label!r}")
        row["period"], row["period_label"] = period, period_label

        unit, scale = _unit_and_scale(self.raw(record, "unit"), self.column_map("unit"))
        rule = UNITS[unit]
        if rule.effect != (manifest.kind == "effects"):
            what = "an effect size" if rule.effect else "not an effect size"
            raise _Problem(
                "unit",
                _text(self.raw(record, "unit")),
                f"unit {unit} is {what}, but the manifest's kind is {manifest.kind}",
            )
        row["unit"] = unit

        estimate = self.number("estimate", position, record)
        if estimate is None:
            raise _Problem("estimate", "", "the published value is empty")
        # Rounding drops the binary noise of the scale (28 x 0.01 = 0.28000000000000003).
        row["estimate"] = round(estimate * scale, 12)
        _check_range("estimate", self.raw(record, "estimate"), row["estimate"], unit)
        ci_low, ci_high = (
            self.number("ci_low", position, record),
            self.number("ci_high", position, record),
        )
        if (ci_low is None) != (ci_high is None):
            missing = "ci_high" if ci_high is None else "ci_low"
            raise _Problem(missing, "", "a confidence interval needs both bounds")
        if ci_low is not None and ci_high is not None:
            ci_low, ci_high = round(ci_low * scale, 12), round(ci_high * scale, 12)
            _check_range("ci_low", self.raw(record, "ci_low"), ci_low, unit)
            _check_range("ci_high", self.raw(record, "ci_high"), ci_high, unit)
            if not ci_low <= row["estimate"] <= ci_high:
                raise _Problem(
                    "ci_low",
                    self.raw(record, "ci_low"),
                    f"the interval [{ci_low:g}, {ci_high:g}] does not contain the estimate {row['estimate']:g}",
                )
        row["ci_low"], row["ci_high"] = ci_low, ci_high
        n = self.number("n_unweighted", position, record)
        if n is not None and (n < 0 or not float(n).is_integer()):
            raise _Problem(
                "n_unweighted",
                self.raw(record, "n_unweighted"),
                "a sample size is a whole number >= 0",
            )
        row["n_unweighted"] = None if n is None else int(n)

        entry = self.crosswalk.entry(manifest.id, code)
        if entry is None:
            raise _Problem(
                "source_indicator_code",
                code,
                f"no entry for {code!r} under `sources.{manifest.id}` of the indicator crosswalk "
                f"({self.crosswalk.path}): its comparability must be declared there",
            )
        row["indicator_code"] = entry.indicator_code or code
        row["comparability_group"] = entry.comparability_group
        row["exposure"] = _text(self.raw(record, "exposure")) or entry.exposure or ""
        row["outcome"] = _text(self.raw(record, "outcome")) or entry.outcome or ""
        row["pilot_counterpart"] = entry.pilot_counterpart or ""
        if manifest.kind == "effects" and not (row["exposure"] and row["outcome"]):
            raise _Problem(
                "source_indicator_code",
                code,
                "an effect needs an exposure and an outcome (crosswalk entry)",
            )

        row_flags = [
            _normalise_flag(f)
            for f in re.split(r"[|;,]", _text(self.raw(record, "quality_flags")))
            if f.strip()
        ]
        flags = quality_flags_of(row["note"], row["publisher"]) + self.manifest_flags + row_flags
        row["quality_flags"] = FLAG_SEPARATOR.join(dict.fromkeys(flags))

        self._check_unique(row, line)
        return row

    def _check_unique(self, row: dict[str, Any], line: int) -> None:
        code = row["source_indicator_code"]
        if code in self.first_line_of_code:
            raise _Problem(
                "source_indicator_code",
                code,
                f"code already used on line {self.first_line_of_code[code]}",
            )
        # One published cell per indicator x territory x period x breakdown; effects from several
        # studies can share all of these, so the study (title) is part of their key.
        key = tuple(
            row[c] for c in ("indicator_code", "territory", "period", "sex", "level", "age_band")
        )
        if self.manifest.kind == "effects":
            key += (row["title"],)
        if key in self.first_line_of_key:
            raise _Problem(
                "indicator_code",
                row["indicator_code"],
                f"same indicator, territory, period and breakdown as line {self.first_line_of_key[key]}",
            )
        self.first_line_of_code[code] = line
        self.first_line_of_key[key] = line


def _empty_staged() -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series(dtype="string") for column in STAGED_COLUMNS})
    return _typed(frame)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    types: dict[str, str] = {column: "string" for column in STAGED_COLUMNS}
    types.update({column: "float64" for column in _FLOAT_COLUMNS})
    types["n_unweighted"] = "Int64"
    types[SOURCE_LINE_COLUMN] = "int64"
    return frame[STAGED_COLUMNS].astype(types)


def stage_aggregates(
    frame: pd.DataFrame, manifest: Manifest, crosswalk: IndicatorCrosswalk | None = None
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Canonical rows of an aggregates or effects source, and the rows that could not be staged.

    ``frame`` holds the source's cells as text plus ``_source_file`` and ``_source_line`` (as the raw
    readers produce it). ``crosswalk`` defaults to the one of the manifest's data dir. Each reject is
    a dict with ``source_id, file, line, field, value, reason``; one per rejected row, naming its
    first problem. A manifest that does not fit the frame raises :class:`ManifestError`.
    """
    if manifest.kind not in ("aggregates", "effects"):
        raise ValueError(
            f"source {manifest.id} is {manifest.kind}: stage_aggregates stages aggregates and effects"
        )
    if crosswalk is None:
        crosswalk = load_crosswalk(crosswalk_path(manifest))
    stager = _SourceStager(manifest, frame, crosswalk)
    staged: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    records = frame.to_dict("records")
    for position, record in enumerate(records):
        file = _text(record.get(SOURCE_FILE_COLUMN)) or manifest.files
        # Without reader bookkeeping, count lines as a one-line header file would.
        line_text = _text(record.get(SOURCE_LINE_COLUMN))
        line = int(float(line_text)) if line_text else position + 2
        try:
            staged.append(stager.stage_row(position, record, file, line))
        except _Problem as problem:
            rejects.append(
                {
                    "source_id": manifest.id,
                    "file": file,
                    "line": line,
                    "field": problem.field,
                    "value": problem.value,
                    "reason": problem.reason,
                }
            )
    if not staged:
        return _empty_staged(), rejects
    return _typed(pd.DataFrame(staged)), rejects
