"""Documents of the diagnosis, built without Streamlit, for the command line (``cli.py report``)
and the app's pages (« Rapport »): the PDF report, the PowerPoint deck of the launch meeting
and the full XLSX workbook of a workspace's diagnosis for one région.

    from reports import build
    files = build(ds, result, "76", out_dir)   # {"pdf": Path, "pptx": Path, "xlsx": Path}
    files = build_workspace("hauts-de-france-2026", "32", out_dir)   # a stored workspace (cli.py report)

Every figure comes from ``geo.engine.Result`` (the same numbers as ``cli.py diagnose``); maps
are drawn offline in Lambert-93, charts are rendered offline by vl-convert, fonts come with
matplotlib. Nothing here reads the network or a session.

Builds on ``views`` (what the documents say: ``views.content``, ``views.screens``, ``views.text``), ``data``
(the one XLSX writer, ``data.formats.xlsx``) and ``geo``; never imports ``components`` nor Streamlit
(``tools/floors.py``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

__all__ = ["build", "build_workspace", "file_names"]


def file_names(region: str) -> dict[str, str]:
    """The three files' names for ``region``."""
    return {"pdf": f"rapport_{region}.pdf", "pptx": f"presentation_{region}.pptx",
            "xlsx": f"diagnostic_{region}.xlsx"}


def build(ds, result, region: str, out_dir, workspace_label: str | None = None, proposition=None) -> dict[str, Path]:
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
    proposition : geo.comparison.Comparison, optional
        A scenario against the current facilitators: the PDF gets a « Proposition » section, the deck a
        « Proposition » slide and the workbook its sheets (fiche 3, § 3b and § 6c).

    Returns
    -------
    dict
        ``{"pdf": Path, "pptx": Path, "xlsx": Path}``.
    """
    from reports import deck, figures, maps, pdf, workbook
    from views import content as content_mod

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = file_names(region)
    content = content_mod.collect(ds, result, region, workspace_label)
    content.proposition = proposition
    # charts render in threads (vl-convert releases the GIL) while the maps are drawn here
    with ThreadPoolExecutor(max_workers=1) as pool:
        charts = pool.submit(figures.render, content)
        images = maps.render(ds, result, region, content)
        if proposition is not None and images:
            change = maps.change_map(maps.prepare(ds, proposition.b, region), proposition)
            if change is not None:
                images["proposition"] = change
        xlsx = workbook.write(out / names["xlsx"], content)
        figs = charts.result()
    paths = {"pdf": pdf.write(out / names["pdf"], content, images, figs),
             "pptx": deck.write(out / names["pptx"], content, images),
             "xlsx": xlsx}
    return paths


def build_workspace(workspace: str, region: str | None, out_dir, scenario: str | None = None) -> dict[str, Path]:
    """The three files of a stored workspace (its slug or its name) for ``region`` (the workspace's
    own région when ``None``): what ``cli.py report --workspace NAME --region CODE --out DIR`` calls; with
    ``scenario`` (its name or identifier), the documents hold its proposition against the current facilitators.

    Raises
    ------
    LookupError
        No workspace of that name (French message).
    ValueError
        The workspace has no référentiel, or ``region`` is not in it (French message).
    """
    from data.store import workspaces
    from data.store.dataset import MISSING
    from geo import engine

    slug = workspaces.find(workspace)
    if slug is None:
        raise LookupError(f"l'espace de travail « {workspace} » n'existe pas.")
    ds = workspaces.load(slug)
    if not ds.has("communes"):
        raise ValueError(MISSING["communes"])
    regions = ds.regions()
    region = str(region or ds.default_region)
    if region not in regions:
        known = ", ".join(f"{code} ({name})" for code, name in regions.items())
        raise ValueError(f"la région « {region} » n'est pas dans le référentiel de l'espace « {ds.label} » "
                         f"(régions présentes : {known}).")
    result = engine.run(ds.communes, ds.qpv, ds.structures, ds.perimetres, ds.marches, region)
    proposition = None
    if scenario:
        from data import scenarios as service
        from data.store.workspaces import StoreError

        prepared = engine.prepare(ds.communes, ds.qpv, ds.structures, ds.perimetres)
        try:
            proposition = service.proposition(slug, ds, prepared, scenario, region)
        except StoreError as exc:
            raise LookupError(str(exc)) from exc
    extra = {"proposition": proposition} if proposition is not None else {}
    return build(ds, result, region, out_dir, workspace_label=ds.label, **extra)
