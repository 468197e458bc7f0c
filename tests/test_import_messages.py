"""What an import answers, in one sentence, for every kind of file (issue 21): what was read and what became
of it (kept, located elsewhere, non localisable, refused), with French plurals; and the DECP concession
contracts, which the formats since 2022 give no place: kept, counted and named, never silently lost.

Each fixture is small and written here, so that the counts the test expects are the ones it wrote.
"""

from __future__ import annotations

import json
import re

import geopandas as gpd

from data.formats.upload import Upload
from data.schemas import column_titles
from data.validation import validate

# a référentiel of four communes of two départements of région 76, one of région 75
COMMUNES = gpd.GeoDataFrame({
    "code_insee": ["31555", "31069", "09122", "33063"], "nom": ["Toulouse", "Blagnac", "Foix", "Bordeaux"],
    "epci_siren": ["243100518", "243100518", "240900001", "243300316"], "dep": ["31", "31", "09", "33"],
    "reg": ["76", "76", "76", "75"], "ze2020": ["7613", "7613", "7601", "7505"],
    "population": [500000, 25000, 9000, 260000], "codes_postaux": ["31000;31100", "31700", "09000", "33000"]},
    geometry=[None] * 4, crs="EPSG:2154")
REGION_COMMUNES = COMMUNES[COMMUNES["reg"] == "76"].reset_index(drop=True)


def up(name: str, text: str) -> Upload:
    return Upload(name, text.encode("utf-8"))


def plain(text: str) -> str:
    return re.sub(r"[\u00a0\u202f]", " ", text)


def test_communes_message_counts_the_communes():
    rows = "\n".join(f"310{i:02d};C{i};31;76;{1000 + i}" for i in range(12))
    loaded = validate("communes", [up("communes.csv", "code_insee;nom;dep;reg;population\n" + rows)])
    said = plain(loaded.outcome(["communes.csv"]))
    assert said.startswith("Le fichier « communes.csv » est accepté : 12 communes lues, toutes gardées")
    assert "(s)" not in said


def test_qpv_message_counts_those_kept_and_those_elsewhere():
    """A national file: the QPV of the workspace's communes are kept, the others counted as elsewhere."""
    text = ("code_qp;nom_qp;code_commune;population\n"
            "QN03101M;Mirail;31555;4000\nQN03102M;Bagatelle;31555;3000\nQN00901M;Foix;09122;900\n"
            "QN03301M;Bordeaux 1;33063;2000\nQN07501M;Paris 1;75056;5000\n")
    loaded = validate("qpv", [up("qpv.csv", text)], communes=REGION_COMMUNES)
    assert loaded.ok, loaded.report.text()
    said = plain(loaded.outcome("qpv.csv"))
    assert "5 QPV lus, dont 3 gardés et 2 situés hors du territoire de l'espace écartés" in said, said
    one = validate("qpv", [up("qpv.csv", "code_qp;nom_qp;code_commune;population\nQN03101M;Mirail;31555;4000\n")],
                   communes=REGION_COMMUNES)
    assert "1 QPV lu et gardé" in plain(one.outcome("qpv.csv"))


def test_qpv_rows_holding_several_codes_get_one_summarised_warning():
    """« QN01801M, QN01802M » in a row, codes repeated across rows: read as one quartier per row, said once."""
    text = ("code_qp;nom_qp;code_commune;population\n"
            '"QN01801M, QN01802M";Bourges nord;18033;1000\n'
            "QN01802M;Bourges sud;18033;1000\n"
            '"QN01803M, QN01804M, QN01801M";Vierzon;18279;2000\n'
            "QN01805M;Autre;18279;500\n")
    loaded = validate("qpv", [up("qpv.csv", text)])
    assert loaded.ok
    several = [i for i in loaded.report.warnings if "plusieurs codes QPV" in i.message]
    assert len(several) == 1
    message = plain(several[0].message)
    # 2 of the 4 rows hold several codes; 5 distinct codes; QN01801M and QN01802M on two rows each
    assert "2 lignes sur 4 donnent plusieurs codes QPV" in message
    assert "5 codes QPV différents en 4 lignes" in message and "2 codes figurent sur plusieurs lignes" in message
    assert "lignes 2 et 4" in message  # QN01801M's rows, as a spreadsheet numbers them
    assert "4 lignes de QPV (5 codes QPV différents) lues, toutes gardées" in plain(loaded.outcome("qpv.csv"))
    # a file with one code per row says nothing of it
    single = validate("qpv", [up("qpv.csv", "code_qp;nom_qp;code_commune\nQN01801M;A;18033\nQN01802M;B;18033\n")])
    assert not any("plusieurs codes" in i.message for i in single.report.issues)


def test_facilitators_message_names_both_files_in_the_plural():
    structures = ("id_structure;nom;type_structure;code_commune;nb_facilitateurs;etp\n"
                  "S1;PLIE Nord;PLIE;31555;2;1,5\nS2;MDE Sud;MDE;31069;1;1\nS3;CD 09;Département;09122;1;1\n")
    perimetres = ("id_structure;type_territoire;code_territoire\n"
                  "S1;epci;243100518\nS2;commune;31069\nS2;commune;31555\nS3;departement;09\n")
    names = ["structures.csv", "perimetres.csv"]
    loaded = validate("facilitateurs", [up(n, t) for n, t in zip(names, (structures, perimetres))],
                      communes=REGION_COMMUNES)
    assert loaded.ok, loaded.report.text()
    said = plain(loaded.outcome(names))
    assert said.startswith("Les fichiers « structures.csv » et « perimetres.csv » sont acceptés : 3 structures et "
                           "4 lignes de périmètre lues, toutes gardées"), said


MARKET_HEADER = "id_marche;objet;acheteur;lieu_type;lieu_code;considerations_sociales\n"


def test_market_table_message_counts_kept_elsewhere_and_non_localisable():
    rows = ("A;Travaux;Ville;commune;31555;Clause sociale\n"
            "B;Nettoyage;Ville;commune;99999;Clause sociale\n"  # unknown: kept, non localisable
            "C;Voirie;Ville;code_postal;31999;Marché réservé\n"  # unknown postal code of the région: idem
            "D;Écoles;Ville;commune;33063;Clause sociale\n"  # Bordeaux: another région, dropped
            "E;Collège;Dép.;departement;33;Clause sociale\n"  # another région's département: dropped
            "F;Gymnase;Ville;commune;00000;Sans objet\n")  # no social clause: kept, not diagnosed
    loaded = validate("marches", [up("marches.csv", MARKET_HEADER + rows)], communes=COMMUNES, region="76")
    assert loaded.ok, loaded.report.text()
    said = plain(loaded.outcome("marches.csv"))
    assert ("6 marchés lus, dont 4 gardés (2 à clause sociale non localisables) et 2 situés hors de la région "
            "écartés") in said, said
    assert "avertissements, détaillés ci-dessous" in said
    # the validation table names its columns in French and its messages without doubled parentheses
    frame = loaded.report_frame()
    assert "lieu_code" not in set(frame["Colonne"]) and "Code du lieu" in set(frame["Colonne"])
    assert not any("((" in m or "))" in m for m in frame["Message"])
    assert list(frame.columns) == ["Niveau", "Fichier", "Ligne", "Colonne", "Message"]


def test_refused_file_says_so_with_its_errors():
    loaded = validate("marches", [up("marches.csv", MARKET_HEADER + "A;O;V;planete;X;Clause sociale\n")])
    assert not loaded.ok
    assert plain(loaded.outcome("marches.csv")) == ("Le fichier « marches.csv » est refusé (1 erreur) : rien n'en "
                                                    "est importé.")


def test_indicators_message_counts_the_lines():
    rows = "\n".join(f"2024;76;T06;categorie;C{i};;;beneficiaires;{10 + i}" for i in range(7))
    text = "annee;territoire;tableau;dimension;modalite;dimension_2;modalite_2;mesure;valeur\n" + rows
    loaded = validate("indicateurs", [up("indicateurs.csv", text)])
    assert plain(loaded.outcome("indicateurs.csv")) == ("Le fichier « indicateurs.csv » est accepté : 7 lignes lues, "
                                                        "toutes gardées.")


# ------------------------------------------------------------------------------------------------
# DECP concession contracts

# the official example's structure (marches_concessions.json of the DECP schema, reproduced from
# /work/notes/decp_concessions.md): two markets, two concessions with « Clause sociale »
def concession(ident: str, objet: str, social=("Clause sociale", "Critère social")) -> dict:
    return {"id": ident, "autoriteConcedante": {"id": "12345678901234"}, "nature": "Concession de travaux",
            "objet": objet, "procedure": "Procédure négociée ouverte", "dureeMois": 12, "dateSignature": "2024-04-02",
            "datePublicationDonnees": "2024-04-12", "dateDebutExecution": "2024-04-01", "valeurGlobale": 10.3,
            "montantSubventionPublique": 0.5,
            "concessionnaires": [{"concessionnaire": {"typeIdentifiant": "SIRET", "id": "38103128500491"}}],
            "considerationsSociales": {"considerationSociale": list(social)},
            "considerationsEnvironnementales": {"considerationEnvironnementale": ["Clause environnementale"]}}


def market(ident: str, code: str = "31555", type_code: str = "Code commune") -> dict:
    return {"id": ident, "acheteur": {"id": "21750001630066"}, "nature": "Marché", "objet": f"Marché {ident}",
            "considerationsSociales": {"considerationSociale": ["Clause sociale"]}, "procedure": "Appel d'offres ouvert",
            "lieuExecution": {"code": code, "typeCode": type_code}, "dureeMois": 48,
            "dateNotification": "2024-05-15", "montant": 575000}


def decp(markets: list[dict], concessions: list[dict]) -> Upload:
    body = {"marches": {**({"contrat-concession": concessions} if concessions else {}),
                        **({"marche": markets} if markets else {})}}
    return Upload("decp.json", json.dumps(body, ensure_ascii=False).encode("utf-8"))


def test_concessions_are_kept_non_localisable_counted_and_named():
    loaded = validate("marches", [decp([market("TEST2022"), market("TEST2022Bis")],
                                       [concession("0612202306122024", "Objet de la consultation 1"),
                                        concession("0612202306122023", "Objet de la consultation 2")])],
                      communes=COMMUNES, region="76")
    assert loaded.ok, loaded.report.text()
    table = loaded.tables["marches"]
    assert sorted(table["id_marche"]) == ["0612202306122023", "0612202306122024", "TEST2022", "TEST2022Bis"]
    said = plain(loaded.outcome("decp.json"))
    assert "4 contrats lus (2 marchés et 2 concessions), tous gardés (2 à clause sociale non localisables" in said
    assert "le format DECP ne donne pas le lieu d'exécution d'une concession" in said
    named = [i.message for i in loaded.report.warnings if "concession « " in i.message]
    assert len(named) == 2 and "« 0612202306122024 » (Objet de la consultation 1)" in named[0]
    # a JSON file has no lines: its validation table names the contracts, and has no « Ligne » column
    frame = loaded.report_frame()
    assert "Ligne" not in frame.columns and set(frame["Colonne"]) == {"Code du lieu"}
    # classified « non localisable », with the reason, never « régional »
    from geo.markets import classify_place
    from geo.territory import Referentiel

    row = table.set_index("id_marche").loc["0612202306122024"]
    got = classify_place(Referentiel.from_communes(COMMUNES), None, None, row["lieu_type"], [], [])
    assert got["couverture"] == "non_localisable" and not got["regional"]
    assert "concession" in got["raison"] and "lieu d'exécution" in got["raison"]


def test_a_file_of_concessions_only_is_not_refused():
    loaded = validate("marches", [decp([], [concession("C1", "Délégation de service public"),
                                            concession("C2", "Parking", social=("Pas de considération sociale",))])])
    assert loaded.ok, loaded.report.text()
    said = plain(loaded.outcome("decp.json"))
    assert said.startswith("Le fichier « decp.json » est accepté : 2 concessions lues, toutes gardées (1 à clause "
                           "sociale non localisable"), said


def test_flat_list_concessions_of_the_2019_format_keep_their_place():
    """2019: one list, the concession told by its ``_type``, with a place of execution: located as a market."""
    body = {"marches": [market("M1"), {**concession("C1", "Viaduc", social=()), "_type": "Contrat de concession",
                                       "lieuExecution": {"code": "31069", "typeCode": "Code commune"}}]}
    loaded = validate("marches", [Upload("decp.json", json.dumps(body).encode())], communes=COMMUNES, region="76")
    assert loaded.ok
    t = loaded.tables["marches"].set_index("id_marche")
    assert t.loc["C1", "lieu_type"] == "commune" and t.loc["C1", "lieu_code"] == "31069"
    assert "2 contrats lus (1 marché et 1 concession), tous gardés" in plain(loaded.outcome("decp.json"))


def test_official_example_with_concessions_names_them(realdata):
    path = realdata / "decp" / "exemples_officiels" / "marches_concessions.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    ids = [c["id"] for c in doc["marches"]["contrat-concession"]]
    loaded = validate("marches", [path])
    assert loaded.ok, loaded.report.text()
    assert set(ids) <= set(loaded.tables["marches"]["id_marche"])
    text = " ".join(i.message for i in loaded.report.warnings)
    for ident in ids:
        assert f"concession « {ident} »" in text
    assert f"{len(ids)} concessions" in plain(loaded.outcome(path.name))


def test_column_titles_are_french_for_every_kind():
    for kind in ("communes", "qpv", "facilitateurs", "marches", "indicateurs"):
        titles = column_titles(kind)
        for name, title in titles.items():
            assert "_" not in title and title[:1].isupper(), (kind, name, title)


# an import's counts as the history writes them (the Données page and `cli.py history`)
HISTORY_COUNTS = [
    ({"lus": 30, "hors_region": 0, "gardes": 30}, "30 lus, 30 gardés"),
    ({"lus": 1, "gardes": 1}, "1 lu, 1 gardé"),
    ({"lus": 7, "concessions": 1, "hors_region": 1, "gardes": 6, "non_localisables": 3,
      "concessions_non_localisables": 1}, "7 lus (dont 1 concession), 6 gardés, 1 hors région, 3 non localisables"),
    ({"lus": 13, "gardes": 8, "hors_region": 2, "hors_champ": 2, "doublons": 1},
     "13 lus, 8 gardés, 2 hors région, 2 hors champ, 1 en double"),
    ({"lus": 2, "gardes": 0}, "2 lus, 0 gardé"),
    ({"perimetres_lus": 10, "structures": 9, "perimetres": 10, "lus": 19, "gardes": 19}, "9 structures, 10 périmètres"),
    ({"lus": 1754, "gardes": 1754}, "1\u202f754 lus, 1\u202f754 gardés"),
    ({}, ""),  # a restoration records no count
    ({"lus": "abc", "flag": True}, ""),  # nothing but numbers is a count
]


def test_the_history_says_what_became_of_the_rows_in_a_few_words():
    from data.report import counts_summary

    for counts, text in HISTORY_COUNTS:
        assert counts_summary(counts) == text, counts


def test_the_history_table_and_the_cli_say_the_same(tmp_path, monkeypatch):
    """Seven columns at most, in French, whose « Lignes » is the summary; the CLI prints the same words."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from data.store import workspaces
    from tests import region_workspace
    from views.columns import history_frame

    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path))
    slug = region_workspace.build()
    table = history_frame(workspaces.history(slug))
    assert list(table.columns) == ["Version", "Date", "Action", "Fichier", "Lignes", "Millésime"]  # nobody to name
    assert table["Version"].tolist() == [4, 3, 2, 1]  # newest first
    markets = table.iloc[0]
    assert markets["Action"] == "import : marchés" and markets["Fichier"] == "decp_centre.json"
    assert markets["Lignes"].startswith("7 lus (dont 1 concession), 6 gardés, 1 hors région")
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, str(root / "cli.py"), "history", "--workspace", slug], capture_output=True,
                         text=True, cwd=root, env={**os.environ, "DIAG_DONNEES": str(tmp_path)})
    assert out.returncode == 0 and markets["Lignes"] in out.stdout and "import : marchés" in out.stdout
    assert "gardes" not in out.stdout and "hors_region" not in out.stdout  # no key of the store
