"""Benchmark: 10^8 rep-scenario payouts of the SaaS AE template (vectorised engine).

Target (issue 3): the vectorised engine evaluates 10^8 rep-scenario payouts of
the SaaS AE template in under 10 s on 2 cores.

10,000 reps x 10,000 scenarios of one quarter, in chunks of scenarios. Each rep
has its own quotas (new ARR and renewals) and target incentive (its OTE varies
around the template's 200,000); each scenario draws the rep's credited amounts
(lognormal around the rep's expected attainment, rounded to the cent) from a
child stream of ``SeedSequence(seed).spawn``, so results do not depend on the
chunk size. The payout is the fused numba kernel
(:func:`spm_model.plans.fast.fast_payout_total`); a sample of elements is
checked against the exact ``Decimal`` engine, and a slice is also timed with
the plain numpy engine (``Plan.payout_arrays``) for comparison.

Usage::

    python benchmarks/bench_plans.py [--reps 10000] [--scenarios 10000] [--chunk 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spm_model.plans import PeriodInputs, load_plan  # noqa: E402
from spm_model.plans.fast import compile_plan, fast_payout_total  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=10_000)
    ap.add_argument("--scenarios", type=int, default=10_000)
    ap.add_argument("--chunk", type=int, default=1_000, help="scenarios per chunk")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--check", type=int, default=2_000, help="elements checked against exact")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()

    plan = load_plan(ROOT / "templates" / "plans" / "saas_ae.yaml")
    cp = compile_plan(plan)
    assert cp is not None
    rng = np.random.default_rng(args.seed)
    r = args.reps
    ote = np.round(200_000 * rng.lognormal(0, 0.08, (r, 1)), -3)
    ti = np.round(ote * 0.5 / 4, 2)  # quarterly target incentive
    quota = {
        "new_business": np.round(rng.uniform(300_000, 800_000, (r, 1)), -2),
        "renewal": np.round(rng.uniform(100_000, 400_000, (r, 1)), -2),
    }
    skill = rng.lognormal(0, 0.25, (r, 1))  # expected attainment per rep

    # warm-up: compile (or load the cached compilation) outside the timed loop
    t = time.perf_counter()
    fast_payout_total(
        plan,
        {k: v[:2] for k, v in quota.items()},
        {k: v[:2] for k, v in quota.items()},
        ti[:2],
        compiled=cp,
    )
    compile_s = time.perf_counter() - t

    children = np.random.SeedSequence(args.seed).spawn(
        (args.scenarios + args.chunk - 1) // args.chunk
    )
    gen_s = pay_s = pay_cpu = 0.0
    n_done = 0
    cost = np.zeros(args.scenarios)  # total comp cost per scenario
    check_payload = None
    for ci, ss in enumerate(children):
        s0 = ci * args.chunk
        s = min(args.chunk, args.scenarios - s0)
        t = time.perf_counter()
        g = np.random.default_rng(ss)
        credited = {
            "new_business": np.round(
                quota["new_business"] * skill * g.lognormal(-0.1, 0.45, (r, s)), 2
            ),
            "renewal": np.round(quota["renewal"] * g.lognormal(0.0, 0.15, (r, s)), 2),
        }
        gen_s += time.perf_counter() - t
        t = time.perf_counter()
        c0 = time.process_time()
        total = fast_payout_total(plan, credited, quota, ti, compiled=cp)
        pay_cpu += time.process_time() - c0
        cost[s0 : s0 + s] = total.sum(axis=0)
        pay_s += time.perf_counter() - t
        n_done += total.size
        if ci == 0:
            check_payload = (credited, total)
    n = n_done

    # correctness: a sample of the first chunk against the exact Decimal engine
    credited, total = check_payload
    pick = np.random.default_rng(0).choice(
        total.size, size=min(args.check, total.size), replace=False
    )
    rows, cols = np.unravel_index(pick, total.shape)
    mismatches = 0
    for i, j in zip(rows, cols, strict=True):
        res = plan.evaluate_exact(
            PeriodInputs(
                {k: Decimal(repr(float(v[i, j]))) for k, v in credited.items()},
                {k: Decimal(repr(float(v[i, 0]))) for k, v in quota.items()},
                Decimal(repr(float(ti[i, 0]))),
            )
        )
        mismatches += float(res.total) != total[i, j]

    # the plain numpy engine on one chunk, for comparison
    c0 = time.process_time()
    plan.payout_arrays(credited, quota, ti, components=False)
    numpy_cpu = (time.process_time() - c0) / total.size * n

    p50, p90, p99 = np.percentile(cost, [50, 90, 99])
    figures = {
        "payouts": n,
        "reps": r,
        "scenarios": args.scenarios,
        "payout_seconds": round(pay_s, 2),
        "draw_seconds": round(gen_s, 2),
        "total_seconds": round(pay_s + gen_s, 2),
        "compile_or_cache_load_seconds": round(compile_s, 2),
        "payout_cpu_seconds": round(pay_cpu, 2),
        "numpy_engine_cpu_seconds_extrapolated": round(numpy_cpu, 1),
        "peak_rss_mb": round(peak_rss_mb()),
        "checked_against_exact": len(pick),
        "mismatches": int(mismatches),
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(
        f"SaaS AE template: {n:,} rep-scenario payouts ({r:,} reps x {args.scenarios:,} scenarios, "
        f"chunks of {args.chunk:,})"
    )
    print(
        f"  payout evaluation (fused numba kernel): {pay_s:.2f} s wall, {pay_cpu:.2f} s CPU "
        f"over all threads ({n / pay_s / 1e6:.1f} M payouts/s)"
    )
    print(f"  scenario draws (lognormal, not part of the target): {gen_s:.2f} s")
    print(f"  compile / cache load before timing: {compile_s:.2f} s")
    print(f"  plain numpy engine, extrapolated from one chunk: {numpy_cpu:.1f} s CPU")
    print(f"  peak memory (max RSS): {peak_rss_mb():.0f} MB")
    print(
        f"  checked {len(pick):,} payouts against the exact Decimal engine: {mismatches} mismatches"
    )
    print(f"  quarterly comp cost across scenarios: P50 {p50:,.0f}  P90 {p90:,.0f}  P99 {p99:,.0f}")
    print(f"  1-min load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
