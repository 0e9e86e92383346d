"""Seeded generator of territory instances with a deliberately unbalanced start.

Used by the benchmark and the tests; the same arguments give the same instance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spm_model.territory.geo import distance_matrix_km


def generate_instance(
    n_units: int,
    n_territories: int,
    seed: int = 0,
    n_cities: int | None = None,
    unbalance: float = 0.06,
    bbox: tuple[float, float, float, float] = (30.0, 48.0, -120.0, -75.0),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate accounts clustered around cities, reps, and an unbalanced current alignment.

    Accounts cluster around ``n_cities`` random cities (Gaussian spread, 5% spread
    uniformly), with lognormal potential (currency/year) and a workload (hours/year)
    that grows with potential. Rep homes are drawn from the account locations.
    The current alignment is first made roughly balanced in potential (a weighted
    Voronoi assignment whose additive weights are tuned by subgradient steps), then
    unbalanced on purpose: about ``unbalance`` of the accounts, chosen among those
    nearest a border, move to a neighbouring territory favoured at random.

    Parameters
    ----------
    n_units, n_territories : int
        Sizes.
    seed : int
        Seed of every random draw.
    n_cities : int, optional
        Number of clusters (default ``max(5, n_territories // 2)``).
    unbalance : float
        Fraction of accounts moved to unbalance the start.
    bbox : (lat_min, lat_max, lon_min, lon_max)
        Area, degrees.

    Returns
    -------
    (DataFrame, DataFrame)
        ``units`` (unit_id, lat, lon, potential, workload, current) and
        ``territories`` (territory_id, home_lat, home_lon, capacity).
    """
    rng = np.random.default_rng(seed)
    la0, la1, lo0, lo1 = bbox
    nc = n_cities or max(5, n_territories // 2)
    city = np.column_stack([rng.uniform(la0, la1, nc), rng.uniform(lo0, lo1, nc)])
    city_w = rng.dirichlet(np.full(nc, 2.0))
    which = rng.choice(nc, n_units, p=city_w)
    spread = rng.uniform(0.3, 1.2, nc)[which]
    lat = city[which, 0] + rng.normal(0, 1, n_units) * spread
    lon = city[which, 1] + rng.normal(0, 1, n_units) * spread * 1.3
    unif = rng.random(n_units) < 0.05
    lat[unif] = rng.uniform(la0, la1, unif.sum())
    lon[unif] = rng.uniform(lo0, lo1, unif.sum())
    lat = np.clip(lat, la0 - 2, la1 + 2)
    potential = np.round(rng.lognormal(np.log(80_000), 0.8, n_units), 2)
    workload = np.round(20 + potential / 4_000 * rng.lognormal(0, 0.35, n_units), 1)
    homes = rng.choice(n_units, n_territories, replace=False)
    h_lat = lat[homes] + rng.normal(0, 0.05, n_territories)
    h_lon = lon[homes] + rng.normal(0, 0.05, n_territories)
    d = distance_matrix_km(lat, lon, h_lat, h_lon)
    # roughly balanced start: greedy capacitated assignment, most constrained units first
    target = potential.sum() / n_territories
    order_t = np.argsort(d, axis=1)
    regret = (
        d[np.arange(n_units), order_t[:, min(1, n_territories - 1)]]
        - d[np.arange(n_units), order_t[:, 0]]
    )
    load = np.zeros(n_territories)
    a = np.full(n_units, -1)
    for i in np.argsort(-regret * potential):
        room = load + potential[i] <= target * 1.01
        choice = order_t[i][room[order_t[i]]]
        a[i] = choice[0] if len(choice) else int(np.argmin(load))
        load[a[i]] += potential[i]
    # deliberately unbalance: border accounts move into favoured neighbouring territories
    da = d[np.arange(n_units), a]
    alt = np.where(order_t[:, 0] == a, order_t[:, min(1, n_territories - 1)], order_t[:, 0])
    gap = d[np.arange(n_units), alt] - da
    favoured = rng.random(n_territories) < 0.5
    cand = np.flatnonzero(favoured[alt] & ~favoured[a])
    k = round(unbalance * n_units)
    lost = np.zeros(n_territories)
    won = np.zeros(n_territories)
    moved = 0
    for i in cand[np.argsort(gap[cand])]:
        if moved >= k:
            break
        s, t = a[i], alt[i]
        if lost[s] + potential[i] > 0.2 * target or won[t] + potential[i] > 0.25 * target:
            continue
        lost[s] += potential[i]
        won[t] += potential[i]
        a[i] = t
        moved += 1
    units = pd.DataFrame(
        {
            "unit_id": [f"U{i:06d}" for i in range(n_units)],
            "lat": np.round(lat, 5),
            "lon": np.round(lon, 5),
            "potential": potential,
            "workload": workload,
            "current": [f"T{j:04d}" for j in a],
        }
    )
    territories = pd.DataFrame(
        {
            "territory_id": [f"T{j:04d}" for j in range(n_territories)],
            "home_lat": np.round(h_lat, 5),
            "home_lon": np.round(h_lon, 5),
            "capacity": 1.0,
        }
    )
    return units, territories
