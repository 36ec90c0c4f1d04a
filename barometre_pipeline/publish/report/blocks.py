"""The report model: sections of typed blocks that both templates (HTML and Typst) render.

Numbers inside blocks are already formatted and traced (see ``trace.py``); the templates only lay
them out, so the HTML and the PDF say exactly the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Cell:
    text: str
    trace: str | None = None  # id of the trace entry this number comes from
    withheld: bool = False  # a suppressed value: the text is the reason, never a number


@dataclass
class Table:
    anchor: str  # "tab-3", "tab-a2": HTML id and Typst label
    label: str  # "Tableau 3", "Tableau A.2"
    caption: str
    columns: list[str]
    rows: list[list[Cell]]
    note: str = ""
    widths: list[float] | None = None  # relative column widths; the first column wider if None


@dataclass
class Figure:
    anchor: str
    label: str  # "Figure 2"
    caption: str
    svg: str
    alt: str
    data_table: Table  # the annex table behind the chart
    width_pt: float = 400.0


@dataclass
class Finding:
    text: str
    verdict: str = ""  # the rule-chosen words, shown in bold
    refs: list[tuple[str, str]] = field(default_factory=list)  # (anchor, label) of its tables


@dataclass
class HelpLine:
    name: str
    phone: str
    detail: str


@dataclass
class Block:
    kind: str  # paragraph | findings | bullets | table | figure | help | caveat | banner
    text: str = ""
    findings: list[Finding] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    table: Table | None = None
    figure: Figure | None = None
    help_lines: list[HelpLine] = field(default_factory=list)


@dataclass
class Section:
    anchor: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)
    page_break: bool = False


@dataclass
class ReportModel:
    slug: str
    title: str
    subtitle: str
    territories: list[str]
    wording: str  # "fr" or "qc"
    banner: str
    sections: list[Section]
    annex: list[Table]
    short_title: str = ""
    colophon: str = ""
    summary_section: str = "synthese"
