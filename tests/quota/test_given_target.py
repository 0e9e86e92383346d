"""Equal-chance quotas given the target: attrition, gamma shape, common shift (handmade)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from spm_model.quota import set_quotas
from spm_model.quota.history import QuotaHistory, learn_attrition
from spm_model.quota.methods import Probabilistic
from spm_model.errors import SpmConfigError
from spm_model.quota.predictive import (
    COLLAPSE_MAX,
    COLLAPSE_SHARE,
    CORE_WIDTH,
    attainment_chance,
    condition_on_total,
    credit_quantile,
    credit_survival,
    log_gamma_shape,
    staying_share,
)
from tests.quota.frames import steady_pairs

FIRST = 12 * (2024 - 1970)  # January 2024, months since 1970-01


def _reps_table(ends: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": [f"R{i}" for i in range(len(ends))],
            "role": "AE",
            "hire_date": pd.Timestamp("2020-01-01"),
            "end_date": pd.to_datetime(pd.Series(ends, dtype=object)),
        }
    )


def test_attrition_is_leavers_per_rep_month_known_at_the_cut_off():
    months = np.arange(FIRST, FIRST + 12)
    cut = pd.Timestamp("2024-12-31")
    # ten reps employed all year, one leaving in its last month: 1 leaver in 120 rep-months
    reps = _reps_table([None] * 9 + ["2024-12-15"])
    assert learn_attrition(reps, months, cut) == pytest.approx(1 / 120)
    # an end date after the cut-off is not known yet; a manager's does not count
    later = _reps_table([None] * 9 + ["2025-03-01"])
    assert learn_attrition(later, months, cut) == 0.0
    mgr = pd.concat([reps, _reps_table(["2024-06-30"]).assign(rep_id="M", role="manager")])
    assert learn_attrition(mgr, months, cut, exclude_roles=["manager"]) == pytest.approx(1 / 120)
    assert learn_attrition(reps, np.array([], dtype=np.int64), cut) is None
    # the chance of still being there: 0.99 a month
    assert staying_share(0.01, np.array([0.5, 11.5])) == pytest.approx(
        0.99 ** np.array([0.5, 11.5])
    )
    assert staying_share(None, np.array([3.0])) == pytest.approx([1.0])


def test_gamma_shape_matches_the_log_spread():
    sd = np.array([0.2, 0.5, 1.0, np.nan, 0.0])
    k = log_gamma_shape(sd)
    assert special.polygamma(1, k[:3]) == pytest.approx(sd[:3] ** 2, rel=1e-6)
    assert k[2] == pytest.approx(1.4263, abs=1e-3)  # trigamma(1.4263) = 1
    assert np.isnan(k[3:]).all()


def test_conditioning_moves_the_rows_together_so_they_sell_the_total():
    params = pd.DataFrame(
        {"mean_log": np.log([100.0, 200.0, 400.0, 50.0]), "sd_log": [0.5, 0.5, 1.0, 0.5]}
    )
    rows = np.array([True, True, True, False])
    scale = np.array([1.0, 0.5, 1.0, 1.0])
    # the plain gamma (no collapse, the full spread of log A)
    out, shift = condition_on_total(params, rows, 1000.0, scale, collapse_share=0.0, core_width=1.0)
    k = out["shape"].to_numpy()[:3]
    mean = k * np.exp(out["mean_log"].to_numpy()[:3] - special.digamma(k))
    assert (scale[:3] * mean).sum() == pytest.approx(1000.0)
    # one common shift on the log scale; the row outside keeps its lognormal
    assert np.diff(out["mean_log"].to_numpy()[:3] - params["mean_log"].to_numpy()[:3]) == (
        pytest.approx([0.0, 0.0])
    )
    assert out["mean_log"].iloc[3] == params["mean_log"].iloc[3] and np.isnan(out["shape"].iloc[3])
    assert shift == pytest.approx(out["mean_log"].iloc[0] - np.log(100.0))
    # a second measure keeps the first one's shape
    again, _ = condition_on_total(out, ~rows, 60.0, scale, collapse_share=0.0, core_width=1.0)
    assert again["shape"].to_numpy()[:3] == pytest.approx(k)
    assert np.isfinite(again["shape"].iloc[3])


def test_conditioned_year_of_credit_sells_the_total_on_average():
    """With the default collapse mixture the pairs' mean credit (the integral of the survival
    function) times their scale sums to the total; the core is narrower than the lognormal."""
    params = pd.DataFrame({"mean_log": np.log([100.0, 300.0]), "sd_log": [0.4, 0.8]})
    rows = np.array([True, True])
    scale = np.array([1.0, 0.5])
    out, _ = condition_on_total(params, rows, 500.0, scale)
    assert out["collapse"].to_numpy() == pytest.approx([COLLAPSE_SHARE] * 2)
    assert out["collapse_max"].to_numpy() == pytest.approx([COLLAPSE_MAX] * 2)
    assert out["shape"].to_numpy() == pytest.approx(log_gamma_shape(CORE_WIDTH * params["sd_log"]))
    means = []
    for i in range(2):
        r = out.iloc[i]
        x = np.linspace(0.0, 40 * np.exp(r["mean_log"]), 400_001)
        surv = credit_survival(x, r["mean_log"], r["shape"], r["collapse"], r["collapse_max"])
        means.append(np.trapezoid(surv, x))
    assert float(np.dot(scale, means)) == pytest.approx(500.0, rel=1e-4)
    with pytest.raises(SpmConfigError, match="collapse_share"):
        condition_on_total(params, rows, 500.0, scale, collapse_share=1.0)
    with pytest.raises(SpmConfigError, match="core_width"):
        condition_on_total(params, rows, 500.0, scale, core_width=0.0)


def test_collapsed_year_of_an_exponential_core_by_hand():
    """Every year collapsed (chance 1), kept U(0, 1) of an exponential core (shape 1, scale 1):
    P(C U >= x) = integral over u of exp(-x / u) = exp(-x) - x E1(x)."""
    x = np.array([0.05, 0.3, 1.0, 2.5])
    mean_log = np.full(4, special.digamma(1.0))  # E[log C] for scale 1
    got = credit_survival(x, mean_log, np.ones(4), 1.0, 1.0)
    # 24-point quadrature over U: 1e-5 where the integrand turns sharply (small x)
    assert got == pytest.approx(np.exp(-x) - x * special.exp1(x), abs=5e-5)
    # no collapse: the gamma itself
    assert credit_survival(x, mean_log, np.ones(4)) == pytest.approx(np.exp(-x))


def test_year_of_credit_matches_draws_and_its_quantile_inverts_it():
    rng = np.random.default_rng(11)
    k, mean_log, pi, b = 4.0, np.log(100.0), 0.2, 0.5
    theta = np.exp(mean_log - special.digamma(k))
    core = rng.gamma(k, theta, 400_000)
    year = np.where(rng.random(core.size) < pi, core * rng.uniform(0, b, core.size), core)
    x = np.array([5.0, 30.0, 80.0, 120.0, 250.0])
    got = credit_survival(x, np.full(5, mean_log), np.full(5, k), pi, b)
    want = (year[None, :] >= x[:, None]).mean(axis=1)
    assert got == pytest.approx(want, abs=4e-3)  # Monte Carlo error about 8e-4
    for chance in (0.05, 0.4, 0.65, 0.97):
        q = credit_quantile(chance, np.full(3, mean_log), np.array([k, 2.0, 9.0]), pi, b)
        back = credit_survival(q, np.full(3, mean_log), np.array([k, 2.0, 9.0]), pi, b)
        assert back == pytest.approx(chance, abs=1e-9)
    # without collapse the quantile is the gamma's
    q0 = credit_quantile(0.4, np.array([mean_log]), np.array([k]))
    assert q0 == pytest.approx(theta * stats.gamma.isf(0.4, k))


def test_plain_gamma_options_are_validated():
    with pytest.raises(SpmConfigError, match="collapse_share"):
        Probabilistic(collapse_share=-0.1)
    with pytest.raises(SpmConfigError, match="core_width"):
        Probabilistic(core_width=1.5)
    assert Probabilistic(collapse_share=0.0, core_width=1.0).get_params()["collapse_share"] == 0.0


def test_gamma_chance_and_quantile_are_inverse():
    # shape 1 (exponential) with theta 100: P(A >= 100) = exp(-1)
    params = pd.DataFrame(
        {
            "mean_log": [special.digamma(1.0) + np.log(100.0), np.log(100.0)],
            "sd_log": [np.sqrt(special.polygamma(1, 1.0)), 1.0],
            "shape": [1.0, np.nan],
        }
    )
    c = attainment_chance(None, np.array([100.0, 100.0]), np.ones(2), params=params)  # type: ignore[arg-type]
    assert c[0] == pytest.approx(np.exp(-1.0))
    assert c[1] == pytest.approx(0.5)  # no shape: lognormal
    meth = Probabilistic()
    meth.predictive_ = params
    q = meth.basis_at(0.4)
    assert q[0] == pytest.approx(100.0 * stats.expon.isf(0.4))
    back = attainment_chance(None, q, np.ones(2), params=params)  # type: ignore[arg-type]
    assert back == pytest.approx([0.4, 0.4])


def _history(n: int = 40, attrition: float | None = None) -> QuotaHistory:
    """Reps x 12 months of steady, noisy credit; flat season; growth 0."""
    rng = np.random.default_rng(3)
    level = 1e5 * np.exp(rng.normal(0, 0.4, n))
    amounts = level[:, None] * np.exp(rng.normal(0, 0.3, (n, 12)))
    pairs = steady_pairs(n)
    pot = np.full((n, 12), 1000.0)
    return QuotaHistory(
        year=2025,
        fy_start_month=1,
        cutoff=pd.Timestamp("2024-12-31"),
        pairs=pairs,
        hist_months=np.arange(FIRST, FIRST + 12),
        amounts=amounts,
        exposure=np.ones((n, 12)),
        season={"new_business": np.ones(12)},
        growth={"new_business": 0.0},
        plan_months=np.arange(FIRST + 12, FIRST + 24),
        potential=pot,
        capacity=np.ones((n, 12)),
        employed=np.ones((n, 12)),
        hist_potential=pot,
        attrition=attrition,
    )


def test_the_chance_given_the_target_does_not_depend_on_its_level():
    h = _history()
    total = 12 * 1e5 * 40  # about what the reps sold
    c = [
        set_quotas(h, method="probabilistic", target=t, over_assign=0.1).chance["new_business"]
        for t in (total, 1.3 * total)
    ]
    # given the reps sell the target, a higher target is a better year, not a harder quota
    assert c[0] == pytest.approx(c[1], abs=1e-6)
    # without conditioning, the higher target is a lower chance
    old = [
        set_quotas(
            h, method={"method": "probabilistic", "given_target": False}, target=t, over_assign=0.1
        ).chance["new_business"]
        for t in (total, 1.3 * total)
    ]
    assert old[0] > old[1] + 0.1
    # quotas still sum to the target + 10%, and every rep states the common chance
    res = set_quotas(h, method="probabilistic", target=total, over_assign=0.1)
    s = res.summary().set_index("measure").loc["new_business"]
    assert s["assigned"] + s["unassigned"] == pytest.approx(1.1 * total, abs=2)
    assert res.annual["p_attain"].to_numpy() == pytest.approx(c[0], abs=1e-4)
    assert any("if the reps sell the target" in n for n in res.notes)


def test_reps_expected_to_leave_make_the_stayers_chance_higher():
    total = 12 * 1e5 * 40
    stay = set_quotas(_history(), method="probabilistic", target=total, over_assign=0.1)
    leave = set_quotas(
        _history(attrition=0.01), method="probabilistic", target=total, over_assign=0.1
    )
    # part of the target is expected to be lost to reps leaving, so given the target those
    # who stay sell more than if nobody left; the quotas, set on full seats, are the same,
    # so a stayer's chance of reaching one is higher
    p0, p1 = stay.chance["new_business"], leave.chance["new_business"]
    assert p1 > p0 + 0.02
    assert leave.annual["annual"].sum() == stay.annual["annual"].sum()
