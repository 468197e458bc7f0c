"""One entry point for the whole diagnosis of a dataset, and its JSON form (``cli.py diagnose``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
        prepared: Prepared | None = None) -> Result:
    p = prepared or prepare(communes, qpv, structures, perimetres)
    diag = diagnose(p.ref, communes, p.coverage, structures, qpv, p.qpv_links, region)
    names = structures.set_index(as_text(structures["id_structure"]))["nom"].astype(str)
    classified = classify_markets(p.ref, p.coverage, marches, [names[s] for s in p.coverage.structure_ids])
    return Result(diag, classified, market_summary(classified), p.coverage, p.ref)


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
    return {
        "region": d.region,
        "communes": {k: s["communes"][k] for k in ("total", "couvertes", "non_couvertes", "multi_couvertes")},
        "population": {k: s["population"][k] for k in ("totale", "non_couverte")},
        "qpv": {k: s["qpv"][k] for k in ("total", "couverts", "partiels", "non_couverts", "population_non_couverte")},
        "zones_emploi": [{k: _clean(v) for k, v in row.items()} for row in d.zones_emploi[ze_cols].to_dict("records")],
        "structures": [{k: _clean(v) for k, v in row.items()} for row in d.structures[st_cols].to_dict("records")],
        "marches": {k: result.market_summary[k] for k in ("total", "avec_consideration_sociale", "couvert",
                                                          "multi_facilitateurs", "partiellement_couvert",
                                                          "hors_couverture", "non_localisable", "regional")},
        "marches_detail": [{"id_marche": i, "couverture": c, "regional": bool(r)}
                           for i, c, r in zip(soc["id_marche"], soc["couverture"], soc["regional"])],
    }
