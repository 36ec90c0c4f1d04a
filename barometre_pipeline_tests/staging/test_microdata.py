"""Staging of a small, deliberately messy questionnaire export."""

from pathlib import Path

import pandas as pd
import pytest

from barometre_pipeline.settings import PROJECT_ROOT
from barometre_pipeline.sources.ingest import read_raw_source
from barometre_pipeline.sources.manifest import load_manifest
from barometre_pipeline.staging.codebook import load_codebook
from barometre_pipeline.staging.microdata import stage_microdata

FIXTURES = Path(__file__).parent.parent / "fixtures" / "staging"
KEY = b"test-key"


@pytest.fixture(scope="module")
def staged():
    manifest = load_manifest(FIXTURES / "mini_export.yaml")
    raw = read_raw_source(manifest, FIXTURES)
    assert raw.error is None
    codebook = load_codebook(PROJECT_ROOT / "data" / "codebook.yaml")
    return stage_microdata(raw.frame, manifest, codebook, pseudonym_key=KEY, decimal=",")


def test_rows_are_conserved(staged):
    assert staged.input_rows == 10
    assert len(staged.staged) + staged.rejected_rows == staged.input_rows


def test_each_bad_row_is_rejected_with_its_reason(staged):
    by_line = staged.rejects.groupby("line")["reason"].apply(" | ".join).to_dict()
    # line numbers are physical lines: the header is line 1
    assert "value map of `cv_insults`" in by_line[6]  # "Souvent" is not a frequency answer
    assert "positive number" in by_line[7]  # negative weight
    assert "direct identifier detected: e-mail address" in by_line[8]  # e-mail in the school column
    assert "duplicated respondent id" in by_line[9]  # R2 again
    assert "out of range" in by_line[10]  # age 31
    assert set(by_line) == {6, 7, 8, 9, 10}


def test_rejects_never_carry_the_identifier_in_clear(staged):
    assert not staged.rejects["value"].astype(str).str.contains("moi@exemple.fr").any()


def test_identifiers_and_free_text_are_dropped_and_ids_pseudonymised(staged):
    columns = set(staged.staged.columns)
    assert not {"Adresse IP", "Commentaire", "ID réponse"} & columns
    assert not staged.staged["respondent_pid"].isin(["R1", "R2", "R3"]).any()
    assert staged.staged["respondent_pid"].str.len().eq(20).all()


def test_values_are_mapped_typed_and_derived(staged):
    table = staged.staged.set_index("_source_line")
    assert table.loc[2, "sex"] == "F" and table.loc[5, "sex"] == "X"
    assert table.loc[2, "level"] == "6E" and table.loc[2, "grade_group"] == "COLLEGE"
    assert table.loc[2, "screen_time_hours"] == pytest.approx(3.5)  # decimal comma
    assert table.loc[2, "design_weight"] == pytest.approx(12.5)
    assert bool(table.loc[2, "cv_any"]) is True  # rumours once
    assert bool(table.loc[4, "cv_any"]) is False  # never, never
    assert bool(table.loc[3, "cv_repeated"]) is True  # insults 2-3 times
    # "Je ne sais pas" is a missing answer, not an error; insults 4+ times still make a victim
    assert pd.isna(table.loc[5, "cv_rumours"]) and bool(table.loc[5, "cv_any"]) is True
    # a pupil who answered no item is unknown, not a non-victim
    assert pd.isna(table.loc[11, "cv_any"])
    assert table.loc[2, "age_band"] == "11-12" and table.loc[5, "age_band"] == "13-14"


def test_pseudonyms_depend_on_the_key(staged):
    manifest = load_manifest(FIXTURES / "mini_export.yaml")
    raw = read_raw_source(manifest, FIXTURES)
    codebook = load_codebook(PROJECT_ROOT / "data" / "codebook.yaml")
    other = stage_microdata(raw.frame, manifest, codebook, pseudonym_key=b"other-key", decimal=",")
    assert set(other.staged["respondent_pid"]).isdisjoint(staged.staged["respondent_pid"])


def test_a_missing_required_column_names_the_file_and_field(tmp_path):
    text = (FIXTURES / "mini_export.csv").read_text(encoding="utf-8").replace("Sexe", "Genre")
    (tmp_path / "mini_export.csv").write_text(text, encoding="utf-8")
    manifest = load_manifest(FIXTURES / "mini_export.yaml")
    raw = read_raw_source(manifest, tmp_path)
    codebook = load_codebook(PROJECT_ROOT / "data" / "codebook.yaml")
    with pytest.raises(Exception) as error:
        stage_microdata(raw.frame, manifest, codebook, pseudonym_key=KEY, decimal=",")
    assert "mini_export.csv" in str(error.value) and "sex" in str(error.value)
