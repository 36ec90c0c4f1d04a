"""What the pipeline reads from disk, as observable source assets.

Each observation records a content hash as the asset's data version: the manifest and files of one
source (`source_files/<id>`, or one partition of `source_files/pilot` for a pilot territory ×
wave), the codebook, the indicator catalogue, the reference folder. Dagster
compares these versions with the ones the last materialisations consumed, which is how
`barometre materialize`, the nightly schedule and the raw-files sensor know what is stale.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import dagster as dg
from dagster._core.definitions.external_asset import create_external_asset_from_source_asset

from barometre_pipeline.defs.keys import (
    CATALOGUE,
    CODEBOOK,
    GEO,
    REFERENCE,
    is_partitioned,
    source_files_key,
)
from barometre_pipeline.defs.partitions import PilotPartitions, pilot_partitions
from barometre_pipeline.defs.resources import BarometrePaths
from barometre_pipeline.settings import Settings
from barometre_pipeline.sources.fingerprint import (
    files_fingerprint,
    folder_fingerprint,
    source_fingerprint,
)
from barometre_pipeline.sources.manifest import Manifest

CONFIG_FILES: dict[dg.AssetKey, str] = {
    CODEBOOK: "codebook.yaml",
    CATALOGUE: "indicators.yaml",
    REFERENCE: "reference",
    GEO: "geo",
}


def config_fingerprint(key: dg.AssetKey, data_dir: Path) -> str:
    target = data_dir / CONFIG_FILES[key]
    return folder_fingerprint(target) if target.is_dir() else files_fingerprint([target], data_dir)


# An observed input: an asset key, and the partition (a pilot territory × wave) or None.
ObservedInput = tuple[dg.AssetKey, str | None]


def current_data_versions(manifests: list[Manifest], settings: Settings
                          ) -> dict[ObservedInput, str]:
    """The content hash of every observed input now (what an observation would record)."""
    partitions = pilot_partitions(manifests)
    versions: dict[ObservedInput, str] = {}
    for m in manifests:
        partition = partitions.key_of(m) if partitions and is_partitioned(m) else None
        versions[(source_files_key(m), partition)] = source_fingerprint(m, settings.data_dir)
    versions.update({(key, None): config_fingerprint(key, settings.data_dir)
                     for key in CONFIG_FILES})
    return versions


def _specs(manifests: list[Manifest]) -> list[dg.AssetSpec]:
    specs = [dg.AssetSpec(
        source_files_key(m), group_name="sources",
        description=f"Manifest and files of source `{m.id}` (`{m.files}`): observed by content "
        "hash, so only a change of bytes makes its lineage stale.")
        for m in manifests if not is_partitioned(m)]
    specs += [
        dg.AssetSpec(CODEBOOK, group_name="config",
                     description="`codebook.yaml`: canonical variables, codes, levels."),
        dg.AssetSpec(CATALOGUE, group_name="config",
                     description="`indicators.yaml`: indicator catalogue and publication rules."),
        dg.AssetSpec(REFERENCE, group_name="config",
                     description="`reference/`: population margins, indicator crosswalk, help "
                     "resources."),
        dg.AssetSpec(GEO, group_name="config",
                     description="`geo/`: outlines of the territories drawn on the site's map."),
    ]
    return specs


def build_observed_inputs(manifests: list[Manifest]) -> list[dg.AssetsDefinition]:
    """One observable multi-asset for every input on disk (the UI's "Observe" hashes them all)."""
    # Observable source assets are marked beta in Dagster 1.13; they are the documented way to
    # give an input a data version, so the warning is silenced here rather than printed on load.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)

        @dg.multi_observable_source_asset(specs=_specs(manifests), name="observe_inputs")
        def observed_inputs(paths: BarometrePaths):
            for (key, partition), version in current_data_versions(
                    manifests, paths.settings()).items():
                if partition is None:
                    yield dg.ObserveResult(asset_key=key, data_version=dg.DataVersion(version),
                                           metadata={"content_sha256": version})

        partitions = pilot_partitions(manifests)
        if partitions is None:
            return [observed_inputs]
        return [observed_inputs, _observed_pilot_files(manifests, partitions)]


def _observed_pilot_files(manifests: list[Manifest],
                          partitions: PilotPartitions) -> dg.AssetsDefinition:
    """`source_files/pilot`: one content hash per territory × wave (its manifest and files)."""
    first = next(m for m in manifests if is_partitioned(m))

    @dg.observable_source_asset(
        key=source_files_key(first), group_name="sources", partitions_def=partitions.definition,
        description="Manifest and files of each pilot wave, one partition per territory × wave: "
        "observed by content hash, so only a change of a wave's bytes makes that wave stale.")
    def pilot_files(paths: BarometrePaths):
        versions = current_data_versions(manifests, paths.settings())
        return dg.DataVersionsByPartition({
            partition: version for (key, partition), version in versions.items()
            if partition is not None})

    # Converted here, where the caller silences warnings: Dagster's own conversion of a source
    # asset reads a property it has deprecated (OpDefinition.version) and would warn on load.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return create_external_asset_from_source_asset(pilot_files)
