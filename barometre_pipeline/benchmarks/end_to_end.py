"""End-to-end benchmark: the whole pipeline through Dagster on the national scenario.

    python -m barometre_pipeline.benchmarks.end_to_end --n 1000000          # and 100,000 to compare
    python -m barometre_pipeline.benchmarks.end_to_end --n 1000000 --compare-n 0   # 1M only

For each size: generates the national scenario (every collège and lycée GT of France plus Québec,
exactly n respondents over two waves; NOT timed) into ``<work>/n<size>/data`` beside a copy of the
shipped public and scientific sources, then runs the ``nightly_refresh`` job (every asset and
check, in process, as ``barometre materialize`` does) in a child process and prints respondents,
wall time, the child's CPU time and peak RSS, and the time and peak RSS per stage (from Dagster's
own step events and the child's RSS sampled every 0.2 s):

    read      raw/<source>            readers (CSV, XLSX), file hashes
    stage     staging/<source>        codebook mapping, pseudonyms, rejects, derived variables
    validate  every asset check       pandera, Great Expectations, rows conserved, privacy
    weight    weighting/<source>      raking to the margins
    estimate  indicators/<source>, consolidated/indicators, consolidated/sources
    effects   consolidated/effects, consolidated/comparisons, restricted/school_funnel
    publish   exports/*               Parquet, dictionary, CSV zips, dashboard
    Dagster overhead = wall - the sum of the steps (process start, imports, loading the
    definitions, event storage, step orchestration).

Baseline, measured in the same run on the same files: reading every pilot export once and
nothing else (DuckDB's CSV scanner, calamine for XLSX), in its own process; the pipeline's wall
time is printed as a ratio to it.

Targets (issue 12): under 60 s wall and under 4 GiB peak at 1,000,000 respondents; validation
under 25 % of the run. The script prints met / MISSED; it never fails on timings. The machine is
shared: run it when nothing else runs, and compare sizes within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

from barometre_pipeline.settings import PROJECT_ROOT

STAGES = ("read", "stage", "validate", "weight", "estimate", "effects", "publish")
TARGET_SECONDS = 60.0
TARGET_GIB = 4.0
VALIDATION_SHARE = 0.25
SHIPPED_DATA = PROJECT_ROOT / "data"


def stage_of(step_key: str, is_check: bool) -> str:
    """The stage a Dagster step belongs to (step keys are asset keys joined by `__`)."""
    if is_check:
        return "validate"
    group = step_key.split("__", 1)[0]
    if group == "raw":
        return "read"
    if group == "staging":
        return "stage"
    if group == "weighting":
        return "weight"
    if group == "indicators":
        return "estimate"
    if group == "consolidated":
        return "effects" if step_key.endswith(("__effects", "__comparisons")) else "estimate"
    if group == "restricted":
        return "effects"
    return "publish"


def prepare_data(target: Path, n: int, frames: Path, seed: int) -> Path:
    """The shipped non-pilot sources plus the national scenario with exactly n respondents."""
    from barometre_pipeline.simulate.national import generate_national

    if target.exists():
        shutil.rmtree(target)

    def skip(directory: str, names: list[str]) -> list[str]:
        here = Path(directory)
        skipped = [x for x in names if here == SHIPPED_DATA
                   and x in {"warehouse", "exports", "restricted"}]
        skipped += [x for x in names if here == SHIPPED_DATA / "raw" and x == "pilot"]
        skipped += [x for x in names if here == SHIPPED_DATA / "sources" and x.startswith("pilot_")]
        return skipped

    shutil.copytree(SHIPPED_DATA, target, ignore=skip)
    generate_national(target, frames, seed, n)
    return target


class RssSampler:
    """Samples this process's resident set size (``/proc/self/status``) in a thread, so that the
    peak memory can be charged to the step that was running (the kernel's ``ru_maxrss`` only gives
    the whole run's peak)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.samples: list[tuple[float, int]] = []  # (epoch seconds, bytes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def current_bytes(field: str = "VmRSS") -> int:
        """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, in bytes."""
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) * 1024
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self.current_bytes()))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak_between(self, start: float, end: float) -> int:
        inside = [rss for t, rss in self.samples if start <= t <= end]
        return max(inside, default=0)


def run_pipeline_child(data_dir: Path, report: Path) -> None:
    """In the child process: run the job and write per-step timings and peak RSS as JSON."""
    started = time.perf_counter()
    import dagster as dg

    from barometre_pipeline.definitions import build_definitions
    from barometre_pipeline.defs.partitions import every_wave_tags
    from barometre_pipeline.sources.manifest import load_manifests

    job = build_definitions().resolve_job_def("nightly_refresh")
    tags = every_wave_tags(load_manifests(data_dir))
    loaded = time.perf_counter()
    with dg.DagsterInstance.ephemeral() as instance, RssSampler() as sampler:
        result = job.execute_in_process(instance=instance, raise_on_error=False, tags=tags)
        records = instance.all_logs(result.run_id)
    finished = time.perf_counter()
    starts: dict[str, float] = {}
    steps: dict[str, dict[str, object]] = {}
    checks: set[str] = set()
    for record in records:
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        kind = event.event_type_value
        if kind == "STEP_START":
            starts[event.step_key] = record.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in starts:
            steps[event.step_key] = {
                "seconds": record.timestamp - starts[event.step_key],
                "ok": kind == "STEP_SUCCESS",
                "peak_bytes": sampler.peak_between(starts[event.step_key], record.timestamp)}
        elif kind == "ASSET_CHECK_EVALUATION":
            checks.add(event.step_key)
    report.write_text(json.dumps({
        "success": result.success,
        "load_seconds": loaded - started,
        "run_seconds": finished - loaded,
        "steps": {key: {**value, "check": key in checks} for key, value in steps.items()},
        # The child's own high-water mark: the kernel's ru_maxrss would also count the parent's
        # memory at fork time (the generator's, when data were generated in this session).
        "peak_bytes": RssSampler.current_bytes("VmHWM"),
    }))


def read_inputs_child(data_dir: Path, report: Path) -> None:
    """In the child process: the baseline, reading every pilot export once and nothing else.

    DuckDB's own CSV scanner (every column as text, two threads) and calamine for the XLSX
    sheets: the floor any pipeline pays before it checks, stages or estimates anything.
    """
    import duckdb
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    rows = 0
    with duckdb.connect() as con:
        for path in sorted((data_dir / "raw" / "pilot").rglob("*.csv")):
            if path.name.startswith("ground_truth"):
                continue
            rows += con.execute("SELECT count(*) FROM (SELECT * FROM read_csv(?, all_varchar = true,"
                                " delim = ';', header = true))", [str(path)]).fetchone()[0]
    for path in sorted((data_dir / "raw" / "pilot").rglob("*.xlsx")):
        workbook = CalamineWorkbook.from_path(str(path))
        rows += len(workbook.get_sheet_by_index(0).to_python())
    report.write_text(json.dumps({"rows": rows, "seconds": time.perf_counter() - started,
                                  "peak_bytes": RssSampler.current_bytes("VmHWM")}))


def run_child(role: str, data_dir: Path, report: Path, failure: str, *, env: dict[str, str] | None = None,
              log: Path | None = None) -> tuple[float, resource.struct_rusage, dict]:
    """This script again in a child process (``--child`` or ``--read-inputs``): its wall time, its
    resource usage and the JSON report it wrote. ``failure`` names what failed, if it does."""
    started = time.perf_counter()
    with open(log, "wb") if log else open(os.devnull, "wb") as stderr:
        child = subprocess.Popen([sys.executable, "-m", "barometre_pipeline.benchmarks.end_to_end",
                                  role, str(data_dir), str(report)], env=env,
                                 stdout=subprocess.DEVNULL if log else None,
                                 stderr=stderr if log else None)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if status != 0 or not report.exists():
        raise SystemExit(f"{failure} (status {status})" + (f"; see {log}" if log else ""))
    return wall, usage, json.loads(report.read_text())


def measure_baseline(data_dir: Path, work: Path) -> dict[str, float]:
    """Wall time and peak RSS of :func:`read_inputs_child` in its own process."""
    wall, _, figures = run_child("--read-inputs", data_dir, work / "baseline.json",
                                 "baseline read failed")
    return {"wall": wall, "peak_gib": figures["peak_bytes"] / 1024**3, "rows": figures["rows"]}


def measure(data_dir: Path, work: Path) -> dict[str, object]:
    """Run the pipeline in a child process; wall time and peak RSS are the child's own."""
    env = dict(os.environ)
    env.update({
        "BAROMETRE_DATA_DIR": str(data_dir),
        "BAROMETRE_WAREHOUSE": str(work / "warehouse" / "barometre.duckdb"),
        "BAROMETRE_EXPORT_DIR": str(work / "exports"),
        "BAROMETRE_RESTRICTED_DIR": str(work / "restricted"),
        "BAROMETRE_MODE": "dev",
        "BAROMETRE_EXECUTOR": "in_process",
        "DAGSTER_HOME": str(work / "dagster_home"),
    })
    env.pop("BAROMETRE_PSEUDONYM_KEY", None)
    for folder in ("warehouse", "exports", "restricted", "dagster_home"):
        shutil.rmtree(work / folder, ignore_errors=True)
    (work / "dagster_home").mkdir(parents=True)
    wall, usage, steps = run_child("--child", data_dir, work / "steps.json", "pipeline run failed",
                                   env=env, log=work / "run.log")
    by_stage: dict[str, float] = defaultdict(float)
    peak_by_stage: dict[str, float] = defaultdict(float)
    for key, step in steps["steps"].items():
        stage = stage_of(key, bool(step["check"]))
        by_stage[stage] += float(step["seconds"])
        peak_by_stage[stage] = max(peak_by_stage[stage], float(step.get("peak_bytes", 0)) / 1024**3)
    return {
        "wall": wall,
        "peak_gib": float(steps["peak_bytes"]) / 1024**3,
        # CPU time is what the run costs when the machine is shared; wall is what a user waits.
        "cpu": usage.ru_utime + usage.ru_stime,
        "success": steps["success"],
        "stages": {stage: by_stage.get(stage, 0.0) for stage in STAGES},
        "stage_peak_gib": {stage: peak_by_stage.get(stage, 0.0) for stage in STAGES},
        "overhead": wall - sum(by_stage.values()),
        "load": steps["load_seconds"],
        "slowest": sorted(((float(s["seconds"]), k) for k, s in steps["steps"].items()),
                          reverse=True)[:8],
    }


def respondents_in(data_dir: Path) -> int:
    total = 0
    for path in (data_dir / "raw" / "pilot").rglob("planted_effects_*.json"):
        total += json.loads(path.read_text(encoding="utf-8"))["sample"]["respondents"]
    return total


def _print(n: int, respondents: int, figures: dict[str, object]) -> None:
    wall = float(figures["wall"])
    print(f"\n== {respondents:,} respondents (requested {n:,}) ==")
    print(f"wall {wall:.1f} s   CPU {figures['cpu']:.1f} s (user + sys)   peak RSS "
          f"{figures['peak_gib']:.2f} GiB   run "
          f"{'succeeded' if figures['success'] else 'FAILED'}")
    for stage, seconds in figures["stages"].items():
        print(f"  {stage:<9} {seconds:7.1f} s  {100 * seconds / wall:5.1f} %   peak RSS "
              f"{figures['stage_peak_gib'][stage]:.2f} GiB")
    print(f"  {'Dagster overhead':<9} {figures['overhead']:7.1f} s  "
          f"{100 * float(figures['overhead']) / wall:5.1f} %  "
          f"(of which imports + loading definitions {figures['load']:.1f} s)")
    print("  slowest steps: " + ", ".join(f"{k} {s:.1f} s" for s, k in figures["slowest"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000, help="respondents (exact total)")
    parser.add_argument("--compare-n", type=int, default=100_000,
                        help="a second, smaller size to show how cost grows (0: none)")
    parser.add_argument("--frames", type=Path, default=SHIPPED_DATA / "frames",
                        help="folder holding the DEPP national files and the Québec frame")
    parser.add_argument("--work", type=Path, default=Path("/tmp/barometre-bench"),
                        help="scratch folder (data, warehouse, exports per size)")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--reuse", action="store_true",
                        help="reuse data already generated under --work for that size")
    parser.add_argument("--child", nargs=2, metavar=("DATA_DIR", "REPORT"), help=argparse.SUPPRESS)
    parser.add_argument("--read-inputs", nargs=2, metavar=("DATA_DIR", "REPORT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        run_pipeline_child(Path(args.child[0]), Path(args.child[1]))
        return 0
    if args.read_inputs:
        read_inputs_child(Path(args.read_inputs[0]), Path(args.read_inputs[1]))
        return 0

    sizes = [s for s in (args.compare_n, args.n) if s]
    results = {}
    for n in sizes:
        work = args.work / f"n{n}"
        data_dir = work / "data"
        if not (args.reuse and (data_dir / "sources").exists()):
            started = time.perf_counter()
            prepare_data(data_dir, n, args.frames, args.seed)
            print(f"generated {n:,} respondents in {time.perf_counter() - started:.1f} s "
                  "(not timed)", flush=True)
        baseline = measure_baseline(data_dir, work)
        figures = measure(data_dir, work)
        results[n] = figures
        _print(n, respondents_in(data_dir), figures)
        print(f"  baseline, same data: reading the pilot exports once ({baseline['rows']:,} sheet and CSV "
              f"rows; DuckDB CSV scan, calamine XLSX) {baseline['wall']:.1f} s, peak RSS "
              f"{baseline['peak_gib']:.2f} GiB; the pipeline takes "
              f"x{float(figures['wall']) / baseline['wall']:.1f} its time")

    top = results[args.n]
    validation = float(top["stages"]["validate"]) / float(top["wall"])
    print(f"\ntargets at {args.n:,}: wall < {TARGET_SECONDS:.0f} s "
          f"{'met' if top['wall'] < TARGET_SECONDS else 'MISSED'}; peak < {TARGET_GIB:.0f} GiB "
          f"{'met' if top['peak_gib'] < TARGET_GIB else 'MISSED'}; validation < "
          f"{100 * VALIDATION_SHARE:.0f} % of the run "
          f"{'met' if validation < VALIDATION_SHARE else 'MISSED'} ({100 * validation:.1f} %)")
    if len(results) == 2:
        small = results[args.compare_n]
        print(f"growth {args.compare_n:,} -> {args.n:,}: wall x{top['wall'] / small['wall']:.1f}, "
              f"peak RSS x{top['peak_gib'] / small['peak_gib']:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
