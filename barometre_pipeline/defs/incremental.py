"""What to run when: observe the inputs on disk, then select only the assets Dagster calls stale.

`barometre materialize`, the nightly schedule and the raw-files sensor share these functions:

1. every observed input (a source's manifest and files, the codebook, the catalogue, the reference
   folder) gets its content hash recorded as a data version, only when it changed;
2. Dagster's stale-status resolver compares, for every asset, the code version and the input data
   versions of its latest materialisation with the current ones: an asset whose code or upstream
   data changed, or that was never materialised, is stale, and so is everything downstream of it.

A run with nothing changed therefore selects nothing; a changed public file selects its
`raw → staging` lineage and the consolidated tables and exports that read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import dagster as dg
from dagster._core.definitions.data_version import (
    CODE_VERSION_TAG,
    DATA_VERSION_TAG,
    INPUT_DATA_VERSION_TAG_PREFIX,
    CachingStaleStatusResolver,
    StaleStatus,
)
from dagster._core.loader import LoadingContext

from barometre_pipeline.defs.observations import current_data_versions
from barometre_pipeline.settings import Settings
from barometre_pipeline.sources.manifest import Manifest


class _Loading(LoadingContext):
    """The data-loader cache Dagster's stale-status resolver needs outside a request."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self._instance = instance
        self._loaders = {}

    @property
    def instance(self) -> dg.DagsterInstance:
        return self._instance

    @property
    def loaders(self):
        return self._loaders


def recorded_data_version(instance: dg.DagsterInstance, key: dg.AssetKey) -> str | None:
    record = instance.get_latest_data_version_record(key, is_source=True)
    if record is None:
        return None
    version = record.asset_event.tags.get(DATA_VERSION_TAG) if record.asset_event else None
    return version


def changed_inputs(instance: dg.DagsterInstance, versions: Mapping[dg.AssetKey, str]
                   ) -> dict[dg.AssetKey, str]:
    """The observed inputs whose content hash differs from the last one recorded."""
    return {key: version for key, version in versions.items()
            if recorded_data_version(instance, key) != version}


def record_observations(instance: dg.DagsterInstance, versions: Mapping[dg.AssetKey, str]) -> None:
    for key, version in versions.items():
        instance.report_runless_asset_event(dg.AssetObservation(
            asset_key=key, tags={DATA_VERSION_TAG: version},
            metadata={"content_sha256": version}))


def observe_inputs(instance: dg.DagsterInstance, manifests: list[Manifest],
                   settings: Settings) -> dict[dg.AssetKey, str]:
    """Hash every input now, record the ones that changed; returns those."""
    changed = changed_inputs(instance, current_data_versions(manifests, settings))
    record_observations(instance, changed)
    return changed


def downstream_of(graph, inputs: Iterable[dg.AssetKey]) -> list[dg.AssetKey]:
    """Every materialisable asset that reads, directly or not, one of ``inputs``."""
    selected = dg.AssetSelection.assets(*inputs).downstream().resolve(graph)
    keys = selected & set(graph.materializable_asset_keys)
    return sorted(keys, key=lambda k: k.to_user_string())


def _event_tags(record) -> dict[str, str]:
    if record is None:
        return {}
    event = record.event_log_entry.dagster_event
    data = event.event_specific_data if event else None
    found = getattr(data, "materialization", None) or getattr(data, "asset_observation", None)
    return dict(found.tags or {}) if found is not None else {}


def stale_assets(graph, instance: dg.DagsterInstance) -> list[dg.AssetKey]:
    """Materialisable assets of the asset graph (``Definitions.resolve_asset_graph()``) that are
    missing or stale, with the rule Dagster's stale-status resolver applies (see
    :func:`stale_assets_by_resolver`): never materialised, code version changed, an upstream
    data version differs from the one the latest materialisation consumed, or downstream of a
    stale asset. It reads every asset's latest event in one query instead of a few per asset,
    which is what keeps a run with nothing to do within seconds."""
    keys = list(graph.get_all_asset_keys())
    entries = {r.asset_entry.asset_key: r.asset_entry for r in instance.get_asset_records(keys)}
    current: dict[dg.AssetKey, str | None] = {}
    for key in keys:
        if graph.get(key).is_observable:
            # Observations are not kept on the asset record: one query per observed input.
            current[key] = recorded_data_version(instance, key)
        else:
            entry = entries.get(key)
            record = entry.last_materialization_record if entry else None
            current[key] = _event_tags(record).get(DATA_VERSION_TAG)
    stale: set[dg.AssetKey] = set()
    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        if not node.is_materializable:
            continue
        entry = entries.get(key)
        record = entry.last_materialization_record if entry else None
        if record is None:
            stale.add(key)
            continue
        tags = _event_tags(record)
        if node.code_version is not None and tags.get(CODE_VERSION_TAG) != node.code_version:
            stale.add(key)
            continue
        for parent in node.parent_keys:
            consumed = tags.get(f"{INPUT_DATA_VERSION_TAG_PREFIX}/{parent.to_user_string()}")
            if parent in stale or consumed != current.get(parent):
                stale.add(key)
                break
    return sorted(stale, key=lambda k: k.to_user_string())


def stale_assets_by_resolver(graph, instance: dg.DagsterInstance) -> list[dg.AssetKey]:
    """The same selection from Dagster's own stale-status resolver (what the UI shows); a few
    queries per asset, so seconds per hundred assets. The tests hold the two equal."""
    resolver = CachingStaleStatusResolver(instance, graph, _Loading(instance))
    keys = sorted(graph.materializable_asset_keys, key=lambda k: k.to_user_string())
    return [key for key in keys if resolver.get_status(key) in (StaleStatus.MISSING,
                                                                 StaleStatus.STALE)]


def with_multi_asset_siblings(graph, keys: Iterable[dg.AssetKey]) -> list[dg.AssetKey]:
    """A raw or staging multi-asset writes all its tables in one step: select them together."""
    selected = set(keys)
    for key in list(selected):
        selected |= set(graph.get(key).assets_def.keys)
    return sorted(selected, key=lambda k: k.to_user_string())
