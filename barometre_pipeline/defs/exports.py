"""Exports: what leaves the warehouse. Each export is swapped in atomically, so a failed run leaves
the previous one intact; the blocking checks on `consolidated/indicators` stop them all."""


import dagster as dg
import yaml
from dagster_duckdb import DuckDBResource

from barometre_pipeline.defs.consolidated import CONSOLIDATED_INDICATORS, CONSOLIDATED_SOURCES
from barometre_pipeline.defs.resources import WAREHOUSE_POOL, BarometrePaths
from barometre_pipeline.indicators.catalogue import load_catalogue
from barometre_pipeline.publish.contract import INDICATORS_COLUMNS
from barometre_pipeline.publish.csv_bundle import write_csv_bundles
from barometre_pipeline.publish.dashboard import write_dashboard
from barometre_pipeline.publish.dictionary import build_data_dictionary, write_data_dictionary
from barometre_pipeline.publish.other_datasets import OTHER_DATASETS
from barometre_pipeline.publish.parquet_export import write_indicators, write_parquet_dataset

EXPORT_INDICATORS = dg.AssetKey(["exports", "indicators_parquet"])
CONTRACT_COLUMN_NAMES = [c.name for c in INDICATORS_COLUMNS]


def _published_indicators(warehouse: DuckDBResource):
    columns = ", ".join(f'"{c}"' for c in CONTRACT_COLUMN_NAMES)
    with warehouse.get_connection() as con:
        return con.execute(f"SELECT {columns} FROM consolidated.indicators").df()


def _dictionary(paths: BarometrePaths) -> dict:
    settings = paths.settings()
    catalogue = load_catalogue(settings.data_dir / "indicators.yaml")
    codebook = yaml.safe_load((settings.data_dir / "codebook.yaml").read_text(encoding="utf-8"))
    return build_data_dictionary([i.as_dict() for i in catalogue.indicators], codebook=codebook,
                                 other_datasets=OTHER_DATASETS)


@dg.asset(
    key=EXPORT_INDICATORS,
    deps=[CONSOLIDATED_INDICATORS],
    group_name="exports",
    pool=WAREHOUSE_POOL,
    kinds={"parquet"},
    description="`indicators` Parquet dataset (export contract v1) under BAROMETRE_EXPORT_DIR: "
    "one row per indicator × source × period × territory × breakdown cell.",
)
def indicators_parquet(warehouse: DuckDBResource, paths: BarometrePaths) -> dg.MaterializeResult:
    table = _published_indicators(warehouse)
    path = write_indicators(table, paths.settings().export_dir)
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(path)),
        "dagster/row_count": len(table),
        "sources": int(table["source_id"].nunique()),
    })


def warehouse_table_export(name: str, upstream: dg.AssetKey, sort_keys: list[str],
                           description: str) -> dg.AssetsDefinition:
    """An export asset publishing one consolidated warehouse table as a Parquet dataset."""

    @dg.asset(
        key=dg.AssetKey(["exports", f"{name}_parquet"]),
        deps=[upstream],
        group_name="exports",
        pool=WAREHOUSE_POOL,
        kinds={"parquet"},
        description=description,
    )
    def _export(warehouse: DuckDBResource, paths: BarometrePaths) -> dg.MaterializeResult:
        with warehouse.get_connection() as con:
            table = con.execute(f"SELECT * FROM consolidated.{name}").df()
        keys = [k for k in sort_keys if k in table.columns]
        path = write_parquet_dataset(table, paths.settings().export_dir, name, keys)
        return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)),
                                              "dagster/row_count": len(table)})

    return _export


sources_parquet = warehouse_table_export(
    "sources", CONSOLIDATED_SOURCES, ["source_id"],
    "`sources` Parquet dataset: every source with provenance, licence and row counts.")


@dg.asset(
    key=dg.AssetKey(["exports", "data_dictionary"]),
    deps=[EXPORT_INDICATORS],
    group_name="exports",
    kinds={"json", "html"},
    description="Data dictionary beside the datasets (JSON, Markdown, HTML): columns, codes and "
    "one sheet per indicator in French and English.",
)
def data_dictionary(paths: BarometrePaths) -> dg.MaterializeResult:
    written = write_data_dictionary(paths.settings().export_dir, _dictionary(paths))
    return dg.MaterializeResult(metadata={"files": ", ".join(p.name for p in written)})


@dg.asset(
    key=dg.AssetKey(["exports", "csv_bundles"]),
    deps=[EXPORT_INDICATORS],
    group_name="exports",
    pool=WAREHOUSE_POOL,
    kinds={"csv"},
    description="One zip per territory (CSV UTF-8 with BOM, `;`, decimal comma, formula-safe) "
    "with the dictionary and a LISEZMOI, for spreadsheet users.",
)
def csv_bundles(warehouse: DuckDBResource, paths: BarometrePaths) -> dg.MaterializeResult:
    table = _published_indicators(warehouse)
    written = write_csv_bundles(table, paths.settings().export_dir, _dictionary(paths))
    return dg.MaterializeResult(metadata={"zips": ", ".join(p.name for p in written)})


@dg.asset(
    key=dg.AssetKey(["exports", "dashboard"]),
    deps=[EXPORT_INDICATORS],
    group_name="exports",
    pool=WAREHOUSE_POOL,
    kinds={"html"},
    description="Static, offline dashboard for field actors (French), one HTML file.",
)
def dashboard(warehouse: DuckDBResource, paths: BarometrePaths) -> dg.MaterializeResult:
    table = _published_indicators(warehouse)
    catalogue = load_catalogue(paths.settings().data_dir / "indicators.yaml")
    path = write_dashboard(table, paths.settings().export_dir,
                           catalogue=[i.as_dict() for i in catalogue.indicators])
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path))})


EXPORT_ASSETS = [indicators_parquet, sources_parquet, data_dictionary, csv_bundles, dashboard]
