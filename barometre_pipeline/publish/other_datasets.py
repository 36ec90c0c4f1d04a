"""Column documentation of the datasets published beside `indicators` (effects, comparisons,
sources), for the data dictionary. Kept as data next to the contract of `indicators`."""

from __future__ import annotations

_EFFECTS = [
    ("effect_code", "string", "Code de l'effet (PILOT_OR_…, PILOT_DIFF_…, SCI_…)", "Effect code"),
    ("label_fr", "string", "Libellé en français", "French label"),
    ("label_en", "string", "Libellé en anglais", "English label"),
    ("source_id", "string", "Source (manifeste)", "Source (manifest id)"),
    ("source_family", "string", "pilot, public ou scientific", "pilot, public or scientific"),
    ("territory", "string", "Territoire", "Territory"),
    ("period", "string", "Période (ou 2025/2026 pour un écart entre vagues)", "Period (or 2025/2026 for a wave difference)"),
    ("exposure", "string", "Exposition ou facteur (ex. SOCIAL_MEDIA_BEFORE_13, CV_ANY, wave)", "Exposure or factor"),
    ("outcome", "string", "Conséquence ou indicateur étudié (ex. CV_ANY, WHO5_LOW)", "Outcome"),
    ("measure", "string", "adjusted_odds_ratio, odds_ratio, difference, difference_in_differences, correlation", "Kind of effect"),
    ("estimate", "double", "Valeur de l'effet (rapport de cotes, ou écart sur l'échelle 0-1)", "Effect value (odds ratio, or difference on the 0-1 scale)"),
    ("se", "double", "Erreur type (échelle log pour les rapports de cotes)", "Standard error (log scale for odds ratios)"),
    ("ci_low", "double", "Borne basse de l'IC à 95 %", "Lower 95 % bound"),
    ("ci_high", "double", "Borne haute de l'IC à 95 %", "Upper 95 % bound"),
    ("p_value", "double", "Valeur p du test", "Test p-value"),
    ("df", "double", "Degrés de liberté du plan", "Design degrees of freedom"),
    ("n_unweighted", "int64", "Répondants utilisés", "Respondents used"),
    ("adjusted_for", "string", "Variables d'ajustement du modèle", "Model adjustment variables"),
    ("reference_group", "string", "Groupe de référence", "Reference group"),
    ("comparability_group", "string", "Groupe de comparabilité", "Comparability group"),
    ("counterpart", "string", "Effets de la littérature à lire en regard (codes séparés par ;)", "Literature effects to read alongside"),
    ("interpretation_fr", "string", "Lecture en une phrase (association, pas causalité)", "One-sentence reading (association, not causation)"),
    ("quality_flags", "string", "Alertes de qualité séparées par |", "Quality flags separated by |"),
    ("provenance", "string", "Provenance (JSON)", "Provenance (JSON)"),
    ("cell", "string", "Cellule (_T, ou ex. sex=F;level=6E)", "Cell (_T or e.g. sex=F;level=6E)"),
    ("significant", "bool", "Significatif au seuil de 5 %", "Significant at 5 %"),
    ("suppressed", "bool", "Non publié (règles de diffusion)", "Withheld (publication rules)"),
]

_COMPARISONS = [
    ("indicator_code", "string", "Indicateur comparé", "Indicator compared"),
    ("territory_pilot", "string", "Territoire du pilote", "Pilot territory"),
    ("period_pilot", "string", "Vague du pilote", "Pilot wave"),
    ("source_id_pilot", "string", "Source pilote", "Pilot source"),
    ("estimate_pilot", "double", "Estimation du pilote", "Pilot estimate"),
    ("ci_low_pilot", "double", "IC 95 % bas (pilote)", "Pilot lower 95 % bound"),
    ("ci_high_pilot", "double", "IC 95 % haut (pilote)", "Pilot upper 95 % bound"),
    ("source_id_reference", "string", "Source publiée de référence", "Published reference source"),
    ("territory_reference", "string", "Territoire de la référence", "Reference territory"),
    ("period_reference", "string", "Période de la référence", "Reference period"),
    ("estimate_reference", "double", "Valeur publiée", "Published value"),
    ("ci_low_reference", "double", "IC bas publié", "Published lower bound"),
    ("ci_high_reference", "double", "IC haut publié", "Published upper bound"),
    ("sex", "string", "Sexe (F, M, X, _T)", "Sex"),
    ("grade_group", "string", "Groupe de niveaux (COLLEGE, LYCEE, _T)", "Grade group"),
    ("comparability_group_pilot", "string", "Définition du pilote", "Pilot definition group"),
    ("comparability_group_reference", "string", "Définition de la référence", "Reference definition group"),
    ("same_definition", "bool", "Même définition", "Same definition"),
    ("difference", "double", "Écart pilote − référence", "Pilot minus reference"),
    ("se_difference", "double", "Erreur type de l'écart (si calculable)", "Standard error of the difference"),
    ("verdict", "string", "higher, lower, not_different, not_comparable", "Verdict"),
    ("verdict_fr", "string", "Verdict en français", "Verdict in French"),
    ("reason", "string", "Justification (définitions, périodes, territoires)", "Why"),
    ("territory_relation", "string", "Relation entre territoires", "Territory relation"),
    ("p_value", "double", "Valeur p du test de l'écart", "p-value of the difference"),
    ("test", "string", "Test utilisé", "Test used"),
    ("provenance", "string", "Provenance (JSON) des deux sources comparées", "Provenance (JSON) of both sources compared"),
]

_SOURCES = [
    ("source_id", "string", "Identifiant de la source", "Source id"),
    ("source_family", "string", "pilot, public, scientific", "Family"),
    ("kind", "string", "microdata, aggregates, effects", "Kind"),
    ("publisher", "string", "Éditeur", "Publisher"),
    ("title", "string", "Titre", "Title"),
    ("licence", "string", "Licence", "Licence"),
    ("url", "string", "Adresse", "URL"),
    ("period", "string", "Période", "Period"),
    ("territory", "string", "Territoire", "Territory"),
    ("synthetic", "bool", "Données synthétiques", "Synthetic data"),
    ("quality_flags", "string", "Alertes de qualité", "Quality flags"),
    ("manifest_file", "string", "Manifeste", "Manifest file"),
    ("input_files", "string", "Fichiers lus et empreintes sha256 (JSON)", "Input files and sha256 (JSON)"),
    ("readable", "bool", "Fichiers lisibles", "Files readable"),
    ("read_error", "string", "Erreur de lecture", "Read error"),
    ("input_rows", "int64", "Lignes lues", "Input rows"),
    ("staged_rows", "int64", "Lignes retenues", "Staged rows"),
    ("rejected_rows", "int64", "Lignes rejetées (avec motif, en quarantaine)", "Rejected rows (quarantined with reason)"),
]


def _docs(columns: list[tuple[str, str, str, str]]) -> list[dict[str, str]]:
    return [{"name": n, "type": t, "description_fr": fr, "description_en": en}
            for n, t, fr, en in columns]


OTHER_DATASETS: dict[str, list[dict[str, str]]] = {
    "effects": _docs(_EFFECTS),
    "comparisons": _docs(_COMPARISONS),
    "sources": _docs(_SOURCES),
}
