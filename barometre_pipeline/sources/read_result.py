"""What reading one source file yields: its rows as raw text, the rows it could not parse, and how
it was read (encoding, delimiter, decimal mark, header row), so the raw asset can show it all."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd
import pyarrow as pa

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
    ``input_rows == len(table) + len(rejects)``; blank lines are not data rows and are only
    mentioned in ``notes``.

    ``table`` (Arrow: string columns, ``_source_line`` int64) is what the raw layer writes to the
    warehouse as is; ``frame`` is the same rows as a pandas DataFrame of Python strings, built only
    when asked for (at national scale, building it and copying it into DuckDB again cost more than
    parsing the file).
    """

    table: pa.Table
    rejects: list[RejectedRow]
    encoding: str
    delimiter: str | None
    decimal: str
    header_row: int  # 0-based row of the header (record index for CSV, sheet row index for XLSX)
    input_rows: int
    # Things a person reviewing the load should know: renamed duplicate headers, dropped empty
    # columns, ignored blank lines, a two-row header that was combined...
    notes: list[str] = field(default_factory=list)

    @cached_property
    def frame(self) -> pd.DataFrame:
        return arrow_to_frame(self.table)


def arrow_to_frame(table: pa.Table) -> pd.DataFrame:
    """Arrow raw rows as the pandas frame readers always returned: object columns of ``str``.

    split_blocks avoids consolidating 60 string columns into one 2-D block (a full copy)."""
    return table.to_pandas(split_blocks=True)
