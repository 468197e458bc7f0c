"""Scenarios: the facilitators' network as it could become (DOMAIN.md, « Scenarios and comparisons »).

A :class:`Network` is a state of the facilitators: the structures' table and, for each structure, its area
E(s) as a set of communes of the référentiel (a sorted array of commune indices, :mod:`geo.territory`). The
imported data, a scenario and an older version are all networks, and all go through the same diagnosis
(:func:`result`, which is ``geo.engine.run`` with the network's coverage): one engine, whatever the state.

Operations (:func:`apply`) are plain dicts with French keys, as a changes file (TOML) or the Scénarios page
writes them: ``ajouter``, ``retirer``, ``transferer``, ``modifier``, ``creer``, ``supprimer``, ``fusionner``.
An operation that would make the data invalid raises :class:`ScenarioError` with a French message naming the
operation's number and the key at fault; the network is never changed in place.

Pure functions: no Streamlit, no file, no store.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.codes import as_text, normalize_code
from geo.diagnosis import Coverage, build_coverage
from geo.territory import Referentiel

ACTIONS = ("ajouter", "retirer", "transferer", "modifier", "creer", "supprimer", "fusionner")
ACTION_LABELS = {"ajouter": "ajouter des territoires", "retirer": "retirer des territoires",
                 "transferer": "transférer des territoires", "modifier": "modifier une structure",
                 "creer": "créer une structure", "supprimer": "supprimer une structure",
                 "fusionner": "fusionner des structures"}
# territory keys of an area, as in DOMAIN.md (« Territory keys »): the type, then the code
AREA_KEYS = {"COM": "commune", "EPCI": "EPCI", "DEP": "département", "REG": "région", "ZE": "zone d'emploi"}
UNKNOWN_KEY = {"COM": "commune inconnue", "EPCI": "EPCI inconnu", "DEP": "département inconnu",
               "REG": "région inconnue", "ZE": "zone d'emploi inconnue"}
KEY_WIDTH = {"COM": 5, "DEP": 2, "REG": 2, "EPCI": 9, "ZE": 4}
TERRITORY_OF_KEY = {"COM": "commune", "EPCI": "epci", "DEP": "departement", "REG": "region", "ZE": "ze"}
FUNDING = ("fin_collectivites", "fin_fse", "fin_etat", "fin_prive", "fin_autres")
TEXT_FIELDS = ("nom", "type_structure", "adresse")
EDITABLE = ("nom", "type_structure", "code_commune", "nb_facilitateurs", "etp", "annee", "adresse") + FUNDING
STRUCTURE_COLUMNS = ("id_structure", "nom", "type_structure", "code_commune", "nb_facilitateurs", "etp",
                     "annee", "adresse") + FUNDING
ETP_PER_PERSON = 1.0  # an ETP above persons x 1.0 is an error (DOMAIN.md, « Facilitateurs »)


class ScenarioError(ValueError):
    """An operation refused, in French: its number (from 1), its action and the key at fault."""

    def __init__(self, reason: str, number: int | None = None, action: str | None = None, key: str | None = None):
        self.reason, self.number, self.action, self.key = reason, number, action, key
        where = []
        if number is not None:
            where.append(f"opération {number}" + (f" (« {action} »)" if action else ""))
        if key:
            where.append(f"clé « {key} »")
        super().__init__((", ".join(where).capitalize() + " : " if where else "") + reason)


@dataclass(frozen=True)
class Network:
    """A state of the facilitators: ``structures`` (one row per structure, in order) and ``areas``
    (id → sorted commune indices of the référentiel, E(s))."""

    structures: pd.DataFrame
    areas: dict

    @property
    def ids(self) -> list[str]:
        return as_text(self.structures["id_structure"]).tolist()

    def area(self, sid: str) -> np.ndarray:
        return self.areas.get(sid, np.empty(0, dtype=np.int64))


def _clean_structures(structures: pd.DataFrame) -> pd.DataFrame:
    out = structures.reset_index(drop=True).copy()
    for col in STRUCTURE_COLUMNS:
        if col not in out.columns:
            out[col] = np.nan if col in FUNDING or col == "annee" else ""
    out["id_structure"] = as_text(out["id_structure"])
    return out


def network(ref: Referentiel, structures: pd.DataFrame, perimetres: pd.DataFrame) -> Network:
    """The network of imported facilitator tables: each perimeter expanded to communes
    (:func:`geo.diagnosis.build_coverage`, the same expansion as the diagnosis)."""
    st = _clean_structures(structures)
    cov = build_coverage(ref, st, perimetres)
    return Network(st, {sid: np.flatnonzero(cov.membership[k]) for k, sid in enumerate(cov.structure_ids)})


def coverage(ref: Referentiel, net: Network) -> Coverage:
    """E(s) of every structure as the diagnosis reads it (structures x communes)."""
    ids = net.ids
    m = np.zeros((len(ids), len(ref)), dtype=bool)
    for k, sid in enumerate(ids):
        m[k, net.area(sid)] = True
    return Coverage(ids, m, pd.DataFrame(columns=["ligne", "id_structure", "type_territoire", "code_territoire"]))


# ---------------------------------------------------------------------------------------------- keys


def parse_key(ref: Referentiel, key: object) -> np.ndarray:
    """The communes of one key (``EPCI:200041960``, ``COM:59350``, ``DEP:59``, ``REG:32``, ``ZE:3210``).

    A commune or département code that lost its leading zero (``COM:1001``) is read as it should be.
    Raises ``ValueError`` (French) for a malformed key, a type an area cannot have, or a code the
    référentiel does not know."""
    text = str(key).strip()
    m = re.fullmatch(r"([A-Za-z]+)\s*:\s*(\S+)", text)
    if not m:
        raise ValueError(f"« {text} » n'est pas une clé de territoire (TYPE:CODE, par exemple EPCI:200041960 "
                         "ou COM:59350)")
    kind, code = m.group(1).upper(), m.group(2)
    if kind not in AREA_KEYS:
        raise ValueError(f"« {text} » : une aire d'intervention se déclare en communes (COM), EPCI, départements "
                         "(DEP), régions (REG) ou zones d'emploi (ZE)")
    if kind in ("COM", "DEP"):
        code = normalize_code(code, KEY_WIDTH[kind])[0]
    found = ref.expand(kind, code)
    if found is None or len(found) == 0:
        raise ValueError(f"{UNKNOWN_KEY[kind]} du référentiel de l'espace : « {text} »")
    return found


def parse_keys(ref: Referentiel, keys) -> np.ndarray:
    """The communes of several keys (their union); ``ValueError`` on the first bad one, or on none."""
    if isinstance(keys, str):
        keys = [keys]
    if not keys:
        raise ValueError("aucun territoire indiqué")
    parts = [parse_key(ref, k) for k in keys]
    return np.unique(np.concatenate(parts))


# ------------------------------------------------------------------------------------------ operations


def _number(value, what: str, integer: bool = False) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{what} : un nombre est attendu, pas « {value} »")
    try:
        f = float(str(value).replace(",", ".").strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} : « {value} » n'est pas un nombre") from None
    if math.isnan(f) or math.isinf(f):
        raise ValueError(f"{what} : « {value} » n'est pas un nombre fini")
    if f < 0:
        raise ValueError(f"{what} : une valeur négative ({value}) n'est pas possible")
    if integer and f != int(f):
        raise ValueError(f"{what} : un nombre entier est attendu, pas {value}")
    return int(f) if integer else f


def _commune_code(ref: Referentiel, value) -> str:
    code = normalize_code(value, 5)[0]
    if ref.expand("COM", code) is None:
        raise ValueError(f"commune d'implantation inconnue du référentiel : « {value} »")
    return code


def _check_structure(row: dict) -> None:
    persons, etp = float(row.get("nb_facilitateurs") or 0), float(row.get("etp") or 0)
    if etp > persons * ETP_PER_PERSON + 1e-9:
        raise ScenarioError(f"{_fr(etp)} ETP pour {int(persons)} personne{'s' if persons >= 2 else ''} : les ETP ne peuvent pas dépasser le "
                            "nombre de personnes", key="etp")
    shares = [float(row[c]) for c in FUNDING if row.get(c) is not None and not pd.isna(row.get(c))]
    if any(s > 100 for s in shares):
        raise ScenarioError("une part de financement dépasse 100 %", key=next(
            c for c in FUNDING if row.get(c) is not None and not pd.isna(row.get(c)) and float(row[c]) > 100))
    if sum(shares) > 100.5:
        raise ScenarioError(f"les parts de financement font {_fr(sum(shares))} %, plus de 100 %", key="fin_*")


def _fr(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".").replace(".", ",")


def _values(ref: Referentiel, op: dict, keys: tuple[str, ...]) -> dict:
    out = {}
    for key in keys:
        if key not in op:
            continue
        value = op[key]
        try:
            if key in ("nb_facilitateurs", "annee"):
                out[key] = _number(value, key, integer=True)
            elif key == "etp" or key in FUNDING:
                out[key] = _number(value, key)
            elif key == "code_commune":
                out[key] = _commune_code(ref, value)
            else:
                text = " ".join(str(value).split())
                if key == "nom" and not text:
                    raise ValueError("le nom ne peut pas être vide")
                out[key] = text
        except ValueError as exc:
            raise ScenarioError(str(exc), key=key) from None
    return out


def _require(op: dict, *keys: str) -> None:
    for key in keys:
        if key not in op or op[key] in (None, "", []):
            raise ScenarioError("clé obligatoire absente", key=key)


def _structure_id(net: Network, op: dict, key: str) -> str:
    sid = str(op.get(key, "")).strip()
    if sid not in net.ids:
        raise ScenarioError(f"aucune structure « {sid} » dans ce scénario", key=key)
    return sid


def _territories(ref: Referentiel, op: dict) -> np.ndarray:
    _require(op, "territoires")
    try:
        return parse_keys(ref, op["territoires"])
    except ValueError as exc:
        raise ScenarioError(str(exc), key="territoires") from None


def _with_area(net: Network, sid: str, area: np.ndarray, key: str = "territoires") -> dict:
    if len(area) == 0:
        name = net.structures.loc[net.structures["id_structure"] == sid, "nom"]
        label = f"« {name.iloc[0]} » ({sid})" if len(name) else sid
        raise ScenarioError(f"la structure {label} n'aurait plus aucun territoire : une structure garde au moins "
                            "une commune dans son aire (supprimez-la si elle disparaît)", key=key)
    return {**net.areas, sid: area}


def _apply(ref: Referentiel, net: Network, op: dict) -> Network:
    action = str(op.get("action", "")).strip().lower().replace("é", "e")
    st = net.structures
    if action == "ajouter":
        sid = _structure_id(net, op, "structure")
        return Network(st, {**net.areas, sid: np.union1d(net.area(sid), _territories(ref, op))})
    if action == "retirer":
        sid = _structure_id(net, op, "structure")
        return Network(st, _with_area(net, sid, np.setdiff1d(net.area(sid), _territories(ref, op))))
    if action == "transferer":
        src, dst = _structure_id(net, op, "de"), _structure_id(net, op, "vers")
        if src == dst:
            raise ScenarioError("« de » et « vers » désignent la même structure", key="vers")
        moved = _territories(ref, op)
        if len(np.intersect1d(net.area(src), moved)) == 0:
            raise ScenarioError(f"aucun de ces territoires n'est dans l'aire de « {src} »", key="territoires")
        areas = _with_area(net, src, np.setdiff1d(net.area(src), moved))
        areas[dst] = np.union1d(net.area(dst), moved)
        return Network(st, areas)
    if action == "modifier":
        sid = _structure_id(net, op, "structure")
        unknown = [k for k in op if k not in ("action", "structure") + EDITABLE]
        if unknown:
            raise ScenarioError("ne se modifie pas ici (on modifie : " + ", ".join(EDITABLE) + ")", key=unknown[0])
        changes = _values(ref, op, EDITABLE)
        if not changes:
            raise ScenarioError("rien à modifier", key="structure")
        out = st.copy()
        i = out.index[out["id_structure"] == sid][0]
        for key, value in changes.items():
            out[key] = out[key].astype(object)
            out.at[i, key] = value
        _check_structure(out.loc[i].to_dict())
        return Network(out, dict(net.areas))
    if action == "creer":
        _require(op, "structure", "nom", "nb_facilitateurs", "etp")
        sid = str(op["structure"]).strip()
        if sid in net.ids:
            raise ScenarioError(f"une structure « {sid} » existe déjà", key="structure")
        unknown = [k for k in op if k not in ("action", "structure", "territoires") + EDITABLE]
        if unknown:
            raise ScenarioError("clé inconnue pour une création", key=unknown[0])
        area = _territories(ref, op)
        row = {c: (np.nan if c in FUNDING or c == "annee" else "") for c in STRUCTURE_COLUMNS}
        row.update({"id_structure": sid, "type_structure": "Autre"})
        row.update(_values(ref, op, EDITABLE))
        if not row.get("code_commune"):
            row["code_commune"] = str(ref.codes[area[0]])  # hosted, by default, in its area's first commune
        _check_structure(row)
        out = pd.concat([st, pd.DataFrame([{c: row.get(c, np.nan) for c in st.columns}])], ignore_index=True)
        return Network(out, {**net.areas, sid: area})
    if action == "supprimer":
        sid = _structure_id(net, op, "structure")
        areas = {k: v for k, v in net.areas.items() if k != sid}
        return Network(st[st["id_structure"] != sid].reset_index(drop=True), areas)
    if action == "fusionner":
        _require(op, "structures")
        ids = op["structures"] if isinstance(op["structures"], (list, tuple)) else [op["structures"]]
        ids = [str(x).strip() for x in ids]
        if len(ids) < 2 or len(set(ids)) < len(ids):
            raise ScenarioError("indiquez au moins deux structures différentes", key="structures")
        for sid in ids:
            if sid not in net.ids:
                raise ScenarioError(f"aucune structure « {sid} » dans ce scénario", key="structures")
        rows = st.set_index("id_structure").loc[ids]
        keep = ids[0]
        out = st[~st["id_structure"].isin(ids[1:])].reset_index(drop=True).copy()
        i = out.index[out["id_structure"] == keep][0]
        persons = int(pd.to_numeric(rows["nb_facilitateurs"], errors="coerce").fillna(0).sum())
        etp = pd.to_numeric(rows["etp"], errors="coerce").fillna(0)
        out["nb_facilitateurs"] = out["nb_facilitateurs"].astype(object)
        out["etp"] = out["etp"].astype(object)
        out.at[i, "nb_facilitateurs"] = persons
        out.at[i, "etp"] = float(etp.sum())
        for col in FUNDING:  # funded ETP kept: shares weighted by each structure's ETP
            shares = pd.to_numeric(rows[col], errors="coerce")
            out[col] = out[col].astype(object)
            out.at[i, col] = (float((shares.fillna(0) * etp).sum() / etp.sum())
                              if shares.notna().any() and etp.sum() > 0 else np.nan)
        area = net.area(keep)
        for sid in ids[1:]:
            area = np.union1d(area, net.area(sid))
        areas = {k: v for k, v in net.areas.items() if k not in ids[1:]}
        areas[keep] = area
        return Network(out, areas)
    raise ScenarioError("action inconnue (actions possibles : " + ", ".join(ACTIONS) + ")", key="action")


def apply(ref: Referentiel, net: Network, op: dict, number: int | None = None) -> Network:
    """The network after one operation; :class:`ScenarioError` (naming ``number``) when it is refused."""
    if not isinstance(op, dict):
        raise ScenarioError("une opération est une table de clés (action, structure, territoires…)", number)
    try:
        return _apply(ref, net, op)
    except ScenarioError as exc:
        raise ScenarioError(exc.reason, number, str(op.get("action", "")) or None, exc.key) from None


def apply_all(ref: Referentiel, net: Network, operations: list[dict]) -> Network:
    """Every operation in order; the first refused one stops everything (the caller keeps ``net``)."""
    for number, op in enumerate(operations, start=1):
        net = apply(ref, net, op, number)
    return net


# ---------------------------------------------------------------------------------------- tables


def _groups(values: np.ndarray) -> dict[str, np.ndarray]:
    codes = pd.Series(values, dtype=object).fillna("").astype(str).to_numpy(dtype=object)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    uniq, starts = np.unique(sorted_codes, return_index=True)
    ends = np.r_[starts[1:], len(sorted_codes)]
    return {u: np.sort(order[s:e]) for u, s, e in zip(uniq, starts, ends) if u and u != "nan"}


def compact(ref: Referentiel, area: np.ndarray, epci: np.ndarray | None = None) -> list[tuple[str, str]]:
    """An area as a person would write it (DOMAIN.md, « Compact writing »): the départements all of whose
    communes it holds, then the EPCI all of whose communes it holds among the rest, then the remaining
    communes; as ``(type_territoire, code)`` lines of the perimeter table.

    ``epci`` is each commune's EPCI code (the référentiel's ``epci_siren``), taken from ``ref`` when absent.
    """
    inside = np.zeros(len(ref), dtype=bool)
    inside[area] = True
    done = np.zeros(len(ref), dtype=bool)
    lines: list[tuple[str, str]] = []
    for dep, members in sorted(ref.by["DEP"].items()):
        if inside[members].all():
            lines.append(("departement", dep))
            done[members] = True
    groups = ref.by["EPCI"] if epci is None else _groups(epci)
    for code, members in sorted(groups.items()):
        if inside[members].all() and not done[members].all():
            lines.append(("epci", code))
            done[members] = True
    for i in np.flatnonzero(inside & ~done):
        lines.append(("commune", str(ref.codes[i])))
    return lines


def tables(ref: Referentiel, net: Network) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The network as the facilitator import format's two tables (``structures``, ``perimetres``), each
    area written compactly (:func:`compact`): what exporting a scenario writes, and what importing it reads."""
    rows = [{"id_structure": sid, "type_territoire": t, "code_territoire": code}
            for sid in net.ids for t, code in compact(ref, net.area(sid))]
    per = pd.DataFrame(rows, columns=["id_structure", "type_territoire", "code_territoire"])
    st = net.structures[[c for c in STRUCTURE_COLUMNS if c in net.structures.columns]].copy()
    return st.reset_index(drop=True), per


# ------------------------------------------------------------------------------------------ diagnosis


def run(prepared, communes, qpv, net: Network, marches: pd.DataFrame, region: str | None):
    """The diagnosis of a network: ``geo.engine.run`` with the network's areas as E(s) (``prepared`` gives the
    référentiel and the QPV's communes, which a network does not change)."""
    from geo import engine

    p = engine.Prepared(prepared.ref, coverage(prepared.ref, net), prepared.qpv_links)
    return engine.run(communes, qpv, net.structures, None, marches, region, prepared=p)
