"""Answers that contradict each other within one respondent.

The questionnaire asks the follow-up questions (where did it happen, who did it, did you tell
someone, did you report it, did you miss school) only about an incident. A pupil who answered
"never" to every cyberviolence item and still names a platform or an author has either clicked
through the routing or had answers shifted by the export: either way the row cannot be trusted for
prevalence *and* for the follow-up shares, so it is rejected like any other invalid row.

Only positive follow-up answers count: "no" to "did you report it?" says nothing about an incident,
and "told nobody" is compatible with having nothing to tell.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from barometre_pipeline.staging.derive import CV_ITEMS

PLATFORM_FOLLOW_UPS = (
    "platform_snapchat", "platform_instagram", "platform_tiktok", "platform_whatsapp",
    "platform_discord", "platform_youtube", "platform_games", "platform_sms", "platform_other",
)
INCIDENT_FOLLOW_UPS = (
    *PLATFORM_FOLLOW_UPS,
    "author_known", "author_same_school",
    "told_parent", "told_friend", "told_staff",
    "reported_platform", "absence_because",
)


@dataclass(frozen=True)
class Contradiction:
    """Rows (``mask``) whose follow-up ``field`` (canonical name) contradicts their own answers."""

    mask: pd.Series
    field: str
    reason: str


def never_victim(staged: pd.DataFrame) -> pd.Series:
    """True where the respondent said no incident happened: a mapped ``cv_any`` of false, or every
    mapped cyberviolence item answered "never" (0). A skipped item leaves it unknown (False here)."""
    never = pd.Series(False, index=staged.index)
    items = [c for c in CV_ITEMS if c in staged]
    if items:
        answers = staged[items].astype("Float64")
        never |= (answers.notna().all(axis=1) & (answers == 0).all(axis=1)).fillna(False)
    if "cv_any" in staged:
        never |= (staged["cv_any"].astype("boolean") == False).fillna(False)  # noqa: E712
    return never.astype(bool)


def contradictory_answers(staged: pd.DataFrame) -> list[Contradiction]:
    """One :class:`Contradiction` per follow-up variable answered "yes" by a never-victim.

    ``staged`` holds canonical variables (before derived ones are added). Call it from
    ``stage_microdata`` and add each result to the failures, so the rows are rejected whole.
    """
    never = never_victim(staged)
    if not never.any():
        return []
    found: list[Contradiction] = []
    for field in (f for f in INCIDENT_FOLLOW_UPS if f in staged):
        said_yes = (staged[field].astype("boolean") == True).fillna(False).astype(bool)  # noqa: E712
        mask = never & said_yes
        if mask.any():
            found.append(Contradiction(
                mask=mask,
                field=field,
                reason=(f"contradictory answers: `{field}` is yes although no cyberviolence was "
                        "reported (every item answered never); follow-up questions only apply to "
                        "an incident"),
            ))
    return found
