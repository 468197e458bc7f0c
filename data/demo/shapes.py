"""Geometric helpers shared by the demo generators: outlines and gap-free tilings (Lambert-93)."""

from __future__ import annotations

import numpy as np
import shapely


def blob(centre: np.ndarray, radius: float, phase: float, n: int = 96) -> shapely.Polygon:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = radius * (1 + 0.12 * np.sin(3 * t + phase) + 0.06 * np.cos(5 * t + 2 * phase))
    return shapely.Polygon(np.c_[centre[0] + r * np.cos(t), centre[1] + r * np.sin(t)])


def tile(points: np.ndarray, outline: shapely.Geometry) -> np.ndarray:
    """Voronoi cells of ``points`` (in order) clipped to ``outline``: a gap-free, overlap-free tiling."""
    cells = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=outline, ordered=True)
    cells = np.asarray(shapely.get_parts(cells))
    # snapped to a 1 m grid: shared edges stay identical, slivers from the clipping disappear
    return shapely.set_precision(shapely.intersection(cells, outline), grid_size=1.0)
