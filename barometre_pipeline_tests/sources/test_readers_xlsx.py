"""Excel workbooks: sheet choice, header detection, cell text, and failures naming the file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook

from barometre_pipeline.sources.manifest import ReadOptions
from barometre_pipeline.sources.readers import SourceReadError, read_source_file
from barometre_pipeline.sources.spreadsheet import cell_text


def save(tmp_path: Path, sheets: dict[str, list[list[object]]], name: str = "book.xlsx") -> Path:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (1, "1"),
        (1.0, "1"),
        (-3.0, "-3"),
        (0.1, "0.1"),
        (1234.5678, "1234.5678"),
        (2.0**60, repr(2.0**60)),  # beyond exact float integers: no invented digits
        (True, "TRUE"),
        (dt.datetime(2024, 3, 12), "2024-03-12"),
        (dt.datetime(2024, 3, 12, 8, 5, 9), "2024-03-12T08:05:09"),
        (dt.date(2023, 9, 4), "2023-09-04"),
        (dt.time(14, 30), "14:30:00"),
        ("  texte ", "  texte "),
    ],
)
def test_cell_text_is_what_a_person_typed(value, text):
    assert cell_text(value) == text


def test_first_sheet_by_default_then_by_name_or_index(tmp_path):
    path = save(
        tmp_path,
        {
            "Lisez-moi": [["Notes", "sur", "l'export"], ["a", "b", "c"]],
            "Données": [["id", "sexe"], ["R1", "F"]],
        },
    )
    assert list(read_source_file(path, ReadOptions()).frame.columns[:3]) == [
        "Notes",
        "sur",
        "l'export",
    ]
    for sheet in ("Données", 1):
        result = read_source_file(path, ReadOptions(sheet=sheet))
        assert result.frame.loc[0, "sexe"] == "F"
        assert result.frame.loc[0, "_source_line"] == 2


def test_unknown_sheet_lists_the_sheets(tmp_path):
    path = save(tmp_path, {"Données": [["id", "sexe"]]})
    with pytest.raises(SourceReadError, match=r"book\.xlsx.*'Feuil1'.*Données"):
        read_source_file(path, ReadOptions(sheet="Feuil1"))
    with pytest.raises(SourceReadError, match=r"book\.xlsx.*out of range"):
        read_source_file(path, ReadOptions(sheet=3))


def test_numbers_and_empty_cells_inside_the_table(tmp_path):
    rows = [
        ["id", "poids", "score", "commentaire"],
        ["R1", 1.5, 3, None],
        ["R2", 2.0, None, "ok"],
        [None, None, None, None],
        ["R3", 0.75, 0, ""],
    ]
    result = read_source_file(save(tmp_path, {"S": rows}), ReadOptions())
    assert list(result.frame["poids"]) == ["1.5", "2", "0.75"]
    assert list(result.frame["score"]) == ["3", "", "0"]
    assert list(result.frame["_source_line"]) == [2, 3, 5]
    assert result.input_rows == 3 == len(result.frame) + len(result.rejects)


def test_header_only_sheet_gives_an_empty_frame(tmp_path):
    result = read_source_file(save(tmp_path, {"S": [["id", "sexe"]]}), ReadOptions())
    assert result.frame.empty
    assert list(result.frame.columns) == ["id", "sexe", "_source_file", "_source_line"]


def test_empty_sheet_and_broken_workbook_name_the_file(tmp_path):
    with pytest.raises(SourceReadError, match=r"book\.xlsx is empty"):
        read_source_file(save(tmp_path, {"S": []}), ReadOptions())
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(SourceReadError, match=r"broken\.xlsx"):
        read_source_file(broken, ReadOptions())
    text = tmp_path / "text.xlsx"
    text.write_bytes(b"id;sexe\nR1;F\n")
    with pytest.raises(SourceReadError, match=r"text\.xlsx is not an \.xlsx workbook"):
        read_source_file(text, ReadOptions())


def test_workbook_saved_with_a_csv_name_is_recognised(tmp_path):
    path = save(tmp_path, {"S": [["id", "sexe"], ["R1", "F"]]}, name="export.csv")
    result = read_source_file(path, ReadOptions())
    assert result.delimiter is None
    assert result.frame.loc[0, "id"] == "R1"
