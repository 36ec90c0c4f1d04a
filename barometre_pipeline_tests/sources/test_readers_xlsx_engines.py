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
