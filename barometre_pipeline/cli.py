"""`barometre`: the few commands data engineers type (everything else is the Dagster UI/CLI).

    barometre materialize        # run every asset once on the data in BAROMETRE_DATA_DIR
    barometre dev                # open the Dagster UI (http://127.0.0.1:3000)
    barometre check              # validate manifests, codebook, catalogue and source files
    barometre home               # create $DAGSTER_HOME with the instance settings, print it

Without DAGSTER_HOME, Dagster keeps run history in a temporary folder it deletes; these commands
use `<project>/.dagster_home` unless DAGSTER_HOME is set.
"""

from __future__ import annotations

import argparse
import fcntl
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
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    # Two commands started at once on a new home would both create the run storage and one
    # would fail ("table already exists"): the first creates it under a lock, the other waits.
    with (home / ".barometre-init.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        target = home / "dagster.yaml"
        if not target.exists():
            shutil.copyfile(INSTANCE_TEMPLATE, target)
        from dagster import DagsterInstance

        with DagsterInstance.get():
            pass
    return home


def preflight(out=None) -> int:
    """Validate what the code location loads, with plain messages naming the file and field
    (instead of a Dagster traceback). Returns 0 when runnable, 2 when not."""
    out = out or sys.stderr
    from barometre_pipeline.indicators.catalogue import CatalogueError, load_catalogue
    from barometre_pipeline.settings import ConfigurationError, load_settings
    from barometre_pipeline.sources.manifest import ManifestError, load_manifests, source_files
    from barometre_pipeline.staging.codebook import CodebookError, load_codebook

    try:
        settings = load_settings()
        manifests = load_manifests(settings.data_dir)
        load_codebook(settings.data_dir / "codebook.yaml")
        load_catalogue(settings.data_dir / "indicators.yaml")
    except (ManifestError, CodebookError, CatalogueError, ConfigurationError) as error:
        print(f"barometre: {error}", file=out)
        return 2
    for manifest in manifests:
        try:
            source_files(manifest, settings.data_dir)
        except ManifestError as error:
            # Not fatal: the run quarantines this source and publishes the others.
            print(f"barometre: warning: {error}", file=out)
    print(f"barometre: {len(manifests)} sources declared in {settings.data_dir / 'sources'}",
          file=out)
    return 0


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
    sub.add_parser("check", help="validate manifests, codebook, catalogue and source files")
    args = parser.parse_args(argv)

    if args.command == "check":
        return preflight()
    home = prepare_dagster_home()
    if args.command == "home":
        print(home)
        return 0
    status = preflight()
    if status:
        return status
    if args.command == "dev":
        return _dagster("dev", "-w", str(PROJECT_ROOT / "workspace.yaml"))
    return _dagster("asset", "materialize", "-m", "barometre_pipeline.definitions",
                    "--select", args.select)


if __name__ == "__main__":
    raise SystemExit(main())
