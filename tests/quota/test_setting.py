"""set_quotas: reconciliation, phasing, ramps, proration, vacancies, output schema, export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spm_model.data import Dataset
from spm_model.errors import SpmConfigError
from spm_model.quota import (
    build_history,
    fairness_report,
    gini,
    hierarchy_table,
    ramp_factor,
    set_quotas,
)
from spm_model.quota.setting import UNASSIGNED


@pytest.fixture(scope="module")
def blend(sample):
    return set_quotas(sample, 2026, "blend", target=40_000_000, over_assign=0.1)


def test_allocation_reconciles_to_the_currency_unit_at_every_level(blend):
    a = blend.allocation
    assert blend.reconciles
    nb = a[a["measure"] == "new_business"]
    comp = nb[nb["level"] == "company"].iloc[0]
    # over_assign=0.1 is the total: 10% split evenly (3.23%) over region, team and rep levels
    assert comp["target"] == 40_000_000 and comp["to_assign"] == round(40e6 * 1.1 ** (1 / 3))
    assert nb.loc[nb["level"] == "region", "target"].sum() == comp["to_assign"]
    # every team's reps + unassigned line add up to the team's amount to assign
    teams = nb[nb["level"] == "team"].set_index("node")["to_assign"]
    reps = nb[nb["level"] == "rep"].groupby("parent")["target"].sum()
    assert (reps.reindex(teams.index) == teams).all()
    # and the phased rep quotas + unassigned quota add up to the rep-level total, to the unit
    q = blend.quotas
    reps_nb = set(blend.annual.loc[blend.annual["measure"] == "new_business", "rep_id"])
    rep_total = q[(q["measure"] == "new_business") & q["rep_id"].isin(reps_nb)]["amount"].sum()
    un = blend.unassigned
    un_total = un.loc[un["measure"] == "new_business", "amount"].sum()
    assert rep_total + un_total == teams.sum()
    assert (q["amount"] == np.round(q["amount"])).all()


def test_months_sum_to_the_annual_amount_and_follow_seasonality(blend):
    q = blend.quotas.merge(blend.annual[["rep_id", "measure", "annual"]], on=["rep_id", "measure"])
    tot = q.groupby(["rep_id", "measure"]).agg(s=("amount", "sum"), a=("annual", "first"))
    assert (tot["s"] == tot["a"]).all()


def test_full_year_rep_months_follow_the_learnt_seasonality(sample):
    res = set_quotas(sample, 2026, "history", target=40e6)
    q = res.quotas.merge(res.annual[["rep_id", "measure", "annual"]], on=["rep_id", "measure"])
    h = res.history
    r = q[(q["rep_id"] == "R0013") & (q["measure"] == "new_business")].sort_values("period")
    s = h.season["new_business"]
    np.testing.assert_allclose(r["amount"].to_numpy(), r["annual"].iloc[0] * s / 12, atol=1.0)


def test_quarterly_output_is_in_the_canonical_quotas_schema(sample):
    res = set_quotas(sample, 2026, "potential", target=40e6, freq="quarter")
    q = res.quotas
    assert list(q.columns) == ["rep_id", "period", "measure", "amount"]
    assert set(q["period"]) == {"2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"}
    assert not q.duplicated(["rep_id", "period", "measure"]).any()
    ds2 = sample.replace(quotas=q)
    assert [p for p in ds2.validate() if p.table == "quotas"] == []
    assert isinstance(ds2, Dataset)


def test_new_hire_ramp_0_25_50_75_100_by_quarter(sample):
    reps = sample.reps.copy()
    new = reps[reps["rep_id"] == "R0013"].assign(
        rep_id="R9999", hire_date=pd.Timestamp("2025-10-01")
    )
    ds = sample.replace(reps=pd.concat([reps, new], ignore_index=True))
    assert ramp_factor(np.array([0, 2, 3, 6, 9, 12, 40]), (0, 0.25, 0.5, 0.75, 1)).tolist() == [
        0,
        0,
        0.25,
        0.5,
        0.75,
        1,
        1,
    ]
    h = build_history(ds, 2026)
    i = np.flatnonzero(h.pairs["rep_id"] == "R9999")[0]
    # hired 2025-10-01: tenure quarter 1 in 2026-Q1 (25%), 2 (50%), 3 (75%), then 100%
    np.testing.assert_allclose(h.capacity[i, ::3], [0.25, 0.5, 0.75, 1.0])
    res = set_quotas(h, method="capacity")
    q = res.quotas[(res.quotas["rep_id"] == "R9999") & (res.quotas["measure"] == "new_business")]
    assert q["amount"].iloc[0] < q["amount"].iloc[-1]


def test_leave_part_time_and_leaver_proration_with_vacancy_carried_unassigned(sample):
    leaves = pd.DataFrame(
        {"rep_id": ["R0013"], "start_date": ["2026-04-01"], "end_date": ["2026-06-30"]}
    )
    res = set_quotas(sample, 2026, "history", target={"new_business": 40e6}, leaves=leaves)
    a = res.annual.set_index(["rep_id", "measure"])
    assert a.loc[("R0013", "new_business"), "capacity_share"] < 0.85  # a quarter away
    q = res.quotas
    r13 = q[(q["rep_id"] == "R0013") & (q["measure"] == "new_business")].set_index("period")
    assert (r13.loc[["2026-04", "2026-05", "2026-06"], "amount"] == 0).all()
    # R0034 works 0.6 FTE: seat weight is 0.6 x basis (seasonality has mean 1)
    assert a.loc[("R0034", "new_business"), "seat_weight"] == pytest.approx(
        0.6 * a.loc[("R0034", "new_business"), "basis"], rel=1e-9
    )
    # R0029 leaves 2026-02-03: later months have no quota rows; the vacancy is unassigned
    r29 = q[q["rep_id"] == "R0029"]
    assert set(r29["period"]) == {"2026-01", "2026-02"}
    un = res.unassigned
    c3 = un[(un["team"] == "Central 003") & (un["measure"] == "new_business")]
    assert c3["amount"].sum() > 0
    alloc = res.allocation
    line = alloc[
        (alloc["node"] == UNASSIGNED)
        & (alloc["parent"] == "Central/Central 003")
        & (alloc["measure"] == "new_business")
    ]
    assert int(line["target"].iloc[0]) == c3["amount"].sum()


def test_managers_get_the_amount_handed_to_their_node(blend):
    a = blend.allocation
    q = blend.quotas
    team = a[(a["node"] == "West/West 001") & (a["measure"] == "new_business")]["target"].iloc[0]
    assert q[(q["rep_id"] == "R0006") & (q["measure"] == "new_business")]["amount"].sum() == team
    vp = q[(q["rep_id"] == "R0001") & (q["measure"] == "new_business")]["amount"].sum()
    assert vp == 40_000_000


def test_bad_targets_and_options_are_rejected(sample, hist2026):
    for bad in (0, -1e6):
        with pytest.raises(SpmConfigError, match="positive amount"):
            set_quotas(hist2026, method="history", target=bad)
    with pytest.raises(SpmConfigError, match="unknown measure"):
        set_quotas(hist2026, method="history", target={"widgets": 1e6})
    with pytest.raises(SpmConfigError, match="freq"):
        set_quotas(hist2026, method="history", freq="week")
    with pytest.raises(SpmConfigError, match="sum to 1"):
        set_quotas(
            hist2026, method={"method": "blend", "weights": {"history": 0.7, "potential": 0.7}}
        )
    with pytest.raises(SpmConfigError, match="ramp"):
        build_history(sample, 2026, ramp=(0.5, 0.2))


def test_fairness_report_and_plots(blend, tmp_path):
    f = fairness_report(blend, n_draws=300)
    pr = f.per_rep
    assert {
        "expected_attainment",
        "p_threshold",
        "p_target",
        "p_excellence",
        "quota_to_potential",
        "potential_outlier",
        "quota_vs_last_year",
    } <= set(pr.columns)
    assert (pr["p_threshold"] >= pr["p_target"]).all() and (
        pr["p_target"] >= pr["p_excellence"]
    ).all()
    s = f.summary.set_index("measure")
    assert 0 <= s.loc["new_business", "gini_quota_to_potential"] < 1
    assert gini(np.array([1.0, 1.0, 1.0])) == pytest.approx(0.0)
    assert gini(np.array([0.0, 0.0, 3.0])) == pytest.approx(2 / 3)
    ax = f.plot_quota_vs_potential()
    ax.figure.savefig(tmp_path / "scatter.png")
    ax = f.plot_attainment_histogram("new_business")
    ax.figure.savefig(tmp_path / "hist.png")
    assert (tmp_path / "scatter.png").stat().st_size > 1000


def test_excel_export_has_the_hierarchy(blend, tmp_path):
    p = blend.to_excel(tmp_path / "q.xlsx")
    book = pd.read_excel(p, sheet_name=None)
    assert next(iter(book)) == "Summary"
    assert {"quotas", "annual", "allocation", "unassigned", "notes"} <= set(book)
    h = hierarchy_table(blend)
    assert len(book["allocation"]) == len(h)
    assert h.iloc[0]["level"] == "company"


def test_a_crediting_result_is_reused_as_the_history(sample):
    from spm_model.calc import credit_dataset

    credits = credit_dataset(sample)
    res = set_quotas(sample, 2026, "history", target=40e6, credits=credits)
    assert res.reconciles
    own = set_quotas(sample, 2026, "history", target=40e6)  # credits the dataset itself
    pd.testing.assert_frame_equal(res.annual, own.annual)
    # the given result is what the history reads: credit cut half a year early moves the bases
    early = set_quotas(sample, 2026, "history", target=40e6, credits=credits.until("2025-06-30"))
    a = res.annual.set_index(["rep_id", "measure"])["basis"]
    b = early.annual.set_index(["rep_id", "measure"])["basis"]
    money = a.index.get_level_values("measure") != "meetings"
    assert not np.allclose(a[money], b.reindex(a.index)[money], equal_nan=True)
    meet = ~money
    np.testing.assert_allclose(a[meet], b.reindex(a.index)[meet])  # activities, not credit


def test_expected_payout_through_the_plan_engine(blend):
    from pathlib import Path

    from spm_model.plans import load_plan

    root = Path(__file__).resolve().parents[2]
    plan = load_plan(root / "templates" / "plans" / "channel_manager.yaml")
    f = fairness_report(blend, plan=plan, n_draws=200)
    pay = f.per_rep.dropna(subset=["expected_payout"])
    assert set(pay["rep_id"]) == {"R0046", "R0051"}  # the channel managers on that plan
    assert (pay["expected_payout"] > 0).all()
    # a higher quota lowers the expected payout of the same draws
    d = np.full((len(blend.annual), 50), 400_000.0)
    lo = fairness_report(blend, d, plan=plan).per_rep.set_index("rep_id")["expected_payout"]
    res2 = set_quotas(blend.history, method="blend", target=60e6)
    hi = fairness_report(res2, d, plan=plan).per_rep.set_index("rep_id")["expected_payout"]
    assert hi["R0051"] < lo["R0051"]


def test_fiscal_year_starting_in_april(sample):
    ds = sample.replace()
    ds.meta = sample.meta.model_copy(update={"fy_start_month": 4})
    res = set_quotas(ds, 2026, "blend", target=40e6, over_assign=0.1, freq="quarter")
    assert res.reconciles
    h = res.history
    assert h.cutoff == pd.Timestamp("2025-03-31")  # FY2026 runs 2025-04-01 .. 2026-03-31
    assert sorted(res.quotas["period"].unique()) == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert h.season["new_business"].mean() == pytest.approx(1.0)


def test_next_year_learns_from_the_data_up_to_its_end(sample):
    res = set_quotas(sample, 2027, "history", target=45e6)
    h = res.history
    assert h.cutoff == pd.Timestamp("2026-09-30")  # the data ends before FY2027 starts
    assert any("cut-off 2026-09-30" in n for n in res.notes)
    explicit = set_quotas(sample, 2027, "history", target=45e6, cutoff="2026-09-30")
    assert explicit.annual["annual"].tolist() == res.annual["annual"].tolist()


def test_a_measure_nobody_has_history_for_is_an_error_or_skipped_with_a_note(sample):
    """The company has never sold services: without a target they cannot be set."""
    from spm_model.errors import SpmDataError

    services = set(sample.products.loc[sample.products["measure"] == "services", "product_id"])
    tx = sample.transactions
    young = Dataset(
        {**sample.tables, "transactions": tx[~tx["product_id"].isin(services)]}, meta=sample.meta
    )
    with pytest.raises(SpmDataError, match="measure 'services': no rep has history"):
        set_quotas(young, 2026, "blend", freq="quarter")
    res = set_quotas(young, 2026, "blend", freq="quarter", unset="skip")
    assert "services" not in set(res.summary()["measure"])
    assert {"new_business", "renewal"} <= set(res.summary()["measure"])
    assert res.notes[0].startswith("measure 'services': no rep has history to set quotas from")
    # the other measures are what they would have been on their own
    alone = set_quotas(young, 2026, "blend", freq="quarter", measures=["new_business"])
    nb = res.quotas[res.quotas["measure"] == "new_business"].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        nb, alone.quotas[alone.quotas["measure"] == "new_business"].reset_index(drop=True)
    )
    with pytest.raises(SpmConfigError, match="unset must be"):
        set_quotas(young, 2026, "blend", unset="ignore")
    # a target sets it
    given = set_quotas(young, 2026, "blend", freq="quarter", target={"services": 1e6})
    assert "services" in set(given.summary()["measure"])
