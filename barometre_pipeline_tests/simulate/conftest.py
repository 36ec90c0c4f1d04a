"""Shared fixtures: a small synthetic pilot generated into a temporary data dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from barometre_pipeline.simulate.pilot import generate_pilot

# The real frames, copied into the repository (sources: data/frames/SOURCES.md).
FRAMES_DIR = Path(__file__).resolve().parents[2] / "data" / "frames"
SMALL = {"FR-OT": 300, "CA-QC": 250}


@pytest.fixture(scope="session")
def small_pilot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("pilot")
    generate_pilot(data_dir, FRAMES_DIR, seed=7, respondents=SMALL)
    return data_dir
