"""One synthetic pilot wave end to end: population, outcomes, sample, export, ground truth, manifest.

Everything is a function of ``seed``: the frame (Québec sizes), the schools' random intercepts and
prevention programmes are drawn once per territory, then each wave draws a new cohort of pupils,
their answers and a new sample, each from its own random stream.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from barometre_pipeline.simulate.frames import (
    SchoolFrame,
    read_orleans_tours_frame,
    read_quebec_frame,
)
from barometre_pipeline.simulate.ground_truth import (
    finite_population_truth,
    prevalence_by_programme,
)
from barometre_pipeline.simulate.manifests import (
    TERRITORY_SLUGS,
    export_relative_path,
    pilot_manifest,
    write_manifest,
)
from barometre_pipeline.simulate.outcomes import OutcomeCalibration, draw_outcomes
from barometre_pipeline.simulate.planted_model import BASELINE_WAVE, WAVES, PlantedModel
from barometre_pipeline.simulate.population import draw_pupils, draw_school_attributes, wave_rng
from barometre_pipeline.simulate.questionnaire_export import (
    answer_table,
    write_france_csv,
    write_quebec_xlsx,
)
from barometre_pipeline.simulate.sampling import (
    DEFAULT_TAKE_PER_SCHOOL,
    SamplePlan,
    draw_sample,
    plan_sample,
)

TERRITORIES = ("FR-OT", "CA-QC")
DEFAULT_RESPONDENTS = {"FR-OT": 4000, "CA-QC": 3000}


@dataclass
class PilotWave:
    """A simulated wave of one territory, in memory."""

    territory: str
    wave: str
    schools: pd.DataFrame
    population: pd.DataFrame
    sample: pd.DataFrame  # sampled pupils, with `responded`
    plan: SamplePlan
    calibration: OutcomeCalibration
    seed: int

    @property
    def respondents(self) -> pd.DataFrame:
        return self.sample[self.sample["responded"]].reset_index(drop=True)


@dataclass
class Territory:
    """A territory's frame and its persistent school attributes."""

    frame: SchoolFrame
    schools: pd.DataFrame
    seed: int
    model: PlantedModel = field(default_factory=PlantedModel)


def load_territory(territory: str, frames_dir: Path, seed: int,
                   model: PlantedModel | None = None) -> Territory:
    model = model or PlantedModel()
    if territory == "FR-OT":
        frame = read_orleans_tours_frame(frames_dir)
    else:
        frame = read_quebec_frame(frames_dir, wave_rng(seed, territory, "frame"))
    return territory_from_frame(frame, seed, model)


def territory_from_frame(frame: SchoolFrame, seed: int, model: PlantedModel | None = None) -> Territory:
    model = model or PlantedModel()
    schools = draw_school_attributes(frame, wave_rng(seed, frame.territory, "schools"), model)
    return Territory(frame, schools, seed, model)


def simulate_wave(territory: Territory, wave: str, n_respondents: int,
                  take_per_school: int = DEFAULT_TAKE_PER_SCHOOL) -> PilotWave:
    """Population, outcomes and sample of one wave (nothing written)."""
    code = territory.frame.territory
    pupils = draw_pupils(territory.frame, territory.schools,
                         wave_rng(territory.seed, code, f"pupils-{wave}"), territory.model)
    population, calibration = draw_outcomes(pupils, territory.schools, code, wave,
                                            wave_rng(territory.seed, code, f"outcomes-{wave}"),
                                            territory.model)
    plan = plan_sample(territory.schools, n_respondents, take_per_school)
    sample = draw_sample(population, territory.schools, plan, wave_rng(territory.seed, code, f"sample-{wave}"))
    return PilotWave(code, wave, territory.schools, population, sample, plan, calibration, territory.seed)


def _notes(territory: str, pilot: PilotWave) -> str:
    common = (
        "Données SYNTHÉTIQUES générées par barometre_pipeline.simulate (aucun élève réel). "
        "Établissements tirés d'une base de sondage réelle; réponses simulées avec un modèle "
        f"logistique à effet établissement (effets plantés: planted_effects_{pilot.wave}.json; vérité "
        f"terrain en population finie: ground_truth_{TERRITORY_SLUGS[territory]}_{pilot.wave}.csv, à côté de l'export). "
        "Plan: sondage stratifié à deux degrés, établissements tirés avec probabilité "
        f"proportionnelle à la taille, {pilot.plan.take_per_school} élèves par établissement; poids de tirage = inverse de "
        "la probabilité d'inclusion, avant non-réponse (à caler sur les marges). "
    )
    if territory == "FR-OT":
        return common + ("Base: effectifs DEPP 2022 des collèges, lycées GT et lycées professionnels "
                         "de l'académie d'Orléans-Tours (Licence Ouverte 2.0); strate = département.")
    return common + ("Base: 593 organismes publics d'enseignement secondaire (MEQ, 2022-12-05); "
                     "TAILLES D'ÉTABLISSEMENT, NIVEAUX ET SEXE SIMULÉS (non publics), calés sur le total "
                     "de 354 188 élèves du secondaire public (MEQ, septembre 2021): les marges par "
                     "niveau × sexe sont des ESTIMATIONS. Strate = groupe de régions administratives.")


def planted_effects(pilot: PilotWave, model: PlantedModel, baseline: dict[str, float] | None) -> dict[str, Any]:
    realised = prevalence_by_programme(pilot.population)
    effects: dict[str, Any] = {
        "synthetic": True,
        "territory": pilot.territory,
        "period": pilot.wave,
        "baseline_period": BASELINE_WAVE,
        "model": model.to_json(),
        "calibrated_cell_intercepts": pilot.calibration.cell_intercepts,
        "cv_any_finite_population": realised,
        "prevention_programme_schools": sorted(
            pilot.schools.loc[pilot.schools["prevention_programme"], "school_id"].tolist()),
        "sample": {
            "schools_per_stratum": pilot.plan.schools_per_stratum,
            "take_per_school": pilot.plan.take_per_school,
            "sampled_pupils": int(len(pilot.sample)),
            "respondents": int(pilot.sample["responded"].sum()),
            "population_pupils": int(len(pilot.population)),
        },
        "school_sizes_simulated": bool(pilot.schools["size_simulated"].any()),
    }
    if pilot.wave != BASELINE_WAVE:
        effects["planted_change_vs_baseline"] = {
            "cv_any_expected_change_points": {
                "programme_schools": model.change_2026_programme_schools,
                "other_schools": model.change_2026_other_schools,
            },
            "log_odds_shift": {
                "programme_schools": pilot.calibration.wave_shift_programme_schools,
                "other_schools": pilot.calibration.wave_shift_other_schools,
            },
            "cv_any_realised_change": {
                key: realised[key] - baseline[key] for key in realised
            } if baseline else None,
        }
    return effects


def write_wave(pilot: PilotWave, data_dir: Path, model: PlantedModel,
               baseline: dict[str, float] | None) -> list[Path]:
    """Export, ground truth, planted effects and manifest of one wave under ``data_dir``."""
    territory, wave = pilot.territory, pilot.wave
    export_path = data_dir / export_relative_path(territory, wave)
    table = answer_table(pilot.respondents, pilot.schools, territory, wave,
                         wave_rng(pilot.seed, territory, f"export-{wave}"))
    if territory == "FR-OT":
        write_france_csv(table, export_path)
    else:
        write_quebec_xlsx(table, export_path,
                          title=f"Sondage STOP Cyberviolences - Québec - vague {wave} - export des réponses (SYNTHÉTIQUE)",
                          wave_date=datetime(int(wave), 5, 1, 12, 0, 0))
    folder = export_path.parent
    slug = TERRITORY_SLUGS[territory]
    truth_path = folder / f"ground_truth_{slug}_{wave}.csv"
    finite_population_truth(pilot.population, territory, wave).to_csv(truth_path, index=False)
    effects_path = folder / f"planted_effects_{wave}.json"
    effects_path.write_text(json.dumps(planted_effects(pilot, model, baseline), indent=2, ensure_ascii=False),
                            encoding="utf-8")
    manifest = pilot_manifest(territory, wave, pilot.schools, _notes(territory, pilot))
    manifest_path = write_manifest(manifest, data_dir / "sources")
    return [export_path, truth_path, effects_path, manifest_path]


QUEBEC_MARGINS_FILE = "population_margins_qc_estimated.tsv"


def write_estimated_quebec_margins(population: pd.DataFrame, data_dir: Path) -> Path:
    """Level × sex enrolment of the simulated Québec frame, for raking.

    No official split by secondaire level and sex was found (only the 354,188 total), so the
    margins are those of the simulated school sizes and are flagged ESTIMATED wherever used.
    """
    counts = (
        population.groupby(["level", "frame_sex"], observed=True).size()
        .rename("pupils").reset_index().rename(columns={"frame_sex": "sex"})
    )
    counts.insert(0, "territory", "CA-QC")
    counts["status"] = "ESTIMATED"
    counts["note"] = ("Simulated school sizes scaled to the MEQ total of 354,188 public secondary "
                      "pupils (2021); level x sex split estimated, not observed")
    path = data_dir / "reference" / QUEBEC_MARGINS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    counts.to_csv(path, sep="\t", index=False, lineterminator="\n")
    return path


def generate_pilot(data_dir: Path, frames_dir: Path, seed: int,
                   respondents: dict[str, int] | None = None,
                   territories: tuple[str, ...] = TERRITORIES,
                   waves: tuple[str, ...] = WAVES) -> list[Path]:
    """Every wave of every territory written under ``data_dir``; returns the written paths."""
    respondents = respondents or DEFAULT_RESPONDENTS
    written: list[Path] = []
    for territory in territories:
        state = load_territory(territory, frames_dir, seed)
        baseline = None
        for wave in waves:
            pilot = simulate_wave(state, wave, respondents[territory])
            written += write_wave(pilot, data_dir, state.model, baseline)
            if territory == "CA-QC" and wave == waves[0]:
                written.append(write_estimated_quebec_margins(pilot.population, data_dir))
            if wave == BASELINE_WAVE:
                baseline = prevalence_by_programme(pilot.population)
    return written
