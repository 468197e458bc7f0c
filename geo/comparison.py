"""Comparing two states of the facilitators' network, A → B (DOMAIN.md, « Comparison »): two versions of a
workspace's facilitator data, a version and a scenario, or two scenarios (fiche 3, § 6c: « l'évolution des aires
d'intervention, la création de coordinations, la création ou suppression de postes »).

Every figure comes from the two states' own diagnoses (``geo.engine.Result``): a comparison computes nothing a
diagnosis does not, it puts the two side by side. Pure functions: no Streamlit, no store.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.markets import COUVERT
from geo.scenario import FUNDING, Network

# every figure of the diagnosis, with its key in ``engine.to_json`` where it has one, and its kind
FIGURES: list[tuple[str, str, str]] = [
    ("Communes de la région", "communes.total", "int"),
    ("Communes couvertes", "communes.couvertes", "int"),
    ("Zones blanches (communes non couvertes)", "communes.non_couvertes", "int"),
    ("Communes couvertes par plusieurs structures", "communes.multi_couvertes", "int"),
    ("Population de la région", "population.totale", "int"),
    ("Population couverte", "population.couverte", "int"),
    ("Population non couverte", "population.non_couverte", "int"),
    ("Part de la population couverte", "population.part_couverte", "pct"),
    ("QPV de la région", "qpv.total", "int"),
    ("QPV couverts", "qpv.couverts", "int"),
    ("QPV partiellement couverts", "qpv.partiels", "int"),
    ("QPV non couverts", "qpv.non_couverts", "int"),
    ("Population des QPV non couverts", "qpv.population_non_couverte", "int"),
    ("Structures porteuses", "structures.total", "int"),
    ("Facilitateurs (personnes)", "structures.personnes", "int"),
    ("ETP", "structures.etp", "dec2"),
    ("ETP pour 100 000 habitants", "structures.etp_pour_100k_hab", "dec2"),
    ("Marchés avec considération sociale", "marches.avec_consideration_sociale", "int"),
    ("Marchés couverts par une structure", "marches.couvert", "int"),
    ("Marchés sur plusieurs aires (plusieurs facilitateurs)", "marches.multi_facilitateurs", "int"),
    ("Marchés partiellement couverts", "marches.partiellement_couvert", "int"),
    ("Marchés hors couverture", "marches.hors_couverture", "int"),
    ("Marchés non localisables", "marches.non_localisable", "int"),
    ("Marchés qu'aucune structure ne couvre seule", "marches.sans_structure_unique", "int"),
    ("Marchés régionaux", "marches.regional", "int"),
    ("Marchés régionaux qu'aucune structure ne couvre seule", "marches.regionaux_sans_structure_unique", "int"),
]
# the four figures of a « Proposition » screen and slide
KEY_FIGURES = ("population.part_couverte", "communes.non_couvertes", "qpv.non_couverts",
               "marches.sans_structure_unique")
CHANGES = {"gagne": "devient couverte", "perd": "n'est plus couverte", "multi": "devient couverte par plusieurs "
           "structures", "unique": "n'est plus couverte que par une structure", "change": "change de structure"}
STATUS = {"creee": "créée", "supprimee": "supprimée", "modifiee": "modifiée", "inchangee": "inchangée"}
QPV_RANK = {"non couvert": 0, "partiel": 1, "couvert": 2}


def figure_values(result) -> dict[str, float | None]:
    """Every figure of ``FIGURES`` for one diagnosis, by key."""
    s = result.diagnosis.summary
    m = result.market_summary
    social = result.markets[result.markets["avec_consideration_sociale"].astype(bool)] if len(result.markets) \
        else result.markets
    not_single = social[social["couverture"] != COUVERT] if len(social) else social
    total = s["population"]["totale"]
    share = s["population"]["part_non_couverte"]
    out = {f"communes.{k}": s["communes"][k] for k in ("total", "couvertes", "non_couvertes", "multi_couvertes")}
    out.update({"population.totale": total, "population.non_couverte": s["population"]["non_couverte"],
                "population.couverte": total - s["population"]["non_couverte"],
                "population.part_couverte": None if share is None else 1 - share})
    out.update({f"qpv.{k}": s["qpv"][k] for k in ("total", "couverts", "partiels", "non_couverts",
                                                 "population_non_couverte")})
    out.update({f"structures.{k}": s["structures"][k] for k in ("total", "personnes", "etp", "etp_pour_100k_hab")})
    out.update({f"marches.{k}": m[k] for k in ("avec_consideration_sociale", "couvert", "multi_facilitateurs",
                                               "partiellement_couvert", "hors_couverture", "non_localisable",
                                               "regional")})
    out["marches.sans_structure_unique"] = int(len(not_single))
    out["marches.regionaux_sans_structure_unique"] = int(not_single["regional"].astype(bool).sum()) \
        if len(not_single) else 0
    return out


def figures_table(a, b) -> pd.DataFrame:
    """``indicateur, cle, kind, avant, apres, ecart`` for every figure of the diagnosis."""
    va, vb = figure_values(a), figure_values(b)
    rows = []
    for label, key, kind in FIGURES:
        x, y = va.get(key), vb.get(key)
        gap = None if x is None or y is None else y - x
        rows.append({"indicateur": label, "cle": key, "kind": kind, "avant": x, "apres": y, "ecart": gap})
    return pd.DataFrame(rows).astype({"avant": object, "apres": object, "ecart": object})


@dataclass
class Comparison:
    """A → B. ``label_a``/``label_b`` name the two states (« version 2 – enquête 2017 », « scénario … »)."""

    label_a: str
    label_b: str
    region: str
    figures: pd.DataFrame  # indicateur, cle, kind, avant, apres, ecart
    structures: pd.DataFrame  # fiche 3 § 6c, one row per structure of A or B
    zones_emploi: pd.DataFrame
    overlaps: pd.DataFrame
    communes: pd.DataFrame  # communes of the région whose coverage changes
    qpv: pd.DataFrame  # QPV whose status changes
    markets: pd.DataFrame  # social markets whose class changes
    a: object  # the two states' diagnoses (engine.Result)
    b: object

    def figure(self, key: str) -> tuple:
        row = self.figures[self.figures["cle"] == key].iloc[0]
        return row["avant"], row["apres"], row["ecart"]


def _in_region(result, area: np.ndarray) -> np.ndarray:
    reg = result.ref.region_mask(result.diagnosis.region) if result.diagnosis.region else np.ones(len(result.ref),
                                                                                                  bool)
    return area[reg[area]]


def _structures(a_net: Network, b_net: Network, a, b) -> pd.DataFrame:
    pop = a.ref.population
    sa = a_net.structures.set_index("id_structure")
    sb = b_net.structures.set_index("id_structure")
    da = a.diagnosis.structures.set_index("id_structure")
    db = b.diagnosis.structures.set_index("id_structure")
    ids = list(dict.fromkeys(a_net.ids + b_net.ids))
    rows = []
    for sid in ids:
        in_a, in_b = sid in sa.index, sid in sb.index
        ea = _in_region(a, a_net.area(sid)) if in_a else np.empty(0, dtype=np.int64)
        eb = _in_region(b, b_net.area(sid)) if in_b else np.empty(0, dtype=np.int64)
        added, removed = np.setdiff1d(eb, ea), np.setdiff1d(ea, eb)
        row = {"id_structure": sid, "nom": str((sb if in_b else sa).loc[sid, "nom"]),
               "communes_ajoutees": int(len(added)), "population_ajoutee": int(pop[added].sum()),
               "communes_retirees": int(len(removed)), "population_retiree": int(pop[removed].sum())}
        for side, frame, diag, present in (("avant", sa, da, in_a), ("apres", sb, db, in_b)):
            for col in ("nb_facilitateurs", "etp") + FUNDING:
                value = frame.loc[sid, col] if present and col in frame.columns else None
                value = None if value is None or pd.isna(value) else float(value)
                row[f"{col}_{side}"] = int(value) if value is not None and col == "nb_facilitateurs" else value
            for col in ("population_couverte", "etp_pour_100k_hab", "etp_pour_10k_hab_qpv", "ze_dominante", "nb_ze"):
                value = diag.loc[sid, col] if present and sid in diag.index else None
                row[f"{col}_{side}"] = None if value is None or (not isinstance(value, str) and pd.isna(value)) \
                    else value
        if not in_a:
            status = "creee"
        elif not in_b:
            status = "supprimee"
        else:
            same_posts = all((row[f"{c}_avant"] or 0) == (row[f"{c}_apres"] or 0)
                             for c in ("nb_facilitateurs", "etp") + FUNDING)
            same_area = np.array_equal(a_net.area(sid), b_net.area(sid))
            same_name = str(sa.loc[sid, "nom"]) == str(sb.loc[sid, "nom"])
            status = "inchangee" if same_posts and same_area and same_name else "modifiee"
        row["statut"] = STATUS[status]
        rows.append(row)
    cols = ["id_structure", "nom", "statut", "communes_ajoutees", "population_ajoutee", "communes_retirees",
            "population_retiree"]
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=cols)
    return df[cols + [c for c in df.columns if c not in cols]]


def _zones(a, b) -> pd.DataFrame:
    za = a.diagnosis.zones_emploi.set_index("code")
    zb = b.diagnosis.zones_emploi.set_index("code")
    codes = list(dict.fromkeys(list(za.index) + list(zb.index)))
    rows = []
    for z in codes:
        rows.append({"code": z, "nom": (zb if z in zb.index else za).loc[z, "nom"],
                     "population": (zb if z in zb.index else za).loc[z, "population"],
                     "part_couverte_avant": za.loc[z, "part_couverte"] if z in za.index else None,
                     "part_couverte_apres": zb.loc[z, "part_couverte"] if z in zb.index else None,
                     "nb_structures_avant": int(za.loc[z, "nb_structures"]) if z in za.index else 0,
                     "nb_structures_apres": int(zb.loc[z, "nb_structures"]) if z in zb.index else 0})
    return pd.DataFrame(rows, columns=["code", "nom", "population", "part_couverte_avant", "part_couverte_apres",
                                       "nb_structures_avant", "nb_structures_apres"])


def _overlaps(a, b) -> pd.DataFrame:
    def keyed(df):
        return {tuple(sorted((x, y))): (c, p) for x, y, c, p in zip(df["id_a"], df["id_b"], df["communes_partagees"],
                                                                   df["population_partagee"])}

    oa, ob = keyed(a.diagnosis.overlaps), keyed(b.diagnosis.overlaps)
    rows = []
    for pair in sorted(set(oa) | set(ob)):
        ca, pa = oa.get(pair, (0, 0))
        cb, pb = ob.get(pair, (0, 0))
        if (ca, pa) != (cb, pb):
            rows.append({"id_a": pair[0], "id_b": pair[1], "communes_partagees_avant": int(ca),
                         "communes_partagees_apres": int(cb), "population_partagee_avant": int(pa),
                         "population_partagee_apres": int(pb)})
    return pd.DataFrame(rows, columns=["id_a", "id_b", "communes_partagees_avant", "communes_partagees_apres",
                                       "population_partagee_avant", "population_partagee_apres"])


def commune_changes(a, b) -> pd.DataFrame:
    """The région's communes whose coverage changes: ``changement`` is a key of ``CHANGES``."""
    ca, cb = a.diagnosis.communes, b.diagnosis.communes
    na = ca["nb_structures"].to_numpy()
    nb = cb["nb_structures"].to_numpy()
    change = np.full(len(ca), "", dtype=object)
    change[(na == 0) & (nb > 0)] = "gagne"
    change[(na > 0) & (nb == 0)] = "perd"
    change[(na == 1) & (nb >= 2)] = "multi"
    change[(na >= 2) & (nb == 1)] = "unique"
    moved = (change == "") & (ca["structures"].to_numpy() != cb["structures"].to_numpy()) & (nb > 0)
    change[moved] = "change"
    keep = change != ""
    out = ca.loc[keep, ["code_insee", "nom", "population"]].copy()
    out["changement"] = change[keep]
    out["changement_lib"] = out["changement"].map(CHANGES)
    out["structures_avant"] = ca.loc[keep, "structures"].to_numpy()
    out["structures_apres"] = cb.loc[keep, "structures"].to_numpy()
    return out.reset_index(drop=True)


def _qpv(a, b) -> pd.DataFrame:
    qa = a.diagnosis.qpv.set_index("code_qp")
    qb = b.diagnosis.qpv.set_index("code_qp")
    rows = []
    for code in qa.index.intersection(qb.index):
        if qa.loc[code, "statut"] != qb.loc[code, "statut"]:
            rows.append({"code_qp": code, "nom_qp": qb.loc[code, "nom_qp"], "population": qb.loc[code, "population"],
                         "statut_avant": qa.loc[code, "statut"], "statut_apres": qb.loc[code, "statut"],
                         "ameliore": QPV_RANK[qb.loc[code, "statut"]] > QPV_RANK[qa.loc[code, "statut"]]})
    return pd.DataFrame(rows, columns=["code_qp", "nom_qp", "population", "statut_avant", "statut_apres", "ameliore"])


def market_changes(a, b) -> pd.DataFrame:
    """Social markets whose class changes (the same market file on both sides), with the structure that covers
    each alone after the change when there is one."""
    ma, mb = a.markets, b.markets
    cols = ["id_marche", "couverture_avant", "couverture_apres", "structure_apres", "devient_couvert"]
    if len(ma) == 0 or len(ma) != len(mb):
        return pd.DataFrame(columns=cols)
    social = ma["avec_consideration_sociale"].astype(bool).to_numpy()
    before, after = ma["couverture"].to_numpy(), mb["couverture"].to_numpy()
    keep = social & (before != after)
    out = pd.DataFrame({"id_marche": ma.loc[keep, "id_marche"].to_numpy(), "couverture_avant": before[keep],
                        "couverture_apres": after[keep], "structure_apres": mb.loc[keep, "structure"].to_numpy()})
    out["devient_couvert"] = (out["couverture_apres"] == COUVERT) & (out["couverture_avant"] != COUVERT)
    return out[cols]


def compare(a_net: Network, a, b_net: Network, b, label_a: str = "avant", label_b: str = "après") -> Comparison:
    """A → B from the two networks and their diagnoses on the same région and référentiel."""
    return Comparison(label_a, label_b, a.diagnosis.region, figures_table(a, b), _structures(a_net, b_net, a, b),
                      _zones(a, b), _overlaps(a, b), commune_changes(a, b), _qpv(a, b), market_changes(a, b), a, b)
