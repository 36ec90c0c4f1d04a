"""Digest of everything a run published, following the export links (shared by scale tests)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def published_files(root: Path) -> dict[str, str]:
    """Every published file (following the export links) -> sha256, by path under `root`."""
    digests: dict[str, str] = {}
    if not root.exists():
        return digests
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue  # versions store, lock file: reached through the links
        files = [entry] if entry.is_file() else sorted(p for p in entry.resolve().rglob("*")
                                                       if p.is_file())
        for path in files:
            name = entry.name if path == entry else f"{entry.name}/{path.relative_to(entry.resolve())}"
            digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def all_published(exports: Path, restricted: Path) -> dict[str, str]:
    return published_files(exports) | {
        f"restricted/{k}": v for k, v in published_files(restricted).items()}
