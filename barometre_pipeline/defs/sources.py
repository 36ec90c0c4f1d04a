"""Asset factory: per source manifest, a raw and a staging multi-asset (each with its side tables as
declared outputs), plus weighting and indicator assets for microdata. Adding a manifest under
data/sources adds its assets; no code changes.

Every warehouse table is one asset (see ``keys.table_of``) and every table an asset reads is one of
its declared upstream assets, so the graph in the UI is the data flow.

Readers, staging, weighting and estimation code is imported inside the assets: loading the code
location (every `barometre materialize`, every sensor tick) then costs no scipy or openpyxl import.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from barometre_pipeline.sources.ingest import RawSource


from collections import Counter

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from barometre_pipeline.defs.code_versions import code_version
from barometre_pipeline.defs.keys import (
    CATALOGUE,
    CODEBOOK,
    REFERENCE,
    indicators_key,
    raw_files_key,
    raw_key,
    raw_status_key,
    read_rejects_key,
    rejects_key,
    row_counts_key,
    source_files_key,
    staging_key,
    table_of,
    weighting_key,
)
from barometre_pipeline.defs.resources import WAREHOUSE_POOL, BarometrePaths
from barometre_pipeline.indicators.catalogue import load_catalogue
from barometre_pipeline.sources.manifest import Manifest
from barometre_pipeline.staging.codebook import load_codebook
from barometre_pipeline.vocabulary import REJECT_COLUMNS
from barometre_pipeline.warehouse import read_table, replace_table, table_exists

# Published metadata marks a source whose latest files could not be read: its figures (if any)
# come from the last files that could.
UPDATED = "updated"
NOT_UPDATED = "not_updated"


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
        "manifest": manifest.manifest_path.name if manifest.manifest_path else "",
    }


def _top_reasons(rejects: pd.DataFrame, limit: int = 10) -> dict[str, int]:
    if rejects.empty:
        return {}
    return dict(Counter(rejects["reason"].astype(str)).most_common(limit))


def _empty_raw() -> pd.DataFrame:
    return pd.DataFrame({"_source_file": pd.Series(dtype="string"),
                         "_source_line": pd.Series(dtype="int64")})


def _status_row(manifest: Manifest, raw: "RawSource", frame: pd.DataFrame,
                previous_files: str | None) -> pd.DataFrame:
    readable = raw.error is None
    return pd.DataFrame([{
        "source_id": manifest.id,
        "manifest": manifest.manifest_path.name if manifest.manifest_path else "",
        "readable": readable,
        "error": raw.error or "",
        # Files that fed the tables now in the warehouse: this read's, or the last good read's.
        "files": raw.files_json() if readable else (previous_files or "[]"),
        "update_status": UPDATED if readable else NOT_UPDATED,
        "input_rows": raw.input_rows if readable else 0,
        "read_rows": len(frame),
    }])


def build_raw_asset(manifest: Manifest) -> dg.AssetsDefinition:
    deps = [source_files_key(manifest)]
    common = {"deps": deps, "code_version": code_version("raw"), "kinds": {"duckdb"}}
    specs = [
        dg.AssetSpec(raw_key(manifest), group_name="raw", metadata=_provenance_metadata(manifest),
                     description=f"Raw text of source `{manifest.id}` ({manifest.provenance.title}),"
                     f" as read from `{manifest.files}`; lines that could not be parsed are "
                     "quarantined.", **common),
        dg.AssetSpec(raw_status_key(manifest), group_name="raw",
                     description=f"Whether `{manifest.id}`'s files could be read, the error naming "
                     "the file and what it appears to be, and the files (sha256) behind the raw "
                     "table.", **common),
        dg.AssetSpec(raw_files_key(manifest), group_name="raw",
                     description=f"Inventory of `{manifest.id}`'s files: sha256, size, detected "
                     "encoding, delimiter and decimal mark, rows read.", **common),
        dg.AssetSpec(read_rejects_key(manifest), group_name="quarantine",
                     description=f"Lines of `{manifest.id}`'s files that could not be parsed "
                     "(file, line, masked text, reason).", **common),
    ]

    # Subsettable so that one table can be asked for (`dg launch --assets key:raw/<id>`); the step
    # writes its four tables together anyway (one read of the files) and reports those selected.
    @dg.multi_asset(specs=specs, name=f"raw__{manifest.id}", pool=WAREHOUSE_POOL, can_subset=True)
    def _raw(context: dg.AssetExecutionContext, warehouse: DuckDBResource, paths: BarometrePaths):
        from barometre_pipeline.sources.ingest import read_raw_source

        raw = read_raw_source(manifest, paths.settings().data_dir)
        frame = raw.frame
        with warehouse.get_connection() as con:
            had_previous = table_exists(con, table_of(raw_key(manifest)))
            previous_files = None
            if raw.error:
                context.log.error(raw.error)
                if table_exists(con, table_of(raw_status_key(manifest))):
                    row = con.execute(f"SELECT files FROM {table_of(raw_status_key(manifest))}"
                                      ).fetchone()
                    previous_files = row[0] if row else None
            if raw.error and had_previous:
                # Keep the last good read: its figures stay published, marked "non mis à jour".
                frame = read_table(con, table_of(raw_key(manifest)), limit=0)
                kept = True
            else:
                kept = False
                if raw.error:
                    frame = _empty_raw()
                replace_table(con, table_of(raw_key(manifest)), frame)
                replace_table(con, table_of(raw_files_key(manifest)), raw.inventory_table())
                replace_table(con, table_of(read_rejects_key(manifest)), raw.rejects)
            status = _status_row(manifest, raw, frame, previous_files)
            replace_table(con, table_of(raw_status_key(manifest)), status)
        outcome = {"readable": raw.error is None, "error": raw.error or "",
                   "kept_previous_read": kept}
        results = {
            raw_key(manifest): {
                **outcome,
                "files": dg.MetadataValue.md("\n".join(
                    f"- `{f.path}` sha256 `{f.sha256[:16]}…` {f.size_bytes} bytes, {f.encoding}, "
                    f"delimiter {f.delimiter!r}, decimal {f.decimal!r}, {f.input_rows} rows"
                    for f in raw.files) or "(none)"),
                "input_rows": raw.input_rows,
                "read_rows": len(raw.frame),
                "unparseable_lines": len(raw.rejects),
                "dagster/row_count": len(raw.frame),
            },
            raw_status_key(manifest): outcome,
            raw_files_key(manifest): {"dagster/row_count": len(raw.files)},
            read_rejects_key(manifest): {"dagster/row_count": len(raw.rejects)},
        }
        for key, metadata in results.items():
            if key in context.selected_asset_keys:
                yield dg.MaterializeResult(asset_key=key, metadata=metadata)

    return _raw


def _empty_staged(manifest: Manifest) -> pd.DataFrame:
    columns = {"source_id": pd.Series(dtype="string")}
    if manifest.kind == "microdata":
        # The join keys later layers use, so an empty source joins to nothing instead of failing.
        columns |= {"respondent_pid": pd.Series(dtype="string"),
                    "design_weight": pd.Series(dtype="float64")}
    return pd.DataFrame(columns)


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="string") for c in REJECT_COLUMNS}).astype(
        {"line": "int64"})


def build_staging_asset(manifest: Manifest) -> dg.AssetsDefinition:
    upstream = [raw_key(manifest), raw_status_key(manifest), raw_files_key(manifest),
                read_rejects_key(manifest)]
    if manifest.kind == "microdata":
        upstream.append(CODEBOOK)
    common = {"deps": upstream, "code_version": code_version("staging")}
    specs = [
        dg.AssetSpec(
            staging_key(manifest), group_name="staging", kinds={"duckdb", "pandas"},
            metadata=_provenance_metadata(manifest),
            description=(
                f"Source `{manifest.id}` harmonised to the canonical codebook"
                + (" (typed, pseudonymised, identifiers and free text dropped, derived variables)"
                   if manifest.kind == "microdata" else " (catalogue codes, proportions 0-1, flags)")
                + "; failing rows go to its rejects table with their reason."), **common),
        dg.AssetSpec(rejects_key(manifest), group_name="quarantine", kinds={"duckdb"},
                     description=f"Rows of `{manifest.id}` that failed validation: file, line, "
                     "field, masked value, reason.", **common),
        dg.AssetSpec(row_counts_key(manifest), group_name="quarantine", kinds={"duckdb"},
                     description=f"`{manifest.id}`: input rows = staged rows + rejected rows.",
                     **common),
    ]

    @dg.multi_asset(specs=specs, name=f"staging__{manifest.id}", pool=WAREHOUSE_POOL,
                    can_subset=True)
    def _staging(context: dg.AssetExecutionContext, warehouse: DuckDBResource,
                 paths: BarometrePaths):
        from barometre_pipeline.sources.aggregates import stage_aggregates
        from barometre_pipeline.sources.ingest import common_decimal
        from barometre_pipeline.staging.microdata import rejected_row_count, stage_microdata
        from barometre_pipeline.staging.microdata_sql import stage_microdata_sql, staging_engine

        settings = paths.settings()
        # Microdata are staged inside DuckDB (staging.microdata_sql): their rows are not loaded
        # into pandas here, only the column names (the reference path loads them itself).
        in_warehouse = manifest.kind == "microdata" and staging_engine() == "sql"
        with warehouse.get_connection() as con:
            raw = read_table(con, table_of(raw_key(manifest)), limit=0 if in_warehouse else None)
            raw_rows = con.execute(
                f"SELECT count(*) FROM {table_of(raw_key(manifest))}").fetchall()[0][0]
            status = con.execute(
                f"SELECT readable, error FROM {table_of(raw_status_key(manifest))}").fetchone()
            read_rejects = con.execute(
                f"SELECT count(*) FROM {table_of(read_rejects_key(manifest))}").fetchone()[0]
            file_decimals = [row[0] for row in con.execute(
                f"SELECT decimal FROM {table_of(raw_files_key(manifest))}").fetchall()]
        has_rows = raw_rows > 0
        staged_rows = None
        for column in raw.columns:
            if column != "_source_line":
                raw[column] = raw[column].astype("string")
        if not has_rows and not (status and status[0]):
            context.log.error(f"source `{manifest.id}` was not readable: {status[1] if status else ''}")
            staged, rejects, input_rows, read_rejects = _empty_staged(manifest), _empty_rejects(), 0, 0
        elif manifest.kind == "microdata":
            codebook = load_codebook(settings.data_dir / "codebook.yaml")
            decimal = manifest.read.decimal if manifest.read.decimal != "auto" else common_decimal(
                file_decimals)
            if in_warehouse:
                with warehouse.get_connection() as con:
                    fast = stage_microdata_sql(
                        con, table_of(raw_key(manifest)), manifest, codebook,
                        pseudonym_key=settings.require_pseudonym_key(),
                        target=table_of(staging_key(manifest)), decimal=decimal,
                        thousands=manifest.read.thousands)
                staged, rejects, input_rows = None, fast.rejects, fast.input_rows
                staged_rows = fast.staged_rows
            else:
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
        if rejects.empty:
            rejects = _empty_rejects()
        rejects = rejects.astype({"line": "int64", "value": "string", "field": "string"})
        rejected_rows = rejected_row_count(rejects)
        staged_rows = len(staged) if staged is not None else staged_rows
        counts = {"input_rows": input_rows + int(read_rejects), "staged_rows": staged_rows,
                  "rejected_rows": rejected_rows + int(read_rejects)}
        with warehouse.get_connection() as con:
            if staged is not None:
                replace_table(con, table_of(staging_key(manifest)), staged)
            replace_table(con, table_of(rejects_key(manifest)), rejects)
            replace_table(con, table_of(row_counts_key(manifest)),
                          pd.DataFrame([{"source_id": manifest.id, **counts}]))
        results = {
            staging_key(manifest): {
                **counts,
                "reject_reasons": dg.MetadataValue.json(_top_reasons(rejects)),
                "dagster/row_count": staged_rows,
            },
            rejects_key(manifest): {"dagster/row_count": len(rejects)},
            row_counts_key(manifest): counts,
        }
        for key, metadata in results.items():
            if key in context.selected_asset_keys:
                yield dg.MaterializeResult(asset_key=key, metadata=metadata)

    return _staging


def build_weighting_asset(manifest: Manifest) -> dg.AssetsDefinition:
    @dg.asset(
        key=weighting_key(manifest),
        deps=[staging_key(manifest), REFERENCE],
        group_name="weighting",
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        code_version=code_version("weighting"),
        description=f"Final weights of `{manifest.id}`: design weights raked to the territory's "
        "population margins (with trimming), or design weights where no margins exist.",
    )
    def _weighting(warehouse: DuckDBResource, paths: BarometrePaths) -> dg.MaterializeResult:
        from barometre_pipeline.calibration.population_margins import margins_for
        from barometre_pipeline.calibration.raked_weights import raked_weights, weighting_columns

        settings = paths.settings()
        territory = manifest.constants.get("territory") or manifest.provenance.territory or ""
        margins = margins_for(str(territory), settings.data_dir / "reference")
        with warehouse.get_connection() as con:
            # Only the columns raking reads: loading all ~90 staged columns dominated this step.
            table = table_of(staging_key(manifest))
            present = {row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()}
            staged = read_table(con, table, columns=[c for c in weighting_columns(margins)
                                                     if c in present])
        margins = margins if len(staged) else None
        if staged.empty or "design_weight" not in staged:
            staged = pd.DataFrame({"respondent_pid": pd.Series(dtype="string"),
                                   "design_weight": pd.Series(dtype="float64")})
        outcome = raked_weights(staged, margins)
        with warehouse.get_connection() as con:
            replace_table(con, table_of(weighting_key(manifest)), outcome.weights)
        metadata = {k: (dg.MetadataValue.json(v) if isinstance(v, dict | list) else v)
                    for k, v in outcome.metadata.items()}
        metadata["dagster/row_count"] = len(outcome.weights)
        return dg.MaterializeResult(metadata=metadata)

    return _weighting


def weighted_relation(manifest: Manifest) -> str:
    """Staged respondents with their final weight (reads staging/<id> and weighting/<id>)."""
    return (f"(SELECT s.*, w.final_weight, w.raked_on FROM {table_of(staging_key(manifest))} AS s "
            f"JOIN {table_of(weighting_key(manifest))} AS w USING (respondent_pid))")


def weighted_deps(manifest: Manifest) -> list[dg.AssetKey]:
    return [staging_key(manifest), weighting_key(manifest)]


def build_indicators_asset(manifest: Manifest) -> dg.AssetsDefinition:
    @dg.asset(
        key=indicators_key(manifest),
        deps=[*weighted_deps(manifest), CATALOGUE],
        group_name="indicators",
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        code_version=code_version("indicators"),
        description=f"Catalogue indicators estimated from `{manifest.id}`: weighted proportions "
        "with Taylor-linearised standard errors (strata, school PSUs) and 95 % intervals, "
        "before publication rules.",
    )
    def _indicators(warehouse: DuckDBResource, paths: BarometrePaths) -> dg.MaterializeResult:
        from barometre_pipeline.indicators.microdata_indicators import estimate_source_indicators

        settings = paths.settings()
        catalogue = load_catalogue(settings.data_dir / "indicators.yaml")
        table = pd.DataFrame()
        with warehouse.get_connection() as con:
            rows = con.execute(f"SELECT count(*) FROM {weighted_relation(manifest)}").fetchone()[0]
            if rows:
                table = estimate_source_indicators(
                    con, weighted_relation(manifest), catalogue,
                    ci_method=catalogue.publication.get("ci_method", "beta"),
                    confidence=float(catalogue.publication.get("confidence", 0.95)),
                )
            if table.empty:
                table = pd.DataFrame({"source_id": pd.Series(dtype="string")})
            else:
                table.insert(0, "source_id", manifest.id)
            replace_table(con, table_of(indicators_key(manifest)), table)
        codes = sorted(table["indicator_code"].unique()) if "indicator_code" in table else []
        return dg.MaterializeResult(metadata={
            "indicators": len(codes),
            "indicator_codes": ", ".join(codes),
            "dagster/row_count": len(table) if codes else 0,
        })

    return _indicators


def source_status(con, manifest: Manifest) -> dict[str, object]:
    """The source's `raw/status/<id>` row as a dict (readable, error, files, update_status...)."""
    frame = read_table(con, table_of(raw_status_key(manifest)))
    return frame.iloc[0].to_dict() if len(frame) else {}


def staged_row_count(con, manifest: Manifest) -> int:
    """Rows staged for the source (from `quarantine/row_counts/<id>`)."""
    row = con.execute(f"SELECT staged_rows FROM {table_of(row_counts_key(manifest))}").fetchone()
    return int(row[0]) if row else 0


def build_source_assets(manifests: list[Manifest]) -> list[dg.AssetsDefinition]:
    assets: list[dg.AssetsDefinition] = []
    for manifest in manifests:
        assets += [build_raw_asset(manifest), build_staging_asset(manifest)]
        if manifest.kind == "microdata":
            assets += [build_weighting_asset(manifest), build_indicators_asset(manifest)]
    return assets

