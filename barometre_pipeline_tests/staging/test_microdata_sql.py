"""The set-based staging path (DuckDB) equals the reference pandas path cell for cell: same columns,
same DuckDB types, same rows in the same order, same rejects in the same order — on the shipped
pilot exports (CSV and XLSX) and on every hostile source (unmapped answers, identifiers in answers,
duplicated ids, decimal commas, truncated lines...)."""

from __future__ import annotations

from pathlib import Path

import pytest

from barometre_pipeline.settings import PROJECT_ROOT
from barometre_pipeline.sources.manifest import load_manifest
from barometre_pipeline.staging.codebook import load_codebook
from barometre_pipeline.staging.microdata_sql import ENGINE_VARIABLE, staging_engine
from barometre_pipeline_tests.staging.staging_paths import compare_paths

CODEBOOK = load_codebook(PROJECT_ROOT / "data" / "codebook.yaml")
FIXTURES = Path(__file__).parent.parent / "fixtures"
HOSTILE = FIXTURES / "hostile_sources"
HOSTILE_MICRODATA = sorted(
    p.name for p in (HOSTILE / "sources").glob("*.yaml")
    if load_manifest(p).kind == "microdata" and p.stem != "hostile_unreadable")


def test_mini_export_with_every_kind_of_reject():
    counts = compare_paths(load_manifest(FIXTURES / "staging" / "mini_export.yaml"),
                           FIXTURES / "staging", CODEBOOK)
    assert counts == {"staged": 5, "rejected_fields": 5, "input": 10}


@pytest.mark.parametrize("name", HOSTILE_MICRODATA)
def test_hostile_sources(name):
    counts = compare_paths(load_manifest(HOSTILE / "sources" / name), HOSTILE, CODEBOOK)
    assert counts["staged"] > 0


@pytest.mark.parametrize("name", ["pilot_orleans_tours_2025.yaml", "pilot_quebec_2026.yaml"])
def test_shipped_pilot_exports(name):
    counts = compare_paths(load_manifest(PROJECT_ROOT / "data" / "sources" / name),
                           PROJECT_ROOT / "data", CODEBOOK)
    assert counts["staged"] > 2000


def test_engine_switch(monkeypatch):
    monkeypatch.delenv(ENGINE_VARIABLE, raising=False)
    assert staging_engine() == "sql"
    monkeypatch.setenv(ENGINE_VARIABLE, "reference")
    assert staging_engine() == "reference"
    monkeypatch.setenv(ENGINE_VARIABLE, "pandas")
    with pytest.raises(ValueError, match="BAROMETRE_STAGING_ENGINE"):
        staging_engine()
