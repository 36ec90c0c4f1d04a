"""`barometre`: the few commands data engineers type (everything else is the Dagster UI or `dg`).

    barometre materialize        # run what changed since the last run (stale assets only)
    barometre materialize --all  # run every asset
    barometre materialize --select 'key:raw/pilot+' --wave 'CA-QC|2026'   # one pilot wave
    barometre dev [-p 3000] [-h 127.0.0.1]   # the Dagster UI and daemon (`dg dev`)
    barometre check              # validate manifests, codebook, catalogue and source files
    barometre home               # create $DAGSTER_HOME with the instance settings, print it

Without DAGSTER_HOME, Dagster keeps run history in a temporary folder it deletes; these commands
use `<project>/.dagster_home` unless DAGSTER_HOME is set. The run history is also what tells
`materialize` what is already up to date.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from barometre_pipeline.settings import PROJECT_ROOT

INSTANCE_TEMPLATE = Path(__file__).parent / "instance" / "dagster.yaml"
# How long `barometre dev` waits for the UI and daemon to stop before killing them.
STOP_GRACE_SECONDS = 10.0


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
        if (home / "history" / "runs.db").exists():
            return home  # the local storage exists already: nothing to create
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


def materialize(run_all: bool = False, select: str | None = None, out=None,
                waves: list[str] | None = None) -> int:
    """Observe the inputs, run the stale assets (or all, or a selection) in this process, print
    one line per asset and a summary. Returns 0 on success, 1 if a step failed. Pilot assets run
    on their stale territory × wave partitions, or on ``waves`` (every wave with --all/--select
    when none is given), all in one run."""
    out = out or sys.stderr
    started = time.monotonic()
    import dagster as dg
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    from barometre_pipeline.definitions import build_definitions
    from barometre_pipeline.defs.incremental import (
        Selection,
        observe_inputs,
        stale_selection,
        with_multi_asset_siblings,
    )
    from barometre_pipeline.defs.jobs import run_tags
    from barometre_pipeline.defs.partitions import pilot_partitions
    from barometre_pipeline.defs.run_summary import progress_logger, summarise
    from barometre_pipeline.settings import load_settings
    from barometre_pipeline.sources.manifest import load_manifests

    settings = load_settings()
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    manifests = load_manifests(settings.data_dir)
    partitions = pilot_partitions(manifests)
    unknown = sorted(set(waves or []) - set(partitions.all_keys() if partitions else []))
    if unknown:
        declared = ", ".join(partitions.all_keys()) if partitions else "none"
        print(f"barometre: no pilot wave {', '.join(unknown)} (declared territory|wave: "
              f"{declared})", file=out)
        return 2
    with dg.DagsterInstance.get() as instance:
        changed = observe_inputs(instance, manifests, settings)
        if changed:
            print(f"barometre: {len(changed)} input(s) changed: "
                  + ", ".join(sorted(k.to_user_string() + (f" [{p}]" if p else "")
                                     for k, p in changed)), file=out)
        if select:
            selection = Selection(sorted(dg.AssetSelection.from_string(select).resolve(graph)
                                         & set(graph.materializable_asset_keys)), waves or [])
        elif run_all:
            selection = Selection(sorted(graph.materializable_asset_keys), waves or [])
        else:
            selection = stale_selection(graph, instance)
            if waves:
                # Only the stale waves asked for; without one, no pilot asset is left to run.
                kept = sorted(set(selection.partitions) & set(waves))
                selection = Selection([k for k in selection.keys
                                       if kept or not graph.get(k).partitions_def], kept)
        keys = with_multi_asset_siblings(graph, selection.keys)
        tags = run_tags(graph, Selection(keys, selection.partitions), partitions)
        if not keys:
            print("barometre: everything is up to date (no input, code or configuration changed "
                  f"since the last run); nothing to run ({time.monotonic() - started:.1f} s)",
                  file=out)
            return 0
        on_waves = (f" (pilot waves {tags[ASSET_PARTITION_RANGE_START_TAG]} to "
                    f"{tags[ASSET_PARTITION_RANGE_END_TAG]})" if tags else "")
        print(f"barometre: running {len(keys)} asset(s){on_waves}", file=out)
        job = defs.resolve_job_def("nightly_refresh").with_logger_defs(
            {"progress": progress_logger})
        result = job.execute_in_process(
            instance=instance, asset_selection=keys, raise_on_error=False,
            run_config={"loggers": {"progress": {}}}, tags=tags,
        )
    summary = summarise(result.all_events)
    print(f"barometre: run {result.run_id} {'succeeded' if result.success else 'FAILED'} in "
          f"{time.monotonic() - started:.1f} s", file=out)
    for line in summary.lines():
        print(f"barometre:   {line}", file=out)
    return 0 if result.success else 1


def run_until_signalled(command: list[str], env: dict[str, str] | None = None,
                        grace_seconds: float = STOP_GRACE_SECONDS) -> int:
    """Run ``command`` in its own process group; SIGINT, SIGTERM and SIGHUP received here are
    passed to the whole group, and the group is killed if it outlives a grace period, so no
    webserver, daemon or code server is left behind."""
    child = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, start_new_session=True)
    received: list[int] = []

    def forward(signum, _frame) -> None:
        received.append(signum)
        try:
            os.killpg(child.pid, signum)
        except ProcessLookupError:
            pass

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        while True:
            try:
                status = child.wait()
                break
            except InterruptedError:
                continue
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _stop_group(child.pid, grace_seconds)
    return 128 + received[0] if received and status < 0 else status


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_group(pgid: int, grace_seconds: float) -> None:
    """The child exited, but what it started may not have: terminate, then kill, the group."""
    if not _group_alive(pgid):
        return
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        if not _group_alive(pgid):
            return
        time.sleep(0.2)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def dev_command(port: int | None, host: str | None) -> list[str]:
    dg_cli = shutil.which("dg", path=str(Path(sys.executable).parent)) or "dg"
    command = [dg_cli, "dev"]
    if port is not None:
        command += ["-p", str(port)]
    if host is not None:
        command += ["-h", host]
    return command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="barometre", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("materialize", help="run what changed (stale assets), or --all")
    run.add_argument("--all", action="store_true", help="run every asset, stale or not")
    run.add_argument("--select", default=None,
                     help="Dagster asset selection to run regardless of staleness, "
                     "e.g. 'key:raw/public_fr_depp+'")
    run.add_argument("--wave", action="append", default=None, metavar="TERRITORY|WAVE",
                     help="run the pilot assets on this territory × wave partition only, e.g. "
                     "'CA-QC|2026' (repeatable; the run covers the range between the first and "
                     "last given)")
    # -h is the UI's host, as in `dg dev`; --help still prints the help.
    dev = sub.add_parser("dev", help="start the Dagster UI and daemon (dg dev)", add_help=False)
    dev.add_argument("--help", action="help", help="show this help message and exit")
    dev.add_argument("-p", "--port", type=int, default=None, help="UI port (default 3000)")
    dev.add_argument("-h", "--host", default=None, help="UI host (default 127.0.0.1)")
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
        env = {**os.environ, "VIRTUAL_ENV": str(Path(sys.executable).parent.parent)}
        return run_until_signalled(dev_command(args.port, args.host), env)
    return materialize(run_all=args.all, select=args.select, waves=args.wave)


if __name__ == "__main__":
    raise SystemExit(main())
