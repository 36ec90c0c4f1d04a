"""The data-generating model of the synthetic pilot: every planted number in one place.

The ground truth written beside each export records these values, so tests and analysts can check
that the pipeline recovers them. Prevalence targets are anchored on published figures
(data: /work/shared/domain/public_facts.tsv, copied into the project's public sources):

- France, DEPP/SSMSI "climat scolaire et victimation": collège 2022 cyberviolence 28 % (girls 31,
  boys 26); lycée 2023 23 % (girls 25, boys 20); reference period: the school year.
- Québec: ≈ 20 % cyberbullied (ISQ / Statistics Canada 2019); the pilot asks about the last
  12 months and a wider list of acts, so the targets are set in the 20–30 % band.
- Consequences: Li et al. 2022 meta-analysis (depression OR 3.38, self-harm OR 3.57), hence a WHO-5
  low-wellbeing OR of 3.0 and a self-harm ideation OR of 3.5 for victims.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

CV_ITEMS = (
    "cv_insults",
    "cv_nicknames",
    "cv_rumours",
    "cv_humiliating_media",
    "cv_intimate_images",
    "cv_sexual_solicitation",
    "cv_threats",
    "cv_identity_theft",
    "cv_exclusion",
    "cv_harassment",
)

PLATFORMS = (
    "platform_snapchat",
    "platform_instagram",
    "platform_tiktok",
    "platform_whatsapp",
    "platform_discord",
    "platform_youtube",
    "platform_games",
    "platform_sms",
    "platform_other",
)

WAVES = ("2025", "2026")
BASELINE_WAVE = "2025"


def _default_cv_any_targets() -> dict[str, float]:
    # key: territory|grade_group|sex -> expected finite-population prevalence of cv_any.
    return {
        "FR-OT|COLLEGE|F": 0.31, "FR-OT|COLLEGE|M": 0.26,
        "FR-OT|LYCEE|F": 0.25, "FR-OT|LYCEE|M": 0.20,
        # National France (scenario `national`): same anchors as the académie (DEPP national rates).
        "FR|COLLEGE|F": 0.31, "FR|COLLEGE|M": 0.26,
        "FR|LYCEE|F": 0.25, "FR|LYCEE|M": 0.20,
        "CA-QC|COLLEGE|F": 0.27, "CA-QC|COLLEGE|M": 0.22,
        "CA-QC|LYCEE|F": 0.25, "CA-QC|LYCEE|M": 0.19,
    }


def _default_cv_any_odds_ratios() -> dict[str, float]:
    # Conditional odds ratios on cv_any (given sex × grade group cell, level, the other factors
    # and the school). social_media_before_13 = 1.8 is the headline planted association.
    return {
        "social_media_before_13": 1.8,
        "smartphone_before_11": 1.3,
        "screen_time_high": 1.5,
        "bullied_in_person": 3.0,
        "priority_education_rep": 1.2,  # REP or REP+ vs hors éducation prioritaire
        "prevention_session": 0.8,
    }


def _default_level_log_odds() -> dict[str, float]:
    # Within a grade group, victimisation peaks in 4e / secondaire 2-3 (log-odds offsets, centred
    # afterwards by the calibration of each sex × grade group cell).
    return {
        "6E": -0.15, "5E": 0.0, "4E": 0.10, "3E": 0.05, "2NDE": 0.08, "1RE": 0.0, "TLE": -0.08,
        "SEC1": -0.10, "SEC2": 0.05, "SEC3": 0.05, "SEC4": 0.03, "SEC5": -0.03,
    }


def _default_item_share_given_victim() -> dict[str, float]:
    # P(item at least once | victim), before the "at least one item" completion.
    return {
        "cv_insults": 0.55, "cv_nicknames": 0.30, "cv_rumours": 0.32, "cv_humiliating_media": 0.14,
        "cv_intimate_images": 0.06, "cv_sexual_solicitation": 0.13, "cv_threats": 0.15,
        "cv_identity_theft": 0.18, "cv_exclusion": 0.35, "cv_harassment": 0.18,
    }


def _default_item_girl_odds_ratio() -> dict[str, float]:
    # Girls are more exposed to rumours and sexual items, boys to threats and account theft.
    return {
        "cv_rumours": 1.4, "cv_intimate_images": 1.6, "cv_sexual_solicitation": 2.2,
        "cv_exclusion": 1.2, "cv_threats": 0.7, "cv_identity_theft": 0.8,
    }


def _default_platform_share() -> dict[str, float]:
    return {
        "platform_snapchat": 0.50, "platform_instagram": 0.33, "platform_tiktok": 0.30,
        "platform_whatsapp": 0.25, "platform_discord": 0.12, "platform_youtube": 0.08,
        "platform_games": 0.14, "platform_sms": 0.15, "platform_other": 0.05,
    }


@dataclass(frozen=True)
class PlantedModel:
    """Parameters of the synthetic pilot; ``to_json`` is written as ``planted_effects_<wave>.json``."""

    # Intra-school correlation of cv_any on the latent logistic scale.
    intra_school_correlation: float = 0.03
    share_sex_other: float = 0.015  # pupils answering "autre / préfère ne pas répondre"
    sex_other_odds_ratio_vs_girls: float = 1.5
    cv_any_targets: dict[str, float] = field(default_factory=_default_cv_any_targets)
    cv_any_odds_ratios: dict[str, float] = field(default_factory=_default_cv_any_odds_ratios)
    level_log_odds: dict[str, float] = field(default_factory=_default_level_log_odds)
    item_share_given_victim: dict[str, float] = field(default_factory=_default_item_share_given_victim)
    item_girl_odds_ratio: dict[str, float] = field(default_factory=_default_item_girl_odds_ratio)
    platform_share: dict[str, float] = field(default_factory=_default_platform_share)
    # Share of victims with repeated victimisation (drives frequencies >= 2 and cv_harassment).
    repeated_victim_share: float = 0.40
    # Prevention: share of schools running a programme, and of their pupils attending a session.
    programme_school_share: float = 0.35
    session_share_programme_schools: float = 0.75
    session_share_other_schools: float = 0.20
    # Planted change from the baseline wave to 2026 in the expected cv_any prevalence (points of
    # proportion), by whether the school runs a prevention programme.
    change_2026_programme_schools: float = -0.03
    change_2026_other_schools: float = 0.02
    # Consequences (conditional odds ratios for victims, given sex and age).
    who5_low_odds_ratio_cv_any: float = 3.0
    who5_low_base_share_boys: float = 0.20
    who5_low_odds_ratio_girls: float = 1.7
    self_harm_odds_ratio_cv_any: float = 3.5
    self_harm_base_share_boys: float = 0.05
    sleep_problems_odds_ratio_cv_any: float = 2.0
    feels_unsafe_odds_ratio_cv_any: float = 2.5
    # Help-seeking among victims.
    told_nobody_share_girls: float = 0.30
    told_nobody_share_boys: float = 0.42
    knows_helpline_share: dict[str, float] = field(default_factory=lambda: {"FR-OT": 0.35, "FR": 0.35, "CA-QC": 0.55})
    knows_helpline_odds_ratio_session: float = 2.0

    @property
    def school_intercept_sd(self) -> float:
        """SD of the school random intercept giving the intra-school correlation (latent scale)."""
        icc = self.intra_school_correlation
        return math.sqrt(icc / (1.0 - icc) * math.pi**2 / 3.0)

    def cv_any_target(self, territory: str, grade_group: str, sex: str) -> float:
        return self.cv_any_targets[f"{territory}|{grade_group}|{sex}"]

    def to_json(self) -> dict[str, Any]:
        values = asdict(self)
        values["school_intercept_sd"] = self.school_intercept_sd
        return values
