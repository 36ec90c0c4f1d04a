"""`barometre`: the few commands data engineers type (everything else is the Dagster UI/CLI).

    barometre materialize        # run every asset once on the data in BAROMETRE_DATA_DIR
    barometre dev                # open the Dagster UI (http://127.0.0.1:3000)
    barometre home               # create $DAGSTER_HOME with the instance settings, print it

Without DAGSTER_HOME, Dagster keeps run history in a temporary folder it deletes; these commands
use `<project>/.dagster_home` unless DAGSTER_HOME is set.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from barometre_pipeline.settings import PROJECT_ROOT

INSTANCE_TEMPLATE = Path(__file__).parent / "instance" / "dagster.yaml"


def prepare_dagster_home() -> Path:
    home = Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        shutil.copyfile(INSTANCE_TEMPLATE, target)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    return home


def _dagster(*args: str) -> int:
    dagster = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
    return subprocess.call([dagster, *args], cwd=PROJECT_ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="barometre", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("materialize", help="materialise assets (all by default)")
    run.add_argument("--select", default="*", help="Dagster asset selection (default: '*')")
    sub.add_parser("dev", help="start the Dagster UI on this code location")
    sub.add_parser("home", help="prepare DAGSTER_HOME and print its path")
    args = parser.parse_args(argv)

    home = prepare_dagster_home()
    if args.command == "home":
        print(home)
        return 0
    if args.command == "dev":
        return _dagster("dev", "-w", str(PROJECT_ROOT / "workspace.yaml"))
    return _dagster("asset", "materialize", "-m", "barometre_pipeline.definitions",
                    "--select", args.select)


if __name__ == "__main__":
    raise SystemExit(main())
