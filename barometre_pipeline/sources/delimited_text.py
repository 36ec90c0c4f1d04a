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


DELIMITER_NAMES = {";": "semicolon", ",": "comma", "\t": "tab", "|": "pipe"}


def delimiter_name(delimiter: str | None) -> str:
    return DELIMITER_NAMES.get(delimiter or "", repr(delimiter))


def _modal_width(sample_text: str, delimiter: str) -> int:
    counts = [len(r.fields) for r in _sample_records(sample_text, delimiter)[:50] if r.fields]
    return max(set(counts), key=counts.count) if counts else 0


def _check_declared_delimiter(path: Path, sample_text: str, declared: str) -> None:
    """A declared delimiter that leaves (nearly) every line in one piece while another candidate
    splits it into columns is a wrong manifest or a re-saved file: say which one the file uses,
    instead of letting staging report "required column not found"."""
    declared_width = _modal_width(sample_text, declared)
    sniffed = sniff_delimiter(sample_text)
    if sniffed == declared:
        return
    sniffed_width = _modal_width(sample_text, sniffed)
    if sniffed_width >= 2 and declared_width * 2 <= sniffed_width:
        raise SourceReadError(
            path,
            f"{path}: the declared delimiter {declared!r} ({delimiter_name(declared)}, "
            f"`read.delimiter`) splits lines into {declared_width} field(s), but the file appears "
            f"to be {delimiter_name(sniffed)}-delimited ({sniffed!r} gives {sniffed_width} fields "
            f"per line); set `read.delimiter: {sniffed!r}` (or `auto`) if this is the new format",
        )


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


def _is_blank(data: bytes) -> bool:
    # bytes.isspace stops at the first non-space byte, unlike strip() which copies the whole file.
    return not data or data.isspace()


def _record_lines(
    body: bytes,
    header_end_line: int,
    table: pa.Table,
    good_numbers: np.ndarray,
    irregular: _IrregularRows,
    record_count: int,
) -> np.ndarray:
    """Physical line (1-based) where each record starts, indexed by record number - 1.

    Arrow numbers records, not lines; the two differ by the line breaks inside quoted values of
    the records before, which are only counted when the file has any.
    """
    physical_lines = body.count(b"\n") + (0 if body.endswith(b"\n") or not body else 1)
    newlines = np.zeros(record_count + 1, dtype=np.int64)  # index = record number
    if physical_lines != record_count:
        newlines[good_numbers] = _embedded_newlines(table)
        for number, count in irregular.newlines.items():
            newlines[number] = count
    lines_before = (
        np.concatenate([[0], np.cumsum(newlines[1:-1])]) if record_count else newlines[:0]
    )
    return header_end_line + np.arange(1, record_count + 1, dtype=np.int64) + lines_before


def _raw_record(data: bytes, start_line: int, end_line: int | None) -> str:
    start = _byte_offset_after_line(data, start_line - 1)
    end = len(data) if end_line is None else _byte_offset_after_line(data, end_line)
    return data[start:end].decode("utf-8").rstrip("\r\n")


def _find_header(
    path: Path, records: list[_SampleRecord], options: ReadOptions
) -> tuple[int, _SampleRecord]:
    if options.header_row is not None:
        header_index = options.header_row
    else:
        header_index = detect_header_row([r.fields for r in records], options.skip_rows)
    if header_index >= len(records):
        raise SourceReadError(
            path,
            f"{path}: no header row found at row {header_index} (`read.header_row` / "
            f"`read.skip_rows`); the file's first rows hold {len(records)} record(s)",
        )
    return header_index, records[header_index]


def read_delimited(
    path: Path, decoded: DecodedSource, options: ReadOptions, display_name: str, fmt: str
) -> ReadResult:
    data = decoded.utf8
    if b"\n" not in data and b"\r" in data:
        data = data.replace(b"\r", b"\n")  # classic Mac line endings
    if _is_blank(data):
        raise SourceReadError(path, f"{path} is empty: no header and no data")

    sample = data[:_SAMPLE_BYTES]
    if len(data) > _SAMPLE_BYTES and b"\n" in sample:
        sample = sample[: sample.rfind(b"\n") + 1]
    sample_text = sample.decode("utf-8", errors="ignore")

    if options.delimiter.strip().lower() == "auto":
        delimiter = "\t" if fmt == "tsv" else sniff_delimiter(sample_text)
    else:
        delimiter = normalise_delimiter(path, options.delimiter)
        _check_declared_delimiter(path, sample_text, delimiter)

    records = _sample_records(sample_text, delimiter)
    header_index, header = _find_header(path, records, options)
    header_end_line = header.end_line
    header_fields = header.fields
    named = max((i + 1 for i, name in enumerate(header_fields) if name.strip()), default=0)
    if named == 0:
        raise SourceReadError(path, f"{path}: header row (line {header_end_line}) is empty")

    # Exports often end every data row with one more (empty) field than the header: parse with
    # room for them, then reject the rows whose surplus fields actually hold something.
    width = max([len(header_fields), *(len(r.fields) for r in records[header_index + 1 :])])
    parse_names = [f"f{i}" for i in range(width)]
    irregular = _IrregularRows(width=width, named=named, delimiter=delimiter)
    body = data[_byte_offset_after_line(data, header_end_line) :]

    if _is_blank(body):
        table = pa.table({name: pa.array([], pa.string()) for name in parse_names})
    else:
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

    record_count = table.num_rows + len(irregular.salvaged) + len(irregular.rejected)
    irregular_numbers = np.array(sorted([*irregular.salvaged, *irregular.rejected]), dtype=np.int64)
    good_numbers = np.setdiff1d(
        np.arange(1, record_count + 1, dtype=np.int64), irregular_numbers, assume_unique=True
    )
    record_line = _record_lines(body, header_end_line, table, good_numbers, irregular, record_count)

    table = table.append_column("_record", pa.array(good_numbers, pa.int64()))
    if irregular.salvaged:
        salvaged = pa.table(
            {
                **{
                    name: pa.array(
                        [fields[i] for fields in irregular.salvaged.values()], pa.string()
                    )
                    for i, name in enumerate(parse_names)
                },
                "_record": pa.array(list(irregular.salvaged), pa.int64()),
            }
        )
        table = pa.concat_tables([table, salvaged])
        table = table.take(pc.sort_indices(table["_record"]))

    rejects = [
        RejectedRow(display_name, int(record_line[number - 1]), None, text, reason)
        for number, (text, reason) in irregular.rejected.items()
    ]

    # Fields beyond the header that hold something: the row does not fit the header.
    surplus = None
    for name in parse_names[len(header_fields) :]:
        filled = pc.not_equal(table[name], "")
        surplus = filled if surplus is None else pc.or_(surplus, filled)
    if surplus is not None and pc.any(surplus).as_py():
        overflowing = table.filter(surplus)
        for row in overflowing.to_pylist():
            fields = [row[name] for name in parse_names]
            got = max(i + 1 for i, value in enumerate(fields) if value != "")
            line = int(record_line[row["_record"] - 1])
            end = int(record_line[row["_record"]]) - 1 if row["_record"] < record_count else None
            rejects.append(
                RejectedRow(
                    display_name,
                    line,
                    None,
                    _raw_record(data, line, end),
                    f"too many fields: expected {named} fields, got {got}",
                )
            )
        table = table.filter(pc.invert(surplus))

    # A file cut inside a quoted field leaves its last record swallowing everything to the end.
    if record_count and data.count(b'"', len(data) - len(body)) % 2 == 1:
        last_line = int(record_line[record_count - 1])
        offset = _byte_offset_after_line(data, last_line - 1)
        if _unterminated_quote(data, offset, delimiter) and record_count not in irregular.rejected:
            table = table.filter(pc.not_equal(table["_record"], record_count))
            rejects = [r for r in rejects if r.line != last_line]
            rejects.append(
                RejectedRow(
                    display_name,
                    last_line,
                    None,
                    data[offset:].decode("utf-8"),
                    "unterminated quoted field: the file ends inside quotes (truncated file?)",
                )
            )
    rejects.sort(key=lambda reject: reject.line)

    notes: list[str] = []
    if table.num_rows:
        blank = pc.equal(table[parse_names[0]], "")
        for name in parse_names[1:]:
            blank = pc.and_(blank, pc.equal(table[name], ""))
        blank_count = pc.sum(blank).as_py() or 0
        if blank_count:
            notes.append(f"{blank_count} blank line(s) ignored")
            table = table.filter(pc.invert(blank))

    column_has_data = [bool(pc.any(pc.not_equal(table[name], "")).as_py()) for name in parse_names]
    names, positions = name_columns(header_fields, column_has_data, notes)
    lines = (
        record_line[table["_record"].to_numpy() - 1] if table.num_rows else np.zeros(0, np.int64)
    )
    kept = table.select([parse_names[i] for i in positions]).rename_columns(names)
    kept = kept.append_column(
        SOURCE_FILE_COLUMN,
        pa.array(np.full(kept.num_rows, display_name, dtype=object), pa.string()),
    ).append_column(SOURCE_LINE_COLUMN, pa.array(lines, pa.int64()))

    if options.decimal.strip().lower() == "auto":
        # Row by row, as the first rows read: only this sample becomes Python strings.
        head = kept.slice(0, _DECIMAL_SAMPLE_ROWS).select(list(range(len(names)))).to_pandas()
        sample_values = pd.Series(head.to_numpy().ravel())
        decimal = "." if delimiter == "," else detect_decimal(sample_values)
    else:
        decimal = options.decimal

    return ReadResult(
        table=kept,
        rejects=rejects,
        encoding=decoded.encoding,
        delimiter=delimiter,
        decimal=decimal,
        header_row=header_index,
        input_rows=kept.num_rows + len(rejects),
        notes=notes,
    )
