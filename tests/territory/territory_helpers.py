"""Brute force and small instances for the territory tests."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from spm_model.territory.contiguity import contiguity_violations
from spm_model.territory.problem import Compiled


def brute_force(c: Compiled, contiguity: bool = False) -> tuple[float, np.ndarray | None]:
    """Optimum over all m**n solve-level assignments: (objective, assignment) or (inf, None)."""
    n, m = c.n, c.m
    allowed = [[c.locked[u]] if c.locked[u] >= 0 else list(range(m)) for u in range(n)]
    combos = np.array(list(itertools.product(*allowed)), dtype=int)
    obj = c.cost[np.arange(n)[None, :], combos].sum(axis=1)
    ok = np.ones(len(combos), dtype=bool)
    for t in range(m):
        mask = combos == t
        load = mask.astype(float) @ c.values
        ok &= np.all(load >= c.lo[t] - 1e-9 * np.maximum(c.target[t], 1), axis=1)
        ok &= np.all(load <= c.hi[t] + 1e-9 * np.maximum(c.target[t], 1), axis=1)
    if c.budget is not None:
        stay = c.stay.toarray()
        kept = stay[np.arange(n)[None, :], combos].sum(axis=1)
        ok &= kept >= c.min_stay() - 1e-9
    if contiguity and c.edges is not None:
        idx = np.flatnonzero(ok)
        for i in idx:
            if contiguity_violations(c.edges, combos[i], m):
                ok[i] = False
    if not ok.any():
        return float("inf"), None
    j = int(np.argmin(np.where(ok, obj, np.inf)))
    return float(obj[j]), combos[j]


def small_instance(seed: int, n: int = 8, m: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    units = pd.DataFrame(
        {
            "unit_id": [f"a{i}" for i in range(n)],
            "lat": rng.uniform(40, 42, n),
            "lon": rng.uniform(-75, -72, n),
            "potential": rng.integers(10, 100, n).astype(float) * 1000,
            "workload": rng.integers(5, 50, n).astype(float),
            "current": [f"r{j}" for j in rng.integers(0, m, n)],
        }
    )
    terrs = pd.DataFrame(
        {
            "territory_id": [f"r{j}" for j in range(m)],
            "home_lat": rng.uniform(40, 42, m),
            "home_lon": rng.uniform(-75, -72, m),
            "capacity": 1.0,
        }
    )
    return units, terrs
