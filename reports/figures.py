"""Charts of the documents as PNG: the app's Altair charts rendered offline by vl-convert.

vl-convert releases the GIL, so two renderings run side by side on a 2-core machine.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import altair as alt

from views import charts

WIDTH = 620  # Vega units: about the PDF's text width at scale 2
PERCENT = "\u202f%"  # French: "16 %", not "16%"


def png(chart: alt.Chart, width: int = WIDTH, scale: float = 2.0, titled: bool = True) -> bytes:
    """A chart as PNG, at a fixed width, with French percentages; ``titled=False`` leaves the title
    to the document."""
    import vl_convert as vlc

    spec = chart.properties(width=width).to_dict()
    if not titled:
        spec.pop("title", None)
    locale = spec.setdefault("config", {}).setdefault("locale", {}).setdefault("number", {})
    locale["percent"] = PERCENT
    return vlc.vegalite_to_png(spec, scale=scale)


def to_png(chart: alt.Chart, scale: float = 2.0) -> bytes:
    """A chart of the screens as PNG at its own size (a stretched chart gets 900 units), rendered offline
    by vl-convert (no browser, no network): the indicators page's « Graphique en PNG »."""
    import vl_convert as vlc

    spec = chart.to_dict()
    spec.setdefault("width", 900)  # a stretched chart has no width of its own outside the page
    return vlc.vegalite_to_png(spec, scale=scale)


def _indicator(series, source: str) -> bytes:
    return png(charts.indicator_chart(series.data, series.table, series.title, series.unit, source), titled=False)


def render(content) -> dict:
    """``{"indicators": [png, ...] (one per series), "funding": png or None}``."""
    jobs = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for i, s in enumerate(content.indicators):
            jobs[("indicators", i)] = pool.submit(_indicator, s, content.indicator_source)
        fin = content.funding
        if len(fin) and fin["etp_finances"].sum() > 0:
            jobs[("funding", 0)] = pool.submit(png, charts.funding_chart(fin[["source", "etp_finances", "part"]]),
                                               560, 2.0, False)
        done = {k: f.result() for k, f in jobs.items()}
    return {"indicators": [done[("indicators", i)] for i in range(len(content.indicators))],
            "funding": done.get(("funding", 0))}
