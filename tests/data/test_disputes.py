"""Disputes journal: concurrent writers lose or duplicate nothing, a killed one breaks nothing."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from spm_model.data.disputes import (
    append_dispute,
    journal_path,
    read_disputes,
    resolve_dispute,
    with_disputes,
)
from spm_model.errors import SpmConfigError


def _submit(args: tuple[str, int, int, object]) -> list[str]:
    folder, worker, n, barrier = args
    barrier.wait()  # type: ignore[attr-defined]
    out = []
    for i in range(n):
        row = append_dispute(
            folder,
            f"R{worker:04d}",
            "2026-Q3",
            100 + i,
            f"worker {worker} claim {i}",
            request_id=f"w{worker}-{i}",
        )
        out.append(row["dispute_id"])
    return out


def test_fifty_concurrent_submissions_from_five_processes(tmp_path):
    ctx = mp.get_context("fork")
    barrier = ctx.Manager().Barrier(5)
    with ctx.Pool(5) as pool:
        ids = pool.map(_submit, [(str(tmp_path), w, 10, barrier) for w in range(5)])
    flat = [i for part in ids for i in part]
    table = read_disputes(tmp_path)
    assert len(table) == 50
    assert sorted(flat) == sorted(table["dispute_id"])
    assert table["dispute_id"].is_unique
    assert sorted(table["dispute_id"]) == [f"W{i:06d}" for i in range(1, 51)]
    assert (table["status"] == "open").all()
    assert table.groupby("rep_id").size().tolist() == [10] * 5
    # every line of the file is one complete row
    lines = journal_path(tmp_path).read_bytes().split(b"\n")
    assert lines[-1] == b"" and all(json.loads(x) for x in lines[:-1])


def test_a_repeated_request_is_stored_once(tmp_path):
    a = append_dispute(tmp_path, "R0013", "2026-Q3", 50, "missing deal", request_id="click-1")
    b = append_dispute(tmp_path, "R0013", "2026-Q3", 50, "missing deal", request_id="click-1")
    assert a == b
    assert len(read_disputes(tmp_path)) == 1


def test_the_same_dispute_sent_twice_within_seconds_is_one(tmp_path):
    """A double-click sends the form twice, each with a fresh request id."""
    a = append_dispute(tmp_path, "R0013", "2026-Q3", 50, "missing deal", request_id="x1")
    b = append_dispute(tmp_path, "R0013", "2026-Q3", 50, "missing deal ", request_id="x2")
    assert a == b and len(read_disputes(tmp_path)) == 1
    c = append_dispute(tmp_path, "R0013", "2026-Q3", 60, "missing deal", request_id="x3")
    assert c["dispute_id"] == "W000002"  # another amount: another dispute
    assert len(read_disputes(tmp_path)) == 2


def test_a_writer_killed_mid_row_leaves_a_readable_table(tmp_path):
    for i in range(3):
        append_dispute(tmp_path, "R0013", "2026-Q3", 10 * i, f"claim {i}")
    # a child process writes half a row and is killed (SIGKILL) before finishing it
    code = textwrap.dedent(
        f"""
        import os, signal
        import spm_model.data.disputes as d
        real = os.write
        def half(fd, data):
            real(fd, data[: len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        d.os.write = half
        d.append_dispute({str(tmp_path)!r}, "R0014", "2026-Q3", 99.5, "never finished")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], check=False)
    assert proc.returncode == -signal.SIGKILL
    raw = journal_path(tmp_path).read_bytes()
    assert not raw.endswith(b"\n")  # the partial row is there ...
    table = read_disputes(tmp_path)  # ... and the table is readable without it
    assert len(table) == 3 and "R0014" not in set(table["rep_id"])
    # the next writer drops the partial row, under the lock
    row = append_dispute(tmp_path, "R0015", "2026-Q3", 5, "after the crash")
    assert row["dispute_id"] == "W000004"
    assert len(read_disputes(tmp_path)) == 4
    assert all(json.loads(x) for x in journal_path(tmp_path).read_bytes().splitlines())


def test_a_writer_killed_at_random_leaves_only_whole_rows(tmp_path):
    code = textwrap.dedent(
        f"""
        import spm_model.data.disputes as d
        i = 0
        while True:
            d.append_dispute({str(tmp_path)!r}, "R0013", "2026-Q3", i, "loop " + "x" * 500)
            i += 1
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        p = journal_path(tmp_path)
        if p.exists() and p.read_bytes().count(b"\n") >= 20:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    table = read_disputes(tmp_path)
    assert len(table) >= 20
    assert table["amount"].tolist() == [float(i) for i in range(len(table))]


def test_resolution_and_analytics_read_the_same_table(tmp_path):
    from spm_model.calc.replay import dispute_summary
    from spm_model.data import Dataset

    a = append_dispute(tmp_path, "R0013", "2026-Q3", 120.0, "split missing", opened="2026-09-01")
    append_dispute(tmp_path, "R0014", "2026-Q3", 80.0, "wrong quota", category="quota")
    resolve_dispute(tmp_path, a["dispute_id"], "resolved", 100.0, resolved="2026-09-11")
    assert read_disputes(tmp_path, status="open")["rep_id"].tolist() == ["R0014"]
    base = pd.DataFrame(
        {
            "dispute_id": ["D0001"],
            "rep_id": ["R0013"],
            "period": ["2026-Q2"],
            "category": ["other"],
            "amount": [10.0],
            "opened_date": pd.to_datetime(["2026-07-01"]),
            "resolved_date": pd.to_datetime(["2026-07-05"]),
            "status": ["resolved"],
            "resolution_amount": [10.0],
        }
    )
    reps = pd.DataFrame({"rep_id": ["R0013", "R0014"], "region": ["West", "East"]})
    ds = with_disputes(Dataset({"disputes": base, "reps": reps}), tmp_path)
    assert len(ds.disputes) == 3
    s = dispute_summary(ds)["overall"].iloc[0]
    assert (s["disputes"], s["open"], s["resolved"]) == (3, 1, 2)
    assert s["claimed"] == pytest.approx(210.0) and s["granted"] == pytest.approx(110.0)
    assert read_disputes(tmp_path, base, reps=["R0014"])["dispute_id"].tolist() == ["W000002"]


def test_bad_submissions_are_refused(tmp_path):
    with pytest.raises(SpmConfigError, match="amount"):
        append_dispute(tmp_path, "R0013", "2026-Q3", -1, "negative")
    with pytest.raises(SpmConfigError, match="reason"):
        append_dispute(tmp_path, "R0013", "2026-Q3", 1, "  ")
    with pytest.raises(SpmConfigError, match="category"):
        append_dispute(tmp_path, "R0013", "2026-Q3", 1, "x", category="vibes")
    with pytest.raises(SpmConfigError, match="no dispute"):
        resolve_dispute(tmp_path, "W000001", "rejected")
    assert not journal_path(tmp_path).exists() or read_disputes(tmp_path).empty


def test_closing_a_dispute_nobody_raised_touches_no_file(tmp_path):
    with pytest.raises(SpmConfigError, match="no dispute 'D9' in the journal"):
        resolve_dispute(tmp_path, "D9", "rejected")
    assert list(tmp_path.iterdir()) == []
    append_dispute(tmp_path, "R0013", "2026-Q3", 120.0, "split missing")
    with pytest.raises(SpmConfigError, match="no dispute 'D9' in the journal"):
        resolve_dispute(tmp_path, "D9", "rejected")


def test_cli_summary_keeps_the_chosen_status_and_reps(tmp_path):
    from typer.testing import CliRunner

    from spm_model.cli import app

    sample = Path(__file__).resolve().parents[2] / "data" / "sample"
    r = CliRunner().invoke(app, ["disputes", "--data", str(sample), "--summary", "--rep", "R9999"])
    assert r.exit_code == 0 and r.output.strip() == "no disputes", r.output
    table = read_disputes(sample, pd.read_csv(sample / "disputes.csv"))
    rep = table["rep_id"].value_counts().index[0]
    r = CliRunner().invoke(app, ["disputes", "--data", str(sample), "--summary", "--rep", rep])
    overall = r.output.split("== by_category")[0].splitlines()
    assert int(overall[2].split()[0]) == int((table["rep_id"] == rep).sum()) < len(table)
