"""Early identification of schools: a funnel plot of cyberviolence prevalence per school.

RESTRICTED OUTPUT. The table names schools: it goes to the académie d'Orléans-Tours and the Québec
partners only, through :func:`write_restricted_funnel`, never to the public exports.

Method (Spiegelhalter, 2005, "Funnel plots for comparing institutional performance", Statistics
in Medicine 24:1185-1202):

- Indicator: per school (``school_id``) the weighted share of pupils with ``cv_any`` (weights
  ``final_weight``); respondents without an answer (``cv_any`` missing) or without a positive
  weight are left out. The unweighted share is reported beside it.
- Target ``expected_rate``: the territory's overall weighted rate for the same period (all its
  respondents, small schools included), or the ``territory_rate`` given by the caller.
- Control limits at the school's number of respondents ``n``: **exact binomial limits with
  Spiegelhalter's interpolation** (his appendix A.1.1): for a tail probability ``p``, ``r_p`` is
  the ``p`` quantile of Binomial(n, θ), ``α = (F(r_p) − p) / (F(r_p) − F(r_p − 1))`` and the
  limit is ``(r_p − α) / n``. This keeps the limits smooth in ``n`` and right for small schools,
  where the normal approximation is poor. ``limits=(0.95, 0.998)`` gives the two-sided 95 % and
  99.8 % limits (tail probabilities 0.025 / 0.975 and 0.001 / 0.999).
- Overdispersion (``overdispersion=True``): schools differ more than binomial sampling allows
  (intra-school correlation, pupils not sampled at random). The multiplicative factor
  ``phi = mean(z_w²)`` is estimated from the assessed schools' z-scores winsorised at 10 % (the
  lowest and highest 10 % set to the 10th / 90th percentiles), as Spiegelhalter recommends. It
  is applied only when the schools are significantly overdispersed (``I·phi`` above the 95th
  percentile of χ² with ``I − 1`` df, I = number of assessed schools); the limits then become
  ``θ ± z_p · sqrt(phi · θ(1 − θ) / n)`` (normal approximation, clipped to [0, 1]) and the
  z-scores are divided by ``sqrt(phi)``. ``phi`` is the factor applied (1 when none),
  ``phi_estimated`` the estimate.
- Flag: ``beyond_998`` is true for a school **above** the upper 99.8 % limit, the only signal for
  the partners. A school below the lower limits is reported (``assessment`` below_95 /
  below_998) but not flagged: a low rate is not a concern to act on and often reflects
  under-reporting. Publication rule: a school with fewer than 30 respondents is not assessed
  (``beyond_998`` null, ``assessment`` not_assessed, ``reason`` "n<30") and its rates are
  withheld.

The weighted rate is compared with binomial limits at the unweighted ``n``: within a school the
raking weights vary little (level × sex), so the design effect of weighting is ignored here.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from barometre_pipeline.publish.atomic import publish_atomically

MIN_RESPONDENTS = 30
WINSORISATION = 0.10
FUNNEL_NAME = "school_funnel"
RESTRICTED_BANNER = "Diffusion restreinte — ne pas publier"

FUNNEL_COLUMNS: tuple[str, ...] = (
    "territory", "period", "school_id", "n_unweighted", "observed_rate", "expected_rate",
    "z_score", "lower_95", "upper_95", "lower_998", "upper_998", "phi", "beyond_998",
    "assessment", "reason",
    # Appended after the columns of the brief.
    "observed_rate_unweighted", "phi_estimated", "limit_method",
)

ASSESSMENT_LABELS_FR: dict[str, str] = {
    "above_998": "Au-dessus de la limite à 99,8 % (signal à examiner)",
    "above_95": "Au-dessus de la limite à 95 % (à surveiller)",
    "within": "Dans les limites",
    "below_95": "Sous la limite à 95 % (rapporté, non signalé)",
    "below_998": "Sous la limite à 99,8 % (rapporté, non signalé)",
    "not_assessed": "Non évalué (moins de 30 répondants)",
}


def binomial_funnel_limit(expected: float, n: npt.ArrayLike, probability: float) -> np.ndarray:
    """Spiegelhalter's interpolated exact binomial limit: the ``probability`` quantile of the
    observed proportion among ``n`` respondents when the true rate is ``expected``."""
    trials = np.asarray(n, dtype=float)
    quantile = stats.binom.ppf(probability, trials, expected)
    at_quantile = stats.binom.cdf(quantile, trials, expected)
    below_quantile = stats.binom.cdf(quantile - 1, trials, expected)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(at_quantile > below_quantile,
                         (at_quantile - probability) / (at_quantile - below_quantile), 0.0)
        return (quantile - alpha) / trials


def funnel_limit(expected: float, n: npt.ArrayLike, probability: float,
                 phi: float = 1.0) -> np.ndarray:
    """Control limit at tail ``probability``: exact binomial, or normal inflated by ``phi`` > 1."""
    if phi <= 1.0:
        return binomial_funnel_limit(expected, n, probability)
    trials = np.asarray(n, dtype=float)
    spread = np.sqrt(phi * expected * (1 - expected) / trials)
    return np.clip(expected + stats.norm.ppf(probability) * spread, 0.0, 1.0)


def _tails(limit: float) -> tuple[float, float]:
    return (1 - limit) / 2, 1 - (1 - limit) / 2


def winsorised_phi(z_scores: npt.ArrayLike, fraction: float = WINSORISATION) -> float:
    """Multiplicative overdispersion: mean squared z-score after winsorising each tail at
    ``fraction`` (Spiegelhalter 2005)."""
    z = np.asarray(z_scores, dtype=float)
    z = z[np.isfinite(z)]
    if z.size == 0:
        return float("nan")
    low, high = np.quantile(z, [fraction, 1 - fraction])
    return float(np.mean(np.clip(z, low, high) ** 2))


def _school_rates(group: pd.DataFrame) -> pd.DataFrame:
    weighted = group["_y"] * group["_w"]
    by_school = pd.DataFrame({"_yw": weighted, "_w": group["_w"], "_y": group["_y"],
                              "school_id": group["school_id"]}).groupby("school_id", sort=True)
    return pd.DataFrame({
        "n_unweighted": by_school.size(),
        "observed_rate": by_school["_yw"].sum() / by_school["_w"].sum(),
        "observed_rate_unweighted": by_school["_y"].mean(),
    }).reset_index()


def _assess(observed: np.ndarray, limits: dict[str, np.ndarray]) -> list[str]:
    assessment = np.full(observed.shape, "within", dtype=object)
    assessment[observed < limits["lower_95"]] = "below_95"
    assessment[observed < limits["lower_998"]] = "below_998"
    assessment[observed > limits["upper_95"]] = "above_95"
    assessment[observed > limits["upper_998"]] = "above_998"
    return list(assessment)


def _percent(value: float) -> str:
    return f"{100 * value:.1f} %".replace(".", ",")


def _reason(assessment: str, observed: float, expected: float, n: int) -> str:
    if assessment == "not_assessed":
        return f"n<{MIN_RESPONDENTS}"
    facts = f"{_percent(observed)} pour {n} répondants, {_percent(expected)} attendus"
    return {
        "above_998": f"au-dessus de la limite à 99,8 % ({facts}) : signal statistique à examiner "
                     "avec l'établissement, pas un constat",
        "above_95": f"au-dessus de la limite à 95 % seulement ({facts}) : à surveiller, non "
                    "signalé (1 établissement sur 40 l'est par hasard)",
        "within": f"dans les limites ({facts})",
        "below_95": f"sous la limite basse à 95 % ({facts}) : rapporté, non signalé",
        "below_998": f"sous la limite basse à 99,8 % ({facts}) : rapporté, non signalé (un "
                     "taux bas peut refléter une sous-déclaration)",
    }[assessment]


def _funnel_for_group(group: pd.DataFrame, expected: float, limits: Sequence[float],
                      overdispersion: bool, min_respondents: int) -> pd.DataFrame:
    schools = _school_rates(group)
    schools["expected_rate"] = expected
    n = schools["n_unweighted"].to_numpy(dtype=float)
    observed = schools["observed_rate"].to_numpy(dtype=float)
    assessed = n >= min_respondents
    with np.errstate(divide="ignore", invalid="ignore"):
        binomial_z = (observed - expected) / np.sqrt(expected * (1 - expected) / n)
    phi_estimated = winsorised_phi(binomial_z[assessed]) if overdispersion else float("nan")
    schools_assessed = int(assessed.sum())
    significant = (overdispersion and schools_assessed > 1 and np.isfinite(phi_estimated)
                   and schools_assessed * phi_estimated
                   > stats.chi2.ppf(0.95, schools_assessed - 1))
    phi = phi_estimated if significant else 1.0
    schools["phi"] = phi
    schools["phi_estimated"] = phi_estimated
    schools["limit_method"] = ("normal_overdispersed" if phi > 1.0
                               else "exact_binomial_interpolated")
    schools["z_score"] = binomial_z / np.sqrt(phi)
    computed: dict[str, np.ndarray] = {}
    for limit, suffix in zip(limits, ("95", "998"), strict=True):
        low, high = _tails(limit)
        computed[f"lower_{suffix}"] = funnel_limit(expected, n, low, phi)
        computed[f"upper_{suffix}"] = funnel_limit(expected, n, high, phi)
    for name, values in computed.items():
        schools[name] = values
    assessment = np.where(assessed, _assess(observed, computed), "not_assessed")
    schools["assessment"] = assessment
    schools["beyond_998"] = pd.array(
        [a == "above_998" if ok else pd.NA for a, ok in zip(assessment, assessed, strict=True)],
        dtype="boolean")
    schools["reason"] = [_reason(a, o, expected, int(k)) for a, o, k in
                         zip(assessment, observed, n, strict=True)]
    # Publication rule: no rate of a school under the threshold leaves this function.
    schools.loc[~assessed, ["observed_rate", "observed_rate_unweighted", "z_score"]] = np.nan
    return schools


def school_funnel(respondents: pd.DataFrame, territory_rate: float | None = None,
                  limits: tuple[float, float] = (0.95, 0.998), *, overdispersion: bool = False,
                  weight: str = "final_weight",
                  min_respondents: int = MIN_RESPONDENTS) -> pd.DataFrame:
    """One row per school and (territory, period): rates, funnel limits, flag (see module doc).

    ``respondents``: one row per pupil with ``school_id``, ``cv_any`` (bool, None = no answer),
    the weight column ``weight`` and, when several territories or waves are mixed,
    ``territory`` and ``period`` (each combination gets its own funnel and target).
    ``territory_rate`` overrides the computed target for every group. ``limits`` are the two
    two-sided coverage levels, the inner one first (95 %, 99.8 %).
    """
    if len(limits) != 2 or not 0 < limits[0] < limits[1] < 1:
        raise ValueError(f"limits must be two increasing coverages in (0, 1), got {limits!r}")
    missing = {"school_id", "cv_any", weight} - set(respondents.columns)
    if missing:
        raise ValueError(f"respondents lack column(s) {sorted(missing)}")
    frame = pd.DataFrame({
        "territory": respondents["territory"] if "territory" in respondents else None,
        "period": respondents["period"] if "period" in respondents else None,
        "school_id": respondents["school_id"],
        "_y": respondents["cv_any"].astype("boolean").astype("Float64"),
        "_w": pd.to_numeric(respondents[weight], errors="coerce"),
    })
    frame = frame[frame["_y"].notna() & (frame["_w"] > 0) & frame["school_id"].notna()]
    frame = frame.astype({"_y": float, "_w": float})
    parts = []
    for (territory, period), group in frame.groupby(["territory", "period"], dropna=False,
                                                    sort=True):
        expected = (float(territory_rate) if territory_rate is not None
                    else float(np.average(group["_y"], weights=group["_w"])))
        schools = _funnel_for_group(group, expected, limits, overdispersion, min_respondents)
        schools["territory"] = territory
        schools["period"] = period
        parts.append(schools)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FUNNEL_COLUMNS})
    return pd.concat(parts, ignore_index=True).reindex(columns=list(FUNNEL_COLUMNS))


# --- restricted publication ---------------------------------------------------------------------

_WIDTH, _HEIGHT = 760, 440
_LEFT, _RIGHT, _TOP, _BOTTOM = 70, 20, 20, 55


def _nice_ticks(low: float, high: float, count: int = 5) -> np.ndarray:
    """Round tick values (1, 2 or 5 × 10^k apart) covering [low, high]."""
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** np.floor(np.log10(raw)) if raw > 0 else 1.0
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return np.arange(np.ceil(low / step) * step, high + step / 1000, step)


def _svg_funnel(group: pd.DataFrame, limits: tuple[float, float]) -> str:
    """Inline SVG (no namespace URL: HTML5 does not need one) of one territory × period."""
    expected = float(group["expected_rate"].iloc[0])
    phi = float(group["phi"].iloc[0])
    assessed = group[group["assessment"] != "not_assessed"]
    # The axis starts near the smallest assessed school so that the funnel's shape stays visible
    # when every school has about the same number of respondents.
    n_min = float(np.floor(0.8 * MIN_RESPONDENTS / 10) * 10)
    n_max = max(float(group["n_unweighted"].max()) * 1.3, MIN_RESPONDENTS * 2.0)
    grid = np.linspace(MIN_RESPONDENTS, n_max, 120)
    curves = {}
    for limit, suffix in zip(limits, ("95", "998"), strict=True):
        low, high = _tails(limit)
        curves[suffix] = (funnel_limit(expected, grid, low, phi),
                          funnel_limit(expected, grid, high, phi))
    y_max = min(1.0, max(float(np.nanmax(curves["998"][1])),
                         float(assessed["observed_rate"].max() if len(assessed) else 0)) * 1.1)
    plot_w, plot_h = _WIDTH - _LEFT - _RIGHT, _HEIGHT - _TOP - _BOTTOM

    def x(value: float) -> float:
        return _LEFT + plot_w * (value - n_min) / (n_max - n_min)

    def y(value: float) -> float:
        return _TOP + plot_h * (1 - value / y_max)

    def path(values: np.ndarray) -> str:
        points = " ".join(f"{x(n):.1f},{y(v):.1f}" for n, v in zip(grid, values, strict=True)
                          if np.isfinite(v))
        return f'<polyline fill="none" points="{points}"'

    parts = [f'<svg width="{_WIDTH}" height="{_HEIGHT}" viewBox="0 0 {_WIDTH} {_HEIGHT}" '
             f'role="img" aria-label="Graphique en entonnoir">',
             f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
             f'stroke="#999"/>']
    for tick in _nice_ticks(0, y_max):
        parts.append(f'<line x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}" stroke="#e4e4e4"/>')
        parts.append(f'<text x="{_LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
                     f'font-size="11">{100 * tick:.0f} %</text>')
    for tick in _nice_ticks(n_min, n_max):
        parts.append(f'<text x="{x(tick):.1f}" y="{_TOP + plot_h + 16}" text-anchor="middle" '
                     f'font-size="11">{tick:.0f}</text>')
    parts.append(f'<text x="{_LEFT + plot_w / 2}" y="{_HEIGHT - 12}" text-anchor="middle" '
                 f'font-size="12">Nombre de répondants de l\'établissement</text>')
    parts.append(f'<text transform="translate(16,{_TOP + plot_h / 2}) rotate(-90)" '
                 f'text-anchor="middle" font-size="12">Élèves victimes d\'au moins une '
                 f'cyberviolence (%)</text>')
    parts.append(f'<line x1="{x(n_min):.1f}" x2="{x(n_max):.1f}" y1="{y(expected):.1f}" '
                 f'y2="{y(expected):.1f}" stroke="#333" stroke-width="1.5"/>')
    for suffix, style in (("95", 'stroke="#e69f00" stroke-dasharray="5,3"'),
                          ("998", 'stroke="#d55e00"')):
        for values in curves[suffix]:
            parts.append(f"{path(values)} {style}/>")
    for row in assessed.to_dict("records"):
        flagged = row["assessment"] == "above_998"
        colour = "#c00000" if flagged else "#0072b2"
        title = html.escape(f"{row['school_id']} : {_percent(row['observed_rate'])}, "
                            f"n = {row['n_unweighted']}")
        parts.append(f'<circle cx="{x(row["n_unweighted"]):.1f}" cy="{y(row["observed_rate"]):.1f}" '
                     f'r="{5 if flagged else 3.5}" fill="{colour}" fill-opacity="0.8">'
                     f"<title>{title}</title></circle>")
        if flagged:
            parts.append(f'<text x="{x(row["n_unweighted"]) + 7:.1f}" '
                         f'y="{y(row["observed_rate"]) - 6:.1f}" font-size="11" fill="#c00000">'
                         f"{html.escape(str(row['school_id']))}</text>")
    parts.append("</svg>")
    return "\n".join(parts)


def render_funnel_html(table: pd.DataFrame, limits: tuple[float, float] = (0.95, 0.998)) -> str:
    """A self-contained French HTML page (inline SVG and CSS, no external resource)."""
    sections = []
    for (territory, period), group in table.groupby(["territory", "period"], dropna=False,
                                                    sort=True):
        flagged = group[group["assessment"] == "above_998"]
        not_assessed = int((group["assessment"] == "not_assessed").sum())
        phi = float(group["phi"].iloc[0])
        rows = "".join(
            f"<tr><td>{html.escape(str(r['school_id']))}</td><td>{r['n_unweighted']}</td>"
            f"<td>{html.escape(_percent(r['observed_rate']))}</td>"
            f"<td>{html.escape(_percent(r['upper_998']))}</td></tr>"
            for r in flagged.to_dict("records"))
        flagged_table = (
            "<table><tr><th>Établissement</th><th>Répondants</th><th>Taux observé</th>"
            f"<th>Limite haute 99,8 %</th></tr>{rows}</table>" if rows
            else "<p>Aucun établissement au-dessus de la limite à 99,8 %.</p>")
        dispersion = (f"Surdispersion prise en compte (phi = {phi:.2f})." if phi > 1
                      else "Limites binomiales exactes (pas de surdispersion significative).")
        sections.append(
            f"<section><h2>{html.escape(str(territory))} — {html.escape(str(period))}</h2>"
            f"<p>Taux du territoire : {html.escape(_percent(float(group['expected_rate'].iloc[0])))}. "
            f"{dispersion} {not_assessed} établissement(s) de moins de {MIN_RESPONDENTS} "
            f"répondants non évalué(s).</p>{_svg_funnel(group, limits)}"
            f"<h3>Établissements au-dessus de la limite à 99,8 %</h3>{flagged_table}</section>")
    body = "\n".join(sections) or "<p>Aucune donnée.</p>"
    return f"""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="robots" content="noindex, nofollow">
<title>{RESTRICTED_BANNER} — Repérage précoce des établissements</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 0 auto; max-width: 820px; padding: 0 1em; color: #222; }}
.banner {{ background: #c00000; color: #fff; font-weight: bold; padding: .8em 1em; margin: 0 -1em 1em; text-align: center; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #bbb; padding: .2em .6em; }}
.legend span {{ display: inline-block; margin-right: 1.2em; }}
</style>
</head>
<body>
<div class="banner" role="alert">{RESTRICTED_BANNER}</div>
<h1>Repérage précoce des établissements : graphique en entonnoir</h1>
<p>Document réservé aux partenaires du pilote (académie d'Orléans-Tours, partenaires québécois).
Chaque point est un établissement : part pondérée de ses élèves victimes d'au moins une
cyberviolence, selon son nombre de répondants. Un point au-dessus de la limite haute à 99,8 % est
un signal statistique à examiner avec l'établissement, pas un classement ni un constat. Les
établissements de moins de {MIN_RESPONDENTS} répondants ne sont pas évalués. Méthode :
Spiegelhalter (2005), limites binomiales exactes interpolées.</p>
<p class="legend"><span>━ taux du territoire</span><span style="color:#e69f00">┅ limites à 95 %</span>
<span style="color:#d55e00">━ limites à 99,8 %</span><span style="color:#c00000">● signalé</span></p>
{body}
</body>
</html>
"""


def write_restricted_funnel(table: pd.DataFrame, restricted_dir: Path,
                            limits: tuple[float, float] = (0.95, 0.998)) -> Path:
    """Publish ``school_funnel.parquet`` and ``index.html`` atomically under
    ``<restricted_dir>/school_funnel/``; returns that directory."""
    restricted_dir = Path(restricted_dir)
    with publish_atomically(restricted_dir, FUNNEL_NAME) as staging:
        table.to_parquet(staging / f"{FUNNEL_NAME}.parquet", index=False)
        (staging / "index.html").write_text(render_funnel_html(table, limits), encoding="utf-8")
    return restricted_dir / FUNNEL_NAME
