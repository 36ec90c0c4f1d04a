"""The nightly refresh and the raw-files sensor: both run only what changed.

- `nightly_refresh` (job): every materialisable asset; `barometre materialize --all` runs it whole.
- `nightly_refresh_0200_paris` (schedule, running by default): at 02:00 Europe/Paris, observes the
  inputs and requests a run of the stale assets only, or skips when nothing changed.
- `raw_files_changed` (sensor, running by default, every 60 s): hashes each source's manifest and
  files, records the ones that changed and requests the assets downstream of them.
"""

from __future__ import annotations

import hashlib

import dagster as dg

from barometre_pipeline.defs.incremental import (
    changed_inputs,
    downstream_of,
    observe_inputs,
    stale_assets,
    with_multi_asset_siblings,
)
from barometre_pipeline.defs.observations import current_data_versions
from barometre_pipeline.settings import load_settings
from barometre_pipeline.sources.manifest import Manifest

nightly_refresh = dg.define_asset_job(
    "nightly_refresh",
    selection=dg.AssetSelection.all(),
    description="Re-read, re-validate, re-estimate and re-publish. The schedule and the sensor "
    "launch it on the stale assets only; launched by hand it runs everything.",
)


def _run_key(changed: dict[dg.AssetKey, str]) -> str:
    """One run per distinct set of new input versions (a sensor tick repeating itself is a no-op)."""
    text = "|".join(sorted(f"{k.to_user_string()}={v}" for k, v in changed.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def build_automation(manifests: list[Manifest]) -> tuple[dg.ScheduleDefinition, dg.SensorDefinition]:
    @dg.schedule(
        name="nightly_refresh_0200_paris",
        job=nightly_refresh,
        cron_schedule="0 2 * * *",
        execution_timezone="Europe/Paris",
        # Schedules are stopped by default in Dagster; the refresh is meant to run unattended.
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Observe every input, then run the stale assets (skip if nothing changed).",
    )
    def nightly_refresh_schedule(context: dg.ScheduleEvaluationContext):
        observe_inputs(context.instance, manifests, load_settings())
        graph = context.repository_def.asset_graph
        keys = stale_assets(graph, context.instance)
        if not keys:
            return dg.SkipReason("no input, code or configuration changed since the last run")
        return dg.RunRequest(asset_selection=with_multi_asset_siblings(graph, keys))

    @dg.sensor(
        name="raw_files_changed",
        job=nightly_refresh,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="A new or changed file under raw/ (or a changed manifest, codebook, catalogue, "
        "reference file): record its content hash and run the assets downstream of it.",
    )
    def raw_files_changed(context: dg.SensorEvaluationContext):
        changed = changed_inputs(context.instance, current_data_versions(manifests, load_settings()))
        if not changed:
            return dg.SkipReason("no file changed")
        graph = context.repository_def.asset_graph
        observations = [dg.AssetObservation(asset_key=key, tags={"dagster/data_version": version},
                                            metadata={"content_sha256": version})
                        for key, version in changed.items()]
        return dg.SensorResult(
            asset_events=observations,
            run_requests=[dg.RunRequest(
                run_key=_run_key(changed),
                asset_selection=with_multi_asset_siblings(graph, downstream_of(graph, changed)))],
        )

    return nightly_refresh_schedule, raw_files_changed
