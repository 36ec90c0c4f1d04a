"""Reading one source file, whatever it is: the entry point the raw assets call.

``read_source_file`` picks the reader from the manifest's ``read.format`` (or, on ``auto``, from
the file's name and first bytes), and returns every row as raw text with its file and line, plus the
rows that could not be parsed. Mapping columns to the codebook (:func:`resolve_columns`) and turning
number text into numbers (:func:`parse_number`) are separate steps the staging layer calls.
"""

from __future__ import annotations

from pathlib import Path

from barometre_pipeline.sources.delimited_text import read_delimited
from barometre_pipeline.sources.encoding import binary_signature, decode_source
from barometre_pipeline.sources.header_resolution import normalise_header, resolve_columns
from barometre_pipeline.sources.manifest import ReadOptions
from barometre_pipeline.sources.number_text import detect_decimal, parse_number
from barometre_pipeline.sources.read_result import (
    SOURCE_FILE_COLUMN,
    SOURCE_LINE_COLUMN,
    ReadResult,
    RejectedRow,
    SourceReadError,
)
from barometre_pipeline.sources.spreadsheet import read_spreadsheet

__all__ = [
    "SOURCE_FILE_COLUMN",
    "SOURCE_LINE_COLUMN",
    "ReadResult",
    "RejectedRow",
    "SourceReadError",
    "detect_decimal",
    "normalise_header",
    "parse_number",
    "read_source_file",
    "resolve_columns",
]

_SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm"}
_ZIP_MAGIC = b"PK\x03\x04"


def _is_xlsx_archive(path: Path, head: bytes) -> bool:
    if not head.startswith(_ZIP_MAGIC):
        return False
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _file_format(path: Path, options: ReadOptions, head: bytes) -> str:
    if options.format != "auto":
        return options.format
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise SourceReadError(
            path, f"{path} is a legacy Excel .xls workbook: save it as .xlsx or CSV to read it"
        )
    if suffix in _SPREADSHEET_SUFFIXES or _is_xlsx_archive(path, head):
        return "xlsx"
    if suffix in {".tsv", ".tab"}:
        return "tsv"
    return "csv"


def read_source_file(
    path: Path, options: ReadOptions, display_name: str | None = None
) -> ReadResult:
    """Read ``path`` into raw-text rows; ``display_name`` (default: the file name) is what
    ``_source_file`` and rejects show, typically the path relative to the data dir."""
    path = Path(path)
    name = display_name if display_name is not None else path.name
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SourceReadError(path, f"source file {path} does not exist") from None
    except OSError as exc:
        raise SourceReadError(path, f"cannot read source file {path}: {exc}") from None
    if not raw or raw.isspace():
        raise SourceReadError(path, f"{path} is empty ({len(raw)} bytes): no header and no data")

    file_format = _file_format(path, options, raw[:8])
    if file_format == "xlsx":
        if not raw.startswith(_ZIP_MAGIC):
            description = binary_signature(raw) or "text, not an Excel workbook"
            raise SourceReadError(
                path, f"{path} is not an .xlsx workbook: it looks like {description}"
            )
        return read_spreadsheet(path, options, name)
    decoded = decode_source(path, raw, options.encoding)
    return read_delimited(path, decoded, options, name, file_format)
