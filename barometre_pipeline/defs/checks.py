"""Asset checks: pandera schemas and Great Expectations suites, visible in the Dagster UI.

Blocking checks stop everything downstream when they fail: bad data must not reach the exports.
Non-blocking ones (a source that could not be read) report without stopping the other sources.
"""


import json

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from barometre_pipeline.defs.keys import (
    CONSOLIDATED_INDICATORS,
    indicators_key,
    raw_status_key,
    rejects_key,
    row_counts_key,
    staging_key,
    table_of,
    weighting_key,
)
from barometre_pipeline.defs.resources import WAREHOUSE_POOL, BarometrePaths
from barometre_pipeline.indicators.catalogue import load_catalogue
from barometre_pipeline.metadata import INDICATORS
from barometre_pipeline.sources.manifest import Manifest
from barometre_pipeline.staging.codebook import load_codebook
from barometre_pipeline.validation.expectations import (
    plausibility_suite,
    staging_microdata_suite,
    with_age_level_gap,
)
from barometre_pipeline.validation.gx_suites import run_suite
from barometre_pipeline.validation.privacy import check_consolidated_privacy
from barometre_pipeline.validation.schemas import (
    aggregates_schema,
    consolidated_indicators_schema,
    source_indicators_schema,
    staging_microdata_schema,
    validate,
    weights_schema,
)
from barometre_pipeline.warehouse import read_table

# A source whose rows are mostly rejected is mis-declared (wrong value map, wrong delimiter):
# publishing what is left would be biased, so it blocks.
MAX_REJECTED_SHARE = 0.5


def _cases(frame: pd.DataFrame, limit: int = 20) -> dg.MetadataValue:
    if frame is None or frame.empty:
        return dg.MetadataValue.md("(none)")
    return dg.MetadataValue.md(frame.head(limit).astype(str).to_markdown(index=False))


def _suite_metadata(outcome) -> dict[str, object]:
    return {
        "expectations": len(outcome.results),
        "failed_expectations": len(outcome.failures),
        "results": dg.MetadataValue.json(json.loads(json.dumps(outcome.results, default=str))),
    }


def build_source_checks(manifest: Manifest) -> list[dg.AssetChecksDefinition]:
    @dg.asset_check(asset=raw_status_key(manifest), name="readable", blocking=False,
                    pool=WAREHOUSE_POOL,
                    description="Every file of the source could be read (encoding, delimiter, "
                    "format); the error names the file and what it appears to be.")
    def readable(warehouse: DuckDBResource) -> dg.AssetCheckResult:
        with warehouse.get_connection() as con:
            row = con.execute(f"SELECT readable, error, update_status FROM "
                              f"{table_of(raw_status_key(manifest))}").fetchone()
        ok = bool(row and row[0])
        return dg.AssetCheckResult(passed=ok, severity=dg.AssetCheckSeverity.ERROR, metadata={
            "error": (row[1] if row else "not materialised") or "",
            "update_status": (row[2] if row else "") or ""})

    # On the staged table (not its row-count sibling) so that, being blocking, it stops what reads
    # the staged rows; it reads the counts and rejects its own step wrote.
    @dg.asset_check(asset=staging_key(manifest), name="rows_conserved", blocking=True,
                    pool=WAREHOUSE_POOL,
                    description="input rows = staged rows + rejected rows, and most rows staged.")
    def rows_conserved(warehouse: DuckDBResource) -> dg.AssetCheckResult:
        with warehouse.get_connection() as con:
            counts = con.execute(
                "SELECT input_rows, staged_rows, rejected_rows FROM "
                f"{table_of(row_counts_key(manifest))}").fetchone()
            rejects = con.execute(
                f"SELECT file, line, field, value, reason FROM {table_of(rejects_key(manifest))} "
                "ORDER BY file, line LIMIT 20").df()
        input_rows, staged, rejected = counts
        conserved = input_rows == staged + rejected
        share = rejected / input_rows if input_rows else 0.0
        return dg.AssetCheckResult(
            passed=bool(conserved and share <= MAX_REJECTED_SHARE),
            metadata={"input_rows": input_rows, "staged_rows": staged, "rejected_rows": rejected,
                      "rejected_share": float(share), "first_rejects": _cases(rejects)},
        )

    @dg.asset_check(asset=staging_key(manifest), name="pandera_schema", blocking=True,
                    pool=WAREHOUSE_POOL,
                    description="Types, allowed codes and ranges from the codebook (pandera).")
    def pandera_schema(warehouse: DuckDBResource, paths: BarometrePaths) -> dg.AssetCheckResult:
        with warehouse.get_connection() as con:
            staged = read_table(con, table_of(staging_key(manifest)))
        if manifest.kind == "microdata":
            codebook = load_codebook(paths.settings().data_dir / "codebook.yaml")
            schema = staging_microdata_schema(codebook, list(staged.columns))
        else:
            schema = aggregates_schema()
        if staged.empty:
            return dg.AssetCheckResult(passed=True, metadata={"rows": 0})
        outcome = validate(schema, staged)
        return dg.AssetCheckResult(passed=outcome.passed, metadata={
            "rows": len(staged), "failure_count": outcome.failure_count,
            "failure_cases": _cases(outcome.failure_cases)})

    checks = [readable, rows_conserved, pandera_schema]
    if manifest.kind == "microdata":
        @dg.asset_check(asset=staging_key(manifest), name="gx_plausibility", blocking=True,
                        pool=WAREHOUSE_POOL,
                        description="Great Expectations: prevalence plausible against public "
                        "figures, missingness per question, unique pseudonyms, weights bounded, "
                        "level consistent with age.")
        def gx_plausibility(warehouse: DuckDBResource, paths: BarometrePaths) -> dg.AssetCheckResult:
            codebook = load_codebook(paths.settings().data_dir / "codebook.yaml")
            table = table_of(staging_key(manifest))
            with warehouse.get_connection() as con:
                # Only the columns the suite checks (found by building it on the empty table),
                # plus age and level for the age gap: a staged table has ~90 columns.
                empty = read_table(con, table, limit=0)
                suite = staging_microdata_suite(with_age_level_gap(empty, codebook))
                wanted = {e.kwargs["column"] for e in suite} | {"age", "level"}
                staged = read_table(con, table, columns=[c for c in empty.columns if c in wanted])
            if staged.empty:
                return dg.AssetCheckResult(passed=True, metadata={"rows": 0})
            frame = with_age_level_gap(staged, codebook)
            outcome = run_suite(frame, f"staging_{manifest.id}", staging_microdata_suite(frame))
            return dg.AssetCheckResult(passed=outcome.success, metadata=_suite_metadata(outcome))

        @dg.asset_check(asset=weighting_key(manifest), name="weights_valid", blocking=True,
                        pool=WAREHOUSE_POOL,
                        description="Final weights positive, finite, one per respondent (pandera).")
        def weights_valid(warehouse: DuckDBResource) -> dg.AssetCheckResult:
            with warehouse.get_connection() as con:
                weights = read_table(con, table_of(weighting_key(manifest)))
            outcome = validate(weights_schema(), weights)
            return dg.AssetCheckResult(passed=outcome.passed, metadata={
                "rows": len(weights), "failure_cases": _cases(outcome.failure_cases)})

        @dg.asset_check(asset=indicators_key(manifest), name="pandera_schema", blocking=True,
                        pool=WAREHOUSE_POOL,
                        description="Estimates in 0-1, intervals around them and never of zero "
                        "width, positive n and degrees of freedom (pandera).")
        def indicators_schema(warehouse: DuckDBResource) -> dg.AssetCheckResult:
            with warehouse.get_connection() as con:
                table = read_table(con, table_of(indicators_key(manifest)))
            if "indicator_code" not in table:
                return dg.AssetCheckResult(passed=True, metadata={"rows": 0})
            outcome = validate(source_indicators_schema(), table)
            return dg.AssetCheckResult(passed=outcome.passed, metadata={
                "rows": len(table), "failure_count": outcome.failure_count,
                "failure_cases": _cases(outcome.failure_cases)})

        checks += [gx_plausibility, weights_valid, indicators_schema]
    return checks


@dg.asset_check(asset=CONSOLIDATED_INDICATORS, name="pandera_schema", blocking=True,
                pool=WAREHOUSE_POOL,
                description="Generated from the table's description (barometre_pipeline.metadata): "
                "every contract column, nullability, codes, proportions in 0-1, intervals around "
                "estimates, suppressed rows without estimate, a comparability group on every row, "
                "published pilot cells above the minimum n.")
def consolidated_schema(warehouse: DuckDBResource, paths: BarometrePaths) -> dg.AssetCheckResult:
    catalogue = load_catalogue(paths.settings().data_dir / "indicators.yaml")
    with warehouse.get_connection() as con:
        table = read_table(con, table_of(CONSOLIDATED_INDICATORS))
    outcome = validate(
        consolidated_indicators_schema(int(catalogue.publication.get("min_n_unweighted", 30))), table)
    return dg.AssetCheckResult(passed=outcome.passed, metadata={
        "rows": len(table), "failure_count": outcome.failure_count,
        "failure_cases": _cases(outcome.failure_cases)})


@dg.asset_check(asset=CONSOLIDATED_INDICATORS, name="gx_plausibility", blocking=True,
                pool=WAREHOUSE_POOL,
                description="Great Expectations: the published figures fall inside the plausibility "
                "bands drawn from the public figures (pilot CV_ANY overall). Types, codes and row "
                "rules are the pandera check's.")
def consolidated_gx(warehouse: DuckDBResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        table = read_table(con, table_of(CONSOLIDATED_INDICATORS))
    results, passed = [], True
    for number, (rows, expectations) in enumerate(plausibility_suite(INDICATORS, table)):
        outcome = run_suite(rows, f"consolidated_indicators_{number}", expectations)
        results += outcome.results
        passed = passed and outcome.success
    return dg.AssetCheckResult(passed=passed, metadata={
        "expectations": len(results),
        "failed_expectations": sum(1 for r in results if not r["success"]),
        "results": dg.MetadataValue.json(json.loads(json.dumps(results, default=str))),
    })


@dg.asset_check(asset=CONSOLIDATED_INDICATORS, name="privacy_guarantees", blocking=True,
                pool=WAREHOUSE_POOL,
                description="Nothing respondent-level; no published estimated cell (pilot or public "
                "microdata) under the minimum n, under the confidentiality thresholds, or showing a "
                "statistic on a withheld row; no confidential cell recoverable from the linked tables "
                "(exact linear algebra, validation.privacy).")
def privacy_guarantees(warehouse: DuckDBResource, paths: BarometrePaths) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        passed, counts, failures = check_consolidated_privacy(con, paths.settings().data_dir)
    return dg.AssetCheckResult(passed=passed, metadata={
        **{name: int(count) for name, count in counts.items()},
        "failure_cases": _cases(failures),
    })


def build_checks(manifests: list[Manifest]) -> list[dg.AssetChecksDefinition]:
    checks: list[dg.AssetChecksDefinition] = []
    for manifest in manifests:
        checks += build_source_checks(manifest)
    return [*checks, consolidated_schema, consolidated_gx, privacy_guarantees]
