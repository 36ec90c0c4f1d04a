"""The sampling frames read from the real DEPP / MEQ files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from barometre_pipeline.simulate.frames import (
    QUEBEC_PUBLIC_SECONDARY_PUPILS,
    read_orleans_tours_frame,
    read_quebec_frame,
)
from barometre_pipeline.simulate.population import LEVEL_GRADE_GROUP, LEVEL_TYPICAL_AGE

from .conftest import FRAMES_DIR

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
MARGIN_LEVELS = {"6e": "6E", "5e": "5E", "4e": "4E", "3e": "3E", "2nde": "2NDE", "1re": "1RE", "Terminale": "TLE"}


def test_france_frame_adds_up_to_the_official_margins_by_level_and_sex():
    frame = read_orleans_tours_frame(FRAMES_DIR)
    margins = pd.read_csv(DATA_DIR / "reference" / "population_margins.tsv", sep="\t")
    academie = margins[(margins["geography_code"] == "FR-ACA-18") & margins["sex"].isin(["F", "M"])
                       & margins["level"].isin(list(MARGIN_LEVELS))]
    expected = {(MARGIN_LEVELS[r.level], r.sex): r.pupils for r in academie.itertuples()}
    got = frame.enrolment.groupby(["level", "sex"])["pupils"].sum().to_dict()
    assert got == expected


def test_france_frame_has_departements_sectors_and_priority_education():
    schools = read_orleans_tours_frame(FRAMES_DIR).schools
    assert set(schools["departement"]) == {"18", "28", "36", "37", "41", "45"}
    assert set(schools["sector"]) == {"PU", "PR"}
    assert {"REP", "REP+"} <= set(schools["priority_education"])
    assert schools["school_id"].is_unique
    # Private schools are never in éducation prioritaire.
    assert (schools.loc[schools["sector"] == "PR", "priority_education"] == "HORS").all()


def test_france_department_margins_match_the_frame():
    frame = read_orleans_tours_frame(FRAMES_DIR)
    margins = pd.read_csv(DATA_DIR / "reference" / "population_margins.tsv", sep="\t")
    dep = margins[margins["geography_code"].str.startswith("FR-DEP") & margins["sex"].isin(["F", "M"])
                  & margins["level"].isin(list(MARGIN_LEVELS))]
    expected = dep.groupby(dep["geography_code"].str[-2:])["pupils"].sum().to_dict()
    merged = frame.enrolment.merge(frame.schools[["school_id", "departement"]], on="school_id")
    got = merged.groupby("departement")["pupils"].sum().to_dict()
    assert got == expected


def test_quebec_frame_has_simulated_sizes_adding_up_to_the_meq_total():
    frame = read_quebec_frame(FRAMES_DIR, np.random.default_rng(3))
    assert len(frame.schools) == 593
    assert frame.schools["size_simulated"].all()
    assert frame.enrolment["pupils"].sum() == QUEBEC_PUBLIC_SECONDARY_PUPILS
    assert set(frame.enrolment["level"]) == {"SEC1", "SEC2", "SEC3", "SEC4", "SEC5"}
    girls = frame.enrolment.loc[frame.enrolment["sex"] == "F", "pupils"].sum()
    assert 0.47 < girls / QUEBEC_PUBLIC_SECONDARY_PUPILS < 0.51


def test_level_attributes_agree_with_the_codebook():
    codebook = yaml.safe_load((DATA_DIR / "codebook.yaml").read_text(encoding="utf-8"))
    levels = codebook["variables"]["level"]["values"]
    assert {code: spec["typical_age"] for code, spec in levels.items()} == LEVEL_TYPICAL_AGE
    assert {code: spec["grade_group"] for code, spec in levels.items()} == LEVEL_GRADE_GROUP
