"""Exports of the diagnosis: readable XLSX (one sheet per table, French headers) and French CSV."""

from __future__ import annotations

import pandas as pd

from data.formats.writers import csv_bytes, xlsx_bytes

LABELS = {
    "code_insee": "Code commune", "nom": "Nom", "dep": "Département", "epci_siren": "EPCI (SIREN)",
    "epci_nom": "EPCI", "ze2020": "Zone d'emploi", "ze2020_lib": "Nom de la zone d'emploi",
    "population": "Population", "nb_structures": "Nombre de structures", "couverte": "Couverte",
    "structures": "Structures", "code_qp": "Code QPV", "nom_qp": "Nom du QPV", "communes": "Communes",
    "statut": "Statut", "code": "Code", "part_couverte": "Part de la population couverte",
    "chevauche_region": "Déborde de la région", "nb_communes": "Nombre de communes",
    "communes_non_couvertes": "Communes non couvertes", "id_structure": "Identifiant",
    "type_structure": "Type", "code_commune": "Commune d'implantation", "nb_facilitateurs": "Personnes",
    "etp": "ETP", "population_couverte": "Population couverte", "etp_pour_100k_hab": "ETP pour 100 000 hab.",
    "nb_qpv": "QPV couverts", "population_qpv": "Population des QPV couverts",
    "etp_pour_10k_hab_qpv": "ETP pour 10 000 hab. de QPV", "ze_dominante": "Zone d'emploi dominante",
    "part_ze_dominante": "Part dans la zone dominante", "nb_ze": "Zones d'emploi touchées",
    "id_a": "Structure A", "id_b": "Structure B", "communes_partagees": "Communes partagées",
    "population_partagee": "Population partagée", "qpv_partages": "QPV partagés", "id_marche": "Identifiant",
    "avec_consideration_sociale": "Considération sociale", "couverture": "Couverture", "regional": "Régional",
    "nb_aires": "Aires touchées", "raison": "Raison", "structure": "Structure couvrante",
    "ligne": "Ligne", "type_territoire": "Type de territoire", "code_territoire": "Code",
    "objet": "Objet", "acheteur": "Acheteur", "type_acheteur": "Type d'acheteur", "montant_ht": "Montant HT (€)",
    "date": "Date", "lieu_type": "Type de lieu", "lieu_code": "Lieu", "heures_insertion": "Heures d'insertion",
    "marches": "Marchés", "alerte": "Alerte", "qpv": "QPV", "voisin": "Voisin", "nom_voisin": "Nom du voisin",
    "source": "Source", "etp_finances": "ETP financés", "part": "Part", "indicateur": "Indicateur",
    "annee": "Année", "region": "Région", "france": "France", "ecart": "Écart (points)",
}
SHARE_COLUMNS = {"part_couverte", "part_ze_dominante", "part", "region", "france", "ecart"}


def french(df: pd.DataFrame) -> pd.DataFrame:
    """Same table, French headers, booleans as oui/non."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == bool:
            out[col] = out[col].map({True: "oui", False: "non"})
    return out.rename(columns={c: LABELS.get(c, c) for c in out.columns})


def summary_frame(result) -> pd.DataFrame:
    s = result.diagnosis.summary
    m = result.market_summary
    rows = [
        ("Région", result.diagnosis.region),
        ("Communes", s["communes"]["total"]), ("Communes couvertes", s["communes"]["couvertes"]),
        ("Zones blanches (communes non couvertes)", s["communes"]["non_couvertes"]),
        ("Communes couvertes par plusieurs structures", s["communes"]["multi_couvertes"]),
        ("Population", s["population"]["totale"]), ("Population non couverte", s["population"]["non_couverte"]),
        ("QPV", s["qpv"]["total"]), ("QPV couverts", s["qpv"]["couverts"]), ("QPV partiellement couverts",
                                                                           s["qpv"]["partiels"]),
        ("QPV non couverts", s["qpv"]["non_couverts"]),
        ("Population des QPV non couverts", s["qpv"]["population_non_couverte"]),
        ("Structures", s["structures"]["total"]), ("Facilitateurs (personnes)", s["structures"]["personnes"]),
        ("ETP", s["structures"]["etp"]),
        ("Marchés lus", m["total"]), ("Marchés avec considération sociale", m["avec_consideration_sociale"]),
        ("Marchés couverts par une structure", m["couvert"]),
        ("Marchés sur plusieurs aires", m["multi_facilitateurs"]),
        ("Marchés partiellement couverts", m["partiellement_couvert"]),
        ("Marchés hors couverture", m["hors_couverture"]), ("Marchés non localisables", m["non_localisable"]),
        ("Marchés régionaux", m["regional"]),
    ]
    return pd.DataFrame(rows, columns=["Indicateur", "Valeur"]).astype({"Valeur": object})


def diagnosis_xlsx(result) -> bytes:
    d = result.diagnosis
    blanches = d.communes[~d.communes["couverte"]].sort_values("population", ascending=False)
    sheets = {
        "Synthèse": summary_frame(result),
        "Zones blanches": french(blanches.drop(columns=["couverte", "nb_structures", "structures"])),
        "Communes": french(d.communes),
        "QPV": french(d.qpv),
        "Zones d'emploi": french(d.zones_emploi),
        "Structures": french(d.structures),
        "Chevauchements": french(d.overlaps),
        "Marchés": french(result.markets),
    }
    if len(d.unresolved):
        sheets["Codes non résolus"] = french(d.unresolved)
    formats = {LABELS[c]: "0 %" for c in SHARE_COLUMNS}
    return xlsx_bytes(sheets, number_formats=formats)


def table_csv(df: pd.DataFrame) -> bytes:
    return csv_bytes(french(df))


def table_xlsx(df: pd.DataFrame, sheet: str = "Tableau") -> bytes:
    return xlsx_bytes({sheet: french(df)}, number_formats={LABELS[c]: "0 %" for c in SHARE_COLUMNS})
