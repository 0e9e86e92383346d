"""One truth for credit and pay: every figure a person sees equals the statement, to the cent.

Run on the bundled sample company and on a freshly generated company with another seed and
size, for the last closed quarter: for every rep with a statement, the leaderboard's payout at
period end equals the statement's payable (every plan and role, managers included), and the
as-of estimate on the period's last day equals the statement.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spm_model.calc import as_of, calculate_many, credit_dataset, payable
from spm_model.data import load_dataset, parse_period
from spm_model.data.synthetic import generate
from spm_model.performance import PerformanceData, estimated_payouts, load_plans, scorecards

ROOT = Path(__file__).resolve().parents[1]
PLANS = ROOT / "templates" / "plans"


def _last_closed_quarter(ds) -> str:
    end = pd.Timestamp(ds.as_of)
    sp = parse_period(str(pd.Period(end, "Q")).replace("Q", "-Q"), ds.meta.fy_start_month)
    if pd.Timestamp(sp.end) > end:
        sp = parse_period(
            str(pd.Period(end - pd.offsets.QuarterEnd(1), "Q")).replace("Q", "-Q"),
            ds.meta.fy_start_month,
        )
    return sp.label


@pytest.fixture(scope="module", params=["sample", "generated"])
def company(request):
    if request.param == "sample":
        ds = load_dataset(ROOT / "data" / "sample")
    else:
        ds = generate(n_reps=45, n_accounts=1500, years=2, seed=7, end_date="2025-12-31")
    plans = load_plans(PLANS)
    credits = credit_dataset(ds, plans)
    return request.param, ds, plans, credits


def _statements(ds, plans, credits, period):
    res = calculate_many(list(plans.values()), ds, period, credits=credits)
    pay = pd.concat([payable(r) for r in res])
    assert not pay.index.duplicated().any()
    roles = pd.concat([r.summary[["rep_id", "role", "plan_id"]] for r in res]).drop_duplicates(
        "rep_id"
    )
    return pay, roles.set_index("rep_id")


def test_leaderboard_payout_equals_the_statement_for_every_rep(company):
    name, ds, plans, credits = company
    period = _last_closed_quarter(ds)
    pay, roles = _statements(ds, plans, credits, period)
    pdata = PerformanceData(ds, credits, plans)
    card = scorecards(pdata, period, as_of=parse_period(period, 1).end)
    board = estimated_payouts(pdata, card).set_index("rep_id")["payout_now"]
    with_statement = [r for r in card["rep_id"] if r in pay.index]
    assert len(with_statement) >= 0.8 * len(card), (name, len(with_statement), len(card))
    got = board.reindex(with_statement).to_numpy()
    want = pay.reindex(with_statement).to_numpy()
    bad = np.flatnonzero(np.abs(got - want) > 0.004)
    assert not len(bad), [(with_statement[i], got[i], want[i]) for i in bad[:10]]
    # every plan and role with a statement is in the comparison, managers included
    assert set(roles.loc[with_statement, "plan_id"]) == set(roles["plan_id"])
    assert "MANAGER" in set(roles.loc[with_statement, "role"])


def test_estimate_on_the_last_day_equals_the_statement(company):
    _, ds, plans, credits = company
    period = _last_closed_quarter(ds)
    pay, _ = _statements(ds, plans, credits, period)
    for plan in plans.values():
        try:
            res = as_of(plan, ds, parse_period(period, 1).end, period=period, credits=credits)
        except Exception as exc:  # a plan nobody is on in this company
            assert "no rep" in str(exc), exc
            continue
        p = payable(res)
        np.testing.assert_array_equal(p.to_numpy(), pay.reindex(p.index).to_numpy())


def test_managers_are_measured_on_their_whole_team(company):
    """A manager's scorecard bookings are the roll-up their statement credits (every level)."""
    _, ds, plans, credits = company
    period = _last_closed_quarter(ds)
    sp = parse_period(period, ds.meta.fy_start_month)
    pdata = PerformanceData(ds, credits, plans)
    acts = pdata.actuals(pd.Timestamp(sp.start), pd.Timestamp(sp.end)).set_index(
        ["rep_id", "measure"]
    )["actual"]
    mgrs = [r for r in pdata.rollup if r in set(ds.reps["rep_id"])]
    assert mgrs
    roll = credits.totals(
        basis="rollup", start=sp.start, end=sp.end, by=("rep_id", "measure")
    ).set_index(["rep_id", "measure"])["amount"]
    checked = 0
    for m in mgrs:
        for meas in pdata.rollup[m]:
            if (m, meas) in roll.index:
                assert acts.get((m, meas), 0.0) == pytest.approx(roll[(m, meas)], abs=0.005)
                checked += 1
    assert checked


def test_one_plan_file_and_the_plan_folder_pay_the_same(tmp_path):
    """`spm calc --plan sales_manager.yaml` credits the company as the folder run does (each
    seller's own clawback window under the manager's roll-up), so the statements agree."""
    from typer.testing import CliRunner

    from spm_model.cli import app

    sample = ROOT / "data" / "sample"

    def line(args: list[str], plan_id: str) -> str:
        r = CliRunner().invoke(
            app,
            [
                "calc",
                *args,
                "--data",
                str(sample),
                "--period",
                "2026-Q1",
                "--out",
                str(tmp_path / plan_id),
                "--formats",
                "csv",
            ],
        )
        assert r.exit_code == 0, r.output
        return next(x for x in r.output.splitlines() if x.startswith(f"{plan_id} 2026-Q1"))

    one = line(["--plan", str(PLANS / "sales_manager.yaml")], "sales_manager")
    folder = line(["--plan", str(PLANS)], "sales_manager")
    assert one.split("->")[0] == folder.split("->")[0]
