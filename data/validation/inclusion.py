"""Validation of an inclusion structures file (kind ``structures_inclusion``, DOMAIN.md « Structures de
l'inclusion »): strict on what makes the file usable (a type column and a way to find the commune),
lenient on every cell (a type the product does not know is kept as « Autre », a SIRET that is not 14
digits is kept as written, a code or coordinates that designate nothing leave the structure unlocated):
one summarised warning each, never a refusal.

Nothing is lost: every row is kept, or dropped because it positively lies in another région (counted), or
set aside as the same structure published twice (same SIRET and type: counted), or — for the data·inclusion file, which lists the whole offer of social and professional insertion —
set aside because its ``reseaux_porteurs`` name no inclusion structure (France Travail agencies, missions
locales, CCAS…: counted, with the networks they carry); a kept structure that cannot be located is
listed, line by line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj

from data import schemas as S
from data.formats import inclusion as fmt
from data.formats.cells import parse_numbers
from data.formats.limits import check_time, fmt_int
from data.formats.upload import Upload
from data.report import Loaded, Report
from data.validation.columns import rename_columns
from geo import inclusion as inc
from geo.buyers import clean_siret
from geo.codes import as_text, fold, is_commune_code, normalize_code
from geo.territory import Referentiel

TO_2154 = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
READ_SCHEMA = S.TableSchema(S.STRUCTURES_INCLUSION.kind, S.STRUCTURES_INCLUSION.label, S.INCLUSION_READ_FIELDS)
STORED = ["siret", "nom", "type", "code_commune", "latitude", "longitude", "secteurs", "code_postal", "commune",
          "adresse", "type_ecrit", "localisation", "raison", "date_maj", "source", "id_source"]
SHOWN = 8  # examples a summarised warning names


def _plural(n: int, one: str, many: str) -> str:
    return f"{fmt_int(n)} {one if n < 2 else many}"


def _examples(values: list[tuple[str, int]], unit: str) -> str:
    shown = ", ".join(f"« {v} » ({unit} {line})" for v, line in values[:SHOWN])
    more = len(values) - SHOWN
    return shown + (f" et {_plural(more, 'autre', 'autres')}" if more > 0 else "")


def map_columns(df: pd.DataFrame) -> pd.DataFrame:
    """The file's columns renamed to the product's names (``columns.rename_columns`` on the reading schema)."""
    return rename_columns(df, READ_SCHEMA)


def former_codes(codes: np.ndarray, lines: np.ndarray, file: str, report: Report, known: set[str] | None,
                 unit: str) -> np.ndarray:
    """A former commune's code (déléguée, associée, merged) read as its current commune, one warning naming
    both (as for the other kinds); codes the workspace's référentiel holds are left alone."""
    from data import referentiel

    if not known or not referentiel.available():
        return codes
    out = codes.copy()
    seen: set[str] = set()
    for i, c in enumerate(codes):
        if not c or c in known:
            continue
        hit = referentiel.former_commune(c)
        if hit is not None and hit[0] in known:
            out[i] = hit[0]
            if c not in seen:
                seen.add(c)
                what = f"{c} ({hit[1]})" if hit[1] else c
                report.warning(file, f"{what} fait partie de {hit[0]} ({hit[2]}) : rattaché.", line=int(lines[i]),
                               column="code_commune", unit=unit)
    return out


def validate_structures_inclusion(src: Upload, communes: pd.DataFrame | None = None,
                                  region: str | None = None) -> Loaded:
    """Read, type, locate and (with ``region``) cut an inclusion structures file to the région."""
    inc_kind = S.STRUCTURES_INCLUSION.kind
    out = Loaded(inc_kind)
    rep = out.report
    raw = fmt.read(src, rep)
    if raw is None:
        rep.close()
        return out
    df, unit = raw.frame, raw.unit
    found = ", ".join(f"« {c} »" for c in raw.columns[:15]) + (" …" if len(raw.columns) > 15 else "")
    if not len(df):
        rep.error(src.name, "le fichier ne contient aucune structure (seulement l'en-tête)." if raw.columns else
                  "le fichier ne contient aucune structure.")
        rep.close()
        return out
    df = df.copy()
    df.index = np.arange(len(df)) + raw.first  # the line (or record) a person finds in the file
    folded = {fold(c) for c in df.columns}
    if "raisonsociale" in folded:  # le marché de l'inclusion: the contact's « Nom » is not the structure's
        df = df[[c for c in df.columns if fold(c) not in fmt.CONTACT_COLUMNS]]
    type_source = next((c for c in df.columns if fold(c) in {fold(a) for a in ("type", *S.STRUCTURES_INCLUSION
                                                                                .field("type").aliases)}), None)
    mapped = map_columns(df)
    header = 1 if unit == "ligne" else None  # a table's header line; a JSON or Parquet file has none
    if "type" not in mapped.columns:
        rep.error(src.name, "aucune colonne de type de structure reconnue (type, reseaux_porteurs, « Type de "
                            f"structure »…) ; en-têtes du fichier : {found or 'aucun'}.", line=header, column="type")
    has_place = (
        "code_commune" in mapped.columns or "code_postal" in mapped.columns
        or {"latitude", "longitude"} <= set(mapped.columns))
    if not has_place:
        rep.error(src.name, "aucune colonne de commune reconnue (code_commune ou code_insee, code postal et ville, "
                            f"ou latitude et longitude) ; en-têtes du fichier : {found or 'aucun'}.", line=header,
                  column="code_commune")
    if not rep.ok:
        rep.close()
        return out
    check_time(src.name)
    t = pd.DataFrame(index=mapped.index)
    for f in S.INCLUSION_READ_FIELDS:
        t[f.name] = as_text(mapped[f.name]) if f.name in mapped.columns else pd.Series("", index=mapped.index,
                                                                                       dtype=object)
    n_read = len(t)
    out.counts["lus"] = n_read
    di_file = type_source is not None and fold(type_source) == "reseauxporteurs"

    # --- types
    codes_t, uniq = pd.factorize(t["type"])
    canon = np.asarray([fmt.normalise_type(u) or "" for u in uniq], dtype=object)
    types = canon[codes_t] if len(codes_t) else np.empty(0, dtype=object)
    lines = t.index.to_numpy()
    unknown = types == ""
    if di_file:
        named = np.asarray([fmt.type_from_name(nm) or "" if u else "" for nm, u in zip(t["nom"], unknown)],
                           dtype=object)
        types = np.where(unknown & (named != ""), named, types)
        unknown = types == ""
        out_of_scope = unknown
        if out_of_scope.any():
            written = t["type"][out_of_scope].value_counts()  # once per distinct cell, then by network
            carried = pd.Series(written.to_numpy(), index=[", ".join(fmt.items(v)) or "aucun" for v in written.index])
            carried = carried.groupby(level=0).sum().sort_values(ascending=False, kind="stable")
            detail = ", ".join(f"{v} : {fmt_int(k)}" for v, k in carried.head(6).items())
            n_out = int(out_of_scope.sum())
            rep.warning(src.name, f"{_plural(n_out, 'structure', 'structures')} du référentiel de l'offre "
                                  "d'insertion sans type de structure de l'inclusion (réseaux porteurs : "
                                  f"{detail}{' …' if len(carried) > 6 else ''}) : "
                                  f"{'écartée et comptée' if n_out < 2 else 'écartées et comptées'}, ce ne sont pas "
                                  "des SIAE, GEIQ, EA ou ESAT.", column="reseaux_porteurs")
        out.counts["hors_champ"] = int(out_of_scope.sum())
    else:
        out_of_scope = np.zeros(len(t), dtype=bool)
        if unknown.any():
            first: dict[str, int] = {}
            for v, line in zip(t["type"][unknown], lines[unknown]):
                first.setdefault(v or "(vide)", int(line))
            rep.warning(src.name, f"{_plural(len(first), 'type non reconnu', 'types non reconnus')}, "
                                  f"{_plural(int(unknown.sum()), 'structure gardée', 'structures gardées')} comme "
                                  f"« {inc.OTHER} » : {_examples(list(first.items()), unit)}. Types reconnus : "
                                  f"{', '.join(inc.INCLUSION_TYPES)}.", column="type")
        types = np.where(unknown, inc.OTHER, types)
    t["type_ecrit"] = np.asarray([", ".join(fmt.items(u)) for u in uniq], dtype=object)[codes_t] if len(codes_t) \
        else np.empty(0, dtype=object)
    t["type"] = types
    keep = ~out_of_scope
    t = t[keep]
    check_time(src.name)

    # --- SIRET: kept as written, one warning
    siret = t["siret"].map(lambda v: clean_siret(v) or v)
    bad = (siret != "") & ~siret.str.fullmatch(r"\d{14}")
    if bad.any():
        n_bad = int(bad.sum())
        what = "SIRET n'a pas 14 chiffres, gardé tel quel" if n_bad < 2 else "SIRET n'ont pas 14 chiffres, gardés tels quels"
        rep.warning(src.name, f"{fmt_int(n_bad)} {what} : {_examples(list(zip(siret[bad], t.index[bad])), unit)}.",
                    column="siret")
    t["siret"] = siret
    # the same structure published by several sources (data·inclusion gathers emplois de l'inclusion, Dora…):
    # once, by its SIRET and type; the others counted
    twin = siret.str.fullmatch(r"\d{14}") & t.duplicated(["siret", "type"], keep="first")
    if twin.any():
        n_twin = int(twin.sum())
        rep.warning(src.name, f"{_plural(n_twin, 'structure publiée', 'structures publiées')} plusieurs fois (même SIRET "
                              f"et même type, par plusieurs sources) : {'comptée' if n_twin < 2 else 'comptées'} une "
                              f"fois ; {_examples(list(zip(t['nom'][twin], t.index[twin])), unit)}.", column="siret")
        t = t[~twin.to_numpy()]
    out.counts["doublons"] = int(twin.sum())

    # --- commune codes: leading zeros added back, former communes read as current ones, odd codes set aside
    def fix(v: str) -> tuple[str, bool, bool]:
        code, repaired = normalize_code(v, 5)
        return (code, repaired, True) if is_commune_code(code) else (v, False, bool(v))

    c_codes, c_uniq = pd.factorize(t["code_commune"])
    fixed = [fix(u) for u in c_uniq]
    code = np.asarray([f[0] if f[2] and is_commune_code(f[0]) else "" for f in fixed], dtype=object)[c_codes] \
        if len(c_codes) else np.empty(0, dtype=object)
    repaired = np.asarray([f[1] for f in fixed], dtype=bool)[c_codes] if len(c_codes) else np.zeros(0, bool)
    odd = np.asarray([bool(f[0]) and not is_commune_code(f[0]) for f in fixed], dtype=bool)[c_codes] \
        if len(c_codes) else np.zeros(0, bool)
    if repaired.any():
        rep.warning(src.name, f"{_plural(int(repaired.sum()), 'code commune complété', 'codes communes complétés')} "
                              "d'un zéro initial (perdu, par exemple par Excel).", column="code_commune")
    if odd.any():
        rep.warning(src.name, f"{_plural(int(odd.sum()), 'code commune invalide', 'codes communes invalides')} (5 "
                              "caractères attendus), la structure est localisée autrement si possible : "
                              f"{_examples(list(zip(t['code_commune'][odd], t.index[odd])), unit)}.",
                    column="code_commune")
    known = set(as_text(communes["code_insee"])) if communes is not None and len(communes) else None
    t["code_commune"] = former_codes(code, t.index.to_numpy(), src.name, rep, known, unit)
    t["code_postal"] = [normalize_code(v, 5)[0] if v.isdigit() else v for v in t["code_postal"]]

    # --- coordinates (WGS84)
    lat, bad_lat = parse_numbers(t["latitude"])
    lon, bad_lon = parse_numbers(t["longitude"])
    wrong = bad_lat | bad_lon | (np.abs(np.nan_to_num(lat)) > 90) | (np.abs(np.nan_to_num(lon)) > 180)
    if wrong.any():
        n_wrong = int(wrong.sum())
        rep.warning(src.name, f"{_plural(n_wrong, 'structure', 'structures')} aux coordonnées illisibles ou hors du "
                              "globe, ignorées pour les localiser : "
                              f"{_examples(list(zip(t['latitude'][wrong] + ' ; ' + t['longitude'][wrong], t.index[wrong])), unit)}.",
                    column="latitude")
        lat[wrong], lon[wrong] = np.nan, np.nan
    t["latitude"], t["longitude"] = lat, lon
    check_time(src.name)

    # --- where each structure is, and the cut to the région
    if known:
        ref = Referentiel.from_communes(communes)
        x, y = TO_2154.transform(np.nan_to_num(lon, nan=np.inf), np.nan_to_num(lat, nan=np.inf))
        x = np.where(np.isnan(lon), np.nan, x)
        y = np.where(np.isnan(lat), np.nan, y)
        geoms = communes.geometry.to_numpy() if hasattr(communes, "geometry") else None
        if geoms is not None and getattr(communes, "crs", None) is not None and str(communes.crs) != "EPSG:2154":
            geoms = communes.geometry.to_crs("EPSG:2154").to_numpy()
        located, how, why = inc.locate(ref, t["code_commune"], t["code_postal"], t["commune"], x, y, geoms,
                                       as_text(communes["nom"]).to_numpy(dtype=object))
        check_time(src.name)
        if region:
            dep_region = dict(zip(as_text(communes["dep"]), as_text(communes["reg"])))
            # a structure no code places, with coordinates outside the workspace's communes: its région
            # from the national outlines (shipped référentiel), so that one of another région is counted there
            far = (located < 0) & ~np.isnan(x) & ~np.isnan(y)
            point_regions = None
            if far.any():
                from data import referentiel

                if referentiel.available():
                    point_regions = np.full(len(t), "", dtype=object)
                    point_regions[far] = referentiel.regions_at(x[far], y[far])
            elsewhere = inc.outside_region(ref, located, t["code_commune"], t["code_postal"], t["departement"],
                                           region, dep_region, point_regions)
            n_out = int(elsewhere.sum())
            out.counts["hors_region"] = n_out
            if n_out and n_out == len(t):
                rep.error(src.name, f"aucune des {fmt_int(n_out)} structures du fichier n'est située dans la région "
                                    f"{region} : vérifiez la région choisie.", column="code_commune")
                rep.close()
                return out
            if n_out:
                rep.warning(src.name, f"{_plural(n_out, 'structure située', 'structures situées')} dans une autre "
                                      f"région {'écartée' if n_out < 2 else 'écartées'} et "
                                      f"{'comptée' if n_out < 2 else 'comptées'} ; les structures qu'aucun code ne "
                                      "situe sont gardées (non localisées).", column="code_commune")
            t, located, how, why = t[~elsewhere], located[~elsewhere], how[~elsewhere], why[~elsewhere]
        t["code_commune"] = np.where(located >= 0, ref.codes[np.maximum(located, 0)], t["code_commune"])
        t["localisation"] = how
        t["raison"] = why
    else:
        rep.warning(src.name, "l'espace n'a pas de référentiel des communes : les structures ne sont ni localisées "
                              "ni ramenées à la région ; importez d'abord le référentiel.")
        t["localisation"] = np.where(t["code_commune"] != "", inc.BY_CODE, "")
        t["raison"] = np.where(t["code_commune"] != "", "", "aucun référentiel des communes")
    lost = (t["localisation"] == "").to_numpy()
    for line, name, reason in zip(t.index[lost], t["nom"][lost], t["raison"][lost]):
        rep.warning(src.name, f"structure « {name or 'sans nom'} » non localisée ({reason}) : gardée et comptée "
                              "« non localisée ».", line=int(line), column="code_commune", unit=unit,
                    rule="structure non localisée")
    out.counts["non_localisables"] = int(lost.sum())
    if not len(t):
        rep.error(src.name, "aucune structure de l'inclusion (SIAE, GEIQ, EA, ESAT) dans ce fichier.", column="type")
        rep.close()
        return out
    table = t.reindex(columns=STORED).reset_index(drop=True)
    for col in STORED:
        if col not in ("latitude", "longitude"):
            table[col] = as_text(table[col]).to_numpy(dtype=object)
    out.tables[inc_kind] = table
    out.counts["gardes"] = len(table)
    rep.close()
    return out
