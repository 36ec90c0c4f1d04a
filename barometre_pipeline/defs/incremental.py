"""What to run when: observe the inputs on disk, then select only the assets Dagster calls stale.

`barometre materialize`, the nightly schedule and the raw-files sensor share these functions:

1. every observed input (a source's manifest and files, the codebook, the catalogue, the reference
   folder) gets its content hash recorded as a data version, only when it changed;
2. Dagster's stale-status resolver compares, for every asset, the code version and the input data
   versions of its latest materialisation with the current ones: an asset whose code or upstream
   data changed, or that was never materialised, is stale, and so is everything downstream of it.

A run with nothing changed therefore selects nothing; a changed public file selects its
`raw → staging` lineage and the consolidated tables and exports that read it.

The pilot family is partitioned by territory × wave, and staleness is per partition: a changed
wave's export selects that wave's partition of `raw/pilot → … → indicators/pilot` and what reads
the family; the other waves are not re-run (see :class:`Selection`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from hashlib import sha256

import dagster as dg
from dagster._core.definitions.data_version import (
    CODE_VERSION_TAG,
    DATA_VERSION_TAG,
    INPUT_DATA_VERSION_TAG_PREFIX,
    CachingStaleStatusResolver,
    StaleStatus,
)
from dagster._core.loader import LoadingContext

from barometre_pipeline.defs.observations import ObservedInput, current_data_versions
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


def recorded_data_version(instance: dg.DagsterInstance, key: dg.AssetKey,
                          partition: str | None = None,
                          before_storage_id: int | None = None) -> str | None:
    """The last content hash observed for an input (one partition of it), optionally the last one
    observed before an event of the log."""
    record = instance.get_latest_data_version_record(key, is_source=True, partition_key=partition,
                                                     before_cursor=before_storage_id)
    if record is None:
        return None
    version = record.asset_event.tags.get(DATA_VERSION_TAG) if record.asset_event else None
    return version


def changed_inputs(instance: dg.DagsterInstance, versions: Mapping[ObservedInput, str]
                   ) -> dict[ObservedInput, str]:
    """The observed inputs whose content hash differs from the last one recorded."""
    return {(key, partition): version for (key, partition), version in versions.items()
            if recorded_data_version(instance, key, partition) != version}


def observation(key: dg.AssetKey, partition: str | None, version: str) -> dg.AssetObservation:
    return dg.AssetObservation(asset_key=key, partition=partition,
                               tags={DATA_VERSION_TAG: version},
                               metadata={"content_sha256": version})


def record_observations(instance: dg.DagsterInstance,
                        versions: Mapping[ObservedInput, str]) -> None:
    for (key, partition), version in versions.items():
        instance.report_runless_asset_event(observation(key, partition, version))


def observe_inputs(instance: dg.DagsterInstance, manifests: list[Manifest],
                   settings: Settings) -> dict[ObservedInput, str]:
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


@dataclass(frozen=True)
class Selection:
    """What a run must materialise: asset keys, and for the partitioned pilot family the
    territory × wave partitions to run them on (empty when no partitioned asset is selected)."""

    keys: list[dg.AssetKey]
    partitions: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.keys)


def _latest_by_partition(instance: dg.DagsterInstance, key: dg.AssetKey,
                         partitions: list[str]) -> dict[str, object]:
    """The latest materialisation record of each partition of ``key`` that has one."""
    found = {}
    for partition in partitions:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1).records
        if records:
            found[partition] = records[0]
    return found


def _partitions_version(records: Mapping[str, object]) -> str:
    """What Dagster records as the data version of a partitioned parent read whole: the sha256 of
    its partitions' data versions in partition-key order (data_version_cache, Dagster 1.13)."""
    versions = [_event_tags(records[p]).get(DATA_VERSION_TAG, "")
                for p in sorted(records)]
    return sha256("".join(versions).encode()).hexdigest()


def stale_selection(graph, instance: dg.DagsterInstance) -> Selection:
    """Materialisable assets of the asset graph (``Definitions.resolve_asset_graph()``) that are
    missing or stale, with the rule Dagster's stale-status resolver applies (see
    :func:`stale_assets_by_resolver`): never materialised, code version changed, an upstream
    data version differs from the one the latest materialisation consumed, or downstream of a
    stale asset. It reads every asset's latest event in one query instead of a few per asset,
    which is what keeps a run with nothing to do within seconds.

    The pilot family's partitions are judged one by one: a partition is stale when it was never
    materialised, its code changed, its wave's files (observed per partition) changed since it
    was materialised, a configuration input it read changed, or its upstream partition is stale
    or was materialised after it. An unpartitioned asset reading the family is stale when a
    partition is, or when the family's data version (over its partitions) is not the one it
    consumed."""
    keys = list(graph.get_all_asset_keys())
    entries = {r.asset_entry.asset_key: r.asset_entry for r in instance.get_asset_records(keys)}
    current: dict[dg.AssetKey, str | None] = {}
    by_partition: dict[dg.AssetKey, dict[str, object]] = {}
    for key in keys:
        node = graph.get(key)
        if node.partitions_def is not None:
            if node.is_materializable:
                by_partition[key] = _latest_by_partition(
                    instance, key, node.partitions_def.get_partition_keys())
                current[key] = _partitions_version(by_partition[key])
        elif node.is_observable:
            # Observations are not kept on the asset record: one query per observed input.
            current[key] = recorded_data_version(instance, key)
        else:
            entry = entries.get(key)
            record = entry.last_materialization_record if entry else None
            current[key] = _event_tags(record).get(DATA_VERSION_TAG)
    stale: set[dg.AssetKey] = set()
    stale_parts: dict[dg.AssetKey, set[str]] = {}
    for key in graph.toposorted_asset_keys:
        node = graph.get(key)
        if not node.is_materializable:
            continue
        if node.partitions_def is not None:
            parts = _stale_partitions(graph, instance, node, by_partition, current, stale,
                                      stale_parts)
            if parts:
                stale_parts[key] = parts
                stale.add(key)
            continue
        entry = entries.get(key)
        record = entry.last_materialization_record if entry else None
        if _is_stale(node, record, lambda parent, tags: parent in stale
                     or _consumed(tags, parent) != current.get(parent)):
            stale.add(key)
    partitions = sorted(set().union(*stale_parts.values())) if stale_parts else []
    return Selection(sorted(stale, key=lambda k: k.to_user_string()), partitions)


def _consumed(tags: Mapping[str, str], parent: dg.AssetKey) -> str | None:
    """The data version of ``parent`` a materialisation recorded as its input."""
    return tags.get(f"{INPUT_DATA_VERSION_TAG_PREFIX}/{parent.to_user_string()}")


def _is_stale(node, record, parent_changed) -> bool:
    """Dagster's rule for one materialisation ``record`` of ``node`` (None: never materialised):
    stale when missing, when its code version changed, or when ``parent_changed(parent, tags)``
    for one of its parents."""
    if record is None:
        return True
    tags = _event_tags(record)
    if node.code_version is not None and tags.get(CODE_VERSION_TAG) != node.code_version:
        return True
    return any(parent_changed(parent, tags) for parent in node.parent_keys)


def _stale_partitions(graph, instance, node, by_partition, current, stale,
                      stale_parts) -> set[str]:
    records = by_partition[node.key]

    def stale_in(partition: str) -> bool:
        record = records.get(partition)

        def parent_changed(parent: dg.AssetKey, tags: Mapping[str, str]) -> bool:
            parent_node = graph.get(parent)
            if parent_node.partitions_def is None:
                return parent in stale or _consumed(tags, parent) != current.get(parent)
            if parent_node.is_observable:
                # The wave's files as observed when this partition was materialised, and now.
                return recorded_data_version(
                    instance, parent, partition, before_storage_id=record.storage_id
                ) != recorded_data_version(instance, parent, partition)
            upstream = by_partition[parent].get(partition)
            return (partition in stale_parts.get(parent, set()) or upstream is None
                    or upstream.storage_id > record.storage_id)

        return _is_stale(node, record, parent_changed)

    return {p for p in node.partitions_def.get_partition_keys() if stale_in(p)}


def stale_assets(graph, instance: dg.DagsterInstance) -> list[dg.AssetKey]:
    """The keys of :func:`stale_selection` (a partitioned key when any partition is stale)."""
    return stale_selection(graph, instance).keys


def stale_assets_by_resolver(graph, instance: dg.DagsterInstance) -> list[dg.AssetKey]:
    """The same selection from Dagster's own stale-status resolver (what the UI shows); a few
    queries per asset, so seconds per hundred assets. The tests hold the two equal."""
    resolver = CachingStaleStatusResolver(instance, graph, _Loading(instance))
    keys = sorted(graph.materializable_asset_keys, key=lambda k: k.to_user_string())
    stale = (StaleStatus.MISSING, StaleStatus.STALE)

    def is_stale(key: dg.AssetKey) -> bool:
        partitions_def = graph.get(key).partitions_def
        if partitions_def is None:
            return resolver.get_status(key) in stale
        return any(resolver.get_status(key, partition) in stale
                   for partition in partitions_def.get_partition_keys())

    return [key for key in keys if is_stale(key)]


def with_multi_asset_siblings(graph, keys: Iterable[dg.AssetKey]) -> list[dg.AssetKey]:
    """A raw or staging multi-asset writes all its tables in one step: select them together."""
    selected = set(keys)
    for key in list(selected):
        selected |= set(graph.get(key).assets_def.keys)
    return sorted(selected, key=lambda k: k.to_user_string())
