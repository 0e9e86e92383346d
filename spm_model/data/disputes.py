"""Disputes raised from the field, kept without loss: an append-only journal beside the data.

Why a write-ahead JSONL file and not DuckDB
-------------------------------------------
A DuckDB file admits one writing *process* at a time: a second process that
opens it while the server holds it fails with a lock error, so every web
worker and every ``spm`` command would need retries around a long-lived
connection. A journal needs only what every POSIX system has:

* writers take an exclusive ``fcntl.flock`` on ``<journal>.lock``, so appends
  from any number of processes are serialised: none is lost, none interleaved;
* each row is one JSON line written with a single ``os.write`` on an
  ``O_APPEND`` descriptor and made durable with ``os.fsync`` before the call
  returns (the directory is fsynced when the journal is created);
* a writer killed mid-write can leave at most one partial last line (no
  newline). Readers ignore it; the next writer, holding the lock, truncates it
  before appending. Every complete line is a complete row;
* a submission may carry a ``request_id`` (the browser sends one per click):
  a repeated request returns the row already written instead of a duplicate.

Rows are events: ``open`` (a new dispute) and ``resolve`` (a status change);
:func:`read_disputes` folds them into the canonical ``disputes`` table, joined
to the data source's own ``disputes`` table, so dispute analytics
(:func:`spm_model.calc.replay.dispute_summary`) read the same rows the managers see.

Where the journal lives: ``<folder>/disputes.journal.jsonl`` for a folder data
source, ``<file>.disputes.jsonl`` beside an Excel or DuckDB source.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from spm_model.errors import Problem, SpmConfigError, SpmDataError

JOURNAL_NAME = "disputes.journal.jsonl"
CATEGORIES = ("crediting", "quota", "calculation", "split", "timing", "other")
"""Dispute categories (the ``disputes.category`` values)."""
STATUSES = ("open", "resolved", "rejected")
COLUMNS = [
    "dispute_id",
    "rep_id",
    "period",
    "category",
    "amount",
    "opened_date",
    "resolved_date",
    "status",
    "resolution_amount",
    "line",
    "reason",
    "origin",
]
"""Columns of :func:`read_disputes` (canonical ``disputes`` columns, then ``line``,
``reason`` and ``origin``: ``table`` for the data source's rows, ``journal`` for
disputes raised through the apps)."""


def journal_path(source: str | os.PathLike[str]) -> Path:
    """Return the journal file of a data source (folder, workbook or database)."""
    p = Path(source)
    return p / JOURNAL_NAME if p.is_dir() else p.with_name(p.name + ".disputes.jsonl")


@contextlib.contextmanager
def _locked(journal: Path) -> Iterator[None]:
    journal.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(journal) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _parse(journal: Path, data: bytes) -> list[dict[str, Any]]:
    """Complete rows of a journal (a partial last line without newline is ignored)."""
    end = data.rfind(b"\n")
    rows = []
    for i, line in enumerate(data[: end + 1].splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise SpmDataError(
                Problem(str(journal), "disputes", i, None, f"not a JSON row ({exc.msg})")
            ) from None
    return rows


def _read_events(journal: Path) -> list[dict[str, Any]]:
    try:
        data = journal.read_bytes()
    except FileNotFoundError:
        return []
    return _parse(journal, data)


def _append(journal: Path, make_row: Any) -> dict[str, Any]:
    """Append the row ``make_row(events)`` returns, under the lock, durably."""
    with _locked(journal):
        created = not journal.exists()
        fd = os.open(journal, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            size = os.fstat(fd).st_size
            data = os.pread(fd, size, 0) if size else b""
            cut = data.rfind(b"\n") + 1
            if cut < size:  # a writer died mid-row: drop the partial row
                os.ftruncate(fd, cut)
                data = data[:cut]
            events = _parse(journal, data)
            row, new = make_row(events)
            if new:
                os.write(fd, (json.dumps(row, sort_keys=True) + "\n").encode("utf-8"))
                os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            dfd = os.open(journal.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
    return row


#: An identical dispute written again within this many seconds is the same dispute.
DUPLICATE_SECONDS = 30.0


def _seconds_between(earlier: Any, later: str) -> float:
    try:
        a = dt.datetime.fromisoformat(str(earlier))
        b = dt.datetime.fromisoformat(later)
    except ValueError:
        return float("inf")
    return abs((b - a).total_seconds())


def append_dispute(
    source: str | os.PathLike[str],
    rep_id: str,
    period: str,
    amount: float,
    reason: str,
    *,
    category: str = "calculation",
    line: str | None = None,
    request_id: str | None = None,
    opened: dt.date | str | None = None,
) -> dict[str, Any]:
    """Raise a dispute: append it to the journal durably and return its row.

    Parameters
    ----------
    source : path
        The data source (folder, workbook or database) the dispute is about.
    rep_id : str
        Rep raising it.
    period : str
        Statement period disputed (``2026-Q3``).
    amount : float
        Amount claimed (currency, >= 0).
    reason : str
        The rep's words.
    category : str
        One of :data:`CATEGORIES`.
    line : str, optional
        The statement line disputed (e.g. ``2026-08 new_business attainment_tiers``).
    request_id : str, optional
        Idempotency key: a second call with the same key returns the first row.
    opened : date, optional
        Date raised (default today).

    Returns
    -------
    dict
        The stored row, with its ``dispute_id`` (``W`` and a sequence number).
    """
    if category not in CATEGORIES:
        raise SpmConfigError(f"category must be one of {', '.join(CATEGORIES)}, got {category!r}")
    try:
        claimed = round(float(amount), 2)
    except (TypeError, ValueError):
        raise SpmConfigError(f"amount must be a number, got {amount!r}") from None
    if not claimed >= 0 or claimed == float("inf"):
        raise SpmConfigError(f"amount claimed must be a finite amount >= 0, got {amount!r}")
    if not str(reason).strip():
        raise SpmConfigError("a dispute needs a reason")
    day = pd.Timestamp(opened if opened is not None else dt.date.today()).date().isoformat()
    now = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")

    def make(events: list[dict[str, Any]]) -> tuple[dict[str, Any], bool]:
        opens = [e for e in events if e.get("op") == "open"]
        if request_id:
            for e in opens:
                if e.get("request_id") == request_id:
                    return e, False
        # the same dispute sent twice within seconds (a double-click, a retried request) is
        # one dispute
        for e in reversed(opens[-20:]):
            same = (
                e.get("rep_id") == str(rep_id)
                and e.get("period") == str(period)
                and e.get("amount") == claimed
                and e.get("reason") == str(reason).strip()
                and e.get("line") == line
                and e.get("category") == category
            )
            if same and _seconds_between(e.get("written_at"), now) <= DUPLICATE_SECONDS:
                return e, False
        row = {
            "op": "open",
            "dispute_id": f"W{len(opens) + 1:06d}",
            "rep_id": str(rep_id),
            "period": str(period),
            "category": category,
            "amount": claimed,
            "opened_date": day,
            "line": line,
            "reason": str(reason).strip(),
            "request_id": request_id,
            "written_at": now,
        }
        return row, True

    return _append(journal_path(source), make)


def resolve_dispute(
    source: str | os.PathLike[str],
    dispute_id: str,
    status: str,
    resolution_amount: float | None = None,
    *,
    resolved: dt.date | str | None = None,
) -> dict[str, Any]:
    """Close a journal dispute (``resolved`` with an amount granted, or ``rejected``)."""
    if status not in ("resolved", "rejected"):
        raise SpmConfigError(f"status must be 'resolved' or 'rejected', got {status!r}")
    if not journal_path(source).exists():  # nothing raised through the apps: touch no file
        raise SpmConfigError(
            f"no dispute {dispute_id!r} in the journal (no dispute has been raised in the apps)"
        )
    day = pd.Timestamp(resolved if resolved is not None else dt.date.today()).date().isoformat()
    granted = 0.0 if status == "rejected" else round(float(resolution_amount or 0.0), 2)
    if not 0 <= granted < float("inf"):
        raise SpmConfigError(f"the amount granted must be >= 0, got {resolution_amount!r}")

    def make(events: list[dict[str, Any]]) -> tuple[dict[str, Any], bool]:
        opened = [e for e in events if e.get("op") == "open" and e["dispute_id"] == dispute_id]
        if not opened:
            raise SpmConfigError(f"no dispute {dispute_id!r} in the journal")
        closed = [e for e in events if e.get("op") == "resolve" and e["dispute_id"] == dispute_id]
        if closed:
            last = closed[-1]
            raise SpmConfigError(
                f"dispute {dispute_id!r} is already {last['status']} "
                f"({last['resolved_date']}, {float(last['resolution_amount']):,.2f})"
            )
        claimed = opened[-1].get("amount")
        if claimed is not None and not pd.isna(claimed) and granted > float(claimed) + 1e-9:
            raise SpmConfigError(
                f"the amount granted ({granted:,.2f}) is more than dispute {dispute_id!r} "
                f"claims ({float(claimed):,.2f})"
            )
        return {
            "op": "resolve",
            "dispute_id": dispute_id,
            "status": status,
            "resolved_date": day,
            "resolution_amount": granted,
            "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        }, True

    return _append(journal_path(source), make)


def journal_disputes(source: str | os.PathLike[str]) -> pd.DataFrame:
    """Disputes raised through the journal, with their latest status (:data:`COLUMNS`)."""
    rows: dict[str, dict[str, Any]] = {}
    for e in _read_events(journal_path(source)):
        if e.get("op") == "open":
            rows[e["dispute_id"]] = {
                **{k: e.get(k) for k in COLUMNS},
                "status": "open",
                "origin": "journal",
            }
        elif e.get("op") == "resolve" and e.get("dispute_id") in rows:
            rows[e["dispute_id"]].update(
                status=e["status"],
                resolved_date=e["resolved_date"],
                resolution_amount=e["resolution_amount"],
            )
    df = pd.DataFrame(list(rows.values()), columns=COLUMNS)
    for c in ("opened_date", "resolved_date"):
        df[c] = pd.to_datetime(df[c])
    for c in ("amount", "resolution_amount"):
        df[c] = pd.to_numeric(df[c]).astype(float)
    return df


def read_disputes(
    source: str | os.PathLike[str],
    base: pd.DataFrame | None = None,
    *,
    status: str | None = None,
    reps: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Return the disputes table: the data source's rows (``base``) plus the journal's.

    Parameters
    ----------
    source : path
        The data source (its journal is read).
    base : DataFrame, optional
        The source's own ``disputes`` table (``Dataset.disputes``).
    status : str, optional
        Keep one status (``open``, ``resolved``, ``rejected``).
    reps : iterable of str, optional
        Keep these reps' disputes only.

    Returns
    -------
    DataFrame
        :data:`COLUMNS`, oldest first; money in the data currency.
    """
    if status is not None and status not in STATUSES:
        raise SpmConfigError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    parts = []
    if base is not None and len(base):
        b = base.copy()
        for c in COLUMNS:
            if c not in b:
                b[c] = None
        b["origin"] = "table"
        parts.append(b[COLUMNS])
    j = journal_disputes(source)
    if reps is not None:
        keep = list(reps)
        j = j[j["rep_id"].isin(keep)]
        parts = [p[p["rep_id"].isin(keep)] for p in parts]
    parts.append(j)
    out = pd.concat([p.astype({"rep_id": object}) for p in parts], ignore_index=True)
    for c in ("opened_date", "resolved_date"):
        out[c] = pd.to_datetime(out[c])
    if status is not None:
        out = out[out["status"] == status]
    return out.sort_values(["opened_date", "dispute_id"], kind="stable").reset_index(drop=True)


def with_disputes(ds: Any, source: str | os.PathLike[str] | None = None) -> Any:
    """Return ``ds`` whose ``disputes`` table includes the journal (for dispute analytics)."""
    src = source if source is not None else ds.source
    return ds.replace(disputes=read_disputes(src, ds.disputes))
