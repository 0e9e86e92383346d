"""The vectorised diagnostics table equals ArviZ's summary(kind="diagnostics")."""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest

from spm_model.forecast.mcmc_stats import (
    diagnostics_table,
    multichain_statistics,
    statistics_in_blocks,
)


def _ar1(rng, n_chain, n_draw, phi, shape=()):
    """AR(1) chains with autocorrelation ``phi`` (``phi`` near 1: slow mixing)."""
    x = np.empty((n_chain, n_draw, *shape))
    x[:, 0] = rng.normal(size=(n_chain, *shape))
    eps = rng.normal(size=(n_chain, n_draw, *shape))
    for t in range(1, n_draw):
        x[:, t] = phi * x[:, t - 1] + np.sqrt(1 - phi**2) * eps[:, t]
    return x


def _idata(rng):
    n_chain, n_draw = 2, 301  # odd: the split drops the middle draw, as ArviZ does
    post = {
        "fast": rng.normal(size=(n_chain, n_draw)),
        "slow": _ar1(rng, n_chain, n_draw, 0.97),
        "mixed": np.stack(
            [_ar1(rng, n_chain, n_draw, phi) for phi in (0.0, 0.5, 0.9, 0.995)], axis=-1
        ),
        "lognormal": np.exp(1.5 * _ar1(rng, n_chain, n_draw, 0.7, (3, 2))),
        "stuck": np.ones((n_chain, n_draw, 2)),  # constant: ESS is the draw count
        "apart": rng.normal(size=(n_chain, n_draw)) + np.array([[0.0], [3.0]]),  # chains disagree
        "ties": rng.integers(0, 3, size=(n_chain, n_draw)).astype(float),
    }
    coords = {"rep": ["R001", "R002", "R003"], "phi": [0.0, 0.5, 0.9, 0.995]}
    dims = {"lognormal": ["rep", "k"], "mixed": ["phi"], "stuck": ["k2"]}
    return az.from_dict(posterior=post, coords=coords, dims=dims)


def test_diagnostics_table_equals_arviz_summary_element_by_element():
    idata = _idata(np.random.default_rng(3))
    names = list(idata.posterior.data_vars)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = az.summary(idata, var_names=names, kind="diagnostics")
    got = diagnostics_table(idata.posterior, names)
    assert list(got.index) == list(want.index)
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=0, atol=1e-9)
    # the cases are what they claim to be
    assert got.loc["apart", "r_hat"] > 1.5
    assert got.loc["mixed[0.995]", "ess_bulk"] < 0.05 * got.loc["mixed[0.0]", "ess_bulk"]
    assert got.loc["stuck[0]", "ess_bulk"] == 2 * 301 - 2


def test_unrounded_statistics_equal_arviz_to_1e_10_and_nan_draws_give_nan():
    rng = np.random.default_rng(11)
    x = np.stack([_ar1(rng, 3, 200, phi) for phi in (0.1, 0.6, 0.95)])  # (3, chains, draws)
    x[2, 1, 17] = np.nan
    got = multichain_statistics(x)
    from arviz.stats.diagnostics import _multichain_statistics

    for i in range(2):
        want = np.array(_multichain_statistics(x[i]))
        np.testing.assert_allclose(got[i], want, rtol=1e-10)
    assert np.isnan(got[2]).all()


def test_one_chain_has_no_r_hat_but_the_other_statistics():
    rng = np.random.default_rng(5)
    got = multichain_statistics(_ar1(rng, 1, 400, 0.5)[None])
    assert np.isnan(got[0, 4])
    assert np.isfinite(got[0, :4]).all()


@pytest.mark.parametrize("n_draw", [3, 4])
def test_too_few_draws_give_nan_like_arviz(n_draw):
    x = np.random.default_rng(0).normal(size=(1, 2, n_draw))
    got = multichain_statistics(x)
    assert np.isnan(got).all() == (n_draw < 4)


@pytest.mark.parametrize(("block", "workers"), [(7, 1), (7, 2), (64, 3), (1000, 2)])
def test_statistics_in_blocks_equal_one_call_to_the_bit(block, workers):
    rng = np.random.default_rng(5)
    x = np.concatenate(
        [
            np.moveaxis(_ar1(rng, 2, 200, 0.9, (50,)), 2, 0),
            np.ones((3, 2, 200)),  # constant
            rng.integers(0, 3, size=(4, 2, 200)).astype(float),  # ties
        ]
    )
    x[10, 1, 17] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        whole = multichain_statistics(x)
        blocks = statistics_in_blocks(x, block=block, workers=workers)
    assert blocks.shape == (57, 5)
    np.testing.assert_array_equal(blocks, whole)
    assert np.isnan(blocks[10]).all() and not np.isnan(blocks[11]).any()
