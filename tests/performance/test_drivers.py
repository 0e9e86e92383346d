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


def test_rows_with_a_short_look_back_are_left_out_and_counted():
    panel, truth_pp = _noisy_panel(seed=11)
    panel["lookback_months"] = 12.0
    # a rep hired two days before the period end: 3 touches read as 45 a month
    spike = panel.iloc[[0]].assign(
        rep_id="NEW",
        prospecting_per_month=45.0,
        noise_var_prospecting_per_month=3 / 0.066**2,
        lookback_months=0.066,
        attainment=0.2,
    )
    with_new = pd.concat([panel, spike], ignore_index=True)
    res = attainment_drivers(with_new, clip_attainment=10, n_boot=200)
    same = attainment_drivers(panel, clip_attainment=10, n_boot=200)
    assert res.n_short_lookback == 1 and res.n_obs == len(panel)
    pd.testing.assert_frame_equal(res.table, same.table)
    assert "1 rep-periods of reps employed under 3 months" in res.summary()
    # kept, the one row pulls the activity effect far below the truth
    kept = attainment_drivers(with_new, clip_attainment=10, n_boot=200, min_lookback_months=0)
    assert kept.n_short_lookback == 0
    act = kept.table.set_index("driver").loc["prospecting_per_month", "effect_pp"]
    assert act < 0.8 * truth_pp


def test_count_dispersion_by_hand():
    from spm_model.performance.drivers import count_dispersion

    start, end = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-03-31")

    def events(counts: dict[str, list[int]]) -> pd.DataFrame:
        rows = [
            (rep, pd.Timestamp(f"2025-{m + 1:02d}-10"))
            for rep, cs in counts.items()
            for m, c in enumerate(cs)
            for _ in range(c)
        ]
        return pd.DataFrame(rows, columns=["rep_id", "date"])

    ids = pd.Series(["a", "b"])
    hired = pd.Series(pd.to_datetime(["2020-01-01", "2020-01-01"]))
    # a: 2, 4, 6 (mean 4, squares 4 + 0 + 4 = 8, / 4 = 2); b: 5, 5, 5 (0); df 2 + 2
    ev = events({"a": [2, 4, 6], "b": [5, 5, 5]})
    assert count_dispersion(ev, ids, hired, start, end, min_rep_months=1) == 0.5
    # b hired on 15 January: only February and March count for b (5, 1: mean 3, 8 / 3)
    late = pd.Series(pd.to_datetime(["2020-01-01", "2025-01-15"]))
    ev2 = events({"a": [2, 4, 6], "b": [9, 5, 1]})
    assert np.isclose(
        count_dispersion(ev2, ids, late, start, end, min_rep_months=1), (2 + 8 / 3) / 3
    )
    # too few rep-months, or no events: Poisson
    assert count_dispersion(ev, ids, hired, start, end) == 1.0
    assert count_dispersion(ev.iloc[:0], ids, hired, start, end, min_rep_months=1) == 1.0
