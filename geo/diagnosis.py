"""The territorial diagnosis, exactly as defined in DOMAIN.md ("The diagnosis: definitions").

Notation: C the communes of the selected région, pop(c) their population, E(s) the communes
that structure s covers (its perimeter expanded). Only communes of C count in région figures.

Pure functions on numpy arrays and frames; no Streamlit, no I/O. Areas in EPSG:2154.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.codes import as_text
from geo.territory import Referentiel

QPV_AREA_SHARE = 0.01  # a commune "holds" a QPV when it holds at least 1 % of its area

COUVERT, PARTIEL, NON_COUVERT = "couvert", "partiel", "non couvert"


@dataclass
class Coverage:
    """E(s) for every structure, as a boolean matrix (structures x communes of the référentiel)."""

    structure_ids: list[str]
    membership: np.ndarray
    unresolved: pd.DataFrame  # perimeter lines whose code resolved to nothing

    @property
    def covered(self) -> np.ndarray:
        return self.membership.any(axis=0)

    @property
    def count(self) -> np.ndarray:
        return self.membership.sum(axis=0)


def build_coverage(ref: Referentiel, structures: pd.DataFrame, perimetres: pd.DataFrame) -> Coverage:
    """Expand each structure's perimeter lines to communes.

    A line whose code resolves to nothing is kept in ``unresolved`` (with its line number in
    the perimeter table, header = line 1), never dropped silently.
    """
    ids = as_text(structures["id_structure"]).tolist()
    pos = {sid: i for i, sid in enumerate(ids)}
    m = np.zeros((len(ids), len(ref)), dtype=bool)
    bad = []
    for line, (sid, t, code) in enumerate(zip(as_text(perimetres["id_structure"]),
                                              as_text(perimetres["type_territoire"]),
                                              as_text(perimetres["code_territoire"])), start=2):
        idx = ref.expand(t, code)
        if idx is None or sid not in pos:
            bad.append({"ligne": line, "id_structure": sid, "type_territoire": t, "code_territoire": code})
            continue
        m[pos[sid], idx] = True
    unresolved = pd.DataFrame(bad, columns=["ligne", "id_structure", "type_territoire", "code_territoire"])
    return Coverage(ids, m, unresolved)


def qpv_communes(qpv: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, ref: Referentiel) -> list[np.ndarray]:
    """The communes each QPV lies in.

    With geometries: the communes whose polygon holds at least 1 % of the QPV's area, computed
    in EPSG:2154. Without (or with no such commune): the declared ``code_commune`` (one code or
    several, ``;``-separated). A QPV that neither locates gets an empty array.
    """
    n = len(qpv)
    out: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * n
    q_geoms = qpv.geometry.to_crs("EPSG:2154").to_numpy() if qpv.crs else qpv.geometry.to_numpy()
    c_geoms = communes.geometry.to_crs("EPSG:2154").to_numpy() if communes.crs else communes.geometry.to_numpy()
    has_q = ~shapely.is_missing(q_geoms) & ~shapely.is_empty(q_geoms)
    has_c = ~shapely.is_missing(c_geoms) & ~shapely.is_empty(c_geoms)
    if has_q.any() and has_c.any():
        c_idx_map = np.flatnonzero(has_c)
        tree = shapely.STRtree(c_geoms[has_c])
        qi = np.flatnonzero(has_q)
        pairs = tree.query(q_geoms[qi], predicate="intersects")
        if pairs.shape[1]:
            q_of = qi[pairs[0]]
            c_of = c_idx_map[pairs[1]]
            inter = shapely.area(shapely.intersection(q_geoms[q_of], c_geoms[c_of]))
            keep = inter >= QPV_AREA_SHARE * shapely.area(q_geoms[q_of])
            df = pd.DataFrame({"q": q_of[keep], "c": c_of[keep]})
            for q, grp in df.groupby("q"):
                out[int(q)] = np.sort(grp["c"].to_numpy())
    declared = as_text(qpv["code_commune"]).tolist() if "code_commune" in qpv.columns else [""] * n
    for i in range(n):
        if len(out[i]) == 0 and declared[i]:
            idx, _ = ref.expand_many("commune", [c for c in declared[i].split(";") if c])
            out[i] = idx
    return out


def _ratio(num: float, den: float, scale: float = 1.0) -> float | None:
    return None if not den else float(num) / float(den) * scale


@dataclass
class Diagnosis:
    region: str
    summary: dict
    communes: pd.DataFrame
    qpv: pd.DataFrame
    zones_emploi: pd.DataFrame
    structures: pd.DataFrame
    overlaps: pd.DataFrame
    unresolved: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def diagnose(ref: Referentiel, communes: pd.DataFrame, cov: Coverage, structures: pd.DataFrame,
             qpv: pd.DataFrame, qpv_links: list[np.ndarray], region: str | None) -> Diagnosis:
    """Every coverage figure of DOMAIN.md for the communes of ``region`` (all when ``None``)."""
    in_c = ref.region_mask(region) if region else np.ones(len(ref), dtype=bool)
    pop = ref.population
    m = cov.membership
    count = m.sum(axis=0)
    covered = count > 0
    names = as_text(communes["nom"]).to_numpy()
    ids = np.array(cov.structure_ids, dtype=object)

    # --- communes
    c_idx = np.flatnonzero(in_c)
    m_c = m[:, c_idx]
    struct_lists = _structure_lists(m_c, ids)
    com = pd.DataFrame({
        "code_insee": ref.codes[c_idx], "nom": names[c_idx], "dep": ref.dep[c_idx],
        "epci_siren": as_text(communes["epci_siren"]).to_numpy()[c_idx],
        "epci_nom": as_text(communes["epci_nom"]).to_numpy()[c_idx],
        "ze2020": ref.ze[c_idx], "ze2020_lib": as_text(communes["ze2020_lib"]).to_numpy()[c_idx],
        "population": pop[c_idx], "nb_structures": count[c_idx], "couverte": covered[c_idx],
        "structures": struct_lists,
    })
    pop_total = int(pop[c_idx].sum())
    pop_uncovered = int(pop[c_idx][~covered[c_idx]].sum())

    # --- QPV: in the région when one of their communes is in C
    q_rows = []
    q_codes, q_names = as_text(qpv["code_qp"]).tolist(), as_text(qpv["nom_qp"]).tolist()
    q_pops = pd.to_numeric(qpv["population"], errors="coerce").fillna(0).astype(np.int64).tolist()
    for i, links in enumerate(qpv_links):
        if len(links) == 0 or not in_c[links].any():
            continue
        cov_links = covered[links]
        status = COUVERT if cov_links.all() else (PARTIEL if cov_links.any() else NON_COUVERT)
        covering = ids[m[:, links].any(axis=1)].tolist()
        q_rows.append({"code_qp": q_codes[i], "nom_qp": q_names[i], "population": q_pops[i],
                       "communes": ";".join(ref.codes[links]), "statut": status, "structures": ";".join(covering),
                       "_links": links})
    q = pd.DataFrame(q_rows, columns=["code_qp", "nom_qp", "population", "communes", "statut", "structures",
                                      "_links"])
    unlocated = [q_codes[i] for i, links in enumerate(qpv_links) if len(links) == 0]

    # --- zones d'emploi (communes of C only), vectorised: one bincount per figure
    ze_all, ze_names_idx = pd.factorize(pd.Series(ref.ze, dtype=object))
    n_ze = len(ze_names_idx)
    z_c = ze_all[c_idx]
    in_c_pop = np.where(in_c, pop, 0)
    zpop_all = np.bincount(ze_all, weights=in_c_pop, minlength=n_ze)
    zcov_all = np.bincount(ze_all, weights=np.where(covered, in_c_pop, 0), minlength=n_ze)
    zn_all = np.bincount(z_c, minlength=n_ze)
    zunc_all = np.bincount(z_c[~covered[c_idx]], minlength=n_ze)
    outside = np.bincount(ze_all[~in_c], minlength=n_ze) > 0
    # presence[k, z]: structure k covers a commune of C in zone z
    presence = np.zeros((len(ids), n_ze), dtype=bool)
    rows_k, cols_c = np.nonzero(m_c)
    presence[rows_k, z_c[cols_c]] = True
    ze_lib = dict(zip(ref.ze, as_text(communes["ze2020_lib"])))
    ze_rows = []
    for zi in sorted(set(z_c.tolist()), key=lambda i: ze_names_idx[i]):
        z = ze_names_idx[zi]
        if z in ("", "nan"):
            continue
        zpop = int(zpop_all[zi])
        ze_rows.append({"code": z, "nom": ze_lib.get(z, ""), "population": zpop,
                        "part_couverte": _ratio(zcov_all[zi], zpop), "nb_structures": int(presence[:, zi].sum()),
                        "structures": ";".join(ids[presence[:, zi]]),
                        "chevauche_region": bool(z.startswith("00") or outside[zi]),
                        "nb_communes": int(zn_all[zi]), "communes_non_couvertes": int(zunc_all[zi])})
    ze = pd.DataFrame(ze_rows, columns=["code", "nom", "population", "part_couverte", "nb_structures",
                                        "structures", "chevauche_region", "nb_communes", "communes_non_couvertes"])

    # --- structures
    qpv_pop = np.zeros(len(ids))
    n_qpv = np.zeros(len(ids), dtype=int)
    for links, p in zip(q["_links"], q["population"]):
        inside = m[:, links[in_c[links]]].any(axis=1)
        qpv_pop += inside * p
        n_qpv += inside
    cpop_all = (m_c.astype(np.float64) @ pop[c_idx].astype(np.float64)).round().astype(np.int64)
    valid_z = np.array([z not in ("", "nan") for z in ze_names_idx], dtype=bool)
    st_rows = []
    s_frame = structures.set_index(as_text(structures["id_structure"]))
    for k, sid in enumerate(ids):
        e_c = m_c[k]
        cpop = int(cpop_all[k])
        zpop = np.bincount(z_c[e_c], weights=pop[c_idx][e_c], minlength=n_ze)
        touched = (np.bincount(z_c[e_c], minlength=n_ze) > 0) & valid_z
        if touched.any():
            zmax = np.where(touched, zpop, -1.0)
            best = int(np.argmax(zmax))  # ties: first code in order of appearance
            ze_dom, dom_pop = str(ze_names_idx[best]), float(zpop[best])
        else:
            ze_dom, dom_pop = None, 0.0
        row = s_frame.loc[sid]
        etp = float(row["etp"])
        st_rows.append({
            "id_structure": sid, "nom": str(row["nom"]), "type_structure": str(row["type_structure"]),
            "code_commune": str(row["code_commune"]),
            "nb_facilitateurs": int(row["nb_facilitateurs"]), "etp": etp, "nb_communes": int(e_c.sum()),
            "population_couverte": cpop, "etp_pour_100k_hab": _ratio(etp, cpop, 100_000),
            "nb_qpv": int(n_qpv[k]), "population_qpv": int(qpv_pop[k]),
            "etp_pour_10k_hab_qpv": _ratio(etp, qpv_pop[k], 10_000),
            "ze_dominante": ze_dom, "part_ze_dominante": _ratio(dom_pop, cpop) if ze_dom else None,
            "nb_ze": int(touched.sum()),
        })
    st = pd.DataFrame(st_rows, columns=["id_structure", "nom", "type_structure", "code_commune",
                                        "nb_facilitateurs", "etp", "nb_communes", "population_couverte",
                                        "etp_pour_100k_hab", "nb_qpv", "population_qpv", "etp_pour_10k_hab_qpv",
                                        "ze_dominante", "part_ze_dominante", "nb_ze"])

    # --- overlaps between every pair of structures (communes of C)
    overlaps = pair_overlaps(m_c, pop[c_idx], ids, q, c_idx)

    summary = {
        "communes": {"total": int(len(c_idx)), "couvertes": int(covered[c_idx].sum()),
                     "non_couvertes": int((~covered[c_idx]).sum()),
                     "multi_couvertes": int((count[c_idx] >= 2).sum())},
        "population": {"totale": pop_total, "non_couverte": pop_uncovered,
                       "part_non_couverte": _ratio(pop_uncovered, pop_total)},
        "qpv": {"total": int(len(q)), "couverts": int((q["statut"] == COUVERT).sum()),
                "partiels": int((q["statut"] == PARTIEL).sum()),
                "non_couverts": int((q["statut"] == NON_COUVERT).sum()),
                "population_non_couverte": int(q.loc[q["statut"] == NON_COUVERT, "population"].sum())},
        "structures": {"total": int(len(ids)), "personnes": int(st["nb_facilitateurs"].sum()),
                       "etp": float(st["etp"].sum()),
                       "etp_pour_100k_hab": _ratio(float(st["etp"].sum()), pop_total, 100_000)},
    }
    notes = []
    if len(cov.unresolved):
        n = len(cov.unresolved)
        notes.append(f"{n} {'lignes' if n >= 2 else 'ligne'} de périmètre dont le code est inconnu du référentiel.")
    if unlocated:
        shown = ", ".join(unlocated[:10]) + (" …" if len(unlocated) > 10 else "")
        notes.append(f"{len(unlocated)} QPV hors du référentiel des communes chargé (aucune de leurs communes n'y "
                     f"figure), ignorés : {shown}.")
    return Diagnosis(str(region or ""), summary, com, q.drop(columns="_links"), ze, st, overlaps,
                     cov.unresolved, notes)


def _structure_lists(m_c: np.ndarray, ids: np.ndarray) -> list[str]:
    out = [""] * m_c.shape[1]
    rows, cols = np.nonzero(m_c)
    acc: dict[int, list[str]] = {}
    for r, c in zip(rows, cols):
        acc.setdefault(int(c), []).append(ids[r])
    for c, lst in acc.items():
        out[c] = ";".join(lst)
    return out


def pair_overlaps(m_c: np.ndarray, pop_c: np.ndarray, ids: np.ndarray, q: pd.DataFrame,
                  c_idx: np.ndarray) -> pd.DataFrame:
    """Shared communes, population and QPV for every pair of structures that overlap in C."""
    cols = ["id_a", "id_b", "communes_partagees", "population_partagee", "qpv_partages"]
    if m_c.shape[0] < 2:
        return pd.DataFrame(columns=cols)
    mf = m_c.astype(np.float32)
    shared = mf @ mf.T
    shared_pop = (mf * pop_c.astype(np.float64)) @ mf.T.astype(np.float64)
    # QPV shared: a QPV is in E(s) when one of its communes of C is
    pos = np.full(int(c_idx.max()) + 1 if len(c_idx) else 0, -1)
    pos[c_idx] = np.arange(len(c_idx))
    q_in = np.zeros((m_c.shape[0], len(q)), dtype=np.float32)
    for j, links in enumerate(q["_links"]):
        local = pos[links[links < len(pos)]]
        local = local[local >= 0]
        if len(local):
            q_in[:, j] = m_c[:, local].any(axis=1)
    shared_q = q_in @ q_in.T
    a, b = np.triu_indices(len(ids), k=1)
    keep = shared[a, b] > 0
    a, b = a[keep], b[keep]
    return pd.DataFrame({"id_a": ids[a], "id_b": ids[b], "communes_partagees": shared[a, b].astype(int),
                         "population_partagee": np.rint(shared_pop[a, b]).astype(np.int64),
                         "qpv_partages": shared_q[a, b].astype(int)}, columns=cols)


def structure_flags(structures: pd.DataFrame, low: float = 0.5, high: float = 2.0, max_ze: int = 3,
                    min_dominant: float = 0.5) -> pd.Series:
    """Outliers in words: a load far from the région's median, an area spread over many zones.

    The load is FTE per 100,000 inhabitants; "very low" below ``low`` x the median of the
    structures, "very high" above ``high`` x the median.
    """
    load = pd.to_numeric(structures["etp_pour_100k_hab"], errors="coerce")
    median = float(load.median()) if load.notna().any() else float("nan")
    out = []
    for value, n_ze, dom, pop in zip(load, structures["nb_ze"], structures["part_ze_dominante"],
                                     structures["population_couverte"]):
        words = []
        if pop == 0:
            words.append("aucune commune couverte dans la région")
        elif not np.isnan(value) and median > 0:
            v, med = (f"{x:.2f}".replace(".", ",") for x in (value, median))  # the numbers only, not the text
            if value < low * median:
                words.append(f"charge très élevée : {v} ETP pour 100 000 hab., moins de la moitié de la "
                             f"médiane ({med})")
            elif value > high * median:
                words.append(f"moyens très élevés : {v} ETP pour 100 000 hab., plus du double de la "
                             f"médiane ({med})")
        if n_ze > max_ze:
            words.append(f"aire dispersée sur {n_ze} zones d'emploi")
        elif dom is not None and not pd.isna(dom) and dom < min_dominant:
            words.append(f"aucune zone d'emploi ne domine ({round(100 * dom)} % au plus)")
        out.append(" ; ".join(words))
    return pd.Series(out, index=structures.index, dtype=object)


def zones_blanches(diag: "Diagnosis") -> pd.DataFrame:
    """Uncovered communes ranked by population, with their EPCI, zone d'emploi and QPV."""
    com = diag.communes
    qpv_by_commune: dict[str, list[str]] = {}
    for code_qp, nom, communes in zip(diag.qpv["code_qp"], diag.qpv["nom_qp"], diag.qpv["communes"]):
        for c in str(communes).split(";"):
            qpv_by_commune.setdefault(c, []).append(f"{nom} ({code_qp})")
    out = com.loc[~com["couverte"], ["code_insee", "nom", "population", "epci_nom", "ze2020_lib"]].copy()
    out["qpv"] = [", ".join(qpv_by_commune.get(c, [])) for c in out["code_insee"]]
    return out.sort_values(["population", "code_insee"], ascending=[False, True]).reset_index(drop=True)


def funding(structures: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """FTE funded by each source: Σ etp x share, and each source's share of the région's FTE."""
    rows = []
    etp = pd.to_numeric(structures["etp"], errors="coerce").fillna(0)
    total = float(etp.sum())
    for col, label in columns.items():
        shares = pd.to_numeric(structures.get(col, pd.Series(np.nan, index=structures.index)), errors="coerce")
        funded = float((etp * shares.fillna(0) / 100).sum())
        rows.append({"source": label, "etp_finances": funded, "part": funded / total if total else None})
    known = float((etp * structures[list(columns)].apply(pd.to_numeric, errors="coerce").notna().any(axis=1)).sum()) \
        if set(columns) <= set(structures.columns) else 0.0
    if total - known > 1e-9:
        rows.append({"source": "Non renseigné", "etp_finances": total - known, "part": (total - known) / total})
    return pd.DataFrame(rows)
