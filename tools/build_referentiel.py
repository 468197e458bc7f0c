"""Build the shipped référentiel (``referentiel/``): every current commune of France with its outline.

This script is run by hand by a maintainer when a new COG vintage is wanted. It is NOT run at
install time nor by the tests: its outputs are committed in ``referentiel/`` and the application
reads them offline through :mod:`data.referentiel`.

Usage (from the repository root)::

    .venv/bin/python tools/build_referentiel.py --outlines PATH [options]

``--outlines PATH`` (required)
    IGN ADMIN EXPRESS COG 2018 commune outlines as published by the public GitHub repository
    ``gregoiredavid/france-geojson`` (Licence Ouverte). PATH is either a git directory of that
    repository (bare or not: the files ``departements/*/communes-*.geojson`` are read at
    ``--commit``, by default the pinned commit 5d34ee6 of October 2018), a checkout of it (same files read from disk), or one GeoJSON
    file of communes (properties ``code`` and ``nom``). With a git directory, the communes restored
    since 2018 (``communes rétablies``: a commune nouvelle split again) take their outline from
    older commits of the same repository (``--restore-commits``: IGN GEOFLA 2016 and 2014);
    otherwise give such older files with ``--old-outlines``.
``--communes CSV``
    The commune table ``communes_cog2026_epci_pop_ze2020.csv`` (COG 2026 from the npm package
    ``@etalab/decoupage-administratif`` 6.0.0 joined to INSEE's zones d'emploi 2020). Default:
    ``../shared/realdata/admin/communes_cog2026_epci_pop_ze2020.csv``.
``--package-version`` / ``--package-tgz``
    The history of communes (communes déléguées / associées and their chef-lieu, former codes
    merged into current communes) comes from ``data/communes.json`` of the npm package
    ``@etalab/decoupage-administratif``. The script runs ``npm pack`` for the pinned version
    (6.0.0, the version the commune table came from) in a temporary folder, unless a tarball is
    given with ``--package-tgz``.
``--out DIR``
    Output folder, ``referentiel/`` by default.
``--cross-check GEOJSON`` / ``--regions-check GEOJSON``
    Optional comparisons written to ``meta.json``: the Occitanie communes made the same way
    (``communes_occitanie_cog2026_from_adminexpress2018.geojson``) and the simplified région
    outlines ``regions_metro_2025_ptod.geojson``. Both default to their place in ``../shared``
    and are skipped when absent.

What it does:

1. reads the 2018 outlines and projects them to Lambert-93 (EPSG:2154; the DROM too, so that the
   application works in one CRS; areas there are only used as ratios);
2. recodes each 2018 commune to its COG 2026 commune (a 2018 code that is still current stays;
   a former commune déléguée / associée goes to its chef-lieu; a code listed in ``anciensCodes``
   goes to that commune; when the package gives both, the current status déléguée / associée
   wins) and dissolves them: a commune nouvelle's outline is the union of its former communes';
3. gives each restored commune the part of its parent's 2018 outline that its older outline
   covers (with the thin slivers the cut leaves along it), removes that part from the parent and
   renodes the neighbourhood so that borders stay shared;
4. simplifies the whole coverage at once with ``shapely.coverage_simplify`` (borders shared by
   two communes stay shared: no gap, no overlap; ``--tolerance``, 20 m by default, removes little
   since the published outlines are already simplified) and rounds coordinates to 1 m;
5. checks, and stops with an error when a check fails: every commune of the table has exactly
   one valid, non-empty outline; per région, the outlines tile it (overlaps and gaps against the
   unsimplified 2018 outlines below 0.5 % of its area); the coverage is valid;
6. writes ``communes.parquet`` (GeoParquet, geometry in GeoArrow encoding, zstd, one row group
   per région so that a région is read alone), ``historique.parquet`` (former code -> current
   commune), ``meta.json`` and ``SOURCES.md`` (sources, versions, licence, build date, input and
   output checksums, check results). ``SOURCE_DATE_EPOCH`` fixes the build date if set: two
   builds from the same inputs are then byte-identical.

Example, with the repository brought by a ``git clone`` (or any snapshot of it)::

    git clone https://github.com/gregoiredavid/france-geojson /tmp/france-geojson
    .venv/bin/python tools/build_referentiel.py --outlines /tmp/france-geojson

Needs: the project's runtime requirements, ``git`` (for a git directory) and ``npm`` (unless
``--package-tgz``). Takes about a minute on two cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

ROOT = Path(__file__).resolve().parents[1]
REALDATA = ROOT.parent / "shared" / "realdata"
DEFAULT_COMMUNES = REALDATA / "admin" / "communes_cog2026_epci_pop_ze2020.csv"
DEFAULT_CROSS_CHECK = REALDATA / "communes_geom" / "communes_occitanie_cog2026_from_adminexpress2018.geojson"
DEFAULT_REGIONS_CHECK = REALDATA / "admin" / "regions_metro_2025_ptod.geojson"

PACKAGE = "@etalab/decoupage-administratif"
PACKAGE_VERSION = "6.0.0"
OUTLINES_REPO = "gregoiredavid/france-geojson"
# Older commits of the same repository, newest first, for the communes restored since 2018:
# Admin Express / GEOFLA 2016 (COG 2016) and GEOFLA 2014.
RESTORE_COMMITS = ("cd65fc65d00501d5a3e0d849ed4b356a8c8dfff3", "305df45a775b609b605b83b58212aaeca841cf45")
# The commit of the ADMIN EXPRESS COG 2018 outlines (the repository's last, October 2018).
OUTLINES_COMMIT = "5d34ee6d0140c29f785fdb047d9329f1aab58833"
CRS = "EPSG:2154"
GRID_M = 1.0  # coordinates rounded to 1 m
TOLERANCE_M = 20.0  # coverage simplification tolerance
MAX_TILING_ERROR = 0.005  # 0.5 % of a région's area
LICENCE = "Licence Ouverte / Etalab 2.0"
LICENCE_URL = "https://www.etalab.gouv.fr/licence-ouverte-open-licence"
MILLESIME = "2026"

COMMUNE_COLUMNS = ["code_insee", "nom", "dep", "dep_nom", "reg", "reg_nom", "epci_siren", "epci_nom",
                   "population", "ze2020", "ze2020_lib", "codes_postaux"]
HISTORY_COLUMNS = ["code_ancien", "nom_ancien", "code_actuel", "nom_actuel", "nature"]
NATURE = {"commune-deleguee": "commune déléguée", "commune-associee": "commune associée"}
NATURE_MERGED = "commune fusionnée"


class BuildError(RuntimeError):
    """A check failed: nothing is written."""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------

def read_cog_table(path: Path) -> pd.DataFrame:
    """The COG 2026 commune table, codes as strings, population as int64."""
    c = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [col for col in COMMUNE_COLUMNS if col not in c.columns]
    if missing:
        raise BuildError(f"{path}: missing columns {missing}")
    if c["code_insee"].duplicated().any():
        raise BuildError(f"{path}: duplicated codes {c.loc[c['code_insee'].duplicated(), 'code_insee'].tolist()[:10]}")
    out = c[COMMUNE_COLUMNS].copy()
    out["population"] = pd.to_numeric(out["population"], errors="raise").astype("int64")
    out["codes_postaux"] = out["codes_postaux"].str.replace("|", ";", regex=False)
    for col in COMMUNE_COLUMNS:
        if col != "population":
            out[col] = out[col].replace("", None).astype(object)
    return out


def fetch_package(version: str, tgz: Path | None, workdir: Path) -> tuple[list[dict], dict]:
    """``data/communes.json`` of the npm package, and how it was obtained (for meta.json)."""
    info: dict = {"name": PACKAGE, "version": version,
                  "url": f"https://www.npmjs.com/package/{PACKAGE}/v/{version}"}
    if tgz is None:
        log(f"npm pack {PACKAGE}@{version} ...")
        res = subprocess.run(["npm", "pack", f"{PACKAGE}@{version}", "--json", "--pack-destination", str(workdir)],
                             cwd=workdir, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise BuildError(f"npm pack failed: {res.stderr.strip()[-500:]}")
        packed = json.loads(res.stdout)[0]
        tgz = workdir / packed["filename"]
        info["integrity"] = packed.get("integrity")
    info["tarball"] = tgz.name
    info["sha256"] = sha256_file(tgz)
    with tarfile.open(tgz) as tar:
        pkg = json.load(tar.extractfile("package/package.json"))
        if pkg.get("version") != version:
            raise BuildError(f"{tgz}: version {pkg.get('version')}, expected {version}")
        data = tar.extractfile("package/data/communes.json").read()
    info["communes_json_sha256"] = sha256_bytes(data)
    return json.loads(data), info


@dataclass
class OutlineSource:
    """Commune GeoJSON files read from a git directory, a checkout or a single file."""

    path: Path
    commit: str = "HEAD"
    git: bool = False
    resolved_commit: str | None = None
    files: dict[str, str] = field(default_factory=dict)  # file -> sha256 of its bytes

    def __post_init__(self) -> None:
        p = self.path
        self.git = p.is_dir() and ((p / "HEAD").exists() and (p / "objects").is_dir() or (p / ".git").exists())
        if self.git:
            self.resolved_commit = self._git("rev-parse", f"{self.commit}^{{commit}}").decode().strip()

    def _git(self, *args: str) -> bytes:
        gitdir = self.path / ".git" if (self.path / ".git").exists() else self.path
        res = subprocess.run(["git", "--git-dir", str(gitdir), *args], capture_output=True, check=False)
        if res.returncode != 0:
            raise BuildError(f"git {' '.join(args)}: {res.stderr.decode().strip()}")
        return res.stdout

    def list_files(self) -> list[str]:
        pattern = re.compile(r"^departements/[^/]+/communes[^/]*\.geojson$")
        if self.git:
            names = self._git("ls-tree", "-r", "--name-only", self.resolved_commit, "departements").decode().split("\n")
            return sorted(n for n in names if pattern.match(n))
        if self.path.is_dir():
            return sorted(str(f.relative_to(self.path)) for f in self.path.glob("departements/*/communes*.geojson"))
        return [self.path.name]

    def read(self, name: str) -> gpd.GeoDataFrame | None:
        if self.git:
            raw = self._git("show", f"{self.resolved_commit}:{name}")
        elif self.path.is_dir():
            raw = (self.path / name).read_bytes()
        else:
            raw = self.path.read_bytes()
        self.files[name] = sha256_bytes(raw)
        try:
            g = gpd.read_file(io.BytesIO(raw))
        except Exception as e:  # an empty placeholder file in old commits (Corsica in 2014)
            log(f"  {name}: unreadable, skipped ({type(e).__name__})")
            return None
        if g.crs is None:
            g = g.set_crs("EPSG:4326")
        if "code" not in g.columns:
            raise BuildError(f"{self.path}:{name}: no 'code' property")
        if "nom" not in g.columns:
            g["nom"] = None
        g["code"] = g["code"].astype(str)
        return g[["code", "nom", "geometry"]]

    def read_all(self, deps: set[str] | None = None) -> gpd.GeoDataFrame:
        """Every commune file (or those of ``deps``, matched on the folder's leading code)."""
        names = self.list_files()
        if deps is not None:
            # departements/15-cantal/communes-15-cantal.geojson (2018) or departements/15/communes.geojson (2014)
            names = [n for n in names if n.count("/") == 2 and n.split("/")[1].split("-")[0] in deps]
        if not names:
            raise BuildError(f"{self.path}: no commune outline file found")
        frames = [f for f in (self.read(n) for n in names) if f is not None]
        if not frames:
            raise BuildError(f"{self.path}: no readable commune outline file")
        return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)

    def describe(self) -> dict:
        d: dict = {"path_kind": "git" if self.git else ("dossier" if self.path.is_dir() else "fichier")}
        if self.git:
            d["commit"] = self.resolved_commit
        d["files"] = len(self.files)
        d["sha256_of_file_list"] = sha256_bytes("\n".join(f"{k} {v}" for k, v in sorted(self.files.items())).encode())
        return d


# --------------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------------

@dataclass
class History:
    current: dict[str, dict]  # code -> package record of the current commune
    target: dict[str, str]  # former code -> current code
    nature: dict[str, str]  # former code -> nature (French)
    name: dict[str, str]  # former code -> name, when the package knows it
    conflicts: list[dict]

    def resolve(self, code: str) -> str | None:
        """The current commune a 2018 (or older) code belongs to, ``None`` when unknown."""
        if code in self.current:
            return code
        return self.target.get(code)


def build_history(records: list[dict]) -> History:
    current = {r["code"]: r for r in records if r["type"] == "commune-actuelle"}
    merged: dict[str, str] = {}
    for r in current.values():
        for old in r.get("anciensCodes", []) or []:
            if old in current:
                continue
            if old in merged and merged[old] != r["code"]:
                merged[old] = ""  # two current communes claim it: ambiguous
            else:
                merged[old] = r["code"]
    attached = {r["code"]: r for r in records
                if r["type"] in NATURE and r["code"] != r.get("chefLieu") and r["code"] not in current}
    target: dict[str, str] = {}
    nature: dict[str, str] = {}
    name: dict[str, str] = {}
    conflicts = []
    for old, cur in merged.items():
        if cur:
            target[old], nature[old] = cur, NATURE_MERGED
    for old, r in attached.items():
        chef = r["chefLieu"]
        # a chef-lieu that is itself a former commune (a chain): follow it once more
        for _ in range(3):
            if chef in current:
                break
            chef = target.get(chef) or (attached[chef]["chefLieu"] if chef in attached else chef)
        if chef not in current:
            continue
        if old in merged and merged[old] != chef:
            conflicts.append({"code": old, "nom": r["nom"], "anciensCodes_de": merged[old] or None,
                              "chefLieu": chef, "retenu": chef,
                              "raison": f"statut actuel de {NATURE[r['type']]} prioritaire"})
        target[old], nature[old], name[old] = chef, NATURE[r["type"]], r["nom"]
    return History(current, target, nature, name, conflicts)


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------

def polygonal(g):
    """The polygonal part of a geometry (make_valid may add lines or points)."""
    if g is None or g.is_empty:
        return g
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def recode(outlines: gpd.GeoDataFrame, hist: History, wanted: set[str]) -> tuple[dict[str, object], dict]:
    """Dissolve 2018 outlines (EPSG:2154) by current commune code. Returns code -> geometry."""
    codes = outlines["code"].to_numpy()
    cur = np.array([hist.resolve(c) for c in codes], dtype=object)
    unknown = sorted(set(codes[pd.isna(cur)]))
    if unknown:
        raise BuildError(f"2018 codes unknown to the history: {unknown[:20]} ({len(unknown)})")
    geoms = shapely.make_valid(outlines.geometry.to_numpy())
    geoms = np.array([polygonal(g) for g in geoms], dtype=object)
    groups = pd.Series(range(len(cur))).groupby(cur).indices
    out = {}
    for code, idx in groups.items():
        if code not in wanted:
            continue
        out[code] = geoms[idx[0]] if len(idx) == 1 else shapely.coverage_union_all(geoms[idx])
    stats = {"communes_2018": int(len(codes)), "communes_2026_avec_contour": len(out),
             "codes_2018_recodes": int(sum(1 for a, b in zip(codes, cur) if a != b)),
             "codes_2018_hors_table": sorted(set(cur) - wanted)}
    return out, stats


def restore(geoms: dict[str, object], missing: list[str], old_sources: list[OutlineSource],
            names: dict[str, str]) -> list[dict]:
    """Give each restored commune its part of its parent's outline (modifies ``geoms``)."""
    done = []
    todo = list(missing)
    for src in old_sources:
        if not todo:
            break
        deps = {c[:3] if c.startswith("97") else c[:2] for c in todo}
        try:
            old = src.read_all(deps).to_crs(CRS)
        except BuildError as e:
            log(f"  {src.path}@{src.commit}: {e}")
            continue
        old = old[old["code"].isin(todo)]
        codes = list(geoms)
        arr = np.array([geoms[c] for c in codes], dtype=object)
        tree = shapely.STRtree(arr)
        for code, g in zip(old["code"], shapely.make_valid(old.geometry.to_numpy())):
            g = polygonal(g)
            cand = tree.query(g, predicate="intersects")
            if len(cand) == 0:
                continue
            inter = [shapely.intersection(geoms[codes[i]], g).area for i in cand]
            parent = codes[cand[int(np.argmax(inter))]]
            part = polygonal(shapely.intersection(geoms[parent], g))
            if part.is_empty or part.area < 0.5 * g.area:
                log(f"  {code}: older outline does not fall within one current commune, skipped")
                continue
            rest = polygonal(shapely.difference(geoms[parent], part))
            geoms[parent], geoms[code] = rest, part
            todo.remove(code)
            done.append({"code_insee": code, "nom": names.get(code), "commune_mere_2018": parent,
                         "source": f"{OUTLINES_REPO}@{src.resolved_commit or src.path.name}",
                         "part_de_l_ancien_contour": round(part.area / g.area, 4)})
            log(f"  restored {code} {names.get(code)} from {parent} ({src.commit})")
    if done:
        for parent in {d["commune_mere_2018"] for d in done}:
            absorb_slivers(geoms, parent, [d["code_insee"] for d in done if d["commune_mere_2018"] == parent])
        renode(geoms, {d["code_insee"] for d in done} | {d["commune_mere_2018"] for d in done})
    return done


def absorb_slivers(geoms: dict[str, object], parent: str, restored: list[str]) -> None:
    """Give the slivers the cut left in the parent to the restored commune they border most.

    The older outline and the 2018 one were simplified differently, so cutting leaves thin parts of
    the parent along the restored communes' borders. A part of the parent below 5 % of its largest
    part that borders a restored commune goes to that commune (modifies ``geoms``).
    """
    parts = sorted(shapely.get_parts(geoms[parent]), key=lambda p: -p.area)
    keep = [parts[0]]
    for p in parts[1:]:
        shared = [shapely.intersection(p.boundary, geoms[r].boundary).length for r in restored]
        if p.area < 0.05 * parts[0].area and max(shared) > 0:
            r = restored[int(np.argmax(shared))]
            geoms[r] = polygonal(shapely.union(geoms[r], p))
        else:
            keep.append(p)
    geoms[parent] = shapely.union_all(keep)


def renode(geoms: dict[str, object], changed: set[str]) -> None:
    """Make the changed communes and their neighbours a clean coverage again (modifies ``geoms``).

    Cutting a restored commune out of its parent adds vertices on the parent's border that the
    neighbours lack. All their borders are noded together and polygonized; each face goes back to
    the commune that holds it, so that shared borders have the same vertices on both sides.
    """
    codes = list(geoms)
    arr = np.array([geoms[c] for c in codes], dtype=object)
    tree = shapely.STRtree(arr)
    group = set(changed)
    for c in changed:
        group |= {codes[i] for i in tree.query(geoms[c], predicate="intersects")}
    group = sorted(group)
    polys = np.array([geoms[c] for c in group], dtype=object)
    lines = shapely.union_all(shapely.boundary(polys))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    owners = {c: [] for c in group}
    gtree = shapely.STRtree(polys)
    for f in faces:
        pt = shapely.point_on_surface(f)
        hit = gtree.query(pt, predicate="within")
        if len(hit):
            owners[group[int(hit[0])]].append(f)
    for c, fs in owners.items():
        if not fs:
            raise BuildError(f"renoding lost commune {c}")
        geoms[c] = shapely.coverage_union_all(np.array(fs, dtype=object))
    if not shapely.coverage_is_valid(np.array([geoms[c] for c in group], dtype=object)):
        raise BuildError(f"the communes around {sorted(changed)} do not form a valid coverage")


def simplify(geoms: np.ndarray, tolerance: float) -> np.ndarray:
    """Coverage simplification (shared borders stay shared), then coordinates on a 1 m grid."""
    out = shapely.coverage_simplify(geoms, tolerance, simplify_boundary=True) if tolerance > 0 else geoms
    out = shapely.set_precision(out, GRID_M)
    bad = ~shapely.is_valid(out)
    if bad.any():
        out[bad] = [polygonal(g) for g in shapely.make_valid(out[bad])]
    return np.array([g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon([g]) if not g.is_empty else g
                     for g in out], dtype=object)


def tiling_checks(com: gpd.GeoDataFrame, raw: dict[str, object]) -> dict[str, dict]:
    """Per région: overlaps, and area difference with the union of the unsimplified outlines."""
    res = {}
    for reg, part in com.groupby("reg"):
        g = part.geometry.to_numpy()
        union = shapely.union_all(g)
        raw_union = shapely.union_all(np.array([raw[c] for c in part["code_insee"]], dtype=object))
        area_sum = float(shapely.area(g).sum())
        overlap = max(0.0, (area_sum - union.area) / union.area)
        diff = shapely.symmetric_difference(union, raw_union).area / raw_union.area
        holes = shapely.union_all([shapely.Polygon(r) for p in shapely.get_parts(union) for r in p.interiors]) \
            if any(len(p.interiors) for p in shapely.get_parts(union)) else shapely.Polygon()
        raw_holes = shapely.union_all([shapely.Polygon(r) for p in shapely.get_parts(raw_union) for r in p.interiors]) \
            if any(len(p.interiors) for p in shapely.get_parts(raw_union)) else shapely.Polygon()
        new_gaps = shapely.difference(holes, raw_holes).area / raw_union.area
        res[reg] = {"communes": int(len(part)), "superficie_km2": round(union.area / 1e6, 1),
                    "chevauchements": round(overlap, 6), "ecart_aux_contours_bruts": round(diff, 6),
                    "trous_nouveaux": round(new_gaps, 6),
                    "couverture_valide": bool(shapely.coverage_is_valid(g))}
    return res


def cross_check_occitanie(com: gpd.GeoDataFrame, path: Path) -> dict:
    """Compare with the Occitanie communes made the same way (codes, names, outlines)."""
    ref = gpd.read_file(path).to_crs(CRS)
    ref["code_insee"] = ref["code_insee"].astype(str)
    ours = com[com["reg"] == "76"].set_index("code_insee")
    ref = ref.set_index("code_insee")
    common = ours.index.intersection(ref.index)
    a = ours.loc[common].geometry.to_numpy()
    b = ref.loc[common].geometry.to_numpy()
    b = np.array([polygonal(g) for g in shapely.make_valid(b)], dtype=object)
    rel = shapely.area(shapely.symmetric_difference(a, b)) / shapely.area(b)
    res = {"fichier": path.name, "communes_ici": int(len(ours)), "communes_fichier": int(len(ref)),
           "codes_communs": int(len(common)),
           "codes_seulement_ici": sorted(set(ours.index) - set(ref.index)),
           "codes_seulement_fichier": sorted(set(ref.index) - set(ours.index)),
           "ecart_relatif_median": round(float(np.median(rel)), 5),
           "ecart_relatif_p99": round(float(np.quantile(rel, 0.99)), 5),
           "ecart_relatif_max": round(float(rel.max()), 5),
           "communes_ecart_sup_5pc": sorted(common[rel > 0.05].tolist())}
    for col in ("nom", "epci_siren", "ze2020", "population"):
        if col in ref.columns:
            res[f"{col}_differents"] = int((ours.loc[common, col].astype(str) != ref.loc[common, col].astype(str)).sum())
    return res


def regions_check(com: gpd.GeoDataFrame, path: Path) -> dict:
    """Area difference between the dissolved communes and the (simplified) 2025 région outlines."""
    reg = gpd.read_file(path).to_crs(CRS)
    out = {}
    for r, g in zip(reg["reg"].astype(str), reg.geometry):
        ours = shapely.union_all(com.loc[com["reg"] == r].geometry.to_numpy())
        g = polygonal(shapely.make_valid(g))
        out[r] = round(shapely.symmetric_difference(ours, g).area / g.area, 5)
    return out


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------

def file_metadata(meta: dict) -> dict[bytes, bytes]:
    keys = {"source": meta["source"], "licence": meta["licence"], "millesime": meta["millesime"],
            "referentiel_build_date": meta["date_construction"]}
    return {k.encode(): v.encode() for k, v in keys.items()}


def write_communes(com: gpd.GeoDataFrame, path: Path, meta: dict) -> None:
    """GeoParquet (GeoArrow geometry), zstd, x/y in BYTE_STREAM_SPLIT, one row group per région."""
    with tempfile.TemporaryDirectory() as tmp:
        tmpfile = Path(tmp) / "c.parquet"
        com.to_parquet(tmpfile, index=False, geometry_encoding="geoarrow", compression="zstd")
        table = pq.read_table(tmpfile)
    md = dict(table.schema.metadata or {})
    md.pop(b"pandas", None)
    md.update(file_metadata(meta))
    table = table.replace_schema_metadata(md)
    pf_paths = [f"geometry.list.element.list.element.list.element.{a}" for a in "xy"]
    strings = [c for c in com.columns if c not in ("geometry", "population")]
    with pq.ParquetWriter(path, table.schema, compression="zstd", compression_level=19,
                          use_dictionary=strings, column_encoding={p: "BYTE_STREAM_SPLIT" for p in pf_paths},
                          write_statistics=["reg", "dep", "code_insee"]) as w:
        regs = table.column("reg").to_pylist()
        start = 0
        while start < len(regs):
            end = start
            while end < len(regs) and regs[end] == regs[start]:
                end += 1
            w.write_table(table.slice(start, end - start), row_group_size=end - start)
            start = end


def write_history(hist_df: pd.DataFrame, path: Path, meta: dict) -> None:
    table = pa.Table.from_pandas(hist_df, preserve_index=False,
                                 schema=pa.schema([(c, pa.string()) for c in HISTORY_COLUMNS]))
    table = table.replace_schema_metadata(file_metadata(meta))
    pq.write_table(table, path, compression="zstd", compression_level=19)


def history_table(hist: History, com: pd.DataFrame, old_names: dict[str, str]) -> pd.DataFrame:
    """Former code -> current commune of the table; never a current code as a former one."""
    names = com.set_index("code_insee")["nom"]
    rows = []
    for old, cur in sorted(hist.target.items()):
        if old in hist.current or old in names.index or cur not in names.index:
            continue
        rows.append((old, hist.name.get(old) or old_names.get(old), cur, names[cur], hist.nature[old]))
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def sources_md(meta: dict) -> str:
    s = meta["sources"]
    pkg, out, cog = s["decoupage_administratif"], s["contours"], s["table_communes"]
    restored = "\n".join(f"  - {r['code_insee']} {r['nom']} (contour ancien, commit `{r['source'].split('@')[1][:10]}`, "
                         f"pris dans la commune {r['commune_mere_2018']} de 2018)" for r in meta["communes_retablies"])
    lines = [
        "# Référentiel territorial livré avec l'application",
        "",
        "Fichiers générés par `tools/build_referentiel.py` (ne pas modifier à la main).",
        "",
        f"- Millésime : COG {meta['millesime']} ; contours IGN ADMIN EXPRESS COG 2018 recodés en COG {meta['millesime']}.",
        f"- Licence : {meta['licence']} ({meta['licence_url']}). Réutilisation libre avec mention de la source.",
        f"- Mention : « {meta['libelle_sources']} ».",
        f"- Construit le : {meta['date_construction']}.",
        f"- Système de coordonnées : {meta['crs']} (Lambert-93, y compris pour les DROM), "
        f"coordonnées arrondies à {meta['quantification_m']:g} m, simplification topologique "
        f"`shapely.coverage_simplify` (tolérance {meta['tolerance_simplification_m']:g} m).",
        "- Dans les DROM, le Lambert-93 déforme les surfaces (facteur 1,6 en Guyane, 3,5 à La Réunion) ; la "
        "projection étant conforme, les rapports de surfaces voisines (part d'un QPV dans une commune) restent justes.",
        f"- Historique : {meta['effectifs']['historique_sans_nom_ancien']} anciens codes sur "
        f"{meta['effectifs']['historique']} n'ont pas de nom connu hors ligne (communes fusionnées avant 2014) : "
        "`nom_ancien` est vide, le code suffit à retrouver la commune actuelle.",
        "",
        "## Fichiers",
        "",
        "| fichier | contenu | octets | sha256 |",
        "|---|---|---|---|",
    ]
    for name, f in meta["fichiers"].items():
        lines.append(f"| `{name}` | {f['contenu']} | {f['octets']} | `{f['sha256'][:16]}…` |")
    lines += [
        "",
        "## Sources",
        "",
        f"1. **Table des communes** (codes, noms, départements, régions, EPCI, population légale, codes postaux, "
        f"zones d'emploi 2020) : `{cog['fichier']}` (sha256 `{cog['sha256'][:16]}…`), tirée du paquet npm "
        f"`{pkg['name']}@{pkg['version']}` (INSEE COG 2026, DGCL, La Poste) et de la table INSEE des zones d'emploi "
        "2020 (https://www.insee.fr/fr/information/4652957).",
        f"2. **Historique des communes** (communes déléguées, associées, anciens codes fusionnés) : "
        f"`data/communes.json` du paquet npm `{pkg['name']}@{pkg['version']}` ({pkg['url']}, archive sha256 "
        f"`{pkg['sha256'][:16]}…`), source INSEE Code officiel géographique.",
        f"3. **Contours des communes** : IGN ADMIN EXPRESS COG 2018 (https://geoservices.ign.fr/adminexpress), "
        f"tels que publiés par le dépôt public https://github.com/{OUTLINES_REPO} (commit `{out.get('commit')}`, "
        f"{out['files']} fichiers `departements/*/communes-*.geojson`, déjà simplifiés par mapshaper).",
    ]
    if restored:
        lines += ["4. **Communes rétablies depuis 2018** (une commune nouvelle scindée) : leur contour vient d'un "
                  "millésime plus ancien du même dépôt (IGN GEOFLA 2014/2016), découpé dans celui de la commune "
                  "nouvelle de 2018 :", restored]
    lines += [
        "",
        "## Contrôles (faits à la construction)",
        "",
        f"- {meta['effectifs']['communes']} communes (une ligne chacune, contour valide et non vide), "
        f"{meta['effectifs']['regions']} régions, {meta['effectifs']['historique']} anciens codes dans l'historique.",
        "- Par région : chevauchements et écart à l'union des contours bruts inférieurs à 0,5 % de la surface "
        "(détail dans `meta.json`, clé `controles`).",
        "",
        "Reconstruire : voir la docstring de `tools/build_referentiel.py`.",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def build(args: argparse.Namespace) -> dict:
    t0 = time.time()
    out_dir = Path(args.out)
    cog = read_cog_table(Path(args.communes))
    wanted = set(cog["code_insee"])
    log(f"commune table: {len(cog)} communes, {cog['reg'].nunique()} régions")

    with tempfile.TemporaryDirectory() as tmp:
        records, pkg_info = fetch_package(args.package_version, Path(args.package_tgz) if args.package_tgz else None,
                                          Path(tmp))
    hist = build_history(records)
    not_in_pkg = sorted(wanted - set(hist.current))
    if not_in_pkg:
        raise BuildError(f"communes of the table unknown to the package: {not_in_pkg[:20]}")
    log(f"history: {len(hist.target)} former codes, {len(hist.conflicts)} conflicts resolved")

    src = OutlineSource(Path(args.outlines), args.commit)
    raw2018 = src.read_all().to_crs(CRS)
    log(f"outlines: {len(raw2018)} communes 2018 from {len(src.files)} files")
    old_names = {}
    geoms, recode_stats = recode(raw2018, hist, wanted)
    old_names.update({c: n for c, n in zip(raw2018["code"], raw2018["nom"]) if isinstance(n, str)})

    missing = sorted(wanted - set(geoms))
    old_sources = [OutlineSource(Path(p)) for p in args.old_outlines]
    if src.git:
        older = []
        for c in args.restore_commits:
            try:
                older.append(OutlineSource(src.path, c))
            except BuildError as e:  # a shallow clone lacks them
                log(f"  older commit {c} not available: {e}")
        old_sources = older + old_sources
    restored = restore(geoms, missing, old_sources, dict(zip(cog["code_insee"], cog["nom"]))) if missing else []
    for s in old_sources:  # older names for the history (codes merged before 2018)
        try:
            if s.git or s.path.exists():
                o = s.read_all()
                for c, n in zip(o["code"], o["nom"]):
                    if isinstance(n, str):
                        old_names.setdefault(c, n)
        except BuildError as e:
            log(f"  {s.path}@{s.commit}: {e}")
    still = sorted(wanted - set(geoms))
    if still:
        raise BuildError(f"{len(still)} communes without outline: {still[:30]}")

    com = cog.copy()
    raw = {c: geoms[c] for c in com["code_insee"]}
    log(f"coverage simplification (tolerance {args.tolerance} m) ...")
    order = com["code_insee"].to_numpy()
    simple = np.empty(len(order), dtype=object)
    is_metro = ~com["reg"].isin(["01", "02", "03", "04", "06"]).to_numpy()
    for mask in (is_metro, ~is_metro):
        simple[mask] = simplify(np.array([raw[c] for c in order[mask]], dtype=object), args.tolerance)
    com = gpd.GeoDataFrame(com, geometry=simple, crs=CRS)
    com = com.sort_values(["reg", "dep", "code_insee"]).reset_index(drop=True)

    bad = com[com.geometry.isna() | com.geometry.is_empty | ~com.geometry.is_valid]
    if len(bad):
        raise BuildError(f"invalid or empty outlines: {bad['code_insee'].tolist()[:20]}")
    if com["code_insee"].duplicated().any() or len(com) != len(wanted):
        raise BuildError("not exactly one outline per commune")
    log("tiling checks ...")
    checks = tiling_checks(com, raw)
    failing = {r: c for r, c in checks.items()
               if c["chevauchements"] > MAX_TILING_ERROR or c["ecart_aux_contours_bruts"] > MAX_TILING_ERROR
               or c["trous_nouveaux"] > MAX_TILING_ERROR or not c["couverture_valide"]}
    if failing:
        raise BuildError(f"régions not tiled within {MAX_TILING_ERROR:.1%}: {failing}")
    cross = cross_check_occitanie(com, Path(args.cross_check)) if Path(args.cross_check).exists() else None
    regions = regions_check(com, Path(args.regions_check)) if Path(args.regions_check).exists() else None
    if cross and (cross["codes_seulement_ici"] or cross["codes_seulement_fichier"]):
        raise BuildError(f"Occitanie codes differ from the cross-check file: {cross}")

    hist_df = history_table(hist, cog, old_names)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    now = dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc) if epoch else dt.datetime.now(dt.timezone.utc)
    label = "Sources : INSEE COG {m}, IGN ADMIN EXPRESS, Licence Ouverte".format(m=MILLESIME)
    meta = {
        "source": f"INSEE COG {MILLESIME} ({PACKAGE}@{args.package_version}), INSEE zones d'emploi 2020, "
                  f"IGN ADMIN EXPRESS COG 2018 ({OUTLINES_REPO})",
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "millesime": MILLESIME,
        "millesime_contours": "IGN ADMIN EXPRESS COG 2018, recodé COG " + MILLESIME,
        "libelle_sources": label,
        "date_construction": now.replace(microsecond=0).isoformat(),
        "crs": CRS,
        "quantification_m": GRID_M,
        "tolerance_simplification_m": args.tolerance,
        "sources": {
            "table_communes": {"fichier": Path(args.communes).name, "sha256": sha256_file(Path(args.communes)),
                               "origine": f"{PACKAGE}@{args.package_version} + INSEE ZE2020"},
            "decoupage_administratif": pkg_info,
            "contours": {"depot": f"https://github.com/{OUTLINES_REPO}", "editeur": "IGN ADMIN EXPRESS COG 2018",
                         "url_ign": "https://geoservices.ign.fr/adminexpress", **src.describe()},
            "contours_anciens": [{"depot": f"https://github.com/{OUTLINES_REPO}", **s.describe()}
                                 for s in old_sources if s.files],
        },
        "effectifs": {"communes": int(len(com)), "regions": int(com["reg"].nunique()),
                      "departements": int(com["dep"].nunique()), "historique": int(len(hist_df)),
                      "historique_sans_nom_ancien": int(hist_df["nom_ancien"].isna().sum()),
                      "population": int(com["population"].sum())},
        "recodage": recode_stats,
        "communes_retablies": restored,
        "conflits_historique": hist.conflicts,
        "controles": {"pavage_par_region": checks, "occitanie_fichier_temoin": cross,
                      "ecart_aux_regions_2025_simplifiees": regions},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    write_communes(com[COMMUNE_COLUMNS + ["geometry"]], out_dir / "communes.parquet", meta)
    write_history(hist_df, out_dir / "historique.parquet", meta)
    contents = {"communes.parquet": "une ligne par commune actuelle, contour (GeoParquet, EPSG:2154)",
                "historique.parquet": "ancien code -> commune actuelle (déléguée, associée, fusionnée)"}
    meta["fichiers"] = {n: {"contenu": contents[n], "octets": (out_dir / n).stat().st_size,
                            "sha256": sha256_file(out_dir / n)} for n in contents}
    (out_dir / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out_dir / "SOURCES.md").write_text(sources_md(meta), encoding="utf-8")
    total = sum(f.stat().st_size for f in out_dir.iterdir() if f.is_file())
    log(f"written {out_dir}: {total} bytes in {time.time() - t0:.0f} s")
    return meta


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--outlines", required=True, help="france-geojson git directory, checkout, or a GeoJSON file")
    p.add_argument("--commit", default=OUTLINES_COMMIT, help="commit of the outlines (git directory only)")
    p.add_argument("--restore-commits", nargs="*", default=list(RESTORE_COMMITS),
                   help="older commits for the communes restored since 2018 (git directory only)")
    p.add_argument("--old-outlines", nargs="*", default=[], help="older outline files/folders (no git)")
    p.add_argument("--communes", default=str(DEFAULT_COMMUNES), help="COG 2026 commune table (CSV)")
    p.add_argument("--package-version", default=PACKAGE_VERSION)
    p.add_argument("--package-tgz", default=None, help="the npm tarball, instead of running npm pack")
    p.add_argument("--out", default=str(ROOT / "referentiel"))
    p.add_argument("--tolerance", type=float, default=TOLERANCE_M, help="coverage simplification tolerance (m)")
    p.add_argument("--cross-check", default=str(DEFAULT_CROSS_CHECK))
    p.add_argument("--regions-check", default=str(DEFAULT_REGIONS_CHECK))
    args = p.parse_args(argv)
    try:
        build(args)
    except BuildError as e:
        log(f"ERREUR : {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
