"""Results: summary figures with MCSE, CRN comparison, convergence, outputs, sensitivity."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spm_model.plans import Plan
from spm_model.simulate import sensitivity, simulate
from spm_model.simulate.plots import plot_tornado


def _variant(plan: Plan, accel: float) -> Plan:
    d = plan.to_dict()
    d["id"] = f"saas_accel_{accel}"
    d["components"][0]["tiers"][2]["rate"] = accel
    return Plan.from_dict(d)


def test_crn_paired_se_much_smaller(saas_plan, make_model):
    model = make_model(30)
    b = _variant(saas_plan, 2.1)
    res = simulate(model, [saas_plan, b], 2_000, seed=8)
    cmp = res.compare(0, 1)
    paired_se = float(cmp.table.loc[cmp.table.figure == "mean difference B - A", "se"].iloc[0])
    # independent runs: B on a different seed than A
    ind = simulate(model, b, 2_000, seed=9)
    d_ind = ind.costs().mean() - res.costs(0).mean()
    se_ind = np.sqrt(res.costs(0).var(ddof=1) / 2_000 + ind.costs().var(ddof=1) / 2_000)
    assert cmp.value("mean difference B - A") > 0  # a richer accelerator costs more
    assert se_ind >= 5 * paired_se
    assert abs(d_ind - cmp.value("mean difference B - A")) < 4 * se_ind
    assert cmp.value("variance reduction (CRN)") >= 25
    assert set(cmp.reps.columns) >= {"rep_id", "mean_difference", "ci_low", "ci_high"}
    assert "common scenarios" in str(cmp)


def test_comparison_reports_distribution_of_the_difference(saas_plan, make_model):
    model = make_model(30)
    b = _variant(saas_plan, 2.1)
    res = simulate(model, [saas_plan, b], 2_000, seed=8)
    cmp = res.compare(0, 1)
    d = res.costs(1) - res.costs(0)  # per scenario, on the same scenarios
    for p in (5, 50, 95):
        assert cmp.value(f"P{p} difference B - A") == pytest.approx(np.quantile(d, p / 100))
    assert cmp.value("P(B > A)") == pytest.approx(np.mean(d > 0))
    assert 0 < cmp.value("P(B > A)") <= 1
    assert cmp.value("P5 difference B - A") <= cmp.value("P95 difference B - A")
    # B vs B: the difference is exactly 0 in every scenario
    same = simulate(model, [saas_plan, saas_plan.model_copy(update={"id": "copy"})], 500, seed=8)
    c0 = same.compare(0, 1)
    assert c0.value("P(B > A)") == 0.0 and c0.value("P95 difference B - A") == 0.0
    # reversed order: P(A > B) + P(B > A) + P(tie) = 1
    rev = res.compare(1, 0)
    tie = float(np.mean(d == 0))
    assert rev.value("P(B > A)") + cmp.value("P(B > A)") + tie == pytest.approx(1.0)
    text = str(cmp)
    assert "P(B > A)" in text and "P95 difference B - A" in text
    js = res.to_dict()["comparisons"]
    assert "P(B > A)" in next(iter(js.values()))


def test_summary_figures_and_mcse(saas_plan, make_model):
    model = make_model(30)
    res = simulate(model, saas_plan, 3_000, seed=2, budget=None)
    budget = float(np.quantile(res.costs(), 0.8))
    s = res.summary(budget=budget)
    for fig in [
        "mean cost",
        "sd cost",
        "P5 cost",
        "P50 cost",
        "P90 cost",
        "P95 cost",
        "P99 cost",
        "P(cost > budget)",
        "expected shortfall above budget",
        "mean cost of sales",
    ]:
        assert np.isfinite(s.value(fig)) and np.isfinite(s.se(fig)), fig
    assert abs(s.value("P(cost > budget)") - 0.2) < 0.01
    cost = res.costs()
    assert s.value("P95 cost") == pytest.approx(np.quantile(cost, 0.95))
    assert s.value("expected shortfall above budget") == pytest.approx(
        np.maximum(cost - budget, 0).mean()
    )
    assert s.se("mean cost") == pytest.approx(cost.std(ddof=1) / np.sqrt(cost.size))
    lv = s.levels.set_index("level")
    assert (
        lv.loc["threshold", "share"] >= lv.loc["target", "share"] >= lv.loc["excellence", "share"]
    )
    assert list(lv.index) == ["threshold", "target", "excellence"]
    assert lv.loc["target", "attainment"] == 1.0  # from the template's labelled points
    assert len(s.reps) == 30 and (s.reps["p95"] >= s.reps["p5"]).all()
    # per-rep means add up to the mean cost (integer cents, exact)
    assert s.reps["mean"].sum() == pytest.approx(cost.mean(), rel=1e-12)
    text = str(s)
    assert "MCSE" in text and "guideline" in text


def test_mcse_matches_spread_across_seeds(saas_plan, make_model):
    """The reported MCSE of the mean agrees with the spread of means over seeds."""
    model = make_model(9)
    means, ses = [], []
    for seed in range(12):
        r = simulate(model, saas_plan, 400, seed=seed).summary()
        means.append(r.value("mean cost"))
        ses.append(r.se("mean cost"))
    ratio = np.std(means, ddof=1) / np.mean(ses)
    assert 0.5 < ratio < 1.6


def test_convergence_stops_and_is_deterministic(saas_plan, make_model):
    model = make_model(12)
    a = simulate(
        model,
        saas_plan,
        1_000,
        seed=3,
        tol=0.004,
        chunk_size=3_000,
        max_scenarios=60_000,
        progress=True,
    )
    b = simulate(model, saas_plan, 1_000, seed=3, tol=0.004, chunk_size=1_000, max_scenarios=60_000)
    assert a.converged and a.n_scenarios == b.n_scenarios and a.n_scenarios % 1_000 == 0
    np.testing.assert_array_equal(a.cost_cents, b.cost_cents)
    c = a.costs()
    assert c.std(ddof=1) / np.sqrt(c.size) / c.mean() <= 0.004
    # not converged one step earlier (it stops at the first check that passes)
    c0 = c[: a.n_scenarios - 1_000]
    if c0.size >= 1_000:
        assert c0.std(ddof=1) / np.sqrt(c0.size) / c0.mean() > 0.004
    capped = simulate(model, saas_plan, 1_000, seed=3, tol=1e-6, max_scenarios=2_000)
    assert not capped.converged and capped.n_scenarios == 2_000


def test_write_outputs(tmp_path, saas_plan, make_model):
    model = make_model(9)
    res = simulate(model, [saas_plan, _variant(saas_plan, 2.2)], 500, seed=1, budget=2e6)
    paths = res.write(tmp_path / "out")
    names = {p.name for p in paths}
    assert {
        "summary.json",
        "summary.txt",
        "scenarios.csv",
        "reps.csv",
        "cost_histogram.png",
        "leverage.png",
        "attainment.png",
    } <= names
    js = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert js["plans"]["saas_ae"]["figures"]["mean cost"]["mc_se"] > 0
    assert "comparisons" in js


def test_sensitivity_tornado(saas_plan, make_model):
    model = make_model(9)
    t = sensitivity(
        model,
        saas_plan,
        seed=1,
        n_scenarios=300,
        plan_variants={"accelerator 2.0 vs 2.5": (saas_plan, _variant(saas_plan, 2.5))},
    )
    assert list(t.columns[:5]) == ["assumption", "low", "high", "low_cost", "high_cost"]
    assert (t["range"].diff().dropna() <= 0).all()
    row = t.set_index("assumption").loc["mean attainment"]
    assert row["high_cost"] > row["base"] > row["low_cost"]
    ax = plot_tornado(t)
    assert ax.get_title()
