"""The dashboard shows the headline across pilot waves and never mistakes a sector row for it."""

import re

import pandas as pd

from barometre_pipeline.publish.dashboard import render_dashboard


def qc_total(frame: pd.DataFrame) -> pd.Series:
    rows = frame[(frame["indicator_code"] == "CV_ANY") & (frame["territory"] == "CA-QC")
                 & (frame["source_family"] == "pilot") & (frame["sex"] == "_T")]
    assert len(rows) == 1
    return rows.iloc[0]


def text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_two_waves_give_an_evolution_block_with_its_test(indicators_frame):
    later = qc_total(indicators_frame)
    earlier = later.copy()
    earlier["period"], earlier["estimate"] = "2024", later["estimate"] - 0.10
    earlier["ci_low"], earlier["ci_high"] = earlier["estimate"] - 0.036, earlier["estimate"] + 0.036
    page = text(render_dashboard(pd.concat([indicators_frame, earlier.to_frame().T],
                                           ignore_index=True)))
    assert "Évolution entre les vagues" in page
    # +10 points with SEs of about 0.018 each: significant
    assert "De 2024 à 2025 : +10,0 points (écart significatif" in page


def test_one_wave_gives_no_evolution_block(indicators_frame):
    assert "Évolution entre les vagues" not in text(render_dashboard(indicators_frame))


def test_headline_is_the_total_not_a_sector_row(indicators_frame):
    total = qc_total(indicators_frame)
    sector = total.copy()
    sector["sector"], sector["estimate"] = "PU", 0.61
    sector["ci_low"], sector["ci_high"] = 0.55, 0.66
    frame = pd.concat([sector.to_frame().T, indicators_frame], ignore_index=True)
    frame["sector"] = frame["sector"].fillna("_T")  # `breakdown` is derived from the dimensions
    page = text(render_dashboard(frame))
    headline = page.split("Québec — 2025")[1][:200]
    assert "61,0" not in headline and f"{total['estimate'] * 100:.1f}".replace(".", ",") in headline
