"""The command line of issue 20 (item 7): ``cli.py import --kind structures_inclusion``, ``cli.py acheteurs`` and
what ``cli.py diagnose`` adds (files and ``--workspace``); and, on a real région (the shipped Occitanie
référentiel), the buyers of a market file brought three ways — a Windows-1252 table, a DECP JSON and a DECP
consolidated Parquet (rows per holder and modification) — against an independent computation in plain pandas."""

from __future__ import annotations

import json
import unicodedata

import numpy as np
import openpyxl
import pandas as pd
import pytest

import cli
from data import referentiel


def run(capsys, *args) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def folded(name: str) -> str:
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in s if not ch.isspace() and ch not in "_-.'’")


def independent_buyers(m: pd.DataFrame) -> dict[str, dict]:
    """Per buyer (SIRET of 14 digits, else the name folded), plain pandas: markets, social markets, amounts."""
    m = m.copy()
    siret = m["acheteur_siret"].fillna("").astype(str)
    m["key"] = np.where(siret.str.fullmatch(r"\d{14}"), "S:" + siret, "N:" + m["acheteur"].map(folded))
    m["social"] = [bool({x.strip() for x in str(v).split(";")} & {"Clause sociale", "Critère social", "Marché réservé"})
                   for v in m["considerations_sociales"]]
    out = {}
    for key, g in m.groupby("key"):
        total = g["montant_ht"].sum()
        soc = g.loc[g["social"], "montant_ht"].sum()
        out[key] = {"marches": len(g), "marches_sociaux": int(g["social"].sum()), "montant_ht": total,
                    "montant_ht_social": soc, "part_sociale": soc / total if total else None}
    return out


def got_buyers(path) -> dict[str, dict]:
    rows = json.loads(path.read_text(encoding="utf-8"))
    return {(f"S:{r['siret']}" if r["siret"] else f"N:{folded(r['nom'])}"): r for r in rows}


def same(expected: dict, got: dict) -> None:
    assert set(expected) == set(got)
    for key, e in expected.items():
        g = got[key]
        assert (g["marches"], g["marches_sociaux"]) == (e["marches"], e["marches_sociaux"]), key
        assert g["montant_ht"] == pytest.approx(e["montant_ht"]) and \
            g["montant_ht_social"] == pytest.approx(e["montant_ht_social"]), key
        assert g["part_sociale"] == pytest.approx(e["part_sociale"]), key


@pytest.fixture()
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path / "store"))
    return tmp_path


def test_import_acheteurs_and_diagnose_on_the_demo_files(store, capsys, demo_ds):
    files = store / "demo"
    assert run(capsys, "demo", "--out", files)[0] == 0
    assert (files / "structures_inclusion.csv").exists()
    for kind, path in (("communes", "communes.geojson"), ("facilitateurs", "facilitateurs.xlsx"),
                       ("marches", "marches.csv"), ("structures_inclusion", "structures_inclusion.csv")):
        code, out, err = run(capsys, "import", "--workspace", "essai", "--kind", kind, "--region", "99",
                             files / path)
        assert code == 0, (kind, out, err)
    # a file with neither a type nor a commune column: refused in French, the workspace unchanged
    (store / "bad.csv").write_text("siret;nom\n12345678900011;A\n", encoding="utf-8")
    code, out, err = run(capsys, "import", "--workspace", "essai", "--kind", "structures_inclusion", store / "bad.csv")
    assert code == 1 and "aucune colonne de type" in out and "Traceback" not in out + err

    code, out, err = run(capsys, "acheteurs", "--workspace", "essai", "--region", "99", "--json", store / "a.json",
                         "--xlsx", store / "a.xlsx", "--seuil", "5 000 000")
    assert code == 0, err
    assert "acheteurs" in err and "Estimation" in err
    got = got_buyers(store / "a.json")
    same(independent_buyers(demo_ds.marches), got)
    rows = json.loads((store / "a.json").read_text(encoding="utf-8"))
    # the SPASER flag at the threshold given: an annual amount (by year of notification) at or above it
    m = demo_ds.marches.assign(annee=demo_ds.marches["date"].str[:4])
    for r in rows:
        if r["siret"]:
            annual = m[m["acheteur_siret"] == r["siret"]].groupby("annee")["montant_ht"].sum()
            assert r["spaser"] == bool((annual >= 5_000_000).any())
            assert r["montant_annuel_max"] == pytest.approx(annual.max())
    assert any(r["spaser"] for r in rows) and not all(r["spaser"] for r in rows)
    wb = openpyxl.load_workbook(store / "a.xlsx", read_only=True)
    assert wb.sheetnames[:2] == ["Acheteurs", "Montants annuels"]
    assert sum(1 for _ in wb["Acheteurs"].iter_rows(min_row=2)) == len(rows)

    code, _, err = run(capsys, "diagnose", "--workspace", "essai", "--json", store / "d.json")
    assert code == 0, err
    d = json.loads((store / "d.json").read_text(encoding="utf-8"))
    inc = d["structures_inclusion"]
    assert inc["total"] == len(demo_ds.structures_inclusion) and inc["non_localisees"] == 2
    assert set(inc) >= {"total", "par_type", "dans_zones_blanches", "non_localisees"}
    assert all(isinstance(s["marches_sociaux"], int) and isinstance(s["acheteurs"], int)
               and isinstance(s["structures_inclusion"], int) for s in d["structures"])


def test_diagnose_files_with_and_without_inclusion(store, capsys):
    files = store / "demo"
    run(capsys, "demo", "--out", files)
    base = ["diagnose", "--region", "99", "--communes", files / "communes.geojson", "--facilitateurs",
            files / "facilitateurs.xlsx", "--marches", files / "marches.csv"]
    assert run(capsys, *base, "--json", store / "sans.json")[0] == 0
    assert run(capsys, *base, "--structures-inclusion", files / "structures_inclusion.csv", "--json",
               store / "avec.json")[0] == 0
    sans = json.loads((store / "sans.json").read_text(encoding="utf-8"))
    avec = json.loads((store / "avec.json").read_text(encoding="utf-8"))
    assert "structures_inclusion" not in sans and all(s["structures_inclusion"] is None for s in sans["structures"])
    assert avec["structures_inclusion"]["total"] == 96
    assert [s["marches_sociaux"] for s in sans["structures"]] == [s["marches_sociaux"] for s in avec["structures"]]


# ---------------------------------------------------------------------------------------------
# A real région: the shipped Occitanie référentiel, a national market extract with its buyers, three routes

BUYERS = [("21310555400017", "Toulouse Métropole"), ("22340001700012", "Département de l'Hérault"),
          ("23760001400015", "Région Occitanie"), ("", "Office public de l'habitat"),
          ("", "Syndicat mixte des eaux")]
ELSEWHERE = [("commune", "75056"), ("departement", "13")]
DECP_TYPE = {"commune": "Code commune", "departement": "Code département", "region": "Code région"}


def national_markets(codes: np.ndarray) -> pd.DataFrame:
    rng = np.random.default_rng(20)
    rows = []
    for k in range(90):
        siret, name = BUYERS[k % len(BUYERS)]
        if not siret and k % 2:  # the same buyer written otherwise: the same buyer
            name = name.upper().replace(" ", "  ")
        kind = k % 6
        lt, lc = (("commune", codes[rng.integers(len(codes))]) if kind < 3 else ("departement", "31") if kind == 3
                  else ("region", "76") if kind == 4 else ELSEWHERE[k % 2])
        rows.append({"id_marche": f"N{k}", "acheteur": name, "acheteur_siret": siret, "lieu_type": lt, "lieu_code": lc,
                     "considerations_sociales": "Pas de considération sociale" if k % 4 == 0 else "Clause sociale",
                     "montant_ht": float(1000 * (k + 1)) + 0.5, "date": f"{2023 + k % 3}-0{1 + k % 9}-15"})
    return pd.DataFrame(rows)


def routes(tmp, m: pd.DataFrame) -> dict:
    table = m.assign(objet="Réhabilitation école", type_acheteur="Commune")
    table["montant_ht"] = table["montant_ht"].map(lambda v: f"{v:.2f}".replace(".", ","))
    (tmp / "marches.csv").write_bytes(table.to_csv(sep=";", index=False).encode("cp1252"))
    recs = []
    for r in m.itertuples():
        rec = {"id": r.id_marche, "objet": "Travaux", "montant": r.montant_ht / 2, "dateNotification": r.date,
               "acheteur": {"id": r.acheteur_siret} if r.acheteur_siret else {"nom": r.acheteur},
               "lieuExecution": {"code": r.lieu_code, "typeCode": DECP_TYPE[r.lieu_type]},
               "considerationsSociales": {"considerationSociale": [r.considerations_sociales]},
               # the initial amount was half: the modification sets the current one
               "modifications": [{"modification": {"id": 1, "montant": r.montant_ht}}]}
        recs.append(rec)
    (tmp / "decp.json").write_text(json.dumps({"marches": {"marche": recs}}), encoding="utf-8")
    tab = pd.DataFrame({"uid": m["id_marche"], "objet": "Travaux", "acheteur_nom": m["acheteur"],
                        "acheteur_id": m["acheteur_siret"], "montant": m["montant_ht"],
                        "dateNotification": m["date"], "lieuExecution_code": m["lieu_code"],
                        "lieuExecution_typeCode": m["lieu_type"].map(DECP_TYPE),
                        "considerationsSociales": m["considerations_sociales"], "titulaire_id": "A",
                        "donneesActuelles": True})
    initial = tab.assign(montant=tab["montant"] / 2, donneesActuelles=False)
    rows = pd.concat([initial, initial.assign(titulaire_id="B"), tab]).sort_values("uid", kind="stable")
    rows.to_parquet(tmp / "decp.parquet", index=False)
    return {"table": tmp / "marches.csv", "decp_json": tmp / "decp.json", "decp_parquet": tmp / "decp.parquet"}


@pytest.mark.skipif(not referentiel.available(), reason="référentiel officiel absent")
def test_buyers_of_a_real_region_equal_an_independent_computation(store, capsys):
    communes = referentiel.region_communes("76")
    m = national_markets(communes["code_insee"].to_numpy())
    inside = m[~m.apply(lambda r: (r["lieu_type"], r["lieu_code"]) in ELSEWHERE, axis=1)]
    expected = independent_buyers(inside)
    assert run(capsys, "workspace", "create", "--name", "occ", "--region", "76")[0] == 0
    for route, path in routes(store, m).items():
        code, out, err = run(capsys, "import", "--workspace", "occ", "--kind", "marches", path)
        assert code == 0, (route, out, err)
        assert run(capsys, "acheteurs", "--workspace", "occ", "--json", store / f"{route}.json")[0] == 0
        same(expected, got_buyers(store / f"{route}.json"))
