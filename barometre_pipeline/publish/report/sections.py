"""The report's sections, in reading order; each reads published rows through the builder (which
formats and traces every number) and returns a ``Section`` of blocks."""

from __future__ import annotations

from barometre_pipeline.publish.report import select, wording
from barometre_pipeline.publish.report.blocks import Block, Cell, Section
from barometre_pipeline.publish.report.build import (
    HEADLINE,
    IMPACT_OR_GROUP,
    ITEM_GROUP,
    RISK_FACTOR_GROUP,
    SELF_HARM,
    ReportBuilder,
    withheld_reason,
)
from barometre_pipeline.publish.report.numbers import is_missing
from barometre_pipeline.stats.publication import (
    COMPLEMENTARY,
    CONFIDENTIALITY,
    REASONS,
    RELIABILITY,
)
from barometre_pipeline.vocabulary import (
    FAMILY_PILOT,
    TERRITORY_ORLEANS_TOURS,
    TERRITORY_QUEBEC,
    TOTAL,
)

PERIOD_WORDS = {TERRITORY_ORLEANS_TOURS: "depuis la rentrée", TERRITORY_QUEBEC:
                "au cours des douze derniers mois"}
VECTORS = ("VEC_SNAPCHAT", "VEC_INSTAGRAM", "VEC_TIKTOK", "VEC_WHATSAPP", "VEC_DISCORD",
           "VEC_YOUTUBE", "VEC_GAMES", "VEC_SMS", "AUTHOR_KNOWN", "AUTHOR_SAME_SCHOOL")
HELP = ("TOLD_NOBODY", "TOLD_ADULT", "REPORTED_PLATFORM", "KNOWS_HELPLINE")
IMPACTS = ("WHO5_LOW_VICTIMS", "WHO5_LOW_NONVICTIMS", "ABSENCE_VICTIMS", "FEELS_UNSAFE", SELF_HARM)
WAVE_FIGURE = ("CV_ANY", "CV_REPEATED", "PERPETRATOR", "WITNESS", "WHO5_LOW", "FEELS_UNSAFE",
               "KNOWS_HELPLINE", "PREVENTION_SESSION")
# Self-harm ideation not discussed: said in the sensitive-indicator reason's own words.
SENSITIVE_WITHHELD = f"{RELIABILITY}:sensitive_n"
# Who is most exposed: the breakdowns of the headline indicator, in reading order.
EXPOSURE_DIMENSIONS = (("sex", "Sexe"), ("level", "Niveau"), ("age_band", "Âge"),
                       ("departement", "Département"), ("priority_education",
                                                        "Éducation prioritaire"),
                       ("sector", "Secteur"))
# Which public territories are read next to each pilot territory's series.
SERIES_TERRITORIES = {TERRITORY_ORLEANS_TOURS: ("FR", "FR-MET", "FR-OT", "INT"),
                      TERRITORY_QUEBEC: ("CA", "CA-QC", "INT", "US")}
SERIES_CODES = ("CV_ANY", "CV_REPEATED")
# Short names of the exposures of the impact odds ratios (chart rows must stay short).
EXPOSURE_WORDS = {"CV_ANY": "victimes", "CV_ANY&BULLIED_IN_PERSON": "victimes + harcèlement"}


def _para(text: str) -> Block:
    return Block("paragraph", text=text)


def _findings(findings) -> Block:
    return Block("findings", findings=[f for f in findings if f is not None])


def _published(row: dict | None) -> bool:
    return row is not None and not row.get("suppressed") and not is_missing(row.get("estimate"))


# --- synthèse ----------------------------------------------------------------------------------
def summary(b: ReportBuilder) -> Section:
    b.tracer.section = "synthese"
    rows = []
    codes = ("CV_ANY", "CV_REPEATED", "WHO5_LOW_VICTIMS", "WHO5_LOW_NONVICTIMS", "TOLD_NOBODY",
             "KNOWS_HELPLINE")
    for code in codes:
        cells = [Cell(b.indicator_label(code))]
        for territory in b.territories:
            _, source = b.latest(territory)
            row = select.cell(b.t.indicators, code, source)
            cells.append(Cell(b.pct(row), withheld=not _published(row)))
        rows.append(cells)
    columns = ["Indicateur"] + [f"{b.territory_name(t)} {b.latest(t)[0]}" for t in b.territories]
    key = b.new_table("Chiffres clés de la dernière vague (pourcentage et intervalle de "
                      "confiance)", columns, rows, b.withheld_note(rows))
    findings = []
    for territory in b.territories:
        period, source = b.latest(territory)
        name = b.territory_name(territory)
        head = select.cell(b.t.indicators, HEADLINE, source)
        if _published(head):
            text = (f"{name}, {period} : {b.pct(head, with_ci=False)} des {b.terms['pupils']} "
                    f"déclarent au moins une cyberviolence {PERIOD_WORDS.get(territory, '')}")
            change = _wave_change(b, territory, HEADLINE)
            verdict = ""
            if change is not None:
                verdict, change_text = change
                text += f" ; par rapport à la vague précédente : {change_text}"
            findings.append(b.finding(text + ".", verdict, [(key.anchor, key.label)]))
        girls = select.cell(b.t.indicators, HEADLINE, source, sex="F")
        boys = select.cell(b.t.indicators, HEADLINE, source, sex="M")
        odds = select.effect(b.t.effects, "PILOT_OR_CV_ANY_SEX_M", source)
        if _published(girls) and _published(boys):
            text = (f"{name} : victimes chez les filles {b.pct(girls, with_ci=False)}, chez les "
                    f"garçons {b.pct(boys, with_ci=False)}")
            verdict = ""
            if _published(odds):
                verdict = f"garçons : {b.association_words(odds)}"
                text += (f" (rapport de cotes ajusté garçons contre filles "
                         f"{b.quote('effects', odds, 'estimate', 'ratio')})")
            findings.append(b.finding(text + ".", verdict))
        items = _ranked(b, source, [c for c in _codes(b, ITEM_GROUP)])
        vectors = _ranked(b, source, [c for c in VECTORS if c.startswith("VEC_")])
        if items and vectors:
            findings.append(b.finding(
                f"{name} : fait le plus fréquent, {b.indicator_label(items[0]).lower()} "
                f"({b.pct(items[0], with_ci=False)}) ; première plateforme citée par les victimes, "
                f"{_platform(b, vectors[0])} ({b.pct(vectors[0], with_ci=False)} des victimes)."))
        compared = _summary_comparison(b, territory, period)
        if compared is not None:
            findings.append(compared)
    findings.append(b.finding(
        "Ces écarts et ces rapports de cotes décrivent des associations observées dans une "
        "enquête transversale, pas des effets."))
    return Section("synthese", b.texts["titles"]["synthese"], [
        _findings(findings), Block("table", table=key), b.help_block()], page_break=True)


def _codes(b: ReportBuilder, group: str) -> list[str]:
    pilot = b.t.indicators[b.t.indicators["source_family"] == FAMILY_PILOT]
    return sorted(pilot.loc[pilot["comparability_group"] == group, "indicator_code"].unique())


def _ranked(b: ReportBuilder, source: str, codes: list[str]) -> list[dict]:
    rows = [select.cell(b.t.indicators, c, source) for c in codes]
    rows = [r for r in rows if _published(r)]
    return sorted(rows, key=lambda r: -float(r["estimate"]))


def _platform(b: ReportBuilder, row: dict) -> str:
    return b.indicator_label(row).split(":")[-1].strip().removeprefix("via ").strip()


def _wave_change(b: ReportBuilder, territory: str, code: str,
                 cell_code: str = TOTAL) -> tuple[str, str] | None:
    _, source = b.latest(territory)
    row = select.effect(b.t.effects, f"PILOT_WAVE_DIFF_{code}", source, cell_code)
    if row is None or row.get("suppressed") or is_missing(row.get("estimate")):
        return None
    verdict = wording.change_verdict(row["estimate"], row.get("ci_low"), row.get("ci_high"),
                                     wording.is_significant(row, b.alpha))
    text = b.quote("effects", row, "estimate", "points")
    if not is_missing(row.get("ci_low")) and not is_missing(row.get("ci_high")):
        text += (f" ({b.ci_label()} {b.quote('effects', row, 'ci_low', 'points')} à "
                 f"{b.quote('effects', row, 'ci_high', 'points')})")
    return verdict, text


def _reference_row(b: ReportBuilder, comparison: dict) -> dict | None:
    """The public indicators row a comparison reads its reference from."""
    table = b.t.indicators
    mask = ((table["indicator_code"] == comparison["indicator_code"])
            & (table["source_id"] == comparison["source_id_reference"])
            & (table["period"] == comparison["period_reference"])
            & (table["territory"] == comparison["territory_reference"])
            & (table["sex"] == comparison["sex"])
            & (table["grade_group"] == comparison["grade_group"]))
    rows = table[mask]
    rows = rows[(rows["level"] == TOTAL) & (rows["age_band"] == TOTAL)] if len(rows) > 1 else rows
    return select.as_row(rows.iloc[0]) if len(rows) else None


def _pilot_row(b: ReportBuilder, comparison: dict) -> dict | None:
    dims = {d: comparison[d] for d in ("sex", "grade_group") if comparison.get(d) != TOTAL}
    return select.cell(b.t.indicators, comparison["indicator_code"],
                       comparison["source_id_pilot"], **dims)


def _comparisons(b: ReportBuilder, territory: str, period: str | None = None) -> list[dict]:
    table = b.t.comparisons
    mask = table["territory_pilot"] == territory
    if period is not None:
        mask &= table["period_pilot"] == period
    rows = [select.as_row(r) for _, r in table[mask].iterrows()]
    return sorted(rows, key=lambda r: (r["indicator_code"], str(r["period_pilot"]), r["sex"],
                                       r["grade_group"], r["source_id_reference"],
                                       str(r["period_reference"])))


def _summary_comparison(b: ReportBuilder, territory: str, period: str):
    # The broadest cell first: all pupils, then one sex or level group.
    rows = sorted(_comparisons(b, territory, period),
                  key=lambda r: (r["sex"] != TOTAL, r["grade_group"] != TOTAL))
    for row in rows:
        if row["verdict"] == "not_comparable" or row["indicator_code"] != HEADLINE:
            continue
        pilot, reference = _pilot_row(b, row), _reference_row(b, row)
        if not (_published(pilot) and _published(reference)):
            continue
        source = _source_name(b, row["source_id_reference"])
        return b.finding(
            f"{b.territory_name(territory)} face à {source} ({row['period_reference']}, même "
            f"définition) — {_cell_words(b, row)} : pilote {b.pct(pilot, with_ci=False)}, "
            f"référence {b.pct(reference, with_ci=False)}.", wording.comparison_verdict(row))
    return None


def _source_name(b: ReportBuilder, source_id: str) -> str:
    b.cite(source_id)
    rows = b.t.sources[b.t.sources["source_id"] == source_id]
    if len(rows) and rows.iloc[0]["publisher"]:
        return str(rows.iloc[0]["publisher"]).split("(")[0].strip()
    return source_id


def _cell_words(b: ReportBuilder, row: dict) -> str:
    parts = [b.indicator_label(row["indicator_code"]).lower()]
    if row.get("grade_group") not in (None, TOTAL):
        parts.append(b.category_label("grade_group", row["grade_group"], row.get("territory_pilot")))
    if row.get("sex") not in (None, TOTAL):
        parts.append(b.category_label("sex", row["sex"]))
    return ", ".join(parts)


# --- échantillon ------------------------------------------------------------------------------
def sample(b: ReportBuilder) -> Section:
    b.tracer.section = "echantillon"
    blocks = []
    for territory in b.territories:
        name = b.territory_name(territory)
        pilots = b.t.sources[(b.t.sources["source_family"] == FAMILY_PILOT)
                             & (b.t.sources["territory"] == territory)]
        for _, source in pilots.sort_values("period").iterrows():
            row = select.as_row(source)
            text = (f"{name}, vague {row['period']} : {b.quote('sources', row, 'input_rows', 'count')}"
                    f" questionnaires reçus, {b.quote('sources', row, 'staged_rows', 'count')} "
                    f"retenus, {b.quote('sources', row, 'rejected_rows', 'count')} écartés par les "
                    "contrôles (réponses incohérentes ou hors du questionnaire).")
            head = select.cell(b.t.indicators, HEADLINE, str(row["source_id"]))
            if head is not None and not is_missing(head.get("df")):
                text += (f" Le plan de sondage compte {b.quote('indicators', head, 'df', 'count')} "
                         f"degrés de liberté (nombre d'{b.terms['schools']} moins nombre de "
                         "strates) : c'est ce "
                         "nombre, plus que celui des élèves, qui fixe la précision.")
            blocks.append(_para(text))
        _, latest = b.latest(territory)
        margins = b.t.margins.get(territory)
        dims = [("level", "Niveau"), ("sex", "Sexe")] + (
            [("departement", "Département")] if territory == TERRITORY_ORLEANS_TOURS else [])
        for dim, title in dims:
            rows_in = select.breakdown(b.t.indicators, HEADLINE, latest, dim, b.category_order(dim)
                                       if dim != "departement" else None)
            # A withheld estimate keeps its respondent count (contract v1), except where the
            # cell was withheld for having too few respondents.
            rows_in = [r for r in rows_in if not b.too_few(r)
                       and not is_missing(r.get("n_unweighted"))]
            total_n = sum(float(r["n_unweighted"]) for r in rows_in)
            population = (margins.totals.get(dim, {}) if margins else {})
            population_total = sum(population.values()) if population else 0.0
            rows = []
            for r in rows_in:
                if is_missing(r.get("n_unweighted")) or not total_n:
                    continue
                cells = [Cell(b.category_label(dim, r[dim], territory)), b.n_cell(r),
                         Cell(b.quote("indicators", r, "n_unweighted", "percent",
                                      value=float(r["n_unweighted"]) / total_n,
                                      derivation="répondants de la case / répondants de la "
                                      "ventilation"))]
                pupils = population.get(r[dim])
                if pupils and population_total:
                    margin_row = {"file": f"reference/{_margins_file(territory)}",
                                  "territory": territory, "variable": dim, "category": r[dim],
                                  "pupils": pupils}
                    cells.append(Cell(b.quote("population_margins", margin_row, "pupils",
                                              "percent", value=pupils / population_total,
                                              derivation="effectif de la catégorie / total")))
                else:
                    cells.append(Cell("—"))
                rows.append(cells)
            if not rows:
                continue
            estimated = margins is not None and margins.estimated
            note = ("Répartition de la population ESTIMÉE (seul le total provincial est officiel)."
                    if estimated else "Population : effectifs DEPP, rentrée de référence des "
                    "marges de redressement." if margins else "")
            table = b.new_table(f"{name}, vague {b.latest(territory)[0]} : échantillon obtenu et "
                                f"population par {title.lower()}",
                                [title, "Répondants", "Part de l'échantillon",
                                 "Part de la population"], rows, note)
            blocks.append(Block("table", table=table))
    blocks.append(_para(
        "L'échantillon brut s'écarte de la population ; le redressement (section suivante) "
        "rétablit les parts de la population pour les variables de calage. Le taux de réponse des "
        f"{b.terms['schools']} et des {b.terms['pupils']} n'est pas encore publié dans les tables "
        "du baromètre."))
    return Section("echantillon", b.texts["titles"]["echantillon"], blocks)


def _margins_file(territory: str) -> str:
    return "population_margins.tsv" if territory == TERRITORY_ORLEANS_TOURS \
        else "population_margins_qc_estimated.tsv"


# --- méthodes ----------------------------------------------------------------------------------
def methods(b: ReportBuilder) -> Section:
    b.tracer.section = "methodes"
    values = _method_values(b)
    blocks = []
    for entry in b.texts["methods"]:
        blocks.append(Block("paragraph", text=f"{entry['title']} — " +
                            " ".join(entry["text"].split()).format(**values)))
    return Section("methodes", b.texts["titles"]["methodes"], blocks)


def _method_values(b: ReportBuilder) -> dict[str, str]:
    alpha_row = {"file": "indicators.yaml", "setting": "publication.confidence (1 - niveau)",
                 "value": b.alpha}
    return {
        "confidence": b.rule("confidence", "percent_int"),
        "alpha": b.quote("catalogue", alpha_row, "value", "percent_int",
                         derivation="1 - niveau de confiance"),
        "min_n": b.rule("min_n_unweighted", "count"),
        "min_neff": b.rule("min_n_effective", "count"),
        "sensitive_n": b.rule("sensitive_min_n_unweighted", "count"),
        # The withheld cells' own words (stats.publication.REASONS, as the cells print them), so
        # the method text and the glossary cannot name a reason differently from the tables.
        "withheld_complement": withheld_reason(COMPLEMENTARY),
        "withheld_too_few": withheld_reason(f"{CONFIDENTIALITY}:n"),
        "confidentiality_term": REASONS[COMPLEMENTARY].fr_short.capitalize(),
    }


# --- résultats ---------------------------------------------------------------------------------
def results(b: ReportBuilder) -> Section:
    return Section("resultats", b.texts["titles"]["resultats"], [], [
        _prevalence(b), _vectors(b), _exposure(b), _impacts(b), _help(b), _prevention(b)])


def _series_entries(b: ReportBuilder, codes, label_of=None) -> list[tuple[str, str, dict | None]]:
    entries = []
    for code in codes:
        for series, _territory, source in b.series_sources():
            row = select.cell(b.t.indicators, code, source)
            entries.append(((label_of or b.indicator_label)(code), series, row))
    return entries


def _prevalence(b: ReportBuilder) -> Section:
    b.tracer.section = "prevalence"
    findings = []
    for territory in b.territories:
        period, source = b.latest(territory)
        for code in ("CV_ANY", "CV_REPEATED", "PERPETRATOR", "WITNESS"):
            row = select.cell(b.t.indicators, code, source)
            if row is None:
                continue
            findings.append(b.finding(f"{b.territory_name(territory)} {period} — "
                                      f"{b.indicator_label(code)} : {b.pct(row)}."))
    items = _codes(b, ITEM_GROUP)
    if b.territories:
        _, source = b.latest(b.territories[-1])
        order = {r["indicator_code"]: i for i, r in enumerate(_ranked(b, source, items))}
        items.sort(key=lambda c: order.get(c, len(order)))
    figure = b.indicator_figure("Types de cyberviolences subies (au moins une fois)",
                                _series_entries(b, items))
    return Section("prevalence", b.texts["titles"]["prevalence"], [
        _findings(findings), figure, b.help_block()])


def _vectors(b: ReportBuilder) -> Section:
    b.tracer.section = "vecteurs"
    findings = []
    for territory in b.territories:
        period, source = b.latest(territory)
        ranked = _ranked(b, source, [c for c in VECTORS if c.startswith("VEC_")])
        known = select.cell(b.t.indicators, "AUTHOR_KNOWN", source)
        same = select.cell(b.t.indicators, "AUTHOR_SAME_SCHOOL", source)
        if ranked:
            findings.append(b.finding(
                f"{b.territory_name(territory)} {period} : parmi les victimes, "
                f"{_platform(b, ranked[0])} est la plateforme la plus citée : "
                f"{b.pct(ranked[0])} ; l'auteur était connu de la victime dans "
                f"{b.pct(known, with_ci=False)} des cas et venait de son "
                f"{b.terms['school']} dans {b.pct(same, with_ci=False)} des cas."))
    figure = b.indicator_figure("Plateformes et auteurs, parmi les victimes",
                                _series_entries(b, VECTORS), "pourcentage des victimes")
    return Section("vecteurs", b.texts["titles"]["vecteurs"], [_findings(findings), figure])


def _exposure(b: ReportBuilder) -> Section:
    b.tracer.section = "exposition"
    blocks = []
    for territory in b.territories:
        period, source = b.latest(territory)
        rows = []
        for dim, title in EXPOSURE_DIMENSIONS:
            for r in select.breakdown(b.t.indicators, HEADLINE, source, dim,
                                      b.category_order(dim) if dim not in ("departement",)
                                      else None):
                rows.append([Cell(title), Cell(b.category_label(dim, r[dim], territory)), b.value_cell(r),
                             b.interval_cell(r), b.n_cell(r)])
        if rows:
            table = b.new_table(f"{b.territory_name(territory)} {period} : victimes d'au moins "
                                "une cyberviolence selon les caractéristiques des élèves",
                                ["Caractéristique", "Groupe", "Victimes", b.ci_label(),
                                 "Répondants"], rows, b.withheld_note(rows))
            blocks.append(Block("table", table=table))
    entries, findings = [], []
    for series, territory, source in b.series_sources():
        for row in select.effects_where(b.t.effects, source_id=source,
                                        comparability_group=RISK_FACTOR_GROUP):
            if row.get("cell", TOTAL) not in (None, TOTAL):
                continue
            name = _effect_name(row)
            entries.append((name, series, row))
            if source == b.latest(territory)[1] and not row.get("suppressed") \
                    and not is_missing(row.get("estimate")):
                findings.append(b.finding(
                    f"{b.territory_name(territory)} — {name} : rapport de cotes ajusté "
                    f"{b.quote('effects', row, 'estimate', 'ratio')} ({b.ci_label()} "
                    f"{b.quote('effects', row, 'ci_low', 'ratio')} à "
                    f"{b.quote('effects', row, 'ci_high', 'ratio')}).", b.association_words(row)))
    entries.sort(key=lambda e: e[0])
    figure = b.effect_figure("Facteurs associés au fait d'être victime : rapports de cotes "
                             "ajustés (échelle logarithmique, ligne verticale = pas d'association)",
                             entries, "rapport de cotes ajusté")
    blocks += [figure, _findings(findings), Block("caveat", text=b.texts["caveat_associations"])]
    return Section("exposition", b.texts["titles"]["exposition"], blocks)


def _effect_name(row: dict) -> str:
    text = str(row.get("label_fr") or row["effect_code"])
    return text.split(":", 1)[-1].strip() if ":" in text else text


def _self_harm_allowed(b: ReportBuilder, row: dict | None) -> bool:
    """Self-harm ideation is shown only under its stricter rule (larger minimum n)."""
    if not _published(row):
        return False
    minimum = b.t.publication_rules.get("sensitive_min_n_unweighted")
    n = row.get("n_unweighted")
    return minimum is None or (not is_missing(n) and float(n) >= float(minimum))


def _impacts(b: ReportBuilder) -> Section:
    b.tracer.section = "impacts"
    findings, entries = [], []
    discussed_self_harm = False
    for territory in b.territories:
        period, source = b.latest(territory)
        victims = select.cell(b.t.indicators, "WHO5_LOW_VICTIMS", source)
        others = select.cell(b.t.indicators, "WHO5_LOW_NONVICTIMS", source)
        gap = select.effect(b.t.effects, "PILOT_DIFF_WHO5_LOW_CV_ANY", source)
        if victims is not None and others is not None:
            text = (f"{b.territory_name(territory)} {period} : bien-être faible chez "
                    f"{b.pct(victims, with_ci=False)} des victimes contre "
                    f"{b.pct(others, with_ci=False)} des autres {b.terms['pupils']}")
            verdict = ""
            if gap is not None and _published(gap):
                verdict = wording.difference_verdict(gap["estimate"], gap.get("ci_low"),
                                                     gap.get("ci_high"),
                                                     wording.is_significant(gap, b.alpha))
                text += f" (écart {b.quote('effects', gap, 'estimate', 'points')})"
            findings.append(b.finding(text + ".", verdict))
        for outcome in ("FEELS_UNSAFE", "SLEEP_PROBLEMS", SELF_HARM):
            row = select.effect(b.t.effects, f"PILOT_OR_{outcome}_CV_ANY", source)
            if row is None:
                continue
            if outcome == SELF_HARM:
                indicator = select.cell(b.t.indicators, SELF_HARM, source)
                if not (_self_harm_allowed(b, indicator) and _self_harm_allowed(b, row)):
                    findings.append(b.finding(
                        f"{b.territory_name(territory)} : idées d'automutilation — "
                        f"{withheld_reason(SENSITIVE_WITHHELD)}."))
                    continue
                discussed_self_harm = True
            if not _published(row):
                continue
            findings.append(b.finding(
                f"{b.territory_name(territory)} — {_effect_name(row).lower()} "
                f"({_outcome_words(row)}) : rapport de cotes "
                f"{b.quote('effects', row, 'estimate', 'ratio')} ({b.ci_label()} "
                f"{b.quote('effects', row, 'ci_low', 'ratio')} à "
                f"{b.quote('effects', row, 'ci_high', 'ratio')}).", b.association_words(row)))
    codes = [c for c in IMPACTS if c != SELF_HARM]
    for series, _territory, source in b.series_sources():
        for code in codes:
            entries.append((b.indicator_label(code), series,
                            select.cell(b.t.indicators, code, source)))
        harm = select.cell(b.t.indicators, SELF_HARM, source)
        if _self_harm_allowed(b, harm):
            entries.append((b.indicator_label(SELF_HARM), series, harm))
            discussed_self_harm = True
    order = {c: i for i, c in enumerate(IMPACTS)}
    entries.sort(key=lambda e: min((order[c] for c in IMPACTS if b.indicator_label(c) == e[0]),
                                   default=0))
    figure = b.indicator_figure("Bien-être et conséquences", entries)
    odds = []
    for series, _territory, source in b.series_sources():
        for row in select.effects_where(b.t.effects, source_id=source,
                                        comparability_group=IMPACT_OR_GROUP):
            if SELF_HARM in row["effect_code"] and not _self_harm_allowed(b, row):
                continue
            exposure = EXPOSURE_WORDS.get(str(row.get("exposure")), _effect_name(row))
            odds.append((f"{_outcome_words(row)} : {exposure}", series, row))
    odds.sort(key=lambda e: e[0])
    forest = b.effect_figure("Conséquences associées au fait d'être victime : rapports de cotes "
                             "ajustés sur le sexe et le niveau", odds, "rapport de cotes ajusté")
    return Section("impacts", b.texts["titles"]["impacts"], [
        _findings(findings), figure, forest, Block("caveat", text=b.texts["caveat_associations"]),
        b.help_block(crisis=discussed_self_harm)])


def _outcome_words(row: dict) -> str:
    text = str(row.get("label_fr") or "")
    if "(" in text and ")" in text:
        return text[text.index("(") + 1:text.rindex(")")]
    return str(row.get("outcome") or "")


def _help(b: ReportBuilder) -> Section:
    b.tracer.section = "aide"
    findings = []
    for territory in b.territories:
        period, source = b.latest(territory)
        nobody = select.cell(b.t.indicators, "TOLD_NOBODY", source)
        adult = select.cell(b.t.indicators, "TOLD_ADULT", source)
        platform = select.cell(b.t.indicators, "REPORTED_PLATFORM", source)
        helpline = select.cell(b.t.indicators, "KNOWS_HELPLINE", source)
        findings.append(b.finding(
            f"{b.territory_name(territory)} {period} : parmi les victimes, "
            f"{b.pct(nobody, with_ci=False)} n'en ont parlé à personne, "
            f"{b.pct(adult, with_ci=False)} en ont parlé à un adulte et "
            f"{b.pct(platform, with_ci=False)} ont signalé les faits à la plateforme ; "
            f"{b.pct(helpline, with_ci=False)} des {b.terms['pupils']} connaissent la ligne "
            "d'aide."))
    figure = b.indicator_figure("Recherche d'aide et signalement",
                                _series_entries(b, HELP),
                                "pourcentage (victimes ; ligne d'aide : élèves)")
    return Section("aide", b.texts["titles"]["aide"], [_findings(findings), figure,
                                                        b.help_block()])


def _prevention(b: ReportBuilder) -> Section:
    b.tracer.section = "prevention"
    findings = []
    for territory in b.territories:
        period, source = b.latest(territory)
        name = b.territory_name(territory)
        session = select.cell(b.t.indicators, "PREVENTION_SESSION", source)
        findings.append(b.finding(f"{name} {period} : {b.pct(session)} des "
                                  f"{b.terms['pupils']} ont suivi une séance de prévention."))
        with_s = select.cell(b.t.indicators, "CV_ANY_PREVENTED", source)
        without = select.cell(b.t.indicators, "CV_ANY_NOT_PREVENTED", source)
        odds = select.effect(b.t.effects, "PILOT_OR_CV_ANY_PREVENTION_SESSION", source)
        if with_s is not None and without is not None:
            text = (f"{name} : victimes parmi les élèves avec séance {b.pct(with_s, with_ci=False)}"
                    f", sans séance {b.pct(without, with_ci=False)}")
            verdict = ""
            if odds is not None and _published(odds):
                verdict = b.association_words(odds)
                text += (f" ; avoir suivi une séance est {verdict} (rapport de cotes "
                         f"{b.quote('effects', odds, 'estimate', 'ratio')}), une association")
            findings.append(b.finding(text + ".", ""))
        did = select.effect(b.t.effects, "PILOT_DID_CV_ANY_PROGRAMME_SCHOOL", source)
        if did is not None and _published(did):
            verdict = wording.difference_verdict(did["estimate"], did.get("ci_low"),
                                                 did.get("ci_high"),
                                                 wording.is_significant(did, b.alpha))
            findings.append(b.finding(
                f"{name}, {did['period']} : différence de différences (évolution des "
                f"{b.terms['schools']} avec programme moins celle des autres) "
                f"{b.quote('effects', did, 'estimate', 'points')} ({b.ci_label()} "
                f"{b.quote('effects', did, 'ci_low', 'points')} à "
                f"{b.quote('effects', did, 'ci_high', 'points')}).", verdict))
    figure = b.indicator_figure(
        "Victimes selon la participation à une séance de prévention",
        _series_entries(b, ("PREVENTION_SESSION", "CV_ANY_PREVENTED", "CV_ANY_NOT_PREVENTED")))
    return Section("prevention", b.texts["titles"]["prevention"], [
        _findings(findings), figure, Block("caveat", text=b.texts["caveat_prevention"]),
        Block("caveat", text=b.texts["caveat_did"])])


# --- comparaisons ------------------------------------------------------------------------------
def comparisons(b: ReportBuilder) -> Section:
    b.tracer.section = "comparaisons"
    blocks = [_para(
        "Une différence avec une série publique n'est testée que si les définitions sont les "
        "mêmes ; sinon la comparaison est déclarée non comparable et la raison principale est "
        "donnée (définition, période de référence, population, territoire). Les valeurs non "
        "comparables sont montrées pour information, pas pour être rapprochées.")]
    for territory in b.territories:
        tested, untested, definitions = [], [], {}
        for row in _comparisons(b, territory):
            pilot, reference = _pilot_row(b, row), _reference_row(b, row)
            reference_name = (f"{_source_name(b, row['source_id_reference'])}, "
                              f"{row['period_reference']} ({row['territory_reference']})")
            cells = [Cell(f"{_cell_words(b, row)} ({row['period_pilot']})"), b.value_cell(pilot),
                     Cell(reference_name), b.value_cell(reference)]
            segments = [p.strip() for p in str(row.get("reason") or "").split(" ; ") if p.strip()]
            for segment in segments:
                if segment.startswith("définition de la référence"):
                    definitions[reference_name.rsplit(",", 1)[0] + ", " +
                                str(row["period_reference"])] = segment.split(":", 1)[-1].strip()
            if row["verdict"] == "not_comparable":
                main = segments[0].split("(")[0].strip() if segments else "non comparable"
                untested.append([*cells, Cell(main)])
            else:
                gap = Cell("—")
                if not is_missing(row.get("difference")) and _published(pilot):
                    gap = Cell(b.quote("comparisons", row, "difference", "points"))
                tested.append([*cells, gap, Cell(wording.comparison_verdict(row))])
        name = b.territory_name(territory)
        if tested:
            blocks.append(Block("table", table=b.new_table(
                f"{name} : comparaisons testées (mêmes définitions ; le verdict tient compte de "
                "l'incertitude du pilote et, quand elle est publiée, de celle de la référence)",
                ["Pilote", "Valeur", "Référence", "Valeur", "Écart", "Verdict"], tested,
                b.withheld_note(tested))))
        if untested:
            blocks.append(Block("table", table=b.new_table(
                f"{name} : séries publiques non comparables au pilote, et pourquoi",
                ["Pilote", "Valeur", "Référence", "Valeur", "Raison principale"], untested,
                b.withheld_note(untested))))
        if definitions:
            rows = [[Cell(k), Cell(v)] for k, v in sorted(definitions.items())]
            blocks.append(Block("table", table=b.new_table(
                f"{name} : définitions des séries de référence", ["Référence", "Définition"],
                rows)))
        for code in SERIES_CODES:
            series = _historical_series(b, territory, code)
            if series:
                blocks.append(b.indicator_figure(
                    f"{b.indicator_label(code)} : séries publiques lues à côté du pilote "
                    f"({name}) — définitions et périodes différentes", series))
    return Section("comparaisons", b.texts["titles"]["comparaisons"], blocks, page_break=True)


def _historical_series(b: ReportBuilder, territory: str, code: str) -> list[tuple[str, str, dict]]:
    table = b.t.indicators
    mask = ((table["source_family"] != FAMILY_PILOT) & (table["indicator_code"] == code)
            & table["territory"].isin(SERIES_TERRITORIES.get(territory, ()))
            & (table["sex"] == TOTAL) & (table["level"] == TOTAL))
    entries = []
    for _, r in table[mask].sort_values(["period", "source_id"]).iterrows():
        row = select.as_row(r)
        series = f"{_source_name(b, row['source_id'])} ({row['territory']})"
        what = [str(row["period"])]
        if row.get("grade_group") not in (None, TOTAL):
            what.append(b.category_label("grade_group", row["grade_group"], territory).lower())
        if row.get("age_band") not in (None, TOTAL):
            what.append(f"{row['age_band']} ans")
        entries.append((" · ".join(what), series, row))
    for _period, source in b.waves.get(territory, [])[-1:]:
        for group in (TOTAL, "COLLEGE", "LYCEE"):
            dims = {} if group == TOTAL else {"grade_group": group}
            row = select.cell(table, code, source, **dims)
            if row is not None:
                what = [f"{row['period']} (pilote)"]
                if group != TOTAL:
                    what.append(b.category_label("grade_group", group, territory).lower())
                entries.append((" · ".join(what), f"Pilote ({b.territory_name(territory)})",
                                row))
    return entries


# --- vagues ------------------------------------------------------------------------------------
def waves(b: ReportBuilder) -> Section:
    b.tracer.section = "vagues"
    blocks = []
    for territory in b.territories:
        if len(b.waves[territory]) < 2:
            continue
        (before_period, before), (after_period, after) = b.waves[territory][-2:]
        rows = []
        for row in select.effects_where(b.t.effects, source_id=after):
            if not row["effect_code"].startswith("PILOT_WAVE_DIFF_") \
                    or row.get("cell") not in (None, TOTAL):
                continue
            code = row["effect_code"].removeprefix("PILOT_WAVE_DIFF_")
            old = select.cell(b.t.indicators, code, before)
            new = select.cell(b.t.indicators, code, after)
            if not _published(row):
                rows.append([Cell(b.indicator_label(code, territory)), b.value_cell(old), b.value_cell(new),
                             Cell(withheld_reason(row.get("suppression_reason")), withheld=True),
                             Cell("—"), Cell("")])
                continue
            verdict = wording.change_verdict(row["estimate"], row.get("ci_low"),
                                             row.get("ci_high"),
                                             wording.is_significant(row, b.alpha))
            rows.append([Cell(b.indicator_label(code, territory)), b.value_cell(old), b.value_cell(new),
                         Cell(b.quote("effects", row, "estimate", "points")),
                         Cell(f"{b.quote('effects', row, 'ci_low', 'points')} à "
                              f"{b.quote('effects', row, 'ci_high', 'points')}"),
                         Cell(verdict)])
        if rows:
            table = b.new_table(
                f"{b.territory_name(territory)} : évolution entre {before_period} et "
                f"{after_period} (même définition ; écart en points et {b.ci_label()})",
                ["Indicateur", before_period, after_period, "Évolution", b.ci_label(),
                 "Lecture"], rows, b.withheld_note(rows))
            blocks.append(Block("table", table=table))
        entries = []
        for code in WAVE_FIGURE:
            for period, source in b.waves[territory][-2:]:
                label_text = b.indicator_label(code, territory)
                if len(b.territories) > 1:
                    label_text = f"{label_text} ({b.territory_name(territory)})"
                entries.append((label_text, period, select.cell(b.t.indicators, code, source)))
        blocks.append(b.indicator_figure(
            f"{b.territory_name(territory)} : principaux indicateurs, vague par vague", entries))
    blocks.append(_para(
        "« Stable » signifie que le test ne voit pas d'évolution et que l'intervalle de "
        "l'évolution est étroit ; « trop imprécis pour conclure » qu'il est trop large pour "
        "l'affirmer."))
    return Section("vagues", b.texts["titles"]["vagues"], blocks)


def wave_verdicts(b: ReportBuilder) -> list[str]:
    verdicts = []
    for territory in b.territories:
        _, after = b.latest(territory)
        for row in select.effects_where(b.t.effects, source_id=after):
            if row["effect_code"].startswith("PILOT_WAVE_DIFF_") and _published(row) \
                    and row.get("cell") in (None, TOTAL):
                verdicts.append(wording.change_verdict(
                    row["estimate"], row.get("ci_low"), row.get("ci_high"),
                    wording.is_significant(row, b.alpha)))
    return verdicts


# --- limites, recommandations, sources, glossaire ----------------------------------------------
def limits(b: ReportBuilder) -> Section:
    b.tracer.section = "limites"
    items = [" ".join(text.split()) for text in b.texts["limits"]]
    if not b.synthetic():
        items = items[1:]
    for territory in b.territories:
        margins = b.t.margins.get(territory)
        if margins is not None and margins.estimated:
            items.append(f"{b.territory_name(territory)} : les marges de redressement par niveau "
                         "et sexe sont estimées, pas observées.")
    blocks = [Block("banner", text=b.texts["banner_synthetic"])] if b.synthetic() else []
    blocks.append(Block("bullets", items=items))
    return Section("limites", b.texts["titles"]["limites"], blocks)


def recommendations(b: ReportBuilder) -> Section:
    b.tracer.section = "recommandations"
    texts = b.texts["recommendations"]
    items = []
    verdicts = wave_verdicts(b)
    imprecise = [v for v in verdicts if v == wording.TOO_IMPRECISE]
    if imprecise:
        counts = {"file": "effects", "setting": "wave differences", "n": len(imprecise),
                  "total": len(verdicts)}
        items.append(_fill(texts["panel"], n_imprecise=b.quote(
            "catalogue", counts, "n", "count", derivation="évolutions jugées trop imprécises"),
            n_changes=b.quote("catalogue", counts, "total", "count",
                              derivation="évolutions testées (ensemble, dernière vague)")))
    comparisons_rows = b.t.comparisons[b.t.comparisons["territory_pilot"].isin(b.territories)]
    not_comparable = int((comparisons_rows["verdict"] == "not_comparable").sum())
    if len(comparisons_rows) and not_comparable:
        counts = {"file": "comparisons", "setting": "verdict", "n": not_comparable,
                  "total": len(comparisons_rows)}
        items.append(_fill(texts["comparability"], n_not_comparable=b.quote(
            "catalogue", counts, "n", "count", derivation="lignes verdict = not_comparable"),
            n_comparisons=b.quote("catalogue", counts, "total", "count",
                                  derivation="lignes de comparaisons du périmètre")))
    for territory in b.territories:
        _, source = b.latest(territory)
        helpline = select.cell(b.t.indicators, "KNOWS_HELPLINE", source)
        if _published(helpline) and float(helpline["estimate"]) < 0.5:
            items.append(_fill(texts["helpline"], knows=b.pct(helpline, with_ci=False),
                               territory=b.territory_name(territory)))
        nobody = select.cell(b.t.indicators, "TOLD_NOBODY", source)
        if _published(nobody) and float(nobody["estimate"]) >= 0.2:
            items.append(_fill(texts["told_nobody"], told_nobody=b.pct(nobody, with_ci=False),
                               territory=b.territory_name(territory), schools=b.terms["schools"]))
        rows = b.t.indicators[b.t.indicators["source_id"] == source]
        hidden = int(rows["suppressed"].fillna(False).astype(bool).sum())
        if hidden:
            counts = {"file": "indicators", "setting": source, "n": hidden, "total": len(rows)}
            items.append(_fill(texts["suppressed"], n_suppressed=b.quote(
                "catalogue", counts, "n", "count", derivation="lignes suppressed = true"),
                n_cells=b.quote("catalogue", counts, "total", "count",
                                derivation="lignes de la source"),
                territory=b.territory_name(territory)))
        margins = b.t.margins.get(territory)
        if margins is not None and margins.estimated:
            items.append(_fill(texts["margins"]))
    items.append(_fill(texts["evaluation"]))
    return Section("recommandations", b.texts["titles"]["recommandations"], [
        _para("Chaque recommandation découle d'un chiffre de ce rapport."),
        Block("bullets", items=items)])


def _fill(template: str, **values: str) -> str:
    return " ".join(template.split()).format(**values)


def sources(b: ReportBuilder) -> Section:
    b.tracer.section = "sources"
    table = b.t.sources
    # The rule: the combined report lists every source (its pilot waves and every reference); a
    # territory's report lists its own pilot waves and the sources it cites, i.e. whose row it
    # shows (a number or a withheld cell) or whose name it prints (b.cited_sources, filled by the
    # sections before this one). Citation, not the export's free-text `territory` column, decides:
    # a Québec report that compares with HBSC lists HBSC, and never a French publisher it does
    # not cite.
    own_pilots = (table["source_family"] == FAMILY_PILOT) & table["territory"].isin(b.territories)
    if b.scope.lists_every_source:
        relevant = table[(table["source_family"] != FAMILY_PILOT) | own_pilots]
        intro = b.texts["sources_intro"]["every"]
    else:
        relevant = table[own_pilots | table["source_id"].isin(b.cited_sources)]
        intro = b.texts["sources_intro"]["cited"]
    rows = []
    for _, r in relevant.sort_values(["source_family", "source_id"]).iterrows():
        row = select.as_row(r)
        citation = f"{row.get('publisher') or ''}. {row.get('title') or ''}".strip(". ")
        flags = str(row.get("quality_flags") or "").replace("|", ", ")
        rows.append([Cell(citation), Cell(str(row.get("period") or "")),
                     Cell(str(row.get("territory") or "")), Cell(str(row.get("licence") or "")),
                     Cell(str(row.get("url") or "")), Cell(flags)])
    note = ("SOURCE_SECONDAIRE : chiffre lu dans une reprise (presse, site tiers), non dans la "
            "publication d'origine ; CALCUL_PAR_NOS_SOINS : calculé par le projet à partir de "
            "micro-données publiques ; SYNTHETIQUE : données générées par le projet.")
    t = b.new_table("Sources : éditeur, titre, période, territoire, licence et adresse",
                    ["Source", "Période", "Territoire", "Licence", "Adresse", "Signalements"],
                    rows, note)
    return Section("sources", b.texts["titles"]["sources"],
                   [_para(" ".join(intro.split())), Block("table", table=t)], page_break=True)


def glossary(b: ReportBuilder) -> Section:
    b.tracer.section = "glossaire"
    values = _method_values(b)
    rows = [[Cell(entry["term"].format(**values)), Cell(entry["definition"].format(**values))]
            for entry in b.texts["glossary"]]
    t = b.new_table("Glossaire", ["Terme", "Définition"], rows)
    return Section("glossaire", b.texts["titles"]["glossaire"], [Block("table", table=t)])
