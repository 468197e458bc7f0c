"""Benchmark of « Needs and offer » (issue 20): inclusion structures, buyers, needs per ETP.

    python -m bench.inclusion [--quick] [--json FILE]

- ``inclusion_import_s`` (and ``inclusion_import_rss_mb``): a synthetic national data·inclusion « structures »
  file (about 100,000 rows in the published CSV layout, descriptions included, a third of them other insertion
  structures) imported into the Occitanie workspace of the shipped référentiel and cut to the région, in a
  process of its own so that its peak memory is the import's; targets 10 s and 500 MB.
- ``buyers_s``: the buyer aggregates (``geo.engine.buyers``: keys, amounts, annual amounts, SPASER flag, the
  areas their markets fall in) of a 2-million-row national market file cut to a région, once imported;
  target 2 s.
- ``needs_s``: needs against means (``geo.needs.compute``) on the France-sized synthetic set of the benchmark
  (35,000 communes, 300 structures, 1,000,000 markets, 100,000 inclusion structures).

``--quick`` divides the sizes by ten.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench import peak_rss_mb, print_figures

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESEAUX = ["['aci']", "['ei']", "['etti']", "['ai']", "['eiti']", "['geiq']", "['unea']", "['eatt']", "['esat']",
           "['ei', 'coorace']", "['france-travail']", "['mission-locale']", ""]
WEIGHTS = np.array([14, 10, 5, 6, 2, 3, 5, 1, 8, 2, 16, 14, 14], dtype=float)


def national_inclusion_csv(path: Path, n: int, seed: int = 20) -> int:
    """A data·inclusion-like national CSV (columns and list encoding of the published file) on the shipped
    référentiel's commune codes; returns its size in bytes."""
    from data import referentiel

    codes = pd.read_parquet(referentiel.ref_dir() / "communes.parquet", columns=["code_insee", "codes_postaux"])
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(codes), n)
    cp = codes["codes_postaux"].astype(str).str.split(";").str[0].to_numpy()[pick]
    df = pd.DataFrame({
        "courriel": "", "horaires_accueil": "Mo-Fr 09:00-17:00", "id": [f"dora--{i}" for i in range(n)],
        "lien_source": "https://dora.inclusion.beta.gouv.fr/structures/x",
        "description": "Structure d'insertion par l'activité économique : accompagnement, formation et mise en "
                       "situation de travail de personnes éloignées de l'emploi, dans plusieurs secteurs d'activité.",
        "siret": [f"{v:014d}" for v in rng.integers(10**13, 10**14 - 1, n)], "source": "dora",
        "date_maj": "2026-11-30", "reseaux_porteurs": rng.choice(RESEAUX, n, p=WEIGHTS / WEIGHTS.sum()),
        "telephone": "", "site_web": "", "accessibilite_lieu": "", "nom": [f"Structure {i}" for i in range(n)],
        "longitude": "", "latitude": "", "complement_adresse": "", "commune": "Ville", "adresse": "1 rue de la Paix",
        "code_postal": cp, "code_insee": codes["code_insee"].to_numpy()[pick]})
    df.to_csv(path, index=False)
    return path.stat().st_size


def _import_child(path: str) -> dict:
    """The import alone, in this process: its time and peak memory."""
    from data import referentiel
    from data.validation import validate

    communes = referentiel.region_communes("76")
    before = peak_rss_mb()
    t = time.perf_counter()
    loaded = validate("structures_inclusion", [path], communes=communes, region="76")
    elapsed = time.perf_counter() - t
    assert loaded.ok, loaded.report.text()
    return {"inclusion_import_s": elapsed, "inclusion_import_rss_mb": peak_rss_mb(),
            "inclusion_import_rss_before_mb": before, "inclusion_rows_kept": len(loaded.tables["structures_inclusion"]),
            **{f"inclusion_{k}": v for k, v in loaded.counts.items()}}


def _in_child(*args: str) -> dict:
    """``python -m bench.inclusion --child ARGS`` in a process of its own: what it measures (its memory, not
    the caller's), or nothing when it failed (its error printed)."""
    out = subprocess.run([sys.executable, "-m", "bench.inclusion", "--child", *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=900)
    if out.returncode:
        print(out.stderr, file=sys.stderr)
        return {}
    return json.loads(out.stdout.strip().splitlines()[-1])


def inclusion_import(scale: int) -> dict:
    from data import referentiel

    if not referentiel.available():
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "structures-inclusion-2026-11-30.csv"
        size = national_inclusion_csv(path, 100_000 // scale)
        got = _in_child("import", str(path))
        if got:
            got["inclusion_file_bytes"] = size
        return got


def national_markets(n: int, codes: np.ndarray, seed: int = 21) -> pd.DataFrame:
    """``n`` markets of a national file (the table's columns): communes everywhere, 20,000 buyers with a SIRET
    and a few hundred known by their name only, amounts, dates over four years, two thirds social."""
    rng = np.random.default_rng(seed)
    buyer = rng.integers(0, 20_500, n)
    siret = np.where(buyer < 20_000, np.char.add("2", np.char.zfill(buyer.astype(str), 13)), "")
    return pd.DataFrame({
        "id_marche": np.char.add("M", np.arange(n).astype(str)), "acheteur": np.char.add("Acheteur ", buyer.astype(str)),
        "acheteur_siret": siret, "type_acheteur": "Commune, EPCI et établissement public local",
        "montant_ht": np.round(np.exp(rng.normal(11.5, 1.4, n)), -2),
        "date": np.char.add(rng.integers(2022, 2026, n).astype(str), "-06-15"), "statut": "en cours",
        "lieu_type": "commune", "lieu_code": codes[rng.integers(0, len(codes), n)],
        "considerations_sociales": rng.choice(["Clause sociale", "Pas de considération sociale"], n, p=[0.66, 0.34]),
        "heures_insertion": np.nan, "objet": "Travaux", "cpv": ""})


def buyers_figures(scale: int) -> dict:
    """``buyers_s`` in a process of its own (the 2-million-row file it makes is the bench's, not the product's
    memory: ``peak_rss_mb`` stays the diagnosis')."""
    return _in_child("buyers", str(scale))


def _buyers_child(scale: int) -> dict:
    """``buyers_s``: a national market file cut to Occitanie, then the buyers' aggregates timed."""
    from data import referentiel
    from geo import engine
    from geo.places import outside_region

    if not referentiel.available():
        return {}
    all_codes = pd.read_parquet(referentiel.ref_dir() / "communes.parquet", columns=["code_insee"])["code_insee"]
    m = national_markets(2_000_000 // scale, all_codes.astype(str).to_numpy())
    t = time.perf_counter()
    dropped, _ = outside_region(m["lieu_type"], m["lieu_code"], "76")
    cut_s = time.perf_counter() - t
    kept = m[~dropped].reset_index(drop=True)
    communes = referentiel.region_communes("76")
    epci = communes.groupby("epci_siren")["population"].sum().sort_values(ascending=False).index[:12]
    st = pd.DataFrame({"id_structure": [f"S{i}" for i in range(12)], "nom": [f"Structure {i}" for i in range(12)],
                       "type_structure": "PLIE", "code_commune": "31555", "nb_facilitateurs": 2, "etp": 1.5})
    pe = pd.DataFrame({"id_structure": st["id_structure"], "type_territoire": "epci", "code_territoire": list(epci)})
    qpv = communes.iloc[0:0][["geometry"]].assign(code_qp="", nom_qp="", population=0, code_commune="")
    prep = engine.prepare(communes, qpv, st, pe)
    times = []
    for _ in range(3):
        result = engine.run(communes, qpv, st, pe, kept, "76", prepared=prep)
        t = time.perf_counter()
        table = engine.buyers(result)
        times.append(time.perf_counter() - t)
    return {"buyers_national_rows": len(m), "buyers_region_markets": len(kept), "buyers_cut_s": cut_s,
            "buyers_s": float(np.median(times)), "buyers_count": len(table), "buyers_rss_mb": peak_rss_mb()}


def needs_figures(ds, scale: int) -> dict:
    """``needs_s`` on the France-sized set (every région at once) with 100,000 inclusion structures."""
    from geo import engine

    rng = np.random.default_rng(22)
    n = 100_000 // scale
    codes = ds.communes["code_insee"].astype(str).to_numpy()
    inclusion = pd.DataFrame({"code_commune": codes[rng.integers(0, len(codes), n)],
                              "type": rng.choice(["ACI", "EI", "AI", "ESAT", "EA", "GEIQ"], n)})
    prep = engine.prepare(ds.communes, ds.qpv, ds.structures, ds.perimetres)
    times = []
    for _ in range(3):
        result = engine.run(ds.communes, ds.qpv, ds.structures, ds.perimetres, ds.marches, None, prepared=prep,
                            inclusion=inclusion)
        t = time.perf_counter()
        result.needs()
        times.append(time.perf_counter() - t)
    return {"needs_s": float(np.median(times))}


TARGETS = {"inclusion_import_s": ("<", 10.0), "inclusion_import_rss_mb": ("<", 500), "buyers_s": ("<", 2.0)}


def run(ds=None, quick: bool = False) -> dict:
    """Every figure of this module (``ds``: the France-sized set already built by ``bench``, else built here)."""
    scale = 10 if quick else 1
    out = {}
    out.update(inclusion_import(scale))
    out.update(buyers_figures(scale))
    if ds is None:
        from data import demo

        ds = demo.generate(scale="france", n_communes=35_000 // scale, n_qpv=1_600 // scale,
                           n_structures=300 // scale, n_markets=1_000_000 // scale)
    out.update(needs_figures(ds, scale))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.inclusion")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)  # import PATH | buyers SCALE
    args = p.parse_args(argv)
    if args.child:
        what, arg = args.child
        print(json.dumps(_import_child(arg) if what == "import" else _buyers_child(int(arg))))
        return 0
    out = run(quick=args.quick)
    print_figures(out, args.json, TARGETS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
