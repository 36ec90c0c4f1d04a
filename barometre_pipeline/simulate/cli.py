"""``barometre-simulate``: write the synthetic pilot (exports, ground truth, manifests)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from barometre_pipeline.simulate.national import NATIONAL_DEFAULT_RESPONDENTS, generate_national
from barometre_pipeline.simulate.pilot import DEFAULT_RESPONDENTS, TERRITORIES, generate_pilot
from barometre_pipeline.simulate.planted_model import WAVES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="barometre-simulate",
        description=(
            "Generate the SYNTHETIC pilot of the STOP Cyberviolences barometer: for each territory "
            "(FR-OT = académie d'Orléans-Tours, CA-QC = Québec) and wave, a questionnaire-tool export "
            "under <out>/raw/pilot/<territory>/<wave>/, its finite-population ground truth "
            "(ground_truth_<territory>_<wave>.csv) and planted effects (planted_effects_<wave>.json) "
            "beside it, and a source manifest <out>/sources/pilot_<territory>_<wave>.yaml. "
            "Same seed, same files."
        ),
    )
    parser.add_argument("--seed", type=int, default=2025, help="random seed (default: 2025)")
    parser.add_argument("--out", type=Path, default=Path("data"),
                        help="data directory to write into (default: data)")
    parser.add_argument("--frames", type=Path, default=None,
                        help="folder of the sampling frames (default: <out>/frames)")
    parser.add_argument("--scenario", choices=("pilot", "national"), default="pilot",
                        help="pilot (default): académie d'Orléans-Tours and Québec; national: "
                             "every collège and lycée GT of France (DEPP national files in "
                             "<frames>) and Québec, stratified by académie / region group")
    parser.add_argument("--n-respondents", type=int, default=None,
                        help="pilot: approximate respondents per territory and wave (default: "
                             + ", ".join(f"{k} {v}" for k, v in DEFAULT_RESPONDENTS.items())
                             + "); national: the exact total over every territory and wave "
                             f"(default {NATIONAL_DEFAULT_RESPONDENTS:,})")
    parser.add_argument("--territory", choices=TERRITORIES, action="append",
                        help="only this territory (repeatable; default: all)")
    parser.add_argument("--wave", choices=WAVES, action="append",
                        help="only this wave (repeatable; default: all). The 2026 planted change "
                             "is reported against 2025 only when both are generated.")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    frames = args.frames or args.out / "frames"
    respondents = ({t: args.n_respondents for t in TERRITORIES} if args.n_respondents
                   else dict(DEFAULT_RESPONDENTS))
    started = time.perf_counter()
    if args.scenario == "national":
        if args.territory:
            raise SystemExit("barometre-simulate: --territory does not apply to --scenario "
                             "national (France and Québec are generated together)")
        written = generate_national(args.out, frames, args.seed,
                                    args.n_respondents or NATIONAL_DEFAULT_RESPONDENTS,
                                    waves=tuple(sorted(args.wave or WAVES)))
        for path in written:
            print(path)
        print(f"{len(written)} files written in {time.perf_counter() - started:.1f} s "
              f"(seed {args.seed}, national scenario)")
        return 0
    written = generate_pilot(args.out, frames, args.seed, respondents,
                             territories=tuple(args.territory or TERRITORIES),
                             waves=tuple(sorted(args.wave or WAVES)))
    for path in written:
        print(path)
    print(f"{len(written)} files written in {time.perf_counter() - started:.1f} s (seed {args.seed})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
