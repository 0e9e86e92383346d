"""What an app page loads: the rows of one scope, cached by the data's fingerprint.

The company is read and credited *once per version of the data* by a builder
that runs outside the app kernels (in ``spm serve`` at start, or in a short
subprocess ``python -m spm_model.apps.bundle`` started by the first page that
finds the cache stale). The builder writes, per scope, a bundle holding only
that scope's rows (:mod:`spm_model.apps.scope`): the scoped data and
crediting, and that scope's rows of the company-wide analytics (scorecards
with pace against the company's booking seasonality, coaching flags, payouts
from the exact as-of statements). A kernel unpickles its own bundle and
nothing else, so it never holds another rep's rows.

The fingerprint is the size and modification time (ns) of every data and plan
file (the disputes journal excluded: disputes are read live). Dropping new
transactions into the data changes it, so the next page load rebuilds and
shows them, without a restart.

Peer medians of the scorecards are dropped from the bundles (a median can be
one person's value); percentiles and company-wide ratios used in coaching
reasons (e.g. the median win rate of sellers) stay.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import hashlib
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from spm_model.apps.access import Scope
from spm_model.crediting import CreditingResult
from spm_model.data import Dataset
from spm_model.errors import SpmConfigError
from spm_model.plans import Plan

_SKIP_SUFFIXES = (".jsonl", ".lock")


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and not p.name.startswith(".")
        and not p.name.endswith(_SKIP_SUFFIXES)
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
    )


def fingerprint(source: str | os.PathLike[str], plans_dir: str | os.PathLike[str]) -> str:
    """Fingerprint of a data source and a plan folder (file names, sizes, mtimes)."""
    h = hashlib.sha256()
    for root in (Path(source), Path(plans_dir)):
        for p in _files(root):
            st = p.stat()
            h.update(f"{p.relative_to(root) if root.is_dir() else p.name}|{st.st_size}|".encode())
            h.update(f"{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


@dataclass
class Bundle:
    """The rows one scope may see, and the analytics of those rows.

    Attributes
    ----------
    scope : Scope
    reps : frozenset of str
        Rep ids in scope.
    ds : Dataset
        Scoped data (:func:`spm_model.apps.scope.filter_dataset`).
    credits : CreditingResult
        Scoped crediting (a row subset of the company's).
    plans : dict of str to Plan
    as_of : date
        Credit dated up to this day counts.
    period : str
        Quarter of the scorecards (containing ``as_of``).
    card, flags, payouts : DataFrame
        The scope's rows of the company scorecards (fractions; money in the
        data currency), coaching flags with their reasons, and payout now / at
        quota from the exact as-of statements (:func:`spm_model.performance.estimated_payouts`).
    fingerprint, source : str
        Version of the data and where it lives (the disputes journal is beside it).
    """

    scope: Scope
    reps: frozenset[str]
    ds: Dataset
    credits: CreditingResult
    plans: dict[str, Plan]
    as_of: dt.date
    period: str
    card: pd.DataFrame
    flags: pd.DataFrame
    payouts: pd.DataFrame
    fingerprint: str
    source: str
    built: dict[str, float] = field(default_factory=dict)


def bundle_path(cache_dir: Path, fp: str, day: dt.date | None, scope: Scope) -> Path:
    """File of a scope's bundle for one data version and as-of date."""
    return Path(cache_dir) / fp / (day.isoformat() if day else "latest") / f"{scope.key}.pkl"


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def quarter_of(day: dt.date, fy_start_month: int) -> str:
    """Label of the fiscal quarter containing ``day``."""
    from spm_model.data import period_labels

    return str(period_labels(pd.Series([pd.Timestamp(day)]), "quarter", fy_start_month)[0])


def build_bundles(
    source: str | os.PathLike[str],
    plans_dir: str | os.PathLike[str],
    scopes: Sequence[Scope],
    cache_dir: str | os.PathLike[str],
    as_of: dt.date | str | None = None,
) -> dict[str, Path]:
    """Credit the company once and write the bundle of every scope (trusted side).

    Returns
    -------
    dict of scope key to bundle file
    """
    import time

    from spm_model.apps.scope import scoped
    from spm_model.calc import credit_dataset
    from spm_model.data import load_dataset
    from spm_model.performance import (
        PerformanceData,
        coaching_flags,
        estimated_payouts,
        load_plans,
        scorecards,
    )

    cache = Path(cache_dir)
    fp = fingerprint(source, plans_dir)
    wanted = None if as_of is None else pd.Timestamp(as_of).date()
    out: dict[str, Path] = {}
    with _lock(cache / f"{fp}.lock"):
        todo = [s for s in scopes if not bundle_path(cache, fp, wanted, s).exists()]
        for s in scopes:
            out[s.key] = bundle_path(cache, fp, wanted, s)
        if not todo:
            return out
        t0 = time.perf_counter()
        ds = load_dataset(source)
        plans = load_plans(Path(plans_dir))
        if not plans:
            raise SpmConfigError(f"no plans (*.yaml) in {plans_dir}")
        credits = credit_dataset(ds, plans)
        day = wanted or ds.as_of
        period = quarter_of(day, ds.meta.fy_start_month)
        pdata = PerformanceData(ds, credits, plans)
        card = scorecards(pdata, period, as_of=day)
        flags = coaching_flags(card)
        payouts = estimated_payouts(pdata, card)
        card = card.drop(columns=[c for c in card if c.endswith("_peer_median")])
        company_s = time.perf_counter() - t0
        for s in todo:
            t1 = time.perf_counter()
            sds, scr, keep = scoped(ds, credits, s)
            in_scope = card["rep_id"].isin(list(keep))
            c = card[in_scope].copy()
            c["manager_id"] = c["manager_id"].where(c["manager_id"].isin(list(keep)))
            b = Bundle(
                scope=s,
                reps=keep,
                ds=sds,
                credits=scr,
                plans=plans,
                as_of=pd.Timestamp(day).date(),
                period=period,
                card=c.reset_index(drop=True),
                flags=flags[flags["rep_id"].isin(list(keep))].reset_index(drop=True),
                payouts=payouts[payouts["rep_id"].isin(list(keep))].reset_index(drop=True),
                fingerprint=fp,
                source=str(source),
                built={"company_s": company_s, "scope_s": time.perf_counter() - t1},
            )
            target = out[s.key]
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                pickle.dump(b, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, target)
    return out


def load_bundle(
    source: str | os.PathLike[str],
    plans_dir: str | os.PathLike[str],
    scope: Scope,
    cache_dir: str | os.PathLike[str],
    as_of: dt.date | str | None = None,
) -> Bundle:
    """Load a scope's bundle for the current data, building it in a subprocess if stale.

    The build runs in a separate process so the calling kernel never holds the
    whole company's rows.
    """
    cache = Path(cache_dir)
    wanted = None if as_of is None else pd.Timestamp(as_of).date()
    path = bundle_path(cache, fingerprint(source, plans_dir), wanted, scope)
    if not path.exists():
        cmd = [
            sys.executable,
            "-m",
            "spm_model.apps.bundle",
            "--data",
            str(source),
            "--plans",
            str(plans_dir),
            "--cache",
            str(cache),
            "--scope",
            scope.kind,
        ]
        if scope.rep_id:
            cmd += ["--rep", scope.rep_id]
        if wanted:
            cmd += ["--as-of", wanted.isoformat()]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SpmConfigError(f"could not prepare the data: {proc.stderr.strip()[-2000:]}")
        path = Path(proc.stdout.strip().splitlines()[-1])
    with open(path, "rb") as f:
        return pickle.load(f)


def main(argv: Sequence[str] | None = None) -> None:
    """Build one scope's bundle (``python -m spm_model.apps.bundle``); print its path."""
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--data", required=True)
    ap.add_argument("--plans", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--scope", required=True, choices=["rep", "manager", "finance"])
    ap.add_argument("--rep")
    ap.add_argument("--as-of")
    a = ap.parse_args(argv)
    s = Scope(a.scope, a.rep)
    paths = build_bundles(a.data, a.plans, [s], a.cache, a.as_of)
    print(paths[s.key])


if __name__ == "__main__":
    # run through the imported module, so the pickled Bundle is spm_model.apps.bundle.Bundle
    from spm_model.apps.bundle import main as _main

    _main()
