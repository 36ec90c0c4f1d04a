"""Consolidated layer: one `indicators` table across every source, and the `sources` catalogue."""


import json

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from barometre_pipeline.defs.code_versions import code_version
from barometre_pipeline.defs.keys import (
    CATALOGUE,
    CODEBOOK,
    CONSOLIDATED_INDICATORS,
    CONSOLIDATED_SOURCES,
    indicators_key,
    raw_status_key,
    row_counts_key,
    source_table,
    staging_key,
    table_of,
    unique_keys,
)
from barometre_pipeline.defs.resources import WAREHOUSE_POOL, BarometrePaths
from barometre_pipeline.defs.sources import NOT_UPDATED, source_status
from barometre_pipeline.indicators.catalogue import load_catalogue
from barometre_pipeline.publish.contract import INDICATORS_COLUMNS, build_provenance
from barometre_pipeline.sources.manifest import Manifest
from barometre_pipeline.staging.codebook import load_codebook
from barometre_pipeline.warehouse import read_table, replace_table

__all__ = ["CONSOLIDATED_INDICATORS", "CONSOLIDATED_SOURCES", "build_consolidated_assets",
           "source_provenance"]

WAREHOUSE_COLUMNS = tuple(c.name for c in INDICATORS_COLUMNS)
# Quality flag on the rows of a source whose latest files could not be read.
NOT_UPDATED_FLAG = "NON MIS À JOUR"


def source_provenance(con, manifest: Manifest, run_id: str, version: str) -> str:
    """The provenance JSON of one source's rows: manifest, input file hashes, code, run
    (reads `raw/status/<id>`)."""
    status = source_status(con, manifest)
    files = json.loads(status.get("files") or "[]")
    return build_provenance(
        manifest.id,
        str(manifest.manifest_path.name if manifest.manifest_path else ""),
        {f["path"]: f["sha256"] for f in files},
        version,
        run_id,
        publisher=manifest.provenance.publisher,
        licence=manifest.provenance.licence,
        synthetic=manifest.provenance.synthetic,
    )


def _source_info(con, manifest: Manifest, run_id: str, version: str):
    from barometre_pipeline.indicators.consolidate import SourceInfo

    flags = tuple(manifest.provenance.quality_flags)
    if source_status(con, manifest).get("update_status") == NOT_UPDATED:
        flags = (*flags, NOT_UPDATED_FLAG)
    return SourceInfo(manifest.id, manifest.family, flags,
                      source_provenance(con, manifest, run_id, version))


def _with_flag(table: pd.DataFrame, flag: str) -> pd.DataFrame:
    if table.empty:
        return table
    current = table["quality_flags"].fillna("").astype(str)
    table["quality_flags"] = [f"{c}|{flag}" if c and flag not in c.split("|") else (c or flag)
                              for c in current]
    return table


def build_consolidated_assets(manifests: list[Manifest]) -> list[dg.AssetsDefinition]:
    estimates = unique_keys(indicators_key(m) if m.kind == "microdata" else staging_key(m)
                            for m in manifests)
    statuses = unique_keys(raw_status_key(m) for m in manifests)

    @dg.asset(
        key=CONSOLIDATED_INDICATORS,
        deps=[*estimates, *statuses, CATALOGUE, CODEBOOK],
        group_name="consolidated",
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        code_version=code_version("consolidated"),
        description="Every source's indicators in one long table (export contract v1 columns): "
        "pilot estimates after the publication rules, public and scientific figures mapped to "
        "catalogue codes with their comparability group, quality flags and provenance. A source "
        "whose latest files could not be read keeps its last figures, flagged NON MIS À JOUR.",
    )
    def consolidated_indicators(context: dg.AssetExecutionContext, warehouse: DuckDBResource,
                                paths: BarometrePaths) -> dg.MaterializeResult:
        # Publication rules (scipy, linear algebra) are imported when they run, not on load.
        from barometre_pipeline.indicators.consolidate import (
            consolidate,
            publish_microdata_rows,
            published_figure_rows,
        )

        settings = paths.settings()
        catalogue = load_catalogue(settings.data_dir / "indicators.yaml")
        codebook = load_codebook(settings.data_dir / "codebook.yaml")
        version = code_version("consolidated")
        parts = []
        with warehouse.get_connection() as con:
            for manifest in manifests:
                info = _source_info(con, manifest, context.run.run_id, version)
                if manifest.kind == "microdata":
                    found = read_table(con, source_table(indicators_key(manifest), manifest))
                    if "indicator_code" in found:
                        parts.append(publish_microdata_rows(found, catalogue, codebook, info))
                else:
                    staged = read_table(con, source_table(staging_key(manifest), manifest))
                    if "indicator_code" in staged:
                        part = published_figure_rows(staged, info)
                        if NOT_UPDATED_FLAG in info.quality_flags:
                            part = _with_flag(part, NOT_UPDATED_FLAG)
                        parts.append(part)
            table = consolidate(parts, WAREHOUSE_COLUMNS)
            replace_table(con, table_of(CONSOLIDATED_INDICATORS), table)
        by_family = table.groupby("source_family").size().to_dict() if len(table) else {}
        suppressed = int(table["suppressed"].fillna(False).astype(bool).sum()) if len(table) else 0
        return dg.MaterializeResult(metadata={
            "rows_by_family": dg.MetadataValue.json({k: int(v) for k, v in by_family.items()}),
            "published_cells": len(table) - suppressed,
            "suppressed_rows": suppressed,
            "sources": int(table["source_id"].nunique()) if len(table) else 0,
            "dagster/row_count": len(table),
        })

    @dg.asset(
        key=CONSOLIDATED_SOURCES,
        deps=[*statuses, *unique_keys(row_counts_key(m) for m in manifests)],
        group_name="consolidated",
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        code_version=code_version("consolidated"),
        description="Catalogue of every source: family, kind, publisher, title, licence, URL, "
        "period, territory, quality flags, synthetic flag, input file hashes, row counts and "
        "whether its latest files could be read (`update_status`: non mis à jour if not).",
    )
    def consolidated_sources(warehouse: DuckDBResource) -> dg.MaterializeResult:
        rows = []
        with warehouse.get_connection() as con:
            for manifest in manifests:
                p = manifest.provenance
                status = source_status(con, manifest)
                counts = read_table(con, source_table(row_counts_key(manifest), manifest))
                count = counts.iloc[0] if len(counts) else None
                not_updated = status.get("update_status") == NOT_UPDATED
                rows.append({
                    "source_id": manifest.id, "source_family": manifest.family,
                    "kind": manifest.kind, "publisher": p.publisher, "title": p.title,
                    "licence": p.licence, "url": p.url, "period": p.period,
                    "territory": p.territory, "synthetic": p.synthetic,
                    "quality_flags": "|".join(p.quality_flags) or None,
                    "manifest_file": manifest.manifest_path.name if manifest.manifest_path else None,
                    "input_files": status.get("files"),
                    "readable": bool(status.get("readable")) if status else None,
                    "read_error": status.get("error") or None,
                    "input_rows": int(count["input_rows"]) if count is not None else None,
                    "staged_rows": int(count["staged_rows"]) if count is not None else None,
                    "rejected_rows": int(count["rejected_rows"]) if count is not None else None,
                    "update_status": status.get("update_status"),
                    "update_status_fr": "non mis à jour" if not_updated else "à jour",
                })
            table = pd.DataFrame(rows)
            replace_table(con, table_of(CONSOLIDATED_SOURCES), table)
        not_updated = sorted(table.loc[table["update_status"] == NOT_UPDATED, "source_id"])
        return dg.MaterializeResult(metadata={
            "dagster/row_count": len(table),
            "sources_not_updated": ", ".join(not_updated) or "none",
        })

    return [consolidated_indicators, consolidated_sources]
