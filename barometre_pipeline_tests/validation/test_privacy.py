"""The privacy check finds what it must find, and only that."""

import pandas as pd

from barometre_pipeline.validation.privacy import (
    recoverable_suppressed_cells,
    respondent_level_columns,
    small_published_cells,
)

KEYS = ["indicator_code", "source_id", "territory", "period"]


def table(rows):
    frame = pd.DataFrame(rows, columns=["sex", "level", "n_unweighted", "suppressed"])
    frame["indicator_code"], frame["source_id"] = "CV_ANY", "pilot"
    frame["territory"], frame["period"], frame["source_family"] = "FR-OT", "2025", "pilot"
    return frame


def test_single_suppressed_sibling_under_a_published_total_is_recoverable():
    rows = table([("_T", "_T", 100, False), ("F", "_T", 60, False), ("M", "_T", 35, False),
                  ("X", "_T", 5, True)])
    found = recoverable_suppressed_cells(rows, KEYS, ["sex", "level"])
    assert list(found["sex"]) == ["X"] and list(found["recoverable_along"]) == ["sex"]


def test_two_suppressed_siblings_are_safe():
    rows = table([("_T", "_T", 100, False), ("F", "_T", 60, False), ("M", "_T", 35, True),
                  ("X", "_T", 5, True)])
    assert recoverable_suppressed_cells(rows, KEYS, ["sex", "level"]).empty


def test_suppressed_total_protects_the_group():
    rows = table([("_T", "_T", 100, True), ("F", "_T", 60, False), ("X", "_T", 5, True)])
    assert recoverable_suppressed_cells(rows, KEYS, ["sex", "level"]).empty


def test_small_published_pilot_cells_and_respondent_columns_are_found():
    rows = table([("_T", "_T", 100, False), ("F", "_T", 12, False), ("X", "_T", 5, True)])
    assert list(small_published_cells(rows, 30)["sex"]) == ["F"]
    assert respondent_level_columns(["estimate", "respondent_pid", "psu"]) == ["respondent_pid", "psu"]
