"""Schema definitions of every file kind users bring.

One source of truth: validation (``data.validation``), templates (``data.templates``)
and the demo export (``data.demo``) all read these definitions.

Codes are always strings. Each field lists the official column names accepted as
aliases (compared case-insensitively, ignoring accents, spaces and underscores).
"""

from __future__ import annotations

from dataclasses import dataclass

from geo.inclusion import ALL_TYPES as INCLUSION_TYPES  # the types the figures count, « Autre » last
from geo.markets import SOCIAL_CONSIDERATIONS  # the diagnosis decides which markets are social

# Field kinds
CODE = "code"  # a code kept as a string (leading zeros matter)
COMMUNE = "commune"  # a commune COG code (5 characters), leading zero repaired
COMMUNE_LIST = "commune_list"  # one or several commune codes ("31555;31069"), each repaired
TEXT = "text"
INT = "int"
FLOAT = "float"
DATE = "date"
ENUM = "enum"
ENUM_LIST = "enum_list"  # ";"-separated values, each from a list
# A descriptive category: known values and their synonyms are written canonically, any other value
# is kept as written (one summarised warning): the diagnosis does not depend on it.
LABEL = "label"


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    values: tuple[str, ...] = ()  # for ENUM / ENUM_LIST
    minimum: float | None = None
    maximum: float | None = None
    label: str = ""  # French description for templates
    example: str = ""


@dataclass(frozen=True)
class TableSchema:
    kind: str
    label: str  # French name of the file kind
    fields: tuple[Field, ...]
    key: tuple[str, ...] = ()  # columns that must be unique together
    geometry: str = "none"  # "none", "optional" or "required"

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]


STRUCTURE_TYPES = ("PLIE", "MDE", "EPCI", "Département", "Région", "Association", "Autre")
TERRITORY_TYPES = ("commune", "epci", "departement", "region", "ze")
PLACE_TYPES = ("commune", "code_postal", "departement", "region", "pays")
MARKET_STATUSES = ("programmé", "en cours", "terminé")
NO_SOCIAL_CONSIDERATION = "Pas de considération sociale"  # also written « Sans objet », « Aucune »...
# Contracting authorities as the instruction counts them (table T01, fiche 3 § 3c).
BUYER_TYPES = (
    "État et services déconcentrés",
    "Établissement public national",
    "Région",
    "Département",
    "Commune, EPCI et établissement public local",
    "Bailleur social",
    "Société d'économie mixte",
    "Entreprise publique",
    "Organisme de sécurité sociale",
    "Entreprise privée",
    "Autre",
)
MEASURES = ("heures", "marches", "beneficiaires", "contrats", "montant")
FUNDING_COLUMNS = {
    "fin_collectivites": "Collectivités territoriales",
    "fin_fse": "FSE",
    "fin_etat": "État",
    "fin_prive": "Privé",
    "fin_autres": "Autres",
}

# The 18 ABC Clauses tables (annex of the 2019 instruction).
INDICATOR_TABLES: dict[str, str] = {
    "T01": "Heures d'insertion par type de maître d'ouvrage",
    "T02": "Marchés par tranche de montant",
    "T03": "Marchés par secteur économique",
    "T04": "Fondement juridique par type d'entreprise",
    "T05": "Fondement juridique par taille d'entreprise",
    "T06": "Bénéficiaires par catégorie",
    "T07": "Contrats par type",
    "T08": "Bénéficiaires et heures par sexe",
    "T09": "Bénéficiaires par origine géographique",
    "T10": "Bénéficiaires par niveau de qualification",
    "T11": "Bénéficiaires par tranche d'âge",
    "T12": "Catégorie de bénéficiaires par sexe",
    "T13": "Catégorie de bénéficiaires par âge",
    "T14": "Catégorie de bénéficiaires par qualification",
    "T15": "Prescripteurs",
    "T16": "Métiers (familles ROME)",
    "T17": "Heures par taille d'entreprise",
    "T18": "Situation 6, 12, 18 et 24 mois après le premier contrat",
}

COMMUNES = TableSchema(
    kind="communes",
    label="Référentiel des communes",
    key=("code_insee",),
    geometry="optional",
    fields=(
        Field("code_insee", COMMUNE, True, ("codgeo", "insee_com", "code_commune", "com", "codecommune", "code"),
              label="Code INSEE (COG) de la commune, 5 caractères", example="31555"),
        Field("nom", TEXT, True, ("libgeo", "nom_commune", "libelle", "nom_com", "lib_com"),
              label="Nom de la commune", example="Toulouse"),
        Field("dep", CODE, False, ("code_departement", "departement", "insee_dep", "code_dep"),
              label="Code du département", example="31"),
        Field("dep_nom", TEXT, False, ("nom_departement", "lib_dep", "libelle_departement"),
              label="Nom du département", example="Haute-Garonne"),
        Field("reg", CODE, False, ("code_region", "region", "insee_reg", "code_reg"),
              label="Code de la région", example="76"),
        Field("reg_nom", TEXT, False, ("nom_region", "lib_reg", "libelle_region"),
              label="Nom de la région", example="Occitanie"),
        Field("epci_siren", CODE, False, ("siren_epci", "epci", "code_epci", "siren_groupement"),
              label="SIREN de l'EPCI (9 chiffres)", example="243100518"),
        Field("epci_nom", TEXT, False, ("nom_epci", "lib_epci", "libepci"), label="Nom de l'EPCI",
              example="Toulouse Métropole"),
        Field("population", INT, False, ("pop_mun", "pmun", "population_municipale", "pop", "ptot"),
              minimum=0, label="Population municipale", example="504078"),
        Field("ze2020", CODE, False, ("ze", "code_ze", "zone_emploi"), label="Code de la zone d'emploi 2020",
              example="7613"),
        Field("ze2020_lib", TEXT, False, ("libze2020", "lib_ze", "nom_ze"), label="Nom de la zone d'emploi",
              example="Toulouse"),
        Field("codes_postaux", TEXT, False, ("code_postal", "cp", "codes_postal"),
              label="Codes postaux, séparés par « ; »", example="31000;31100;31200"),
    ),
)

QPV = TableSchema(
    kind="qpv",
    label="Quartiers prioritaires (QPV)",
    key=("code_qp",),
    geometry="optional",
    fields=(
        Field("code_qp", CODE, True, ("code_qpv", "qp", "codeqp", "code_quartier"),
              label="Code du QPV (QP… 2015 ou QN… 2024)", example="QN03101M"),
        Field("nom_qp", TEXT, True, ("lib_qp", "nom_qpv", "libqp", "nom", "lib_qpv"),
              label="Nom du quartier", example="Mirail"),
        Field("code_commune", COMMUNE_LIST, False, ("insee_com", "codgeo", "depcom", "code_insee"),
              label="Commune(s) du quartier, séparées par « ; » (utilisées si pas de géométrie)", example="31555"),
        Field("population", INT, False, ("pop_mun", "pop", "population_municipale", "pmun"), minimum=0,
              label="Population du quartier", example="4250"),
    ),
)

STRUCTURES = TableSchema(
    kind="structures",
    label="Structures porteuses de facilitateurs",
    key=("id_structure",),
    fields=(
        Field("id_structure", CODE, True, ("id", "identifiant", "code_structure", "numero_structure"),
              label="Identifiant de la structure",
              example="S01"),
        Field("nom", TEXT, True, ("nom_structure", "raison_sociale", "structure", "structure_porteuse",
                                  "nom_de_la_structure_porteuse", "denomination"), label="Nom de la structure",
              example="PLIE de l'agglomération"),
        Field("type_structure", LABEL, True, ("type", "type_de_structure", "nature", "categorie"),
              values=STRUCTURE_TYPES,
              label="Type : " + ", ".join(STRUCTURE_TYPES), example="PLIE"),
        Field("code_commune", COMMUNE, True, ("commune", "code_insee", "insee", "code_commune_implantation"),
              label="Commune d'implantation (code INSEE)", example="31555"),
        Field("nb_facilitateurs", INT, True, ("personnes", "nb_personnes", "facilitateurs", "effectif"), minimum=0,
              label="Nombre de facilitateurs (personnes physiques)", example="3"),
        Field("etp", FLOAT, True, ("etp_total", "equivalent_temps_plein", "nombre_etp"), minimum=0,
              label="Équivalents temps plein", example="2,5"),
        Field("annee", INT, False, ("millesime",), minimum=2000, maximum=2100, label="Année des données",
              example="2025"),
        Field("adresse", TEXT, False, (), label="Adresse", example="1 place du Capitole"),
        *(Field(col, FLOAT, False, (), minimum=0, maximum=100, label=f"Financement {lib} (%)", example="25")
          for col, lib in FUNDING_COLUMNS.items()),
    ),
)

PERIMETRES = TableSchema(
    kind="perimetres",
    label="Périmètres d'intervention",
    key=("id_structure", "type_territoire", "code_territoire"),
    fields=(
        Field("id_structure", CODE, True, ("id",), label="Identifiant de la structure", example="S01"),
        Field("type_territoire", ENUM, True, ("type", "niveau", "type_de_territoire"), values=TERRITORY_TYPES,
              label="Type : " + ", ".join(TERRITORY_TYPES), example="epci"),
        Field("code_territoire", CODE, True, ("code", "code_du_territoire"), label="Code du territoire", example="243100518"),
    ),
)

MARCHES = TableSchema(
    kind="marches",
    label="Marchés publics",
    key=("id_marche",),
    fields=(
        Field("id_marche", CODE, True, ("id", "uid"), label="Identifiant du marché", example="2025-0001"),
        Field("objet", TEXT, False, (), label="Objet du marché", example="Réhabilitation du groupe scolaire"),
        Field("acheteur", TEXT, False, ("acheteur_nom",), label="Acheteur", example="Ville de Toulouse"),
        Field("type_acheteur", LABEL, False, ("typeacheteur", "categorie_acheteur"), values=BUYER_TYPES,
              label="Type d'acheteur : " + ", ".join(BUYER_TYPES) + " (autre libellé gardé tel quel)",
              example="Commune, EPCI et établissement public local"),
        # no minimum: a negative amount is a warning, the market kept without amount (validate_marches)
        Field("montant_ht", FLOAT, False, ("montant",), label="Montant HT (€)", example="1250000"),
        Field("date", DATE, False, ("datenotification", "date_notification"), label="Date (AAAA-MM-JJ)",
              example="2025-03-14"),
        Field("statut", LABEL, False, (), values=MARKET_STATUSES, label="Statut : " + ", ".join(MARKET_STATUSES),
              example="en cours"),
        Field("lieu_type", ENUM, True, ("lieuexecution_typecode",), values=PLACE_TYPES,
              label="Type de lieu : " + ", ".join(PLACE_TYPES), example="commune"),
        Field("lieu_code", CODE, True, ("lieuexecution_code",), label="Code(s) du lieu, séparés par « ; »",
              example="31555;31069"),
        Field("considerations_sociales", ENUM_LIST, False, ("considerationssociales",),
              values=SOCIAL_CONSIDERATIONS + (NO_SOCIAL_CONSIDERATION,),
              label="Considérations sociales, séparées par « ; »", example="Clause sociale"),
        Field("heures_insertion", FLOAT, False, ("heures",), minimum=0, label="Heures d'insertion prévues",
              example="1200"),
        Field("cpv", CODE, False, ("codecpv", "code_cpv"), label="Code CPV", example="45214200-2"),
        Field("acheteur_siret", CODE, False, ("siret_acheteur", "acheteur_id", "id_acheteur"),
              label="SIRET de l'acheteur (14 chiffres)", example="21310555400017"),
    ),
)

# Inclusion structures (SIAE, GEIQ, EA/EATT, ESAT): the template's columns. The published files (the
# data·inclusion « structures » file, le marché de l'inclusion's list) bring more, read by
# ``data.formats.inclusion`` (INCLUSION_READ_FIELDS below).
STRUCTURES_INCLUSION = TableSchema(
    kind="structures_inclusion",
    label="Structures de l'inclusion",
    fields=(
        Field("siret", CODE, False, ("numero_siret", "siret_structure"), label="SIRET (14 chiffres)",
              example="12345678900012"),
        Field("nom", TEXT, False, ("raison_sociale", "nom_structure", "denomination", "name"),
              label="Nom de la structure", example="Atelier du Val"),
        Field("type", TEXT, True, ("reseaux_porteurs", "type_de_structure", "kind", "typologie", "type_structure",
                                   "categorie", "type_siae"),
              label="Type : " + ", ".join(INCLUSION_TYPES[:-1]) + " (autre libellé gardé comme « Autre »)",
              example="ACI"),
        Field("code_commune", COMMUNE, False, ("code_insee", "insee", "codgeo", "code_commune_insee", "com",
                                               "insee_com"),
              label="Commune (code INSEE)", example="31555"),
        Field("latitude", FLOAT, False, ("lat",), minimum=-90, maximum=90, label="Latitude (WGS84)",
              example="43,6045"),
        Field("longitude", FLOAT, False, ("lon", "lng", "long"), minimum=-180, maximum=180,
              label="Longitude (WGS84)", example="1,4440"),
        Field("secteurs", TEXT, False, ("sectors", "secteurs_dactivite", "secteur"),
              label="Secteurs d'activité", example="Espaces verts ; Nettoyage"),
    ),
)
INCLUSION_READ_FIELDS = STRUCTURES_INCLUSION.fields + (
    Field("code_postal", CODE, False, ("cp", "post_code", "codepostal")),
    Field("commune", TEXT, False, ("ville", "city", "nom_commune", "libelle_commune")),
    Field("departement", CODE, False, ("department", "code_departement", "dep")),
    Field("adresse", TEXT, False, ("address",)),
    Field("enseigne", TEXT, False, ("brand", "nom_commercial")),
    Field("date_maj", TEXT, False, ("updated_at", "date_de_mise_a_jour")),
    Field("source", TEXT, False, ()),
    Field("id_source", CODE, False, ("id", "identifiant")),
)

INDICATEURS = TableSchema(
    kind="indicateurs",
    label="Indicateurs ABC Clauses",
    key=("annee", "territoire", "tableau", "dimension", "modalite", "dimension_2", "modalite_2", "mesure"),
    fields=(
        Field("annee", INT, True, ("millesime",), minimum=2000, maximum=2100, label="Année", example="2024"),
        Field("territoire", CODE, True, ("reg", "code_region"), label="Code région, ou FR pour la France",
              example="76"),
        Field("tableau", ENUM, True, ("table",), values=tuple(INDICATOR_TABLES),
              label="Numéro du tableau (T01 à T18)", example="T03"),
        Field("dimension", TEXT, True, (), label="Dimension", example="secteur"),
        Field("modalite", TEXT, True, (), label="Modalité", example="Construction"),
        Field("dimension_2", TEXT, False, (), label="Seconde dimension (tableaux croisés)", example=""),
        Field("modalite_2", TEXT, False, (), label="Seconde modalité", example=""),
        Field("mesure", ENUM, True, (), values=MEASURES, label="Mesure : " + ", ".join(MEASURES),
              example="marches"),
        Field("valeur", FLOAT, True, (), minimum=0, label="Valeur", example="125"),
    ),
)

# Everyday spellings of enumerated and descriptive values, by column, keyed by their folded form
# (lower case, no accent, no space or punctuation: see ``geo.codes.fold``).
_LOCAL = "Commune, EPCI et établissement public local"
SYNONYMS: dict[str, dict[str, str]] = {
    "type_territoire": {"com": "commune", "dep": "departement", "reg": "region", "ze2020": "ze",
                        "zonedemploi": "ze", "interco": "epci", "intercommunalite": "epci"},
    "lieu_type": {"codepostal": "code_postal", "cp": "code_postal", "codecommune": "commune",
                  "codedepartement": "departement", "coderegion": "region", "codepays": "pays",
                  "dep": "departement", "reg": "region"},
    "type_structure": {"maisondelemploi": "MDE", "departement": "Département", "conseildepartemental": "Département",
                       "region": "Région", "conseilregional": "Région"},
    "considerations_sociales": dict.fromkeys(("sansobjet", "aucune", "aucun", "neant", "non", "sans",
                                              "pasdeconsiderationsociale", "pasdeclausesociale"),
                                             NO_SOCIAL_CONSIDERATION),
    "statut": {"encours": "en cours", "programme": "programmé", "termine": "terminé", "attribue": "en cours",
               "notifie": "en cours", "clos": "terminé", "acheve": "terminé"},
    "type_acheteur": {
        **dict.fromkeys(("etat", "letat", "servicesdeletat", "servicedeconcentre",
                         "servicesdeconcentres", "servicesdeconcentresdeletat", "prefecture", "ministere",
                         "administrationcentrale", "etatetservicesdeconcentres"), "État et services déconcentrés"),
        **dict.fromkeys(("etablissementpublicnational", "epn", "etablissementpublicdeletat",
                         "epnational", "operateurdeletat"), "Établissement public national"),
        **dict.fromkeys(("region", "conseilregional", "collectiviteregionale"), "Région"),
        **dict.fromkeys(("departement", "conseildepartemental", "conseilgeneral"), "Département"),
        **dict.fromkeys(("commune", "communes", "ville", "mairie", "epci", "communeepci", "communesetepci",
                         "communeouepci", "communesepci", "commune/epci", "communes/epci", "intercommunalite",
                         "communautedecommunes", "communautedagglomeration", "communauteurbaine", "metropole",
                         "syndicatintercommunal", "syndicatmixte", "etablissementpubliclocal", "epl",
                         "communeepcietetablissementpubliclocal", "communeepcietablissementpubliclocal",
                         "centrecommunaldactionsociale", "ccas"), _LOCAL),
        **dict.fromkeys(("bailleursocial", "bailleurssociaux", "bailleur", "oph", "officepublicdelhabitat",
                         "hlm", "organismehlm", "esh", "entreprisesocialepourlhabitat"), "Bailleur social"),
        **dict.fromkeys(("sem", "societedeconomiemixte", "saem", "semop"), "Société d'économie mixte"),
        **dict.fromkeys(("entreprisepublique", "epic"), "Entreprise publique"),
        **dict.fromkeys(("organismedesecuritesociale", "securitesociale", "cpam", "caf", "urssaf", "carsat", "msa"),
                        "Organisme de sécurité sociale"),
        **dict.fromkeys(("entrepriseprivee", "prive", "privee", "societeprivee"), "Entreprise privée"),
        **dict.fromkeys(("autre", "autres", "divers"), "Autre"),
    },
}

# When no spelling above matches: how a value begins (folded), for the words people put around the
# category (« Asso loi 1901 », « Communauté d'agglo du Grand Albigeois », « Mairie de Foix »). First match wins.
_STATE = "État et services déconcentrés"
PREFIXES: dict[str, tuple[tuple[str, str], ...]] = {
    "type_structure": (("asso", "Association"), ("plie", "PLIE"), ("planlocal", "PLIE"),
                       ("maisondelemploi", "MDE"), ("maisondeslemploi", "MDE"), ("mde", "MDE"),
                       ("communaute", "EPCI"), ("metropole", "EPCI"), ("intercommunal", "EPCI"), ("epci", "EPCI"),
                       ("syndicatintercommunal", "EPCI"), ("conseildepartemental", "Département"),
                       ("conseilgeneral", "Département"), ("departement", "Département"),
                       ("conseilregional", "Région"), ("region", "Région")),
    "type_acheteur": (("mairie", _LOCAL), ("ville", _LOCAL), ("commune", _LOCAL), ("communaute", _LOCAL),
                      ("metropole", _LOCAL), ("syndicat", _LOCAL), ("ccas", _LOCAL),
                      ("conseildepartemental", "Département"), ("conseilgeneral", "Département"),
                      ("departement", "Département"), ("conseilregional", "Région"), ("region", "Région"),
                      ("prefecture", _STATE), ("ministere", _STATE), ("directiondepartementale", _STATE),
                      ("directionregionale", _STATE), ("oph", "Bailleur social"), ("officepublic", "Bailleur social"),
                      ("bailleur", "Bailleur social"), ("hlm", "Bailleur social")),
}

SCHEMAS: dict[str, TableSchema] = {
    s.kind: s for s in (COMMUNES, QPV, STRUCTURES, PERIMETRES, MARCHES, INDICATEURS, STRUCTURES_INCLUSION)
}

# The kinds of file a user imports ("facilitateurs" groups two tables).
KINDS: dict[str, str] = {
    "communes": "Référentiel des communes",
    "qpv": "Quartiers prioritaires (QPV)",
    "facilitateurs": "Facilitateurs (structures et périmètres)",
    "marches": "Marchés publics",
    "indicateurs": "Indicateurs ABC Clauses",
    "structures_inclusion": "Structures de l'inclusion",
}


def _title(label: str) -> str:
    """A column's name in a sentence from its label: « Code du lieu » from « Code(s) du lieu, séparés par « ; » »,
    « Type » from « Type : PLIE, MDE… », « Date » from « Date (AAAA-MM-JJ) »."""
    import re

    head = label.split(" : ")[0].split(",")[0]
    head = re.sub(r"\(s\)", "", head)
    return re.sub(r"\s*\([^)]*\)", "", head).strip()


# the columns some messages name that no template has: a DECP file's identifier, a QPV file's features
EXTRA_TITLES = {"id": "Identifiant", "geometry": "Géométrie", "type_territoire": "Type de territoire"}


def column_titles(kind: str) -> dict[str, str]:
    """The French name of each column of a file kind, as a validation report shows it (never ``lieu_code``)."""
    tables = {"facilitateurs": ("structures", "perimetres")}.get(kind, (kind,))
    out = dict(EXTRA_TITLES)
    for t in tables:
        for f in SCHEMAS[t].fields if t in SCHEMAS else ():
            out.setdefault(f.name, _title(f.label) if f.label else f.name)
    return out
