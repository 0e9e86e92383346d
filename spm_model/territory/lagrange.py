"""Lagrangian lower bound for large alignments, computed over every unit-territory pair.

Relax the balance rows (two per territory and measure) and the disruption-budget
row with multipliers ``p, q >= 0`` (m, K) and ``mu >= 0``. What is left is
separable by unit::

    L(p, q, mu) = sum_tk p_tk lo_tk - sum_tk q_tk hi_tk + mu * min_stay
                  + sum_u min_t [ c_ut - sum_k (p_tk - q_tk) a_uk - mu * s_ut ]

where ``min_stay = size_total - budget`` is the disruption size that must keep
its territory and ``s_ut`` the size unit ``u`` keeps when it goes to ``t``
(non-zero only for its current territory). For *any* ``p, q, mu >= 0``,
``L`` is a lower bound on the optimum of the integer problem (weak duality);
a locked unit's minimum is taken over its own territory only. Its maximum over
the multipliers equals the optimum of the full LP relaxation (the per-unit
subproblem has integral vertices), so the best ``L`` is as strong as the LP
bound over all ``n x m`` columns, without building that LP.

``L`` is concave and piecewise linear. It is maximised through its entropic
smoothing ``L_eps`` (the inner ``min`` replaced by the soft minimum
``-eps log sum_t exp(-r_ut / eps)``, which lies at most ``eps log m`` below it)
with L-BFGS-B, for a decreasing sequence of ``eps``. The smoothed function is
evaluated over a *priced candidate set*: each unit's ``k`` territories of lowest
reduced cost ``r_ut`` under the current multipliers (plus its current and
locked territory), re-chosen over all ``m`` territories after every smoothing
level (Lagrangian column generation). After each level the *exact* ``L`` is
evaluated over all ``n x m`` pairs, in row blocks (``O(n m K)`` time, a few
blocks of memory), and the best exact value is returned. The bound stated is
therefore the exact Lagrangian function at the returned multipliers: neither
smoothing nor the candidate restriction enters it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from spm_model.territory.problem import Compiled


@dataclass
class LagrangeBound:
    """Result of :func:`lagrangian_dual`.

    Attributes
    ----------
    bound : float
        Exact Lagrangian function at the best multipliers: a valid lower bound
        on the integer optimum.
    y_bal : ndarray
        Balance multipliers ``p - q``, shape (m, K), in the convention of
        :func:`spm_model.territory.heuristic.lagrangian_bound` (positive: the
        lower side of the band binds).
    y_bud : float
        Budget multiplier ``mu`` (>= 0).
    evaluations : int
        Number of (smoothed) function evaluations.
    seconds : float
        Wall time.
    history : list of (float, float)
        ``(eps, best exact bound so far)`` after each smoothing level.
    """

    bound: float
    y_bal: np.ndarray
    y_bud: float
    evaluations: int
    seconds: float
    history: list[tuple[float, float]]


class _Dual:
    """Exact Lagrangian over all pairs, smoothed Lagrangian over candidate pairs."""

    def __init__(self, c: Compiled, block: int = 4096) -> None:
        self.c = c
        self.n, self.m = c.n, c.m
        self.kk = c.values.shape[1]
        # measures scaled so one unit of multiplier is one cost unit per average unit
        self.scale = np.maximum(c.values.mean(axis=0), 1e-12)
        self.a = c.values / self.scale
        self.lo = c.lo / self.scale
        self.hi = c.hi / self.scale
        self.use_b = c.budget is not None and c.size_total > 0
        self.min_stay = c.min_stay() if self.use_b else 0.0
        self.st = c.stay.tocsr()
        self.block = block
        self.locked = c.locked
        self.evals = 0
        self.exact_evals = 0
        self.cu = np.zeros(0, dtype=np.int64)
        self.ct = np.zeros(0, dtype=np.int64)

    def unpack(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        mk = self.m * self.kk
        p = z[:mk].reshape(self.m, self.kk)
        q = z[mk : 2 * mk].reshape(self.m, self.kk)
        mu = float(z[2 * mk]) if self.use_b else 0.0
        return p, q, mu

    def constant(self, p: np.ndarray, q: np.ndarray, mu: float) -> float:
        return float(np.sum(p * self.lo) - np.sum(q * self.hi) + mu * self.min_stay)

    def _reduced_block(self, s: int, e: int, y: np.ndarray, mu: float) -> np.ndarray:
        """Reduced costs ``c - y.a - mu s`` of units ``s:e`` for every territory."""
        r = self.c.cost[s:e] - self.a[s:e] @ y.T
        if mu > 0:
            blk = self.st[s:e].tocoo()
            r[blk.row, blk.col] -= mu * blk.data
        lk = self.locked[s:e]
        if (lk >= 0).any():
            rows = np.flatnonzero(lk >= 0)
            keep = r[rows, lk[rows]].copy()
            r[rows] = np.inf
            r[rows, lk[rows]] = keep
        return r

    def exact(self, z: np.ndarray, k: int = 0) -> float:
        """Exact ``L`` over all pairs; with ``k > 0`` also add the priced candidates."""
        self.exact_evals += 1
        p, q, mu = self.unpack(z)
        y = p - q
        total = self.constant(p, q, mu)
        kc = min(k, self.m)
        per_t = int(np.ceil(2 * k * self.n / max(self.m, 1)))
        new_u: list[np.ndarray] = []
        new_t: list[np.ndarray] = []
        col_best = np.full((0, self.m), np.inf)
        col_arg = np.zeros((0, self.m), dtype=np.int64)
        for s in range(0, self.n, self.block):
            e = min(self.n, s + self.block)
            r = self._reduced_block(s, e, y, mu)
            total += float(r.min(axis=1).sum())
            if not kc:
                continue
            part = (
                np.argpartition(r, kc - 1, axis=1)[:, :kc]
                if kc < self.m
                else np.tile(np.arange(self.m), (e - s, 1))
            )
            new_u.append(np.repeat(np.arange(s, e), part.shape[1]))
            new_t.append(part.ravel())
            # territory side: every territory's cheapest units, so that no territory's
            # lower band is out of reach of the candidates (that would let the smoothed
            # function grow without bound in its multiplier)
            h = min(per_t, e - s)
            top = (
                np.argpartition(r, h - 1, axis=0)[:h]
                if h < e - s
                else np.tile(np.arange(e - s)[:, None], (1, self.m))
            )
            vals = np.take_along_axis(r, top, axis=0)
            col_best = np.vstack([col_best, vals])
            col_arg = np.vstack([col_arg, top + s])
            if len(col_best) > per_t:
                keep = np.argpartition(col_best, per_t - 1, axis=0)[:per_t]
                col_best = np.take_along_axis(col_best, keep, axis=0)
                col_arg = np.take_along_axis(col_arg, keep, axis=0)
        if kc:
            finite = np.isfinite(col_best)
            new_u.append(col_arg[finite])
            new_t.append(np.broadcast_to(np.arange(self.m), col_arg.shape)[finite])
            self._add_candidates(np.concatenate(new_u), np.concatenate(new_t))
        return total

    def _add_candidates(self, cu: np.ndarray, ct: np.ndarray) -> None:
        """Join pairs to the candidate set (with every unit's current and locked territory)."""
        cur = self.c.current_super()
        has = np.flatnonzero(cur >= 0)
        cu = np.concatenate([self.cu, cu, has])
        ct = np.concatenate([self.ct, ct, cur[has]])
        lk = self.locked[cu]
        ok = (lk < 0) | (lk == ct)
        lk_units = np.flatnonzero(self.locked >= 0)
        cu = np.concatenate([cu[ok], lk_units])
        ct = np.concatenate([ct[ok], self.locked[lk_units]])
        key = np.unique(cu.astype(np.int64) * self.m + ct)
        self.cu, self.ct = key // self.m, key % self.m
        self.starts = np.r_[0, np.flatnonzero(np.diff(self.cu)) + 1]
        self.cost_c = self.c.cost[self.cu, self.ct]
        self.a_c = self.a[self.cu]
        self.stay_c = self.c.stay_of(self.cu, self.ct)

    def smooth(self, z: np.ndarray, eps: float) -> tuple[float, np.ndarray]:
        """Negative smoothed ``L_eps`` over the candidates and its gradient."""
        self.evals += 1
        p, q, mu = self.unpack(z)
        y = p - q
        val = self.constant(p, q, mu)
        r = self.cost_c - np.einsum("uk,uk->u", self.a_c, y[self.ct])
        if mu > 0:
            r -= mu * self.stay_c
        rmin = np.minimum.reduceat(r, self.starts)
        counts = np.diff(np.r_[self.starts, len(r)])
        w = np.exp((np.repeat(rmin, counts) - r) / eps)
        tot = np.add.reduceat(w, self.starts)
        val += float(np.sum(rmin - eps * np.log(tot)))
        w /= np.repeat(tot, counts)
        load = np.column_stack(
            [
                np.bincount(self.ct, weights=w * self.a_c[:, kq], minlength=self.m)
                for kq in range(self.kk)
            ]
        )
        grad = [(self.lo - load).ravel(), (load - self.hi).ravel()]
        if self.use_b:
            grad.append(np.array([self.min_stay - float(np.dot(w, self.stay_c))]))
        return -val, -np.concatenate(grad)


def lagrangian_dual(
    c: Compiled,
    time_limit: float = 120.0,
    y_bal: np.ndarray | None = None,
    y_bud: float = 0.0,
    eps_levels: tuple[float, ...] | None = None,
    max_iter: int = 30,
    max_rounds: int = 6,
    k: int = 8,
    block: int = 4096,
) -> LagrangeBound:
    """Maximise the Lagrangian function over balance and budget multipliers.

    Parameters
    ----------
    c : Compiled
        The compiled problem (every unit-territory pair is priced).
    time_limit : float
        Seconds (soft: the exact evaluation under way finishes); the best
        exact bound found by then is returned.
    y_bal : ndarray, optional
        Starting balance multipliers (m, K) in the convention of
        :func:`spm_model.territory.heuristic.lagrangian_bound` (e.g. LP duals).
    y_bud : float
        Starting budget multiplier.
    eps_levels : tuple of float, optional
        Smoothing levels, in cost units (default: 2%, 0.5%, 0.1%, 0.02% and
        0.005% of the mean cheapest cost per unit).
    max_iter : int
        L-BFGS-B iterations per pricing round.
    max_rounds : int
        Pricing rounds per smoothing level (a level ends earlier when the exact
        bound stalls and pricing adds almost no candidates).
    k : int
        Candidate territories per unit in the smoothed function.
    block : int
        Rows per block of the ``n x m`` reduced-cost matrix.

    Returns
    -------
    LagrangeBound
    """
    t0 = time.perf_counter()
    d = _Dual(c, block=block)
    mk = d.m * d.kk
    z = np.zeros(2 * mk + (1 if d.use_b else 0))
    if y_bal is not None:
        ys = np.asarray(y_bal, dtype=float) * d.scale[None, :]
        z[:mk] = np.maximum(ys, 0).ravel()
        z[mk : 2 * mk] = np.maximum(-ys, 0).ravel()
    if d.use_b:
        z[2 * mk] = max(float(y_bud), 0.0)
    best_val = d.exact(z, k=k)
    best_z = z.copy()
    if eps_levels is None:
        base = float(np.mean(c.cost.min(axis=1))) if c.n else 1.0
        base = max(abs(base), 1e-9)
        eps_levels = tuple(f * base for f in (0.02, 0.005, 0.001, 0.0002, 0.00005))
    history: list[tuple[float, float]] = []
    bounds = [(0.0, None)] * len(z)

    class _Stop(Exception):
        pass

    for eps in eps_levels:
        for _round in range(max_rounds):
            if time.perf_counter() - t0 > time_limit:
                break
            last = [z]

            def fun(
                zz: np.ndarray, eps: float = eps, last: list = last
            ) -> tuple[float, np.ndarray]:
                if time.perf_counter() - t0 > time_limit:
                    raise _Stop
                last[0] = zz
                return d.smooth(zz, eps)

            try:
                res = minimize(
                    fun,
                    z,
                    jac=True,
                    method="L-BFGS-B",
                    bounds=bounds,
                    options={"maxiter": max_iter, "ftol": 1e-13, "gtol": 1e-12},
                )
                z = res.x
            except _Stop:
                z = last[0]
            before = len(d.cu)
            val = d.exact(z, k=k)  # valid bound at z; price new candidates
            improved = val > best_val + 1e-6 * abs(best_val)
            if val > best_val:
                best_val, best_z = val, z.copy()
            # next level once the candidates are stable and the bound stalls
            if not improved and len(d.cu) - before < 1e-3 * d.n:
                break
        history.append((eps, best_val))
    p, q, mu = d.unpack(best_z)
    return LagrangeBound(
        bound=float(best_val),
        y_bal=(p - q) / d.scale[None, :],
        y_bud=mu,
        evaluations=d.evals,
        seconds=time.perf_counter() - t0,
        history=history,
    )


def reduced_costs(c: Compiled, y_bal: np.ndarray, y_bud: float, units: np.ndarray) -> np.ndarray:
    """Lagrangian reduced costs ``c - y.a - mu s`` of ``units`` for every territory (dense)."""
    r = c.cost[units] - c.values[units] @ y_bal.T
    if c.budget is not None and y_bud > 0:
        r -= y_bud * c.stay[units].toarray()
    lk = c.locked[units]
    rows = np.flatnonzero(lk >= 0)
    if len(rows):
        keep = r[rows, lk[rows]].copy()
        r[rows] = np.inf
        r[rows, lk[rows]] = keep
    return r


def lagrangian_candidates(
    c: Compiled, lb: LagrangeBound, k: int = 4, block: int = 4096
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Price every pair at the multipliers of ``lb``.

    Returns
    -------
    (ndarray, ndarray, ndarray, ndarray)
        The Lagrangian assignment (each unit's territory of least reduced cost),
        each unit's regret (second least minus least reduced cost), and the
        candidate pairs ``(cu, ct)``: every unit's ``k`` territories of least
        reduced cost, sorted by unit.
    """
    kc = min(k, c.m)
    arg = np.empty(c.n, dtype=np.int64)
    regret = np.full(c.n, np.inf)
    top = np.empty((c.n, kc), dtype=np.int64)
    for s in range(0, c.n, block):
        e = min(c.n, s + block)
        r = reduced_costs(c, lb.y_bal, lb.y_bud, np.arange(s, e))
        part = (
            np.argpartition(r, kc - 1, axis=1)[:, :kc]
            if kc < c.m
            else np.tile(np.arange(c.m), (e - s, 1))
        )
        vals = np.take_along_axis(r, part, axis=1)
        order = np.argsort(vals, axis=1)
        part = np.take_along_axis(part, order, axis=1)
        vals = np.take_along_axis(vals, order, axis=1)
        top[s:e] = part
        arg[s:e] = part[:, 0]
        if kc > 1:
            regret[s:e] = vals[:, 1] - vals[:, 0]
    cu = np.repeat(np.arange(c.n), kc)
    return arg, regret, cu, top.ravel()
