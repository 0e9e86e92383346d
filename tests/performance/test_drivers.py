"""Drivers: the errors-in-variables correction of the activity rate's sampling noise."""

from __future__ import annotations

import numpy as np
import pandas as pd

from spm_model.performance.drivers import DRIVERS, attainment_drivers


def _noisy_panel(seed: int = 5) -> tuple[pd.DataFrame, float]:
    """200 reps x 6 quarters; attainment moves with the true activity rate only.

    The measured rate is a Poisson count over 12 months divided by 12, so its noise
    variance is rate / 12 (reliability about 0.5 here: a true SD of 0.6 touches per
    month against a noise SD of about 0.6).
    """
    rng = np.random.default_rng(seed)
    n_reps, n_q = 200, 6
    true_rate = np.exp(rng.normal(np.log(4.0), 0.15, n_reps))
    rows = []
    for r in range(n_reps):
        for _q in range(n_q):
            count = rng.poisson(true_rate[r] * 12)
            rows.append(
                {
                    "rep_id": f"R{r}",
                    "true": true_rate[r],
                    "prospecting_per_month": count / 12.0,
                    "noise_var_prospecting_per_month": count / 12.0**2,
                }
            )
    panel = pd.DataFrame(rows)
    for c in DRIVERS:
        if c != "prospecting_per_month":
            panel[c] = rng.normal(size=len(panel))
    slope = 0.3  # attainment per touch a month
    panel["attainment"] = 1.0 + slope * (panel["true"] - 4.0) + 0.05 * rng.normal(size=len(panel))
    per_rep = pd.Series(true_rate)
    return panel, 100 * slope * float(per_rep.std(ddof=0))


def test_noise_in_the_activity_rate_is_corrected():
    panel, truth_pp = _noisy_panel()
    naive = attainment_drivers(
        panel.drop(columns="noise_var_prospecting_per_month"), clip_attainment=10
    )
    fixed = attainment_drivers(panel, clip_attainment=10, n_boot=400)
    n_act = naive.table.set_index("driver").loc["prospecting_per_month"]
    f_act = fixed.table.set_index("driver").loc["prospecting_per_month"]
    # OLS per SD of the noisy measure: attenuated by sqrt(reliability), truth outside
    assert n_act["ci_high_pp"] < truth_pp
    assert not naive.corrected and fixed.corrected
    # corrected: per SD of the true rate, truth inside the 90% interval
    assert f_act["ci_low_pp"] <= truth_pp <= f_act["ci_high_pp"]
    assert abs(f_act["effect_pp"] - truth_pp) < 0.15 * truth_pp
    assert "sampling noise" in fixed.summary()
    # the other drivers are pure noise: their intervals still straddle zero mostly
    other = fixed.table.set_index("driver").drop(index="prospecting_per_month")
    assert (other["effect_pp"].abs() < 2.0).all()


def test_correction_is_reproducible_and_can_be_switched_off():
    panel, _ = _noisy_panel(seed=7)
    a = attainment_drivers(panel, clip_attainment=10, n_boot=200, seed=3)
    b = attainment_drivers(panel, clip_attainment=10, n_boot=200, seed=3)
    pd.testing.assert_frame_equal(a.table, b.table)
    off = attainment_drivers(panel, clip_attainment=10, measurement_error=False)
    assert not off.corrected
    ols = attainment_drivers(
        panel.drop(columns="noise_var_prospecting_per_month"), clip_attainment=10
    )
    pd.testing.assert_frame_equal(off.table, ols.table)
