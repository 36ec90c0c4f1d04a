"""The hostile fixture files (see fixtures/hostile/make_hostile.py) are read, or fail naming the file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from barometre_pipeline.sources.manifest import ReadOptions
from barometre_pipeline.sources.readers import SourceReadError, read_source_file

HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"
AUTO = ReadOptions()


def read(name: str):
    return read_source_file(HOSTILE / name, AUTO, display_name=f"hostile/{name}")


def data_lines(name: str, encoding: str) -> list[str]:
    """Non-blank physical lines after the header, counted straight from the bytes."""
    text = (HOSTILE / name).read_bytes().decode(encoding)
    lines = text.splitlines()[1:]
    return [line for line in lines if line.strip(";\t, ")]


def assert_rows_accounted(result, expected_input_rows: int) -> None:
    assert result.input_rows == expected_input_rows
    assert result.input_rows == len(result.frame) + len(result.rejects)


def assert_all_text(frame: pd.DataFrame) -> None:
    for column in frame.columns:
        if column == "_source_line":
            assert pd.api.types.is_integer_dtype(frame[column])
        else:
            assert frame[column].map(type).eq(str).all(), column


def test_cp1252_semicolon_file_keeps_french_text_and_reports_decimal_comma():
    result = read("cp1252_semicolon_decimal_comma.csv")
    assert result.encoding == "cp1252"
    assert result.delimiter == ";"
    assert result.decimal == ","
    assert list(result.frame["commentaire"]) == [
        "Cœur brisé à cause d’un message",
        "Dépensé 5 € en skins",
        "élève très exposée",
    ]
    assert list(result.frame["temps_ecran_h"]) == ["3,5", "2", "1 234,5"]
    assert_all_text(result.frame)
    assert_rows_accounted(result, len(data_lines("cp1252_semicolon_decimal_comma.csv", "cp1252")))


def test_latin1_tab_file_round_trips_accents():
    result = read("latin1.csv")
    assert result.encoding in {"cp1252", "latin-1", "iso8859-1"}
    assert result.delimiter == "\t"
    assert "id_répondant" in result.frame.columns
    original = (HOSTILE / "latin1.csv").read_bytes().decode("latin-1").splitlines()
    read_back = [
        "\t".join(row)
        for row in result.frame.drop(columns=["_source_file", "_source_line"]).itertuples(
            index=False
        )
    ]
    assert read_back == original[1:]


def test_utf8_bom_crlf_file_with_quoted_delimiter_and_line_break():
    result = read("utf8_bom_crlf.csv")
    assert result.encoding == "utf-8-sig"
    assert result.frame.columns[0] == "id_repondant"  # no BOM glued to the first header
    assert (
        result.frame.loc[0, "commentaire"] == "Ils m'ont insultée; plusieurs fois\r\nsur Snapchat"
    )
    assert result.frame.loc[2, "commentaire"] == 'guillemets "doublés" ici'
    # The first answer spans lines 2-3, so the next row starts on physical line 4.
    assert list(result.frame["_source_line"]) == [2, 4, 5]
    assert_rows_accounted(result, 3)


def test_truncated_file_rejects_cut_and_overlong_lines_with_their_line_numbers():
    result = read("truncated.csv")
    assert list(result.frame["id_repondant"]) == ["R201", "R203"]
    assert list(result.frame["_source_line"]) == [2, 4]
    by_line = {reject.line: reject for reject in result.rejects}
    assert set(by_line) == {3, 5}
    assert by_line[5].reason == "truncated line: expected 5 fields, got 3"
    assert by_line[5].value == "R204;M;3"
    assert by_line[3].reason == "too many fields: expected 5 fields, got 6"
    assert all(reject.file == "hostile/truncated.csv" for reject in result.rejects)
    assert_rows_accounted(result, len(data_lines("truncated.csv", "utf-8")))


def test_duplicated_respondent_ids_are_all_kept_with_their_lines():
    result = read("duplicated_ids.csv")
    duplicated = result.frame[result.frame["id_repondant"] == "R301"]
    assert list(duplicated["_source_line"]) == [2, 4]
    assert_rows_accounted(result, len(data_lines("duplicated_ids.csv", "utf-8")))


def test_planted_personal_data_is_read_unaltered_for_staging_to_drop():
    result = read("planted_pii.csv")
    answer = result.frame.loc[result.frame["id_repondant"] == "R402", "commentaire_libre"].item()
    assert "lucas.martin@example.org" in answer
    assert "06 12 34 56 78" in answer
    assert result.frame.loc[2, "commentaire_libre"] == ""
    assert_rows_accounted(result, 3)


def test_trailing_empty_columns_and_blank_lines_are_dropped_and_noted():
    result = read("trailing_empty_columns.csv")
    assert list(result.frame.columns) == [
        "id_repondant",
        "sexe",
        "niveau",
        "cv_insultes",
        "_source_file",
        "_source_line",
    ]
    assert list(result.frame["cv_insultes"]) == ["0", "1", ""]
    assert any("blank line" in note for note in result.notes)
    assert any("unnamed empty column" in note for note in result.notes)
    assert_rows_accounted(result, 3)


def test_duplicated_header_names_are_suffixed_and_reported():
    result = read("duplicated_headers.csv")
    assert list(result.frame.columns[:5]) == ["id_repondant", "sexe", "Q1", "Q1 (2)", "q1"]
    assert result.frame.loc[0, "Q1 (2)"] == "1"
    assert any("Q1" in note and "renamed" in note for note in result.notes)


def test_header_only_file_gives_an_empty_frame_with_its_columns():
    result = read("header_only.csv")
    assert result.frame.empty
    assert list(result.frame.columns) == [
        "id_repondant",
        "sexe",
        "niveau",
        "_source_file",
        "_source_line",
    ]
    assert_rows_accounted(result, 0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("empty.csv", "empty"), ("binary_png.csv", "PNG")],
)
def test_empty_and_binary_files_fail_naming_the_file(name: str, expected: str):
    with pytest.raises(SourceReadError) as caught:
        read(name)
    assert name in str(caught.value)
    assert expected in str(caught.value)
    assert caught.value.path.name == name


def test_xlsx_merged_two_row_header_is_combined_and_cells_keep_their_text():
    result = read("merged_header.xlsx")
    assert result.header_row == 2  # the title line and the blank line above are skipped
    assert list(result.frame.columns[:8]) == [
        "Établissement",
        "Élève / Sexe",
        "Élève / Niveau",
        "Cyberviolences / Insultes",
        "Cyberviolences / Rumeurs",
        "Cyberviolences / Photos",
        "Poids",
        "Date de passation",
    ]
    assert list(result.frame["Poids"]) == ["1", "1.25", "0.8"]
    assert list(result.frame["Cyberviolences / Photos"]) == ["3", "0", "0"]
    assert list(result.frame["Date de passation"]) == [
        "2024-03-12",
        "2024-03-12T10:30:00",
        "2024-03-13",
    ]
    assert list(result.frame["_source_line"]) == [5, 6, 7]
    assert [(r.line, r.reason) for r in result.rejects] == [
        (9, "too many fields: expected 8 fields, got 10")
    ]
    assert_all_text(result.frame)
    assert_rows_accounted(result, 4)


def test_generator_reproduces_the_committed_text_fixtures(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_hostile", HOSTILE / "make_hostile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "HERE", tmp_path)
    module.main()
    for generated in tmp_path.iterdir():
        if generated.suffix == ".csv":
            assert generated.read_bytes() == (HOSTILE / generated.name).read_bytes(), generated.name
