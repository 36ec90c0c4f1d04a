"""A throwaway PostgreSQL server from Debian's `postgresql` binaries, for instance-storage tests.

The server refuses to run as root, so when the tests run as root every server command runs as
the `postgres` system user (created by the Debian package); the data and socket folders live under
/tmp so that user can reach them. Authentication is `trust` on 127.0.0.1 only.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MISSING_BINARIES = (
    "PostgreSQL server binaries not found (looked for /usr/lib/postgresql/*/bin/initdb): install "
    "the Debian package `postgresql` (apt-get install postgresql; .ci/run does it) to run the "
    "PostgreSQL-backed Dagster instance test"
)


class PostgresUnavailable(RuntimeError):
    """The local server cannot be started; the message says what to install or fix."""


@dataclass(frozen=True)
class LocalPostgres:
    host: str
    port: int
    user: str
    database: str

    def environment(self) -> dict[str, str]:
        """The variables the deployment's dagster.yaml reads."""
        return {
            "DAGSTER_POSTGRES_HOST": self.host,
            "DAGSTER_POSTGRES_PORT": str(self.port),
            "DAGSTER_POSTGRES_USER": self.user,
            "DAGSTER_POSTGRES_PASSWORD": "",
            "DAGSTER_POSTGRES_DB": self.database,
        }


def server_binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if not found:
        raise PostgresUnavailable(MISSING_BINARIES)
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    if shutil.which("runuser") is None:
        raise PostgresUnavailable("running as root but `runuser` is missing: cannot start "
                                  "PostgreSQL as the `postgres` user")
    return ["runuser", "-u", "postgres", "--", *command]


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(_as_server_user(command), capture_output=True, text=True)
    if done.returncode != 0:
        raise PostgresUnavailable(f"{what} failed ({done.returncode}): {done.stderr.strip()}")


@contextmanager
def local_postgres(database: str = "dagster") -> Iterator[LocalPostgres]:
    """Start a server on a free port, create `database`, yield, then stop and delete it."""
    binaries = server_binaries()
    root = Path(tempfile.mkdtemp(prefix="barometre-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        try:
            shutil.chown(root, user="postgres", group="postgres")
        except LookupError as error:
            raise PostgresUnavailable(
                "running as root and there is no `postgres` system user: install the Debian "
                "package `postgresql`, which creates it") from error
    data, sockets, port = root / "data", root / "sockets", _free_port()
    started = False
    try:
        _run(["mkdir", "-p", str(sockets)], "mkdir for the socket folder")
        _run([str(binaries / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres",
              "-E", "UTF8", "--locale=C", "--no-sync"], "initdb")
        _run([str(binaries / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-w",
              "-t", "60", "-o",
              f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
              "-c synchronous_commit=off -c full_page_writes=off", "start"], "pg_ctl start")
        started = True
        _run([str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
              database], "createdb")
        yield LocalPostgres(host="127.0.0.1", port=port, user="postgres", database=database)
    finally:
        if started:
            subprocess.run(_as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m",
                                            "fast", "-w", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
