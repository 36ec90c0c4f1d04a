"""Runs of the real `barometre materialize` (in this process, on a persistent Dagster instance in
a temporary DAGSTER_HOME) over a copy of the shipped data, for the graph tests."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from barometre_pipeline_tests.pipeline.conftest import copy_data


@dataclass
class Workspace:
    root: Path
    data_dir: Path
    export_dir: Path
    warehouse: Path
    home: Path
    trace: Path

    def materialize(self, *args: str) -> int:
        from barometre_pipeline.cli import main

        return main(["materialize", *args])

    def last_run_steps(self) -> dict[str, str]:
        """Step key -> outcome (success, failure, skipped) of the latest run."""
        with dg.DagsterInstance.get() as instance:
            runs = instance.get_runs(limit=1)
            if not runs:
                return {}
            outcome = {}
            for event_type, name in ((dg.DagsterEventType.STEP_SUCCESS, "success"),
                                     (dg.DagsterEventType.STEP_FAILURE, "failure"),
                                     (dg.DagsterEventType.STEP_SKIPPED, "skipped")):
                for record in instance.get_records_for_run(runs[0].run_id,
                                                           of_type=event_type).records:
                    outcome[record.event_log_entry.step_key] = name
            return outcome

    def run_count(self) -> int:
        with dg.DagsterInstance.get() as instance:
            return len(instance.get_runs())


def make_workspace(root: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    data_dir = copy_data(root / "data")
    workspace = Workspace(root, data_dir, root / "exports", root / "warehouse" / "barometre.duckdb",
                          root / "dagster_home", root / "sql_trace.jsonl")
    for name, value in {
        "BAROMETRE_DATA_DIR": data_dir, "BAROMETRE_EXPORT_DIR": workspace.export_dir,
        "BAROMETRE_WAREHOUSE": workspace.warehouse, "BAROMETRE_RESTRICTED_DIR": root / "restricted",
        "DAGSTER_HOME": workspace.home, "BAROMETRE_MODE": "dev",
    }.items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.delenv("BAROMETRE_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("BAROMETRE_SQL_TRACE", raising=False)
    os.makedirs(workspace.home, exist_ok=True)
    return workspace


@pytest.fixture(scope="module")
def module_monkeypatch():
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


def export_snapshot(export_dir: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under the export dir (published versions included): mtime and bytes."""
    return {str(p.relative_to(export_dir)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(export_dir.rglob("*")) if p.is_file() and not p.is_symlink()}


def materialised_keys(run_id: str) -> list[str]:
    with dg.DagsterInstance.get() as instance:
        records = instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
        return sorted({r.event_log_entry.dagster_event.asset_key.to_user_string() for r in records})


def materialised_partitions(run_id: str) -> dict[str, set[str]]:
    """Partitioned assets of a run -> the territory × wave partitions it materialised."""
    with dg.DagsterInstance.get() as instance:
        records = instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
        found: dict[str, set[str]] = {}
        for record in records:
            event = record.event_log_entry.dagster_event
            if event.partition:
                found.setdefault(event.asset_key.to_user_string(), set()).add(event.partition)
        return found


def latest_run_id() -> str | None:
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(limit=1)
        return runs[0].run_id if runs else None


# The public source whose file the incremental test edits, and the edit (a note, not a figure).
CHANGED_SOURCE = "public_fr_depp"
CHANGED_FILE = Path("raw/public/fr_depp.tsv")


@dataclass
class IncrementalRuns:
    workspace: Workspace
    first_status: int
    first_keys: list[str]
    first_partitions: dict[str, set[str]]
    second_status: int
    runs_before_second: int
    runs_after_second: int
    snapshot_before_second: dict
    snapshot_after_second: dict
    third_status: int
    third_keys: list[str]
    stale_by_batch: list[str]
    stale_by_resolver: list[str]
    resolver_with_downstream: list[str]
    fourth_status: int
    fourth_keys: list[str]
    fourth_partitions: dict[str, set[str]]


def stale_selections(workspace: Workspace) -> tuple[list[str], list[str], list[str]]:
    """After observing the inputs: the stale assets by our batch query and by Dagster's resolver."""
    from barometre_pipeline.definitions import build_definitions
    from barometre_pipeline.defs.incremental import (
        downstream_of,
        observe_inputs,
        stale_assets,
        stale_assets_by_resolver,
    )
    from barometre_pipeline.settings import load_settings
    from barometre_pipeline.sources.manifest import load_manifests

    graph = build_definitions().resolve_asset_graph()
    settings = load_settings()
    with dg.DagsterInstance.get() as instance:
        observe_inputs(instance, load_manifests(settings.data_dir), settings)
        batch = stale_assets(graph, instance)
        resolver = stale_assets_by_resolver(graph, instance)
        names = [[k.to_user_string() for k in keys] for keys in
                 (batch, resolver, downstream_of(graph, resolver))]
        return names[0], names[1], names[2]


@pytest.fixture(scope="session")
def incremental_runs(tmp_path_factory) -> IncrementalRuns:
    """First run (SQL trace on), a run with nothing changed, a run after one public file changed."""
    patch = pytest.MonkeyPatch()
    try:
        workspace = make_workspace(tmp_path_factory.mktemp("incremental"), patch)
        patch.setenv("BAROMETRE_SQL_TRACE", str(workspace.trace))
        first = workspace.materialize()
        first_keys = materialised_keys(latest_run_id())
        first_partitions = materialised_partitions(latest_run_id())
        patch.delenv("BAROMETRE_SQL_TRACE")

        before = export_snapshot(workspace.export_dir)
        runs_before = workspace.run_count()
        second = workspace.materialize()
        runs_after = workspace.run_count()
        after = export_snapshot(workspace.export_dir)

        changed = workspace.data_dir / CHANGED_FILE
        text = changed.read_text(encoding="utf-8")
        # The last row's note (last column) gets a few words: new bytes, same figures.
        changed.write_text(text.rstrip("\n") + " ; relu le 2026-12-01\n", encoding="utf-8")
        fast, resolver, closure = stale_selections(workspace)
        third = workspace.materialize()
        third_keys = materialised_keys(latest_run_id())

        # A pilot export that can no longer be read: its last good read stays, flagged.
        from barometre_pipeline_tests.graph.test_failure_isolation import (
            BROKEN_FILE,
            resave_as_cp1252_commas,
        )

        resave_as_cp1252_commas(workspace.data_dir / BROKEN_FILE)
        fourth = workspace.materialize()
        fourth_keys = materialised_keys(latest_run_id())
        fourth_partitions = materialised_partitions(latest_run_id())
        return IncrementalRuns(workspace, first, first_keys, first_partitions, second,
                               runs_before, runs_after, before, after, third, third_keys, fast,
                               resolver, closure, fourth, fourth_keys, fourth_partitions)
    finally:
        patch.undo()
