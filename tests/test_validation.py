"""Every parser and rule, with tables of valid and invalid examples.

The bad-file corpus has one defect per file; each must be refused (or warned about) with a
message naming the right line (header = line 1) and column.
"""

import io
import subprocess
import sys
import zipfile

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely

from tests.conftest import ROOT
from data.formats.tables import sniff_separator
from data.formats.upload import Upload
from data.formats.cells import parse_dates, parse_numbers
from data.validation import validate

STRUCTURES = ("id_structure;nom;type_structure;code_commune;nb_facilitateurs;etp\n"
              "S1;PLIE Nord;PLIE;31555;2;1,5\n"
              "S2;MDE Sud;MDE;31069;1;1\n")
PERIMETRES = ("id_structure;type_territoire;code_territoire\n"
              "S1;epci;243100518\n"
              "S2;commune;31069\n")


def up(name: str, text: str, encoding: str = "utf-8") -> Upload:
    return Upload(name, text.encode(encoding))


def facil(structures: str = STRUCTURES, perimetres: str = PERIMETRES, communes=None):
    return validate("facilitateurs", [up("structures.csv", structures), up("perimetres.csv", perimetres)],
                    communes=communes)


def where(report):
    return [(i.level, i.file, i.line, i.column) for i in report.issues]


@pytest.mark.parametrize("raw,value", [("12", 12.0), ("12,5", 12.5), ("12.5", 12.5), ("12 345,6", 12345.6),
                                       ("1.234,5", 1234.5), ("1,234.5", 1234.5), ("\u202f3\u00a0000", 3000.0),
                                       ("25 %", 25.0), ("-3", -3.0)])
def test_parse_numbers_valid(raw, value):
    num, bad = parse_numbers(pd.Series([raw]))
    assert not bad[0] and num[0] == pytest.approx(value)


@pytest.mark.parametrize("raw", ["douze", "1,2,3x", "N/A", "--"])
def test_parse_numbers_invalid(raw):
    _, bad = parse_numbers(pd.Series([raw]))
    assert bad[0]


@pytest.mark.parametrize("raw,iso", [("2024-03-14", "2024-03-14"), ("14/03/2024", "2024-03-14"),
                                     ("2024-03-14T10:00:00", "2024-03-14"), ("2024-03-14+02:00", "2024-03-14")])
def test_parse_dates_valid(raw, iso):
    out, bad = parse_dates(pd.Series([raw]))
    assert not bad[0] and out.iloc[0] == iso


@pytest.mark.parametrize("raw", ["2024-02-30", "31/31/2024", "hier", "2024-13-01"])
def test_parse_dates_invalid(raw):
    _, bad = parse_dates(pd.Series([raw]))
    assert bad[0]


@pytest.mark.parametrize("text,sep", [("a;b;c\n1;2;3", ";"), ("a,b,c\n1,2,3", ","), ("a\tb\n1\t2", "\t")])
def test_sniff_separator(text, sep):
    assert sniff_separator(text) == sep


def test_valid_facilitators_are_accepted():
    loaded = facil()
    assert loaded.ok and not loaded.report.issues
    st = loaded.tables["structures"]
    assert st["etp"].tolist() == [1.5, 1.0]
    assert st["code_commune"].tolist() == ["31555", "31069"]


# one defect per file: (structures, perimetres, level, file, line, column, words in the message)
CORPUS = [
    ("missing column", STRUCTURES.replace(";etp", "").replace(";1,5", "").replace(";1\n", "\n"), PERIMETRES,
     "erreur", "structures.csv", 1, "etp", "colonne obligatoire « etp » (Équivalents temps plein) absente"),
    ("wrong type", STRUCTURES.replace("S2;MDE Sud;MDE;31069;1;1", "S2;MDE Sud;MDE;31069;un;1"), PERIMETRES,
     "erreur", "structures.csv", 3, "nb_facilitateurs", "n'est pas un nombre"),
    ("negative FTE", STRUCTURES.replace("31555;2;1,5", "31555;2;-1"), PERIMETRES,
     "erreur", "structures.csv", 2, "etp", "négative"),
    ("FTE above persons", STRUCTURES.replace("31069;1;1", "31069;1;1,5"), PERIMETRES,
     "erreur", "structures.csv", 3, "etp", "ne peuvent pas dépasser"),
    ("duplicate id", STRUCTURES + "S1;Autre;PLIE;31555;1;1\n", PERIMETRES,
     "erreur", "structures.csv", 4, "id_structure", "en double (déjà ligne 2)"),
    ("unknown structure", STRUCTURES, PERIMETRES + "S9;commune;31555\n",
     "erreur", "perimetres.csv", 4, "id_structure", "inconnue"),
    ("structure without perimeter", STRUCTURES + "S3;Asso;Association;31555;1;1\n", PERIMETRES,
     "erreur", "structures.csv", 4, "id_structure", "aucun périmètre"),
    ("unknown type_territoire", STRUCTURES, PERIMETRES.replace("S2;commune", "S2;canton"),
     "erreur", "perimetres.csv", 3, "type_territoire", "valeur inconnue"),
    ("unknown type_structure (descriptive: kept)", STRUCTURES.replace(";PLIE;", ";Club;"), PERIMETRES,
     "avertissement", "structures.csv", None, "type_structure", "« Club » (ligne 2)"),
    ("lost leading zero", STRUCTURES.replace("31069;1;1", "1001;1;1"), PERIMETRES,
     "avertissement", "structures.csv", 3, "code_commune", "complété en « 01001 »"),
    ("empty value", STRUCTURES.replace("S2;MDE Sud", "S2;"), PERIMETRES,
     "erreur", "structures.csv", 3, "nom", "valeur obligatoire manquante"),
]


@pytest.mark.parametrize("case,structures,perimetres,level,file,line,column,words", CORPUS,
                         ids=[c[0] for c in CORPUS])
def test_bad_facilitator_files(case, structures, perimetres, level, file, line, column, words):
    loaded = facil(structures, perimetres)
    hits = [i for i in loaded.report.issues if (i.level, i.file, i.line, i.column) == (level, file, line, column)]
    assert hits, f"{case}: {where(loaded.report)}"
    assert any(words in i.message for i in hits)
    assert loaded.ok == (level == "avertissement")


def test_unknown_perimeter_code_against_the_referentiel():
    communes = pd.DataFrame({"code_insee": ["31555", "31069"], "epci_siren": ["243100518", "243100518"],
                             "dep": ["31", "31"], "reg": ["76", "76"], "ze2020": ["7613", "7613"]})
    loaded = facil(perimetres=PERIMETRES + "S1;epci;200000000\n", communes=communes)
    assert ("erreur", "perimetres.csv", 4, "code_territoire") in where(loaded.report)
    assert facil(communes=communes).ok


MARCHES = ("id_marche;objet;acheteur;type_acheteur;montant_ht;date;statut;lieu_type;lieu_code;"
           "considerations_sociales;heures_insertion\n"
           "M1;Travaux;Ville;Collectivité territoriale;125 000,50;2024-03-14;en cours;commune;31555;"
           "Clause sociale;1200\n"
           "M2;Nettoyage;État;État;90000;14/02/2025;terminé;departement;31;Clause sociale;Critère social;300\n")


def test_unlocatable_market_places_each_get_a_line_and_are_kept():
    """Nothing vanishes silently: a social market whose place designates no commune of the référentiel
    is kept (« non localisable ») and named, line by line; a market without a social clause is not
    diagnosed, so its place is not looked at."""
    communes = pd.DataFrame({"code_insee": ["31555", "31069"], "epci_siren": ["243100518", "243100518"],
                             "dep": ["31", "31"], "reg": ["76", "76"], "ze2020": ["7613", "7613"],
                             "population": [500000, 10000], "codes_postaux": ["31000;31100", "31150"]})
    header = MARCHES.split("\n")[0] + "\n"
    rows = ("A;O;A;Commune;1;2024-01-01;en cours;commune;31555;Clause sociale;\n"
            "B;O;A;Commune;1;2024-01-01;en cours;commune;99999;Clause sociale;\n"
            "C;O;A;Commune;1;2024-01-01;en cours;code_postal;31999;Clause sociale;\n"
            "D;O;A;Commune;1;2024-01-01;en cours;commune;00000;Sans objet;\n"
            "E;O;A;Commune;1;2024-01-01;en cours;code_postal;31150;Marché réservé;\n")
    loaded = validate("marches", [up("marches.csv", header + rows)], communes=communes, region="76")
    assert loaded.ok, loaded.report.text()
    assert loaded.tables["marches"]["id_marche"].tolist() == ["A", "B", "C", "D", "E"]  # all kept
    hits = [i for i in loaded.report.warnings if "non localisable" in i.message]
    assert [(i.line, i.column) for i in hits] == [(3, "lieu_code"), (4, "lieu_code")]
    assert "commune inconnue (99999)" in hits[0].message and "code postal inconnu (31999)" in hits[1].message
    assert loaded.counts["non_localisables"] == 2
    # without a référentiel (the command line's validate), nothing is said of places
    assert "non_localisables" not in validate("marches", [up("marches.csv", header + rows)]).counts


# Buyer types as people write them (DOMAIN.md, "Strict and lenient columns"): (written, canonical)
BUYER_SPELLINGS = [
    ("Commune", "Commune, EPCI et établissement public local"),
    ("EPCI", "Commune, EPCI et établissement public local"),
    ("Commune / EPCI", "Commune, EPCI et établissement public local"),
    ("Département", "Département"),
    ("Conseil départemental", "Département"),
    ("Région", "Région"),
    ("Conseil régional", "Région"),
    ("Etat", "État et services déconcentrés"),
    ("Établissement public national", "Établissement public national"),
    ("OPH", "Bailleur social"),
    ("SEM", "Société d'économie mixte"),
    ("Entreprise publique", "Entreprise publique"),
    ("CPAM", "Organisme de sécurité sociale"),
    ("Autre", "Autre"),
    # the words people put around the category
    ("Mairie de Foix", "Commune, EPCI et établissement public local"),
    ("Ville de Toulouse", "Commune, EPCI et établissement public local"),
    ("Toulouse Métropole", "Toulouse Métropole"),  # a name, not a category: kept as written, warned
    ("Région Occitanie", "Région"),
    ("OPH de l'Ariège", "Bailleur social"),
    ("Préfecture du Gers", "État et services déconcentrés"),
]


def test_buyer_types_as_people_write_them():
    rows = "".join(f"M{i};Objet;Acheteur;{written};1000;2024-01-0{1 + i % 9};en cours;commune;31555;Clause sociale;\n"
                   for i, (written, _) in enumerate(BUYER_SPELLINGS))
    rows += "MX;Objet;Acheteur;Groupement hospitalier;1000;2024-01-01;annulé;commune;31555;Clause sociale;\n"
    loaded = validate("marches", [up("marches.csv", MARCHES.split("\n")[0] + "\n" + rows)])
    assert loaded.ok, loaded.report.text()
    m = loaded.tables["marches"]
    assert m["type_acheteur"].tolist() == [c for _, c in BUYER_SPELLINGS] + ["Groupement hospitalier"]
    assert m["statut"].iloc[-1] == "annulé"  # descriptive: kept as written
    warnings = [i for i in loaded.report.warnings if i.column == "type_acheteur"]
    assert len(warnings) == 1 and "Groupement hospitalier" in warnings[0].message  # one summarised warning
    assert any(i.column == "statut" and "annulé" in i.message for i in loaded.report.warnings)


# Structure types as teams write them: (written, canonical; None = kept as written with one warning)
STRUCTURE_SPELLINGS = [
    ("PLIE", "PLIE"), ("Plan local pour l'insertion et l'emploi", "PLIE"), ("Maison de l'emploi", "MDE"),
    ("Maison de l'Emploi et de la Solidarité", "MDE"), ("Asso loi 1901", "Association"),
    ("association", "Association"), ("Communauté d'agglo", "EPCI"), ("Intercommunalité", "EPCI"),
    ("Métropole", "EPCI"), ("Conseil départemental", "Département"), ("Région", "Région"),
    ("Régie de quartier", None), ("Club", None),
]


def test_structure_types_as_teams_write_them():
    rows = "".join(f"S{i};Structure {i};{written};31555;1;1\n" for i, (written, _) in enumerate(STRUCTURE_SPELLINGS))
    perimetres = "id_structure;type_territoire;code_territoire\n" + "".join(
        f"S{i};commune;31555\n" for i in range(len(STRUCTURE_SPELLINGS)))
    loaded = facil(STRUCTURES.split("\n")[0] + "\n" + rows, perimetres)
    assert loaded.ok, loaded.report.text()
    assert loaded.tables["structures"]["type_structure"].tolist() == [
        canon or written for written, canon in STRUCTURE_SPELLINGS]
    warnings = [i for i in loaded.report.warnings if i.column == "type_structure"]
    assert len(warnings) == 1 and "Régie de quartier" in warnings[0].message and "Club" in warnings[0].message


def test_headers_as_the_templates_label_them_or_people_write_them():
    """« Nom de la structure » is the template's own label for ``nom``: a team that typed its headers
    from the template, or in its own words, is not refused."""
    structures = ("Identifiant de la structure;Nom de la structure;Type de structure;Commune d'implantation;"
                  "Nombre de facilitateurs;ETP\n" + "\n".join(STRUCTURES.split("\n")[1:]))
    perimetres = "Identifiant de la structure;Type de territoire;Code du territoire\n" + "\n".join(
        PERIMETRES.split("\n")[1:])
    loaded = facil(structures, perimetres)
    assert loaded.ok and not loaded.report.issues, loaded.report.text()
    assert loaded.tables["structures"]["nom"].tolist() == ["PLIE Nord", "MDE Sud"]
    # a header nobody can read as « nom »: refused, the message names the column and the headers found
    bad = facil(structures.replace("Nom de la structure", "Libellé court"), perimetres)
    issue = next(i for i in bad.report.errors if i.column == "nom")
    assert issue.line == 1 and "« nom » (Nom de la structure)" in issue.message
    assert "« Libellé court »" in issue.message


def test_qpv_cell_with_several_codes_is_a_list():
    text = "code_qp;nom_qp;code_commune;population\nQN03101M, QN03102M;Mirail;31555;4000\nXX1;Autre;31555;100\n"
    loaded = validate("qpv", [up("qpv.csv", text)])
    assert loaded.ok and loaded.tables["qpv"]["code_qp"].iloc[0] == "QN03101M;QN03102M"
    odd = [i for i in loaded.report.warnings if "inhabituel" in i.message]
    assert [i.line for i in odd] == [3]


def test_market_table_valid_and_multi_considerations():
    text = MARCHES.replace("Clause sociale;Critère social;300", "\"Clause sociale;Critère social\";300")
    loaded = validate("marches", [up("marches.csv", text)])
    assert loaded.ok, loaded.report.text()
    m = loaded.tables["marches"]
    assert m["montant_ht"].tolist() == [125000.5, 90000.0]
    assert m["date"].tolist() == ["2024-03-14", "2025-02-14"]
    assert m["considerations_sociales"].tolist() == ["Clause sociale", "Clause sociale;Critère social"]


# « no social consideration » as people write it: the market is counted, never diagnosed
CONSIDERATION_SPELLINGS = [
    ("Clause sociale", "Clause sociale", True),
    ("clause sociale ; critère social", "Clause sociale;Critère social", True),
    ("Marche reserve", "Marché réservé", True),
    ("Sans objet", "Pas de considération sociale", False),
    ("SANS OBJET", "Pas de considération sociale", False),
    ("Aucune", "Pas de considération sociale", False),
    ("Néant", "Pas de considération sociale", False),
    ("Pas de considération sociale", "Pas de considération sociale", False),
    ("", "", False),
]


def test_social_considerations_as_people_write_them():
    from geo.markets import has_social_consideration

    header = MARCHES.split("\n")[0] + "\n"
    rows = "".join(f"M{i};Objet;Acheteur;Commune;1000;2024-01-01;en cours;commune;31555;\"{written}\";\n"
                   for i, (written, _, _) in enumerate(CONSIDERATION_SPELLINGS))
    loaded = validate("marches", [up("marches.csv", header + rows)])
    assert loaded.ok, loaded.report.text()
    m = loaded.tables["marches"]
    assert m["considerations_sociales"].tolist() == [c for _, c, _ in CONSIDERATION_SPELLINGS]
    assert has_social_consideration(m["considerations_sociales"]).tolist() == [s for _, _, s in CONSIDERATION_SPELLINGS]
    # a value an earlier import kept as written is not a social consideration either
    stored = pd.Series(["Sans objet", "Clause sociale;Sans objet", None, "Pas de considération sociale"])
    assert has_social_consideration(stored).tolist() == [False, True, False, False]


@pytest.mark.parametrize("old,new,column,words", [
    (";commune;31555;", ";canton;31555;", "lieu_type", "valeur inconnue"),
    (";Clause sociale;1200", ";Clause verte;1200", "considerations_sociales", "valeur inconnue"),
    (";2024-03-14;", ";2024-02-30;", "date", "date invalide"),
    (";125 000,50;", ";inf;", "montant_ht", "n'est pas un nombre fini"),
    (";125 000,50;", ";1e400;", "montant_ht", "n'est pas un nombre fini"),
    (";125 000,50;", ";3e12;", "montant_ht", "aberrant"),
])
def test_bad_market_files(old, new, column, words):
    text = MARCHES.replace("Clause sociale;Critère social;300", "\"Clause sociale;Critère social\";300")
    loaded = validate("marches", [up("marches.csv", text.replace(old, new))])
    assert not loaded.ok
    hit = [i for i in loaded.report.errors if i.line == 2 and i.column == column]
    assert hit and words in hit[0].message, loaded.report.text()


def test_market_codes_lost_zero_repaired_with_warning():
    text = MARCHES.replace(";commune;31555;", ";commune;1001;").replace(
        "Clause sociale;Critère social;300", "\"Clause sociale\";300")
    loaded = validate("marches", [up("marches.csv", text)])
    assert loaded.ok
    assert loaded.tables["marches"]["lieu_code"].iloc[0] == "01001"
    assert ("avertissement", "marches.csv", 2, "lieu_code") in where(loaded.report)


INDICATEURS = ("annee;territoire;tableau;dimension;modalite;mesure;valeur\n"
               "2024;76;T03;secteur;BTP;marches;120\n"
               "2024;FR;T03;secteur;BTP;marches;4500\n")


@pytest.mark.parametrize("old,new,column,words", [
    (";T03;secteur;BTP;marches;120", ";T19;secteur;BTP;marches;120", "tableau", "valeur inconnue"),
    (";BTP;marches;120", ";BTP;euros;120", "mesure", "valeur inconnue"),
    ("2024;76;", "deux;76;", "annee", "n'est pas un nombre"),
    ("2024;76;", "2024;Occitanie;", "territoire", "invalide"),
    (";marches;120", ";marches;-1", "valeur", "négative"),
])
def test_bad_indicator_files(old, new, column, words):
    loaded = validate("indicateurs", [up("indicateurs.csv", INDICATEURS.replace(old, new))])
    hit = [i for i in loaded.report.errors if i.line == 2 and i.column == column]
    assert hit and words in hit[0].message, loaded.report.text()


def test_empty_and_unreadable_files():
    assert "vide" in validate("marches", [up("m.csv", "")]).report.errors[0].message
    assert "aucune ligne" in validate("marches", [up("m.csv", "id_marche;lieu_type;lieu_code\n")]).report.errors[0].message
    bad = validate("indicateurs", [Upload("i.xlsx", b"PK\x03\x04 not really a workbook")])
    assert not bad.ok and "illisible" in bad.report.errors[0].message


def test_windows_1252_semicolon_decimal_comma():
    text = STRUCTURES.replace("PLIE Nord", "PLIE Béziers Méditerranée")
    loaded = validate("facilitateurs", [up("structures.csv", text, "cp1252"), up("perimetres.csv", PERIMETRES, "cp1252")])
    assert loaded.ok
    assert loaded.tables["structures"]["nom"].iloc[0] == "PLIE Béziers Méditerranée"
    assert loaded.tables["structures"]["etp"].iloc[0] == 1.5


def xlsx(sheets: dict[str, list[list]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_where_excel_turned_codes_into_numbers():
    data = xlsx({"structures": [["id_structure", "nom", "type_structure", "code_commune", "nb_facilitateurs", "etp"],
                                ["S1", "PLIE", "PLIE", 1001, 2, 1.5]],
                 "perimetres": [["id_structure", "type_territoire", "code_territoire"], ["S1", "departement", 1],
                                ["S1", "commune", 1053]]})
    loaded = validate("facilitateurs", [Upload("facilitateurs.xlsx", data)])
    assert loaded.ok, loaded.report.text()
    assert loaded.tables["structures"]["code_commune"].iloc[0] == "01001"
    assert loaded.tables["perimetres"]["code_territoire"].tolist() == ["01", "01053"]
    assert {(i.line, i.column) for i in loaded.report.warnings} >= {(2, "code_commune"), (2, "code_territoire"),
                                                                    (3, "code_territoire")}


def test_xlsx_missing_sheet():
    data = xlsx({"structures": [["id_structure"], ["S1"]]})
    loaded = validate("facilitateurs", [Upload("facilitateurs.xlsx", data)])
    assert not loaded.ok and "perimetres" in loaded.report.errors[0].message


def test_official_column_names_are_aliases():
    text = "CODGEO;LIBGEO;DEP;REG;pop_mun;ZE2020;LIBZE2020\n31555;Toulouse;31;76;504078;7613;Toulouse\n"
    loaded = validate("communes", [up("communes.csv", text)])
    assert loaded.ok
    c = loaded.tables["communes"]
    assert c[["code_insee", "nom", "population", "ze2020"]].iloc[0].tolist() == ["31555", "Toulouse", 504078, "7613"]


def test_commune_code_lost_zero_and_duplicates():
    text = "code_insee;nom\n1001;L'Abergement\n01001;Doublon\n"
    loaded = validate("communes", [up("communes.csv", text)])
    assert ("avertissement", "communes.csv", 2, "code_insee") in where(loaded.report)
    assert ("erreur", "communes.csv", 3, "code_insee") in where(loaded.report)


def test_blank_rows_do_not_shift_line_numbers():
    text = "code_insee;nom;population\n31555;Toulouse;10\n;;\n31069;Blagnac;-3\n"
    loaded = validate("communes", [up("communes.csv", text)])
    assert ("erreur", "communes.csv", 4, "population") in where(loaded.report)


def geo_file(tmp_path, gdf, name, driver=None):
    path = tmp_path / name
    gdf.to_file(path, driver=driver) if driver else gdf.to_parquet(path)
    return path


QPV_GDF = gpd.GeoDataFrame({"code_qp": ["QN03101M", "QN03102M"], "nom_qp": ["Mirail", "Izards"],
                            "population": [4000, 2500]},
                           geometry=[shapely.box(570_000, 6_275_000, 571_000, 6_276_000),
                                     shapely.box(575_000, 6_285_000, 576_000, 6_286_000)], crs="EPSG:2154")


@pytest.mark.parametrize("name,driver", [("qpv.gpkg", "GPKG"), ("qpv.geojson", "GeoJSON"), ("qpv.parquet", None)])
def test_geographic_formats_reprojected_to_lambert93(tmp_path, name, driver):
    gdf = QPV_GDF.to_crs("EPSG:4326") if driver == "GeoJSON" else QPV_GDF
    loaded = validate("qpv", [geo_file(tmp_path, gdf, name, driver)])
    assert loaded.ok, loaded.report.text()
    q = loaded.tables["qpv"]
    assert q.crs.to_epsg() == 2154
    assert q.geometry.area.iloc[0] == pytest.approx(1_000_000, rel=1e-3)


def test_zipped_shapefile_and_missing_crs(tmp_path):
    shp = tmp_path / "shp"
    shp.mkdir()
    QPV_GDF.to_file(shp / "qpv.shp")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in shp.iterdir():
            zf.write(f, f.name)
    assert validate("qpv", [Upload("qpv.zip", buf.getvalue())]).ok
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for f in shp.iterdir():
            if f.suffix != ".prj":
                zf.write(f, f.name)
    refused = validate("qpv", [Upload("qpv.zip", buf.getvalue())])
    assert not refused.ok and "système de coordonnées" in refused.report.errors[0].message


def test_geoparquet_without_crs_is_refused(tmp_path):
    gdf = QPV_GDF.set_crs(None, allow_override=True)
    refused = validate("qpv", [geo_file(tmp_path, gdf, "qpv.parquet")])
    assert not refused.ok and "CRS" in refused.report.errors[0].message


def test_invalid_geometry_repaired_and_reported(tmp_path):
    bowtie = shapely.Polygon([(570_000, 6_275_000), (571_000, 6_276_000), (571_000, 6_275_000),
                              (570_000, 6_276_000)])
    gdf = QPV_GDF.copy()
    gdf.loc[1, "geometry"] = bowtie
    loaded = validate("qpv", [geo_file(tmp_path, gdf, "qpv.gpkg", "GPKG")])
    assert loaded.ok
    assert ("avertissement", "qpv.gpkg", 2, None) in where(loaded.report)
    assert loaded.tables["qpv"].geometry.is_valid.all()


def test_report_caps_repeated_messages():
    rows = "\n".join(f"{31000 + i};C{i};x" for i in range(60))
    loaded = validate("communes", [up("c.csv", "code_insee;nom;population\n" + rows)])
    assert len(loaded.report.errors) == 21
    assert "40 autres lignes" in loaded.report.errors[-1].message


def run_cli(*args):
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def test_cli_validate_exit_codes(tmp_path):
    (tmp_path / "structures.csv").write_text(STRUCTURES.replace("31069;1;1", "31069;1;3"), encoding="utf-8")
    (tmp_path / "perimetres.csv").write_text(PERIMETRES, encoding="utf-8")
    bad = run_cli("validate", "--kind", "facilitateurs", str(tmp_path))
    assert bad.returncode == 1 and "structures.csv, ligne 3, colonne « etp »" in bad.stdout
    assert "Traceback" not in bad.stdout + bad.stderr
    (tmp_path / "structures.csv").write_text(STRUCTURES, encoding="utf-8")
    assert run_cli("validate", "--kind", "facilitateurs", str(tmp_path)).returncode == 0
    missing = run_cli("validate", "--kind", "qpv", str(tmp_path / "absent.geojson"))
    assert missing.returncode == 1 and "introuvable" in missing.stderr and "Traceback" not in missing.stderr


def test_one_workbook_whatever_its_name():
    data = xlsx({"structures": [["id_structure", "nom", "type_structure", "code_commune", "nb_facilitateurs", "etp"],
                                ["S1", "PLIE", "PLIE", "31555", 2, 1.5]],
                 "perimetres": [["id_structure", "type_territoire", "code_territoire"], ["S1", "departement", "31"]]})
    assert validate("facilitateurs", [Upload("structures_et_perimetres_2025.xlsx", data)]).ok


def test_facilitator_files_not_recognised():
    loaded = validate("facilitateurs", [up("a.csv", STRUCTURES), up("b.csv", PERIMETRES)])
    assert not loaded.ok and "structures.csv et perimetres.csv" in loaded.report.errors[0].message


def test_qpv_table_with_several_communes_per_quartier():
    text = "code_qp;lib_qp;insee_com;population\nQN07501I;Porte;75101,75102;3000\nQN00101A;Gare;1053;1200\n"
    loaded = validate("qpv", [up("qpv.csv", text)])
    assert loaded.ok, loaded.report.text()
    assert loaded.tables["qpv"]["code_commune"].tolist() == ["75101;75102", "01053"]
    assert ("avertissement", "qpv.csv", 3, "code_commune") in where(loaded.report)
    bad = validate("qpv", [up("qpv.csv", text.replace("75101,75102", "75101,7A"))])
    assert ("erreur", "qpv.csv", 2, "code_commune") in where(bad.report)


def test_unexpected_failure_becomes_a_report(monkeypatch):
    import data.validation.rules as V

    def boom(src):
        raise RuntimeError("défaut interne")

    monkeypatch.setattr(V, "validate_communes", boom)
    loaded = validate("communes", [up("c.csv", "code_insee;nom\n31555;Toulouse\n")])
    message = loaded.report.errors[0].message
    assert not loaded.ok and "lecture impossible" in message
    assert "défaut interne" not in message and "RuntimeError" not in message  # French only; the detail is logged
    assert loaded.report.errors[0].file == "c.csv"


# ---------------------------------------------------------------------------------------------
# Geographic files: several layers, coordinates that do not fit their coordinate system (the probe's files)


def probe_layers(folder) -> dict[str, "Path"]:
    """A QPV in Lambert-93 written four ways: a GeoPackage of two layers, a GeoJSON without its ``crs``
    member (a common mistake: read as WGS84), one declaring Web Mercator with absurd coordinates, and a
    GeoJSON in WGS84 as the standard wants."""
    import json

    g = gpd.GeoDataFrame({"code_qp": ["QN03101M"], "nom_qp": ["Quartier"], "code_commune": ["31555"],
                          "population": [1200]},
                         geometry=[shapely.box(574_000, 6_279_000, 574_500, 6_279_500)], crs="EPSG:2154")
    paths = {"gpkg": folder / "deux_couches.gpkg", "l93": folder / "qpv_l93_sans_crs.geojson",
             "absurd": folder / "qpv_crs_absurde.geojson", "wgs84": folder / "qpv_wgs84.geojson"}
    g.to_file(paths["gpkg"], layer="qpv_2024")
    g.assign(code_qp="QP031001").to_file(paths["gpkg"], layer="qpv_2015")
    doc = json.loads(g.to_json())
    doc.pop("crs", None)
    paths["l93"].write_text(json.dumps(doc), encoding="utf-8")
    doc = json.loads(g.to_crs("EPSG:3857").to_json())
    doc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}
    for feature in doc["features"]:
        feature["geometry"]["coordinates"] = [[[x * 1e4, y * 1e4] for x, y in ring]
                                              for ring in feature["geometry"]["coordinates"]]
    paths["absurd"].write_text(json.dumps(doc), encoding="utf-8")
    g.to_crs("EPSG:4326").to_file(paths["wgs84"])
    return paths


def test_a_geopackage_of_several_layers_is_read_from_the_layer_asked_for(tmp_path):
    paths = probe_layers(tmp_path)
    asked = validate("qpv", [paths["gpkg"]])
    assert not asked.ok and asked.layers == ["qpv_2024", "qpv_2015"]
    assert "contient 2 couches (« qpv_2024 », « qpv_2015 ») : indiquez celle à importer" in asked.report.text()
    chosen = validate("qpv", [paths["gpkg"]], layer="qpv_2015")
    assert chosen.ok and chosen.tables["qpv"]["code_qp"].tolist() == ["QP031001"]
    assert "seule la couche « qpv_2015 » est lue (« qpv_2024 » ne l'est pas)" in chosen.report.text()
    wrong = validate("qpv", [paths["gpkg"]], layer="qpv_2030")
    assert not wrong.ok and "la couche « qpv_2030 » n'existe pas" in wrong.report.text()


def test_coordinates_that_do_not_fit_their_coordinate_system_are_refused_saying_why(tmp_path):
    paths = probe_layers(tmp_path)
    l93 = validate("qpv", [paths["l93"]])
    assert not l93.ok
    (issue,) = l93.report.errors
    assert issue.line == 1 and issue.unit == "entité"
    assert "WGS84 (EPSG:4326)" in issue.message and "ne déclare pas de système de coordonnées" in issue.message
    assert "(574\u202f500 ; 6\u202f279\u202f000)" in issue.message  # box() starts at its south-east corner and "ressemblent à du Lambert-93" in issue.message
    absurd = validate("qpv", [paths["absurd"]])
    assert not absurd.ok
    assert "déclare le système de coordonnées WGS 84 / Pseudo-Mercator (EPSG:3857)" in absurd.report.text()
    assert "qui ne correspond à aucun lieu dans ce système" in absurd.report.text()
    good = validate("qpv", [paths["wgs84"]])
    assert good.ok, good.report.text()
    assert good.tables["qpv"].geometry.iloc[0].centroid.distance(shapely.Point(574_250, 6_279_250)) < 1
    # Lambert-93 holds the DROM far from the mainland, but holds them: a Réunion commune stays a place
    from data import referentiel

    if referentiel.available():
        reunion = referentiel.region_communes("04").head(2)
        reunion.to_file(tmp_path / "reunion.gpkg", layer="communes")
        assert validate("communes", [tmp_path / "reunion.gpkg"]).ok


def test_the_probe_files_get_french_messages_from_the_command_line_and_never_a_traceback(tmp_path):
    """One run of the command line per file (in one interpreter, as many runs of ``cli.py``)."""
    from tests.test_decp import probe_file

    paths = probe_layers(tmp_path)
    decp = tmp_path / "decp.json"
    decp.write_bytes(probe_file("json2024")[0].data)
    runs = [["validate", "--kind", "marches", str(decp)], ["validate", "--kind", "qpv", str(paths["gpkg"])],
            ["validate", "--kind", "qpv", "--layer", "qpv_2015", str(paths["gpkg"])],
            ["validate", "--kind", "qpv", str(paths["l93"])], ["validate", "--kind", "qpv", str(paths["absurd"])],
            ["import", "--workspace", "Sonde", "--kind", "qpv", str(paths["l93"])],
            ["restore", "--workspace", "Sonde", "--version", "deux"], ["import", "--kind", "qpv"]]
    driver = ("import sys, cli\nfor args in " + repr(runs) + ":\n"
              "    try:\n        code = cli.main(args)\n    except SystemExit as exc:\n        code = exc.code\n"
              "    print('CODE', code, flush=True)\n    print('CODE', code, file=sys.stderr, flush=True)\n")
    done = subprocess.run([sys.executable, "-W", "default", "-c", driver], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**__import__("os").environ, "DIAG_DONNEES": str(tmp_path / "store")})
    out, err = done.stdout, done.stderr
    assert "Traceback" not in out + err and "Warning" not in err and "GEOS" not in out + err, err[-3000:]
    assert [line.split()[1] for line in out.splitlines() if line.startswith("CODE")] == \
        ["1", "1", "0", "1", "1", "1", "2", "2"], out + err
    assert "decp.json, marché 2, colonne « montant »" in out and "date invalide « 2024-13-45 »" in out
    assert "indiquez celle à importer" in out and "Choisissez la couche avec --layer" in err
    assert "seule la couche « qpv_2015 » est lue" in out
    assert out.count("ressemblent à du Lambert-93") == 2 and "Pseudo-Mercator (EPSG:3857)" in out
    assert "« --version » : valeur invalide : 'deux' (un nombre est attendu)" in err
    assert "arguments obligatoires manquants : --workspace, FICHIER" in err and "usage:" not in err
    assert "error:" not in err and "utilisation : cli.py import" in err
