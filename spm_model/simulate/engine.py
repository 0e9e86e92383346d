"""Scenario generation and plan evaluation for one chunk of scenarios.

Random streams
--------------
Scenarios are grouped in fixed **blocks** of :data:`SCENARIO_BLOCK` scenarios and
reps in fixed blocks of :data:`REP_BLOCK` reps. Every (kind, scenario block, rep
block) has its own stream, the child ``SeedSequence(seed).spawn`` would give at
that position (``SeedSequence(seed, spawn_key=(kind, block, rep_block))``).
A chunk is any range of scenarios: it generates the blocks it touches (a block
cut by a chunk boundary is generated whole and sliced), so every scenario gets
the same numbers whatever the chunk size, worker count or backend.

Exact reductions
----------------
Payouts are cents and credited amounts are rounded to the cent, so every total
is a sum of integers. They are summed as integer-valued float64 (exact below
2**53 cents) and stored as int64: totals are bit-identical whatever the order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spm_model.errors import SpmConfigError
from spm_model.plans import Plan
from spm_model.plans.money import round_cents_array
from spm_model.simulate.marginals import attainment_from_scores, lognormal_params
from spm_model.simulate.model import FAMILY_CODE, ScenarioModel

SCENARIO_BLOCK = 100
REP_BLOCK = 1024
#: Target number of elements per (scenarios x reps x periods) work array: small
#: enough for the CPU cache and the allocator's free lists, large enough to
#: amortise numpy's per-call overhead.
BATCH_ELEMENTS = 1 << 18

KIND_FACTORS, KIND_EPS, KIND_REP, KIND_ATTRITION, KIND_DEALS = range(5)

#: Horizon attainment bins for the leverage curve and the attainment histogram.
LEVERAGE_EDGES = np.round(np.arange(0.0, 3.0001, 0.05), 10)
HIST_EDGES = np.round(np.arange(0.0, 3.0001, 0.02), 10)
#: Per-rep payouts are kept for at most this many reps x scenarios.
REP_DETAIL_ELEMENTS = 4_000_000


def stream(seed: int, kind: int, block: int, rep_block: int = 0) -> np.random.Generator:
    """Return the generator of one (kind, scenario block, rep block): a ``spawn`` child."""
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(kind, block, rep_block)))
    )


# -- plan context ------------------------------------------------------------------------------
@dataclass
class PlanContext:
    """Per-plan arrays prepared once: target incentive, draws, pay-period layout.

    Parameters
    ----------
    plan : Plan
    measures : list of str
        Model measures the plan reads (index into the model's measure axis).
    ti : ndarray, shape (R, P)
        Target incentive per rep and measurement period (currency).
    draws : ndarray, shape (R, P_pay) or None
        Draw guarantee of incumbents per pay period (currency).
    backfill_draws : ndarray, shape (P + 1, R, P_pay) or None
        Draw guarantee of a backfill starting in period ``t`` (first index).
    pay_end : ndarray of int, shape (P_pay,)
        Last measurement period of each pay period.
    """

    plan: Plan
    measure_index: dict[str, int]
    ti: np.ndarray
    draws: np.ndarray | None
    backfill_draws: np.ndarray | None
    pay_end: np.ndarray
    compiled: Any = None

    @property
    def n_pay(self) -> int:
        """Number of pay periods in the horizon."""
        return int(self.pay_end.shape[0])


def _period_ti(plan: Plan, ote: np.ndarray) -> np.ndarray:
    uniq, inv = np.unique(np.nan_to_num(ote, nan=-1.0), return_inverse=True)
    vals = np.array(
        [float(plan.period_target_incentive(None if u < 0 else float(u))) for u in uniq]
    )
    return vals[inv]


def prepare_plan(plan: Plan, model: ScenarioModel) -> PlanContext:
    """Check that ``plan`` fits ``model`` and precompute its per-rep arrays."""
    freq = model.freq
    if plan.measurement_period != freq:
        raise SpmConfigError(
            f"plan {plan.id!r} measures per {plan.measurement_period}, but the scenarios are "
            f"per {freq}: build the scenario model with freq={plan.measurement_period!r}"
        )
    missing = [m for m in plan.measures if m not in model.measures]
    if missing:
        raise SpmConfigError(
            f"plan {plan.id!r} pays on measure(s) {', '.join(missing)} that the scenario model "
            f"does not simulate (it has: {', '.join(model.measures)})"
        )
    k = plan.periods_per_pay
    p = model.n_periods
    n_pay = (p + k - 1) // k
    pay_end = np.minimum(np.arange(n_pay) * k + k - 1, p - 1)
    ti_rep = _period_ti(plan, model.ote)
    ti = np.repeat(ti_rep[:, None], p, axis=1)
    draws = backfill = None
    if plan.draw is not None:
        d = plan.draw

        def amounts(start_pay: np.ndarray) -> np.ndarray:
            pay = np.arange(n_pay)[None, :] - start_pay[:, None]
            window = (pay >= 0) & (pay < d.periods)
            if d.amount is not None:
                per = np.full(model.n_reps, float(d.amount))
            else:
                per = round_cents_array((d.fraction_of_target or 0.0) * ti_rep * k)
            return np.where(window, per[:, None], 0.0)

        if d.starts == "hire_date":
            draws = amounts(np.floor_divide(model.hire_period, k))
        else:
            draws = amounts(np.zeros(model.n_reps, dtype=np.int64))
        backfill = np.stack([amounts(np.full(model.n_reps, t // k)) for t in range(p + 1)])
    idx = {m: i for i, m in enumerate(model.measures)}
    compiled = None
    if not plan.cumulative:
        from spm_model.plans.fast import _HAVE_NUMBA, compile_plan

        compiled = compile_plan(plan) if _HAVE_NUMBA else None
    return PlanContext(plan, idx, ti, draws, backfill, pay_end, compiled)


def period_payable(
    ctx: PlanContext,
    credited: dict[str, np.ndarray],
    quota: dict[str, np.ndarray],
    ti: np.ndarray,
    draws: np.ndarray | None,
) -> np.ndarray:
    """Net pay per pay period, shape ``(..., P_pay)``: ``payout_arrays_periods()["payable"]``.

    For plans measured period by period (not cumulative) whose components the
    fused kernel supports, the per-period totals come from
    :func:`spm_model.plans.fast.fast_payout_total` (one pass over memory) and the
    pay-period sums and draws follow the engine's own rules; otherwise the
    engine's :meth:`Plan.payout_arrays_periods` is used. Both give the same cents.
    """
    plan = ctx.plan
    if draws is None:
        draws = np.zeros(ctx.n_pay)
    if ctx.compiled is None:
        return plan.payout_arrays_periods(credited, quota, ti, draws=draws)["payable"]
    from spm_model.plans.fast import fast_payout_total
    from spm_model.plans.sequencing import apply_draws_arrays

    shape = np.broadcast_shapes(*(np.shape(v) for v in credited.values()))
    p = shape[-1]
    lead = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    width = shape[-2] * p if len(shape) >= 2 else p

    def flat(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.shape == shape:
            return x.reshape(lead, width)
        tail = np.broadcast_to(x, shape[-2:] if len(shape) >= 2 else shape)
        return np.broadcast_to(np.ascontiguousarray(tail).reshape(1, width), (lead, width))

    earned = fast_payout_total(
        plan,
        {k: flat(v) for k, v in credited.items()},
        {k: flat(v) for k, v in quota.items()},
        flat(ti),
        compiled=ctx.compiled,
    ).reshape(shape)
    k = plan.periods_per_pay
    if k > 1:
        pad = ctx.n_pay * k - p
        if pad:
            earned = np.concatenate([earned, np.zeros((*shape[:-1], pad))], axis=-1)
        pay_due = round_cents_array(earned.reshape((*shape[:-1], ctx.n_pay, k)).sum(axis=-1))
    else:
        pay_due = earned
    if plan.draw is not None and np.any(np.asarray(draws) > 0):
        return apply_draws_arrays(
            pay_due,
            draws,
            recoverable=plan.draw.kind == "recoverable",
            recover_after_window=plan.draw.recover_after_window,
        )["payable"]
    return pay_due


# -- chunk output ------------------------------------------------------------------------------
@dataclass
class ChunkOutput:
    """Reductions of one chunk ``[start, stop)`` (all money in integer cents)."""

    start: int
    stop: int
    cost: np.ndarray  # (n_plans, S)
    cost_pay: np.ndarray  # (n_plans, S, P_pay)
    revenue: np.ndarray  # (S,)
    revenue_measure: np.ndarray  # (S, M)
    level_counts: np.ndarray  # (S, 3)
    eligible: np.ndarray  # (S,)
    leavers: np.ndarray  # (S,)
    rep_sum: np.ndarray  # (n_plans, R)
    rep_detail: np.ndarray  # (n_plans, S_detail, R)
    lev_pay: np.ndarray  # (n_plans, NB)
    lev_ti: np.ndarray  # (n_plans, NB)
    lev_n: np.ndarray  # (NB,)
    att_hist: np.ndarray  # (NH,)


def bin_index(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Index of the last edge ``<= x`` (equally spaced edges), clipped to the bins.

    Same as ``searchsorted(edges, x, "right") - 1`` but a multiply and two
    corrections instead of a binary search.
    """
    n = len(edges)
    step = (edges[-1] - edges[0]) / (n - 1)
    f = np.nan_to_num((np.asarray(x, dtype=np.float64) - edges[0]) / step, nan=0.0)
    i = np.clip(np.floor(f), 0, n - 1).astype(np.int64)
    i -= (edges[i] > x) & (i > 0)
    up = np.minimum(i + 1, n - 1)
    i += (edges[up] <= x) & (up > i)
    return i


def _last_sum(x: np.ndarray) -> np.ndarray:
    """Sum over the last (short) axis as a matrix-vector product (exact on integer cents)."""
    return (x.reshape(-1, x.shape[-1]) @ np.ones(x.shape[-1])).reshape(x.shape[:-1])


def _cents(x: np.ndarray) -> np.ndarray:
    """Integer-valued float cents of a money array."""
    return np.rint(x * 100.0)


@dataclass
class EvalSettings:
    """What to measure: primary measure and attainment levels, rep-detail depth."""

    primary: int
    levels: tuple[float, float, float]
    detail_scenarios: int


def _batches(start: int, stop: int, per_batch: int) -> list[tuple[int, int]]:
    """Split ``[start, stop)`` at block boundaries into runs of ``per_batch`` blocks."""
    out = []
    b0 = start // SCENARIO_BLOCK
    b_last = (stop - 1) // SCENARIO_BLOCK
    b = b0
    while b <= b_last:
        e = min(b + per_batch, b_last + 1)
        out.append((max(start, b * SCENARIO_BLOCK), min(stop, e * SCENARIO_BLOCK)))
        b = e
    return out


def _fill(
    seed: int,
    kind: int,
    rb: int,
    a: int,
    b: int,
    shape_tail: tuple[int, ...],
    n_arrays: int,
    draw: str = "normal",
) -> list[np.ndarray]:
    """Draw ``n_arrays`` arrays of shape ``(b - a, *shape_tail)`` for scenarios ``[a, b)``.

    Every block is drawn whole from its stream (arrays in order), then sliced.
    """
    outs = [np.empty((b - a, *shape_tail)) for _ in range(n_arrays)]
    blk = a // SCENARIO_BLOCK
    while blk * SCENARIO_BLOCK < b:
        lo, hi = blk * SCENARIO_BLOCK, (blk + 1) * SCENARIO_BLOCK
        g = stream(seed, kind, blk, rb)
        s0, s1 = max(lo, a), min(hi, b)
        whole = s0 == lo and s1 == hi
        for arr in outs:
            if whole:
                target = arr[s0 - a : s1 - a]
                if draw == "normal":
                    g.standard_normal(out=target)
                else:
                    g.random(out=target)
            else:
                tmp = (
                    g.standard_normal((SCENARIO_BLOCK, *shape_tail))
                    if draw == "normal"
                    else g.random((SCENARIO_BLOCK, *shape_tail))
                )
                arr[s0 - a : s1 - a] = tmp[s0 - lo : s1 - lo]
        blk += 1
    return outs


def _large_deals(
    model: ScenarioModel, seed: int, rb: int, a: int, b: int, reps: slice, m: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sparse large deals of measure ``m``: flat positions in (S, K, P), sizes (of quota)."""
    ld = model.large_deals
    assert ld is not None
    k = reps.stop - reps.start
    p = model.n_periods
    per_block = SCENARIO_BLOCK * k * p
    pos_all, size_all = [], []
    blk = a // SCENARIO_BLOCK
    mu, s = (
        np.log(ld.size_mean[m]) - 0.5 * np.log1p((ld.size_sd[m] / ld.size_mean[m]) ** 2),
        np.sqrt(np.log1p((ld.size_sd[m] / ld.size_mean[m]) ** 2)),
    )
    while blk * SCENARIO_BLOCK < b:
        g = stream(seed, KIND_DEALS, blk, rb * 64 + m)
        n = g.binomial(per_block, ld.prob[m])
        pos = g.integers(0, per_block, size=n)
        size = g.lognormal(mu, s, size=n)
        scen = pos // (k * p) + blk * SCENARIO_BLOCK
        keep = (scen >= a) & (scen < b)
        pos_all.append(pos[keep] + (blk * SCENARIO_BLOCK - a) * k * p)
        size_all.append(size[keep])
        blk += 1
    return np.concatenate(pos_all), np.concatenate(size_all)


def run_chunk(
    model: ScenarioModel,
    contexts: Sequence[PlanContext],
    settings: EvalSettings,
    seed: int,
    start: int,
    stop: int,
) -> ChunkOutput:
    """Simulate scenarios ``[start, stop)`` and reduce them for every plan.

    Returns
    -------
    ChunkOutput
        Per-scenario totals and integer accumulators (cents).
    """
    n_s = stop - start
    n_plans = len(contexts)
    r_all, m_all, p = model.n_reps, model.n_measures, model.n_periods
    n_pay = contexts[0].n_pay
    n_lev, n_hist = len(LEVERAGE_EDGES), len(HIST_EDGES)
    n_detail = max(0, min(stop, settings.detail_scenarios) - start)
    out = ChunkOutput(
        start,
        stop,
        cost=np.zeros((n_plans, n_s), np.int64),
        cost_pay=np.zeros((n_plans, n_s, n_pay), np.int64),
        revenue=np.zeros(n_s, np.int64),
        revenue_measure=np.zeros((n_s, m_all), np.int64),
        level_counts=np.zeros((n_s, 3), np.int32),
        eligible=np.zeros(n_s, np.int32),
        leavers=np.zeros(n_s, np.int32),
        rep_sum=np.zeros((n_plans, r_all), np.int64),
        rep_detail=np.zeros((n_plans, n_detail, r_all), np.int64),
        lev_pay=np.zeros((n_plans, n_lev), np.int64),
        lev_ti=np.zeros((n_plans, n_lev), np.int64),
        lev_n=np.zeros(n_lev, np.int64),
        att_hist=np.zeros(n_hist, np.int64),
    )
    if n_s <= 0:
        return out
    ramp = model.ramp_factor()
    scale = model.basis * model.season[None, :, :] * ramp[:, None, :]
    a_c, a_g, a_r = np.sqrt([model.rho_company, model.rho_group, model.rho_rep])
    a_e = np.sqrt(max(0.0, 1.0 - model.rho_company - model.rho_group - model.rho_rep))
    n_groups = max(1, len(model.group_names))
    hazard = 1.0 - (1.0 - model.attrition) ** (
        1.0 / {"month": 12, "quarter": 4, "year": 1}[model.freq]
    )

    for rb in range((r_all + REP_BLOCK - 1) // REP_BLOCK):
        reps = slice(rb * REP_BLOCK, min(r_all, (rb + 1) * REP_BLOCK))
        k = reps.stop - reps.start
        per_batch = max(1, BATCH_ELEMENTS // (SCENARIO_BLOCK * k * p))
        for a, b in _batches(start, stop, per_batch):
            credited = _scenario_credited(
                model, seed, rb, a, b, reps, scale, (a_c, a_g, a_r, a_e), n_groups
            )
            # attrition: departure period T per (scenario, rep); T >= P means staying
            rows = slice(a - start, b - start)
            depart = seats = None
            known = None if model.departure is None else model.departure[reps]
            if known is not None and not np.any(known < p):
                known = None
            if model.attrition > 0 or known is not None:
                if model.attrition > 0:
                    (u,) = _fill(seed, KIND_ATTRITION, rb, a, b, (k,), 1, draw="uniform")
                    with np.errstate(divide="ignore"):
                        t_rand = np.floor(np.log1p(-u) / np.log1p(-hazard))
                    depart = np.minimum(t_rand, p + 1).astype(np.int64)
                else:
                    depart = np.full((b - a, k), p + 1, np.int64)
                # random leavers get a modelled backfill; known leavers (end_date in the data)
                # do not: their replacements are the data's own new hires
                if known is not None:
                    random_first = depart < known[None, :]
                    seats = _backfill_seats(
                        model, credited, np.where(random_first, depart, p + 1), reps
                    )
                    depart = np.minimum(depart, known[None, :])
                else:
                    seats = _backfill_seats(model, credited, depart, reps)
                tt = np.arange(p)[None, None, :]
                keep = np.where(
                    tt < depart[:, :, None], 1.0, np.where(tt == depart[:, :, None], 0.5, 0.0)
                )
                for m in range(m_all):
                    credited[m] *= keep
            cents = [np.rint(c, out=c) for c in credited]
            credited = [c * 0.01 for c in cents]
            rev_m = np.stack([c.reshape(c.shape[0], -1).sum(axis=1) for c in cents], axis=1)
            if seats is not None:
                for m in range(m_all):
                    np.add.at(rev_m[:, m], seats.s_idx, _cents(seats.credited[m]).sum(axis=1))
            _evaluate(
                model, contexts, settings, credited, cents, depart, seats, reps, rows, out, rev_m
            )
    return out


def _scenario_credited(
    model: ScenarioModel,
    seed: int,
    rb: int,
    a: int,
    b: int,
    reps: slice,
    scale: np.ndarray,
    loads: tuple[float, float, float, float],
    n_groups: int,
) -> list[np.ndarray]:
    """Credited amounts in cents (unrounded) per measure, each of shape (S, K, P)."""
    k = reps.stop - reps.start
    p, n_m = model.n_periods, model.n_measures
    n_s = b - a
    if model.draws is not None:
        d = model.draws.shape[0]
        idx = np.arange(a, b) % d
        return [model.draws[idx, reps, m, :] * 100.0 for m in range(n_m)]
    a_c, a_g, a_r, a_e = loads
    common = None
    if a_c > 0 or a_g > 0:
        c_f, g_f = _fill(seed, KIND_FACTORS, 0, a, b, (p,), 1) + _fill(
            seed, KIND_FACTORS, 1, a, b, (n_groups, p), 1
        )
        common = a_c * c_f[:, None, :] + a_g * g_f[:, model.group[reps], :]
    if a_r > 0:
        (e_r,) = _fill(seed, KIND_REP, rb, a, b, (k,), 1)
        rep_part = (a_r * e_r)[:, :, None]
        common = rep_part if common is None else common + rep_part
    eps = _fill(seed, KIND_EPS, rb, a, b, (k, p), n_m)
    out = []
    mg = model.marginals
    for m in range(n_m):
        z = eps[m]
        scale_c = 100.0 * scale[reps, m, :]  # basis (quota) x season x ramp, in cents
        plain = not np.any(mg.p_zero[reps, m])
        if plain and np.all(mg.family[reps, m] == FAMILY_CODE["lognormal"]):
            # exp(mu + s z) x scale folded into one exponent: exp(s z + mu + log(scale))
            mu, sig = lognormal_params(mg.mean[reps, m], mg.sd[reps, m])
            z *= (a_e * sig)[None, :, None]
            if common is not None:
                z += common * sig[None, :, None]
            with np.errstate(divide="ignore"):
                z += (mu[:, None] + np.log(scale_c))[None, :, :]
            x = np.exp(z, out=z)
        else:
            if a_e != 1.0:
                z *= a_e
            if common is not None:
                z += common
            x = attainment_from_scores(z, mg, reps, m)
            x *= scale_c[None, :, :]
        if model.large_deals is not None and model.large_deals.prob[m] > 0:
            pos, size = _large_deals(model, seed, rb, a, b, reps, m)
            q = np.broadcast_to(100.0 * model.basis[reps, m, :][None], (n_s, k, p)).ravel()
            np.add.at(x.reshape(-1), pos, size * q[pos])
        out.append(x)
    return out


def _evaluate(
    model: ScenarioModel,
    contexts: Sequence[PlanContext],
    settings: EvalSettings,
    credited: list[np.ndarray],
    cents: list[np.ndarray],
    depart: np.ndarray | None,
    seats: _Seats | None,
    reps: slice,
    rows: slice,
    out: ChunkOutput,
    rev_m: np.ndarray,
) -> None:
    p = model.n_periods
    out.revenue_measure[rows] += rev_m.astype(np.int64)
    out.revenue[rows] += rev_m.sum(axis=1).astype(np.int64)
    pm = settings.primary
    q_h = model.quota[reps, pm, :].sum(axis=1)  # horizon quota of the primary measure
    att = _last_sum(cents[pm]) * 0.01 / np.where(q_h > 0, q_h, 1.0)[None, :]
    eligible = np.broadcast_to(q_h > 0, att.shape)
    if depart is not None:
        eligible = eligible & (depart >= p)
        out.leavers[rows] += (depart < p).sum(axis=1).astype(np.int32)
    out.eligible[rows] += eligible.sum(axis=1).astype(np.int32)
    for j, lvl in enumerate(settings.levels):
        out.level_counts[rows, j] += (eligible & (att >= lvl - 1e-12)).sum(axis=1).astype(np.int32)
    lev_idx = bin_index(att, LEVERAGE_EDGES)
    hist_idx = bin_index(att, HIST_EDGES)
    el = eligible.ravel()
    out.lev_n += np.bincount(lev_idx.ravel()[el], minlength=len(LEVERAGE_EDGES))
    out.att_hist += np.bincount(hist_idx.ravel()[el], minlength=len(HIST_EDGES))
    n_detail = out.rep_detail.shape[1]
    for i, ctx in enumerate(contexts):
        plan = ctx.plan
        cred = {
            name: credited[ctx.measure_index[name]]
            for name in plan.measures
            if name in ctx.measure_index
        }
        quota = {name: model.quota[reps, ctx.measure_index[name], :] for name in cred}
        ti = ctx.ti[reps]
        draws = ctx.draws[reps] if ctx.draws is not None else None
        pay = _cents(period_payable(ctx, cred, quota, ti, draws))  # (S, K, P_pay)
        if depart is not None:
            paid = ctx.pay_end[None, None, :] < depart[:, :, None]
            pay *= paid
        rep_h = _last_sum(pay)  # (S, K) horizon payout per seat
        out.cost_pay[i, rows] += pay.sum(axis=1).astype(np.int64)
        ti_h = _cents(ti).sum(axis=1)
        out.lev_pay[i] += np.bincount(
            lev_idx.ravel()[el], weights=rep_h.ravel()[el], minlength=len(LEVERAGE_EDGES)
        ).astype(np.int64)
        out.lev_ti[i] += np.bincount(
            lev_idx.ravel()[el],
            weights=np.broadcast_to(ti_h[None, :], rep_h.shape).ravel()[el],
            minlength=len(LEVERAGE_EDGES),
        ).astype(np.int64)
        if seats is not None:
            _backfill(ctx, seats, rows, out, i, rep_h)
        out.cost[i, rows] += rep_h.sum(axis=1).astype(np.int64)
        out.rep_sum[i, reps] += rep_h.sum(axis=0).astype(np.int64)
        r0 = rows.start
        if r0 < n_detail:
            hi = min(n_detail, rows.stop)
            out.rep_detail[i, r0:hi, reps] = rep_h[: hi - r0].astype(np.int64)


@dataclass
class _Seats:
    """Backfills of one batch: where they sit, when they start, what they credit."""

    s_idx: np.ndarray  # scenario row in the batch
    k_idx: np.ndarray  # rep column in the rep block
    r_idx: np.ndarray  # rep index in the model
    start: np.ndarray  # first period of the backfill
    credited: list[np.ndarray]  # per measure (n, P), cents-rounded currency
    quota: list[np.ndarray]  # per measure (n, P)
    tenure: np.ndarray  # (n, P) periods since start (negative before)


def _backfill_seats(
    model: ScenarioModel, credited: list[np.ndarray], depart: np.ndarray, reps: slice
) -> _Seats | None:
    """Backfills of leavers, from ``T + 1 + vacancy_periods``, on the seat's own luck, ramped."""
    p = model.n_periods
    start = depart + 1 + model.vacancy_periods
    s_idx, k_idx = np.nonzero(start < p)
    if s_idx.size == 0:
        return None
    r_idx = k_idx + reps.start
    st = start[s_idx, k_idx]
    tenure = np.arange(p)[None, :] - st[:, None]
    ramp = np.asarray(model.ramp, dtype=np.float64) if model.ramp else np.ones(1)
    on = tenure >= 0
    prod = np.where(on, ramp[np.clip(tenure, 0, len(ramp) - 1)], 0.0)
    prod = np.where(tenure >= len(ramp), 1.0, prod)
    qfac = prod if model.backfill_quota == "ramped" else on.astype(np.float64)
    ramp_now = model.ramp_factor()[r_idx]  # the incumbent's own ramp is not the backfill's
    with np.errstate(divide="ignore", invalid="ignore"):
        undo = np.where(ramp_now > 0, 1.0 / np.where(ramp_now > 0, ramp_now, 1.0), 0.0)
    cred, quota = [], []
    for m in range(model.n_measures):
        cred.append(np.rint(credited[m][s_idx, k_idx, :] * undo * prod) * 0.01)
        quota.append(_cents(model.quota[r_idx, m, :] * qfac) * 0.01)
    return _Seats(s_idx, k_idx, r_idx, st, cred, quota, tenure)


def _backfill(
    ctx: PlanContext, seats: _Seats, rows: slice, out: ChunkOutput, i: int, rep_h: np.ndarray
) -> None:
    """Add the backfills' payouts (own target incentive from their start, own draws)."""
    plan = ctx.plan
    cred = {
        n: seats.credited[ctx.measure_index[n]] for n in plan.measures if n in ctx.measure_index
    }
    quota = {n: seats.quota[ctx.measure_index[n]] for n in cred}
    ti = np.where(seats.tenure >= 0, ctx.ti[seats.r_idx], 0.0)
    if ctx.backfill_draws is not None:
        draws = ctx.backfill_draws[seats.start, seats.r_idx]
    else:
        draws = np.zeros(ctx.n_pay)
    pay = _cents(period_payable(ctx, cred, quota, ti, draws))
    np.add.at(rep_h, (seats.s_idx, seats.k_idx), pay.sum(axis=1))
    np.add.at(out.cost_pay[i], seats.s_idx + rows.start, pay.astype(np.int64))
