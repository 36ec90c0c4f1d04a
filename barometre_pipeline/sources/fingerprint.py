"""Content fingerprints of what a run reads from disk: a source's manifest and files, the codebook,
the indicator catalogue, the reference folder.

They become the data versions of the observed inputs, so Dagster knows which assets are stale: a
file rewritten with the same bytes (a `touch`, a re-copy) changes nothing, one changed byte in a
source's file re-runs that source's lineage only.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from barometre_pipeline.sources.manifest import Manifest, ManifestError, source_files


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def files_fingerprint(paths: list[Path], root: Path) -> str:
    """sha256 over each file's path (relative to ``root``) and content, in path order."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(_relative(path, root).encode("utf-8") + b"\0")
        digest.update((file_sha256(path) if path.is_file() else "missing").encode() + b"\0")
    return digest.hexdigest()


def source_fingerprint(manifest: Manifest, data_dir: Path) -> str:
    """The manifest's bytes and every file it declares; a glob matching nothing is part of it."""
    paths = [manifest.manifest_path] if manifest.manifest_path else []
    try:
        paths += source_files(manifest, data_dir)
    except ManifestError as error:
        return hashlib.sha256((files_fingerprint(paths, data_dir) + str(error)).encode()).hexdigest()
    return files_fingerprint(paths, data_dir)


def folder_fingerprint(folder: Path) -> str:
    """Every regular file under ``folder`` (recursively)."""
    paths = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    return files_fingerprint(paths, folder)
