"""Benchmark: crediting + exact calculation for 10,000 reps, 12 months, 2 million transactions.

Target (issue 3): under 60 s on 2 cores for crediting plus the exact calculation
of every rep's statements over a fiscal year.

The company is built directly with numpy (the full synthetic generator makes
opportunities, activities and ground truth too, which is not what is measured
here): 10,000 reps in a 4-level hierarchy (VP > regional > first-line managers
> individual contributors), 200,000 accounts with owner assignments (10% change
owner mid-year), overlays on 5% of accounts, 2,000,000 transactions over one
year (3% cancelled, 0.5% adjusted, 2% split, 0.3% re-credited by an exception),
quarterly quotas. Individual contributors are paid on the SaaS AE template
(quarterly, accelerators, caps, draws, clawback window), first-line managers on
the sales-manager template (cumulative, team roll-up).

Usage::

    python benchmarks/bench_calc.py [--reps 10000] [--txns 2000000] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spm_model.data.dataset import Dataset, DatasetMeta  # noqa: E402


def build_company(
    n_reps: int = 10_000, n_accounts: int = 200_000, n_txn: int = 2_000_000, seed: int = 1
) -> Dataset:
    """A large synthetic company for the benchmark (one fiscal year, 2025)."""
    rng = np.random.default_rng(seed)
    # hierarchy: 1 VP, regional managers, first-line managers (8 reps each), ICs
    n_flm = max(1, n_reps // 9)
    n_reg = max(1, n_flm // 10)
    n_ic = n_reps - 1 - n_reg - n_flm
    ids = np.array([f"R{i:06d}" for i in range(n_reps)], dtype=object)
    role = np.array(["MANAGER"] * (1 + n_reg + n_flm) + ["AE"] * n_ic, dtype=object)
    mgr = np.empty(n_reps, dtype=object)
    mgr[0] = None
    mgr[1 : 1 + n_reg] = ids[0]
    flm = np.arange(1 + n_reg, 1 + n_reg + n_flm)
    mgr[flm] = ids[1 + rng.integers(0, n_reg, n_flm)]
    ic = np.arange(1 + n_reg + n_flm, n_reps)
    mgr[ic] = ids[flm[np.arange(n_ic) % n_flm]]
    plan = np.where(
        np.isin(np.arange(n_reps), flm), "sales_manager", np.where(role == "AE", "saas_ae", None)
    )
    hire = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 2000, n_reps), unit="D")
    hire = hire.where(
        rng.random(n_reps) > 0.08,
        pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 300, n_reps), unit="D"),
    )
    ote = np.round(rng.normal(180_000, 20_000, n_reps), -3)
    reps = pd.DataFrame(
        {
            "rep_id": ids,
            "name": ids,
            "role": role,
            "region": "R" + (np.arange(n_reps) % 12).astype(str),
            "team": "T" + (np.arange(n_reps) % 1000).astype(str),
            "manager_id": mgr,
            "hire_date": hire,
            "end_date": pd.NaT,
            "plan_id": plan,
            "base_salary": ote / 2,
            "ote": ote,
            "fte": 1.0,
            "home_lat": np.nan,
            "home_lon": np.nan,
        }
    )
    acc = np.array([f"C{i:07d}" for i in range(n_accounts)], dtype=object)
    owner = ic[rng.integers(0, n_ic, n_accounts)]
    change = rng.random(n_accounts) < 0.10
    cut = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(30, 330, n_accounts), unit="D")
    new_owner = ic[rng.integers(0, n_ic, n_accounts)]
    a1 = pd.DataFrame(
        {
            "account_id": acc,
            "rep_id": ids[owner],
            "role": "owner",
            "product_family": None,
            "start_date": pd.Timestamp("2019-01-01"),
            "end_date": np.where(change, cut - pd.Timedelta(days=1), pd.NaT),
        }
    )
    a2 = pd.DataFrame(
        {
            "account_id": acc[change],
            "rep_id": ids[new_owner[change]],
            "role": "owner",
            "product_family": None,
            "start_date": cut[change],
            "end_date": pd.NaT,
        }
    )
    ov = rng.random(n_accounts) < 0.05
    a3 = pd.DataFrame(
        {
            "account_id": acc[ov],
            "rep_id": ids[ic[rng.integers(0, n_ic, ov.sum())]],
            "role": "overlay",
            "product_family": "software",
            "start_date": pd.Timestamp("2019-01-01"),
            "end_date": pd.NaT,
        }
    )
    assignments = pd.concat([a1, a2, a3], ignore_index=True)
    assignments["end_date"] = pd.to_datetime(assignments["end_date"])
    products = pd.DataFrame(
        {
            "product_id": ["P1", "P2", "P3"],
            "name": ["Core", "Renewal", "Services"],
            "family": ["software", "software", "services"],
            "measure": ["new_business", "renewal", "services"],
        }
    )
    n_book = int(n_txn / 1.035)
    day = rng.integers(0, 365, n_book)
    amount = np.round(rng.lognormal(8.5, 1.0, n_book), 2)
    prod = rng.choice(np.array(["P1", "P2", "P3"], dtype=object), n_book, p=[0.6, 0.3, 0.1])
    t_acc = acc[rng.integers(0, n_accounts, n_book)]
    tid = np.array([f"T{i:08d}" for i in range(n_txn)], dtype=object)
    base_date = np.datetime64("2025-01-01")
    book = pd.DataFrame(
        {
            "txn_id": tid[:n_book],
            "date": base_date + day.astype("timedelta64[D]"),
            "account_id": t_acc,
            "product_id": prod,
            "amount": amount,
            "kind": "booking",
            "original_txn_id": None,
        }
    )
    n_extra = n_txn - n_book
    src = rng.choice(n_book, n_extra, replace=False)
    is_adj = rng.random(n_extra) < 0.15
    delay = rng.integers(1, 200, n_extra)
    cday = np.minimum(day[src] + delay, 364)
    frac = np.where(
        is_adj, rng.uniform(-0.1, 0.1, n_extra), -np.where(rng.random(n_extra) < 0.3, 0.5, 1.0)
    )
    extra = pd.DataFrame(
        {
            "txn_id": tid[n_book:],
            "date": base_date + cday.astype("timedelta64[D]"),
            "account_id": t_acc[src],
            "product_id": prod[src],
            "amount": np.round(amount[src] * frac, 2),
            "kind": np.where(is_adj, "adjustment", "cancellation"),
            "original_txn_id": tid[src],
        }
    )
    transactions = pd.concat([book, extra], ignore_index=True)
    sp = rng.choice(n_book, int(0.02 * n_book), replace=False)
    first = owner[rng.integers(0, n_accounts, len(sp))]
    # a different individual contributor than the first rep
    pos = np.searchsorted(ic, first)
    other = ids[ic[(pos + 1 + rng.integers(0, n_ic - 1, len(sp))) % n_ic]]
    splits = pd.concat(
        [
            pd.DataFrame(
                {
                    "txn_id": tid[sp],
                    "rep_id": ids[first],
                    "share": 0.6,
                    "reason": "co-sell",
                }
            ),
            pd.DataFrame({"txn_id": tid[sp], "rep_id": other, "share": 0.4, "reason": "co-sell"}),
        ],
        ignore_index=True,
    ).drop_duplicates(["txn_id", "rep_id"])
    ex = rng.choice(n_book, int(0.003 * n_book), replace=False)
    exceptions = pd.DataFrame(
        {
            "exception_id": [f"X{i}" for i in range(len(ex))],
            "txn_id": tid[ex],
            "rep_id": ids[ic[rng.integers(0, n_ic, len(ex))]],
            "amount": np.round(amount[ex] * 0.25, 2),
            "reason": "strategic deal support",
            "approved_by": "R000000",
        }
    )
    q_rows = []
    for q in range(1, 5):
        for m, base in (("new_business", 1_000_000.0), ("renewal", 400_000.0)):
            amt = np.round(base * rng.uniform(0.7, 1.3, n_reps), -2)
            amt[flm] *= 8
            q_rows.append(
                pd.DataFrame({"rep_id": ids, "period": f"2025-Q{q}", "measure": m, "amount": amt})
            )
    quotas = pd.concat(q_rows, ignore_index=True)
    meta = DatasetMeta(name="bench", currency="USD", fy_start_month=1)
    return Dataset(
        {
            "reps": reps,
            "assignments": assignments,
            "products": products,
            "transactions": transactions,
            "splits": splits,
            "credit_exceptions": exceptions,
            "quotas": quotas,
        },
        meta,
        source="bench",
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10_000)
    ap.add_argument("--accounts", type=int, default=200_000)
    ap.add_argument("--txns", type=int, default=2_000_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    from spm_model.calc import calculate_many
    from spm_model.crediting import credit_transactions
    from spm_model.plans import load_plan

    t0 = time.perf_counter()
    ds = build_company(args.reps, args.accounts, args.txns)
    t1 = time.perf_counter()
    print(
        f"built company: {len(ds.reps):,} reps, {len(ds.transactions):,} transactions "
        f"in {t1 - t0:.1f} s"
    )
    plans = [
        load_plan(ROOT / "templates/plans/saas_ae.yaml"),
        load_plan(ROOT / "templates/plans/sales_manager.yaml"),
    ]
    t2 = time.perf_counter()
    res = credit_transactions(ds, rollup="lazy")
    t3 = time.perf_counter()
    print(
        f"crediting: {len(res.credits):,} credit rows in {t3 - t2:.1f} s; conserved={res.conserved}"
    )
    results = calculate_many(plans, ds, "2025", credits=res, workers=args.workers)
    t4 = time.perf_counter()
    n_stat = sum(r.summary["rep_id"].nunique() for r in results)
    n_lines = sum(len(r.lines) for r in results)
    print(
        f"exact calculation: {n_stat:,} reps x 4 quarters, {n_lines:,} statement lines "
        f"in {t4 - t3:.1f} s "
        f"({args.workers} workers)"
    )
    total = t4 - t2
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"CPU: {me.ru_utime + me.ru_stime:.1f} s this process (incl. building the company), "
        f"{kids.ru_utime + kids.ru_stime:.1f} s workers; peak RSS {me.ru_maxrss / 1e6:.2f} GB; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"TOTAL crediting + exact calculation: {total:.1f} s (target < 60 s) "
        f"on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
