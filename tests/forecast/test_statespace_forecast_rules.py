"""The state-space forecast's rules on handmade inputs (no fit): how the level noise's own
regime walk is carried past the cut-off, and the share of the series' shocks in common."""

from types import SimpleNamespace

import numpy as np

from spm_model.forecast.statespace import common_correlation, level_regime_ahead


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
