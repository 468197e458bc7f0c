"""A facilitators' network and a market file for a real région of the shipped référentiel, as a regional team
would bring them: a dozen structures hosted in the largest towns, each covering a few EPCI around its host, a
départemental structure, and a few hundred markets placed in communes, postal codes and départements. For the
benchmark and the tests of a real région (Hauts-de-France: 3,782 communes) — deterministic, fictitious posts on
real territories, never shipped as data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.codes import as_text

TYPES = ("PLIE", "MDE", "EPCI", "Association", "PLIE", "MDE", "Association", "EPCI")


def facilitators(communes: pd.DataFrame, region: str, n_structures: int = 14, seed: int = 7
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``structures`` and ``perimetres`` tables in the import format: ``n_structures - 1`` structures hosted in the
    most populous EPCI (each with the EPCI next to it in population order, so that areas differ in size and
    some EPCI stay uncovered), and one départemental structure."""
    rng = np.random.default_rng(seed)
    c = communes[as_text(communes["reg"]) == str(region)]
    pop = c.groupby(as_text(c["epci_siren"]))["population"].sum().sort_values(ascending=False)
    epci = [e for e in pop.index if e and e != "nan"]
    host_of = {e: str(g.sort_values("population", ascending=False)["code_insee"].iloc[0])
               for e, g in c.groupby(as_text(c["epci_siren"]))}
    rows, per = [], []
    for k in range(n_structures - 1):
        sid = f"S{k + 1:02d}"
        own = epci[2 * k: 2 * k + 2] if k % 3 else epci[2 * k: 2 * k + 1]
        persons = int(rng.integers(1, 6))
        etp = round(float(persons * rng.uniform(0.4, 1.0)), 2)
        rows.append({"id_structure": sid, "nom": f"{TYPES[k % len(TYPES)]} de {c.loc[c['code_insee'] == host_of[own[0]], 'nom'].iloc[0]}",
                     "type_structure": TYPES[k % len(TYPES)], "code_commune": host_of[own[0]],
                     "nb_facilitateurs": persons, "etp": etp, "fin_collectivites": 40.0, "fin_fse": 30.0,
                     "fin_etat": 20.0, "fin_prive": 5.0, "fin_autres": 5.0})
        per += [{"id_structure": sid, "type_territoire": "epci", "code_territoire": e} for e in own]
    dep = str(as_text(c["dep"]).value_counts().index[-1])  # the département with the fewest communes: one structure
    first = str(c.loc[as_text(c["dep"]) == dep].sort_values("population", ascending=False)["code_insee"].iloc[0])
    sid = f"S{n_structures:02d}"
    rows.append({"id_structure": sid, "nom": f"Département {dep} – insertion", "type_structure": "Département",
                 "code_commune": first, "nb_facilitateurs": 2, "etp": 1.5, "fin_collectivites": 100.0,
                 "fin_fse": 0.0, "fin_etat": 0.0, "fin_prive": 0.0, "fin_autres": 0.0})
    per.append({"id_structure": sid, "type_territoire": "departement", "code_territoire": dep})
    return pd.DataFrame(rows), pd.DataFrame(per)


def markets(communes: pd.DataFrame, region: str, n: int = 400, seed: int = 11) -> pd.DataFrame:
    """``n`` markets in the product's table format: most in a commune (weighted by population), some in a postal
    code or a département, four in five with a social consideration."""
    rng = np.random.default_rng(seed)
    c = communes[as_text(communes["reg"]) == str(region)].reset_index(drop=True)
    weights = pd.to_numeric(c["population"], errors="coerce").fillna(0).to_numpy(dtype=float) + 50
    picks = rng.choice(len(c), size=n, p=weights / weights.sum())
    deps = sorted(set(as_text(c["dep"])))
    rows = []
    for i, k in enumerate(picks):
        kind = rng.choice(["commune", "commune", "commune", "code_postal", "departement"])
        if kind == "commune":
            code = str(c.loc[k, "code_insee"])
        elif kind == "code_postal":
            code = str(c.loc[k, "codes_postaux"]).split(";")[0] or str(c.loc[k, "code_insee"])
            kind = "code_postal" if code != str(c.loc[k, "code_insee"]) else "commune"
        else:
            code = str(rng.choice(deps))
        social = "Clause sociale" if rng.random() < 0.8 else "Pas de considération sociale"
        rows.append({"id_marche": f"M{i + 1:04d}", "objet": f"Travaux {i + 1}", "acheteur": f"Acheteur {int(k) % 37}",
                     "type_acheteur": "Commune, EPCI et établissement public local",
                     "montant_ht": float(round(rng.uniform(40_000, 3_000_000), -2)),
                     "date": f"2025-{int(rng.integers(1, 13)):02d}-15", "statut": "terminé", "lieu_type": kind,
                     "lieu_code": code, "considerations_sociales": social,
                     "heures_insertion": float(int(rng.integers(100, 3000)))})
    return pd.DataFrame(rows)


def workspace(name: str, region: str = "32", n_structures: int = 14, n_markets: int = 400) -> str:
    """A workspace of ``region`` created from the shipped référentiel, with :func:`facilitators` and
    :func:`markets` imported as files through the same validation as the Données page; returns its slug."""
    import tempfile
    from pathlib import Path

    from data.formats.spreadsheet import csv_bytes
    from data.store import imports, workspaces
    from data.validation import validate

    slug = workspaces.create_from_referentiel(name, region)
    ds = workspaces.load(slug)
    st, pe = facilitators(ds.communes, region, n_structures)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "facilitateurs"
        folder.mkdir()
        (folder / "structures.csv").write_bytes(csv_bytes(st))
        (folder / "perimetres.csv").write_bytes(csv_bytes(pe))
        loaded = validate("facilitateurs", [folder], communes=ds.communes)
        new, record = imports.apply(ds, loaded, ["structures.csv", "perimetres.csv"], "2026")
        workspaces.import_tables(slug, new, "facilitateurs", record)
        if n_markets:
            path = Path(tmp) / "marches.csv"
            path.write_bytes(csv_bytes(markets(ds.communes, region, n_markets)))
            ds = workspaces.load(slug)
            loaded = validate("marches", [path], communes=ds.communes, region=region)
            new, record = imports.apply(ds, loaded, ["marches.csv"])
            workspaces.import_tables(slug, new, "marches", record)
    return slug
