"""Atomic publication: readers see the old export or the new one, even if the writer is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from barometre_pipeline.publish.atomic import (
    PAUSE_ENV,
    STAGING_PREFIX,
    VERSIONS_DIR,
    current_version,
    publish_atomically,
    write_file_atomically,
)
from barometre_pipeline.publish.parquet_export import write_parquet_dataset

REPO_ROOT = Path(__file__).resolve().parents[2]


def _publish_text(export_dir: Path, text: str) -> None:
    with publish_atomically(export_dir, "report") as staging:
        (staging / "index.html").write_text(text)


def test_published_name_resolves_to_the_new_content_and_keeps_the_previous_version(tmp_path):
    _publish_text(tmp_path, "v1")
    first = current_version(tmp_path, "report")
    _publish_text(tmp_path, "v2")
    assert (tmp_path / "report" / "index.html").read_text() == "v2"
    assert (first / "index.html").read_text() == "v1"  # kept for readers still on it
    _publish_text(tmp_path, "v3")
    assert not first.exists()  # only the current and the previous version are kept
    assert len(list((tmp_path / VERSIONS_DIR / "report").iterdir())) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_an_exception_while_writing_leaves_the_old_export_untouched(tmp_path):
    _publish_text(tmp_path, "old")
    with pytest.raises(RuntimeError):
        with publish_atomically(tmp_path, "report") as staging:
            (staging / "index.html").write_text("half")
            raise RuntimeError("writer crashed")
    assert (tmp_path / "report" / "index.html").read_text() == "old"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_a_plain_directory_from_another_tool_is_migrated(tmp_path):
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "index.html").write_text("legacy")
    _publish_text(tmp_path, "new")
    assert (tmp_path / "report").is_symlink()
    assert (tmp_path / "report" / "index.html").read_text() == "new"


def test_hidden_or_nested_names_are_refused(tmp_path):
    for name in (".versions", "a/b", ""):
        with pytest.raises(ValueError):
            with publish_atomically(tmp_path, name):
                pass


def test_write_file_atomically_replaces_content(tmp_path):
    write_file_atomically(tmp_path / "data_dictionary.json", b"{}")
    write_file_atomically(tmp_path / "data_dictionary.json", b'{"v": 2}')
    assert (tmp_path / "data_dictionary.json").read_bytes() == b'{"v": 2}'
    assert sorted(p.name for p in tmp_path.iterdir()) == [".publish.lock", "data_dictionary.json"]


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import pyarrow as pa
    from barometre_pipeline.publish.parquet_export import write_parquet_dataset
    table = pa.table({"key": list(range(50)), "value": [float(i) for i in range(50)]})
    write_parquet_dataset(table, Path(sys.argv[1]), "effects", ["key"], row_group_size=10)
    """
)


def _read_keys(export_dir: Path) -> list[int]:
    via_arrow = ds.dataset(export_dir / "effects", format="parquet").to_table().column("key").to_pylist()
    via_duckdb = [r[0] for r in duckdb.sql(f"SELECT key FROM read_parquet('{export_dir}/effects/*.parquet') ORDER BY key").fetchall()]
    assert sorted(via_arrow) == via_duckdb
    return via_duckdb


def test_sigkill_in_the_middle_of_a_write_leaves_the_old_export_readable(tmp_path):
    export_dir = tmp_path / "exports"
    old = pa.table({"key": [1, 2, 3], "value": [0.1, 0.2, 0.3]})
    write_parquet_dataset(old, export_dir, "effects", ["key"])
    old_bytes = (export_dir / "effects" / "part-0.parquet").read_bytes()

    flag = tmp_path / "paused"
    env = {**os.environ, PAUSE_ENV: str(flag), "PYTHONPATH": str(REPO_ROOT)}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(export_dir)], env=env)
    try:
        deadline = time.monotonic() + 120
        while not flag.exists():
            assert writer.poll() is None, "the writer exited before reaching the pause point"
            assert time.monotonic() < deadline, "the writer never reached the pause point"
            time.sleep(0.05)
        staging = [p for p in export_dir.iterdir() if p.name.startswith(STAGING_PREFIX)]
        assert len(staging) == 1 and (staging[0] / "part-0.parquet").stat().st_size > 0  # half-written
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.kill()
        writer.wait()
    assert writer.returncode == -signal.SIGKILL

    assert (export_dir / "effects" / "part-0.parquet").read_bytes() == old_bytes
    assert _read_keys(export_dir) == [1, 2, 3]
    assert [p for p in export_dir.iterdir() if p.name.startswith(STAGING_PREFIX)]  # the leftover

    # The next run cleans the leftover (the killed writer's lock died with it) and publishes.
    write_parquet_dataset(pa.table({"key": [7, 8], "value": [0.7, 0.8]}), export_dir, "effects", ["key"])
    assert _read_keys(export_dir) == [7, 8]
    assert not [p for p in export_dir.iterdir() if p.name.startswith(STAGING_PREFIX)]
