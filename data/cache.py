"""Streamlit caches of the active dataset and of its diagnosis.

Keys are simple values (the store's stamp of the active dataset, a région code) and every
cache is bounded. Cached objects are shared between sessions: callers must not mutate them.
"""

from __future__ import annotations

import streamlit as st

from data import store
from data.dataset import Dataset
from geo import engine


@st.cache_resource(max_entries=3, show_spinner="Chargement des données…")
def _dataset(stamp: str) -> Dataset:
    return store.load_active()


@st.cache_resource(max_entries=3, show_spinner="Préparation du référentiel…")
def _prepared(stamp: str) -> engine.Prepared:
    ds = _dataset(stamp)
    return engine.prepare(ds.communes, ds.qpv, ds.structures, ds.perimetres)


@st.cache_resource(max_entries=16, show_spinner="Calcul du diagnostic…")
def _result(stamp: str, region: str) -> engine.Result:
    ds = _dataset(stamp)
    return engine.run(ds.communes, ds.qpv, ds.structures, ds.perimetres, ds.marches, region,
                      prepared=_prepared(stamp))


def stamp() -> str:
    return store.active_stamp()


def active_dataset() -> Dataset:
    return _dataset(stamp())


def prepared() -> engine.Prepared:
    return _prepared(stamp())


def diagnosis(region: str) -> engine.Result:
    return _result(stamp(), region)


def clear() -> None:
    """After an import or a reset: every cached view of the old dataset goes."""
    st.cache_resource.clear()
    st.cache_data.clear()


@st.cache_resource(max_entries=8, show_spinner="Préparation de la carte…")
def _layers(stamp: str, region: str):
    from geo.display import build_layers

    ds = _dataset(stamp)
    res = _result(stamp, region)
    return build_layers(ds.communes, ds.qpv, ds.structures, res.coverage.membership, res.coverage.structure_ids,
                        region, res.diagnosis.communes, res.diagnosis.qpv)


def display_layers(region: str):
    """Simplified, dissolved map layers in EPSG:4326, prepared once per dataset and région."""
    return _layers(stamp(), region)


@st.cache_resource(max_entries=2, show_spinner="Lecture et classement des marchés…")
def _uploaded_markets(stamp: str, region: str, file_id: str, name: str, _data: bytes):
    from data.readers import Upload
    from data.validation import validate_marches
    from geo.markets import classify_markets

    ds = _dataset(stamp)
    # a national DECP file is cut down to the région's départements first
    loaded = validate_marches(Upload(name, _data), region_deps=set(ds.communes.loc[ds.communes["reg"] == region,
                                                                                     "dep"]))
    if not loaded.ok:
        return loaded, None
    p = _prepared(stamp)
    names = dict(zip(ds.structures["id_structure"].astype(str), ds.structures["nom"].astype(str)))
    return loaded, classify_markets(p.ref, p.coverage, loaded.tables["marches"],
                                    [names.get(s, s) for s in p.coverage.structure_ids])


def uploaded_markets(region: str, file_id: str, name: str, data: bytes):
    """A market file uploaded on the markets page, read and classified once (not at every filter
    change); keyed by the upload's id, the bytes themselves are not hashed."""
    return _uploaded_markets(stamp(), region, file_id, name, data)
