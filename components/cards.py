"""A structure's card: engine figures, the QPV and zones d'emploi it covers, its neighbours.

Two forms: the full card beside the map (:func:`structure_card`, figures that wrap instead of being cut
in a narrow column) and compact cards for comparing two to four structures on one screen
(:func:`compact_cards`).
"""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from views import fmt
from views.text import agree


def structure_figures(result, sid: str) -> dict:
    st_row = result.diagnosis.structures.set_index("id_structure").loc[sid]
    return st_row.to_dict()


def neighbours(result, sid: str) -> pd.DataFrame:
    """The structures sharing communes with ``sid`` and what they share."""
    ov = result.diagnosis.overlaps
    names = dict(zip(result.diagnosis.structures["id_structure"], result.diagnosis.structures["nom"]))
    a = ov[ov["id_a"] == sid].rename(columns={"id_b": "voisin"})
    b = ov[ov["id_b"] == sid].rename(columns={"id_a": "voisin"})
    out = pd.concat([a.drop(columns="id_a"), b.drop(columns="id_b")], ignore_index=True)
    out.insert(1, "nom_voisin", [names.get(v, v) for v in out["voisin"]])
    return out.sort_values("population_partagee", ascending=False)


def qpv_of(result, sid: str) -> pd.DataFrame:
    q = result.diagnosis.qpv
    mask = q["structures"].str.split(";").apply(lambda lst: sid in lst)
    return q.loc[mask.to_numpy(), ["code_qp", "nom_qp", "population", "statut"]]


def ze_of(result, sid: str) -> pd.DataFrame:
    ze = result.diagnosis.zones_emploi
    mask = ze["structures"].str.split(";").apply(lambda lst: sid in lst)
    return ze.loc[mask.to_numpy(), ["code", "nom", "population", "part_couverte", "nb_structures"]]


def structure_card(result, sid: str, key: str = "carte.fiche", details: bool = True) -> None:
    """The card: name, type, six figures, its dominant zone d'emploi, then (``details``) the tables of
    its neighbours, QPV and zones d'emploi."""
    f = structure_figures(result, sid)
    with st.container(key="fiche-" + key.replace(".", "-")):  # compact figures, see components.style
        st.markdown(f"### {fmt.md(f['nom'])}")
        st.caption(f"{fmt.md(f['type_structure'])} – identifiant {fmt.md(sid)}")
        c1, c2 = st.columns(2)
        c1.metric("Personnes", fmt.integer(f["nb_facilitateurs"]))
        c2.metric("ETP", fmt.decimal(f["etp"]))
        c1.metric("Population couverte", fmt.integer(f["population_couverte"]))
        c2.metric("ETP / 100 000 hab.", fmt.decimal(f["etp_pour_100k_hab"], 2))
        c1.metric("QPV couverts", fmt.integer(f["nb_qpv"]))
        c2.metric("ETP / 10 000 hab. QPV", fmt.decimal(f["etp_pour_10k_hab_qpv"], 2))
        ze_name = dict(zip(result.diagnosis.zones_emploi["code"], result.diagnosis.zones_emploi["nom"]))
        dom = f["ze_dominante"]
        st.markdown(f"**Zone d'emploi dominante** : {fmt.md(ze_name.get(dom, dom or '–'))} "
                    f"({fmt.percent(f['part_ze_dominante'])} de sa population) ; "
                    f"{fmt.integer(f['nb_ze'])} {agree(f['nb_ze'], 'zone', 'zones')} d'emploi "
                    f"{agree(f['nb_ze'], 'touchée', 'touchées')}.")
        st.markdown(needs_line(result, sid))
    if details:
        structure_details(result, sid, key)


def needs_line(result, sid: str) -> str:
    """Needs against means in the card (« Besoins et moyens »): the social markets touching the area, per ETP,
    and the inclusion structures in it by family (said unknown when the workspace has no such file)."""
    from geo.inclusion import ALL_TYPES, families_sentence

    needs = result.needs()
    row = needs.structures.set_index("id_structure").loc[sid]
    n = int(row["marches_sociaux"])
    text = (f"**Besoins** : {fmt.integer(n)} {agree(n, 'marché à clause sociale touche', 'marchés à clause sociale touchent')} "
            f"l'aire ({fmt.decimal(row['marches_sociaux_par_etp'], 1)} par ETP)")
    if needs.inclusion is None:
        return text + " ; structures de l'inclusion : aucun fichier importé."
    by = needs.inclusion_by_structure.set_index("id_structure").loc[sid]
    return text + " ; " + fmt.md(families_sentence({t: int(by[t]) for t in ALL_TYPES}, "dans l'aire")) + "."


def structure_details(result, sid: str, key: str = "carte.fiche") -> None:
    _small_table("Voisins (aires partagées)", neighbours(result, sid), "Aucune aire partagée.", f"{key}.voisins")
    _small_table("QPV couverts", qpv_of(result, sid), "Aucun QPV dans l'aire.", f"{key}.qpv")
    _small_table("Zones d'emploi", ze_of(result, sid), "Aucune zone d'emploi.", f"{key}.ze")


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def compact_cards(result, ids: list[str], colours: dict[str, str]) -> str:
    """Two to four structures' cards as HTML (``st.html``): the colour of their area on the map, name,
    type, QPV and zones d'emploi in a line, four figures; small enough for four cards and the map to
    share one 1280×720 screen."""
    st_frame = result.diagnosis.structures.set_index("id_structure")
    ze_name = dict(zip(result.diagnosis.zones_emploi["code"], result.diagnosis.zones_emploi["nom"]))
    cards = []
    for sid in ids:
        if sid not in st_frame.index:
            continue
        f = st_frame.loc[sid]
        dom = f["ze_dominante"]
        figures = [(fmt.integer(f["nb_facilitateurs"]), "personnes"), (fmt.decimal(f["etp"]), "ETP"),
                   (fmt.integer(f["population_couverte"]), "habitants couverts"),
                   (fmt.decimal(f["etp_pour_100k_hab"], 2), "ETP pour 100 000 hab.")]
        cells = "".join(f'<div><div class="diag-card-value">{_e(v)}</div><div class="diag-card-label">{_e(lab)}</div>'
                        f"</div>" for v, lab in figures)
        n_ze = int(f["nb_ze"])
        line = (f"{f['type_structure']} · {fmt.integer(f['nb_qpv'])} QPV · {fmt.integer(n_ze)} zone"
                f"{'s' if n_ze > 1 else ''} d'emploi")
        zone = f"Zone d'emploi dominante : {ze_name.get(dom, dom)} ({fmt.percent(f['part_ze_dominante'])})" if dom else ""
        cards.append(
            f'<div class="diag-card" style="--c:{_e(colours.get(sid, "#777"))}">'
            f'<div class="diag-card-name">{_e(f["nom"])}</div><div class="diag-card-type">{_e(line)}</div>'
            f'<div class="diag-card-figures">{cells}</div>'
            + (f'<div class="diag-card-type">{_e(zone)}</div>' if zone else "") + "</div>")
    # three or four cards: two by two, each with its figures two by two (one screen still)
    return f'<div class="diag-cards{" two" if len(cards) > 2 else ""}">{"".join(cards)}</div>'


def _small_table(title: str, df: pd.DataFrame, empty: str, key: str) -> None:
    from components.style import printable_frame

    st.markdown(f"**{title}**")
    if len(df):
        printable_frame(df, key=key)  # French numbers, every row on paper
    else:
        st.caption(empty)
