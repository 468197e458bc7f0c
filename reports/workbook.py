"""The full diagnosis as an XLSX workbook: every table of the report's content (``views.content``), French
headers, values rounded as the documents show them, written by the product's one XLSX writer
(:mod:`data.formats.xlsx`: number formats that Excel applies, header row frozen, an autofilter on every
sheet, formulas neutralised in cells, headers and sheet names).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from data.formats import xlsx
from data.formats.xlsx import Sheet, message_sheet
from geo.inclusion import ALL_TYPES, TYPE_LABELS
from geo.markets import CLASS_LABELS
from views import text as T
from views.columns import MARKETS_KEPT, place_type_label


class _Writer:
    """The sheets of the workbook, in order."""

    def __init__(self):
        self.sheets: list[Sheet] = []

    def sheet(self, name: str, df: pd.DataFrame, columns: list[tuple[str, str, str]], widths: dict | None = None,
              row_kinds: list[str] | None = None) -> None:
        self.sheets.append(Sheet(name, df, columns, row_kinds, widths or {}))

    def message(self, name: str, sentence: str) -> None:
        self.sheets.append(message_sheet(name, sentence))

    def bytes(self) -> bytes:
        return xlsx.workbook(self.sheets, precision="display")


def summary_rows(c) -> pd.DataFrame:
    """The key figures, with the key of each in ``engine.to_json`` (``cli.py diagnose``)."""
    s, m = c.summary, c.market_summary
    rows = [
        ("Communes", s["communes"]["total"], "int", "communes.total"),
        ("Communes couvertes", s["communes"]["couvertes"], "int", "communes.couvertes"),
        ("Zones blanches (communes non couvertes)", s["communes"]["non_couvertes"], "int", "communes.non_couvertes"),
        ("Communes couvertes par plusieurs structures", s["communes"]["multi_couvertes"], "int",
         "communes.multi_couvertes"),
        ("Population", s["population"]["totale"], "int", "population.totale"),
        ("Population non couverte", s["population"]["non_couverte"], "int", "population.non_couverte"),
        ("Part de la population non couverte", s["population"]["part_non_couverte"], "pct", ""),
        ("QPV", s["qpv"]["total"], "int", "qpv.total"),
        ("QPV couverts", s["qpv"]["couverts"], "int", "qpv.couverts"),
        ("QPV partiellement couverts", s["qpv"]["partiels"], "int", "qpv.partiels"),
        ("QPV non couverts", s["qpv"]["non_couverts"], "int", "qpv.non_couverts"),
        ("Population des QPV non couverts", s["qpv"]["population_non_couverte"], "int",
         "qpv.population_non_couverte"),
        ("Zones d'emploi", len(c.zones_emploi), "int", ""),
        ("Structures porteuses", s["structures"]["total"], "int", ""),
        ("Facilitateurs (personnes)", s["structures"]["personnes"], "int", ""),
        ("ETP", s["structures"]["etp"], "dec2", ""),
        ("ETP pour 100 000 habitants", s["structures"]["etp_pour_100k_hab"], "dec2", ""),
    ]
    if c.has["marches"]:
        rows += [
            (MARKETS_KEPT, m["total"], "int", "marches.total"),
            ("Marchés avec considération sociale", m["avec_consideration_sociale"], "int",
             "marches.avec_consideration_sociale"),
            ("Marchés couverts par une structure", m["couvert"], "int", "marches.couvert"),
            ("Marchés sur plusieurs aires (plusieurs facilitateurs)", m["multi_facilitateurs"], "int",
             "marches.multi_facilitateurs"),
            ("Marchés partiellement couverts", m["partiellement_couvert"], "int", "marches.partiellement_couvert"),
            ("Marchés hors couverture", m["hors_couverture"], "int", "marches.hors_couverture"),
            ("Marchés non localisables", m["non_localisable"], "int", "marches.non_localisable"),
            ("Marchés qu'aucune structure ne couvre seule", c.markets_not_single, "int", ""),
            ("Marchés régionaux", m["regional"], "int", "marches.regional"),
        ]
    inc = c.needs.inclusion if c.needs is not None else None
    if inc is not None:
        rows += [("Structures de l'inclusion", inc["total"], "int", "structures_inclusion.total"),
                 ("Structures de l'inclusion non localisées", inc["non_localisees"], "int",
                  "structures_inclusion.non_localisees"),
                 ("Structures de l'inclusion en zone blanche", sum(inc["dans_zones_blanches"].values()), "int",
                  "structures_inclusion.dans_zones_blanches")]
    if c.has["marches"] and len(c.buyers):
        rows += [("Acheteurs", len(c.buyers), "int", ""),
                 ("Acheteurs au-dessus du seuil SPASER (estimation)", int(c.buyers["spaser"].sum()), "int", "")]
    return pd.DataFrame(rows, columns=["indicateur", "valeur", "kind", "cle"])


BUYER_COLUMNS = [("nom", "Acheteur", "text"), ("siret", "SIRET", "text"), ("type_acheteur", "Type d'acheteur", "text"),
                 ("marches", "Marchés", "int"), ("marches_sociaux", "Marchés avec considération sociale", "int"),
                 ("montant_ht", "Montant HT (€)", "euros"), ("montant_ht_social", "Montant HT des marchés sociaux (€)",
                                                             "euros"),
                 ("part_sociale", "Part sociale du montant", "pct"), ("heures_insertion", "Heures d'insertion", "int"),
                 ("annees", "Années", "text"), ("montant_annuel_max", "Montant annuel maximal (€)", "euros"),
                 ("annee_montant_max", "Année du montant maximal", "year"),
                 ("spaser_lib", "Au-dessus du seuil SPASER (estimation)", "text"),
                 ("structures", "Structures dont l'aire porte ses marchés", "text")]


def _buyer_sheets(w: "_Writer", buyers: pd.DataFrame) -> None:
    """The buyers (fiche 3, § 2), and their annual amounts one row per buyer and year."""
    b = buyers.assign(spaser_lib=buyers["spaser"].map({True: "oui", False: "non"}),
                      nom=[x if x else "(sans nom dans le fichier)" for x in buyers["nom"]])
    w.sheet("Acheteurs", b, BUYER_COLUMNS, widths={"nom": 40, "structures": 60})
    annual = pd.DataFrame([{"nom": nom, "siret": siret, "annee": y, "montant": v}
                           for nom, siret, d in zip(b["nom"], b["siret"], b["montants_annuels"])
                           for y, v in sorted(d.items())], columns=["nom", "siret", "annee", "montant"])
    w.sheet("Montants annuels", annual, [("nom", "Acheteur", "text"), ("siret", "SIRET", "text"),
                                         ("annee", "Année de notification", "year"),
                                         ("montant", "Montant HT (€)", "euros")], widths={"nom": 40})


def buyers_workbook(ds, buyers: pd.DataFrame, region: str, threshold: float) -> bytes:
    """The buyers of a workspace's markets as a workbook (``cli.py acheteurs --xlsx``): the buyers, their
    annual amounts, and what the figures are (the estimate's limits, the threshold, the definitions)."""
    from views import fmt

    w = _Writer()
    _buyer_sheets(w, buyers)
    rows = [("Titre", "Acheteurs des marchés (fiche 3, § 2)"), ("Espace de travail", ds.label),
            ("Région", region), ("Millésimes", ds.vintages_text()),
            ("Seuil SPASER", f"{fmt.euros(threshold)} HT par an"), ("Estimation", T.BUYERS_ESTIMATE)]
    rows += [(f"Définition : {term}", text) for term, text in T.NEEDS_DEFINITIONS if term.startswith(("Acheteur",
                                                                                                      "Montant"))]
    w.sheet("À propos", pd.DataFrame(rows, columns=["rubrique", "contenu"]),
            [("rubrique", "Rubrique", "text"), ("contenu", "Contenu", "text")], widths={"rubrique": 40, "contenu": 110})
    return w.bytes()


def _needs_sheets(w: "_Writer", c) -> None:
    """Needs against means per structure and per zone d'emploi, the inclusion structures."""
    n = c.needs
    w.sheet("Besoins par structure", n.structures,
            [("id_structure", "Identifiant", "text"), ("nom", "Structure", "text"), ("etp", "ETP", "dec2"),
             ("marches_sociaux", "Marchés sociaux qui touchent l'aire", "int"),
             ("montant_social", "Montant HT des marchés sociaux (€)", "euros"),
             ("heures_sociales", "Heures d'insertion des marchés sociaux", "int"),
             ("acheteurs", "Acheteurs distincts", "int"), ("structures_inclusion", "Structures de l'inclusion", "int"),
             ("population_couverte", "Population couverte", "int"), ("population_qpv", "Habitants des QPV", "int"),
             ("marches_sociaux_par_etp", "Marchés sociaux par ETP", "dec1"),
             ("montant_social_par_etp", "Montant social par ETP (€)", "euros"),
             ("heures_sociales_par_etp", "Heures par ETP", "int"), ("acheteurs_par_etp", "Acheteurs par ETP", "dec1"),
             ("structures_inclusion_par_etp", "Structures de l'inclusion par ETP", "dec1"),
             ("population_par_etp", "Habitants par ETP", "int"),
             ("population_qpv_par_etp", "Habitants de QPV par ETP", "int"), ("alerte", "Alerte de charge", "text")])
    w.sheet("Besoins par zone d'emploi", n.zones_emploi,
            [("code", "Code", "text"), ("nom", "Zone d'emploi", "text"), ("etp_present", "ETP présents", "dec2"),
             ("marches_sociaux", "Marchés sociaux qui touchent la zone", "int"),
             ("marches_sociaux_par_etp", "Marchés sociaux par ETP", "dec1"),
             ("structures_inclusion", "Structures de l'inclusion", "int")])
    if n.inclusion is None or c.inclusion is None:
        w.message("Structures de l'inclusion", c.missing["structures_inclusion"])
        return
    types = [(t, TYPE_LABELS[t], "int") for t in ALL_TYPES]
    w.sheet("Inclusion par structure", n.inclusion_by_structure,
            [("id_structure", "Identifiant", "text"), ("nom", "Structure", "text"), *types, ("total", "Total", "int")])
    if n.inclusion_by_ze is not None:
        w.sheet("Inclusion par zone d'emploi", n.inclusion_by_ze,
                [("code", "Code", "text"), ("nom", "Zone d'emploi", "text"), *types, ("total", "Total", "int")])
    w.sheet("Structures de l'inclusion", c.inclusion,
            [("nom", "Structure", "text"), ("siret", "SIRET", "text"), ("type", "Type", "text"),
             ("type_ecrit", "Type écrit dans le fichier", "text"), ("code_commune", "Commune (code)", "text"),
             ("commune", "Ville", "text"), ("code_postal", "Code postal", "text"), ("adresse", "Adresse", "text"),
             ("latitude", "Latitude", "num"), ("longitude", "Longitude", "num"),
             ("localisation", "Localisée par", "text"), ("raison", "Non localisée : raison", "text"),
             ("secteurs", "Secteurs", "text"), ("source", "Source", "text")])


def _summary_sheet(w: _Writer, c) -> None:
    df = summary_rows(c)
    df["cle"] = df["cle"].replace("", None)
    w.sheet("Synthèse", df, [("indicateur", "Indicateur", "text"), ("valeur", "Valeur", "row")],
            widths={"indicateur": 52, "valeur": 16}, row_kinds=df["kind"].tolist())


def _about_sheet(w: _Writer, c) -> None:
    rows = [("Titre", T.TITLE), ("Région", f"{c.region_name} ({c.region})"), ("Espace de travail", c.workspace),
            ("Millésimes", c.vintages), ("Édité le", c.generated)]
    if c.is_demo:
        rows.append(("Attention", "Données fictives de démonstration"))
    if c.referentiel_sources:
        rows.append(("Référentiel", c.referentiel_sources))
    rows += [(f"Source : {what}", where) for what, where in c.sources]
    rows += [("Non importé", sentence) for sentence in c.missing.values()]
    rows += [("Note", n) for n in c.notes]
    rows.append(("Secret statistique", T.SECRET_NOTE))
    rows.append(("Texte de référence", T.INSTRUCTION))
    rows += [(f"Définition : {term}", text) for term, text in T.DEFINITIONS]
    df = pd.DataFrame(rows, columns=["rubrique", "contenu"])
    w.sheet("À propos", df, [("rubrique", "Rubrique", "text"), ("contenu", "Contenu", "text")],
            widths={"rubrique": 40, "contenu": 110})


def workbook_bytes(c) -> bytes:
    """The workbook of a report's content (``views.content.Content``)."""
    w = _Writer()
    _summary_sheet(w, c)
    w.sheet("Zones blanches", c.zones_blanches,
            [("code_insee", "Code commune", "text"), ("nom", "Commune", "text"), ("population", "Population", "int"),
             ("epci_nom", "EPCI", "text"), ("ze2020_lib", "Zone d'emploi", "text"), ("qpv", "QPV", "text")])
    w.sheet("Zones blanches par EPCI", c.zones_blanches_epci,
            [("epci_nom", "EPCI", "text"), ("nb_zones_blanches", "Communes non couvertes", "int"),
             ("population", "Population non couverte", "int")])
    w.sheet("Communes", c.communes,
            [("code_insee", "Code commune", "text"), ("nom", "Commune", "text"), ("dep", "Département", "text"),
             ("epci_siren", "EPCI (SIREN)", "text"), ("epci_nom", "EPCI", "text"), ("ze2020", "Zone d'emploi", "text"),
             ("ze2020_lib", "Nom de la zone d'emploi", "text"), ("population", "Population", "int"),
             ("nb_structures", "Nombre de structures", "int"), ("couverte", "Couverte", "bool"),
             ("structures", "Structures", "text")])
    q = c.qpv.assign(statut_lib=c.qpv["statut"].map(T.STATUS_LABELS).fillna(c.qpv["statut"]))
    w.sheet("QPV", q, [("code_qp", "Code QPV", "text"), ("nom_qp", "Nom du QPV", "text"),
                       ("population", "Population", "int"), ("communes", "Communes", "text"),
                       ("statut_lib", "Statut", "text"), ("structures", "Structures présentes", "text")])
    w.sheet("Zones d'emploi", c.zones_emploi,
            [("code", "Code", "text"), ("nom", "Zone d'emploi", "text"), ("population", "Population (région)", "int"),
             ("part_couverte", "Part de la population couverte", "pct"), ("nb_structures", "Nombre de structures", "int"),
             ("structures_noms", "Structures présentes", "text"), ("chevauche_region", "Déborde de la région", "bool"),
             ("nb_communes", "Nombre de communes", "int"), ("communes_non_couvertes", "Communes non couvertes", "int")])
    w.sheet("Structures", c.structures,
            [("id_structure", "Identifiant", "text"), ("nom", "Structure", "text"), ("type_structure", "Type", "text"),
             ("commune_implantation", "Commune d'implantation", "text"), ("nb_facilitateurs", "Personnes", "int"),
             ("etp", "ETP", "dec2"), ("quotite", "Quotité moyenne (ETP par personne)", "dec2"),
             ("nb_communes", "Communes couvertes (région)", "int"),
             ("population_couverte", "Population couverte", "int"),
             ("etp_pour_100k_hab", "ETP pour 100 000 hab.", "dec2"), ("nb_qpv", "QPV couverts", "int"),
             ("population_qpv", "Population des QPV couverts", "int"),
             ("etp_pour_10k_hab_qpv", "ETP pour 10 000 hab. de QPV", "dec2"),
             ("ze_dominante", "Zone d'emploi dominante", "text"),
             ("ze_dominante_nom", "Nom de la zone d'emploi dominante", "text"),
             ("part_ze_dominante", "Part dans la zone dominante", "pct"), ("nb_ze", "Zones d'emploi touchées", "int"),
             ("alerte", "Point d'attention", "text")])
    w.sheet("Chevauchements", c.overlaps,
            [("id_a", "Structure A", "text"), ("nom_a", "Nom de la structure A", "text"),
             ("id_b", "Structure B", "text"), ("nom_b", "Nom de la structure B", "text"),
             ("communes_partagees", "Communes partagées", "int"), ("population_partagee", "Population partagée", "int"),
             ("qpv_partages", "QPV partagés", "int")])
    w.sheet("Coordination", c.coordination,
            [("id_structure", "Identifiant", "text"), ("nom", "Structure", "text"),
             ("perimetre", "Périmètre déclaré (département ou région)", "text")])
    w.sheet("Postes par type", c.by_type,
            [("type_structure", "Type de structure", "text"), ("nb_structures_type", "Structures", "int"),
             ("nb_facilitateurs", "Personnes", "int"), ("etp", "ETP", "dec2"),
             ("quotite", "Quotité moyenne (ETP par personne)", "dec2")])
    w.sheet("Financement", c.funding,
            [("source", "Source", "text"), ("etp_finances", "ETP financés", "dec2"), ("part", "Part des ETP", "pct"),
             ("reference_2016", "Référence nationale 2016", "pct")])
    if c.evolution is not None:
        ev = c.evolution
        f = ev.figures.assign(ecart=ev.figures["maintenant"] - ev.figures["avant"])
        w.sheet(f"Évolution depuis v{ev.version}", f,
                [("indicateur", "Indicateur", "text"), ("avant", "Avant", "row"), ("maintenant", "Maintenant", "row"),
                 ("ecart", "Évolution", "row_gap")], row_kinds=f["kind"].tolist())
        if len(ev.changed):
            w.sheet("Structures modifiées", ev.changed,
                    [("id_structure", "Identifiant", "text"), ("nom", "Structure", "text"),
                     ("communes_avant", "Communes avant", "int"), ("communes", "Communes maintenant", "int"),
                     ("etp_avant", "ETP avant", "dec2"), ("etp", "ETP maintenant", "dec2")])
    if c.has["marches"]:
        markets = c.markets.assign(couverture_lib=c.markets["couverture"].map(CLASS_LABELS).fillna(""),
                                   lieu_type=c.markets["lieu_type"].map(place_type_label))
        market_cols = [("id_marche", "Identifiant", "text"), ("objet", "Objet", "text"),
                       ("acheteur", "Acheteur", "text"), ("type_acheteur", "Type d'acheteur", "text"),
                       ("montant_ht", "Montant HT (€)", "euros"), ("date", "Date", "date"), ("statut", "Statut", "text"),
                       ("lieu_type", "Type de lieu", "text"), ("lieu_code", "Lieu", "text"),
                       ("considerations_sociales", "Considérations sociales", "text"),
                       ("heures_insertion", "Heures d'insertion", "int"),
                       ("avec_consideration_sociale", "Avec considération sociale", "bool"),
                       ("couverture_lib", "Couverture", "text"), ("regional", "Régional", "bool"),
                       ("nb_communes", "Communes du lieu", "int"), ("nb_aires", "Aires touchées", "int"),
                       ("raison", "Raison", "text"), ("structure", "Structure couvrante", "text")]
        if "potentiel_inclusif" in c.markets.columns:
            market_cols += [("potentiel_inclusif", "Potentiel inclusif", "int"),
                            ("potentiel_inclusif_detail", "Structures de l'inclusion du lieu", "text")]
        gaps = c.market_gaps.assign(couverture_lib=c.market_gaps["couverture"].map(CLASS_LABELS).fillna(""),
                                    lieu_type=c.market_gaps["lieu_type"].map(place_type_label))
        w.sheet("Marchés non couverts", gaps, market_cols)
        w.sheet("Marchés par couverture", c.market_classes,
                [("couverture_lib", "Couverture", "text"), ("marches", "Marchés", "int"),
                 ("part_marches", "Part des marchés", "pct"), ("regional", "dont régionaux", "int"),
                 ("montant", "Montant HT (€)", "euros"), ("heures_insertion", "Heures d'insertion", "int")])
        w.sheet("Acheteurs concernés", c.market_buyers,
                [("acheteur", "Acheteur", "text"), ("type_acheteur", "Type d'acheteur", "text"),
                 ("marches", "Marchés", "int"), ("montant_ht", "Montant HT (€)", "euros"),
                 ("heures_insertion", "Heures d'insertion", "int")])
        w.sheet("Marchés", markets, market_cols)
        _buyer_sheets(w, c.buyers)
        if c.has["facilitateurs"]:
            _needs_sheets(w, c)
        if "potentiel_inclusif" in c.markets.columns:
            w.sheet("Marchés sans inclusion", c.markets_without_inclusion,
                    [("id_marche", "Identifiant", "text"), ("objet", "Objet", "text"), ("acheteur", "Acheteur", "text"),
                     ("montant_ht", "Montant HT (€)", "euros"), ("lieu_type", "Type de lieu", "text"),
                     ("lieu_code", "Lieu", "text"), ("couverture_lib", "Couverture", "text")])
    else:
        w.message("Marchés", c.missing["marches"])
        w.message("Acheteurs", c.missing["marches"])
    if c.has["indicateurs"]:
        fu = c.followup.assign(secret_lib=c.followup["secret"].map({True: "oui", False: "non"}))
        w.sheet("Suivi fiche 3 § 6b", fu,
                [("indicateur", "Indicateur", "text"), ("annee", "Année", "year"), ("region", "Région", "pct"),
                 ("france", "France", "pct"), ("ecart", "Écart (points)", "points"),
                 ("secret_lib", "Masqué (secret statistique)", "text")])
        frames = []
        for s in c.indicators:
            frames.append(s.data.assign(libelle=s.title, mesure_lib=s.unit))
        ind = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
            columns=["tableau", "libelle", "mesure_lib", "annee", "territoire_lib", "dimension", "modalite",
                     "dimension_2", "modalite_2", "valeur", "part", "secret"])
        ind = ind.assign(secret_lib=ind["secret"].map({True: "oui", False: "non"}))
        w.sheet("Indicateurs ABC Clauses", ind,
                [("tableau", "Tableau", "text"), ("libelle", "Intitulé", "text"), ("mesure_lib", "Mesure", "text"),
                 ("annee", "Année", "year"), ("territoire_lib", "Territoire", "text"),
                 ("dimension", "Dimension", "text"), ("modalite", "Catégorie", "text"),
                 ("dimension_2", "Seconde dimension", "text"), ("modalite_2", "Croisement", "text"),
                 ("valeur", "Valeur", "num"), ("part", "Part", "pct"),
                 ("secret_lib", "Masqué (secret statistique)", "text")])
    else:
        w.message("Indicateurs ABC Clauses", c.missing["indicateurs"])
    if len(c.unresolved):
        w.sheet("Codes non résolus", c.unresolved,
                [("ligne", "Ligne", "int"), ("id_structure", "Structure", "text"),
                 ("type_territoire", "Type de territoire", "text"), ("code_territoire", "Code", "text")])
    if getattr(c, "proposition", None) is not None:
        from reports.comparison import sheets

        w.sheets += sheets(c.proposition, "Proposition – ")[:3]
    _about_sheet(w, c)
    return w.bytes()


def diagnosis_workbook(ds, result, region: str, workspace_label: str | None = None) -> bytes:
    """The full diagnosis workbook of a dataset and its ``engine.run`` result (``cli.py diagnose --xlsx``)."""
    from views.content import collect

    return workbook_bytes(collect(ds, result, region, workspace_label))


def write(path: Path, content) -> Path:
    Path(path).write_bytes(workbook_bytes(content))
    return Path(path)
