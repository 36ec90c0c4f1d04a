"""No shipped data file, manifest or export names a local filesystem path (issue 9): such a path
says nothing to a reader elsewhere and tells them about the machine that made the file.

URLs are not paths (`https://openalex.org/works/…`), nor are `raw/pilot/…` paths relative to
the data dir, which is how files are named in messages and provenance.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pyarrow.parquet as pq

from barometre_pipeline_tests.pipeline.conftest import GENERATED, SHIPPED_DATA

LOCAL_PATH = re.compile(
    r"(?<![\w.:/~-])/(?:work|tmp|home|root|Users|mnt|srv|var|opt|private)/[\w.-]"
    r"|\b[A-Za-z]:\\\\?[\w.-]+\\")


def _texts(name: str, content: bytes) -> list[str]:
    """The text a file holds: zip members and Parquet string cells included."""
    if content.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return [t for member in archive.namelist()
                    for t in _texts(member, archive.read(member))]
    if content.startswith(b"PAR1"):
        table = pq.read_table(io.BytesIO(content))
        metadata = table.schema.metadata or {}
        cells = [str(v) for column in table.columns for v in column.to_pylist() if v is not None]
        return cells + [v.decode("utf-8", "replace") for v in metadata.values()]
    return [content.decode("utf-8", errors="replace")]


def local_paths(root: Path, skip: set[str] = frozenset()) -> list[str]:
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or relative.parts[0] in skip:
            continue
        for text in _texts(path.name, path.read_bytes()):
            for match in LOCAL_PATH.finditer(text):
                context = text[max(0, match.start() - 40): match.end() + 40].replace("\n", " ")
                found.append(f"{relative}: …{context}…")
    return found


def test_the_pattern_finds_local_paths_and_ignores_urls_and_relative_names():
    assert LOCAL_PATH.search("extrait /tmp/research/yrbs.csv préparé")
    assert LOCAL_PATH.search("(voir /work/shared/domain/public_facts.tsv)")
    assert LOCAL_PATH.search(r"C:\Users\enqueteur\export.csv")
    assert not LOCAL_PATH.search("https://openalex.org/works/W123 p=0,004")
    assert not LOCAL_PATH.search("raw/pilot/orleans_tours/2025/export.csv")
    assert not LOCAL_PATH.search("../shared/domain/public_facts.tsv")


def test_no_shipped_data_file_or_manifest_holds_a_local_path():
    found = local_paths(SHIPPED_DATA, skip=set(GENERATED))
    assert not found, "\n".join(found)


def test_no_export_holds_a_local_path(incremental_runs):
    export_dir = incremental_runs.workspace.export_dir
    assert (export_dir / "indicators").exists()
    found = local_paths(export_dir)
    assert not found, "\n".join(found[:20])
