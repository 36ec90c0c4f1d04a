"""Parquet datasets: deterministic, zstd, contract metadata, readable as a directory."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from barometre_pipeline.publish.contract import (
    CONTRACT_VERSION,
    KEY_COLUMNS,
    conform_to_contract,
    schema_fingerprint,
)
from barometre_pipeline.publish.parquet_export import (
    PART_FILE,
    read_dataset_metadata,
    write_indicators,
    write_parquet_dataset,
)


def test_indicators_are_written_sorted_with_contract_metadata(tmp_path, indicators_frame):
    dataset_dir = write_indicators(indicators_frame, tmp_path)
    assert dataset_dir == tmp_path / "indicators"
    assert read_dataset_metadata(dataset_dir) == {
        "barometre.dataset": "indicators",
        "barometre.contract_version": CONTRACT_VERSION,
        "barometre.schema_fingerprint": schema_fingerprint(),
    }
    parquet = pq.ParquetFile(dataset_dir / PART_FILE)
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"
    table = ds.dataset(dataset_dir).to_table()
    assert table.num_rows == len(indicators_frame)
    keys = list(zip(*(table.column(k).to_pylist() for k in KEY_COLUMNS), strict=True))
    assert keys == sorted(keys)


def test_same_rows_in_another_order_give_byte_identical_files(tmp_path, indicators_frame):
    write_indicators(indicators_frame, tmp_path / "a")
    write_indicators(indicators_frame.sample(frac=1.0, random_state=3), tmp_path / "b")
    first = (tmp_path / "a" / "indicators" / PART_FILE).read_bytes()
    assert first == (tmp_path / "b" / "indicators" / PART_FILE).read_bytes()
    changed = indicators_frame.copy()
    changed.loc[0, "n_unweighted"] = 999
    write_indicators(changed, tmp_path / "c")
    assert first != (tmp_path / "c" / "indicators" / PART_FILE).read_bytes()


def test_suppressed_rows_stay_null_after_the_round_trip(tmp_path, indicators_frame):
    write_indicators(indicators_frame, tmp_path)
    rows = duckdb.sql(
        f"SELECT count(*) FILTER (WHERE suppressed AND estimate IS NOT NULL), count(*) FILTER (WHERE suppressed) "
        f"FROM read_parquet('{tmp_path}/indicators/*.parquet')"
    ).fetchall()
    assert rows == [(0, 3)]


def test_generic_dataset_is_sorted_by_its_keys_and_fingerprinted(tmp_path):
    table = pa.table({"effect": ["b", "a", "c"], "value": [2.0, 1.0, 3.0]})
    dataset_dir = write_parquet_dataset(table, tmp_path, "effects", ["effect"])
    assert pq.read_table(dataset_dir / PART_FILE).column("effect").to_pylist() == ["a", "b", "c"]
    metadata = read_dataset_metadata(dataset_dir)
    assert metadata["barometre.dataset"] == "effects"
    assert metadata["barometre.schema_fingerprint"] == schema_fingerprint(table.schema)


def test_pandas_index_metadata_is_not_written(tmp_path, indicators_frame):
    frame = indicators_frame[["indicator_code", "estimate"]].set_axis(range(100, 100 + len(indicators_frame)))
    dataset_dir = write_parquet_dataset(frame, tmp_path, "sources", ["indicator_code"])
    assert b"pandas" not in (pq.read_metadata(dataset_dir / PART_FILE).metadata or {})


def test_unknown_sort_key_is_refused(tmp_path):
    with pytest.raises(ValueError, match="sort keys not in the table: nope"):
        write_parquet_dataset(pa.table({"a": [1]}), tmp_path, "comparisons", ["nope"])


def test_an_exported_dataset_read_back_with_pandas_conforms_unchanged(tmp_path, indicators_frame):
    dataset_dir = write_indicators(indicators_frame, tmp_path)
    exported = pq.read_table(dataset_dir / PART_FILE)
    again = conform_to_contract(pd.read_parquet(dataset_dir))
    assert again.equals(exported)
