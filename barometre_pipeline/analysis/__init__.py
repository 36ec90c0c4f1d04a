"""Effects of the barometer: risk factors, impacts, trends between waves, prevention.

Plain functions over pandas frames (no Dagster): each returns effect rows in the common schema of
:mod:`barometre_pipeline.analysis.effects_table`. Respondent frames are one pilot source's staged
respondents joined with their final weights (design: ``final_weight``, ``stratum``, ``psu``,
``fpc``); every variance is design-based, from :mod:`barometre_pipeline.stats`.
"""

from barometre_pipeline.analysis.effects_table import (
    EFFECT_COLUMNS,
    conform_effects,
    link_counterparts,
    literature_effects,
)
from barometre_pipeline.analysis.impacts import impact_effects
from barometre_pipeline.analysis.model_frame import WAREHOUSE_DESIGN, DesignColumns
from barometre_pipeline.analysis.prevention import (
    prevention_session_effects,
    programme_difference_in_differences,
    programme_schools_by_rule,
)
from barometre_pipeline.analysis.risk_factors import risk_factor_odds_ratios
from barometre_pipeline.analysis.waves import wave_differences

__all__ = [
    "EFFECT_COLUMNS",
    "WAREHOUSE_DESIGN",
    "DesignColumns",
    "conform_effects",
    "impact_effects",
    "link_counterparts",
    "literature_effects",
    "prevention_session_effects",
    "programme_difference_in_differences",
    "programme_schools_by_rule",
    "risk_factor_odds_ratios",
    "wave_differences",
]
