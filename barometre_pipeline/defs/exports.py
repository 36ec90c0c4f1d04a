"""Exports: what leaves the warehouse. Each export is swapped in atomically, so a failed run leaves
the previous one intact; the blocking checks on `consolidated/indicators` stop them all.

Each export declares exactly what it reads: the Parquet datasets read their consolidated table, the
dictionary reads the codebook and catalogue, the CSV bundles (and the site, defs/site.py) read the published
`indicators` Parquet dataset (so spreadsheet users get the very figures the dataset holds)."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import yaml
from dagster_duckdb import DuckDBResource

from barometre_pipeline.defs.code_versions import code_version
from barometre_pipeline.defs.keys import (
    CATALOGUE,
    CODEBOOK,
    CONSOLIDATED_INDICATORS,
    CONSOLIDATED_SOURCES,
    EXPORT_INDICATORS,
    table_of,
)
from barometre_pipeline.defs.resources import WAREHOUSE_POOL, BarometrePaths
from barometre_pipeline.indicators.catalogue import load_catalogue
from barometre_pipeline.publish.contract import DATASET_NAME, INDICATORS_COLUMNS
from barometre_pipeline.publish.csv_bundle import write_csv_bundles
from barometre_pipeline.publish.dictionary import build_data_dictionary, write_data_dictionary
from barometre_pipeline.publish.other_datasets import OTHER_DATASETS
from barometre_pipeline.publish.parquet_export import write_indicators, write_parquet_dataset
from barometre_pipeline.warehouse import read_table

__all__ = ["EXPORT_ASSETS", "EXPORT_INDICATORS", "warehouse_table_export"]

CONTRACT_COLUMN_NAMES = [c.name for c in INDICATORS_COLUMNS]


def _published_indicators(paths: BarometrePaths) -> pd.DataFrame:
    """The published `indicators` dataset (what `exports/indicators_parquet` wrote)."""
    return pd.read_parquet(paths.settings().export_dir / DATASET_NAME)


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
    code_version=code_version("exports"),
    description="`indicators` Parquet dataset (export contract v1) under BAROMETRE_EXPORT_DIR: "
    "one row per indicator × source × period × territory × breakdown cell.",
)
def indicators_parquet(warehouse: DuckDBResource, paths: BarometrePaths) -> dg.MaterializeResult:
    with warehouse.get_connection() as con:
        table = read_table(con, table_of(CONSOLIDATED_INDICATORS), columns=CONTRACT_COLUMN_NAMES)
    path = write_indicators(table, paths.settings().export_dir)
    suppressed = int(table["suppressed"].fillna(False).astype(bool).sum())
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(path)),
        "dagster/row_count": len(table),
        "published_cells": len(table) - suppressed,
        "withheld_cells": suppressed,
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
        code_version=code_version("exports"),
        description=description,
    )
    def _export(warehouse: DuckDBResource, paths: BarometrePaths) -> dg.MaterializeResult:
        with warehouse.get_connection() as con:
            table = read_table(con, table_of(upstream))
        keys = [k for k in sort_keys if k in table.columns]
        path = write_parquet_dataset(table, paths.settings().export_dir, name, keys)
        return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)),
                                              "dagster/row_count": len(table)})

    return _export


sources_parquet = warehouse_table_export(
    "sources", CONSOLIDATED_SOURCES, ["source_id"],
    "`sources` Parquet dataset: every source with provenance, licence, row counts and "
    "`update_status` (non mis à jour when its latest files could not be read).")


@dg.asset(
    key=dg.AssetKey(["exports", "data_dictionary"]),
    deps=[CATALOGUE, CODEBOOK],
    group_name="exports",
    kinds={"json", "html"},
    code_version=code_version("exports"),
    description="Data dictionary beside the datasets (JSON, Markdown, HTML): columns, codes and "
    "one sheet per indicator in French and English.",
)
def data_dictionary(paths: BarometrePaths) -> dg.MaterializeResult:
    written = write_data_dictionary(paths.settings().export_dir, _dictionary(paths))
    return dg.MaterializeResult(metadata={"files": ", ".join(p.name for p in written),
                                          "path": dg.MetadataValue.path(str(written[0]))})


@dg.asset(
    key=dg.AssetKey(["exports", "csv_bundles"]),
    deps=[EXPORT_INDICATORS, CATALOGUE, CODEBOOK, dg.AssetKey(["exports", "effects_parquet"]),
          dg.AssetKey(["exports", "comparisons_parquet"]), dg.AssetKey(["exports", "sources_parquet"])],
    group_name="exports",
    kinds={"csv"},
    code_version=code_version("exports"),
    description="One zip per territory (CSV UTF-8 with BOM, `;`, decimal comma, formula-safe) "
    "with French headers, percentages to 0.1, comparisons, effects, provenance, the dictionary and a "
    "LISEZMOI, for spreadsheet users.",
)
def csv_bundles(paths: BarometrePaths) -> dg.MaterializeResult:
    table = _published_indicators(paths)
    settings = paths.settings()
    export_dir = settings.export_dir
    written = write_csv_bundles(
        table, export_dir, _dictionary(paths),
        codebook=yaml.safe_load((settings.data_dir / "codebook.yaml").read_text(encoding="utf-8")),
        effects=pd.read_parquet(export_dir / "effects"), comparisons=pd.read_parquet(export_dir / "comparisons"),
        sources=pd.read_parquet(export_dir / "sources"))
    metadata = {"zips": ", ".join(p.name for p in written)}
    if written:
        metadata["path"] = dg.MetadataValue.path(str(written[0].parent))
    return dg.MaterializeResult(metadata=metadata)


EXPORT_ASSETS = [indicators_parquet, sources_parquet, data_dictionary, csv_bundles]
