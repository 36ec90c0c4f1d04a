"""The pilot survey's territory × wave partitions.

Every pilot wave (one manifest: a territory's questionnaire export for one year) is one partition
of a single family of assets — `raw/pilot`, `staging/pilot`, `weighting/pilot`,
`indicators/pilot` and their side tables — instead of a chain of assets of its own. A new wave is
then a new partition of the same assets, the UI shows which territory × wave is materialised,
stale or failing, and a wave can be re-run (or backfilled) on its own.

A run covers one partition, or a range of them in one step per asset (a single-run backfill
policy): each step loops over its run's waves, so `barometre materialize` and the nightly job
still refresh everything in one run. Two runs on different partitions can run at the same time as
far as Dagster is concerned; on one DuckDB file they still queue on the one-slot warehouse pool
(one writer per file), on MotherDuck they run side by side once the pool is given more slots.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from barometre_pipeline.defs.keys import is_partitioned
from barometre_pipeline.sources.manifest import Manifest, ManifestError

TERRITORY = "territory"
WAVE = "wave"


def territory_and_wave(manifest: Manifest) -> tuple[str, str]:
    """A pilot wave's territory code and year, as its rows carry them (constants first)."""
    territory = manifest.constants.get("territory") or manifest.provenance.territory
    wave = manifest.constants.get("period") or manifest.provenance.period
    if not territory or not wave:
        raise ManifestError(
            f"{manifest.manifest_path or manifest.id}: a pilot wave needs `constants.territory` "
            f"and `constants.period` (or provenance.territory / provenance.period); found "
            f"territory={territory!r}, period={wave!r}")
    return str(territory), str(wave)


@dataclass(frozen=True)
class PilotPartitions:
    """The territory × wave grid of the declared pilot waves and the manifest behind each cell."""

    definition: dg.MultiPartitionsDefinition
    manifests: dict[str, Manifest]  # partition key ("CA-QC|2026") -> manifest

    def key_of(self, manifest: Manifest) -> str:
        territory, wave = territory_and_wave(manifest)
        return str(dg.MultiPartitionKey({TERRITORY: territory, WAVE: wave}))

    def manifest(self, partition_key: str) -> Manifest:
        found = self.manifests.get(str(partition_key))
        if found is None:
            declared = ", ".join(sorted(self.manifests))
            raise dg.Failure(
                f"no pilot manifest declares territory × wave {partition_key!r} (declared: "
                f"{declared}); the grid is every territory × every wave, but only declared waves "
                "can be materialised")
        return found

    def run_manifests(self, context) -> list[Manifest]:
        """The waves of this run (one partition, or a range), in partition order."""
        return [self.manifest(key) for key in context.partition_keys]

    def all_keys(self) -> list[str]:
        return sorted(self.manifests)

    def run_tags(self, keys: list[str] | None = None) -> dict[str, str]:
        """Run tags asking for a range of partitions in one run (all declared waves by default):
        the first and last of ``keys`` in the definition's order."""
        order = self.definition.get_partition_keys()
        chosen = sorted(keys if keys is not None else self.all_keys(), key=order.index)
        return {ASSET_PARTITION_RANGE_START_TAG: chosen[0],
                ASSET_PARTITION_RANGE_END_TAG: chosen[-1]}


def pilot_partitions(manifests: list[Manifest]) -> PilotPartitions | None:
    """The grid of the pilot waves declared in ``manifests`` (None when there is none). Two
    manifests for the same territory and wave are refused, naming both files."""
    by_key: dict[str, Manifest] = {}
    territories: set[str] = set()
    waves: set[str] = set()
    for manifest in manifests:
        if not is_partitioned(manifest):
            continue
        territory, wave = territory_and_wave(manifest)
        territories.add(territory)
        waves.add(wave)
        key = str(dg.MultiPartitionKey({TERRITORY: territory, WAVE: wave}))
        if key in by_key:
            raise ManifestError(
                f"{manifest.manifest_path or manifest.id}: territory {territory} wave {wave} is "
                f"already declared by {by_key[key].manifest_path or by_key[key].id}; one manifest "
                "per pilot territory × wave")
        by_key[key] = manifest
    if not by_key:
        return None
    definition = dg.MultiPartitionsDefinition({
        TERRITORY: dg.StaticPartitionsDefinition(sorted(territories)),
        WAVE: dg.StaticPartitionsDefinition(sorted(waves)),
    })
    return PilotPartitions(definition, by_key)


def every_wave_tags(manifests: list[Manifest]) -> dict[str, str]:
    """Run tags for a run of the whole graph: every declared pilot wave (none without a pilot)."""
    partitions = pilot_partitions(manifests)
    return partitions.run_tags() if partitions is not None else {}
