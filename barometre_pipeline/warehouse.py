"""Small helpers around the DuckDB warehouse: schemas per layer, whole-table replacement, reads.

Tables are named ``schema.table`` where the asset graph (``defs.keys``) maps each to one asset;
each asset replaces its own tables whole, in one transaction, so a table never mixes two runs.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

LAYER_SCHEMAS = ("raw", "staging", "weighting", "indicators", "consolidated", "quarantine")


def ensure_schemas(con: duckdb.DuckDBPyConnection) -> None:
    for schema in LAYER_SCHEMAS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")


def _quoted(qualified_name: str) -> str:
    schema, table = qualified_name.split(".", 1)
    return f'{schema}."{table}"'


def replace_table(con: duckdb.DuckDBPyConnection, qualified_name: str,
                  frame: pd.DataFrame | pa.Table) -> int:
    """Replace a table by a DataFrame's (or an Arrow table's) content in one transaction; returns
    the row count. An Arrow table of strings is scanned by DuckDB in place, where a DataFrame of
    Python strings is converted value by value (seconds per million rows of raw text)."""
    ensure_schemas(con)
    view = f"_incoming_{abs(hash(qualified_name))}"
    con.register(view, frame)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(f"CREATE OR REPLACE TABLE {_quoted(qualified_name)} AS SELECT * FROM {view}")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister(view)
    return len(frame)


def read_table(con: duckdb.DuckDBPyConnection, qualified_name: str, *,
               columns: list[str] | None = None, limit: int | None = None) -> pd.DataFrame:
    """A whole table (or some of its columns / its first rows) as a DataFrame."""
    selected = ", ".join(f'"{c}"' for c in columns) if columns else "*"
    query = f"SELECT {selected} FROM {_quoted(qualified_name)}"
    if limit is not None:
        query += f" LIMIT {int(limit)}"
    return con.execute(query).df()


def table_exists(con: duckdb.DuckDBPyConnection, qualified_name: str) -> bool:
    schema, table = qualified_name.split(".", 1)
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(found and found[0])
