"""Published standard errors of a shipped pilot are calibration-aware on the raking margins.

The SQL pass (``estimate_source_indicators``, which reads the weighting step's ``raked_on``
column) must give the SE of the numpy oracle: the weighting step's own calibration
(``Calibration.residualize``, validated against R ``rake()`` on apiclus1 in
``stats/test_raking_variance.py``) fed to the two-stage design variance.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from barometre_pipeline.calibration.population_margins import margins_for
from barometre_pipeline.calibration.raked_weights import RAKED_ON, raked_weights
from barometre_pipeline.indicators.catalogue import load_catalogue
from barometre_pipeline.indicators.microdata_indicators import estimate_source_indicators
from barometre_pipeline.stats.taylor import two_stage_covariance
from barometre_pipeline_tests.calibration.test_raked_weights import DATA, staged


@pytest.fixture(scope="module")
def pilot():
    frame = staged("pilot_orleans_tours_2026")
    outcome = raked_weights(frame, margins_for("FR-OT", DATA / "reference"))
    relation = frame.merge(outcome.weights[["respondent_pid", "final_weight", RAKED_ON]],
                           on="respondent_pid", validate="1:1")
    con = duckdb.connect()
    con.register("pilot", relation)
    catalogue = load_catalogue(DATA / "indicators.yaml")
    table = estimate_source_indicators(con, "pilot", catalogue)
    fixed = estimate_source_indicators(con, "(SELECT * EXCLUDE (raked_on) FROM pilot)", catalogue)
    return relation, outcome, table, fixed


def _oracle(relation: pd.DataFrame, outcome, members: np.ndarray, calibrated: bool) -> tuple[float, float]:
    w = relation["final_weight"].to_numpy(float)
    answered = relation["cv_any"].notna().to_numpy() & members
    y = relation["cv_any"].fillna(False).to_numpy(float)
    total = np.sum(w * answered)
    p = float(np.sum(w * answered * y) / total)
    scores = w * answered * (y - p) / total
    if calibrated:
        scores[outcome.raked] = outcome.calibration.residualize(scores[outcome.raked])
    variance = two_stage_covariance(scores, relation["stratum"].to_numpy(), relation["psu"].to_numpy(),
                                    relation["fpc"].to_numpy(float), np.arange(len(relation)),
                                    relation["fpc2"].to_numpy(float))[0, 0]
    return p, float(np.sqrt(variance))


RESULT_COLUMNS = {"indicator_code", "estimate", "se", "ci_low", "ci_high", "ci_method", "df",
                  "n_unweighted", "n_effective", "deff", "weighted_n", "cv", "n_psu", "n_events",
                  "territory", "period"}


def _row(table: pd.DataFrame, **cell: str) -> pd.Series:
    dimensions = [c for c in table.columns if c not in RESULT_COLUMNS]
    mask = table["indicator_code"] == "CV_ANY"
    for dimension in dimensions:
        mask &= table[dimension] == cell.get(dimension, "_T")
    (index,) = table.index[mask]
    return table.loc[index]


def test_weighting_names_the_raking_margins(pilot):
    relation, outcome, _, _ = pilot
    assert outcome.metadata["margin_variables"] == ["level", "sex", "departement"]
    assert set(relation[RAKED_ON]) == {"level,sex,departement"}


@pytest.mark.parametrize("cell", [{}, {"sex": "F"}, {"sex": "M", "level": "3E"}, {"departement": "36"},
                                  {"sex": "X"}])
def test_cv_any_se_equals_the_numpy_oracle(pilot, cell):
    relation, outcome, table, fixed = pilot
    members = np.ones(len(relation), dtype=bool)
    for dimension, value in cell.items():
        members &= (relation[dimension].astype(str) == value).to_numpy()
    p, se = _oracle(relation, outcome, members, calibrated=True)
    _, se_fixed = _oracle(relation, outcome, members, calibrated=False)
    row = _row(table, **cell)
    assert row["estimate"] == pytest.approx(p, rel=1e-12)
    assert row["se"] == pytest.approx(se, rel=1e-6)
    assert _row(fixed, **cell)["se"] == pytest.approx(se_fixed, rel=1e-9)
    if not cell:
        # The total: raking on level, sex and département removes about 4 % of the SE.
        assert se / se_fixed == pytest.approx(0.960, abs=0.005)
