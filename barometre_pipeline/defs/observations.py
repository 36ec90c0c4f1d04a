"""What the pipeline reads from disk, as observable source assets.

Each observation records a content hash as the asset's data version: the manifest and files of one
source (`source_files/<id>`), the codebook, the indicator catalogue, the reference folder. Dagster
compares these versions with the ones the last materialisations consumed, which is how
`barometre materialize`, the nightly schedule and the raw-files sensor know what is stale.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import dagster as dg

from barometre_pipeline.defs.keys import CATALOGUE, CODEBOOK, GEO, REFERENCE, source_files_key
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


def current_data_versions(manifests: list[Manifest], settings: Settings) -> dict[dg.AssetKey, str]:
    """The content hash of every observed input now (what an observation would record)."""
    versions = {source_files_key(m): source_fingerprint(m, settings.data_dir) for m in manifests}
    versions.update({key: config_fingerprint(key, settings.data_dir) for key in CONFIG_FILES})
    return versions


def _specs(manifests: list[Manifest]) -> list[dg.AssetSpec]:
    specs = [dg.AssetSpec(
        source_files_key(m), group_name="sources",
        description=f"Manifest and files of source `{m.id}` (`{m.files}`): observed by content "
        "hash, so only a change of bytes makes its lineage stale.") for m in manifests]
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
            for key, version in current_data_versions(manifests, paths.settings()).items():
                yield dg.ObserveResult(asset_key=key, data_version=dg.DataVersion(version),
                                       metadata={"content_sha256": version})

    return [observed_inputs]
