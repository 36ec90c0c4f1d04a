"""Raw layer: read every file a manifest declares, as text, with an inventory of what was read.

A file that cannot be read at all does not stop the other sources: the source is quarantined with a
message naming the file (``RawSource.error``), its rows count as zero and the raw asset's check fails.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from barometre_pipeline.sources.manifest import Manifest, ManifestError, source_files
from barometre_pipeline.sources.readers import ReadResult, SourceReadError, read_source_file
from barometre_pipeline.staging.pii import mask_identifiers

READ_REJECT_COLUMNS = ["source_id", "file", "line", "field", "value", "reason"]


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
    manifest: Manifest
    frame: pd.DataFrame
    rejects: pd.DataFrame
    files: list[FileInventory] = field(default_factory=list)
    error: str | None = None

    @property
    def input_rows(self) -> int:
        return sum(f.input_rows for f in self.files)

    @property
    def decimal(self) -> str:
        return common_decimal(f.decimal for f in self.files)


def common_decimal(decimals: Iterable[str | None]) -> str:
    """The decimal separator every file of a source agrees on; "." when they disagree."""
    found = {d for d in decimals if d}
    return found.pop() if len(found) == 1 else "."


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _relative(path: Path, data_dir: Path) -> str:
    try:
        return str(path.relative_to(data_dir))
    except ValueError:
        return str(path)


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="string") for c in READ_REJECT_COLUMNS}).astype(
        {"line": "int64"}
    )


def read_raw_source(manifest: Manifest, data_dir: Path) -> RawSource:
    """Read all files of one source; unreadable input is reported, never raised past the source."""
    try:
        paths = source_files(manifest, data_dir)
    except ManifestError as exc:
        return RawSource(manifest, pd.DataFrame(), _empty_rejects(), error=str(exc))

    frames: list[pd.DataFrame] = []
    rejects: list[pd.DataFrame] = []
    inventory: list[FileInventory] = []
    for path in paths:
        name = _relative(path, data_dir)
        try:
            result: ReadResult = read_source_file(path, manifest.read, display_name=name)
        except SourceReadError as exc:
            return RawSource(manifest, pd.DataFrame(), _empty_rejects(), inventory,
                             error=f"source `{manifest.id}`: {exc}")
        frames.append(result.frame)
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
            input_rows=result.input_rows, read_rows=len(result.frame),
            rejected_rows=len(result.rejects),
        ))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    reject_table = pd.concat(rejects, ignore_index=True) if rejects else _empty_rejects()
    return RawSource(manifest, frame, reject_table[READ_REJECT_COLUMNS], inventory)
