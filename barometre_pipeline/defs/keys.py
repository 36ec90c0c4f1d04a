"""Asset keys and the warehouse tables they stand for.

One rule ties the graph to the warehouse: asset key ``[schema, *name]`` is the DuckDB table
``schema."<name joined by __>"``. The lineage test relies on it to compare the tables each asset's
code reads with the assets it declares upstream.
"""

from __future__ import annotations

import dagster as dg

from barometre_pipeline.sources.manifest import Manifest


def table_of(key: dg.AssetKey) -> str:
    """`raw/status/x` -> `raw.status__x` (the warehouse table behind a warehouse asset)."""
    schema, *name = key.path
    return f"{schema}.{'__'.join(name)}"


def key_of(table: str) -> dg.AssetKey:
    """Inverse of :func:`table_of`: `raw.status__x` -> `raw/status/x`."""
    schema, name = table.split(".", 1)
    return dg.AssetKey([schema, *name.split("__")])


# Inputs observed on disk (observable source assets): their data version is a content hash.
def source_files_key(manifest: Manifest) -> dg.AssetKey:
    return dg.AssetKey(["source_files", manifest.id])


CODEBOOK = dg.AssetKey(["config", "codebook"])
CATALOGUE = dg.AssetKey(["config", "indicator_catalogue"])
REFERENCE = dg.AssetKey(["config", "reference"])
GEO = dg.AssetKey(["config", "geo"])


# Raw layer: the text of the files and three side tables, all outputs of one multi-asset.
def raw_key(manifest: Manifest) -> dg.AssetKey:
    return dg.AssetKey(["raw", manifest.id])


def raw_status_key(manifest: Manifest) -> dg.AssetKey:
    return dg.AssetKey(["raw", "status", manifest.id])


def raw_files_key(manifest: Manifest) -> dg.AssetKey:
    return dg.AssetKey(["raw", "files", manifest.id])


def read_rejects_key(manifest: Manifest) -> dg.AssetKey:
    return dg.AssetKey(["quarantine", "read_rejects", manifest.id])


# Staging layer: the harmonised table, its rejects and its row counts (one multi-asset).
def staging_key(manifest: Manifest) -> dg.AssetKey:
    return dg.AssetKey(["staging", manifest.id])


def rejects_key(manifest: Manifest) -> dg.AssetKey:
    return dg.AssetKey(["quarantine", "rejects", manifest.id])


def row_counts_key(manifest: Manifest) -> dg.AssetKey:
    return dg.AssetKey(["quarantine", "row_counts", manifest.id])


def weighting_key(manifest: Manifest) -> dg.AssetKey:
    return dg.AssetKey(["weighting", manifest.id])


def indicators_key(manifest: Manifest) -> dg.AssetKey:
    return dg.AssetKey(["indicators", manifest.id])


CONSOLIDATED_INDICATORS = dg.AssetKey(["consolidated", "indicators"])
CONSOLIDATED_SOURCES = dg.AssetKey(["consolidated", "sources"])
CONSOLIDATED_COMPARISONS = dg.AssetKey(["consolidated", "comparisons"])
CONSOLIDATED_EFFECTS = dg.AssetKey(["consolidated", "effects"])
EXPORT_INDICATORS = dg.AssetKey(["exports", "indicators_parquet"])
