"""A real région's workspace, as a Centre-Val de Loire team makes it (issue 21): created from the shipped
référentiel (1 754 real communes and their outlines), then its QPV (small real-sized quarters in the towns
that have some, those of Bourges and Vierzon left uncovered), its facilitators (two CSV, nine structures, one
of them with a long name) and a DECP JSON with markets and concessions, each imported as the Données page
imports it (validation, then a new version).
"""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import shapely

from data import referentiel
from data.formats.upload import Upload
from data.store import imports, workspaces
from data.validation import validate

REGION = "24"
NAME = "Centre-Val de Loire 2026"
# (commune, quarters): the towns and how many QPV each has
QPV_TOWNS = {"18033": 5, "18279": 3, "37261": 5, "45234": 4, "41018": 3, "28085": 2, "36044": 3, "28134": 2,
             "45208": 1, "28088": 1, "41269": 1}
# nine structures: name, type, host, perimeter (type, code)
STRUCTURES = [
    ("S1", "PLIE 5", "PLIE", "45234", [("epci", "244500468")]),
    ("S2", "EPCI 3", "EPCI", "37261", [("epci", "243700754")]),
    ("S3", "EPCI 7", "EPCI", "41018", [("epci", "200030385")]),
    ("S4", "Conseil départemental 45", "Département", "45234", [("departement", "45")]),
    ("S5", "Facilitateurs Associatifs du Loiret", "Association", "45208", [("epci", "244500203")]),
    ("S6", "Maison de l'emploi du Pays de Châteaudun", "MDE", "28088", [("epci", "200069961")]),
    ("S7", "Chartres Métropole – clauses sociales", "EPCI", "28085", [("epci", "200033181")]),
    ("S8", "MDE / 2 Indre", "MDE", "36044", [("departement", "36")]),
    ("S9", "Agglo du Pays de Dreux", "EPCI", "28134", [("epci", "200040277"), ("commune", "28088")]),
]
ETP = {"S1": (2, 1.5), "S2": (3, 2.5), "S3": (1, 1.0), "S4": (2, 1.2), "S5": (1, 0.8), "S6": (1, 0.5),
       "S7": (2, 2.0), "S8": (2, 1.6), "S9": (1, 1.0)}


def qpv_layer(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Quarters of 20 to 60 ha (the size of a real QPV), inside their town, in WGS84 as ANCT publishes them."""
    rows = []
    for code, n in QPV_TOWNS.items():
        town = communes[communes["code_insee"] == code].iloc[0]
        centre = town.geometry.representative_point()
        for k in range(n):
            dx, dy = (k % 3 - 1) * 900, (k // 3 - 0.5) * 900
            quarter = shapely.Point(centre.x + dx, centre.y + dy).buffer(250 + 60 * k)
            rows.append({"code_qp": f"QN0{code[:2]}{k + 1:02d}{code[-1]}", "nom_qp": f"{town['nom']} quartier {k + 1}",
                         "code_commune": code, "population": 1500 + 400 * k, "geometry": quarter.intersection(town.geometry)})
    return gpd.GeoDataFrame(rows, crs=communes.crs).to_crs("EPSG:4326")


def facilitator_files() -> tuple[str, str]:
    st = pd.DataFrame([{"id_structure": sid, "nom": nom, "type_structure": kind, "code_commune": host,
                        "nb_facilitateurs": ETP[sid][0], "etp": ETP[sid][1]} for sid, nom, kind, host, _ in STRUCTURES])
    pe = pd.DataFrame([{"id_structure": sid, "type_territoire": t, "code_territoire": c}
                       for sid, _, _, _, per in STRUCTURES for t, c in per])
    return st.to_csv(sep=";", index=False), pe.to_csv(sep=";", index=False)


def decp_file() -> bytes:
    def market(i, code, type_code="Code commune"):
        return {"id": f"M{i}", "acheteur": {"id": "21450234500015"}, "objet": f"Travaux {i}", "nature": "Marché",
                "considerationsSociales": {"considerationSociale": ["Clause sociale"]},
                "lieuExecution": {"code": code, "typeCode": type_code}, "dateNotification": "2025-03-01",
                "montant": 100000 + i}
    markets = [market(1, "45234"), market(2, "37261"), market(3, "18033"), market(4, "41"), market(5, "99999"),
               market(6, "75056")]
    concessions = [{"id": "C1", "autoriteConcedante": {"id": "21450234500015"}, "objet": "Délégation de service public",
                    "nature": "Délégation de service public", "dateSignature": "2025-01-10", "valeurGlobale": 2e6,
                    "considerationsSociales": {"considerationSociale": ["Clause sociale"]}}]
    return json.dumps({"marches": {"marche": markets, "contrat-concession": concessions}}).encode()


def _import(slug: str, kind: str, uploads: list[Upload], declared: str = "") -> None:
    ds = workspaces.load(slug)
    loaded = validate(kind, uploads, communes=ds.communes if ds.has("communes") else None, region=REGION)
    assert loaded.ok, loaded.report.text()
    new, record = imports.apply(ds, loaded, [u.name for u in uploads], declared)
    workspaces.import_tables(slug, new, kind, record)


def build() -> str:
    """The workspace, in the store ``DIAG_DONNEES`` names; its identifier."""
    slug = workspaces.create_from_referentiel(NAME, REGION)
    communes = referentiel.region_communes(REGION)
    layer = qpv_layer(communes)
    _import(slug, "qpv", [Upload("qpv_centre.geojson", layer.to_json().encode())])
    st, pe = facilitator_files()
    _import(slug, "facilitateurs", [Upload("structures.csv", st.encode()), Upload("perimetres.csv", pe.encode())],
            "2025")
    _import(slug, "marches", [Upload("decp_centre.json", decp_file())])
    return slug
