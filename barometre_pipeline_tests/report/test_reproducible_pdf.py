"""The report PDF is the same bytes for the same tables on the same day (typst would otherwise stamp
the current second), so an unchanged run and the multiprocess run publish identical files."""

from __future__ import annotations

import io

import pypdf

from barometre_pipeline.publish.report.blocks import ReportModel
from barometre_pipeline.publish.report.render import compile_pdf, document_timestamp


def _model() -> ReportModel:
    return ReportModel(slug="essai", title="Essai", subtitle="", territories=[], wording="fr",
                       banner="", sections=[], annex=[])


def test_the_creation_date_comes_from_source_date_epoch_or_the_day():
    assert document_timestamp({"SOURCE_DATE_EPOCH": "1700000000"}) == 1700000000
    day = document_timestamp({})
    assert day % 86400 == 0  # midnight UTC, not the current second


def test_two_compilations_of_one_source_give_the_same_bytes(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    source = '#set document(title: "Essai")\n= Titre\nTexte.'
    first, second = compile_pdf(_model(), source), compile_pdf(_model(), source)
    assert first == second
    created = pypdf.PdfReader(io.BytesIO(first)).metadata.creation_date
    assert created is not None and int(created.timestamp()) == 1700000000
