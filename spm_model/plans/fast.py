"""Fused numba kernel for large vectorised payouts (simulation scale).

:func:`fast_payout_total` evaluates the same semantics as
:meth:`spm_model.plans.Plan.payout_arrays` (total only) in one pass over memory,
in parallel over rows, for plans built from commission and payout-curve
components with gates, component caps and a total cap (the shapes of most
quota-carrying plans, including the SaaS AE template). Other plans (matrix, MBO,
SPIF, multiplier components) fall back to :meth:`Plan.payout_arrays`, chunked.

The kernel reproduces the engine's rounding (cents, half away from zero with the
2e-14 relative tie tolerance) and threshold comparisons (``credited >= bound * quota``
with a 1e-14 relative tolerance), and is tested equal to it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from spm_model.plans.components import Commission, PayoutCurve
from spm_model.plans.model import Plan

try:  # numba is optional: without it the numpy engine is used
    import numba

    _HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    _HAVE_NUMBA = False

# component kinds of the compiled table
_FLAT, _MARGINAL, _RETRO, _CURVE_LINEAR, _CURVE_STEP = 0, 1, 2, 3, 4
_NAN = float("nan")


@dataclass
class CompiledPlan:
    """Numeric tables describing a plan for the fused kernel."""

    measures: list[str]
    kind: np.ndarray  # (K,) int
    measure: np.ndarray  # (K,) int
    attainment_basis: np.ndarray  # (K,) bool: bounds in attainment
    bcr: np.ndarray  # (K,) bool: rates are BCR multiples
    weight: np.ndarray  # (K,) float (0 if none)
    rate: np.ndarray  # (K,) flat rate
    n_knots: np.ndarray  # (K,) int
    xs: np.ndarray  # (K, J) bounds / curve attainments
    ys: np.ndarray  # (K, J) cumulative earnings / curve payouts / retro rates
    slope_before: np.ndarray  # (K,)
    slope_after: np.ndarray  # (K,)
    seg_x: np.ndarray  # (K, J) segment starts of the piecewise-linear form
    seg_w: np.ndarray  # (K, J) segment widths (inf for the open last one)
    seg_slope: np.ndarray  # (K, J) slope per segment
    y0: np.ndarray  # (K,) value at the first knot
    cap_multiple: np.ndarray  # (K,) nan = none
    cap_amount: np.ndarray  # (K,) nan = none
    gate_measure: np.ndarray  # (K,) -1 = none
    gate_min: np.ndarray  # (K,)
    gate_cap: np.ndarray  # (K,) nan = pay nothing when closed
    total_cap_multiple: float
    total_cap_amount: float


def compile_plan(plan: Plan) -> CompiledPlan | None:
    """Tables for the fused kernel, or ``None`` if the plan has unsupported components."""
    comps = plan.components
    if not all(isinstance(c, (Commission, PayoutCurve)) for c in comps):
        return None
    if any(isinstance(c, Commission) and c.rates for c in comps):
        return None
    if plan.needs_year_to_date:  # gates on year-to-date attainment: the period engine's
        return None
    if any(isinstance(c, Commission) and c.per == "deal" for c in comps):
        return None
    measures = list(plan.measures)
    k = len(comps)
    j = max([len(getattr(c, "tiers", None) or getattr(c, "points", None) or [0]) for c in comps])
    out = CompiledPlan(
        measures,
        np.zeros(k, np.int64),
        np.zeros(k, np.int64),
        np.zeros(k, np.bool_),
        np.zeros(k, np.bool_),
        np.zeros(k),
        np.zeros(k),
        np.zeros(k, np.int64),
        np.zeros((k, j)),
        np.zeros((k, j)),
        np.zeros(k),
        np.zeros(k),
        np.zeros((k, j)),
        np.zeros((k, j)),
        np.zeros((k, j)),
        np.zeros(k),
        np.full(k, _NAN),
        np.full(k, _NAN),
        np.full(k, -1, np.int64),
        np.zeros(k),
        np.full(k, _NAN),
        _NAN,
        _NAN,
    )
    for i, c in enumerate(comps):
        out.weight[i] = c.weight if c.weight is not None else 0.0
        if c.cap_multiple is not None and c.weight is not None:
            out.cap_multiple[i] = c.cap_multiple
        if c.cap_amount is not None:
            out.cap_amount[i] = c.cap_amount
        if c.gate is not None:
            out.gate_measure[i] = measures.index(c.gate.measure)
            out.gate_min[i] = c.gate.min_attainment
            if c.gate.otherwise_cap_attainment is not None:
                out.gate_cap[i] = c.gate.otherwise_cap_attainment
        if isinstance(c, Commission):
            out.measure[i] = measures.index(str(c.measure))
            out.attainment_basis[i] = c.basis == "attainment"
            out.bcr[i] = c.rate_basis == "bcr"
            if c.rate is not None:
                out.kind[i] = _FLAT
                out.rate[i] = c.rate
                out.attainment_basis[i] = False
                continue
            tiers = c.tiers or []
            out.n_knots[i] = len(tiers)
            out.xs[i, : len(tiers)] = [t.from_ for t in tiers]
            if c.method == "marginal":
                out.kind[i] = _MARGINAL
                _, ys = c.tier_knots()
                out.ys[i, : len(ys)] = ys
                out.slope_before[i] = tiers[0].rate
                out.slope_after[i] = tiers[-1].rate
                for t_i, t in enumerate(tiers):
                    out.seg_x[i, t_i] = t.from_
                    out.seg_w[i, t_i] = np.inf if t.to is None else t.to - t.from_
                    out.seg_slope[i, t_i] = t.rate
            else:
                out.kind[i] = _RETRO
                out.ys[i, : len(tiers)] = [t.rate for t in tiers]
        elif isinstance(c, PayoutCurve):
            out.measure[i] = measures.index(c.measure)
            out.kind[i] = _CURVE_LINEAR if c.interpolation == "linear" else _CURVE_STEP
            xs, ys = c.resolved_points()
            out.n_knots[i] = len(xs)
            out.xs[i, : len(xs)] = xs
            out.ys[i, : len(ys)] = ys
            out.slope_after[i] = c.slope_after_last
            out.attainment_basis[i] = True
            out.y0[i] = ys[0]
            for p_i in range(len(xs)):
                out.seg_x[i, p_i] = xs[p_i]
                if p_i + 1 < len(xs):
                    out.seg_w[i, p_i] = xs[p_i + 1] - xs[p_i]
                    out.seg_slope[i, p_i] = (ys[p_i + 1] - ys[p_i]) / (xs[p_i + 1] - xs[p_i])
                else:
                    out.seg_w[i, p_i] = np.inf
                    out.seg_slope[i, p_i] = c.slope_after_last
    if plan.cap is not None:
        if plan.cap.multiple_of_target is not None:
            out.total_cap_multiple = plan.cap.multiple_of_target
        if plan.cap.amount is not None:
            out.total_cap_amount = plan.cap.amount
    return out


if _HAVE_NUMBA:

    @numba.njit(cache=True, inline="always", error_model="numpy")
    def _round_cents(x):  # pragma: no cover - compiled
        c = abs(x) * 100.0
        r = np.floor(c + 0.5 + 2e-14 * max(c, 1.0))
        return math.copysign(r / 100.0, x)

    @numba.njit(cache=True, inline="always", error_model="numpy")
    def _reached(c, q, b):  # pragma: no cover - compiled
        bq = b * q
        return c >= bq - 1e-14 * abs(bq)

    @numba.njit(cache=True, inline="always", error_model="numpy")
    def _pl(x, n, y0, sx, sw, ss, sb):  # pragma: no cover - compiled
        # piecewise-linear value as a sum of clipped slices: branch-free, so random
        # attainments cost no branch mispredictions
        e = y0 + sb * min(x - sx[0], 0.0)
        for j in range(n):
            e += ss[j] * min(max(x - sx[j], 0.0), sw[j])
        return e

    @numba.njit(cache=True, inline="always", error_model="numpy")
    def _component_value(kind, c, q, ti, basis, bcr, w, rate, n, xs, ys, sx, sw, ss, sb, y0):
        """Unrounded earnings of one component for one element."""  # pragma: no cover
        target = w * ti
        qpos = q > 0
        qs = q if qpos else 1.0
        factor = target / qs if bcr else 1.0
        if kind == 0:
            v = c * (rate * factor)
        elif kind == 1:
            x = c / qs if basis else c
            e = _pl(x, n, 0.0, sx, sw, ss, sb)
            v = (e * qs if basis else e) * factor
        elif kind == 2:
            qq = qs if basis else 1.0
            idx = 0
            for j in range(1, n):
                idx += _reached(c, qq, xs[j])
            v = c * ys[idx] * factor
        elif kind == 4:
            a = c / qs
            idx = -1
            for j in range(n):
                idx += _reached(c, qs, xs[j])
            y = ys[max(idx, 0)] + (ss[n - 1] * max(a - xs[n - 1], 0.0) if idx == n - 1 else 0.0)
            v = y * target if idx >= 0 else 0.0
        else:
            a = c / qs
            y = _pl(a, n, y0, sx, sw, ss, 0.0)
            v = y * target if _reached(c, qs, xs[0]) else 0.0
        if (basis or bcr) and not qpos:
            return 0.0
        return v

    _RO2 = numba.types.Array(numba.float64, 2, "A", readonly=True)
    _RO1 = numba.types.Array(numba.float64, 1, "A", readonly=True)
    _F, _I, _B = numba.float64, numba.int64, numba.boolean
    # one explicit signature: every input is a read-only broadcast view, so a single
    # compiled (and cached) specialisation serves all shapes and layouts
    _PASS_SIG = numba.void(
        _RO2,
        _RO2,
        _RO2,
        _RO2,
        _RO2,
        numba.float64[:, ::1],
        _I,
        _B,
        _B,
        _F,
        _F,
        _I,
        _RO1,
        _RO1,
        _RO1,
        _RO1,
        _RO1,
        _F,
        _F,
        _F,
        _F,
        _B,
        _F,
        _F,
        _B,
        _B,
        _F,
        _F,
    )

    @numba.njit(_PASS_SIG, parallel=True, cache=True, error_model="numpy")
    def _component_pass(
        credited,
        quota,
        ti,
        gate_c,
        gate_q,
        acc,
        kind,
        basis,
        bcr,
        w,
        rate,
        n,
        xs,
        ys,
        sx,
        sw,
        ss,
        sb,
        y0,
        capm,
        capa,
        has_gate,
        gmin,
        gcap,
        first,
        last,
        tcap_m,
        tcap_a,
    ):  # pragma: no cover
        # ``first`` overwrites ``acc`` (no zero-fill sweep); ``last`` applies the total cap
        # and final rounding in the same sweep, so a plan of K components costs K sweeps
        rows, cols = acc.shape
        inf = np.inf
        cap_a = _round_cents(capa) if not np.isnan(capa) else inf
        tcap_amount = _round_cents(tcap_a) if not np.isnan(tcap_a) else inf
        has_capm = not np.isnan(capm)
        has_tcap_m = not np.isnan(tcap_m)
        for r in numba.prange(rows):
            # caps depend on the target incentive only: recompute them when it changes
            # (usually once per rep row), not for every scenario
            t_prev = np.nan
            cap_m = inf
            tcap_mv = inf
            for s in range(cols):
                c = credited[r, s]
                q = quota[r, s]
                t = ti[r, s]
                if t != t_prev:
                    t_prev = t
                    cap_m = _round_cents(capm * w * t) if has_capm else inf
                    tcap_mv = _round_cents(tcap_m * t) if has_tcap_m else inf
                open_ = True
                if has_gate:
                    gq = gate_q[r, s]
                    if not (gq > 0 and _reached(gate_c[r, s], gq, gmin)):
                        if np.isnan(gcap):
                            open_ = False
                        else:
                            c = min(c, gcap * q)
                raw = _component_value(
                    kind, c, q, t, basis, bcr, w, rate, n, xs, ys, sx, sw, ss, sb, y0
                )
                raw = min(raw, cap_m, cap_a)
                v = _round_cents(raw) if open_ else 0.0
                total = v if first else acc[r, s] + v
                if last:
                    total = _round_cents(min(total, tcap_mv, tcap_amount))
                acc[r, s] = total


def _as_2d(x: np.ndarray | float, shape: tuple[int, ...]) -> np.ndarray:
    """Read-only 2-D view of ``x`` broadcast to ``shape`` (leading axes collapsed)."""
    b = np.broadcast_to(np.asarray(x, dtype=np.float64), shape)
    if len(shape) == 1:
        b = b[None, :]
    elif len(shape) > 2:
        b = b.reshape(-1, shape[-1])  # copies only if the axes cannot be merged
    return np.broadcast_to(b, b.shape)


def _ro1(x: np.ndarray) -> np.ndarray:
    return np.broadcast_to(np.asarray(x, dtype=np.float64), np.shape(x))


def _quota_or_zero(
    cp: CompiledPlan, used: list[int], names: list[str], quota: Mapping[str, np.ndarray]
) -> Mapping[str, np.ndarray]:
    """Return ``quota`` with 0 for the measures whose components never read it.

    Amount tiers and flat rates need no quota (``payout_arrays`` takes none for
    them); a quota that a curve, attainment tiers, BCR rates or a gate reads must
    be given.
    """
    out = dict(quota)
    for i, m in zip(used, names, strict=True):
        if m in out:
            continue
        on_m = cp.measure == i
        reads = (
            np.isin(cp.kind[on_m], (_CURVE_LINEAR, _CURVE_STEP)).any()
            or cp.attainment_basis[on_m].any()
            or cp.bcr[on_m].any()
            or (cp.gate_measure == i).any()
        )
        if reads:
            raise KeyError(f"no quota array for measure {m!r}")
        out[m] = np.zeros(())
    return out


def fast_payout_total(
    plan: Plan,
    credited: Mapping[str, np.ndarray],
    quota: Mapping[str, np.ndarray],
    target_incentive: np.ndarray | float | None = None,
    *,
    compiled: CompiledPlan | None = None,
    periods: float = 1.0,
) -> np.ndarray:
    """Total payout per element, fused and parallel when possible.

    Same meaning and rounding as ``plan.payout_arrays(...).total`` for one
    measurement period; inputs broadcast to a common shape (1-D or 2-D arrays
    such as reps x scenarios are evaluated without copying broadcast inputs).

    Parameters
    ----------
    plan : Plan
        The plan.
    credited, quota : mapping str -> ndarray
        Per plan measure (currency, or units for count measures).
    target_incentive : ndarray or float, optional
        Target incentive of the period (currency); default the plan's.
    compiled : CompiledPlan, optional
        Result of :func:`compile_plan` (to skip recompiling in loops).
    periods : float
        Measurement periods the inputs cover (year-to-date spans): per-period cap
        amounts are multiplied by it, as in ``payout_arrays(periods=...)``.

    Returns
    -------
    ndarray
        Total payout (currency, cents), shape of the broadcast inputs.
    """
    ti = float(plan.period_target_incentive()) if target_incentive is None else target_incentive
    cp = compiled if compiled is not None else compile_plan(plan)
    if cp is None or not _HAVE_NUMBA:
        return plan.payout_arrays(credited, quota, ti, components=False, periods=periods).total
    used = sorted({int(m) for m in cp.measure} | {int(g) for g in cp.gate_measure if g >= 0})
    names = [cp.measures[i] for i in used]
    missing = [m for m in names if m not in credited]
    if missing:
        raise KeyError(f"no credited array for measure {missing[0]!r}")
    quota = _quota_or_zero(cp, used, names, quota)
    shapes = [np.shape(credited[m]) for m in names] + [np.shape(quota[m]) for m in names]
    final_shape = np.broadcast_shapes(*shapes, np.shape(ti))
    shape = final_shape if final_shape else (1,)
    c2: list[np.ndarray | None] = [None] * len(cp.measures)
    q2: list[np.ndarray | None] = [None] * len(cp.measures)
    for i, m in zip(used, names, strict=True):
        c2[i] = _as_2d(credited[m], shape)
        q2[i] = _as_2d(quota[m], shape)
    t2 = _as_2d(ti, shape)
    out = np.empty(t2.shape)
    n_comp = len(cp.kind)
    for k in range(n_comp):
        m = cp.measure[k]
        g = cp.gate_measure[k]
        gc, gq = (c2[g], q2[g]) if g >= 0 else (c2[m], q2[m])
        _component_pass(
            c2[m], q2[m], t2, gc, gq, out, int(cp.kind[k]), bool(cp.attainment_basis[k]),
            bool(cp.bcr[k]), float(cp.weight[k]), float(cp.rate[k]), int(cp.n_knots[k]),
            _ro1(cp.xs[k]), _ro1(cp.ys[k]), _ro1(cp.seg_x[k]), _ro1(cp.seg_w[k]),
            _ro1(cp.seg_slope[k]), float(cp.slope_before[k]), float(cp.y0[k]),
            float(cp.cap_multiple[k]), float(cp.cap_amount[k]) * periods, bool(g >= 0),
            float(cp.gate_min[k]), float(cp.gate_cap[k]), k == 0, k == n_comp - 1,
            float(cp.total_cap_multiple), float(cp.total_cap_amount) * periods,
        )  # fmt: skip
    return out.reshape(final_shape)
