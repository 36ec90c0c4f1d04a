"""CSV bundles: French spreadsheet format, no executable formula, reproducible zips."""

from __future__ import annotations

import csv
import io
import zipfile

from barometre_pipeline.publish.csv_bundle import format_cell, neutralise_formula, write_csv_bundles
from barometre_pipeline.publish.dictionary import build_data_dictionary


def _bundles(tmp_path, indicators_frame, catalogue):
    return write_csv_bundles(indicators_frame, tmp_path, build_data_dictionary(catalogue))


def _rows(raw: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_one_zip_per_territory_with_csv_dictionary_and_readme(tmp_path, indicators_frame, catalogue):
    paths = _bundles(tmp_path, indicators_frame, catalogue)
    assert sorted(p.name for p in paths) == sorted(f"barometre_{t}_v1.zip" for t in set(indicators_frame["territory"]))
    with zipfile.ZipFile(tmp_path / "csv" / "barometre_FR-OT_v1.zip") as archive:
        assert set(archive.namelist()) == {"indicateurs.csv", "LISEZMOI.txt", "data_dictionary.json", "data_dictionary.md", "data_dictionary.html"}
        raw = archive.read("indicateurs.csv")
        readme = archive.read("LISEZMOI.txt").decode("utf-8-sig")
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw[3:].split(b"\r\n")[0].startswith(b"indicator_code;indicator_label_fr;")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    rows = _rows(raw)
    assert {r["territory"] for r in rows} == {"FR-OT"}
    assert len(rows) == (indicators_frame["territory"] == "FR-OT").sum()
    assert "Licence Ouverte 2.0" in readme and "SYNTHÉTIQUES" in readme and "point-virgule" in readme


def test_decimal_comma_and_suppressed_cells(tmp_path, indicators_frame, catalogue):
    _bundles(tmp_path, indicators_frame, catalogue)
    with zipfile.ZipFile(tmp_path / "csv" / "barometre_FR-OT_v1.zip") as archive:
        rows = _rows(archive.read("indicateurs.csv"))
    headline = next(r for r in rows if r["indicator_code"] == "CV_ANY" and r["breakdown"] == "_T")
    assert headline["estimate"] == "0,312" and headline["ci_low"] == "0,281" and headline["suppressed"] == "non"
    suppressed = next(r for r in rows if r["sex"] == "X")
    assert suppressed["estimate"] == "" and suppressed["suppressed"] == "oui" and suppressed["n_unweighted"] == "15"


def test_a_planted_formula_label_comes_out_neutralised(tmp_path, indicators_frame, catalogue):
    _bundles(tmp_path, indicators_frame, catalogue)
    with zipfile.ZipFile(tmp_path / "csv" / "barometre_FR-OT_v1.zip") as archive:
        rows = _rows(archive.read("indicateurs.csv"))
    label = next(r["indicator_label_fr"] for r in rows if r["indicator_code"] == "CV_THREATS")
    assert label.startswith("'=HYPERLINK(")
    every_cell = [v for r in rows for v in r.values()]
    assert not [v for v in every_cell if v[:1] in ("=", "+", "@", "\t", "\r")]


def test_only_text_cells_are_neutralised():
    assert neutralise_formula("-2+3") == "'-2+3"
    assert neutralise_formula("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise_formula("\tx") == "'\tx"
    assert neutralise_formula("Victime") == "Victime"
    assert format_cell(-0.25) == "-0,25"
    assert format_cell(-3) == "-3"
    assert format_cell(1e-05) == "0,00001"
    assert format_cell(True) == "oui" and format_cell(None) == "" and format_cell(float("nan")) == ""


def test_reruns_give_byte_identical_zips(tmp_path, indicators_frame, catalogue):
    first = [p.read_bytes() for p in sorted(_bundles(tmp_path / "a", indicators_frame, catalogue))]
    shuffled = indicators_frame.sample(frac=1.0, random_state=7)
    second = [p.read_bytes() for p in sorted(_bundles(tmp_path / "b", shuffled, catalogue))]
    assert first == second
