"""Kalman-filter log likelihood of local linear trends with its exact gradient, as a PyTensor Op.

One filter per rep (state: level and damped slope, 2 x 2 covariance in closed
form), all reps run together month by month in a numba kernel. The observation and level noise
variances may differ by rep and month (a shared noise regime multiplies them).
The gradient is exact and hand derived: reverse mode (adjoint) through the
whole filter, one backward pass over the stored forward values, which
gives the derivatives with respect to every month's observation, noise
variances, the slope noise, the damping and the drift at the cost of about one
more filter pass. Written this way instead of a ``pytensor.scan`` because the
scan's gradient took about a minute to compile for nutpie on this machine,
against seconds for this Op; tested against finite differences and against
the numpy filter of :mod:`spm_model.forecast.statespace`.
"""

from __future__ import annotations

import functools
import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

# Initial state of every rep's filter: level sd (log scale), slope sd (per month).
INIT_LEVEL_SD = 1.0
INIT_SLOPE_SD = 0.02

#: numba options of the kernels. Not cached by numba itself (``cache=False``): a kernel loaded
#: from numba's cache and linked into a freshly compiled PyTensor Op gave gradients 1e-15 apart
#: from the same kernel compiled in the process (2026-12-05: the 50 x 180 benchmark's chains then
#: differed by cache history, min bulk ESS 440 against 277). PyTensor caches each Op's compiled
#: code with the kernels inside, so a fit with a warm PyTensor cache does not compile them; a
#: cold one compiles them in the process, always the same way (about 4 s). Fused multiply-adds
#: (``fastmath={"contract"}``) took the kernel from 280 to 243 us on 50 x 180 but left the
#: benchmark's fit time where it was (46.7 and 47.2 s against 46.4 s): not used.
KERNEL_JIT = {"cache": False, "error_model": "numpy"}

# Bounds of the running products whose logs give the sums of log terms (renormalised outside).
_PROD_LOW = 2.0**-300
_PROD_HIGH = 2.0**300
_LN2 = math.log(2.0)


@njit(**KERNEL_JIT)
def _digamma(x: float) -> float:
    total = 0.0
    for n in range(6):
        total -= 1.0 / (x + n)
    z = x + 6.0
    inv2 = 1.0 / (z * z)
    return (
        total
        + np.log(z)
        - 0.5 / z
        - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 / 132))))
    )


@njit(**KERNEL_JIT)
def kalman_loglik_grad(
    e: np.ndarray,
    mask: np.ndarray,
    h: np.ndarray,
    ql: np.ndarray,
    qb: float,
    phi: float,
    drift: np.ndarray,
    nu: float,
    init_level: np.ndarray,
    student: bool,
    weight: np.ndarray,
    fiscal_month: np.ndarray,
    season_gain: float,
    evolving: bool,
    robust: bool = False,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, float, float, np.ndarray, float, float]:
    """Log likelihood of the observed ``e`` under per-rep local linear trends, and its gradient.

    The (rep, month) layout of :func:`kalman_loglik_grad_tm`, which does the work.

    Parameters
    ----------
    e : numpy.ndarray
        (R, T) observations (log amounts less the static effects).
    mask : numpy.ndarray
        (R, T) 1.0 where ``e`` is observed; elsewhere the filter only predicts.
    h, ql : numpy.ndarray
        (R, T) observation and level noise variances of each rep and month
        (the level noise of month ``t`` moves the level from ``t`` to ``t + 1``).
    qb, phi : float
        Slope noise variance and slope damping.
    drift : numpy.ndarray
        (R,) long-run slope of each rep (the slope decays towards it).
    nu : float
        Student-t degrees of freedom (> 2; the errors have the filter's
        variance); ignored when ``student`` is False (normal errors).
    init_level : numpy.ndarray
        (R,) mean of each rep's initial level.
    student : bool
        Student-t (True) or normal (False) prediction errors.
    weight : numpy.ndarray
        (T,) weight of each month's log-likelihood terms (1.0 = full; less
        for discounted older months); the filter itself is not weighted.
    fiscal_month : numpy.ndarray
        (T,) integer month of the year (0-11) of each month: the slot of the
        seasonal adjustment it reads and updates.
    season_gain : float
        Share of each month's prediction error added to its rep's seasonal
        adjustment for that month of the year (0: a fixed seasonal pattern; the
        seasonal smoothing of exponential smoothing, ``gamma``).
    evolving : bool
        Whether the seasonal pattern evolves (the gain is a parameter): False
        skips the adjustment and its derivative (``d_season_gain`` is 0).
    robust : bool
        With ``student``: the robust update (see :func:`kalman_loglik_grad_tm`);
        otherwise the linear Kalman update.

    Returns
    -------
    tuple
        ``(loglik, d_e, d_h, d_ql, d_qb, d_phi, d_drift, d_nu, d_season_gain)``; ``d_e``,
        ``d_h`` and ``d_ql`` are (R, T), ``d_drift`` (R,).
    """
    ll, d_e, d_h, d_ql, d_qb, d_phi, d_drift, d_nu, d_gain = kalman_loglik_grad_tm(
        np.ascontiguousarray(e.T),
        np.ascontiguousarray(mask.T),
        np.ascontiguousarray(h.T),
        np.ascontiguousarray(ql.T),
        qb,
        phi,
        drift,
        nu,
        init_level,
        student,
        weight,
        fiscal_month,
        season_gain,
        evolving,
        robust,
    )
    return (
        ll,
        np.ascontiguousarray(d_e.T),
        np.ascontiguousarray(d_h.T),
        np.ascontiguousarray(d_ql.T),
        d_qb,
        d_phi,
        d_drift,
        d_nu,
        d_gain,
    )


@njit(**KERNEL_JIT)
def kalman_loglik_grad_tm(
    e: np.ndarray,
    mask: np.ndarray,
    h: np.ndarray,
    ql: np.ndarray,
    qb: float,
    phi: float,
    drift: np.ndarray,
    nu: float,
    init_level: np.ndarray,
    student: bool,
    weight: np.ndarray,
    fiscal_month: np.ndarray,
    season_gain: float,
    evolving: bool,
    robust: bool = False,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, float, float, np.ndarray, float, float]:
    """:func:`kalman_loglik_grad` on (month, rep) arrays: ``e``, ``mask``, ``h``, ``ql`` are (T, R).

    Every rep's filter advances one month at a time, the reps in the inner
    loop: their recursions are independent, so the processor overlaps them
    where one rep's filter would wait on its own divisions (on 50 reps x 180
    months, 242 us against 339 us a rep at a time for the log likelihood and
    gradient). Each month's update and prediction, and each month's step of the
    backward (adjoint) pass, are split into loops over the reps that touch a few
    arrays each and have no branches or calls, so the compiler vectorises them
    (LLVM gives up on a loop whose arrays it would have to check pairwise for
    overlap beyond its limit: 283 us against 230 us on 50 x 180, same results to the
    bit). The log-likelihood terms run in a loop of their own over the month's reps;
    the scalar gradients are summed per rep and then over reps.

    The seasonal adjustment ``a[m, r]`` (zero at the start) is subtracted from
    the observation before the update and takes ``season_gain`` times the
    prediction error of each observed month ``m``: the error-correction
    (innovations) form of an evolving seasonal pattern, as in exponential
    smoothing. Given the past it is known, so the state covariance and the
    prediction-error decomposition of the likelihood are unchanged.

    The robust update (``robust`` with ``student``): in the update, the month's
    observation noise variance is ``h * sc``, ``sc = (nu - 2 + v^2 / f) / (nu + 1)``, the
    inverse of the Student-t's expected precision multiplier given the prediction
    error ``v`` of variance ``f``: an ordinary month (``sc`` < 1) moves the state more
    than the linear gain would (the t's narrow core makes it more informative than a
    normal error of the same variance), a gross error (a month keyed at a tenth of its
    size) hardly at all. The move the update declines, ``(k1_linear - k1) v``, is kept
    as variance of the level (its square is added to the updated level variance), so a
    level that really shifted is taken up the month after. The state then depends on the
    data beyond the linear filter, but each month's prediction still depends only on the
    past: the likelihood is the exact prediction-error decomposition of this
    observation-driven filter, with the Student-t of variance ``f``.

    Returns
    -------
    tuple
        ``(loglik, d_e, d_h, d_ql, d_qb, d_phi, d_drift, d_nu, d_season_gain)``; ``d_e``,
        ``d_h`` and ``d_ql`` are (T, R), ``d_drift`` (R,).
    """
    n_t, n_r = e.shape
    d_e = np.empty((n_t, n_r))
    d_h = np.empty((n_t, n_r))
    d_ql = np.empty((n_t, n_r))
    # the forward pass's values that the backward (adjoint) pass needs
    s_p11 = np.empty((n_t, n_r))
    s_p12 = np.empty((n_t, n_r))
    s_if = np.empty((n_t, n_r))  # 1 / f: one division per rep-month, reused
    s_ig = np.empty((n_t, n_r))  # 1 / g, the update's variance (f unless robust)
    s_v = np.empty((n_t, n_r))
    s_k1 = np.empty((n_t, n_r))
    s_k2 = np.empty((n_t, n_r))
    s_gv = np.empty((n_t, n_r))
    s_gf = np.empty((n_t, n_r))
    s_bu = np.empty((n_t, n_r))
    s_q12 = np.empty((n_t, n_r))
    s_q22 = np.empty((n_t, n_r))
    # the robust update's weight (Student-t errors only): 1 / (nu + 1), else 0
    rob = 1.0 if (student and robust) else 0.0
    c1 = 1.0 / (nu + 1.0) if rob > 0.0 else 0.0
    if student:
        c_nu = 0.5 * _digamma((nu + 1.0) / 2.0) - 0.5 * _digamma(nu / 2.0) - 0.5 / (nu - 2.0)
        from_lg = np.log(np.pi * (nu - 2.0))
        inv_nu2 = 1.0 / (nu - 2.0)
    else:
        inv_nu2 = 0.0
        c_nu = 0.0
        from_lg = np.log(2.0 * np.pi)
    lv = init_level.copy()
    b = drift.copy()
    p11 = np.full(n_r, INIT_LEVEL_SD**2)
    p12 = np.zeros(n_r)
    p22 = np.full(n_r, INIT_SLOPE_SD**2)
    # seasonal adjustment of each rep by month of the year, read and updated in loops of their
    # own (inside the filter's loop its stores blocked the vectorisation: 223 us against 141 us)
    adj = np.zeros((12, n_r))
    e_row = np.empty(n_r)
    ll = 0.0
    d_nu_sum = 0.0
    n_obs = 0.0
    for t in range(n_t):
        w = weight[t]
        mt = fiscal_month[t]
        if evolving:
            for r in range(n_r):
                e_row[r] = e[t, r] - adj[mt, r]
            e_t = e_row
        else:
            e_t = e[t]
        # the month's update and prediction, in three loops over the reps with a few arrays
        # each, so that the compiler can vectorise them (the mask zeroes the gains of
        # unobserved months). (a) prediction errors, their variances and the level's gain;
        # robust: the month's noise variance scaled by (nu - 2 + v^2 / f) / (nu + 1)
        for r in range(n_r):
            m = mask[t, r]
            p11r = p11[r]
            v = e_t[r] - lv[r]
            h_r = h[t, r]
            inv_f = 1.0 / (p11r + h_r)
            sc = 1.0 + m * rob * ((nu - 2.0 + v * v * inv_f) * c1 - 1.0)
            inv_g = 1.0 / (p11r + h_r * sc)
            s_p11[t, r] = p11r
            s_v[t, r] = v
            s_if[t, r] = inv_f
            s_ig[t, r] = inv_g
            s_k1[t, r] = m * p11r * inv_g
        # (b) the state: l_u = l + k1 v, b_u = b + k2 v, then one month ahead
        for r in range(n_r):
            v = s_v[t, r]
            k2 = mask[t, r] * p12[r] * s_ig[t, r]
            b_u = b[r] + k2 * v
            s_p12[t, r] = p12[r]
            s_k2[t, r] = k2
            s_bu[t, r] = b_u
            lv[r] = lv[r] + s_k1[t, r] * v + b_u
            b[r] = drift[r] + phi * (b_u - drift[r])
        # (c) its covariance; robust: the level's variance keeps the square of the move the
        # update declined (what the linear gain would have moved it, less what it did), so a
        # level that really shifted is taken up the month after (zero when not robust: g = f)
        for r in range(n_r):
            k1 = s_k1[t, r]
            k2 = s_k2[t, r]
            p11r = s_p11[t, r]
            p12r = s_p12[t, r]
            dv = mask[t, r] * p11r * (s_if[t, r] - s_ig[t, r]) * s_v[t, r]
            q11 = p11r - k1 * p11r + dv * dv
            q12 = p12r - k1 * p12r
            q22 = p22[r] - k2 * p12r
            s_q12[t, r] = q12
            s_q22[t, r] = q22
            p11[r] = q11 + 2.0 * q12 + q22 + ql[t, r]
            p12[r] = phi * (q12 + q22)
            p22[r] = phi * phi * q22 + qb
        if evolving:
            for r in range(n_r):
                adj[mt, r] += season_gain * mask[t, r] * s_v[t, r]
        # the month's log-likelihood terms and their derivatives in v and f. The month's sums of
        # logs (of 1 / f and of 1 + u) are taken as the log of a running product, renormalised
        # to its binary exponent when it leaves [2^-300, 2^300]: two logarithms a month instead
        # of two a rep-month, which were about a third of the kernel's time.
        prod_if = 1.0
        exp_if = 0
        prod_u = 1.0
        exp_u = 0
        n_obs_t = 0.0
        sum_ru = 0.0
        sum_q = 0.0
        for r in range(n_r):
            gv = 0.0
            gf = 0.0
            if mask[t, r] > 0.0:
                n_obs_t += 1.0
                inv_f = s_if[t, r]
                v = s_v[t, r]
                prod_if *= inv_f
                if prod_if < _PROD_LOW or prod_if > _PROD_HIGH:
                    prod_if, ex = math.frexp(prod_if)
                    exp_if += ex
                if student:
                    # u = v^2 / ((nu - 2) f); r_u = u / (1 + u)
                    u = v * v * inv_f * inv_nu2
                    opu = 1.0 + u
                    inv_opu = 1.0 / opu
                    r_u = u * inv_opu
                    prod_u *= opu
                    if prod_u > _PROD_HIGH:
                        prod_u, ex = math.frexp(prod_u)
                        exp_u += ex
                    sum_ru += r_u
                    gv = -w * (nu + 1.0) * v * inv_f * inv_nu2 * inv_opu
                    gf = w * inv_f * (-0.5 + 0.5 * (nu + 1.0) * r_u)
                else:
                    q = v * v * inv_f
                    sum_q += q
                    gv = -w * v * inv_f
                    gf = w * inv_f * (-0.5 + 0.5 * q)
            s_gv[t, r] = gv
            s_gf[t, r] = gf
        if n_obs_t > 0.0:
            n_obs += w * n_obs_t
            log_f = -(math.log(prod_if) + exp_if * _LN2)
            if student:
                lu = math.log(prod_u) + exp_u * _LN2
                ll += w * (-0.5 * (n_obs_t * from_lg + log_f) - 0.5 * (nu + 1.0) * lu)
                d_nu_sum += w * (-0.5 * lu + 0.5 * (nu + 1.0) * sum_ru / (nu - 2.0))
            else:
                ll += w * (-0.5 * (n_obs_t * from_lg + log_f) - 0.5 * sum_q)
    # backward pass: adjoints of the predicted state (a_l, a_b) and covariance (a_11, a_12,
    # a_22) of month t + 1, carried back through month t's update and prediction
    a_l = np.zeros(n_r)
    a_b = np.zeros(n_r)
    a_11 = np.zeros(n_r)
    a_12 = np.zeros(n_r)
    a_22 = np.zeros(n_r)
    # carried between the loops of a month's backward step: the adjoints of q12, of the
    # gains k1 and k2, and of the updated covariance q12 before its gain term
    a_q12 = np.zeros(n_r)
    t_k1 = np.zeros(n_r)
    t_k2 = np.zeros(n_r)
    t_n12 = np.zeros(n_r)
    acc_drift = np.zeros(n_r)
    acc_phi = np.zeros(n_r)
    acc_qb = np.zeros(n_r)
    acc_nu = np.zeros(n_r)
    a_adj = np.zeros((12, n_r))  # adjoint of the seasonal adjustment after month t's update
    a_v_adj = np.zeros(n_r)  # its share of the adjoint of month t's prediction error
    d_gain = 0.0
    for t in range(n_t - 1, -1, -1):
        mt = fiscal_month[t]
        if evolving:
            # adj' = adj + gain m v (the adjustment after the update), v = e - l - adj
            for r in range(n_r):
                d_gain += mask[t, r] * s_v[t, r] * a_adj[mt, r]
                a_v_adj[r] = season_gain * mask[t, r] * a_adj[mt, r]
        # (a) prediction: l' = l_u + b_u, b' = drift + phi (b_u - drift), covariance
        for r in range(n_r):
            a_b_r = a_b[r]
            a11 = a_11[r]
            a12 = a_12[r]
            a22 = a_22[r]
            q22 = s_q22[t, r]
            acc_drift[r] += (1.0 - phi) * a_b_r
            acc_phi[r] += (
                (s_bu[t, r] - drift[r]) * a_b_r + (s_q12[t, r] + q22) * a12 + 2.0 * phi * q22 * a22
            )
            d_ql[t, r] = a11
            acc_qb[r] += a22
            a_b[r] = a_l[r] + phi * a_b_r  # the adjoint of b_u
            a_q12[r] = 2.0 * a11 + phi * a12
            a_22[r] = a11 + phi * a12 + phi * phi * a22  # of q22
        # (b) update: q11 = p11 (1 - k1), q12 = p12 (1 - k1), q22 = p22 - k2 p12,
        # l_u = l + k1 v, b_u = b + k2 v; first through the gains as they are
        for r in range(n_r):
            p12t = s_p12[t, r]
            v = s_v[t, r]
            k1 = s_k1[t, r]
            k2 = s_k2[t, r]
            a_lu = a_l[r]
            a_bu = a_b[r]
            aq12 = a_q12[r]
            a_q22 = a_22[r]
            t_n12[r] = aq12 * (1.0 - k1) - k2 * a_q22
            t_k1[r] = -s_p11[t, r] * a_11[r] - p12t * aq12 + v * a_lu
            t_k2[r] = -p12t * a_q22 + v * a_bu
            d_e[t, r] = k1 * a_lu + k2 * a_bu + s_gv[t, r] + a_v_adj[r]
        # then the gains k1 = m p11 / g, k2 = m p12 / g, g = p11 + h sc, through
        # sc = 1 + m rob ((nu - 2 + v^2 / f) c1 - 1), f = p11 + h, v = e - l
        # and the declined move dv = d v, d = m p11 (1 / f - 1 / g), whose square q11 holds
        for r in range(n_r):
            p11t = s_p11[t, r]
            inv_f = s_if[t, r]
            inv_g = s_ig[t, r]
            v = s_v[t, r]
            m = mask[t, r]
            a11 = a_11[r]
            a_k1 = t_k1[r]
            a_k2 = t_k2[r]
            n11 = a11 * (1.0 - s_k1[t, r])
            q = v * inv_f
            sc = 1.0 + m * rob * ((nu - 2.0 + q * v) * c1 - 1.0)
            dd = m * (inv_f - inv_g)
            d = p11t * dd
            a_d = 2.0 * a11 * d * v * v
            a_v = d_e[t, r] + 2.0 * a11 * d * d * v
            n11 += m * a_k1 * inv_g + a_d * dd
            a_g = (a_d * p11t - a_k1 * p11t - a_k2 * s_p12[t, r]) * m * inv_g * inv_g
            a_sc = a_g * h[t, r] * m * rob
            a_v += a_sc * c1 * 2.0 * q
            a_f = s_gf[t, r] - a_sc * c1 * q * q - a_d * m * p11t * inv_f * inv_f
            acc_nu[r] += a_sc * c1 * (1.0 - (nu - 2.0 + q * v) * c1)
            d_h[t, r] = a_f + a_g * sc
            d_e[t, r] = a_v
            a_l[r] = a_l[r] - a_v
            a_11[r] = n11 + a_f + a_g
            a_12[r] = t_n12[r] + m * a_k2 * inv_g
        if evolving:
            for r in range(n_r):
                a_adj[mt, r] -= d_e[t, r]
    d_qb = 0.0
    d_phi = 0.0
    d_drift = np.empty(n_r)
    d_nu = n_obs * c_nu + d_nu_sum
    for r in range(n_r):
        d_qb += acc_qb[r]
        d_phi += acc_phi[r]
        d_drift[r] = acc_drift[r] + a_b[r]  # the initial slope is the drift
        d_nu += acc_nu[r]
    if student:
        n_all = 0.0
        for t in range(n_t):
            for r in range(n_r):
                n_all += mask[t, r] * weight[t]
        ll += n_all * (_lgamma((nu + 1.0) / 2.0) - _lgamma(nu / 2.0))
    return ll, d_e, d_h, d_ql, d_qb, d_phi, d_drift, d_nu, d_gain


@njit(**KERNEL_JIT)
def _lgamma(x: float) -> float:
    return math.lgamma(x)


@functools.cache
def kernel_source_version() -> int:
    """Return a salt for PyTensor's numba cache key of the Ops that run these kernels.

    PyTensor keys a compiled Op by its class and properties only, so after an
    edit of a kernel's body it would keep serving the old machine code from its
    compile directory. The salt is a hash of this module's and
    :mod:`~spm_model.forecast.fused_loglik`'s source: any change compiles afresh.
    """
    digest = hashlib.sha256()
    for name in ("kalman.py", "fused_loglik.py"):
        digest.update(Path(__file__).with_name(name).read_bytes())
    return int(digest.hexdigest()[:15], 16)


def _numba_kernel(student: bool, evolving: bool, robust: bool = False) -> Any:
    """Return the Op's computation as a numba function of its array inputs (nutpie's backend)."""
    from pytensor.link.numba.dispatch.basic import numba_njit

    @numba_njit
    def kalman(
        e, mask, h, ql, qb, phi, drift, nu, init_level, weight, fm, gain
    ):  # pragma: no cover
        ll, d_e, d_h, d_ql, d_qb, d_phi, d_drift, d_nu, d_gain = kalman_loglik_grad(
            np.ascontiguousarray(e),
            np.ascontiguousarray(mask),
            np.ascontiguousarray(h),
            np.ascontiguousarray(ql),
            qb.item(),
            phi.item(),
            np.ascontiguousarray(drift),
            nu.item(),
            np.ascontiguousarray(init_level),
            student,
            np.ascontiguousarray(weight),
            np.ascontiguousarray(fm),
            gain.item(),
            evolving,
            robust,
        )
        return (
            np.array(ll, dtype=np.float64),
            d_e,
            d_h,
            d_ql,
            np.array(d_qb, dtype=np.float64),
            np.array(d_phi, dtype=np.float64),
            d_drift,
            np.array(d_nu, dtype=np.float64),
            np.array(d_gain, dtype=np.float64),
        )

    return kalman


@functools.cache
def _op_class() -> Any:
    import pytensor.tensor as pt
    from pytensor.gradient import disconnected_type
    from pytensor.graph.basic import Apply
    from pytensor.graph.op import Op
    from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

    class KalmanLogLik(Op):
        """``loglik`` and the gradient outputs of :func:`kalman_loglik_grad`.

        Inputs ``e, mask, h, ql, qb, phi, drift, nu, init_level, weight, fiscal_month,
        season_gain``; ``evolving``: whether the seasonal adjustment is computed. Registered with
        PyTensor's numba backend, so nutpie's compiled graph calls the kernel natively (no
        Python object mode per gradient evaluation).
        """

        __props__ = ("student", "evolving", "robust")

        def __init__(self, student: bool, evolving: bool = False, robust: bool = False):
            self.student = bool(student)
            self.evolving = bool(evolving)
            self.robust = bool(robust)

        def make_node(self, e, mask, h, ql, qb, phi, drift, nu, init_level, weight, fm, gain):
            ins = [
                pt.as_tensor_variable(x).astype("float64")
                for x in (e, mask, h, ql, qb, phi, drift, nu, init_level, weight)
            ]
            ins += [
                pt.as_tensor_variable(fm).astype("int64"),
                pt.as_tensor_variable(gain).astype("float64"),
            ]
            outs = [
                pt.dscalar(),
                pt.dmatrix(),
                pt.dmatrix(),
                pt.dmatrix(),
                pt.dscalar(),
                pt.dscalar(),
                pt.dvector(),
                pt.dscalar(),
                pt.dscalar(),
            ]
            return Apply(self, ins, outs)

        def perform(self, node, inputs, outputs):
            e, mask, h, ql, qb, phi, drift, nu, init_level, weight, fm, gain = inputs
            res = kalman_loglik_grad(
                np.ascontiguousarray(e),
                np.ascontiguousarray(mask),
                np.ascontiguousarray(h),
                np.ascontiguousarray(ql),
                float(qb),
                float(phi),
                np.ascontiguousarray(drift, dtype=float),
                float(nu),
                np.ascontiguousarray(init_level),
                self.student,
                np.ascontiguousarray(weight),
                np.ascontiguousarray(fm, dtype=np.int64),
                float(gain),
                self.evolving,
                self.robust,
            )
            for out, val in zip(outputs, res, strict=True):
                out[0] = np.asarray(val, dtype=float)

        def grad(self, inputs, output_grads):
            outs = self(*inputs)
            g = output_grads[0]
            return [
                g * outs[1],
                pt.zeros_like(inputs[1]),
                g * outs[2],
                g * outs[3],
                g * outs[4],
                g * outs[5],
                g * outs[6],
                g * outs[7],
                pt.zeros_like(inputs[8]),
                pt.zeros_like(inputs[9]),
                disconnected_type(),
                g * outs[8],
            ]

        def connection_pattern(self, node):
            return [[i != 10] * len(node.outputs) for i in range(len(node.inputs))]

    @register_funcify_default_op_cache_key(KalmanLogLik)
    def _funcify(op: Any, node: Any = None, **kwargs: Any) -> Any:
        return _numba_kernel(op.student, op.evolving, op.robust), kernel_source_version()

    return KalmanLogLik


def kalman_loglik(
    e: Any,
    mask: np.ndarray,
    h: Any,
    ql: Any,
    qb: Any,
    phi: Any,
    drift: Any,
    nu: Any,
    init_level: np.ndarray,
    student: bool,
    weight: np.ndarray | None = None,
    fiscal_month: np.ndarray | None = None,
    season_gain: Any = 0.0,
    robust: bool = False,
) -> Any:
    """Symbolic Kalman-filter log likelihood (a PyTensor scalar with an exact gradient).

    ``h`` and ``ql`` are (R,) per-rep or (R, T) per-rep-and-month variances; ``drift`` a
    scalar (shared) or (R,) per rep; ``fiscal_month`` (T,) the month of the year (0-11) of
    each month and ``season_gain`` the seasonal adjustment's gain (:func:`kalman_loglik_grad`;
    given ``fiscal_month`` the pattern evolves).
    """
    import pytensor.tensor as pt

    op = _op_class()(student, fiscal_month is not None, robust)
    n_t = np.shape(mask)[1]
    w = np.ones(n_t) if weight is None else np.asarray(weight, dtype=float)
    ones = np.ones((1, n_t))
    h_rt = pt.as_tensor_variable(h)
    ql_rt = pt.as_tensor_variable(ql)
    if h_rt.ndim == 1:
        h_rt = h_rt[:, None] * ones
    if ql_rt.ndim == 1:
        ql_rt = ql_rt[:, None] * ones
    init = np.asarray(init_level, dtype=float)
    fm = np.zeros(n_t, dtype=np.int64) if fiscal_month is None else np.asarray(fiscal_month)
    drift_r = drift_per_rep(drift, len(init))
    return op(e, mask, h_rt, ql_rt, qb, phi, drift_r, nu, init, w, fm, season_gain)[0]


def drift_per_rep(drift: Any, n_reps: int) -> Any:
    """Return ``drift`` as an (R,) PyTensor vector (a scalar is repeated; its gradient sums)."""
    import pytensor.tensor as pt

    d = pt.as_tensor_variable(drift)
    return d * np.ones(n_reps) if d.ndim == 0 else d
