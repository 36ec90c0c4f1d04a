"""The raw-files sensor and the nightly schedule run only what changed (issue 9).

No pipeline run here: the sensor and schedule are evaluated against a Dagster instance whose
history is written by hand (observations of the inputs, materialisations of every asset with the
code and input versions a run records), on a copy of the shipped data.
"""

from __future__ import annotations

import dagster as dg
import pytest

from barometre_pipeline_tests.graph.conftest import CHANGED_FILE, CHANGED_SOURCE, make_workspace


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
    of its inputs at that time (from the latest observation / materialisation)."""
    from barometre_pipeline.defs.incremental import recorded_data_version

    graph = defs.resolve_asset_graph()
    versions = {}
    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        if node.is_observable:
            versions[key] = recorded_data_version(instance, key)
            continue
        tags = {"dagster/code_version": node.code_version or "",
                "dagster/data_version": f"v-{key.to_user_string()}"}
        for parent in node.parent_keys:
            tags[f"dagster/input_data_version/{parent.to_user_string()}"] = versions[parent]
        versions[key] = tags["dagster/data_version"]
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, tags=tags))


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
    assert not any("pilot_" in key for key in selected)
    assert "restricted/school_funnel" not in selected


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
    assert not any("pilot_" in key for key in selected)
