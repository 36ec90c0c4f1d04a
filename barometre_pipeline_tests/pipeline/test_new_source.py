"""Adding a public microdata source is adding a manifest and its file: no code change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from barometre_pipeline_tests.pipeline.conftest import NEW_SOURCE_FIXTURE as FIXTURE
from barometre_pipeline_tests.pipeline.conftest import NEW_SOURCE_ID as SOURCE_ID


def test_new_source_rows_appear_total_and_by_sex(shipped_run):
    run = shipped_run
    assert run.result.success
    table = run.indicators()
    rows = table[(table["source_id"] == SOURCE_ID) & (table["indicator_code"] == "CV_ANY")]
    assert set(rows["sex"]) == {"_T", "F", "M"}
    assert (rows["source_family"] == "public").all()
    assert (rows["level"] == "_T").all()

    # The published estimate is the design-weighted share computed independently from the file.
    raw = pd.read_csv(FIXTURE / "enquete_publique_2024.csv")
    victim = (raw["victime"] == "oui").to_numpy()
    for sex, mask in {"_T": np.ones(len(raw), bool), "F": (raw["sexe"] == 2).to_numpy(),
                      "M": (raw["sexe"] == 1).to_numpy()}.items():
        expected = np.average(victim[mask], weights=raw["poids"].to_numpy()[mask])
        row = rows[rows["sex"] == sex].iloc[0]
        assert row["estimate"] == pytest.approx(expected, rel=1e-9)
        assert row["n_unweighted"] == mask.sum()
        assert row["ci_low"] < row["estimate"] < row["ci_high"]
        assert row["se"] > 0 and row["df"] == 30 - 3  # 30 schools in 3 regions
