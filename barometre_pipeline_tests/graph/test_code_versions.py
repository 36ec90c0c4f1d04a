"""An asset's code version covers every file its layer runs, templates and scripts included, so a
changed report template or site script marks the exports stale."""

from __future__ import annotations

import shutil

from barometre_pipeline.defs import code_versions


def test_a_changed_template_changes_the_exports_code_version(tmp_path, monkeypatch):
    package = tmp_path / "barometre_pipeline"
    shutil.copytree(code_versions.PACKAGE / "publish", package / "publish",
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(code_versions, "PACKAGE", package)
    version = code_versions.code_version.__wrapped__
    before = version("exports")
    templates = [p for p in (package / "publish").rglob("*") if p.is_file() and p.suffix != ".py"]
    assert templates, "the publish layer ships templates, scripts or styles"
    templates[0].write_bytes(templates[0].read_bytes() + b"\n")
    changed = version("exports")
    assert changed != before
    (package / "publish" / "__pycache__").mkdir(exist_ok=True)
    (package / "publish" / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    assert version("exports") == changed  # byte-compiled caches are not code
