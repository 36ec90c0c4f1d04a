"""Reading delimited text files (CSV, TSV, semicolon exports) into raw-text rows.

Parsing is done by Arrow's multithreaded C++ CSV reader; Python only looks at a sample (to sniff the
delimiter and find the header) and at the rows Arrow flags as not having the header's number of
fields. Those rows are re-read individually: rows that merely omit or add *empty* trailing fields
are kept, the others become rejects with their physical line number. A file with no irregular row
is parsed once, in parallel; a file with some is parsed a second time serially, because only a
serial parse numbers the irregular rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from barometre_pipeline.sources.encoding import DecodedSource
from barometre_pipeline.sources.header_resolution import name_columns
from barometre_pipeline.sources.manifest import ReadOptions
from barometre_pipeline.sources.number_text import detect_decimal
from barometre_pipeline.sources.read_result import (
    SOURCE_FILE_COLUMN,
    SOURCE_LINE_COLUMN,
    ReadResult,
    RejectedRow,
    SourceReadError,
)

CANDIDATE_DELIMITERS = (";", "\t", ",", "|")
_DELIMITER_ALIASES = {"\\t": "\t", "tab": "\t", "semicolon": ";", "comma": ",", "pipe": "|"}
_SAMPLE_BYTES = 256 * 1024
_SAMPLE_RECORDS = 200
_HEADER_SEARCH_RECORDS = 30
_DECIMAL_SAMPLE_ROWS = 2000
_BLOCK_SIZE = 16 * 1024 * 1024
_NUMERIC_LOOKING = re.compile(r"^[\d\s.,+\-%/:\u00a0\u202f]+$")


@dataclass
class _SampleRecord:
    fields: list[str]
    end_line: int  # physical line (1-based) on which the record ends


@dataclass
class _IrregularRows:
    """Rows Arrow would not parse, sorted out into kept ("salvaged") and rejected ones."""

    width: int
    named: int
    delimiter: str
    salvaged: dict[int, list[str]] = field(default_factory=dict)  # record number -> fields
    rejected: dict[int, tuple[str, str]] = field(default_factory=dict)  # record -> (text, reason)
    newlines: dict[int, int] = field(default_factory=dict)  # record -> embedded line breaks

    def handle(self, row: pa_csv.InvalidRow) -> str:
        number = row.number
        if number is None:  # only a parallel parse leaves rows unnumbered; see read_delimited
            raise RuntimeError("irregular rows must be collected with a serial parse")
        text = row.text
        self.newlines[number] = text.count("\n")
        fields = _split_record(text, self.delimiter)
        extra = fields[self.width :]
        if len(fields) < self.named:
            self.rejected[number] = (
                text,
                f"truncated line: expected {self.named} fields, got {len(fields)}",
            )
        elif len(fields) <= self.width or not any(value.strip() for value in extra):
            self.salvaged[number] = (fields + [""] * self.width)[: self.width]
        else:
            self.rejected[number] = (
                text,
                f"too many fields: expected {self.named} fields, got {len(fields)}",
            )
        return "skip"


def _split_record(text: str, delimiter: str) -> list[str]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    fields: list[str] = []
    for part in reader:
        # A record with embedded line breaks comes back in one piece; this only guards the
        # degenerate case of a bare carriage return.
        fields.extend(part)
    return fields


def normalise_delimiter(path: Path, delimiter: str) -> str:
    value = _DELIMITER_ALIASES.get(delimiter.lower(), delimiter)
    if len(value) != 1:
        raise SourceReadError(
            path, f"cannot read {path}: `read.delimiter` must be one character, got {delimiter!r}"
        )
    return value


def _sample_records(text: str, delimiter: str) -> list[_SampleRecord]:
    reader = csv.reader(io.StringIO(text, newline="\n"), delimiter=delimiter)
    records: list[_SampleRecord] = []
    try:
        for fields in reader:
            records.append(_SampleRecord([f.strip("\r") for f in fields], reader.line_num))
            if len(records) >= _SAMPLE_RECORDS:
                break
    except csv.Error:
        pass  # the sample ends inside a quoted field; the records before it are enough
    return records


def sniff_delimiter(sample_text: str) -> str:
    """The candidate delimiter giving the most consistent number (> 1) of fields per record."""
    best: tuple[float, int, int] | None = None
    chosen = CANDIDATE_DELIMITERS[0]
    for rank, delimiter in enumerate(CANDIDATE_DELIMITERS):
        counts = [len(r.fields) for r in _sample_records(sample_text, delimiter) if r.fields]
        counts = counts[:50]
        if not counts:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        consistency = counts.count(mode) / len(counts)
        score = (round(consistency, 2), mode, -rank)
        if best is None or score > best:
            best, chosen = score, delimiter
    return chosen


def _looks_like_header(fields: Sequence[str], widest: int) -> bool:
    filled = [f.strip() for f in fields if f.strip()]
    if len(filled) < 2 or len(filled) < 0.5 * widest:
        return False
    numeric = sum(1 for f in filled if _NUMERIC_LOOKING.match(f))
    return numeric <= 0.3 * len(filled)


def detect_header_row(records: Sequence[Sequence[str]], start: int) -> int:
    """Index of the first record from ``start`` that looks like a header: several filled cells,
    mostly words rather than numbers (skips title lines such as "Export du 12/03/2024")."""
    window = records[start : start + _HEADER_SEARCH_RECORDS]
    widest = max((sum(1 for f in r if f.strip()) for r in window), default=0)
    for offset, fields in enumerate(window):
        if _looks_like_header(fields, widest):
            return start + offset
    for offset, fields in enumerate(window):
        if any(f.strip() for f in fields):
            return start + offset
    return start


def _byte_offset_after_line(data: bytes, line: int) -> int:
    offset = 0
    for _ in range(line):
        found = data.find(b"\n", offset)
        if found < 0:
            return len(data)
        offset = found + 1
    return offset


def _parse(data: bytes, names: list[str], delimiter: str, handler, use_threads: bool) -> pa.Table:
    return pa_csv.read_csv(
        pa.py_buffer(data),
        read_options=pa_csv.ReadOptions(
            use_threads=use_threads, column_names=names, block_size=_BLOCK_SIZE
        ),
        parse_options=pa_csv.ParseOptions(
            delimiter=delimiter,
            quote_char='"',
            double_quote=True,
            newlines_in_values=True,
            ignore_empty_lines=False,
            invalid_row_handler=handler,
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _embedded_newlines(table: pa.Table) -> np.ndarray:
    counts = np.zeros(table.num_rows, dtype=np.int64)
    for column in table.columns:
        per_row = pc.count_substring(column, "\n")
        if pc.sum(per_row).as_py():
            counts += per_row.to_numpy(zero_copy_only=False)
    return counts


def _unterminated_quote(data: bytes, start_offset: int, delimiter: str) -> bool:
    tail = data[start_offset:].decode("utf-8")
    reader = csv.reader(io.StringIO(tail, newline=""), delimiter=delimiter, strict=True)
    try:
        for _ in reader:
            pass
    except csv.Error:
        return True
    return False


def read_delimited(
    path: Path, decoded: DecodedSource, options: ReadOptions, display_name: str, fmt: str
) -> ReadResult:
    data = decoded.utf8
    if b"\n" not in data and b"\r" in data:
        data = data.replace(b"\r", b"\n")  # classic Mac line endings
    if not data.strip():
        raise SourceReadError(path, f"{path} is empty: no header and no data")

    sample = data[:_SAMPLE_BYTES]
    if len(data) > _SAMPLE_BYTES and b"\n" in sample:
        sample = sample[: sample.rfind(b"\n") + 1]
    sample_text = sample.decode("utf-8", errors="ignore")

    if options.delimiter.strip().lower() == "auto":
        delimiter = "\t" if fmt == "tsv" else sniff_delimiter(sample_text)
    else:
        delimiter = normalise_delimiter(path, options.delimiter)

    records = _sample_records(sample_text, delimiter)
    if options.header_row is not None:
        header_index = options.header_row
        if header_index >= len(records):
            raise SourceReadError(
                path, f"{path}: `read.header_row` {header_index} is beyond the file's first rows"
            )
    else:
        header_index = detect_header_row([r.fields for r in records], options.skip_rows)
    if header_index >= len(records):
        raise SourceReadError(path, f"{path} has no header row after skipping {options.skip_rows} rows")
    header = records[header_index]
    header_end_line = header.end_line
    header_fields = header.fields

    named = max((i + 1 for i, name in enumerate(header_fields) if name.strip()), default=0)
    if named == 0:
        raise SourceReadError(path, f"{path}: header row (line {header_end_line}) is empty")
    # Exports often end every data row with one more (empty) field than the header.
    width = len(header_fields)
    for record in records[header_index + 1 :]:
        extra = record.fields[width:]
        if extra and not any(value.strip() for value in extra):
            width = len(record.fields)

    data_start = _byte_offset_after_line(data, header_end_line)
    body = data[data_start:]
    notes: list[str] = []
    parse_names = [f"f{i}" for i in range(width)]
    irregular = _IrregularRows(width=width, named=named, delimiter=delimiter)

    if body.strip():
        flagged = 0

        def count_irregular(_row: pa_csv.InvalidRow) -> str:
            nonlocal flagged
            flagged += 1
            return "skip"

        try:
            table = _parse(body, parse_names, delimiter, count_irregular, use_threads=True)
            if flagged:
                table = _parse(body, parse_names, delimiter, irregular.handle, use_threads=False)
        except pa.ArrowInvalid as exc:
            raise SourceReadError(path, f"cannot parse {path} as delimited text: {exc}") from None
    else:
        table = pa.table({name: pa.array([], pa.string()) for name in parse_names})

    record_count = table.num_rows + len(irregular.salvaged) + len(irregular.rejected)
    irregular_numbers = np.array(
        sorted([*irregular.salvaged, *irregular.rejected]), dtype=np.int64
    )
    good_numbers = np.setdiff1d(
        np.arange(1, record_count + 1, dtype=np.int64), irregular_numbers, assume_unique=True
    )

    # Physical line of each record: records are numbered by Arrow, lines also count the line
    # breaks inside quoted values of the records before.
    physical_lines = body.count(b"\n") + (0 if body.endswith(b"\n") or not body else 1)
    newlines = np.zeros(record_count + 1, dtype=np.int64)  # index = record number
    if physical_lines != record_count:
        newlines[good_numbers] = _embedded_newlines(table)
        for number, count in irregular.newlines.items():
            newlines[number] = count
    lines_before = np.concatenate([[0], np.cumsum(newlines[1:-1])]) if record_count else newlines[:0]
    record_line = header_end_line + np.arange(1, record_count + 1) + lines_before

    frame = table.to_pandas()
    frame["_record"] = good_numbers
    if irregular.salvaged:
        salvaged = pd.DataFrame(list(irregular.salvaged.values()), columns=parse_names, dtype=object)
        salvaged["_record"] = list(irregular.salvaged)
        frame = pd.concat([frame, salvaged], ignore_index=True).sort_values("_record")
        frame = frame.reset_index(drop=True)

    rejects = [
        RejectedRow(display_name, int(record_line[number - 1]), None, text, reason)
        for number, (text, reason) in sorted(irregular.rejected.items())
    ]

    # A file cut inside a quoted field leaves its last record swallowing everything to the end.
    if record_count and data.count(b'"', data_start) % 2 == 1:
        last = record_count
        last_line = int(record_line[last - 1])
        offset = _byte_offset_after_line(data, last_line - 1)
        if _unterminated_quote(data, offset, delimiter) and last not in irregular.rejected:
            text = data[offset:].decode("utf-8")
            frame = frame[frame["_record"] != last]
            rejects.append(
                RejectedRow(
                    display_name,
                    last_line,
                    None,
                    text,
                    "unterminated quoted field: the file ends inside quotes (truncated file?)",
                )
            )

    values = frame[parse_names]
    blank = (values == "").all(axis=1) if len(values) else pd.Series([], dtype=bool)
    if blank.any():
        notes.append(f"{int(blank.sum())} blank line(s) ignored")
        frame = frame[~blank.to_numpy()]

    names, positions = name_columns(header_fields, frame[parse_names], notes)
    result = frame[[parse_names[i] for i in positions]].copy()
    result.columns = names
    result = result.reset_index(drop=True)
    result[SOURCE_FILE_COLUMN] = display_name
    result[SOURCE_LINE_COLUMN] = record_line[frame["_record"].to_numpy() - 1].astype(np.int64)

    if options.decimal.strip().lower() == "auto":
        sample_values = pd.Series(result[names].head(_DECIMAL_SAMPLE_ROWS).to_numpy().ravel())
        decimal = "." if delimiter == "," else detect_decimal(sample_values)
    else:
        decimal = options.decimal

    return ReadResult(
        frame=result,
        rejects=rejects,
        encoding=decoded.encoding,
        delimiter=delimiter,
        decimal=decimal,
        header_row=header_index,
        input_rows=len(result) + len(rejects),
        notes=notes,
    )
