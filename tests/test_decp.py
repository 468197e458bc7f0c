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


# ---------------------------------------------------------------------------------------------
# Values checked where they enter, in every market format (the probe's files)

RECORDS = [  # ok, infinite amount, negative amount, impossible date
    ("M1", "1000", "2024-03-01"), ("M2", "1e400", "2024-03-01"), ("M3", "-5", "2024-03-01"),
    ("M4", "2000", "2024-13-45"),
]


def probe_file(shape: str, records=RECORDS) -> tuple[Upload, str, str, str, int]:
    """The markets in ``shape``: (file, amount field, date field, unit, number of the first market)."""
    if shape in ("json2024", "json2022"):
        items = ",".join(
            f'{{"id": "{i}", "objet": "x", "montant": {m}, "dateNotification": "{d}", '
            f'"lieuExecution": {{"code": "31555", "typeCode": "Code commune"}}, '
            f'"considerationsSociales": {{"considerationSociale": ["Clause sociale"]}}}}' for i, m, d in records)
        text = f'{{"marches": {{"marche": [{items}]}}}}' if shape == "json2024" else f'{{"marches": [{items}]}}'
        return Upload("decp.json", text.encode()), "montant", "dateNotification", "marché", 1
    if shape in ("csv", "parquet"):
        df = pd.DataFrame({"uid": [r[0] for r in records], "montant": [r[1] for r in records],
                           "dateNotification": [r[2] for r in records], "lieuExecution_code": "31555",
                           "lieuExecution_typeCode": "Code commune", "considerationsSociales": "Clause sociale"})
        if shape == "csv":
            return Upload("decp.csv", df.to_csv(index=False).encode()), "montant", "dateNotification", "ligne", 2
        buf = io.BytesIO()
        df.assign(montant=df["montant"].astype(float)).to_parquet(buf)
        return Upload("decp.parquet", buf.getvalue()), "montant", "dateNotification", "marché", 1
    text = "id_marche;montant_ht;date;lieu_type;lieu_code;considerations_sociales\n" + "".join(
        f"{i};{m};{d};commune;31555;Clause sociale\n" for i, m, d in records)
    return Upload("marches.csv", text.encode()), "montant_ht", "date", "ligne", 2


@pytest.mark.parametrize("shape", ["json2024", "json2022", "csv", "parquet", "table"])
def test_amounts_and_dates_are_checked_in_every_market_format(shape):
    src, amount, date, unit, first = probe_file(shape)
    loaded = validate("marches", [src])
    assert not loaded.ok
    issues = {(i.level, i.line, i.column): i for i in loaded.report.issues}
    infinite = issues[("erreur", first + 1, amount)]
    assert "infini" in infinite.message or "fini" in infinite.message
    negative = issues[("avertissement", first + 2, amount)]
    assert "négatif" in negative.message and "gardé" in negative.message and "−5" in negative.message
    bad_date = issues[("erreur", first + 3, date)]
    assert "date invalide « 2024-13-45 »" in bad_date.message
    assert all(i.unit == unit for i in issues.values() if i.line), loaded.report.text()
    text = loaded.report.text()
    assert f"{src.name}, {unit} {first + 1}, colonne « {amount} »" in text  # the record and the field, named
    # the same markets without the errors: accepted, the negative amount kept as unknown, never below 0
    kept = validate("marches", [probe_file(shape, [r for r in RECORDS if r[0] in ("M1", "M3")])[0]])
    assert kept.ok, kept.report.text()
    m = kept.tables["marches"].set_index("id_marche")["montant_ht"]
    assert m["M1"] == 1000 and pd.isna(m["M3"])


def test_an_absurd_amount_is_refused_with_its_market():
    src = decp_json([{**DIRTY[0], "montant": 4.2e12}])
    loaded = validate("marches", [src])
    assert not loaded.ok
    (issue,) = loaded.report.errors
    assert (issue.line, issue.column) == (1, "montant") and "aberrant" in issue.message and "A1" in issue.message


def test_decp_records_of_wrong_types_are_named_with_their_field():
    records = [DIRTY[0], {**DIRTY[1], "lieuExecution": "Toulouse"}, {**DIRTY[2], "montant": True},
               {**DIRTY[3], "id": ["x"]}, "pas un marché", {**DIRTY[0], "id": "B1", "dateNotification": 20240101}]
    loaded = validate("marches", [decp_json(records)])
    assert not loaded.ok
    got = {(i.line, i.column) for i in loaded.report.errors}
    assert {(2, "lieuExecution"), (3, "montant"), (4, "id"), (5, None), (6, "dateNotification")} <= got
    text = loaded.report.text()
    assert "decp.json, marché 2, colonne « lieuExecution » : le champ « lieuExecution » doit être un objet" in text
    assert "(reçu : un texte) (identifiant « A2 »)" in text and "un marché doit être un objet JSON" in text
