"""Respondents loaded for the effect models: their columns only, compact, and the same effects.

The effects asset used to read every column of a pilot (``SELECT *``, ~90 columns, one Python
string per text answer) and to copy the frame for each model. It now reads the columns the models
declare, with text as categoricals and the design coded once. These tests hold that to the
bit: the effects computed from the loaded frame are exactly those computed from the whole table
read the old way, and a model cannot read a column it has not declared.
"""

import duckdb
import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from barometre_pipeline.analysis import impacts, prevention, risk_factors
from barometre_pipeline.analysis.impacts import impact_effects
from barometre_pipeline.analysis.model_frame import WAREHOUSE_DESIGN, model_columns
from barometre_pipeline.analysis.prevention import (
    prevention_session_effects,
    programme_difference_in_differences,
)
from barometre_pipeline.analysis.reproducible import one_blas_thread
from barometre_pipeline.analysis.respondents import load_respondents, respondent_columns
from barometre_pipeline.analysis.risk_factors import risk_factor_odds_ratios
from barometre_pipeline_tests.analysis.simulated_survey import simulated_respondents

LEVELS = {"COLLEGE": ["6E", "5E", "4E", "3E"], "LYCEE": ["2NDE", "1RE", "TLE"]}


def _staged(seed: int, period: str, schools_per_stratum: int = 20) -> pd.DataFrame:
    """A simulated wave shaped like a staged pilot: the models' columns among others, answers
    missing here and there, and the file position of each row."""
    frame = simulated_respondents(seed=seed, schools_per_stratum=schools_per_stratum)
    rng = np.random.default_rng(seed)
    n = len(frame)
    frame["level"] = [LEVELS[g][i % len(LEVELS[g])] for i, g in enumerate(frame["grade_group"])]
    frame["priority_education"] = rng.choice(["HORS", "REP", "REP+"], n, p=[0.7, 0.2, 0.1])
    frame.loc[rng.random(n) < 0.02, "priority_education"] = None
    frame["bullied_in_person"] = frame["bullied_in_person"].astype("boolean")
    frame.loc[rng.random(n) < 0.02, "bullied_in_person"] = pd.NA
    frame["period"] = period
    frame["source_id"] = f"pilot_sim_{period}"
    # Columns no model reads (a staged table has ~90).
    frame["platform_tiktok"] = pd.array(rng.random(n) < 0.5, dtype="boolean")
    frame["age"] = pd.array(rng.integers(11, 19, n), dtype="Int64")
    frame["respondent_pid"] = [f"pid-{seed}-{i:06d}" for i in range(n)]
    frame["_source_file"] = f"raw/pilot/{period}.csv"
    frame["_source_line"] = np.arange(2, n + 2)
    return frame


def _warehouse(**tables: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    """Tables stored in another order than the file's, as a parallel join returns them."""
    con = duckdb.connect()
    for name, frame in tables.items():
        con.register("incoming", frame.sample(frac=1.0, random_state=11))
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming")
        con.unregister("incoming")
    return con


def _whole_table(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    """How the effects asset read a pilot before: every column, DuckDB's own conversion."""
    return con.execute(f"SELECT * FROM {name} ORDER BY _source_file, _source_line").df()


@pytest.fixture(scope="module")
def warehouse():
    return _warehouse(wave_2025=_staged(3, "2025"), wave_2026=_staged(4, "2026"))


def test_only_the_declared_columns_are_read_in_file_order(warehouse):
    loaded = load_respondents(warehouse, "wave_2025")
    table_columns = set(_whole_table(warehouse, "wave_2025").columns)
    assert list(loaded.columns) == [c for c in respondent_columns() if c in table_columns]
    assert {"platform_tiktok", "age", "respondent_pid", "_source_line"}.isdisjoint(loaded.columns)
    # File order although the table is stored shuffled.
    expected = _staged(3, "2025")
    assert loaded["final_weight"].tolist() == expected["final_weight"].tolist()
    for text in ("sex", "level", "school_id", "priority_education", "period"):
        assert isinstance(loaded[text].dtype, pd.CategoricalDtype), text
    # Strata and schools numbered in the text order of their labels, once for every model.
    assert loaded["psu"].dtype == np.int64
    labels = sorted(expected["psu"].unique())
    assert loaded["psu"].tolist() == [labels.index(p) for p in expected["psu"]]


def test_a_frame_holding_only_the_declared_columns_is_not_copied():
    frame = _staged(3, "2025")[[*impacts.COLUMNS, *WAREHOUSE_DESIGN.names()]]
    assert model_columns(frame, impacts.COLUMNS, WAREHOUSE_DESIGN) is frame
    wider = _staged(3, "2025")
    assert list(model_columns(wider, impacts.COLUMNS, WAREHOUSE_DESIGN).columns) == \
        [c for c in [*impacts.COLUMNS, *WAREHOUSE_DESIGN.names()] if c in wider]


@pytest.mark.parametrize("model", [risk_factor_odds_ratios, impact_effects,
                                   prevention_session_effects])
def test_effects_of_the_loaded_frame_are_those_of_the_whole_table(warehouse, model):
    whole = model(_whole_table(warehouse, "wave_2025"), "pilot_sim_2025", "FR-OT", "2025")
    loaded = model(load_respondents(warehouse, "wave_2025"), "pilot_sim_2025", "FR-OT", "2025")
    assert len(loaded) and loaded["estimate"].notna().any()
    pd.testing.assert_frame_equal(loaded, whole, check_exact=True)


def test_difference_in_differences_of_loaded_waves_is_that_of_the_whole_tables(warehouse):
    whole = programme_difference_in_differences(
        _whole_table(warehouse, "wave_2025"), _whole_table(warehouse, "wave_2026"),
        "pilot_sim_2026", "FR-OT")
    loaded = programme_difference_in_differences(
        load_respondents(warehouse, "wave_2025"), load_respondents(warehouse, "wave_2026"),
        "pilot_sim_2026", "FR-OT")
    assert len(loaded) == 3
    pd.testing.assert_frame_equal(loaded, whole, check_exact=True)


@pytest.mark.parametrize(("model", "declared"), [
    (risk_factor_odds_ratios, risk_factors.COLUMNS),
    (impact_effects, impacts.COLUMNS),
    (prevention_session_effects, prevention.SESSION_COLUMNS),
])
def test_a_model_reads_nothing_it_has_not_declared(model, declared):
    frame = _staged(5, "2025")
    narrowed = frame[[c for c in [*declared, *WAREHOUSE_DESIGN.names()] if c in frame]]
    pd.testing.assert_frame_equal(model(narrowed, "s", "FR-OT", "2025"),
                                  model(frame, "s", "FR-OT", "2025"), check_exact=True)


def test_the_difference_in_differences_reads_nothing_it_has_not_declared():
    earlier, later = _staged(5, "2025"), _staged(6, "2026")
    keep = [*prevention.PROGRAMME_COLUMNS, *WAREHOUSE_DESIGN.names()]
    pd.testing.assert_frame_equal(
        programme_difference_in_differences(earlier[keep], later[keep], "s", "FR-OT"),
        programme_difference_in_differences(earlier, later, "s", "FR-OT"), check_exact=True)


def test_a_risk_factor_the_source_lacks_is_absent_and_flagged():
    con = _warehouse(wave=_staged(3, "2025").drop(columns="screen_time_high"))
    loaded = load_respondents(con, "wave")
    assert "screen_time_high" not in loaded
    effects = risk_factor_odds_ratios(loaded, "s", "FR-OT", "2025")
    assert effects["quality_flags"].str.contains("FACTEUR_ABSENT_SCREEN_TIME_HIGH").all()
    assert "SCREEN_TIME_HIGH" not in set(effects["exposure"])


def test_a_missing_school_label_is_left_as_text_not_coded():
    frame = _staged(3, "2025")
    frame["psu"] = frame["psu"].astype(object)
    frame.loc[5, "psu"] = None
    loaded = load_respondents(_warehouse(wave=frame), "wave")
    assert loaded["psu"].dtype == object and loaded["psu"].isna().sum() == 1
    assert loaded["stratum"].dtype == np.int64


def test_without_the_file_position_the_load_stops_and_says_which_column():
    con = _warehouse(wave=_staged(3, "2025").drop(columns="_source_line"))
    with pytest.raises(KeyError, match="_source_line"):
        load_respondents(con, "wave")


def _blas_threads() -> list[int]:
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def test_models_run_on_one_blas_thread_whatever_the_caller_set():
    probe = one_blas_thread(_blas_threads)
    with threadpool_limits(2):
        assert set(_blas_threads()) == {2}
        assert set(probe()) == {1}
        assert set(_blas_threads()) == {2}  # the caller's setting is restored


def test_odds_ratios_do_not_depend_on_the_number_of_blas_threads():
    # Large enough for OpenBLAS to split the sums over respondents between threads: without one
    # thread inside the models, 1 and 4 threads give different last digits here.
    frame = _staged(8, "2025", schools_per_stratum=60)
    results = []
    for threads in (1, 4):
        with threadpool_limits(threads):
            results.append(risk_factor_odds_ratios(frame, "s", "FR-OT", "2025"))
    pd.testing.assert_frame_equal(results[0], results[1], check_exact=True)
