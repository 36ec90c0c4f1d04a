"""The nightly refresh and the raw-files sensor: both run only what changed.

- `nightly_refresh` (job): every materialisable asset; `barometre materialize --all` runs it whole,
  every pilot territory × wave partition in the one run.
- `nightly_refresh_0200_paris` (schedule, running by default): at 02:00 Europe/Paris, observes the
  inputs and requests a run of the stale assets only, or skips when nothing changed.
- `raw_files_changed` (sensor, running by default, every 60 s): hashes each source's manifest and
  files, records the ones that changed and requests the assets downstream of them.
"""

from __future__ import annotations

import hashlib

import dagster as dg

from barometre_pipeline.defs.incremental import (
    Selection,
    changed_inputs,
    downstream_of,
    observation,
    observe_inputs,
    stale_selection,
    with_multi_asset_siblings,
)
from barometre_pipeline.defs.observations import ObservedInput, current_data_versions
from barometre_pipeline.defs.partitions import PilotPartitions, pilot_partitions
from barometre_pipeline.settings import load_settings
from barometre_pipeline.sources.manifest import Manifest

nightly_refresh = dg.define_asset_job(
    "nightly_refresh",
    selection=dg.AssetSelection.all(),
    description="Re-read, re-validate, re-estimate and re-publish. The schedule and the sensor "
    "launch it on the stale assets and pilot waves only; launched by hand on every pilot "
    "partition (a single-run backfill) it runs everything.",
)


def _run_key(changed: dict[ObservedInput, str]) -> str:
    """One run per distinct set of new input versions (a sensor tick repeating itself is a no-op)."""
    text = "|".join(sorted(f"{k.to_user_string()}[{p or ''}]={v}" for (k, p), v in changed.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def run_tags(graph, selection: Selection, partitions: PilotPartitions | None) -> dict[str, str]:
    """The partition range of a run that materialises pilot partitions (none otherwise)."""
    if partitions is None or not any(graph.get(k).partitions_def for k in selection.keys):
        return {}
    return partitions.run_tags(selection.partitions or None)


def changed_selection(graph, changed: dict[ObservedInput, str]) -> Selection:
    """The assets downstream of changed inputs; the pilot partitions among them are the changed
    waves, or every wave when a shared input (codebook, catalogue, reference) changed."""
    keys = downstream_of(graph, {key for key, _ in changed})
    waves = {partition for _, partition in changed if partition is not None}
    shared = [key for key, partition in changed if partition is None]
    if shared and any(graph.get(k).partitions_def for k in downstream_of(graph, shared)):
        waves = set(next(graph.get(k).partitions_def for k in keys
                         if graph.get(k).partitions_def).get_partition_keys())
    return Selection(keys, sorted(waves))


def build_automation(manifests: list[Manifest]) -> tuple[dg.ScheduleDefinition, dg.SensorDefinition]:
    partitions = pilot_partitions(manifests)

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
        selection = stale_selection(graph, context.instance)
        if not selection:
            return dg.SkipReason("no input, code or configuration changed since the last run")
        return dg.RunRequest(asset_selection=with_multi_asset_siblings(graph, selection.keys),
                             tags=run_tags(graph, selection, partitions))

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
        selection = changed_selection(graph, changed)
        return dg.SensorResult(
            asset_events=[observation(key, partition, version)
                          for (key, partition), version in changed.items()],
            run_requests=[dg.RunRequest(
                run_key=_run_key(changed),
                asset_selection=with_multi_asset_siblings(graph, selection.keys),
                tags=run_tags(graph, selection, partitions))],
        )

    return nightly_refresh_schedule, raw_files_changed
