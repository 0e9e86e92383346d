"""`spm serve --issue-links` and `spm disputes`."""

from __future__ import annotations

import re

import pandas as pd
from typer.testing import CliRunner

from spm_model.apps.access import read_access, resolve_token
from spm_model.cli import app
from spm_model.data.disputes import append_dispute

runner = CliRunner()


def test_issue_links_prints_tokens_once_and_stores_hashes(tmp_path):
    access = tmp_path / "access.yaml"
    res = runner.invoke(
        app,
        [
            "serve",
            "--data",
            "data/sample",
            "--plans",
            "templates/plans",
            "--access",
            str(access),
            "--issue-links",
            "--for",
            "R0013",
            "--for",
            "R0006",
            "--for",
            "finance",
        ],
    )
    assert res.exit_code == 0, res.output
    tokens = set(re.findall(r"\?key=([\w-]+)", res.output))
    assert len(tokens) == 3
    assert "my_team.ipynb" in res.output and "http://localhost:8866/voila/render/" in res.output
    text = access.read_text()
    entries = read_access(access)
    assert all(t not in text for t in tokens)
    kinds = sorted(resolve_token(t, entries).kind for t in tokens)
    assert kinds == ["finance", "manager", "rep"]


def test_serve_refuses_without_links(tmp_path):
    res = runner.invoke(
        app,
        [
            "serve",
            "--data",
            "data/sample",
            "--plans",
            "templates/plans",
            "--access",
            str(tmp_path / "none.yaml"),
        ],
    )
    assert res.exit_code != 0
    assert "issue them first" in str(res.exception) + res.output


def test_disputes_lists_the_journal_with_the_table(tmp_path):
    import shutil

    data = tmp_path / "company"
    shutil.copytree("data/sample", data)
    (data / "disputes.journal.jsonl").unlink(missing_ok=True)
    row = append_dispute(data, "R0013", "2026-Q3", 321.5, "deal missing")
    res = runner.invoke(app, ["disputes", "--data", str(data), "--status", "open"])
    assert res.exit_code == 0, res.output
    assert row["dispute_id"] in res.output and "deal missing" in res.output
    res = runner.invoke(app, ["disputes", "--data", str(data), "--reject", row["dispute_id"]])
    assert res.exit_code == 0 and "rejected" in res.output
    res = runner.invoke(app, ["disputes", "--data", str(data), "--status", "open"])
    assert row["dispute_id"] not in res.output
    res = runner.invoke(app, ["disputes", "--data", str(data), "--summary"])
    assert res.exit_code == 0 and "by_category" in res.output


def test_a_dispute_is_closed_once_for_no_more_than_it_claims(tmp_path):
    """A grant above the claim, a negative grant, --resolve without --grant, both flags and a
    second decision on a closed dispute were all accepted."""
    import shutil

    data = tmp_path / "company"
    shutil.copytree("data/sample", data)
    (data / "disputes.journal.jsonl").unlink(missing_ok=True)
    d = append_dispute(data, "R0013", "2026-Q3", 1500.0, "deal missing")["dispute_id"]
    base = ["disputes", "--data", str(data)]
    for extra, message in (
        (["--resolve", d, "--grant", "2000"], "more than dispute"),
        (["--resolve", d, "--grant", "-50"], "must be >= 0"),
        (["--resolve", d], "--resolve needs --grant"),
        (["--resolve", d, "--reject", d, "--grant", "1"], "choose one"),
        (["--reject", d, "--grant", "1"], "--reject grants nothing"),
    ):
        res = runner.invoke(app, [*base, *extra])
        assert res.exit_code == 1 and message in str(res.exception), (extra, res.output)
    res = runner.invoke(app, [*base, "--resolve", d, "--grant", "1500"])
    assert res.exit_code == 0 and "resolved (1,500.00)" in res.output
    res = runner.invoke(app, [*base, "--reject", d])
    assert res.exit_code == 1 and "is already resolved" in str(res.exception)


def test_sigterm_to_spm_serve_stops_the_server_it_started():
    """`kill`, `docker stop` and service managers send SIGTERM: the voila child must stop too
    (before, `spm serve` died at once and left the server running, port and kernels)."""
    import os
    import signal
    import subprocess
    import sys

    from spm_model.cli.apps import _stop_child_on_signals

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    before = signal.getsignal(signal.SIGTERM)
    restore = _stop_child_on_signals(child)
    try:
        os.kill(os.getpid(), signal.SIGTERM)  # handled in the main thread: asks the child to stop
        assert child.wait(timeout=20) == -signal.SIGTERM
    finally:
        restore()
        if child.poll() is None:
            child.kill()
    assert signal.getsignal(signal.SIGTERM) is before


def test_default_links_skip_people_who_have_left_and_their_page_says_why(tmp_path):
    from spm_model.apps.access import Scope, scopes_for_company
    from spm_model.apps.session import _for_people
    from spm_model.data import load_dataset

    ds = load_dataset("data/sample")
    left = set(ds.reps.loc[ds.reps["end_date"] < pd.Timestamp(str(ds.as_of)), "rep_id"])
    assert left  # the sample company has leavers
    keys = {s.rep_id for s in scopes_for_company(ds.reps, as_of=ds.as_of)}
    assert not (keys & left) and len(keys - {None}) == len(ds.reps) - len(left)
    res = runner.invoke(
        app,
        [
            "serve",
            "--data",
            "data/sample",
            "--plans",
            "templates/plans",
            "--access",
            str(tmp_path / "a.yaml"),
            "--issue-links",
        ],
    )
    assert res.exit_code == 0, res.output
    assert f"{len(left)} people who left before {ds.as_of} get no link" in res.output
    # a leaver's page (a link issued with --for) explains, without the server's paths
    msg = "1 problem(s) found:\n  - /srv/data/company, table reps: R0014 not employed on plan"
    shown = _for_people(msg, Scope("rep", "R0014"))
    assert "/srv" not in shown and "Ask your sales operations team" in shown
    other = _for_people("1 problem(s) found:\n  - /srv/data/x, table quotas: bad", None)
    assert other == "1 problem(s) found:\n  - table quotas: bad"
