"""Demo data: the fictitious région of the rehearsal, and a France-sized synthetic set for benchmarks.

Deterministic: same seed, same data. ``generate()`` gives the demo région's dataset,
``generate(scale="france")`` the benchmark set.
"""

from __future__ import annotations

from data.demo.region import GENERATOR_VERSION, REGION, SEED, generate_region
from data.store.dataset import Dataset


def generate(seed: int = SEED, scale: str = "region", n_markets: int | None = None, **france) -> Dataset:
    """Build the demo dataset (``scale="region"``) or a France-sized set (``scale="france"``).

    ``france`` passes sizes to the France generator (``n_communes``, ``n_qpv``, ``n_structures``).
    """
    if scale == "france":
        from data.demo.france import generate_france

        return generate_france(seed, n_markets=n_markets or 1_000_000, **france)
    return generate_region(seed, n_markets)


__all__ = ["GENERATOR_VERSION", "REGION", "SEED", "generate"]
