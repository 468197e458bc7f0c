"""Validation of the five kinds of file users bring (see DOMAIN.md, "The formats users bring").

Every function returns a :class:`Loaded`: the typed tables and a :class:`~data.report.Report`
whose messages name the file, the line (header = line 1) and the column. A report with an
error means the file must change nothing in the user's data; warnings only, it is accepted.
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data import schemas as S
from data.formats import decp
from data.formats.cells import AMOUNT_MAX_EUROS, CODE_WIDTH, amount_problems, euros, parse_dates, parse_numbers
from data.formats.decp import CONCESSION
from data.formats.layers import is_geo, read_geo, reproject
from data.formats.limits import TimeUp, check_time, time_limit
from data.formats.tables import read_table
from data.formats.upload import LOG, Upload
from data.report import UNIT_PLURALS, Loaded, Report, agree, count, join_and, number
from data.validation.columns import label_header, rename_columns
from data.validation.inclusion import validate_structures_inclusion
from geo.markets import has_social_consideration, unlocatable_markets
from geo.places import outside_region
from geo.territory import UNRESOLVABLE_TYPES, Referentiel
from geo.codes import DEP_RE, EPCI_RE, as_text, dep_of_commune, fold, is_commune_code, normalize_code, plm_parent

# ---------------------------------------------------------------------------------------------
# Generic column and cell checks


def map_columns(df: pd.DataFrame, schema: S.TableSchema, file: str, report: Report) -> pd.DataFrame | None:
    """:func:`rename_columns`, then ``None`` if a required column is missing (an error naming it and the
    headers found)."""
    out = rename_columns(df, schema)
    missing = [f for f in schema.fields if f.required and f.name not in out.columns]
    found = ", ".join(f"« {c} »" for c in df.columns[:12]) + (" …" if len(df.columns) > 12 else "")
    for f in missing:
        report.error(file, f"colonne obligatoire « {f.name} » ({label_header(f.label) or f.name}) absente ; "
                           f"en-têtes du fichier : {found or 'aucun'}.", line=1, column=f.name)
    return None if missing else out


@functools.lru_cache(maxsize=65536)  # a million cells hold a few distinct values
def enum_value(column: str, raw: str, values: tuple[str, ...]) -> str | None:
    """The canonical spelling of ``raw`` among ``values`` (case and accents ignored), or of one of its
    everyday spellings (``S.SYNONYMS``), or of how it begins (``S.PREFIXES``)."""
    key = fold(raw)
    for v in values:
        if fold(v) == key:
            return v
    found = S.SYNONYMS.get(column, {}).get(key)
    if found is None:
        found = next((canon for prefix, canon in S.PREFIXES.get(column, ()) if key.startswith(prefix)), None)
    return found


def check_cells(df: pd.DataFrame, schema: S.TableSchema, file: str, report: Report,
                unit: str = "ligne", first_line: int = 2) -> pd.DataFrame:
    """Type every canonical column; report each bad cell with its line and column."""
    lines = df.index.to_numpy()  # the index holds the line numbers (see _table)
    out = pd.DataFrame(index=df.index)
    for f in schema.fields:
        check_time(file)  # a column of a million cells is one step
        if f.name not in df.columns:
            out[f.name] = pd.Series(np.nan if f.kind in (S.INT, S.FLOAT) else "", index=df.index,
                                    dtype=float if f.kind in (S.INT, S.FLOAT) else object)
            continue
        raw = as_text(df[f.name])
        empty = (raw == "").to_numpy()
        if f.required:
            for i in np.flatnonzero(empty):
                report.error(file, "valeur obligatoire manquante.", line=int(lines[i]), column=f.name,
                             unit=unit, rule="valeur obligatoire manquante")
        if f.kind in (S.INT, S.FLOAT):
            num, bad = parse_numbers(raw)
            for i in np.flatnonzero(bad):
                report.error(file, f"« {raw.iloc[i]} » n'est pas un nombre.", line=int(lines[i]),
                             column=f.name, unit=unit, rule="pas un nombre")
            for i in np.flatnonzero(np.isinf(num)):  # "inf", "1e400": not a number anyone means
                report.error(file, f"« {raw.iloc[i]} » n'est pas un nombre fini.", line=int(lines[i]),
                             column=f.name, unit=unit, rule="nombre infini")
            num = np.where(np.isinf(num), np.nan, num)
            if f.kind == S.INT:
                frac = ~np.isnan(num) & (np.abs(num - np.round(num)) > 1e-9)
                for i in np.flatnonzero(frac):
                    report.error(file, f"« {raw.iloc[i]} » doit être un nombre entier.", line=int(lines[i]),
                                 column=f.name, unit=unit, rule="pas un entier")
            if f.minimum is not None:
                for i in np.flatnonzero(~np.isnan(num) & (num < f.minimum)):
                    what = "négative" if f.minimum == 0 else f"inférieure à {f.minimum:g}"
                    report.error(file, f"valeur {what} impossible ({raw.iloc[i]}).", line=int(lines[i]),
                                 column=f.name, unit=unit, rule="valeur trop petite")
            if f.maximum is not None:
                for i in np.flatnonzero(~np.isnan(num) & (num > f.maximum)):
                    report.error(file, f"valeur supérieure à {f.maximum:g} impossible ({raw.iloc[i]}).",
                                 line=int(lines[i]), column=f.name, unit=unit, rule="valeur trop grande")
            out[f.name] = num
        elif f.kind == S.DATE:
            iso, bad = parse_dates(raw)
            for i in np.flatnonzero(bad):
                report.error(file, f"date invalide « {raw.iloc[i]} » (format attendu AAAA-MM-JJ ou JJ/MM/AAAA).",
                             line=int(lines[i]), column=f.name, unit=unit, rule="date invalide")
            out[f.name] = iso.to_numpy()
        elif f.kind == S.ENUM:
            vals = []
            for i, v in enumerate(raw.tolist()):
                if not v:
                    vals.append("")
                    continue
                canon = enum_value(f.name, v, f.values)
                if canon is None:
                    report.error(file, f"valeur inconnue « {v} ». Valeurs possibles : {', '.join(f.values)}.",
                                 line=int(lines[i]), column=f.name, unit=unit, rule=f"valeur inconnue {f.name}")
                vals.append(canon or v)
            out[f.name] = pd.Series(vals, index=df.index, dtype=object)
        elif f.kind == S.LABEL:
            vals, unknown = [], {}
            for i, v in enumerate(raw.tolist()):
                canon = enum_value(f.name, v, f.values) if v else ""
                if canon is None:
                    unknown.setdefault(v, int(lines[i]))
                vals.append(canon if canon is not None else v)
            if unknown:
                shown = ", ".join(f"« {v} » ({unit} {line})" for v, line in list(unknown.items())[:8])
                more = f" et {count(len(unknown) - 8, 'autre', 'autres')}" if len(unknown) > 8 else ""
                n_unknown = len(unknown)
                report.warning(file, f"{count(n_unknown, 'libellé non reconnu', 'libellés non reconnus')}, "
                                     f"{agree(n_unknown, 'gardé tel quel', 'gardés tels quels')} : {shown}{more}. "
                                     f"Libellés connus : {', '.join(f.values)}.", column=f.name)
            out[f.name] = pd.Series(vals, index=df.index, dtype=object)
        elif f.kind == S.ENUM_LIST:
            vals = []
            for i, v in enumerate(raw.tolist()):
                items = [x.strip() for x in re.split(r"[;|,]", v) if x.strip()]
                canon_items = []
                for item in items:
                    canon = enum_value(f.name, item, f.values)
                    if canon is None:
                        report.error(file, f"valeur inconnue « {item} ». Valeurs possibles : "
                                           f"{', '.join(f.values)}.", line=int(lines[i]), column=f.name,
                                     unit=unit, rule=f"valeur inconnue {f.name}")
                    else:
                        canon_items.append(canon)
                vals.append(";".join(dict.fromkeys(canon_items)))
            out[f.name] = pd.Series(vals, index=df.index, dtype=object)
        elif f.kind in (S.COMMUNE, S.COMMUNE_LIST):
            codes = []
            for i, v in enumerate(raw.tolist()):
                parts = re.split(r"[;,|/\s]+", v) if f.kind == S.COMMUNE_LIST else [v]
                fixed = []
                for part in (p for p in parts if p):
                    code, repaired = normalize_code(part, 5)
                    if not is_commune_code(code):
                        report.error(file, f"code commune « {part} » invalide (5 caractères attendus, par exemple "
                                           "01001 ou 2A004).", line=int(lines[i]), column=f.name, unit=unit,
                                     rule="code commune invalide")
                    elif repaired:
                        report.warning(file, f"code commune « {part} » complété en « {code} » (zéro initial "
                                             "perdu, par exemple par Excel).", line=int(lines[i]), column=f.name,
                                       unit=unit, rule="zéro initial rétabli")
                    fixed.append(code)
                codes.append(";".join(fixed))
            out[f.name] = pd.Series(codes, index=df.index, dtype=object)
        else:  # CODE, TEXT
            out[f.name] = raw.to_numpy(dtype=object)
    return out


def check_duplicates(df: pd.DataFrame, columns: tuple[str, ...], file: str, report: Report,
                     unit: str = "ligne", first_line: int = 2) -> None:
    cols = [c for c in columns if c in df.columns]
    if not cols:
        return
    key = as_text(df[cols[0]])
    for c in cols[1:]:
        key = key + "|" + as_text(df[c])
    involved = key.duplicated(keep=False).to_numpy()  # usually none: only those rows are looked at
    first_seen: dict[str, int] = {}
    for line, k in zip(df.index[involved], key[involved].tolist()):
        if k in first_seen:
            shown = " / ".join(x for x in k.split("|") if x)
            report.error(file, f"identifiant « {shown} » en double (déjà {unit} {first_seen[k]}).",
                         line=int(line), column=cols[0], unit=unit, rule="doublon")
        else:
            first_seen[k] = int(line)


def _repaired(raw: str, width: int, file: str, report: Report, line, column: str, rule: str,
              label: str = "code", unit: str = "ligne") -> str:
    """One code of fixed width with its lost leading zeros added back, and a warning when they were."""
    code, repaired = normalize_code(raw, width)
    if repaired:
        report.warning(file, f"{label} « {raw} » complété en « {code} » (zéro initial perdu).", line=int(line),
                       column=column, unit=unit, rule=rule)
    return code


def remap_former_codes(values: pd.Series, file: str, report: Report, column: str,
                       known: set[str] | None = None, unit: str = "ligne") -> pd.Series:
    """Former commune codes (communes déléguées, associées, merged) read as their current commune.

    ``values`` hold one code or several joined by ``;`` and are indexed by line numbers. A code the
    workspace's référentiel (``known``) holds is left alone, and so is every code when there is no
    référentiel to check against (a fictitious one may reuse real codes); one warning per former code
    names both communes. Codes unknown to the whole history are left for the usual checks (errors).
    """
    from data import referentiel

    if known is None or not referentiel.available():  # without a référentiel, a code is taken as written
        return values
    seen: set[str] = set()
    out = []
    for n, (line, cell) in enumerate(zip(values.index, values.tolist())):
        if not n % 65536:
            check_time(file)
        parts = []
        for code in str(cell).split(";") if cell else []:
            hit = None if (known is not None and code in known) else referentiel.former_commune(code)
            if hit is not None and (known is None or hit[0] in known or plm_parent(hit[0]) in known):
                current, old_name, current_name = hit
                if code not in seen:
                    seen.add(code)
                    what = f"{code} ({old_name})" if old_name else code
                    report.warning(file, f"{what} fait partie de {current} ({current_name}) : rattaché.",
                                   line=int(line), column=column, unit=unit)
                code = current
            parts.append(code)
        out.append(";".join(dict.fromkeys(parts)))
    return pd.Series(out, index=values.index, dtype=object)


def _repair_width(df: pd.DataFrame, column: str, width: int, file: str, report: Report,
                  label: str, unit: str = "ligne") -> None:
    """Add back leading zeros lost by Excel in a code column of fixed width, with a warning."""
    if column not in df.columns:
        return
    df[column] = [_repaired(v, width, file, report, line, column, f"zéro initial rétabli {column}", label, unit)
                  for line, v in zip(df.index, df[column].tolist())]


def _table(df: pd.DataFrame, schema: S.TableSchema, file: str, report: Report,
           unit: str = "ligne") -> pd.DataFrame | None:
    first_line = 2 if unit == "ligne" else 1
    if len(df) == 0:
        report.error(file, "le fichier ne contient aucune ligne de données (seulement l'en-tête).")
        return None
    # from here on, the index of every frame is the line number a person sees
    df = df.copy()
    df.index = np.asarray(df.index) + first_line
    mapped = map_columns(df, schema, file, report)
    if mapped is None:
        return None
    typed = check_cells(mapped, schema, file, report, unit=unit, first_line=first_line)
    check_time(file)
    check_duplicates(typed, schema.key, file, report, unit=unit, first_line=first_line)
    check_time(file)
    typed.attrs["present"] = list(mapped.columns)
    return typed


def repair_geometries(gdf: gpd.GeoDataFrame, file: str, report: Report) -> gpd.GeoDataFrame:
    """Repair invalid geometries with ``make_valid`` (keeping polygons) and report each one."""
    geoms = gdf.geometry.to_numpy()
    invalid = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid])
        # make_valid may return a collection with stray lines: keep the polygonal part
        fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
        geoms = geoms.copy()
        geoms[invalid] = fixed
        for i in np.flatnonzero(invalid):
            report.warning(file, "géométrie invalide (auto-intersection…) réparée automatiquement.",
                           line=int(i) + 1, unit="entité", rule="géométrie réparée")
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
    return gdf


def _polygonal(g):
    if g is None or g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in getattr(g, "geoms", []) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None


def _read_layer(src: Upload, schema: S.TableSchema, report: Report, layer: str | None = None,
                layers: list | None = None) -> gpd.GeoDataFrame | None:
    """A table or a geographic file, typed by ``schema``, geometry (if any) in Lambert-93. ``layer``: the
    layer to read in a file of several (``layers`` receives their names when none was chosen)."""
    if is_geo(src):
        gdf = read_geo(src, report, kind=schema.kind, layer=layer, layers=layers)
        if gdf is None:
            return None
        attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
        attrs = attrs.astype(object).where(attrs.notna(), "").astype(str)
        typed = _table(attrs, schema, src.name, report, unit="entité")
        if typed is None:
            return None
        gdf = repair_geometries(gdf, src.name, report)
        check_time(src.name)
        gdf = reproject(gdf, src.name, report)
        check_time(src.name)
        if gdf is None:
            return None
        return gpd.GeoDataFrame(typed, geometry=gdf.geometry.to_numpy(), crs=gdf.crs)
    raw = read_table(src, report, kind=schema.kind)
    if raw is None:
        return None
    typed = _table(raw, schema, src.name, report)
    if typed is None:
        return None
    return gpd.GeoDataFrame(typed, geometry=[None] * len(typed), crs="EPSG:2154")


# ---------------------------------------------------------------------------------------------
# The five kinds


def validate_communes(src: Upload, layer: str | None = None) -> Loaded:
    out = Loaded("communes")
    rep = out.report
    gdf = _read_layer(src, S.COMMUNES, rep, layer, out.layers)
    if gdf is not None:
        unit = "entité" if gdf.geometry.notna().any() else "ligne"
        present = set(gdf.attrs.get("present", []))
        # département derived from the commune code when absent
        missing_dep = as_text(gdf["dep"]) == ""
        gdf.loc[missing_dep, "dep"] = [dep_of_commune(c) for c in gdf.loc[missing_dep, "code_insee"]]
        _repair_width(gdf, "dep", 2, src.name, rep, "code département", unit)
        _repair_width(gdf, "reg", 2, src.name, rep, "code région", unit)
        _repair_width(gdf, "ze2020", 4, src.name, rep, "code zone d'emploi", unit)
        for col, why in (("population", "les populations vaudront 0"),
                         ("reg", "le choix de la région ne sera pas possible"),
                         ("epci_siren", "les périmètres déclarés par EPCI ne pourront pas être résolus"),
                         ("ze2020", "le diagnostic par zone d'emploi sera vide")):
            if col not in present:
                rep.warning(src.name, f"colonne facultative absente : {why}.", line=1, column=col)
        gdf["population"] = pd.to_numeric(gdf["population"]).fillna(0).astype("int64")
        gdf["codes_postaux"] = as_text(gdf["codes_postaux"]).str.replace(r"\s*[|,/]\s*", ";", regex=True)
        out.tables["communes"] = gdf.reset_index(drop=True)
    rep.close()
    return out


QPV_CODE_RE = re.compile(r"^(QP\d{6}|QN\d{5}[A-Z0-9])$")


def validate_qpv(src: Upload, layer: str | None = None) -> Loaded:
    out = Loaded("qpv")
    rep = out.report
    gdf = _read_layer(src, S.QPV, rep, layer, out.layers)
    if gdf is not None:
        unit = "entité" if gdf.geometry.notna().any() else "ligne"
        codes_out = []
        multi: list[tuple[int, str]] = []  # rows holding several codes: (line, as written)
        for line, code, com, geom in zip(gdf.index, gdf["code_qp"], gdf["code_commune"], gdf.geometry):
            parts = [c for c in re.split(r"[;,|/\s]+", code.upper()) if c]
            if len(parts) > 1 and all(QPV_CODE_RE.match(c) for c in parts):
                multi.append((int(line), code))
                code = ";".join(parts)  # several codes for one quartier (a list, not an odd code)
            codes_out.append(code)
            if code and ";" not in code and not QPV_CODE_RE.match(code):
                rep.warning(src.name, f"code QPV « {code} » inhabituel (attendu QP + 6 chiffres ou QN + 6 "
                                      "caractères).", line=int(line), column="code_qp", unit=unit,
                            rule="code QPV inhabituel")
            if (geom is None or geom.is_empty) and not com:
                rep.error(src.name, "ni géométrie ni code commune : impossible de situer ce quartier.",
                          line=int(line), column="code_commune", unit=unit, rule="QPV non situé")
        gdf["code_qp"] = codes_out
        if multi:
            report_several_codes(gdf, multi, src.name, rep, unit)
            out.counts["codes_qpv"] = distinct_qpv_codes(gdf["code_qp"])
        if "population" not in gdf.attrs.get("present", []):
            rep.warning(src.name, "colonne facultative absente : la population des QPV vaudra 0.",
                        line=1, column="population")
        gdf["population"] = pd.to_numeric(gdf["population"]).fillna(0).astype("int64")
        out.tables["qpv"] = gdf.reset_index(drop=True)
    rep.close()
    return out


def distinct_qpv_codes(codes: pd.Series) -> int:
    """How many distinct QPV codes the rows hold (a row may hold several, ``;``-separated)."""
    return len({c for cell in codes.astype(str) for c in cell.split(";") if c})


def report_several_codes(gdf: pd.DataFrame, multi: list[tuple[int, str]], file: str, report: Report,
                         unit: str) -> None:
    """One warning for a QPV file whose rows hold several codes: how it was read (each row one quartier
    made of its codes), how many codes it names in how many rows, and the codes found on several rows."""
    n = len(gdf)
    lines_of: dict[str, list[int]] = {}
    for line, cell in zip(gdf.index, gdf["code_qp"].astype(str)):
        for c in dict.fromkeys(x for x in cell.split(";") if x):
            lines_of.setdefault(c, []).append(int(line))
    repeated = {c: ls for c, ls in lines_of.items() if len(ls) > 1}
    units = UNIT_PLURALS.get(unit, unit + "s")
    first_line, first = multi[0]
    text = (f"{count(len(multi), unit, units)} sur {number(n)} {agree(len(multi), 'donne', 'donnent')} plusieurs "
            f"codes QPV (par exemple « {first} », {unit} {first_line}) : chaque {unit} est lue comme un seul "
            f"quartier qui réunit ses codes, soit {count(len(lines_of), 'code QPV différent', 'codes QPV différents')} "
            f"en {count(n, unit, units)}")
    if repeated:
        c, ls = next(iter(repeated.items()))
        text += (f" ; {count(len(repeated), 'code figure', 'codes figurent')} sur plusieurs {units} (par exemple "
                 f"{c} : {units} {join_and([str(x) for x in ls[:3]])})")
    report.warning(file, text + ". Si le fichier doit décrire un quartier par ligne, donnez à chaque ligne un seul "
                                "code QPV.", column="code_qp")


def keep_referentiel_qpv(qpv: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, file: str,
                        loaded: Loaded) -> gpd.GeoDataFrame:
    """The QPV of the workspace's territory, from a file that may cover the whole of France (ANCT).

    A QPV is kept when its outline lies in (a representative point inside) a commune of the
    référentiel, or when one of its declared communes is one of them. The others are dropped and
    counted in the report.
    """
    known = set(as_text(communes["code_insee"]))
    qpv = qpv.copy()
    lines = pd.Series(qpv["code_commune"].to_numpy(), index=np.arange(len(qpv)) + 1)
    qpv["code_commune"] = remap_former_codes(lines, file, loaded.report, "code_commune", known, "entité").to_numpy()
    declared = qpv["code_commune"].map(lambda v: any(c in known or plm_parent(c) in known
                                                     for c in str(v).split(";") if c)).to_numpy()
    inside = np.zeros(len(qpv), dtype=bool)
    has_geom = ~(qpv.geometry.isna() | qpv.geometry.is_empty).to_numpy()
    com_geom = communes.geometry[communes.geometry.notna()]
    if has_geom.any() and len(com_geom):
        check_time(file)
        pts = gpd.GeoDataFrame(geometry=qpv.geometry[has_geom].representative_point(), crs=qpv.crs)
        check_time(file)
        hit = gpd.sjoin(pts, gpd.GeoDataFrame(geometry=com_geom, crs=communes.crs), predicate="within")
        inside = qpv.index.isin(hit.index)
    keep = inside | declared
    n, kept = int((~keep).sum()), int(keep.sum())
    loaded.counts.update(lus=len(qpv), hors_region=n, gardes=kept)
    if "codes_qpv" in loaded.counts:  # the codes of the rows kept
        loaded.counts["codes_qpv"] = distinct_qpv_codes(qpv.loc[keep, "code_qp"])
    if n and not kept:
        loaded.report.error(file, f"aucun des {fmt_int(n)} QPV du fichier n'est situé dans le territoire de "
                                  "l'espace de travail : vérifiez la région choisie.")
    elif n:
        loaded.report.warning(file, f"{fmt_int(n)} QPV {agree(n, 'situé', 'situés')} hors du territoire de l'espace "
                                    f"{agree(n, 'écarté', 'écartés')} ; {fmt_int(kept)} {agree(kept, 'gardé', 'gardés')}.")
    return qpv[keep].reset_index(drop=True)


def facilitator_sources(paths: list) -> tuple[Upload | None, Upload | None, list[str]]:
    """Find the ``structures`` and ``perimetres`` tables among files, a folder or one XLSX."""
    uploads: list[Upload] = []
    for p in paths:
        if not isinstance(p, Upload) and Path(p).is_dir():
            uploads += [Upload.of(f) for f in sorted(Path(p).iterdir()) if f.is_file()]
        else:
            uploads.append(Upload.of(p))
    if len(uploads) == 1 and uploads[0].suffix in (".xlsx", ".xlsm"):
        return uploads[0], uploads[0], []  # one workbook with the two sheets, whatever its name
    structures = perimetres = None
    for u in uploads:
        stem = fold(Path(u.name).stem)
        if "structure" in stem:
            structures = u
        elif "perimetre" in stem:
            perimetres = u
    return structures, perimetres, [u.name for u in uploads]


def validate_facilitateurs(paths: list, communes: pd.DataFrame | None = None) -> Loaded:
    """Structures and perimeters: one XLSX with two sheets, or two CSV/XLSX files.

    With ``communes`` (the active référentiel), every perimeter code is checked against it.
    """
    out = Loaded("facilitateurs")
    rep = out.report
    s_src, p_src, names = facilitator_sources(paths)
    if s_src is None or p_src is None:
        rep.error(", ".join(names) or "facilitateurs",
                  "fichiers attendus : un classeur XLSX avec les feuilles « structures » et « perimetres », "
                  "ou deux fichiers nommés structures.csv et perimetres.csv.")
        return out
    same = s_src is p_src
    s_raw = read_table(s_src, rep, sheet="structures" if same else None, kind="facilitateurs")
    p_raw = read_table(p_src, rep, sheet="perimetres" if same else None, kind="facilitateurs")
    s_name = f"{s_src.name} (feuille structures)" if same else s_src.name
    p_name = f"{p_src.name} (feuille perimetres)" if same else p_src.name
    st = _table(s_raw, S.STRUCTURES, s_name, rep) if s_raw is not None else None
    pe = _table(p_raw, S.PERIMETRES, p_name, rep) if p_raw is not None else None
    check_time(p_name)
    if st is not None:
        etp, pers = st["etp"].to_numpy(), st["nb_facilitateurs"].to_numpy()
        for i in np.flatnonzero(etp > pers + 1e-9):
            rep.error(s_name, f"{etp[i]:g} ETP pour {pers[i]:g} {agree(pers[i], 'personne', 'personnes')} : les ETP ne peuvent pas dépasser "
                              "le nombre de personnes.", line=int(st.index[i]), column="etp",
                      rule="ETP > personnes")
        fin = st[list(S.FUNDING_COLUMNS)].to_numpy(dtype=float)
        given = ~np.isnan(fin).all(axis=1)
        total = np.nansum(fin, axis=1)
        for i in np.flatnonzero(given & (np.abs(total - 100) > 1)):
            rep.warning(s_name, f"les parts de financement totalisent {total[i]:g} % au lieu de 100 %.",
                        line=int(st.index[i]), column="fin_collectivites", rule="financement ≠ 100 %")
    if pe is not None:
        pe = pe.copy()
        pe["code_territoire"] = [
            _repaired(c, CODE_WIDTH[t], p_name, rep, line, "code_territoire", "zéro initial rétabli")
            if c and t in CODE_WIDTH else c
            for line, t, c in zip(pe.index, pe["type_territoire"], pe["code_territoire"])]
        check_duplicates(pe, S.PERIMETRES.key, p_name, rep)
        check_time(p_name)
        known_com = set(communes["code_insee"]) if communes is not None else None
        is_com = pe["type_territoire"] == "commune"
        pe.loc[is_com, "code_territoire"] = remap_former_codes(pe.loc[is_com, "code_territoire"], p_name, rep,
                                                               "code_territoire", known_com)
        # a perimeter listing a commune nouvelle and one of its former communes: one row is enough
        out.counts["perimetres_lus"] = len(pe)
        pe = pe[~pe.duplicated(list(S.PERIMETRES.key))]
    if st is not None:
        st = st.copy()
        st["code_commune"] = remap_former_codes(st["code_commune"], s_name, rep, "code_commune",
                                                set(communes["code_insee"]) if communes is not None else None)
    if st is not None and pe is not None:
        check_time(p_name)
        known = set(st["id_structure"])
        for line, sid in zip(pe.index, pe["id_structure"]):
            if sid and sid not in known:
                rep.error(p_name, f"structure « {sid} » inconnue : elle n'est pas dans la table des structures.",
                          line=int(line), column="id_structure", rule="structure inconnue")
        with_perimeter = set(pe["id_structure"])
        for line, sid in zip(st.index, st["id_structure"]):
            if sid and sid not in with_perimeter:
                rep.error(s_name, f"la structure « {sid} » n'a aucun périmètre dans la table des périmètres.",
                          line=int(line), column="id_structure", rule="structure sans périmètre")
        if communes is not None:
            check_time(p_name)
            check_territory_codes(pe, communes, p_name, rep)
            check_time(s_name)
            known_com = set(communes["code_insee"])
            for line, c in zip(st.index, st["code_commune"]):
                if c and c not in known_com and plm_parent(c) not in known_com:
                    rep.warning(s_name, f"commune d'implantation « {c} » absente du référentiel chargé.",
                                line=int(line), column="code_commune", rule="commune hors référentiel")
        out.tables["structures"] = st.reset_index(drop=True)
        out.tables["perimetres"] = pe.reset_index(drop=True)
        read = len(st) + out.counts.get("perimetres_lus", len(pe))
        out.counts.update(structures=len(st), perimetres=len(pe), lus=read, gardes=len(st) + len(pe))
    rep.close()
    return out


def check_territory_codes(pe: pd.DataFrame, communes: pd.DataFrame, file: str, report: Report) -> None:
    """Every perimeter code must exist in the référentiel: an unknown code is never dropped silently."""
    known = {
        "commune": set(communes["code_insee"]),
        "epci": set(communes["epci_siren"]) - {""},
        "departement": set(communes["dep"]) - {""},
        "region": set(communes["reg"]) - {""},
        "ze": set(communes["ze2020"]) - {""},
    }
    labels = {"commune": "commune", "epci": "EPCI", "departement": "département", "region": "région",
              "ze": "zone d'emploi"}
    for n, (line, t, c) in enumerate(zip(pe.index, pe["type_territoire"], pe["code_territoire"])):
        if not n % 65536:
            check_time(file)
        if t not in known or not c:
            continue
        if c in known[t] or (t == "commune" and plm_parent(c) in known[t]):
            continue
        hint = ""
        if t == "epci" and not EPCI_RE.match(c):
            hint = " (un SIREN d'EPCI a 9 chiffres)"
        elif t == "departement" and not DEP_RE.match(c):
            hint = " (un code département a 2 caractères, 3 outre-mer)"
        report.error(file, f"{labels[t]} « {c} » inconnu(e) du référentiel des communes chargé{hint}.",
                     line=int(line), column="code_territoire", rule=f"code inconnu {t}")


def validate_marches(src: Upload, communes: pd.DataFrame | None = None, region: str | None = None) -> Loaded:
    """The market table of DOMAIN.md, or DECP as published (read by ``data.formats.decp``).

    With ``region``, markets whose place positively lies in another région are dropped and counted
    in the report by kind (``geo.places``); every other market is kept. ``communes`` (the
    workspace's référentiel) tells its own départements' régions.
    """
    cut = None
    if region:
        dep_region = {} if communes is None else dict(zip(as_text(communes["dep"]), as_text(communes["reg"])))

        def cut(df: pd.DataFrame, loaded: Loaded) -> pd.DataFrame:
            return cut_to_region(df, loaded, src.name, region, dep_region)

    known = set(as_text(communes["code_insee"])) if communes is not None else None
    if decp.looks_like_decp(src):
        out = decp.load_decp(src, cut=cut)
        if out.tables.get("marches") is not None:
            warn_buyer_sirets(out.tables["marches"], src.name, out.report, "marché")
            out.tables["marches"] = remap_market_places(out.tables["marches"], src.name, out.report, known, "marché")
            check_time(src.name)
            report_unlocatable(out.tables["marches"], communes, src.name, out, unit="marché")
            out.report.close()
        return out
    out = Loaded("marches")
    rep = out.report
    raw = read_table(src, rep, kind="marches")
    df = _table(raw, S.MARCHES, src.name, rep) if raw is not None else None
    if df is not None:
        out.counts["lus"] = len(df)
        df = check_amounts(df, src.name, rep)
        df = normalize_place_codes(df, src.name, rep)
        check_time(src.name)
        if cut is not None:
            df = cut(df, out)
            check_time(src.name)
        df = remap_market_places(df, src.name, rep, known)
        warn_buyer_sirets(df, src.name, rep)
        check_time(src.name)
        report_unlocatable(df, communes, src.name, out)
        check_time(src.name)
        out.tables["marches"] = df.reset_index(drop=True)
        out.counts["gardes"] = len(df)
    rep.close()
    return out


def warn_buyer_sirets(df: pd.DataFrame, file: str, report: Report, unit: str = "ligne") -> None:
    """A buyer's SIRET that is not 14 digits is kept as written, with one summarised warning: the buyer is then
    identified by its name (DOMAIN.md, « Needs and offer »)."""
    if "acheteur_siret" not in df.columns or df.empty:
        return
    raw = as_text(df["acheteur_siret"])
    digits = raw.str.replace(r"[\s.]", "", regex=True)
    bad = ((raw != "") & ~digits.str.fullmatch(r"\d{14}")).to_numpy()
    if bad.any():
        lines = df.index.to_numpy() if unit == "ligne" else np.arange(1, len(df) + 1)
        shown = ", ".join(f"« {v} » ({unit} {int(line)})" for v, line in list(zip(raw[bad], lines[bad]))[:8])
        n = int(bad.sum())
        report.warning(file, (f"{fmt_int(n)} SIRET d'acheteur n'a pas 14 chiffres, gardé tel quel" if n < 2 else
                              f"{fmt_int(n)} SIRET d'acheteurs n'ont pas 14 chiffres, gardés tels quels")
                       + f" (l'acheteur est alors reconnu par son nom) : {shown}" + (" …" if n > 8 else "") + ".",
                       column="acheteur_siret")


def check_amounts(df: pd.DataFrame, file: str, report: Report) -> pd.DataFrame:
    """The market table's amounts (already numbers, an infinite one refused by ``check_cells``): an absurd
    one is an error, a negative one a warning, the market kept without amount."""
    _, absurd, negative = amount_problems(df["montant_ht"].to_numpy(dtype=float))
    lines = df.index.to_numpy()
    values = df["montant_ht"].to_numpy(dtype=float)
    for i in np.flatnonzero(absurd):
        report.error(file, f"montant de {euros(values[i])} aberrant (plus de {euros(AMOUNT_MAX_EUROS)}) : vérifiez "
                           "l'unité ou la saisie.", line=int(lines[i]), column="montant_ht", rule="montant aberrant")
    for i in np.flatnonzero(negative):
        report.warning(file, f"montant négatif ({euros(values[i])}) : le marché est gardé, sans montant.",
                       line=int(lines[i]), column="montant_ht", rule="montant négatif")
    if negative.any() or absurd.any():
        df = df.copy()
        df["montant_ht"] = np.where(negative | absurd, np.nan, values)
    return df


def remap_market_places(df: pd.DataFrame, file: str, report: Report, known: set[str] | None,
                        unit: str = "ligne") -> pd.DataFrame:
    """Former commune codes of market places read as their current commune (see remap_former_codes)."""
    is_com = (df["lieu_type"] == "commune").to_numpy()
    if not is_com.any():
        return df
    df = df.copy()
    codes = df.loc[is_com, "lieu_code"]
    if unit != "ligne":  # DECP: markets numbered from 1, not spreadsheet lines
        codes = pd.Series(codes.to_numpy(), index=np.flatnonzero(is_com) + 1)
    df.loc[is_com, "lieu_code"] = remap_former_codes(codes, file, report, "lieu_code", known, unit).to_numpy()
    return df


def report_unlocatable(df: pd.DataFrame, communes: pd.DataFrame | None, file: str, loaded: Loaded,
                       unit: str = "ligne") -> None:
    """A line for each market with a social consideration whose place designates no commune of the
    référentiel (kept, shown « Non localisable »), and their count; nothing without a référentiel.

    ``df``'s index holds the spreadsheet lines; a DECP file's contracts (``unit="marché"``) are named by their
    identifier. A concession of the DECP formats since 2022 has no place at all: it is named, with that reason,
    whatever the référentiel."""
    concession = (df["lieu_type"] == CONCESSION).to_numpy()
    if df.empty or (communes is None and not concession.any()):
        return
    social = has_social_consideration(df["considerations_sociales"])
    if communes is None:
        reasons = pd.Series(np.where(concession, UNRESOLVABLE_TYPES[CONCESSION], ""), index=df.index)
    else:
        reasons = unlocatable_markets(Referentiel.from_communes(communes), df["lieu_type"], df["lieu_code"])
    bad = social & (reasons != "").to_numpy()
    ids = df["id_marche"].astype(str).to_numpy()
    objets = df["objet"].astype(str).to_numpy() if "objet" in df.columns else np.full(len(df), "", dtype=object)
    for i in np.flatnonzero(bad & concession):
        what = f"concession « {ids[i]} »" + (f" ({objets[i]})" if objets[i] else "")
        loaded.report.warning(file, f"{what} : le format DECP ne donne pas de lieu d'exécution pour une concession ; "
                                    "elle est gardée et comptée « non localisable ».", column="lieu_code",
                              rule="concession non localisable")
    for i in np.flatnonzero(bad & ~concession):
        if unit == "ligne":
            where, line = "le marché", int(df.index[i])
        else:  # a DECP contract: by its identifier (its rank in a JSON file tells a person nothing)
            where, line = f"le marché « {ids[i]} »", None
        loaded.report.warning(file, f"lieu d'exécution non localisable : {reasons.iloc[i]} ; {where} est gardé et "
                                    "compté « non localisable ».", line=line, column="lieu_code", unit=unit,
                              rule="lieu non localisable")
    loaded.counts["non_localisables"] = int(bad.sum())
    if (bad & concession).any():
        loaded.counts["concessions_non_localisables"] = int((bad & concession).sum())


def cut_to_region(df: pd.DataFrame, loaded: Loaded, file: str, region: str,
                  dep_region: dict[str, str]) -> pd.DataFrame:
    """Drop the markets located in another région, and say how many by kind of place."""
    dropped, reason = outside_region(df["lieu_type"], df["lieu_code"], region, dep_region)
    n = int(dropped.sum())
    loaded.counts["hors_region"] = n
    if n and n == len(df):
        loaded.report.error(file, f"aucun des {fmt_int(n)} marchés du fichier n'est situé dans la région {region} : "
                                  "vérifiez la région choisie.", column="lieu_code")
    elif n:
        by_kind = reason[dropped].value_counts()
        detail = ", ".join(f"{fmt_int(k)} : {label}" for label, k in by_kind.items())
        loaded.report.warning(file, f"{fmt_int(n)} {agree(n, 'marché situé', 'marchés situés')} hors de la région "
                                    f"{agree(n, 'écarté', 'écartés')} ({detail}). "
                                    "Les marchés dont le lieu est inconnu ou imprécis sont gardés (non localisables).",
                              column="lieu_code")
    return df[~dropped]


def fmt_int(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def normalize_place_codes(df: pd.DataFrame, file: str, report: Report) -> pd.DataFrame:
    """Split ``lieu_code`` on ``;`` and repair lost leading zeros according to ``lieu_type``.

    Each distinct place (type + codes) is worked out once: a million markets name a few thousand.
    """
    df = df.copy()
    keys, uniques = pd.factorize(df["lieu_type"].astype(str) + "\x1f" + df["lieu_code"].astype(str))
    fixed, repairs = [], []
    for key in uniques:
        t, codes = key.split("\x1f", 1)
        width = CODE_WIDTH.get(t)
        parts = [c.strip() for c in re.split(r"[;|]", codes) if c.strip()]
        done = [normalize_code(c, width) if width else (c.upper(), False) for c in parts]
        fixed.append(";".join(code for code, _ in done))
        repairs.append([(raw, code) for raw, (code, repaired) in zip(parts, done) if repaired])
    for i in np.flatnonzero(np.isin(keys, [k for k, r in enumerate(repairs) if r])):
        for raw, code in repairs[keys[i]]:
            report.warning(file, f"code « {raw} » complété en « {code} » (zéro initial perdu).", line=int(df.index[i]),
                           column="lieu_code", rule="zéro initial rétabli lieu_code")
    df["lieu_code"] = np.asarray(fixed, dtype=object)[keys] if len(keys) else []
    return df


def validate_indicateurs(src: Upload) -> Loaded:
    out = Loaded("indicateurs")
    rep = out.report
    raw = read_table(src, rep, kind="indicateurs")
    df = _table(raw, S.INDICATEURS, src.name, rep) if raw is not None else None
    if df is not None:
        terr = []
        for line, t in zip(df.index, df["territoire"]):
            t = t.upper()
            code, repaired = normalize_code(t, 2)
            if t != "FR" and not re.fullmatch(r"\d{2}", code):
                rep.error(src.name, f"territoire « {t} » invalide : code région sur 2 chiffres ou FR.",
                          line=int(line), column="territoire", rule="territoire invalide")
            terr.append("FR" if t == "FR" else code)
        check_time(src.name)
        df["territoire"] = terr
        df["annee"] = df["annee"].astype("Int64")
        out.tables["indicateurs"] = df.reset_index(drop=True)
    rep.close()
    return out


def validate(kind: str, paths: list, communes: pd.DataFrame | None = None, region: str | None = None,
             layer: str | None = None) -> Loaded:
    """Dispatch on the file kind; ``paths`` are file paths, folders or :class:`Upload` objects.

    ``communes`` is the workspace's référentiel (perimeter codes are checked against it),
    ``region`` the région studied (a market file is cut to it) and ``layer`` the layer to read in a
    geographic file of several (without it, such a file is refused and ``Loaded.layers`` lists them,
    for the page to ask which). Whatever happens, the answer is a
    report: an unexpected failure becomes an error message.

    The whole validation runs within the kind's time limit (``max_seconds`` of
    :data:`~data.formats.limits.LIMITS`), from here: past it, the reading stops at its next check
    and the file is refused with one error naming it and the limit; no table is returned.
    """
    names = ", ".join(Path(str(getattr(p, "name", p))).name for p in paths) or kind
    try:
        with time_limit(kind, names):
            loaded = _validate(kind, paths, communes, region, layer)
    except TimeUp as exc:
        LOG.warning("lecture de %s (%s) arrêtée par sa limite de temps", names, kind)  # the server's log only
        loaded = Loaded(kind)
        loaded.report.error(exc.file, exc.message)
    except (FileNotFoundError, IsADirectoryError):
        raise  # the command line names the missing file
    except Exception:  # a defect of ours must not reach the user as a traceback, nor in English
        logging.getLogger("diagnostic").exception("validation of %s", kind)
        loaded = Loaded(kind)
        loaded.report.error(names, "lecture impossible : le fichier n'a pas pu être analysé (le détail technique est "
                                   "consigné dans le journal du serveur). Vos données n'ont pas été modifiées.")
    if loaded.tables and "lus" not in loaded.counts:
        n = sum(len(t) for t in loaded.tables.values())
        loaded.counts.update(lus=n, gardes=n)
    return loaded


def _validate(kind: str, paths: list, communes, region, layer: str | None = None) -> Loaded:
    if kind == "facilitateurs":
        return validate_facilitateurs(paths, communes)
    if len(paths) != 1:
        out = Loaded(kind)
        out.report.error(kind, "un seul fichier est attendu pour ce type de données.")
        return out
    p = paths[0]
    src = p if isinstance(p, Upload) else Upload.of(p)
    if kind == "marches":
        return validate_marches(src, communes, region)
    if kind == "structures_inclusion":
        return validate_structures_inclusion(src, communes, region)
    if kind == "qpv":
        loaded = validate_qpv(src, layer)
        if loaded.ok and communes is not None and len(communes):
            loaded.tables["qpv"] = keep_referentiel_qpv(loaded.tables["qpv"], communes, src.name, loaded)
        return loaded
    if kind == "communes":
        return validate_communes(src, layer)
    if kind == "indicateurs":
        return validate_indicateurs(src)
    out = Loaded(kind)
    out.report.error(kind, f"type de fichier inconnu « {kind} ».")
    return out


__all__ = ["Loaded", "validate", "validate_communes", "validate_qpv", "validate_facilitateurs",
           "validate_marches", "validate_indicateurs", "parse_numbers", "parse_dates", "map_columns"]
