"""Caches of the Scénarios page: the networks and diagnoses of the workspace's states, kept per workspace version,
région and scenario revision (a scenario's revision changes with every edit, undo or redo: a new key, never a
stale figure). Shared between sessions like every cache of ``components.state``: callers must not mutate them.
"""

from __future__ import annotations

import streamlit as st

from components import state
from data import scenarios as service
from data.store import scenarios as store
from geo import scenario, suggest


def revision(record: dict) -> str:
    """What changes whenever the scenario changes (its operations in force)."""
    return f"{record.get('updated', '')}|{record.get('position', 0)}|{len(record.get('operations', []))}"


@st.cache_resource(max_entries=6, show_spinner=False)
def _current(stamp: str, region: str):
    ds, prepared = state.dataset_at(stamp), state.prepared_at(stamp)
    net = scenario.network(prepared.ref, ds.structures, ds.perimetres)
    return net, scenario.run(prepared, ds.communes, ds.qpv, net, ds.marches, region, inclusion=ds.inclusion)


def current(region: str):
    """(network, diagnosis) of the workspace's current facilitator data."""
    return _current(state.stamp(), region)


@st.cache_resource(max_entries=8, show_spinner=False)
def _version(stamp: str, version: int):
    slug = stamp.rsplit("@", 1)[0]
    return service.version_network(slug, version, state.prepared_at(stamp))


@st.cache_resource(max_entries=16, show_spinner="Calcul du scénario…")
def _scenario(stamp: str, region: str, sid: str, rev: str, _record: dict):
    ds, prepared = state.dataset_at(stamp), state.prepared_at(stamp)
    base = _version(stamp, int(_record["base_version"]))
    net = scenario.apply_all(prepared.ref, base, store.applied(_record))
    return net, scenario.run(prepared, ds.communes, ds.qpv, net, ds.marches, region, inclusion=ds.inclusion)


def of_scenario(record: dict, region: str):
    """(network, diagnosis) of a scenario as it stands."""
    return _scenario(state.stamp(), region, record["id"], revision(record), record)


@st.cache_resource(max_entries=8, show_spinner=False)
def _version_result(stamp: str, region: str, version: int):
    ds, prepared = state.dataset_at(stamp), state.prepared_at(stamp)
    net = _version(stamp, version)
    return net, scenario.run(prepared, ds.communes, ds.qpv, net, ds.marches, region, inclusion=ds.inclusion)


def of_version(version: int, region: str):
    return _version_result(state.stamp(), region, int(version))


@st.cache_resource(max_entries=4, show_spinner="Voisinage des communes…")
def _neighbours(stamp: str):
    return suggest.adjacency(state.dataset_at(stamp).communes.geometry.to_numpy())


@st.cache_resource(max_entries=8, show_spinner="Calcul des propositions…")
def _suggestions(stamp: str, region: str, key: str, criterion: str, _net, _result):
    ds, prepared = state.dataset_at(stamp), state.prepared_at(stamp)
    ctx = suggest.context(prepared.ref, ds.communes, _net, _result, ds.marches, _neighbours(stamp))
    return suggest.suggest(ctx, criterion), suggest.coordination(_result, ds.marches)


def suggestions(region: str, key: str, criterion: str, net, result):
    """(ranked candidates, what a regional coordination would take over) for a state named ``key``."""
    return _suggestions(state.stamp(), region, key, criterion, net, result)


@st.cache_resource(max_entries=8, show_spinner="Calcul de la proposition…")
def _proposition(stamp: str, region: str, sid: str, rev: str, _record: dict):
    from geo.comparison import compare

    cur_net, cur_res = _current(stamp, region)
    net, res = _scenario(stamp, region, sid, rev, _record)
    return compare(cur_net, cur_res, net, res, "données actuelles", f"scénario « {_record['nom']} »")


def proposition(record: dict, region: str):
    """The scenario against the current facilitator data (the « Proposition » screen)."""
    return _proposition(state.stamp(), region, record["id"], revision(record), record)
