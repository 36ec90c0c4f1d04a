"""One pilot source's respondents as the effect models need them: their columns only, compact.

A staged table has ~90 columns; the models read about twenty (each module declares its own, so
the list stays true when a model gains a variable). Text answers (sex, level, school, stratum…)
come out of DuckDB as one Python string per respondent: as categoricals they take a few bytes
a row, and the strata and PSUs are numbered once for every model of the wave
(:func:`~barometre_pipeline.analysis.model_frame.with_coded_design`). On a national wave
(~470k respondents) this is tens of megabytes instead of gigabytes.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from barometre_pipeline.analysis import impacts, prevention, risk_factors
from barometre_pipeline.analysis.model_frame import (
    WAREHOUSE_DESIGN,
    DesignColumns,
    with_coded_design,
)

MODEL_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys((
    *risk_factors.COLUMNS, *impacts.COLUMNS, *prevention.SESSION_COLUMNS,
    *prevention.PROGRAMME_COLUMNS)))
# The models' float sums (hence the published last digits) follow the row order: file order,
# whatever order the join returns.
FILE_ORDER: tuple[str, ...] = ("_source_file", "_source_line")


def respondent_columns(design: DesignColumns = WAREHOUSE_DESIGN) -> tuple[str, ...]:
    """Every column the effect models read, the design's included."""
    return tuple(dict.fromkeys((*MODEL_COLUMNS, *design.names())))


def load_respondents(con: duckdb.DuckDBPyConnection, relation: str, *,
                     design: DesignColumns = WAREHOUSE_DESIGN,
                     order_by: tuple[str, ...] = FILE_ORDER) -> pd.DataFrame:
    """The respondents of ``relation`` (a table or a parenthesised query) with the columns of
    :func:`respondent_columns` it has, in ``order_by`` order; text columns as categoricals and
    the strata and PSUs coded. A column the source lacks is simply absent (the models flag it)."""
    # execute() (not sql()): it takes over whatever result the connection still holds.
    available = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    missing_order = [c for c in order_by if c not in available]
    if missing_order:
        raise KeyError(f"{relation}: no column {missing_order} to put the respondents in file order")
    columns = [c for c in respondent_columns(design) if c in available]
    table = con.sql(f"SELECT {', '.join(_quoted(c) for c in columns)} FROM {relation} "
                    f"ORDER BY {', '.join(_quoted(c) for c in order_by)}").to_arrow_table()
    for i, field in enumerate(table.schema):
        # Dictionary-encoded in Arrow, text arrives in pandas as a categorical without ever
        # being one Python string per respondent. A design label that is missing stays text:
        # the variance code reads it as such.
        if _is_text(field.type) and not (field.name in (design.strata, design.psu)
                                         and table.column(i).null_count):
            table = table.set_column(i, field.name, pc.dictionary_encode(table.column(i)))
    # Nullable pandas types for answers (as DuckDB's own conversion gives them).
    frame = table.to_pandas(types_mapper=_NULLABLE.get)
    del table
    return with_coded_design(frame, design)


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or str(kind) == "string_view"


_NULLABLE = {pa.bool_(): pd.BooleanDtype(), pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(),
             pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype()}


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
