"""The raw layer writes the readers' Arrow tables straight to DuckDB (issue 12, national-scale read).

Before, it wrote a pandas frame of Python strings. What must hold: the raw table DuckDB keeps is
the same either way (same columns and types, same values, same row order), on every hostile
fixture (BOM + CRLF, cp1252 with decimal commas, truncated lines, merged XLSX headers, PII in free
text...) and on sources made of several files, alike or not.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from barometre_pipeline.sources.ingest import read_raw_source
from barometre_pipeline.sources.manifest import Manifest, load_manifests, source_files
from barometre_pipeline.sources.readers import read_source_file
from barometre_pipeline.warehouse import replace_table

HOSTILE = Path(__file__).parent.parent / "fixtures" / "hostile_sources"
HOSTILE_IDS = sorted(m.id for m in load_manifests(HOSTILE))


def _stored(frame: pa.Table | pd.DataFrame) -> tuple[list[tuple], list[tuple]]:
    """(column names and DuckDB types, rows in insertion order) of the table DuckDB keeps."""
    with duckdb.connect() as con:
        replace_table(con, "raw.written", frame)
        schema = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'written' ORDER BY ordinal_position").fetchall()
        rows = con.execute("SELECT * FROM raw.written ORDER BY rowid").fetchall()
    return schema, rows


def _previous_frame(manifest: Manifest, data_dir: Path) -> pd.DataFrame:
    """What the raw layer wrote before: each file's pandas frame of str, concatenated."""
    return pd.concat([read_source_file(path, manifest.read,
                                       display_name=str(path.relative_to(data_dir))).frame
                      for path in source_files(manifest, data_dir)], ignore_index=True)


def test_every_hostile_fixture_is_in_the_comparison():
    # Nine sources, eight readable (see fixtures/hostile_sources/make_hostile_sources.py).
    assert len(HOSTILE_IDS) == 9


@pytest.mark.parametrize("source_id", HOSTILE_IDS)
def test_hostile_raw_table_is_the_same_from_arrow_as_from_pandas(source_id):
    manifest = next(m for m in load_manifests(HOSTILE) if m.id == source_id)
    raw = read_raw_source(manifest, HOSTILE)
    if raw.error:
        # The unreadable fixture: nothing read, the layer writes its empty stand-in instead.
        assert source_id == "hostile_unreadable" and raw.read_rows == 0
        return
    assert isinstance(raw.rows, pa.Table)
    new_schema, new_rows = _stored(raw.rows)
    old_schema, old_rows = _stored(raw.frame)
    assert new_schema == old_schema
    assert new_rows == old_rows
    assert new_schema[-2:] == [("_source_file", "VARCHAR"), ("_source_line", "BIGINT")]
    assert {t for _, t in new_schema[:-1]} == {"VARCHAR"}
    # Raw text never holds nulls: an empty cell is "".
    assert all(v is not None for row in new_rows for v in row)
    assert len(new_rows) == raw.read_rows == len(raw.frame)


def _manifest(data_dir: Path) -> Manifest:
    manifest = Manifest.model_validate({
        "id": "several_files", "family": "public", "kind": "aggregates",
        "provenance": {"publisher": "Test", "title": "Test", "licence": "test", "period": "2025",
                       "territory": "FR"},
        "files": "raw/test/*.csv",
        "read": {"encoding": "auto", "delimiter": "auto"},
        "columns": {"indicator_code": {"source": "Code"}},
    })
    return manifest.model_copy(update={"manifest_path": data_dir / "sources" / "test.yaml"})


def _write(data_dir: Path, name: str, lines: list[str], encoding: str = "utf-8") -> None:
    folder = data_dir / "raw" / "test"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))


def test_files_with_the_same_columns_are_stacked_in_arrow_like_pandas(tmp_path):
    _write(tmp_path, "a.csv", ["Code;Libellé", "A1;Élève", "A2;\"deux\nlignes\""])
    _write(tmp_path, "b.csv", ["Code;Libellé", "B1;Collège", "B2;"], encoding="cp1252")
    manifest = _manifest(tmp_path)
    raw = read_raw_source(manifest, tmp_path)
    assert raw.error is None and isinstance(raw.rows, pa.Table)
    new = _stored(raw.rows)
    assert new == _stored(_previous_frame(manifest, tmp_path))
    assert new[1] == [("A1", "Élève", "raw/test/a.csv", 2), ("A2", "deux\nlignes", "raw/test/a.csv", 3),
                      ("B1", "Collège", "raw/test/b.csv", 2), ("B2", "", "raw/test/b.csv", 3)]


def test_files_with_different_columns_keep_the_pandas_column_union(tmp_path):
    # A column only some files have: pandas' union (column order of first appearance, null where
    # a file lacks it) is what the raw table always held, so it stays the path for this case.
    _write(tmp_path, "a.csv", ["Code;Libellé", "A1;Élève"])
    _write(tmp_path, "b.csv", ["Code;Région;Libellé", "B1;Bretagne;Collège"])
    manifest = _manifest(tmp_path)
    raw = read_raw_source(manifest, tmp_path)
    assert raw.error is None and isinstance(raw.rows, pd.DataFrame)
    schema, rows = _stored(raw.rows)
    assert (schema, rows) == _stored(_previous_frame(manifest, tmp_path))
    assert [name for name, _ in schema] == ["Code", "Libellé", "_source_file", "_source_line",
                                            "Région"]
    assert rows == [("A1", "Élève", "raw/test/a.csv", 2, None),
                    ("B1", "Collège", "raw/test/b.csv", 2, "Bretagne")]
