"""Contiguity of territories on a unit adjacency graph: checks, repair, local search.

Used by the heuristic when adjacency is given (the exact MIP enforces contiguity
with flow constraints instead). The local search makes single-unit moves across a
territory border that keep both territories connected, accepting a move when it
lowers ``objective + penalty * total relative balance/budget violation``.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from spm_model.territory.problem import Compiled


def territory_components(edges: np.ndarray, assign: np.ndarray, m: int) -> np.ndarray:
    """Count the connected pieces of every territory.

    Parameters
    ----------
    edges : ndarray of shape (e, 2)
        Undirected unit adjacency (positions).
    assign : ndarray of int
        Territory index per unit (-1 = unassigned, ignored).
    m : int
        Number of territories.

    Returns
    -------
    ndarray of shape (m,), int
        Pieces per territory (0 for an empty territory, 1 when connected).
    """
    n = len(assign)
    same = (
        (assign[edges[:, 0]] == assign[edges[:, 1]]) & (assign[edges[:, 0]] >= 0)
        if len(edges)
        else np.zeros(0, bool)
    )
    e = edges[same] if len(edges) else edges
    g = sp.csr_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    ok = assign >= 0
    pieces = np.zeros(m, dtype=int)
    if ok.any():
        pairs = np.unique(np.column_stack([assign[ok], lab[ok]]), axis=0)
        np.add.at(pieces, pairs[:, 0], 1)
    return pieces


def contiguity_violations(edges: np.ndarray | None, assign: np.ndarray, m: int) -> int:
    """Extra pieces summed over territories (0 = every territory is connected)."""
    if edges is None:
        return 0
    p = territory_components(edges, assign, m)
    return int(np.maximum(p - 1, 0).sum())


def _neighbours(n: int, edges: np.ndarray) -> list[np.ndarray]:
    g = sp.csr_matrix(
        (
            np.ones(2 * len(edges)),
            (np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]]),
        ),
        shape=(n, n),
    )
    return [g.indices[g.indptr[i] : g.indptr[i + 1]] for i in range(n)]


def repair_contiguity(c: Compiled, assign: np.ndarray) -> np.ndarray:
    """Hand every disconnected piece of a territory to an adjacent territory.

    A territory keeps its piece holding the most locked units (ties: the largest
    by the first measure); each other piece goes whole to the adjacent territory
    with the lowest cost for it. Pieces with no adjacent territory stay.
    """
    assert c.edges is not None
    a = assign.copy()
    nbrs = _neighbours(c.n, c.edges)
    for _ in range(c.m * 4):
        n = c.n
        same = a[c.edges[:, 0]] == a[c.edges[:, 1]]
        e = c.edges[same]
        g = sp.csr_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
        _, lab = connected_components(g, directed=False)
        changed = False
        for t in range(c.m):
            units = np.flatnonzero(a == t)
            comps = np.unique(lab[units])
            if len(comps) <= 1:
                continue
            locked_in = np.array(
                [np.sum((lab[units] == q) & (c.locked[units] == t)) for q in comps]
            )
            size = np.array([c.values[units[lab[units] == q], 0].sum() for q in comps])
            keep = comps[np.lexsort((-size, -locked_in))[0]]
            for q in comps:
                if q == keep:
                    continue
                piece = units[lab[units] == q]
                if (c.locked[piece] == t).any():
                    continue
                adj = {int(a[v]) for u in piece for v in nbrs[u] if a[v] != t}
                if not adj:
                    continue
                best = min(adj, key=lambda s: c.cost[piece, s].sum())
                a[piece] = best
                changed = True
        if not changed:
            break
    return a


def _connected_without(members: set[int], drop: int, nbrs: list[np.ndarray]) -> bool:
    rest = members - {drop}
    if not rest:
        return False
    start = next(iter(rest))
    seen = {start}
    dq = deque([start])
    while dq:
        u = dq.popleft()
        for v in nbrs[u]:
            v = int(v)
            if v in rest and v not in seen:
                seen.add(v)
                dq.append(v)
    return len(seen) == len(rest)


def contiguous_local_search(
    c: Compiled,
    assign: np.ndarray,
    time_limit: float = 30.0,
    penalty: float | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Improve an assignment by border moves that keep every territory connected.

    Each move hands one unlocked border unit to an adjacent territory; it is taken
    when it lowers ``objective + penalty * violation``, where ``violation`` sums
    the relative excess over the balance band of every territory and measure plus
    the relative budget excess. Sweeps repeat in random order (``seed``) until no
    move improves or ``time_limit`` seconds pass.

    Returns
    -------
    ndarray
        The improved assignment (connected territories stay connected).
    """
    assert c.edges is not None
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    a = assign.copy()
    n, m = c.n, c.m
    nbrs = _neighbours(n, c.edges)
    if penalty is None:
        penalty = 1e3 * (c.objective(a) / max(m, 1) + 1.0)
    scale = np.maximum(c.target, 1e-12)
    load = c.loads(a)
    stay_d = c.stay.toarray() if c.budget is not None else None
    kept = c.stayed(a) if c.budget is not None else 0.0
    min_stay = c.min_stay()
    members = [set(np.flatnonzero(a == t).tolist()) for t in range(m)]

    def viol_rows(ld: np.ndarray, rows: list[int]) -> float:
        sc = scale[rows]
        return float(
            (np.maximum(ld - c.hi[rows], 0) / sc + np.maximum(c.lo[rows] - ld, 0) / sc).sum()
        )

    def budget_v(k: float) -> float:
        return max(0.0, min_stay - k) / max(c.size_total, 1e-12) if c.budget is not None else 0.0

    improved = True
    while improved and time.perf_counter() - t0 < time_limit:
        improved = False
        for u in rng.permutation(n):
            if c.locked[u] >= 0:
                continue
            s = a[u]
            targets = {int(a[v]) for v in nbrs[u]} - {s}
            if not targets:
                continue
            best_delta, best_t = -1e-9, -1
            for t in targets:
                d_cost = c.cost[u, t] - c.cost[u, s]
                old = viol_rows(load[[s, t]], [s, t])
                new_ld = load[[s, t]].copy()
                new_ld[0] -= c.values[u]
                new_ld[1] += c.values[u]
                d_v = viol_rows(new_ld, [s, t]) - old
                if stay_d is not None:
                    nk = kept - stay_d[u, s] + stay_d[u, t]
                    d_v += budget_v(nk) - budget_v(kept)
                delta = d_cost + penalty * d_v
                if delta < best_delta:
                    best_delta, best_t = delta, t
            if best_t < 0 or not _connected_without(members[s], int(u), nbrs):
                continue
            t = best_t
            load[s] -= c.values[u]
            load[t] += c.values[u]
            if stay_d is not None:
                kept += stay_d[u, t] - stay_d[u, s]
            members[s].discard(int(u))
            members[t].add(int(u))
            a[u] = t
            improved = True
            if time.perf_counter() - t0 > time_limit:
                break
    return a
