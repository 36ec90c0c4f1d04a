"""Run one source through both staging paths and compare them cell for cell.

Reference: `staging.microdata.stage_microdata` (pandas), fed exactly as the pipeline fed it before
the fast path (the raw table read back from DuckDB, every column as text), written with
`warehouse.replace_table`. Fast path: `staging.microdata_sql.stage_microdata_sql` on the same raw
table. Both staged tables must have the same columns, the same DuckDB types and the same rows in
the same order; the rejects must be the same rows in the same order.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from barometre_pipeline.sources.ingest import common_decimal, read_raw_source
from barometre_pipeline.sources.manifest import Manifest
from barometre_pipeline.staging.codebook import Codebook
from barometre_pipeline.staging.microdata import stage_microdata
from barometre_pipeline.staging.microdata_sql import stage_microdata_sql
from barometre_pipeline.warehouse import replace_table

KEY = b"staging-paths-test-key"


def _normalised_rejects(rejects: pd.DataFrame) -> list[tuple]:
    table = rejects.reset_index(drop=True)
    return [tuple(None if pd.isna(v) else (int(v) if c == "line" else str(v))
                  for c, v in row.items()) for _, row in table.iterrows()]


def compare_paths(manifest: Manifest, data_dir: Path, codebook: Codebook) -> dict[str, int]:
    """Stage `manifest` both ways; assert equality; return row counts for the caller's checks."""
    raw = read_raw_source(manifest, data_dir)
    assert raw.error is None, raw.error
    decimal = manifest.read.decimal if manifest.read.decimal != "auto" else common_decimal(
        [f.decimal for f in raw.files])
    con = duckdb.connect()
    replace_table(con, "raw.source", raw.frame)

    reference_input = con.execute("SELECT * FROM raw.source").df()
    for column in reference_input.columns:
        if column != "_source_line":
            reference_input[column] = reference_input[column].astype("string")
    reference = stage_microdata(reference_input, manifest, codebook, pseudonym_key=KEY,
                                decimal=decimal, thousands=manifest.read.thousands)
    replace_table(con, "staging.reference", reference.staged)

    fast = stage_microdata_sql(con, "raw.source", manifest, codebook, pseudonym_key=KEY,
                               target="staging.fast", decimal=decimal,
                               thousands=manifest.read.thousands)

    described = {name: [(r[0], r[1]) for r in con.execute(f"DESCRIBE staging.{name}").fetchall()]
                 for name in ("reference", "fast")}
    assert described["fast"] == described["reference"]
    reference_rows = con.execute("SELECT * FROM staging.reference").fetchall()
    fast_rows = con.execute("SELECT * FROM staging.fast").fetchall()
    assert len(fast_rows) == len(reference_rows) == fast.staged_rows
    for number, (expected, got) in enumerate(zip(reference_rows, fast_rows, strict=True)):
        assert got == expected, f"staged row {number} differs"
    assert _normalised_rejects(fast.rejects) == _normalised_rejects(reference.rejects)
    assert fast.input_rows == reference.input_rows
    return {"staged": len(fast_rows), "rejected_fields": len(fast.rejects),
            "input": fast.input_rows}
