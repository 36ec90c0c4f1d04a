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
    DATA_VERSION_TAG,
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


def stale_assets(graph, instance: dg.DagsterInstance) -> list[dg.AssetKey]:
    """Materialisable assets of the asset graph (``Definitions.resolve_asset_graph()``) that are
    missing or stale (code or upstream data changed)."""
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
