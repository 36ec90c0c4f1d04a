"""Asset keys and the warehouse tables they stand for.

One rule ties the graph to the warehouse: asset key ``[schema, *name]`` is the DuckDB table
``schema."<name joined by __>"``. The lineage test relies on it to compare the tables each asset's
code reads with the assets it declares upstream.

The pilot survey is the exception that proves it: its territory × wave waves are the partitions of
one family of assets (``raw/pilot``, ``staging/pilot``, …; see ``defs.partitions``), and each
partition keeps its own table, named after its manifest as any other source's
(``staging.pilot_quebec_2026``). :func:`source_table` gives a source's table under either kind of
key; :func:`key_of` maps a pilot wave's table back to its family key.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from barometre_pipeline.sources.manifest import Manifest
from barometre_pipeline.vocabulary import FAMILY_PILOT

# Last element of the keys of the partitioned pilot family (`staging/pilot`).
PILOT_FAMILY = "pilot"


def is_partitioned(manifest: Manifest) -> bool:
    """Pilot survey waves are the territory × wave partitions of one asset family; every other
    source (public and scientific figures, public microdata) has assets of its own."""
    return manifest.family == FAMILY_PILOT and manifest.kind == "microdata"


def table_of(key: dg.AssetKey) -> str:
    """`raw/status/x` -> `raw.status__x` (the warehouse table behind a warehouse asset)."""
    schema, *name = key.path
    return f"{schema}.{'__'.join(name)}"


def source_table(key: dg.AssetKey, manifest: Manifest) -> str:
    """The table holding ``manifest``'s part of a per-source asset: the asset's own table, or for
    a pilot wave its partition's table (`staging/pilot` + pilot_quebec_2026 ->
    `staging.pilot_quebec_2026`)."""
    return table_of(dg.AssetKey([*key.path[:-1], manifest.id]))


def key_of(table: str, partitioned_ids: Iterable[str] = ()) -> dg.AssetKey:
    """Inverse of :func:`table_of`: `raw.status__x` -> `raw/status/x`; a table named after one of
    ``partitioned_ids`` (a pilot wave) maps to its family key (`raw/status/pilot`)."""
    schema, name = table.split(".", 1)
    *head, last = name.split("__")
    if last in set(partitioned_ids):
        last = PILOT_FAMILY
    return dg.AssetKey([schema, *head, last])


def _source_key(prefix: list[str], manifest: Manifest) -> dg.AssetKey:
    return dg.AssetKey([*prefix, PILOT_FAMILY if is_partitioned(manifest) else manifest.id])


def unique_keys(keys: Iterable[dg.AssetKey]) -> list[dg.AssetKey]:
    """Keys in order without repeats (every pilot wave names the same family key)."""
    return list(dict.fromkeys(keys))


# Inputs observed on disk (observable source assets): their data version is a content hash.
def source_files_key(manifest: Manifest) -> dg.AssetKey:
    return _source_key(["source_files"], manifest)


CODEBOOK = dg.AssetKey(["config", "codebook"])
CATALOGUE = dg.AssetKey(["config", "indicator_catalogue"])
REFERENCE = dg.AssetKey(["config", "reference"])
GEO = dg.AssetKey(["config", "geo"])


# Raw layer: the text of the files and three side tables, all outputs of one multi-asset.
def raw_key(manifest: Manifest) -> dg.AssetKey:
    return _source_key(["raw"], manifest)


def raw_status_key(manifest: Manifest) -> dg.AssetKey:
    return _source_key(["raw", "status"], manifest)


def raw_files_key(manifest: Manifest) -> dg.AssetKey:
    return _source_key(["raw", "files"], manifest)


def read_rejects_key(manifest: Manifest) -> dg.AssetKey:
    return _source_key(["quarantine", "read_rejects"], manifest)


# Staging layer: the harmonised table, its rejects and its row counts (one multi-asset).
def staging_key(manifest: Manifest) -> dg.AssetKey:
    return _source_key(["staging"], manifest)


def rejects_key(manifest: Manifest) -> dg.AssetKey:
    return _source_key(["quarantine", "rejects"], manifest)


def row_counts_key(manifest: Manifest) -> dg.AssetKey:
    return _source_key(["quarantine", "row_counts"], manifest)


def weighting_key(manifest: Manifest) -> dg.AssetKey:
    return _source_key(["weighting"], manifest)


def indicators_key(manifest: Manifest) -> dg.AssetKey:
    return _source_key(["indicators"], manifest)


CONSOLIDATED_INDICATORS = dg.AssetKey(["consolidated", "indicators"])
CONSOLIDATED_SOURCES = dg.AssetKey(["consolidated", "sources"])
CONSOLIDATED_COMPARISONS = dg.AssetKey(["consolidated", "comparisons"])
CONSOLIDATED_EFFECTS = dg.AssetKey(["consolidated", "effects"])
EXPORT_INDICATORS = dg.AssetKey(["exports", "indicators_parquet"])
