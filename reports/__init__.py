"""Documents of the diagnosis, built without Streamlit, for the command line (``cli.py report``)
and the app's pages (« Rapport »): the PDF report, the PowerPoint deck of the launch meeting
and the full XLSX workbook of a workspace's diagnosis for one région.

    from reports import build
    files = build(ds, result, "76", out_dir)   # {"pdf": Path, "pptx": Path, "xlsx": Path}

Every figure comes from ``geo.engine.Result`` (the same numbers as ``cli.py diagnose``); maps
are drawn offline in Lambert-93, charts are rendered offline by vl-convert, fonts come with
matplotlib. Nothing here reads the network or a session.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

__all__ = ["build", "file_names"]


def file_names(region: str) -> dict[str, str]:
    """The three files' names for ``region``."""
    return {"pdf": f"rapport_{region}.pdf", "pptx": f"presentation_{region}.pptx",
            "xlsx": f"diagnostic_{region}.xlsx"}


def build(ds, result, region: str, out_dir, workspace_label: str | None = None) -> dict[str, Path]:
    """Write ``rapport_<region>.pdf``, ``presentation_<region>.pptx`` and ``diagnostic_<region>.xlsx``.

    Parameters
    ----------
    ds : data.store.dataset.Dataset
        The workspace's dataset (its tables, vintages, sources, which kinds were imported).
    result : geo.engine.Result
        ``engine.run(...)`` of that dataset for ``region``.
    region : str
        The région's code.
    out_dir : path
        Folder to write into (created when missing).
    workspace_label : str, optional
        The workspace's name as the documents show it (default: ``ds.label``).

    Returns
    -------
    dict
        ``{"pdf": Path, "pptx": Path, "xlsx": Path}``.
    """
    from reports import content as content_mod
    from reports import deck, figures, maps, pdf, workbook

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = file_names(region)
    content = content_mod.collect(ds, result, region, workspace_label)
    # charts render in threads (vl-convert releases the GIL) while the maps are drawn here
    with ThreadPoolExecutor(max_workers=1) as pool:
        charts = pool.submit(figures.render, content)
        images = maps.render(ds, result, region, content)
        xlsx = workbook.write(out / names["xlsx"], content)
        figs = charts.result()
    paths = {"pdf": pdf.write(out / names["pdf"], content, images, figs),
             "pptx": deck.write(out / names["pptx"], content, images),
             "xlsx": xlsx}
    return paths
