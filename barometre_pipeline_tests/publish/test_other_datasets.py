"""The dictionary documents every column of the other published datasets."""

from barometre_pipeline.analysis.comparisons import COMPARISON_COLUMNS
from barometre_pipeline.analysis.effects_table import EFFECT_COLUMNS
from barometre_pipeline.publish.other_datasets import OTHER_DATASETS


def test_effects_and_comparisons_columns_are_all_documented():
    assert [c["name"] for c in OTHER_DATASETS["effects"]] == list(EFFECT_COLUMNS)
    # the comparisons asset appends the provenance of both sides
    assert [c["name"] for c in OTHER_DATASETS["comparisons"]] == [*COMPARISON_COLUMNS, "provenance"]
    for columns in OTHER_DATASETS.values():
        assert all(c["description_fr"] and c["description_en"] for c in columns)
