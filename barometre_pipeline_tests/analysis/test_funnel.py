"""School funnel plot (restricted): limits, flagging, publication rule and the restricted files."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from barometre_pipeline.analysis.funnel import (
    FUNNEL_COLUMNS,
    RESTRICTED_BANNER,
    binomial_funnel_limit,
    funnel_limit,
    school_funnel,
    winsorised_phi,
    write_restricted_funnel,
)

TRUE_RATE = 0.25
OUTLIER = "OUTLIER_BIG"


def pupils(school_id: str, n: int, rate: float, rng: np.random.Generator,
           territory: str = "FR-OT") -> pd.DataFrame:
    return pd.DataFrame({
        "school_id": school_id, "territory": territory, "period": "2025",
        "cv_any": rng.random(n) < rate,
        # Raking weights vary a little within a school.
        "final_weight": rng.lognormal(3.0, 0.15, n),
    })


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    rng = np.random.default_rng(20250117)
    sizes = np.linspace(35, 400, 40).round().astype(int)
    schools = [pupils(f"S{i:02d}", int(n), TRUE_RATE, rng) for i, n in enumerate(sizes)]
    schools.append(pupils(OUTLIER, 300, 0.50, rng))
    # Small schools, one of them with a very high rate: never assessed.
    schools += [pupils(f"SMALL{n}", n, 0.9 if n == 20 else TRUE_RATE, rng) for n in (10, 20, 29)]
    frame = pd.concat(schools, ignore_index=True)
    frame["cv_any"] = frame["cv_any"].astype(object)
    # Non-respondents to the item are outside the domain.
    frame.loc[frame.sample(frac=0.02, random_state=1).index, "cv_any"] = None
    return frame


@pytest.fixture(scope="module")
def funnel(simulated: pd.DataFrame) -> pd.DataFrame:
    return school_funnel(simulated)


def test_columns(funnel: pd.DataFrame) -> None:
    assert list(funnel.columns) == list(FUNNEL_COLUMNS)


def test_only_the_planted_outlier_is_flagged(funnel: pd.DataFrame) -> None:
    flagged = funnel[funnel["beyond_998"].fillna(False).astype(bool)]
    assert list(flagged["school_id"]) == [OUTLIER]
    assert flagged["assessment"].iloc[0] == "above_998"
    assert flagged["observed_rate"].iloc[0] > flagged["upper_998"].iloc[0]


def test_schools_under_30_are_not_assessed(funnel: pd.DataFrame) -> None:
    small = funnel[funnel["school_id"].str.startswith("SMALL")]
    assert len(small) == 3
    assert small["beyond_998"].isna().all()
    assert (small["reason"] == "n<30").all()
    assert (small["assessment"] == "not_assessed").all()
    # The publication rule: no rate of a school under the threshold is released.
    assert small[["observed_rate", "observed_rate_unweighted", "z_score"]].isna().all().all()
    assessed = funnel[~funnel["school_id"].str.startswith("SMALL")]
    assert (assessed["n_unweighted"] >= 30).all()
    assert assessed["beyond_998"].notna().all()


def test_rates_and_counts_match_the_respondents(simulated: pd.DataFrame, funnel: pd.DataFrame) -> None:
    answered = simulated[simulated["cv_any"].notna()]
    school = answered[answered["school_id"] == "S10"]
    row = funnel.set_index("school_id").loc["S10"]
    assert row["n_unweighted"] == len(school)
    y = school["cv_any"].astype(float)
    assert row["observed_rate"] == pytest.approx(np.average(y, weights=school["final_weight"]))
    assert row["observed_rate_unweighted"] == pytest.approx(y.mean())
    overall = np.average(answered["cv_any"].astype(float), weights=answered["final_weight"])
    assert funnel["expected_rate"].to_numpy() == pytest.approx(np.full(len(funnel), overall))
    assert row["z_score"] == pytest.approx(
        (row["observed_rate"] - overall) / np.sqrt(overall * (1 - overall) / row["n_unweighted"]))


def test_limits_widen_as_n_shrinks(funnel: pd.DataFrame) -> None:
    assessed = funnel[funnel["assessment"] != "not_assessed"].sort_values("n_unweighted")
    distinct = assessed.drop_duplicates("n_unweighted")
    for inner, outer in (("95", "95"), ("998", "998")):
        width = (distinct[f"upper_{outer}"] - distinct[f"lower_{inner}"]).to_numpy()
        assert np.all(np.diff(width) < 0)
    assert (assessed["upper_998"] > assessed["upper_95"]).all()
    assert (assessed["lower_998"] <= assessed["lower_95"]).all()
    assert (assessed["lower_95"] < assessed["expected_rate"]).all()
    assert (assessed["upper_95"] > assessed["expected_rate"]).all()


@pytest.mark.parametrize("n", [30, 47, 100, 512])
@pytest.mark.parametrize("probability", [0.001, 0.025, 0.975, 0.999])
def test_exact_limit_lies_within_the_binomial_quantile_step(n: int, probability: float) -> None:
    quantile = stats.binom.ppf(probability, n, TRUE_RATE)
    limit = float(binomial_funnel_limit(TRUE_RATE, n, probability))
    assert quantile - 1 <= limit * n <= quantile


def test_normal_limits_converge_to_exact_ones_for_large_n() -> None:
    n = 200_000
    exact = float(binomial_funnel_limit(TRUE_RATE, n, 0.999))
    normal = TRUE_RATE + stats.norm.ppf(0.999) * np.sqrt(TRUE_RATE * (1 - TRUE_RATE) / n)
    assert exact == pytest.approx(normal, abs=2e-5)


def test_winsorised_phi() -> None:
    z = np.arange(10.0)
    low, high = np.quantile(z, [0.1, 0.9])
    expected = np.mean([max(min(v, high), low) ** 2 for v in z])
    assert winsorised_phi(z) == pytest.approx(expected)
    assert low > 0 and high < 9  # the tails really were pulled in


def test_overdispersion_is_estimated_and_widens_the_limits() -> None:
    rng = np.random.default_rng(7)
    # Between-school variation well beyond binomial sampling (beta-distributed school rates).
    rates = rng.beta(5, 15, 60)
    frame = pd.concat([pupils(f"S{i}", 150, r, rng) for i, r in enumerate(rates)], ignore_index=True)
    plain = school_funnel(frame)
    adjusted = school_funnel(frame, overdispersion=True)
    phi = adjusted["phi"].iloc[0]
    assert phi > 1.5
    assert adjusted["phi_estimated"].iloc[0] == phi
    assert (adjusted["limit_method"] == "normal_overdispersed").all()
    assert (plain["phi"] == 1.0).all()
    assert (adjusted["upper_998"] > plain["upper_998"]).all()
    assert adjusted["beyond_998"].sum() < plain["beyond_998"].sum()
    z_plain = plain["z_score"].to_numpy()
    assert adjusted["z_score"].to_numpy() == pytest.approx(z_plain / np.sqrt(phi))


def test_binomial_schools_show_no_significant_overdispersion(funnel: pd.DataFrame,
                                                             simulated: pd.DataFrame) -> None:
    adjusted = school_funnel(simulated[simulated["school_id"] != OUTLIER], overdispersion=True)
    assert (adjusted["phi"] == 1.0).all()
    assert np.isfinite(adjusted["phi_estimated"]).all()


def test_given_territory_rate_and_separate_territories() -> None:
    rng = np.random.default_rng(3)
    frame = pd.concat([pupils("A", 100, 0.2, rng, "FR-OT"), pupils("B", 100, 0.2, rng, "FR-OT"),
                       pupils("Q", 100, 0.6, rng, "CA-QC"), pupils("R", 100, 0.6, rng, "CA-QC")])
    separate = school_funnel(frame).set_index("school_id")
    assert separate.loc["A", "expected_rate"] == separate.loc["B", "expected_rate"]
    assert separate.loc["Q", "expected_rate"] > separate.loc["A", "expected_rate"] + 0.2
    fixed = school_funnel(frame, territory_rate=0.3)
    assert (fixed["expected_rate"] == 0.3).all()
    assert bool(fixed.loc[fixed["school_id"] == "Q", "beyond_998"].item())


def test_invalid_limits_are_refused(simulated: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="limits"):
        school_funnel(simulated, limits=(0.998, 0.95))


def test_funnel_limit_with_phi_one_is_exact() -> None:
    n = np.array([30, 60, 90])
    assert funnel_limit(0.3, n, 0.975) == pytest.approx(binomial_funnel_limit(0.3, n, 0.975))


def test_restricted_files(funnel: pd.DataFrame, tmp_path: Path) -> None:
    restricted = tmp_path / "restricted"
    target = write_restricted_funnel(funnel, restricted)
    assert target == restricted / "school_funnel"
    assert target.is_symlink()  # published by an atomic swap
    written = pd.read_parquet(target / "school_funnel.parquet")
    assert list(written.columns) == list(FUNNEL_COLUMNS)
    assert len(written) == len(funnel)
    assert written["beyond_998"].isna().sum() == 3
    page = (target / "index.html").read_text(encoding="utf-8")
    assert RESTRICTED_BANNER in page
    assert "<svg" in page and 'lang="fr"' in page
    assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}|<script\b|<link\b|\bsrc=", page, re.I)
    assert OUTLIER in page
    assert "SMALL20" not in page  # a school that was not assessed is not shown
    # A second publication replaces the first; no staging folder is left behind.
    write_restricted_funnel(funnel.iloc[:5], restricted)
    assert len(pd.read_parquet(target / "school_funnel.parquet")) == 5
    assert not [p for p in restricted.iterdir() if p.name.startswith(".staging-")]
