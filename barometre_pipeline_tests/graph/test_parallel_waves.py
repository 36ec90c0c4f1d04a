"""Two pilot waves launched at the same time (issue 12: territories and waves runnable in parallel
as partitions): two `barometre materialize --wave` processes on one Dagster instance and one
DuckDB warehouse, each running the pilot family on its own territory × wave partition.

Both must succeed, each must materialise only its own partition, and their warehouse steps must
never overlap in time: the `duckdb_warehouse` pool (one slot, `instance/dagster.yaml`) queues the
two runs step by step, because DuckDB allows a single writing process per file. On a warehouse
that takes concurrent writers (MotherDuck) the same runs would go side by side once the pool has
more slots; that is configuration, not code.
"""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
import pytest

from barometre_pipeline_tests.graph.conftest import make_workspace

FAMILY = "key:raw/pilot or key:staging/pilot or key:weighting/pilot or key:indicators/pilot"
WAVES = ("CA-QC|2025", "FR-OT|2026")


@pytest.fixture(scope="module")
def two_waves(tmp_path_factory):
    patch = pytest.MonkeyPatch()
    try:
        make_workspace(tmp_path_factory.mktemp("parallel"), patch)
        from barometre_pipeline.cli import prepare_dagster_home

        prepare_dagster_home()  # the instance (and its one-slot pool) before both start
        processes = [subprocess.Popen(
            [sys.executable, "-m", "barometre_pipeline.cli", "materialize", "--select", FAMILY,
             "--wave", wave], env=dict(os.environ), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True) for wave in WAVES]
        outputs = [p.communicate(timeout=900)[0] for p in processes]
        codes = [p.returncode for p in processes]
        with dg.DagsterInstance.get() as instance:
            runs = instance.get_runs()
            steps, partitions = [], {}
            for run in runs:
                started = {}
                for record in instance.all_logs(run.run_id):
                    event = record.dagster_event
                    if event is None:
                        continue
                    if event.event_type_value == "STEP_START":
                        started[event.step_key] = record.timestamp
                    elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
                        steps.append((started[event.step_key], record.timestamp, run.run_id,
                                      event.step_key))
                    elif event.event_type_value == "ASSET_MATERIALIZATION":
                        partitions.setdefault(run.run_id, set()).add(event.partition)
        yield codes, outputs, runs, sorted(steps), partitions
    finally:
        patch.undo()


def test_both_wave_runs_succeed(two_waves):
    codes, outputs, runs, _, _ = two_waves
    assert codes == [0, 0], "\n\n".join(outputs)
    assert len(runs) == 2 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    for wave, output in zip(WAVES, outputs, strict=True):
        assert f"pilot waves {wave} to {wave}" in output


def test_each_run_materialises_its_own_wave_only(two_waves):
    _, _, runs, _, partitions = two_waves
    by_run = {run.run_id: run.tags["dagster/asset_partition_range_start"] for run in runs}
    assert sorted(by_run.values()) == sorted(WAVES)
    for run_id, wave in by_run.items():
        assert partitions[run_id] == {wave}


def test_their_warehouse_steps_take_turns_on_the_pool(two_waves):
    _, _, runs, steps, _ = two_waves
    assert len(steps) >= 2 * 9  # raw, staging, weighting, indicators and their checks, twice
    assert {run_id for _, _, run_id, _ in steps} == {run.run_id for run in runs}
    overlaps = [(a, b) for a, b in zip(steps, steps[1:], strict=False) if b[0] < a[1]]
    assert not overlaps, f"two warehouse steps ran at once: {overlaps}"
    # ...and the runs did interleave: neither waited for the other to end before starting.
    run_ids = {s[2] for s in steps}
    last_end = {r: max(end for _, end, run_id, _ in steps if run_id == r) for r in run_ids}
    first_start = {r: min(start for start, _, run_id, _ in steps if run_id == r) for r in run_ids}
    assert max(first_start.values()) < min(last_end.values())
