"""The cut of a market file to the région (DOMAIN.md, "Markets of a file that covers more than the région").

One example per kind of place, in and out of the région, unknown, canton, arrondissement, Corsica's
postal codes: a market is dropped only when its place positively designates another territory.
"""

import pandas as pd
import pytest

from data.formats.upload import Upload
from data.validation import validate
from geo.places import DEP_REGION, dep_of_place, outside_region

REGION = "76"  # Occitanie: 09 11 12 30 31 32 34 46 48 65 66 81 82

# (place type, code, dropped?)
CASES = [
    ("commune", "31555", False),  # Toulouse
    ("commune", "75056", True),  # Paris
    ("commune", "2A004", True),  # Ajaccio: Corse
    ("commune", "99999", False),  # unknown: kept, non localisable
    ("commune", "00000", False),
    ("commune", "7A001", False),
    ("commune", "97411", True),  # Saint-Denis (La Réunion)
    ("code_postal", "31000", False),
    ("code_postal", "69001", True),
    ("code_postal", "20000", True),  # Ajaccio's postal code: Corse-du-Sud, région 94
    ("code_postal", "20600", True),  # Bastia: Haute-Corse
    ("code_postal", "00000", False),
    ("canton", "3112", False),  # a canton of the région: kept, non localisable
    ("canton", "0612", True),  # a canton of the Alpes-Maritimes
    ("canton", "2A01", True),
    ("arrondissement", "312", False),
    ("arrondissement", "062", True),
    ("departement", "31", False),
    ("departement", "13", True),
    ("departement", "2B", True),
    ("departement", "98", False),  # no such département: kept
    ("region", "76", False),
    ("region", "11", True),
    ("region", "99", False),  # unknown région: kept
    ("pays", "FR", False),
    ("pays", "FRA", False),
    ("pays", "BE", True),
    ("pays", "DEU", True),
    ("pays", "", False),
    ("commune", "31555;75056", False),  # several codes, one in the région: kept
    ("commune", "13055;75056", True),  # every code elsewhere: dropped
    ("inconnu", "31555", False),
]


@pytest.mark.parametrize("place_type,code,dropped", CASES)
def test_cut_rule(place_type, code, dropped):
    out, reason = outside_region(pd.Series([place_type]), pd.Series([code]), REGION)
    assert bool(out[0]) is dropped
    assert (reason.iloc[0] != "") is dropped


def test_corsica_postal_codes():
    assert dep_of_place("code_postal", "20090") == "2A" and dep_of_place("code_postal", "20200") == "2B"
    assert DEP_REGION["2A"] == DEP_REGION["2B"] == "94"


def test_referentiel_departements_win(demo_ds):
    """The workspace's own référentiel says which région its départements belong to (the demo's codes)."""
    dep_region = dict(zip(demo_ds.communes["dep"], demo_ds.communes["reg"]))
    home = demo_ds.communes.loc[demo_ds.communes["reg"] == "99", "code_insee"].iloc[0]
    away = demo_ds.communes.loc[demo_ds.communes["reg"] != "99", "code_insee"].iloc[0]
    out, _ = outside_region(pd.Series(["commune", "commune"]), pd.Series([home, away]), "99", dep_region)
    assert out.tolist() == [False, True]


def test_same_rule_for_the_market_table():
    csv = ("id_marche;lieu_type;lieu_code;considerations_sociales\n"
           "M1;commune;31555;Clause sociale\nM2;commune;75056;Clause sociale\nM3;code_postal;20000;Clause sociale\n"
           "M4;commune;99999;Clause sociale\nM5;departement;13;Clause sociale\nM6;pays;BE;Clause sociale\n")
    loaded = validate("marches", [Upload("marches.csv", csv.encode())], region=REGION)
    assert loaded.ok, loaded.report.text()
    assert loaded.tables["marches"]["id_marche"].tolist() == ["M1", "M4"]
    assert loaded.counts["hors_region"] == 4
    text = loaded.report.text()
    for label in ("commune d'une autre région", "code postal d'une autre région", "département d'une autre région",
                  "autre pays"):
        assert label in text


def test_departements_table_matches_the_cog(realdata):
    cog = pd.read_csv(realdata / "admin" / "communes_cog2026_epci_pop_ze2020.csv", dtype=str)
    official = dict(zip(cog["dep"], cog["reg"]))
    assert {d: r for d, r in DEP_REGION.items() if d in official} == official
