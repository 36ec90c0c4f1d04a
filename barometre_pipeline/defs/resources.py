"""Dagster resources: the warehouse and the folders, configured from the environment."""


from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from barometre_pipeline.settings import Settings, load_settings

# Every step that opens the DuckDB file claims this pool; the instance limits it to one slot
# (dagster_home/dagster.yaml), because DuckDB allows a single writer per file.
WAREHOUSE_POOL = "duckdb_warehouse"


class BarometrePaths(dg.ConfigurableResource):
    """Data and export folders. The pseudonym key is NOT config: it is read from the environment
    at run time so it never shows in the Dagster UI or run storage."""

    data_dir: str
    export_dir: str

    def settings(self) -> Settings:
        env_settings = load_settings()
        return Settings(
            data_dir=Path(self.data_dir),
            warehouse=env_settings.warehouse,
            export_dir=Path(self.export_dir),
            mode=env_settings.mode,
            pseudonym_key=env_settings.pseudonym_key,
            restricted_dir=env_settings.restricted_dir,
        )


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    if not settings.warehouse.startswith("md:"):
        Path(settings.warehouse).parent.mkdir(parents=True, exist_ok=True)
    return {
        "warehouse": DuckDBResource(database=settings.warehouse),
        "paths": BarometrePaths(data_dir=str(settings.data_dir), export_dir=str(settings.export_dir)),
    }
