"""Fused likelihood kernels of the state-space model: gradients, same density as the graph."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

os.environ.setdefault("PYTENSOR_FLAGS", "base_compiledir=/tmp/pytensor_fc")

from spm_model.forecast import simulate_panel
from spm_model.forecast.fused_loglik import amounts_loglik_grad, hurdle_loglik_grad
from spm_model.forecast.model import RAMP_HORIZON, log_ramp_fraction, make_design

N_R, N_T = 4, 30


def _amount_args(rng: np.random.Generator) -> list:
    mask = (rng.random((N_R, N_T)) > 0.2).astype(float)
    log_y = np.where(mask > 0, 5.0 + 0.1 * rng.normal(size=(N_R, N_T)).cumsum(1), 0.0)
    fm = (np.arange(N_T) + 3) % 12
    tenure = np.array([np.arange(N_T) - 2.0, np.arange(N_T) + 40.0]).clip(0)  # rows 1 and 3
    block = (N_T - 1 - np.arange(N_T)) // 6
    return [
        log_y,
        mask,
        0.2 * rng.normal(size=12),  # season
        0.05 * rng.normal(size=(N_R, 12)),  # season_dev
        fm,
        tenure,
        np.array([1, 3]),  # ramp rows
        2.5,  # ramp_tau
        RAMP_HORIZON,
        0.3,  # lag
        rng.normal(size=(N_R, N_T)),  # x12
        np.array([0.04, -0.15]),  # calendar coefficients: business days, Easter
        np.column_stack(  # business days above the usual; Easter's share in March and April
            [np.resize([1.0, -1.0, 0.0, 2.0, -1.0], N_T), np.resize([0.0, 0.5, -0.5, 0.0], N_T)]
        ),
        np.log([0.2, 0.3, 0.25, 0.15]),  # log_sigma
        np.log([0.03, 0.05, 0.02, 0.04]),  # log_sigma_level
        np.concatenate([[0.0], 0.2 * rng.normal(size=block.max())]),  # regime
        0.4 * rng.normal(size=block.max() + 1),  # level regime (block 0 too: any value works)
        block,
        1e-5,  # qb
        0.85,  # phi
        np.array([0.003, -0.002, 0.0, 0.006]),  # drift per series
        7.0,  # nu
        0.12,  # seasonal gain
        log_y[:, 0].copy(),
        np.ones(N_T),
    ]


def _hurdle_args(rng: np.random.Generator) -> list:
    a = _amount_args(rng)
    observed = np.ones((N_R, N_T))
    observed[0, :5] = 0.0
    return [
        rng.normal(size=N_R),  # per-rep logit
        np.array([0.2, -0.1, -0.1]),  # month of quarter
        0.8,  # ramp coefficient
        a[5],
        a[6],
        2.5,
        RAMP_HORIZON,
        -0.4,  # lag
        a[10],  # x12
        a[1],  # positive
        observed,
        a[4] % 3,
    ]


def _finite_difference_check(fn, args, diff_args, extra=()):
    """Central differences of the log likelihood against the kernel's gradient outputs."""
    res = fn(*args, *extra)
    for out_pos, i in enumerate(diff_args, start=1):
        x = np.atleast_1d(np.asarray(args[i], dtype=float))
        grad = np.atleast_1d(np.asarray(res[out_pos], dtype=float))
        num = np.zeros(x.shape)
        for idx in np.ndindex(x.shape):
            step = max(1e-7, 1e-6 * abs(x[idx]))  # a drift of 0 would otherwise step 1e-9
            hi, lo = list(args), list(args)
            xp, xm = x.copy(), x.copy()
            xp[idx] += step
            xm[idx] -= step
            hi[i] = xp if np.ndim(args[i]) else float(xp[0])
            lo[i] = xm if np.ndim(args[i]) else float(xm[0])
            num[idx] = (fn(*hi, *extra)[0] - fn(*lo, *extra)[0]) / (2 * step)
        np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-6, err_msg=f"argument {i}")


@pytest.mark.parametrize(("student", "robust"), [(True, False), (True, True), (False, False)])
def test_amounts_kernel_gradient_matches_finite_differences(student, robust):
    args = _amount_args(np.random.default_rng(3))
    if student:
        diff = (2, 3, 7, 9, 11, 13, 14, 15, 16, 18, 19, 20, 21, 22)
        if robust:
            args[0] = args[0].copy()
            args[0][2, 11] += 2.0 * args[1][2, 11]  # an outlier where observed
            args[21] = 3.2  # heavy tails
        _finite_difference_check(amounts_loglik_grad, args, diff, extra=(student, True, robust))
    else:  # no d_nu: the seasonal gain's derivative is checked on its own
        diff = (2, 3, 7, 9, 11, 13, 14, 15, 16, 18, 19, 20)
        _finite_difference_check(amounts_loglik_grad, args, diff, extra=(student, True))
        res = amounts_loglik_grad(*args, student, True)
        step = 1e-6
        hi, lo = list(args), list(args)
        hi[22], lo[22] = args[22] + step, args[22] - step
        num = (
            amounts_loglik_grad(*hi, student, True)[0] - amounts_loglik_grad(*lo, student, True)[0]
        ) / (2 * step)
        assert res[14] == pytest.approx(num, rel=1e-5, abs=1e-6)


def test_hurdle_kernel_gradient_matches_finite_differences():
    args = _hurdle_args(np.random.default_rng(4))
    _finite_difference_check(hurdle_loglik_grad, args, (0, 1, 2, 5, 7))


def test_hurdle_kernel_equals_the_bernoulli_logit_sum_by_hand():
    """Handmade: two reps, three months, no ramp; the second rep's first month unobserved."""
    pos = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    obs = np.array([[1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    x12 = np.array([[0.0, 1.0, -1.0], [2.0, 0.0, 0.5]])
    a, k, lag = np.array([0.5, -1.0]), np.array([0.3, 0.0, -0.3]), 0.2
    moq = np.array([0, 1, 2])
    none = np.zeros((0, 3))
    ll = hurdle_loglik_grad(a, k, 1.0, none, np.zeros(0, np.int64), 3.0, 48.0, lag, x12, pos, obs,
                            moq)[0]  # fmt: skip
    logit = a[:, None] + k[moq][None, :] + lag * x12
    expect = np.sum(obs * (pos * logit - np.log1p(np.exp(logit))))
    assert ll == pytest.approx(expect, rel=1e-12)


def test_ramp_inside_the_kernel_is_the_model_ramp():
    """The amounts kernel with only a ramp equals the filter on log_y less the model's ramp."""
    from spm_model.forecast.kalman import kalman_loglik_grad

    args = _amount_args(np.random.default_rng(5))
    args[2] = np.zeros(12)
    args[3] = np.zeros((N_R, 12))
    args[9] = 0.0
    args[11] = np.zeros(2)
    args[15] = np.zeros_like(args[15])
    args[16] = np.zeros_like(args[16])
    e = args[0].copy()
    e[args[6]] -= log_ramp_fraction(args[5], args[7])
    h = np.exp(2 * args[13])[:, None] * np.ones((1, N_T))
    ql = np.exp(2 * args[14])[:, None] * np.ones((1, N_T))
    args[22] = 0.0  # no seasonal adjustment, so the filter on e alone
    ll = amounts_loglik_grad(*args, True, False)[0]
    ref = kalman_loglik_grad(e, args[1], h, ql, args[18], args[19], args[20], args[21], args[23],
                             True, args[24], args[4], 0.0, False)[0]  # fmt: skip
    assert ll == pytest.approx(ref, rel=1e-12)


def _density_and_gradient(
    fused: bool,
    mode: str,
    drift_per_series: bool = False,
    season_gain: bool = False,
    robust: bool = False,
):
    import spm_model.forecast.statespace as ss

    panel, _ = simulate_panel(n_reps=6, n_months=60, n_regions=1, teams_per_region=2, seed=3)
    design = make_design(panel, 12)
    old = ss.FUSED_LOGLIK, ss.DRIFT_PER_SERIES, ss.SEASON_GAIN, ss.ROBUST_UPDATE
    ss.FUSED_LOGLIK, ss.DRIFT_PER_SERIES, ss.SEASON_GAIN = fused, drift_per_series, season_gain
    ss.ROBUST_UPDATE = robust
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = ss.build_ss_model(design, "student_t", hurdle=True, lag_effect=True)
            f = model.logp_dlogp_function(mode=mode, ravel_inputs=True)
    finally:
        ss.FUSED_LOGLIK, ss.DRIFT_PER_SERIES, ss.SEASON_GAIN, ss.ROBUST_UPDATE = old
    f.set_extra_values({})
    ip = model.initial_point()
    x0 = np.concatenate([np.ravel(ip[v.name]) for v in f._grad_vars])
    rng = np.random.default_rng(0)
    points = [x0 + 0.3 * rng.standard_normal(x0.size) for _ in range(3)]
    rows = len(ss.ss_data(design).ramp_rows)
    return [f(x) for x in points], rows


@pytest.mark.parametrize(
    ("drift_per_series", "season_gain", "robust"),
    [
        (False, False, False),
        pytest.param(True, True, False, marks=pytest.mark.slow),  # each compiles a model: 14 s
        pytest.param(False, False, True, marks=pytest.mark.slow),
    ],
)
def test_fused_model_has_the_graphs_density_and_gradient(drift_per_series, season_gain, robust):
    """Same log density and gradient as the plain PyTensor graph (ramp, regime, hurdle, lag;
    a shared drift or one per series, an evolving seasonal pattern, the robust update)."""
    plain, rows = _density_and_gradient(False, "FAST_RUN", drift_per_series, season_gain, robust)
    fused, _ = _density_and_gradient(True, "FAST_RUN", drift_per_series, season_gain, robust)
    assert rows > 0  # the simulated reps include new hires, so the ramp is exercised
    for (lp0, g0), (lp1, g1) in zip(plain, fused, strict=True):
        assert lp1 == pytest.approx(lp0, rel=1e-10)
        np.testing.assert_allclose(g1, g0, rtol=1e-8, atol=1e-8)


@pytest.mark.slow
@pytest.mark.parametrize(("drift_per_series", "season_gain"), [(False, False), (True, True)])
def test_fused_model_in_the_numba_backend_matches(drift_per_series, season_gain):
    """nutpie's backend (numba) runs the registered kernels: same density and gradient."""
    plain, _ = _density_and_gradient(False, "FAST_RUN", drift_per_series, season_gain)
    fused, _ = _density_and_gradient(True, "NUMBA", drift_per_series, season_gain)
    for (lp0, g0), (lp1, g1) in zip(plain, fused, strict=True):
        assert lp1 == pytest.approx(lp0, rel=1e-10)
        np.testing.assert_allclose(g1, g0, rtol=1e-8, atol=1e-8)


_FRESH_AND_CACHED = """
import hashlib, sys, warnings
import numpy as np
from spm_model.forecast import simulate_panel
from spm_model.forecast.estimator import ieee_compilation
from spm_model.forecast.model import make_design
from spm_model.forecast.statespace import build_ss_model

warnings.simplefilter("ignore")
panel, _ = simulate_panel(n_reps=6, n_months=60, n_regions=1, teams_per_region=2, seed=3)
model = build_ss_model(make_design(panel, 12), "student_t", hurdle=True, lag_effect=True)
with ieee_compilation():
    f = model.logp_dlogp_function(mode="NUMBA", ravel_inputs=True)
f.set_extra_values({})
ip = model.initial_point()
x0 = np.concatenate([np.ravel(ip[v.name]) for v in f._grad_vars])
rng = np.random.default_rng(0)
digest = hashlib.sha256()
for _ in range(5):
    lp, g = f(x0 + 0.3 * rng.standard_normal(x0.size))
    digest.update(np.float64(lp).tobytes() + np.asarray(g, dtype=np.float64).tobytes())
print(digest.hexdigest())
"""


@pytest.mark.slow
def test_first_compilation_and_the_cached_one_give_identical_gradients(tmp_path):
    """Bit-identical log density and gradient whether compiled afresh or loaded from the cache.

    The first process compiles into an empty PyTensor and numba cache, the second
    loads from it. With PyTensor's default fast math the two differed in the
    Student-t degrees of freedom's gradient (so the same seed gave different draws
    on a fresh machine's first and second fit); :func:`ieee_compilation` fixes it.
    """
    import subprocess
    import sys

    env = dict(
        os.environ,
        PYTENSOR_FLAGS=f"base_compiledir={tmp_path / 'pytensor'}",
        NUMBA_CACHE_DIR=str(tmp_path / "numba"),
    )
    digests = [
        subprocess.run(
            [sys.executable, "-c", _FRESH_AND_CACHED],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for _ in range(2)
    ]
    assert len(digests[0]) == 64
    assert digests[0] == digests[1]


def test_hurdle_kernel_long_panel_and_fractional_weights_equal_the_direct_sum():
    """Over 512 months of weight 1 (the running product is logged and restarted) and months
    of weight 0.5 (summed directly), the kernel equals the Bernoulli-logit sum."""
    rng = np.random.default_rng(9)
    n_r, n_t = 3, 700
    pos = (rng.random((n_r, n_t)) < 0.7).astype(float)
    obs = np.ones((n_r, n_t))
    obs[1, ::7] = 0.5
    obs[2, :40] = 0.0
    x12 = rng.normal(size=(n_r, n_t))
    a, k, lag = np.array([0.8, -0.4, 2.5]), np.array([0.3, 0.0, -0.3]), 0.6
    moq = np.arange(n_t) % 3
    none = np.zeros((0, n_t))
    ll = hurdle_loglik_grad(a, k, 1.0, none, np.zeros(0, np.int64), 3.0, 48.0, lag, x12, pos, obs,
                            moq)[0]  # fmt: skip
    logit = a[:, None] + k[moq][None, :] + lag * x12
    expect = np.sum(obs * (pos * logit - np.logaddexp(0.0, logit)))
    assert ll == pytest.approx(expect, rel=1e-12)


def test_kernels_are_not_cached_by_numba_itself():
    """A kernel loaded from numba's own cache and linked into a fresh PyTensor Op gave other
    rounding than one compiled in the process, so the same seed's chains depended on the
    machine's cache history; the kernels are compiled in the process (PyTensor caches the Ops)."""
    from numba.core.caching import NullCache

    from spm_model.forecast import fused_loglik, kalman

    kernels = [
        kalman._digamma,
        kalman._lgamma,
        kalman.kalman_loglik_grad_tm,
        fused_loglik._ramp_rows,
        fused_loglik.amounts_loglik_grad_tm,
        fused_loglik.hurdle_loglik_grad,
    ]
    for k in kernels:
        assert isinstance(k._cache, NullCache), k.py_func.__name__
