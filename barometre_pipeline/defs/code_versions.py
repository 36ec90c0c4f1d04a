"""Code versions of the assets: a hash of the source files each layer runs.

Dagster marks an asset stale when its code version differs from the one its last materialisation
recorded, so a change to the staging code re-runs staging and what follows, and a change to the
dashboard re-runs the dashboard only. Hashing the files (not the git commit) keeps versions equal
across commits that do not touch a layer.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent

# What each layer's assets execute, relative to the package (folders count every file inside:
# modules, and the templates, scripts and styles the report and the site are made from).
LAYER_CODE: dict[str, tuple[str, ...]] = {
    "observe": ("defs/observations.py", "sources/fingerprint.py"),
    "raw": ("defs/sources.py", "defs/partitions.py", "sources", "staging/pii.py",
            "vocabulary.py", "warehouse.py"),
    "staging": ("defs/sources.py", "defs/partitions.py", "sources", "staging", "vocabulary.py",
                "warehouse.py"),
    "weighting": ("defs/sources.py", "defs/partitions.py", "calibration", "stats/weighting.py",
                  "warehouse.py"),
    "indicators": ("defs/sources.py", "defs/partitions.py", "indicators", "stats",
                   "warehouse.py"),
    "consolidated": ("defs/consolidated.py", "indicators", "stats", "publish/contract.py",
                     "metadata", "vocabulary.py", "warehouse.py"),
    "analysis": ("defs/analysis.py", "analysis", "stats", "indicators", "vocabulary.py",
                 "warehouse.py"),
    "exports": ("defs/exports.py", "publish", "metadata", "vocabulary.py", "warehouse.py"),
}


@cache
def code_version(layer: str) -> str:
    """16 hex digits of the sha256 of the layer's source files (paths and bytes)."""
    digest = hashlib.sha256()
    for entry in LAYER_CODE[layer]:
        target = PACKAGE / entry
        files = sorted(p for p in target.rglob("*") if p.is_file() and "__pycache__" not in
                       p.parts) if target.is_dir() else [target]
        for path in files:
            if path.exists():
                digest.update(str(path.relative_to(PACKAGE)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
