"""Column documentation of the datasets published beside `indicators` (effects, comparisons,
sources), for the data dictionary: generated from their description in
`barometre_pipeline.metadata`, like the contract of `indicators`."""

from __future__ import annotations

from barometre_pipeline.metadata import COMPARISONS, EFFECTS, SOURCES

OTHER_DATASETS: dict[str, list[dict[str, str]]] = {
    table.name: table.column_docs() for table in (EFFECTS, COMPARISONS, SOURCES)
}
