"""Benchmark of the performance analytics: scorecards for 10,000 reps over 3 years.

Uses a company made by the synthetic generator (10,000 reps, 500,000 accounts,
3 years by default), saved as Parquet once and re-used (``--data``). Steps timed:
crediting the company once (``PerformanceData``), scorecards for the last quarter,
the attainment panel (all quarters), coaching flags, and payout estimates for
the leaderboard. Acceptance (issue 9): scorecards for 10,000 reps over 3 years
of data in under 30 s (credit attribution + scorecards).

Usage::

    python benchmarks/bench_performance.py [--data /tmp/bench_company] [--reps 10000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

LIMIT_S = 30.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", default="/tmp/bench_company", help="Parquet dataset folder (made if missing)."
    )
    ap.add_argument("--reps", type=int, default=10_000)
    ap.add_argument("--accounts", type=int, default=500_000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    from spm_model.data import load_dataset

    path = Path(args.data)
    if not path.exists():
        from spm_model.data.synthetic import generate

        t0 = time.perf_counter()
        generate(n_reps=args.reps, n_accounts=args.accounts, years=args.years, seed=args.seed).save(
            path, "parquet"
        )
        print(f"generated {path} in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    ds = load_dataset(path, validate=False)
    print(
        f"loaded {path}: {len(ds.reps):,} reps, {len(ds.transactions):,} transactions, "
        f"{len(ds.opportunities):,} opportunities, {len(ds.activities):,} activities "
        f"in {time.perf_counter() - t0:.1f} s (not counted)"
    )

    from spm_model.data.periods import period_labels
    from spm_model.performance import (
        PerformanceData,
        attainment_panel,
        coaching_flags,
        estimated_payouts,
        load_plans,
        scorecards,
    )

    timings: list[tuple[str, float]] = []

    def step(name, fn):
        t = time.perf_counter()
        out = fn()
        timings.append((name, time.perf_counter() - t))
        return out

    plans_dir = Path(__file__).resolve().parents[1] / "templates" / "plans"
    plans = load_plans(plans_dir) if plans_dir.is_dir() else None
    pdata = step("crediting (once, with plans)", lambda: PerformanceData(ds, plans=plans))
    last = str(period_labels([ds.as_of], "quarter", ds.meta.fy_start_month)[0])
    card = step(f"scorecards {last}", lambda: scorecards(pdata, last))
    panel = step("attainment panel (all quarters)", lambda: attainment_panel(pdata))
    flags = step("coaching flags", lambda: coaching_flags(card, panel, ds.reps))
    if plans:
        step(
            "payouts (exact as-of statements)",
            lambda: estimated_payouts(pdata, card, workers=2),
        )

    print(f"{'step':<34}{'seconds':>10}")
    for name, sec in timings:
        print(f"{name:<34}{sec:>10.1f}")
    core = timings[0][1] + timings[1][1]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    print(
        f"scorecards for {len(card):,} reps (crediting + scorecards): {core:.1f} s; "
        f"{len(flags):,} flags; peak RSS {peak:.2f} GB"
    )
    ok = core < LIMIT_S
    print(f"acceptance (< {LIMIT_S:.0f} s): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
