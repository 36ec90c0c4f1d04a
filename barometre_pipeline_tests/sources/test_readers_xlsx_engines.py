"""The fast XLSX path (calamine) reads exactly what the openpyxl path reads."""

from pathlib import Path

import pytest

import barometre_pipeline.sources.spreadsheet as spreadsheet
from barometre_pipeline.settings import PROJECT_ROOT
from barometre_pipeline.sources.manifest import ReadOptions
from barometre_pipeline.sources.readers import read_source_file

HOSTILE = Path(__file__).parent.parent / "fixtures" / "hostile" / "merged_header.xlsx"
QUEBEC = PROJECT_ROOT / "data" / "raw" / "pilot" / "quebec" / "2025" / "export_questionnaire_2025.xlsx"


@pytest.mark.parametrize(("path", "options"), [
    (HOSTILE, ReadOptions()),
    (QUEBEC, ReadOptions(format="xlsx", sheet="Réponses", header_row=1)),
])
def test_fast_and_fallback_readers_agree(path, options, monkeypatch):
    assert spreadsheet._fast_rows(path, spreadsheet.openpyxl.load_workbook(
        path, read_only=True).sheetnames[0]) is not None, "calamine should be installed"
    fast = read_source_file(path, options, display_name=path.name)
    monkeypatch.setattr(spreadsheet, "_fast_rows", lambda _path, _sheet: None)
    fallback = read_source_file(path, options, display_name=path.name)
    assert fast.frame.equals(fallback.frame)
    assert fast.header_row == fallback.header_row and len(fast.rejects) == len(fallback.rejects)
    assert len(fast.frame) > 0


@pytest.mark.parametrize(("path", "options"), [
    (HOSTILE, ReadOptions()),
    (QUEBEC, ReadOptions(format="xlsx", sheet="Réponses", header_row=1)),
])
def test_fast_path_never_loads_the_workbook_in_openpyxl(path, options, monkeypatch):
    reference = read_source_file(path, options, display_name=path.name)
    reference_merges = spreadsheet._load_rows_openpyxl(path, options.sheet)[1]

    def refuse(*_args, **_kwargs):
        raise AssertionError("openpyxl.load_workbook called on the fast path")

    monkeypatch.setattr(spreadsheet.openpyxl, "load_workbook", refuse)
    fast = read_source_file(path, options, display_name=path.name)
    assert fast.frame.equals(reference.frame) and fast.notes == reference.notes
    assert spreadsheet._load_rows(path, options.sheet)[1] == reference_merges
    if path == HOSTILE:
        assert reference_merges, "the hostile fixture has merged header cells"


def test_fast_path_names_a_missing_sheet(monkeypatch):
    from barometre_pipeline.sources.read_result import SourceReadError

    with pytest.raises(SourceReadError, match="no sheet named 'Absente'.*Réponses"):
        spreadsheet._load_rows(QUEBEC, "Absente")
    with pytest.raises(SourceReadError, match="out of range"):
        spreadsheet._load_rows(QUEBEC, 7)
