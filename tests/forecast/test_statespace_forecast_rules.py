"""The state-space forecast's rules on handmade inputs (no fit): how the level noise's own
regime walk is carried past the cut-off, the share of the series' shocks in common, and the
Student-t filter's robust update."""

from types import SimpleNamespace

import numpy as np
import pytest

from spm_model.forecast.kalman import kalman_loglik_grad
from spm_model.forecast.statespace import _filter_step, common_correlation, level_regime_ahead


def test_level_regime_ahead_reverts_at_its_own_pace():
    """Handmade walks: back towards the mean of the blocks at the lag-one autocorrelation."""
    # blocks 0, 1, 2, 3 back from the cut-off: mean 1.5, deviations -1.5, -0.5, 0.5, 1.5;
    # lag-one autocorrelation (0.75 - 0.25 + 0.75) / (2.25 + 0.25 + 0.25) = 1.25 / 2.75
    rho = 1.25 / 2.75
    ahead = level_regime_ahead(np.array([[0.0, 1.0, 2.0, 3.0]]), 3)
    np.testing.assert_allclose(ahead, [[1.5 * (1 - rho**k) for k in (1, 2, 3)]])
    # a one-off block: no persistence (clipped at 0), straight to the mean
    np.testing.assert_allclose(level_regime_ahead(np.array([[0.0, -1, -1, -1]]), 2), -0.75)
    # a flat history, or too few blocks to read a pace: held at today's
    np.testing.assert_array_equal(level_regime_ahead(np.zeros((2, 5)), 2), 0.0)
    np.testing.assert_array_equal(level_regime_ahead(np.array([[0.0, 2.0]]), 2), 0.0)


def test_common_correlation_of_the_monthly_surprises():
    """Handmade surprises: the average product of two series' surprises in a month over the
    average square; months with one series seen add nothing; clipped at 0; 0 for one series."""
    # 2 series x 4 months, f = 1: (1, 1), (-1, -1), (1, -1) and a month with only series 0
    v = np.array([[[1.0, -1.0, 1.0, 3.0], [1.0, -1.0, -1.0, 0.0]]])
    seen = np.array([[1, 1, 1, 1], [1, 1, 1, 0]], dtype=float)
    s = SimpleNamespace(grid=SimpleNamespace(positive=seen), weight=np.ones(4))
    fl = {"v": v, "f": np.ones_like(v)}
    # pairs: 1 + 1 - 1 = 1 over squares 2 + 2 + 2 (each month's (n - 1) x sum of squares)
    # counted twice (r, q and q, r): 2 / 6
    np.testing.assert_allclose(common_correlation(fl, s), [1 / 3])
    opposite = {"v": np.array([[[1.0, -1.0], [-1.0, 1.0]]]), "f": np.full((1, 2, 2), 4.0)}
    s2 = SimpleNamespace(grid=SimpleNamespace(positive=np.ones((2, 2))), weight=np.ones(2))
    np.testing.assert_array_equal(common_correlation(opposite, s2), [0.0])
    one = {"v": np.array([[[1.0, 2.0]]]), "f": np.ones((1, 1, 2))}
    s1 = SimpleNamespace(grid=SimpleNamespace(positive=np.ones((1, 2))), weight=np.ones(2))
    np.testing.assert_array_equal(common_correlation(one, s1), [0.0])
    # surprises that share nothing month by month but add up together over two-month windows
    g = np.repeat([1.0, -1.0], 8)[:16:2].repeat(2)  # the sign of each window, per month
    first = np.tile([1.0, 0.0], 8)
    lagged = {"v": np.stack([g * first, g * (1 - first)])[None], "f": np.ones((1, 2, 16))}
    s16 = SimpleNamespace(grid=SimpleNamespace(positive=np.ones((2, 16))), weight=np.ones(16))
    np.testing.assert_array_equal(common_correlation(lagged, s16), [0.0])
    np.testing.assert_allclose(common_correlation(lagged, s16, months=2), [0.99])
    # fewer than eight windows: read month by month
    short = {"v": lagged["v"][:, :, :10], "f": np.ones((1, 2, 10))}
    s10 = SimpleNamespace(grid=SimpleNamespace(positive=np.ones((2, 10))), weight=np.ones(10))
    np.testing.assert_array_equal(common_correlation(short, s10, months=2), [0.0])


def test_robust_update_scales_the_noise_by_the_students_precision_given_the_error():
    """Handmade month: p11 = 1, p12 = 0.5, p22 = 0.1, h = 1, nu = 5 (f = 2).

    The update's noise variance is h (nu - 2 + v^2 / f) / (nu + 1): an error of 0 gives
    h / 2, so the gain on the level is 1 / 1.5 = 2/3 (linear: 1/2); an error of 4 gives
    h * 11/6, gain 6/17 (linear: 1/2), so the level moves 24/17 instead of 2.
    """

    def step(v, nu):
        one = np.ones(1)
        return _filter_step(
            np, v * one, one, one, 0.0 * one, 0.0 * one, one, 0.5 * one, 0.1 * one, 0.9,
            0.0, 0.0 * one, 0.0, nu,
        )  # fmt: skip

    nu = 5.0 * np.ones(1)
    calm, calm_lin = step(0.0, nu), step(0.0, None)
    assert calm[9][0] == 1.0 - 2.0 / 3.0  # q11 = p11 (1 - k1)
    assert calm_lin[9][0] == 0.5
    assert calm[8][0] == 0.0 and calm[10][0] == 0.5 * (1 - 2.0 / 3.0)  # b_u, q12
    wild, wild_lin = step(4.0, nu), step(4.0, None)
    np.testing.assert_allclose(wild[7], 24.0 / 17.0)  # l_u = k1 v
    np.testing.assert_allclose(wild[8], 12.0 / 17.0)  # b_u = k2 v, k2 = 0.5 / (17 / 6)
    np.testing.assert_allclose(wild_lin[7], 2.0)
    # the prediction error and its variance (what the likelihood scores) are the filter's own
    assert wild[5][0] == 4.0 and wild[6][0] == 2.0 == wild_lin[6][0]


def _smooth_series_with_a_decimal_slip(n_t: int = 36):
    rng = np.random.default_rng(4)
    e = 3.0 + 0.02 * rng.standard_normal((1, n_t))
    e[0, 20] -= np.log(10.0)  # one month keyed a tenth of its size
    return e


def _levels(e: np.ndarray, nu: np.ndarray | None) -> dict[str, np.ndarray]:
    """Predicted level after each month of a smooth series (noise sd 0.02, level sd 0.01)."""
    one = np.ones(1)
    lv, b, p11, p12, p22 = 3.0 * one, 0.0 * one, 0.01 * one, 0.0 * one, 1e-6 * one
    level = []
    for t in range(e.shape[1]):
        lv, b, p11, p12, p22, *_ = _filter_step(
            np, e[:, t], one, 0.02**2 * one, lv, b, p11, p12, p22, 0.8, 0.0, 0.01**2 * one,
            1e-8, nu,
        )  # fmt: skip
        level.append(lv[0])
    return np.array(level)


def test_robust_update_does_not_follow_a_gross_error():
    """A smooth series (level 3) with one month a tenth of its size: the linear filter's level
    drops with it and the next months are surprises too; the robust update's level stays put,
    so the months after are ordinary."""
    e = _smooth_series_with_a_decimal_slip()
    robust, linear = _levels(e, 3.0 * np.ones(1)), _levels(e, None)
    assert abs(robust[20] - 3.0) < 0.05  # the level predicted for the month after
    assert linear[20] < 3.0 - 0.5
    assert np.abs(robust[21:] - 3.0).max() < 0.05
    assert np.abs(linear[21:28] - 3.0).max() > 0.2  # the linear filter is off for months


@pytest.mark.parametrize("shift", [-1.5, -0.3, 0.5])
def test_robust_update_takes_up_a_level_shift_the_month_after(shift):
    """The same series with a lasting shift from month 20: the first month is declined like a
    gross error, but the level's variance keeps the square of the move declined, so the second
    month of the new level is taken up at once (within 0.05); the linear filter creeps towards it
    over many months."""
    rng = np.random.default_rng(4)
    e = 3.0 + 0.02 * rng.standard_normal((1, 36))
    e[0, 20:] += shift
    robust, linear = _levels(e, 3.0 * np.ones(1)), _levels(e, None)
    assert abs(robust[20] - 3.0) < 0.05  # month 20 declined
    assert np.abs(robust[21:] - (3.0 + shift)).max() < 0.05
    assert abs(linear[21] - (3.0 + shift)) > 0.25 * abs(shift)  # a third of the way short


def test_kernel_likelihood_with_the_robust_update_is_the_filters_t_density():
    """The kernel's log likelihood with the robust update equals the Student-t density of the
    numpy filter's prediction errors (variance f), summed by hand; the gross error counts once."""
    from scipy import stats

    e = _smooth_series_with_a_decimal_slip()
    n_t = e.shape[1]
    mask = np.ones((1, n_t))
    h = np.full((1, n_t), 0.02**2)
    ql = np.full((1, n_t), 0.01**2)
    nu = 3.0
    ll = kalman_loglik_grad(
        e, mask, h, ql, 1e-8, 0.8, np.zeros(1), nu, np.full(1, 3.0), True, np.ones(n_t),
        np.arange(n_t) % 12, 0.0, False, True,
    )[0]  # fmt: skip
    from spm_model.forecast.kalman import INIT_LEVEL_SD, INIT_SLOPE_SD

    one = np.ones(1)
    lv, b = 3.0 * one, 0.0 * one
    p11, p12, p22 = INIT_LEVEL_SD**2 * one, 0.0 * one, INIT_SLOPE_SD**2 * one
    total = 0.0
    for t in range(n_t):
        lv, b, p11, p12, p22, v, f, *_ = _filter_step(
            np, e[:, t], one, h[:, t], lv, b, p11, p12, p22, 0.8, 0.0, ql[:, t], 1e-8, nu * one
        )
        total += stats.t.logpdf(v[0], df=nu, scale=np.sqrt(f[0] * (nu - 2.0) / nu))
    assert abs(ll - total) < 1e-9 * abs(total)
