"""DECP as published: JSON 2022/2024 and the consolidated tabular file, with the known dirt."""

import io
import json

import pandas as pd
import pytest

from data.formats.decp import looks_like_decp, place_type, social_considerations
from data.formats.upload import Upload
from data.validation import validate
from geo.markets import classify_markets
from tests.test_engine import tiny_communes, tiny_structures
from geo.diagnosis import build_coverage
from geo.territory import Referentiel


@pytest.mark.parametrize("raw,expected", [("Code commune", "commune"), (" Code canton", "canton"),
                                          ("Code postal ", "code_postal"), ("Code département", "departement"),
                                          ("CODE REGION", "region"), ("Code pays", "pays"),
                                          ("Code arrondissement", "arrondissement")])
def test_place_type(raw, expected):
    assert place_type(raw) == expected


@pytest.mark.parametrize("raw,expected", [
    ({"considerationSociale": ["Clause sociale", "Critère social"]}, "Clause sociale;Critère social"),
    ("Clause sociale, Marché réservé", "Clause sociale;Marché réservé"),
    ("Sans objet", ""), ("Pas de considération sociale", ""), (None, ""), (["critère social"], "Critère social")])
def test_social_considerations(raw, expected):
    assert social_considerations(raw) == expected


def decp_json(records):
    return Upload("decp.json", json.dumps({"marches": {"marche": records}}).encode())


DIRTY = [
    {"id": "A1", "objet": "Voirie", "montant": 100000, "dateNotification": "2024-05-15",
     "acheteur": {"id": "21310555400017"}, "lieuExecution": {"code": 1001, "typeCode": "Code commune"},
     "considerationsSociales": {"considerationSociale": ["Clause sociale", "Critère social"]}},
    {"id": "A2", "objet": "Nettoyage", "montant": 5000, "dateNotification": "2024-06-01",
     "lieuExecution": {"code": "00001", "typeCode": " Code canton"},
     "considerationsSociales": {"considerationSociale": ["Clause sociale"]}},
    {"id": "A3", "objet": "Fournitures", "montant": 2000, "dateNotification": "2024-06-01",
     "lieuExecution": {"code": "00002", "typeCode": "Code commune"},
     "considerationsSociales": {"considerationSociale": ["Sans objet"]}},
    {"id": "A4", "objet": "Bâtiment", "montant": 300000, "dateNotification": "2024-07-01",
     "lieuExecution": {"code": "1100", "typeCode": "Code postal"},
     "considerationsSociales": {"considerationSociale": ["Clause sociale"]}},
]


def test_json_2024_with_dirt():
    src = decp_json(DIRTY)
    assert looks_like_decp(src)
    loaded = validate("marches", [src])
    assert loaded.ok, loaded.report.text()
    m = loaded.tables["marches"].set_index("id_marche")
    assert m.loc["A1", "lieu_code"] == "01001" and m.loc["A1", "lieu_type"] == "commune"
    assert m.loc["A1", "considerations_sociales"] == "Clause sociale;Critère social"
    assert m.loc["A2", "lieu_type"] == "canton"
    assert m.loc["A3", "considerations_sociales"] == ""
    assert m.loc["A4", "lieu_code"] == "01100" and m.loc["A4", "montant_ht"] == 300000


def test_decp_places_classified_with_reasons():
    loaded = validate("marches", [decp_json(DIRTY)])
    c = tiny_communes()
    ref = Referentiel.from_communes(c)
    st, pe = tiny_structures()
    out = classify_markets(ref, build_coverage(ref, st, pe), loaded.tables["marches"]).set_index("id_marche")
    assert out.loc["A2", "couverture"] == "non_localisable" and "canton" in out.loc["A2", "raison"]
    assert out.loc["A1", "couverture"] == "non_localisable" and "commune inconnue" in out.loc["A1", "raison"]
    assert out.loc["A4", "couverture"] == "couvert"
    assert not out.loc["A3", "avec_consideration_sociale"]


def test_json_2022_list_format():
    src = Upload("decp2022.json", json.dumps({"marches": DIRTY[:2]}).encode())
    loaded = validate("marches", [src])
    assert loaded.ok and len(loaded.tables["marches"]) == 2


def test_consolidated_tabular_csv_one_row_per_holder():
    df = pd.DataFrame({
        "uid": ["U1", "U1", "U2"], "acheteur_nom": ["Ville", "Ville", "Région"], "objet": ["a", "a", "b"],
        "montant": [1000, 1000, 2000], "dateNotification": ["2024-01-02"] * 3, "codeCPV": ["45000000"] * 3,
        "considerationsSociales": ["Clause sociale, Critère social", "Clause sociale, Critère social", "Sans objet"],
        "lieuExecution_code": [31555, 31555, 76], "lieuExecution_typeCode": ["Code commune", "Code commune",
                                                                              "Code région "],
        "titulaire_id": ["1", "2", "3"]})
    src = Upload("decp.csv", df.to_csv(index=False).encode())
    loaded = validate("marches", [src])
    assert loaded.ok, loaded.report.text()
    m = loaded.tables["marches"]
    assert m["id_marche"].tolist() == ["U1", "U2"]
    assert m["lieu_type"].tolist() == ["commune", "region"]
    assert m["considerations_sociales"].tolist() == ["Clause sociale;Critère social", ""]


def test_parquet_national_file_cut_to_region_first_and_counted():
    df = pd.DataFrame({"uid": ["a", "b", "c", "d", "e", "f", "g", "h"],
                       "lieuExecution_code": ["31555", "75056", "31", "76", "1001", "99999", "0612", "31069.0"],
                       "lieuExecution_typeCode": ["Code commune", "Code commune", "Code département", "Code région",
                                                  "Code commune", "Code commune", " Code canton", "Code commune"],
                       "considerationsSociales": ["Clause sociale"] * 8})
    buf = io.BytesIO()
    df.to_parquet(buf)
    loaded = validate("marches", [Upload("decp.parquet", buf.getvalue())], region="76")
    assert loaded.ok, loaded.report.text()
    # Paris (11), Ain's 01001 (its zero lost) and a canton of the Alpes-Maritimes (0612) are elsewhere;
    # the unknown 99999 and 31069 written as a float are kept
    assert loaded.tables["marches"]["id_marche"].tolist() == ["a", "c", "d", "f", "h"]
    assert loaded.counts == {"lus": 8, "hors_region": 3, "gardes": 5}
    warning = next(i.message for i in loaded.report.warnings if "hors de la région" in i.message)
    assert "3 marchés situés" in warning and "commune d'une autre région" in warning and "canton" in warning


def test_unreadable_decp():
    loaded = validate("marches", [Upload("decp.json", b'{"marches": {"marche": [')])
    assert not loaded.ok and "illisible" in loaded.report.errors[0].message


def test_official_examples(realdata):
    folder = realdata / "decp" / "exemples_officiels"
    loaded = validate("marches", [folder / "marches_avec_modifications.json"])
    assert loaded.ok, loaded.report.text()
    m = loaded.tables["marches"]
    assert m["id_marche"].tolist() == ["TEST2022", "TEST2022Bis"]
    assert m["lieu_type"].tolist() == ["code_postal", "code_postal"] and m["lieu_code"].iloc[0] == "75000"
    assert m["considerations_sociales"].iloc[0] == "Clause sociale;Critère social"
    both = validate("marches", [folder / "marches_concessions.json"])
    assert both.ok and both.tables["marches"]["id_marche"].tolist()[:2] == ["TEST2022", "TEST2022Bis"]
