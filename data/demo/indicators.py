"""ABC Clauses indicator tables (T01-T18) of the demo, national orders of magnitude from DOMAIN.md."""

from __future__ import annotations

import numpy as np
import pandas as pd


CATEGORIES = {"Demandeurs d'emploi de longue durée": 38, "Bénéficiaires de minima sociaux": 22,
              "Jeunes sans qualification": 17, "Plus de 50 ans": 9, "Travailleurs handicapés": 4,
              "Autres publics prioritaires": 10}
FONDEMENTS = {"Clause d'exécution (L2112-2, ex-art. 38)": 70, "Critère d'attribution (ex-art. 52/62)": 12,
              "Marché de services d'insertion (ex-art. 28)": 8, "Réservé handicap (L2113-12, ex-36-I)": 4,
              "Réservé SIAE (L2113-13, ex-36-II)": 6}
SIZES = {"TPE": 20, "PME": 45, "ETI": 20, "Grande entreprise": 15}
AGES = {"Moins de 26 ans": 32, "26 à 44 ans": 42, "45 à 49 ans": 9, "50 ans et plus": 17}
QUALIF = {"Sans diplôme (infra V)": 45, "CAP-BEP (niveau V)": 33, "Baccalauréat (niveau IV)": 15,
          "Supérieur au bac": 7}
SEXES_BEN = {"Hommes": 84, "Femmes": 16}
INDICATOR_SPECS: dict[str, list] = {
    "T01": [("type_maitre_ouvrage", {"Communes et EPCI": 54, "Bailleurs sociaux": 21, "État": 9,
                                     "Départements": 6, "Régions": 4, "Établissements publics": 4, "Autres": 2},
             None, None, ["heures"])],
    "T02": [("tranche_montant", {"Moins de 90 k€": 22, "90 k€ à 221 k€": 25, "221 k€ à 1 M€": 30,
                                 "1 M€ à 5,5 M€": 17, "Plus de 5,5 M€": 6}, None, None, ["marches"])],
    "T03": [("secteur", {"Bâtiment et travaux publics": 55, "Propreté et nettoyage": 12, "Espaces verts": 9,
                         "Collecte des déchets": 6, "Services aux personnes et collectivités": 8,
                         "Restauration": 4, "Transport": 3, "Autres secteurs": 3}, None, None, ["marches"])],
    "T04": [("fondement", FONDEMENTS, "type_entreprise",
             {"Entreprise classique": 80, "SIAE": 12, "EA / ESAT": 4, "Autre entreprise de l'ESS": 4}, ["marches"])],
    "T05": [("fondement", FONDEMENTS, "taille_entreprise", SIZES, ["marches"])],
    "T06": [("categorie", CATEGORIES, None, None, ["beneficiaires"])],
    "T07": [("type_contrat", {"CDD": 30, "Intérim": 28, "Contrat IAE": 25, "CDI": 7,
                              "Alternance et apprentissage": 6, "Autres contrats": 4}, None, None, ["contrats"])],
    "T08": [("sexe", SEXES_BEN, None, None, ["beneficiaires"]), ("sexe", {"Hommes": 86, "Femmes": 14}, None, None,
                                                                 ["heures"])],
    "T09": [("origine", {"Hors QPV": 70, "Résident d'un QPV": 30}, None, None, ["beneficiaires"])],
    "T10": [("qualification", QUALIF, None, None, ["beneficiaires"])],
    "T11": [("age", AGES, None, None, ["beneficiaires"])],
    "T12": [("categorie", CATEGORIES, "sexe", SEXES_BEN, ["beneficiaires"])],
    "T13": [("categorie", CATEGORIES, "age", AGES, ["beneficiaires"])],
    "T14": [("categorie", CATEGORIES, "qualification", QUALIF, ["beneficiaires"])],
    "T15": [("prescripteur", {"France Travail": 35, "Mission locale": 20, "PLIE": 18, "SIAE": 15,
                              "Cap emploi": 4, "Autres prescripteurs": 8}, None, None, ["beneficiaires"])],
    "T16": [("metier", {"Construction, bâtiment et travaux publics (F)": 49,
                        "Services à la personne et à la collectivité (K)": 28,
                        "Transport et logistique (N)": 8, "Industrie (H)": 5, "Hôtellerie-restauration (G)": 4,
                        "Commerce (D)": 3, "Support à l'entreprise (M)": 3}, None, None, ["beneficiaires"])],
    "T17": [("taille_entreprise", SIZES, None, None, ["heures"])],
    "T18": [("delai", {"6 mois": 25, "12 mois": 25, "18 mois": 25, "24 mois": 25}, "situation",
             {"Emploi durable (CDI, CDD de 6 mois et plus)": 33, "Emploi de transition": 20,
              "Contrat aidé ou IAE": 12, "Formation": 8, "Demandeur d'emploi": 19, "Situation inconnue": 8},
             ["beneficiaires"])],
}
NATIONAL_TOTALS = {"heures": 13_000_000, "beneficiaires": 34_000, "marches": 9_000, "contrats": 60_000,
                   "montant": 3.5e9}


def build_indicators(rng, region: str, years=(2023, 2024), region_weight: float = 0.045) -> pd.DataFrame:
    """The 18 tables in long format, for the région and ``FR``, with plausible noise."""
    rows = []
    for y_i, year in enumerate(years):
        growth = 1.06 ** y_i
        for terr, weight, noise in (("FR", 1.0, 0.03), (region, region_weight, 0.25)):
            for table, specs in INDICATOR_SPECS.items():
                for dim, mods, dim2, mods2, measures in specs:
                    for measure in measures:
                        total = NATIONAL_TOTALS[measure] * weight * growth
                        if table == "T18":
                            total = NATIONAL_TOTALS["beneficiaires"] * weight * growth * 4
                        shares = np.array(list(mods.values()), dtype=float)
                        shares = shares * rng.lognormal(0, noise, len(shares))
                        shares /= shares.sum()
                        if dim2 is None:
                            for m, s in zip(mods, shares):
                                rows.append((year, terr, table, dim, m, "", "", measure,
                                             float(round(total * s))))
                            continue
                        shares2 = np.array(list(mods2.values()), dtype=float)
                        for m, s in zip(mods, shares):
                            s2 = shares2 * rng.lognormal(0, noise, len(shares2))
                            s2 /= s2.sum()
                            for m2, t in zip(mods2, s2):
                                rows.append((year, terr, table, dim, m, dim2, m2, measure,
                                             float(round(total * s * t))))
    df = pd.DataFrame(rows, columns=["annee", "territoire", "tableau", "dimension", "modalite", "dimension_2",
                                     "modalite_2", "mesure", "valeur"])
    df["annee"] = df["annee"].astype("Int64")
    return df
