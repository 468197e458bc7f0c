"""The shipped référentiel (``referentiel/``, read by ``data.referentiel``).

The files are in the repository: these tests need neither network nor ``../shared``. The tests
marked with the ``realdata`` fixture compare them with the official files of ``../shared/realdata``
and skip when it is absent.
"""

from __future__ import annotations

import hashlib
import json
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely

from data import referentiel as ref

METRO = ("11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93", "94")
DROM = ("01", "02", "03", "04", "06")
COG_TABLE = "admin/communes_cog2026_epci_pop_ze2020.csv"
REGIONS_2025 = "admin/regions_metro_2025_ptod.geojson"
OCCITANIE = "communes_geom/communes_occitanie_cog2026_from_adminexpress2018.geojson"


@pytest.fixture(scope="module")
def all_communes() -> gpd.GeoDataFrame:
    assert ref.available(), "référentiel absent du dépôt"
    return pd.concat([ref.region_communes(r) for r in ref.regions()], ignore_index=True)


def test_shipped_and_small():
    assert ref.available()
    total = sum(f.stat().st_size for f in ref.REF_DIR.iterdir() if f.is_file())
    assert total < 20_000_000, f"référentiel de {total} octets"


def test_metadata_says_source_licence_and_vintage():
    m = ref.meta()
    assert m["licence"] == "Licence Ouverte / Etalab 2.0"
    assert m["millesime"] == "2026"
    assert "INSEE COG 2026" in m["source"] and "ADMIN EXPRESS" in m["source"]
    assert m["sources"]["decoupage_administratif"]["version"] == "6.0.0"
    assert ref.SOURCES_LABEL == "Sources : INSEE COG 2026, IGN ADMIN EXPRESS, Licence Ouverte"
    for name in (ref.COMMUNES_FILE, ref.HISTORY_FILE):
        kv = pq.read_schema(ref.REF_DIR / name).metadata
        assert kv[b"licence"] == b"Licence Ouverte / Etalab 2.0"
        assert kv[b"millesime"] == b"2026"
        assert b"ADMIN EXPRESS" in kv[b"source"]


def test_files_match_the_checksums_of_meta():
    for name, f in ref.meta()["fichiers"].items():
        data = (ref.REF_DIR / name).read_bytes()
        assert len(data) == f["octets"], name
        assert hashlib.sha256(data).hexdigest() == f["sha256"], name


def test_regions_are_the_18_official_ones():
    regs = ref.regions()
    assert list(regs) == sorted(METRO + DROM)
    assert regs["76"] == "Occitanie" and regs["44"] == "Grand Est" and regs["04"] == "La Réunion"


def test_every_region_loads_with_valid_outlines(all_communes):
    for reg in ref.regions():
        c = ref.region_communes(reg)
        assert len(c) > 0, reg
        assert c.crs.to_epsg() == 2154
        assert list(c.columns) == list(ref.COMMUNE_COLUMNS) + ["geometry"]
        assert (c["reg"] == reg).all()
        assert c["code_insee"].is_unique
        assert c["population"].dtype == np.int64
    c = all_communes
    assert len(c) == ref.meta()["effectifs"]["communes"] == 34875
    assert c["code_insee"].is_unique
    geoms = c.geometry.to_numpy()
    assert not shapely.is_missing(geoms).any()
    assert not shapely.is_empty(geoms).any()
    assert shapely.is_valid(geoms).all()
    assert set(c.geom_type) == {"MultiPolygon"}
    for col in ("code_insee", "dep", "reg", "epci_siren", "ze2020", "codes_postaux"):
        assert c[col].dropna().map(type).eq(str).all(), col
    assert c["code_insee"].str.fullmatch(r"\d[\dAB]\d{3}").all()
    assert c["codes_postaux"].str.fullmatch(r"\d{5}(;\d{5})*").all()
    # the four island communes outside any EPCI, and no other
    assert sorted(c.loc[c["epci_siren"].isna(), "code_insee"]) == ["22016", "29083", "29155", "85113"]


def test_known_communes_have_their_attributes():
    occ = ref.region_communes("76").set_index("code_insee")
    toulouse = occ.loc["31555"]
    assert toulouse["nom"] == "Toulouse" and toulouse["dep"] == "31" and toulouse["epci_siren"] == "243100518"
    assert toulouse["population"] > 450_000
    # about 118 km² (Lambert-93 is close to true areas in metropolitan France)
    assert 110e6 < toulouse.geometry.area < 125e6
    corse = ref.region_communes("94")
    assert set(corse["dep"]) == {"2A", "2B"}


def test_restored_communes_have_their_own_outline():
    """Communes restored since 2018 (a commune nouvelle split again) are there, cut out of it."""
    cantal = ref.region_communes("84").set_index("code_insee")
    restored = ["15031", "15035", "15047", "15171"]
    parent = cantal.loc["15141"].geometry
    for code in restored:
        g = cantal.loc[code].geometry
        assert 10e6 < g.area < 40e6, code
        assert g.intersection(parent).area < 1e-6 * g.area, code


def test_communes_tile_each_region(all_communes):
    """No overlap between two communes of a région (shared borders stay shared)."""
    for reg, c in all_communes.groupby("reg"):
        geoms = c.geometry.to_numpy()
        union = shapely.union_all(geoms)
        overlap = shapely.area(geoms).sum() / union.area - 1
        assert overlap < 0.005, (reg, overlap)
        assert shapely.coverage_is_valid(geoms), reg


def test_region_communes_is_fast_and_returns_a_copy():
    ref._region_communes.cache_clear()
    for reg in ("76", "44"):
        t = time.perf_counter()
        c = ref.region_communes(reg)
        assert time.perf_counter() - t < 1.0, reg
    c["nom"] = "changé"
    assert (ref.region_communes("44")["nom"] != "changé").all()


def test_unknown_region_is_an_error():
    with pytest.raises(KeyError):
        ref.region_communes("99")


def test_history_maps_former_codes_to_current_communes(all_communes):
    h = ref.history()
    assert list(h.columns) == list(ref.HISTORY_COLUMNS)
    current = set(all_communes["code_insee"])
    assert h["code_ancien"].is_unique
    assert not set(h["code_ancien"]) & current, "un code actuel listé comme ancien"
    assert set(h["code_actuel"]) <= current
    names = all_communes.set_index("code_insee")["nom"]
    assert (h["nom_actuel"].to_numpy() == names.loc[h["code_actuel"]].to_numpy()).all()
    assert set(h["nature"]) == {"commune déléguée", "commune associée", "commune fusionnée"}
    assert len(h) > 4000


def test_former_commune():
    assert ref.former_commune("01340") == ("01015", "Saint-Bois", "Arboys en Bugey")
    # a commune associée: Lamarche-en-Woëvre belongs to Nonsard-Lamarche
    assert ref.former_commune("55273") == ("55386", "Lamarche-en-Woëvre", "Nonsard-Lamarche")
    # current status wins over an older merger: La Neuville-Garnier is déléguée of Les Hauts-Talican
    assert ref.former_commune("60455")[0] == "60694"
    assert ref.former_commune("01015") is None  # a current code
    assert ref.former_commune("99999") is None


def test_folder_can_be_moved_by_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(ref.ENV_VAR, str(tmp_path))
    assert not ref.available()
    with pytest.raises(FileNotFoundError):
        ref.regions()
    assert ref.sources_label() == "Sources : INSEE COG 2026, IGN ADMIN EXPRESS, Licence Ouverte"
    for name in (ref.COMMUNES_FILE, ref.HISTORY_FILE, ref.META_FILE):
        (tmp_path / name).write_bytes((ref.REF_DIR / name).read_bytes())
    assert ref.available() and len(ref.region_communes("94")) == 360
    m = json.loads((tmp_path / ref.META_FILE).read_text(encoding="utf-8"))
    m["millesime"] = "2027"
    (tmp_path / ref.META_FILE).write_text(json.dumps(m), encoding="utf-8")
    assert ref.sources_label() == "Sources : INSEE COG 2027, IGN ADMIN EXPRESS, Licence Ouverte"


# --- against the official files of ../shared/realdata (skipped when absent) -----------------

@pytest.fixture(scope="module")
def cog(realdata) -> pd.DataFrame:
    return pd.read_csv(realdata / COG_TABLE, dtype=str, keep_default_na=False)


@pytest.mark.parametrize("reg", METRO + DROM)
def test_region_equals_the_cog_table(cog, reg):
    ours = ref.region_communes(reg)
    theirs = cog[cog["reg"] == reg]
    assert len(ours) == len(theirs)
    assert set(ours["code_insee"]) == set(theirs["code_insee"])
    assert ours["population"].sum() == theirs["population"].astype("int64").sum()
    t = theirs.set_index("code_insee").loc[ours["code_insee"]]
    for col in ("nom", "dep", "epci_siren", "ze2020"):
        assert (ours[col].fillna("").to_numpy() == t[col].to_numpy()).all(), col
    assert (ours["codes_postaux"].to_numpy() == t["codes_postaux"].str.replace("|", ";").to_numpy()).all()


@pytest.fixture(scope="module")
def regions_2025(realdata) -> gpd.GeoDataFrame:
    return gpd.read_file(realdata / REGIONS_2025).to_crs("EPSG:2154")


@pytest.mark.parametrize("reg", METRO)
def test_communes_cover_the_official_region_outline(regions_2025, reg):
    """The union of the communes covers the région outline of 2025.

    That outline is simplified (and from another source), so the comparison allows for it:
    - the part of the région that no commune covers stays below 0.5 % of its area;
    - the symmetric difference stays below 1 %: ADMIN EXPRESS 2018 puts the Gironde estuary
      (about 400 km², 0.5 % of Nouvelle-Aquitaine) in communes, the 2025 outline does not.
    """
    official = shapely.make_valid(regions_2025.loc[regions_2025["reg"] == reg].geometry.iloc[0])
    ours = shapely.union_all(ref.region_communes(reg).geometry.to_numpy())
    uncovered = official.difference(ours).area / official.area
    sym = official.symmetric_difference(ours).area / official.area
    assert uncovered < 0.005, uncovered
    assert sym < 0.01, sym


def test_occitanie_matches_the_cross_check_file(realdata):
    """Same codes and nearly the same outlines as the Occitanie file made the same way."""
    theirs = gpd.read_file(realdata / OCCITANIE).to_crs("EPSG:2154").set_index("code_insee")
    ours = ref.region_communes("76").set_index("code_insee")
    assert set(ours.index) == set(theirs.index)
    a = ours.geometry.to_numpy()
    b = shapely.make_valid(theirs.loc[ours.index].geometry.to_numpy())
    rel = shapely.area(shapely.symmetric_difference(a, b)) / shapely.area(b)
    assert np.median(rel) < 0.005 and rel.max() < 0.05, (np.median(rel), rel.max())
