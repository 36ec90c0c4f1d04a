"""Time ``read_source_file`` on a large French-style CSV (default 1,000,000 rows x 60 columns).

Usage: ``python -m barometre_pipeline.benchmarks.read_large_csv [rows] [columns]``. The file is
generated in a temporary folder (';' delimiter, decimal commas, accented answers, UTF-8) and two
variants are timed: a clean file (one parallel Arrow parse) and the same file with a few irregular
lines (which adds a serial re-parse to number them).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from barometre_pipeline.sources.manifest import ReadOptions
from barometre_pipeline.sources.readers import read_source_file


def write_survey_like_csv(path: Path, rows: int, columns: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    answers = np.array(["Jamais", "1 fois", "2 à 3 fois", "4 fois ou plus"], dtype=object)
    data = {}
    for j in range(columns):
        kind = j % 6
        if kind == 0:
            whole = rng.integers(0, 1000, rows).astype(str)
            data[f"poids_{j}"] = np.char.add(
                np.char.add(whole, ","), rng.integers(0, 100, rows).astype(str)
            )
        elif kind == 1:
            data[f"q_{j}"] = answers[rng.integers(0, len(answers), rows)]
        else:
            data[f"cv_{j}"] = rng.integers(0, 4, rows).astype(str)
    table = pa.table({name: pa.array(values, pa.string()) for name, values in data.items()})
    pa_csv.write_csv(
        table, path, write_options=pa_csv.WriteOptions(delimiter=";", quoting_style="needed")
    )


def time_read(path: Path) -> tuple[float, int, int]:
    start = time.perf_counter()
    result = read_source_file(path, ReadOptions())
    elapsed = time.perf_counter() - start
    # Rows of the Arrow table the pipeline writes (`.frame` would build a pandas copy for
    # nothing).
    return elapsed, result.table.num_rows, len(result.rejects)


def main(rows: int = 1_000_000, columns: int = 60) -> None:
    with tempfile.TemporaryDirectory() as folder:
        clean = Path(folder) / "large.csv"
        started = time.perf_counter()
        write_survey_like_csv(clean, rows, columns)
        size_mb = clean.stat().st_size / 1e6
        print(
            f"generated {rows:,} rows x {columns} columns, {size_mb:.0f} MB "
            f"in {time.perf_counter() - started:.1f} s"
        )
        elapsed, kept, rejected = time_read(clean)
        print(f"clean file:     {elapsed:6.2f} s  ({kept:,} rows, {rejected} rejects)")

        irregular = Path(folder) / "large_irregular.csv"
        with clean.open("ab") as handle:
            handle.write(b"1,5;cut short\n" + b";".join([b"x"] * (columns + 3)) + b"\n")
        clean.rename(irregular)
        elapsed, kept, rejected = time_read(irregular)
        print(f"irregular file: {elapsed:6.2f} s  ({kept:,} rows, {rejected} rejects)")


if __name__ == "__main__":
    arguments = [int(value) for value in sys.argv[1:3]]
    main(*arguments)
