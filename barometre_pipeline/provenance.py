"""Code version stamped on every published row."""

from __future__ import annotations

import subprocess
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version

from barometre_pipeline.settings import PROJECT_ROOT


@lru_cache(maxsize=1)
def code_version() -> str:
    """`<package version>+g<git commit>` (with `.dirty` for uncommitted changes), or the package
    version alone outside a git checkout (an installed wheel)."""
    try:
        package = version("barometre_pipeline")
    except PackageNotFoundError:
        package = "0+unknown"
    try:
        commit = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, check=True, timeout=5,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, check=True, timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return package
    return f"{package}+g{commit}{'.dirty' if dirty else ''}"
