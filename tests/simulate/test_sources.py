"""Scenario sources and dynamics: marginals, copula, history fits, posterior draws, attrition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from spm_model.calc import calculate, credit_dataset
from spm_model.data import load_dataset
from spm_model.errors import SpmConfigError, SpmDataError
from spm_model.plans import Plan, load_plan
from spm_model.simulate import (
    Distribution,
    credited_history,
    from_assumptions,
    from_dataset,
    simulate,
    with_draws,
)
from spm_model.simulate.engine import _scenario_credited
from spm_model.simulate.marginals import fit_quantiles

ROOT = Path(__file__).resolve().parents[2]


def _credited(model, n=2_000, seed=0):
    """Credited arrays (S, R, P) per measure (currency) for scenarios [0, n) (rep block 0)."""
    r = model.n_reps
    a_c, a_g, a_r = np.sqrt([model.rho_company, model.rho_group, model.rho_rep])
    a_e = np.sqrt(1 - model.rho_company - model.rho_group - model.rho_rep)
    scale = model.quota * model.season[None] * model.ramp_factor()[:, None, :]
    cents = _scenario_credited(
        model, seed, 0, 0, n, slice(0, r), scale, (a_c, a_g, a_r, a_e), len(model.group_names)
    )
    return [c / 100.0 for c in cents]


@pytest.mark.parametrize("family", ["lognormal", "normal", "gamma"])
def test_marginal_moments(family):
    model = from_assumptions(
        {"m": {"quota": 1_000.0, "distribution": {"family": family, "mean": 1.1, "sd": 0.3}}},
        n_reps=50,
        periods=4,
        rho_company=0.3,
    )
    x = _credited(model, 4_000)[0] / 1_000.0
    assert x.mean() == pytest.approx(1.1, rel=0.02)
    assert x.std() == pytest.approx(0.3, rel=0.05)
    if family != "normal":
        assert x.min() >= 0


def test_empirical_bootstrap_and_hurdle():
    sample = [0.2, 0.5, 0.8, 1.0, 1.1, 1.3, 2.0]
    model = from_assumptions(
        {
            "m": {"quota": 100.0, "distribution": Distribution.empirical(sample)},
            "z": {
                "quota": 100.0,
                "distribution": {"family": "lognormal", "mean": 1.0, "sd": 0.2, "p_zero": 0.25},
            },
        },
        n_reps=20,
        periods=4,
    )
    emp, hz = _credited(model, 3_000)
    assert emp.min() >= 20 - 1e-9 and emp.max() <= 200 + 1e-9
    assert np.median(emp) == pytest.approx(100, rel=0.05)
    assert (hz == 0).mean() == pytest.approx(0.25, abs=0.01)
    assert hz[hz > 0].mean() == pytest.approx(100, rel=0.02)


def test_quantile_specified_distribution():
    mean, sd = fit_quantiles({0.1: 0.7, 0.5: 1.0, 0.9: 1.4})
    d = stats.lognorm(
        s=np.sqrt(np.log1p((sd / mean) ** 2)), scale=mean / np.sqrt(1 + (sd / mean) ** 2)
    )
    assert d.ppf(0.5) == pytest.approx(1.0, rel=0.03)
    assert d.ppf(0.9) == pytest.approx(1.4, rel=0.05)
    with pytest.raises(SpmConfigError):
        fit_quantiles({0.1: 1.0, 0.9: 0.5})


def test_copula_correlation_structure():
    groups = ["a", "b"] * 10
    model = from_assumptions(
        {"m": {"quota": 1.0, "distribution": {"family": "normal", "mean": 0.0, "sd": 1.0}}},
        n_reps=20,
        periods=4,
        groups=groups,
        rho_company=0.3,
        rho_group=0.2,
        rho_rep=0.1,
    )
    x = _credited(model, 6_000)[0]
    same_group = np.corrcoef(x[:, 0, 0], x[:, 2, 0])[0, 1]
    other_group = np.corrcoef(x[:, 0, 0], x[:, 1, 0])[0, 1]
    same_rep = np.corrcoef(x[:, 0, 0], x[:, 0, 1])[0, 1]
    assert same_group == pytest.approx(0.5, abs=0.04)
    assert other_group == pytest.approx(0.3, abs=0.04)
    assert same_rep == pytest.approx(0.1, abs=0.04)


def test_seasonality_and_large_deals():
    model = from_assumptions(
        {
            "m": {
                "quota": 1_000.0,
                "distribution": {"mean": 1.0, "sd": 0.2},
                "season": [0.5, 1, 1, 1.5],
            }
        },
        n_reps=30,
        periods=4,
        large_deals={"m": {"prob": 0.1, "size_mean": 2.0, "size_sd": 1.0}},
    )
    x = _credited(model, 3_000)[0]
    per = x.mean(axis=(0, 1))
    expected = np.array([0.5, 1, 1, 1.5]) * 1_000 + 0.1 * 2.0 * 1_000
    np.testing.assert_allclose(per, expected, rtol=0.03)


def test_attrition_backfills_and_ramp(saas_plan):
    base = dict(n_reps=40, periods=4, ote=200_000.0)
    meas = {"new_business": {"quota": 500_000.0}, "renewal": {"quota": 250_000.0}}
    stay = simulate(from_assumptions(meas, **base), saas_plan, 1_000, seed=1)
    go = simulate(from_assumptions(meas, attrition=0.4, **base), saas_plan, 1_000, seed=1)
    quarterly = 1 - 0.6**0.25
    p_leave = 1 - (1 - quarterly) ** 4
    assert go.leavers.mean() / 40 == pytest.approx(p_leave, rel=0.05)
    # leavers forfeit, vacancies earn nothing, backfills ramp: cost and revenue fall
    assert go.costs().mean() < stay.costs().mean()
    assert go.revenue().mean() < stay.revenue().mean()
    # a new hire in the horizon gets the template's draw (half of target for two quarters)
    hire = from_assumptions(meas, hire_period=[0] * 40, ramp=(0.0, 0.0), **base)
    r = simulate(hire, saas_plan, 200, seed=1)
    pay = r.cost_pay_cents[0] / 100.0
    assert np.all(pay[:, 0] == 40 * 25_000 * 0.5)  # nothing sold while ramping: the draw
    assert np.all(pay[:, 1] == 40 * 25_000 * 0.5)


def test_posterior_draws_numpy_and_xarray(saas_plan, make_model):
    xr = pytest.importorskip("xarray")
    model = make_model(6)
    rng = np.random.default_rng(0)
    d = model.quota[None] * rng.lognormal(0, 0.3, (250, 6, 2, 4))
    m1 = with_draws(model, d)
    res = simulate(m1, saas_plan, 500, seed=1)
    # draw s % D feeds scenario s: 500 scenarios reuse the 250 draws twice (before attrition)
    assert res.n_scenarios == 500
    da = xr.DataArray(
        d.reshape(2, 125, 6, 2, 4)[:, :, ::-1],
        dims=("chain", "draw", "rep_id", "measure", "period"),
        coords={
            "rep_id": list(model.rep_ids)[::-1],
            "measure": model.measures,
            "period": model.periods,
        },
    )
    m2 = with_draws(model, da)
    np.testing.assert_array_equal(m1.draws, m2.draws)
    with pytest.raises(SpmConfigError, match="shape"):
        with_draws(model, d[:, :3])


def test_from_dataset_sample_history(saas_plan):
    ds = load_dataset(ROOT / "data" / "sample")
    model = from_dataset(ds, saas_plan)
    assert model.periods == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert set(model.measures) == {"new_business", "renewal"}
    fit = model.info["fit"]
    nb = fit[fit.measure == "new_business"]
    # shrinkage: reps with little history sit closer to the group than their own mean
    grand = nb["mean"].mean()
    few = nb[(nb.periods > 0) & (nb.periods <= 4)]
    many = nb[nb.periods >= 12]
    assert ((few["mean"] - grand).abs() <= (few["own_mean"] - grand).abs() + 1e-9).mean() > 0.7
    assert (many["mean"] - many["own_mean"]).abs().mean() < (
        few["mean"] - few["own_mean"]
    ).abs().mean()
    res = simulate(model, saas_plan, 2_000, seed=1)
    assert 0.01 < res.summary().value("mean cost of sales") < 0.2


def test_from_dataset_with_credits_input_and_families(saas_plan):
    ds = load_dataset(ROOT / "data" / "sample")
    credits = credit_dataset(ds, [saas_plan])
    for fam in ("empirical", "gamma", "normal"):
        m = from_dataset(
            ds,
            saas_plan,
            credits=credits,
            family=fam,
            group_by=("role", "tenure_band"),
            correlation={"rho_company": 0.2},
            attrition=0.1,
            horizon="2027",
            quota_growth=1.1,
        )
        assert m.periods[0] == "2027-Q1" and m.rho_company == 0.2 and m.attrition == 0.1
        assert np.all(m.quota.sum(axis=(1, 2)) > 0)
        assert m.info["quota_projected"] == ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]
        res = simulate(m, saas_plan, 300, seed=2)
        assert res.costs().mean() > 0


def test_plan_without_history_measure_is_clear():
    ds = load_dataset(ROOT / "data" / "sample")
    plan = Plan.from_dict(
        {
            "id": "saas_ae",
            "name": "x",
            "effective_from": "2026-01-01",
            "target_incentive": 1000,
            "measures": {"widgets": {"source": "credit"}},
            "components": [{"type": "commission", "name": "c", "measure": "widgets", "rate": 0.1}],
        }
    )
    with pytest.raises(Exception, match="widgets"):
        from_dataset(ds, plan)


def test_known_departures_from_data(saas_plan):
    ds = load_dataset(ROOT / "data" / "sample")
    model = from_dataset(ds, saas_plan, attrition=0.0)
    assert model.departure is not None
    leavers = model.rep_ids[model.departure < model.n_periods]
    assert len(leavers) >= 1
    res = simulate(model, saas_plan, 300, seed=1)
    assert np.all(res.leavers == len(leavers))  # every scenario: the known leavers leave
    stay = simulate(model.replace(departure=None), saas_plan, 300, seed=1)
    i = [list(model.rep_ids).index(r) for r in leavers]
    assert np.all(res.rep_sum_cents[0, i] < stay.rep_sum_cents[0, i])


def test_estimate_dependence_recovers_copula():
    import pandas as pd

    from spm_model.simulate import estimate_attrition, estimate_dependence

    groups = ["a", "b", "c", "d"] * 10
    model = from_assumptions(
        {"m": {"quota": 1.0, "distribution": {"family": "lognormal", "mean": 1.0, "sd": 0.4}}},
        n_reps=40,
        periods=1,
        groups=groups,
        rho_company=0.3,
        rho_group=0.2,
    )
    x = _credited(model, 300, seed=4)[0][:, :, 0]  # 300 independent "periods" x 40 reps
    s_idx, r_idx = np.meshgrid(np.arange(300), np.arange(40), indexing="ij")
    hist = pd.DataFrame(
        {
            "rep_id": model.rep_ids[r_idx.ravel()],
            "measure": "m",
            "period": s_idx.ravel().astype(str),
            "attainment": x.ravel(),
        }
    )
    est = estimate_dependence(hist, pd.Series(groups, index=model.rep_ids))
    assert est["rho_company"] == pytest.approx(0.3, abs=0.07)
    assert est["rho_group"] == pytest.approx(0.2, abs=0.07)
    reps = pd.DataFrame(
        {
            "hire_date": pd.to_datetime(["2020-01-01"] * 10),
            "end_date": pd.to_datetime(["2021-01-01", "2021-07-01"] + [None] * 8),
        }
    )
    rate = estimate_attrition(reps, pd.Timestamp("2021-01-01"), pd.Timestamp("2022-12-31"))
    years = 0 + 0.5 + 8 * 2  # exposure within the window
    assert rate == pytest.approx(1 - np.exp(-2 / years), rel=0.02)


@pytest.mark.parametrize("plan_id", ["saas_ae", "sales_manager", "field_rep"])
def test_history_is_what_statements_credit(plan_id):
    """Direct credit (saas_ae), roll-up through the whole hierarchy (sales_manager, YTD),
    margin of the credited rows (field_rep): the history equals the statements' credited."""
    ds = load_dataset(ROOT / "data" / "sample")
    plans = [load_plan(f) for f in sorted((ROOT / "templates" / "plans").glob("*.yaml"))]
    credits = credit_dataset(ds, plans)
    plan = next(p for p in plans if p.id == plan_id)
    measures = [m for m, sp in plan.measures.items() if sp.source in ("credit", "margin")]
    hist = credited_history(credits, plan, measures, plan.measurement_period, ds)
    compared = 0
    for period in ("2026-Q1", "2026-Q2"):
        lines = calculate(plan, ds, period, credits=credits).lines
        lines = lines[(lines["period"] == period) & lines["measure"].isin(measures)]
        lines = lines.drop_duplicates(["rep_id", "measure"])
        h = hist[hist["period"] <= period] if plan.cumulative else hist[hist["period"] == period]
        h = h[h["period"].str[:4] == period[:4]]
        h = h.groupby(["rep_id", "measure"], as_index=False)["amount"].sum()
        m = lines.merge(h, on=["rep_id", "measure"], how="left").fillna({"amount": 0.0})
        assert len(m) > 0
        np.testing.assert_allclose(m["amount"], m["credited"], atol=0.005)
        compared += int((m["credited"] != 0).sum())
    assert compared > 0
    if plan_id == "sales_manager":
        # roll-up through every level: a manager above first-line managers gets their teams
        top = hist[hist["rep_id"] == "R0001"]["amount"].sum()
        firsts = ds.reps.loc[ds.reps["manager_id"] == "R0001", "rep_id"]
        assert top > hist[hist["rep_id"].isin(firsts)]["amount"].sum() * 0.99


def test_from_dataset_credits_once_and_defaults_to_credit_dataset(saas_plan):
    ds = load_dataset(ROOT / "data" / "sample")
    given = from_dataset(ds, saas_plan, credits=credit_dataset(ds, [saas_plan]))
    default = from_dataset(ds, saas_plan)
    np.testing.assert_array_equal(given.marginals.mean, default.marginals.mean)
    h = given.info["history"]
    # the 90-day clawback window of the plan holds in the history: a view without it differs
    no_window = from_dataset(ds, saas_plan, credits=credit_dataset(ds))
    assert not np.array_equal(no_window.marginals.mean, given.marginals.mean)
    assert {"rep_id", "measure", "period", "credited", "quota", "attainment"} <= set(h.columns)


def test_horizon_without_quotas_names_the_missing_periods(saas_plan):
    ds = load_dataset(ROOT / "data" / "sample")
    with pytest.raises(SpmDataError, match=r"2028-Q1, 2028-Q2, 2028-Q3, 2028-Q4") as e:
        from_dataset(ds, saas_plan, horizon="2028")
    assert "2027" in str(e.value) and "saas_ae" in str(e.value)
    # projected from the year before: the same period, or the nearest one for a mid-year hire
    m27 = from_dataset(ds, saas_plan, horizon="2027", quota_growth=1.1)
    q26 = from_dataset(ds, saas_plan, horizon="2026")
    both = [r in set(q26.rep_ids) for r in m27.rep_ids]
    i26 = [list(q26.rep_ids).index(r) for r in m27.rep_ids if r in set(q26.rep_ids)]
    full = np.all(q26.quota[i26] > 0, axis=(1, 2))
    np.testing.assert_allclose(m27.quota[both][full], 1.1 * q26.quota[i26][full])
    assert np.all(m27.quota > 0)
    # a quota missing for a single period is named alone
    q = ds.quotas
    rid = from_dataset(ds, saas_plan).rep_ids[0]
    drop = (q["rep_id"] == rid) & q["period"].isin(
        ["2026-Q3", *(f"2025-Q{k}" for k in range(1, 5))]
    )
    with pytest.raises(SpmDataError, match=r"period\(s\) 2026-Q3 ") as e:
        from_dataset(ds.replace(quotas=q[~drop].reset_index(drop=True)), saas_plan)
    assert rid in str(e.value)
    with pytest.raises(SpmConfigError, match="not a fiscal year"):
        from_dataset(ds, saas_plan, horizon="next")


def test_with_quotas_replaces_the_years_and_measures_it_covers():
    """Monthly proposal rows replace the quarterly rows of their year and measure only."""
    import pandas as pd

    from spm_model.simulate import with_quotas

    ds = load_dataset(ROOT / "data" / "sample")
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    prop = pd.DataFrame(
        {"rep_id": "R0013", "period": months, "measure": "new_business", "amount": 1000.0}
    )
    new = with_quotas(ds, prop).quotas
    old = ds.quotas
    fy26 = new["period"].astype(str).str.startswith("2026")
    nb = new["measure"] == "new_business"
    # FY2026 new-business rows are exactly the proposal (every rep's quarterly rows gone)
    assert sorted(new.loc[fy26 & nb, "period"]) == months
    assert new.loc[fy26 & nb, "amount"].sum() == 12_000.0
    # other measures of 2026 and other years are untouched
    keep = ~(old["period"].astype(str).str.startswith("2026") & (old["measure"] == "new_business"))
    assert len(new) == int(keep.sum()) + 12
    assert new.loc[~(fy26 & nb), "amount"].sum() == old.loc[keep, "amount"].sum()
    assert ds.quotas.equals(old)  # the input dataset is not changed


def test_sales_basis_keeps_sales_and_lowers_attainment(saas_plan):
    """Doubled quotas, old quotas as the sales basis: same credit, half the attainment."""
    ds = load_dataset(ROOT / "data" / "sample")
    model = from_dataset(ds, saas_plan)
    doubled = model.replace(quota=model.quota * 2.0, sales_basis=model.quota.copy())
    assert np.array_equal(doubled.basis, model.quota)
    a = simulate(model, saas_plan, 400, seed=11)
    b = simulate(doubled, saas_plan, 400, seed=11)
    np.testing.assert_array_equal(a.revenue_cents, b.revenue_cents)  # the same sales
    # half the attainment: fewer reps reach quota, and the plan costs less
    assert b.level_shares()[:, 1].mean() < a.level_shares()[:, 1].mean()
    assert b.costs().mean() < a.costs().mean()


def _proposal(model, factor: float):
    """The model's quota rows times ``factor``, as a quotas table (a proposal)."""
    import pandas as pd

    return pd.DataFrame(
        [
            (rid, lab, meas, float(model.quota[i, j, t]) * factor)
            for i, rid in enumerate(model.rep_ids)
            for j, meas in enumerate(model.measures)
            for t, lab in enumerate(model.periods)
        ],
        columns=["rep_id", "period", "measure", "amount"],
    )


def test_from_dataset_at_proposed_quotas_draws_sales_against_the_old_quotas(saas_plan):
    """A proposal 25% above the projected quotas is paid on, but credit is drawn as before."""
    ds = load_dataset(ROOT / "data" / "sample")
    base = from_dataset(ds, saas_plan, horizon="2027")  # FY2026 quotas carried forward
    prop = _proposal(base, 1.25)
    model = from_dataset(ds, saas_plan, quotas=prop, sales_growth=0.0)
    assert model.periods == base.periods
    np.testing.assert_allclose(model.quota, base.quota * 1.25)
    np.testing.assert_allclose(model.basis, base.quota)
    assert model.info["sales_growth"] == {"new_business": 0.0, "renewal": 0.0}
    assert model.info["sales_growth_source"] == "given"
    a = simulate(base, saas_plan, 400, seed=5)
    b = simulate(model, saas_plan, 400, seed=5)
    np.testing.assert_array_equal(a.revenue_cents, b.revenue_cents)
    assert b.costs().mean() < a.costs().mean()
    assert model.info["sales_basis"] == "quotas before the override"
    assert "sales drawn against the earlier quotas" in repr(model)
    assert "sales drawn" not in repr(base)


def test_next_years_sales_grow_from_last_years_quotas_as_the_quotas_assume(saas_plan):
    """FY2027 has no quotas in the table: sales are FY2026's quota level grown a year.

    Default: the growth the quota methods learn (credit per full-capacity rep-month,
    the last twelve months against a year earlier); a given growth replaces it, and a
    horizon the table has quotas for (FY2026) is not grown.
    """
    from spm_model.quota import build_history

    ds = load_dataset(ROOT / "data" / "sample")
    base = from_dataset(ds, saas_plan, horizon="2027")  # FY2026 quotas carried forward
    prop = _proposal(base, 1.4)
    assert base.measures == ["new_business", "renewal"]
    learnt = build_history(ds, 2027, credits=credit_dataset(ds, [saas_plan])).growth
    assert 0.0 < learnt["new_business"] < 1.0
    model = from_dataset(ds, saas_plan, quotas=prop)
    grown = 1 + np.array([learnt["new_business"], learnt["renewal"]])
    np.testing.assert_allclose(model.basis, base.quota * grown[None, :, None])
    assert model.info["sales_growth"] == {m: learnt[m] for m in base.measures}
    assert model.info["sales_growth_source"].startswith("learnt")
    given = from_dataset(ds, saas_plan, quotas=prop, sales_growth={"new_business": 0.1})
    np.testing.assert_allclose(given.basis[:, 0], base.quota[:, 0] * 1.1)
    np.testing.assert_allclose(given.basis[:, 1], base.quota[:, 1])  # absent: no growth
    # more growth, more sales against the same quotas: a higher cost
    flat = from_dataset(ds, saas_plan, quotas=prop, sales_growth=0.0)
    assert simulate(model, saas_plan, 400, seed=5).costs().mean() > (
        simulate(flat, saas_plan, 400, seed=5).costs().mean()
    )
    # FY2026 is in the table: its quotas are the level, nothing is grown
    this = from_dataset(ds, saas_plan, horizon="2026")
    m26 = from_dataset(ds, saas_plan, horizon="2026", quotas=_proposal(this, 1.4))
    np.testing.assert_allclose(m26.basis, this.quota)
    assert m26.info["sales_growth"] == {}


@pytest.mark.parametrize("bad", [-1.0, float("nan"), "fast", {"new_business": float("inf")}])
def test_a_sales_growth_that_is_not_a_fraction_above_minus_one_is_refused(saas_plan, bad):
    import pandas as pd

    ds = load_dataset(ROOT / "data" / "sample")
    base = from_dataset(ds, saas_plan, horizon="2027")
    prop = pd.DataFrame(
        [(rid, lab, "new_business", 1e6) for rid in base.rep_ids for lab in base.periods],
        columns=["rep_id", "period", "measure", "amount"],
    )
    with pytest.raises(SpmConfigError, match="sales_growth: new_business="):
        from_dataset(ds, saas_plan, quotas=prop, sales_growth=bad)


def test_periods_a_rep_worked_less_than_half_of_are_left_out_of_the_fit():
    """Hired 19 December: the 13 days of 2025-Q4 (a prorated quota met 35.6x by one deal) do
    not enter the fit; a rep hired on 15 November (47 of 92 days) and a leaver on 31 January
    (31 of 90 days) keep theirs and lose theirs respectively."""
    import pandas as pd

    from spm_model.simulate.build import _mostly_employed

    reps = pd.DataFrame(
        {
            "rep_id": ["late", "mid", "gone"],
            "hire_date": pd.to_datetime(["2025-12-19", "2025-11-15", "2020-01-01"]),
            "end_date": pd.to_datetime([None, None, "2026-01-31"]),
        }
    )
    hist = pd.DataFrame(
        {
            "rep_id": ["late", "late", "mid", "gone", "gone"],
            "period": ["2025-Q4", "2026-Q1", "2025-Q4", "2025-Q4", "2026-Q1"],
            "attainment": [35.6, 1.1, 0.8, 0.9, 0.2],
        }
    )
    kept = _mostly_employed(hist, reps, 1)
    assert list(zip(kept["rep_id"], kept["period"], strict=True)) == [
        ("late", "2026-Q1"),
        ("mid", "2025-Q4"),
        ("gone", "2025-Q4"),
    ]
