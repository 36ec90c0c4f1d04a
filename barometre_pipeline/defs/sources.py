"""Asset factory: per source manifest, a raw and a staging multi-asset (each with its side tables as
declared outputs), plus weighting and indicator assets for microdata. Adding a manifest under
data/sources adds its assets; no code changes. The pilot survey's waves are the exception: one
family of the same assets, partitioned by territory × wave (``defs.partitions``); each step
processes the waves of its run, one after the other, with the same code as a single source.

Every warehouse table is one asset (see ``keys.table_of``) and every table an asset reads is one of
its declared upstream assets, so the graph in the UI is the data flow.

Readers, staging, weighting and estimation code is imported inside the assets: loading the code
location (every `barometre materialize`, every sensor tick) then costs no scipy or openpyxl import.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from barometre_pipeline.sources.ingest import RawSource


import warnings
from collections import Counter
from dataclasses import dataclass

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from barometre_pipeline.defs.code_versions import code_version
from barometre_pipeline.defs.keys import (
    CATALOGUE,
    CODEBOOK,
    PILOT_FAMILY,
    REFERENCE,
    indicators_key,
    is_partitioned,
    raw_files_key,
    raw_key,
    raw_status_key,
    read_rejects_key,
    rejects_key,
    row_counts_key,
    source_files_key,
    source_table,
    staging_key,
    weighting_key,
)
from barometre_pipeline.defs.partitions import PilotPartitions, pilot_partitions
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


def _provenance_metadata(chain: "SourceChain") -> dict[str, object]:
    if chain.partitions is not None:
        return {
            "family": chain.first.family,
            "kind": chain.first.kind,
            "partitions": "territory × wave",
            "waves": dg.MetadataValue.json({key: m.id for key, m in chain.partitions.manifests.items()}),
            "manifests": ", ".join(m.manifest_path.name if m.manifest_path else m.id
                                   for m in chain.manifests),
        }
    manifest = chain.first
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


@dataclass(frozen=True)
class SourceChain:
    """The assets of one source, or the pilot family whose partitions are its territory × wave
    waves. The keys are the same for every manifest of a chain."""

    manifests: tuple[Manifest, ...]
    partitions: PilotPartitions | None = None

    @property
    def first(self) -> Manifest:
        return self.manifests[0]

    @property
    def name(self) -> str:
        return PILOT_FAMILY if self.partitions is not None else self.first.id

    @property
    def kind(self) -> str:
        return self.first.kind

    def subject(self) -> str:
        """How descriptions name the chain."""
        if self.partitions is None:
            return f"source `{self.first.id}`"
        return "each pilot wave (one partition per territory × wave: " + ", ".join(
            f"{key} `{m.id}`" for key, m in sorted(self.partitions.manifests.items())) + ")"

    def run_manifests(self, context) -> list[Manifest]:
        """The manifests this step processes: the run's waves, or the one source."""
        if self.partitions is None:
            return [self.first]
        return self.partitions.run_manifests(context)

    def asset_options(self) -> dict[str, object]:
        if self.partitions is None:
            return {}
        # A run may cover every wave (the nightly job, `barometre materialize`): one step per
        # asset then processes them all, instead of one run per wave.
        return {"partitions_def": self.partitions.definition,
                "backfill_policy": dg.BackfillPolicy.single_run()}


def source_chains(manifests: list[Manifest]) -> list[SourceChain]:
    """One chain per source, the pilot waves as one partitioned chain (where the first wave was)."""
    partitions = pilot_partitions(manifests)
    chains: list[SourceChain] = []
    for manifest in manifests:
        if not is_partitioned(manifest):
            chains.append(SourceChain((manifest,)))
        elif not any(c.partitions is not None for c in chains):
            chains.append(SourceChain(tuple(sorted(partitions.manifests.values(),
                                                   key=partitions.key_of)), partitions))
    return chains


def _per_wave(results: dict[str, dict[dg.AssetKey, dict]]) -> dict[dg.AssetKey, dict]:
    """One step's metadata per asset: the source's own, or for several waves in one run their
    metadata side by side (keyed by source id) and the summed row count."""
    if len(results) == 1:
        return next(iter(results.values()))
    merged: dict[dg.AssetKey, dict] = {}
    for source_id, by_key in results.items():
        for key, metadata in by_key.items():
            entry = merged.setdefault(key, {"waves": {}, "dagster/row_count": 0})
            entry["waves"][source_id] = {k: plain_metadata(v) for k, v in metadata.items()}
            entry["dagster/row_count"] += int(metadata.get("dagster/row_count") or 0)
    for entry in merged.values():
        entry["waves"] = dg.MetadataValue.json(entry["waves"])
    return merged


def plain_metadata(value: object) -> object:
    """A metadata value as plain JSON (for the per-wave table of a multi-wave run)."""
    inner = getattr(value, "value", value)
    if hasattr(inner, "md"):
        return inner.md
    if isinstance(inner, int | float | str | bool | dict | list) or inner is None:
        return inner
    return str(inner)


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


def _select(context: dg.AssetExecutionContext, metadata: dict[dg.AssetKey, dict]):
    for key, values in metadata.items():
        if key in context.selected_asset_keys:
            yield dg.MaterializeResult(asset_key=key, metadata=values)


def build_raw_asset(chain: SourceChain) -> dg.AssetsDefinition:
    manifest = chain.first
    deps = [source_files_key(manifest)]
    common = {"deps": deps, "code_version": code_version("raw"), "kinds": {"duckdb"}}
    files = manifest.files if chain.partitions is None else "its manifest's `files`"
    title = (f" ({manifest.provenance.title})" if chain.partitions is None else "")
    specs = [
        dg.AssetSpec(raw_key(manifest), group_name="raw", metadata=_provenance_metadata(chain),
                     description=f"Raw text of {chain.subject()}{title}, as read from `{files}`; "
                     "lines that could not be parsed are quarantined.", **common),
        dg.AssetSpec(raw_status_key(manifest), group_name="raw",
                     description=f"Whether the files of {chain.subject()} could be read, the "
                     "error naming the file and what it appears to be, and the files (sha256) "
                     "behind the raw table.", **common),
        dg.AssetSpec(raw_files_key(manifest), group_name="raw",
                     description=f"Inventory of the files of {chain.subject()}: sha256, size, "
                     "detected encoding, delimiter and decimal mark, rows read.", **common),
        dg.AssetSpec(read_rejects_key(manifest), group_name="quarantine",
                     description=f"Lines of the files of {chain.subject()} that could not be "
                     "parsed (file, line, masked text, reason).", **common),
    ]

    # Subsettable so that one table can be asked for (`dg launch --assets key:raw/<id>`); the step
    # writes its four tables together anyway (one read of the files) and reports those selected.
    @dg.multi_asset(specs=specs, name=f"raw__{chain.name}", pool=WAREHOUSE_POOL, can_subset=True,
                    **chain.asset_options())
    def _raw(context: dg.AssetExecutionContext, warehouse: DuckDBResource, paths: BarometrePaths):
        data_dir = paths.settings().data_dir
        results = {m.id: _read_raw(context, warehouse, m, data_dir)
                   for m in chain.run_manifests(context)}
        yield from _select(context, _per_wave(results))

    return _raw


def _read_raw(context, warehouse: DuckDBResource, manifest: Manifest,
              data_dir) -> dict[dg.AssetKey, dict]:
    from barometre_pipeline.sources.ingest import read_raw_source

    raw = read_raw_source(manifest, data_dir)
    frame = raw.rows  # Arrow when it can be: DuckDB scans it with no pandas copy in between
    raw_table = source_table(raw_key(manifest), manifest)
    status_table = source_table(raw_status_key(manifest), manifest)
    with warehouse.get_connection() as con:
        had_previous = table_exists(con, raw_table)
        previous_files = None
        if raw.error:
            context.log.error(raw.error)
            if table_exists(con, status_table):
                row = con.execute(f"SELECT files FROM {status_table}").fetchone()
                previous_files = row[0] if row else None
        if raw.error and had_previous:
            # Keep the last good read: its figures stay published, marked "non mis à jour".
            frame = read_table(con, raw_table, limit=0)
            kept = True
        else:
            kept = False
            if raw.error:
                frame = _empty_raw()
            replace_table(con, raw_table, frame)
            replace_table(con, source_table(raw_files_key(manifest), manifest),
                          raw.inventory_table())
            replace_table(con, source_table(read_rejects_key(manifest), manifest), raw.rejects)
        status = _status_row(manifest, raw, frame, previous_files)
        replace_table(con, status_table, status)
    outcome = {"readable": raw.error is None, "error": raw.error or "",
               "kept_previous_read": kept}
    return {
        raw_key(manifest): {
            **outcome,
            "files": dg.MetadataValue.md("\n".join(
                f"- `{f.path}` sha256 `{f.sha256[:16]}…` {f.size_bytes} bytes, {f.encoding}, "
                f"delimiter {f.delimiter!r}, decimal {f.decimal!r}, {f.input_rows} rows"
                for f in raw.files) or "(none)"),
            "input_rows": raw.input_rows,
            "read_rows": raw.read_rows,
            "unparseable_lines": len(raw.rejects),
            "dagster/row_count": raw.read_rows,
        },
        raw_status_key(manifest): outcome,
        raw_files_key(manifest): {"dagster/row_count": len(raw.files)},
        read_rejects_key(manifest): {"dagster/row_count": len(raw.rejects)},
    }


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


def build_staging_asset(chain: SourceChain) -> dg.AssetsDefinition:
    manifest = chain.first
    upstream = [raw_key(manifest), raw_status_key(manifest), raw_files_key(manifest),
                read_rejects_key(manifest)]
    if manifest.kind == "microdata":
        upstream.append(CODEBOOK)
    common = {"deps": upstream, "code_version": code_version("staging")}
    subject = chain.subject()
    specs = [
        dg.AssetSpec(
            staging_key(manifest), group_name="staging", kinds={"duckdb", "pandas"},
            metadata=_provenance_metadata(chain),
            description=(
                f"{subject[0].upper()}{subject[1:]} harmonised to the canonical codebook"
                + (" (typed, pseudonymised, identifiers and free text dropped, derived variables)"
                   if manifest.kind == "microdata" else " (catalogue codes, proportions 0-1, flags)")
                + "; failing rows go to its rejects table with their reason."), **common),
        dg.AssetSpec(rejects_key(manifest), group_name="quarantine", kinds={"duckdb"},
                     description=f"Rows of {subject} that failed validation: file, line, "
                     "field, masked value, reason.", **common),
        dg.AssetSpec(row_counts_key(manifest), group_name="quarantine", kinds={"duckdb"},
                     description=f"{subject[0].upper()}{subject[1:]}: input rows = staged rows "
                     "+ rejected rows.", **common),
    ]

    @dg.multi_asset(specs=specs, name=f"staging__{chain.name}", pool=WAREHOUSE_POOL,
                    can_subset=True, **chain.asset_options())
    def _staging(context: dg.AssetExecutionContext, warehouse: DuckDBResource,
                 paths: BarometrePaths):
        settings = paths.settings()
        results = {m.id: _stage(context, warehouse, m, settings)
                   for m in chain.run_manifests(context)}
        yield from _select(context, _per_wave(results))

    return _staging


def _stage(context, warehouse: DuckDBResource, manifest: Manifest,
           settings) -> dict[dg.AssetKey, dict]:
    from barometre_pipeline.sources.aggregates import stage_aggregates
    from barometre_pipeline.sources.ingest import common_decimal
    from barometre_pipeline.staging.microdata import rejected_row_count, stage_microdata
    from barometre_pipeline.staging.microdata_sql import stage_microdata_sql, staging_engine

    raw_table = source_table(raw_key(manifest), manifest)
    # Microdata are staged inside DuckDB (staging.microdata_sql): their rows are not loaded
    # into pandas here, only the column names (the reference path loads them itself).
    in_warehouse = manifest.kind == "microdata" and staging_engine() == "sql"
    with warehouse.get_connection() as con:
        raw = read_table(con, raw_table, limit=0 if in_warehouse else None)
        raw_rows = con.execute(f"SELECT count(*) FROM {raw_table}").fetchall()[0][0]
        status = con.execute(
            f"SELECT readable, error FROM {source_table(raw_status_key(manifest), manifest)}"
        ).fetchone()
        read_rejects = con.execute(
            f"SELECT count(*) FROM {source_table(read_rejects_key(manifest), manifest)}"
        ).fetchone()[0]
        file_decimals = [row[0] for row in con.execute(
            f"SELECT decimal FROM {source_table(raw_files_key(manifest), manifest)}").fetchall()]
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
                    con, raw_table, manifest, codebook,
                    pseudonym_key=settings.require_pseudonym_key(),
                    target=source_table(staging_key(manifest), manifest), decimal=decimal,
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
            replace_table(con, source_table(staging_key(manifest), manifest), staged)
        replace_table(con, source_table(rejects_key(manifest), manifest), rejects)
        replace_table(con, source_table(row_counts_key(manifest), manifest),
                      pd.DataFrame([{"source_id": manifest.id, **counts}]))
    return {
        staging_key(manifest): {
            **counts,
            "reject_reasons": dg.MetadataValue.json(_top_reasons(rejects)),
            "dagster/row_count": staged_rows,
        },
        rejects_key(manifest): {"dagster/row_count": len(rejects)},
        row_counts_key(manifest): counts,
    }


def build_weighting_asset(chain: SourceChain) -> dg.AssetsDefinition:
    manifest = chain.first

    @dg.asset(
        key=weighting_key(manifest),
        deps=[staging_key(manifest), REFERENCE],
        group_name="weighting",
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        code_version=code_version("weighting"),
        description=f"Final weights of {chain.subject()}: design weights raked to the "
        "territory's population margins (with trimming), or design weights where no margins "
        "exist.",
        **chain.asset_options(),
    )
    def _weighting(context: dg.AssetExecutionContext, warehouse: DuckDBResource,
                   paths: BarometrePaths) -> dg.MaterializeResult:
        settings = paths.settings()
        results = {m.id: {weighting_key(m): _weights(warehouse, m, settings)}
                   for m in chain.run_manifests(context)}
        return dg.MaterializeResult(metadata=_per_wave(results)[weighting_key(manifest)])

    return _weighting


def _weights(warehouse: DuckDBResource, manifest: Manifest, settings) -> dict[str, object]:
    from barometre_pipeline.calibration.population_margins import margins_for
    from barometre_pipeline.calibration.raked_weights import raked_weights, weighting_columns

    territory = manifest.constants.get("territory") or manifest.provenance.territory or ""
    margins = margins_for(str(territory), settings.data_dir / "reference")
    with warehouse.get_connection() as con:
        # Only the columns raking reads: loading all ~90 staged columns dominated this step.
        table = source_table(staging_key(manifest), manifest)
        present = {row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()}
        staged = read_table(con, table, columns=[c for c in weighting_columns(margins)
                                                 if c in present])
    margins = margins if len(staged) else None
    if staged.empty or "design_weight" not in staged:
        staged = pd.DataFrame({"respondent_pid": pd.Series(dtype="string"),
                               "design_weight": pd.Series(dtype="float64")})
    outcome = raked_weights(staged, margins)
    with warehouse.get_connection() as con:
        replace_table(con, source_table(weighting_key(manifest), manifest), outcome.weights)
    metadata = {k: (dg.MetadataValue.json(v) if isinstance(v, dict | list) else v)
                for k, v in outcome.metadata.items()}
    metadata["dagster/row_count"] = len(outcome.weights)
    return metadata


def weighted_relation(manifest: Manifest) -> str:
    """Staged respondents with their final weight (reads staging/<id> and weighting/<id>)."""
    return (f"(SELECT s.*, w.final_weight, w.raked_on FROM "
            f"{source_table(staging_key(manifest), manifest)} AS s "
            f"JOIN {source_table(weighting_key(manifest), manifest)} AS w USING (respondent_pid))")


def weighted_deps(manifest: Manifest) -> list[dg.AssetKey]:
    return [staging_key(manifest), weighting_key(manifest)]


def build_indicators_asset(chain: SourceChain) -> dg.AssetsDefinition:
    manifest = chain.first

    @dg.asset(
        key=indicators_key(manifest),
        deps=[*weighted_deps(manifest), CATALOGUE],
        group_name="indicators",
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        code_version=code_version("indicators"),
        description=f"Catalogue indicators estimated from {chain.subject()}: weighted "
        "proportions with Taylor-linearised standard errors (strata, school PSUs) and 95 % "
        "intervals, before publication rules.",
        **chain.asset_options(),
    )
    def _indicators(context: dg.AssetExecutionContext, warehouse: DuckDBResource,
                    paths: BarometrePaths) -> dg.MaterializeResult:
        settings = paths.settings()
        results = {m.id: {indicators_key(m): _estimates(warehouse, m, settings)}
                   for m in chain.run_manifests(context)}
        return dg.MaterializeResult(metadata=_per_wave(results)[indicators_key(manifest)])

    return _indicators


def _estimates(warehouse: DuckDBResource, manifest: Manifest, settings) -> dict[str, object]:
    from barometre_pipeline.indicators.microdata_indicators import estimate_source_indicators

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
        replace_table(con, source_table(indicators_key(manifest), manifest), table)
    codes = sorted(table["indicator_code"].unique()) if "indicator_code" in table else []
    return {
        "indicators": len(codes),
        "indicator_codes": ", ".join(codes),
        "dagster/row_count": len(table) if codes else 0,
    }


def source_status(con, manifest: Manifest) -> dict[str, object]:
    """The source's `raw/status/<id>` row as a dict (readable, error, files, update_status...)."""
    frame = read_table(con, source_table(raw_status_key(manifest), manifest))
    return frame.iloc[0].to_dict() if len(frame) else {}


def staged_row_count(con, manifest: Manifest) -> int:
    """Rows staged for the source (from `quarantine/row_counts/<id>`)."""
    row = con.execute(f"SELECT staged_rows FROM "
                      f"{source_table(row_counts_key(manifest), manifest)}").fetchone()
    return int(row[0]) if row else 0


def build_source_assets(manifests: list[Manifest]) -> list[dg.AssetsDefinition]:
    assets: list[dg.AssetsDefinition] = []
    # Dagster 1.13 marks the single-run backfill policy beta: it is what lets one run cover every
    # pilot wave, so the warning is silenced here rather than printed on every load.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        for chain in source_chains(manifests):
            assets += [build_raw_asset(chain), build_staging_asset(chain)]
            if chain.kind == "microdata":
                assets += [build_weighting_asset(chain), build_indicators_asset(chain)]
    return assets
