"""National rollout scenario: the national DEPP frame, its margins, and an exact sample size.

Expected figures come from outside the generator: the académie d'Orléans-Tours collège counts in
data/reference/population_margins.tsv (compiled from the DEPP collège file, see its README) and
the DEPP national files themselves, summed here with plain csv reading of their own headers.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from barometre_pipeline.calibration.population_margins import margins_for
from barometre_pipeline.simulate.national import (
    NATIONAL_COLLEGE_FILE,
    NATIONAL_LYCEE_GT_FILE,
    allocate,
    exact_respondents,
    generate_national,
    national_margins,
    read_national_france_frame,
)
from barometre_pipeline.simulate.pilot import simulate_wave, territory_from_frame

FRAMES_DIR = Path(__file__).resolve().parents[2] / "data" / "frames"
REFERENCE = Path(__file__).resolve().parents[2] / "data" / "reference" / "population_margins.tsv"


@pytest.fixture(scope="module")
def frame():
    return read_national_france_frame(FRAMES_DIR)


def _column_sum(path: Path, headers: list[str]) -> int:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = csv.DictReader(handle, delimiter=";")
        return sum(int(row[h] or 0) for row in rows for h in headers)


def test_every_college_and_lycee_gt_of_france_is_in_the_frame(frame):
    assert frame.territory == "FR"
    assert frame.schools["stratum"].nunique() == 30  # every académie, overseas included
    assert 10_000 < len(frame.schools) < 10_500
    college = FRAMES_DIR / NATIONAL_COLLEGE_FILE
    college_pupils = _column_sum(college, [f"{s} {x}" for s in ("6èmes", "5èmes", "4èmes", "3èmes")
                                           for x in ("filles", "garçons")])
    by_level = frame.enrolment.groupby("level")["pupils"].sum()
    assert by_level[["6E", "5E", "4E", "3E"]].sum() == college_pupils
    lycee = FRAMES_DIR / NATIONAL_LYCEE_GT_FILE
    seconde = _column_sum(lycee, ["2ndes_gt_filles", "2ndes_gt_garcons"])
    assert by_level["2NDE"] == seconde


def test_orleans_tours_college_margins_equal_the_published_academie_counts(frame):
    margins = national_margins(frame)
    ot = margins[margins["stratum"] == "FR-A-ORLEANS-TOURS"].set_index(["level", "sex"])["pupils"]
    reference = pd.read_csv(REFERENCE, sep="\t", dtype=str)
    reference = reference[reference["geography_code"] == "FR-ACA-18"]
    for level, label in (("6E", "6e"), ("5E", "5e"), ("4E", "4e"), ("3E", "3e")):
        for sex in ("F", "M"):
            published = reference[(reference["level"] == label) & (reference["sex"] == sex)]
            assert ot[(level, sex)] == int(published["pupils"].iloc[0]), (level, sex)
    assert margins["pupils"].sum() == frame.enrolment["pupils"].sum()


def test_margins_feed_raking_by_academie_level_and_sex(frame, tmp_path):
    (tmp_path / "population_margins_fr_national.tsv").write_text(
        national_margins(frame).to_csv(sep="\t", index=False), encoding="utf-8")
    margins = margins_for("FR", tmp_path)
    assert margins is not None and not margins.estimated
    assert set(margins.totals) == {"level", "sex", "stratum"}
    assert len(margins.totals["stratum"]) == 30
    for totals in margins.totals.values():
        assert sum(totals.values()) == pytest.approx(frame.enrolment["pupils"].sum())


def test_allocation_adds_up_exactly_and_follows_population():
    allocation = allocate(1_000_000, {"FR": 5_024_417, "CA-QC": 354_188}, ("2025", "2026"))
    assert allocation.total == 1_000_000
    fr, qc = allocation.respondents[("FR", "2025")], allocation.respondents[("CA-QC", "2025")]
    assert fr / qc == pytest.approx(5_024_417 / 354_188, rel=1e-3)


def test_exact_respondents_trims_the_surplus_and_refuses_a_shortfall(frame):
    territory = territory_from_frame(frame, seed=11)
    pilot = simulate_wave(territory, "2025", 3_000)
    got = int(pilot.sample["responded"].sum())
    assert got > 2_900
    trimmed = exact_respondents(pilot, 2_900, np.random.default_rng(1))
    assert len(trimmed.respondents) == 2_900
    assert len(exact_respondents(pilot, got, np.random.default_rng(1)).respondents) == got
    with pytest.raises(ValueError, match="too small"):
        exact_respondents(pilot, got + 1, np.random.default_rng(1))


def test_generated_scenario_has_exactly_the_requested_respondents(tmp_path):
    written = generate_national(tmp_path, FRAMES_DIR, seed=5, n_respondents=4_001, waves=("2025",))
    exports = [p for p in written if p.name.startswith("export_questionnaire")]
    rows = 0
    for path in exports:
        if path.suffix == ".csv":
            rows += len(pd.read_csv(path, sep=";", encoding="utf-8-sig"))
        else:
            rows += len(pd.read_excel(path, header=1))
    assert rows == 4_001
    manifests = sorted(p.name for p in (tmp_path / "sources").glob("*.yaml"))
    assert manifests == ["pilot_france_2025.yaml", "pilot_quebec_2025.yaml"]
    assert (tmp_path / "reference" / "population_margins_fr_national.tsv").exists()
