"""What reading one source file yields: its rows as raw text, the rows it could not parse, and how
it was read (encoding, delimiter, decimal mark, header row), so the raw asset can show it all."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

SOURCE_FILE_COLUMN = "_source_file"
SOURCE_LINE_COLUMN = "_source_line"


class SourceReadError(Exception):
    """A source file cannot be read; the message names the file (and the row/field where relevant)."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(message)
        self.path = Path(path)


@dataclass
class RejectedRow:
    """A row kept aside because it does not fit the header's shape."""

    file: str
    line: int  # 1-based physical line (CSV) or sheet row (XLSX) where the row starts
    field: str | None
    value: str | None  # the raw text of the row (or field), so the reject can be inspected
    reason: str


@dataclass
class ReadResult:
    """Rows of one file as raw text, with ``_source_file`` and ``_source_line`` columns.

    Every data column holds the text exactly as written (an empty cell is ``""``, never NaN), so
    that typing, value maps and rejects happen at staging, where they are visible.
    ``input_rows == len(frame) + len(rejects)``; blank lines are not data rows and are only
    mentioned in ``notes``.
    """

    frame: pd.DataFrame
    rejects: list[RejectedRow]
    encoding: str
    delimiter: str | None
    decimal: str
    header_row: int  # 0-based row of the header (record index for CSV, sheet row index for XLSX)
    input_rows: int
    # Things a person reviewing the load should know: renamed duplicate headers, dropped empty
    # columns, ignored blank lines, a two-row header that was combined...
    notes: list[str] = field(default_factory=list)
