"""The site's views: which questions each page answers and with which panels.

A panel is a declarative description (kind, indicators, breakdown) that ``static/site.js`` turns
into a chart and its data table for the current filters. Keeping the list here, in data, is what
lets the browser test walk every view and every panel without knowing the page layout.

Panel kinds: ``headline`` (one figure, its interval, n and the change since the last wave),
``bars`` (several indicators for the selected cell), ``breakdown`` (one indicator split by one
dimension), ``heat`` (sex × level table), ``map`` (départements of Orléans-Tours), ``territories``
(the two pilot territories side by side), ``forest`` (adjusted odds ratios), ``effects``
(associations: differences, odds ratios, difference in differences), ``waves`` (each wave and the
tested change), ``wavechanges`` (every tested change of the selected cell, with p- and q-values),
``regions`` (sub-territories of the selected territory, ranked, once published), ``compare``
(pilot against same-definition references, the others listed apart).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ITEM_CODES = (
    "CV_INSULTS", "CV_NICKNAMES", "CV_RUMOURS", "CV_HUMILIATING_MEDIA", "CV_INTIMATE_IMAGES",
    "CV_SEXUAL_SOLICITATION", "CV_THREATS", "CV_IDENTITY_THEFT", "CV_EXCLUSION", "CV_HARASSMENT",
)
VECTOR_CODES = ("VEC_SNAPCHAT", "VEC_INSTAGRAM", "VEC_TIKTOK", "VEC_WHATSAPP", "VEC_DISCORD",
                "VEC_YOUTUBE", "VEC_GAMES", "VEC_SMS")


@dataclass(frozen=True)
class Panel:
    id: str
    kind: str
    title: dict[str, str]
    codes: tuple[str, ...] = ()
    by: str | None = None
    note: dict[str, str] | None = None
    association: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    def config(self, language: str) -> dict[str, Any]:
        """What site.js needs, as JSON (the title travels for the chart's text alternative)."""
        return {"id": self.id, "kind": self.kind, "codes": list(self.codes), "by": self.by,
                "title": self.title[language], "association": self.association, **self.options}


@dataclass(frozen=True)
class View:
    slug: str
    title: dict[str, str]
    intro: dict[str, str]
    panels: tuple[Panel, ...] = ()
    help: str | None = None  # "victims" or "self_harm": which help box the page carries
    limits: dict[str, str] | None = None


def _t(fr: str, en: str) -> dict[str, str]:
    return {"fr": fr, "en": en}


ASSOCIATION_NOTE = _t(
    "Association, pas effet : ces écarts décrivent qui est concerné, ils ne prouvent pas qu'un facteur cause la cyberviolence.",
    "Association, not effect: these gaps describe who is affected; they do not prove that a factor causes cyberviolence.",
)

VIEWS: tuple[View, ...] = (
    View(
        "index", _t("Vue d'ensemble", "Overview"),
        _t("Les chiffres clés de l'enquête pilote pour le territoire, la vague et le public choisis ci-dessus.",
           "Key figures of the pilot survey for the territory, wave and group chosen above."),
        (
            Panel("headline", "headline", _t("Élèves victimes d'au moins une cyberviolence", "Pupils who experienced at least one form of cyberviolence"), ("CV_ANY",)),
            Panel("key-figures", "bars", _t("Chiffres clés", "Key figures"),
                  ("CV_ANY", "CV_REPEATED", "WITNESS", "PERPETRATOR", "BULLIED_IN_PERSON", "TOLD_NOBODY", "KNOWS_HELPLINE", "WHO5_LOW")),
        ),
        help="victims",
    ),
    View(
        "territoires", _t("Territoires", "Territories"),
        _t("Où la cyberviolence est-elle la plus fréquente ? Les six départements de l'académie d'Orléans-Tours et les deux territoires pilotes.",
           "Where is cyberviolence most frequent? The six départements of the Orléans-Tours académie and the two pilot territories."),
        (
            Panel("map", "map", _t("Victimes de cyberviolence par département (académie d'Orléans-Tours)", "Cyberviolence victims by département (Orléans-Tours)"), ("CV_ANY",), by="departement"),
            Panel("departements", "breakdown", _t("Départements classés", "Départements ranked"), ("CV_ANY",), by="departement", options={"rank": True}),
            Panel("quebec-regions", "regions", _t("Régions du Québec", "Québec regions"), ("CV_ANY",)),
            Panel("pilot-territories", "territories", _t("Les deux territoires pilotes", "The two pilot territories"), ("CV_ANY", "CV_REPEATED")),
        ),
        help="victims",
    ),
    View(
        "exposition", _t("Qui est le plus exposé ?", "Who is most exposed?"),
        _t("Filles et garçons, niveaux, âges, éducation prioritaire, secteur, et les facteurs associés à la cyberviolence une fois les autres pris en compte.",
           "Girls and boys, grades, ages, priority education, sector, and the factors associated with cyberviolence once the others are accounted for."),
        (
            Panel("sex-level", "heat", _t("Par sexe et niveau", "By sex and grade"), ("CV_ANY",)),
            Panel("age", "breakdown", _t("Par âge", "By age"), ("CV_ANY",), by="age_band"),
            Panel("priority", "breakdown", _t("Éducation prioritaire", "Priority education"), ("CV_ANY",), by="priority_education", association=True),
            Panel("sector", "breakdown", _t("Secteur public ou privé", "Public or private sector"), ("CV_ANY",), by="sector", association=True),
            Panel("forest", "forest", _t("Facteurs associés (rapports de cotes ajustés)", "Associated factors (adjusted odds ratios)"), ("CV_ANY",), association=True,
                  note=_t("Un rapport de cotes supérieur à 1 signifie une cyberviolence plus fréquente dans ce groupe que dans le groupe de référence, à sexe, cycle et autres facteurs égaux.",
                          "An odds ratio above 1 means cyberviolence is more frequent in this group than in the reference group, other factors being equal.")),
        ),
        help="victims",
    ),
    View(
        "formes", _t("Formes et vecteurs", "Forms and channels"),
        _t("Les dix formes de cyberviolence mesurées, les plateformes où elles ont eu lieu et qui en étaient les auteurs.",
           "The ten forms of cyberviolence measured, the platforms where they happened and who the perpetrators were."),
        (
            Panel("forms", "bars", _t("Les dix formes de cyberviolence", "The ten forms of cyberviolence"), ITEM_CODES, options={"sort": True}),
            Panel("platforms", "bars", _t("Plateformes (parmi les victimes)", "Platforms (among victims)"), VECTOR_CODES, options={"sort": True}),
            Panel("authors", "bars", _t("Auteurs (parmi les victimes)", "Perpetrators (among victims)"), ("AUTHOR_KNOWN", "AUTHOR_SAME_SCHOOL")),
            Panel("roles", "bars", _t("Victimes, témoins, auteurs", "Victims, witnesses, perpetrators"), ("CV_ANY", "CV_REPEATED", "WITNESS", "PERPETRATOR")),
        ),
        help="victims",
    ),
    View(
        "consequences", _t("Conséquences", "Consequences"),
        _t("Bien-être, sentiment d'insécurité, absentéisme et idées d'automutilation, chez les victimes et les autres élèves.",
           "Wellbeing, feeling unsafe, missing school and self-harm ideation, among victims and other pupils."),
        (
            Panel("impacts", "bars", _t("Conséquences déclarées", "Reported consequences"),
                  ("WHO5_LOW", "WHO5_LOW_VICTIMS", "WHO5_LOW_NONVICTIMS", "ABSENCE_VICTIMS", "FEELS_UNSAFE", "SELF_HARM_IDEATION")),
            Panel("impact-gaps", "effects", _t("Écarts entre victimes et non-victimes", "Gaps between victims and non-victims"), association=True,
                  options={"measures": ["difference"], "exposures": ["CV_ANY", "CV_ANY&BULLIED_IN_PERSON"], "counterparts": True}),
            Panel("impact-or", "effects", _t("Rapports de cotes, avec les méta-analyses publiées", "Odds ratios, with the published meta-analyses"), association=True,
                  options={"measures": ["adjusted_odds_ratio", "odds_ratio"], "exposures": ["CV_ANY", "CV_ANY&BULLIED_IN_PERSON"], "outcomes": ["WHO5_LOW", "FEELS_UNSAFE", "SLEEP_PROBLEMS", "SELF_HARM_IDEATION"], "counterparts": True}),
        ),
        help="self_harm",
    ),
    View(
        "aide", _t("Parler, signaler, se faire aider", "Telling, reporting, getting help"),
        _t("Les victimes en ont-elles parlé ? Ont-elles signalé les faits ? Les élèves connaissent-ils la ligne d'aide ?",
           "Did victims tell anyone? Did they report it? Do pupils know the helpline?"),
        (
            Panel("help-seeking", "bars", _t("Parler et signaler (parmi les victimes)", "Telling and reporting (among victims)"), ("TOLD_NOBODY", "TOLD_ADULT", "REPORTED_PLATFORM")),
            Panel("helpline", "bars", _t("Connaissance de la ligne d'aide (tous les élèves)", "Knowing the helpline (all pupils)"), ("KNOWS_HELPLINE",)),
        ),
        help="victims",
    ),
    View(
        "prevention", _t("Prévention", "Prevention"),
        _t("Les élèves ayant suivi une séance de prévention sont-ils moins souvent victimes ? Ces chiffres décrivent des associations : ils ne mesurent pas l'effet des programmes.",
           "Are pupils who attended a prevention session less often victims? These figures describe associations: they do not measure the effect of programmes."),
        (
            Panel("prevention-rates", "bars", _t("Séances de prévention et victimes", "Prevention sessions and victims"), ("PREVENTION_SESSION", "CV_ANY_PREVENTED", "CV_ANY_NOT_PREVENTED")),
            Panel("prevention-gaps", "effects", _t("Associations entre prévention et cyberviolence", "Associations between prevention and cyberviolence"), association=True,
                  options={"exposures": ["PREVENTION_SESSION", "PROGRAMME_SCHOOL"], "measures": ["difference", "adjusted_odds_ratio", "difference_in_differences"], "allPeriods": True}),
        ),
        help="victims",
        limits=_t(
            "Limites : les établissements et les élèves qui suivent une séance de prévention ne sont pas tirés au sort ; ils peuvent différer des autres (motivation, climat scolaire, exposition antérieure). La différence de différences compare l'évolution entre deux vagues des établissements « avec programme » (au moins la moitié des répondants déclarent une séance) à celle des autres : elle suppose que les deux groupes auraient évolué de la même façon sans programme, hypothèse que deux vagues ne permettent pas de vérifier. Aucun de ces chiffres ne prouve un effet.",
            "Limits: schools and pupils attending prevention are not randomised; they may differ from others (motivation, school climate, prior exposure). The difference in differences compares the change between two waves in schools 'with a programme' (at least half of respondents report a session) with the change elsewhere: it assumes both groups would have changed alike without the programme, which two waves cannot check. None of these figures proves an effect."),
    ),
    View(
        "evolution", _t("Évolution", "Change over time"),
        _t("Comment les chiffres ont-ils évolué d'une vague à l'autre ? Un écart est dit significatif quand sa valeur q (corrigée pour les comparaisons multiples) est inférieure à 0,05.",
           "How did the figures change from one wave to the next? A change is called significant when its q-value (corrected for multiple comparisons) is below 0.05."),
        (
            Panel("waves", "waves", _t("Victimes de cyberviolence, vague par vague", "Cyberviolence victims, wave by wave"), ("CV_ANY",)),
            Panel("wave-changes", "wavechanges", _t("Toutes les évolutions testées", "Every change tested")),
        ),
        help="victims",
    ),
    View(
        "comparer", _t("Comparer avec les références", "Compare with references"),
        _t("Le pilote face aux enquêtes publiques et aux études : seules les références de même définition et de même population figurent dans le graphique, avec leur verdict ; les autres sont listées à part, pour le contexte, avec la raison.",
           "The pilot against official surveys and studies: only references with the same definition and population are charted, with their verdict; the others are listed separately, as context, with the reason."),
        (
            Panel("compare", "compare", _t("Références comparables", "Comparable references")),
        ),
        help="victims",
    ),
)

METHOD = View("methode", _t("Méthode et sources", "Method and sources"),
              _t("Comment les chiffres sont produits, d'où ils viennent et sous quelle licence.",
                 "How the figures are produced, where they come from and under which licence."))
SHEETS = View("fiches", _t("Fiches indicateurs", "Indicator sheets"),
              _t("Une fiche par indicateur : définition, question posée, population, méthode, limites et provenance.",
                 "One sheet per indicator: definition, question asked, population, method, limits and provenance."))

NAVIGATION: tuple[View, ...] = (*VIEWS, METHOD, SHEETS)
