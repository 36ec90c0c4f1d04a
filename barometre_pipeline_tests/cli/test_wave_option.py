"""`barometre materialize --wave`: a territory × wave that no manifest declares is refused before
anything runs, naming the declared ones (what the user can type instead)."""

from __future__ import annotations

import io

from barometre_pipeline.cli import materialize
from barometre_pipeline.settings import PROJECT_ROOT


def test_an_undeclared_wave_is_refused_naming_the_declared_ones(monkeypatch):
    monkeypatch.setenv("BAROMETRE_DATA_DIR", str(PROJECT_ROOT / "data"))
    out = io.StringIO()
    status = materialize(select="key:raw/pilot", waves=["CA-QC|2031"], out=out)
    assert status == 2
    message = out.getvalue()
    assert "no pilot wave CA-QC|2031" in message
    assert "CA-QC|2025, CA-QC|2026, FR-OT|2025, FR-OT|2026" in message
    assert "running" not in message
