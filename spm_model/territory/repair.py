"""Balance repair by moves and swaps (lexicographic: violation first, then cost).

Turns a rounded LP solution, or any assignment, into one that meets the balance
band and the disruption budget, when single-unit moves and pairwise swaps along
the offered unit-territory pairs can get there.
"""

from __future__ import annotations

import time

import numpy as np

from spm_model.territory.problem import Compiled


def _terr_violation(c: Compiled, load: np.ndarray, t: np.ndarray | int | None = None) -> np.ndarray:
    """Relative violation summed over measures; ``load[..., K]`` belongs to territories ``t``."""
    if t is None:
        hi, lo, tg = c.hi, c.lo, c.target
    else:
        hi, lo, tg = c.hi[t], c.lo[t], c.target[t]
    scale = np.maximum(tg, 1e-12)
    return ((np.maximum(load - hi, 0) + np.maximum(lo - load, 0)) / scale).sum(axis=-1)


def balance_repair(
    c: Compiled,
    assign: np.ndarray,
    cu: np.ndarray,
    ct: np.ndarray,
    time_limit: float = 30.0,
    max_iter: int = 200_000,
) -> np.ndarray:
    """Reduce balance and budget violations to zero by greedy moves and swaps.

    Each step applies the single move (a unit to another of its offered
    territories) that most reduces the total relative violation
    ``sum_t,k (excess over the band) / target + budget excess / total``, breaking
    near-ties by travel/disruption cost. When no move helps, the best swap of two
    units between the most violated territory and a territory its units may go
    to is applied. Stops when feasible, stuck, or out of time.

    Parameters
    ----------
    c : Compiled
        The compiled problem.
    assign : ndarray of int
        Starting solve-level assignment (not modified).
    cu, ct : ndarray of int
        Offered unit-territory pairs.
    time_limit : float
        Seconds.
    max_iter : int
        Largest number of moves and swaps.

    Returns
    -------
    ndarray
        The repaired assignment (check feasibility with ``c.is_feasible``).
    """
    t0 = time.perf_counter()
    a = assign.copy()
    free = c.locked[cu] < 0
    cu, ct = cu[free], ct[free]
    load = c.loads(a)
    use_b = c.budget is not None
    stay_col = c.stay_of(cu, ct) if use_b else None
    kept = c.stayed(a) if use_b else 0.0
    min_stay = c.min_stay()
    tot = max(c.size_total, 1e-12)
    cost_col = c.cost[cu, ct]
    cscale = 1e-9 / (np.abs(c.cost).mean() + 1e-12)

    def bviol(k):
        return np.maximum(min_stay - k, 0.0) / tot if use_b else 0.0

    for _ in range(max_iter):
        if time.perf_counter() - t0 > time_limit:
            break
        vt = _terr_violation(c, load)
        vb = bviol(kept)
        if vt.sum() <= 1e-12 and vb <= 1e-12:
            break
        s = a[cu]
        mv = ct != s
        if vb <= 1e-12:
            mv &= (vt[s] > 0) | (vt[ct] > 0)
        idx = np.flatnonzero(mv)
        if len(idx):
            u, t, ss = cu[idx], ct[idx], s[idx]
            val = c.values[u]
            d = (
                _terr_violation(c, load[ss] - val, ss)
                - vt[ss]
                + _terr_violation(c, load[t] + val, t)
                - vt[t]
            )
            if use_b:
                assert stay_col is not None  # set whenever use_b
                stay_cur = c.stay_of(u, ss)
                d = d + bviol(kept - stay_cur + stay_col[idx]) - vb
            score = d + cscale * (cost_col[idx] - c.cost[u, ss])
            j = int(np.argmin(score))
            if d[j] < -1e-12:
                uu, tt, s0 = int(u[j]), int(t[j]), int(ss[j])
                load[s0] -= c.values[uu]
                load[tt] += c.values[uu]
                if use_b:
                    assert stay_col is not None  # set whenever use_b
                    kept += stay_col[idx[j]] - float(c.stay_of(uu, s0)[0])
                a[uu] = tt
                continue
        if not _best_swap(c, a, load, vt, cu, ct, use_b, kept, bviol):
            break
        if use_b:
            kept = c.stayed(a)
    return a


def _best_swap(c, a, load, vt, cu, ct, use_b, kept, bviol) -> bool:
    """Apply the best violation-reducing swap around the most violated territory."""
    order = np.argsort(-vt)
    for s in order[: min(5, len(order))]:
        if vt[s] <= 0:
            break
        us = cu[a[cu] == s]
        ts = np.unique(ct[(a[cu] == s) & (ct != s)])
        best: tuple[float, tuple[int, int, int] | None] = (-1e-12, None)
        for t in ts:
            u_idx = np.flatnonzero((a[cu] == s) & (ct == t))
            v_idx = np.flatnonzero((a[cu] == t) & (ct == s))
            if not len(u_idx) or not len(v_idx):
                continue
            u = cu[u_idx][:400]
            v = cu[v_idx][:400]
            du = c.values[u][:, None, :]
            dv = c.values[v][None, :, :]
            new_s = load[s][None, None, :] - du + dv
            new_t = load[t][None, None, :] + du - dv
            d = _terr_violation(c, new_s, s) - vt[s] + _terr_violation(c, new_t, t) - vt[t]
            if use_b:
                ks = (
                    kept
                    - c.stay_of(u, s)[:, None]
                    + c.stay_of(u, t)[:, None]
                    - c.stay_of(v, t)[None, :]
                    + c.stay_of(v, s)[None, :]
                )
                d = d + bviol(ks) - bviol(kept)
            i, j = np.unravel_index(int(np.argmin(d)), d.shape)
            if d[i, j] < best[0]:
                best = (float(d[i, j]), (int(u[i]), int(v[j]), int(t)))
        if best[1] is not None:
            u, v, t = best[1]
            load[s] += c.values[v] - c.values[u]
            load[t] += c.values[u] - c.values[v]
            a[u], a[v] = t, s
            return True
        del us
    return False


def improve_local(
    c: Compiled,
    assign: np.ndarray,
    cu: np.ndarray,
    ct: np.ndarray,
    time_limit: float = 30.0,
    tol: float = 1e-9,
) -> np.ndarray:
    """Lower the objective by feasible moves and swaps (first a move pass, then swaps, repeated).

    A *move* sends one unlocked unit to another offered territory; a *swap*
    exchanges two units between two territories. Only steps that keep every
    balance band and the budget are taken, so a feasible start stays feasible.
    Moves are applied in order of gain; swaps are searched per pair of
    territories linked by an offered pair, best swap first.

    Parameters
    ----------
    c : Compiled
        The compiled problem.
    assign : ndarray of int
        Feasible starting assignment (not modified).
    cu, ct : ndarray of int
        Offered unit-territory pairs.
    time_limit : float
        Seconds.
    tol : float
        Smallest gain taken, relative to the mean cost of a unit.

    Returns
    -------
    ndarray
        The improved assignment.
    """
    t0 = time.perf_counter()
    a = assign.copy()
    free = c.locked[cu] < 0
    cu, ct = cu[free], ct[free]
    load = c.loads(a)
    use_b = c.budget is not None
    stay_col = c.stay_of(cu, ct) if use_b else np.zeros(len(cu))
    kept = c.stayed(a) if use_b else 0.0
    min_stay = c.min_stay() - 1e-9 * max(c.size_total, 1.0)
    lo = c.lo - 1e-9 * c.target
    hi = c.hi + 1e-9 * c.target
    eps = tol * (np.abs(c.cost).mean() + 1e-12)
    cost_col = c.cost[cu, ct]
    while time.perf_counter() - t0 < time_limit:
        changed = 0
        # ---- moves
        s = a[cu]
        gain = c.cost[cu, s] - cost_col
        idx = np.flatnonzero((gain > eps) & (ct != s))
        for j in idx[np.argsort(-gain[idx])]:
            u, t = int(cu[j]), int(ct[j])
            s0 = int(a[u])
            if s0 == t or c.cost[u, s0] - cost_col[j] <= eps:
                continue
            v = c.values[u]
            if np.any(load[s0] - v < lo[s0]) or np.any(load[t] + v > hi[t]):
                continue
            if use_b:
                nk = kept - float(c.stay_of(u, s0)[0]) + stay_col[j]
                if nk < min_stay:
                    continue
                kept = nk
            load[s0] -= v
            load[t] += v
            a[u] = t
            changed += 1
        # ---- paired moves under a full budget: a gaining move that moves a unit away
        # from its current territory, paid for by a unit returning to its own
        if use_b and kept - min_stay < 1.0 * (c.size.max() if c.n else 0):
            changed += _paired_moves(c, a, load, cu, ct, cost_col, stay_col, lo, hi, eps)
            kept = c.stayed(a)
        # ---- swaps
        s = a[cu]
        pairs = np.unique(np.column_stack([s, ct])[ct != s], axis=0)
        pairs = pairs[pairs[:, 0] < pairs[:, 1]]
        for s0, t0_ in pairs:
            if time.perf_counter() - t0 > time_limit:
                break
            ia = np.flatnonzero((a[cu] == s0) & (ct == t0_))
            ib = np.flatnonzero((a[cu] == t0_) & (ct == s0))
            if not len(ia) or not len(ib):
                continue
            ua, ub = cu[ia], cu[ib]
            g = (c.cost[ua, s0] - cost_col[ia])[:, None] + (c.cost[ub, t0_] - cost_col[ib])[None, :]
            if g.max() <= eps:
                continue
            dv = c.values[ua][:, None, :] - c.values[ub][None, :, :]  # what s loses, t gains
            ok = (
                np.all(load[s0] - dv >= lo[s0], axis=2)
                & np.all(load[s0] - dv <= hi[s0], axis=2)
                & np.all(load[t0_] + dv >= lo[t0_], axis=2)
                & np.all(load[t0_] + dv <= hi[t0_], axis=2)
            )
            if use_b:
                dk = (stay_col[ia] - c.stay_of(ua, s0))[:, None] + (
                    stay_col[ib] - c.stay_of(ub, t0_)
                )[None, :]
                ok &= kept + dk >= min_stay
            g = np.where(ok, g, -np.inf)
            i, j = np.unravel_index(int(np.argmax(g)), g.shape)
            if g[i, j] > eps:
                u, w = int(ua[i]), int(ub[j])
                load[s0] -= dv[i, j]
                load[t0_] += dv[i, j]
                if use_b:
                    kept += float(dk[i, j])
                a[u], a[w] = t0_, s0
                changed += 1
        if not changed:
            break
    return a


def _paired_moves(c, a, load, cu, ct, cost_col, stay_col, lo, hi, eps) -> int:
    """Apply gaining-move + returning-move pairs that keep the budget and the bands."""
    s = a[cu]
    gain = c.cost[cu, s] - cost_col
    stay_now = c.stay_of(cu, s)
    d_keep = stay_col - stay_now  # change in kept disruption size
    spend = np.flatnonzero((gain > eps) & (ct != s) & (d_keep < 0))
    earn = np.flatnonzero((ct != s) & (d_keep > 0))
    if not len(spend) or not len(earn):
        return 0
    spend = spend[np.argsort(-gain[spend])][:300]
    earn = earn[np.argsort(-gain[earn])][:1000]
    used: set[int] = set()
    done = 0
    ei = 0
    for j in spend:
        u, t = int(cu[j]), int(ct[j])
        s0 = int(a[u])
        if u in used or s0 != s[j]:
            continue
        v_u = c.values[u]
        for jj in earn[ei : ei + 60]:
            w, r = int(cu[jj]), int(ct[jj])
            q = int(a[w])
            if w in used or w == u or q != s[jj]:
                continue
            if gain[j] + gain[jj] <= eps:
                break
            if -d_keep[j] > d_keep[jj] + 1e-9:
                continue
            new: dict[int, np.ndarray] = {}
            for terr, dv in ((s0, -v_u), (t, v_u), (q, -c.values[w]), (r, c.values[w])):
                new[terr] = new.get(terr, load[terr]) + dv
            if any(np.any(ld < lo[tt]) or np.any(ld > hi[tt]) for tt, ld in new.items()):
                continue
            for tt, ld in new.items():
                load[tt] = ld
            a[u], a[w] = t, r
            used.update((u, w))
            done += 1
            break
    return done
