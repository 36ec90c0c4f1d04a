"""Build one report model (Orléans-Tours, Québec or both) from the published tables.

Every number goes through the report's ``Tracer``: it is formatted there and recorded with the key
of its export row, and a suppressed row can only produce its suppression reason. Sentences are
assembled from rule-chosen words (``wording.py``) and fixed prose (``texts.yaml``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import pandas as pd
import yaml

from barometre_pipeline.indicators.catalogue import territory_label
from barometre_pipeline.publish.report import charts, select, wording
from barometre_pipeline.publish.report.blocks import (
    Block,
    Cell,
    Figure,
    Finding,
    HelpLine,
    Section,
    Table,
)
from barometre_pipeline.publish.report.numbers import is_missing
from barometre_pipeline.publish.report.tables import PublishedTables
from barometre_pipeline.publish.report.trace import Tracer
from barometre_pipeline.stats.publication import (
    CONFIDENTIALITY,
    reader_reason,
    reason_codes,
    reason_key,
)
from barometre_pipeline.vocabulary import (
    DEPARTEMENT_LABELS,
    FAMILY_PILOT,
    SEX_LABELS,
    TERRITORY_LABELS,
    TERRITORY_ORLEANS_TOURS,
    TERRITORY_QUEBEC,
    TERRITORY_SLUGS,
    TOTAL,
    label,
)

HEADLINE = "CV_ANY"
ITEM_GROUP = "CV_ITEM_PILOT"
RISK_FACTOR_GROUP = "PILOT_AOR_RISK_FACTORS_CV_ANY"
IMPACT_OR_GROUP = "PILOT_IMPACT_AOR_SEX_GRADE"
SELF_HARM = "SELF_HARM_IDEATION"
# Help lines shown for each pilot territory (rows of help_resources.tsv by territory code).
HELP_TERRITORIES = {TERRITORY_ORLEANS_TOURS: ("FR",), TERRITORY_QUEBEC: ("CA-QC", "CA")}
# Lines for suicidal thoughts: shown only where self-harm ideation is discussed.
CRISIS_LINES = ("3114", "9-8-8")
# Columns of a published row that name the source it comes from (comparisons name two).
SOURCE_COLUMNS = ("source_id", "source_id_pilot", "source_id_reference")
TEXT_WIDTH_PT = 482.0  # A4 minus 2 x 20 mm margins


@dataclass(frozen=True)
class Scope:
    slug: str
    territories: tuple[str, ...]
    wording: str  # "fr" or "qc"
    # The combined report's Sources table is the barometer's whole bibliography; a territory's
    # report lists only the sources it cites (see ReportBuilder.cite).
    lists_every_source: bool = False

    @property
    def title(self) -> str:
        names = " et ".join(label(TERRITORY_LABELS, t) for t in self.territories)
        return f"Baromètre STOP Cyberviolences — rapport d'analyse : {names}"


SCOPES = (
    Scope(TERRITORY_SLUGS[TERRITORY_ORLEANS_TOURS], (TERRITORY_ORLEANS_TOURS,), "fr"),
    Scope(TERRITORY_SLUGS[TERRITORY_QUEBEC], (TERRITORY_QUEBEC,), "qc"),
    Scope("ensemble", (TERRITORY_ORLEANS_TOURS, TERRITORY_QUEBEC), "fr", lists_every_source=True),
)


def load_texts() -> dict:
    source = resources.files("barometre_pipeline.publish.report").joinpath("texts.yaml")
    return yaml.safe_load(source.read_text(encoding="utf-8"))


def withheld_reason(reason: str | None) -> str:
    """The reader's words for why a value is not shown (never the value, never its bounds): the
    publication rules' own short words (``stats.publication.REASONS``, shared with the site and
    the data dictionary), which carry no number — every number in the report is a traced one."""
    return f"masqué ({reader_reason(reason)['fr_short']})"


class ReportBuilder:
    def __init__(self, tables: PublishedTables, scope: Scope, texts: dict | None = None):
        self.t = tables
        self.scope = scope
        self.texts = texts or load_texts()
        if scope.wording != "fr":
            self.texts = {key: (value if key in ("replacements", "help_words", "terms")
                                else self._localised(value))
                          for key, value in self.texts.items()}
        self.tracer = Tracer(scope.slug)
        self.terms = self.texts["terms"][scope.wording]
        self.n_tables = 0
        self.n_figures = 0
        self.annex: list[Table] = []
        rules = tables.publication_rules
        self.confidence = float(rules.get("confidence", 0.95))
        self.alpha = 1 - self.confidence
        self.waves = {t: select.pilot_sources(tables.indicators, t) for t in scope.territories}
        self.territories = [t for t in scope.territories if self.waves[t]]
        # Every source whose row the report shows (a quoted number, a withheld cell) or whose
        # name it prints: the Sources table of a territory's report lists these and no other.
        self.cited_sources: set[str] = set()

    # --- citations -------------------------------------------------------------------------------
    def cite(self, row_or_source: dict | str | None) -> None:
        """Record the source(s) a shown row comes from (a comparison row names both)."""
        if isinstance(row_or_source, str):
            self.cited_sources.add(row_or_source)
            return
        for column in SOURCE_COLUMNS:
            value = (row_or_source or {}).get(column)
            if isinstance(value, str) and value:
                self.cited_sources.add(value)

    # --- numbers -------------------------------------------------------------------------------
    def quote(self, table: str, row: dict, column: str, fmt: str, **kw) -> str:
        text = self.tracer.quote(table, row, column, fmt, **kw)
        self.cite(row)
        return text

    def rule(self, setting: str, fmt: str) -> str:
        value = self.t.publication_rules.get(setting)
        return self.quote("catalogue", {"file": "indicators.yaml", "setting": f"publication.{setting}",
                                        "value": value}, "value", fmt)

    def pct(self, row: dict | None, with_ci: bool = True, table: str = "indicators") -> str:
        """``27,7 % (IC 95 % 25,7 à 29,8 %)`` or the suppression reason."""
        if row is None:
            return "non publié"
        if row.get("suppressed") or is_missing(row.get("estimate")):
            self.cite(row)
            return withheld_reason(row.get("suppression_reason"))
        text = self.quote(table, row, "estimate", "percent")
        if with_ci and not is_missing(row.get("ci_low")) and not is_missing(row.get("ci_high")):
            text += (f" ({self.ci_label()} {self.quote(table, row, 'ci_low', 'percent')}"
                     f" à {self.quote(table, row, 'ci_high', 'percent')})")
        if row.get("reliability") == "unreliable":
            text += " [estimation peu fiable]"
        elif row.get("reliability") == "caution":
            text += " [à interpréter avec prudence]"
        return text

    def ci_label(self) -> str:
        return f"IC {self.quote('catalogue', {'file': 'indicators.yaml', 'setting': 'publication.confidence', 'value': self.confidence}, 'value', 'percent_int')}"

    def value_cell(self, row: dict | None, column: str = "estimate", fmt: str = "percent",
                   table: str = "indicators") -> Cell:
        if row is None:
            return Cell("non publié", withheld=True)
        if row.get("suppressed") or is_missing(row.get(column)):
            self.cite(row)
            return Cell(withheld_reason(row.get("suppression_reason")), withheld=True)
        text = self.quote(table, row, column, fmt)
        return Cell(text, trace=self.tracer.entries[-1].id)

    def interval_cell(self, row: dict | None, fmt: str = "percent",
                      table: str = "indicators") -> Cell:
        if row is None or row.get("suppressed") or is_missing(row.get("ci_low")) \
                or is_missing(row.get("ci_high")):
            return Cell("—")
        low = self.quote(table, row, "ci_low", fmt)
        high = self.quote(table, row, "ci_high", fmt)
        return Cell(f"{low} à {high}")

    def n_cell(self, row: dict | None, table: str = "indicators") -> Cell:
        if row is None or is_missing(row.get("n_unweighted")) or self.too_few(row):
            return Cell("—")
        return Cell(self.quote(table, row, "n_unweighted", "count"))

    @staticmethod
    def too_few(row: dict) -> bool:
        """A cell withheld by statistical secrecy (too few respondents or schools): its count is not
        repeated either."""
        return bool(row.get("suppressed")) and any(
            reason_key(code).startswith(f"{CONFIDENTIALITY}:")
            for code in reason_codes(row.get("suppression_reason")))

    # --- labels --------------------------------------------------------------------------------
    def territory_name(self, territory: str) -> str:
        return label(TERRITORY_LABELS, territory)

    def indicator_label(self, row_or_code, territory: str | None = None) -> str:
        """The indicator's label as its readers know it: worded for ``territory`` (by default the
        row's, else the report's only territory) where the catalogue words it per territory
        (the helpline each territory asked about), else the general label."""
        code = row_or_code if isinstance(row_or_code, str) else row_or_code["indicator_code"]
        definition = self.t.indicator_definition(code)
        if territory is None and not isinstance(row_or_code, str):
            territory = row_or_code.get("territory")
        if territory is None and len(self.scope.territories) == 1:
            territory = self.scope.territories[0]
        worded = territory_label(definition, "fr", territory)
        if worded:
            return self.local_words(worded)
        if self.scope.wording == "qc":
            variable = str(definition.get("numerator", "")).split(" ")[0]
            entry = self.t.codebook.get("variables", {}).get(variable)
            if isinstance(entry, dict) and entry.get("qc"):
                return str(entry["qc"])
        text = code
        if definition.get("label_fr"):
            text = str(definition["label_fr"])
        elif not isinstance(row_or_code, str) and row_or_code.get("indicator_label_fr"):
            text = str(row_or_code["indicator_label_fr"])
        return self.local_words(text)

    def _localised(self, value):
        """The fixed prose with the scope's own words, recursively."""
        if isinstance(value, str):
            return self.local_words(value)
        if isinstance(value, list):
            return [self._localised(v) for v in value]
        if isinstance(value, dict):
            return {k: self._localised(v) for k, v in value.items()}
        return value

    def local_words(self, text: str) -> str:
        """Québec words where they differ (cyberintimidation, école...)."""
        for french, local in self.texts.get("replacements", {}).get(self.scope.wording,
                                                                    {}).items():
            text = text.replace(french, local)
        return text

    def category_label(self, dim: str, code: str, territory: str | None = None) -> str:
        if dim == "sex":
            return label(SEX_LABELS, code)
        if dim == "departement":
            return DEPARTEMENT_LABELS.get(code, code)
        values = self.t.codebook.get("variables", {}).get(dim, {}).get("values", {})
        entry = values.get(code) or values.get(str(code)) or {}
        if not isinstance(entry, dict):
            return str(code)
        text = str(entry.get(self.scope.wording) or entry.get("fr") or code)
        territory = territory or (self.territories[0] if len(self.territories) == 1 else None)
        if dim == "grade_group" and " / " in text and territory is not None:
            # "Collège (6e-3e) / secondaire 1-3": each territory reads its own school system.
            french, quebec = text.split(" / ", 1)
            return quebec.capitalize() if territory == TERRITORY_QUEBEC else french
        return text

    def category_order(self, dim: str) -> list[str]:
        values = self.t.codebook.get("variables", {}).get(dim, {}).get("values", {})
        codes = [str(c) for c in values]
        if dim == "level":
            codes.sort(key=lambda c: (values[c].get("system", ""), values[c].get("order", 0)))
        return codes

    def help_lines(self, territory: str, crisis: bool = False) -> list[HelpLine]:
        lines = []
        words = self.texts["help_words"]
        for _, row in self.t.help_resources.iterrows():
            if row["territory"] not in HELP_TERRITORIES.get(territory, ()):
                continue
            if row["name"] in CRISIS_LINES and not crisis:
                continue
            if row["name"] == "3020":
                continue  # school harassment offline: the same source sends cyber cases to 3018
            detail = " ; ".join(x for x in (row["text_or_chat"], row["hours"], row["cost"]) if x)
            for english, french in words.items():
                detail = detail.replace(english, french)
            if self.scope.wording == "qc":
                detail = detail.replace("discussion en ligne", "clavardage")
            phone = "" if row["phone"] == row["name"] else row["phone"]
            lines.append(HelpLine(row["name"], phone, detail))
        return lines

    def help_block(self, crisis: bool = False) -> Block:
        lines = [line for t in self.territories for line in self.help_lines(t, crisis)]
        return Block("help", text=self.terms["helpline_intro"], help_lines=lines)

    # --- tables and figures ----------------------------------------------------------------------
    def new_table(self, caption: str, columns: list[str], rows: list[list[Cell]],
                  note: str = "") -> Table:
        self.n_tables += 1
        return Table(f"tab-{self.n_tables}", f"Tableau {self.n_tables}", caption, columns, rows,
                     note)

    def withheld_note(self, rows: list[list[Cell]]) -> str:
        if any(c.withheld for r in rows for c in r):
            return ("Les cases « masqué » ne sont pas publiées (règles de publication) ; "
                    "la raison est indiquée à la place du chiffre.")
        return ""

    def indicator_figure(self, caption: str, entries: list[tuple[str, str, dict | None]],
                         x_title: str = "pourcentage des élèves (intervalle de confiance)") -> Block:
        """A dot-and-whisker figure of proportions and its annex table; (label, series, row)."""
        self.n_figures += 1
        number = self.n_figures
        saved, self.tracer.section = self.tracer.section, f"figure-{number}"
        points, rows = [], []
        for row_label, series, row in entries:
            rows.append([Cell(row_label), Cell(series), self.value_cell(row),
                         self.interval_cell(row), self.n_cell(row)])
            if row is not None and not row.get("suppressed") and not is_missing(row.get("estimate")):
                points.append(charts.Point(row_label, series, float(row["estimate"]),
                                           row.get("ci_low"), row.get("ci_high"),
                                           self.quote("indicators", row, "estimate", "percent")))
        self.tracer.section = "annexe"
        annex = Table(f"tab-a{number}", f"Tableau A.{number}", f"Données de la figure {number} : "
                      f"{caption}", ["", "Série", "Valeur", self.ci_label(), "Répondants"], rows,
                      self.withheld_note(rows))
        self.tracer.section = saved
        return self._figure_block(number, caption, points, annex, x_title)

    def effect_figure(self, caption: str, entries: list[tuple[str, str, dict]],
                      x_title: str) -> Block:
        """A forest plot of odds ratios (log scale, line at 1) and its annex table."""
        self.n_figures += 1
        number = self.n_figures
        saved, self.tracer.section = self.tracer.section, f"figure-{number}"
        points, rows = [], []
        for row_label, series, row in entries:
            cells = [Cell(row_label), Cell(series), self.value_cell(row, fmt="ratio", table="effects"),
                     self.interval_cell(row, fmt="ratio", table="effects")]
            verdict = self.association_words(row) if not row.get("suppressed") else ""
            rows.append([*cells, Cell(verdict)])
            if not row.get("suppressed") and not is_missing(row.get("estimate")):
                points.append(charts.Point(row_label, series, float(row["estimate"]),
                                           row.get("ci_low"), row.get("ci_high"),
                                           self.quote("effects", row, "estimate", "ratio")))
        self.tracer.section = "annexe"
        annex = Table(f"tab-a{number}", f"Tableau A.{number}", f"Données de la figure {number} : "
                      f"{caption}", ["", "Série", "Rapport de cotes", self.ci_label(), "Lecture"],
                      rows, self.withheld_note(rows))
        self.tracer.section = saved
        return self._figure_block(number, caption, points, annex, x_title, log=True, ref=1.0)

    def _figure_block(self, number: int, caption: str, points: list[charts.Point], annex: Table,
                      x_title: str, log: bool = False, ref: float | None = None) -> Block:
        self.annex.append(annex)
        if points:
            svg = charts.interval_chart(points, x_title, log=log, reference=ref,
                                        scale_percent=not log, id_prefix=f"fig-{number}-")
        else:
            svg = ""
        width_px, _ = charts.svg_size(svg) if svg else (0.0, 0.0)
        figure = Figure(f"fig-{number}", f"Figure {number}", caption, svg,
                        alt=f"{caption}. Les valeurs sont dans le tableau A.{number} en annexe.",
                        data_table=annex,
                        # 1 CSS px = 0.75 pt; a little larger for print, never wider than the text.
                        width_pt=min(TEXT_WIDTH_PT, 0.8 * width_px))
        return Block("figure", figure=figure)

    def association_words(self, row: dict) -> str:
        return wording.association_verdict(row["estimate"], row.get("ci_low"), row.get("ci_high"),
                                           wording.is_significant(row, self.alpha))

    # --- the report ----------------------------------------------------------------------------
    def latest(self, territory: str) -> tuple[str, str]:
        return self.waves[territory][-1]

    def series_sources(self) -> list[tuple[str, str, str]]:
        """(series label, territory, source_id): both waves of one territory, or the latest wave
        of each territory in the combined report."""
        if len(self.territories) == 1:
            territory = self.territories[0]
            return [(period, territory, source) for period, source in self.waves[territory][-2:]]
        out = []
        for territory in self.territories:
            period, source = self.latest(territory)
            out.append((f"{self.territory_name(territory)} {period}", territory, source))
        return out

    def subtitle(self) -> str:
        return " ; ".join(
            f"{self.territory_name(t)} : vagues {', '.join(p for p, _ in self.waves[t])}"
            for t in self.territories)

    def short_title(self) -> str:
        return "Baromètre STOP Cyberviolences — " + " et ".join(
            self.territory_name(t) for t in self.territories)

    def colophon(self) -> str:
        versions = set()
        for text in self.t.indicators["provenance"].dropna().unique()[:50]:
            try:
                versions.add(json.loads(text).get("code_version", ""))
            except (TypeError, ValueError):
                continue
        version = ", ".join(sorted(v for v in versions if v)) or "inconnue"
        return ("Rapport produit automatiquement par le pipeline du baromètre à partir des seules "
                "tables publiées (indicators, effects, comparisons, sources) et des fichiers de "
                "référence ; aucun chiffre n'est saisi à la main. Chaque chiffre cité est relié à "
                f"sa ligne d'export dans le fichier de traçabilité {self.scope.slug}.trace.json "
                f"(et .csv) publié à côté du rapport. Version du code : {version}.")

    def synthetic(self) -> bool:
        pilots = self.t.sources[self.t.sources["source_family"] == FAMILY_PILOT]
        pilots = pilots[pilots["territory"].isin(self.territories)]
        flags = pilots["synthetic"] if "synthetic" in pilots.columns else pd.Series(dtype=bool)
        in_flags = pilots["quality_flags"].fillna("").astype(str).str.contains("SYNTH")
        return bool(flags.fillna(False).astype(bool).any() or in_flags.any())

    def finding(self, text: str, verdict: str = "", refs: list[tuple[str, str]] | None = None
                ) -> Finding:
        return Finding(text, verdict, refs or [])


__all__ = ["SCOPES", "Scope", "ReportBuilder", "withheld_reason", "TOTAL",
           "HEADLINE", "ITEM_GROUP", "RISK_FACTOR_GROUP", "IMPACT_OR_GROUP", "SELF_HARM", "Section"]
