"""Shared fixtures of the publication tests (small files under fixtures/publish/)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "publish"


@pytest.fixture
def indicators_frame() -> pd.DataFrame:
    """16 hand-made indicator rows: two pilot territories, public and scientific figures,
    suppressed cells, a caution cell, a formula-like label and an HTML-like label."""
    return pd.DataFrame(json.loads((FIXTURES / "indicators_small.json").read_text(encoding="utf-8")))


@pytest.fixture
def catalogue() -> list[dict]:
    return yaml.safe_load((FIXTURES / "catalogue_small.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def contract_snapshot_v1() -> dict:
    return json.loads((FIXTURES / "indicators_contract_v1.json").read_text(encoding="utf-8"))
