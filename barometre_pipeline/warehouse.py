"""Small helpers around the DuckDB warehouse: schemas per layer, whole-table replacement."""

from __future__ import annotations

import duckdb
import pandas as pd

LAYER_SCHEMAS = ("raw", "staging", "weighting", "indicators", "consolidated", "quarantine")


def ensure_schemas(con: duckdb.DuckDBPyConnection) -> None:
    for schema in LAYER_SCHEMAS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")


def replace_table(con: duckdb.DuckDBPyConnection, qualified_name: str, frame: pd.DataFrame) -> int:
    """Replace a table by a DataFrame's content in one transaction; returns the row count."""
    ensure_schemas(con)
    view = f"_incoming_{abs(hash(qualified_name))}"
    con.register(view, frame)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(f"CREATE OR REPLACE TABLE {qualified_name} AS SELECT * FROM {view}")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister(view)
    return len(frame)


def replace_source_rows(
    con: duckdb.DuckDBPyConnection, qualified_name: str, source_id: str, frame: pd.DataFrame
) -> None:
    """Replace one source's rows of a shared table (e.g. quarantine.rejects), creating it if needed."""
    ensure_schemas(con)
    view = f"_incoming_{abs(hash((qualified_name, source_id)))}"
    con.register(view, frame)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(f"CREATE TABLE IF NOT EXISTS {qualified_name} AS SELECT * FROM {view} LIMIT 0")
        con.execute(f"DELETE FROM {qualified_name} WHERE source_id = ?", [source_id])
        con.execute(f"INSERT INTO {qualified_name} BY NAME SELECT * FROM {view}")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister(view)


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(found and found[0])
