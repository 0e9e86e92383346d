"""The PyMC graph of the forecast model against textbook densities, without sampling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from spm_model.forecast import simulate_panel
from spm_model.forecast.model import (
    RAMP_HORIZON,
    build_model,
    linear_predictors,
    log_ramp_fraction,
    make_design,
    make_grid,
)


@pytest.fixture(scope="module")
def design():
    panel, _ = simulate_panel(n_reps=12, n_months=30, seed=5, likelihood="gamma")
    return make_design(panel)


def _at_prior_draw(model, seed):
    """Free random variables of ``model`` -> one joint prior draw, and a replacer of them."""
    import pymc as pm
    import pytensor
    import pytensor.tensor as pt

    values = pm.draw(model.free_RVs, random_seed=seed)
    point = {rv.name: np.asarray(v) for rv, v in zip(model.free_RVs, values, strict=True)}
    givens = {rv: pt.constant(point[rv.name].astype(rv.dtype)) for rv in model.free_RVs}

    def evaluate(var):
        return pytensor.clone_replace(var, givens).eval()

    return point, evaluate


def _numpy_point(model, point, evaluate):
    p = {k: v[None] for k, v in point.items()}
    p["log_sigma_rep"] = evaluate(model["log_sigma_rep"])[None]
    return p


@pytest.mark.parametrize("seed", [1, 2])
def test_gamma_potential_is_the_sum_of_gamma_and_bernoulli_densities(design, seed):
    d = design
    model = build_model(d, "gamma")
    point, evaluate = _at_prior_draw(model, seed)
    p = _numpy_point(model, point, evaluate)
    mu, logit, sigma = linear_predictors(
        p, d.rep_idx, d.years, d.fiscal_month, d.tenure, d.block, d.lag12
    )
    pos = d.y > 0
    shape = 1.0 / sigma[0, pos] ** 2
    expected = stats.gamma.logpdf(d.y[pos], a=shape, scale=np.exp(mu[0, pos]) / shape).sum()
    pots = {v.name: v for v in model.potentials}
    assert evaluate(pots["bookings_loglik"]) == pytest.approx(expected, rel=1e-9)
    hurdle = stats.bernoulli.logpmf(pos.astype(int), 1.0 / (1.0 + np.exp(-logit[0]))).sum()
    assert evaluate(pots["has_bookings_loglik"]) == pytest.approx(hurdle, rel=1e-9)


def test_grid_holds_every_observation_once(design):
    g = make_grid(design)
    assert g.observed.sum() == design.n_obs
    np.testing.assert_array_equal(g.y[design.rep_idx, design.month_idx], design.y)
    assert g.positive.sum() == (design.y > 0).sum()
    assert (g.y[g.observed == 0] == 0).all()


def test_ramp_is_complete_at_the_horizon():
    tenure = np.array([0.0, 3.0, RAMP_HORIZON - 1, RAMP_HORIZON, 200.0])
    r = np.exp(log_ramp_fraction(tenure, 3.0))
    assert r[0] == pytest.approx(1 - np.exp(-0.5 / 3))
    assert np.all(np.diff(r) >= 0) and r[-2] == 1.0 and r[-1] == 1.0
