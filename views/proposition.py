"""What a comparison of two states of the facilitators' network says (fiche 3, § 3b and § 6c), once for the
Scénarios page, the « Proposition » screen of the meeting, the deck, the PDF and the workbooks.

Built on ``geo.comparison.Comparison``; no Streamlit, no document library.
"""

from __future__ import annotations

import pandas as pd

from geo.comparison import FIGURES, KEY_FIGURES
from geo.suggest import CRITERIA
from views import fmt
from views.text import agree

TITLE = "Proposition d'évolution du réseau"
STRUCTURE_LABELS = {
    "id_structure": "Identifiant", "nom": "Structure", "statut": "Évolution",
    "communes_ajoutees": "Communes ajoutées", "population_ajoutee": "Population ajoutée",
    "communes_retirees": "Communes retirées", "population_retiree": "Population retirée",
    "nb_facilitateurs_avant": "Personnes avant", "nb_facilitateurs_apres": "Personnes après",
    "etp_avant": "ETP avant", "etp_apres": "ETP après",
    "fin_collectivites_avant": "Financement collectivités avant (%)",
    "fin_collectivites_apres": "Financement collectivités après (%)",
    "fin_fse_avant": "Financement FSE avant (%)", "fin_fse_apres": "Financement FSE après (%)",
    "fin_etat_avant": "Financement État avant (%)", "fin_etat_apres": "Financement État après (%)",
    "fin_prive_avant": "Financement privé avant (%)", "fin_prive_apres": "Financement privé après (%)",
    "fin_autres_avant": "Autres financements avant (%)", "fin_autres_apres": "Autres financements après (%)",
    "population_couverte_avant": "Population couverte avant", "population_couverte_apres": "Population couverte après",
    "etp_pour_100k_hab_avant": "ETP pour 100 000 hab. avant", "etp_pour_100k_hab_apres": "ETP pour 100 000 hab. après",
    "etp_pour_10k_hab_qpv_avant": "ETP pour 10 000 hab. de QPV avant",
    "etp_pour_10k_hab_qpv_apres": "ETP pour 10 000 hab. de QPV après",
    "ze_dominante_avant": "Zone d'emploi dominante avant", "ze_dominante_apres": "Zone d'emploi dominante après",
    "nb_ze_avant": "Zones d'emploi touchées avant", "nb_ze_apres": "Zones d'emploi touchées après",
}
STRUCTURE_KINDS = {
    **dict.fromkeys(["communes_ajoutees", "population_ajoutee", "communes_retirees", "population_retiree",
                     "nb_facilitateurs_avant", "nb_facilitateurs_apres", "population_couverte_avant",
                     "population_couverte_apres", "nb_ze_avant", "nb_ze_apres"], "int"),
    **dict.fromkeys(["etp_avant", "etp_apres", "etp_pour_100k_hab_avant", "etp_pour_100k_hab_apres",
                     "etp_pour_10k_hab_qpv_avant", "etp_pour_10k_hab_qpv_apres"], "dec2"),
    **dict.fromkeys([f"fin_{s}_{w}" for s in ("collectivites", "fse", "etat", "prive", "autres")
                     for w in ("avant", "apres")], "dec1"),
}
ZONE_LABELS = {"code": "Code", "nom": "Zone d'emploi", "population": "Population (région)",
               "part_couverte_avant": "Part couverte avant", "part_couverte_apres": "Part couverte après",
               "nb_structures_avant": "Structures avant", "nb_structures_apres": "Structures après"}
ZONE_KINDS = {"part_couverte_avant": "pct", "part_couverte_apres": "pct", "population": "int",
              "nb_structures_avant": "int", "nb_structures_apres": "int"}
COMMUNE_LABELS = {"code_insee": "Code commune", "nom": "Commune", "population": "Population",
                  "changement_lib": "Changement", "structures_avant": "Structures avant",
                  "structures_apres": "Structures après"}
QPV_LABELS = {"code_qp": "Code QPV", "nom_qp": "QPV", "population": "Population", "statut_avant": "Avant",
              "statut_apres": "Après"}
MARKET_LABELS = {"id_marche": "Marché", "couverture_avant": "Couverture avant", "couverture_apres": "Couverture après",
                 "structure_apres": "Structure qui le couvre seule (après)"}
OVERLAP_LABELS = {"id_a": "Structure A", "id_b": "Structure B", "communes_partagees_avant": "Communes partagées avant",
                  "communes_partagees_apres": "Communes partagées après",
                  "population_partagee_avant": "Population partagée avant",
                  "population_partagee_apres": "Population partagée après"}
SUGGESTION_LABELS = {"epci_nom": "EPCI", "epci_siren": "SIREN de l'EPCI", "nom": "Structure",
                     "id_structure": "Identifiant", "communes_gagnees": "Communes gagnées",
                     "population_gagnee": "Population gagnée", "qpv_ameliores": "QPV mieux couverts",
                     "marches_couverts": "Marchés couverts seuls",
                     "etp": "ETP de la structure", "etp_pour_100k_hab_avant": "Charge avant (ETP / 100 000 hab.)",
                     "etp_pour_100k_hab_apres": "Charge après (ETP / 100 000 hab.)"}
SUGGESTION_KINDS = {"communes_gagnees": "int", "population_gagnee": "int", "qpv_ameliores": "int",
                    "marches_couverts": "int", "etp": "dec2", "etp_pour_100k_hab_avant": "dec2",
                    "etp_pour_100k_hab_apres": "dec2"}
# the editing page's four figures: the covered population in inhabitants (three small communes move no percentage)
PAGE_FIGURES = ("population.couverte", "communes.non_couvertes", "qpv.non_couverts", "marches.sans_structure_unique")
KEY_LABELS = {"population.part_couverte": "Population couverte", "population.couverte": "Population couverte", "communes.non_couvertes": "Zones blanches (communes)",
              "qpv.non_couverts": "QPV non couverts",
              "marches.sans_structure_unique": "Marchés sans structure unique"}
CLASS_WORDS = {"couvert": "Couvert", "multi_facilitateurs": "Plusieurs facilitateurs",
               "partiellement_couvert": "Partiellement couvert", "hors_couverture": "Hors couverture",
               "non_localisable": "Non localisable"}
STATUS_WORDS = {"couvert": "Couvert", "partiel": "Partiellement couvert", "non couvert": "Non couvert"}
CHANGE_COLOURS = {"gagne": "#009E73", "perd": "#B2182B", "multi": "#CC79A7", "unique": "#56B4E9",
                  "change": "#E69F00"}
CHANGE_LEGEND = {"gagne": "Commune qui devient couverte", "perd": "Commune qui n'est plus couverte",
                 "multi": "Commune qui devient couverte par plusieurs structures",
                 "unique": "Commune qui n'est plus couverte que par une structure",
                 "change": "Commune qui change de structure"}


def value_text(value, kind: str) -> str:
    """A figure as written on a screen: ``12 345``, ``6,78``, ``87 %``; « – » when missing."""
    if kind == "pct":
        return fmt.percent(value, 1)
    if kind == "dec2":
        return fmt.decimal(value, 2)
    return fmt.integer(value)


def gap_text(value, kind: str) -> str:
    """A difference, signed: ``+1 234``, ``−0,25``, ``+5,4 pt``; « = » when nothing changes."""
    if value is None or value != value:
        return "–"
    if abs(float(value)) < 1e-12:
        return "="
    if kind == "pct":
        return fmt.points(value)
    if kind == "dec2":
        return fmt.decimal(value, 2, plus=True)
    return fmt.integer(value, plus=True)


def figures_frame(comparison) -> pd.DataFrame:
    """Every figure, before and after, as text for a screen (the kinds make ``avant``/``apres`` readable)."""
    f = comparison.figures
    return pd.DataFrame({"Indicateur": f["indicateur"],
                         "Avant": [value_text(v, k) for v, k in zip(f["avant"], f["kind"])],
                         "Après": [value_text(v, k) for v, k in zip(f["apres"], f["kind"])],
                         "Écart": [gap_text(v, k) for v, k in zip(f["ecart"], f["kind"])]})


def states_sentence(comparison) -> str:
    """« Avant : version 2 – enquête 2017 · Après : scénario « … » »."""
    return f"Avant : {comparison.label_a} · Après : {comparison.label_b}"


def key_figures(comparison) -> list[tuple[str, str, str]]:
    """The four figures of the « Proposition » screen and slide: (value after, label, before → gap)."""
    labels = {key: label for label, key, _ in FIGURES}
    kinds = {key: kind for _, key, kind in FIGURES}
    words = {"population.part_couverte": "de la population couverte",
             "communes.non_couvertes": ("zone blanche", "zones blanches"),
             "qpv.non_couverts": ("QPV non couvert", "QPV non couverts"),
             "marches.sans_structure_unique": ("marché qu'aucune structure ne couvre seule",
                                               "marchés qu'aucune structure ne couvre seule")}
    out = []
    for key in KEY_FIGURES:
        before, after, gap = comparison.figure(key)
        kind = kinds[key]
        word = words.get(key, labels[key])
        label = agree(after, *word) if isinstance(word, tuple) else word
        change = "inchangé" if gap_text(gap, kind) == "=" else gap_text(gap, kind)
        out.append((value_text(after, kind), label, f"avant : {value_text(before, kind)} ({change})"))
    return out


def summary_sentence(comparison) -> str:
    """One sentence for the bilan (fiche 3, § 6c): structures created, deleted, changed; posts before and after."""
    st = comparison.structures
    n = {s: int((st["statut"] == s).sum()) for s in ("créée", "supprimée", "modifiée")}
    parts = [f"{n['créée']} {agree(n['créée'], 'structure créée', 'structures créées')}",
             f"{n['supprimée']} {agree(n['supprimée'], 'supprimée', 'supprimées')}",
             f"{n['modifiée']} {agree(n['modifiée'], 'modifiée', 'modifiées')}"]
    etp_a = pd.to_numeric(st["etp_avant"], errors="coerce").sum() if "etp_avant" in st else 0
    etp_b = pd.to_numeric(st["etp_apres"], errors="coerce").sum() if "etp_apres" in st else 0
    return (", ".join(parts) + f" ; ETP : {fmt.decimal(etp_a, 2)} avant, {fmt.decimal(etp_b, 2)} après "
            f"({fmt.decimal(etp_b - etp_a, 2, plus=True)}).")


def commune_frame(comparison) -> pd.DataFrame:
    return comparison.communes[["code_insee", "nom", "population", "changement_lib", "structures_avant",
                                "structures_apres"]]


def qpv_frame(comparison) -> pd.DataFrame:
    q = comparison.qpv
    return q.assign(statut_avant=q["statut_avant"].map(STATUS_WORDS), statut_apres=q["statut_apres"].map(STATUS_WORDS)
                    )[["code_qp", "nom_qp", "population", "statut_avant", "statut_apres"]]


def market_frame(comparison) -> pd.DataFrame:
    m = comparison.markets
    return m.assign(couverture_avant=m["couverture_avant"].map(CLASS_WORDS).fillna(m["couverture_avant"]),
                    couverture_apres=m["couverture_apres"].map(CLASS_WORDS).fillna(m["couverture_apres"])
                    )[["id_marche", "couverture_avant", "couverture_apres", "structure_apres"]]


def criterion_sentence(criterion: str) -> str:
    return f"Classement : {CRITERIA[criterion]}."
