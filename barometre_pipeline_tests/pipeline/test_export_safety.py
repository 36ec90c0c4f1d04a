"""Export safety (issue 5), with the real command line in subprocesses on a copy of the data:

(a) a run SIGKILLed in the middle of writing the indicators Parquet leaves the previous export
    byte-identical and readable (pandas, DuckDB), and the next run succeeds;
(b) two runs on the same inputs publish the same content (only the Dagster run id differs);
(c) two runs started at once (separate Dagster instances) do not corrupt the warehouse: each
    finishes or fails cleanly on the DuckDB lock, and a final run succeeds.

The kill uses the test hook of barometre_pipeline/publish/atomic.py: with
BAROMETRE_PUBLISH_PAUSE_FILE set, the Parquet writer creates that file after its first row group
and blocks, so the process is killed while the new file is half-written.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from barometre_pipeline.publish.atomic import PAUSE_ENV, STAGING_PREFIX
from barometre_pipeline_tests.pipeline.conftest import copy_data

BAROMETRE = Path(sys.executable).parent / "barometre"
RUN_TIMEOUT_S = 600
LOCK_MESSAGES = ("Could not set lock", "lock on file", "Conflicting lock")


@dataclass
class Workspace:
    data_dir: Path
    export_dir: Path
    warehouse: Path
    root: Path

    def env(self, dagster_home: Path, pause_file: Path | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("BAROMETRE_") and k != "DAGSTER_HOME"}
        env.update({
            "BAROMETRE_DATA_DIR": str(self.data_dir),
            "BAROMETRE_EXPORT_DIR": str(self.export_dir),
            "BAROMETRE_WAREHOUSE": str(self.warehouse),
            "BAROMETRE_MODE": "dev",
            "DAGSTER_HOME": str(dagster_home),
        })
        if pause_file is not None:
            env[PAUSE_ENV] = str(pause_file)
        return env

    def start(self, name: str, *, select: str = "*", pause_file: Path | None = None,
              dagster_home: Path | None = None) -> tuple[subprocess.Popen, Path]:
        log = self.root / f"{name}.log"
        home = dagster_home or self.root / f"dagster_home_{name}"
        # A session of its own, so the whole tree (barometre -> dagster) can be killed at once.
        process = subprocess.Popen(
            [str(BAROMETRE), "materialize", "--select", select],
            env=self.env(home, pause_file), stdout=log.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return process, log

    def run(self, name: str, **kwargs) -> tuple[int, str]:
        process, log = self.start(name, **kwargs)
        returncode = process.wait(timeout=RUN_TIMEOUT_S)
        return returncode, log.read_text(errors="replace")


def _hashes(export_dir: Path) -> dict[str, str]:
    """sha256 of every published file, through the links readers follow."""
    found = {}
    for entry in sorted(export_dir.iterdir()):
        if entry.name.startswith("."):
            continue  # versions, staging dirs and the lock are not what readers open
        # Exports with sub-folders (the site's assets/, en/, fiches/) are walked to their files.
        files = sorted(p for p in entry.rglob("*") if p.is_file()) if entry.is_dir() else [entry]
        for path in files:
            found[str(path.relative_to(export_dir))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _published_files(export_dir: Path) -> dict[str, bytes]:
    """Bytes of every published text file, zip members unpacked, Parquet files excluded."""
    files: dict[str, bytes] = {}
    for path in sorted((export_dir / "csv").iterdir()):
        with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
            for member in archive.namelist():
                files[f"csv/{path.name}/{member}"] = archive.read(member)
    for page in ("index.html", "en/index.html", "assets/data.js"):
        files[f"site/{page}"] = (export_dir / "site" / page).read_bytes()
    for path in sorted(export_dir.glob("data_dictionary.*")):
        files[path.name] = path.read_bytes()
    return files


def _tail(log: str, lines: int = 40) -> str:
    return "\n".join(log.splitlines()[-lines:])


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Workspace:
    root = tmp_path_factory.mktemp("export_safety")
    data_dir = copy_data(root / "data")
    return Workspace(data_dir, data_dir / "exports", data_dir / "warehouse" / "barometre.duckdb", root)


@dataclass
class Baseline:
    """The first run's export, captured before later runs replace it."""

    hashes: dict[str, str]
    indicators: pd.DataFrame
    indicators_metadata: dict
    sources: pd.DataFrame
    files: dict[str, bytes]


@pytest.fixture(scope="module")
def baseline(workspace) -> Baseline:
    returncode, log = workspace.run("baseline")
    assert returncode == 0, _tail(log)
    export = workspace.export_dir
    return Baseline(
        hashes=_hashes(export),
        indicators=pd.read_parquet(export / "indicators"),
        indicators_metadata=pq.read_schema(export / "indicators" / "part-0.parquet").metadata,
        sources=pd.read_parquet(export / "sources"),
        files=_published_files(export),
    )


@dataclass
class KilledRun:
    paused_pid: int
    returncode: int
    hashes_after: dict[str, str]
    pandas_rows: int
    duckdb_rows: int
    leftovers: list[str]


@pytest.fixture(scope="module")
def killed(workspace, baseline) -> KilledRun:
    pause_file = workspace.root / "paused"
    # Everything upstream of the indicators export, then the export itself: the only Parquet
    # writer in this selection is the indicators one, so the pause is inside it.
    process, log = workspace.start("killed", select="*exports/indicators_parquet",
                                   pause_file=pause_file)
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not pause_file.exists():
        if process.poll() is not None:
            pytest.fail(f"the run ended before pausing in the export:\n{_tail(log.read_text())}")
        assert time.monotonic() < deadline, "the run never reached the export"
        time.sleep(0.2)
    time.sleep(0.2)  # the pid is written just after the file is created
    paused_pid = int(pause_file.read_text() or 0)
    os.killpg(process.pid, signal.SIGKILL)
    returncode = process.wait(timeout=60)
    export = workspace.export_dir
    return KilledRun(
        paused_pid=paused_pid,
        returncode=returncode,
        hashes_after=_hashes(export),
        pandas_rows=len(pd.read_parquet(export / "indicators")),
        duckdb_rows=duckdb.sql(
            f"SELECT count(*) FROM read_parquet('{export}/indicators/*.parquet')").fetchall()[0][0],
        leftovers=sorted(p.name for p in export.iterdir() if p.name.startswith(STAGING_PREFIX)),
    )


def test_killed_export_leaves_the_previous_export_unchanged_and_readable(workspace, baseline,
                                                                          killed):
    assert killed.returncode == -signal.SIGKILL
    assert killed.paused_pid > 0
    # The kill really happened mid-write: the half-written version is still in its staging dir.
    assert len(killed.leftovers) == 1
    staged = list((workspace.export_dir / killed.leftovers[0]).iterdir())
    assert [p.name for p in staged] == ["part-0.parquet"]
    with pytest.raises(pa.ArrowInvalid):  # no footer: not a Parquet file anyone could be served
        pq.read_metadata(staged[0])
    assert killed.hashes_after == baseline.hashes
    assert killed.pandas_rows == killed.duckdb_rows > 1000


@pytest.fixture(scope="module")
def rerun(workspace, killed) -> dict[str, str]:
    returncode, log = workspace.run("rerun")
    assert returncode == 0, _tail(log)
    return _hashes(workspace.export_dir)


def test_the_run_after_the_kill_succeeds_and_cleans_up(workspace, rerun):
    export = workspace.export_dir
    assert not [p for p in export.iterdir() if p.name.startswith(STAGING_PREFIX)]
    assert len(pd.read_parquet(export / "indicators")) > 1000
    with duckdb.connect(str(workspace.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM consolidated.indicators").fetchone()[0] > 1000


def _run_ids(indicators: pd.DataFrame) -> set[str]:
    return {json.loads(p)["dagster_run_id"] for p in indicators["provenance"]}


def _without_run_id(indicators: pd.DataFrame) -> pd.DataFrame:
    def strip(provenance: str) -> str:
        record = json.loads(provenance)
        record.pop("dagster_run_id")
        return json.dumps(record, sort_keys=True)

    return indicators.assign(provenance=indicators["provenance"].map(strip))


def test_two_runs_on_the_same_inputs_publish_the_same_figures(workspace, baseline, rerun):
    before, after = baseline.indicators, pd.read_parquet(workspace.export_dir / "indicators")
    old_ids, new_ids = _run_ids(before), _run_ids(after)
    assert len(old_ids) == len(new_ids) == 1 and old_ids != new_ids
    # Same rows, keys, flags and suppressions; figures equal to rounding noise at worst.
    pd.testing.assert_frame_equal(_without_run_id(before), _without_run_id(after),
                                  check_exact=False, rtol=1e-9, atol=0)
    assert baseline.indicators_metadata == pq.read_schema(
        workspace.export_dir / "indicators" / "part-0.parquet").metadata
    pd.testing.assert_frame_equal(baseline.sources, pd.read_parquet(workspace.export_dir / "sources"))


def test_two_runs_on_the_same_inputs_publish_identical_parquet_content(workspace, baseline, rerun):
    # Stricter than the figures: reproducible to the bit, so a rerun can be told from new data by
    # hash (publish/parquet_export.py promises byte-identical files for the same input).
    after = pd.read_parquet(workspace.export_dir / "indicators")
    numbers = [c for c in after.columns if pd.api.types.is_float_dtype(after[c])]
    before = baseline.indicators
    differs = {c: int((before[c].fillna(-1) != after[c].fillna(-1)).sum()) for c in numbers}
    assert {c: n for c, n in differs.items() if n} == {}, "cells that differ between two runs"
    pd.testing.assert_frame_equal(_without_run_id(before), _without_run_id(after), check_exact=True)


def test_two_runs_on_the_same_inputs_publish_the_same_files_but_the_run_id(workspace, baseline,
                                                                           rerun):
    old_files, new_files = baseline.files, _published_files(workspace.export_dir)
    assert old_files.keys() == new_files.keys()
    (old_id,) = _run_ids(baseline.indicators)
    (new_id,) = _run_ids(pd.read_parquet(workspace.export_dir / "indicators"))
    differ = [name for name, old in old_files.items()
              if old.replace(old_id.encode(), b"<run>")
              != new_files[name].replace(new_id.encode(), b"<run>")]
    assert differ == [], f"published files that differ beyond the run id: {differ}"


@pytest.fixture(scope="module")
def small_workspace(tmp_path_factory) -> Workspace:
    """One pilot wave and the public sources: concurrency is about the warehouse lock, not volume."""
    root = tmp_path_factory.mktemp("concurrent_runs")
    data_dir = copy_data(root / "data")
    for manifest in (data_dir / "sources").glob("pilot_*.yaml"):
        if manifest.stem != "pilot_orleans_tours_2025":
            manifest.unlink()
    return Workspace(data_dir, data_dir / "exports", data_dir / "warehouse" / "barometre.duckdb", root)


def _run_together(workspace: Workspace, name: str, homes: list[Path]) -> list[tuple[int, str]]:
    started = [workspace.start(f"{name}_{i}", dagster_home=home) for i, home in enumerate(homes)]
    return [(process.wait(timeout=RUN_TIMEOUT_S), log.read_text(errors="replace"))
            for process, log in started]


def _assert_finished_or_failed_on_the_lock(results: list[tuple[int, str]]) -> None:
    for returncode, log in results:
        assert returncode == 0 or any(m in log for m in LOCK_MESSAGES), _tail(log)
    assert any(returncode == 0 for returncode, _ in results), [_tail(log) for _, log in results]


def _assert_warehouse_opens(workspace: Workspace) -> None:
    with duckdb.connect(str(workspace.warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM consolidated.indicators").fetchone()[0] > 100
        assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                           "'quarantine' AND table_name LIKE 'row_counts__%'").fetchone()[0] > 10


@pytest.fixture(scope="module")
def concurrent(small_workspace) -> list[tuple[int, str]]:
    # Separate Dagster instances (two deployments, or a manual run beside the scheduled one on
    # another machine): nothing coordinates them but DuckDB's own file lock. On one instance the
    # `duckdb_warehouse` pool serialises their steps instead (slow to test: see the report).
    root = small_workspace.root
    return _run_together(small_workspace, "concurrent", [root / "home_a", root / "home_b"])


def _span(log: str) -> tuple[str, str]:
    stamps = re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \+0000 - (?:dagster|barometre)", log,
                        re.MULTILINE)
    return stamps[0], stamps[-1]


def test_concurrent_runs_do_not_corrupt_the_warehouse(small_workspace, concurrent):
    (start_a, end_a), (start_b, end_b) = (_span(log) for _, log in concurrent)
    assert start_a < end_b and start_b < end_a, "the two runs did not overlap"
    _assert_finished_or_failed_on_the_lock(concurrent)
    _assert_warehouse_opens(small_workspace)
    returncode, log = small_workspace.run("after_concurrent")
    assert returncode == 0, _tail(log)
    _assert_warehouse_opens(small_workspace)
    assert len(pd.read_parquet(small_workspace.export_dir / "indicators")) > 100
