"""Atomic publication of an export directory: readers see the old export or the new one, never half.

Layout under the export dir, for a published name such as ``indicators``::

    indicators -> .versions/indicators/<version id>     (relative symbolic link)
    .versions/indicators/<version id>/part-0.parquet      (immutable once published)
    .staging-<uuid>/                                      (being written; deleted or renamed)
    .publish.lock                                         (one publisher at a time)

Why a symlink swap rather than ``rename(old, backup); rename(new, final)``: replacing a symlink
with ``os.replace`` is one atomic ``rename(2)``, so ``<export_dir>/indicators`` always exists and
always points to a complete, fsynced version. The two-rename scheme leaves a window in which the
name does not exist at all (a nightly refresh would fail any reader in that window). The previous
version is kept until the next publication, so readers that resolved the old link before the swap
finish reading unchanged files. ``pyarrow.dataset``, ``duckdb.read_parquet('<dir>/indicators/*.parquet')``
and browsers opening ``site/index.html`` follow the link transparently; the link is relative,
so the whole export dir can be moved or copied with ``cp -a``/``rsync -a``.

The one non-atomic case is migrating a name that is still a real directory (an export written by
another tool): it is moved into ``.versions`` and then replaced by a link, a window of two renames
that happens once. POSIX only (symlinks, ``fcntl.flock``).

Crash safety: nothing outside ``.staging-*`` changes until the new version is complete and fsynced;
a killed run (even ``kill -9``) leaves a staging dir that the next run deletes under the lock.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STAGING_PREFIX = ".staging-"
LINK_PREFIX = ".link-"
VERSIONS_DIR = ".versions"
LOCK_FILE = ".publish.lock"
# Test hook: when set to a file path, writers that call ``pause_point`` create it and block, so a
# test can SIGKILL the process in the middle of a write.
PAUSE_ENV = "BAROMETRE_PUBLISH_PAUSE_FILE"


def pause_point() -> None:
    """Block forever after signalling, if the test hook asks for it; no-op otherwise."""
    flag = os.environ.get(PAUSE_ENV)
    if not flag:
        return
    Path(flag).write_text(str(os.getpid()))
    while True:
        time.sleep(3600)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Flush every file and directory under ``root`` (inclusive) to stable storage."""
    for directory, _dirs, files in os.walk(root):
        for name in files:
            _fsync_path(Path(directory) / name)
        _fsync_path(Path(directory))


def clean_leftovers(export_dir: Path) -> list[Path]:
    """Delete staging dirs and temporary links left by killed runs; call with the lock held."""
    removed = []
    for entry in export_dir.iterdir() if export_dir.exists() else ():
        if entry.name.startswith(STAGING_PREFIX) and not entry.is_symlink():
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
        elif entry.name.startswith(LINK_PREFIX) and entry.is_symlink():
            entry.unlink()
            removed.append(entry)
    return removed


_held_locks: dict[Path, int] = {}


@contextmanager
def _publisher_lock(export_dir: Path) -> Iterator[None]:
    # flock is released by the kernel when the process dies, so a killed run never wedges the next.
    # Re-entrant within a process: a second flock on a new file description would deadlock.
    key = export_dir.resolve()
    if _held_locks.get(key):
        _held_locks[key] += 1
        try:
            yield
        finally:
            _held_locks[key] -= 1
        return
    with open(export_dir / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _held_locks[key] = 1
        try:
            yield
        finally:
            _held_locks[key] = 0
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_name(name: str) -> None:
    if not name or name.startswith(".") or "/" in name or name in (VERSIONS_DIR, LOCK_FILE):
        raise ValueError(f"invalid export name {name!r}: a plain, non-hidden directory name is required")


def current_version(export_dir: Path, name: str) -> Path | None:
    """The directory ``<export_dir>/<name>`` currently resolves to, or None if unpublished."""
    final = Path(export_dir) / name
    if final.is_symlink():
        return (final.parent / os.readlink(final)).resolve()
    return final if final.exists() else None


def _swap_in(export_dir: Path, name: str, staging: Path) -> Path:
    final = export_dir / name
    versions = export_dir / VERSIONS_DIR / name
    versions.mkdir(parents=True, exist_ok=True)
    previous = current_version(export_dir, name)
    if final.exists() and not final.is_symlink():
        # Migration of a plain directory: the only non-atomic step (see module docstring).
        legacy = versions / f"legacy-{uuid.uuid4().hex[:8]}"
        os.rename(final, legacy)
        previous = legacy
    version_id = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:8]}"
    target = versions / version_id
    os.rename(staging, target)
    _fsync_path(versions)
    temporary_link = export_dir / f"{LINK_PREFIX}{uuid.uuid4().hex}"
    os.symlink(os.path.relpath(target, export_dir), temporary_link)
    os.replace(temporary_link, final)
    _fsync_path(export_dir)
    keep = {target.resolve(), previous.resolve() if previous else None}
    # Older versions (and orphans of runs killed between rename and swap) are no longer reachable.
    for old in versions.iterdir():
        if old.resolve() not in keep:
            shutil.rmtree(old, ignore_errors=True)
    return target


@contextmanager
def publish_atomically(export_dir: Path, name: str) -> Iterator[Path]:
    """Yield an empty staging dir; on clean exit it becomes ``<export_dir>/<name>`` atomically.

    On an exception the staging dir is deleted and the published export is left untouched.
    Publishers of one export dir are serialised by a lock file.
    """
    _check_name(name)
    export_dir = Path(export_dir)
    export_dir.mkdir(parents=True, exist_ok=True)
    with _publisher_lock(export_dir):
        clean_leftovers(export_dir)
        staging = export_dir / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            yield staging
            fsync_tree(staging)
            _swap_in(export_dir, name, staging)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)


def write_file_atomically(path: Path, content: bytes) -> Path:
    """Replace one file atomically (temp file in the same dir, fsync, ``os.replace``).

    Takes the publisher lock of the file's directory, whose leftover temp files are cleaned by the
    next publication there.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _publisher_lock(path.parent):
        temporary = path.parent / f"{STAGING_PREFIX}{uuid.uuid4().hex}-{path.name}"
        try:
            with open(temporary, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
            _fsync_path(path.parent)
        finally:
            if temporary.exists():
                temporary.unlink()
    return path
