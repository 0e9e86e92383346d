"""``spm scorecards`` end to end on the sample company (the last quarter)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from spm_model.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(argv, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["spm", *map(str, argv)])
    monkeypatch.chdir(ROOT)
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def test_scorecards_command_on_the_last_quarter(tmp_path, monkeypatch, capsys):
    out = tmp_path / "sc"
    code, stdout, err = run(
        ["scorecards", "--data", ROOT / "data" / "sample", "--period", "2026-Q3", "--out", out],
        monkeypatch,
        capsys,
    )
    assert code == 0, err
    assert "2026-Q3:" in stdout
    for name in (
        "scorecards.csv",
        "flags.csv",
        "drivers.csv",
        "drivers.txt",
        "leaderboards.csv",
        "trends.csv",
        "trends.png",
        "trends_by_role.csv",
        "trends_by_role.png",
        "performance.xlsx",
        "index.html",
    ):
        assert (out / name).is_file(), name
    card = pd.read_csv(out / "scorecards.csv")
    teams = sorted(card["team"].unique())
    assert len(list((out / "teams").glob("*.html"))) == len(teams)
    boards = pd.read_csv(out / "leaderboards.csv")
    assert {"company", "region", "team"} == set(boards["level"])
    assert boards["payout_now"].notna().sum() > 0.8 * len(card)
    assert "associations" in (out / "drivers.txt").read_text()
    page = next((out / "teams").glob("*.html")).read_text()
    assert "<h2>Coaching flags</h2>" in page and "<h2>Leaderboard</h2>" in page
    sheets = pd.read_excel(out / "performance.xlsx", sheet_name=None)
    assert {"scorecards", "flags", "drivers", "leaderboards", "trends"} <= set(sheets)


def test_scorecards_command_rejects_a_bad_period(tmp_path, monkeypatch, capsys):
    code, _, err = run(
        [
            "scorecards",
            "--data",
            ROOT / "data" / "sample",
            "--period",
            "2026-Q7",
            "--out",
            tmp_path,
        ],
        monkeypatch,
        capsys,
    )
    assert code == 1 and "--period" in err and "not a period label" in err
