"""Payments the way a company pays: the generator pays with the statement engine, replay finds
exactly the planted errors (named by kind, recomputed to the cent) and reports timing apart."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from spm_model.calc import calculate
from spm_model.calc.payroll import (
    ERROR_KINDS,
    PLAN_TEMPLATES,
    generate_company,
    load_plan_set,
    pay_company,
    statement_pay,
)
from spm_model.calc.replay import classify_payment, closed_years, reconcile, replay, replay_many
from spm_model.data import load_dataset
from spm_model.data.synthetic import generate

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
TEMPLATES = ROOT / "templates" / "plans"
FLAT = [{"type": "commission", "name": "c", "measure": "sales", "rate": 0.10}]


def _cents(x: float) -> int:
    return round(float(x) * 100)


# -- the company's own check: every plan over every closed year ---------------------------
@pytest.fixture(scope="module")
def sample():
    if not SAMPLE.exists():
        pytest.skip("data/sample not generated")
    ds = load_dataset(SAMPLE)
    return ds, replay_many(load_plan_set(TEMPLATES), ds)


@pytest.fixture(scope="module")
def generated():
    ds = generate_company(n_reps=36, n_accounts=400, years=2, seed=97, plans=TEMPLATES)
    return ds, replay_many(load_plan_set(TEMPLATES), ds)


def _assert_exactly_the_planted_errors(ds, runs):
    truth = ds["truth_payment_errors"]
    assert len(truth) >= len(ERROR_KINDS)
    assert set(truth["error"]) == set(ERROR_KINDS)
    flagged = pd.concat([r.discrepancies for r in runs], ignore_index=True)
    keys = list(zip(flagged["rep_id"], flagged["period"], strict=True))
    # nothing flagged twice (each rep-period belongs to one plan and one year)
    assert len(set(keys)) == len(keys)
    assert sorted(keys) == sorted(zip(truth["rep_id"], truth["period"], strict=True))
    got = flagged.set_index(["rep_id", "period"])
    for t in truth.itertuples():
        row = got.loc[(t.rep_id, t.period)]
        assert _cents(row["recomputed"]) == _cents(t.correct_amount)  # the statement's payable
        assert _cents(row["paid"]) == _cents(t.paid_amount)
        assert row["kind"] == t.error


def _assert_timing_is_timing(ds, runs):
    timing = ds["truth_payment_timing"]
    assert len(timing) >= 2
    recon = pd.concat([r.reconciliation for r in runs], ignore_index=True)
    recon = recon.set_index(["rep_id", "period"])
    expected: dict[tuple[str, str], tuple[str, int]] = {}
    for t in timing.itertuples():
        later = "final_pay_run" if t.kind == "final_pay_run" else "includes_previous_period"
        expected[(t.rep_id, t.period)] = (t.kind, _cents(t.amount))
        expected[(t.rep_id, t.paid_period)] = (later, _cents(t.amount))
    seen = recon[recon["status"] == "timing"]
    # every timing row the replay reports is a planted timing case ...
    assert set(seen.index) <= set(expected)
    # ... and every planted case inside the replayed years is reported as timing, not an error
    inside = [k for k in expected if k in recon.index]
    assert inside, "no timing case inside the replayed years"
    for k in inside:
        row = recon.loc[k]
        assert row["status"] == "timing", (k, row.to_dict())
        assert (row["kind"], _cents(row["timing_amount"])) == expected[k]


def test_sample_replay_flags_exactly_the_planted_errors(sample):
    ds, runs = sample
    assert {r.calc.period for r in runs} == {"2024", "2025"}  # the closed years
    assert len(runs) == 14  # 7 plans x 2 years
    _assert_exactly_the_planted_errors(ds, runs)


def test_sample_timing_is_reported_as_timing(sample):
    ds, runs = sample
    _assert_timing_is_timing(ds, runs)
    kinds = set(pd.concat([r.timing for r in runs])["kind"])
    assert kinds == {"paid_next_period", "includes_previous_period", "final_pay_run"}


def test_generated_company_replay_flags_exactly_the_planted_errors(generated):
    ds, runs = generated
    assert ds.validate() == []
    assert runs and all(r.calc.period == "2025" for r in runs)  # 2024-10 .. 2026-09
    _assert_exactly_the_planted_errors(ds, runs)
    _assert_timing_is_timing(ds, runs)


def test_generated_payments_are_the_statements_apart_from_planted_cases(generated):
    ds, _ = generated
    st = statement_pay(ds, TEMPLATES)
    st = st[st["run_date"] <= ds.as_of]
    err, tim = ds["truth_payment_errors"], ds["truth_payment_timing"]
    planted = {
        *zip(err["rep_id"], err["period"], strict=True),
        *zip(tim["rep_id"], tim["period"], strict=True),
        *zip(tim["rep_id"], tim["paid_period"], strict=True),
    }
    paid = ds.payments.groupby(["rep_id", "period"])["amount"].sum()
    n = 0
    for r in st.itertuples():
        if (r.rep_id, r.period) in planted:
            continue
        assert _cents(paid.get((r.rep_id, r.period), 0.0)) == r.payable_cents, r
        n += 1
    assert n > 100


def test_payroll_leaves_every_other_table_as_the_generator_made_it():
    kw = {"n_reps": 24, "n_accounts": 200, "years": 2, "seed": 5}
    plain, paid = generate(**kw), generate_company(**kw)
    pay_tables = {"payments", "disputes", "truth_payment_errors", "truth_payment_timing"}
    assert set(paid.tables) - set(plain.tables) == {"truth_payment_timing", "truth_payment_errors"}
    assert plain.payments.empty and plain.disputes.empty
    for name, df in plain.tables.items():
        if name not in pay_tables:
            pd.testing.assert_frame_equal(df, paid[name])
    assert len(paid.payments) > 0


def test_packaged_templates_are_the_repository_templates():
    shipped = {p.name: p.read_bytes() for p in PLAN_TEMPLATES.glob("*.yaml")}
    repo = {p.name: p.read_bytes() for p in TEMPLATES.glob("*.yaml")}
    assert shipped == repo, "copy templates/plans/*.yaml to spm_model/templates/plans/"


def test_closed_years_of_the_sample_window():
    ds = generate(n_reps=12, n_accounts=50, years=3, seed=1)  # 2023-10-01 .. 2026-09-30
    plan = load_plan_set()["saas_ae"]
    assert closed_years(ds, plan) == [2024, 2025]


def test_unknown_plan_id_is_a_clear_error():
    from spm_model.errors import SpmConfigError

    ds = generate(n_reps=12, n_accounts=50, years=1, seed=1)
    plans = {k: v for k, v in load_plan_set().items() if k != "sdr"}
    with pytest.raises(SpmConfigError, match="no plan for plan_id 'sdr'"):
        pay_company(ds, plans)


# -- classification by hand ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("recomputed", "amounts", "expected"),
    [
        (1000.00, [1000.00], ("match", "")),
        (1000.00, [], ("not_paid", "")),
        (0.00, [250.00], ("unexpected_payment", "")),
        (1234.56, [1234.56, 1234.56], ("duplicate_payment", "duplicate_payment")),
        (1234.56, [1851.84], ("overpaid", "rate_typo")),  # x1.5, to the cent
        (1234.57, [617.29], ("underpaid", "rate_typo")),  # x0.5 = 617.285 -> 617.29 (half up)
        (1234.56, [1358.02], ("overpaid", "rate_typo")),  # x1.1 = 1358.016
        (1234.56, [234.56], ("underpaid", "underpaid_flat")),
        (1234.56, [3734.56], ("overpaid", "overpaid_flat")),
        (1234.56, [1200.00], ("underpaid", "")),
        (1234.56, [1234.56, 100.00], ("overpaid", "overpaid_flat")),  # an extra 100, not a dup
    ],
)
def test_classify_payment_by_hand(recomputed, amounts, expected):
    assert classify_payment(recomputed, amounts) == expected


# -- timing against errors on a one-rep company -------------------------------------------
SALES = [("2025-02-10", 10_000), ("2025-05-10", 20_000), ("2025-08-10", 30_000)]
# 10% commission: Q1 1,000.00, Q2 2,000.00, Q3 3,000.00, Q4 nothing


def _paid(ds, rows):
    pay = pd.DataFrame(
        [(f"P{i}", "A", p, a, pd.Timestamp(d)) for i, (p, a, d) in enumerate(rows)],
        columns=["payment_id", "rep_id", "period", "amount", "paid_date"],
    )
    return ds.replace(payments=pay)


def _status(res):
    r = res.reconciliation.set_index("period")
    return {p: (r.at[p, "status"], r.at[p, "kind"]) for p in r.index}


def test_a_late_payment_is_timing(company, make_plan):
    plan = make_plan(FLAT)
    ds = _paid(
        company(SALES),
        [
            ("2025-Q1", 600.00, "2025-04-15"),  # 400 of Q1 missed the cut-off ...
            ("2025-Q2", 400.00, "2025-07-15"),  # ... and came with Q2's run
            ("2025-Q2", 2000.00, "2025-07-15"),
            ("2025-Q3", 3000.00, "2025-10-15"),
        ],
    )
    res = replay(plan, ds, 2025)
    assert _status(res) == {
        "2025-Q1": ("timing", "paid_next_period"),
        "2025-Q2": ("timing", "includes_previous_period"),
        "2025-Q3": ("match", ""),
        "2025-Q4": ("match", ""),
    }
    assert res.discrepancies.empty
    assert res.timing["timing_amount"].tolist() == [400.0, 400.0]


def test_differences_that_do_not_offset_in_the_next_period_are_errors(company, make_plan):
    plan = make_plan(FLAT)
    # short 1,000 in Q1, over 1,000 in Q3: not neighbours, so not a late payment
    ds = _paid(
        company(SALES),
        [("2025-Q2", 2000.00, "2025-07-15"), ("2025-Q3", 4000.00, "2025-10-15")],
    )
    assert _status(replay(plan, ds, 2025)) == {
        "2025-Q1": ("not_paid", ""),
        "2025-Q2": ("match", ""),
        "2025-Q3": ("overpaid", "overpaid_flat"),
        "2025-Q4": ("match", ""),
    }
    # short 100 in Q1, over 150 in Q2: neighbours, but the amounts differ
    ds = _paid(
        company(SALES),
        [
            ("2025-Q1", 900.00, "2025-04-15"),
            ("2025-Q2", 2150.00, "2025-07-15"),
            ("2025-Q3", 3000.00, "2025-10-15"),
        ],
    )
    assert _status(replay(plan, ds, 2025)) == {
        "2025-Q1": ("underpaid", "underpaid_flat"),
        "2025-Q2": ("overpaid", ""),
        "2025-Q3": ("match", ""),
        "2025-Q4": ("match", ""),
    }


def test_a_final_pay_run_of_a_leaver_is_timing(company, make_plan):
    plan = make_plan(FLAT)
    sales = [("2025-02-10", 10_000), ("2025-05-10", 20_000), ("2025-07-05", 30_000)]
    # left on 10 July, before Q2's run on the 15th: the final-pay run on 17 July pays Q2 and Q3
    ds = _paid(
        company(sales, end="2025-07-10"),
        [("2025-Q1", 1000.00, "2025-04-15"), ("2025-Q3", 5000.00, "2025-07-17")],
    )
    res = replay(plan, ds, 2025)
    assert _status(res) == {
        "2025-Q1": ("match", ""),
        "2025-Q2": ("timing", "final_pay_run"),
        "2025-Q3": ("timing", "final_pay_run"),
    }


def test_timing_across_the_fiscal_year_edge(company, make_plan):
    plan = make_plan(FLAT)
    sales = [("2024-11-10", 5_000), *SALES]
    # Q4 2024's 500.00 was paid with the 2025-Q1 run; replaying 2025 alone must see it
    ds = _paid(
        company(sales),
        [
            ("2025-Q1", 500.00, "2025-04-15"),
            ("2025-Q1", 1000.00, "2025-04-15"),
            ("2025-Q2", 2000.00, "2025-07-15"),
            ("2025-Q3", 3000.00, "2025-10-15"),
        ],
    )
    res = replay(plan, ds, 2025)
    assert _status(res)["2025-Q1"] == ("timing", "includes_previous_period")
    assert res.discrepancies.empty
    # reconcile alone (no neighbouring year) cannot tell, and says so as an error
    alone = reconcile(calculate(plan, ds, "2025"), ds)
    assert alone.set_index("period").at["2025-Q1", "status"] == "overpaid"


def test_monthly_plan_reconciled_monthly_when_other_plans_pay_quarterly(company, make_plan):
    plan = make_plan(FLAT, measurement_period="month", pay_frequency="month")
    ds = company(
        [("2025-01-10", 10_000), ("2025-02-10", 20_000)], extra_reps=[("M", None, "quarterly")]
    )
    # the table opens with another plan's quarterly payment; A's pay is monthly
    ds = ds.replace(
        payments=pd.DataFrame(
            {
                "payment_id": ["P0", "P1", "P2"],
                "rep_id": ["M", "A", "A"],
                "period": ["2024-Q4", "2025-01", "2025-02"],
                "amount": [123.00, 1000.00, 2000.00],
                "paid_date": pd.to_datetime(["2025-01-15", "2025-02-15", "2025-03-15"]),
            }
        )
    )
    res = replay(plan, ds, 2025)
    assert set(res.reconciliation["period"]) == {f"2025-{m:02d}" for m in range(1, 13)}
    assert res.discrepancies.empty


def test_cli_replays_every_plan_over_every_closed_year(sample, tmp_path):
    from typer.testing import CliRunner

    from spm_model.cli import app

    ds, _ = sample
    truth = ds["truth_payment_errors"]
    r = CliRunner().invoke(
        app, ["replay", "--plan", str(TEMPLATES), "--data", str(SAMPLE), "--out", str(tmp_path)]
    )
    assert r.exit_code == 0, r.output
    assert f"\n{len(truth)} payment errors (largest {len(truth)}):" in r.output
    assert "timing rows (not errors)" in r.output
    written = pd.concat(
        [pd.read_csv(f) for f in sorted(tmp_path.glob("replay_*_*/discrepancies.csv"))]
    )
    assert len(list(tmp_path.glob("replay_*"))) == 14
    assert sorted(zip(written["rep_id"], written["period"], strict=True)) == sorted(
        zip(truth["rep_id"], truth["period"], strict=True)
    )


def test_cli_replay_skips_a_plan_in_a_year_nobody_was_on_it(tmp_path):
    """A folder of plans replays each plan over the closed years someone was on it; one plan
    file in a year without anyone on it is a one-line error."""
    import shutil

    from typer.testing import CliRunner

    from spm_model.cli import app

    data = tmp_path / "co"
    shutil.copytree(SAMPLE, data)
    reps = pd.read_csv(data / "reps.csv", dtype=str, keep_default_na=False)
    on = reps["plan_id"] == "field_rep"
    assert on.sum() >= 1
    reps.loc[on, "hire_date"] = "2025-02-01"  # nobody on field_rep in FY2024
    reps.to_csv(data / "reps.csv", index=False)
    r = CliRunner().invoke(app, ["replay", "--plan", str(TEMPLATES), "--data", str(data)])
    assert r.exit_code == 0, r.output
    assert "note: field_rep FY2024: no rep on the plan that year; skipped" in r.output
    assert "\nfield_rep FY2025: " in r.output and "\nsaas_ae FY2024: " in r.output
    one = ["--plan", str(TEMPLATES / "field_rep.yaml"), "--data", str(data), "--year", "2024"]
    r = CliRunner().invoke(app, ["replay", *one])
    assert r.exit_code == 1
    assert "no rep on plan 'field_rep' is employed in FY2024" in str(r.exception)


def test_an_open_year_lists_pay_not_yet_due_apart_from_errors(sample):
    # the sample ends 2026-09-30: 2026-Q3 is paid 2026-10-15, 2026-Q4 later still
    ds, _ = sample
    plans = load_plan_set(TEMPLATES)
    res = replay(plans["saas_ae"], ds, 2026, plans=plans)
    r = res.reconciliation
    due = r[r["status"] == "not_due"]
    assert len(due) > 0 and set(due["period"]) <= {"2026-Q3", "2026-Q4"}
    assert (due["paid"] == 0).all() and (due["recomputed"] > 0).all()
    assert not res.discrepancies["period"].isin(["2026-Q3", "2026-Q4"]).any()
    # a closed period with no payment stays an error
    assert "not_due" not in set(r.loc[r["period"] < "2026-Q3", "status"])
