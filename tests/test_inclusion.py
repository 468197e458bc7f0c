"""Inclusion structures as people bring them (issue 20, item 1): the data·inclusion « structures » file in each
of its published formats, le marché de l'inclusion's lists (current and older export), the template; every
type spelling; the cut to the région (dropped only when located in another région, counted; unlocated kept
and listed); the refusals and the lenient cells. Files are made by the tests, on the demo's référentiel."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from data.formats.inclusion import normalise_type
from data.store import imports
from data.validation import validate
from geo.inclusion import ALL_TYPES, families_sentence

KIND = "structures_inclusion"


@pytest.fixture(scope="module")
def ref(demo_ds):
    return demo_ds.communes


@pytest.fixture(scope="module")
def places(ref):
    """Commune codes of the demo région, of its neighbour région (98) and a postal code of each."""
    here = ref[ref["reg"] == "99"].reset_index(drop=True)
    there = ref[ref["reg"] == "98"].reset_index(drop=True)
    single_cp = here["codes_postaux"].str.split(";").explode()
    counts = single_cp.value_counts()
    shared = counts[counts > 1].index[0]  # a postal code several communes share
    sharing = here[here["codes_postaux"].str.split(";").apply(lambda v: shared in v)]
    return {"here": here["code_insee"].tolist(), "there": there["code_insee"].tolist(), "shared_cp": shared,
            "sharing": sharing[["code_insee", "nom"]].values.tolist(),
            "there_cp": there["codes_postaux"].iloc[0].split(";")[0]}


def data_inclusion_rows(places) -> pd.DataFrame:
    """Thirteen rows in the column order of the published file (schema v1): inclusion structures of the région
    (one whose SIRET is not 14 digits), one located in another région, one whose code names no commune of the
    référentiel but one of Haute-Garonne (another région), one with no place at all (kept, unlocated), two other
    insertion structures (France Travail, none), and the first one again (same SIRET and type)."""
    here, there = places["here"], places["there"]
    rows = [
        ("['aci']", here[0], "12345678900011"), ("['ei', 'coorace']", here[1], "12345678900012"),
        ("['unea']", here[2], "12345678900013"), ("['esat']", here[3], "12345678900014"),
        ("['geiq']", here[4], "12345678900015"), ("['etti']", here[5], "1234"),
        ("['aci']", there[0], "12345678900016"), ("['ei']", "31555", "12345678900017"),
        ("['ai']", "", "12345678900018"), ("['france-travail']", here[6], "12345678900019"),
        ("", here[7], "12345678900020"), ("['eatt']", here[8], "12345678900021"),
        ("['aci']", here[9], "12345678900011"),  # the first structure again, from another source
    ]
    return pd.DataFrame({
        "courriel": "", "horaires_accueil": "", "id": [f"dora--{i}" for i in range(len(rows))], "lien_source": "",
        "description": "Accompagnement, formation ; mise en situation", "siret": [r[2] for r in rows],
        "source": "dora", "date_maj": "2026-11-02", "reseaux_porteurs": [r[0] for r in rows], "telephone": "",
        "site_web": "", "accessibilite_lieu": "", "nom": [f"Structure {i}" for i in range(len(rows))],
        "longitude": np.nan, "latitude": np.nan, "complement_adresse": "", "commune": "", "adresse": "",
        "code_postal": "", "code_insee": [r[1] for r in rows]})


EXPECTED_TYPES = ["ACI", "EI", "EA", "ESAT", "GEIQ", "ETTI", "AI", "EATT"]  # kept, in file order


def check_data_inclusion(loaded):
    assert loaded.ok, loaded.report.text()
    t = loaded.tables[KIND]
    assert t["type"].tolist() == EXPECTED_TYPES
    # every row is used, reported elsewhere, or set aside as another kind of structure: counted
    c = loaded.counts
    assert c["lus"] == 13 and c["hors_region"] == 2 and c["hors_champ"] == 2 and c["gardes"] == 8
    assert c["doublons"] == 1 and c["lus"] == c["gardes"] + c["hors_region"] + c["hors_champ"] + c["doublons"]
    # the structure with no place at all is kept, listed with its line (or record)
    assert c["non_localisables"] == 1
    assert any("non localisée" in i.message and "Structure 8" in i.message for i in loaded.report.warnings)
    # the SIRET of 4 digits is kept as written, with one summarised warning
    assert "1234" in t["siret"].tolist()
    assert sum("14 chiffres" in i.message for i in loaded.report.warnings) == 1
    assert sum("autre région" in i.message for i in loaded.report.warnings) == 1
    assert sum("France Travail" in i.message or "france-travail" in i.message for i in loaded.report.warnings) == 1


def test_data_inclusion_csv_as_published(tmp_path, ref, places):
    path = tmp_path / "structures-inclusion-2026-11-30.csv"
    data_inclusion_rows(places).to_csv(path, index=False)  # lists written "['ei', 'aci']", as the DAG writes
    loaded = validate(KIND, [path], communes=ref, region="99")
    check_data_inclusion(loaded)
    assert imports.vintage(KIND, loaded.tables, [path.name]) == "30/11/2026"  # the file's date
    # the import's sentence says what became of every row
    assert loaded.outcome([path.name]).startswith(
        f"Le fichier « {path.name} » est accepté : 13 structures lues, dont 8 gardées (1 non localisée, listée), 2 "
        "situées hors de la région écartées, 2 écartées qui ne sont pas des structures de l'inclusion")


def test_data_inclusion_xlsx_with_its_index_column(tmp_path, ref, places):
    path = tmp_path / "structures-inclusion-2026-11-30.xlsx"
    data_inclusion_rows(places).to_excel(path)  # pandas' unnamed index first, as published
    check_data_inclusion(validate(KIND, [path], communes=ref, region="99"))


def lists(df: pd.DataFrame) -> pd.DataFrame:
    import ast

    return df.assign(reseaux_porteurs=[ast.literal_eval(v) if v else None for v in df["reseaux_porteurs"]])


def test_data_inclusion_json_parquet_and_geojson(tmp_path, ref, places):
    df = lists(data_inclusion_rows(places))
    df.to_json(tmp_path / "s.json", orient="records", force_ascii=False)
    df.to_parquet(tmp_path / "s.parquet", index=False)
    for name in ("s.json", "s.parquet"):
        check_data_inclusion(validate(KIND, [tmp_path / name], communes=ref, region="99"))
    # GeoJSON: the point of each feature, no coordinates in the properties, every code dropped but the first:
    # the structure is found in the commune whose outline holds its point
    pts = ref.set_index("code_insee").geometry.to_crs("EPSG:4326").representative_point()
    feats = []
    for row in df.head(1).to_dict("records"):
        p = pts[row["code_insee"]]
        props = {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()
                 if k not in ("longitude", "latitude")}
        props["code_insee"] = None
        feats.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [p.x, p.y]},
                      "properties": props})
    (tmp_path / "s.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    loaded = validate(KIND, [tmp_path / "s.geojson"], communes=ref, region="99")
    assert loaded.ok, loaded.report.text()
    t = loaded.tables[KIND]
    assert t["code_commune"].tolist() == [places["here"][0]] and t["localisation"].tolist() == ["coordonnées"]


def test_marche_de_l_inclusion_current_export(tmp_path, ref, places):
    """The current « Télécharger la liste » CSV: no SIRET, no coordinates, types written with their code in
    parentheses, and the contact's « Nom » (with a tender) that is not the structure's name."""
    name_shared = places["sharing"][1]
    rows = [["Atelier du Val", "", "Atelier chantier d'insertion (ACI)", "1 rue A", places["shared_cp"],
             name_shared[1], "", "", "", "Durand"],
            ["Prison", "", "Produits et services réalisés en prison (SEP)", "", places["shared_cp"], "Inconnue", "",
             "", "", "Martin"],
            ["Ailleurs", "", "Entreprise d'insertion (EI)", "", places["there_cp"], "X", "", "", "", "Petit"]]
    header = ("Raison sociale,Enseigne,Type de structure,Adresse,Code postal,Ville,Référence client 1,"
              "Référence client 2,Référence client 3,Nom")
    text = header + "\r\n" + "\r\n".join(",".join(f'"{v}"' for v in r) for r in rows) + "\r\n"
    path = tmp_path / "liste_structures_2026-10-01.csv"
    path.write_text(text, encoding="utf-8")
    loaded = validate(KIND, [path], communes=ref, region="99")
    assert loaded.ok, loaded.report.text()
    t = loaded.tables[KIND]
    assert t["nom"].tolist() == ["Atelier du Val", "Prison"]  # the structure's name, not the contact's
    assert t["type"].tolist() == ["ACI", "Autre"]  # SEP: not a type of the instruction, kept as « Autre »
    # a postal code several communes share: the town's name decides; unknown town: unlocated, listed
    assert t["code_commune"].iloc[0] == name_shared[0] and t["localisation"].iloc[0] == "code postal et ville"
    assert t["localisation"].iloc[1] == "" and "introuvable" in t["raison"].iloc[1]
    assert loaded.counts["hors_region"] == 1
    assert sum("« Autre »" in i.message for i in loaded.report.warnings) == 1


def test_marche_de_l_inclusion_older_export(tmp_path, ref, places):
    header = ["Raison sociale", "Nom commercial", "Slug", "Siret", "Établissement", "Type de structure",
              "kind_parent", "presta_type", "Site internet", "Adresse", "Ville", "Code Postal", "Département",
              "Région", "Quartier prioritaire de la politique de la ville (API QPV)", "sectors", "Inscrite",
              "Lien vers le marché"]
    rows = [["A", "", "a", "12345678900011", "Siège social", "ESAT", "Handicap", "", "", "", "V",
             places["sharing"][0][0][:2] + "999", places["sharing"][0][0][:2], "Région", "Non", "Espaces verts",
             "Oui", ""]]
    path = tmp_path / "liste.xlsx"
    pd.DataFrame(rows, columns=header).to_excel(path, index=False)
    loaded = validate(KIND, [path], communes=ref, region="99")
    assert loaded.ok, loaded.report.text()
    t = loaded.tables[KIND]
    # an unknown postal code of the région's département: kept, unlocated (its département is the région's)
    assert t["type"].tolist() == ["ESAT"] and t["localisation"].tolist() == [""]
    assert t["secteurs"].tolist() == ["Espaces verts"] and loaded.counts.get("hors_region", 0) == 0


def test_template_and_former_files(tmp_path, ref, places):
    path = tmp_path / "modele.csv"
    pd.DataFrame({"siret": ["12345678900011", "12345678900012"], "nom": ["A", "B"], "type": ["EA", "Régie"],
                  "code_commune": [places["here"][0], places["here"][1]], "latitude": ["", ""],
                  "longitude": ["", ""], "secteurs": ["Bâtiment", ""]}).to_csv(path, sep=";", index=False)
    loaded = validate(KIND, [path], communes=ref, region="99")
    assert loaded.ok and loaded.tables[KIND]["type"].tolist() == ["EA", "Autre"]



def test_coordinates_alone_in_another_region_are_counted_there_at_sea_kept(tmp_path, ref, places):
    """A structure no code places: coordinates in Paris (région 11, outside the workspace's communes) make it
    « located in another région », counted; coordinates at sea designate nothing: kept and listed."""
    path = tmp_path / "modele.csv"
    pd.DataFrame({"siret": ["12345678900011", "12345678900012", "12345678900013"], "nom": ["Ici", "Paris", "Large"],
                  "type": ["EA", "ACI", "EI"], "code_commune": [places["here"][0], "", ""],
                  "latitude": ["", "48,8566", "47,0"], "longitude": ["", "2,3522", "-3,0"]}).to_csv(
        path, sep=";", index=False)
    loaded = validate(KIND, [path], communes=ref, region="99")
    assert loaded.ok, loaded.report.text()
    assert loaded.tables[KIND]["nom"].tolist() == ["Ici", "Large"]
    c = loaded.counts
    assert c["lus"] == 3 and c["hors_region"] == 1 and c["non_localisables"] == 1 and c["gardes"] == 2
    assert any("non localisée" in i.message and "Large" in i.message for i in loaded.report.warnings)

def test_legacy_xls_is_refused_in_french(tmp_path, ref):
    path = tmp_path / "liste_structures_2026-10-01.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    loaded = validate(KIND, [path], communes=ref, region="99")
    assert not loaded.ok
    message = loaded.report.errors[0].message
    assert ".xls" in message and "CSV" in message and "XLSX" in message


@pytest.mark.parametrize("header,missing", [
    ("siret;nom;code_commune\n1;A;91001\n", "type"),
    ("siret;nom;type\n1;A;ACI\n", "commune"),
])
def test_file_without_type_or_commune_column_is_refused_naming_its_columns(tmp_path, ref, header, missing):
    path = tmp_path / "f.csv"
    path.write_text(header, encoding="utf-8")
    loaded = validate(KIND, [path], communes=ref, region="99")
    assert not loaded.ok and not loaded.tables
    message = loaded.report.errors[0].message
    assert missing in message and "« siret »" in message and "« nom »" in message


@pytest.mark.parametrize("value,expected", [
    ("['ei']", "EI"), ("EI", "EI"), ("Entreprise d'insertion (EI)", "EI"), ("entreprise d’insertion", "EI"),
    ("['etti']", "ETTI"), ("Entreprise de travail temporaire d'insertion (ETTI)", "ETTI"),
    ("['ai']", "AI"), ("Association intermédiaire (AI)", "AI"),
    ("['aci']", "ACI"), ("ACIPHC", "ACI"), ("Atelier chantier d'insertion (ACI)", "ACI"),
    ("Structures d’Insertion par l’Activité Économique - Ateliers et Chantiers d’Insertion", "ACI"),
    ("['eiti']", "EITI"), ("Entreprise d'insertion par le travail indépendant (EITI)", "EITI"),
    ("['geiq']", "GEIQ"), ("Groupement d'employeurs pour l'insertion et la qualification (GEIQ)", "GEIQ"),
    ("['ea']", "EA"), ("['unea']", "EA"), ("Entreprise adaptée (EA)", "EA"), ('["ea"]', "EA"),
    ("['eatt']", "EATT"), ("Entreprise adaptée de travail temporaire (EATT)", "EATT"),
    ("['esat']", "ESAT"), ("Etablissement et service d'aide par le travail (ESAT)", "ESAT"), ("esat", "ESAT"),
    ("['coorace', 'aci']", "ACI"), ("['france-travail']", None), ("SEP", None), ("", None),
])
def test_every_type_spelling(value, expected):
    assert normalise_type(value) == expected


def test_import_keeps_the_unlocated_and_the_workspace_says_when_it_has_none(tmp_path, monkeypatch, demo_ds, places):
    from data.store import workspaces
    from geo import engine

    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path / "store"))
    slug = workspaces.create("Inclusion")
    ds = demo_ds.replace()
    ds.present = ds.present - {"structures_inclusion"}
    ds.meta = {"region": "99"}
    workspaces.commit(slug, ds, {"action": "import", "kind": "", "file": "test"})
    ds = workspaces.load(slug)
    assert not ds.has(KIND) and ds.inclusion is None
    r = engine.run(ds.communes, ds.qpv, ds.structures, ds.perimetres, ds.marches, "99", inclusion=ds.inclusion)
    out = engine.to_json(r)
    assert "structures_inclusion" not in out and all(s["structures_inclusion"] is None for s in out["structures"])
    path = tmp_path / "structures-inclusion-2026-11-30.csv"
    data_inclusion_rows(places).to_csv(path, index=False)
    loaded = validate(KIND, [path], communes=ds.communes, region="99")
    new, record = imports.apply(ds, loaded, [path.name])
    workspaces.import_tables(slug, new, KIND, record)
    ds = workspaces.load(slug)
    assert ds.has(KIND) and len(ds.structures_inclusion) == 8 and ds.vintages[KIND] == "30/11/2026"
    out = engine.to_json(engine.run(ds.communes, ds.qpv, ds.structures, ds.perimetres, ds.marches, "99",
                                    inclusion=ds.inclusion))
    inc = out["structures_inclusion"]
    assert inc["total"] == 8 and inc["non_localisees"] == 1 and sum(inc["par_type"].values()) == 8
    assert set(inc["par_type"]) == set(ALL_TYPES)
    assert all(isinstance(s["structures_inclusion"], int) for s in out["structures"])


def test_families_sentence():
    counts = dict.fromkeys(ALL_TYPES, 0) | {"EI": 40, "ACI": 7, "ESAT": 3}
    assert families_sentence(counts, "dans des communes qu'aucun facilitateur ne couvre") == \
        "47 SIAE et 3 ESAT dans des communes qu'aucun facilitateur ne couvre"
    assert families_sentence(dict.fromkeys(ALL_TYPES, 0) | {"EA": 1, "GEIQ": 2, "Autre": 2}, "ici") == \
        "2 GEIQ, 1 entreprise adaptée et 2 autres structures ici"
    assert families_sentence(dict.fromkeys(ALL_TYPES, 0), "ici") == "aucune structure de l'inclusion ici"
