"""Raw layer: read every file a manifest declares, as text, with an inventory of what was read.

A file that cannot be read at all does not stop the other sources: the source is quarantined with a
message naming the file and saying what the file appears to be (encoding, delimiter) when that
differs from the manifest (``RawSource.error``); its rows count as zero and its `readable` check
fails. Messages name files relative to the data dir, so no local path reaches a published table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd
import pyarrow as pa

from barometre_pipeline.sources.delimited_text import (
    delimiter_name,
    normalise_delimiter,
    sniff_delimiter,
)
from barometre_pipeline.sources.encoding import decode_source
from barometre_pipeline.sources.fingerprint import file_sha256
from barometre_pipeline.sources.manifest import Manifest, ManifestError, ReadOptions, source_files
from barometre_pipeline.sources.read_result import arrow_to_frame
from barometre_pipeline.sources.readers import ReadResult, SourceReadError, read_source_file
from barometre_pipeline.staging.pii import mask_identifiers
from barometre_pipeline.vocabulary import REJECT_COLUMNS

# Enough lines to tell the delimiter (the readers sniff the same amount).
_SAMPLE_BYTES = 256 * 1024

__all__ = ["FileInventory", "RawSource", "common_decimal", "file_sha256", "read_raw_source"]


@dataclass(frozen=True)
class FileInventory:
    path: str  # relative to the data dir
    sha256: str
    size_bytes: int
    encoding: str
    delimiter: str | None
    decimal: str
    input_rows: int
    read_rows: int
    rejected_rows: int


@dataclass
class RawSource:
    """What the raw layer stores for one source.

    ``rows`` is what goes to the warehouse: an Arrow table when every file has the same columns
    (the usual case: written to DuckDB without ever becoming Python strings), else the pandas
    concatenation of the files' frames (columns unioned, missing cells null), as always.
    ``frame`` is the same rows as pandas, built only when asked for.
    """

    manifest: Manifest
    rows: pa.Table | pd.DataFrame
    rejects: pd.DataFrame
    files: list[FileInventory] = field(default_factory=list)
    error: str | None = None

    @cached_property
    def frame(self) -> pd.DataFrame:
        return arrow_to_frame(self.rows) if isinstance(self.rows, pa.Table) else self.rows

    @property
    def read_rows(self) -> int:
        return len(self.rows)

    @property
    def input_rows(self) -> int:
        return sum(f.input_rows for f in self.files)

    @property
    def decimal(self) -> str:
        return common_decimal(f.decimal for f in self.files)

    def inventory_table(self) -> pd.DataFrame:
        """One row per file read (path, sha256, size, encoding, delimiter, decimal, rows)."""
        columns = list(FileInventory.__dataclass_fields__)
        return pd.DataFrame([asdict(f) for f in self.files], columns=columns).astype(
            {"input_rows": "int64", "read_rows": "int64", "rejected_rows": "int64",
             "size_bytes": "int64"})

    def files_json(self) -> str:
        return json.dumps([{"path": f.path, "sha256": f.sha256} for f in self.files])


def common_decimal(decimals: Iterable[str | None]) -> str:
    """The decimal separator every file of a source agrees on; "." when they disagree."""
    found = {d for d in decimals if d}
    return found.pop() if len(found) == 1 else "."


def _relative(path: Path, data_dir: Path) -> str:
    try:
        return str(path.relative_to(data_dir))
    except ValueError:
        return path.name


def _without_local_paths(message: str, data_dir: Path) -> str:
    """Read errors name files by absolute path; published tables must not."""
    return message.replace(f"{data_dir}/", "").replace(str(data_dir), "<data dir>")


def empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="string") for c in REJECT_COLUMNS}).astype(
        {"line": "int64"}
    )


def appearance(path: Path, options: ReadOptions) -> str:
    """What the file appears to be, where it differs from what the manifest declares:
    e.g. "the file appears to be cp1252-encoded and comma-delimited (declared: utf-8-sig, ';')".
    Empty when detection finds nothing different or nothing at all."""
    try:
        raw = path.read_bytes()
        decoded = decode_source(path, raw, "auto")
    except (OSError, SourceReadError):
        return ""
    sample = decoded.utf8[:_SAMPLE_BYTES].decode("utf-8", errors="ignore")
    encoding = decoded.encoding
    delimiter = sniff_delimiter(sample)
    declared_encoding = options.encoding.strip().lower()
    declared_delimiter = options.delimiter.strip().lower()
    if declared_delimiter != "auto":
        try:
            declared_delimiter = normalise_delimiter(path, options.delimiter)
        except SourceReadError:
            pass
    encoding_differs = declared_encoding not in {"auto", encoding} and not (
        {declared_encoding, encoding} <= {"utf-8", "utf-8-sig", "utf8"})
    delimiter_differs = declared_delimiter not in {"auto", delimiter}
    if not (encoding_differs or delimiter_differs):
        return ""
    return (f"the file appears to be {encoding}-encoded and {delimiter_name(delimiter)}-delimited "
            f"({delimiter!r}), while the manifest declares encoding {options.encoding!r} and "
            f"delimiter {options.delimiter!r} (`read.encoding`, `read.delimiter`)")


def read_raw_source(manifest: Manifest, data_dir: Path) -> RawSource:
    """Read all files of one source; unreadable input is reported, never raised past the source."""
    try:
        paths = source_files(manifest, data_dir)
    except ManifestError as exc:
        return RawSource(manifest, pd.DataFrame(), empty_rejects(),
                         error=_without_local_paths(str(exc), data_dir))

    tables: list[pa.Table] = []
    rejects: list[pd.DataFrame] = []
    inventory: list[FileInventory] = []
    for path in paths:
        name = _relative(path, data_dir)
        try:
            result: ReadResult = read_source_file(path, manifest.read, display_name=name)
        except SourceReadError as exc:
            seen = appearance(path, manifest.read)
            message = f"source `{manifest.id}`: {exc}" + (f" — {seen}" if seen else "")
            return RawSource(manifest, pd.DataFrame(), empty_rejects(), inventory,
                             error=_without_local_paths(message, data_dir))
        tables.append(result.table)
        if result.rejects:
            rejects.append(pd.DataFrame(
                {
                    "source_id": manifest.id,
                    "file": [r.file for r in result.rejects],
                    "line": [int(r.line) for r in result.rejects],
                    "field": [r.field for r in result.rejects],
                    # An unparseable line is raw text: mask identifiers it may carry.
                    "value": mask_identifiers(pd.Series([r.value for r in result.rejects],
                                                        dtype="string")).tolist(),
                    "reason": [r.reason for r in result.rejects],
                }
            ))
        inventory.append(FileInventory(
            path=name, sha256=file_sha256(path), size_bytes=path.stat().st_size,
            encoding=result.encoding, delimiter=result.delimiter, decimal=result.decimal,
            input_rows=result.input_rows, read_rows=result.table.num_rows,
            rejected_rows=len(result.rejects),
        ))
    reject_table = pd.concat(rejects, ignore_index=True) if rejects else empty_rejects()
    return RawSource(manifest, _concatenated(tables), reject_table[list(REJECT_COLUMNS)], inventory)


def _concatenated(tables: list[pa.Table]) -> pa.Table | pd.DataFrame:
    """The files' rows one after the other. Arrow when the files agree on their columns (no copy);
    otherwise pandas' column union, so files whose columns differ read exactly as they always
    did (same column order, same nulls, same types in the warehouse)."""
    if not tables:
        return pd.DataFrame()
    if all(t.schema.equals(tables[0].schema) for t in tables[1:]):
        return pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    return pd.concat([arrow_to_frame(t) for t in tables], ignore_index=True)
