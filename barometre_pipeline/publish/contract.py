"""Export contract v1 of the ``indicators`` dataset, held as data.

Analysts, labs, the site and the report read the exported Parquet through this contract: ordered columns,
Arrow types and a French + English description each. Its rules:

- Dimension columns hold the SDMX total code ``_T`` where a row is not broken down by them.
- Proportions are in 0..1; a suppressed row keeps its keys and counts but has no estimate.
- A compatible change only appends columns (minor version); renaming, dropping, reordering or
  retyping a column is a new major version. ``barometre_pipeline_tests/fixtures/publish/
  indicators_contract_v1.json`` is the committed snapshot the contract test compares against;
  regenerate it with ``python -m barometre_pipeline.publish.contract`` only on purpose.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable, Mapping
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from barometre_pipeline.metadata import INDICATORS, Column
from barometre_pipeline.metadata import WITHHELD_ON_SUPPRESSION as METADATA_WITHHELD
from barometre_pipeline.vocabulary import PUBLISHED_SEX_CODES, TOTAL

# Re-exported for readers of the contract (the dictionary lists the families).
from barometre_pipeline.vocabulary import SOURCE_FAMILIES as SOURCE_FAMILIES

CONTRACT_VERSION = "1.0.0"
DATASET_NAME = "indicators"
TOTAL_CODE = TOTAL
SEX_CODES: tuple[str, ...] = PUBLISHED_SEX_CODES

# Reliability grades, as assigned by ``stats.publication`` (CV / effective-n / df / NCHS rules) and
# by the consolidation of third-party figures.
RELIABILITY_CODES: dict[str, tuple[str, str]] = {
    "reliable": ("Estimation fiable", "Reliable estimate"),
    "caution": ("À interpréter avec prudence", "Interpret with caution"),
    "unreliable": ("Peu fiable : à interpréter avec prudence (ordre de grandeur)", "Unreliable: interpret with caution (order of magnitude)"),
    "suppressed": ("Non publiée (voir suppression_reason)", "Withheld (see suppression_reason)"),
    "not_assessed": ("Fiabilité non évaluable (chiffre publié par un tiers)", "Reliability not assessable (third-party figure)"),
}
# Why a cell has no published estimate: the codes and their words are the publication rules'
# own vocabulary, barometre_pipeline.stats.publication.REASONS (read by the data dictionary).

# The columns live in the table's one description (barometre_pipeline.metadata), which also
# generates the pandera schema, the GX plausibility suite and the dictionary's column docs.
ContractColumn = Column
INDICATORS_COLUMNS: tuple[Column, ...] = INDICATORS.columns

DIMENSION_COLUMNS: tuple[str, ...] = tuple(c.name for c in INDICATORS_COLUMNS if c.dimension)
# One row per indicator × source × period × territory × breakdown cell.
KEY_COLUMNS: tuple[str, ...] = INDICATORS.keys
# Columns that must be empty on a suppressed row (its keys and counts stay).
WITHHELD_ON_SUPPRESSION: tuple[str, ...] = METADATA_WITHHELD


class ContractViolation(ValueError):
    """A table cannot be conformed to the export contract; the message lists every problem."""


def indicators_schema() -> pa.Schema:
    """The Arrow schema of the contract, with version and fingerprint in its metadata."""
    schema = pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in INDICATORS_COLUMNS])
    return schema.with_metadata(contract_metadata())


def schema_fingerprint(schema: pa.Schema | None = None) -> str:
    """sha256 of the ordered (name, type) pairs: changes exactly when readers could break."""
    fields = schema if schema is not None else [pa.field(c.name, c.type) for c in INDICATORS_COLUMNS]
    canonical = json.dumps([[f.name, str(f.type)] for f in fields], separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def contract_metadata() -> dict[str, str]:
    """Key-value metadata written into every exported file of the contract."""
    return {
        "barometre.dataset": DATASET_NAME,
        "barometre.contract_version": CONTRACT_VERSION,
        "barometre.schema_fingerprint": schema_fingerprint(),
    }


def contract_snapshot() -> dict:
    """The contract as JSON-able data (what the committed snapshot holds)."""
    return {
        "dataset": DATASET_NAME,
        "contract_version": CONTRACT_VERSION,
        "schema_fingerprint": schema_fingerprint(),
        "total_code": TOTAL_CODE,
        "columns": [
            {
                "name": c.name,
                "type": str(c.type),
                "nullable": c.nullable,
                "required": c.required,
                "dimension": c.dimension,
                "description_fr": c.description_fr,
                "description_en": c.description_en,
            }
            for c in INDICATORS_COLUMNS
        ],
    }


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def compatibility_problems(snapshot: Mapping, current: Mapping | None = None) -> list[str]:
    """Why ``current`` (default: this contract) breaks readers of ``snapshot``; empty if compatible.

    Compatible = same major version, the snapshot's columns still first, in order, with the same
    names and types; appended columns require a higher minor version.
    """
    current = current if current is not None else contract_snapshot()
    problems: list[str] = []
    old_cols = list(snapshot["columns"])
    new_cols = list(current["columns"])
    for position, old in enumerate(old_cols):
        if position >= len(new_cols):
            problems.append(f"column {old['name']!r} (position {position}) was dropped")
            continue
        new = new_cols[position]
        if new["name"] != old["name"]:
            problems.append(f"column {position} was {old['name']!r}, is now {new['name']!r} (renamed, dropped or reordered)")
        elif new["type"] != old["type"]:
            problems.append(f"column {old['name']!r} changed type from {old['type']} to {new['type']}")
    old_v, new_v = _version(snapshot["contract_version"]), _version(current["contract_version"])
    if problems and new_v[0] == old_v[0]:
        problems.append(f"breaking changes need a new major version (snapshot {snapshot['contract_version']}, contract {current['contract_version']})")
    if new_v[0] != old_v[0]:
        problems.append(f"major version changed from {snapshot['contract_version']} to {current['contract_version']}: a new snapshot file is needed")
    if len(new_cols) > len(old_cols) and new_v[:2] <= old_v[:2]:
        problems.append(f"columns were appended ({', '.join(c['name'] for c in new_cols[len(old_cols):])}) without a minor version bump")
    return problems


def build_provenance(
    source_id: str,
    manifest_file: str,
    input_sha256: Mapping[str, str],
    code_version: str,
    run_id: str | None,
    **extra: object,
) -> str:
    """The provenance cell: compact, key-sorted JSON so equal inputs give equal bytes."""
    record = {
        "source_id": source_id,
        "manifest_file": manifest_file,
        "input_sha256": dict(sorted(input_sha256.items())),
        "code_version": code_version,
        "dagster_run_id": run_id,
        **extra,
    }
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _breakdown_of(dimension_values: Iterable[str], names: tuple[str, ...]) -> str:
    used = [name for name, value in zip(names, dimension_values, strict=True) if value != TOTAL_CODE]
    return "×".join(used) if used else TOTAL_CODE


def _to_arrow(data: pd.DataFrame | pa.Table) -> dict[str, pa.Array]:
    if isinstance(data, pa.Table):
        return {name: data.column(name).combine_chunks() for name in data.column_names}
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame or a pyarrow Table, got {type(data).__name__}")
    arrays: dict[str, pa.Array] = {}
    for name in data.columns:
        series = data[name]
        try:
            arrays[str(name)] = pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # Mixed-type object column: keep it as text so the cast below reports bad values.
            arrays[str(name)] = pa.array(series.map(lambda v: None if pd.isna(v) else str(v)), type=pa.string())
    return arrays


def _cast(name: str, array: pa.Array, target: pa.DataType, problems: list[str]) -> pa.Array | None:
    if array.type == target:
        return array
    if pa.types.is_string(target) and not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type) or pa.types.is_null(array.type)):
        # Codes such as departement "18" may arrive as integers; floats would print "18.0", refuse them.
        if pa.types.is_floating(array.type) or pa.types.is_boolean(array.type):
            problems.append(f"column {name!r}: expected text, got {array.type}")
            return None
    try:
        return array.cast(target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        bad = []
        for position, value in enumerate(array.to_pylist()):
            if value is None:
                continue
            try:
                pa.array([value], type=array.type).cast(target, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                bad.append(f"row {position}: {value!r}")
                if len(bad) == 5:
                    break
        problems.append(f"column {name!r}: cannot cast {array.type} to {target}; bad values: {', '.join(bad) or 'type not castable'}")
        return None


def conform_to_contract(
    data: pd.DataFrame | pa.Table,
    *,
    extra_columns: Literal["error", "drop"] = "error",
) -> pa.Table:
    """Order, cast and check an indicators table against contract v1.

    Missing dimension columns become ``_T``; a missing ``breakdown`` is derived from the dimension
    columns that are not ``_T``; other missing optional columns become null. Raises
    :class:`ContractViolation` listing every problem: missing required or unknown columns,
    uncastable values, nulls in keys, unknown sex / family codes, proportions outside 0..1,
    estimates left on suppressed rows and duplicated keys.
    """
    arrays = _to_arrow(data)
    n_rows = len(data)
    problems: list[str] = []
    known = {c.name for c in INDICATORS_COLUMNS}
    missing = [c.name for c in INDICATORS_COLUMNS if c.required and c.name not in arrays]
    if missing:
        problems.append(f"missing required columns: {', '.join(missing)}")
    unknown = sorted(set(arrays) - known)
    if unknown and extra_columns == "error":
        problems.append(f"columns outside the contract (not exported; drop them or pass extra_columns='drop'): {', '.join(unknown)}")

    out: dict[str, pa.Array] = {}
    for column in INDICATORS_COLUMNS:
        if column.name in arrays:
            cast = _cast(column.name, arrays[column.name], column.type, problems)
            if cast is not None:
                out[column.name] = cast
        elif column.dimension:
            out[column.name] = pa.array([TOTAL_CODE] * n_rows, type=pa.string())
        elif column.name != "breakdown" and not column.required:
            out[column.name] = pa.nulls(n_rows, type=column.type)
    if "breakdown" not in arrays and all(d in out for d in DIMENSION_COLUMNS):
        rows = zip(*(out[d].to_pylist() for d in DIMENSION_COLUMNS), strict=True)
        out["breakdown"] = pa.array([_breakdown_of(r, DIMENSION_COLUMNS) for r in rows], type=pa.string())
    if problems:
        raise ContractViolation("indicators table does not conform to contract v" + CONTRACT_VERSION + ":\n- " + "\n- ".join(problems))

    table = pa.table(out, schema=pa.schema([pa.field(c.name, c.type) for c in INDICATORS_COLUMNS]))
    problems.extend(_value_problems(table))
    if problems:
        raise ContractViolation("indicators table does not conform to contract v" + CONTRACT_VERSION + ":\n- " + "\n- ".join(problems))
    return table.cast(indicators_schema())


def _rows(mask: pa.Array) -> str:
    positions = pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist()
    shown = ", ".join(str(p) for p in positions[:5])
    return f"rows {shown}{'…' if len(positions) > 5 else ''} ({len(positions)} in all)"


def _value_problems(table: pa.Table) -> list[str]:
    problems: list[str] = []
    for column in INDICATORS_COLUMNS:
        if not column.nullable and table.column(column.name).null_count:
            problems.append(f"column {column.name!r} has nulls at {_rows(pc.is_null(table.column(column.name)))}")
    for name, allowed in ((c.name, c.allowed) for c in INDICATORS_COLUMNS if c.allowed):
        values = table.column(name)
        bad = pc.and_(pc.invert(pc.is_in(values, pa.array(allowed))), pc.is_valid(values))
        if pc.any(bad).as_py():
            examples = sorted({str(v) for v in pc.filter(values, bad).to_pylist()})[:5]
            problems.append(f"column {name!r} has codes outside {'|'.join(allowed)}: {examples} at {_rows(bad)}")
    estimate = table.column("estimate")
    proportion = pc.equal(table.column("unit"), "proportion")
    for name in ("estimate", "ci_low", "ci_high"):
        values = table.column(name)
        out_of_range = pc.and_(proportion, pc.or_(pc.less(values, 0.0), pc.greater(values, 1.0)))
        if pc.any(pc.fill_null(out_of_range, False)).as_py():
            problems.append(f"column {name!r}: proportions must lie in 0..1 (percentages?) at {_rows(out_of_range)}")
    suppressed = table.column("suppressed")
    for name in WITHHELD_ON_SUPPRESSION:
        leaked = pc.and_(suppressed, pc.is_valid(table.column(name)))
        if pc.any(pc.fill_null(leaked, False)).as_py():
            problems.append(f"column {name!r} must be null on suppressed rows, is not at {_rows(leaked)}")
    inverted = pc.or_(pc.greater(table.column("ci_low"), estimate), pc.less(table.column("ci_high"), estimate))
    if pc.any(pc.fill_null(inverted, False)).as_py():
        problems.append(f"confidence interval does not contain the estimate at {_rows(inverted)}")
    keys = table.select(list(KEY_COLUMNS)).group_by(list(KEY_COLUMNS)).aggregate([([], "count_all")])
    duplicated = keys.filter(pc.greater(keys.column("count_all"), 1))
    if duplicated.num_rows:
        example = {k: duplicated.column(k)[0].as_py() for k in KEY_COLUMNS}
        problems.append(f"{duplicated.num_rows} key(s) appear more than once, e.g. {example}")
    return problems


if __name__ == "__main__":
    # Regenerates the committed snapshot on purpose: `python -m barometre_pipeline.publish.contract > file`.
    json.dump(contract_snapshot(), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
