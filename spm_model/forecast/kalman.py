"""Kalman-filter log likelihood of local linear trends with its exact gradient, as a PyTensor Op.

One filter per rep (state: level and damped slope, 2 x 2 covariance in closed
form), run month by month in a numba kernel. The gradient is exact and hand
derived: the gains and prediction-error variances do not depend on the
observations, so the prediction errors are linear in them and their gradient
is one backward (adjoint) pass with the gains held fixed; the derivatives with
respect to the noise variances, the damping and the drift are propagated
forward alongside the filter (five directions per rep). Written this way
instead of a ``pytensor.scan`` because the scan's gradient took about a minute
to compile for nutpie on this machine, against seconds for this Op; tested
against finite differences and against the numpy filter of
:mod:`spm_model.forecast.statespace`.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numba import njit

# Initial state of every rep's filter: level sd (log scale), slope sd (per month).
INIT_LEVEL_SD = 1.0
INIT_SLOPE_SD = 0.02


@njit(cache=True, error_model="numpy")
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


@njit(cache=True, error_model="numpy")
def kalman_loglik_grad(
    e: np.ndarray,
    mask: np.ndarray,
    h: np.ndarray,
    ql: np.ndarray,
    qb: float,
    phi: float,
    drift: float,
    nu: float,
    init_level: np.ndarray,
    student: bool,
    weight: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, float, float, float, float]:
    """Log likelihood of the observed ``e`` under per-rep local linear trends, and its gradient.

    Parameters
    ----------
    e : numpy.ndarray
        (R, T) observations (log amounts less the static effects).
    mask : numpy.ndarray
        (R, T) 1.0 where ``e`` is observed; elsewhere the filter only predicts.
    h, ql : numpy.ndarray
        (R,) observation and level noise variances.
    qb, phi, drift : float
        Slope noise variance, slope damping and long-run slope.
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

    Returns
    -------
    tuple
        ``(loglik, d_e, d_h, d_ql, d_qb, d_phi, d_drift, d_nu)``.
    """
    n_r, n_t = e.shape
    ll = 0.0
    d_e = np.zeros((n_r, n_t))
    d_h = np.zeros(n_r)
    d_ql = np.zeros(n_r)
    d_qb = 0.0
    d_phi = 0.0
    d_drift = 0.0
    d_nu = 0.0
    k1s = np.zeros(n_t)
    k2s = np.zeros(n_t)
    gs = np.zeros(n_t)
    if student:
        c_nu = 0.5 * _digamma((nu + 1.0) / 2.0) - 0.5 * _digamma(nu / 2.0) - 0.5 / (nu - 2.0)
        from_lg = np.log(np.pi * (nu - 2.0))
    else:
        c_nu = 0.0
        from_lg = np.log(2.0 * np.pi)
    for r in range(n_r):
        lv = init_level[r]
        b = drift
        p11 = INIT_LEVEL_SD**2
        p12 = 0.0
        p22 = INIT_SLOPE_SD**2
        # forward sensitivities, directions: 0 h, 1 ql, 2 qb, 3 phi, 4 drift
        dl = np.zeros(5)
        db = np.zeros(5)
        db[4] = 1.0
        dp11 = np.zeros(5)
        dp12 = np.zeros(5)
        dp22 = np.zeros(5)
        dh = np.zeros(5)
        dh[0] = 1.0
        dql = np.zeros(5)
        dql[1] = 1.0
        dqb = np.zeros(5)
        dqb[2] = 1.0
        dphi = np.zeros(5)
        dphi[3] = 1.0
        ddrift = np.zeros(5)
        ddrift[4] = 1.0
        n_obs = 0.0
        for t in range(n_t):
            m = mask[r, t]
            v = e[r, t] - lv
            f = p11 + h[r]
            k1 = m * p11 / f
            k2 = m * p12 / f
            gv = 0.0
            gf = 0.0
            if m > 0.0:
                w = weight[t]
                n_obs += w
                if student:
                    s = (nu - 2.0) * f
                    u = v * v / s
                    ll += w * (-0.5 * (from_lg + np.log(f)) - 0.5 * (nu + 1.0) * np.log1p(u))
                    gv = -w * (nu + 1.0) * v / (s + v * v)
                    gf = w * (-0.5 / f + 0.5 * (nu + 1.0) * u / (1.0 + u) / f)
                    d_nu += w * (-0.5 * np.log1p(u) + 0.5 * (nu + 1.0) * u / (1.0 + u) / (nu - 2.0))
                else:
                    ll += w * (-0.5 * (from_lg + np.log(f)) - 0.5 * v * v / f)
                    gv = -w * v / f
                    gf = w * (-0.5 / f + 0.5 * v * v / (f * f))
            k1s[t] = k1
            k2s[t] = k2
            gs[t] = gv
            l_u = lv + k1 * v
            b_u = b + k2 * v
            q11 = p11 - k1 * p11
            q12 = p12 - k1 * p12
            q22 = p22 - k2 * p12
            for j in range(5):
                dv = -dl[j]
                df = dp11[j] + dh[j]
                dk1 = m * (dp11[j] * f - p11 * df) / (f * f)
                dk2 = m * (dp12[j] * f - p12 * df) / (f * f)
                if m > 0.0:
                    g = gv * dv + gf * df
                    if j == 0:
                        d_h[r] += g
                    elif j == 1:
                        d_ql[r] += g
                    elif j == 2:
                        d_qb += g
                    elif j == 3:
                        d_phi += g
                    else:
                        d_drift += g
                dl_u = dl[j] + dk1 * v + k1 * dv
                db_u = db[j] + dk2 * v + k2 * dv
                dq11 = dp11[j] - dk1 * p11 - k1 * dp11[j]
                dq12 = dp12[j] - dk1 * p12 - k1 * dp12[j]
                dq22 = dp22[j] - dk2 * p12 - k2 * dp12[j]
                dl[j] = dl_u + db_u
                db[j] = ddrift[j] + dphi[j] * (b_u - drift) + phi * (db_u - ddrift[j])
                dp11[j] = dq11 + 2.0 * dq12 + dq22 + dql[j]
                dp12[j] = dphi[j] * (q12 + q22) + phi * (dq12 + dq22)
                dp22[j] = 2.0 * phi * dphi[j] * q22 + phi * phi * dq22 + dqb[j]
            lv = l_u + b_u
            b = drift + phi * (b_u - drift)
            p11 = q11 + 2.0 * q12 + q22 + ql[r]
            p12 = phi * (q12 + q22)
            p22 = phi * phi * q22 + qb
        d_nu += n_obs * c_nu
        # adjoint pass for the observations (gains fixed)
        lam_l = 0.0
        lam_b = 0.0
        for t in range(n_t - 1, -1, -1):
            lam_lu = lam_l
            lam_bu = lam_l + phi * lam_b
            g = gs[t] + k1s[t] * lam_lu + k2s[t] * lam_bu
            d_e[r, t] = g
            lam_l = lam_lu - g
            lam_b = lam_bu
    if student:
        n_all = (mask * weight[None, :]).sum()
        ll += n_all * (_lgamma((nu + 1.0) / 2.0) - _lgamma(nu / 2.0))
    return ll, d_e, d_h, d_ql, d_qb, d_phi, d_drift, d_nu


@njit(cache=True, error_model="numpy")
def _lgamma(x: float) -> float:
    return math.lgamma(x)


def _numba_kernel(student: bool) -> Any:
    """Return the Op's computation as a numba function of its array inputs (nutpie's backend)."""
    from pytensor.link.numba.dispatch.basic import numba_njit

    @numba_njit
    def kalman(e, mask, h, ql, qb, phi, drift, nu, init_level, weight):  # pragma: no cover
        ll, d_e, d_h, d_ql, d_qb, d_phi, d_drift, d_nu = kalman_loglik_grad(
            np.ascontiguousarray(e),
            np.ascontiguousarray(mask),
            np.ascontiguousarray(h),
            np.ascontiguousarray(ql),
            qb.item(),
            phi.item(),
            drift.item(),
            nu.item(),
            np.ascontiguousarray(init_level),
            student,
            np.ascontiguousarray(weight),
        )
        return (
            np.array(ll, dtype=np.float64),
            d_e,
            d_h,
            d_ql,
            np.array(d_qb, dtype=np.float64),
            np.array(d_phi, dtype=np.float64),
            np.array(d_drift, dtype=np.float64),
            np.array(d_nu, dtype=np.float64),
        )

    return kalman


@functools.cache
def _op_class() -> Any:
    import pytensor.tensor as pt
    from pytensor.graph.basic import Apply
    from pytensor.graph.op import Op
    from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

    class KalmanLogLik(Op):
        """``loglik, d_e, d_h, d_ql, d_qb, d_phi, d_drift, d_nu`` of :func:`kalman_loglik_grad`.

        Inputs ``e, mask, h, ql, qb, phi, drift, nu, init_level, weight``. Registered
        with PyTensor's numba backend, so nutpie's compiled graph calls the
        kernel natively (no Python object mode per gradient evaluation).
        """

        __props__ = ("student",)

        def __init__(self, student: bool):
            self.student = bool(student)

        def make_node(self, e, mask, h, ql, qb, phi, drift, nu, init_level, weight):
            ins = [
                pt.as_tensor_variable(x).astype("float64")
                for x in (e, mask, h, ql, qb, phi, drift, nu, init_level, weight)
            ]
            outs = [
                pt.dscalar(),
                pt.dmatrix(),
                pt.dvector(),
                pt.dvector(),
                pt.dscalar(),
                pt.dscalar(),
                pt.dscalar(),
                pt.dscalar(),
            ]
            return Apply(self, ins, outs)

        def perform(self, node, inputs, outputs):
            e, mask, h, ql, qb, phi, drift, nu, init_level, weight = inputs
            res = kalman_loglik_grad(
                np.ascontiguousarray(e),
                np.ascontiguousarray(mask),
                np.ascontiguousarray(h),
                np.ascontiguousarray(ql),
                float(qb),
                float(phi),
                float(drift),
                float(nu),
                np.ascontiguousarray(init_level),
                self.student,
                np.ascontiguousarray(weight),
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
            ]

    @register_funcify_default_op_cache_key(KalmanLogLik)
    def _funcify(op: Any, node: Any = None, **kwargs: Any) -> Any:
        return _numba_kernel(op.student), 1

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
) -> Any:
    """Symbolic Kalman-filter log likelihood (a PyTensor scalar with an exact gradient)."""
    op = _op_class()(student)
    w = np.ones(np.shape(mask)[1]) if weight is None else np.asarray(weight, dtype=float)
    return op(e, mask, h, ql, qb, phi, drift, nu, np.asarray(init_level, dtype=float), w)[0]
