"""Predictive distribution: persistence of a rep's lead and territory change (handmade)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from spm_model.quota.history import QuotaHistory
from spm_model.quota.predictive import DEFAULT_DRIFT, predictive_params
from tests.quota.frames import steady_pairs


def _history(amounts: np.ndarray, pot_hist: np.ndarray, pot_plan: np.ndarray) -> QuotaHistory:
    """Reps x 12 history months at full exposure, flat season, no growth."""
    n, h = amounts.shape
    pairs = steady_pairs(n)
    first = 12 * (2024 - 1970)
    return QuotaHistory(
        year=2025,
        fy_start_month=1,
        cutoff=pd.Timestamp("2024-12-31"),
        pairs=pairs,
        hist_months=np.arange(first, first + h),
        amounts=amounts,
        exposure=np.ones((n, h)),
        season={"new_business": np.ones(12)},
        growth={"new_business": 0.0},
        plan_months=np.arange(first + h, first + h + 12),
        potential=np.repeat(pot_plan[:, None], 12, axis=1),
        capacity=np.ones((n, 12)),
        employed=np.ones((n, 12)),
        hist_potential=np.repeat(pot_hist[:, None], h, axis=1),
    )


def _reps(seed: int, persistent: bool, n: int = 60) -> QuotaHistory:
    """Same territory for every rep; each rep's lead either lasts or is a one-off per half."""
    rng = np.random.default_rng(seed)
    if persistent:
        lead = np.repeat(rng.normal(0, 0.5, n)[:, None], 2, axis=1)
    else:
        lead = rng.normal(0, 0.5, (n, 2))  # the two halves' leads are unrelated
    monthly = 100.0 * np.exp(np.repeat(lead, 6, axis=1))
    monthly = monthly * np.exp(rng.normal(0, 0.05, monthly.shape))
    pot = np.full(n, 1000.0)
    return _history(monthly, pot, pot)


def test_a_lead_that_lasts_is_carried_and_a_one_off_is_not():
    lasting = predictive_params(_reps(1, persistent=True))
    one_off = predictive_params(_reps(1, persistent=False))
    # a lasting lead: the forecast follows the rep's own level (little shrinkage)
    lv = np.log(lasting["level"])
    assert np.corrcoef(lv, lasting["mean_log"])[0, 1] > 0.95
    assert lasting["shrinkage"].mean() < 0.3
    # a one-off lead: the forecast stays near the peers, and says it is unsure
    assert one_off["shrinkage"].mean() > 0.6
    assert one_off["mean_log"].std() < 0.5 * np.log(one_off["level"]).std()
    assert one_off["sd_log"].mean() > lasting["sd_log"].mean()


def test_fixed_drift_is_still_available():
    h = _reps(2, persistent=False)
    fixed = predictive_params(h, drift=DEFAULT_DRIFT)
    est = predictive_params(h)
    # the fixed drift trusts a year-old lead more than the estimated persistence does
    assert fixed["shrinkage"].mean() < est["shrinkage"].mean()
    with pytest.raises(Exception, match="drift"):
        predictive_params(h, drift=-0.1)


def test_a_rep_whose_territory_doubled_carries_the_rate_to_it():
    rng = np.random.default_rng(3)
    n = 40
    pot = np.exp(rng.normal(np.log(1000.0), 0.6, n))
    monthly = np.repeat((0.1 * pot / 12.0)[:, None], 12, axis=1)  # rate proportional to potential
    monthly = monthly * np.exp(rng.normal(0, 0.02, monthly.shape))
    plan = pot.copy()
    plan[0] = 2 * pot[0]  # rep 0's territory doubled at the year end
    p = predictive_params(_history(monthly, pot, plan))
    ratio = np.exp(p["mean_log"][0]) / p["level"][0]
    assert ratio == pytest.approx(2.0, rel=0.1)
    # without the history's own territory the doubling is half-missed at best
    p0 = predictive_params(_history(monthly, pot, plan), territory_change=False)
    assert np.exp(p0["mean_log"][0]) / p0["level"][0] < 1.7


def test_growth_is_per_rep_not_headcount():
    from spm_model.quota.history import _learn_rate_growth

    months = np.arange(600, 624)  # two years of history
    n = 20
    exposure = np.zeros((n, 24))
    exposure[:10] = 1.0  # ten reps throughout
    exposure[10:, 12:] = 1.0  # ten more hired at the start of the second year
    rate = np.where(months < 612, 100.0, 105.0)  # each rep sells 5% more in year two
    amounts = exposure * rate[None, :]
    meas = np.array(["new_business"] * n)
    g, notes = _learn_rate_growth(amounts, exposure, months, meas, ["new_business"], 623)
    assert g["new_business"] == pytest.approx(0.05)  # the company total doubled (+110%)
    assert not notes
    # fewer than six comparable months: the pooled money measures' growth, with a note
    g2, notes2 = _learn_rate_growth(
        amounts[:, 8:], exposure[:, 8:], months[8:], meas, ["new_business"], 623
    )
    assert g2["new_business"] == pytest.approx(0.05) and "only 4 month" in notes2[0]


def _ramp_case(n_new: int) -> tuple[np.ndarray, ...]:
    """20 tenured reps selling 10 a month; ``n_new`` hires selling 3, 8, then 10."""
    h = 24
    tenure = np.vstack(
        [np.tile(np.arange(100, 100 + h), (20, 1)), np.tile(np.arange(-6, -6 + h), (n_new, 1))]
    )
    active = (tenure >= 0).astype(float)
    per_q = np.array([3.0, 8.0, 10.0, 10.0, 10.0])
    amounts = active * per_q[np.clip(tenure // 3, 0, 4)]
    groups = np.array(["AE|new_business"] * (20 + n_new))
    return amounts, active, tenure, np.ones_like(amounts), groups


def test_ramp_is_learnt_from_new_hires_and_shrunk_when_they_are_few():
    from spm_model.quota.history import DEFAULT_RAMP, learn_ramp

    sched, used = learn_ramp(*_ramp_case(40))
    assert used == 40 * 12
    # 120 rep-months a quarter, shrunk towards the default with the weight of 12
    for q, truth in enumerate((0.3, 0.8, 1.0, 1.0)):
        assert sched[q] == pytest.approx((120 * truth + 12 * DEFAULT_RAMP[q]) / 132, abs=0.005)
    assert sched[-1] == 1.0
    few, _ = learn_ramp(*_ramp_case(1))  # 3 rep-months per quarter against a prior of 12
    assert few[0] == pytest.approx((3 * 0.3 + 12 * DEFAULT_RAMP[0]) / 15, abs=0.01)
    assert all(b >= a for a, b in itertools.pairwise(few))  # never falls


def test_equal_chance_quotas_follow_the_learnt_ramp(sample):
    from spm_model.quota import set_quotas

    res = set_quotas(sample, 2026, "probabilistic", target={"new_business": 40e6})
    h = res.history
    assert h.learnt_ramp is not None and h.productivity is not None
    assert any("productivity by quarter of tenure" in n for n in res.notes)
    a = res.annual.set_index(["rep_id", "measure"])
    nb = a.xs("new_business", level="measure")
    # a rep's equal-chance quota is its basis x FTE x expected-sales share of the year
    sel = (h.pairs["measure"] == "new_business").to_numpy()
    prod = (h.productivity[sel] * h.season_matrix()[sel]).sum(axis=1) / h.season_matrix()[sel].sum(
        axis=1
    )
    ratio = nb["annual"].to_numpy() / (nb["basis"].to_numpy() * nb["fte"].to_numpy() * prod)
    ok = nb["basis"].to_numpy() > 0
    assert np.allclose(ratio[ok], ratio[ok][0], rtol=0.02)
