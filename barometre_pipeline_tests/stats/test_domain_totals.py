"""Grouping and summing of the estimation pass (``stats.domain_totals``) against plain numpy.

The reference for group indices is ``numpy.unique`` over the packed key (groups in key order,
first row of each group); the reference for totals is a row-by-row Python loop over a small
crafted design. Both ways of ranking keys (lookup table, sort) are checked on each side of
:func:`ranks_by_table`'s boundary.
"""

from __future__ import annotations

import numpy as np
import pytest

from barometre_pipeline.stats.domain_totals import (
    _DENSE_SPAN_MIN,
    _DENSE_SPAN_PER_ROW,
    Codes,
    Respondents,
    finest_totals,
    group_ids,
    ranks_by_table,
)


def _unique_reference(keys: list[tuple[np.ndarray, int]], size: int) -> tuple[np.ndarray, np.ndarray]:
    packed = np.zeros(size, dtype=np.int64)
    for key, radix in keys:
        packed = packed * radix + key
    _, first, index = np.unique(packed, return_index=True, return_inverse=True)
    return index, first


def test_table_ranking_boundary() -> None:
    size = 10
    limit = _DENSE_SPAN_PER_ROW * size + _DENSE_SPAN_MIN
    assert ranks_by_table(limit, size)
    assert not ranks_by_table(limit + 1, size)


@pytest.mark.parametrize("past", [0, 1], ids=["table", "sort"])
def test_group_ids_equal_unique_on_both_sides_of_the_boundary(past: int) -> None:
    rng = np.random.default_rng(7)
    size = 500
    limit = _DENSE_SPAN_PER_ROW * size + _DENSE_SPAN_MIN
    assert limit % 3 == 0
    # Two keys whose radices multiply to exactly the limit (table) or just past it (sort).
    radix = limit // 3 + past
    assert ranks_by_table(3 * radix, size) == (past == 0)
    keys = [(rng.integers(0, 3, size), 3), (rng.integers(radix - 40, radix, size), radix)]
    index, first = group_ids(keys, size)
    expected_index, expected_first = _unique_reference(keys, size)
    np.testing.assert_array_equal(index, expected_index)
    np.testing.assert_array_equal(first, expected_first)


@pytest.mark.parametrize("size", [0, 1, 2_000])
def test_group_ids_small_and_empty(size: int) -> None:
    rng = np.random.default_rng(size)
    keys = [(rng.integers(0, 5, size), 5), (rng.integers(0, 7, size), 7), (rng.integers(0, 2, size), 2)]
    assert ranks_by_table(70, size)
    index, first = group_ids(keys, size)
    expected_index, expected_first = _unique_reference(keys, size)
    np.testing.assert_array_equal(index, expected_index)
    np.testing.assert_array_equal(first, expected_first)


def _crafted_sample() -> Respondents:
    """12 pupils, 2 strata, 4 schools, one dimension with a NULL, 2 indicators."""
    stratum = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    school = np.array([0, 0, 1, 1, 1, 0, 2, 2, 3, 3, 3, 2])
    sex = np.array([0, 1, 0, -1, 1, 0, 1, 1, 0, 0, 1, -1])
    weight = np.array([1.5, 2.25, 3.0, 0.5, 4.75, 1.125, 2.0, 6.5, 0.75, 3.25, 1.0, 5.5])
    members = np.array([[1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1],
                        [1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1]], dtype=bool)
    events = members & np.array([[1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 0],
                                 [0, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0, 0]], dtype=bool)
    return Respondents(
        weight=weight, stratum=Codes(stratum, ("A", "B")), psu=Codes(school, ("s0", "s1", "s2", "s3")),
        fpc=None, fpc2=None, dimensions=(Codes(sex, ("F", "M")),), margins=(),
        members=members, events=events,
    )


@pytest.mark.parametrize("squares", [True, False])
def test_finest_totals_equal_a_row_by_row_sum(squares: bool) -> None:
    sample = _crafted_sample()
    finest, units = finest_totals(sample, None, squares=squares)
    # Reference: a dict keyed by (stratum, school, sex), filled one respondent at a time.
    reference: dict[tuple[int, int, int], np.ndarray] = {}
    for r in range(sample.size):
        key = (int(sample.stratum.codes[r]), int(sample.psu.codes[r]), int(sample.dimensions[0].codes[r]))
        w, d, e = sample.weight[r], sample.members[:, r], sample.events[:, r]
        row = reference.setdefault(key, np.zeros((6, 2)))
        row += [w * e, w * d, d, e, w * w * e, w * w * d]
    assert len(finest.rows) == len(reference)
    names = ("a", "b", "n", "e", "aa", "bb") if squares else ("a", "b", "n", "e")
    for g in range(len(finest.rows)):
        # Units are (stratum, school) pairs in key order: here the school codes themselves.
        key = (int(finest.stratum[g]), int(finest.unit[g]), int(finest.dimensions[g, 0]))
        for k, name in enumerate(names):
            np.testing.assert_allclose(getattr(finest, name)[g], reference[key][k], rtol=0, atol=1e-12)
    if not squares:
        assert finest.aa is None and finest.bb is None
    np.testing.assert_array_equal(units.n_h, [2, 2])
