"""One entry point for the whole diagnosis of a dataset, and its JSON form (``cli.py diagnose``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo import buyers as buyers_mod
from geo import needs as needs_mod
from geo.codes import as_text
from geo.diagnosis import Coverage, Diagnosis, build_coverage, diagnose, qpv_communes
from geo.markets import classify_markets, market_summary
from geo.territory import Referentiel


@dataclass
class Result:
    diagnosis: Diagnosis
    markets: pd.DataFrame  # one row per market, classification columns
    market_summary: dict
    coverage: Coverage
    ref: Referentiel
    marches: pd.DataFrame | None = None  # the markets diagnosed (their amounts, hours, buyers)
    inclusion: pd.DataFrame | None = None  # the inclusion structures (None: no file imported)

    def needs(self) -> needs_mod.Needs:
        """Needs against offer (``geo.needs``), computed once for this result (shared: do not mutate)."""
        cached = self.__dict__.get("_needs")
        if cached is None:
            marches = self.marches if self.marches is not None else _no_markets()
            cached = needs_mod.compute(self.ref, self.coverage.membership, self.coverage.structure_ids,
                                       self.diagnosis.structures, self.diagnosis.zones_emploi, marches,
                                       self.diagnosis.region or None, self.inclusion)
            self.__dict__["_needs"] = cached
        return cached


def _no_markets() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in (
        "id_marche", "acheteur", "acheteur_siret", "type_acheteur", "montant_ht", "date", "lieu_type", "lieu_code",
        "considerations_sociales", "heures_insertion")})


def buyers(result: Result, threshold: float = buyers_mod.SPASER_THRESHOLD) -> pd.DataFrame:
    """The buyers of the result's markets (``geo.buyers.aggregate``), with the facilitator structures whose
    areas hold their markets."""
    marches = result.marches if result.marches is not None else _no_markets()
    n = result.needs()
    return buyers_mod.aggregate(marches, n.markets["avec_consideration_sociale"].to_numpy(dtype=bool), threshold,
                                places=(n.place_of, n.touch, n.structures["nom"].tolist()), keys=n.buyer_keys)


def buyers_json(table: pd.DataFrame) -> list[dict]:
    """The buyers as ``cli.py acheteurs`` writes them (one object per buyer)."""
    out = []
    for row in table.itertuples(index=False):
        out.append({"siret": row.siret or None, "nom": row.nom if row.nom else None,
                    "type_acheteur": row.type_acheteur or None, "marches": int(row.marches),
                    "marches_sociaux": int(row.marches_sociaux), "montant_ht": _clean(row.montant_ht),
                    "montant_ht_social": _clean(row.montant_ht_social), "part_sociale": _clean(row.part_sociale),
                    "heures_insertion": _clean(row.heures_insertion), "annees": row.annees or None,
                    "montants_annuels": {str(y): v for y, v in sorted(row.montants_annuels.items())},
                    "montant_annuel_max": _clean(row.montant_annuel_max), "spaser": bool(row.spaser),
                    "structures": [x for x in str(row.structures).split("; ") if x]})
    return out


@dataclass
class Prepared:
    """What depends only on the référentiel, QPV and facilitators (reused across régions)."""

    ref: Referentiel
    coverage: Coverage
    qpv_links: list[np.ndarray]


def prepare(communes, qpv, structures, perimetres) -> Prepared:
    ref = Referentiel.from_communes(communes)
    return Prepared(ref, build_coverage(ref, structures, perimetres), qpv_communes(qpv, communes, ref))


def run(communes, qpv, structures, perimetres, marches, region: str | None,
        prepared: Prepared | None = None, inclusion: pd.DataFrame | None = None) -> Result:
    """The diagnosis of ``region``; ``inclusion``: the workspace's inclusion structures (``None`` when it has
    none: every figure that counts them is then unknown, never zero)."""
    p = prepared or prepare(communes, qpv, structures, perimetres)
    diag = diagnose(p.ref, communes, p.coverage, structures, qpv, p.qpv_links, region)
    names = structures.set_index(as_text(structures["id_structure"]))["nom"].astype(str)
    classified = classify_markets(p.ref, p.coverage, marches, [names[s] for s in p.coverage.structure_ids])
    return Result(diag, classified, market_summary(classified), p.coverage, p.ref, marches, inclusion)


def _clean(v):
    """JSON-safe scalars: numpy to Python, NaN to ``null``."""
    if v is None:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(float(v)) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def to_json(result: Result) -> dict:
    """The diagnosis with exactly the keys of the ``cli.py diagnose`` contract."""
    d = result.diagnosis
    s = d.summary
    ze_cols = ["code", "nom", "population", "part_couverte", "nb_structures"]
    st_cols = ["id_structure", "nb_facilitateurs", "etp", "population_couverte", "etp_pour_100k_hab",
               "ze_dominante", "part_ze_dominante", "nb_ze"]
    soc = result.markets[result.markets["avec_consideration_sociale"]]
    needs = result.needs()
    per = needs.structures.set_index("id_structure")
    structures = []
    for row in d.structures[st_cols].to_dict("records"):
        obj = {k: _clean(v) for k, v in row.items()}
        sid = row["id_structure"]
        obj["marches_sociaux"] = int(per.loc[sid, "marches_sociaux"]) if sid in per.index else 0
        obj["acheteurs"] = int(per.loc[sid, "acheteurs"]) if sid in per.index else 0
        obj["structures_inclusion"] = (None if result.inclusion is None or sid not in per.index
                                       else _clean(per.loc[sid, "structures_inclusion"]))
        if obj["structures_inclusion"] is not None:
            obj["structures_inclusion"] = int(obj["structures_inclusion"])
        structures.append(obj)
    out = {
        "region": d.region,
        "communes": {k: s["communes"][k] for k in ("total", "couvertes", "non_couvertes", "multi_couvertes")},
        "population": {k: s["population"][k] for k in ("totale", "non_couverte")},
        "qpv": {k: s["qpv"][k] for k in ("total", "couverts", "partiels", "non_couverts", "population_non_couverte")},
        "zones_emploi": [{k: _clean(v) for k, v in row.items()} for row in d.zones_emploi[ze_cols].to_dict("records")],
        "structures": structures,
        "marches": {k: result.market_summary[k] for k in ("total", "avec_consideration_sociale", "couvert",
                                                          "multi_facilitateurs", "partiellement_couvert",
                                                          "hors_couverture", "non_localisable", "regional")},
        "marches_detail": [{"id_marche": i, "couverture": c, "regional": bool(r)}
                           for i, c, r in zip(soc["id_marche"], soc["couverture"], soc["regional"])],
    }
    if needs.inclusion is not None:
        out["structures_inclusion"] = {k: needs.inclusion[k] for k in ("total", "par_type", "dans_zones_blanches",
                                                                       "non_localisees")}
    return out
