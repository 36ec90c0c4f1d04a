"""Harmonise one microdata source onto the canonical codebook.

Input: the raw text table of a source (every column as text, plus `_source_file` and `_source_line`).
Output: the staged table (canonical variables, typed, respondent ids pseudonymised, identifiers and
free text dropped, derived variables computed) and the rejects (one row per failing field, with
file, line, field, value and reason). A respondent row with any failing field is rejected whole and
never staged, so that input rows = staged rows + rejected rows (counted by distinct line).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from barometre_pipeline.sources.manifest import ColumnMap, Manifest
from barometre_pipeline.sources.readers import parse_number, resolve_columns
from barometre_pipeline.staging.codebook import Codebook, Variable
from barometre_pipeline.staging.contradictions import contradictory_answers
from barometre_pipeline.staging.derive import add_derived_variables
from barometre_pipeline.staging.pii import identifier_kind, mask_identifiers
from barometre_pipeline.staging.pseudonymise import pseudonymise
from barometre_pipeline.vocabulary import REJECT_COLUMNS

DESIGN_COLUMNS = {"weight": "design_weight", "strata": "stratum", "psu": "psu", "fpc": "fpc", "fpc2": "fpc2"}
_BOOL_ANSWERS = {
    "oui": True, "non": False, "yes": True, "no": False, "true": True, "false": False,
    "vrai": True, "faux": False, "1": True, "0": False, "o": True, "n": False,
}


@dataclass
class StagedSource:
    staged: pd.DataFrame
    rejects: pd.DataFrame
    input_rows: int

    @property
    def rejected_rows(self) -> int:
        return rejected_row_count(self.rejects)


def rejected_row_count(rejects: pd.DataFrame) -> int:
    """Rows rejected, counted once each however many of their fields failed."""
    if rejects.empty:
        return 0
    return int(rejects[["file", "line"]].drop_duplicates().shape[0])


def normalise_answer(text: str) -> str:
    """Answer text compared without case, accents or repeated spaces ("Garçon" == "garcon ")."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


class _Failures:
    """Collects per-field failures as vectorised masks, turned into reject rows at the end."""

    def __init__(self, frame: pd.DataFrame, source_id: str) -> None:
        self._frame = frame
        self._source_id = source_id
        self._parts: list[pd.DataFrame] = []
        self.any = pd.Series(False, index=frame.index)

    def add(self, mask: pd.Series, field: str, values: pd.Series, reason: str | pd.Series) -> None:
        mask = mask.fillna(False).astype(bool)
        if not mask.any():
            return
        self.any |= mask
        part = pd.DataFrame(
            {
                "source_id": self._source_id,
                "file": self._frame.loc[mask, "_source_file"].astype("string"),
                "line": self._frame.loc[mask, "_source_line"].astype("int64"),
                "field": field,
                "value": mask_identifiers(values[mask].astype("string")),
                "reason": reason[mask] if isinstance(reason, pd.Series) else reason,
            }
        )
        self._parts.append(part)

    def table(self) -> pd.DataFrame:
        if not self._parts:
            return pd.DataFrame({c: pd.Series(dtype="string") for c in REJECT_COLUMNS}).astype(
                {"line": "int64"}
            )
        return pd.concat(self._parts, ignore_index=True)[list(REJECT_COLUMNS)]


def _missing_mask(text: pd.Series, codebook: Codebook) -> pd.Series:
    normalised = text.fillna("").astype("string").str.strip().str.casefold()
    return (normalised == "") | normalised.isin(codebook.missing_answers)


def _map_values(
    text: pd.Series, mapping: dict, canonical: str, failures: _Failures, field: str, missing: pd.Series
) -> pd.Series:
    lookup = {normalise_answer(k): v for k, v in mapping.items()}
    keys = text.fillna("").map(normalise_answer)
    mapped = keys.map(lookup)
    # A value map may send an answer to null on purpose (e.g. "Je ne sais pas": null).
    explicitly_null = keys.isin([k for k, v in lookup.items() if v is None])
    unmapped = ~missing & mapped.isna() & ~explicitly_null
    failures.add(
        unmapped, field, text,
        f"answer not in the value map of `{canonical}` (manifest columns.{canonical}.values)",
    )
    return mapped.where(~missing)


def _coerce(
    values: pd.Series, variable: Variable, column_map: ColumnMap, failures: _Failures, field: str,
    raw_text: pd.Series, decimal: str, thousands: str | None,
) -> pd.Series:
    present = values.notna()
    kind = variable.type
    if kind == "bool":
        if values.dtype == object and values.map(lambda v: isinstance(v, bool)).where(present, True).all():
            result = values.astype("boolean")
        else:
            lookup = values.astype("string").str.strip().str.casefold().map(_BOOL_ANSWERS)
            failures.add(present & lookup.isna(), field, raw_text,
                         f"`{variable.name}` expects a yes/no answer")
            result = lookup.astype("boolean")
        return result
    if kind in {"int", "ordinal", "float"}:
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            numbers = parse_number(values.astype("string"), decimal, thousands)
        else:
            numbers = pd.to_numeric(values, errors="coerce")
        numbers = numbers.astype("float64")
        failures.add(present & numbers.isna(), field, raw_text, f"`{variable.name}` expects a number")
        if column_map.scale is not None:
            numbers = numbers * column_map.scale
        if kind in {"int", "ordinal"}:
            not_whole = present & numbers.notna() & (numbers != np.round(numbers))
            failures.add(not_whole, field, raw_text, f"`{variable.name}` expects a whole number")
        if variable.value_range is not None:
            low, high = variable.value_range
            outside = numbers.notna() & ((numbers < low) | (numbers > high))
            failures.add(outside, field, raw_text,
                         f"`{variable.name}` out of range [{low:g}, {high:g}]")
        if kind == "ordinal" and variable.values:
            allowed = {float(k) for k in variable.values}
            failures.add(numbers.notna() & ~numbers.isin(allowed), field, raw_text,
                         f"`{variable.name}` must be one of {sorted(int(a) for a in allowed)}")
        if kind == "float":
            return numbers
        return numbers.round().astype("Int64")
    text = values.astype("string").str.strip()
    if kind == "category" and variable.values:
        failures.add(text.notna() & ~text.isin(variable.allowed_codes), field, raw_text,
                     f"`{variable.name}` must be one of {sorted(variable.allowed_codes)}")
        return text
    # Free strings (school id, stratum...): an identifier pattern here means a leak.
    leak = identifier_kind(text)
    failures.add(leak.notna(), field, raw_text, "direct identifier detected: " + leak.fillna(""))
    return text


def stage_microdata(
    raw: pd.DataFrame,
    manifest: Manifest,
    codebook: Codebook,
    *,
    pseudonym_key: bytes,
    decimal: str = ".",
    thousands: str | None = None,
) -> StagedSource:
    """Map, type, validate and pseudonymise a raw microdata table (see module docstring)."""
    assert manifest.design is not None  # the manifest model guarantees it for microdata
    file_label = ", ".join(sorted(raw["_source_file"].astype(str).unique())) or str(manifest.files)
    failures = _Failures(raw, manifest.id)
    unknown = [name for name in manifest.columns if name not in codebook]
    if unknown:
        raise ValueError(
            f"source manifest {manifest.manifest_path}: field `columns` maps unknown canonical "
            f"variable(s) {unknown}; see data/codebook.yaml"
        )

    # Design columns are read like any other column, then renamed to their canonical names.
    column_maps: dict[str, ColumnMap] = dict(manifest.columns)
    for role, canonical in DESIGN_COLUMNS.items():
        source_column = getattr(manifest.design, role)
        if source_column is not None:
            column_maps[f"__design_{canonical}"] = ColumnMap(source=source_column)
    if manifest.respondent_id:
        column_maps["__respondent_id"] = ColumnMap(source=manifest.respondent_id)
    found = resolve_columns(list(raw.columns), column_maps, file_label)

    staged = pd.DataFrame(index=raw.index)
    for canonical, column_map in manifest.columns.items():
        if canonical not in found:
            continue  # optional column absent from this file
        variable = codebook[canonical]
        source_column = found[canonical]
        text = raw[source_column].astype("string")
        missing = _missing_mask(text, codebook)
        values: pd.Series = text.where(~missing)
        if column_map.values:
            values = _map_values(text, column_map.values, canonical, failures, source_column, missing)
        staged[canonical] = _coerce(
            values, variable, column_map, failures, source_column, text, decimal, thousands
        )

    for role, canonical in DESIGN_COLUMNS.items():
        key = f"__design_{canonical}"
        if key not in found:
            continue
        text = raw[found[key]].astype("string")
        if canonical in {"design_weight", "fpc", "fpc2"}:
            number = parse_number(text, decimal, thousands).astype("float64")
            bad = number.isna() | (number <= 0)
            failures.add(bad, found[key], text,
                         f"design {role} must be a positive number (manifest design.{role})")
            staged[canonical] = number
        else:
            missing = text.fillna("").str.strip() == ""
            failures.add(missing, found[key], text, f"design {role} is empty (manifest design.{role})")
            staged[canonical] = text.str.strip()

    # Follow-up answers (platform, author, help) from a pupil who reported no incident.
    for contradiction in contradictory_answers(staged):
        source_column = found.get(contradiction.field, contradiction.field)
        failures.add(contradiction.mask, source_column, raw[source_column].astype("string")
                     if source_column in raw else pd.Series(pd.NA, index=raw.index, dtype="string"),
                     contradiction.reason)

    for canonical, value in manifest.constants.items():
        staged[canonical] = value
    if "territory" not in staged:
        staged["territory"] = manifest.provenance.territory or "_T"
    if "period" not in staged:
        staged["period"] = manifest.provenance.period or "_T"
    staged["period"] = staged["period"].astype("string")
    if "stratum" not in staged:
        staged["stratum"] = "_single"
    if "psu" not in staged:
        # No clusters declared: every respondent is its own PSU.
        staged["psu"] = raw["_source_line"].astype("string")

    if "__respondent_id" in found:
        ids = raw[found["__respondent_id"]].astype("string").str.strip()
        empty = ids.isna() | (ids == "")
        failures.add(empty, found["__respondent_id"], ids, "respondent id is empty")
        pseudonyms = pseudonymise(ids, key=pseudonym_key, source_id=manifest.id)
        duplicated = pseudonyms.notna() & pseudonyms.duplicated(keep="first")
        failures.add(duplicated, found["__respondent_id"], pd.Series("<id pseudonymisé>", index=ids.index),
                     "duplicated respondent id (first occurrence kept)")
        staged["respondent_pid"] = pseudonyms
    else:
        staged["respondent_pid"] = pseudonymise(
            raw["_source_file"].astype(str) + ":" + raw["_source_line"].astype(str),
            key=pseudonym_key, source_id=manifest.id,
        )

    staged["source_id"] = manifest.id
    staged["_source_file"] = raw["_source_file"].astype("string")
    staged["_source_line"] = raw["_source_line"].astype("int64")
    kept = staged.loc[~failures.any].reset_index(drop=True)
    kept = add_derived_variables(kept, codebook)
    return StagedSource(staged=kept, rejects=failures.table(), input_rows=len(raw))
