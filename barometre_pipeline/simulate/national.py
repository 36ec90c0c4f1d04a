"""National rollout scenario: every collège and lycée GT of France, plus Québec, sampled by académie.

France: the national DEPP files copied into ``data/frames/`` (sources in data/frames/SOURCES.md):
every collège at rentrée 2022 (``fr-en-college-effectifs-niveau-sexe-lv_2022_france.csv``, French
headers) and every lycée général et technologique at rentrée 2021
(``fr-en-lycee_gt-effectifs-niveau-sexe-lv_2021_france.csv``, snake_case headers). No national
lycée professionnel file is available offline, so bac pro pupils are NOT in the national
population (the Orléans-Tours pilot has them); the two vintages (2022 collège, 2021 lycée) are
combined as they are. The finite population is every pupil of those files by level × sex; the
stratum is the académie. Québec is the pilot's frame (simulated school sizes, 593 public
organisations), stratified by groups of administrative regions.

``n_respondents`` is the exact total over every territory and wave: the sample is planned a little
larger than needed and the surplus respondents are turned into nonrespondents at random (an
extra, ignorable nonresponse that the raking absorbs), so ``--n-respondents 1000000`` gives
1,000,000 rows in the exports.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from barometre_pipeline.calibration.population_margins import NATIONAL_MARGINS
from barometre_pipeline.simulate.frames import (
    SchoolFrame,
    _count,
    _first_column,
    _france_school_rows,
    _long_enrolment,
    _matching,
    _read_depp_csv,
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
from barometre_pipeline.simulate.pilot import (
    PilotWave,
    Territory,
    planted_effects,
    simulate_wave,
    territory_from_frame,
    write_estimated_quebec_margins,
)
from barometre_pipeline.simulate.planted_model import BASELINE_WAVE, WAVES
from barometre_pipeline.simulate.population import wave_rng
from barometre_pipeline.simulate.questionnaire_export import (
    answer_table,
    write_france_csv,
    write_quebec_xlsx,
)
from barometre_pipeline.simulate.sampling import DEFAULT_TAKE_PER_SCHOOL

NATIONAL_COLLEGE_FILE = "fr-en-college-effectifs-niveau-sexe-lv_2022_france.csv"
NATIONAL_LYCEE_GT_FILE = "fr-en-lycee_gt-effectifs-niveau-sexe-lv_2021_france.csv"
NATIONAL_TERRITORIES = ("FR", "CA-QC")
NATIONAL_MARGINS_FILE = NATIONAL_MARGINS
NATIONAL_DEFAULT_RESPONDENTS = 1_000_000
# Plan this much more than needed, then drop the surplus: the total is then exact.
_OVERSAMPLING = 1.03


def academie_code(name: str) -> str:
    """Stratum code of an académie, e.g. ``ORLEANS-TOURS`` -> ``FR-A-ORLEANS-TOURS``."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").upper()
    return "FR-A-" + re.sub(r"[^A-Z0-9]+", "-", text).strip("-")


def read_national_france_frame(frames_dir: Path) -> SchoolFrame:
    """Every collège (2022) and lycée GT (2021) of France with pupils by level (6E..TLE) and sex.

    Lycée levels count the general and technological tracks with a sex split (STHR/TMD/BT have
    none and are left out, as in the académie frame); a UAI in both files is one school.
    """
    college = _read_depp_csv(frames_dir / NATIONAL_COLLEGE_FILE)
    lycee = _read_depp_csv(frames_dir / NATIONAL_LYCEE_GT_FILE)
    college_rows = _france_school_rows(
        college, _first_column(college, "numero_du_college", "numero_college", "uai"),
        _first_column(college, "secteur"), _first_column(college, "rep"),
        _first_column(college, "rep_+", "rep_plus", "rep+"))
    lycee_rows = _france_school_rows(lycee, _first_column(lycee, "numero_lycee", "uai"),
                                     _first_column(lycee, "secteur"), None, None)
    college_rows["academie"] = college["academie"].map(academie_code).to_numpy()
    lycee_rows["academie"] = lycee["academie"].map(academie_code).to_numpy()

    counts: dict[tuple[str, str], np.ndarray] = {}
    for level, stem in zip(("6E", "5E", "4E", "3E"), ("6emes", "5emes", "4emes", "3emes"),
                           strict=True):
        counts[(level, "F")] = _count(college, [_first_column(college, f"{stem}_filles")])
        counts[(level, "M")] = _count(college, [_first_column(college, f"{stem}_garcons")])
    parts = [_long_enrolment(college_rows["school_id"].to_numpy(), counts)]
    counts = {}
    track = r"(g|gt|sti2d|stl|stmg|st2s|std2a)"
    for level, stem in (("2NDE", "2ndes"), ("1RE", "1eres"), ("TLE", "terminales")):
        counts[(level, "F")] = _count(lycee, _matching(lycee, rf"{stem}_{track}_filles"))
        counts[(level, "M")] = _count(lycee, _matching(lycee, rf"{stem}_{track}_garcons"))
    parts.append(_long_enrolment(lycee_rows["school_id"].to_numpy(), counts))
    enrolment = (pd.concat(parts, ignore_index=True)
                 .groupby(["school_id", "level", "sex"], as_index=False, sort=True)["pupils"].sum())
    enrolment = enrolment[enrolment["pupils"] > 0].reset_index(drop=True)

    schools = pd.concat([college_rows, lycee_rows], ignore_index=True)
    schools = schools.drop_duplicates("school_id", keep="first")
    schools = schools[schools["school_id"].isin(enrolment["school_id"])]
    schools = schools.sort_values("school_id").reset_index(drop=True)
    schools.insert(1, "territory", "FR")
    schools.insert(2, "stratum", schools.pop("academie"))
    schools["region_qc"] = None
    schools["region_name"] = None
    schools["size_simulated"] = False
    return SchoolFrame("FR", schools, enrolment)


def national_margins(frame: SchoolFrame) -> pd.DataFrame:
    """Population margins for raking: pupils by académie × level × sex (F, M) of the frame."""
    stratum = frame.schools.set_index("school_id")["stratum"]
    table = frame.enrolment.assign(stratum=frame.enrolment["school_id"].map(stratum))
    margins = (table.groupby(["stratum", "level", "sex"], as_index=False, sort=True)["pupils"]
               .sum())
    margins.insert(0, "territory", "FR")
    margins["status"] = "OBSERVED"
    margins["note"] = ("DEPP open data: every collège, rentrée 2022 (levels 6E-3E) and every "
                       "lycée GT, rentrée 2021 (2NDE-TLE, general and technological tracks); "
                       "lycées professionnels not included (no national file offline)")
    return margins


def write_national_margins(frame: SchoolFrame, data_dir: Path) -> Path:
    path = data_dir / "reference" / NATIONAL_MARGINS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    national_margins(frame).to_csv(path, sep="\t", index=False, lineterminator="\n")
    return path


@dataclass(frozen=True)
class NationalAllocation:
    """Respondents per territory × wave, adding up exactly to the requested total."""

    respondents: dict[tuple[str, str], int]

    @property
    def total(self) -> int:
        return sum(self.respondents.values())


def allocate(total: int, population: dict[str, int], waves: tuple[str, ...]) -> NationalAllocation:
    """Proportional to each territory's pupils, equal across waves; remainders to the largest."""
    cells = [(t, w) for t in population for w in waves]
    weights = np.array([population[t] for t, _ in cells], dtype=float)
    shares = np.floor(total * weights / weights.sum()).astype(np.int64)
    shares[int(np.argmax(weights))] += total - int(shares.sum())
    return NationalAllocation({cell: int(n) for cell, n in zip(cells, shares, strict=True)})


def exact_respondents(pilot: PilotWave, target: int, rng: np.random.Generator) -> PilotWave:
    """Turn surplus respondents into nonrespondents at random, so exactly ``target`` remain."""
    responded = pilot.sample["responded"].to_numpy().copy()
    surplus = int(responded.sum()) - target
    if surplus < 0:
        raise ValueError(f"{pilot.territory} {pilot.wave}: only {responded.sum()} respondents for "
                         f"a target of {target}; the frame is too small for this sample size")
    drop = rng.choice(np.flatnonzero(responded), size=surplus, replace=False)
    responded[drop] = False
    sample = pilot.sample.copy()
    sample["responded"] = responded
    return PilotWave(pilot.territory, pilot.wave, pilot.schools, pilot.population, sample,
                     pilot.plan, pilot.calibration, pilot.seed)


def _notes(pilot: PilotWave) -> str:
    common = (
        "Données SYNTHÉTIQUES (scénario de déploiement national, barometre_pipeline.simulate."
        "national): aucun élève réel. Sondage stratifié à deux degrés, établissements tirés avec "
        f"probabilité proportionnelle à la taille, {pilot.plan.take_per_school} élèves par "
        "établissement; poids de tirage avant non-réponse (à caler sur les marges). "
    )
    if pilot.territory == "FR":
        return common + ("Base: tous les collèges (DEPP, rentrée 2022) et tous les lycées GT "
                         "(DEPP, rentrée 2021) de France; lycées professionnels absents (pas de "
                         "fichier national hors ligne). Strate = académie.")
    return common + ("Base: 593 organismes publics du secondaire (MEQ, 2022-12-05); TAILLES, "
                     "NIVEAUX ET SEXE SIMULÉS, calés sur 354 188 élèves (MEQ 2021). Strate = "
                     "groupe de régions administratives.")


def write_national_wave(pilot: PilotWave, territory: Territory, data_dir: Path,
                        baseline: dict[str, float] | None) -> list[Path]:
    code, wave = pilot.territory, pilot.wave
    export_path = data_dir / export_relative_path(code, wave)
    table = answer_table(pilot.respondents, pilot.schools, code, wave,
                         wave_rng(pilot.seed, code, f"export-{wave}"))
    if code == "FR":
        write_france_csv(table, export_path)
    else:
        write_quebec_xlsx(table, export_path,
                          title=f"Sondage STOP Cyberviolences - Québec - vague {wave} - export des "
                                "réponses (SYNTHÉTIQUE, scénario national)",
                          wave_date=datetime(int(wave), 5, 1, 12, 0, 0))
    folder = export_path.parent
    truth = folder / f"ground_truth_{TERRITORY_SLUGS[code]}_{wave}.csv"
    finite_population_truth(pilot.population, code, wave).to_csv(truth, index=False)
    effects = folder / f"planted_effects_{wave}.json"
    effects.write_text(json.dumps(planted_effects(pilot, territory.model, baseline), indent=2,
                                  ensure_ascii=False), encoding="utf-8")
    manifest = write_manifest(pilot_manifest(code, wave, pilot.schools, _notes(pilot)),
                              data_dir / "sources")
    return [export_path, truth, effects, manifest]


def generate_national(data_dir: Path, frames_dir: Path, seed: int, n_respondents: int,
                      waves: tuple[str, ...] = WAVES,
                      take_per_school: int = DEFAULT_TAKE_PER_SCHOOL) -> list[Path]:
    """The national scenario under ``data_dir``: exactly ``n_respondents`` over all exports."""
    territories = {
        "FR": territory_from_frame(read_national_france_frame(frames_dir), seed),
        "CA-QC": territory_from_frame(
            read_quebec_frame(frames_dir, wave_rng(seed, "CA-QC", "frame")), seed),
    }
    population = {code: int(t.frame.enrolment["pupils"].sum()) for code, t in territories.items()}
    allocation = allocate(n_respondents, population, tuple(sorted(waves)))
    written = [write_national_margins(territories["FR"].frame, data_dir)]
    for code, territory in territories.items():
        baseline = None
        for wave in sorted(waves):
            target = allocation.respondents[(code, wave)]
            pilot = simulate_wave(territory, wave, int(np.ceil(target * _OVERSAMPLING)),
                                  take_per_school)
            pilot = exact_respondents(pilot, target, wave_rng(seed, code, f"exact-{wave}"))
            written += write_national_wave(pilot, territory, data_dir, baseline)
            if code == "CA-QC" and wave == sorted(waves)[0]:
                written.append(write_estimated_quebec_margins(pilot.population, data_dir))
            if wave == BASELINE_WAVE:
                baseline = prevalence_by_programme(pilot.population)
    return written
