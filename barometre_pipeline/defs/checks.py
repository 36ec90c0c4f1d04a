"""Asset checks: pandera schemas and Great Expectations suites, visible in the Dagster UI.

Blocking checks stop everything downstream when they fail: bad data must not reach the exports.
Non-blocking ones (a source that could not be read) report without stopping the other sources.
"""


import json
import warnings

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from barometre_pipeline.defs.keys import (
    CONSOLIDATED_INDICATORS,
    indicators_key,
    raw_status_key,
    rejects_key,
    row_counts_key,
    source_table,
    staging_key,
    table_of,
    weighting_key,
)
from barometre_pipeline.defs.resources import WAREHOUSE_POOL, BarometrePaths
from barometre_pipeline.defs.sources import SourceChain, plain_metadata, source_chains
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


def _outcome(chain: SourceChain, context, check) -> dg.AssetCheckResult:
    """Run ``check(manifest) -> (passed, metadata)`` on every wave of the step's run: one result,
    passed only if every wave passes, with each wave's metadata when the run holds several."""
    outcomes = {m.id: check(m) for m in chain.run_manifests(context)}
    passed = all(ok for ok, _ in outcomes.values())
    if len(outcomes) == 1:
        return dg.AssetCheckResult(passed=passed, metadata=next(iter(outcomes.values()))[1])
    return dg.AssetCheckResult(passed=passed, metadata={
        "failed_waves": ", ".join(sorted(k for k, (ok, _) in outcomes.items() if not ok)) or "none",
        "waves": dg.MetadataValue.json({k: {name: plain_metadata(v) for name, v in meta.items()}
                                        for k, (_, meta) in outcomes.items()}),
    })


def build_source_checks(chain: SourceChain) -> list[dg.AssetChecksDefinition]:
    """The checks of one source, or of the pilot family (each run's waves, see :func:`_outcome`)."""
    first = chain.first
    options = {"partitions_def": chain.partitions.definition} if chain.partitions else {}

    @dg.asset_check(asset=raw_status_key(first), name="readable", blocking=False,
                    pool=WAREHOUSE_POOL, **options,
                    description="Every file of the source could be read (encoding, delimiter, "
                    "format); the error names the file and what it appears to be.")
    def readable(context: dg.AssetCheckExecutionContext,
                 warehouse: DuckDBResource) -> dg.AssetCheckResult:
        def check(manifest: Manifest):
            with warehouse.get_connection() as con:
                row = con.execute(f"SELECT readable, error, update_status FROM "
                                  f"{source_table(raw_status_key(manifest), manifest)}").fetchone()
            return bool(row and row[0]), {"error": (row[1] if row else "not materialised") or "",
                                          "update_status": (row[2] if row else "") or ""}

        result = _outcome(chain, context, check)
        return dg.AssetCheckResult(passed=result.passed, severity=dg.AssetCheckSeverity.ERROR,
                                   metadata=result.metadata)

    # On the staged table (not its row-count sibling) so that, being blocking, it stops what reads
    # the staged rows; it reads the counts and rejects its own step wrote.
    @dg.asset_check(asset=staging_key(first), name="rows_conserved", blocking=True,
                    pool=WAREHOUSE_POOL, **options,
                    description="input rows = staged rows + rejected rows, and most rows staged.")
    def rows_conserved(context: dg.AssetCheckExecutionContext,
                       warehouse: DuckDBResource) -> dg.AssetCheckResult:
        def check(manifest: Manifest):
            with warehouse.get_connection() as con:
                counts = con.execute(
                    "SELECT input_rows, staged_rows, rejected_rows FROM "
                    f"{source_table(row_counts_key(manifest), manifest)}").fetchone()
                rejects = con.execute(
                    "SELECT file, line, field, value, reason FROM "
                    f"{source_table(rejects_key(manifest), manifest)} "
                    "ORDER BY file, line LIMIT 20").df()
            input_rows, staged, rejected = counts
            conserved = input_rows == staged + rejected
            share = rejected / input_rows if input_rows else 0.0
            return bool(conserved and share <= MAX_REJECTED_SHARE), {
                "input_rows": input_rows, "staged_rows": staged, "rejected_rows": rejected,
                "rejected_share": float(share), "first_rejects": _cases(rejects)}

        return _outcome(chain, context, check)

    @dg.asset_check(asset=staging_key(first), name="pandera_schema", blocking=True,
                    pool=WAREHOUSE_POOL, **options,
                    description="Types, allowed codes and ranges from the codebook (pandera).")
    def pandera_schema(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource,
                       paths: BarometrePaths) -> dg.AssetCheckResult:
        def check(manifest: Manifest):
            with warehouse.get_connection() as con:
                staged = read_table(con, source_table(staging_key(manifest), manifest))
            if manifest.kind == "microdata":
                codebook = load_codebook(paths.settings().data_dir / "codebook.yaml")
                schema = staging_microdata_schema(codebook, list(staged.columns))
            else:
                schema = aggregates_schema()
            if staged.empty:
                return True, {"rows": 0}
            outcome = validate(schema, staged)
            return outcome.passed, {"rows": len(staged), "failure_count": outcome.failure_count,
                                    "failure_cases": _cases(outcome.failure_cases)}

        return _outcome(chain, context, check)

    checks = [readable, rows_conserved, pandera_schema]
    if chain.kind == "microdata":
        @dg.asset_check(asset=staging_key(first), name="gx_plausibility", blocking=True,
                        pool=WAREHOUSE_POOL, **options,
                        description="Great Expectations: prevalence plausible against public "
                        "figures, missingness per question, unique pseudonyms, weights bounded, "
                        "level consistent with age.")
        def gx_plausibility(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource,
                            paths: BarometrePaths) -> dg.AssetCheckResult:
            codebook = load_codebook(paths.settings().data_dir / "codebook.yaml")

            def check(manifest: Manifest):
                table = source_table(staging_key(manifest), manifest)
                with warehouse.get_connection() as con:
                    # Only the columns the suite checks (found by building it on the empty
                    # table), plus age and level for the age gap: a staged table has ~90 columns.
                    empty = read_table(con, table, limit=0)
                    suite = staging_microdata_suite(with_age_level_gap(empty, codebook))
                    wanted = {e.kwargs["column"] for e in suite} | {"age", "level"}
                    staged = read_table(con, table,
                                        columns=[c for c in empty.columns if c in wanted])
                if staged.empty:
                    return True, {"rows": 0}
                frame = with_age_level_gap(staged, codebook)
                outcome = run_suite(frame, f"staging_{manifest.id}",
                                    staging_microdata_suite(frame))
                return outcome.success, _suite_metadata(outcome)

            return _outcome(chain, context, check)

        @dg.asset_check(asset=weighting_key(first), name="weights_valid", blocking=True,
                        pool=WAREHOUSE_POOL, **options,
                        description="Final weights positive, finite, one per respondent (pandera).")
        def weights_valid(context: dg.AssetCheckExecutionContext,
                          warehouse: DuckDBResource) -> dg.AssetCheckResult:
            def check(manifest: Manifest):
                with warehouse.get_connection() as con:
                    weights = read_table(con, source_table(weighting_key(manifest), manifest))
                outcome = validate(weights_schema(), weights)
                return outcome.passed, {"rows": len(weights),
                                        "failure_cases": _cases(outcome.failure_cases)}

            return _outcome(chain, context, check)

        @dg.asset_check(asset=indicators_key(first), name="pandera_schema", blocking=True,
                        pool=WAREHOUSE_POOL, **options,
                        description="Estimates in 0-1, intervals around them and never of zero "
                        "width, positive n and degrees of freedom (pandera).")
        def indicators_schema(context: dg.AssetCheckExecutionContext,
                              warehouse: DuckDBResource) -> dg.AssetCheckResult:
            def check(manifest: Manifest):
                with warehouse.get_connection() as con:
                    table = read_table(con, source_table(indicators_key(manifest), manifest))
                if "indicator_code" not in table:
                    return True, {"rows": 0}
                outcome = validate(source_indicators_schema(), table)
                return outcome.passed, {"rows": len(table), "failure_count": outcome.failure_count,
                                        "failure_cases": _cases(outcome.failure_cases)}

            return _outcome(chain, context, check)

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
    # Checks on a partitioned asset are "preview" in Dagster 1.13; they are how the pilot waves'
    # checks show per territory × wave in the UI, so the warning is silenced rather than printed.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        for chain in source_chains(manifests):
            checks += build_source_checks(chain)
    return [*checks, consolidated_schema, consolidated_gx, privacy_guarantees]
