"""Benchmark of the data layer at scale: generate, save (Parquet), load + validate.

Default size (issue 2): 10,000 reps, 500,000 accounts, 3 years of data, which
makes a few million transaction, opportunity and activity rows. Each step reports
wall time and its peak resident memory (sampled from /proc every 20 ms; the
load step runs in a fresh process so its peak is not inflated by the generated
data still held by the parent). Acceptance: total under 2 minutes and every
peak under 6 GB on 2 cores.

Usage::

    python benchmarks/bench_data.py                      # full size
    python benchmarks/bench_data.py --reps 600 --accounts 30000   # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

LIMIT_S = 120.0
LIMIT_GB = 6.0


def _rss_bytes() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class PeakRSS:
    """Sample the resident set size in a thread; ``peak`` is the largest seen (bytes)."""

    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self.peak = _rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())


def timed(fn: Callable[[], Any]) -> tuple[Any, float, int, float]:
    """Run ``fn``: (result, wall seconds, peak RSS bytes, CPU seconds of this process)."""
    with PeakRSS() as mem:
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        cpu = time.process_time() - c0
    return out, dt, mem.peak, cpu


def step_load(path: str) -> dict[str, Any]:
    """Load + validate in this process; returns the figures."""
    from spm_model.data import load_dataset

    ds, dt, peak, cpu = timed(lambda: load_dataset(path))
    return {
        "step": "load+validate",
        "seconds": dt,
        "cpu": cpu,
        "peak_bytes": peak,
        "rows": sum(len(df) for df in ds.tables.values()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=10_000)
    ap.add_argument("--accounts", type=int, default=500_000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--out", type=str, default=None, help="Folder to write (default: a temporary folder)."
    )
    ap.add_argument("--json", type=str, default=None, help="Also write the figures as JSON here.")
    ap.add_argument(
        "--validate-in-memory",
        action="store_true",
        help="Also validate the generated tables in memory (not counted: loading validates).",
    )
    ap.add_argument("--step-load", type=str, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.step_load:
        print(json.dumps(step_load(args.step_load)))
        return 0

    from spm_model.data.synthetic import generate

    results: list[dict[str, Any]] = []
    tmp = tempfile.TemporaryDirectory(prefix="bench_data_")
    out = Path(args.out) if args.out else Path(tmp.name) / "company"
    print(
        f"bench_data: {args.reps:,} reps, {args.accounts:,} accounts, "
        f"{args.years} years, seed {args.seed}"
    )
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")

    ds, dt, peak, cpu = timed(
        lambda: generate(
            n_reps=args.reps, n_accounts=args.accounts, years=args.years, seed=args.seed
        )
    )
    results.append({"step": "generate", "seconds": dt, "cpu": cpu, "peak_bytes": peak})
    sizes = {name: len(df) for name, df in ds.tables.items()}
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items() if v))

    problems: list[Any] = []
    extra: list[dict[str, Any]] = []
    if args.validate_in_memory:
        problems, dt, peak, cpu = timed(ds.validate)
        extra.append({"step": "validate in memory", "seconds": dt, "cpu": cpu, "peak_bytes": peak})
        if problems:
            print(f"generated data has {len(problems)} problem(s), first: {problems[0]}")

    _, dt, peak, cpu = timed(partial(ds.save, out, "parquet"))
    results.append({"step": "save parquet", "seconds": dt, "cpu": cpu, "peak_bytes": peak})
    disk = sum(p.stat().st_size for p in out.iterdir())
    del ds

    proc = subprocess.run(
        [sys.executable, __file__, "--step-load", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        print(proc.stderr[-3000:])
        return 1
    results.append(json.loads(proc.stdout.strip().splitlines()[-1]))

    total = sum(r["seconds"] for r in results)
    worst = max(r["peak_bytes"] for r in results)
    cpu_total = sum(r["cpu"] for r in results)
    print(f"{'step':<24}{'wall s':>10}{'CPU s':>10}{'peak RSS GB':>14}")
    for r in results + extra:
        print(
            f"{r['step']:<24}{r['seconds']:>10.1f}{r['cpu']:>10.1f}{r['peak_bytes'] / 1e9:>14.2f}"
        )
    print(f"{'total (counted)':<24}{total:>10.1f}{cpu_total:>10.1f}{worst / 1e9:>14.2f}")
    print(f"machine load average at the end: {os.getloadavg()[0]:.1f}")
    print(
        f"parquet on disk: {disk / 1e6:,.0f} MB; "
        f"{sum(sizes.values()):,} rows in {len(sizes)} tables"
    )
    ok = total < LIMIT_S and worst < LIMIT_GB * 1e9 and not problems
    print(f"acceptance (< {LIMIT_S:.0f} s, < {LIMIT_GB:.0f} GB, valid): {'PASS' if ok else 'FAIL'}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"sizes": sizes, "steps": results + extra, "total_s": total, "ok": ok}, indent=2
            )
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
