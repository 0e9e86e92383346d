"""The monthly panel as the selling view of crediting, on a hand-made company."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spm_model.data import Dataset, DatasetMeta
from spm_model.errors import SpmDataError
from spm_model.forecast import check_panel, monthly_bookings


def _d(*v):
    return pd.Series(pd.to_datetime(list(v)), dtype="datetime64[ns]")


def company() -> Dataset:
    reps = pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3", "M1"],
            "name": ["a", "b", "c", "m"],
            "role": ["AE", "AE", "AE", "MANAGER"],
            "region": ["West", "West", "East", "West"],
            "team": ["T1", "T1", "T2", "T1"],
            "manager_id": ["M1", "M1", "M1", None],
            "hire_date": _d("2020-01-01", "2024-03-10", "2019-05-01", "2015-01-01"),
            "end_date": _d(None, None, "2024-04-15", None),
            "plan_id": ["AE"] * 3 + ["MGR"],
            "base_salary": [1.0] * 4,
            "ote": [2.0] * 4,
            "fte": [1.0] * 4,
            "home_lat": [None] * 4,
            "home_lon": [None] * 4,
        }
    )
    assignments = pd.DataFrame(
        {
            "account_id": ["A1", "A1", "A2", "A3"],
            "rep_id": ["R1", "R2", "R3", "R1"],
            "role": ["owner", "owner", "owner", "overlay"],
            "start_date": _d("2023-01-01", "2024-03-16", "2023-01-01", "2023-01-01"),
            "end_date": _d("2024-03-15", None, "2024-04-15", None),
        }
    )
    products = pd.DataFrame(
        {
            "product_id": ["P1", "P2"],
            "name": ["x", "y"],
            "family": ["f", "g"],
            "measure": ["new_business", "renewal"],
        }
    )
    tx = pd.DataFrame(
        {
            "txn_id": [f"T{i}" for i in range(1, 9)],
            "date": _d(
                "2024-01-10",
                "2024-01-20",
                "2024-02-05",
                "2024-03-15",
                "2024-03-16",
                "2024-03-20",
                "2024-04-01",
                "2024-04-10",
            ),
            "account_id": ["A1", "A1", "A1", "A1", "A1", "A2", "A2", "A3"],
            "product_id": ["P1", "P2", "P1", "P1", "P1", "P1", "P1", "P1"],
            "amount": [1000.0, 500.0, 300.0, 200.0, 700.0, 400.0, -900.0, 50.0],
            "kind": ["booking"] * 6 + ["cancellation", "booking"],
            "original_txn_id": [None] * 6 + ["T6", None],
        }
    )
    meta = DatasetMeta(name="t", start_date="2024-01-01", end_date="2024-04-30")
    return Dataset(
        {"reps": reps, "assignments": assignments, "products": products, "transactions": tx}, meta
    )


def _panel_map(p: pd.DataFrame) -> dict[tuple[str, str], float]:
    return {(r, f"{m:%Y-%m}"): b for r, m, b in zip(p.rep_id, p.month, p.bookings, strict=True)}


def test_panel_follows_the_owner_on_the_transaction_date():
    got = _panel_map(monthly_bookings(company()))
    assert got[("R1", "2024-03")] == 200.0  # T4 on the last day of R1's ownership (inclusive)
    assert got[("R2", "2024-03")] == 700.0  # T5 on the first day of R2's
    assert got[("R3", "2024-03")] == 400.0
    assert got[("R1", "2024-04")] == 0.0  # R1's overlay credit on T8 is not selling credit
    assert monthly_bookings(company()).attrs["unattributed_transactions"] == 1  # T8: no owner


def _with_split_exception_and_late_cancellation() -> Dataset:
    ds = company()
    t = {k: ds[k].copy() for k in ("reps", "assignments", "products", "transactions")}
    t["splits"] = pd.DataFrame(
        {
            "txn_id": ["T5", "T5"],
            "rep_id": ["R2", "R1"],
            "share": [0.6, 0.4],
            "reason": ["team"] * 2,
        }
    )
    t["credit_exceptions"] = pd.DataFrame(
        {
            "exception_id": ["E1"],
            "txn_id": ["T1"],
            "rep_id": ["R3"],
            "amount": [250.0],
            "reason": ["dispute"],
            "approved_by": ["M1"],
        }
    )
    # R2 owns A1 from 2024-03-16: cancelling R1's January booking T1 there still reverses R1
    late = pd.DataFrame(
        {
            "txn_id": ["T9"],
            "date": _d("2024-04-20"),
            "account_id": ["A1"],
            "product_id": ["P1"],
            "amount": [-400.0],
            "kind": ["cancellation"],
            "original_txn_id": ["T1"],
        }
    )
    t["transactions"] = pd.concat([t["transactions"], late], ignore_index=True)
    return Dataset(t, ds.meta)


def test_panel_is_the_owner_and_split_view_of_crediting():
    from spm_model.calc import credit_dataset

    ds = _with_split_exception_and_late_cancellation()
    credits = credit_dataset(ds)
    p = monthly_bookings(ds, credits=credits)
    got = _panel_map(p)
    assert got[("R1", "2024-03")] == 200.0 + 0.4 * 700.0  # split share of T5
    assert got[("R2", "2024-03")] == 0.6 * 700.0
    assert got[("R3", "2024-01")] == 0.0  # the exception is pay, not selling
    assert got[("R1", "2024-04")] == 0.0  # -400 reverses R1 (net negative: a zero month)
    assert got[("R2", "2024-04")] == 0.0  # not the owner on the cancellation date
    assert p.attrs["negative_months"] == 2
    # the same view read straight from the credit rows, for every rep and month
    c = credits.direct
    eff = credits.effective_rule(c)
    sel = c[eff.isin(["owner", "split"]).to_numpy()]
    want = sel.groupby([sel["rep_id"].astype(str), sel["date"].dt.strftime("%Y-%m")])["cents"].sum()
    for (rep, month), cents in want.items():
        assert got.get((rep, month), 0.0) == max(cents, 0) / 100.0
    assert sum(got.values()) == sum(max(v, 0) for v in want.to_numpy()) / 100.0


def test_monthly_panel_nets_cancellations_and_respects_employment():
    p = monthly_bookings(company())
    got = _panel_map(p)
    assert got[("R1", "2024-01")] == 1500.0
    assert got[("R1", "2024-03")] == 200.0
    assert got[("R1", "2024-04")] == 0.0  # employed, no bookings: a zero row
    assert got[("R2", "2024-03")] == 700.0  # hire month present
    assert ("R2", "2024-02") not in got  # before hire: no row
    assert got[("R3", "2024-04")] == 0.0  # net -900 clipped to zero, month of leaving kept
    assert p.attrs["negative_months"] == 1
    assert "M1" not in set(p.rep_id)  # owns no account
    assert set(p.columns) >= {"team", "region", "hire_date", "end_date"}


def test_measure_filter_and_cutoff():
    p = monthly_bookings(company(), measure="new_business", cutoff="2024-02")
    r1 = p[p.rep_id == "R1"].set_index("month")["bookings"]
    assert r1.iloc[0] == 1000.0  # the renewal T2 is left out
    assert p.month.max() == pd.Timestamp("2024-02-01")
    with pytest.raises(SpmDataError, match="no product credits measure 'services'"):
        monthly_bookings(company(), measure="services")
    with pytest.raises(SpmDataError, match="after the last complete month"):
        monthly_bookings(company(), cutoff="2024-06")


def test_check_panel_reports_every_problem_at_once():
    bad = pd.DataFrame(
        {
            "rep_id": ["a", "a", "b"],
            "month": ["2024-01", "2024-01", "nonsense"],
            "bookings": [1.0, -2.0, 3.0],
        }
    )
    with pytest.raises(SpmDataError) as exc:
        check_panel(bad)
    msg = str(exc.value)
    assert "row 4" in msg and "not a date" in msg
    assert "row 3" in msg and "bookings" in msg
    assert "duplicate" in msg
    with pytest.raises(SpmDataError, match="required column is missing"):
        check_panel(pd.DataFrame({"rep_id": ["a"]}))


def test_check_panel_fills_defaults():
    p = check_panel(
        pd.DataFrame({"rep_id": [1, 1], "month": ["2024-01-15", "2024-02-03"], "bookings": [1, 0]})
    )
    assert list(p.team) == ["all", "all"]
    assert p.month.iloc[0] == pd.Timestamp("2024-01-01")
    assert p.hire_date.iloc[0] < pd.Timestamp("2015-01-01")
    assert p.end_date.isna().all()
    assert p.rep_id.iloc[0] == "1"
    assert np.issubdtype(p.bookings.dtype, np.floating)
