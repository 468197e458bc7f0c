"""Command line: validate a file, write the demo dataset as files, run the diagnosis.

    python cli.py validate --kind facilitateurs mes_facilitateurs.xlsx
    python cli.py demo --out exemples/
    python cli.py diagnose --region 76 --communes c.geojson --qpv q.geojson \\
        --facilitateurs f.xlsx --marches decp.json --json out.json --xlsx out.xlsx

Exit codes: 0 success (warnings allowed), 1 invalid input, 2 usage error. Never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from data.schemas import KINDS


def cmd_validate(args) -> int:
    from data import validation

    communes = None
    if args.communes:
        ref = validation.validate("communes", [args.communes])
        communes = ref.tables.get("communes")
    loaded = validation.validate(args.kind, args.paths, communes=communes)
    print(loaded.report.text())
    return 0 if loaded.ok else 1


def cmd_demo(args) -> int:
    from data import demo
    from data.files import write_dataset

    for path in write_dataset(demo.generate(), Path(args.out)):
        print(path)
    return 0


def cmd_diagnose(args) -> int:
    from data import store, validation
    from data.dataset import empty_table
    from data.report import Report
    from geo import engine

    ds = store.load_active()
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
            print(f"Erreur : la région « {region} » est absente du référentiel des communes.", file=sys.stderr)
            return 1
        region_deps = set(communes.loc[communes["reg"].astype(str) == region, "dep"].astype(str))
    for kind, path in (("qpv", args.qpv), ("facilitateurs", args.facilitateurs), ("marches", args.marches)):
        if path and report.ok:
            # a national DECP file is cut down to the région before anything heavy is done
            loaded = validation.validate(kind, [path], communes=communes, region_deps=region_deps)
            report.extend(loaded.report)
            tables.update(loaded.tables)
    if report.issues:
        print(report.text(), file=sys.stderr)
    if not report.ok:
        return 1
    # with the user's référentiel, a table not given is empty rather than the active dataset's
    def table(name):
        if name in tables:
            return tables[name]
        return empty_table(name) if given_communes else getattr(ds, name)

    qpv, st, pe, marches = table("qpv"), table("structures"), table("perimetres"), table("marches")
    result = engine.run(communes, qpv, st, pe, marches, region)
    out = engine.to_json(result)
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.xlsx:
        from components.exports import diagnosis_xlsx

        Path(args.xlsx).write_bytes(diagnosis_xlsx(result))
    if not args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
    for note in result.diagnosis.notes:
        print("Note : " + note, file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cli.py", description="Diagnostic territorial des clauses sociales.")
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("validate", help="valider un fichier et afficher le rapport")
    v.add_argument("--kind", required=True, choices=list(KINDS))
    v.add_argument("--communes", help="référentiel des communes pour vérifier les codes de périmètre")
    v.add_argument("paths", nargs="+", help="fichier(s) ou dossier (facilitateurs)")
    d = sub.add_parser("demo", help="écrire les données de démonstration sous forme de fichiers")
    d.add_argument("--out", required=True)
    g = sub.add_parser("diagnose", help="calculer le diagnostic de couverture")
    g.add_argument("--region")
    g.add_argument("--communes")
    g.add_argument("--qpv")
    g.add_argument("--facilitateurs")
    g.add_argument("--marches")
    g.add_argument("--json")
    g.add_argument("--xlsx")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return {"validate": cmd_validate, "demo": cmd_demo, "diagnose": cmd_diagnose}[args.command](args)
    except FileNotFoundError as exc:
        print(f"Erreur : fichier introuvable : {exc.filename}", file=sys.stderr)
        return 1
    except IsADirectoryError as exc:
        print(f"Erreur : « {exc.filename} » est un dossier ; un fichier est attendu.", file=sys.stderr)
        return 1
    except Exception as exc:  # last resort: a message, never a traceback
        print(f"Erreur inattendue ({type(exc).__name__}) : {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
