"""The house's floors: ``geo`` < ``data`` < ``views`` < ``components`` | ``reports`` < pages and entry points,
no import circle, Streamlit only where the screens are (``tools/floors.py``)."""

import json
import subprocess
import sys
import textwrap

from tests.conftest import ROOT
from tools import floors


def test_no_floor_imports_a_higher_one_and_no_import_circle():
    edges, paths = floors.graph()
    assert {"views.fmt", "views.columns", "views.palette", "views.charts", "views.content", "data.formats.xlsx",
            "reports.workbook", "components.tables"} <= set(edges)
    assert floors.broken_rules(edges, paths) == []
    assert floors.cycles(edges) == []


def test_the_checker_sees_a_late_import_and_a_circle(tmp_path):
    """A function-level import counts: a floor that imports a higher one late is still caught, and so is a
    circle of two modules."""
    for package in ("views", "components", "geo"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "views" / "a.py").write_text("def f():\n    from components import x\n")
    (tmp_path / "components" / "x.py").write_text("import streamlit\n")
    (tmp_path / "geo" / "a.py").write_text("from geo import b\n")
    (tmp_path / "geo" / "b.py").write_text("def g():\n    import geo.a\n")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "__init__.py").write_text("import folium\nfrom components import x\n")
    old = floors.ROOT
    floors.ROOT = tmp_path
    try:
        edges, paths = floors.graph(tmp_path)
        problems = floors.broken_rules(edges, paths)
        circles = floors.cycles(edges)
    finally:
        floors.ROOT = old
    assert any("views.a (views) importe components.x" in p for p in problems)
    assert any("reports importe folium" in p for p in problems)
    assert any("reports importe components.x" in p for p in problems)
    assert not any("components.x importe streamlit" in p for p in problems)
    assert circles == [["geo.a", "geo.b"]]


def test_reports_and_the_cli_report_load_neither_streamlit_nor_folium(tmp_path):
    """``cli.py report`` and ``cli.py diagnose --xlsx`` build the documents without the app's libraries."""
    script = textwrap.dedent(f"""
        import json, sys
        import reports, reports.deck, reports.pdf, reports.workbook, reports.maps, reports.figures, views.content
        import cli
        codes = [cli.main(["report", "--workspace", "demo", "--out", {str(tmp_path)!r}]),
                 cli.main(["diagnose", "--workspace", "demo", "--json", {str(tmp_path / 'd.json')!r},
                           "--xlsx", {str(tmp_path / 'd.xlsx')!r}])]
        print(json.dumps({{"codes": codes, "loaded": sorted(m for m in ("streamlit", "folium", "streamlit_folium")
                                                             if m in sys.modules)}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"codes": [0, 0], "loaded": []}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.json", "d.xlsx", "diagnostic_99.xlsx",
                                                          "presentation_99.pptx", "rapport_99.pdf"]
