"""Contradictory answers: follow-up questions answered "yes" by a pupil who reported no incident."""

from __future__ import annotations

import pandas as pd

from barometre_pipeline.staging.contradictions import contradictory_answers, never_victim


def _frame(**columns) -> pd.DataFrame:
    typed = {}
    for name, values in columns.items():
        typed[name] = pd.Series(values, dtype="Int64" if name.startswith("cv_") and name != "cv_any"
                                else "boolean")
    return pd.DataFrame(typed)


def test_a_platform_named_by_a_never_victim_is_a_contradiction():
    staged = _frame(
        cv_insults=[0, 2, 0, 0],
        cv_threats=[0, 0, None, 0],
        platform_snapchat=[True, True, True, False],
    )
    found = contradictory_answers(staged)
    assert [c.field for c in found] == ["platform_snapchat"]
    # Row 1 is a victim, row 2 skipped an item (unknown), row 3 named no platform.
    assert found[0].mask.tolist() == [True, False, False, False]
    assert "platform_snapchat" in found[0].reason and "never" in found[0].reason


def test_every_positive_follow_up_is_reported_separately():
    staged = _frame(
        cv_insults=[0, 0],
        author_known=[True, None],
        reported_platform=[True, False],
        told_nobody=[True, True],
    )
    found = {c.field: c.mask.tolist() for c in contradictory_answers(staged)}
    # "told nobody" fits having nothing to tell, and a "no" says nothing about an incident.
    assert found == {"author_known": [True, False], "reported_platform": [True, False]}


def test_a_mapped_cv_any_of_false_counts_as_never_victim():
    staged = _frame(cv_any=[False, True, None], platform_tiktok=[True, True, True])
    assert never_victim(staged).tolist() == [True, False, False]
    found = contradictory_answers(staged)
    assert [c.mask.tolist() for c in found] == [[True, False, False]]


def test_no_victimisation_question_means_no_contradiction():
    staged = _frame(platform_discord=[True, False])
    assert not never_victim(staged).any()
    assert contradictory_answers(staged) == []
