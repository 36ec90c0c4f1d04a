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


def _source_files_asset(manifest: Manifest) -> dg.SourceAsset:
    @dg.observable_source_asset(
        key=source_files_key(manifest),
        group_name="sources",
        description=f"Manifest and files of source `{manifest.id}` (`{manifest.files}`): "
        "observed by content hash, so only a change of bytes makes its lineage stale.",
    )
    def _observe(paths: BarometrePaths) -> dg.DataVersion:
        return dg.DataVersion(source_fingerprint(manifest, paths.settings().data_dir))

    return _observe


def _config_asset(key: dg.AssetKey, description: str) -> dg.SourceAsset:
    @dg.observable_source_asset(key=key, group_name="config", description=description)
    def _observe(paths: BarometrePaths) -> dg.DataVersion:
        return dg.DataVersion(config_fingerprint(key, paths.settings().data_dir))

    return _observe


def build_observed_inputs(manifests: list[Manifest]) -> list[dg.SourceAsset]:
    # `observable_source_asset` is marked beta in Dagster 1.13; the API is the documented way to
    # give an input a data version, so the warning is silenced here rather than printed per source.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return _observed_inputs(manifests)


def _observed_inputs(manifests: list[Manifest]) -> list[dg.SourceAsset]:
    return [
        *[_source_files_asset(m) for m in manifests],
        _config_asset(CODEBOOK, "`codebook.yaml`: canonical variables, codes, levels."),
        _config_asset(CATALOGUE, "`indicators.yaml`: indicator catalogue and publication rules."),
        _config_asset(REFERENCE, "`reference/`: population margins, indicator crosswalk, help "
                      "resources."),
        _config_asset(GEO, "`geo/`: outlines of the territories drawn on the site's map."),
    ]
