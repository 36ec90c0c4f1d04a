"""Read errors say what was found (issue 9): a declared delimiter or encoding that does not fit
names the one the file appears to use, and a file that fits is read without complaint."""

from __future__ import annotations

from pathlib import Path

import pytest

from barometre_pipeline.sources.ingest import read_raw_source
from barometre_pipeline.sources.manifest import Manifest

HEADER = ["ID réponse", "Sexe", "Âge", "Établissement"]
ROWS = [["A1", "Fille", "12", "Collège Éluard"], ["A2", "Garçon", "13", "Collège Éluard"],
        ["A3", "Fille", "14", "Lycée Zola"]]


def _manifest(data_dir: Path, encoding: str, delimiter: str) -> Manifest:
    manifest = Manifest.model_validate({
        "id": "test_source", "family": "public", "kind": "aggregates",
        "provenance": {"publisher": "Test", "title": "Test", "licence": "test", "period": "2025",
                       "territory": "FR"},
        "files": "raw/test/*.csv",
        "read": {"encoding": encoding, "delimiter": delimiter},
        "columns": {"indicator_code": {"source": "ID réponse"}},
    })
    return manifest.model_copy(update={"manifest_path": data_dir / "sources" / "test.yaml"})


def _write(data_dir: Path, delimiter: str, encoding: str) -> None:
    folder = data_dir / "raw" / "test"
    folder.mkdir(parents=True)
    text = "\r\n".join(delimiter.join(r) for r in [HEADER, *ROWS]) + "\r\n"
    (folder / "export.csv").write_bytes(text.encode(encoding))


def test_a_comma_file_under_a_semicolon_manifest_is_called_comma_delimited(tmp_path):
    _write(tmp_path, ",", "utf-8")
    raw = read_raw_source(_manifest(tmp_path, "utf-8", ";"), tmp_path)
    assert raw.error is not None
    assert "raw/test/export.csv" in raw.error
    assert "comma-delimited" in raw.error and "';'" in raw.error
    assert "required column" not in raw.error
    assert str(tmp_path) not in raw.error, "a local path in a message that gets published"


def test_a_cp1252_comma_file_under_a_utf8_semicolon_manifest_names_both(tmp_path):
    _write(tmp_path, ",", "cp1252")
    raw = read_raw_source(_manifest(tmp_path, "utf-8-sig", ";"), tmp_path)
    assert raw.error is not None
    assert "cp1252-encoded" in raw.error and "comma-delimited" in raw.error
    assert "utf-8-sig" in raw.error
    assert str(tmp_path) not in raw.error


@pytest.mark.parametrize(("delimiter", "encoding", "declared_encoding"),
                         [(";", "utf-8", "utf-8"), (",", "utf-8", "utf-8"),
                          (";", "cp1252", "cp1252"), ("\t", "cp1252", "auto")])
def test_a_file_that_fits_its_manifest_is_read(tmp_path, delimiter, encoding, declared_encoding):
    _write(tmp_path, delimiter, encoding)
    raw = read_raw_source(_manifest(tmp_path, declared_encoding, delimiter), tmp_path)
    assert raw.error is None
    assert len(raw.frame) == len(ROWS)
    assert list(raw.frame.columns[:4]) == HEADER


def test_a_one_column_file_under_a_semicolon_manifest_is_read(tmp_path):
    """No other delimiter splits it either: nothing to correct."""
    folder = tmp_path / "raw" / "test"
    folder.mkdir(parents=True)
    (folder / "export.csv").write_text("ID réponse\nA1\nA2\n", encoding="utf-8")
    raw = read_raw_source(_manifest(tmp_path, "utf-8", ";"), tmp_path)
    assert raw.error is None and len(raw.frame) == 2
