"""Benchmark: blended quotas for 10,000 reps x 12 months (issue 5: under 30 s).

The company comes from the synthetic generator (``spm_model.data.synthetic``)
scaled to 10,000 people and three years; generating it is not timed. Timed:
building the planning frame from the raw tables (owner/overlay attribution of
every transaction, meetings, seasonality, growth, potential by month, ramps),
the blended method (50% history + 50% potential), the top-down allocation of a
company target with 10% over-assignment at every level, largest-remainder
rounding and the phasing into months, i.e. ``set_quotas`` end to end.

Usage::

    python benchmarks/bench_quota.py [--reps 10000] [--accounts 300000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spm_model.data.synthetic import generate  # noqa: E402
from spm_model.quota import set_quotas  # noqa: E402


def main() -> None:
    """Run the benchmark and print the timings."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=10_000)
    ap.add_argument("--accounts", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=5)
    a = ap.parse_args()
    t0 = time.perf_counter()
    ds = generate(n_reps=a.reps, n_accounts=a.accounts, years=3, seed=a.seed)
    gen = time.perf_counter() - t0
    end = ds.meta.end_date
    year = end.year + 1 if (end.month, end.day) == (12, 31) else end.year
    print(
        f"company: {len(ds.reps):,} reps, {len(ds.accounts):,} accounts, "
        f"{len(ds.transactions):,} transactions, {len(ds.activities):,} activities "
        f"(generated in {gen:.1f} s, not timed); quotas for FY{year}"
    )
    times = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        res = set_quotas(ds, year, "blend", target=1e9, over_assign=0.1, freq="month")
        times.append(time.perf_counter() - t)
    assert res.reconciles
    nb = res.annual[res.annual["measure"] == "new_business"]
    print(
        f"set_quotas blend, {res.annual['rep_id'].nunique():,} quota-carrying reps, "
        f"{len(res.annual):,} rep-measures, {len(res.quotas):,} monthly rows; "
        f"new_business reps {len(nb):,}; reconciles={res.reconciles}"
    )
    print("times (s): " + ", ".join(f"{x:.2f}" for x in times) + f"; best {min(times):.2f} s")
    print(f"target < 30 s: {'PASS' if min(times) < 30 else 'FAIL'}")


if __name__ == "__main__":
    main()
