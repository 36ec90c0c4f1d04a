"""The pilot questionnaires as the online tools export them: headers, answer wording, order.

One list of :class:`Question` per territory is the single source of truth for both the export
(canonical code -> answer text) and the source manifest (answer text -> canonical code), so the
two cannot drift apart. France: French wording of the DEPP-style questionnaire; Québec: Québec
wording (``Une fois``, ``Secondaire 1``...), other headers and another column order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from barometre_pipeline.simulate.planted_model import CV_ITEMS

AnswerKind = Literal["frequency", "yes_no", "category", "int", "float", "text", "meta"]


@dataclass(frozen=True)
class Question:
    """One exported column: ``canonical`` is the codebook variable it maps to (None: tool metadata)."""

    header: str
    canonical: str | None
    kind: AnswerKind
    # canonical code -> answer text, for category answers.
    answers: dict[str, str] | None = None


FREQUENCY_FR = {0: "Jamais", 1: "1 fois", 2: "2 à 3 fois", 3: "4 fois ou plus"}
FREQUENCY_QC = {0: "Jamais", 1: "Une fois", 2: "2 ou 3 fois", 3: "4 fois ou plus"}
YES, NO, DONT_KNOW_TEXT = "Oui", "Non", "Je ne sais pas"

_ITEM_WORDING = {
    "cv_insults": "reçu des insultes ou des moqueries en ligne",
    "cv_nicknames": "reçu des surnoms humiliants en ligne",
    "cv_rumours": "été la cible de rumeurs propagées en ligne",
    "cv_humiliating_media": "vu publier des photos ou vidéos humiliantes de toi",
    "cv_intimate_images": "vu diffuser des images intimes de toi sans ton accord",
    "cv_sexual_solicitation": "reçu des demandes à caractère sexuel ou du chantage (sextorsion)",
    "cv_threats": "reçu des menaces en ligne",
    "cv_identity_theft": "eu ton compte piraté ou ton identité usurpée",
    "cv_exclusion": "été exclu(e) d'un groupe de discussion",
    "cv_harassment": "été harcelé(e) de façon répétée en ligne",
}
_PLATFORM_NAMES = {
    "platform_snapchat": "Snapchat", "platform_instagram": "Instagram", "platform_tiktok": "TikTok",
    "platform_whatsapp": "WhatsApp", "platform_discord": "Discord", "platform_youtube": "YouTube",
    "platform_games": "Jeux en ligne", "platform_sms": "SMS / messagerie du téléphone",
    "platform_other": "Autre",
}

FRANCE_FREE_TEXT = "Veux-tu nous dire autre chose ?"
QUEBEC_FREE_TEXT = "Commentaires"

FRANCE_QUESTIONS: tuple[Question, ...] = (
    Question("ID réponse", None, "meta"),
    Question("Date de soumission", None, "meta"),
    Question("Dernière page", None, "meta"),
    Question("Langue de départ", None, "meta"),
    Question("Adresse IP", None, "meta"),
    Question("Établissement (UAI)", "school_id", "text"),
    Question("Département", "departement", "category", {
        "18": "Cher (18)", "28": "Eure-et-Loir (28)", "36": "Indre (36)",
        "37": "Indre-et-Loire (37)", "41": "Loir-et-Cher (41)", "45": "Loiret (45)"}),
    Question("Secteur", "sector", "category", {"PU": "Public", "PR": "Privé sous contrat"}),
    Question("Éducation prioritaire", "priority_education", "category",
             {"HORS": "Hors éducation prioritaire", "REP": "REP", "REP+": "REP+"}),
    Question("Strate", "stratum", "text"),
    Question("Poids de tirage", "design_weight", "float"),
    Question("Nombre d'établissements de la strate", "fpc", "int"),
    Question("Effectif de l'établissement", "fpc2", "int"),
    Question("Sexe", "sex", "category", {"F": "Fille", "M": "Garçon", "X": "Autre / préfère ne pas répondre"}),
    Question("Niveau", "level", "category",
             {"6E": "6e", "5E": "5e", "4E": "4e", "3E": "3e", "2NDE": "2nde", "1RE": "1re", "TLE": "Terminale"}),
    Question("Âge", "age", "int"),
    *(Question(f"Depuis la rentrée, combien de fois as-tu {_ITEM_WORDING[item]} ?", item, "frequency")
      for item in CV_ITEMS),
    *(Question(f"Où cela s'est-il passé ? [{name}]", platform, "yes_no")
      for platform, name in _PLATFORM_NAMES.items()),
    Question("Connaissais-tu la ou les personnes responsables ?", "author_known", "yes_no"),
    Question("Étaient-elles de ton établissement ?", "author_same_school", "yes_no"),
    Question("En as-tu parlé ? [À un parent]", "told_parent", "yes_no"),
    Question("En as-tu parlé ? [À un(e) ami(e)]", "told_friend", "yes_no"),
    Question("En as-tu parlé ? [À un adulte de l'établissement]", "told_staff", "yes_no"),
    Question("En as-tu parlé ? [À personne]", "told_nobody", "yes_no"),
    Question("As-tu signalé les faits à la plateforme ?", "reported_platform", "yes_no"),
    Question("As-tu manqué l'école à cause de ce qui s'est passé en ligne ?", "absence_because", "yes_no"),
    Question("À quel âge as-tu eu ton premier smartphone ?", "first_smartphone_age", "int"),
    Question("Avais-tu un compte sur un réseau social avant 13 ans ?", "social_media_before_13", "yes_no"),
    Question("Combien d'heures par jour passes-tu sur les écrans un jour de semaine ?", "screen_time_hours", "float"),
    Question("As-tu été harcelé(e) dans ton établissement (en dehors d'Internet) ?", "bullied_in_person", "yes_no"),
    Question("As-tu toi-même participé à des moqueries ou attaques en ligne ?", "perpetrator", "yes_no"),
    Question("As-tu été témoin de cyberviolences ?", "witness", "yes_no"),
    Question("Score de bien-être OMS-5 (0-25)", "who5_score", "int"),
    Question("As-tu du mal à dormir ?", "sleep_problems", "yes_no"),
    Question("Te sens-tu en insécurité à l'école ou en ligne ?", "feels_unsafe", "yes_no"),
    Question("As-tu eu des idées de te faire du mal ?", "self_harm_ideation", "yes_no"),
    Question("Connais-tu le 3018 ?", "knows_helpline", "yes_no"),
    Question("As-tu participé à une séance de prévention cette année (pHARe, atelier) ?",
             "prevention_session", "yes_no"),
    Question(FRANCE_FREE_TEXT, None, "text"),
)

QUEBEC_QUESTIONS: tuple[Question, ...] = (
    Question("Numéro de fiche", None, "meta"),
    Question("Horodatage", None, "meta"),
    Question("Adresse IP", None, "meta"),
    Question("Courriel", None, "meta"),
    Question("Code d'organisme", "school_id", "text"),
    # Answers "06 - Montréal": the manifest's value map is built from the frame's regions.
    Question("Région administrative", "region_qc", "category", None),
    Question("Strate", "stratum", "text"),
    Question("Pondération", "design_weight", "float"),
    Question("Nombre d'organismes de la strate", "fpc", "int"),
    Question("Effectif de l'organisme", "fpc2", "int"),
    Question("Niveau scolaire", "level", "category",
             {f"SEC{i}": f"Secondaire {i}" for i in range(1, 6)}),
    Question("Sexe", "sex", "category", {"F": "Fille", "M": "Garçon", "X": "Autre / je préfère ne pas répondre"}),
    Question("Âge (années)", "age", "int"),
    Question("Âge au premier cellulaire intelligent", "first_smartphone_age", "int"),
    Question("Compte sur un réseau social avant 13 ans", "social_media_before_13", "yes_no"),
    Question("Heures d'écran par jour (jour de semaine)", "screen_time_hours", "float"),
    Question("Intimidé(e) à l'école (hors Internet)", "bullied_in_person", "yes_no"),
    *(Question(f"Au cours des 12 derniers mois, as-tu {_ITEM_WORDING[item]} ?", item, "frequency")
      for item in CV_ITEMS),
    *(Question(f"Plateforme - {name}", platform, "yes_no") for platform, name in _PLATFORM_NAMES.items()),
    Question("Auteur connu", "author_known", "yes_no"),
    Question("Auteur de la même école", "author_same_school", "yes_no"),
    Question("Absent(e) de l'école à cause de cela", "absence_because", "yes_no"),
    Question("En a parlé - parent", "told_parent", "yes_no"),
    Question("En a parlé - ami(e)", "told_friend", "yes_no"),
    Question("En a parlé - adulte de l'école", "told_staff", "yes_no"),
    Question("En a parlé - personne", "told_nobody", "yes_no"),
    Question("Signalé à la plateforme", "reported_platform", "yes_no"),
    Question("A participé à de la cyberintimidation", "perpetrator", "yes_no"),
    Question("Témoin de cyberintimidation", "witness", "yes_no"),
    Question("Indice de bien-être OMS-5", "who5_score", "int"),
    Question("Difficultés de sommeil", "sleep_problems", "yes_no"),
    Question("Ne se sent pas en sécurité", "feels_unsafe", "yes_no"),
    Question("Idées d'automutilation", "self_harm_ideation", "yes_no"),
    Question("Connaît Tel-jeunes ou Jeunesse, J'écoute", "knows_helpline", "yes_no"),
    Question("Atelier de prévention cette année", "prevention_session", "yes_no"),
    Question(QUEBEC_FREE_TEXT, None, "text"),
)

# Direct identifiers exported by the tools (dropped at staging).
FRANCE_IDENTIFIERS = ("Adresse IP",)
QUEBEC_IDENTIFIERS = ("Adresse IP", "Courriel")


def questions_for(territory: str) -> tuple[Question, ...]:
    return FRANCE_QUESTIONS if territory.startswith("FR") else QUEBEC_QUESTIONS


def region_label(code: str, name: str) -> str:
    """Québec region as the tool shows it, e.g. ``06 - Montréal``."""
    return f"{code} - {name}"
