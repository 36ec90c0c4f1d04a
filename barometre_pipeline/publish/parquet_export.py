"""Parquet dataset directories under the export dir (``<export_dir>/<name>/part-0.parquet``).

Output is deterministic: rows are sorted by the dataset's keys, pandas' index metadata is dropped
and nothing time-dependent goes into the file, so the same input gives byte-identical files (with
the same pyarrow version, which the footer names). That makes reruns diffable and lets a nightly
refresh tell "nothing changed" from "new figures" by hash alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from barometre_pipeline.publish.atomic import pause_point, publish_atomically
from barometre_pipeline.publish.contract import (
    CONTRACT_VERSION,
    DATASET_NAME,
    KEY_COLUMNS,
    conform_to_contract,
    contract_metadata,
    schema_fingerprint,
)

PART_FILE = "part-0.parquet"
COMPRESSION = "zstd"
ROW_GROUP_SIZE = 128_000


def _as_table(data: pd.DataFrame | pa.Table) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    return pa.Table.from_pandas(data, preserve_index=False)


def dataset_metadata(table: pa.Table, name: str) -> dict[str, str]:
    """Key-value metadata for a dataset that is not the indicators contract."""
    return {
        "barometre.dataset": name,
        "barometre.contract_version": CONTRACT_VERSION,
        "barometre.schema_fingerprint": schema_fingerprint(table.schema),
    }


def write_parquet_file(table: pa.Table, path: Path, *, row_group_size: int = ROW_GROUP_SIZE) -> Path:
    """Write one zstd Parquet file row group by row group (the test hook pauses after the first)."""
    with pq.ParquetWriter(path, table.schema, compression=COMPRESSION) as writer:
        for group, start in enumerate(range(0, table.num_rows, row_group_size)):
            writer.write_table(table.slice(start, row_group_size), row_group_size=row_group_size)
            if group == 0:
                pause_point()
    return path


def write_parquet_dataset(
    data: pd.DataFrame | pa.Table,
    export_dir: Path,
    name: str,
    sort_keys: Sequence[str],
    *,
    metadata: Mapping[str, str] | None = None,
    row_group_size: int = ROW_GROUP_SIZE,
) -> Path:
    """Publish ``data`` atomically as ``<export_dir>/<name>/part-0.parquet``; returns the dir.

    ``sort_keys`` fix the row order (ties keep the input order, the sort is stable). ``metadata``
    defaults to the dataset name, export contract version and schema fingerprint.
    """
    table = _as_table(data)
    missing = [key for key in sort_keys if key not in table.column_names]
    if missing:
        raise ValueError(f"dataset {name!r}: sort keys not in the table: {', '.join(missing)}")
    if sort_keys:
        table = table.sort_by([(key, "ascending") for key in sort_keys])
    kv = dict(metadata) if metadata is not None else dataset_metadata(table, name)
    # Replacing (not merging) the metadata drops pandas' index block, which is not reproducible.
    table = table.replace_schema_metadata(kv)
    with publish_atomically(Path(export_dir), name) as staging:
        write_parquet_file(table, staging / PART_FILE, row_group_size=row_group_size)
    return Path(export_dir) / name


def write_indicators(
    data: pd.DataFrame | pa.Table,
    export_dir: Path,
    *,
    row_group_size: int = ROW_GROUP_SIZE,
) -> Path:
    """Conform ``data`` to contract v1 and publish it as ``<export_dir>/indicators``."""
    table = conform_to_contract(data)
    return write_parquet_dataset(
        table,
        export_dir,
        DATASET_NAME,
        KEY_COLUMNS,
        metadata=contract_metadata(),
        row_group_size=row_group_size,
    )


def read_dataset_metadata(dataset_dir: Path) -> dict[str, str]:
    """The ``barometre.*`` key-value metadata of a published dataset's part file."""
    raw = pq.read_metadata(Path(dataset_dir) / PART_FILE).metadata or {}
    return {k.decode(): v.decode() for k, v in raw.items() if k.startswith(b"barometre.")}
