"""The French words of the documents: section titles, column headers, definitions, the bilan's
reference figures. One place, so that the PDF, the deck and the workbook say the same thing."""

from __future__ import annotations

from data.indicators import SECRET_THRESHOLD
from data.report import agree  # the one French agreement of a count, for messages and documents alike
from views.columns import LABELS as _APP_LABELS

TITLE = "Diagnostic territorial des clauses sociales"
INSTRUCTION = ("Instruction interministérielle du 11 avril 2019 relative aux clauses sociales d'insertion "
               "dans la commande publique, fiche 3")

# column headers: the app's, plus the columns only the documents show
LABELS = {
    **_APP_LABELS,
    "nom_a": "Nom de la structure A", "nom_b": "Nom de la structure B", "ze_dominante_nom": "Zone d'emploi dominante",
    "quotite": "Quotité moyenne (ETP par personne)", "nb_structures_type": "Structures",
    "type_structure": "Type de structure", "reference_2016": "Référence nationale 2016",
    "montant": "Montant HT (€)", "part_marches": "Part des marchés", "couverture_lib": "Couverture",
    "territoire_lib": "Territoire", "tableau": "Tableau", "libelle": "Intitulé", "mesure": "Mesure",
    "dimension": "Dimension", "modalite": "Catégorie", "dimension_2": "Seconde dimension",
    "modalite_2": "Croisement", "valeur": "Valeur", "secret": "Secret statistique", "nb_epci": "EPCI",
    "nb_zones_blanches": "Zones blanches (communes)", "population_non_couverte": "Population non couverte",
    "communes_total": "Communes", "nb_communes_couvertes": "Communes couvertes",
    "perimetre": "Périmètre déclaré", "structures_noms": "Structures",
}

# the diagnosis' definitions (DOMAIN.md), in the words a reader of the report uses
DEFINITIONS: list[tuple[str, str]] = [
    ("Commune couverte", "commune de la région comprise dans l'aire d'intervention déclarée d'au moins une "
                         "structure porteuse de facilitateurs (périmètre déclaré en communes, EPCI, départements, "
                         "région ou zones d'emploi, développé en communes). Seules les communes de la région "
                         "comptent dans les chiffres de la région."),
    ("Zone blanche", "commune de la région qu'aucune aire d'intervention ne couvre."),
    ("Commune couverte par plusieurs structures", "commune comprise dans au moins deux aires d'intervention."),
    ("Population non couverte", "somme des populations des zones blanches, et sa part dans la population de la "
                                "région."),
    ("Statut d'un QPV", "les communes d'un quartier prioritaire sont celles dont le contour contient au moins "
                        "1 % de la surface du quartier (à défaut de contour, la commune déclarée). Le QPV est "
                        "« couvert » quand toutes ses communes sont couvertes, « partiellement couvert » quand "
                        "certaines le sont, « non couvert » quand aucune ne l'est. La population des QPV non "
                        "couverts est la somme des populations des QPV non couverts."),
    ("Zone d'emploi", "zone d'emploi INSEE 2020 (le « bassin d'emploi » de l'instruction) : population "
                      "(communes de la région), part de cette population couverte, nombre de structures "
                      "présentes. Une zone qui « déborde de la région » compte des communes d'une autre région."),
    ("Moyens et charge d'une structure", "personnes et équivalents temps plein (ETP) déclarés ; population "
                                         "couverte (communes de la région de son aire) ; ETP pour 100 000 "
                                         "habitants ; ETP pour 10 000 habitants de QPV ; zone d'emploi "
                                         "dominante (celle qui porte la plus grande part de sa population "
                                         "couverte) et nombre de zones d'emploi touchées."),
    ("Chevauchement", "communes, population et QPV que deux structures couvrent toutes les deux."),
    ("Couverture d'un marché", "selon son lieu d'exécution développé en communes : « couvert » quand l'aire "
                               "d'une seule structure le contient ; « plusieurs facilitateurs » quand toutes "
                               "ses communes sont couvertes sans qu'aucune aire ne le contienne seule (l'acheteur "
                               "a besoin d'un interlocuteur unique, fiche 3, § 3b) ; « partiellement couvert » "
                               "quand certaines de ses communes le sont ; « hors couverture » quand aucune ne "
                               "l'est ; « non localisable » quand son lieu ne se rapporte à aucun territoire "
                               "connu. Un marché est « régional » quand son lieu est un département, une région, "
                               "un pays, ou s'étend sur au moins deux départements. Seuls les marchés avec une "
                               "considération sociale sont analysés ; les autres sont comptés."),
    ("Marchés qu'aucune structure ne couvre seule", "marchés avec considération sociale dont la couverture "
                                                    "n'est pas « couvert »."),
    ("Indicateurs ABC Clauses", "tableaux T01 à T18 de l'annexe de l'instruction, pour la région et pour la "
                                "France ; les parts sont calculées dans chaque année et chaque territoire."),
    ("Secret statistique", f"les effectifs de bénéficiaires inférieurs à {SECRET_THRESHOLD} dans une case ne "
                           "sont pas affichés, ni les parts calculées à partir d'eux. Les tableaux d'une même année "
                           "et d'un même territoire comptent les mêmes bénéficiaires (un même total, et les marges "
                           "des tableaux croisés) : d'autres cases, les plus petites possibles, sont masquées aussi, "
                           "pour qu'aucune case masquée ne puisse être recalculée à partir de ce qui est affiché "
                           "(secret secondaire, règles de l'INSEE)."),
]

# « Needs and offer » (DOMAIN.md): the Besoins et moyens and Acheteurs pages' help and the PDF's definitions
NEEDS_DEFINITIONS: list[tuple[str, str]] = [
    ("Marché social qui touche une aire", "un marché avec considération sociale « touche » l'aire d'une structure "
                                          "quand au moins une commune de son lieu d'exécution est dans cette aire ; "
                                          "il compte dans chaque aire qu'il touche (la somme sur les structures peut "
                                          "donc dépasser le total de la région)."),
    ("Besoins et moyens d'une structure", "dans l'aire de chaque structure : les marchés sociaux qui la touchent "
                                          "(nombre, montant HT, heures d'insertion), leurs acheteurs distincts, les "
                                          "structures de l'inclusion situées dans les communes de la région de son "
                                          "aire, la population et les habitants des QPV couverts ; chacun aussi "
                                          "rapporté à ses ETP (« – » quand la structure déclare 0 ETP)."),
    ("Alerte de charge", "marchés sociaux par ETP au-dessus du double, ou au-dessous de la moitié, de la médiane des "
                         "structures qui déclarent des ETP ; l'alerte donne les deux chiffres."),
    ("Besoins et moyens d'une zone d'emploi", "ETP présents : somme, sur les structures, de leurs ETP multipliés par "
                                              "la part de leur population couverte (communes de la région) située "
                                              "dans la zone ; marchés sociaux dont le lieu touche la zone ; "
                                              "structures de l'inclusion situées dans la zone."),
    ("Acheteur", "identifié par son SIRET (14 chiffres) quand le fichier le donne, sinon par son nom (sans tenir "
                 "compte des majuscules, des accents ni des espaces). Les acheteurs sont comptés sur les marchés gardés "
                 "dans l'espace (après le découpage à la région), avec ou sans considération sociale ; un marché compte "
                 "une fois (un identifiant du fichier DECP consolidé, quels que soient ses titulaires) avec son montant "
                 "actuel (après sa dernière modification). Par acheteur : marchés, marchés avec considération sociale, "
                 "montants HT (tous les marchés et les marchés sociaux), heures d'insertion, années."),
    ("Montant annuel et seuil SPASER", "montant annuel : somme des montants HT des marchés de l'acheteur par année "
                                       "civile de notification. « Au-dessus du seuil SPASER » : un montant annuel au "
                                       "moins égal au seuil (réglage ; 50 M€ HT par défaut, décret n° 2022-767 depuis "
                                       "le 1er janvier 2023 ; 100 M€ HT dans la loi de 2014 que cite l'instruction) "
                                       "pour au moins une année. Toujours une estimation à partir du fichier de "
                                       "marchés."),
    ("Structures de l'inclusion", "SIAE (EI, ETTI, AI, ACI, EITI), GEIQ, EA et EATT, ESAT ; un autre type est "
                                  "gardé comme « Autre ». Une structure est située dans la commune de son code "
                                  "commune, à défaut dans la commune dont le contour contient ses coordonnées (pour "
                                  "la liste du marché de l'inclusion, qui n'en donne pas : son code postal et sa "
                                  "ville), sinon elle est non localisée (gardée et listée). Un fichier national est "
                                  "ramené à la région comme les marchés : une structure n'est écartée, et comptée, "
                                  "que si elle est située dans une autre région."),
    ("Potentiel inclusif d'un marché", "nombre de structures de l'inclusion situées dans les communes de son lieu "
                                       "d'exécution, par type (« – » quand le lieu n'est pas localisable)."),
]
DEFINITIONS += NEEDS_DEFINITIONS

BUYERS_ESTIMATE = ("Estimation à partir du fichier de marchés : les accords-cadres portent des montants maximaux, les "
                   "marchés de moins de 40 000 € HT ne sont pas publiés, et un extrait régional ne contient pas les "
                   "marchés de l'acheteur passés ailleurs.")
NEEDS_SUM_NOTE = ("Un marché compte dans chaque aire qu'il touche : la somme sur les structures peut dépasser le total "
                  "de la région.")

SECRET_NOTE = (f"Secret statistique : les effectifs de bénéficiaires inférieurs à {SECRET_THRESHOLD} ne sont pas "
               "affichés, ni les parts calculées à partir d'eux, ni les cases qui permettraient de les recalculer.")


def secret_cells(n: int) -> str:
    """« 4 cases masquées (secret statistique : … ) », for a table's caption."""
    return (f"{n} {agree(n, 'case masquée', 'cases masquées')} (secret statistique : moins de {SECRET_THRESHOLD} "
            "bénéficiaires, ou case qui permettrait de recalculer une case masquée).")


def secret_shares(n: int) -> str:
    """« 1 part non affichée (secret statistique : … ) », for the § 6b follow-up."""
    return (f"{n} {agree(n, 'part non affichée', 'parts non affichées')} (secret statistique : calculée sur moins "
            f"de {SECRET_THRESHOLD} bénéficiaires ou sur une case masquée).")

# fiche 3, § 3c: how facilitator posts were funded nationally in 2016 (Alliance Villes Emploi survey)
FUNDING_REFERENCE_2016 = {"Collectivités territoriales": 0.43, "FSE": 0.29, "État": 0.21, "Privé": 0.04,
                          "Autres": 0.03}

# the screens of the launch meeting (issue 10, fiche 3): the deck has one slide per screen; a screen is found by
# its title (``SCREENS.index``), never by a number that another screen's addition would shift
SCREEN_NEEDS = "Besoins et moyens"
SCREEN_INDICATORS = "Indicateurs ABC Clauses face à la France"
SCREENS = [
    "La région en un coup d'œil",
    "Les facilitateurs et leurs moyens",
    "Zones blanches et quartiers prioritaires",
    "Cohérence avec les zones d'emploi",
    "Marchés qu'aucune structure ne couvre seule",
    SCREEN_NEEDS,
    SCREEN_INDICATORS,
]

NO_OUTLINES = ("Le référentiel des communes chargé n'a pas de contours : la carte ne peut pas être dessinée. "
               "Importez les communes avec leurs géométries (GeoJSON, GeoPackage, GeoParquet ou Shapefile zippé) "
               "sur la page « Données ». Les tableaux restent exacts : ils ne dépendent que des codes.")

STATUS_LABELS = {"couvert": "Couvert", "partiel": "Partiellement couvert", "non couvert": "Non couvert"}


# the classes of the zones d'emploi's choropleth (geo.needs.ze_class), in the legend's order
NEEDS_CLASS_LABELS = {"tres_eleve": "Plus du double de la médiane", "eleve": "De la médiane au double",
                      "moyen": "De la moitié de la médiane à la médiane",
                      "faible": "Moins de la moitié de la médiane", "sans_etp": "Aucun ETP présent"}
