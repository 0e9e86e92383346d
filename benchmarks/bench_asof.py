"""Benchmark: pay as of a date and the leaderboard for the 10,000-rep benchmark company.

Targets (issue 13), on the 2-core machine:

* crediting 2,000,000 transactions under 15 s (every module now reads it);
* exact as-of estimates (period-to-date statements) for every one of the 10,000 reps
  under 30 s;
* the leaderboard (scorecards + payout now and at quota from the exact as-of
  statements) under 30 s including crediting.

The company is :func:`bench_calc.build_company` (10,000 reps in a 4-level hierarchy,
200,000 accounts, 2,000,000 transactions in 2025; individual contributors on the SaaS AE
template, first-line managers on the sales-manager template with the team roll-up). The
as-of date is 2025-11-15, mid-Q4: the statements run the fiscal year to date (Q1-Q4).

Usage::

    python benchmarks/bench_asof.py [--reps 10000] [--txns 2000000] [--workers 2]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_calc import build_company  # noqa: E402

AS_OF = "2025-11-15"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=10_000)
    ap.add_argument("--accounts", type=int, default=200_000)
    ap.add_argument("--txns", type=int, default=2_000_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from spm_model.calc import as_of_many, credit_dataset, payable
    from spm_model.performance import PerformanceData, estimated_payouts, leaderboard, scorecards
    from spm_model.plans import load_plan

    ds = build_company(args.reps, args.accounts, args.txns)
    print(f"built company: {len(ds.reps):,} reps, {len(ds.transactions):,} transactions")
    plans = {
        p.id: p
        for p in (
            load_plan(ROOT / "templates/plans/saas_ae.yaml"),
            load_plan(ROOT / "templates/plans/sales_manager.yaml"),
        )
    }
    t0 = time.perf_counter()
    credits = credit_dataset(ds, plans)
    t_credit = time.perf_counter() - t0
    print(f"crediting: {len(credits.credits):,} credit rows in {t_credit:.1f} s")

    t0 = time.perf_counter()
    results = as_of_many(plans, ds, AS_OF, credits=credits, workers=args.workers)
    t_asof = time.perf_counter() - t0
    n_reps = sum(len(r.inputs.reps) for r in results)
    total = sum(float(payable(r).sum()) for r in results)
    print(
        f"as-of statements {AS_OF}: {n_reps:,} reps, payable {total:,.2f} USD "
        f"in {t_asof:.1f} s ({args.workers} workers)"
    )

    t0 = time.perf_counter()
    pdata = PerformanceData(ds, credits, plans)
    card = scorecards(pdata, "2025-Q4", as_of=AS_OF)
    pay = estimated_payouts(pdata, card, workers=args.workers)
    board = leaderboard(card, "company", "attainment", payouts=pay)
    t_board = time.perf_counter() - t0
    print(
        f"leaderboard 2025-Q4 as of {AS_OF}: {len(board):,} reps "
        f"({int(pay['payout_now'].notna().sum()):,} with a payout) in {t_board:.1f} s "
        f"+ crediting {t_credit:.1f} s = {t_board + t_credit:.1f} s"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(f"peak RSS {peak:.2f} GB")
    checks = [
        ("crediting 2M transactions < 15 s", t_credit < 15),
        ("as-of estimates for every rep < 30 s", t_asof < 30),
        ("leaderboard incl. crediting < 30 s", t_board + t_credit < 30),
    ]
    for name, ok in checks:
        print(f"{name}: {'PASS' if ok else 'FAIL'}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
