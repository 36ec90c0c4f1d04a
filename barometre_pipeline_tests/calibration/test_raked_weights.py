"""Raked weights of the shipped pilot sample reproduce the official margins (issue 3)."""

from __future__ import annotations

import pandas as pd
import pytest

from barometre_pipeline.calibration.population_margins import FR_LEVELS, margins_for
from barometre_pipeline.calibration.raked_weights import raked_weights
from barometre_pipeline.settings import DEV_PSEUDONYM_KEY, PROJECT_ROOT
from barometre_pipeline.sources.ingest import read_raw_source
from barometre_pipeline.sources.manifest import load_manifest
from barometre_pipeline.staging.codebook import load_codebook
from barometre_pipeline.staging.microdata import stage_microdata

DATA = PROJECT_ROOT / "data"


def staged(source_id: str) -> pd.DataFrame:
    manifest = load_manifest(DATA / "sources" / f"{source_id}.yaml")
    raw = read_raw_source(manifest, DATA)
    assert raw.error is None
    result = stage_microdata(raw.frame, manifest, load_codebook(DATA / "codebook.yaml"),
                             pseudonym_key=DEV_PSEUDONYM_KEY.encode(), decimal=raw.decimal)
    return result.staged


@pytest.fixture(scope="module")
def orleans_tours():
    frame = staged("pilot_orleans_tours_2025")
    outcome = raked_weights(frame, margins_for("FR-OT", DATA / "reference"))
    return frame.merge(outcome.weights[["respondent_pid", "final_weight"]], on="respondent_pid"), outcome


def official_margins() -> pd.DataFrame:
    table = pd.read_csv(DATA / "reference" / "population_margins.tsv", sep="\t", dtype=str)
    table["pupils"] = table["pupils"].astype(float)
    return table[table["sex"].isin(["F", "M"]) & table["level"].isin(FR_LEVELS.values())]


def test_level_totals_equal_the_depp_margins(orleans_tours):
    frame, _ = orleans_tours
    official = official_margins()
    academie = official[official["geography_code"] == "FR-ACA-18"].groupby("level")["pupils"].sum()
    achieved = frame.groupby("level")["final_weight"].sum()
    for code, label in FR_LEVELS.items():
        assert achieved[code] == pytest.approx(academie[label], rel=1e-6)


def test_departement_totals_equal_the_depp_margins(orleans_tours):
    frame, _ = orleans_tours
    official = official_margins()
    by_dep = (official[official["geography_code"].str.startswith("FR-DEP-")]
              .assign(dep=lambda t: t["geography_code"].str[-2:]).groupby("dep")["pupils"].sum())
    achieved = frame.groupby("departement")["final_weight"].sum()
    assert set(achieved.index) == set(by_dep.index)
    for dep, total in by_dep.items():
        assert achieved[dep] == pytest.approx(total, rel=1e-6)


def test_sex_totals_keep_the_official_split_with_the_third_option(orleans_tours):
    frame, _ = orleans_tours
    official = official_margins()
    academie = official[official["geography_code"] == "FR-ACA-18"].groupby("sex")["pupils"].sum()
    achieved = frame.groupby("sex")["final_weight"].sum()
    # F + M + X add up to the official total, and F:M keeps the official ratio.
    assert achieved.sum() == pytest.approx(academie.sum(), rel=1e-6)
    assert achieved["F"] / achieved["M"] == pytest.approx(academie["F"] / academie["M"], rel=1e-6)
    assert 0 < achieved["X"] < 0.05 * achieved.sum()


def test_diagnostics_are_reported(orleans_tours):
    _, outcome = orleans_tours
    meta = outcome.metadata
    assert meta["max_relative_margin_error"] < 1e-6
    assert meta["report_converged"] is True
    assert meta["report_iterations"] >= 1
    assert 1.0 <= meta["report_kish_design_effect"] < 3.0
    assert meta["margins_estimated"] is False


def test_quebec_margins_are_flagged_estimated():
    frame = staged("pilot_quebec_2025")
    outcome = raked_weights(frame, margins_for("CA-QC", DATA / "reference"))
    assert outcome.metadata["margins_estimated"] is True
    assert outcome.metadata["max_relative_margin_error"] < 1e-6
