"""The state-space model's likelihood terms as fused numba kernels (PyTensor Ops).

:mod:`spm_model.forecast.statespace` scores each series with a Kalman filter
(:func:`~spm_model.forecast.kalman.kalman_loglik_grad`) on the log amounts less
the static effects, with per-month noise variances, and months without
bookings with a logistic hurdle. Written as PyTensor expressions, the
(rep x month) arrays around the filter (the seasonal and per-rep seasonal
offsets gathered by fiscal month, the ramp and lag-12 terms, the noise
variances scaled by the regime walk, the hurdle's logit) and their gradients,
scatter-adds included, cost as much per gradient evaluation as the filter
itself: on 50 series x 180 months 410 us against the filter's 340 us.

Here each term is one Op whose numba kernel takes the model's small
parameter arrays (12 seasonal effects, a rep x 12 deviation table, one scale
per rep, one regime value per block), builds the rep x month arrays in a loop
and returns the log likelihood together with its gradient with respect to
those small arrays. The model and its posterior are unchanged: the tests hold
the log density and its gradient equal to the plain PyTensor graph.

Both Ops are registered with PyTensor's numba backend (nutpie's), and run the
same kernels from Python in other backends.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from numba import njit

from spm_model.forecast.kalman import (
    KERNEL_JIT,
    drift_per_rep,
    kalman_loglik_grad_tm,
    kernel_source_version,
)
from spm_model.forecast.model import RAMP_HORIZON

# -- kernels ---------------------------------------------------------------------------------


@njit(**KERNEL_JIT)
def _ramp_rows(tenure: np.ndarray, tau: float, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Log ramp fraction per cell of ``tenure``, and its derivative in ``tau``.

    ``log(1 - exp(-(tenure + 0.5) / tau))``, 0 from ``horizon`` months
    (:func:`~spm_model.forecast.model.log_ramp_fraction`).
    """
    val = np.zeros_like(tenure)
    d_tau = np.zeros_like(tenure)
    for i in range(tenure.shape[0]):
        for t in range(tenure.shape[1]):
            a = tenure[i, t] + 0.5
            if tenure[i, t] < horizon:
                q = np.exp(-a / tau)
                val[i, t] = np.log1p(-q)
                d_tau[i, t] = -q * a / (tau * tau * (1.0 - q))
    return val, d_tau


@njit(**KERNEL_JIT)
def amounts_loglik_grad_tm(
    log_y: np.ndarray,
    mask: np.ndarray,
    season: np.ndarray,
    season_dev: np.ndarray,
    fiscal_month: np.ndarray,
    tenure: np.ndarray,
    ramp_rows: np.ndarray,
    ramp_tau: float,
    horizon: float,
    lag: float,
    x12: np.ndarray,
    days: np.ndarray,
    x_days: np.ndarray,
    log_sigma: np.ndarray,
    log_sigma_level: np.ndarray,
    regime: np.ndarray,
    level_regime: np.ndarray,
    block: np.ndarray,
    qb: float,
    phi: float,
    drift: np.ndarray,
    nu: float,
    season_gain: float,
    init_level: np.ndarray,
    weight: np.ndarray,
    student: bool,
    evolving: bool,
    robust: bool = False,
) -> tuple:
    """Kalman log likelihood of the log amounts and its gradient w.r.t. the model's parameters.

    Month-major: ``log_y``, ``mask`` and ``x12`` are (T, R) arrays (the filter's
    layout, so every loop over the reps reads memory in order); the Op passes
    them so. :func:`amounts_loglik_grad` takes them (R, T).

    The filter sees ``e[r, t] = log_y[r, t] - season[m] - season_dev[r, m]
    - ramp[r, t] - lag * x12[r, t] - days . x_days[t]`` (``m = fiscal_month[t]``; ``days``
    the (K,) coefficients of the K calendar covariates ``x_days`` (T, K): business days, Easter;
    the log ramp
    is computed from ``tenure``, the rows ``ramp_rows`` of the tenure, and
    ``ramp_tau``; zero on other rows and from ``horizon`` months), observation
    variances ``h[r, t] = exp(2 log_sigma[r] + 2 regime[block[t]])`` and level
    variances ``ql[r, t] = exp(2 log_sigma_level[r] + 2 level_regime[block[t]])`` (the level
    noise's own walk, the same ``regime`` when it is shared, or zeros). ``season_gain``: the
    share of each month's prediction error its series' seasonal adjustment for that month of
    the year takes (:func:`~spm_model.forecast.kalman.kalman_loglik_grad_tm`; only when
    ``evolving``). ``robust``: with ``student``, the filter's robust update (same function).

    Returns
    -------
    tuple
        ``(loglik, d_season, d_season_dev, d_ramp_tau, d_lag, d_days, d_log_sigma,
        d_log_sigma_level, d_regime, d_level_regime, d_qb, d_phi, d_drift, d_nu,
        d_season_gain)``.
    """
    n_t, n_r = log_y.shape
    n_rows = ramp_rows.shape[0]
    dev_t = np.ascontiguousarray(season_dev.T)  # (12, R)
    e = np.empty((n_t, n_r))
    h = np.empty((n_t, n_r))
    ql = np.empty((n_t, n_r))
    # the variances are products of a per-rep and a per-block factor: no exponential per cell
    mult = np.exp(2.0 * regime)
    lmult = np.exp(2.0 * level_regime)
    h_r = np.exp(2.0 * log_sigma)
    ql_r = np.exp(2.0 * log_sigma_level)
    n_k = days.shape[0]
    for t in range(n_t):
        m = fiscal_month[t]
        mt = mult[block[t]]
        lt = lmult[block[t]]
        cal = 0.0
        for k in range(n_k):
            cal += days[k] * x_days[t, k]
        for r in range(n_r):
            e[t, r] = log_y[t, r] - season[m] - dev_t[m, r] - lag * x12[t, r] - cal
            h[t, r] = h_r[r] * mt
            ql[t, r] = ql_r[r] * lt
    ramp, ramp_d_tau = _ramp_rows(tenure, ramp_tau, horizon)
    for i in range(n_rows):
        r = ramp_rows[i]
        for t in range(n_t):
            e[t, r] -= ramp[i, t]
    ll, d_e, d_h, d_ql, d_qb, d_phi, d_drift, d_nu, d_gain = kalman_loglik_grad_tm(
        e, mask, h, ql, qb, phi, drift, nu, init_level, student, weight, fiscal_month,
        season_gain, evolving, robust,
    )  # fmt: skip
    d_season = np.zeros_like(season)
    d_dev_t = np.zeros((season_dev.shape[1], n_r))
    d_tau = 0.0
    d_lag = 0.0
    d_days = np.zeros(n_k)
    d_ls = np.zeros(n_r)
    d_lsl = np.zeros(n_r)
    d_regime = np.zeros_like(regime)
    d_lregime = np.zeros_like(level_regime)
    for t in range(n_t):
        m = fiscal_month[t]
        # the month's sums in registers (a shared accumulator per rep-month would chain
        # every rep's addition through memory)
        sum_de = 0.0
        sum_lag = 0.0
        sum_reg = 0.0
        sum_lreg = 0.0
        for r in range(n_r):
            de = d_e[t, r]
            sum_de += de
            d_dev_t[m, r] -= de
            sum_lag += de * x12[t, r]
            gh = 2.0 * h[t, r] * d_h[t, r]
            gq = 2.0 * ql[t, r] * d_ql[t, r]
            d_ls[r] += gh
            d_lsl[r] += gq
            sum_reg += gh
            sum_lreg += gq
        d_season[m] -= sum_de
        d_lag -= sum_lag
        for k in range(n_k):
            d_days[k] -= sum_de * x_days[t, k]
        d_regime[block[t]] += sum_reg
        d_lregime[block[t]] += sum_lreg
    for i in range(n_rows):
        r = ramp_rows[i]
        for t in range(n_t):
            d_tau -= d_e[t, r] * ramp_d_tau[i, t]
    return (
        ll,
        d_season,
        np.ascontiguousarray(d_dev_t.T),
        d_tau,
        d_lag,
        d_days,
        d_ls,
        d_lsl,
        d_regime,
        d_lregime,
        d_qb,
        d_phi,
        d_drift,
        d_nu,
        d_gain,
    )


def amounts_loglik_grad(*args: Any) -> tuple:
    """:func:`amounts_loglik_grad_tm` with ``log_y``, ``mask`` and ``x12`` as (R, T) arrays.

    Same arguments in the same order (positions 0, 1 and 10 rep-major); a Python
    convenience for tests and callers holding rep-major panels, not a kernel.
    """
    a = list(args)
    for i in (0, 1, 10):  # log_y, mask, x12
        a[i] = np.ascontiguousarray(np.asarray(a[i], dtype=float).T)
    return amounts_loglik_grad_tm(*a)


@njit(**KERNEL_JIT)
def hurdle_loglik_grad(
    rep_logit: np.ndarray,
    month_of_quarter_effect: np.ndarray,
    ramp_coef: float,
    tenure: np.ndarray,
    ramp_rows: np.ndarray,
    ramp_tau: float,
    horizon: float,
    lag: float,
    x12: np.ndarray,
    positive: np.ndarray,
    observed: np.ndarray,
    month_of_quarter: np.ndarray,
) -> tuple:
    """Bernoulli-logit log likelihood of "any bookings" per observed month, and its gradient.

    ``logit[r, t] = rep_logit[r] + month_of_quarter_effect[month_of_quarter[t]]
    + ramp_coef * ramp[r, t] + lag * x12[r, t]`` (the log ramp as in
    :func:`amounts_loglik_grad`); each observed month scores
    ``positive * logit - softplus(logit)``, with one exponential per month for
    the value and the gradient together.

    Returns
    -------
    tuple
        ``(loglik, d_rep_logit, d_month_of_quarter_effect, d_ramp_coef, d_ramp_tau, d_lag)``.
    """
    n_r, n_t = positive.shape
    n_rows = ramp_rows.shape[0]
    ramp_index = np.full(n_r, -1)
    for i in range(n_rows):
        ramp_index[ramp_rows[i]] = i
    ramp, ramp_d_tau = _ramp_rows(tenure, ramp_tau, horizon)
    k_t = np.empty(n_t)
    for t in range(n_t):
        k_t[t] = month_of_quarter_effect[month_of_quarter[t]]
    ll = 0.0
    d_a = np.zeros(n_r)
    g_t = np.zeros(n_t)  # gradient per month, summed into the month-of-quarter effects
    d_hr = 0.0
    d_tau = 0.0
    d_lag = 0.0
    # sum of log1p(z) over the months of weight 1: the log of a running product of (1 + z),
    # each factor in (1, 2], so 512 factors stay finite (one logarithm per 512 months instead
    # of one per month; the logarithm was about half the kernel's time)
    prod = 1.0
    n_prod = 0
    for r in range(n_r):
        i = ramp_index[r]
        a = rep_logit[r]
        g_r = 0.0
        for t in range(n_t):
            w = observed[r, t]
            if w == 0.0:
                continue
            x = a + k_t[t] + lag * x12[r, t]
            if i >= 0:
                x += ramp_coef * ramp[i, t]
            z = np.exp(-abs(x))
            inv = 1.0 / (1.0 + z)
            sigmoid = inv if x >= 0.0 else z * inv
            if w == 1.0:
                ll += positive[r, t] * x - max(x, 0.0)
                prod *= 1.0 + z
                n_prod += 1
                if n_prod == 512:
                    ll -= np.log(prod)
                    prod = 1.0
                    n_prod = 0
            else:
                ll += w * (positive[r, t] * x - max(x, 0.0) - np.log1p(z))
            g = w * (positive[r, t] - sigmoid)
            g_r += g
            g_t[t] += g
            d_lag += g * x12[r, t]
            if i >= 0:
                d_hr += g * ramp[i, t]
                d_tau += g * ramp_coef * ramp_d_tau[i, t]
        d_a[r] = g_r
    ll -= np.log(prod)
    d_k = np.zeros_like(month_of_quarter_effect)
    for t in range(n_t):
        d_k[month_of_quarter[t]] += g_t[t]
    return ll, d_a, d_k, d_hr, d_tau, d_lag


# -- the Ops ---------------------------------------------------------------------------------

#: Per kernel: the dtype of each input ("f": float64, "i": int64), which inputs the gradient
#: flows to (in the kernel's output order after the log likelihood) and the flags passed last.
_SPECS: dict[str, dict[str, Any]] = {
    "amounts": {
        # log_y mask season dev fm tenure rows tau horizon lag x12 days x_days ls lsl regime
        # level_regime block qb phi drift nu gain init w
        "dtypes": "ffffififfffffffffifffffff",
        "diff": (2, 3, 7, 9, 11, 13, 14, 15, 16, 18, 19, 20, 21, 22),
    },
    "hurdle": {
        # a k hr tenure rows tau horizon lag pos obs moq x12
        "dtypes": "ffffifffffif",
        "diff": (0, 1, 2, 5, 7),
    },
}


def _amounts_numba(flags: tuple[bool, ...]) -> Any:
    from pytensor.link.numba.dispatch.basic import numba_njit

    student, evolving, robust = flags

    @numba_njit
    def amounts(
        log_y,
        mask,
        season,
        dev,
        fm,
        ten,
        rows,
        tau,
        hor,
        lag,
        x12,
        days,
        x_days,
        ls,
        lsl,
        regime,
        lregime,
        block,
        qb,
        phi,
        drift,
        nu,
        gain,
        init,
        weight,
    ):  # pragma: no cover  (runs inside nutpie's compiled graph)
        out = amounts_loglik_grad_tm(
            log_y, mask, season, dev, fm, ten, rows, tau.item(), hor.item(), lag.item(), x12,
            days, x_days, ls, lsl, regime, lregime, block, qb.item(), phi.item(),
            drift, nu.item(), gain.item(), init, weight, student, evolving, robust,
        )  # fmt: skip
        return (
            np.array(out[0], dtype=np.float64),
            out[1],
            out[2],
            np.array(out[3], dtype=np.float64),
            np.array(out[4], dtype=np.float64),
            out[5],
            out[6],
            out[7],
            out[8],
            out[9],
            np.array(out[10], dtype=np.float64),
            np.array(out[11], dtype=np.float64),
            out[12],
            np.array(out[13], dtype=np.float64),
            np.array(out[14], dtype=np.float64),
        )

    return amounts


def _hurdle_numba() -> Any:
    from pytensor.link.numba.dispatch.basic import numba_njit

    @numba_njit
    def hurdle(a, k, hr, ten, rows, tau, hor, lag, pos, obs, moq, x12):  # pragma: no cover
        out = hurdle_loglik_grad(
            a, k, hr.item(), ten, rows, tau.item(), hor.item(), lag.item(), x12, pos, obs, moq
        )
        return (
            np.array(out[0], dtype=np.float64),
            out[1],
            out[2],
            np.array(out[3], dtype=np.float64),
            np.array(out[4], dtype=np.float64),
            np.array(out[5], dtype=np.float64),
        )

    return hurdle


def _call_python(kind: str, flags: tuple[bool, ...], inputs: list[np.ndarray]) -> tuple:
    # scalars as floats, arrays C-contiguous (np.ascontiguousarray makes a 0-d array 1-d)
    args = [float(x) if np.ndim(x) == 0 else np.ascontiguousarray(x) for x in inputs]
    if kind == "amounts":
        return amounts_loglik_grad_tm(*args, *flags)
    a, k, hr, ten, rows, tau, hor, lag, pos, obs, moq, x12 = args
    return hurdle_loglik_grad(a, k, hr, ten, rows, tau, hor, lag, x12, pos, obs, moq)


@functools.cache
def _op_class() -> Any:
    import pytensor.tensor as pt
    from pytensor.gradient import disconnected_type
    from pytensor.graph.basic import Apply
    from pytensor.graph.op import Op
    from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key

    class FusedLogLik(Op):
        """Log likelihood of one term of the state-space model and its gradient (one kernel).

        Outputs the log likelihood, then the gradient w.r.t. each differentiable
        input (:data:`_SPECS`). Registered with PyTensor's numba backend.
        """

        __props__ = ("kind", "flags")

        def __init__(self, kind: str, flags: tuple[bool, ...] = ()):
            self.kind = kind
            self.flags = tuple(bool(f) for f in flags)

        def make_node(self, *inputs):
            ins = []
            for x, dt in zip(inputs, _SPECS[self.kind]["dtypes"], strict=True):
                v = pt.as_tensor_variable(x)
                ins.append(v.astype("float64" if dt == "f" else "int64"))
            outs = [pt.dscalar()]
            outs += [ins[i].type() for i in _SPECS[self.kind]["diff"]]
            return Apply(self, ins, outs)

        def perform(self, node, inputs, outputs):
            res = _call_python(self.kind, self.flags, inputs)
            for out, val in zip(outputs, res, strict=True):
                out[0] = np.asarray(val, dtype=np.float64)

        def connection_pattern(self, node):
            diff = set(_SPECS[self.kind]["diff"])
            n_out = len(node.outputs)
            return [[i in diff] * n_out for i in range(len(node.inputs))]

        def grad(self, inputs, output_grads):
            outs = self(*inputs)
            g = output_grads[0]
            diff = _SPECS[self.kind]["diff"]
            grads: list[Any] = [disconnected_type() for _ in inputs]
            for j, i in enumerate(diff):
                grads[i] = g * outs[j + 1]
            return grads

    @register_funcify_default_op_cache_key(FusedLogLik)
    def _funcify(op: Any, node: Any = None, **kwargs: Any) -> Any:
        fn = _amounts_numba(op.flags) if op.kind == "amounts" else _hurdle_numba()
        return fn, kernel_source_version()

    return FusedLogLik


def amounts_loglik(
    log_y: np.ndarray,
    mask: np.ndarray,
    season: Any,
    season_dev: Any,
    fiscal_month: np.ndarray,
    tenure: np.ndarray,
    ramp_rows: np.ndarray,
    ramp_tau: Any,
    lag: Any,
    x12: np.ndarray,
    days: Any,
    x_days: np.ndarray,
    log_sigma: Any,
    log_sigma_level: Any,
    regime: Any,
    level_regime: Any,
    block: np.ndarray,
    qb: Any,
    phi: Any,
    drift: Any,
    nu: Any,
    init_level: np.ndarray,
    weight: np.ndarray,
    student: bool,
    season_gain: Any = None,
    robust: bool = False,
) -> Any:
    """Symbolic log likelihood of the log amounts (see :func:`amounts_loglik_grad_tm`).

    ``season`` (12,), ``season_dev`` (R, 12), ``log_sigma`` and ``log_sigma_level`` (R,),
    ``regime`` and ``level_regime`` (blocks,), ``drift`` (a scalar, shared, or (R,) per rep)
    and the scalars are PyTensor expressions; the
    rest are data (``tenure``: the rows ``ramp_rows`` of the reps' tenure in months;
    ``x_days`` (T, K): the calendar covariates, business days and Easter, whose coefficients
    ``days`` (K,) are PyTensor expressions too).
    """
    op = _op_class()("amounts", (student, season_gain is not None, robust))
    n_reps = np.shape(log_y)[0]
    # the data month-major, as the kernel reads them (amounts_loglik_grad_tm)
    log_y, mask, x12 = (
        np.ascontiguousarray(np.asarray(a, dtype=float).T) for a in (log_y, mask, x12)
    )
    x_days = np.ascontiguousarray(x_days, dtype=float).reshape(len(x_days), -1)  # (T, K)
    return op(
        log_y, mask, season, season_dev, fiscal_month, tenure, ramp_rows, ramp_tau,
        RAMP_HORIZON, lag, x12, days, x_days, log_sigma, log_sigma_level, regime, level_regime,
        block, qb, phi, drift_per_rep(drift, n_reps), nu,
        0.0 if season_gain is None else season_gain, init_level, weight,
    )[0]  # fmt: skip


def hurdle_loglik(
    rep_logit: Any,
    month_of_quarter_effect: Any,
    ramp_coef: Any,
    tenure: np.ndarray,
    ramp_rows: np.ndarray,
    ramp_tau: Any,
    lag: Any,
    positive: np.ndarray,
    observed: np.ndarray,
    month_of_quarter: np.ndarray,
    x12: np.ndarray,
) -> Any:
    """Symbolic hurdle log likelihood (see :func:`hurdle_loglik_grad`)."""
    op = _op_class()("hurdle")
    return op(
        rep_logit, month_of_quarter_effect, ramp_coef, tenure, ramp_rows, ramp_tau,
        RAMP_HORIZON, lag, positive, observed, month_of_quarter, x12,
    )[0]  # fmt: skip
