"""Refitting a forecast that fails its convergence checks: what changes, and when it stops."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from spm_model.forecast import BookingsForecaster, ConvergenceWarning, simulate_panel
from spm_model.forecast.config import AUTO_REFITS, ForecastConfig
from spm_model.forecast.diagnostics import (
    MAX_DRAWS_FACTOR,
    MAX_TARGET_ACCEPT,
    Diagnostics,
    SamplerSettings,
    refit_settings,
)

FIRST = SamplerSettings(draws=1500, tune=1000, target_accept=0.9)


def _diag(
    *,
    divergences: int = 0,
    r_hat: float = 1.0,
    ess_bulk: float = 900.0,
    ess_tail: float = 900.0,
    sampler: str = "nutpie",
) -> Diagnostics:
    """A fit's checks: one main parameter with these figures, one per-rep one that is fine."""
    table = pd.DataFrame(
        {
            "r_hat": [r_hat, 1.0],
            "ess_bulk": [ess_bulk, 2000.0],
            "ess_tail": [ess_tail, 2000.0],
            "main": [True, False],
        },
        index=["sigma_rep", "rep_effect[0]"],
    )
    return Diagnostics(table, divergences, 3000, 10.0, sampler)


def test_a_fit_that_passes_is_kept():
    assert refit_settings(_diag(), FIRST, FIRST) is None


def test_divergences_raise_target_accept_two_thirds_of_the_way_to_one():
    nxt = refit_settings(_diag(divergences=3), FIRST, FIRST)
    assert nxt == SamplerSettings(1500, 1000, 0.9667)
    again = refit_settings(_diag(divergences=1), nxt, FIRST)
    assert again.target_accept == pytest.approx(0.9889, abs=1e-4)
    top = SamplerSettings(1500, 1000, MAX_TARGET_ACCEPT)
    assert refit_settings(_diag(divergences=1), top, FIRST) is None  # nothing left to raise


def test_low_ess_scales_the_draws_by_the_shortfall_within_one_and_a_half_to_three():
    # 1.3 x 400 / 304 = 1.71: 1500 x 1.71 = 2566 -> 2600 (whole hundreds)
    assert refit_settings(_diag(ess_bulk=304.0), FIRST, FIRST).draws == 2600
    # the tail ESS counts too; a near miss still gets x1.5
    assert refit_settings(_diag(ess_tail=390.0), FIRST, FIRST).draws == 2300
    # a very low ESS gets at most x3
    low = refit_settings(_diag(ess_bulk=20.0), FIRST, FIRST)
    assert low == SamplerSettings(4500, 1000, 0.9)


def test_draws_never_exceed_four_times_the_first_fit():
    big = SamplerSettings(4500, 1000, 0.9)
    nxt = refit_settings(_diag(ess_bulk=100.0), big, FIRST)
    assert nxt.draws == FIRST.draws * MAX_DRAWS_FACTOR == 6000
    capped = SamplerSettings(6000, 1000, 0.9)
    assert refit_settings(_diag(ess_bulk=100.0), capped, FIRST) is None


def test_r_hat_doubles_warm_up_and_draws_and_all_advice_combines():
    nxt = refit_settings(_diag(r_hat=1.04), FIRST, FIRST)
    assert nxt == SamplerSettings(3000, 2000, 0.9)
    # the warm-up, too, stops at four times the first fit's
    late = refit_settings(_diag(r_hat=1.04), SamplerSettings(3000, 4000, 0.9), FIRST)
    assert late == SamplerSettings(6000, 4000, 0.9)
    both = refit_settings(_diag(divergences=2, ess_bulk=250.0), FIRST, FIRST)
    # 1.3 x 400 / 250 = 2.08 -> 3120 -> 3200
    assert both == SamplerSettings(3200, 1000, 0.9667)


def test_variational_fits_are_never_refitted():
    assert refit_settings(_diag(ess_bulk=5.0, sampler="advi"), FIRST, FIRST) is None


def test_refits_default_to_three_with_default_draws_and_none_with_set_draws():
    assert AUTO_REFITS == 3
    assert ForecastConfig().resolved_refits() == 3
    assert ForecastConfig(draws=300).resolved_refits() == 0
    assert ForecastConfig(draws=300, refits=1).resolved_refits() == 1
    assert ForecastConfig(refits=0).resolved_refits() == 0


def test_earlier_fits_are_reported_in_the_summary():
    d = _diag()
    from dataclasses import replace

    d = replace(d, earlier_fits=("draws 1500, tune 1000, target_accept 0.900: 2 divergent",))
    assert d.summary().splitlines()[0].startswith("refitted after: draws 1500")


@pytest.mark.slow
def test_a_failing_fit_is_refitted_with_more_draws():
    panel, _ = simulate_panel(n_reps=6, n_months=24, n_regions=1, teams_per_region=2, seed=5)
    cfg = dict(sampler="pymc", draws=40, tune=60, chains=2, cores=1, seed=4, refits=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fc = BookingsForecaster(**cfg).fit(panel)
    d = fc.diagnostics_
    # 40 draws cannot reach an ESS of 400: one refit, with 1.5-4 x the draws, then it stops
    assert len(d.earlier_fits) == 1 and "ESS" in d.earlier_fits[0]
    assert d.earlier_fits[0].startswith("draws 40, tune 60")
    assert 2 * 60 <= d.n_samples <= 2 * 160
    assert fc.idata_.posterior.sizes["draw"] == d.n_samples // 2
    assert np.isfinite(fc.predict(2).values).all()
