"""Benchmark of the indicator estimation step against samplics and svy.

    python -m barometre_pipeline.benchmarks.estimation [--n 1000000] [--engines duckdb,duckdb_1thread,samplics,svy]

Builds a synthetic barometer of n pupils (clustered in ~2000 schools within 10 strata, 10
binary indicators, dimensions sex(3) × level(7) × territory(2) × age_band(4)) and estimates
10 indicators × 4 breakdowns ([], [sex], [level], [territory, sex]) with standard errors and
confidence intervals. Each engine runs in its own subprocess so that its peak memory is its
own; the parent checks that every engine's estimates and standard errors equal samplics'
(relative difference <= 1e-9) and prints sizes, seconds, speed ratios and peak memory.

samplics and svy are not runtime dependencies: they come with the ``bench`` extra. Versions
that worked (installed into the project venv without touching numpy 2.4 / pandas 2.3 /
duckdb 2.0): samplics 0.6.1 (archived upstream, emits a FutureWarning pointing to svy) and
svy 0.35.0 (with svy-rs 0.19.1 and polars 2.1.0).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

N_STRATA = 10
N_SCHOOLS = 2000
N_INDICATORS = 10
SEXES = np.array(["F", "M", "X"])
LEVELS = np.array(["6E", "5E", "4E", "3E", "2NDE", "1RE", "TLE"])
TERRITORIES = np.array(["FR-OT", "CA-QC"])
AGE_BANDS = np.array(["11-12", "13-14", "15-16", "17-18"])
BREAKDOWNS: list[list[str]] = [[], ["sex"], ["level"], ["territory", "sex"]]
DIMENSIONS = ["sex", "level", "territory"]
INDICATORS = [f"cv_{k}" for k in range(N_INDICATORS)]
TOLERANCE = 1e-9


def synthetic_respondents(n: int, seed: int = 20240601) -> pd.DataFrame:
    """n pupils in schools nested in strata, with school-level clustering of the outcomes."""
    rng = np.random.default_rng(seed)
    school_stratum = np.arange(N_SCHOOLS) % N_STRATA
    school_territory = np.where(school_stratum < 7, 0, 1)  # 7 French strata, 3 Québec strata
    school_effect = rng.normal(0.0, 0.5, N_SCHOOLS)
    school_weight = rng.uniform(5.0, 40.0, N_SCHOOLS)
    school = rng.integers(0, N_SCHOOLS, n)
    level = rng.integers(0, len(LEVELS), n)
    age_band = np.clip((level + rng.integers(0, 2, n)) // 2, 0, len(AGE_BANDS) - 1)
    sex = rng.choice(3, size=n, p=[0.49, 0.49, 0.02])
    frame = pd.DataFrame({
        "respondent_id": np.arange(n),
        "stratum": school_stratum[school],
        "school": school,
        "weight": school_weight[school] * rng.uniform(0.8, 1.25, n),
        "sex": SEXES[sex],
        "level": LEVELS[level],
        "territory": TERRITORIES[school_territory[school]],
        "age_band": AGE_BANDS[age_band],
    })
    base = np.linspace(-3.0, 0.5, N_INDICATORS)
    for k, code in enumerate(INDICATORS):
        logit = base[k] + school_effect[school] + 0.3 * (sex == 0) - 0.1 * level
        frame[code] = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    return frame


def _cell_key(breakdown: list[str], values: dict[str, str]) -> tuple[str, ...]:
    return tuple(values.get(d, "_T") if d in breakdown else "_T" for d in DIMENSIONS)


def run_duckdb(frame: pd.DataFrame, threads: int | None = None) -> tuple[pd.DataFrame, dict[str, float]]:
    import duckdb

    from barometre_pipeline.stats.domain_estimates import IndicatorSpec, estimate_proportions

    con = duckdb.connect()
    if threads is not None:
        con.execute(f"SET threads = {threads}")
    start = time.perf_counter()
    con.register("respondents_frame", frame)
    con.execute("CREATE TABLE respondents AS SELECT * FROM respondents_frame")
    con.unregister("respondents_frame")
    loaded, cpu = time.perf_counter(), time.process_time()
    table = estimate_proportions(
        con, "respondents", weight="weight", strata="stratum", psu="school", fpc=None,
        indicators=[IndicatorSpec(code, code) for code in INDICATORS],
        breakdowns=BREAKDOWNS, ci_method="beta",
    )
    done = time.perf_counter()
    result = table[["indicator_code", *DIMENSIONS, "estimate", "se", "ci_low", "ci_high"]]
    return result, {"load_seconds": loaded - start, "seconds": done - loaded,
                    "cpu_seconds": time.process_time() - cpu}


def run_samplics(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    warnings.simplefilter("ignore")
    from samplics import PopParam, TaylorEstimator

    start, cpu = time.perf_counter(), time.process_time()
    rows = []
    stratum = frame["stratum"].to_numpy()
    psu = frame["school"].to_numpy()
    weight = frame["weight"].to_numpy()
    labels = {tuple(b): frame[b].astype(str).agg("|".join, axis=1).to_numpy() if b else None
              for b in BREAKDOWNS}
    for code in INDICATORS:
        y = frame[code].to_numpy(dtype=float)
        for breakdown in BREAKDOWNS:
            estimator = TaylorEstimator(PopParam.mean)
            domain = labels[tuple(breakdown)]
            estimator.estimate(y=y, samp_weight=weight, stratum=stratum, psu=psu, domain=domain)
            if domain is None:
                cells = {"": (estimator.point_est, estimator.stderror)}
            else:
                cells = {key: (estimator.point_est[key], estimator.stderror[key]) for key in estimator.point_est}
            for label, (estimate, se) in cells.items():
                values = dict(zip(breakdown, str(label).split("|"), strict=False)) if breakdown else {}
                rows.append((code, *_cell_key(breakdown, values), float(estimate), float(se)))
    done = time.perf_counter()
    result = pd.DataFrame(rows, columns=["indicator_code", *DIMENSIONS, "estimate", "se"])
    return result, {"seconds": done - start, "cpu_seconds": time.process_time() - cpu}


def run_svy(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    import polars as pl
    import svy

    data = pl.from_pandas(frame).with_columns([pl.col(code).cast(pl.Float64) for code in INDICATORS])
    start, cpu = time.perf_counter(), time.process_time()
    sample = svy.Sample(data, svy.Design(stratum="stratum", psu="school", wgt="weight"))
    rows = []
    for breakdown in BREAKDOWNS:
        estimates = sample.estimation.mean(INDICATORS, by=breakdown or None)
        for code, estimate in zip(INDICATORS, estimates, strict=True):
            for record in estimate.to_polars().to_dicts():
                values = {d: str(record[d]) for d in breakdown}
                rows.append((code, *_cell_key(breakdown, values), float(record["est"]), float(record["se"])))
    done = time.perf_counter()
    result = pd.DataFrame(rows, columns=["indicator_code", *DIMENSIONS, "estimate", "se"])
    return result, {"seconds": done - start, "cpu_seconds": time.process_time() - cpu}


def run_duckdb_one_thread(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """The pipeline's setting: one thread, so that float sums (and published figures) are
    reproducible bit for bit from run to run."""
    return run_duckdb(frame, threads=1)


ENGINES = {"duckdb": run_duckdb, "duckdb_1thread": run_duckdb_one_thread,
           "samplics": run_samplics, "svy": run_svy}


def _peak_rss_gib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def run_engine_child(engine: str, n: int, output: Path) -> None:
    """Generate the data, run one engine, write its cells and its figures."""
    frame = synthetic_respondents(n)
    before = _peak_rss_gib()
    result, figures = ENGINES[engine](frame)
    figures.update({"peak_rss_gib": _peak_rss_gib(), "peak_rss_gib_after_data": before,
                    "cells": len(result)})
    result.to_parquet(output / f"{engine}.parquet")
    (output / f"{engine}.json").write_text(json.dumps(figures))


def _compare(reference: pd.DataFrame, other: pd.DataFrame) -> tuple[int, float, float]:
    keys = ["indicator_code", *DIMENSIONS]
    merged = reference.merge(other, on=keys, suffixes=("_ref", "_other"), how="outer", indicator=True)
    unmatched = int((merged["_merge"] != "both").sum())
    both = merged[merged["_merge"] == "both"]

    def relative(a: pd.Series, b: pd.Series) -> float:
        scale = np.maximum(np.abs(a.to_numpy()), 1e-300)
        return float(np.max(np.abs(a.to_numpy() - b.to_numpy()) / scale)) if len(a) else float("nan")

    return unmatched, relative(both["estimate_ref"], both["estimate_other"]), relative(both["se_ref"], both["se_other"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of synthetic respondents")
    parser.add_argument("--engines", default="duckdb,duckdb_1thread,samplics,svy")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_engine_child(args.child, args.n, Path(args.output))
        return 0

    engines = [e for e in args.engines.split(",") if e]
    frame = synthetic_respondents(args.n)
    print(f"respondents: {len(frame):,}  schools (PSUs): {frame['school'].nunique():,}  "
          f"strata: {frame['stratum'].nunique()}  indicators: {N_INDICATORS}  breakdowns: {BREAKDOWNS}")
    del frame
    figures: dict[str, dict] = {}
    results: dict[str, pd.DataFrame] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for engine in engines:
            completed = subprocess.run(
                [sys.executable, "-m", "barometre_pipeline.benchmarks.estimation", "--child", engine,
                 "--n", str(args.n), "--output", tmp],
                capture_output=True, text=True,
            )
            if completed.returncode != 0:
                print(f"{engine}: FAILED\n{completed.stderr[-2000:]}")
                continue
            figures[engine] = json.loads((Path(tmp) / f"{engine}.json").read_text())
            results[engine] = pd.read_parquet(Path(tmp) / f"{engine}.parquet")

    # CPU seconds (all threads): on a shared machine they vary less than the wall-clock seconds
    # the ratios are computed from.
    print(f"\n{'engine':<16}{'cells':>7}{'seconds':>10}{'CPU s':>8}{'peak RSS GiB':>14}  notes")
    for engine, figure in figures.items():
        note = f"(+ {figure['load_seconds']:.2f} s to load the table into DuckDB)" if "load_seconds" in figure else ""
        print(f"{engine:<16}{figure['cells']:>7}{figure['seconds']:>10.2f}{figure['cpu_seconds']:>8.2f}"
              f"{figure['peak_rss_gib']:>14.2f}  {note} data alone: {figure['peak_rss_gib_after_data']:.2f} GiB")
    ours_engines = (("duckdb", "estimation step (duckdb engine)"),
                    ("duckdb_1thread", "estimation step, one thread (the pipeline's reproducible setting)"))
    for ours_engine, title in ours_engines:
        if ours_engine not in figures:
            continue
        ours = figures[ours_engine]["seconds"]
        print(f"\n{title}: {ours:.2f} s   target < 5 s: {'met' if ours < 5 else 'MISSED'}")
        for engine, target in (("samplics", 20), ("svy", 10)):
            if engine in figures:
                ratio = figures[engine]["seconds"] / ours
                print(f"  speed-up vs {engine}: {ratio:.1f}x   target >= {target}x: {'met' if ratio >= target else 'MISSED'}")
    if "duckdb" in figures:
        peak = figures["duckdb"]["peak_rss_gib"]
        print(f"peak memory (duckdb engine process): {peak:.2f} GiB   target < 4 GiB: {'met' if peak < 4 else 'MISSED'}")
    if "samplics" in results:
        print()
        for engine, result in results.items():
            if engine == "samplics":
                continue
            unmatched, d_est, d_se = _compare(results["samplics"], result)
            verdict = "equal" if unmatched == 0 and d_est <= TOLERANCE and d_se <= TOLERANCE else "DIFFERENT"
            print(f"{engine} vs samplics: {verdict} (unmatched cells {unmatched}, max relative difference "
                  f"estimate {d_est:.1e}, se {d_se:.1e}; tolerance {TOLERANCE:.0e})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
