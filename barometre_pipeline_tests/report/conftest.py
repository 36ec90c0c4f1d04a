"""Two real pipeline runs (every asset, the report included) on copies of the shipped data: as
shipped, and with one public figure changed (fixtures/report/changed_figure.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from barometre_pipeline_tests.pipeline.conftest import PipelineRun, copy_data, run_pipeline

CHANGE = yaml.safe_load(
    (Path(__file__).parent.parent / "fixtures" / "report" / "changed_figure.yaml").read_text(
        encoding="utf-8"))


def change_figure(data_dir: Path) -> None:
    """Replace one value of one row of a tab-separated public file, bytes otherwise unchanged."""
    path = data_dir / CHANGE["file"]
    lines = path.read_text(encoding="utf-8").split("\n")
    header = lines[0].split("\t")
    column = header.index(CHANGE["column"])
    changed = 0
    for i, line in enumerate(lines[1:], start=1):
        fields = line.split("\t")
        if fields[0] == CHANGE["indicator_code"]:
            assert fields[column] == CHANGE["original"], fields[column]
            fields[column] = CHANGE["changed"]
            lines[i] = "\t".join(fields)
            changed += 1
    assert changed == 1
    path.write_text("\n".join(lines), encoding="utf-8")


@pytest.fixture(scope="session")
def report_monkeypatch():
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


@pytest.fixture(scope="session")
def report_run(plain_shipped_run) -> PipelineRun:
    assert plain_shipped_run.result.success
    return plain_shipped_run


@pytest.fixture(scope="session")
def changed_run(tmp_path_factory, report_monkeypatch, report_run) -> PipelineRun:
    data_dir = copy_data(tmp_path_factory.mktemp("report_changed") / "data")
    change_figure(data_dir)
    run = run_pipeline(data_dir, report_monkeypatch)
    assert run.result.success
    return run
