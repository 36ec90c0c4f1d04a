"""Strata and schools numbered once per wave, the same numbers whatever the way there.

The variance sums PSU totals in the order of their numbers, so a different numbering changes
the last digits of every standard error: the codes must be those of the labels' text order,
whether the labels come as text, as a categorical (any category order, unused categories) or
already as integers (counted, or sorted when they span a wide range).
"""

import numpy as np
import pandas as pd
import pytest

from barometre_pipeline.analysis.model_frame import WAREHOUSE_DESIGN, with_coded_design
from barometre_pipeline.stats.taylor import psu_keys


def _labels(seed: int = 2, n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    schools = np.array([f"0{rng.integers(100000, 999999)}X" for _ in range(120)])
    psu = rng.choice(schools, n)
    return pd.DataFrame({"stratum": np.array(["B", "A", "C", "B2"])[rng.integers(0, 4, n)],
                         "psu": psu, "final_weight": rng.uniform(1, 3, n)})


def test_a_categorical_is_coded_as_its_text_would_be():
    text = _labels()
    shuffled = text["psu"].unique()[::-1].tolist() + ["UNUSED-1", "0000000A"]
    categorical = text.assign(
        stratum=pd.Categorical(text["stratum"], categories=["C", "B2", "B", "A", "UNUSED"]),
        psu=pd.Categorical(text["psu"], categories=shuffled))
    from_text = with_coded_design(text, WAREHOUSE_DESIGN)
    from_categorical = with_coded_design(categorical, WAREHOUSE_DESIGN)
    for column in ("stratum", "psu"):
        assert from_categorical[column].dtype == np.int64
        np.testing.assert_array_equal(from_categorical[column], from_text[column])
    # Text order: "A" < "B" < "B2" < "C".
    assert from_text.loc[text["stratum"] == "A", "stratum"].eq(0).all()
    assert from_text.loc[text["stratum"] == "C", "stratum"].eq(3).all()


def test_a_categorical_with_a_missing_label_is_left_as_it_is():
    frame = _labels()
    frame["psu"] = pd.Categorical(frame["psu"].where(frame.index != 7))
    coded = with_coded_design(frame, WAREHOUSE_DESIGN)
    assert isinstance(coded["psu"].dtype, pd.CategoricalDtype)
    assert coded["stratum"].dtype == np.int64


@pytest.mark.parametrize("spacing", [1, 10**9])  # counted / sorted
def test_integer_labels_get_the_codes_of_a_sort(spacing):
    frame = _labels()
    coded = with_coded_design(frame, WAREHOUSE_DESIGN)
    strata = coded["stratum"].to_numpy() * spacing - 5
    psu = coded["psu"].to_numpy() * spacing + 17
    stratum_code, psu_code, n_strata, n_psu = psu_keys(strata, psu, len(frame))
    _, expected_strata = np.unique(strata, return_inverse=True)
    nested = expected_strata * (psu.max() + 1) + np.unique(psu, return_inverse=True)[1]
    _, expected_psu = np.unique(nested, return_inverse=True)
    np.testing.assert_array_equal(stratum_code, expected_strata)
    np.testing.assert_array_equal(psu_code, expected_psu)
    assert (n_strata, n_psu) == (4, len(np.unique(nested)))
    # The same numbering as from the labels themselves.
    from_text = psu_keys(frame["stratum"].to_numpy(), frame["psu"].to_numpy(), len(frame))
    np.testing.assert_array_equal(psu_code, from_text[1])
