"""Distances and adjacency between units: haversine kilometres and Delaunay neighbours."""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), kilometres."""


def haversine_km(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Great-circle distance by the haversine formula, broadcasting over the inputs.

    Parameters
    ----------
    lat1, lon1, lat2, lon2 : array_like
        Coordinates in decimal degrees. Pass column vectors for one side and row
        vectors for the other to get a full distance matrix.

    Returns
    -------
    ndarray
        Distances in kilometres (mean Earth radius 6,371.0088 km).
    """
    p1 = np.radians(np.asarray(lat1, dtype=float))
    p2 = np.radians(np.asarray(lat2, dtype=float))
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lon2, dtype=float) - np.asarray(lon1, dtype=float))
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def distance_matrix_km(
    lat: np.ndarray, lon: np.ndarray, home_lat: np.ndarray, home_lon: np.ndarray
) -> np.ndarray:
    """Unit-by-territory haversine distance matrix.

    Parameters
    ----------
    lat, lon : ndarray of shape (n,)
        Unit coordinates, degrees.
    home_lat, home_lon : ndarray of shape (m,)
        Territory home (rep base) coordinates, degrees.

    Returns
    -------
    ndarray of shape (n, m)
        Distances in kilometres.
    """
    return haversine_km(
        np.asarray(lat)[:, None],
        np.asarray(lon)[:, None],
        np.asarray(home_lat)[None, :],
        np.asarray(home_lon)[None, :],
    )


def delaunay_edges(lat: np.ndarray, lon: np.ndarray, planar: bool = False) -> np.ndarray:
    """Adjacency of units from a Delaunay triangulation of their locations.

    The coordinates are projected with an equirectangular projection around their
    mean latitude (so east-west and north-south distances are comparable; planar
    coordinates are used as they are), then triangulated with
    :class:`scipy.spatial.Delaunay`; every triangle side is an edge.
    Duplicate locations are collapsed before triangulating and linked to the kept
    point, so co-located units are always adjacent.

    Parameters
    ----------
    lat, lon : ndarray of shape (n,)
        Unit coordinates, degrees (``y`` and ``x`` when ``planar``).
    planar : bool
        Coordinates are planar (any length unit), not degrees.

    Returns
    -------
    ndarray of shape (e, 2), int
        Undirected edges ``(i, j)`` with ``i < j``, positions into the inputs, sorted.
    """
    from scipy.spatial import Delaunay

    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    n = len(lat)
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    if planar:
        xy = np.column_stack([lon, lat])
    else:
        xy = np.column_stack([np.radians(lon) * np.cos(np.radians(lat.mean())), np.radians(lat)])
    uniq, first, inverse = np.unique(xy, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    edges: list[np.ndarray] = []
    # co-located points: link each duplicate to the first point at that location
    dup = np.flatnonzero(first[inverse] != np.arange(n))
    if len(dup):
        edges.append(np.column_stack([first[inverse[dup]], dup]))
    if len(uniq) == 2:
        edges.append(first[None, :2])
    elif len(uniq) > 2:
        try:
            tri = Delaunay(uniq)
            s = tri.simplices
            e = np.vstack([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]])
        except Exception:  # all points collinear: chain them along the line
            order = np.lexsort((uniq[:, 1], uniq[:, 0]))
            e = np.column_stack([order[:-1], order[1:]])
        edges.append(first[e])
    out = np.vstack(edges)
    out = np.sort(out, axis=1)
    return np.unique(out, axis=0).astype(np.int64)
