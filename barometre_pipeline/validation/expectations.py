"""The Great Expectations suites of the barometer, as data (see gx_suites.run_suite)."""

from __future__ import annotations

import pandas as pd

from barometre_pipeline.metadata import CV_ANY_PLAUSIBLE, TableDescription
from barometre_pipeline.staging.codebook import Codebook
from barometre_pipeline.staging.derive import CV_ITEMS
from barometre_pipeline.validation.gx_suites import Expectation

MAX_ITEM_MISSING = 0.20  # more missing answers on a question than this suggests a broken mapping
MAX_DESIGN_WEIGHT = 100_000.0  # one pupil standing for more than this is a weight-file error
# A pupil's age differs from the typical age of the level by at most a couple of years (early
# entry, repeated years); beyond that the level or the age was miscoded.
AGE_LEVEL_GAP = (-2, 3)


def with_age_level_gap(staged: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    if "age" not in staged or "level" not in staged:
        return staged
    typical = staged["level"].map(codebook.level_attribute("typical_age")).astype("Float64")
    return staged.assign(age_level_gap=staged["age"].astype("Float64") - typical)


def staging_microdata_suite(staged: pd.DataFrame) -> list[Expectation]:
    # Unique pseudonyms and positive weights are checked by the pandera schema; GX adds what it
    # cannot say: bands drawn from the public figures and distributions (missingness, age gaps).
    suite = [
        Expectation("ExpectColumnMaxToBeBetween",
                    {"column": "design_weight", "max_value": MAX_DESIGN_WEIGHT},
                    "no pupil stands for more than a plausible number of pupils"),
    ]
    if "cv_any" in staged:
        suite.append(Expectation(
            "ExpectColumnMeanToBeBetween",
            {"column": "cv_any", "min_value": CV_ANY_PLAUSIBLE[0], "max_value": CV_ANY_PLAUSIBLE[1]},
            "prevalence inside the plausibility band from the public figures",
        ))
    for item in (c for c in CV_ITEMS if c in staged):
        suite.append(Expectation(
            "ExpectColumnValuesToNotBeNull", {"column": item, "mostly": 1 - MAX_ITEM_MISSING},
            f"missing answers under {MAX_ITEM_MISSING:.0%}",
        ))
    if "age_level_gap" in staged:
        suite.append(Expectation(
            "ExpectColumnValuesToBeBetween",
            {"column": "age_level_gap", "min_value": AGE_LEVEL_GAP[0], "max_value": AGE_LEVEL_GAP[1],
             "mostly": 0.99},
            "level consistent with age",
        ))
    return suite


def plausibility_suite(table: TableDescription, frame: pd.DataFrame
                       ) -> list[tuple[pd.DataFrame, list[Expectation]]]:
    """The GX expectations of a published table's plausibility bands (from its description), each
    with the rows it applies to. Column types, codes and row rules are pandera's job."""
    suites = []
    for band in table.plausibility:
        rows = frame[band.rows(frame)] if len(frame) else frame
        suites.append((rows, [Expectation(
            "ExpectColumnValuesToBeBetween",
            {"column": band.column, "min_value": band.band[0], "max_value": band.band[1]},
            band.why,
        )]))
    return suites
