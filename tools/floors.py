"""The project's floors and the imports between them, read from the source with the standard library's ``ast``.

    python tools/floors.py          # prints every rule broken and every import circle; exit 1 if any

Floors, from the bottom: ``geo`` (territorial logic), ``data`` (formats, validation, store), ``views`` (the
presentation: French formats, labels, colours, chart specifications, what each screen says), then
``components`` (Streamlit) beside ``reports`` (PDF, PPTX, XLSX), then the screens (``app_pages``) and the
entry points (``app.py``, ``cli.py``). A module imports its own floor or lower ones; ``components`` and
``reports`` never import each other. Every ``import`` statement counts, at the top of a file or inside a
function: an import done late is still a dependency.

Streamlit and folium are imported only by ``app.py``, ``app_pages/`` and ``components/`` (and the
benchmark's browser and load scripts, which drive a server); document libraries (reportlab, python-pptx,
openpyxl, matplotlib, vl-convert) never by ``views``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("geo", "data", "views", "components", "reports", "app_pages", "commands", "bench", "tools")
SCRIPTS = ("app", "cli", "asgi")
FLOOR = {"geo": 0, "data": 1, "views": 2, "components": 3, "reports": 3, "app_pages": 4, "app": 5, "cli": 5,
         "commands": 5, "asgi": 5}
NEVER = {("components", "reports"), ("reports", "components")}
WEB = {"streamlit", "folium", "streamlit_folium", "branca"}
WEB_ALLOWED = {"app", "app_pages", "components", "bench", "asgi"}
DOCUMENTS = {"reportlab", "pptx", "openpyxl", "matplotlib", "vl_convert", "xlsxwriter"}
DOCUMENTS_FORBIDDEN = {"views", "geo"}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def project_files(root: Path = ROOT) -> list[Path]:
    files = [root / f"{s}.py" for s in SCRIPTS if (root / f"{s}.py").exists()]
    for package in PACKAGES:
        files += sorted((root / package).rglob("*.py"))
    return files


def imports_of(path: Path, known: set[str]) -> list[tuple[int, str]]:
    """(line, module) of every import in the file: project modules resolved to the longest known name,
    other libraries by their top-level name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")
                parent = parent[:len(parent) - node.level + 1]
                base = ".".join([p for p in parent if p] + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names]  # a name, or a module of the package
        for name in names:
            target = name
            while target and target not in known and "." in target:
                target = target.rpartition(".")[0]
            if target in known:
                if target != here:
                    out.append((node.lineno, target))
            elif name:
                out.append((node.lineno, name.split(".")[0]))
    return sorted(set(out))


def graph(root: Path = ROOT) -> tuple[dict[str, list[tuple[int, str]]], dict[str, Path]]:
    files = project_files(root)
    paths = {module_name(p): p for p in files}
    known = set(paths)
    return {m: imports_of(p, known) for m, p in paths.items()}, paths


def top(module: str) -> str:
    return module.split(".")[0]


def cycles(edges: dict[str, list[tuple[int, str]]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each a circle of imports."""
    adjacency = {m: sorted({t for _, t in targets if t in edges}) for m, targets in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in adjacency[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in adjacency[v]:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(adjacency):
        if v not in index:
            visit(v)
    return found


def broken_rules(edges: dict[str, list[tuple[int, str]]], paths: dict[str, Path]) -> list[str]:
    problems = []
    for module, targets in sorted(edges.items()):
        floor = top(module)
        where = paths[module].relative_to(ROOT)
        for line, target in targets:
            other = top(target)
            if target in edges:
                if floor in FLOOR and other in FLOOR and FLOOR[other] > FLOOR[floor]:
                    problems.append(f"{where}:{line}: {module} ({floor}) importe {target}, d'un étage au-dessus")
                if (floor, other) in NEVER:
                    problems.append(f"{where}:{line}: {module} importe {target} ({floor} et {other} ne "
                                    "s'importent jamais)")
            elif other in WEB and floor not in WEB_ALLOWED:
                problems.append(f"{where}:{line}: {module} importe {other} (réservé à app.py, app_pages, components)")
            elif other in DOCUMENTS and floor in DOCUMENTS_FORBIDDEN:
                problems.append(f"{where}:{line}: {module} importe {other} (bibliothèque de documents)")
    return problems


def main() -> int:
    edges, paths = graph()
    problems = broken_rules(edges, paths)
    for circle in cycles(edges):
        problems.append("cercle d'imports : " + " → ".join(circle))
    for p in problems:
        print(p)
    print(f"{len(edges)} modules, {sum(len(t) for t in edges.values())} imports, {len(problems)} problème(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
