"""Properties of the Taylor-linearised design covariance."""

import numpy as np
import pytest

from barometre_pipeline.stats.taylor import (
    LonelyPsuError,
    design_degrees_of_freedom,
    linearized_covariance,
)


def test_unclustered_unstratified_is_n_over_n_minus_1_times_sum_of_squares():
    scores = np.array([1.0, 2.0, 4.0, 7.0])
    expected = 4 / 3 * np.sum((scores - scores.mean()) ** 2)
    assert linearized_covariance(scores, None, None)[0, 0] == pytest.approx(expected)


def test_clusters_add_up_their_members_before_the_variance():
    scores = np.array([1.0, 2.0, 4.0, 7.0, -3.0])
    psu = np.array([1, 1, 2, 3, 3])
    totals = np.array([3.0, 4.0, 4.0])
    expected = 3 / 2 * np.sum((totals - totals.mean()) ** 2)
    assert linearized_covariance(scores, None, psu)[0, 0] == pytest.approx(expected)


def test_psu_labels_are_nested_within_strata():
    scores = np.array([1.0, 5.0, 2.0, 9.0])
    strata = np.array(["a", "a", "b", "b"])
    same_labels = linearized_covariance(scores, strata, np.array([1, 2, 1, 2]))
    distinct_labels = linearized_covariance(scores, strata, np.array([1, 2, 3, 4]))
    np.testing.assert_allclose(same_labels, distinct_labels)


def test_fpc_as_population_size_or_fraction_agree():
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(40, 2))
    strata = np.repeat([0, 1], 20)
    psu = np.tile(np.repeat(np.arange(5), 4), 2)
    population = np.where(strata == 0, 50.0, 20.0)
    fraction = 5 / population
    by_size = linearized_covariance(scores, strata, psu, population)
    by_fraction = linearized_covariance(scores, strata, psu, fraction)
    np.testing.assert_allclose(by_size, by_fraction)
    no_fpc = linearized_covariance(scores, strata, psu)
    assert by_size[0, 0] < no_fpc[0, 0]


def test_covariance_matrix_is_symmetric_and_matches_columns():
    rng = np.random.default_rng(2)
    scores = rng.normal(size=(30, 3))
    psu = rng.integers(0, 8, size=30)
    covariance = linearized_covariance(scores, None, psu)
    np.testing.assert_allclose(covariance, covariance.T)
    for j in range(3):
        assert covariance[j, j] == pytest.approx(linearized_covariance(scores[:, j], None, psu)[0, 0])


def test_lonely_psu_rules():
    scores = np.array([1.0, 3.0, 10.0])
    strata = np.array([0, 0, 1])
    adjusted = linearized_covariance(scores, strata, None, lonely_psu="adjust")[0, 0]
    # Stratum 0: 2 * ((1-2)^2 + (3-2)^2) = 4; lonely stratum 1 left uncentred, 10^2, as R 4.1.1:
    # svytotal(~y, svydesign(ids=~id, strata=~s, weights=~w, data=data.frame(y=c(1,3,10),
    # s=c(0,0,1), id=1:3, w=1))) with options(survey.lonely.psu="adjust") gives SE^2 = 104.
    assert adjusted == pytest.approx(104.0)
    assert linearized_covariance(scores, strata, None, lonely_psu="certainty")[0, 0] == pytest.approx(4)
    with pytest.raises(LonelyPsuError):
        linearized_covariance(scores, strata, None, lonely_psu="fail")


def test_degrees_of_freedom():
    assert design_degrees_of_freedom(np.array([1, 1, 2, 2, 2]), np.array([1, 2, 1, 2, 3])) == 3
    assert design_degrees_of_freedom(None, np.array([4, 4, 5])) == 1
    assert design_degrees_of_freedom(np.array(["a", "a", "b"]), None) == 1
    assert design_degrees_of_freedom(None, None, n=10) == 9
