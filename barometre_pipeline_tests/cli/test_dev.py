"""`barometre dev`: takes `-p/-h` like `dg dev`, passes signals to what it started and leaves no
process behind (the webserver, daemon and code server of `dg dev` are grandchildren)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from barometre_pipeline.cli import dev_command, main
from barometre_pipeline.settings import PROJECT_ROOT

# A stand-in for `dg dev`: starts two long-lived grandchildren (one ignoring SIGTERM, as a stuck
# code server would), writes every pid to a file, then waits.
FAKE_DEV = textwrap.dedent("""
    import signal, subprocess, sys, time
    pids_file = sys.argv[1]
    sleepy = [sys.executable, "-c", "import time; time.sleep(600)"]
    stubborn = [sys.executable, "-c",
                "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"]
    children = [subprocess.Popen(sleepy), subprocess.Popen(stubborn)]
    with open(pids_file, "w") as out:
        out.write(" ".join(str(p) for p in [0, *[c.pid for c in children]]))
    time.sleep(600)
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose (its parent has not reaped it yet).
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def _wait_for(predicate, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def _descendants(pid: int) -> set[int]:
    found, frontier = set(), [pid]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            children = task / "children"
            if children.exists():
                for child in children.read_text().split():
                    if int(child) not in found:
                        found.add(int(child))
                        frontier.append(int(child))
    return found


def test_dev_passes_port_and_host_to_dg_dev():
    command = dev_command(3001, "0.0.0.0")
    assert Path(command[0]).name == "dg" and command[1:] == ["dev", "-p", "3001", "-h", "0.0.0.0"]
    assert dev_command(None, None)[1:] == ["dev"]


def test_dev_help_still_works(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["dev", "--help"])
    assert exit_info.value.code == 0
    assert "-p PORT" in capsys.readouterr().out


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_whole_process_tree(tmp_path, signum):
    script, pids_file = tmp_path / "fake_dev.py", tmp_path / "pids"
    script.write_text(FAKE_DEV)
    runner = subprocess.Popen([sys.executable, "-c", (
        "import sys; from barometre_pipeline.cli import run_until_signalled; "
        f"sys.exit(run_until_signalled([sys.executable, {str(script)!r}, {str(pids_file)!r}], "
        "grace_seconds=2))")], cwd=PROJECT_ROOT)
    assert _wait_for(lambda: pids_file.exists() and len(pids_file.read_text().split()) == 3, 60)
    started = _descendants(runner.pid)
    grandchildren = [int(p) for p in pids_file.read_text().split()[1:]]
    assert set(grandchildren) <= started
    runner.send_signal(signum)
    assert runner.wait(timeout=60) == 128 + signum
    assert _wait_for(lambda: not any(_alive(p) for p in started), 30), [
        p for p in started if _alive(p)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_barometre_dev_serves_the_ui_and_leaves_no_process_after_sigterm(tmp_path):
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"),
           "BAROMETRE_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
           "BAROMETRE_EXPORT_DIR": str(tmp_path / "exports")}
    barometre = Path(sys.executable).parent / "barometre"
    log = (tmp_path / "dev.log").open("w")
    process = subprocess.Popen([str(barometre), "dev", "-p", str(port), "-h", "127.0.0.1"],
                               cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def serving() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        assert _wait_for(serving, 240, step=1), (tmp_path / "dev.log").read_text()[-3000:]
        started = _descendants(process.pid)
        assert len(started) >= 3, "dg dev, the webserver and the daemon"
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
        assert _wait_for(lambda: not any(_alive(p) for p in started), 60), [
            (p, Path(f"/proc/{p}/cmdline").read_bytes()) for p in started if _alive(p)]
        assert not serving()
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
