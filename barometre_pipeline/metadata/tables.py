"""The description of every published table: one place for columns, codes, keys and rules.

``INDICATORS`` is export contract v1 (``publish.contract`` reads its columns); ``EFFECTS``,
``COMPARISONS`` and ``SOURCES`` are the datasets published beside it. The pandera schemas
(``metadata.pandera_schemas``), the GX plausibility suite (``validation.expectations``) and the
data dictionary's column docs (:func:`dictionary_columns`) are generated from these descriptions.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from barometre_pipeline.metadata.model import Column, PlausibilityBand, RowRule, TableDescription
from barometre_pipeline.vocabulary import (
    FAMILY_PILOT,
    PUBLISHED_SEX_CODES,
    SOURCE_FAMILIES,
    TOTAL,
)

_TYPES = {"string": pa.string(), "double": pa.float64(), "int64": pa.int64(), "bool": pa.bool_()}

# Plausibility band for the share of victims of at least one cyberviolence, from the published
# figures in the public sources: HBSC 2022 cyberbullied 15 % (past months) is a low anchor,
# Québec 12-17 (ISQ 2022) 31 % and Institut Montaigne 11-20 (2020) 56 % high ones. A pilot wave
# outside 3 %-65 % is far more likely a coding error (reversed scale, wrong value map) than news.
CV_ANY_PLAUSIBLE = (0.03, 0.65)


def _c(name: str, type_: pa.DataType, fr: str, en: str, **kwargs) -> Column:
    return Column(name, type_, fr, en, **kwargs)


def _d(name: str, type_: str, fr: str, en: str) -> Column:
    return Column(name, _TYPES[type_], fr, en)


def _proportion(df: pd.DataFrame) -> pd.Series:
    return df["unit"] == "proportion"


def _in_0_1(df: pd.DataFrame, column: str) -> pd.Series:
    return ~_proportion(df) | df[column].isna() | df[column].between(0, 1)


INDICATORS = TableDescription(
    name="indicators",
    description_fr="Indicateurs : une ligne par indicateur × source × période × territoire × "
    "cellule de ventilation (contrat d'export v1).",
    description_en="Indicators: one row per indicator × source × period × territory × breakdown "
    "cell (export contract v1).",
    columns=(
    _c("indicator_code", pa.string(), "Code de l'indicateur (catalogue), ex. CV_ANY", "Indicator code (catalogue), e.g. CV_ANY", required=True, nullable=False),
    _c("indicator_label_fr", pa.string(), "Libellé de l'indicateur en français", "Indicator label in French", required=True, nullable=False),
    _c("indicator_label_en", pa.string(), "Libellé de l'indicateur en anglais", "Indicator label in English"),
    _c("source_id", pa.string(), "Identifiant de la source (manifeste)", "Source identifier (manifest id)", required=True, nullable=False),
    _c("source_family", pa.string(), "Famille de source : pilot, public ou scientific", "Source family: pilot, public or scientific", required=True, nullable=False, allowed=SOURCE_FAMILIES),
    _c("territory", pa.string(), "Territoire (FR-OT, CA-QC, FR, CA, US, INT)", "Territory (FR-OT, CA-QC, FR, CA, US, INT)", required=True, nullable=False),
    _c("period", pa.string(), "Période de référence (vague ou année)", "Reference period (wave or year)", required=True, nullable=False),
    _c("sex", pa.string(), "Sexe : F, M, X (autre / ne se prononce pas), _U (non renseigné) ou _T (total)", "Sex: F, M, X (other / prefer not to say), _U (not answered) or _T (total)", dimension=True, nullable=False, allowed=PUBLISHED_SEX_CODES),
    _c("level", pa.string(), "Niveau scolaire (6E…TLE, SEC1…SEC5) ou _T", "School level (6E…TLE, SEC1…SEC5) or _T", dimension=True, nullable=False),
    _c("age_band", pa.string(), "Tranche d'âge (11-12, 13-14, 15-16, 17+) ou _T", "Age band (11-12, 13-14, 15-16, 17+) or _T", dimension=True, nullable=False),
    _c("grade_group", pa.string(), "Groupe de niveaux comparable (COLLEGE, LYCEE) ou _T", "Comparable grade group (COLLEGE, LYCEE) or _T", dimension=True, nullable=False),
    _c("departement", pa.string(), "Département (code à deux chiffres) ou _T", "Département (two-digit code) or _T", dimension=True, nullable=False),
    _c("sector", pa.string(), "Secteur de l'établissement (PU public, PR privé) ou _T", "School sector (PU public, PR private) or _T", dimension=True, nullable=False),
    _c("priority_education", pa.string(), "Éducation prioritaire (HORS, REP, REP+) ou _T", "Priority education network (HORS, REP, REP+) or _T", dimension=True, nullable=False),
    _c("breakdown", pa.string(), "Ventilation de la ligne, ex. « sex×level » ; _T pour l'ensemble", "Breakdown set of the row, e.g. \"sex×level\"; _T for the whole population", nullable=False),
    _c("estimate", pa.float64(), "Estimation (proportion entre 0 et 1 sauf autre unité) ; vide si non publiée", "Estimate (proportion in 0..1 unless another unit); null when suppressed", required=True),
    _c("se", pa.float64(), "Erreur type de l'estimation", "Standard error of the estimate"),
    _c("ci_low", pa.float64(), "Borne basse de l'intervalle de confiance à 95 %", "Lower bound of the 95 % confidence interval"),
    _c("ci_high", pa.float64(), "Borne haute de l'intervalle de confiance à 95 %", "Upper bound of the 95 % confidence interval"),
    _c("ci_method", pa.string(), "Méthode de l'intervalle (ex. logit, korn-graubard, publié)", "Interval method (e.g. logit, korn-graubard, published)"),
    _c("df", pa.float64(), "Degrés de liberté du plan de sondage", "Design degrees of freedom"),
    _c("n_unweighted", pa.int64(), "Effectif non pondéré de la cellule (dénominateur)", "Unweighted cell count (denominator)"),
    _c("n_effective", pa.float64(), "Effectif efficace (n / effet de plan)", "Effective sample size (n / design effect)"),
    _c("deff", pa.float64(), "Effet de plan (variance du plan / variance aléatoire simple)", "Design effect (design variance / simple random sampling variance)"),
    _c("unit", pa.string(), "Unité : proportion, odds_ratio, count, score…", "Unit: proportion, odds_ratio, count, score…", required=True, nullable=False),
    _c("reliability", pa.string(), "Fiabilité : reliable, caution, unreliable, suppressed, not_assessed", "Reliability: reliable, caution, unreliable, suppressed, not_assessed"),
    _c("suppressed", pa.bool_(), "Vrai si l'estimation n'est pas publiée (règles de diffusion)", "True when the estimate is withheld (publication rules)", required=True, nullable=False),
    _c("suppression_reason", pa.string(), "Motif(s) de non-publication séparés par « ; » (voir les codes)", "Reason(s) for suppression separated by \";\" (see codes)"),
    _c("comparability_group", pa.string(), "Groupe de comparabilité : seules les lignes d'un même groupe se comparent", "Comparability group: only rows of the same group are comparable"),
    _c("quality_flags", pa.string(), "Alertes de qualité séparées par « | » (ex. SOURCE SECONDAIRE)", "Quality flags separated by \"|\" (e.g. SOURCE SECONDAIRE)"),
    _c("provenance", pa.string(), "Provenance (JSON) : source, manifeste, empreintes sha256 des fichiers, version du code, run Dagster", "Provenance (JSON): source, manifest, sha256 of input files, code version, Dagster run id", required=True, nullable=False),
    ),
    keys=("indicator_code", "source_id", "period", "territory", "breakdown", "sex", "level",
          "age_band", "grade_group", "departement", "sector", "priority_education"),
    rules=(
        RowRule("proportions_in_0_1", "proportions (estimate and bounds) lie in 0..1",
                lambda df: _in_0_1(df, "estimate") & _in_0_1(df, "ci_low") & _in_0_1(df, "ci_high")),
        RowRule("ci_low_below_estimate", "the lower bound is not above the estimate",
                lambda df: df["ci_low"].isna() | df["estimate"].isna()
                | (df["ci_low"] <= df["estimate"] + 1e-12)),
        RowRule("ci_high_above_estimate", "the upper bound is not below the estimate",
                lambda df: df["ci_high"].isna() | df["estimate"].isna()
                | (df["ci_high"] >= df["estimate"] - 1e-12)),
        RowRule("suppressed_rows_have_no_estimate",
                "a withheld row has no estimate, standard error or bounds",
                lambda df: ~df["suppressed"].fillna(False).astype(bool)
                | df[["estimate", "se", "ci_low", "ci_high"]].isna().all(axis=1)),
        RowRule("comparability_group_given", "every row says what it can be compared with",
                lambda df: df["comparability_group"].notna()),
    ),
    plausibility=(
        PlausibilityBand(
            "pilot_cv_any_plausible",
            "pilot CV_ANY (whole population) inside the band drawn from the public figures",
            lambda df: (df["source_family"] == FAMILY_PILOT) & (df["indicator_code"] == "CV_ANY")
            & (df["breakdown"] == TOTAL) & df["estimate"].notna(),
            "estimate", CV_ANY_PLAUSIBLE),
    ),
)

WITHHELD_ON_SUPPRESSION = ("estimate", "se", "ci_low", "ci_high")

EFFECTS = TableDescription(
    name="effects",
    description_fr="Effets : associations du pilote et effets de la littérature.",
    description_en="Effects: pilot associations and literature effects.",
    columns=(
    _d("effect_code", "string", "Code de l'effet (PILOT_OR_…, PILOT_DIFF_…, SCI_…)", "Effect code"),
    _d("label_fr", "string", "Libellé en français", "French label"),
    _d("label_en", "string", "Libellé en anglais", "English label"),
    _d("source_id", "string", "Source (manifeste)", "Source (manifest id)"),
    _d("source_family", "string", "pilot, public ou scientific", "pilot, public or scientific"),
    _d("territory", "string", "Territoire", "Territory"),
    _d("period", "string", "Période (ou 2025/2026 pour un écart entre vagues)", "Period (or 2025/2026 for a wave difference)"),
    _d("exposure", "string", "Exposition ou facteur (ex. SOCIAL_MEDIA_BEFORE_13, CV_ANY, wave)", "Exposure or factor"),
    _d("outcome", "string", "Conséquence ou indicateur étudié (ex. CV_ANY, WHO5_LOW)", "Outcome"),
    _d("measure", "string", "adjusted_odds_ratio, odds_ratio, difference, difference_in_differences, correlation", "Kind of effect"),
    _d("estimate", "double", "Valeur de l'effet (rapport de cotes, ou écart sur l'échelle 0-1)", "Effect value (odds ratio, or difference on the 0-1 scale)"),
    _d("se", "double", "Erreur type (échelle log pour les rapports de cotes)", "Standard error (log scale for odds ratios)"),
    _d("ci_low", "double", "Borne basse de l'IC à 95 %", "Lower 95 % bound"),
    _d("ci_high", "double", "Borne haute de l'IC à 95 %", "Upper 95 % bound"),
    _d("p_value", "double", "Valeur p du test", "Test p-value"),
    _d("df", "double", "Degrés de liberté du plan", "Design degrees of freedom"),
    _d("n_unweighted", "int64", "Répondants utilisés", "Respondents used"),
    _d("adjusted_for", "string", "Variables d'ajustement du modèle", "Model adjustment variables"),
    _d("reference_group", "string", "Groupe de référence", "Reference group"),
    _d("comparability_group", "string", "Groupe de comparabilité", "Comparability group"),
    _d("counterpart", "string", "Effets de la littérature à lire en regard (codes séparés par ;)", "Literature effects to read alongside"),
    _d("interpretation_fr", "string", "Lecture en une phrase (association, pas causalité)", "One-sentence reading (association, not causation)"),
    _d("quality_flags", "string", "Alertes de qualité séparées par |", "Quality flags separated by |"),
    _d("provenance", "string", "Provenance (JSON)", "Provenance (JSON)"),
    _d("cell", "string", "Cellule (_T, ou ex. sex=F;level=6E)", "Cell (_T or e.g. sex=F;level=6E)"),
    _d("significant", "bool", "Significatif au seuil de 5 % (q de Benjamini-Hochberg quand il existe)", "Significant at 5 % (Benjamini-Hochberg q-value where there is one)"),
    _d("suppressed", "bool", "Non publié (règles de diffusion)", "Withheld (publication rules)"),
    _d("q_value", "double", "Valeur q de Benjamini-Hochberg dans la famille de tests (évolutions, facteurs de risque, retentissements, prévention)", "Benjamini-Hochberg q-value within the test family (wave differences, risk factors, impacts, prevention)"),
    ),
    keys=("effect_code", "source_id", "territory", "period", "cell"),
)

COMPARISONS = TableDescription(
    name="comparisons",
    description_fr="Comparaisons : le pilote face aux séries publiques du même indicateur.",
    description_en="Comparisons: the pilot against the public series of the same indicator.",
    columns=(
    _d("indicator_code", "string", "Indicateur comparé", "Indicator compared"),
    _d("territory_pilot", "string", "Territoire du pilote", "Pilot territory"),
    _d("period_pilot", "string", "Vague du pilote", "Pilot wave"),
    _d("source_id_pilot", "string", "Source pilote", "Pilot source"),
    _d("estimate_pilot", "double", "Estimation du pilote", "Pilot estimate"),
    _d("ci_low_pilot", "double", "IC 95 % bas (pilote)", "Pilot lower 95 % bound"),
    _d("ci_high_pilot", "double", "IC 95 % haut (pilote)", "Pilot upper 95 % bound"),
    _d("source_id_reference", "string", "Source publiée de référence", "Published reference source"),
    _d("territory_reference", "string", "Territoire de la référence", "Reference territory"),
    _d("period_reference", "string", "Période de la référence", "Reference period"),
    _d("estimate_reference", "double", "Valeur publiée", "Published value"),
    _d("ci_low_reference", "double", "IC bas publié", "Published lower bound"),
    _d("ci_high_reference", "double", "IC haut publié", "Published upper bound"),
    _d("sex", "string", "Sexe (F, M, X, _T)", "Sex"),
    _d("grade_group", "string", "Groupe de niveaux (COLLEGE, LYCEE, _T)", "Grade group"),
    _d("comparability_group_pilot", "string", "Définition du pilote", "Pilot definition group"),
    _d("comparability_group_reference", "string", "Définition de la référence", "Reference definition group"),
    _d("same_definition", "bool", "Même définition", "Same definition"),
    _d("difference", "double", "Écart pilote − référence", "Pilot minus reference"),
    _d("se_difference", "double", "Erreur type de l'écart (si calculable)", "Standard error of the difference"),
    _d("verdict", "string", "higher, lower, not_different, not_comparable, indicative", "Verdict"),
    _d("verdict_fr", "string", "Verdict en français", "Verdict in French"),
    _d("reason", "string", "Justification (définitions, périodes, territoires)", "Why"),
    _d("territory_relation", "string", "Relation entre territoires", "Territory relation"),
    _d("p_value", "double", "Valeur p du test de l'écart", "p-value of the difference"),
    _d("test", "string", "Test utilisé", "Test used"),
    _d("q_value", "double", "Valeur q de Benjamini-Hochberg (famille : toutes les comparaisons testées)", "Benjamini-Hochberg q-value (family: every tested comparison)"),
    _d("reference_uncertainty", "string", "Incertitude de la référence : published_interval, binomial_with_deff, unknown", "Reference uncertainty: published_interval, binomial_with_deff, unknown"),
    _d("provenance", "string", "Provenance (JSON) des deux sources comparées", "Provenance (JSON) of both sources compared"),
    ),
    keys=("indicator_code", "territory_pilot", "period_pilot", "sex", "grade_group",
          "source_id_reference", "period_reference"),
)

SOURCES = TableDescription(
    name="sources",
    description_fr="Sources : provenance, licence, fichiers lus, lignes, état de mise à jour.",
    description_en="Sources: provenance, licence, files read, rows, update status.",
    columns=(
    _d("source_id", "string", "Identifiant de la source", "Source id"),
    _d("source_family", "string", "pilot, public, scientific", "Family"),
    _d("kind", "string", "microdata, aggregates, effects", "Kind"),
    _d("publisher", "string", "Éditeur", "Publisher"),
    _d("title", "string", "Titre", "Title"),
    _d("licence", "string", "Licence", "Licence"),
    _d("url", "string", "Adresse", "URL"),
    _d("period", "string", "Période", "Period"),
    _d("territory", "string", "Territoire", "Territory"),
    _d("synthetic", "bool", "Données synthétiques", "Synthetic data"),
    _d("quality_flags", "string", "Alertes de qualité", "Quality flags"),
    _d("manifest_file", "string", "Manifeste", "Manifest file"),
    _d("input_files", "string", "Fichiers lus et empreintes sha256 (JSON)", "Input files and sha256 (JSON)"),
    _d("readable", "bool", "Fichiers lisibles", "Files readable"),
    _d("read_error", "string", "Erreur de lecture", "Read error"),
    _d("input_rows", "int64", "Lignes lues", "Input rows"),
    _d("staged_rows", "int64", "Lignes retenues", "Staged rows"),
    _d("rejected_rows", "int64", "Lignes rejetées (avec motif, en quarantaine)", "Rejected rows (quarantined with reason)"),
    _d("update_status", "string", "updated, ou not_updated si les derniers fichiers n'ont pu être lus (chiffres de la dernière lecture réussie)", "updated, or not_updated when the latest files could not be read (figures from the last good read)"),
    _d("update_status_fr", "string", "« à jour » ou « non mis à jour »", "\"à jour\" (up to date) or \"non mis à jour\" (not updated)"),
    ),
    keys=("source_id",),
)

PUBLISHED_TABLES: dict[str, TableDescription] = {
    table.name: table for table in (INDICATORS, EFFECTS, COMPARISONS, SOURCES)
}


def dictionary_columns() -> dict[str, list[dict[str, str]]]:
    """Column docs of every published table, for the data dictionary: name -> [{name, type,
    description_fr, description_en}]."""
    return {name: table.column_docs() for name, table in PUBLISHED_TABLES.items()}
