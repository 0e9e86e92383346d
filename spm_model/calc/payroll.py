"""Pay a company the way it pays: exact statements per rep and pay period, then payroll.

The synthetic generator (:mod:`spm_model.data.synthetic`, bottom layer) knows no
plans, so it stops at quotas. :func:`pay_company` pays its reps here, one layer
up, with the exact statement engine:

1. every rep is paid on the plan they are on (``reps.plan_id``), for every pay
   period that ends inside the data and whose pay run is past, the statement's
   ``payable`` (draws, year-to-date true-ups, clawbacks and proration
   included), credited once with each rep's own clawback window
   (:func:`~spm_model.calc.credit_dataset`);
2. the regular pay run of a period is :data:`~spm_model.calc.replay.PAY_LAG_DAYS`
   days after it ends; a zero payable makes no payment;
3. **timing, not errors**: a few payments of a period are made in the next
   period's run (all of it, or a part that missed the cut-off), and every
   leaver is paid in a final-pay run a few days after leaving that settles
   every period whose regular run had not happened yet (recorded under the
   last period). Both are listed in ``truth_payment_timing``;
4. **errors**, planted in the closed fiscal years
   (:func:`~spm_model.calc.replay.closed_years`) and listed in
   ``truth_payment_errors`` with ``correct_amount`` = the statement's payable:
   a payment recorded twice, a flat under- or over-payment of a round amount,
   a rate typo (the payable times a mistyped rate factor). Each planted case
   sits on its own rep-period, with no other case on the same rep in the
   neighbouring pay periods, and is identifiable from the amounts alone
   (:func:`~spm_model.calc.replay.classify_payment` names it);
5. disputes are drawn from the payments (:func:`spm_model.data.synthetic.make_disputes`).

:func:`generate_company` is the generator with this step (``spm generate``).
The default plans are the templates shipped with the package
(``spm_model/templates/plans``, kept identical to ``templates/plans`` by a test).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from spm_model.calc.credit import credit_dataset
from spm_model.calc.engine import calculate_many
from spm_model.calc.replay import (
    PAY_LAG_DAYS,
    RATE_TYPO_FACTORS,
    classify_payment,
    closed_years,
)
from spm_model.data import synthetic
from spm_model.data.dataset import Dataset
from spm_model.data.periods import fiscal_year_of, period_labels
from spm_model.errors import SpmConfigError
from spm_model.plans import Plan, load_plan

PLAN_TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "plans"
"""Folder of the plan templates shipped with the package (a copy of ``templates/plans``)."""

ERROR_KINDS = ("duplicate_payment", "underpaid_flat", "overpaid_flat", "rate_typo")
"""Payment errors the payroll step plants, in the order it cycles through them."""

FLAT_AMOUNTS_CENTS = (50_000, 100_000, 250_000)
"""Flat under/over-payments the payroll step plants (500, 1,000 and 2,500 in the currency)."""

MIN_ERROR_CENTS = 10_000
"""Errors are planted on payments of at least this many cents (100.00)."""

TIMING_COLUMNS = ["rep_id", "period", "paid_period", "kind", "amount", "paid_date"]
"""Columns of ``truth_payment_timing``: pay of ``period`` paid under ``paid_period``."""

ERROR_COLUMNS = ["rep_id", "period", "error", "correct_amount", "paid_amount"]
"""Columns of ``truth_payment_errors`` (amounts in currency)."""


def load_plan_set(
    plans: Mapping[str, Plan] | Iterable[Plan] | str | os.PathLike[str] | None = None,
) -> dict[str, Plan]:
    """Return the company's plans keyed by plan id.

    Parameters
    ----------
    plans : mapping, iterable of Plan, folder or None
        Plans, or a folder of ``*.yaml`` plan files; ``None``: the templates
        shipped with the package (:data:`PLAN_TEMPLATES`).

    Returns
    -------
    dict of str to Plan
    """
    if plans is None or isinstance(plans, str | os.PathLike):
        folder = PLAN_TEMPLATES if plans is None else Path(plans)
        files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
        if not files:
            raise SpmConfigError(f"no plan files (*.yaml) in {folder}")
        items: list[Plan] = [load_plan(f) for f in files]
    else:
        items = list(plans.values() if isinstance(plans, Mapping) else plans)
    out: dict[str, Plan] = {}
    for p in items:
        if p.id in out:
            raise SpmConfigError(f"two plans with id {p.id!r}")
        out[p.id] = p
    return out


def statement_pay(
    ds: Dataset,
    plans: Mapping[str, Plan] | Iterable[Plan] | str | os.PathLike[str] | None = None,
    *,
    pay_lag_days: int = PAY_LAG_DAYS,
) -> pd.DataFrame:
    """Return what the statements pay every rep for every pay period overlapping the data.

    Parameters
    ----------
    ds : Dataset
        Company data (its window is ``meta.start_date`` .. ``meta.end_date``).
    plans : mapping, iterable of Plan, folder or None
        The company's plans (see :func:`load_plan_set`); every ``reps.plan_id``
        must be among them.
    pay_lag_days : int
        Days after a pay period's end on which its regular pay run is made.

    Returns
    -------
    DataFrame
        One row per rep and pay period with a statement: ``rep_id``,
        ``plan_id``, ``period`` (pay period label), ``start``, ``end`` (dates),
        ``run_date`` (regular pay run), ``payable_cents`` (int, the statement's
        payable in cents of the currency), ``fiscal_year``; ordered by period
        end, then rep.
    """
    plan_map = load_plan_set(plans)
    reps = ds.reps
    missing = sorted(set(reps["plan_id"].dropna().astype(object)) - set(plan_map))
    if missing:
        raise SpmConfigError(
            f"no plan for plan_id {', '.join(map(repr, missing))} of {ds.source}; "
            f"plans given: {', '.join(sorted(plan_map))}"
        )
    used = [p for p in plan_map.values() if p.id in set(reps["plan_id"].astype(object))]
    start, end = _window(ds)
    credits = credit_dataset(ds, plan_map)
    lo = min(fiscal_year_of(start, p.fy_start_month) for p in used)
    hi = max(fiscal_year_of(end, p.fy_start_month) for p in used)
    rows = []
    for year in range(lo, hi + 1):
        for res in calculate_many(used, ds, str(year), credits=credits):
            plan = res.plan
            s = res.summary[res.summary["pay_period_end"]]
            if s.empty:
                continue
            spans = {p.label: p for p in res.periods}
            order = [p.label for p in res.periods]
            k = plan.periods_per_pay
            for r, label, payable in zip(s["rep_id"], s["period"], s["payable"], strict=True):
                i = order.index(label)
                p_end = spans[label].end
                p_start = res.periods[max(0, i - k + 1)].start
                rows.append(
                    (
                        str(r),
                        plan.id,
                        str(
                            period_labels(
                                pd.DatetimeIndex([p_end]), plan.pay_frequency, plan.fy_start_month
                            )[0]
                        ),
                        p_start,
                        p_end,
                        p_end + timedelta(days=pay_lag_days),
                        round(Decimal(repr(float(payable))) * 100),
                        spans[label].fiscal_year,
                    )
                )
    out = pd.DataFrame(
        rows,
        columns=[
            "rep_id",
            "plan_id",
            "period",
            "start",
            "end",
            "run_date",
            "payable_cents",
            "fiscal_year",
        ],
    )
    out = out[(out["end"] >= start) & (out["start"] <= end)]
    out["payable_cents"] = out["payable_cents"].astype(np.int64)
    return out.sort_values(["end", "rep_id"], kind="stable").reset_index(drop=True)


def _window(ds: Dataset) -> tuple[dt.date, dt.date]:
    end = ds.as_of
    start = ds.meta.start_date
    if start is None:
        d = ds.transactions["date"]
        if not len(d):
            raise SpmConfigError(f"{ds.source} declares no start_date and has no transactions")
        start = pd.Timestamp(d.min()).date()
    return start, end


def pay_company(
    ds: Dataset,
    plans: Mapping[str, Plan] | Iterable[Plan] | str | os.PathLike[str] | None = None,
    *,
    seed: int | None = None,
    error_rate: float = 0.02,
    late_rate: float = 0.02,
    pay_lag_days: int = PAY_LAG_DAYS,
) -> Dataset:
    """Pay every rep with the exact statement engine, then plant payroll timing and errors.

    Parameters
    ----------
    ds : Dataset
        Company data without payments (e.g. :func:`spm_model.data.synthetic.generate`).
    plans : mapping, iterable of Plan, folder or None
        The company's plans (default: the templates shipped with the package).
    seed : int, optional
        Seed of the planted timing and errors (default ``ds.meta.seed``, else 0);
        the payroll step draws from stream :data:`~spm_model.data.synthetic.PAY_STREAM`
        and the disputes from :data:`~spm_model.data.synthetic.DISPUTE_STREAM`
        of it, so the other tables' streams are untouched.
    error_rate : float
        Share of the closed fiscal years' eligible payments given an error
        (at least one of each kind in :data:`ERROR_KINDS` when there are enough).
    late_rate : float
        Share of regular payments (at least two) paid in the next period's run.
    pay_lag_days : int
        Days after a pay period's end on which its regular run is made.

    Returns
    -------
    Dataset
        ``ds`` with ``payments`` (amounts in currency, to the cent), ``disputes``,
        ``truth_payment_errors`` and ``truth_payment_timing`` replaced.
    """
    if not 0 <= error_rate <= 1 or not 0 <= late_rate <= 1:
        raise SpmConfigError(
            f"error_rate and late_rate must be in [0, 1], got {error_rate}, {late_rate}"
        )
    plan_map = load_plan_set(plans)
    if seed is None:
        seed = ds.meta.seed if ds.meta.seed is not None else 0
    rng = synthetic.random_stream(seed, synthetic.PAY_STREAM)
    start, end = _window(ds)
    st = statement_pay(ds, plan_map, pay_lag_days=pay_lag_days)
    st = st.reset_index(drop=True)
    # position of each pay period in its rep's sequence (neighbours for exclusions)
    st["pos"] = st.groupby("rep_id").cumcount()
    left = ds.reps.set_index(ds.reps["rep_id"].astype(object))["end_date"]
    left_day = {r: pd.Timestamp(d).date() for r, d in left.items() if not pd.isna(d)}

    payments: list[tuple] = []  # rep_id, period, cents, paid_date, seq
    timing: list[tuple] = []
    blocked: set[tuple[str, int]] = set()

    def block(rep: str, pos: int, before: int, after: int) -> None:
        for q in range(pos - before, pos + after + 1):
            blocked.add((rep, q))

    # 1. leavers: final-pay run settles every period whose regular run comes after leaving
    final_rows: set[int] = set()
    for rep, day in sorted(left_day.items()):
        if not start <= day <= end:
            continue
        mine = st[(st["rep_id"] == rep) & (st["start"] <= day) & (st["run_date"] > day)]
        if mine.empty:
            continue
        paid_on = day + timedelta(days=int(rng.integers(3, 11)))
        if paid_on > end:
            continue
        final_rows |= set(mine.index)
        last = mine.iloc[-1]
        total = int(mine["payable_cents"].sum())
        if total != 0:
            payments.append((rep, last["period"], total, paid_on, len(payments)))
        for _, row in mine.iloc[:-1].iterrows():
            if row["payable_cents"] != 0:
                timing.append(
                    (
                        rep,
                        row["period"],
                        last["period"],
                        "final_pay_run",
                        row["payable_cents"],
                        paid_on,
                    )
                )
        for pos in mine["pos"]:
            block(rep, int(pos), 1, 1)

    # 2. regular runs
    regular = st[(~st.index.isin(final_rows)) & (st["run_date"] <= end)]
    paid_rows = regular[regular["payable_cents"] != 0]
    amounts = {int(i): int(c) for i, c in paid_rows["payable_cents"].items()}

    # 3. late payments: moved (all or part) to the next period's run
    nxt = {
        (r, int(p)): int(i)
        for i, r, p in zip(regular.index, regular["rep_id"], regular["pos"], strict=True)
    }
    cands = [
        int(i)
        for i, r, p, c in zip(
            paid_rows.index,
            paid_rows["rep_id"],
            paid_rows["pos"],
            paid_rows["payable_cents"],
            strict=True,
        )
        if c > 0 and (r, int(p) + 1) in nxt
    ]
    n_late = min(len(cands), max(2, round(late_rate * len(paid_rows))))
    moved: dict[int, int] = {}  # row -> cents moved to the next run
    for i in rng.permutation(cands):
        if len(moved) >= n_late:
            break
        rep, pos = st.at[i, "rep_id"], int(st.at[i, "pos"])
        if (rep, pos) in blocked or (rep, pos + 1) in blocked:
            continue
        c = amounts[int(i)]
        part = c if rng.random() < 0.5 else round(c * rng.uniform(0.2, 0.6))
        if part <= 0:
            continue
        moved[int(i)] = part
        block(rep, pos, 1, 2)

    # 4. errors, in the closed fiscal years of each plan
    closed = {pid: set(closed_years(ds, p, pay_lag_days)) for pid, p in plan_map.items()}
    eligible = [
        int(i)
        for i, r, pid, fy, c in zip(
            paid_rows.index,
            paid_rows["rep_id"],
            paid_rows["plan_id"],
            paid_rows["fiscal_year"],
            paid_rows["payable_cents"],
            strict=True,
        )
        if fy in closed[pid] and c >= MIN_ERROR_CENTS and int(i) not in moved
    ]
    n_err = min(len(eligible), max(len(ERROR_KINDS), round(error_rate * len(eligible))))
    errors: dict[int, tuple[str, list[int]]] = {}  # row -> (kind, payments recorded)
    for i in rng.permutation(eligible):
        if len(errors) >= n_err:
            break
        rep, pos = st.at[i, "rep_id"], int(st.at[i, "pos"])
        if (rep, pos) in blocked:
            continue
        kind = ERROR_KINDS[len(errors) % len(ERROR_KINDS)]
        recorded = _plant(kind, amounts[int(i)], rng)
        if recorded is None:
            continue
        errors[int(i)] = (kind, recorded)
        block(rep, pos, 1, 1)

    # assemble the regular runs
    for i, row in paid_rows.iterrows():
        i = int(i)
        rep, period, run = row["rep_id"], row["period"], row["run_date"]
        c = amounts[i]
        if i in errors:
            for amt in errors[i][1]:
                payments.append((rep, period, amt, run, len(payments)))
            continue
        part = moved.get(i, 0)
        if c - part:
            payments.append((rep, period, c - part, run, len(payments)))
        if part:
            j = nxt[(rep, int(row["pos"]) + 1)]
            later = st.loc[j]
            payments.append((rep, later["period"], part, later["run_date"], len(payments)))
            timing.append(
                (rep, period, later["period"], "paid_next_period", part, later["run_date"])
            )

    pay = pd.DataFrame(payments, columns=["rep_id", "period", "cents", "paid_date", "seq"])
    pay["paid_date"] = pd.to_datetime(pay["paid_date"])
    pay = pay.sort_values(["paid_date", "rep_id", "seq"], kind="stable").reset_index(drop=True)
    pay_table = pd.DataFrame(
        {
            "payment_id": _payment_ids(len(pay)),
            "rep_id": pay["rep_id"].to_numpy(dtype=object),
            "period": pay["period"].to_numpy(dtype=object),
            "amount": pay["cents"].to_numpy(dtype=np.int64) / 100,
            "paid_date": pay["paid_date"].to_numpy(),
        }
    )
    err = pd.DataFrame(
        [
            (
                st.at[i, "rep_id"],
                st.at[i, "period"],
                kind,
                amounts[i] / 100,
                sum(rec) / 100,
            )
            for i, (kind, rec) in errors.items()
        ],
        columns=ERROR_COLUMNS,
    )
    err = err.sort_values(["period", "rep_id"]).reset_index(drop=True)
    tim = pd.DataFrame(timing, columns=TIMING_COLUMNS)
    tim["amount"] = tim["amount"].astype(np.int64) / 100
    tim["paid_date"] = pd.to_datetime(tim["paid_date"])
    tim = tim.sort_values(["period", "rep_id"], kind="stable").reset_index(drop=True)
    disputes = synthetic.make_disputes(
        pay_table, err, end, synthetic.random_stream(seed, synthetic.DISPUTE_STREAM)
    )
    return ds.replace(
        payments=pay_table,
        disputes=disputes,
        truth_payment_errors=err,
        truth_payment_timing=tim,
    )


def _payment_ids(n: int) -> np.ndarray:
    """Payment identifiers ``PAY0001``... (as the generator numbers its tables)."""
    width = max(4, len(str(n)))
    return np.array([f"PAY{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


def _plant(kind: str, cents: int, rng: np.random.Generator) -> list[int] | None:
    """Payments recorded for a payable of ``cents`` under error ``kind``, or None if unidentifiable.

    The planted amounts must be named ``kind`` by
    :func:`~spm_model.calc.replay.classify_payment` (a flat error of 500 on a
    payable of 1,000 would read as a rate typo x0.5, for instance).
    """
    if kind == "duplicate_payment":
        recorded = [cents, cents]
    elif kind in ("underpaid_flat", "overpaid_flat"):
        sign = -1 if kind == "underpaid_flat" else 1
        options = [f for f in FLAT_AMOUNTS_CENTS if cents + sign * f > 0]
        if not options:
            return None
        recorded = [cents + sign * int(rng.choice(options))]
    else:
        f = RATE_TYPO_FACTORS[int(rng.integers(len(RATE_TYPO_FACTORS)))]
        recorded = [int((Decimal(cents) * f).to_integral_value(rounding=ROUND_HALF_UP))]
    _, named = classify_payment(cents / 100, [c / 100 for c in recorded])
    return recorded if named == kind else None


def generate_company(
    n_reps: int = 60,
    n_accounts: int = 3000,
    years: int = 3,
    seed: int = 0,
    end_date: dt.date | str = dt.date(2026, 9, 30),
    currency: str = "USD",
    name: str = "Northwind Analytics",
    *,
    plans: Mapping[str, Plan] | Iterable[Plan] | str | os.PathLike[str] | None = None,
) -> Dataset:
    """Generate a synthetic sales organisation and pay it with its plans.

    :func:`spm_model.data.synthetic.generate` followed by :func:`pay_company`
    (what ``spm generate`` and ``make sample`` run).

    Parameters
    ----------
    n_reps, n_accounts, years, seed, end_date, currency, name
        As :func:`spm_model.data.synthetic.generate`.
    plans : mapping, iterable of Plan, folder or None
        Plans the reps are paid on, by ``reps.plan_id`` (default: the templates
        shipped with the package).

    Returns
    -------
    Dataset
        Every canonical table, ``payments`` equal to the exact statements'
        payable except the planted timing and errors (``truth_payment_timing``,
        ``truth_payment_errors``), and the other ``truth_*`` tables.
    """
    ds = synthetic.generate(
        n_reps=n_reps,
        n_accounts=n_accounts,
        years=years,
        seed=seed,
        end_date=end_date,
        currency=currency,
        name=name,
    )
    return pay_company(ds, plans, seed=seed)
