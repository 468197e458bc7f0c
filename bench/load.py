"""Load of a launch meeting: many people open the link at once (issue 12, "Load").

A Streamlit server is started on 127.0.0.1 with a temporary store holding a real-sized région
(Hauts-de-France, 3,782 communes, from the shipped référentiel, with twelve facilitator structures).
``sessions`` clients then connect at the same moment through Streamlit's own websocket protocol (the
messages a browser sends) and each opens the map page, then the coverage diagnosis page. The time to
a drawn page is the time from the request to the server's ``script_finished`` message. A page that
raises, or shows the router's French error, counts as an error.

Bounded and local: one server on the loopback, a fixed number of sessions, a time limit per page.

    python -m bench.load [--sessions 30] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import peak_rss_mb, print_figures
from tools.local_server import serving

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("carte_facilitateurs", "diagnostic_couverture")
PAGE_TIMEOUT_S = 120
REGION = "32"


def prepare_store(folder: Path) -> str:
    """A workspace of the Hauts-de-France référentiel with twelve structures (by EPCI)."""
    os.environ["DIAG_DONNEES"] = str(folder)
    import pandas as pd

    from data.store import imports, workspaces
    from data.validation import validate

    slug = workspaces.create_from_referentiel("Charge Hauts-de-France", REGION)
    ds = workspaces.load(slug)
    epci = ds.communes.groupby("epci_siren")["population"].sum().sort_values(ascending=False).index[:12]
    files = folder / "facilitateurs"
    files.mkdir()
    pd.DataFrame({"id_structure": [f"S{i}" for i in range(12)], "nom": [f"Structure {i}" for i in range(12)],
                  "type_structure": "PLIE", "code_commune": "59350", "nb_facilitateurs": 2, "etp": 1.5}
                 ).to_csv(files / "structures.csv", sep=";", index=False)
    pd.DataFrame({"id_structure": [f"S{i}" for i in range(12)], "type_territoire": "epci",
                  "code_territoire": list(epci)}).to_csv(files / "perimetres.csv", sep=";", index=False)
    loaded = validate("facilitateurs", [files], communes=ds.communes)
    new, record = imports.apply(ds, loaded, ["structures.csv", "perimetres.csv"])
    workspaces.import_tables(slug, new, "facilitateurs", record)
    return slug


async def _open_pages(url: str, slug: str) -> tuple[list[float], int]:
    """One person: connect, open each page in turn; (times to a drawn page, errors)."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    times, errors = [], 0
    host = url.split("//", 1)[1]
    async with websockets.connect(f"ws://{host}/_stcore/stream", subprotocols=["streamlit"],
                                  origin=url, max_size=None, open_timeout=PAGE_TIMEOUT_S) as ws:
        for page in PAGES:
            msg = BackMsg()
            msg.rerun_script.query_string = f"espace={slug}"
            msg.rerun_script.page_name = page
            started = time.perf_counter()
            await ws.send(msg.SerializeToString())
            failed = False
            try:
                while True:
                    raw = await asyncio.wait_for(ws.recv(), timeout=PAGE_TIMEOUT_S)
                    fwd = ForwardMsg()
                    fwd.ParseFromString(raw)
                    kind = fwd.WhichOneof("type")
                    if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                        element = fwd.delta.new_element
                        if element.WhichOneof("type") == "exception":
                            failed = True
                        elif element.WhichOneof("type") == "alert" and "Erreur inattendue" in element.alert.body:
                            failed = True
                    if kind == "script_finished":
                        break
            except (asyncio.TimeoutError, websockets.ConnectionClosed):
                failed = True
            times.append(time.perf_counter() - started)
            errors += failed
    return times, errors


async def _crowd(url: str, slug: str, sessions: int) -> tuple[list[float], int]:
    results = await asyncio.gather(*(_open_pages(url, slug) for _ in range(sessions)), return_exceptions=True)
    times, errors = [], 0
    for r in results:
        if isinstance(r, BaseException):
            errors += len(PAGES)
        else:
            times += r[0]
            errors += r[1]
    return times, errors


def run(sessions: int = 30) -> dict[str, float]:
    """Start a server, let ``sessions`` people open the map and diagnosis pages at once; the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        slug = prepare_store(Path(tmp))
        with serving(tmp, Path(tmp) / "streamlit.log") as (url, proc):
            # one person first (a cold server computes the région once, for everybody)
            t = time.perf_counter()
            first, first_errors = asyncio.run(_crowd(url, slug, 1))
            cold = time.perf_counter() - t
            times, errors = asyncio.run(_crowd(url, slug, sessions))
            times = sorted(times)
            p95 = times[max(0, int(round(0.95 * len(times))) - 1)] if times else float("nan")
            return {"load_sessions": sessions, "load_cold_first_s": cold, "load_p95_s": p95,
                    "load_median_s": statistics.median(times) if times else float("nan"),
                    "load_errors": errors + first_errors, "load_peak_rss_mb": peak_rss_mb(proc.pid)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.load")
    p.add_argument("--sessions", type=int, default=30)
    p.add_argument("--json")
    args = p.parse_args(argv)
    out = run(args.sessions)
    print_figures(out, args.json)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
