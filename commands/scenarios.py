"""``cli.py scenario …`` and ``cli.py compare``: the Scénarios page's functions from the command line
(``data.scenarios``), with the same rights (``--user``: a ``lecteur`` lists, diagnoses, exports, compares and
asks for suggestions; an ``editeur`` creates, edits, deletes and adopts).

    cli.py scenario create --workspace W --name NAME [--from-version N] [--changes CHANGES.toml]
    cli.py scenario list --workspace W [--json]
    cli.py scenario apply --workspace W --scenario S --changes CHANGES.toml
    cli.py scenario diagnose --workspace W --scenario S --region CODE --json OUT
    cli.py scenario export --workspace W --scenario S --out facilitateurs.xlsx
    cli.py scenario adopt --workspace W --scenario S
    cli.py scenario suggest --workspace W [--scenario S] --region CODE [--critere population|qpv|marches|charge] --json OUT
    cli.py scenario duplicate|rename --workspace W --scenario S --name NAME
    cli.py scenario undo|redo|delete|history --workspace W --scenario S
    cli.py compare --workspace W --from (VERSION|scenario:S) --to (VERSION|scenario:S) --region CODE --json OUT [--xlsx OUT]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCENARIO_ACTIONS = ("create", "list", "apply", "diagnose", "export", "adopt", "suggest", "duplicate", "rename",
                    "undo", "redo", "delete", "history")
EDITING = {"create", "apply", "adopt", "duplicate", "rename", "undo", "redo", "delete"}


def add_parsers(sub, user_help: str) -> None:
    s = sub.add_parser("scenario", help="scénarios d'évolution du réseau des facilitateurs (page Scénarios)")
    ss = s.add_subparsers(dest="action", required=True)
    helps = {"create": "créer un scénario (sur la version courante, ou --from-version)",
             "list": "lister les scénarios de l'espace", "apply": "appliquer un fichier de changements (TOML)",
             "diagnose": "diagnostic d'un scénario (même JSON que « diagnose »)",
             "export": "facilitateurs du scénario au format d'import (XLSX)",
             "adopt": "le scénario devient les facilitateurs de l'espace (nouvelle version)",
             "suggest": "extensions proposées pour les zones blanches et les marchés sans structure unique",
             "duplicate": "copier un scénario sous un autre nom", "rename": "renommer un scénario",
             "undo": "annuler la dernière opération", "redo": "rétablir l'opération annulée",
             "delete": "placer un scénario dans la corbeille", "history": "opérations et historique d'un scénario"}
    for action in SCENARIO_ACTIONS:
        p = ss.add_parser(action, help=helps[action])
        p.add_argument("--workspace", required=True, help="nom ou identifiant de l'espace de travail")
        p.add_argument("--user", help=user_help)
        if action not in ("create", "list"):
            p.add_argument("--scenario", required=action != "suggest", help="nom ou identifiant du scénario")
        if action in ("create", "duplicate", "rename"):
            p.add_argument("--name", required=True, help="nom du scénario")
        if action == "create":
            p.add_argument("--from-version", type=int, dest="from_version",
                           help="version de l'espace dont partent les facilitateurs (par défaut : la version courante)")
        if action in ("create", "apply"):
            p.add_argument("--changes", required=action == "apply", help="fichier de changements (TOML)")
        if action in ("list", "history"):
            p.add_argument("--json", action="store_true")
        if action in ("diagnose", "suggest"):
            p.add_argument("--region", help="code de la région (par défaut celle de l'espace)")
            p.add_argument("--json", help="écrire le résultat dans ce fichier JSON (sinon : à l'écran)")
        if action == "diagnose":
            p.add_argument("--xlsx", help="écrire aussi le classeur du diagnostic")
        if action == "suggest":
            p.add_argument("--critere", default="population", choices=["population", "qpv", "marches", "charge"])
            p.add_argument("--xlsx", help="écrire aussi les propositions dans ce classeur")
        if action == "export":
            p.add_argument("--out", required=True, help="fichier XLSX à écrire")
    c = sub.add_parser("compare", help="comparer deux états des facilitateurs (versions ou scénarios)")
    c.add_argument("--workspace", required=True)
    c.add_argument("--from", required=True, dest="from_", help="VERSION (numéro) ou scenario:NOM")
    c.add_argument("--to", required=True, help="VERSION (numéro) ou scenario:NOM")
    c.add_argument("--region", help="code de la région (par défaut celle de l'espace)")
    c.add_argument("--json", help="écrire la comparaison dans ce fichier JSON (sinon : à l'écran)")
    c.add_argument("--xlsx", help="écrire aussi la comparaison dans ce classeur")
    c.add_argument("--user", help=user_help)


def _out(document, path: str | None) -> None:
    text = json.dumps(document, ensure_ascii=False, indent=1, default=_clean)
    if path:
        Path(path).write_text(text, encoding="utf-8")
    else:
        print(text)


def _clean(v):
    import numpy as np

    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return None if np.isnan(v) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return str(v)


def _records(df) -> list[dict]:
    import math

    out = []
    for row in df.to_dict("records"):
        out.append({k: (None if isinstance(v, float) and math.isnan(v) else _clean(v) if not isinstance(
            v, (str, int, float, bool, type(None))) else v) for k, v in row.items()})
    return out


def _context(cli, args, action: str):
    """(slug, dataset, prepared, region) of the workspace, or an exit code."""
    from geo import engine

    user = cli._user(args)
    slug = cli._workspace(args.workspace, user)
    if slug is None:
        return cli._not_found(args.workspace)
    refused = cli._refused(user, slug, "scenarios" if action in EDITING else "voir")
    if refused is not None:
        return refused
    loaded = cli._dataset_region(slug, getattr(args, "region", None))
    if isinstance(loaded, int):
        return loaded
    ds, region = loaded
    prepared = engine.prepare(ds.communes, ds.qpv, ds.structures, ds.perimetres)
    return slug, ds, prepared, region


def _scenario_id(cli, slug: str, name: str):
    from data.store import scenarios as store

    sid = store.find(slug, name)
    if sid is None:
        return cli._fail(f"aucun scénario « {name} » dans cet espace (cli.py scenario list --workspace …).")
    return sid


def _changes(path: str) -> list[dict]:
    from data.scenarios import read_changes

    p = Path(path)
    return read_changes(p.read_text(encoding="utf-8"), f"fichier « {p.name} »")


def cmd_scenario(cli, args) -> int:
    from data import scenarios as service
    from data.store import scenarios as store
    from geo.scenario import ScenarioError

    got = _context(cli, args, args.action)
    if isinstance(got, int):
        return got
    slug, ds, prepared, region = got
    user = cli._user(args) or ""
    sid = None
    if getattr(args, "scenario", None):
        sid = _scenario_id(cli, slug, args.scenario)
        if isinstance(sid, int):
            return sid
    try:
        if args.action == "list":
            rows = store.list_all(slug)
            if args.json:
                print(json.dumps(rows, ensure_ascii=False, indent=1))
            else:
                for r in rows:
                    print(f"{r['slug']}  « {r['nom']} »  version de départ {r['base_version']}  "
                          f"{r['operations']} opération{'s' if r['operations'] >= 2 else ''}  modifié le "
                          f"{r['modifie'].replace('T', ' ')}")
            return 0
        if args.action == "create":
            ops = _changes(args.changes) if args.changes else []
            sid = service.create(slug, args.name, prepared, args.from_version, ops, user=user)
            print(f"Scénario « {args.name} » créé (identifiant : {sid}, {len(ops)} opération"
                  f"{'s' if len(ops) >= 2 else ''}).")
            return 0
        if args.action == "apply":
            ops = _changes(args.changes)
            record = service.apply(slug, sid, ops, prepared, user=user)
            print(f"{len(ops)} opération{'s' if len(ops) >= 2 else ''} appliquée{'s' if len(ops) >= 2 else ''} au "
                  f"scénario « {record['nom']} » ({record['position']} en tout).")
            return 0
        if args.action == "diagnose":
            from geo import engine

            state = service.resolve(slug, f"scenario:{sid}", prepared)
            result = service.diagnose(ds, prepared, state, region)
            if args.xlsx:
                from reports.workbook import diagnosis_workbook

                st, pe = service.tables(slug, sid, prepared)
                Path(args.xlsx).write_bytes(diagnosis_workbook(ds.replace(structures=st, perimetres=pe), result,
                                                               region, f"{ds.label} – {state.label}"))
            _out(engine.to_json(result), args.json)
            return 0
        if args.action == "export":
            Path(args.out).write_bytes(service.export_xlsx(slug, sid, prepared))
            print(args.out)
            return 0
        if args.action == "adopt":
            record = store.read(slug, sid)
            warning = service.older_base(slug, record)
            if warning:
                print("Attention : " + warning, file=sys.stderr)
            version = service.adopt(slug, sid, prepared, user=user)
            print(f"Scénario « {record['nom']} » adopté : version {version} de l'espace.")
            return 0
        if args.action == "suggest":
            return _suggest(cli, args, slug, ds, prepared, region, sid)
        if args.action == "duplicate":
            new = service.duplicate(slug, sid, args.name, user=user)
            print(f"Copie créée : « {args.name} » (identifiant : {new}).")
            return 0
        if args.action == "rename":
            store.rename(slug, sid, args.name, user=user)
            print(f"Scénario renommé « {args.name} ».")
            return 0
        if args.action in ("undo", "redo"):
            record = store.read(slug, sid)
            if args.action == "redo":
                service.check(slug, record, store.read(slug, sid)["operations"][record["position"]:][:1], prepared)
            record = (store.undo if args.action == "undo" else store.redo)(slug, sid, user=user)
            print(f"Scénario « {record['nom']} » : {record['position']} opération"
                  f"{'s' if record['position'] >= 2 else ''} appliquée{'s' if record['position'] >= 2 else ''}.")
            return 0
        if args.action == "delete":
            entry = store.delete(slug, sid, user=user)
            print(f"Scénario placé dans la corbeille des scénarios ({entry}).")
            return 0
        if args.action == "history":
            record = store.read(slug, sid)
            if args.json:
                print(json.dumps({"scenario": store.summary(record), "operations": store.applied(record),
                                  "historique": record.get("log", [])}, ensure_ascii=False, indent=1))
            else:
                for n, op in enumerate(store.applied(record), start=1):
                    print(f"{n}. " + json.dumps(op, ensure_ascii=False))
            return 0
    except ScenarioError as exc:
        return cli._fail(str(exc).rstrip(".") + ". Le scénario n'a pas été modifié.")
    return 2


def _suggest(cli, args, slug, ds, prepared, region, sid) -> int:
    from data import scenarios as service
    from geo import suggest
    from views.proposition import criterion_sentence

    state = service.resolve(slug, f"scenario:{sid}" if sid else "courant", prepared)
    result = service.diagnose(ds, prepared, state, region)
    ctx = suggest.context(prepared.ref, ds.communes, state.network, result, ds.marches)
    rows = suggest.suggest(ctx, args.critere)
    coord = suggest.coordination(result, ds.marches)
    if args.xlsx:
        from reports.comparison import suggestions_workbook

        Path(args.xlsx).write_bytes(suggestions_workbook(rows, coord, args.critere))
    _out({"region": region, "etat": state.label, "critere": args.critere,
          "critere_libelle": criterion_sentence(args.critere), "candidats": int(len(rows)),
          "suggestions": [{**r, "operation": suggest.operation(r)} for r in _records(rows)],
          "coordination_regionale": _records(coord)}, args.json)
    return 0


def cmd_compare(cli, args) -> int:
    from data import scenarios as service
    from geo import engine
    from geo.scenario import ScenarioError
    from views import proposition as P

    got = _context(cli, args, "compare")
    if isinstance(got, int):
        return got
    slug, ds, prepared, region = got
    try:
        a = service.resolve(slug, args.from_, prepared)
        b = service.resolve(slug, args.to, prepared)
    except ScenarioError as exc:
        return cli._fail(str(exc))
    c = service.compare_states(ds, prepared, a, b, region)
    if args.xlsx:
        from reports.comparison import workbook

        Path(args.xlsx).write_bytes(workbook(c))
    _out({"region": region, "de": a.label, "vers": b.label, "bilan": P.summary_sentence(c),
          "indicateurs": _records(c.figures.drop(columns="kind")), "structures": _records(c.structures),
          "zones_emploi": _records(c.zones_emploi), "communes": _records(c.communes.drop(columns="changement_lib")),
          "qpv": _records(c.qpv), "marches": _records(c.markets), "chevauchements": _records(c.overlaps),
          "avant": engine.to_json(c.a), "apres": engine.to_json(c.b)}, args.json)
    return 0
