"""The written pilot: determinism, export quirks, manifests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from openpyxl import load_workbook

from barometre_pipeline.simulate.cli import build_parser
from barometre_pipeline.simulate.manifests import export_relative_path
from barometre_pipeline.simulate.pilot import (
    DEFAULT_RESPONDENTS,
    generate_pilot,
    load_territory,
    simulate_wave,
)
from barometre_pipeline.sources.manifest import load_manifest, load_manifests, source_files

from .conftest import FRAMES_DIR, SMALL

CODEBOOK = yaml.safe_load((Path(__file__).resolve().parents[2] / "data" / "codebook.yaml").read_text("utf-8"))
DERIVED = {name for name, spec in CODEBOOK["variables"].items() if spec.get("derived")}


def _read_export(data_dir: Path, territory: str, wave: str) -> pd.DataFrame:
    path = data_dir / export_relative_path(territory, wave)
    if territory == "FR-OT":
        return pd.read_csv(path, sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    return pd.read_excel(path, sheet_name="Réponses", header=1, dtype=str).fillna("")


def test_same_seed_same_files_other_seed_other_files(small_pilot: Path, tmp_path: Path):
    again = tmp_path / "again"
    other = tmp_path / "other"
    generate_pilot(again, FRAMES_DIR, seed=7, respondents=SMALL)
    generate_pilot(other, FRAMES_DIR, seed=8, respondents=SMALL, territories=("FR-OT",))
    for relative in ("raw/pilot/orleans_tours/2025/export_questionnaire_2025.csv",
                     "raw/pilot/orleans_tours/2026/ground_truth_orleans_tours_2026.csv",
                     "sources/pilot_orleans_tours_2026.yaml",
                     "raw/pilot/quebec/2025/export_questionnaire_2025.xlsx"):
        assert (again / relative).read_bytes() == (small_pilot / relative).read_bytes(), relative
    export = "raw/pilot/orleans_tours/2025/export_questionnaire_2025.csv"
    assert (other / export).read_bytes() != (small_pilot / export).read_bytes()


def test_france_export_has_the_tool_quirks(small_pilot: Path):
    raw = (small_pilot / export_relative_path("FR-OT", "2025")).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw[3:raw.index(b"\r\n")].decode("utf-8")
    assert header.split(";")[:2] == ["ID réponse", "Date de soumission"]
    assert "Établissement (UAI)" in header and "Veux-tu nous dire autre chose ?" in header
    body_lines = raw.split(b"\r\n")
    assert len(body_lines) > SMALL["FR-OT"] * 0.9
    table = _read_export(small_pilot, "FR-OT", "2025")
    assert set(table["Sexe"]) <= {"Fille", "Garçon", "Autre / préfère ne pas répondre"}
    assert set(table["Niveau"]) == {"6e", "5e", "4e", "3e", "2nde", "1re", "Terminale"}
    item = "Depuis la rentrée, combien de fois as-tu reçu des insultes ou des moqueries en ligne ?"
    assert set(table[item]) <= {"Jamais", "1 fois", "2 à 3 fois", "4 fois ou plus"}
    assert table["Poids de tirage"].str.contains(",").all()
    assert table["Date de soumission"].str.fullmatch(r"\d\d/\d\d/2025 \d\d:\d\d:\d\d").all()
    free_text = table["Veux-tu nous dire autre chose ?"]
    assert (free_text == "").mean() > 0.8
    yes_no = table.filter(like="?").stack()
    assert (yes_no == "Je ne sais pas").any()


def test_quebec_export_is_a_workbook_with_a_title_line(small_pilot: Path):
    path = small_pilot / export_relative_path("CA-QC", "2026")
    sheet = load_workbook(path, read_only=True)["Réponses"]
    rows = sheet.iter_rows(min_row=1, max_row=3, values_only=True)
    title, header, first = next(rows), next(rows), next(rows)
    assert "SYNTHÉTIQUE" in title[0]
    assert header[:5] == ("Numéro de fiche", "Horodatage", "Adresse IP", "Courriel", "Code d'organisme")
    weight = first[header.index("Pondération")]
    assert isinstance(weight, float) and weight > 1
    table = _read_export(small_pilot, "CA-QC", "2026")
    assert set(table["Niveau scolaire"]) == {f"Secondaire {i}" for i in range(1, 6)}
    item = "Au cours des 12 derniers mois, as-tu reçu des insultes ou des moqueries en ligne ?"
    assert set(table[item]) <= {"Jamais", "Une fois", "2 ou 3 fois", "4 fois ou plus"}


@pytest.mark.parametrize("territory", ["FR-OT", "CA-QC"])
def test_manifests_load_and_map_every_answer_of_the_export(small_pilot: Path, territory: str):
    manifests = [m for m in load_manifests(small_pilot) if m.provenance.territory == territory]
    assert {m.provenance.period for m in manifests} == {"2025", "2026"}
    missing = set(CODEBOOK["missing"])
    for manifest in manifests:
        assert manifest.family == "pilot" and manifest.provenance.synthetic
        assert "SYNTHETIQUE" in manifest.provenance.quality_flags
        assert len(source_files(manifest, small_pilot)) == 1
        table = _read_export(small_pilot, territory, manifest.provenance.period)
        design = manifest.design
        for column in (design.weight, design.strata, design.psu, design.fpc, manifest.respondent_id,
                       *manifest.identifiers, *manifest.free_text):
            assert column in table.columns, column
        for canonical, mapping in manifest.columns.items():
            assert canonical in CODEBOOK["variables"] and canonical not in DERIVED, canonical
            assert mapping.source in table.columns, mapping.source
            if mapping.values is not None:
                answers = set(table[mapping.source]) - missing
                assert answers <= set(mapping.values), (canonical, answers - set(mapping.values))
        assert manifest.columns["psu"].source == manifest.columns["school_id"].source == design.psu


def test_shipped_pilot_manifests_load_and_their_cells_are_large_enough():
    data_dir = Path(__file__).resolve().parents[2] / "data"
    paths = sorted((data_dir / "sources").glob("pilot_*.yaml"))
    assert len(paths) == 4
    for path in paths:
        manifest = load_manifest(path)
        (export,) = source_files(manifest, data_dir)
        if export.suffix != ".csv":
            continue  # reading the workbooks is slow: Québec cells are checked in memory below
        table = pd.read_csv(export, sep=";", encoding="utf-8-sig", dtype=str)
        sex, level = manifest.columns["sex"].source, manifest.columns["level"].source
        binary = table[table[sex].isin(["Fille", "Garçon"])]
        assert binary.groupby([sex, level]).size().min() >= 30, path.name


def test_default_quebec_sample_has_30_respondents_per_sex_and_level():
    territory = load_territory("CA-QC", FRAMES_DIR, seed=2025)
    respondents = simulate_wave(territory, "2025", DEFAULT_RESPONDENTS["CA-QC"]).respondents
    binary = respondents[respondents["sex"].isin(["F", "M"])]
    assert binary.groupby(["sex", "level"], observed=True).size().min() >= 30


def test_cli_help_documents_the_flags():
    help_text = build_parser().format_help()
    for flag in ("--seed", "--out", "--n-respondents", "--territory", "--wave"):
        assert flag in help_text
