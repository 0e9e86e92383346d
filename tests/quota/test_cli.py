"""spm quota and spm quota-backtest."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from spm_model.cli import main
from tests.quota.conftest import SAMPLE


def run(argv, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["spm", *map(str, argv)])
    code = 0
    try:
        main()
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_spm_quota_writes_the_quotas_table(tmp_path, monkeypatch, capsys):
    out = tmp_path / "quotas.csv"
    code, so, se = run(
        [
            "quota",
            "--data",
            SAMPLE,
            "--target",
            "40000000",
            "--method",
            "blend",
            "--over-assign",
            "0.1",
            "--year",
            "2026",
            "--out",
            out,
            "--excel",
            tmp_path / "q.xlsx",
        ],
        monkeypatch,
        capsys,
    )
    assert code == 0, se
    q = pd.read_csv(out)
    assert list(q.columns) == ["rep_id", "period", "measure", "amount"]
    assert "written to" in so and (tmp_path / "q.xlsx").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "-5"], "positive amount"),
        (["--target", "0"], "positive amount"),
        (["--weights", "history=0.6,potential=0.6"], "sum to 1"),
        (["--over-assign", "abc"], "over-assign"),
    ],
)
def test_bad_input_exits_1_and_writes_nothing(tmp_path, monkeypatch, capsys, args, message):
    out = tmp_path / "quotas.csv"
    code, _, se = run(
        ["quota", "--data", SAMPLE, "--year", "2026", "--out", out, *args], monkeypatch, capsys
    )
    assert code == 1
    assert message in se
    assert not out.exists()


def test_spm_quota_backtest_prints_every_method(tmp_path, monkeypatch, capsys):
    code, so, se = run(
        ["quota-backtest", "--data", SAMPLE, "--out", tmp_path / "bt.csv"], monkeypatch, capsys
    )
    assert code == 0, se
    assert "FY2025" in so
    t = pd.read_csv(tmp_path / "bt.csv")
    assert len(t) == 6


def _sample_without_services(folder):
    """The sample company as if nobody had ever sold services (saved to ``folder``)."""
    from spm_model.data import Dataset, load_dataset

    ds = load_dataset(SAMPLE)
    services = set(ds.products.loc[ds.products["measure"] == "services", "product_id"])
    kept = ds.transactions[~ds.transactions["product_id"].isin(services)]
    tables = {**ds.tables, "transactions": kept}
    for name in ("credit_exceptions", "splits"):  # rows on the removed transactions go too
        tables[name] = ds[name][ds[name]["txn_id"].isin(kept["txn_id"])]
    Dataset(tables, meta=ds.meta).save(folder)
    return folder


def test_a_measure_nobody_sold_stops_the_run_or_is_left_out(tmp_path, monkeypatch, capsys):
    data = _sample_without_services(tmp_path / "young")
    out = tmp_path / "quotas.csv"
    args = ["quota", "--data", data, "--year", "2026", "--out", out, "-q"]
    code, _, se = run(args, monkeypatch, capsys)
    assert code == 1 and "measure 'services': no rep has history" in se
    assert "--skip-unset" in se and not out.exists()
    code, so, se = run([*args, "--skip-unset"], monkeypatch, capsys)
    assert code == 0, se
    assert "note: measure 'services': no rep has history to set quotas from" in so + se
    assert set(pd.read_csv(out)["measure"]) == {"meetings", "new_business", "renewal"}


def test_the_backtest_scores_the_measures_it_can(tmp_path, monkeypatch, capsys):
    """A backtest leaves out (noted) a measure nobody has history for; --no-skip-unset stops."""
    data = _sample_without_services(tmp_path / "young")
    out = tmp_path / "bt.csv"
    code, so, se = run(["quota-backtest", "--data", data, "--out", out, "-q"], monkeypatch, capsys)
    assert code == 0, se
    assert "note: measure 'services': no rep has history before FY2025; left out" in so
    assert len(pd.read_csv(out)) == 6
    out.unlink()
    args = ["quota-backtest", "--data", data, "--out", out, "--no-skip-unset", "-q"]
    code, _, se = run(args, monkeypatch, capsys)
    assert code == 1 and "measure 'services': no rep has history" in se
    assert not out.exists()
