"""Benchmark: 10,000 reps x 10,000 scenarios x 4 quarters with the SaaS AE template.

Runs three parts, each in its own process so peak memory is its own:

* ``sim``: ``spm_model.simulate.simulate`` (lognormal marginals, company + region
  copula, two measures, tiers, caps) - time and peak RSS;
* ``bare``: a bare numpy pass drawing the same number of lognormal values
  (reps x scenarios x quarters x 2 measures) and applying one ``np.interp`` to
  each, in chunks of 1,000 scenarios (the MEASURED.md reference);
* ``dask``: the same simulation on a 2-worker Dask LocalCluster versus the local
  backend, compared bit for bit (at ``--dask-reps`` x ``--dask-scenarios``).

Usage: ``python benchmarks/bench_simulate.py [--reps 10000 --scenarios 10000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _model(reps: int):
    from spm_model.simulate import from_assumptions

    rng = np.random.default_rng(0)
    regions = ["West", "Central", "Southeast", "Northeast"]
    return from_assumptions(
        {
            "new_business": {
                "quota": rng.uniform(400_000, 600_000, reps).round(-2),
                "distribution": {"family": "lognormal", "mean": 0.95, "sd": 0.4},
                "season": [0.9, 1.0, 1.0, 1.1],
            },
            "renewal": {
                "quota": rng.uniform(200_000, 300_000, reps).round(-2),
                "distribution": {"family": "lognormal", "mean": 1.0, "sd": 0.2},
            },
        },
        n_reps=reps,
        periods=["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"],
        groups=[regions[i % 4] for i in range(reps)],
        rho_company=0.1,
        rho_group=0.05,
        ote=rng.uniform(180_000, 220_000, reps).round(-3),
    )


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def part_sim(reps: int, scenarios: int) -> dict:
    from spm_model.plans import load_plan
    from spm_model.simulate import simulate

    plan = load_plan(ROOT / "templates" / "plans" / "saas_ae.yaml")
    model = _model(reps)
    t, c = time.perf_counter(), time.process_time()
    res = simulate(model, plan, scenarios, seed=2026, chunk_size=1_000)
    el, cpu = time.perf_counter() - t, time.process_time() - c
    s = res.summary()
    return {
        "seconds": el,
        "cpu_seconds": cpu,
        "peak_mb": _peak_mb(),
        "mean_cost": s.value("mean cost"),
        "mcse": s.se("mean cost"),
        "total_cents_sum": int(res.cost_cents.sum()),
    }


def part_bare(reps: int, scenarios: int) -> dict:
    rng = np.random.default_rng(1)
    xs, ys = [0.0, 0.5, 1.0, 1.5, 3.0], [0.0, 0.25, 1.0, 1.4, 2.0]
    chunk = 1_000
    t, c = time.perf_counter(), time.process_time()
    acc = 0.0
    for a in range(0, scenarios, chunk):
        n = min(chunk, scenarios - a)
        for _ in range(2 * 4):  # two measures x four quarters
            x = rng.lognormal(0.0, 0.4, size=(n, reps))
            acc += float(np.interp(x, xs, ys).sum())
    return {
        "seconds": time.perf_counter() - t,
        "cpu_seconds": time.process_time() - c,
        "peak_mb": _peak_mb(),
        "checksum": acc,
    }


def part_dask(reps: int, scenarios: int) -> dict:
    from distributed import Client, LocalCluster

    from spm_model.plans import load_plan
    from spm_model.simulate import simulate

    plan = load_plan(ROOT / "templates" / "plans" / "saas_ae.yaml")
    model = _model(reps)
    t = time.perf_counter()
    local = simulate(model, plan, scenarios, seed=2026, chunk_size=1_000)
    t_local = time.perf_counter() - t
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cl:
        with Client(cl) as client:
            t = time.perf_counter()
            dist = simulate(
                model, plan, scenarios, seed=2026, chunk_size=777, backend="dask", client=client
            )
            t_dask = time.perf_counter() - t
    same = bool(
        np.array_equal(local.cost_cents, dist.cost_cents)
        and np.array_equal(local.revenue_cents, dist.revenue_cents)
        and np.array_equal(local.rep_sum_cents, dist.rep_sum_cents)
    )
    return {
        "identical": same,
        "local_seconds": t_local,
        "dask_seconds": t_dask,
        "reps": reps,
        "scenarios": scenarios,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10_000)
    ap.add_argument("--scenarios", type=int, default=10_000)
    ap.add_argument("--dask-reps", type=int, default=2_000)
    ap.add_argument("--dask-scenarios", type=int, default=4_000)
    ap.add_argument("--part", choices=["sim", "bare", "dask"])
    ap.add_argument("--skip-dask", action="store_true")
    a = ap.parse_args()
    if a.part:
        fn = {"sim": part_sim, "bare": part_bare, "dask": part_dask}[a.part]
        n_r, n_s = (a.dask_reps, a.dask_scenarios) if a.part == "dask" else (a.reps, a.scenarios)
        print(json.dumps(fn(n_r, n_s)))
        return
    out = {}
    parts = ["bare", "sim"] + ([] if a.skip_dask else ["dask"])
    for part in parts:
        cmd = [
            sys.executable,
            __file__,
            "--part",
            part,
            "--reps",
            str(a.reps),
            "--scenarios",
            str(a.scenarios),
            "--dask-reps",
            str(a.dask_reps),
            "--dask-scenarios",
            str(a.dask_scenarios),
        ]
        r = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out[part] = json.loads(r.stdout.strip().splitlines()[-1])
        print(part, out[part], flush=True)
    n = a.reps * a.scenarios * 4
    print(
        f"\n{a.reps:,} reps x {a.scenarios:,} scenarios x 4 quarters x 2 measures "
        f"({2 * n:,} random values)"
    )
    print(
        f"simulate : {out['sim']['seconds']:7.1f} s, peak {out['sim']['peak_mb']:,.0f} MB, "
        f"mean cost {out['sim']['mean_cost']:,.0f} (MCSE {out['sim']['mcse']:,.0f})"
    )
    print(f"bare pass: {out['bare']['seconds']:7.1f} s, peak {out['bare']['peak_mb']:,.0f} MB")
    sim, bare = out["sim"], out["bare"]
    print(
        f"ratio simulate / bare numpy pass: {sim['seconds'] / bare['seconds']:.2f}x wall, "
        f"{sim['cpu_seconds'] / bare['cpu_seconds']:.2f}x CPU "
        f"(CPU {sim['cpu_seconds']:.1f} s vs {bare['cpu_seconds']:.1f} s)"
    )
    print(f"load average at the end: {os.getloadavg()}")
    if "dask" in out:
        d = out["dask"]
        print(
            f"dask 2-worker LocalCluster vs local at {d['reps']:,} reps x {d['scenarios']:,} "
            f"scenarios: identical totals = {d['identical']} "
            f"(local {d['local_seconds']:.1f} s, dask {d['dask_seconds']:.1f} s)"
        )


if __name__ == "__main__":
    main()
