"""The shape of a published table's description: columns, keys, row rules, plausibility bands.

One description per published table (see ``tables.py``) generates what used to be written four
times: the export contract (Arrow types, required and dimension columns), the pandera schema run as
a blocking check, the Great Expectations plausibility suite and the data dictionary's column docs
(the pattern of PUDL's resource metadata). No Dagster, pandera or GX import here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import pyarrow as pa


@dataclass(frozen=True)
class Column:
    """One column: Arrow type, descriptions, and the constraints every generated check applies."""

    name: str
    type: pa.DataType
    description_fr: str
    description_en: str
    # A required column must be supplied; an optional one is filled with nulls (or `_T`).
    required: bool = False
    dimension: bool = False
    nullable: bool = True
    # Codes the column may hold (nulls aside); None when free.
    allowed: tuple[str, ...] | None = None
    # Closed interval for numbers, None when free.
    value_range: tuple[float, float] | None = None

    def doc(self) -> dict[str, str]:
        return {"name": self.name, "type": str(self.type), "description_fr": self.description_fr,
                "description_en": self.description_en}


@dataclass(frozen=True)
class RowRule:
    """An invariant across columns: ``holds(frame)`` is True on every row that satisfies it."""

    name: str
    description: str
    holds: Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class PlausibilityBand:
    """Where a published figure is expected to fall, from the public figures: outside it, a coding
    error (reversed scale, wrong value map) is far likelier than news. Checked with GX."""

    name: str
    why: str
    rows: Callable[[pd.DataFrame], pd.Series]  # which rows the band applies to
    column: str
    band: tuple[float, float]


@dataclass(frozen=True)
class TableDescription:
    name: str
    description_fr: str
    description_en: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...] = ()
    rules: tuple[RowRule, ...] = ()
    plausibility: tuple[PlausibilityBand, ...] = field(default_factory=tuple)

    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name!r} has no column {name!r}")

    def column_docs(self) -> list[dict[str, str]]:
        """The data dictionary's entries for this table's columns."""
        return [c.doc() for c in self.columns]

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns])
