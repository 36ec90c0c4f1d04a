"""Scale benchmark of the generator: ``python -m barometre_pipeline.simulate.benchmark``.

Builds a population from the Orléans-Tours frame replicated ``--copies`` times (a synthetic
"national-size" frame, not a real territory), simulates one wave, draws about
``--n-respondents`` respondents, computes the ground truth and writes the French CSV export to a
temporary folder. Prints sizes and seconds per stage.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from barometre_pipeline.simulate.frames import read_orleans_tours_frame, tile_frame
from barometre_pipeline.simulate.ground_truth import finite_population_truth
from barometre_pipeline.simulate.pilot import simulate_wave, territory_from_frame
from barometre_pipeline.simulate.population import wave_rng
from barometre_pipeline.simulate.questionnaire_export import answer_table, write_france_csv

T = TypeVar("T")


def _timed(label: str, action: Callable[[], T], timings: list[tuple[str, float, str]],
           size: Callable[[T], str]) -> T:
    started = time.perf_counter()
    result = action()
    timings.append((label, time.perf_counter() - started, size(result)))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-respondents", type=int, default=1_000_000)
    parser.add_argument("--copies", type=int, default=16, help="replicas of the Orléans-Tours frame")
    parser.add_argument("--take", type=int, default=300, help="pupils drawn per sampled school (grows if needed)")
    parser.add_argument("--frames", type=Path, default=Path("data/frames"))
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args(argv)

    timings: list[tuple[str, float, str]] = []
    total_started = time.perf_counter()
    frame = _timed("read + tile frame", lambda: tile_frame(read_orleans_tours_frame(args.frames), args.copies),
                   timings, lambda f: f"{len(f.schools):,} schools, {int(f.enrolment['pupils'].sum()):,} pupils")
    territory = _timed("school attributes", lambda: territory_from_frame(frame, args.seed), timings,
                       lambda t: f"{len(t.schools):,} schools")
    pilot = _timed("population + outcomes + sample",
                   lambda: simulate_wave(territory, "2025", args.n_respondents, take_per_school=args.take),
                   timings, lambda p: (f"{len(p.population):,} pupils, {len(p.sample):,} sampled, "
                                       f"{int(p.sample['responded'].sum()):,} respondents"))
    truth = _timed("ground truth", lambda: finite_population_truth(pilot.population, "FR-OT", "2025"),
                   timings, lambda t: f"{len(t):,} rows")
    table = _timed("answer table", lambda: answer_table(pilot.respondents, pilot.schools, "FR-OT", "2025",
                                                        wave_rng(args.seed, "FR-OT", "export-2025")),
                   timings, lambda t: f"{len(t):,} rows × {t.shape[1]} columns")
    del truth
    with tempfile.TemporaryDirectory() as folder:
        _timed("write CSV", lambda: write_france_csv(table, Path(folder) / "export.csv"), timings,
                      lambda p: f"{p.stat().st_size / 1e6:,.0f} MB")
    total = time.perf_counter() - total_started
    width = max(len(label) for label, _, _ in timings)
    for label, seconds, size in timings:
        print(f"{label:<{width}}  {seconds:7.2f} s  {size}")
    print(f"{'total':<{width}}  {total:7.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
