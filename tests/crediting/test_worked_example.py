"""Crediting of the hand-checked example company (numbers worked out by hand)."""

from __future__ import annotations

import pandas as pd
import pytest

from spm_model.crediting import ClawbackPolicy, credit_transactions
from spm_model.crediting.examples import worked_example_dataset


@pytest.fixture(scope="module")
def ds():
    return worked_example_dataset()


@pytest.fixture(scope="module")
def res(ds):
    return credit_transactions(ds)


def rows(res, **eq):
    c = res.credits
    m = pd.Series(True, index=c.index)
    for k, v in eq.items():
        m &= c[k].astype(object) == v
    return c[m]


def amount(res, **eq) -> float:
    return round(float(rows(res, **eq)["amount"].sum()), 2)


def test_owner_on_transaction_date_follows_territory_change(res):
    # C1 belonged to A1 until 2025-06-30 and to A2 from 2025-07-01
    assert amount(res, txn_id="T1", rule="owner") == 10000.0
    assert set(rows(res, txn_id="T1", rule="owner")["rep_id"].astype(object)) == {"A1"}
    assert set(rows(res, txn_id="T2", rule="owner")["rep_id"].astype(object)) == {"A2"}
    # the assignment row behind the credit is kept for lineage (file row = index + 2)
    assert rows(res, txn_id="T2", rule="owner")["assignment_row"].tolist() == [3]


def test_overlay_only_on_its_product_family(res):
    assert amount(res, txn_id="T1", rule="overlay", rep_id="O1") == 10000.0
    assert rows(res, txn_id="T3", rule="overlay").empty  # services family: no overlay


def test_splits_replace_owner_and_over_100_is_reported(res):
    assert rows(res, txn_id="T3", rule="owner").empty
    assert amount(res, txn_id="T3", rule="split", rep_id="A2") == 1800.0
    assert amount(res, txn_id="T3", rule="split", rep_id="A1") == 1200.0
    assert amount(res, txn_id="T5", rule="split") == 1250.0
    rep = res.split_report.set_index("txn_id")
    assert list(rep.index) == ["T5"]
    assert rep.loc["T5", "share_total"] == pytest.approx(1.25)
    assert rep.loc["T5", "status"] == "over_100"
    cons = res.conservation.set_index("txn_id")
    assert cons.loc["T5", "status"] == "split_over_100"
    assert bool(cons.loc["T5", "explained"])


def test_unassigned_transaction_is_a_violation(res):
    cons = res.conservation.set_index("txn_id")
    assert cons.loc["T4", "status"] == "unassigned"
    assert list(res.violations["txn_id"]) == ["T4"]
    assert not res.conserved
    assert list(res.issues["txn_id"]) == ["T4"]
    with pytest.raises(Exception, match="T4: unassigned"):
        res.check()


def test_exceptions_applied_last_with_their_id(res):
    assert amount(res, txn_id="T8", rep_id="A2") == 1500.0  # 2,000 owner - 500 exception
    assert amount(res, txn_id="T8", rep_id="S1") == 500.0
    assert rows(res, txn_id="T8", rule="exception", rep_id="S1")["ref"].tolist() == ["EX1b"]
    cons = res.conservation.set_index("txn_id")
    assert cons.loc["T8", "difference"] == 0.0
    # EX2 adds credit: not conserved, but explained by the exception
    assert cons.loc["T9", "difference"] == 750.0
    assert cons.loc["T9", "status"] == "exception"


def test_cancellation_reverses_original_reps_in_cancellation_period(res):
    # T6 cancels T1 after C1 moved to A2: the reversal still hits A1 (and overlay O1)
    t6 = rows(res, txn_id="T6", level=0)
    assert dict(zip(t6["rep_id"].astype(object), t6["amount"], strict=True)) == {
        "A1": -10000.0,
        "O1": -10000.0,
    }
    assert set(t6["rule"].astype(object)) == {"cancellation"}
    assert set(t6["original_txn_id"].astype(object)) == {"T1"}
    assert (t6["date"] == pd.Timestamp("2025-08-01")).all()
    # partial cancellation: half of T2
    assert amount(res, txn_id="T7", rep_id="A2", level=0) == -3000.0
    q = res.totals("quarter").set_index(["rep_id", "period", "measure"])["amount"]
    assert q[("A1", "2025-Q1", "new_business")] == 10000.0
    assert q[("A1", "2025-Q3", "new_business")] == -10000.0


def test_clawback_window_and_pro_rata(ds):
    full90 = credit_transactions(ds, clawback=ClawbackPolicy(window_days=90))
    # T6 is 172 days after T1: outside a 90-day window, A1 keeps the credit
    assert amount(full90, txn_id="T6", rep_id="A1", level=0) == 0.0
    assert amount(full90, txn_id="T7", rep_id="A2", level=0) == -3000.0  # 57 days: inside
    pro = credit_transactions(ds, clawback=ClawbackPolicy(window_days=90, mode="pro_rata"))
    # 57 of 90 days elapsed: (90 - 57) / 90 = 0.3667 of the 3,000 reversed = 1,100.00
    assert amount(pro, txn_id="T7", rep_id="A2", level=0) == -1100.0
    cons = pro.conservation.set_index("txn_id")
    assert cons.loc["T7", "status"] == "clawback"
    assert bool(cons.loc["T7", "explained"])
    cb = pro.clawbacks.set_index(["txn_id", "rep_id"])
    assert cb.loc[("T7", "A2"), "factor"] == pytest.approx(33 / 90)
    assert cb.loc[("T7", "A2"), "elapsed_days"] == 57
    # per-rep policies: only the overlay's plan has a window
    per_rep = credit_transactions(ds, clawback={"O1": ClawbackPolicy(window_days=90)})
    assert amount(per_rep, txn_id="T6", rep_id="A1", level=0) == -10000.0
    assert amount(per_rep, txn_id="T6", rep_id="O1", level=0) == 0.0


def test_rollups_to_every_manager_above(res):
    y = res.totals("year", "rollup").set_index(["rep_id", "measure"])["amount"]
    # M2 manages A1, A2, S1: new business = A1 (10,000 + 250 + 750 - 10,000)
    # + A2 (6,000 + 750 + 500 - 3,000) + S1 500
    assert y[("M2", "new_business")] == 1000.0 + 4250.0 + 500.0
    # M1 also gets O1's overlay credit (10,000 + 6,000 - 10,000 - 3,000)
    assert y[("M1", "new_business")] == 5750.0 + 3000.0
    # first-line only
    first = res.totals("year", "rollup", max_level=1).set_index(["rep_id", "measure"])["amount"]
    assert first[("M1", "new_business")] == 3000.0
    # rollup lineage names the rep whose credit rolled up
    r = rows(res, rep_id="M2", txn_id="T1", rule="rollup")
    assert r["source_rep_id"].astype(object).tolist() == ["A1"]
    assert r["level"].tolist() == [1]


def test_rollup_without_overlay(ds):
    res = credit_transactions(ds, rollup_rules=("owner", "split", "exception"))
    y = res.totals("year", "rollup").set_index(["rep_id", "measure"])["amount"]
    assert y[("M1", "new_business")] == 5750.0


def test_direct_totals_by_quarter(res):
    q = res.totals("quarter").set_index(["rep_id", "period", "measure"])["amount"]
    assert q[("A2", "2025-Q2", "new_business")] == 500.0 + 750.0
    assert q[("A2", "2025-Q2", "renewal")] == 1500.0
    assert q[("S1", "2025-Q2", "renewal")] == 500.0
    assert q[("O1", "2025-Q3", "new_business")] == 6000.0 - 10000.0 - 3000.0


def test_summary_and_repr(res):
    s = res.summary()
    assert {"rule", "conservation"} == set(s["kind"])
    assert "conserved=False" in repr(res)
    fr = res.for_rep("A1", "2025-01-01", "2025-03-31")
    assert set(fr["txn_id"]) == {"T1", "T3"}
    assert "account_id" in fr


def test_adjustment_follows_original_reps(ds):
    t = ds.transactions
    extra = pd.DataFrame(
        [("T10", pd.Timestamp("2025-08-15"), "C1", "P1", 300.0, "adjustment", "T3")],
        columns=["txn_id", "date", "account_id", "product_id", "amount", "kind", "original_txn_id"],
    )
    ds2 = ds.replace(transactions=pd.concat([t, extra], ignore_index=True))
    res = credit_transactions(ds2)
    # T3 was split 60/40 between A2 and A1: the 300 adjustment follows the split
    assert amount(res, txn_id="T10", rep_id="A2", level=0) == 180.0
    assert amount(res, txn_id="T10", rep_id="A1", level=0) == 120.0
    assert set(rows(res, txn_id="T10", level=0)["rule"].astype(object)) == {"adjustment"}


def test_cancellation_of_unknown_booking_is_reported(ds):
    t = ds.transactions
    extra = pd.DataFrame(
        [("T11", pd.Timestamp("2025-08-15"), "C2", "P1", -100.0, "cancellation", "NOPE")],
        columns=["txn_id", "date", "account_id", "product_id", "amount", "kind", "original_txn_id"],
    )
    res = credit_transactions(ds.replace(transactions=pd.concat([t, extra], ignore_index=True)))
    assert "missing_original" in set(res.issues["issue"])
    assert amount(res, txn_id="T11", rep_id="A2", rule="owner") == -100.0


def test_lazy_rollup_equals_materialised(ds, res):
    lazy = credit_transactions(ds, rollup="lazy")
    assert (lazy.credits["level"] == 0).all()
    a = res.totals("month", "rollup", by=("rep_id", "period", "measure", "source_rep_id"))
    b = lazy.totals("month", "rollup", by=("rep_id", "period", "measure", "source_rep_id"))
    pd.testing.assert_frame_equal(a, b)
    for lvl in (1, 2):
        want = res.totals("year", "rollup", max_level=lvl)
        pd.testing.assert_frame_equal(want, lazy.totals("year", "rollup", max_level=lvl))
    m2 = lazy.rollup_rows(["M2"])
    assert set(m2["rep_id"].astype(object)) == {"M2"}
    assert m2["cents"].sum() == res.rollup_rows(["M2"])["cents"].sum()
    assert len(lazy.for_rep("M1")) == len(res.for_rep("M1"))


def test_clawback_window_in_months():
    """T7 cancels half of T2 (booked 15 July, cancelled 10 September): one whole month stayed.
    A 3-month pro-rata window reverses (3 - 1) / 3 of the 3,000 = 2,000.00; a 1-month window
    ended on 15 August, so nothing is reversed."""
    ds = worked_example_dataset()
    pro = credit_transactions(ds, clawback=ClawbackPolicy(window_months=3, mode="pro_rata"))
    assert amount(pro, txn_id="T7", rep_id="A2", level=0) == -2000.0
    short = credit_transactions(ds, clawback=ClawbackPolicy(window_months=1))
    assert amount(short, txn_id="T7", rep_id="A2", level=0) == 0.0
    assert "within 3 months" in ClawbackPolicy(window_months=3, mode="pro_rata").describe()


@pytest.mark.parametrize(
    ("booked", "cancelled", "full", "pro_rata"),
    [
        ("2025-01-15", "2025-01-15", 1.0, 1.0),
        ("2025-01-15", "2025-07-14", 1.0, 7 / 12),  # 5 whole months stayed
        ("2025-01-15", "2025-07-15", 1.0, 0.5),  # 6 of 12: the published example's half
        ("2025-01-15", "2026-01-15", 1.0, 0.0),  # the window's last day
        ("2025-01-15", "2026-01-16", 0.0, 0.0),
        ("2025-01-31", "2025-02-28", 1.0, 11 / 12),  # a month from 31 January is 28 February
        ("2025-01-31", "2025-02-27", 1.0, 1.0),
    ],
)
def test_months_stayed_are_whole_calendar_months(booked, cancelled, full, pro_rata):
    b = pd.Timestamp(booked).to_datetime64().astype("datetime64[D]").astype("int64")
    e = (pd.Timestamp(cancelled) - pd.Timestamp(booked)).days
    got_full = ClawbackPolicy(window_months=12).factor([e], [b])[0]
    got_pro = ClawbackPolicy(window_months=12, mode="pro_rata").factor([e], [b])[0]
    assert got_full == full and got_pro == pytest.approx(pro_rata)


def test_a_plan_counts_its_clawback_window_in_days_or_months():
    from spm_model.calc.credit import clawback_policy
    from spm_model.plans import Plan, PlanError

    base = {
        "id": "p",
        "name": "p",
        "effective_from": "2025-01-01",
        "measures": {"sales": {}},
        "components": [{"type": "commission", "name": "c", "measure": "sales", "rate": 0.1}],
    }
    plan = Plan.from_dict({**base, "clawback": {"window_months": 12, "method": "pro_rata"}})
    assert clawback_policy(plan) == ClawbackPolicy(None, "pro_rata", 12)
    for bad in ({"method": "full"}, {"window_days": 90, "window_months": 3}):
        with pytest.raises(PlanError, match="exactly one of window_days or window_months"):
            Plan.from_dict({**base, "clawback": bad})


def test_lazy_and_materialised_rollups_label_a_cancellation_alike(ds):
    """A manager's roll-up of a cancelled deal is a cancellation in both forms (the lazy one
    labelled it with the reversed owner rule, so the manager's statement showed no clawback)."""
    lazy = credit_transactions(ds, rollup="lazy")
    mat = credit_transactions(ds, rollup=True)
    assert not lazy.rollup_materialised and mat.rollup_materialised
    cols = ["txn_id", "rep_id", "source_rep_id", "source_rule", "amount"]

    def norm(r):
        out = r[cols].astype({c: object for c in cols[:-1]})
        return out.sort_values(cols).reset_index(drop=True)

    a, b = norm(lazy.rollup_rows(["M1", "M2"])), norm(mat.rollup_rows(["M1", "M2"]))
    pd.testing.assert_frame_equal(a, b)
    t7 = a[(a["txn_id"] == "T7") & (a["rep_id"] == "M2")]
    assert len(t7) and set(t7["source_rule"]) == {"cancellation"}
