"""Asset factory: one raw and one staging asset per source manifest (plus weighting and indicator
assets for microdata). Adding a manifest under data/sources adds its assets; no code changes."""


import json
from collections import Counter
from dataclasses import asdict

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from barometre_pipeline.calibration.population_margins import margins_for
from barometre_pipeline.calibration.raked_weights import raked_weights
from barometre_pipeline.defs.resources import WAREHOUSE_POOL, BarometrePaths
from barometre_pipeline.indicators.catalogue import load_catalogue
from barometre_pipeline.indicators.microdata_indicators import estimate_source_indicators
from barometre_pipeline.sources.aggregates import stage_aggregates
from barometre_pipeline.sources.ingest import common_decimal, read_raw_source
from barometre_pipeline.sources.manifest import Manifest
from barometre_pipeline.staging.codebook import load_codebook
from barometre_pipeline.staging.microdata import REJECT_COLUMNS, rejected_row_count, stage_microdata
from barometre_pipeline.warehouse import replace_source_rows, replace_table, table_exists


def raw_key(manifest: Manifest) -> dg.AssetKey:
    return dg.AssetKey(["raw", manifest.id])


def staging_key(manifest: Manifest) -> dg.AssetKey:
    return dg.AssetKey(["staging", manifest.id])


def weighting_key(manifest: Manifest) -> dg.AssetKey:
    return dg.AssetKey(["weighting", manifest.id])


def indicators_key(manifest: Manifest) -> dg.AssetKey:
    return dg.AssetKey(["indicators", manifest.id])


def _provenance_metadata(manifest: Manifest) -> dict[str, object]:
    p = manifest.provenance
    return {
        "family": manifest.family,
        "kind": manifest.kind,
        "publisher": p.publisher,
        "title": p.title,
        "licence": p.licence,
        "url": dg.MetadataValue.url(p.url) if p.url else "",
        "synthetic": p.synthetic,
        "quality_flags": ", ".join(p.quality_flags) or "none",
        "manifest": str(manifest.manifest_path),
    }


def _top_reasons(rejects: pd.DataFrame, limit: int = 10) -> dict[str, int]:
    if rejects.empty:
        return {}
    return dict(Counter(rejects["reason"].astype(str)).most_common(limit))


def build_raw_asset(manifest: Manifest) -> dg.AssetsDefinition:
    @dg.asset(
        key=raw_key(manifest),
        group_name="raw",
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        description=f"Raw text of source `{manifest.id}` ({manifest.provenance.title}), as read "
        f"from `{manifest.files}`; lines that could not be parsed are quarantined.",
        metadata=_provenance_metadata(manifest),
    )
    def _raw(context: dg.AssetExecutionContext, warehouse: DuckDBResource,
             paths: BarometrePaths) -> dg.MaterializeResult:
        settings = paths.settings()
        raw = read_raw_source(manifest, settings.data_dir)
        frame = raw.frame
        if raw.error:
            context.log.error(raw.error)
            frame = pd.DataFrame({"_source_file": pd.Series(dtype="string"),
                                  "_source_line": pd.Series(dtype="int64")})
        inventory = pd.DataFrame(
            [{"source_id": manifest.id, **asdict(f)} for f in raw.files]
            or [{"source_id": manifest.id}]
        )
        status = pd.DataFrame([{
            "source_id": manifest.id, "manifest": str(manifest.manifest_path),
            "readable": raw.error is None, "error": raw.error or "",
            "input_rows": raw.input_rows, "read_rows": len(frame),
            "files": json.dumps([{"path": f.path, "sha256": f.sha256} for f in raw.files]),
        }])
        with warehouse.get_connection() as con:
            replace_table(con, f"raw.{manifest.id}", frame)
            replace_source_rows(con, "quarantine.read_rejects", manifest.id, raw.rejects)
            replace_source_rows(con, "raw.source_status", manifest.id, status)
            if raw.files:
                replace_source_rows(con, "raw.file_inventory", manifest.id, inventory)
        return dg.MaterializeResult(metadata={
            "readable": raw.error is None,
            "error": raw.error or "",
            "files": dg.MetadataValue.md("\n".join(
                f"- `{f.path}` sha256 `{f.sha256[:16]}…` {f.size_bytes} bytes, {f.encoding}, "
                f"delimiter {f.delimiter!r}, decimal {f.decimal!r}, {f.input_rows} rows"
                for f in raw.files) or "(none)"),
            "input_rows": raw.input_rows,
            "read_rows": len(frame),
            "unparseable_lines": len(raw.rejects),
            "dagster/row_count": len(frame),
        })

    return _raw


def build_staging_asset(manifest: Manifest) -> dg.AssetsDefinition:
    @dg.asset(
        key=staging_key(manifest),
        deps=[raw_key(manifest)],
        group_name="staging",
        pool=WAREHOUSE_POOL,
        kinds={"duckdb", "pandas"},
        description=(
            f"Source `{manifest.id}` harmonised to the canonical codebook"
            + (" (typed, pseudonymised, identifiers and free text dropped, derived variables)"
               if manifest.kind == "microdata" else " (catalogue codes, proportions 0-1, flags)")
            + "; failing rows go to quarantine.rejects with their reason."
        ),
        metadata=_provenance_metadata(manifest),
    )
    def _staging(context: dg.AssetExecutionContext, warehouse: DuckDBResource,
                 paths: BarometrePaths) -> dg.MaterializeResult:
        settings = paths.settings()
        with warehouse.get_connection() as con:
            raw = con.execute(f"SELECT * FROM raw.{manifest.id}").df()
            status = con.execute(
                "SELECT readable, error FROM raw.source_status WHERE source_id = ?", [manifest.id]
            ).fetchone()
            read_rejects = con.execute(
                "SELECT count(*) FROM quarantine.read_rejects WHERE source_id = ?", [manifest.id]
            ).fetchone()[0]
            file_decimals = [row[0] for row in con.execute(
                "SELECT decimal FROM raw.file_inventory WHERE source_id = ?", [manifest.id]
            ).fetchall()] if table_exists(con, "raw", "file_inventory") else []
        readable = bool(status and status[0])
        for column in raw.columns:
            if column != "_source_line":
                raw[column] = raw[column].astype("string")
        if not readable:
            context.log.error(f"source `{manifest.id}` was not readable: {status[1] if status else ''}")
            staged = pd.DataFrame({"source_id": pd.Series(dtype="string")})
            rejects = pd.DataFrame(columns=REJECT_COLUMNS)
            input_rows = 0
        elif manifest.kind == "microdata":
            codebook = load_codebook(settings.data_dir / "codebook.yaml")
            decimal = manifest.read.decimal if manifest.read.decimal != "auto" else common_decimal(
                file_decimals)
            result = stage_microdata(
                raw, manifest, codebook, pseudonym_key=settings.require_pseudonym_key(),
                decimal=decimal, thousands=manifest.read.thousands,
            )
            staged, rejects, input_rows = result.staged, result.rejects, result.input_rows
        else:
            staged, reject_rows = stage_aggregates(raw, manifest)
            rejects = pd.DataFrame(reject_rows, columns=[c for c in REJECT_COLUMNS if c != "source_id"])
            rejects.insert(0, "source_id", manifest.id)
            input_rows = len(raw)
        rejects = rejects.astype({"line": "int64"}) if not rejects.empty else rejects
        rejected_rows = rejected_row_count(rejects)
        with warehouse.get_connection() as con:
            replace_table(con, f"staging.{manifest.id}", staged)
            if not rejects.empty:
                replace_source_rows(con, "quarantine.rejects", manifest.id,
                                    rejects.astype({"value": "string", "field": "string"}))
            elif table_exists(con, "quarantine", "rejects"):
                con.execute("DELETE FROM quarantine.rejects WHERE source_id = ?", [manifest.id])
            replace_source_rows(con, "quarantine.row_counts", manifest.id, pd.DataFrame([{
                "source_id": manifest.id, "input_rows": input_rows + int(read_rejects),
                "staged_rows": len(staged), "rejected_rows": rejected_rows + int(read_rejects),
            }]))
        return dg.MaterializeResult(metadata={
            "input_rows": input_rows + int(read_rejects),
            "staged_rows": len(staged),
            "rejected_rows": rejected_rows + int(read_rejects),
            "reject_reasons": dg.MetadataValue.json(_top_reasons(rejects)),
            "dagster/row_count": len(staged),
        })

    return _staging


def build_weighting_asset(manifest: Manifest) -> dg.AssetsDefinition:
    @dg.asset(
        key=weighting_key(manifest),
        deps=[staging_key(manifest)],
        group_name="weighting",
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        description=f"Final weights of `{manifest.id}`: design weights raked to the territory's "
        "population margins (with trimming), or design weights where no margins exist.",
    )
    def _weighting(context: dg.AssetExecutionContext, warehouse: DuckDBResource,
                   paths: BarometrePaths) -> dg.MaterializeResult:
        settings = paths.settings()
        with warehouse.get_connection() as con:
            staged = con.execute(f"SELECT * FROM staging.{manifest.id}").df()
        territory = manifest.constants.get("territory") or manifest.provenance.territory or ""
        margins = margins_for(str(territory), settings.data_dir / "reference") if len(staged) else None
        if staged.empty or "design_weight" not in staged:
            staged = pd.DataFrame({"respondent_pid": pd.Series(dtype="string"),
                                   "design_weight": pd.Series(dtype="float64")})
        outcome = raked_weights(staged, margins)
        with warehouse.get_connection() as con:
            replace_table(con, f"weighting.{manifest.id}", outcome.weights)
        metadata = {k: (dg.MetadataValue.json(v) if isinstance(v, dict | list) else v)
                    for k, v in outcome.metadata.items()}
        metadata["dagster/row_count"] = len(outcome.weights)
        return dg.MaterializeResult(metadata=metadata)

    return _weighting


def weighted_relation(source_id: str) -> str:
    return (f"(SELECT s.*, w.final_weight FROM staging.{source_id} AS s "
            f"JOIN weighting.{source_id} AS w USING (respondent_pid))")


def build_indicators_asset(manifest: Manifest) -> dg.AssetsDefinition:
    @dg.asset(
        key=indicators_key(manifest),
        deps=[weighting_key(manifest)],
        group_name="indicators",
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        description=f"Catalogue indicators estimated from `{manifest.id}`: weighted proportions "
        "with Taylor-linearised standard errors (strata, school PSUs) and 95 % intervals, "
        "before publication rules.",
    )
    def _indicators(context: dg.AssetExecutionContext, warehouse: DuckDBResource,
                    paths: BarometrePaths) -> dg.MaterializeResult:
        settings = paths.settings()
        catalogue = load_catalogue(settings.data_dir / "indicators.yaml")
        with warehouse.get_connection() as con:
            rows = con.execute(f"SELECT count(*) FROM weighting.{manifest.id}").fetchone()[0]
            if rows:
                table = estimate_source_indicators(
                    con, weighted_relation(manifest.id), catalogue,
                    ci_method=catalogue.publication.get("ci_method", "beta"),
                    confidence=float(catalogue.publication.get("confidence", 0.95)),
                )
            else:
                table = pd.DataFrame()
            table.insert(0, "source_id", manifest.id) if not table.empty else None
            replace_table(con, f"indicators.{manifest.id}", table if not table.empty else
                          pd.DataFrame({"source_id": pd.Series(dtype="string")}))
        codes = sorted(table["indicator_code"].unique()) if not table.empty else []
        return dg.MaterializeResult(metadata={
            "indicators": len(codes),
            "indicator_codes": ", ".join(codes),
            "dagster/row_count": len(table),
        })

    return _indicators


def build_source_assets(manifests: list[Manifest]) -> list[dg.AssetsDefinition]:
    assets: list[dg.AssetsDefinition] = []
    for manifest in manifests:
        assets += [build_raw_asset(manifest), build_staging_asset(manifest)]
        if manifest.kind == "microdata":
            assets += [build_weighting_asset(manifest), build_indicators_asset(manifest)]
    return assets
