"""The pilot waves as territory × wave partitions (defs.partitions), on the shipped manifests and
on crafted copies of them: the grid, the manifest behind each cell, refused duplicates, and the
run range asked for one wave or for all."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from barometre_pipeline.defs.keys import (
    is_partitioned,
    key_of,
    raw_status_key,
    source_table,
    staging_key,
)
from barometre_pipeline.defs.partitions import every_wave_tags, pilot_partitions
from barometre_pipeline.settings import PROJECT_ROOT
from barometre_pipeline.sources.manifest import ManifestError, load_manifests

SOURCES = PROJECT_ROOT / "data" / "sources"


def _copy_sources(target: Path) -> Path:
    (target / "sources").mkdir(parents=True)
    for manifest in SOURCES.glob("*.yaml"):
        shutil.copy(manifest, target / "sources")
    return target


def test_the_shipped_waves_are_a_complete_territory_by_wave_grid():
    manifests = load_manifests(PROJECT_ROOT / "data")
    partitions = pilot_partitions(manifests)
    assert partitions is not None
    assert partitions.all_keys() == ["CA-QC|2025", "CA-QC|2026", "FR-OT|2025", "FR-OT|2026"]
    assert {k: m.id for k, m in partitions.manifests.items()} == {
        "CA-QC|2025": "pilot_quebec_2025", "CA-QC|2026": "pilot_quebec_2026",
        "FR-OT|2025": "pilot_orleans_tours_2025", "FR-OT|2026": "pilot_orleans_tours_2026"}
    assert sorted(partitions.definition.get_partition_keys()) == partitions.all_keys()
    # Public microdata and aggregates are not partitioned: assets of their own.
    assert [m.id for m in manifests if is_partitioned(m)] == sorted(
        m.id for m in partitions.manifests.values())


def test_a_waves_table_is_named_after_its_manifest_under_the_family_key():
    manifests = {m.id: m for m in load_manifests(PROJECT_ROOT / "data")}
    quebec, depp = manifests["pilot_quebec_2026"], manifests["public_fr_depp"]
    assert staging_key(quebec) == dg.AssetKey(["staging", "pilot"])
    assert source_table(staging_key(quebec), quebec) == "staging.pilot_quebec_2026"
    assert source_table(raw_status_key(quebec), quebec) == "raw.status__pilot_quebec_2026"
    assert staging_key(depp) == dg.AssetKey(["staging", "public_fr_depp"])
    assert source_table(staging_key(depp), depp) == "staging.public_fr_depp"
    waves = ["pilot_quebec_2026"]
    assert key_of("raw.status__pilot_quebec_2026", waves) == dg.AssetKey(["raw", "status", "pilot"])
    assert key_of("staging.public_fr_depp", waves) == dg.AssetKey(["staging", "public_fr_depp"])


def test_run_tags_ask_for_one_wave_or_the_range_of_all():
    partitions = pilot_partitions(load_manifests(PROJECT_ROOT / "data"))
    assert partitions.run_tags(["FR-OT|2026"]) == {
        "dagster/asset_partition_range_start": "FR-OT|2026",
        "dagster/asset_partition_range_end": "FR-OT|2026"}
    assert every_wave_tags(load_manifests(PROJECT_ROOT / "data")) == {
        "dagster/asset_partition_range_start": "CA-QC|2025",
        "dagster/asset_partition_range_end": "FR-OT|2026"}


def test_an_undeclared_cell_of_the_grid_names_the_declared_waves(tmp_path):
    data = _copy_sources(tmp_path)
    (data / "sources" / "pilot_quebec_2026.yaml").unlink()
    partitions = pilot_partitions(load_manifests(data))
    # The grid is still 2 × 2, but CA-QC 2026 has no manifest.
    assert len(partitions.definition.get_partition_keys()) == 4
    assert partitions.all_keys() == ["CA-QC|2025", "FR-OT|2025", "FR-OT|2026"]
    with pytest.raises(dg.Failure, match=r"CA-QC\|2026.*declared: CA-QC\|2025, FR-OT\|2025"):
        partitions.manifest("CA-QC|2026")
    assert partitions.manifest("CA-QC|2025").id == "pilot_quebec_2025"


def test_two_manifests_for_one_territory_and_wave_are_refused_naming_both(tmp_path):
    data = _copy_sources(tmp_path)
    copy = yaml.safe_load((data / "sources" / "pilot_quebec_2026.yaml").read_text("utf-8"))
    copy["id"] = "pilot_quebec_2026_bis"
    (data / "sources" / "pilot_quebec_2026_bis.yaml").write_text(
        yaml.safe_dump(copy, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ManifestError, match=r"pilot_quebec_2026.*CA-QC wave 2026.*pilot_quebec_"):
        pilot_partitions(load_manifests(data))


def test_without_a_pilot_manifest_there_is_no_partition(tmp_path):
    data = _copy_sources(tmp_path)
    for manifest in (data / "sources").glob("pilot_*.yaml"):
        manifest.unlink()
    manifests = load_manifests(data)
    assert pilot_partitions(manifests) is None
    assert every_wave_tags(manifests) == {}


def test_the_definitions_partition_the_pilot_family_only(tmp_path, monkeypatch):
    monkeypatch.setenv("BAROMETRE_DATA_DIR", str(PROJECT_ROOT / "data"))
    from barometre_pipeline.definitions import build_definitions

    graph = build_definitions().resolve_asset_graph()
    partitioned = sorted(k.to_user_string() for k in graph.get_all_asset_keys()
                         if graph.get(k).partitions_def is not None)
    assert partitioned == sorted([
        "source_files/pilot", "raw/pilot", "raw/status/pilot", "raw/files/pilot",
        "quarantine/read_rejects/pilot", "staging/pilot", "quarantine/rejects/pilot",
        "quarantine/row_counts/pilot", "weighting/pilot", "indicators/pilot"])
    assert not any("pilot_" in k.to_user_string() for k in graph.get_all_asset_keys())
    dimensions = graph.get(dg.AssetKey(["staging", "pilot"])).partitions_def.partitions_defs
    assert [d.name for d in dimensions] == ["territory", "wave"]
