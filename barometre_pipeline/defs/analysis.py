"""Analysis assets: effects, pilot against history, and the restricted school funnel plot.

The analysis library (models on scipy) is imported inside the assets: loading the
code location, which every `barometre materialize` and sensor tick does, should not pay for it."""

import json
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait

import dagster as dg
import pandas as pd
import yaml
from dagster_duckdb import DuckDBResource

from barometre_pipeline.defs.code_versions import code_version
from barometre_pipeline.defs.consolidated import source_provenance
from barometre_pipeline.defs.exports import warehouse_table_export
from barometre_pipeline.defs.keys import (
    CONSOLIDATED_COMPARISONS,
    CONSOLIDATED_EFFECTS,
    CONSOLIDATED_INDICATORS,
    REFERENCE,
    raw_status_key,
    row_counts_key,
    source_table,
    staging_key,
    table_of,
    unique_keys,
)
from barometre_pipeline.defs.resources import WAREHOUSE_POOL, BarometrePaths
from barometre_pipeline.defs.sources import staged_row_count, weighted_deps, weighted_relation
from barometre_pipeline.sources.manifest import Manifest
from barometre_pipeline.vocabulary import FAMILY_PILOT
from barometre_pipeline.warehouse import read_table, replace_table


@dg.asset(
    key=CONSOLIDATED_COMPARISONS,
    deps=[CONSOLIDATED_INDICATORS, REFERENCE],
    group_name="consolidated",
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    code_version=code_version("analysis"),
    description="Pilot against history: each published pilot cell next to the public series of "
    "the same indicator, with a verdict (higher / lower / not different / not comparable) that "
    "accounts for both intervals and for whether the definitions are the same.",
)
def consolidated_comparisons(warehouse: DuckDBResource, paths: BarometrePaths) -> dg.MaterializeResult:
    from barometre_pipeline.analysis.comparisons import compare_pilot_with_history

    crosswalk_file = paths.settings().data_dir / "reference" / "indicator_crosswalk.yaml"
    crosswalk = yaml.safe_load(crosswalk_file.read_text(encoding="utf-8")) if crosswalk_file.exists() \
        else None
    with warehouse.get_connection() as con:
        indicators = read_table(con, table_of(CONSOLIDATED_INDICATORS))
        table = compare_pilot_with_history(indicators, crosswalk)
        # Each comparison row carries the provenance of both of its sides.
        provenance = indicators.drop_duplicates("source_id").set_index("source_id")["provenance"]
        table["provenance"] = [
            json.dumps({"pilot": json.loads(provenance[p]), "reference": json.loads(provenance[r])},
                       sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            for p, r in zip(table["source_id_pilot"], table["source_id_reference"], strict=True)
        ]
        replace_table(con, table_of(CONSOLIDATED_COMPARISONS), table)
    verdicts = table["verdict"].value_counts().to_dict() if len(table) else {}
    return dg.MaterializeResult(metadata={
        "verdicts": dg.MetadataValue.json({k: int(v) for k, v in verdicts.items()}),
        "dagster/row_count": len(table),
    })


comparisons_parquet = warehouse_table_export(
    "comparisons", CONSOLIDATED_COMPARISONS,
    ["indicator_code", "territory_pilot", "period_pilot", "sex", "grade_group",
     "source_id_reference", "period_reference"],
    "`comparisons` Parquet dataset: pilot against the historical public series.")


def _pilot_effects(pool: Executor, respondents: pd.DataFrame,
                   manifest: Manifest) -> list[Future[pd.DataFrame]]:
    """The pilot's risk factors, impacts and prevention effects, submitted to ``pool`` (longest
    first); each model gets its own shallow copy of the frame (pandas tidies a frame's internals
    in place on some reads, and the models may run side by side)."""
    from barometre_pipeline.analysis import (
        impact_effects,
        prevention_session_effects,
        risk_factor_odds_ratios,
    )

    territory = str(manifest.constants.get("territory") or manifest.provenance.territory)
    period = str(manifest.constants.get("period") or manifest.provenance.period)
    flags = tuple(manifest.provenance.quality_flags)
    impacts = pool.submit(impact_effects, respondents.copy(deep=False), manifest.id, territory,
                          period, source_flags=flags)
    return [
        pool.submit(risk_factor_odds_ratios, respondents.copy(deep=False), manifest.id, territory,
                    period, source_flags=flags),
        impacts,
        pool.submit(prevention_session_effects, respondents.copy(deep=False), manifest.id,
                    territory, period, source_flags=flags),
    ]


def _waves_by_territory(pilots: list[Manifest]) -> list[list[Manifest]]:
    """Pilot waves grouped by territory, each group in period order."""
    by_territory: dict[str, list[Manifest]] = {}
    for manifest in pilots:
        territory = str(manifest.constants.get("territory") or manifest.provenance.territory)
        by_territory.setdefault(territory, []).append(manifest)
    for waves in by_territory.values():
        waves.sort(key=lambda m: str(m.constants.get("period") or m.provenance.period))
    return list(by_territory.values())


def _consecutive_waves(pilots: list[Manifest]) -> list[tuple[Manifest, Manifest]]:
    """Pairs (earlier, later) of pilot waves of the same territory, in period order."""
    return [pair for waves in _waves_by_territory(pilots)
            for pair in zip(waves, waves[1:], strict=False)]


def _respondent_effects(con, pilots: list[Manifest]) -> list[pd.DataFrame]:
    """Each pilot's effects, then the difference in differences of each pair of consecutive
    waves, in that order.

    Waves are read one at a time (only the columns the models use), territory by territory in
    period order, and a wave is let go once the next wave of its territory has been compared
    with it: at most two waves are held, whatever the number of pilots or respondents.

    A wave's models are independent and spend their time in numpy, which lets go of the GIL:
    two threads keep both cores busy. Each model computes alone, in a fixed order, on one BLAS
    thread (``analysis.reproducible``; the limit is process-wide, hence set here for the whole
    pool), so the digits are those of a sequential run.
    """
    from threadpoolctl import threadpool_limits

    from barometre_pipeline.analysis import programme_difference_in_differences
    from barometre_pipeline.analysis.respondents import load_respondents

    by_pilot: dict[str, list[Future[pd.DataFrame]]] = {}
    by_pair: dict[tuple[str, str], Future[pd.DataFrame]] = {}
    with threadpool_limits(1), ThreadPoolExecutor(max_workers=2) as pool:
        for waves in _waves_by_territory(pilots):
            earlier: tuple[Manifest, pd.DataFrame] | None = None
            for manifest in waves:
                # A pilot that could not be read (or staged nothing) has no respondents: the
                # effects of the other pilots are computed all the same.
                respondents = (load_respondents(con, weighted_relation(manifest))
                               if staged_row_count(con, manifest) else pd.DataFrame())
                if len(respondents):
                    by_pilot[manifest.id] = _pilot_effects(pool, respondents, manifest)
                    if earlier is not None and len(earlier[1]):
                        territory = str(manifest.constants.get("territory")
                                        or manifest.provenance.territory)
                        by_pair[(earlier[0].id, manifest.id)] = pool.submit(
                            programme_difference_in_differences, earlier[1].copy(deep=False),
                            respondents.copy(deep=False), manifest.id, territory,
                            source_flags=tuple(manifest.provenance.quality_flags))
                    # This wave's models finish before the next wave is read (memory).
                    wait([*by_pilot[manifest.id], *by_pair.values()])
                earlier = (manifest, respondents)
                del respondents
            del earlier
    return [*(part.result() for m in pilots for part in by_pilot.get(m.id, [])),
            *(by_pair[(e.id, later.id)].result() for e, later in _consecutive_waves(pilots)
              if (e.id, later.id) in by_pair)]


def _pilots(manifests: list[Manifest]) -> list[Manifest]:
    return [m for m in manifests if m.kind == "microdata" and m.family == FAMILY_PILOT]


def build_effects_assets(manifests: list[Manifest]) -> list[dg.AssetsDefinition]:
    pilots = _pilots(manifests)
    literature = [m for m in manifests if m.kind == "effects"]
    used = [*pilots, *literature]

    @dg.asset(
        key=CONSOLIDATED_EFFECTS,
        deps=unique_keys([CONSOLIDATED_INDICATORS, *[k for m in pilots for k in weighted_deps(m)],
                          *[staging_key(m) for m in literature],
                          *[row_counts_key(m) for m in pilots],
                          *[raw_status_key(m) for m in used]]),
        group_name="consolidated",
        pool=WAREHOUSE_POOL,
        kinds={"duckdb"},
        code_version=code_version("analysis"),
        description="Effects table: the pilot's adjusted odds ratios of risk factors, impacts of "
        "victimisation (differences and odds ratios), prevention associations, wave-to-wave "
        "differences and the difference in differences of programme schools, next to the "
        "meta-analysis effects they can be read against. Associations, not proofs.",
    )
    def consolidated_effects(context: dg.AssetExecutionContext, warehouse: DuckDBResource,
                             paths: BarometrePaths) -> dg.MaterializeResult:
        from barometre_pipeline.analysis import (
            conform_effects,
            link_counterparts,
            literature_effects,
            wave_differences,
        )

        version = code_version("analysis")
        with warehouse.get_connection() as con:
            # Respondents in file order (load_respondents): a parallel join returns rows in any
            # order, and the models' float sums (hence the published last digits) follow it.
            parts = _respondent_effects(con, pilots)
            provenance = {m.id: source_provenance(con, m, context.run.run_id, version)
                          for m in used}
            indicators = read_table(con, table_of(CONSOLIDATED_INDICATORS))
            staged_literature = [read_table(con, source_table(staging_key(m), m)) for m in literature]
        parts.append(wave_differences(indicators))
        parts += [literature_effects(staged) for staged in staged_literature if len(staged)]
        effects = link_counterparts(conform_effects(pd.concat(
            [p for p in parts if len(p)], ignore_index=True)))
        effects["provenance"] = effects["source_id"].map(provenance)
        effects = conform_effects(effects)
        with warehouse.get_connection() as con:
            replace_table(con, table_of(CONSOLIDATED_EFFECTS), effects)
        by_measure = effects.groupby("measure").size().to_dict()
        return dg.MaterializeResult(metadata={
            "rows_by_measure": dg.MetadataValue.json({k: int(v) for k, v in by_measure.items()}),
            "dagster/row_count": len(effects),
        })

    effects_parquet = warehouse_table_export(
        "effects", CONSOLIDATED_EFFECTS, ["effect_code", "source_id", "territory", "period", "cell"],
        "`effects` Parquet dataset: pilot associations and literature effects.")

    return [consolidated_effects, effects_parquet]


def build_restricted_assets(manifests: list[Manifest]) -> list[dg.AssetsDefinition]:
    pilots = _pilots(manifests)
    if not pilots:
        return []

    @dg.asset(
        key=dg.AssetKey(["restricted", "school_funnel"]),
        deps=unique_keys([*[k for m in pilots for k in weighted_deps(m)],
                          *[row_counts_key(m) for m in pilots]]),
        group_name="restricted",
        pool=WAREHOUSE_POOL,
        kinds={"parquet", "html"},
        code_version=code_version("analysis"),
        description="RESTRICTED (académie / Québec partners only, never public): school-level "
        "CV_ANY against its territory with Spiegelhalter funnel-plot limits (overdispersion "
        "allowed), flagging only schools above the 99.8 % limit; schools under 30 respondents "
        "are not assessed. Written under BAROMETRE_RESTRICTED_DIR, outside the public exports.",
    )
    def school_funnel_restricted(warehouse: DuckDBResource,
                                 paths: BarometrePaths) -> dg.MaterializeResult:
        from barometre_pipeline.analysis.funnel import school_funnel, write_restricted_funnel

        settings = paths.settings()
        with warehouse.get_connection() as con:
            # Only pilots with staged respondents: one unreadable export must not stop the others.
            respondents = pd.concat([
                con.execute(
                    "SELECT school_id, territory, period, cv_any, final_weight "
                    f"FROM {weighted_relation(m)} WHERE cv_any IS NOT NULL "
                    "ORDER BY _source_file, _source_line").df()  # reproducible float sums
                for m in pilots if staged_row_count(con, m)
            ] or [pd.DataFrame(columns=["school_id", "territory", "period", "cv_any",
                                        "final_weight"])], ignore_index=True)
        # Pupils of one school resemble each other (intra-school correlation), so limits that
        # assume pure binomial noise would flag too many schools: overdispersion is estimated.
        table = school_funnel(respondents, overdispersion=True)
        path = write_restricted_funnel(table, settings.restricted_export_dir)
        flagged = int(table["beyond_998"].fillna(False).astype(bool).sum())
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(path)),
            "schools": len(table),
            "schools_flagged_beyond_998": flagged,
            "schools_not_assessed": int((table["assessment"] == "not_assessed").sum()),
        })

    return [school_funnel_restricted]


ANALYSIS_ASSETS = [consolidated_comparisons, comparisons_parquet]
