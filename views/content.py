"""What the three documents say, computed once from a workspace's dataset and its diagnosis.

Every figure comes from the engine's result (``geo.engine.Result``), so that the PDF, the deck
and the workbook agree with each other and with ``cli.py diagnose`` (``engine.to_json``). Tables
keep the engine's English column names and full values; each writer formats them its own way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data.indicators import (MEASURE_LABELS, followup_with_secrecy, measures_of, missing_tables, protect, table_data,
                             table_order)
from data.schemas import FUNDING_COLUMNS, INDICATOR_TABLES
from data.store.dataset import MISSING, Dataset
from geo import engine
from geo.buyers import SPASER_THRESHOLD
from geo.comparison import Comparison, compare
from geo.codes import REGION_NAMES, as_text
from geo.diagnosis import funding, structure_flags, zones_blanches
from geo.markets import CLASS_LABELS, CLASSES, COUVERT, buyers
from views.text import FUNDING_REFERENCE_2016


@dataclass
class IndicatorSeries:
    """One ABC Clauses table and measure, région and France (secrecy applied)."""

    table: str
    measure: str
    title: str
    unit: str
    data: pd.DataFrame
    n_secret: int


@dataclass
class Evolution:
    """The facilitators against their previous import in the same workspace (fiche 3, § 6c)."""

    version: int  # the workspace's version the comparison starts from
    date: str
    vintage: str  # the facilitators' vintage then
    figures: pd.DataFrame  # indicateur, kind, avant, maintenant
    added: list[str]
    removed: list[str]
    changed: pd.DataFrame  # structures in both whose area or posts changed


@dataclass
class Content:
    region: str
    region_name: str
    workspace: str
    is_demo: bool
    vintages: str
    facilitators_vintage: str
    sources: list[tuple[str, str]]  # (what, where it comes from)
    referentiel_sources: str  # the credit line of the shipped référentiel, when used
    generated: str
    json: dict  # engine.to_json(result): the figures every document must equal
    summary: dict
    market_summary: dict
    has: dict[str, bool]
    missing: dict[str, str]  # French sentences for what was not imported
    notes: list[str]
    zones_blanches: pd.DataFrame
    zones_blanches_epci: pd.DataFrame
    communes: pd.DataFrame
    qpv: pd.DataFrame
    structures: pd.DataFrame
    zones_emploi: pd.DataFrame
    overlaps: pd.DataFrame
    unresolved: pd.DataFrame
    markets: pd.DataFrame  # every market with its classification (empty without markets)
    market_gaps: pd.DataFrame  # markets with a social consideration that no single structure covers
    market_classes: pd.DataFrame  # one row per class: markets, amount, hours
    market_buyers: pd.DataFrame
    funding: pd.DataFrame
    by_type: pd.DataFrame  # structures, persons, FTE by type of structure
    coordination: pd.DataFrame  # structures whose declared perimeter is a département or the région
    followup: pd.DataFrame  # fiche 3 § 6b, région against France (secrecy applied)
    followup_secret: int
    evolution: "Evolution | None" = None
    indicators: list[IndicatorSeries] = field(default_factory=list)
    indicator_source: str = "ABC Clauses"
    indicators_absent: list[str] = field(default_factory=list)
    # needs against offer, buyers, inclusion structures (« Needs and offer », DOMAIN.md)
    needs: object = None  # geo.needs.Needs
    buyers: pd.DataFrame = field(default_factory=pd.DataFrame)  # geo.buyers.aggregate
    buyers_threshold: float = SPASER_THRESHOLD
    inclusion: pd.DataFrame | None = None  # the inclusion structures (None: no file imported)
    markets_without_inclusion: pd.DataFrame = field(default_factory=pd.DataFrame)
    proposition: "Comparison | None" = None  # a scenario against the current facilitators (geo.comparison)

    @property
    def markets_not_single(self) -> int:
        """Markets with a social consideration that no single structure covers."""
        m = self.market_summary
        return int(m["avec_consideration_sociale"] - m[COUVERT])

    @property
    def structure_names(self) -> dict[str, str]:
        return dict(zip(self.structures["id_structure"], self.structures["nom"]))


def host_names(structures: pd.DataFrame, communes: pd.DataFrame | None, column: str = "code_commune") -> pd.DataFrame:
    """The structures with their host commune by its name (« Tours (37261) »), not by its code alone, in
    ``column`` (``code_commune`` itself for a table on screen; another column keeps the code beside it)."""
    if "code_commune" not in structures.columns:
        return structures
    codes = as_text(structures["code_commune"])
    names = {} if communes is None or not len(communes) else dict(zip(as_text(communes["code_insee"]),
                                                                       as_text(communes["nom"])))
    return structures.assign(**{column: [f"{names[c]} ({c})" if c in names else c for c in codes]})


def region_name(ds: Dataset, region: str) -> str:
    return ds.regions().get(region) or REGION_NAMES.get(region, f"Région {region}")


def _sources(ds: Dataset) -> tuple[list[tuple[str, str]], str]:
    """Where each table comes from (as the home page says it), and the shipped référentiel's credit."""
    return ds.sources(), ds.sources_note()


def _flags(structures: pd.DataFrame) -> pd.Series:
    # geo.diagnosis writes "hab.," with a blanket "." -> "," replacement: "hab,,"; set it right here
    return structure_flags(structures).str.replace("hab,,", "hab.,", regex=False)


def _zones_blanches_by_epci(zb: pd.DataFrame) -> pd.DataFrame:
    if zb.empty:
        return pd.DataFrame(columns=["epci_nom", "nb_zones_blanches", "population"])
    g = zb.assign(epci_nom=zb["epci_nom"].replace({"": "Sans EPCI", "nan": "Sans EPCI"}))
    out = (g.groupby("epci_nom").agg(nb_zones_blanches=("code_insee", "size"), population=("population", "sum"))
           .reset_index().sort_values(["population", "epci_nom"], ascending=[False, True]))
    return out.reset_index(drop=True)


def _markets(ds: Dataset, result: engine.Result, potential: pd.DataFrame | None = None
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    classified = result.markets
    cols = ["id_marche", "objet", "acheteur", "type_acheteur", "montant_ht", "date", "statut", "lieu_type",
            "lieu_code", "considerations_sociales", "heures_insertion"]
    base = ds.marches.reset_index(drop=True)
    base = base[[c for c in cols if c in base.columns]]
    if len(base) == len(classified):
        table = pd.concat([base, classified.drop(columns="id_marche").reset_index(drop=True)], axis=1)
    else:  # markets classified elsewhere than from this dataset's table: the classification alone
        table = classified.reset_index(drop=True)
    for col in cols:
        if col not in table.columns:
            table[col] = ""
    if potential is not None and len(potential) == len(table):  # the potentiel inclusif of each market
        table["potentiel_inclusif"] = potential["potentiel_inclusif"].to_numpy()
        table["potentiel_inclusif_detail"] = potential["potentiel_inclusif_detail"].to_numpy()
    table["montant_ht"] = pd.to_numeric(table["montant_ht"], errors="coerce")
    table["heures_insertion"] = pd.to_numeric(table["heures_insertion"], errors="coerce")
    social = table[table["avec_consideration_sociale"].astype(bool)]
    gaps = social[social["couverture"] != COUVERT].copy()
    gaps["couverture_lib"] = gaps["couverture"].map(CLASS_LABELS).fillna(gaps["couverture"])
    gaps = gaps.sort_values(["montant_ht", "id_marche"], ascending=[False, True], na_position="last")
    total = len(social)
    rows = []
    for cls in CLASSES:
        part = social[social["couverture"] == cls]
        rows.append({"couverture_lib": CLASS_LABELS[cls], "marches": len(part),
                     "part_marches": len(part) / total if total else None,
                     "regional": int(part["regional"].astype(bool).sum()),
                     "montant": float(part["montant_ht"].sum(min_count=1)) if part["montant_ht"].notna().any()
                     else None,
                     "heures_insertion": float(part["heures_insertion"].sum())
                     if part["heures_insertion"].notna().any() else None})
    classes = pd.DataFrame(rows)
    who = buyers(gaps) if len(gaps) else pd.DataFrame(columns=["acheteur", "type_acheteur", "marches",
                                                               "montant_ht", "heures_insertion"])
    return table, gaps.reset_index(drop=True), classes, who.reset_index(drop=True)


# fiche 3 § 6b indicators computed on counts of beneficiaries: their numerator is a count that


def _indicators(ds: Dataset, region: str) -> tuple[list[IndicatorSeries], list[str], str]:
    # secrecy over every table of the territory and year at once (secondary suppression), then each table
    ind = protect(ds.indicateurs[ds.indicateurs["territoire"].isin([region, "FR"])])
    source = (ds.meta.get("sources", {}) or {}).get("indicateurs") or "ABC Clauses"
    absent = missing_tables(ind, region)
    out = []
    for table in table_order():
        if table in absent:
            continue
        for measure in measures_of(ind, table):
            data = table_data(ind, table, region, measure)
            if data.empty:
                continue
            out.append(IndicatorSeries(table, measure, f"{table} – {INDICATOR_TABLES[table]}",
                                       MEASURE_LABELS.get(measure, measure), data, int(data["secret"].sum())))
    return out, absent, str(source)


def _by_type(st: pd.DataFrame) -> pd.DataFrame:
    if st.empty:
        return pd.DataFrame(columns=["type_structure", "nb_structures_type", "nb_facilitateurs", "etp", "quotite"])
    g = (st.groupby("type_structure").agg(nb_structures_type=("id_structure", "size"),
                                          nb_facilitateurs=("nb_facilitateurs", "sum"), etp=("etp", "sum"))
         .reset_index().sort_values(["etp", "type_structure"], ascending=[False, True]))
    g["quotite"] = g["etp"] / g["nb_facilitateurs"].replace(0, np.nan)
    return g.reset_index(drop=True)


def _coordination(ds: Dataset, names: dict[str, str]) -> pd.DataFrame:
    """Structures whose perimeter declares a département or the région: the candidates for the
    départemental or régional coordination that fiche 3 (§ 3b and § 6c) speaks of."""
    pe = ds.perimetres
    cols = ["id_structure", "nom", "perimetre"]
    if pe.empty:
        return pd.DataFrame(columns=cols)
    t = as_text(pe["type_territoire"])
    wide = pe[t.isin(["departement", "region"]).to_numpy()]
    rows = []
    for sid, grp in wide.groupby(as_text(wide["id_structure"])):
        if sid not in names:
            continue
        parts = [("région " if tt == "region" else "département ") + str(code)
                 for tt, code in zip(as_text(grp["type_territoire"]), as_text(grp["code_territoire"]))]
        rows.append({"id_structure": sid, "nom": names[sid], "perimetre": ", ".join(parts)})
    return pd.DataFrame(rows, columns=cols)


def _previous_facilitators(ds: Dataset) -> tuple[Dataset, dict] | None:
    """The workspace as it was just before its latest import of facilitators, when that import
    replaced earlier ones (a workspace of the store; ``None`` otherwise)."""
    from data.store import workspaces

    slug, version = ds.meta.get("slug"), ds.meta.get("version")
    if not slug or not version:
        return None
    try:
        history = [h for h in workspaces.history(slug) if int(h["version"] or 0) <= int(version)]
        imports = [h for h in history if h.get("kind") == "facilitateurs"]
        if not imports or int(imports[-1]["version"]) < 2:
            return None
        before = int(imports[-1]["version"]) - 1
        previous = workspaces.load(slug, before)
    except Exception:  # a store that cannot be read: no comparison, the bilan says so
        return None
    if not previous.has("facilitateurs"):
        return None
    entry = next(h for h in history if int(h["version"]) == before)
    return previous, entry


EVOLUTION_FIGURES = [("Structures porteuses", "structures.total", "int"),
                     ("Facilitateurs (personnes)", "structures.personnes", "int"), ("ETP", "structures.etp", "dec1"),
                     ("Communes couvertes", "communes.couvertes", "int"),
                     ("Part de la population couverte", "population.part_couverte", "pct"),
                     ("Zones blanches (communes)", "communes.non_couvertes", "int"),
                     ("QPV couverts", "qpv.couverts", "int")]


def _evolution(ds: Dataset, result: engine.Result, region: str) -> Evolution | None:
    """The facilitators against their previous import, through the comparison of two states
    (``geo.comparison``, the Scénarios page's): the bilan's figures and the structures that changed."""
    from geo import scenario

    found = _previous_facilitators(ds)
    if found is None:
        return None
    prev_ds, entry = found
    try:
        prepared = engine.prepare(ds.communes, ds.qpv, ds.structures, ds.perimetres)
        before_net = scenario.network(prepared.ref, prev_ds.structures, prev_ds.perimetres)
        now_net = scenario.network(prepared.ref, ds.structures, ds.perimetres)
        markets = ds.marches.iloc[0:0]
        c = compare(before_net, scenario.run(prepared, ds.communes, ds.qpv, before_net, markets, region),
                    now_net, scenario.run(prepared, ds.communes, ds.qpv, now_net, markets, region))
    except Exception:
        return None
    rows = []
    for label, key, kind in EVOLUTION_FIGURES:
        before, now, _ = c.figure(key)
        rows.append((label, kind, before, now))
    figures = pd.DataFrame(rows, columns=["indicateur", "kind", "avant", "maintenant"])
    st = c.structures
    added = [f"{i} – {n}" for i, n, s in zip(st["id_structure"], st["nom"], st["statut"]) if s == "créée"]
    removed = [f"{i} – {n}" for i, n, s in zip(st["id_structure"], st["nom"], st["statut"]) if s == "supprimée"]
    da = c.a.diagnosis.structures.set_index("id_structure")
    db = c.b.diagnosis.structures.set_index("id_structure")
    both = st[st["statut"].isin(["modifiée", "inchangée"])]
    changed = pd.DataFrame({
        "id_structure": both["id_structure"].tolist(), "nom": both["nom"].tolist(),
        "communes_avant": [int(da.loc[i, "nb_communes"]) for i in both["id_structure"]],
        "communes": [int(db.loc[i, "nb_communes"]) for i in both["id_structure"]],
        "etp_avant": both["etp_avant"].astype(float).tolist(), "etp": both["etp_apres"].astype(float).tolist()})
    changed = changed[(changed["communes_avant"] != changed["communes"])
                      | ((changed["etp_avant"] - changed["etp"]).abs() > 1e-9)].reset_index(drop=True)
    day = str(entry.get("date", ""))[:10]
    day = "/".join(reversed(day.split("-"))) if len(day) == 10 else day
    return Evolution(int(entry["version"]), day, str(
        prev_ds.vintages.get("facilitateurs") or ""), figures, added, removed, changed)


def collect(ds: Dataset, result: engine.Result, region: str, workspace_label: str | None = None,
            buyers_threshold: float = SPASER_THRESHOLD) -> Content:
    if result.inclusion is None and ds.has("structures_inclusion"):  # the documents say what the workspace holds
        result = dataclasses.replace(result, inclusion=ds.structures_inclusion)
    if result.marches is None:
        result = dataclasses.replace(result, marches=ds.marches)
    d = result.diagnosis
    has = {k: ds.has(k) for k in ("communes", "qpv", "facilitateurs", "marches", "indicateurs",
                                  "structures_inclusion")}
    sources, official = _sources(ds)
    st = host_names(d.structures, ds.communes if ds.has("communes") else None, "commune_implantation").copy()
    st["alerte"] = _flags(st) if len(st) else pd.Series(dtype=object)
    st["quotite"] = st["etp"] / st["nb_facilitateurs"].replace(0, np.nan)
    names = dict(zip(st["id_structure"], st["nom"]))
    ze_names = dict(zip(d.zones_emploi["code"], d.zones_emploi["nom"]))
    st["ze_dominante_nom"] = [f"{ze_names.get(z, '')} ({z})" if z else "" for z in st["ze_dominante"].fillna("")]
    ze = d.zones_emploi.copy()
    ze["structures_noms"] = [", ".join(names.get(x, x) for x in str(v).split(";") if x) for v in ze["structures"]]
    ov = d.overlaps.copy()
    ov["nom_a"] = ov["id_a"].map(names)
    ov["nom_b"] = ov["id_b"].map(names)
    ov = ov.sort_values(["population_partagee", "id_a", "id_b"], ascending=[False, True, True]).reset_index(drop=True)
    zb = zones_blanches(d)
    needs = result.needs()
    markets, gaps, classes, who = _markets(ds, result, needs.markets if has["structures_inclusion"] else None)
    without = (markets[markets["avec_consideration_sociale"].astype(bool)
                       & (pd.to_numeric(markets["potentiel_inclusif"], errors="coerce") == 0)]
               if "potentiel_inclusif" in markets.columns else markets.iloc[0:0])
    fin = funding(ds.structures, FUNDING_COLUMNS) if len(ds.structures) else pd.DataFrame(
        columns=["source", "etp_finances", "part"])
    fin["reference_2016"] = fin["source"].map(FUNDING_REFERENCE_2016)
    if has["indicateurs"]:
        fu, n_hidden = followup_with_secrecy(ds.indicateurs, region)
        series, absent, source = _indicators(ds, region)
    else:
        fu, n_hidden, series, absent, source = (pd.DataFrame(columns=["indicateur", "annee", "region", "france",
                                                                       "ecart", "secret"]), 0, [], [], "ABC Clauses")
    q = d.qpv.copy()
    return Content(
        region=region, region_name=region_name(ds, region), workspace=workspace_label or ds.label,
        is_demo=ds.is_demo, vintages=ds.vintages_text(),
        facilitators_vintage=str(ds.vintages.get("facilitateurs") or ""), sources=sources, referentiel_sources=official,
        generated=dt.date.today().strftime("%d/%m/%Y"), json=engine.to_json(result), summary=d.summary,
        market_summary=result.market_summary, has=has,
        missing={k: MISSING[k] for k, v in has.items() if not v}, notes=list(d.notes),
        zones_blanches=zb, zones_blanches_epci=_zones_blanches_by_epci(zb), communes=d.communes, qpv=q,
        structures=st, zones_emploi=ze, overlaps=ov, unresolved=d.unresolved, markets=markets, market_gaps=gaps,
        market_classes=classes, market_buyers=who, funding=fin, by_type=_by_type(st),
        coordination=_coordination(ds, names), followup=fu, followup_secret=n_hidden,
        evolution=_evolution(ds, result, region) if has["facilitateurs"] else None, indicators=series,
        indicator_source=source, indicators_absent=absent, needs=needs,
        buyers=engine.buyers(result, buyers_threshold) if has["marches"] else pd.DataFrame(),
        buyers_threshold=buyers_threshold, inclusion=result.inclusion,
        markets_without_inclusion=without.reset_index(drop=True))
