"""The raw-files sensor and the nightly schedule run only what changed (issue 9).

No pipeline run here: the sensor and schedule are evaluated against a Dagster instance whose
history is written by hand (observations of the inputs, materialisations of every asset with the
code and input versions a run records), on a copy of the shipped data.
"""

from __future__ import annotations

import hashlib

import dagster as dg
import pytest

from barometre_pipeline_tests.graph.conftest import CHANGED_FILE, CHANGED_SOURCE, make_workspace

# A pilot wave's export and its territory × wave partition (data/sources/pilot_quebec_2026.yaml).
PILOT_FILE = "raw/pilot/quebec/2026/export_questionnaire_2026.xlsx"
PILOT_WAVE = "CA-QC|2026"


@pytest.fixture
def setup(tmp_path, monkeypatch):
    workspace = make_workspace(tmp_path, monkeypatch)
    from barometre_pipeline.definitions import build_definitions

    defs = build_definitions()
    # A persistent (temporary) instance: schedule contexts need an instance they can re-open.
    (tmp_path / "instance").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "instance")) as instance:
        yield workspace, defs, instance


def _sensor(defs):
    return defs.get_repository_def().get_sensor_def("raw_files_changed")


def _evaluate_sensor(defs, instance):
    context = dg.build_sensor_context(instance=instance, definitions=defs)
    return _sensor(defs)(context)


def _record(instance, events) -> None:
    for event in events:
        instance.report_runless_asset_event(event)


def _materialise_everything(defs, instance) -> None:
    """Write the history a complete run leaves: each asset's code version and the data versions
    of its inputs at that time (from the latest observation / materialisation); the pilot family
    one materialisation per territory × wave partition, and for what reads the whole family the
    version Dagster 1.13 records for a partitioned input: the sha256 of its partitions' data
    versions in partition-key order (dagster/_core/execution/context/data_version_cache.py)."""
    from barometre_pipeline.defs.incremental import recorded_data_version

    graph = defs.resolve_asset_graph()
    versions = {}
    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        partitions = node.partitions_def.get_partition_keys() if node.partitions_def else [None]
        if node.is_observable:
            versions[key] = recorded_data_version(instance, key)
            continue
        by_partition = {}
        for partition in partitions:
            tags = {"dagster/code_version": node.code_version or "",
                    "dagster/data_version": f"v-{key.to_user_string()}-{partition}"}
            for parent in node.parent_keys:
                if not graph.get(parent).partitions_def:
                    tags[f"dagster/input_data_version/{parent.to_user_string()}"] = versions[parent]
                elif partition is None:
                    tags[f"dagster/input_data_version/{parent.to_user_string()}"] = versions[parent]
            by_partition[partition] = tags["dagster/data_version"]
            instance.report_runless_asset_event(
                dg.AssetMaterialization(asset_key=key, partition=partition, tags=tags))
        versions[key] = (by_partition[None] if node.partitions_def is None else hashlib.sha256(
            "".join(by_partition[p] for p in sorted(by_partition)).encode()).hexdigest())


def test_the_sensor_requests_the_assets_downstream_of_a_changed_file_only(setup):
    workspace, defs, instance = setup
    first = _evaluate_sensor(defs, instance)
    assert first.run_requests, "a new instance has seen no file: everything is new"
    _record(instance, first.asset_events)
    assert isinstance(_evaluate_sensor(defs, instance), dg.SkipReason)

    changed = workspace.data_dir / CHANGED_FILE
    changed.write_text(changed.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    result = _evaluate_sensor(defs, instance)
    observed = [e.asset_key.to_user_string() for e in result.asset_events]
    assert observed == [f"source_files/{CHANGED_SOURCE}"]
    (request,) = result.run_requests
    selected = {k.to_user_string() for k in request.asset_selection}
    assert {f"raw/{CHANGED_SOURCE}", f"staging/{CHANGED_SOURCE}", "consolidated/indicators",
            "exports/indicators_parquet"} <= selected
    assert not any("pilot" in key for key in selected)
    assert "restricted/school_funnel" not in selected
    assert not request.tags, "no pilot partition to run"


def test_a_changed_pilot_export_requests_its_wave_partition_only(setup):
    workspace, defs, instance = setup
    _record(instance, _evaluate_sensor(defs, instance).asset_events)
    export = workspace.data_dir / PILOT_FILE
    export.write_bytes(export.read_bytes() + b"\r\n")
    result = _evaluate_sensor(defs, instance)
    assert [(e.asset_key.to_user_string(), e.partition) for e in result.asset_events] == [
        ("source_files/pilot", PILOT_WAVE)]
    (request,) = result.run_requests
    selected = {k.to_user_string() for k in request.asset_selection}
    assert {"raw/pilot", "staging/pilot", "weighting/pilot", "indicators/pilot",
            "consolidated/indicators", "consolidated/effects"} <= selected
    assert not any(key.startswith(("raw/public", "staging/public")) for key in selected)
    # One partition: the range starts and ends on the changed wave.
    assert request.tags == {"dagster/asset_partition_range_start": PILOT_WAVE,
                            "dagster/asset_partition_range_end": PILOT_WAVE}


def test_the_nightly_schedule_skips_when_nothing_changed_and_runs_the_stale_assets(setup):
    workspace, defs, instance = setup
    schedule = defs.get_repository_def().get_schedule_def("nightly_refresh_0200_paris")

    def evaluate():
        context = dg.build_schedule_context(instance=instance,
                                            repository_def=defs.get_repository_def())
        return schedule.evaluate_tick(context)

    first = evaluate()  # records the observations; nothing materialised yet: all is stale
    assert first.run_requests and len(first.run_requests[0].asset_selection) == len(
        list(defs.resolve_asset_graph().materializable_asset_keys))
    _materialise_everything(defs, instance)
    quiet = evaluate()
    assert not quiet.run_requests and quiet.skip_message

    changed = workspace.data_dir / CHANGED_FILE
    changed.write_text(changed.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    (request,) = evaluate().run_requests
    selected = {k.to_user_string() for k in request.asset_selection}
    assert f"staging/{CHANGED_SOURCE}" in selected and "exports/indicators_parquet" in selected
    assert not any("pilot" in key for key in selected)

    # A pilot wave's export: its partition only, and what reads the family.
    export = workspace.data_dir / PILOT_FILE
    export.write_bytes(export.read_bytes() + b"\r\n")
    (request,) = evaluate().run_requests
    selected = {k.to_user_string() for k in request.asset_selection}
    assert {"raw/pilot", "indicators/pilot", "consolidated/indicators"} <= selected
    assert request.tags["dagster/asset_partition_range_start"] == PILOT_WAVE
    assert request.tags["dagster/asset_partition_range_end"] == PILOT_WAVE
