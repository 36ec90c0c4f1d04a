"""The Great Expectations suites of the barometer, as data (see gx_suites.run_suite)."""

from __future__ import annotations

import pandas as pd

from barometre_pipeline.staging.codebook import Codebook
from barometre_pipeline.staging.derive import CV_ITEMS
from barometre_pipeline.validation.gx_suites import Expectation

# Plausibility band for the share of victims of at least one cyberviolence, from the published
# figures in the public sources: HBSC 2022 cyberbullied 15 % (past months) is a low anchor,
# Québec 12-17 (ISQ 2022) 31 % and Institut Montaigne 11-20 (2020) 56 % high ones. A pilot wave
# outside 3 %-65 % is far more likely a coding error (reversed scale, wrong value map) than news.
CV_ANY_PLAUSIBLE = (0.03, 0.65)
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
    suite = [
        Expectation("ExpectColumnValuesToBeUnique", {"column": "respondent_pid"},
                    "pseudonymised ids are unique within a wave"),
        Expectation("ExpectColumnValuesToBeBetween",
                    {"column": "design_weight", "min_value": 0, "strict_min": True,
                     "max_value": MAX_DESIGN_WEIGHT}, "weights positive and bounded"),
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


def consolidated_suite() -> list[Expectation]:
    return [
        Expectation("ExpectColumnValuesToBeInSet",
                    {"column": "source_family", "value_set": ["pilot", "public", "scientific"]},
                    "every row comes from a declared source family"),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "provenance"},
                    "every row carries its provenance"),
        Expectation("ExpectColumnValuesToNotBeNull", {"column": "comparability_group"},
                    "every row says what it can be compared with"),
    ]


def pilot_prevalence_suite() -> list[Expectation]:
    """On the pilot CV_ANY overall rows only."""
    return [Expectation(
        "ExpectColumnValuesToBeBetween",
        {"column": "estimate", "min_value": CV_ANY_PLAUSIBLE[0], "max_value": CV_ANY_PLAUSIBLE[1]},
        "pilot CV_ANY inside the plausibility band from the public figures",
    )]
