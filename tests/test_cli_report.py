"""``cli.py report``: the three documents of a workspace's diagnosis, from the command line."""

import os
import subprocess
import sys

import openpyxl
from pptx import Presentation

from tests.conftest import ROOT


def test_report_of_the_demo_workspace(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "cli.py"), "report", "--workspace", "demo", "--out",
                          str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=600, env={**os.environ})
    assert out.returncode == 0, out.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["diagnostic_99.xlsx", "presentation_99.pptx", "rapport_99.pdf"]
    assert (tmp_path / "rapport_99.pdf").read_bytes()[:5] == b"%PDF-"
    from views.text import SCREENS

    assert len(Presentation(tmp_path / "presentation_99.pptx").slides) == len(SCREENS)
    assert len(openpyxl.load_workbook(tmp_path / "diagnostic_99.xlsx").sheetnames) >= 10


def test_report_of_a_workspace_that_does_not_exist(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "cli.py"), "report", "--workspace", "inexistant", "--out",
                          str(tmp_path)], capture_output=True, text=True, cwd=ROOT, timeout=300, env={**os.environ})
    assert out.returncode == 1 and "Erreur" in out.stderr and "Traceback" not in out.stderr
    assert not list(tmp_path.iterdir())
