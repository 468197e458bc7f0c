"""The Scénarios page's widgets (fiche 3, § 3b and § 6c): choose or create a scenario, edit it in the words of the
field (pickers by name, a click on the map), see every figure before and after, take a suggestion, compare any two
states, export and adopt. Every action goes through ``data.scenarios`` (the same functions as ``cli.py scenario``)
and is refused in French when it would make the data invalid. Widget keys start with ``scenarios.``.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import streamlit as st

from components import auth, maps, scenario_map, scenario_state, state
from components.tables import XLSX_MIME, show_frame, show_table
from data import scenarios as service
from data.schemas import STRUCTURE_TYPES
from data.store import scenarios as store
from data.store.workspaces import StoreError
from geo import scenario, suggest
from geo.comparison import compare
from geo.scenario import ACTION_LABELS, FUNDING, ScenarioError
from views import fmt, palette
from views import proposition as P
from views import text as T

CHOICE_KEY = "scenarios.choix"
PARAM = "scenario"
COMPARE_PARAM = "comparer"
FUNDING_LABELS = {"fin_collectivites": "Collectivités (%)", "fin_fse": "FSE (%)", "fin_etat": "État (%)",
                  "fin_prive": "Privé (%)", "fin_autres": "Autres (%)"}
TERRITORY_TYPES = {"COM": "Communes", "EPCI": "EPCI", "DEP": "Départements", "ZE": "Zones d'emploi", "REG": "Région"}
SUGGESTIONS_SHOWN = 15


# ---------------------------------------------------------------------------------------------- choice


def sentence(text: str) -> str:
    """A store's message (« donnez un nom… ») as a sentence on screen."""
    return text[:1].upper() + text[1:]


def flash(message: str, kind: str = "success") -> None:
    """A message shown once, at the next run (after the rerun an action asks for)."""
    st.session_state["scenarios.message"] = (kind, message)


def show_flash() -> None:
    """The last action's message, as a toast: the page does not move under the presenter's pointer."""
    got = st.session_state.pop("scenarios.message", None)
    if got:
        kind, message = got
        st.toast(message, icon=":material/check_circle:" if kind == "success" else ":material/error:")


def choose(slug: str, records: list[dict]) -> dict | None:
    """The scenario selector (a link's ``?scenario=`` opens it); returns the chosen scenario's record."""
    ids = [r["slug"] for r in records]
    names = {r["slug"]: r for r in records}
    asked = st.query_params.get(PARAM)
    if asked in ids and st.session_state.get("scenarios.lien") != asked:
        st.session_state[CHOICE_KEY] = asked  # a link names its scenario (once: the selector wins afterwards)
        st.session_state["scenarios.lien"] = asked
    if st.session_state.get(CHOICE_KEY) not in ids:
        st.session_state[CHOICE_KEY] = ids[0] if ids else None
    if not ids:
        return None
    chosen = st.selectbox(
        "Scénario", ids, key=CHOICE_KEY, label_visibility="collapsed",
        format_func=lambda s: f"{names[s]['nom']} (depuis la version {names[s]['base_version']})")
    if st.query_params.get(PARAM) != chosen:
        st.query_params[PARAM] = chosen
    return store.read(slug, chosen)


NEW_POPOVER = "scenarios.nouveau.ouvert"
MORE_POPOVER = "scenarios.actions.ouvert"


def _done(sid: str | None, message: str, popover: str) -> None:
    """After an action of a popover: choose the scenario, say it, close the popover."""
    if sid:
        st.session_state[CHOICE_KEY] = sid
        st.query_params[PARAM] = sid
    flash(message)
    st.session_state[popover] = False


def _create(slug: str, prepared, user: str) -> None:
    name, base = st.session_state.get("scenarios.nouveau.nom", ""), st.session_state.get("scenarios.nouveau.version")
    try:
        sid = service.create(slug, name, prepared, base, user=user)
    except (StoreError, ScenarioError) as exc:
        flash(sentence(str(exc)), "error")
        return
    st.session_state["scenarios.nouveau.nom"] = ""
    _done(sid, f"Scénario « {' '.join(name.split())} » créé sur la version {base}.", NEW_POPOVER)


def _duplicate(slug: str, record: dict, user: str) -> None:
    name = st.session_state.get("scenarios.copie.nom", "")
    try:
        sid = service.duplicate(slug, record["id"], name, user=user)
    except StoreError as exc:
        flash(sentence(str(exc)), "error")
        return
    _done(sid, f"Copie « {' '.join(name.split())} » créée.", MORE_POPOVER)


def _rename(slug: str, record: dict, user: str) -> None:
    name = st.session_state.get("scenarios.renommer.nom", "")
    try:
        store.rename(slug, record["id"], name, user=user)
    except StoreError as exc:
        flash(sentence(str(exc)), "error")
        return
    _done(None, f"Scénario renommé « {' '.join(name.split())} ».", MORE_POPOVER)


def _delete(slug: str, record: dict, user: str) -> None:
    store.delete(slug, record["id"], user=user)
    st.session_state.pop(CHOICE_KEY, None)
    st.query_params.pop(PARAM, None)
    _done(None, f"Scénario « {record['nom']} » placé dans la corbeille.", MORE_POPOVER)


def versions_with_facilitators(slug: str) -> list[dict]:
    from data.store import workspaces

    out, has = [], False
    for h in workspaces.history(slug):
        has = has or h.get("kind") == "facilitateurs" or h.get("action") == "restauration"
        if has:
            out.append(h)
    return out


def manage(slug: str, record: dict | None, can_edit: bool, prepared) -> None:
    """Create, duplicate, rename, delete; undo and redo (for an editor)."""
    user = auth.current_user() or ""
    cols = st.columns([1, 1.15, 0.95, 0.95], gap="small", vertical_alignment="bottom")
    with cols[0].popover("Nouveau", icon=":material/add:", disabled=not can_edit, width="stretch",
                         help="Créer un scénario à partir des facilitateurs d'une version de l'espace",
                         key=NEW_POPOVER, on_change="rerun"), st.form("scenarios.nouveau", border=False):
        st.text_input("Nom du scénario", key="scenarios.nouveau.nom", max_chars=store.MAX_NAME,
                      placeholder="Extension du PLIE de Lens")
        versions = versions_with_facilitators(slug)
        labels = {int(h["version"]): f"version {h['version']} – {h.get('file') or h.get('action')}" for h in versions}
        st.selectbox("Facilitateurs de départ", list(labels)[::-1], format_func=labels.get,
                     key="scenarios.nouveau.version")
        st.form_submit_button("Créer le scénario", key="scenarios.nouveau.creer", type="primary",
                              on_click=_create, args=(slug, prepared, user))
    if record is None:
        return
    more = cols[1].popover("Autres actions", icon=":material/more_horiz:", disabled=not can_edit, width="stretch",
                           help="Dupliquer, renommer ou supprimer ce scénario", key=MORE_POPOVER, on_change="rerun")
    with more.expander("Dupliquer", icon=":material/content_copy:", key="scenarios.dupliquer.ouvert"), \
            st.form("scenarios.copie", border=False):
        st.text_input("Nom de la copie", value=f"{record['nom']} (copie)", key="scenarios.copie.nom",
                      max_chars=store.MAX_NAME)
        st.form_submit_button("Dupliquer", key="scenarios.copie.creer", type="primary", on_click=_duplicate,
                              args=(slug, record, user))
    with more.expander("Renommer", icon=":material/edit:", key="scenarios.renommer.ouvert"), \
            st.form("scenarios.renommer", border=False):
        st.text_input("Nouveau nom", value=record["nom"], key="scenarios.renommer.nom", max_chars=store.MAX_NAME)
        st.form_submit_button("Renommer", key="scenarios.renommer.ok", type="primary", on_click=_rename,
                              args=(slug, record, user))
    with more.expander("Supprimer", icon=":material/delete:", key="scenarios.supprimer.ouvert"):
        st.write(f"Le scénario « {fmt.md(record['nom'])} » ira dans la corbeille des scénarios ; les données "
                 "importées ne changent pas.")
        sure = st.checkbox("Je confirme la suppression", key="scenarios.supprimer.confirmer")
        st.button("Supprimer", key="scenarios.supprimer.ok", type="primary", disabled=not sure, on_click=_delete,
                  args=(slug, record, user))
    position, total = int(record.get("position", 0)), len(record.get("operations", []))
    if cols[2].button("Annuler", key="scenarios.annuler", icon=":material/undo:", width="stretch",
                      disabled=not can_edit or position == 0, help="Annuler la dernière opération"):
        store.undo(slug, record["id"], user=user)
        st.rerun()
    if cols[3].button("Rétablir", key="scenarios.retablir", icon=":material/redo:", width="stretch",
                      disabled=not can_edit or position >= total, help="Rétablir l'opération annulée"):
        store.redo(slug, record["id"], user=user)
        st.rerun()


# ---------------------------------------------------------------------------------------------- editing


@st.cache_resource(max_entries=6, show_spinner=False)
def _territories(stamp: str, region: str) -> dict[str, dict[str, str]]:
    """The territories of the pickers, by type: key → name, for the région's communes and the EPCI, départements,
    zones d'emploi that touch it."""
    ds = state.dataset_at(stamp)
    c = ds.communes
    in_c = c["reg"].astype(str) == str(region)
    r = c[in_c]
    out = {"COM": {f"COM:{code}": f"{nom} ({code})" for code, nom in sorted(zip(r["code_insee"], r["nom"]),
                                                                            key=lambda x: (str(x[1]), x[0]))}}
    out["EPCI"] = {f"EPCI:{code}": str(nom) for code, nom in sorted(
        set(zip(r["epci_siren"].astype(str), r["epci_nom"].astype(str))), key=lambda x: x[1]) if code and code != "nan"}
    dep_names = dict(zip(r["dep"].astype(str), r["dep_nom"].astype(str))) if "dep_nom" in r.columns else {}
    out["DEP"] = {f"DEP:{d}": f"{dep_names.get(d) or 'Département'} ({d})" for d in sorted(set(r["dep"].astype(str)))}
    out["ZE"] = {f"ZE:{z}": f"{n} ({z})" for z, n in sorted(set(zip(r["ze2020"].astype(str),
                                                                     r["ze2020_lib"].astype(str))), key=lambda x: x[1])
                 if z and z != "nan"}
    out["REG"] = {f"REG:{region}": ds.regions().get(region, region)}
    return out


def territory_picker(region: str, key: str, label: str = "Territoires") -> list[str]:
    """Territories chosen by name, one type at a time (a commune, an EPCI, a département...)."""
    options = _territories(state.stamp(), region)
    kind = st.segmented_control("Type de territoire", list(TERRITORY_TYPES), format_func=TERRITORY_TYPES.get,
                                default="EPCI", key=f"{key}.type", required=True)
    names = options[kind or "EPCI"]
    return st.multiselect(label, list(names), format_func=lambda k: names.get(k, k), key=f"{key}.{kind}",
                          placeholder="Tapez un nom pour chercher…")


def _apply(slug: str, sid: str, ops: list[dict], prepared, message: str) -> bool:
    try:
        service.apply(slug, sid, ops, prepared, user=auth.current_user() or "")
    except (ScenarioError, StoreError) as exc:
        st.session_state["scenarios.refus"] = sentence(str(exc))
        return False
    st.session_state.pop("scenarios.refus", None)
    flash(message)
    return True


def map_click(slug: str, record: dict, net, prepared, structure: str, names: dict, by_epci: bool) -> None:
    """A click on a commune adds it (or its whole EPCI) to the selected structure's area, or removes it."""
    returned = st.session_state.get("scenarios.carte") or {}
    code = scenario_map.clicked_commune(returned)
    if not code or not structure:
        return
    ref = prepared.ref
    pos = ref.by["COM"].get(code)
    if pos is None:
        return
    if by_epci:
        epci = state.dataset_at(state.stamp()).communes["epci_siren"].astype(str).to_numpy()[pos[0]]
        key = f"EPCI:{epci}"
        members = ref.by["EPCI"].get(epci, pos)
    else:
        key, members = f"COM:{code}", pos
    inside = np.isin(members, net.area(structure)).all()
    action = "retirer" if inside else "ajouter"
    op = {"action": action, "structure": structure, "territoires": [key]}
    props = (returned.get("last_active_drawing") or {}).get("properties") or {}
    place = html.unescape(str(props.get("epci") if by_epci else props.get("nom") or code))
    done = {("commune", False): "ajoutée à", ("commune", True): "retirée de", ("epci", False): "ajouté à",
            ("epci", True): "retiré de"}[("epci" if by_epci else "commune", bool(inside))]
    what = f"L'EPCI « {place} »" if by_epci else f"La commune « {place} »"
    _apply(slug, record["id"], [op], prepared, f"{what} : {done} l'aire de « {names.get(structure, structure)} ».")


CSS = """<style>
.st-key-scenarios-zone iframe { height: calc(100vh - 15.5rem) !important; min-height: 360px; }
.sc-figs { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px; margin-bottom: 4px; }
.sc-fig { border: 1px solid #d8d8e8; border-radius: 8px; padding: 6px 10px; }
.sc-label { font-size: 14px; color: #3a3a3a; line-height: 1.2; }
.sc-value { font-size: 26px; font-weight: 700; color: #000091; line-height: 1.15; font-variant-numeric: tabular-nums; }
.sc-delta { font-size: 14px; line-height: 1.2; color: #3a3a3a; }
.sc-delta b { padding: 0 4px; border-radius: 4px; }
.sc-delta b.good { background: #dff3e8; color: #146b3a; } .sc-delta b.bad { background: #fde2e1; color: #a01d1d; }
.sc-delta b.same { background: #eeeeee; color: #3a3a3a; }
</style>"""
BETTER_IF_LOWER = {"communes.non_couvertes", "qpv.non_couverts", "marches.sans_structure_unique"}


def key_figures(before, after) -> None:
    """The four figures of the proposition after the change, with the change and the value before."""
    c = compare(before[0], before[1], after[0], after[1])
    out = []
    for key in P.PAGE_FIGURES:
        a, b, gap = c.figure(key)
        kind = next(k for _, kk, k in P.FIGURES if kk == key)
        value = P.value_text(b, kind)
        tone = "same" if not gap else ("good" if (gap < 0) == (key in BETTER_IF_LOWER) else "bad")
        out.append(f'<div class="sc-fig"><div class="sc-label">{maps.esc(P.KEY_LABELS[key])}</div>'
                   f'<div class="sc-value">{maps.esc(value)}</div><div class="sc-delta"><b class="{tone}">'
                   f'{maps.esc(P.gap_text(gap, kind))}</b> avant : {maps.esc(P.value_text(a, kind))}</div></div>')
    st.html(CSS + f'<div class="sc-figs" role="group" aria-label="Chiffres clés du scénario">{"".join(out)}</div>')


def editor(slug: str, record: dict, region: str, prepared, can_edit: bool) -> None:
    net, result = scenario_state.of_scenario(record, region)
    cur = scenario_state.current(region)
    structures = net.structures
    names = dict(zip(structures["id_structure"].astype(str), structures["nom"].astype(str)))
    colours = palette.structure_colours(list(names))
    if st.session_state.get("scenarios.refus"):
        st.error(st.session_state["scenarios.refus"], icon=":material/block:")
    col_map, col_ops = st.columns([1.3, 1], gap="medium")
    with col_ops:
        key_figures(cur, (net, result))
        if "scenarios.structure" in st.session_state and st.session_state["scenarios.structure"] not in names:
            del st.session_state["scenarios.structure"]
        structure = st.selectbox("Structure à modifier", list(names), format_func=names.get,
                                 key="scenarios.structure", placeholder="Choisissez une structure")
        by_epci = st.segmented_control("Un clic sur la carte ajoute ou retire", ["commune", "epci"],
                                       format_func={"commune": "la commune", "epci": "tout son EPCI"}.get,
                                       default="commune", required=True, key="scenarios.clic") == "epci"
        if not can_edit:
            st.info("Votre rôle dans cet espace permet de voir les scénarios, pas de les modifier.",
                    icon=":material/visibility:")
        else:
            operation_form(slug, record, region, prepared, net, names, structure)
    with col_map:
        layers = state.display_layers(region)
        if not layers.drawable:
            st.warning(T.NO_OUTLINES, icon=":material/map:")
            return
        c_idx = np.flatnonzero(prepared.ref.region_mask(region))
        codes = prepared.ref.codes[c_idx]
        counts = np.zeros(len(prepared.ref), dtype=int)
        for sid in net.ids:
            counts[net.area(sid)] += 1
        own = np.isin(c_idx, net.area(structure)) if structure else np.zeros(len(c_idx), bool)
        paint = scenario_map.edit_paint(codes, counts[c_idx], own, colours.get(structure, "#000091"))
        cache_key = "|".join(["scenarios.base", state.stamp(), region])
        with st.container(key="scenarios-zone"):
            maps.show(None, key="scenarios.carte", height=560, cache_key=cache_key,
                      build=lambda: scenario_map.base(layers), selection=paint,
                      returned_objects=list(scenario_map.RETURNED),
                      on_change=(lambda: map_click(slug, record, net, prepared, structure, names, by_epci))
                      if can_edit else None)
        st.html(maps.legend_html(scenario_map.edit_legend(colours.get(structure, "#000091"),
                                                          names.get(structure, "")), title=None, css_class="inline"))


def operation_form(slug: str, record: dict, region: str, prepared, net, names: dict, structure: str | None) -> None:
    """Every operation of the field, by its French name, with its fields; « Appliquer » checks it first."""
    action = st.selectbox("Opération", list(ACTION_LABELS), format_func=lambda a: ACTION_LABELS[a].capitalize(),
                          key="scenarios.operation")
    op: dict = {"action": action}
    ready = True
    st_row = net.structures.set_index("id_structure").loc[structure] if structure in names else None
    if action in ("ajouter", "retirer"):
        op.update(structure=structure, territoires=territory_picker(region, "scenarios.territoires"))
        ready = bool(structure and op["territoires"])
    elif action == "transferer":
        others = [s for s in names if s != structure]
        dest = st.selectbox("Vers la structure", others, format_func=names.get, key="scenarios.vers")
        op.update({"de": structure, "vers": dest, "territoires": territory_picker(region, "scenarios.transfert")})
        ready = bool(structure and dest and op["territoires"])
    elif action == "modifier" and st_row is not None:
        c1, c2 = st.columns(2)
        op["nom"] = c1.text_input("Nom", value=str(st_row["nom"]), key=f"scenarios.m.nom.{structure}")
        types = list(dict.fromkeys(list(STRUCTURE_TYPES) + [str(st_row["type_structure"])]))
        op["type_structure"] = c2.selectbox("Type", types, index=types.index(str(st_row["type_structure"])),
                                            key=f"scenarios.m.type.{structure}")
        op["nb_facilitateurs"] = c1.number_input("Personnes", min_value=0, step=1, key=f"scenarios.m.nb.{structure}",
                                                 value=int(st_row["nb_facilitateurs"] or 0))
        op["etp"] = c2.number_input("ETP", min_value=0.0, step=0.1, format="%.2f", key=f"scenarios.m.etp.{structure}",
                                    value=float(st_row["etp"] or 0))
        with st.expander("Parts de financement (%)"):
            cols = st.columns(len(FUNDING))
            for col, fcol in zip(cols, FUNDING):
                v = st_row.get(fcol)
                value = None if v is None or pd.isna(v) else float(v)
                got = col.number_input(FUNDING_LABELS[fcol], min_value=0.0, max_value=100.0, step=5.0, value=value,
                                       key=f"scenarios.m.{fcol}.{structure}")
                if got is not None:
                    op[fcol] = got
        op["structure"] = structure
    elif action == "creer":
        c1, c2 = st.columns(2)
        free = next(f"NOUV{i}" for i in range(1, 999) if f"NOUV{i}" not in names)
        op["structure"] = c1.text_input("Identifiant", value=free, key="scenarios.c.id", max_chars=40)
        op["nom"] = c2.text_input("Nom", key="scenarios.c.nom", placeholder="Coordination régionale", max_chars=120)
        op["type_structure"] = c1.selectbox("Type", list(STRUCTURE_TYPES), key="scenarios.c.type",
                                            index=list(STRUCTURE_TYPES).index("Autre"))
        op["nb_facilitateurs"] = c1.number_input("Personnes", min_value=0, step=1, value=1, key="scenarios.c.nb")
        op["etp"] = c2.number_input("ETP", min_value=0.0, step=0.1, value=1.0, format="%.2f", key="scenarios.c.etp")
        op["territoires"] = territory_picker(region, "scenarios.c.territoires", "Aire d'intervention")
        ready = bool(op["structure"] and op["nom"] and op["territoires"])
    elif action == "supprimer":
        op["structure"] = structure
        ready = bool(structure) and st.checkbox(f"Supprimer « {names.get(structure, '')} » du scénario",
                                                key="scenarios.s.confirmer")
    elif action == "fusionner":
        chosen = st.multiselect("Structures à fusionner (la première garde son identifiant)", list(names),
                                default=[structure] if structure else [], format_func=names.get,
                                key="scenarios.f.structures", max_selections=6)
        op["structures"] = chosen
        ready = len(chosen) >= 2
    if st.button("Appliquer au scénario", key="scenarios.appliquer", type="primary", disabled=not ready,
                 icon=":material/play_arrow:"):
        _apply(slug, record["id"], [op], prepared, f"Opération appliquée : {ACTION_LABELS[action]}.")
        st.rerun()


# ---------------------------------------------------------------------------------------------- results


@st.cache_resource(max_entries=16, show_spinner=False)
def _file_of(key: str, _make) -> bytes:
    return _make()


def _file(key: str, make) -> bytes:
    """A download's bytes made once per content: a workbook's date changes each second, and a download button whose
    bytes change between two runs sends the browser to a file already gone."""
    return _file_of(key, make)


def comparison_view(c, region: str, key: str, workbook, market_points=None, export_name: str = "comparaison",
                    content_key: str = "") -> None:
    """Every figure side by side, the structures (fiche 3 § 6c), the zones d'emploi, the map of the change;
    ``workbook`` makes the comparison's XLSX (``reports.comparison.workbook``, given by the page)."""
    st.markdown(f"**{fmt.md(P.summary_sentence(c))}**  \n{fmt.md(P.states_sentence(c))}")
    col_t, col_m = st.columns([1.1, 1], gap="medium")
    with col_t:
        st.dataframe(P.figures_frame(c), hide_index=True, key=f"{key}.indicateurs", height=420, width="stretch",
                     column_config={"Indicateur": st.column_config.TextColumn(width=210),
                                    "Avant": st.column_config.TextColumn(width=72),
                                    "Après": st.column_config.TextColumn(width=72),
                                    "Écart": st.column_config.TextColumn(width=64)})
        st.download_button("Exporter la comparaison en XLSX", _file(f"{key}|{content_key}",
                                                                   lambda: workbook(c)), file_name=f"{export_name}.xlsx",
                           mime=XLSX_MIME, key=f"{key}.xlsx", icon=":material/download:", on_click="ignore")
    with col_m:
        layers = state.display_layers(region)
        if layers.drawable:
            cache_key = "|".join(["scenarios.base", state.stamp(), region])
            maps.show(None, key=f"{key}.carte", height=420, cache_key=cache_key,
                      build=lambda: scenario_map.base(layers), selection=scenario_map.change_paint(
                          c.communes, c.b.diagnosis.communes, market_points))
            items = scenario_map.change_legend(c.communes, bool(market_points))
            st.html(maps.legend_html(items, title=None, css_class="inline"))
    show_table(c.structures, key=f"{key}.structures", title="Par structure (fiche 3, § 6c)",
               export_name=f"{export_name}_structures", labels=P.STRUCTURE_LABELS, kinds=P.STRUCTURE_KINDS)
    show_table(c.zones_emploi, key=f"{key}.ze", title="Zones d'emploi", export_name=f"{export_name}_zones_emploi",
               labels=P.ZONE_LABELS, kinds=P.ZONE_KINDS)
    if len(c.overlaps):
        names = dict(zip(c.structures["id_structure"], c.structures["nom"]))
        ov = c.overlaps.assign(id_a=c.overlaps["id_a"].map(names).fillna(c.overlaps["id_a"]),
                               id_b=c.overlaps["id_b"].map(names).fillna(c.overlaps["id_b"]))
        show_table(ov, key=f"{key}.chevauchements", title="Chevauchements qui changent",
                   export_name=f"{export_name}_chevauchements", labels=P.OVERLAP_LABELS,
                   kinds={k: "int" for k in P.OVERLAP_LABELS if k not in ("id_a", "id_b")})
    if len(c.markets):
        show_table(P.market_frame(c), key=f"{key}.marches", title="Marchés dont la couverture change",
                   export_name=f"{export_name}_marches", labels=P.MARKET_LABELS)
    if len(c.communes):
        show_table(P.commune_frame(c), key=f"{key}.communes", title="Communes dont la couverture change",
                   export_name=f"{export_name}_communes", labels=P.COMMUNE_LABELS)


def market_points(c, prepared, layers) -> list[tuple]:
    """The markets that become covered by a single structure, as dots at their place."""
    ds = state.dataset()
    newly = c.markets[c.markets["devient_couvert"]] if len(c.markets) else c.markets
    if not len(newly) or not layers.drawable:
        return []
    from geo.markets import place_points

    m = ds.marches.reset_index(drop=True)
    rows = m[m["id_marche"].astype(str).isin(set(newly["id_marche"]))]
    pts = place_points(prepared.ref, layers.commune_xy, rows)
    out = []
    for (_, row), (_, p) in zip(rows.iterrows(), pts.iterrows()):
        if p["x"] == p["x"]:
            out.append((round(float(p["y"]), 5), round(float(p["x"]), 5), scenario_map.MARKET_COLOUR,
                        f"<b>{maps.esc(row.get('objet', ''))}</b><br>{maps.esc(row.get('acheteur', ''))}"))
    return out


def before_after(record: dict, region: str, prepared, workbook) -> None:
    net, result = scenario_state.of_scenario(record, region)
    cur_net, cur_res = scenario_state.current(region)
    c = compare(cur_net, cur_res, net, result, "données actuelles", f"scénario « {record['nom']} »")
    comparison_view(c, region, "scenarios.avant_apres", workbook, market_points(c, prepared, state.display_layers(region)),
                    export_name=f"comparaison_{record['id']}",
                    content_key=f"{state.stamp()}|{region}|{record['id']}|{scenario_state.revision(record)}")


def suggestions_view(slug: str, record: dict | None, region: str, prepared, can_edit: bool) -> None:
    if record is not None:
        net, result = scenario_state.of_scenario(record, region)
        key = f"{record['id']}|{scenario_state.revision(record)}"
        st.caption(f"Propositions pour le scénario « {fmt.md(record['nom'])} » tel qu'il est.")
    else:
        net, result = scenario_state.current(region)
        key = "courant"
        st.caption("Propositions pour les facilitateurs actuels de l'espace.")
    criterion = st.segmented_control("Classer par", list(suggest.CRITERIA),
                                     format_func={"population": "Population gagnée", "qpv": "QPV",
                                                  "marches": "Marchés", "charge": "Charge après"}.get,
                                     default="population", required=True, key="scenarios.critere")
    rows, coord = scenario_state.suggestions(region, key, criterion or "population", net, result)
    st.caption(fmt.md(P.criterion_sentence(criterion or "population")) + " Une extension ajoute un EPCI dont des "
               "communes de la région ne sont couvertes par personne à une structure dont l'aire le touche (commune "
               "voisine ou même zone d'emploi) ; la charge après est en ETP pour 100 000 habitants couverts.")
    if rows.empty:
        st.info("Aucune extension à proposer : chaque EPCI de la région est entièrement couvert.",
                icon=":material/check_circle:")
    else:
        top = rows.head(SUGGESTIONS_SHOWN)
        shown = top[["epci_nom", "nom", "population_gagnee", "qpv_ameliores", "marches_couverts",
                     "etp_pour_100k_hab_avant", "etp_pour_100k_hab_apres"]]
        show_frame(shown, key="scenarios.suggestions.table", labels=P.SUGGESTION_LABELS, kinds=P.SUGGESTION_KINDS)
        st.caption(f"{len(top)} premières propositions sur {fmt.integer(len(rows))} "
                   f"{'candidates' if len(rows) >= 2 else 'candidate'}.")
        if record is not None and can_edit:
            labels = {i: f"{i + 1}. {r.epci_nom} → {r.nom}" for i, r in enumerate(top.itertuples())}
            pick = st.selectbox("Proposition à appliquer", list(labels), format_func=labels.get,
                                key="scenarios.suggestions.choix")
            if st.button("Appliquer au scénario", key="scenarios.suggestions.appliquer", type="primary",
                         icon=":material/play_arrow:"):
                row = top.iloc[int(pick)]
                if _apply(slug, record["id"], [suggest.operation(row)], prepared,
                          f"Extension appliquée : {row['epci_nom']} ajouté à l'aire de « {row['nom']} »."):
                    st.rerun()
        elif record is None:
            st.caption("Créez un scénario pour appliquer une proposition d'un clic.")
    show_table(coord, key="scenarios.coordination", title="Ce qu'une coordination régionale prendrait en charge",
               export_name="coordination_regionale", kinds={"montant_ht": "euros"})
    st.caption("Les marchés avec considération sociale qu'aucune structure ne couvre seule et dont le lieu est dans "
               "la région, par acheteur : une structure dont l'aire serait toute la région les couvrirait seule.")


def states(slug: str) -> dict[str, str]:
    """Every state a comparison can take: the versions with facilitators, then the scenarios."""
    out = {}
    for h in versions_with_facilitators(slug)[::-1]:
        out[str(h["version"])] = f"Version {h['version']} – {h.get('file') or h.get('action') or ''}".strip(" –")
    for r in store.list_all(slug):
        out[f"scenario:{r['slug']}"] = f"Scénario « {r['nom']} »"
    return out


def comparator(slug: str, region: str, prepared, workbook, record: dict | None = None) -> None:
    options = states(slug)
    if len(options) < 2:
        st.info("Il faut au moins deux états à comparer : deux imports de facilitateurs, ou un scénario.",
                icon=":material/info:")
        return
    asked = str(st.query_params.get(COMPARE_PARAM, ""))
    if "~" in asked and "scenarios.de" not in st.session_state:
        a, b = asked.split("~", 1)
        if a in options and b in options:
            st.session_state["scenarios.de"], st.session_state["scenarios.vers"] = a, b
    keys = list(options)
    versions = [k for k in keys if not k.startswith("scenario:")]
    default_b = f"scenario:{record['id']}" if record is not None and f"scenario:{record['id']}" in options else keys[0]
    default_a = versions[0] if versions and versions[0] != default_b else next(k for k in keys if k != default_b)
    c1, c2 = st.columns(2)
    a = c1.selectbox("Avant (état A)", keys, format_func=options.get, key="scenarios.de", index=keys.index(default_a))
    b = c2.selectbox("Après (état B)", keys, format_func=options.get, key="scenarios.vers", index=keys.index(default_b))
    if st.query_params.get(COMPARE_PARAM) != f"{a}~{b}":
        st.query_params[COMPARE_PARAM] = f"{a}~{b}"
    if a == b:
        st.info("Choisissez deux états différents.", icon=":material/info:")
        return
    sa, sb = _state(slug, a, region), _state(slug, b, region)
    c = compare(sa[0], sa[1], sb[0], sb[1], options[a], options[b])
    revisions = "|".join(scenario_state.revision(store.read(slug, k.split(":", 1)[1])) if k.startswith("scenario:")
                         else k for k in (a, b))
    comparison_view(c, region, "scenarios.comparaison", workbook, market_points(c, prepared, state.display_layers(region)),
                    export_name="comparaison", content_key=f"{state.stamp()}|{region}|{a}|{b}|{revisions}")


def _state(slug: str, key: str, region: str):
    if key.startswith("scenario:"):
        return scenario_state.of_scenario(store.read(slug, key.split(":", 1)[1]), region)
    return scenario_state.of_version(int(key), region)


def operations_and_export(slug: str, record: dict, prepared, can_edit: bool, read_only: bool) -> None:
    ops = store.applied(record)
    st.markdown(f"**{len(ops)} opération{'s' if len(ops) >= 2 else ''} en vigueur**, depuis la version "
                f"{record['base_version']} de l'espace.")
    if ops:
        st.dataframe(pd.DataFrame({"N°": range(1, len(ops) + 1), "Opération": [describe(op) for op in ops]}),
                     hide_index=True, key="scenarios.operations", width="stretch")
    log = pd.DataFrame(record.get("log", []))
    if len(log):
        log = log.reindex(columns=["date", "par", "action", "detail"]).fillna("")
        log["date"] = log["date"].map(fmt.date)
        log.columns = ["Date", "Par", "Action", "Détail"]
        with st.expander("Historique du scénario"):
            st.dataframe(log.iloc[::-1], hide_index=True, key="scenarios.historique", width="stretch")
    st.download_button("Exporter les facilitateurs du scénario (XLSX, format d'import)",
                       _file(f"export|{state.stamp()}|{record['id']}|{scenario_state.revision(record)}",
                             lambda: service.export_xlsx(slug, record["id"], prepared)),
                       file_name=f"facilitateurs_{record['id']}.xlsx",
                       mime=XLSX_MIME, key="scenarios.export", icon=":material/download:", on_click="ignore",
                       help="Feuilles « structures » et « perimetres », aires écrites en départements, EPCI puis "
                            "communes : le fichier s'importe tel quel sur la page Données.")
    if read_only:
        st.caption("L'espace de démonstration est en lecture seule : un scénario s'y prépare et s'exporte, il ne "
                   "s'adopte pas.")
        return
    with st.expander("Adopter ce scénario", icon=":material/task_alt:"):
        warning = service.older_base(slug, record)
        if warning:
            st.warning(warning, icon=":material/warning:")
        st.write("Le scénario deviendra les facilitateurs de l'espace, comme une nouvelle version (inscrite au "
                 "journal, et qu'un retour à la version précédente annule).")
        sure = st.checkbox("Je confirme l'adoption", key="scenarios.adopter.confirmer", disabled=not can_edit)
        if st.button("Adopter", key="scenarios.adopter", type="primary", disabled=not (can_edit and sure)):
            version = service.adopt(slug, record["id"], prepared, user=auth.current_user() or "")
            flash(f"Scénario adopté : version {version} de l'espace.")
            st.rerun()


def describe(op: dict) -> str:
    """An operation in words (« Ajouter EPCI:200041960 à HDF05 »)."""
    a = op.get("action")
    terr = ", ".join(op.get("territoires", []) if isinstance(op.get("territoires"), list) else [str(op.get("territoires"))])
    if a in ("ajouter", "retirer"):
        return f"{'Ajouter' if a == 'ajouter' else 'Retirer'} {terr} {'à' if a == 'ajouter' else 'de'} {op.get('structure')}"
    if a == "transferer":
        return f"Transférer {terr} de {op.get('de')} à {op.get('vers')}"
    if a == "modifier":
        changes = ", ".join(f"{k} = {v}" for k, v in op.items() if k not in ("action", "structure"))
        return f"Modifier {op.get('structure')} : {changes}"
    if a == "creer":
        return f"Créer {op.get('structure')} « {op.get('nom')} » ({terr})"
    if a == "supprimer":
        return f"Supprimer {op.get('structure')}"
    if a == "fusionner":
        return "Fusionner " + " et ".join(op.get("structures", []))
    return str(op)
