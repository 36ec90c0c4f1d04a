"""Acceptance on the shipped synthetic pilot (data/raw/pilot): planted effects are recovered.

The generator records what it planted beside each export (planted_effects_<wave>.json). Staged
here with the project's own reader and stager, weighted by the design weights (the raked final
weights need the whole pipeline).
"""

import json

import pandas as pd
import pytest

from barometre_pipeline.analysis.impacts import impact_effects
from barometre_pipeline.analysis.model_frame import DesignColumns
from barometre_pipeline.analysis.prevention import (
    programme_difference_in_differences,
    programme_schools_by_rule,
)
from barometre_pipeline.analysis.risk_factors import risk_factor_odds_ratios
from barometre_pipeline.settings import PROJECT_ROOT
from barometre_pipeline.sources.ingest import read_raw_source
from barometre_pipeline.sources.manifest import load_manifest
from barometre_pipeline.staging.codebook import load_codebook
from barometre_pipeline.staging.microdata import stage_microdata

DATA = PROJECT_ROOT / "data"
PILOT = DATA / "raw" / "pilot" / "orleans_tours"
DESIGN_WEIGHTS = DesignColumns(weight="design_weight")


def _staged(source_id: str):
    manifest = load_manifest(DATA / "sources" / f"{source_id}.yaml")
    raw = read_raw_source(manifest, DATA)
    assert raw.error is None
    decimal = manifest.read.decimal if manifest.read.decimal in (".", ",") else "."
    return stage_microdata(raw.frame, manifest, load_codebook(DATA / "codebook.yaml"),
                           pseudonym_key=b"analysis-test", decimal=decimal).staged


@pytest.fixture(scope="module")
def waves():
    return _staged("pilot_orleans_tours_2025"), _staged("pilot_orleans_tours_2026")


@pytest.fixture(scope="module")
def planted():
    return {wave: json.loads((PILOT / wave / f"planted_effects_{wave}.json").read_text(encoding="utf-8"))
            for wave in ("2025", "2026")}


def _risk_factor_rows(waves, factor):
    for staged, wave in zip(waves, ("2025", "2026"), strict=True):
        effects = risk_factor_odds_ratios(staged, f"pilot_orleans_tours_{wave}", "FR-OT", wave,
                                          design=DESIGN_WEIGHTS).set_index("exposure")
        yield wave, effects.loc[factor.upper()]


def test_planted_social_media_odds_ratio_is_recovered_within_its_interval(waves, planted):
    for wave, row in _risk_factor_rows(waves, "social_media_before_13"):
        planted_ratio = planted[wave]["model"]["cv_any_odds_ratios"]["social_media_before_13"]
        assert row["ci_low"] < planted_ratio < row["ci_high"]


@pytest.fixture(scope="module")
def census_odds_ratios():
    """The same model fitted on the whole generated population of each wave (a census).

    The generator ties in-person bullying (and other factors) to the school's random intercept,
    so the planted coefficient is not what a model adjusted for school context estimates; the
    finite-population value of the same model is the right oracle. The population is
    regenerated with the shipped seed and checked against the shipped ground truth first.
    """
    from barometre_pipeline.simulate.ground_truth import finite_population_truth
    from barometre_pipeline.simulate.pilot import load_territory, simulate_wave
    from barometre_pipeline.staging.derive import add_derived_variables

    territory = load_territory("FR-OT", DATA / "frames", seed=2025)
    codebook = load_codebook(DATA / "codebook.yaml")
    result = {}
    for wave in ("2025", "2026"):
        population = simulate_wave(territory, wave, n_respondents=100).population
        truth = finite_population_truth(population, "FR-OT", wave)
        shipped = pd.read_csv(PILOT / wave / f"ground_truth_orleans_tours_{wave}.csv", dtype={"period": str})
        assert truth["value"].to_numpy() == pytest.approx(shipped["value"].to_numpy(), rel=1e-12, nan_ok=True)
        census = population.assign(sex=population["sex"].astype(str), level=population["level"].astype(str),
                                   priority_education=territory.schools["priority_education"].to_numpy()[
                                       population["school_index"].to_numpy()], census_weight=1.0)
        census = add_derived_variables(census, codebook)
        fit = risk_factor_odds_ratios(census, "census", "FR-OT", wave, design=DesignColumns(
            weight="census_weight", strata=None, psu="school_id", fpc=None))
        result[wave] = fit.set_index("exposure")["estimate"]
    return result


@pytest.mark.parametrize("factor", ["BULLIED_IN_PERSON", "SOCIAL_MEDIA_BEFORE_13", "SMARTPHONE_BEFORE_11",
                                    "SCREEN_TIME_HIGH", "sex=M/F", "grade_group=LYCEE/COLLEGE"])
def test_risk_factor_interval_covers_the_finite_population_odds_ratio(waves, census_odds_ratios, factor):
    """Pupil-level factors. Priority education is left out: it is a school-level contrast over one
    (REP+) to seven (REP) sampled schools, fewer than a design-based interval can rest on."""
    for staged, wave in zip(waves, ("2025", "2026"), strict=True):
        row = risk_factor_odds_ratios(staged, f"pilot_orleans_tours_{wave}", "FR-OT", wave,
                                      design=DESIGN_WEIGHTS).set_index("exposure").loc[factor]
        assert row["ci_low"] < census_odds_ratios[wave][factor] < row["ci_high"], wave


@pytest.mark.parametrize("outcome, key", [("WHO5_LOW", "who5_low_odds_ratio_cv_any"),
                                          ("SELF_HARM_IDEATION", "self_harm_odds_ratio_cv_any"),
                                          ("SLEEP_PROBLEMS", "sleep_problems_odds_ratio_cv_any")])
def test_planted_impact_odds_ratio_is_inside_the_interval(waves, planted, outcome, key):
    effects = impact_effects(waves[0], "pilot_orleans_tours_2025", "FR-OT", "2025",
                             design=DESIGN_WEIGHTS).set_index("effect_code")
    row = effects.loc[f"PILOT_OR_{outcome}_CV_ANY"]
    assert not row["suppressed"]
    assert row["ci_low"] < planted["2025"]["model"][key] < row["ci_high"]


def test_the_rule_finds_the_recorded_programme_schools(waves, planted):
    by_rule = programme_schools_by_rule(waves[1])
    recorded = set(planted["2026"]["prevention_programme_schools"])
    agree = sum(ran == (school in recorded) for school, ran in by_rule.items())
    assert agree >= 0.95 * len(by_rule)


@pytest.mark.parametrize("options", [{}, {"earlier_only_schools": "own_wave"}, "recorded list"])
def test_difference_in_differences_covers_the_realised_change(waves, planted, options):
    realised = planted["2026"]["planted_change_vs_baseline"]["cv_any_realised_change"]
    realised_did = realised["programme_schools"] - realised["other_schools"]
    if options == "recorded list":
        options = {"programme_schools": planted["2026"]["prevention_programme_schools"]}
    effects = programme_difference_in_differences(
        waves[0], waves[1], "pilot_orleans_tours_2026", "FR-OT", design=DESIGN_WEIGHTS, **options)
    did = effects.set_index("measure").loc["difference_in_differences"]
    assert did["ci_low"] < realised_did < did["ci_high"]
