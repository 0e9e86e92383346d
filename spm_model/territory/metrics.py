"""Alignment metrics: balance per measure, disruption, compactness, contiguity.

All functions take member-level assignments (one territory index per original
unit, -1 for unassigned) so the current alignment, a solution and what-if
alternatives are measured the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from spm_model.territory.contiguity import contiguity_violations
from spm_model.territory.problem import Compiled


def _as_index(c: Compiled, assign: np.ndarray | pd.Series) -> np.ndarray:
    if isinstance(assign, pd.Series):
        pos = {t: j for j, t in enumerate(c.territory_ids)}
        s = assign.reindex(c.unit_ids)
        return np.array([pos.get(v, -1) if isinstance(v, str) else -1 for v in s], dtype=int)
    a = np.asarray(assign)
    if len(a) == c.n and len(a) != len(c.unit_ids):
        a = c.expand(a)
    return a.astype(int)


def alignment_metrics(c: Compiled, assign: np.ndarray | pd.Series) -> dict[str, float]:
    """Metrics of one alignment.

    Parameters
    ----------
    c : Compiled
        The compiled problem.
    assign : ndarray or Series
        Territory index per original unit (-1 = unassigned), or a Series mapping
        unit_id to territory_id.

    Returns
    -------
    dict
        For each measure ``k``: ``k.max_min_ratio`` (largest over smallest
        capacity-adjusted load), ``k.max_dev_pct`` (largest deviation from the
        capacity-weighted target, percent), ``k.cv`` (coefficient of variation of
        the capacity-adjusted loads, fraction). Then ``accounts_moved`` and
        ``accounts_moved_pct``, ``potential_moved`` (currency/year) and
        ``potential_moved_pct``, and when the disruption basis is another column
        (``moved_basis="workload"``, say) ``<basis>_moved`` and
        ``<basis>_moved_pct``. Distances carry their unit in the name (``km``
        for haversine, ``dist`` for planar or supplied matrices unless a unit
        was named): ``mean_<unit>`` and ``max_<unit>`` (distance from each unit
        to its territory's home, unweighted), ``travel_<unit>`` (sum of travel
        weight x distance); with locations, ``max_diameter_km`` (``max_diameter``
        for planar coordinates: the largest distance between two units of one
        territory). Then ``objective``, ``contiguity_violations`` (extra pieces;
        NaN without adjacency), ``unassigned`` units and ``empty_territories``.
    """
    a = _as_index(c, assign)
    ok = a >= 0
    out: dict[str, float] = {}
    load = np.zeros((c.m, len(c.measures)))
    np.add.at(load, a[ok], c.values0[ok])
    rel = load / np.maximum(c.target, 1e-300)
    per_cap = load / c.capacity[:, None]
    for i, k in enumerate(c.measures):
        x = per_cap[:, i]
        if not (c.target[:, i] > 0).any():  # nothing to balance (an all-zero measure)
            out[f"{k}.max_min_ratio"], out[f"{k}.max_dev_pct"], out[f"{k}.cv"] = 1.0, 0.0, 0.0
            continue
        out[f"{k}.max_min_ratio"] = float(x.max() / x.min()) if x.min() > 0 else float("inf")
        out[f"{k}.max_dev_pct"] = float(np.abs(rel[:, i] - 1).max() * 100)
        out[f"{k}.cv"] = float(x.std() / x.mean()) if x.mean() > 0 else float("nan")
    cur = c.current0
    moved = (cur >= 0) & ok & (a != cur)
    acc_tot = c.accounts0[cur >= 0].sum()
    pot_tot = c.potential0[cur >= 0].sum()
    out["accounts_moved"] = float(c.accounts0[moved].sum())
    out["accounts_moved_pct"] = float(100 * out["accounts_moved"] / acc_tot) if acc_tot > 0 else 0.0
    out["potential_moved"] = float(c.potential0[moved].sum())
    out["potential_moved_pct"] = (
        float(100 * out["potential_moved"] / pot_tot) if pot_tot > 0 else 0.0
    )
    if c.moved_basis not in ("accounts", "potential"):
        b_tot = c.size0[cur >= 0].sum()
        out[f"{c.moved_basis}_moved"] = float(c.size0[moved].sum())
        out[f"{c.moved_basis}_moved_pct"] = (
            float(100 * c.size0[moved].sum() / b_tot) if b_tot > 0 else 0.0
        )
    d = c.dist0[np.flatnonzero(ok), a[ok]]
    out[c.dist_key("mean")] = float(d.mean()) if len(d) else float("nan")
    out[c.dist_key("max")] = float(d.max()) if len(d) else float("nan")
    out[c.dist_key("travel")] = float((c.travel_w0[ok] * d).sum())
    if c.has_locations:
        diam = territory_diameters(c, a)
        out[_diameter_key(c)] = float(np.nanmax(diam)) if np.isfinite(diam).any() else 0.0
    if ok.all():
        sup = np.full(c.n, -1)
        sup[c.group] = a
        out["objective"] = c.objective(sup)
        out["contiguity_violations"] = (
            float(contiguity_violations(c.edges, sup, c.m)) if c.edges is not None else float("nan")
        )
    else:
        out["objective"] = float("nan")
        if c.edges is not None:
            sup = np.full(c.n, -1)
            sup[c.group[ok]] = a[ok]
            out["contiguity_violations"] = float(contiguity_violations(c.edges, sup, c.m))
        else:
            out["contiguity_violations"] = float("nan")
    out["unassigned"] = float((~ok).sum())
    out["empty_territories"] = float((np.bincount(a[ok], minlength=c.m) == 0).sum())
    return out


def _diameter_key(c: Compiled) -> str:
    return "max_diameter" if c.planar else "max_diameter_km"


def territory_diameters(c: Compiled, assign: np.ndarray) -> np.ndarray:
    """Largest distance between two units of each territory.

    Computed over the convex hull of each territory's units (the farthest pair
    of a point set lies on its hull): Euclidean for planar coordinates,
    haversine km between hull vertices found in an equirectangular projection
    otherwise.

    Parameters
    ----------
    c : Compiled
        The compiled problem (needs unit locations).
    assign : ndarray of int
        Territory index per original unit (-1 = unassigned, ignored).

    Returns
    -------
    ndarray of shape (m,)
        Diameter per territory (0 for one unit, NaN for an empty territory), in
        km, or in coordinate units for planar problems.
    """
    from scipy.spatial import ConvexHull, QhullError
    from scipy.spatial.distance import pdist

    from spm_model.territory.geo import haversine_km

    a = np.asarray(assign)
    if c.planar:
        xy = np.column_stack([c.lon, c.lat])
    else:
        xy = np.column_stack([c.lon * np.cos(np.radians(np.nanmean(c.lat))), c.lat])
    out = np.full(c.m, np.nan)
    for t in range(c.m):
        idx = np.flatnonzero(a == t)
        if len(idx) == 0:
            continue
        if len(idx) > 3:
            try:
                idx = idx[ConvexHull(xy[idx]).vertices]
            except QhullError:  # collinear or duplicate points: use them all
                pass
        if len(idx) == 1:
            out[t] = 0.0
        elif c.planar:
            out[t] = float(pdist(xy[idx]).max())
        else:
            la, lo = c.lat[idx], c.lon[idx]
            out[t] = float(haversine_km(la[:, None], lo[:, None], la[None, :], lo[None, :]).max())
    return out


def compare_alignments(
    c: Compiled, alignments: Mapping[str, np.ndarray | pd.Series]
) -> pd.DataFrame:
    """Metrics of several alignments side by side (one column per alignment).

    Parameters
    ----------
    c : Compiled
        The compiled problem (defines measures, targets and the current alignment).
    alignments : mapping of str to assignment
        Named alignments, e.g. ``{"before": current, "after": solution}``.

    Returns
    -------
    DataFrame
        Rows are metrics (see :func:`alignment_metrics`), columns the alignments.
    """
    return pd.DataFrame({name: alignment_metrics(c, a) for name, a in alignments.items()})


def territory_table(c: Compiled, assign: np.ndarray | pd.Series) -> pd.DataFrame:
    """Per-territory loads, deviations, counts and distances of one alignment.

    Returns
    -------
    DataFrame
        One row per territory: ``territory_id``, ``capacity`` (FTE), ``units``,
        ``accounts``, per measure the load, the target and ``<k>_dev_pct``
        (percent), ``mean_<unit>`` (mean distance to the home, e.g. ``mean_km``),
        ``moved_in`` and ``moved_out`` (units).
    """
    a = _as_index(c, assign)
    ok = a >= 0
    rows = pd.DataFrame({"territory_id": c.territory_ids, "capacity": c.capacity})
    rows["units"] = np.bincount(a[ok], minlength=c.m)
    rows["accounts"] = np.bincount(a[ok], weights=c.accounts0[ok], minlength=c.m)
    for i, k in enumerate(c.measures):
        ld = np.bincount(a[ok], weights=c.values0[ok, i], minlength=c.m)
        rows[k] = ld
        rows[f"{k}_target"] = c.target[:, i]
        rows[f"{k}_dev_pct"] = 100 * (ld / np.maximum(c.target[:, i], 1e-300) - 1)
    d = np.zeros(len(a))
    d[ok] = c.dist0[np.flatnonzero(ok), a[ok]]
    rows[c.dist_key("mean")] = np.bincount(a[ok], weights=d[ok], minlength=c.m) / np.maximum(
        rows["units"], 1
    )
    moved = (c.current0 >= 0) & ok & (a != c.current0)
    rows["moved_in"] = np.bincount(a[moved], minlength=c.m)
    rows["moved_out"] = np.bincount(c.current0[moved], minlength=c.m)
    return rows
