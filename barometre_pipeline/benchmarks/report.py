"""Time the analytical report: render the three reports (HTML + PDF, six files) from published
exports, and print seconds per stage and the peak memory of the process.

Usage: ``python -m barometre_pipeline.benchmarks.report [export_dir] [data_dir]`` (defaults:
BAROMETRE_EXPORT_DIR and BAROMETRE_DATA_DIR, i.e. ``data/exports`` and ``data/`` after
``barometre materialize``). Files are written to a temporary folder, never over the published
report. Target from the issue: all six files in under 30 s.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from barometre_pipeline.publish.report.build import SCOPES, load_texts
from barometre_pipeline.publish.report.document import build_report
from barometre_pipeline.publish.report.render import (
    compile_pdf,
    render_html,
    render_typst,
    report_file_names,
)
from barometre_pipeline.publish.report.tables import load_published_tables
from barometre_pipeline.settings import load_settings

TARGET_SECONDS = 30.0


def main(argv: list[str]) -> int:
    settings = load_settings()
    export_dir = Path(argv[0]) if argv else settings.export_dir
    data_dir = Path(argv[1]) if len(argv) > 1 else settings.data_dir
    if not (export_dir / "indicators").exists():
        print(f"no published exports in {export_dir}: run `barometre materialize` first")
        return 2
    annex_title = load_texts()["titles"]["annexe"]
    started = time.perf_counter()
    cpu_started = time.process_time()
    tables = load_published_tables(export_dir, data_dir)
    print(f"read the published tables: {time.perf_counter() - started:.2f} s "
          f"({len(tables.indicators):,} indicator rows, {len(tables.effects):,} effects, "
          f"{len(tables.comparisons):,} comparisons)")
    with tempfile.TemporaryDirectory(prefix="barometre-report-bench-") as folder:
        for scope in SCOPES:
            t0 = time.perf_counter()
            model, tracer = build_report(tables, scope)
            t1 = time.perf_counter()
            html = render_html(model, annex_title)
            source = render_typst(model, annex_title)
            t2 = time.perf_counter()
            pdf = compile_pdf(model, source)
            t3 = time.perf_counter()
            names = report_file_names(scope)
            (Path(folder) / names["html"]).write_text(html, encoding="utf-8")
            (Path(folder) / names["pdf"]).write_bytes(pdf)
            print(f"{scope.slug:>14}: model + charts {t1 - t0:5.2f} s, templates {t2 - t1:4.2f} s, "
                  f"Typst PDF {t3 - t2:4.2f} s; {len(tracer.entries):,} numbers traced, "
                  f"HTML {len(html.encode()) / 1e6:.2f} MB, PDF {len(pdf) / 1e6:.2f} MB")
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    verdict = "met" if total < TARGET_SECONDS else "MISSED"
    print(f"six files in {total:.1f} s wall ({cpu:.1f} s CPU), peak RSS {peak_gib:.2f} GiB; "
          f"target < {TARGET_SECONDS:.0f} s: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
