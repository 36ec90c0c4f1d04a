"""One description per published table -> export contract, pandera schemas, GX suites and the
data dictionary's column docs. See ``model.py`` for the shape and ``tables.py`` for the tables."""

from barometre_pipeline.metadata.model import (
    Column,
    PlausibilityBand,
    RowRule,
    TableDescription,
)
from barometre_pipeline.metadata.tables import (
    COMPARISONS,
    CV_ANY_PLAUSIBLE,
    EFFECTS,
    INDICATORS,
    PUBLISHED_TABLES,
    SOURCES,
    WITHHELD_ON_SUPPRESSION,
    dictionary_columns,
)

__all__ = [
    "COMPARISONS",
    "CV_ANY_PLAUSIBLE",
    "EFFECTS",
    "INDICATORS",
    "PUBLISHED_TABLES",
    "SOURCES",
    "WITHHELD_ON_SUPPRESSION",
    "Column",
    "PlausibilityBand",
    "RowRule",
    "TableDescription",
    "dictionary_columns",
]
