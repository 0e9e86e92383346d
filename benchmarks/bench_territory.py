"""Benchmark: territory balancing on generated instances with a deliberately unbalanced start.

Targets (issue 6):

* 2,000 accounts into 40 territories, potential and workload within +/-3% of the
  capacity-weighted mean, at most 15% of accounts moved: under 60 s;
* 50,000 accounts into 300 territories within +/-5% (no disruption budget): under 10 minutes;

both reporting the gap to a valid lower bound; and (issue 16)

* ``large_budget``: 50,000 accounts into 300 territories, +/-5% on potential and
  workload, at most 15% of accounts moved, under 10 minutes, gap under 10%. The
  bound is the Lagrangian function (balance and budget rows relaxed) evaluated
  exactly over all 15 million unit-territory pairs at the best multipliers found
  (smoothed dual ascent, then the duals of an LP over priced columns): a valid
  lower bound on the optimum of the full problem, see
  :mod:`spm_model.territory.lagrange`;

* ``districts``: 500 planar units into 10 districts designed from scratch
  (:func:`spm_model.territory.design_districts`, compactness objective), three
  measures within +/-5%, connected on the Delaunay graph; passes when every
  district is balanced and connected and the largest district diameter is
  within 10% of a balanced k-means baseline computed with scipy's MILP (the
  same baseline as ``tests/territory/test_districts.py``, no contiguity).

Instances come from :func:`spm_model.territory.generate_instance` (accounts
clustered around cities, lognormal potential, workload growing with potential,
a roughly balanced alignment that is then unbalanced on purpose by moving border
accounts into favoured territories). Each case checks every constraint of the
returned alignment from the raw inputs and prints a before/after table.

Usage::

    python benchmarks/bench_territory.py [--case small|large|large_budget|districts|all] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spm_model.territory import TerritoryProblem, generate_instance, solve  # noqa: E402

CASES: dict[str, dict[str, Any]] = {
    "small": dict(n=2_000, m=40, tol=0.03, max_moved=0.15, limit=60.0, time_limit=50.0, seed=1),
    "large": dict(n=50_000, m=300, tol=0.05, max_moved=None, limit=600.0, time_limit=420.0, seed=7),
    "large_budget": dict(
        n=50_000, m=300, tol=0.05, max_moved=0.15, limit=600.0, time_limit=420.0, seed=7, gap=0.10
    ),
}


def check(p: TerritoryProblem, assign: np.ndarray) -> dict[str, float]:
    """Recompute the constraints from the raw inputs (independent of the solver's arrays)."""
    u = p.units
    tid = np.asarray(p.territories["territory_id"], dtype=object)
    cap = p.territories["capacity"].to_numpy(float)
    out: dict[str, float] = {}
    for k in p.measures:
        v = u[k].to_numpy(float)
        load = np.bincount(assign, weights=v, minlength=len(tid))
        target = cap / cap.sum() * v.sum()
        out[f"max_rel_dev_{k}"] = float(np.abs(load / target - 1).max())
    out["max_rel_dev"] = max(out[f"max_rel_dev_{k}"] for k in p.measures)
    moved = tid[assign] != u["current"].to_numpy(object)
    out["moved_share"] = float(np.mean(moved))
    out["moved_accounts"] = int(moved.sum())
    return out


def run(name: str, seed: int | None = None) -> dict:
    cfg = CASES[name]
    seed = cfg["seed"] if seed is None else seed
    t = time.perf_counter()
    units, terrs = generate_instance(cfg["n"], cfg["m"], seed=seed)
    gen_s = time.perf_counter() - t
    p = TerritoryProblem(
        units,
        terrs,
        measures=("potential", "workload"),
        tolerance=cfg["tol"],
        max_moved=cfg["max_moved"],
    )
    load_before = os.getloadavg()
    t = time.perf_counter()
    cpu0 = time.process_time()
    r = solve(p, method="auto", time_limit=cfg["time_limit"], seed=seed)
    wall = time.perf_counter() - t  # includes compiling (distances) and the lower bound
    cpu = time.process_time() - cpu0
    load_after = os.getloadavg()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    chk = check(p, r.assign)
    budget_ok = cfg["max_moved"] is None or chk["moved_accounts"] <= np.floor(
        cfg["max_moved"] * cfg["n"] + 1e-9
    )
    ok = (
        chk["max_rel_dev"] <= cfg["tol"] + 1e-9
        and budget_ok
        and wall < cfg["limit"]
        and r.gap <= cfg.get("gap", 1.0)
    )
    m = r.metrics()
    print(
        f"== {name}: {cfg['n']:,} accounts x {cfg['m']} territories, +/-{cfg['tol']:.0%} on "
        f"potential and workload, "
        + (
            "no move budget"
            if cfg["max_moved"] is None
            else f"at most {cfg['max_moved']:.0%} moved"
        )
        + f" (instance {gen_s:.1f} s)"
    )
    print(m.to_string(float_format=lambda v: f"{v:,.3f}"))
    print(
        f"method {r.method}: {wall:.1f} s wall, {cpu:.1f} s CPU (limit {cfg['limit']:.0f} s), "
        f"objective "
        f"{r.objective:,.0f} km, lower bound {r.lower_bound:,.0f}, gap {r.gap:.2%}"
    )
    print("stages: " + "; ".join(f"{e['stage']} {e['seconds']:.1f}s" for e in r.log))
    print(r.bound_statement())
    devs = ", ".join(f"{k} {chk[f'max_rel_dev_{k}']:.2%}" for k in p.measures)
    print(
        f"independent check: max deviation {devs}, moved {chk['moved_share']:.2%} "
        f"({chk['moved_accounts']:,} accounts) -> {'PASS' if ok else 'FAIL'}"
    )
    print(
        f"peak memory {peak_mb:,.0f} MB; load average (1, 5, 15 min) before "
        f"{load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, after "
        f"{load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}"
    )
    return {
        "case": name,
        "n": cfg["n"],
        "m": cfg["m"],
        "seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "gap": r.gap,
        "objective": r.objective,
        "lower_bound": r.lower_bound,
        "method": r.method,
        "peak_mb": round(peak_mb),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        **chk,
        "pass": ok,
        "dev_before_pct": float(m.loc["potential.max_dev_pct", "before"]),
    }


def run_districts(seed: int | None = None, time_limit: float = 240.0) -> dict:
    """500 planar units, 10 districts from scratch, 3 measures +/-5%, contiguity."""
    from spm_model.territory import delaunay_edges, design_districts
    from spm_model.territory.contiguity import contiguity_violations
    from tests.territory.test_districts import (
        balanced_kmeans_baseline,
        max_diameter,
        planar_units,
    )

    seed = 0 if seed is None else seed
    n, k, tol = 500, 10, 0.05
    units = planar_units(n, seed=seed)
    t = time.perf_counter()
    d = design_districts(
        units,
        k,
        measures=["m1", "m2", "m3"],
        tolerance=tol,
        adjacency="delaunay",
        objective="compactness",
        time_limit=time_limit,
        seed=seed,
    )
    wall = time.perf_counter() - t
    xy = units[["x", "y"]].to_numpy()
    lab = d.result.assign
    dev = max(
        float(
            np.abs(np.bincount(lab, weights=units[q], minlength=k) / (units[q].sum() / k) - 1).max()
        )
        for q in ("m1", "m2", "m3")
    )
    e = delaunay_edges(units["y"].to_numpy(), units["x"].to_numpy(), planar=True)
    pieces = contiguity_violations(e, lab, k)
    ours = max_diameter(xy, lab)
    t = time.perf_counter()
    base = balanced_kmeans_baseline(xy, units[["m1", "m2", "m3"]].to_numpy(), k, tol)
    base_s = time.perf_counter() - t
    ok = dev <= tol + 1e-9 and pieces == 0 and ours <= 1.10 * base
    print(f"== districts: {n} planar units into {k} districts from scratch, +/-5% on 3 measures")
    print(
        f"{wall:.1f} s, {d.iterations} allocations, objective {d.result.objective:,.1f}, "
        f"gap {d.result.gap:.2%} (given the final centres)"
    )
    print(
        f"max deviation {dev:.2%}, disconnected pieces {pieces}, max diameter {ours:.2f} vs "
        f"balanced k-means baseline {base:.2f} ({ours / base - 1:+.1%}; baseline {base_s:.0f} s)"
        f" -> {'PASS' if ok else 'FAIL'}"
    )
    return {
        "case": "districts",
        "n": n,
        "m": k,
        "seconds": round(wall, 1),
        "gap": float(d.result.gap),
        "max_rel_dev": float(dev),
        "pieces": int(pieces),
        "max_diameter": float(ours),
        "baseline_max_diameter": float(base),
        "pass": bool(ok),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--case", choices=["small", "large", "large_budget", "districts", "all"], default="all"
    )
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    names = ["small", "large", "large_budget", "districts"] if args.case == "all" else [args.case]
    out = [run_districts(args.seed) if n == "districts" else run(n, args.seed) for n in names]
    print(json.dumps(out))
    return 0 if all(o["pass"] for o in out) else 1


if __name__ == "__main__":
    raise SystemExit(main())
