"""Consolidated layer: one `indicators` table across every source, and the `sources` catalogue."""


import json

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from barometre_pipeline.defs.resources import WAREHOUSE_POOL, BarometrePaths
from barometre_pipeline.defs.sources import indicators_key, staging_key
from barometre_pipeline.indicators.catalogue import load_catalogue
from barometre_pipeline.indicators.consolidate import (
    SourceInfo,
    consolidate,
    publish_microdata_rows,
    published_figure_rows,
)
from barometre_pipeline.provenance import code_version
from barometre_pipeline.publish.contract import INDICATORS_COLUMNS, build_provenance
from barometre_pipeline.sources.manifest import Manifest
from barometre_pipeline.staging.codebook import load_codebook
from barometre_pipeline.warehouse import replace_table, table_exists

CONSOLIDATED_INDICATORS = dg.AssetKey(["consolidated", "indicators"])
CONSOLIDATED_SOURCES = dg.AssetKey(["consolidated", "sources"])
WAREHOUSE_COLUMNS = tuple(c.name for c in INDICATORS_COLUMNS)


def source_provenance(con, manifest: Manifest, run_id: str, version: str) -> str:
    """The provenance JSON of one source's rows: manifest, input file hashes, code, run."""
    status = con.execute(
        "SELECT files FROM raw.source_status WHERE source_id = ?", [manifest.id]
    ).fetchone() if table_exists(con, "raw", "source_status") else None
    files = json.loads(status[0]) if status and status[0] else []
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


def _source_info(con, manifest: Manifest, run_id: str, version: str) -> SourceInfo:
    return SourceInfo(manifest.id, manifest.family, tuple(manifest.provenance.quality_flags),
                      source_provenance(con, manifest, run_id, version))


def build_consolidated_assets(manifests: list[Manifest]) -> list[dg.AssetsDefinition]:
    upstream = [indicators_key(m) if m.kind == "microdata" else staging_key(m) for m in manifests]

    @dg.asset(
        key=CONSOLIDATED_INDICATORS,
        deps=upstream,
        group_name="consolidated",
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        description="Every source's indicators in one long table (export contract v1 columns): "
        "pilot estimates after the publication rules, public and scientific figures mapped to "
        "catalogue codes with their comparability group, quality flags and provenance.",
    )
    def consolidated_indicators(context: dg.AssetExecutionContext, warehouse: DuckDBResource,
                                paths: BarometrePaths) -> dg.MaterializeResult:
        settings = paths.settings()
        catalogue = load_catalogue(settings.data_dir / "indicators.yaml")
        codebook = load_codebook(settings.data_dir / "codebook.yaml")
        version = code_version()
        parts = []
        with warehouse.get_connection() as con:
            for manifest in manifests:
                info = _source_info(con, manifest, context.run.run_id, version)
                if manifest.kind == "microdata":
                    estimates = con.execute(f"SELECT * FROM indicators.{manifest.id}").df()
                    if "indicator_code" in estimates:
                        parts.append(publish_microdata_rows(estimates, catalogue, codebook, info))
                else:
                    staged = con.execute(f"SELECT * FROM staging.{manifest.id}").df()
                    if "indicator_code" in staged:
                        parts.append(published_figure_rows(staged, info))
            table = consolidate(parts, WAREHOUSE_COLUMNS)
            replace_table(con, "consolidated.indicators", table)
        by_family = table.groupby("source_family").size().to_dict() if len(table) else {}
        return dg.MaterializeResult(metadata={
            "rows_by_family": dg.MetadataValue.json({k: int(v) for k, v in by_family.items()}),
            "suppressed_rows": int(table["suppressed"].fillna(False).astype(bool).sum())
            if len(table) else 0,
            "sources": int(table["source_id"].nunique()) if len(table) else 0,
            "code_version": version,
            "dagster/row_count": len(table),
        })

    @dg.asset(
        key=CONSOLIDATED_SOURCES,
        deps=[staging_key(m) for m in manifests],
        group_name="consolidated",
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        description="Catalogue of every source: family, kind, publisher, title, licence, URL, "
        "period, territory, quality flags, synthetic flag, input file hashes and row counts.",
    )
    def consolidated_sources(warehouse: DuckDBResource) -> dg.MaterializeResult:
        rows = []
        with warehouse.get_connection() as con:
            counts = con.execute("SELECT * FROM quarantine.row_counts").df().set_index("source_id") \
                if table_exists(con, "quarantine", "row_counts") else pd.DataFrame()
            for manifest in manifests:
                p = manifest.provenance
                status = con.execute(
                    "SELECT files, readable, error FROM raw.source_status WHERE source_id = ?",
                    [manifest.id]).fetchone()
                count = counts.loc[manifest.id] if manifest.id in counts.index else None
                rows.append({
                    "source_id": manifest.id, "source_family": manifest.family,
                    "kind": manifest.kind, "publisher": p.publisher, "title": p.title,
                    "licence": p.licence, "url": p.url, "period": p.period,
                    "territory": p.territory, "synthetic": p.synthetic,
                    "quality_flags": "|".join(p.quality_flags) or None,
                    "manifest_file": manifest.manifest_path.name if manifest.manifest_path else None,
                    "input_files": status[0] if status else None,
                    "readable": bool(status[1]) if status else None,
                    "read_error": (status[2] or None) if status else None,
                    "input_rows": int(count["input_rows"]) if count is not None else None,
                    "staged_rows": int(count["staged_rows"]) if count is not None else None,
                    "rejected_rows": int(count["rejected_rows"]) if count is not None else None,
                })
            table = pd.DataFrame(rows)
            replace_table(con, "consolidated.sources", table)
        return dg.MaterializeResult(metadata={"dagster/row_count": len(table)})

    return [consolidated_indicators, consolidated_sources]
