"""Traceability: every number the report quotes is formatted here and recorded with the key of the
published row it comes from, so a reader can find it again in the export and a test can check it.

A quote from a suppressed row, or of a missing value, raises instead of printing: suppressed values
never reach a report, and the caller must show the suppression reason instead.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from barometre_pipeline.publish.report.numbers import FORMATS, is_missing

# The columns that identify one row of each published table (the report's row key).
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "indicators": ("indicator_code", "source_id", "territory", "period", "sex", "level",
                   "age_band", "grade_group", "departement", "sector", "priority_education"),
    "effects": ("effect_code", "source_id", "territory", "period", "cell"),
    "comparisons": ("indicator_code", "territory_pilot", "period_pilot", "sex", "grade_group",
                    "source_id_reference", "territory_reference", "period_reference"),
    "sources": ("source_id",),
    # Not exports but reference files the report also quotes (named by their path in data/).
    "population_margins": ("file", "territory", "variable", "category"),
    "catalogue": ("file", "setting"),
}


# A suppressed row keeps its keys and its number of respondents (export contract v1): that count
# may be quoted (e.g. the sample composition); its estimate and everything derived from it may not.
PUBLISHED_WHEN_SUPPRESSED = frozenset({"n_unweighted"})


class SuppressedValueError(ValueError):
    """A report tried to quote a suppressed or missing value."""


@dataclass(frozen=True)
class TraceEntry:
    id: str
    text: str
    value: float
    format: str
    table: str
    key: dict[str, str]
    column: str
    section: str
    derivation: str = ""


@dataclass
class Tracer:
    """Formats quoted numbers and remembers where each came from, per report."""

    report: str
    section: str = ""
    entries: list[TraceEntry] = field(default_factory=list)

    def quote(self, table: str, row: Mapping, column: str, fmt: str, *,
              derivation: str = "", value: float | None = None) -> str:
        """Format ``row[column]`` (or ``value`` derived from it) and record the row's key."""
        if bool(row.get("suppressed") or False) and column not in PUBLISHED_WHEN_SUPPRESSED:
            raise SuppressedValueError(
                f"{self.report}: refusing to quote suppressed {table} row {self._key(table, row)}")
        number = row.get(column) if value is None else value
        if is_missing(number):
            raise SuppressedValueError(
                f"{self.report}: {table} row {self._key(table, row)} has no {column}")
        text = FORMATS[fmt](float(number))
        self.entries.append(TraceEntry(
            id=f"n{len(self.entries) + 1}", text=text, value=float(number), format=fmt,
            table=table, key=self._key(table, row), column=column, section=self.section,
            derivation=derivation))
        return text

    @staticmethod
    def _key(table: str, row: Mapping) -> dict[str, str]:
        return {k: "" if is_missing(row.get(k)) else str(row.get(k)) for k in ROW_KEYS[table]}

    def to_json(self) -> str:
        return json.dumps({"report": self.report, "numbers": [asdict(e) for e in self.entries]},
                          ensure_ascii=False, indent=1, sort_keys=True)

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["id", "section", "text", "value", "format", "table", "key", "column",
                         "derivation"])
        for e in self.entries:
            writer.writerow([e.id, e.section, e.text, repr(e.value), e.format, e.table,
                             json.dumps(e.key, ensure_ascii=False, sort_keys=True), e.column,
                             e.derivation])
        return out.getvalue()
