"""The data the site embeds: published aggregates from the Parquet exports, nothing else.

Inputs are the four public exports (``indicators``, ``effects``, ``comparisons``, ``sources``),
already filtered by the publication rules; this module re-checks the one guarantee readers depend
on (a withheld cell carries no number) and keeps only the columns the pages show, each row with
its export key so every displayed figure can be traced back to the row it came from. Run ids and
file hashes stay out: the same exports give the same site bytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from barometre_pipeline import vocabulary as voc
from barometre_pipeline.publish.contract import KEY_COLUMNS
from barometre_pipeline.publish.site import labels

KEY_SEPARATOR = "|"
# Columns of an effects row that identify it (effect_code alone repeats across cells and waves).
EFFECT_KEY_COLUMNS: tuple[str, ...] = ("effect_code", "territory", "period", "cell")
COMPARISON_KEY_COLUMNS: tuple[str, ...] = (
    "indicator_code", "territory_pilot", "period_pilot", "source_id_reference", "territory_reference",
    "period_reference", "sex", "grade_group", "comparability_group_reference",
)


class SiteInputError(ValueError):
    """An export the site reads breaks a rule the pages rely on (message names table, row, field)."""


@dataclass(frozen=True)
class Exports:
    """The published tables the site is built from."""

    indicators: pd.DataFrame
    effects: pd.DataFrame
    comparisons: pd.DataFrame
    sources: pd.DataFrame


def row_key(row: Mapping, columns: tuple[str, ...] = KEY_COLUMNS) -> str:
    """The export row key a displayed figure carries (``data-key``)."""
    return KEY_SEPARATOR.join(str(row[c]) for c in columns)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value)
    return text or None


def _flags(value: Any) -> list[str]:
    text = _text(value) or ""
    return [f for f in text.replace(";", "|").split("|") if f]


def _check_withheld(frame: pd.DataFrame, table: str, value_columns: tuple[str, ...]) -> None:
    if "suppressed" not in frame.columns:
        return
    withheld = frame[frame["suppressed"].fillna(False).astype(bool)]
    for column in value_columns:
        if column in withheld.columns and withheld[column].notna().any():
            index = withheld.index[withheld[column].notna()][0]
            raise SiteInputError(f"export `{table}`, row {index}: withheld row has a value in `{column}` "
                                 f"({withheld.at[index, column]!r}); the site never shows withheld values")


def _provenance(value: Any) -> dict:
    try:
        return json.loads(value) if isinstance(value, str) and value else {}
    except json.JSONDecodeError:
        return {}


def indicator_rows(frame: pd.DataFrame) -> tuple[list[dict], dict[str, dict]]:
    """Compact indicator rows and the reader text of each withheld reason met."""
    _check_withheld(frame, "indicators", ("estimate", "ci_low", "ci_high", "se"))
    reasons: dict[str, dict] = {}
    rows = []
    for record in frame.to_dict("records"):
        suppressed = bool(record.get("suppressed"))
        reason = _text(record.get("suppression_reason")) if suppressed else None
        if suppressed:
            reason = reason or "withheld"
            reasons.setdefault(reason, labels.withheld_reason(reason))
        provenance = _provenance(record.get("provenance"))
        rows.append({
            "k": row_key(record),
            "i": record["indicator_code"],
            "s": record["source_id"],
            "f": record["source_family"],
            "t": record["territory"],
            "p": str(record["period"]),
            "b": record["breakdown"],
            **{dim: str(record[dim]) for dim in labels.DIMENSIONS},
            "e": None if suppressed else _number(record.get("estimate")),
            "lo": None if suppressed else _number(record.get("ci_low")),
            "hi": None if suppressed else _number(record.get("ci_high")),
            # A withheld cell shows its reason, not its count.
            "n": None if suppressed else _number(record.get("n_unweighted")),
            "u": record.get("unit"),
            "r": _text(record.get("reliability")),
            "w": reason,
            "g": _text(record.get("comparability_group")),
            "q": _flags(record.get("quality_flags")),
            "pub": labels.short_publisher(provenance.get("publisher")),
        })
    rows.sort(key=lambda r: r["k"])
    return rows, reasons


def effect_rows(frame: pd.DataFrame) -> list[dict]:
    _check_withheld(frame, "effects", ("estimate", "ci_low", "ci_high"))
    rows = []
    for record in frame.to_dict("records"):
        suppressed = bool(record.get("suppressed"))
        significant = record.get("significant")
        rows.append({
            "k": row_key(record, EFFECT_KEY_COLUMNS),
            "c": record["effect_code"],
            "f": record["source_family"],
            "t": record["territory"],
            "p": str(record["period"]),
            "cell": _text(record.get("cell")) or voc.TOTAL,
            "x": _text(record.get("exposure")),
            "o": _text(record.get("outcome")),
            "m": record.get("measure"),
            "e": None if suppressed else _number(record.get("estimate")),
            "lo": None if suppressed else _number(record.get("ci_low")),
            "hi": None if suppressed else _number(record.get("ci_high")),
            "pv": None if suppressed else _number(record.get("p_value")),
            "qv": None if suppressed else _number(record.get("q_value")),
            "sig": None if significant is None or (isinstance(significant, float) and math.isnan(significant)) else bool(significant),
            "sup": suppressed,
            "fr": _text(record.get("label_fr")),
            "en": _text(record.get("label_en")),
            "txt": _text(record.get("interpretation_fr")),
            "cp": _text(record.get("counterpart")),
            "ref": _text(record.get("reference_group")),
        })
    rows.sort(key=lambda r: r["k"])
    return rows


def comparison_rows(frame: pd.DataFrame) -> list[dict]:
    rows = []
    for record in frame.to_dict("records"):
        verdict = _text(record.get("verdict")) or "not_comparable"
        rows.append({
            "k": row_key(record, COMPARISON_KEY_COLUMNS),
            "i": record["indicator_code"],
            "t": record["territory_pilot"],
            "p": str(record["period_pilot"]),
            "sp": record["source_id_pilot"],
            "ep": _number(record.get("estimate_pilot")),
            "lop": _number(record.get("ci_low_pilot")),
            "hip": _number(record.get("ci_high_pilot")),
            "sr": record["source_id_reference"],
            "tr": record["territory_reference"],
            "pr": str(record["period_reference"]),
            "er": _number(record.get("estimate_reference")),
            "lor": _number(record.get("ci_low_reference")),
            "hir": _number(record.get("ci_high_reference")),
            "sex": str(record.get("sex") or voc.TOTAL),
            "grade_group": str(record.get("grade_group") or voc.TOTAL),
            "same": bool(record.get("same_definition")),
            "d": _number(record.get("difference")),
            "pv": _number(record.get("p_value")),
            "qv": _number(record.get("q_value")),
            "v": verdict,
            "vfr": _text(record.get("verdict_fr")),
            "why": labels.comparison_reason(_text(record.get("reason"))),
            "unc": _text(record.get("reference_uncertainty")),
        })
    rows.sort(key=lambda r: r["k"])
    return rows


def source_entries(frame: pd.DataFrame, retrieved: Mapping[str, str]) -> dict[str, dict]:
    out = {}
    for record in frame.to_dict("records"):
        sid = record["source_id"]
        out[sid] = {
            "family": record.get("source_family"),
            "publisher": _text(record.get("publisher")) or "",
            "short": labels.short_publisher(record.get("publisher")),
            "title": _text(record.get("title")) or "",
            "licence": _text(record.get("licence")) or "",
            "url": _text(record.get("url")),
            "period": _text(record.get("period")) or "",
            "territory": _text(record.get("territory")) or "",
            "synthetic": bool(record.get("synthetic")),
            "flags": _flags(record.get("quality_flags")),
            "retrieved": retrieved.get(sid),
        }
    return dict(sorted(out.items()))


def code_version(indicators: pd.DataFrame) -> str:
    """The pipeline code version recorded in the rows' provenance (one value expected)."""
    versions = sorted({_provenance(p).get("code_version") for p in indicators.get("provenance", pd.Series(dtype=str))} - {None})
    return ", ".join(versions) if versions else "inconnue"
