"""Publication policy: primary suppression, NCHS reliability, complementary suppression."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from barometre_pipeline.stats.publication import (
    TOTAL,
    AdditiveGroup,
    DimensionHierarchy,
    PublicationPolicy,
    additive_groups,
    apply_publication_policy,
    recoverable_cells,
)

POLICY = PublicationPolicy()


def _table(base_counts: dict[tuple[str, ...], int], dimensions: list[str], *, deff: float = 1.2,
           code: str = "CV_ANY", width: float = 0.04) -> pd.DataFrame:
    """All marginal rows of a cross-classification, n summed from the base cells."""
    categories = [sorted({key[d] for key in base_counts}) for d in range(len(dimensions))]
    rows = []
    for key in itertools.product(*[values + [TOTAL] for values in categories]):
        n = sum(count for cell, count in base_counts.items()
                if all(k == TOTAL or k == c for k, c in zip(key, cell, strict=True)))
        rows.append({"indicator_code": code, **dict(zip(dimensions, key, strict=True)),
                     "estimate": 0.4, "se": width / 4, "ci_low": 0.4 - width / 2,
                     "ci_high": 0.4 + width / 2, "n_unweighted": n, "n_effective": n / deff, "df": 40,
                     "deff_in": deff})
    return pd.DataFrame(rows)


def _rank_recoverable(groups: list[AdditiveGroup], hidden: np.ndarray) -> np.ndarray:
    """Oracle, by ranks: cell j is determined iff e_j lies in the row space of A_S."""
    matrix = np.zeros((len(groups), len(hidden)))
    for g, group in enumerate(groups):
        matrix[g, group.total] = 1
        matrix[g, list(group.members)] = -1
    cells = np.flatnonzero(hidden)
    result = np.zeros(len(hidden), dtype=bool)
    if len(cells) == 0 or len(groups) == 0:
        return result
    restricted = matrix[:, cells]
    rank = np.linalg.matrix_rank(restricted)
    for position, cell in enumerate(cells):
        stacked = np.vstack([restricted, np.eye(len(cells))[position]])
        result[cell] = np.linalg.matrix_rank(stacked) == rank
    return result


def _check_no_disclosure(out: pd.DataFrame, dimensions: list[str], policy: PublicationPolicy,
                         hierarchies=()) -> None:
    hidden = out["suppressed"].to_numpy()
    confidential = (out["n_unweighted"] < policy.min_respondents).to_numpy()
    groups = additive_groups(out, dimensions, hierarchies)
    # Exact check (and an independent rank oracle): no confidential cell is determined.
    assert not (_rank_recoverable(groups, hidden) & confidential).any()
    assert not (recoverable_cells(groups, hidden) & confidential).any()
    # Published cells are big enough; withheld cells have a reason and no values.
    published = out[~out["suppressed"]]
    assert (published["n_unweighted"] >= policy.min_n_unweighted).all()
    assert (published["n_effective"] >= policy.min_n_effective).all()
    assert published["estimate"].notna().all()
    suppressed = out[out["suppressed"]]
    assert suppressed["suppression_reason"].notna().all()
    assert suppressed[["estimate", "se", "ci_low", "ci_high", "n_effective"]].isna().all().all()
    assert (suppressed["reliability"] == "suppressed").all()
    # A large, precise cell is only ever withheld to protect a confidential one.
    large = suppressed[(suppressed["n_unweighted"] >= policy.min_n_unweighted)
                       & (out.loc[suppressed.index, "n_unweighted"] / out.loc[suppressed.index, "deff_in"]
                          >= policy.min_n_effective)]
    assert large["suppression_reason"].str.startswith("complementary:").all()


def test_reliability_withholds_without_complements():
    counts = {("F", "6E"): 50, ("F", "5E"): 12, ("F", "4E"): 60,
              ("M", "6E"): 45, ("M", "5E"): 70, ("M", "4E"): 55}
    out = apply_publication_policy(_table(counts, ["sex", "level"]), POLICY, ["indicator_code"], ["sex", "level"])
    hidden = out.loc[out["suppressed"], ["sex", "level", "suppression_reason"]]
    reasons = {(s, lv): r for s, lv, r in hidden.itertuples(index=False)}
    # 12 respondents: unreliable, but not confidential; recovering it by subtraction discloses
    # nothing a reader could attribute to a pupil, so nothing else is hidden.
    assert reasons == {("F", "5E"): "reliability:n<30;reliability:effective_n<30"}
    assert out["n_unweighted"].notna().all()  # keys and n are kept


def test_confidential_cell_takes_complements_in_both_directions():
    counts = {("F", "6E"): 50, ("F", "5E"): 4, ("F", "4E"): 60,
              ("M", "6E"): 45, ("M", "5E"): 70, ("M", "4E"): 55}
    policy = PublicationPolicy(last_resort=())
    out = apply_publication_policy(_table(counts, ["sex", "level"]), policy, ["indicator_code"], ["sex", "level"])
    hidden = out.loc[out["suppressed"]]
    protected = hidden[hidden["suppression_reason"].str.startswith("complementary:")]
    assert len(protected) >= 3
    assert set(protected["suppression_reason"]) == {"complementary:CV_ANY|sex=F|level=5E"}
    assert hidden.set_index(["sex", "level"]).loc[("F", "5E"), "suppression_reason"].startswith(
        "confidentiality:n<5;")
    _check_no_disclosure(out, ["sex", "level"], policy)


def test_nchs_rules_for_proportions():
    table = pd.DataFrame({
        "indicator_code": ["A", "B", "C", "D", "E", "F"],
        "estimate": [0.02, 0.10, 0.90, 0.50, 0.40, 0.0],
        "ci_low": [0.005, 0.03, 0.80, 0.34, 0.35, 0.0],
        "ci_high": [0.045, 0.23, 0.99, 0.66, 0.45, 0.03],
        "se": [0.01, 0.05, 0.05, 0.08, 0.03, 0.0],
        "n_unweighted": [800, 300, 300, 60, 400, 200],
        "n_effective": [500, 100, 100, 40, 300, np.nan],
        "df": [40, 40, 40, 40, 6, 40],
    })
    out = apply_publication_policy(table, POLICY, ["indicator_code"], []).set_index("indicator_code")
    assert out.loc["A", "reliability"] == "reliable"  # CI width <= 0.05: fine even for 2 %
    assert out.loc["B", "suppression_reason"] == "reliability:relative_ci_width>130%"  # 0.20 / 0.10
    assert out.loc["C", "reliability"] == "unreliable"  # complement 0.10 fails the relative width
    assert out.loc["D", "suppression_reason"] == "reliability:ci_width>=0.3"  # absolute width 0.32
    assert out.loc["E", "reliability"] == "unreliable"  # df < 8
    assert out.loc["F", "reliability"] == "reliable"  # p = 0, no deff: the actual n counts


def test_sensitive_indicator_needs_more_respondents_and_both_answers():
    table = pd.DataFrame({"indicator_code": ["SELF_HARM_IDEATION"] * 3, "sex": ["F", "M", TOTAL],
                          "estimate": [0.12, 0.01, 0.07], "se": [0.01] * 3, "ci_low": [0.1, 0.0, 0.05],
                          "ci_high": [0.14, 0.03, 0.09], "n_unweighted": [150, 120, 270],
                          "n_effective": [120, 100, 220], "df": [30] * 3})
    policy = PublicationPolicy(sensitive_indicators=frozenset({"SELF_HARM_IDEATION"}))
    out = apply_publication_policy(table, policy, ["indicator_code"], ["sex"]).set_index("sex")
    # About one pupil answered yes: too few events to publish, but no confidential cell.
    assert out.loc["M", "suppression_reason"] == "reliability:sensitive_events<5"
    assert not out.loc["F", "suppressed"] and not out.loc[TOTAL, "suppressed"]
    plain = apply_publication_policy(table, POLICY, ["indicator_code"], ["sex"])
    assert not plain["suppressed"].any()


def test_a_bridge_between_two_suppression_cycles_is_caught():
    # Two 2×2 blocks of small cells joined by one small cell: every row and column has two
    # suppressed cells, yet the joining cell equals a combination of published margins.
    rows, columns = ["r1", "r2", "r3", "r4"], ["c1", "c2", "c3", "c4"]
    small = {("r1", "c1"), ("r1", "c2"), ("r2", "c1"), ("r2", "c2"),
             ("r3", "c3"), ("r3", "c4"), ("r4", "c3"), ("r4", "c4"), ("r2", "c3")}
    counts = {(r, c): (3 if (r, c) in small else 200) for r in rows for c in columns}
    table = _table(counts, ["row", "col"])
    groups = additive_groups(table, ["row", "col"])
    hidden = np.array([(r, c) in small for r, c in zip(table["row"], table["col"], strict=True)])
    bridge = np.flatnonzero((table["row"] == "r2") & (table["col"] == "c3"))
    assert recoverable_cells(groups, hidden).tolist() == _rank_recoverable(groups, hidden).tolist()
    assert np.flatnonzero(recoverable_cells(groups, hidden)).tolist() == bridge.tolist()
    out = apply_publication_policy(table, POLICY, ["indicator_code"], ["row", "col"])
    _check_no_disclosure(out, ["row", "col"], POLICY)


def test_levels_are_protected_against_their_grade_group():
    hierarchy = DimensionHierarchy("level", "grade_group", {"6E": "COLLEGE", "5E": "COLLEGE",
                                                           "2NDE": "LYCEE", "1RE": "LYCEE"})
    counts = {"6E": 4, "5E": 200, "2NDE": 150, "1RE": 160}
    rows = [{"level": lv, "grade_group": TOTAL, "n_unweighted": n} for lv, n in counts.items()]
    rows += [{"level": TOTAL, "grade_group": "COLLEGE", "n_unweighted": 204},
             {"level": TOTAL, "grade_group": "LYCEE", "n_unweighted": 310},
             {"level": TOTAL, "grade_group": TOTAL, "n_unweighted": 514}]
    table = pd.DataFrame(rows).assign(indicator_code="CV_ANY", estimate=0.3, se=0.01, ci_low=0.28,
                                      ci_high=0.32, n_effective=lambda t: t["n_unweighted"], df=40,
                                      deff_in=1.0)
    nested = apply_publication_policy(table, POLICY, ["indicator_code"], ["level", "grade_group"],
                                      hierarchies=[hierarchy])
    # 6E = COLLEGE - 5E: with the hierarchy, the collège side is protected too.
    _check_no_disclosure(nested, ["level", "grade_group"], POLICY, [hierarchy])
    hidden = nested.loc[nested["suppressed"], ["level", "grade_group"]]
    assert ("5E" in set(hidden["level"])) or ("COLLEGE" in set(hidden["grade_group"]))


def test_tables_are_separate_and_duplicates_refused():
    counts = {("F",): 100, ("M",): 3}
    both = pd.concat([_table(counts, ["sex"], code="A"), _table({("F",): 100, ("M",): 100}, ["sex"], code="B")])
    policy = PublicationPolicy(last_resort=())
    out = apply_publication_policy(both, policy, ["indicator_code"], ["sex"])
    assert out.loc[out["indicator_code"] == "B", "suppressed"].sum() == 0
    assert out.loc[out["indicator_code"] == "A", "suppressed"].sum() == 2
    with pytest.raises(ValueError, match="two rows"):
        apply_publication_policy(pd.concat([both, both]), POLICY, ["indicator_code"], ["sex"])


@st.composite
def cross_tables(draw):
    n_dimensions = draw(st.integers(1, 3))
    sizes = [draw(st.integers(1, 4)) for _ in range(n_dimensions)]
    names = [f"d{i}" for i in range(n_dimensions)]
    cells = list(itertools.product(*[[f"{name}_{k}" for k in range(size)] for name, size in zip(names, sizes, strict=True)]))
    counts = draw(st.lists(st.integers(1, 120), min_size=len(cells), max_size=len(cells)))
    deff = draw(st.floats(1.0, 2.5))
    return _table(dict(zip(cells, counts, strict=True)), names, deff=deff), names


@settings(max_examples=60, deadline=None)
@given(cross_tables())
def test_no_suppressed_cell_can_be_derived_from_published_cells(generated):
    table, dimensions = generated
    out = apply_publication_policy(table, POLICY, ["indicator_code"], dimensions)
    _check_no_disclosure(out, dimensions, POLICY)
