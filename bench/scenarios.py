"""The scenarios of a real région (issue 19): Hauts-de-France from the shipped référentiel (3,782 communes), fourteen
structures and four hundred markets (``data.demo.network``), in a temporary store.

- ``scenario_recompute_s``: one edit of a scenario (a commune added to an area), then its whole diagnosis;
- ``suggest_s``: every candidate extension (every EPCI of the région not wholly covered, times every structure
  touching it) with its gains; ``suggest_candidates``, how many; ``suggest_naive_ratio``: the same gains the naive
  way (the whole diagnosis run again for each candidate, measured on a sample and scaled), divided by ours;
- ``compare_s``: a comparison of two states (the current data and a scenario of five operations), both diagnoses
  included;
- ``scenario_adjacency_s``: the communes' borders (once per référentiel version, kept by the server).

    python -m bench.scenarios
"""

from __future__ import annotations

import time

REGION = "32"
NAIVE_SAMPLE = 12


def run() -> dict[str, float]:
    from data import referentiel

    if not referentiel.available():
        return {}
    from data.demo import network
    from data.store import workspaces
    from geo import engine, scenario, suggest
    from geo.comparison import compare

    from bench import temporary_store

    out: dict[str, float] = {}
    with temporary_store():
        slug = network.workspace("Banc scénarios", REGION)
        ds = workspaces.load(slug)
        prepared = engine.prepare(ds.communes, ds.qpv, ds.structures, ds.perimetres)
        base = scenario.network(prepared.ref, ds.structures, ds.perimetres)
        result = scenario.run(prepared, ds.communes, ds.qpv, base, ds.marches, REGION)
        uncovered = result.diagnosis.communes.loc[~result.diagnosis.communes["couverte"], "code_insee"].tolist()

        def edit(i=[0]):  # noqa: B006 (a counter: each run adds another commune)
            i[0] += 1
            net = scenario.apply(prepared.ref, base, {"action": "ajouter", "structure": "S01",
                                                      "territoires": [f"COM:{uncovered[i[0] % len(uncovered)]}"]})
            return scenario.run(prepared, ds.communes, ds.qpv, net, ds.marches, REGION)

        times = []
        for _ in range(7):
            t = time.perf_counter()
            edit()
            times.append(time.perf_counter() - t)
        out["scenario_recompute_s"] = sorted(times)[len(times) // 2]
        t = time.perf_counter()
        neighbours = suggest.adjacency(ds.communes.geometry.to_numpy())
        out["scenario_adjacency_s"] = time.perf_counter() - t
        t = time.perf_counter()
        ctx = suggest.context(prepared.ref, ds.communes, base, result, ds.marches, neighbours)
        pairs = suggest.candidates(ctx)
        rows = suggest.suggest(ctx, "population", pairs)
        out["suggest_s"] = time.perf_counter() - t
        out["suggest_candidates"] = len(pairs)
        sample = pairs[:: max(1, len(pairs) // NAIVE_SAMPLE)][:NAIVE_SAMPLE]
        t = time.perf_counter()
        naive = suggest.naive(ctx, prepared, ds.communes, ds.qpv, ds.marches, sample)
        naive_s = (time.perf_counter() - t) * len(pairs) / max(1, len(sample))
        fast = rows.set_index(["epci_siren", "id_structure"])
        for r in naive.itertuples():  # the same gains, or the ratio means nothing
            assert fast.loc[(r.epci_siren, r.id_structure), "population_gagnee"] == r.population_gagnee
        out["suggest_naive_ratio"] = naive_s / out["suggest_s"]
        ops = [suggest.operation(r) for _, r in rows.head(3).iterrows()] + [
            {"action": "modifier", "structure": "S02", "etp": 1.0},
            {"action": "creer", "structure": "R1", "nom": "Coordination régionale", "nb_facilitateurs": 1,
             "etp": 1.0, "territoires": [f"REG:{REGION}"]}]
        t = time.perf_counter()
        other = scenario.apply_all(prepared.ref, base, ops)
        compare(base, scenario.run(prepared, ds.communes, ds.qpv, base, ds.marches, REGION), other,
                scenario.run(prepared, ds.communes, ds.qpv, other, ds.marches, REGION))
        out["compare_s"] = time.perf_counter() - t
    return out


if __name__ == "__main__":
    from bench import print_figures

    print_figures(run())
