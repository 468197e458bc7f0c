"""Command line: the same functions as the pages, for scripts and checks.

    python cli.py validate --kind facilitateurs mes_facilitateurs.xlsx
    python cli.py demo --out exemples/
    python cli.py workspaces
    python cli.py workspace create --name hdf --region 32
    python cli.py import --workspace "Hauts-de-France 2026" --kind communes communes.geojson [--region 32]
    python cli.py history --workspace hauts-de-france-2026 [--json]
    python cli.py restore --workspace hauts-de-france-2026 --version 2
    python cli.py export --workspace hauts-de-france-2026 --kind facilitateurs --out facilitateurs.xlsx
    python cli.py report --workspace hauts-de-france-2026 --region 32 --out rapport/
    python cli.py referentiel update
    python cli.py diagnose --workspace hauts-de-france-2026 --region 32 --json out.json [--xlsx out.xlsx]
    python cli.py diagnose --region 76 --communes c.geojson --qpv q.geojson \\
        --facilitateurs f.xlsx --marches decp.json [--structures-inclusion s.csv] --json out.json --xlsx out.xlsx
    python cli.py acheteurs --workspace hauts-de-france-2026 --region 32 --json acheteurs.json [--xlsx a.xlsx] \\
        [--seuil 50000000]
    python cli.py journal [--workspace hauts-de-france-2026] [--csv journal.csv]
    python cli.py serve [--server.port 8501 ...]   # the app, its usual maps prepared at start
    python cli.py scenario create|list|apply|diagnose|export|adopt|suggest|… --workspace W …   (commands.scenarios)
    python cli.py compare --workspace W --from 2 --to scenario:NOM --region 32 --json out.json [--xlsx out.xlsx]

``--user EMAIL`` (every workspace command): act as that person, with their rights in ``acces.toml``
(``data.access``): only the workspaces they may see are listed or found, an import needs the role
``editeur``, the journal ``admin``. Without ``--user``, the command line is the single local user: every
right (as the app without a login). Imports, restorations and creations are journaled with the user.

Exit codes: 0 success (warnings allowed), 1 invalid input, refused file or refused right, 2 usage error.
Never a traceback, and French only: argparse's own messages are translated (:data:`ARGPARSE_FR`), and
the technical detail of a failure (a library's traceback or warning) goes to the store's technical log
(``journal_technique.log`` in the data folder), not to the person's screen.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from pathlib import Path

from commands import scenarios as scenario_commands
from data.schemas import KINDS

TECHNICAL_LOG = "journal_technique.log"
# argparse's messages (Python 3.11), in French
ARGPARSE_FR = {
    "usage: ": "utilisation : ",
    "argument %(argument_name)s: %(message)s": "« %(argument_name)s » : %(message)s",
    "positional arguments": "arguments",
    "options": "options",
    "show this help message and exit": "afficher cette aide et quitter",
    "unrecognized arguments: %s": "arguments non reconnus : %s",
    "not allowed with argument %s": "incompatible avec %s",
    "ignored explicit argument %r": "valeur %r ignorée",
    "the following arguments are required: %s": "arguments obligatoires manquants : %s",
    "one of the arguments %s is required": "l'un des arguments %s est obligatoire",
    "expected one argument": "une valeur est attendue",
    "expected at most one argument": "une valeur au plus est attendue",
    "expected at least one argument": "au moins une valeur est attendue",
    "ambiguous option: %(option)s could match %(matches)s": "option ambiguë : %(option)s peut désigner %(matches)s",
    "unexpected option string: %s": "option inattendue : %s",
    "invalid %(type)s value: %(value)r": "valeur invalide : %(value)r (un nombre est attendu)",
    "invalid choice: %(value)r (choose from %(choices)s)": "choix invalide : %(value)r (possibles : %(choices)s)",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "commande inconnue %(parser_name)r (commandes : "
                                                             "%(choices)s)",
    "can't open '%(filename)s': %(error)s": "impossible d'ouvrir « %(filename)s » : %(error)s",
}


@contextlib.contextmanager
def _french_argparse():
    """argparse speaks French while the command line is parsed (its messages go through ``argparse._``)."""
    english, english_n = argparse._, argparse.ngettext
    argparse._ = lambda message: ARGPARSE_FR.get(message, message)
    argparse.ngettext = lambda singular, plural, n: (
        "%s valeur attendue" if n == 1 else "%s valeurs attendues") if singular == "expected %s argument" else \
        english_n(singular, plural, n)
    try:
        yield
    finally:
        argparse._, argparse.ngettext = english, english_n


def _technical_log() -> Path | None:
    """Where the technical detail of this command goes (a library's traceback, its English warnings): the
    store's ``journal_technique.log``; nothing is written on the person's screen but French. (Inside a
    process that already logs somewhere, a test, nothing is changed.)"""
    from data.store.location import store_dir

    root = logging.getLogger()
    if root.handlers:
        return None
    try:
        store_dir().mkdir(parents=True, exist_ok=True)
        path = store_dir() / TECHNICAL_LOG
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8", delay=True)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s : %(message)s"))
    except OSError:
        path, handler = None, logging.NullHandler()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.captureWarnings(True)  # a library's warnings (pyogrio, pandas…) are logged, not printed
    return path


def _fail(message: str) -> int:
    print(f"Erreur : {message}", file=sys.stderr)
    return 1


def _user(args) -> str | None:
    """``--user`` normalised; ``None`` when not given (the single local user: every right)."""
    user = getattr(args, "user", None)
    return None if user is None else user.strip().lower()


def _not_found(name: str) -> int:
    return _fail(f"l'espace de travail « {name} » n'existe pas ou ne vous est pas accessible.")


def _find(name: str, user: str | None) -> str | None:
    """The slug of a workspace named ``name`` (slug, exact name or the name's slug) among those
    ``user`` may see."""
    from data import access
    from data.store import workspaces

    if not name:
        return None
    spaces = workspaces.list_workspaces()
    allowed = set(access.visible(user, [w.slug for w in spaces]))
    for w in spaces:
        if w.slug in allowed and (name in (w.slug, w.name) or workspaces.slugify(name) == w.slug):
            return w.slug
    return None


def _create(name: str, user: str | None, region: str | None = None) -> str:
    """A new workspace; its creator becomes its admin. Raises ``AccessError`` when ``user`` may not create
    (one more)."""
    from data import access
    from data.store import workspaces

    access.check_can_create(user)
    slug = (workspaces.create_from_referentiel(name, region, user=user or "") if region
            else workspaces.create(name, user=user or ""))
    access.on_created(slug, user)
    return slug


def _workspace(name: str, user: str | None = None, create: bool = False) -> str | None:
    """The workspace ``name`` among those ``user`` may see; with ``create``, a new one when there is none.
    A workspace one may not see is answered exactly as an unknown name (a new workspace of one's own, whose
    identifier carries a random part with ``--user``): nothing tells whether it exists."""
    slug = _find(name, user)
    if slug is None and create:
        slug = _create(name, user)
        print(f"Espace de travail « {name} » créé (identifiant : {slug}).", file=sys.stderr)
    return slug


def _refused(user: str | None, slug: str, action: str) -> int | None:
    """Exit code 1 with a French message when ``user`` may not do ``action`` in ``slug``; else ``None``."""
    from data import access
    from data.store import workspaces

    if access.can(user, slug, action):
        return None
    role = access.role(user, slug)
    rule = {"importer": "l'import de fichiers est réservé à ses éditeurs et administrateurs",
            "restaurer": "le retour à une version est réservé à ses éditeurs et administrateurs",
            "journal": "la lecture du journal est réservée à ses administrateurs",
            "scenarios": "créer, modifier, supprimer ou adopter un scénario est réservé à ses éditeurs et "
                         "administrateurs"}.get(action, action)
    name = workspaces.info(slug).name
    return _fail(f"{user} a le rôle « {access.ROLE_LABELS.get(role, role)} » dans l'espace « {name} » : {rule}.")


def _dataset_region(slug: str, region: str | None):
    """(dataset, région) of a workspace for a figure, or an exit code with its French message: the
    workspace needs its référentiel, and the région (``region`` or the workspace's own) must be in it."""
    from data.store import workspaces

    ds = workspaces.load(slug)
    if not ds.has("communes"):
        return _fail(f"l'espace « {ds.label} » n'a pas de référentiel des communes.")
    region = str(region or ds.default_region)
    if region not in ds.regions():
        return _fail(f"la région « {region} » est absente du référentiel de l'espace.")
    return ds, region


def cmd_validate(args) -> int:
    from data import validation

    communes = None
    if args.communes:
        ref = validation.validate("communes", [args.communes])
        communes = ref.tables.get("communes")
    loaded = validation.validate(args.kind, args.paths, communes=communes, layer=args.layer)
    _print_report(loaded, args)
    return 0 if loaded.ok else 1


def _print_report(loaded, args) -> None:
    print(loaded.report.text())
    print(loaded.outcome([Path(str(p)).name for p in args.paths]))  # what was read, and what became of it
    if loaded.layers and not getattr(args, "layer", None):
        print(f"Choisissez la couche avec --layer, par exemple : --layer \"{loaded.layers[0]}\".", file=sys.stderr)


def cmd_demo(args) -> int:
    from data import demo
    from data.formats.writers import write_dataset

    for path in write_dataset(demo.generate(), Path(args.out)):
        print(path)
    return 0


def cmd_workspaces(args) -> int:
    from data import access
    from data.store import workspaces

    spaces = workspaces.list_workspaces()
    allowed = set(access.visible(_user(args), [w.slug for w in spaces]))
    rows = [w for w in spaces if w.slug in allowed]
    if args.json:
        print(json.dumps([{"slug": w.slug, "name": w.name, "region": w.region, "versions": w.version,
                           "changed": w.changed, "read_only": w.read_only} for w in rows], ensure_ascii=False,
                         indent=1))
        return 0
    print(f"{'identifiant':<28} {'nom':<40} {'région':<7} {'versions':>8}  dernière modification")
    for w in rows:
        print(f"{w.slug:<28} {w.name[:40]:<40} {w.region or '–':<7} {w.version:>8}  {w.changed.replace('T', ' ')}")
    return 0


def cmd_workspace(args) -> int:
    from data.store import workspaces

    slug = _create(args.name, _user(args), args.region)
    w = workspaces.info(slug)
    extra = f", référentiel officiel de la région {args.region}" if args.region else ""
    print(f"Espace de travail « {w.name} » créé (identifiant : {slug}{extra}).")
    return 0


def cmd_import(args) -> int:
    from data import validation
    from data.store import imports, journal, workspaces

    user = _user(args)
    slug = _workspace(args.workspace, user, create=True)
    if slug is None:
        return _not_found(args.workspace)
    space = workspaces.info(slug)
    if space.read_only:
        return _fail(f"l'espace « {space.name} » est en lecture seule.")
    refused = _refused(user, slug, "importer")
    if refused is not None:
        return refused
    ds = workspaces.load(slug)
    region = args.region or ds.default_region or None
    loaded = validation.validate(args.kind, args.paths, communes=ds.communes if ds.has("communes") else None,
                                 region=region if args.kind in ("marches", "structures_inclusion") else None,
                                 layer=args.layer)
    _print_report(loaded, args)
    names = [Path(str(p)).name for p in args.paths]
    if not loaded.ok:
        print("Fichier refusé : l'espace de travail n'a pas été modifié.", file=sys.stderr)
        return 1
    new, record = imports.apply(ds, loaded, names, args.millesime or "")
    record["files"] = [f for p in args.paths for f in journal.file_entry_of_path(p)]
    if args.region and args.kind == "communes":
        new.meta["region"] = args.region
    version = workspaces.import_tables(slug, new, args.kind, record, user=user or "")
    print(f"Importé dans « {space.name} » : version {version}.")
    return 0


def cmd_history(args) -> int:
    from data.store import workspaces

    slug = _workspace(args.workspace, _user(args))
    if slug is None:
        return _not_found(args.workspace)
    hist = workspaces.history(slug)
    if args.json:
        print(json.dumps(hist, ensure_ascii=False, indent=1))
        return 0
    from views.columns import history_frame

    for row in history_frame(hist).iloc[::-1].itertuples(index=False):
        by = getattr(row, "Par", "")  # no such column for the single local user
        print(f"{row.Version:>4}  {row.Date}  {row.Action:<28} {row.Fichier}" + (f"  ({row.Lignes})" if row.Lignes else "")
              + (f"  millésime {row.Millésime}" if row.Millésime else "") + (f"  par {by}" if by else ""))
    return 0


def cmd_restore(args) -> int:
    from data.store import workspaces

    user = _user(args)
    slug = _workspace(args.workspace, user)
    if slug is None:
        return _not_found(args.workspace)
    refused = _refused(user, slug, "restaurer")
    if refused is not None:
        return refused
    version = workspaces.restore(slug, args.version, user=user or "")
    print(f"Version {args.version} restaurée : c'est la version {version} de l'espace.")
    return 0


def cmd_export(args) -> int:
    from data.formats.writers import export_kind
    from data.store import workspaces

    slug = _workspace(args.workspace, _user(args))
    if slug is None:
        return _not_found(args.workspace)
    ds = workspaces.load(slug)
    if not ds.has(args.kind):
        return _fail(f"l'espace « {ds.label} » ne contient pas de données « {KINDS[args.kind]} ».")
    for path in export_kind(ds, args.kind, Path(args.out)):
        print(path)
    return 0


def cmd_report(args) -> int:
    import reports

    slug = _workspace(args.workspace, _user(args))
    if slug is None:
        return _not_found(args.workspace)
    try:
        written = reports.build_workspace(slug, args.region, Path(args.out), scenario=args.scenario)
    except (LookupError, ValueError) as exc:
        return _fail(str(exc))
    for path in written.values():
        print(path)
    return 0


def cmd_referentiel(args) -> int:
    from data.sources import run_update_command

    return run_update_command()


def cmd_diagnose(args) -> int:
    if args.workspace:
        return _diagnose_workspace(args)
    return _diagnose_files(args)


def _write_result(ds, result, region: str, args) -> int:
    from geo import engine

    out = engine.to_json(result)
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.xlsx:
        from reports.workbook import diagnosis_workbook

        Path(args.xlsx).write_bytes(diagnosis_workbook(ds, result, region))
    if not args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
    for note in result.diagnosis.notes:
        print("Note : " + note, file=sys.stderr)
    return 0


def _diagnose_workspace(args) -> int:
    from geo import engine

    slug = _workspace(args.workspace, _user(args))
    if slug is None:
        return _not_found(args.workspace)
    loaded = _dataset_region(slug, args.region)
    if isinstance(loaded, int):
        return loaded
    ds, region = loaded
    result = engine.run(ds.communes, ds.qpv, ds.structures, ds.perimetres, ds.marches, region,
                        inclusion=ds.inclusion)
    return _write_result(ds, result, region, args)


def cmd_journal(args) -> int:
    from data import access
    from data.store import journal

    user = _user(args)
    slug = None
    if args.workspace:
        slug = _workspace(args.workspace, user)
        if slug is None:
            return _not_found(args.workspace)
        refused = _refused(user, slug, "journal")
        if refused is not None:
            return refused
    elif not access.is_admin(user):
        return _fail(f"le journal de tous les espaces est réservé aux administrateurs généraux (liste « admins » du "
                     f"fichier {access.FILE_NAME}) ; précisez --workspace.")
    log = journal.read(slug)
    if log.unreadable:
        n = log.unreadable
        print(f"Note : {n} {'lignes illisibles ignorées' if n >= 2 else 'ligne illisible ignorée'}.", file=sys.stderr)
    if args.csv:
        Path(args.csv).write_bytes(journal.csv_bytes(log.entries))
        print(args.csv)
        return 0
    if args.json:
        print(json.dumps(log.entries, ensure_ascii=False, indent=1))
        return 0
    for row in reversed(journal.rows(log.entries)):
        print("  ".join(str(v) for v in row.values() if v))
    return 0


def _diagnose_files(args) -> int:
    from data import validation
    from data.report import Report
    from data.store import workspaces
    from data.store.dataset import Dataset, empty_table
    from geo import engine

    ds = workspaces.load(workspaces.DEMO)
    tables = {}
    report = Report()
    if args.communes:
        loaded = validation.validate("communes", [args.communes])
        report.extend(loaded.report)
        tables.update(loaded.tables)
    communes = tables.get("communes", ds.communes)
    given_communes = "communes" in tables
    if report.ok:
        regs = communes["reg"].astype(str)
        regs = regs[regs != ""]
        default = ds.default_region if not given_communes else (regs.value_counts().index[0] if len(regs) else "")
        region = args.region or default
        if region not in set(regs):
            return _fail(f"la région « {region} » est absente du référentiel des communes.")
    for kind, path in (("qpv", args.qpv), ("facilitateurs", args.facilitateurs), ("marches", args.marches),
                       ("structures_inclusion", args.structures_inclusion)):
        if path and report.ok:
            # a national market file is cut down to the région before anything heavy is done
            loaded = validation.validate(kind, [path], communes=communes, region=region)
            report.extend(loaded.report)
            tables.update(loaded.tables)
    if report.issues:
        print(report.text(), file=sys.stderr)
    if not report.ok:
        return 1

    # with the user's référentiel, a table not given is empty rather than the demo's
    def table(name):
        if name in tables:
            return tables[name]
        return empty_table(name) if given_communes else getattr(ds, name)

    if given_communes:  # the files given, and nothing of the demo
        files = {t: table(t) for t in ("qpv", "structures", "perimetres", "marches", "indicateurs",
                                       "structures_inclusion")}
        ds = Dataset(communes=communes, **files, meta={"name": "Fichiers de la ligne de commande"},
                     present=frozenset(tables))
    else:
        ds = ds.replace(**tables)
    result = engine.run(ds.communes, ds.qpv, ds.structures, ds.perimetres, ds.marches, region,
                        inclusion=ds.inclusion)
    return _write_result(ds, result, region, args)


def _euros(text: str) -> float:
    """``50000000``, ``50 000 000``, ``50e6`` or ``5,5e7`` as euros."""
    return float(str(text).replace("\u202f", "").replace("\u00a0", "").replace(" ", "").replace(",", "."))


def cmd_acheteurs(args) -> int:
    """The buyers of a workspace's markets (fiche 3, § 2): JSON list, and optionally a workbook."""
    from data.store.dataset import MISSING
    from geo import engine
    from geo.buyers import SPASER_THRESHOLD

    slug = _workspace(args.workspace, _user(args))
    if slug is None:
        return _not_found(args.workspace)
    try:
        threshold = _euros(args.seuil) if args.seuil is not None else SPASER_THRESHOLD
    except ValueError:
        return _fail(f"seuil « {args.seuil} » illisible : un montant en euros est attendu (par exemple 50000000).")
    if threshold <= 0:
        return _fail("le seuil doit être un montant positif, en euros HT par an.")
    loaded = _dataset_region(slug, args.region)
    if isinstance(loaded, int):
        return loaded
    ds, region = loaded
    if not ds.has("marches"):
        return _fail(MISSING["marches"])
    result = engine.run(ds.communes, ds.qpv, ds.structures, ds.perimetres, ds.marches, region,
                        inclusion=ds.inclusion)
    table = engine.buyers(result, threshold)
    out = engine.buyers_json(table)
    text = json.dumps(out, ensure_ascii=False, indent=1)
    if args.json:
        Path(args.json).write_text(text, encoding="utf-8")
    else:
        print(text)
    if args.xlsx:
        from reports.workbook import buyers_workbook

        Path(args.xlsx).write_bytes(buyers_workbook(ds, table, region, threshold))
    from views import fmt
    from views import text as T

    n, flagged = len(table), int(table["spaser"].sum()) if len(table) else 0
    print(f"{fmt.integer(n)} {T.agree(n, 'acheteur', 'acheteurs')}, dont {fmt.integer(flagged)} au-dessus du seuil "
          f"SPASER ({fmt.euros(threshold)} HT par an). {T.BUYERS_ESTIMATE}", file=sys.stderr)
    return 0


def cmd_serve(options: list[str]) -> int:
    """``streamlit run app.py`` (same options), with the demo's and the recent workspaces' maps
    prepared in the background from the start (``components.warmup``) rather than by the first visitor."""
    from components import server

    return server.serve(Path(__file__).resolve().parent, options)


LAYER_HELP = "couche à lire dans un fichier qui en contient plusieurs (GeoPackage)"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cli.py", description="Diagnostic territorial des clauses sociales.")
    sub = p.add_subparsers(dest="command", required=True, metavar="commande")
    v = sub.add_parser("validate", help="valider un fichier et afficher le rapport")
    v.add_argument("--kind", required=True, choices=list(KINDS))
    v.add_argument("--communes", help="référentiel des communes pour vérifier les codes de périmètre")
    v.add_argument("--layer", help=LAYER_HELP)
    v.add_argument("paths", nargs="+", help="fichier(s) ou dossier (facilitateurs)")
    d = sub.add_parser("demo", help="écrire les données de démonstration sous forme de fichiers")
    d.add_argument("--out", required=True)
    user_help = "agir en tant que cette personne (ses droits dans acces.toml) ; sans --user : tous les droits"
    w = sub.add_parser("workspaces", help="lister les espaces de travail (ceux que --user peut voir)")
    w.add_argument("--json", action="store_true")
    w.add_argument("--user", help=user_help)
    ws = sub.add_parser("workspace", help="gérer un espace de travail")
    ws_sub = ws.add_subparsers(dest="action", required=True)
    wc = ws_sub.add_parser("create", help="créer un espace (avec --region : le référentiel officiel de la région)")
    wc.add_argument("--name", required=True)
    wc.add_argument("--region", help="code de la région (par exemple 32 pour les Hauts-de-France)")
    wc.add_argument("--user", help=user_help + " ; le créateur devient administrateur de l'espace")
    i = sub.add_parser("import", help="valider un fichier et l'importer dans un espace (créé s'il n'existe pas)")
    i.add_argument("--workspace", required=True, help="nom ou identifiant de l'espace de travail")
    i.add_argument("--kind", required=True, choices=list(KINDS))
    i.add_argument("--region", help="région étudiée (un fichier de marchés y est ramené)")
    i.add_argument("--millesime", help="millésime du fichier (par exemple l'année du COG)")
    i.add_argument("--layer", help=LAYER_HELP)
    i.add_argument("--user", help=user_help + " ; inscrit dans l'historique et le journal")
    i.add_argument("paths", nargs="+", help="fichier(s) ou dossier (facilitateurs)")
    h = sub.add_parser("history", help="historique des versions d'un espace")
    h.add_argument("--workspace", required=True)
    h.add_argument("--json", action="store_true")
    h.add_argument("--user", help=user_help)
    r = sub.add_parser("restore", help="revenir à une version (crée une nouvelle version)")
    r.add_argument("--workspace", required=True)
    r.add_argument("--version", required=True, type=int)
    r.add_argument("--user", help=user_help)
    e = sub.add_parser("export", help="réécrire une table de l'espace dans son format d'import")
    e.add_argument("--workspace", required=True)
    e.add_argument("--kind", required=True, choices=list(KINDS))
    e.add_argument("--out", required=True, help="fichier (ou dossier) de sortie")
    e.add_argument("--user", help=user_help)
    g = sub.add_parser("diagnose", help="calculer le diagnostic de couverture")
    g.add_argument("--workspace", help="espace de travail à diagnostiquer")
    g.add_argument("--region")
    g.add_argument("--communes")
    g.add_argument("--qpv")
    g.add_argument("--facilitateurs")
    g.add_argument("--marches")
    g.add_argument("--structures-inclusion", dest="structures_inclusion",
                   help="fichier des structures de l'inclusion (data·inclusion, marché de l'inclusion ou modèle)")
    g.add_argument("--json")
    g.add_argument("--xlsx")
    g.add_argument("--user", help=user_help + " (avec --workspace)")
    a = sub.add_parser("acheteurs", help="les acheteurs des marchés d'un espace (fiche 3, § 2) : JSON, et XLSX")
    a.add_argument("--workspace", required=True)
    a.add_argument("--region", help="code de la région (par défaut celle de l'espace)")
    a.add_argument("--json", help="écrire la liste des acheteurs dans ce fichier JSON (sinon : à l'écran)")
    a.add_argument("--xlsx", help="écrire aussi le classeur des acheteurs")
    a.add_argument("--seuil", help="seuil SPASER en euros HT par an (par défaut 50000000)")
    a.add_argument("--user", help=user_help)
    rp = sub.add_parser("report", help="rapport PDF, présentation PowerPoint et classeur XLSX du diagnostic")
    rp.add_argument("--workspace", required=True)
    rp.add_argument("--region", help="code de la région (par défaut celle de l'espace)")
    rp.add_argument("--out", required=True, help="dossier où écrire les trois fichiers")
    rp.add_argument("--scenario", help="ajouter la proposition d'un scénario (son nom ou son identifiant)")
    rp.add_argument("--user", help=user_help)
    rf = sub.add_parser("referentiel", help="référentiel officiel : télécharger les sources à jour")
    rf.add_subparsers(dest="action", required=True).add_parser(
        "update", help="télécharger les fichiers officiels dans le dossier de données (le référentiel livré ne change pas)")
    j = sub.add_parser("journal", help="journal des actions (imports, restaurations, suppressions, droits)")
    j.add_argument("--workspace", help="seulement cet espace (sinon tout le journal : administrateurs généraux)")
    j.add_argument("--csv", help="écrire le journal dans ce fichier CSV")
    j.add_argument("--json", action="store_true")
    j.add_argument("--user", help=user_help)
    scenario_commands.add_parsers(sub, user_help)
    # read by main() before this parser: every option after it goes to streamlit run as is
    sub.add_parser("serve", help="lancer l'application (suivi des options de « streamlit run », --server.port…), "
                   "cartes préparées au démarrage")
    for command in sub.choices.values():  # the values named in French in usage and help
        for action in command._actions:
            if action.dest in METAVARS and action.metavar is None and action.choices is None:
                action.metavar = METAVARS[action.dest]
        for group in command._subparsers._group_actions if command._subparsers else ():
            for inner in getattr(group, "choices", {}).values():
                for action in inner._actions:
                    if action.dest in METAVARS and action.metavar is None and action.choices is None:
                        action.metavar = METAVARS[action.dest]
    return p


METAVARS = {"workspace": "ESPACE", "region": "REGION", "millesime": "MILLESIME", "layer": "COUCHE", "user": "ADRESSE",
            "paths": "FICHIER", "out": "SORTIE", "communes": "FICHIER", "qpv": "FICHIER", "facilitateurs": "FICHIER",
            "marches": "FICHIER", "json": "FICHIER", "xlsx": "FICHIER", "csv": "FICHIER", "name": "NOM",
            "version": "VERSION"}


COMMANDS = {"validate": cmd_validate, "demo": cmd_demo, "workspaces": cmd_workspaces, "workspace": cmd_workspace,
            "import": cmd_import,
            "history": cmd_history, "restore": cmd_restore, "export": cmd_export, "diagnose": cmd_diagnose,
            "journal": cmd_journal, "report": cmd_report, "referentiel": cmd_referentiel, "acheteurs": cmd_acheteurs,
            "scenario": lambda args: scenario_commands.cmd_scenario(sys.modules[__name__], args),
            "compare": lambda args: scenario_commands.cmd_compare(sys.modules[__name__], args)}


def main(argv: list[str] | None = None) -> int:
    from data.access import AccessError
    from data.store.workspaces import StoreError

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        return cmd_serve(argv[1:])
    with _french_argparse():
        args = parser().parse_args(argv)
    log = _technical_log()
    try:
        return COMMANDS[args.command](args)
    except StoreError as exc:
        return _fail(str(exc))
    except AccessError as exc:
        return _fail(str(exc))
    except FileNotFoundError as exc:
        return _fail(f"fichier introuvable : {exc.filename}")
    except IsADirectoryError as exc:
        return _fail(f"« {exc.filename} » est un dossier ; un fichier est attendu.")
    except KeyboardInterrupt:
        print("Interrompu.", file=sys.stderr)
        return 130
    except Exception:  # last resort: a French message, never a traceback (the detail goes to the technical log)
        logging.getLogger("diagnostic").exception("cli.py %s", " ".join(argv))
        where = f" (détail technique dans {log})" if log else ""
        return _fail(f"la commande n'a pas pu aboutir à cause d'une erreur inattendue{where}. Vos données n'ont "
                     "pas été modifiées.")


if __name__ == "__main__":
    sys.exit(main())
