"""Taylor-linearisation variance of estimated totals under a stratified cluster design.

This is the numerical heart shared by every design-based estimator in the package: an
estimator is linearised into per-respondent weighted scores (influence values already
multiplied by the weights), and the variance of the estimator is the design variance of the
totals of those scores. The formulas reproduce R `survey`'s ``svyrecvar`` (first stage, and
optionally a second stage), so results can be checked against R to many digits.

Conventions (same as R):

- PSU identifiers are nested within strata: the key of a PSU is (stratum, psu).
- ``psu=None`` means every row is its own PSU; ``strata=None`` means a single stratum.
- ``fpc`` is given per row, either as the population number of PSUs in the stratum (values
  > 1) or as a sampling fraction (all values <= 1). ``None`` means sampling with replacement.
- The number of PSUs of a stratum, n_h, is counted on the whole design: scores of PSUs without
  domain members are zeros, which is exactly how domain estimates must be treated.
"""

from __future__ import annotations

import numpy as np

LONELY_PSU_RULES = ("adjust", "certainty", "remove", "average", "fail")


class LonelyPsuError(ValueError):
    """A stratum has a single PSU and the chosen rule is ``fail``."""


def _codes(values: np.ndarray | None, n: int) -> tuple[np.ndarray, int]:
    """Dense integer codes 0..k-1 for any array of labels (or all zeros if absent)."""
    if values is None:
        return np.zeros(n, dtype=np.int64), 1
    values = np.asarray(values)
    if values.shape[0] != n:
        raise ValueError(f"design array has {values.shape[0]} rows, scores have {n}")
    if values.dtype.kind in "iub":
        return _integer_codes(values)
    else:
        # Object arrays with mixed/None labels cannot be sorted: go through strings.
        uniques, codes = np.unique(values.astype(str), return_inverse=True)
    return codes.astype(np.int64, copy=False), len(uniques)


def _integer_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """``np.unique(values, return_inverse=True)`` for integer labels: each label's rank among the
    distinct labels, and their number. Labels spanning a range not much wider than the array
    (coded strata and PSUs) are ranked by counting, in one pass instead of a sort: the same
    codes, at a fraction of the cost (an analysis computes dozens of variances per wave)."""
    if values.size:
        low, high = int(values.min()), int(values.max())
        if high - low <= 4 * values.size + 1024 and high < 2**63:
            offsets = values.astype(np.int64) - low
            present = np.zeros(high - low + 1, dtype=bool)
            present[offsets] = True
            rank = np.cumsum(present) - 1
            return rank[offsets], int(rank[-1]) + 1
    uniques, codes = np.unique(values, return_inverse=True)
    return codes.astype(np.int64, copy=False), len(uniques)


def psu_keys(strata: np.ndarray | None, psu: np.ndarray | None, n: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Codes of (stratum per row, PSU per row) with PSUs nested in strata.

    Returns ``(stratum_code, psu_code, n_strata, n_psu)``; PSU codes are unique across strata.
    """
    stratum_code, n_strata = _codes(strata, n)
    if psu is None:
        return stratum_code, np.arange(n, dtype=np.int64), n_strata, n
    psu_code, n_psu_labels = _codes(psu, n)
    nested = stratum_code * n_psu_labels + psu_code
    psu_code, n_psu = _integer_codes(nested)
    return stratum_code, psu_code, n_strata, n_psu


def _sampling_fraction(fpc: np.ndarray | None, psu_stratum: np.ndarray, psu_first_row: np.ndarray,
                       n_h: np.ndarray) -> np.ndarray:
    """Per-stratum first-stage sampling fraction f_h (0 when sampling with replacement)."""
    n_strata = len(n_h)
    if fpc is None:
        return np.zeros(n_strata)
    fpc = np.asarray(fpc, dtype=float)
    per_psu = fpc[psu_first_row]
    per_stratum = np.zeros(n_strata)
    per_stratum[psu_stratum] = per_psu
    if np.all(fpc <= 1):
        fraction = per_stratum
    else:
        if np.any(per_stratum < n_h):
            raise ValueError("fpc (population PSUs) is smaller than the number of sampled PSUs")
        fraction = np.where(np.isinf(per_stratum), 0.0, n_h / per_stratum)
    if np.any((fraction < 0) | (fraction > 1)):
        raise ValueError("sampling fractions must lie in [0, 1]")
    return fraction


def _sum_by(codes: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Column-wise group sums of an n×k matrix (loops over columns, never over groups)."""
    out = np.empty((size, values.shape[1]))
    for j in range(values.shape[1]):
        out[:, j] = np.bincount(codes, weights=values[:, j], minlength=size)
    return out


def stratified_psu_covariance(psu_totals: np.ndarray, psu_stratum: np.ndarray, n_strata: int,
                              fraction: np.ndarray, lonely_psu: str = "adjust") -> np.ndarray:
    """Covariance of the grand totals given the PSU totals of a stratified design.

    ``sum_h (1 - f_h) n_h / (n_h - 1) sum_i (z_hi - zbar_h)(z_hi - zbar_h)'``.
    """
    if lonely_psu not in LONELY_PSU_RULES:
        raise ValueError(f"lonely_psu must be one of {LONELY_PSU_RULES}, got {lonely_psu!r}")
    n_psu, k = psu_totals.shape
    n_h = np.bincount(psu_stratum, minlength=n_strata).astype(float)
    stratum_mean = _sum_by(psu_stratum, psu_totals, n_strata) / np.maximum(n_h, 1)[:, None]
    deviation = psu_totals - stratum_mean[psu_stratum]
    scale = np.where(n_h > 1, n_h / np.maximum(n_h - 1, 1), 1.0) * (1.0 - fraction)

    lonely = n_h[psu_stratum] == 1
    if lonely.any():
        if lonely_psu == "fail":
            raise LonelyPsuError("a stratum has a single PSU (lonely_psu='fail')")
        if lonely_psu == "adjust":
            # R survey 4.1 (``onestrat``): a lonely PSU's total is not centred at all. For the
            # scores of a ratio or of estimating equations, which add up to zero, that is the
            # grand mean; for scores adjusted for calibration it is not.
            deviation[lonely] = psu_totals[lonely]
        else:
            deviation[lonely] = 0.0

    weighted = deviation * np.sqrt(scale[psu_stratum])[:, None]
    covariance = weighted.T @ weighted
    if lonely_psu == "average" and lonely.any():
        # R: strata with a lonely PSU get the average variance of the other strata.
        n_lonely_strata = int(np.sum(n_h == 1))
        n_ok = int(np.sum(n_h > 1))
        if n_ok == 0:
            raise LonelyPsuError("every stratum has a single PSU: cannot average")
        covariance *= (n_ok + n_lonely_strata) / n_ok
    return covariance


def linearized_covariance(scores: np.ndarray, strata: np.ndarray | None, psu: np.ndarray | None,
                          fpc: np.ndarray | None = None, lonely_psu: str = "adjust") -> np.ndarray:
    """k×k design covariance of the totals of the weighted scores (n×k or n).

    First stage of R ``svyrecvar``: stratified sampling of PSUs, with replacement unless
    ``fpc`` is given.
    """
    matrix = np.asarray(scores, dtype=float)
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    n = matrix.shape[0]
    stratum_code, psu_code, n_strata, n_psu = psu_keys(strata, psu, n)
    psu_totals = _sum_by(psu_code, matrix, n_psu)
    psu_stratum = np.zeros(n_psu, dtype=np.int64)
    psu_stratum[psu_code] = stratum_code
    psu_first_row = np.zeros(n_psu, dtype=np.int64)
    psu_first_row[psu_code[::-1]] = np.arange(n)[::-1]
    n_h = np.bincount(psu_stratum, minlength=n_strata).astype(float)
    fraction = _sampling_fraction(fpc, psu_stratum, psu_first_row, n_h)
    return stratified_psu_covariance(psu_totals, psu_stratum, n_strata, fraction, lonely_psu)


def two_stage_covariance(scores: np.ndarray, strata: np.ndarray | None, psu: np.ndarray,
                         fpc: np.ndarray | None, ssu: np.ndarray | None, fpc2: np.ndarray | None,
                         lonely_psu: str = "adjust") -> np.ndarray:
    """Covariance under a two-stage design (R ``svydesign(id=~psu+ssu, fpc=~fpc+fpc2)``).

    The first stage as in :func:`linearized_covariance`, plus, within each PSU, the variance of
    the second-stage units (simple random sampling of SSUs with fpc2) multiplied by the
    first-stage sampling fraction. Without a first-stage fpc only the first stage counts, as R
    does (with-replacement first stage already captures all variance).
    """
    matrix = np.asarray(scores, dtype=float)
    if matrix.ndim == 1:
        matrix = matrix[:, None]
    covariance = linearized_covariance(matrix, strata, psu, fpc, lonely_psu)
    if fpc is None or ssu is None:
        return covariance
    n = matrix.shape[0]
    stratum_code, psu_code, _, n_psu = psu_keys(strata, psu, n)
    parent_fraction = _row_fraction(fpc, stratum_code, psu_code, n_psu)
    # Second stage: each first-stage PSU is a stratum whose "PSUs" are the SSUs.
    _, ssu_code, _, n_ssu = psu_keys(psu_code, ssu, n)
    ssu_totals = _sum_by(ssu_code, matrix, n_ssu)
    ssu_parent = np.zeros(n_ssu, dtype=np.int64)
    ssu_parent[ssu_code] = psu_code
    ssu_first_row = np.zeros(n_ssu, dtype=np.int64)
    ssu_first_row[ssu_code[::-1]] = np.arange(n)[::-1]
    m_i = np.bincount(ssu_parent, minlength=n_psu).astype(float)
    fraction2 = _sampling_fraction(fpc2, ssu_parent, ssu_first_row, m_i)
    # Each PSU's within-variance is multiplied by its f1; the factor is constant within the
    # PSU, so it can be applied to the totals (square root on both sides) before centring.
    # A PSU whose SSUs were all taken (f2 = 1) contributes nothing, lonely or not.
    scaled = ssu_totals * np.sqrt(parent_fraction[ssu_parent])[:, None]
    return covariance + stratified_psu_covariance(scaled, ssu_parent, n_psu, fraction2, lonely_psu)


def _row_fraction(fpc: np.ndarray, stratum_code: np.ndarray, psu_code: np.ndarray, n_psu: int) -> np.ndarray:
    """First-stage sampling fraction of each PSU."""
    n_strata = int(stratum_code.max()) + 1
    psu_stratum = np.zeros(n_psu, dtype=np.int64)
    psu_stratum[psu_code] = stratum_code
    first_row = np.zeros(n_psu, dtype=np.int64)
    first_row[psu_code[::-1]] = np.arange(len(psu_code))[::-1]
    n_h = np.bincount(psu_stratum, minlength=n_strata).astype(float)
    per_stratum = _sampling_fraction(fpc, psu_stratum, first_row, n_h)
    return per_stratum[psu_stratum]


def design_degrees_of_freedom(strata: np.ndarray | None, psu: np.ndarray | None,
                              n: int | None = None) -> int:
    """Residual degrees of freedom of the design: number of PSUs minus number of strata.

    With neither strata nor clusters this is n - 1, as R ``degf`` (pass ``n`` then).
    """
    reference = psu if psu is not None else strata
    if reference is None:
        if n is None:
            raise ValueError("without strata or psu, pass the number of respondents n")
        return n - 1
    n = len(reference)
    _, _, n_strata, n_psu = psu_keys(strata, psu, n)
    return n_psu - n_strata


def domain_degrees_of_freedom(strata: np.ndarray | None, psu: np.ndarray | None,
                              members: np.ndarray) -> int:
    """Degrees of freedom of a domain, as R ``degf(subset(design, domain))``.

    R's ``svyciprop`` on a subset counts the PSUs that hold at least one domain member (a
    non-zero weight) minus the strata holding those PSUs; a domain inside one PSU has df 0.
    """
    members = np.asarray(members, dtype=bool)
    n = len(members)
    stratum_code, psu_code, _, _ = psu_keys(strata, psu, n)
    if not members.any():
        return 0
    return int(len(np.unique(psu_code[members])) - len(np.unique(stratum_code[members])))
