"""`barometre check`: a broken manifest or a missing file gives a plain message naming the file."""

import shutil

import pytest

from barometre_pipeline.cli import main
from barometre_pipeline.settings import PROJECT_ROOT


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    target = tmp_path / "data"
    target.mkdir()
    for name in ("codebook.yaml", "indicators.yaml"):
        shutil.copy(PROJECT_ROOT / "data" / name, target)
    (target / "sources").mkdir()
    shutil.copy(PROJECT_ROOT / "data" / "sources" / "public_int_hbsc.yaml", target / "sources")
    shutil.copytree(PROJECT_ROOT / "data" / "raw" / "public", target / "raw" / "public")
    monkeypatch.setenv("BAROMETRE_DATA_DIR", str(target))
    return target


def test_valid_data_passes(data_dir, capsys):
    assert main(["check"]) == 0
    assert "1 sources declared" in capsys.readouterr().err


def test_broken_manifest_names_file_and_field(data_dir, capsys):
    path = data_dir / "sources" / "public_int_hbsc.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("family: public", "family: blog"),
                    encoding="utf-8")
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert "public_int_hbsc.yaml" in err and "`family`" in err and "Traceback" not in err


def test_missing_file_is_a_warning_naming_the_manifest(data_dir, capsys):
    for file in (data_dir / "raw" / "public").glob("int_hbsc*"):
        file.unlink()
    assert main(["check"]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "public_int_hbsc.yaml" in err and "matches no file" in err
