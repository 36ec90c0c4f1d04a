"""Dagster resources: the warehouse and the folders, configured from the environment."""

from __future__ import annotations

import json
from contextlib import contextmanager
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


class _TracedConnection:
    """A DuckDB connection that appends every statement to a JSON-lines file with the step that
    ran it, so a test can compare the tables each asset reads with the graph it declares."""

    def __init__(self, connection, trace_file: str) -> None:
        self._connection = connection
        self._trace_file = trace_file

    def _record(self, statement: object) -> None:
        context = dg.OpExecutionContext.get()
        assets, checks = [], []
        if context is not None:
            assets = [key.to_user_string() for key in context.selected_asset_keys]
            checks = [f"{key.asset_key.to_user_string()}:{key.name}"
                      for key in context.selected_asset_check_keys]
        with open(self._trace_file, "a", encoding="utf-8") as trace:
            trace.write(json.dumps({"assets": assets, "checks": checks,
                                    "sql": str(statement)}) + "\n")

    def execute(self, statement, *args, **kwargs):
        self._record(statement)
        return self._connection.execute(statement, *args, **kwargs)

    def sql(self, statement, *args, **kwargs):
        self._record(statement)
        return self._connection.sql(statement, *args, **kwargs)

    query = sql

    def __getattr__(self, name):
        return getattr(self._connection, name)


class WarehouseResource(DuckDBResource):
    """The DuckDB warehouse. ``sql_trace`` (a file path, empty by default) records each statement
    with the asset or check that ran it (BAROMETRE_SQL_TRACE; used by the lineage test)."""

    sql_trace: str = ""

    @contextmanager
    def get_connection(self):
        with super().get_connection() as connection:
            yield _TracedConnection(connection, self.sql_trace) if self.sql_trace else connection


def build_resources(settings: Settings, sql_trace: str = "") -> dict[str, dg.ConfigurableResource]:
    if not settings.warehouse.startswith("md:"):
        Path(settings.warehouse).parent.mkdir(parents=True, exist_ok=True)
    return {
        "warehouse": WarehouseResource(database=settings.warehouse, sql_trace=sql_trace),
        "paths": BarometrePaths(data_dir=str(settings.data_dir), export_dir=str(settings.export_dir)),
    }
