"""Validation reports a root cause once; formats are recognised by content (issue 15)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from spm_model.cli import main
from spm_model.data import load_dataset
from spm_model.data.io import infer_format, sniff_format
from spm_model.errors import SpmDataError
from tests.data.tiny import tiny_dataset

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"


def run(argv, monkeypatch, capsys) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["spm", *map(str, argv)])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def sample(tmp_path):
    target = tmp_path / "sample"
    shutil.copytree(SAMPLE, target)
    return target


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


@pytest.mark.parametrize("content", ["", "header"], ids=["empty file", "header only"])
def test_table_without_rows_is_one_root_cause_with_a_one_line_summary(
    sample, content, monkeypatch, capsys
):
    txn = sample / "transactions.csv"
    header = txn.read_text().splitlines()[0]
    txn.write_text(header + "\n" if content == "header" else "")
    code, _, err = run(["validate", sample], monkeypatch, capsys)
    assert code == 1
    lines = _error_lines(err)
    assert lines[0] == "error: 1 problem(s) found:"
    assert lines[1].startswith(f"  - {txn}: transactions has no rows")
    # every dangling reference into it is one indented line, counted
    assert len(lines) == 3, err
    assert "refer to transactions" in lines[2] and "splits.txn_id" in lines[2]
    assert lines[2].startswith("      ") and "not listed" in lines[2]
    with pytest.raises(SpmDataError) as exc:
        load_dataset(sample)
    roots = [p for p in exc.value.problems if p.cause is None]
    assert len(roots) == 1 and roots[0].message.startswith("transactions has no rows")


def test_missing_required_table_summarises_references_under_it(sample, monkeypatch, capsys):
    (sample / "transactions.csv").unlink()
    code, _, err = run(["validate", sample], monkeypatch, capsys)
    lines = _error_lines(err)
    assert code == 1 and len(lines) == 3, err
    assert "required table 'transactions' is missing" in lines[1]
    assert "refer to transactions" in lines[2]


def test_empty_optional_table_is_fine(sample):
    (sample / "splits.csv").write_text("")
    ds = load_dataset(sample)
    assert len(ds.splits) == 0 and "txn_id" in ds.splits.columns


def test_renamed_column_suggests_the_closest_present_name(sample, monkeypatch, capsys):
    txn = sample / "transactions.csv"
    lines = txn.read_text().splitlines(keepends=True)
    lines[0] = lines[0].replace("amount", "amt")
    txn.write_text("".join(lines))
    code, _, err = run(["validate", sample], monkeypatch, capsys)
    assert code == 1
    first = _error_lines(err)[1]
    assert "column 'amount': required column is missing" in first
    assert "did you mean 'amt'?" in first
    # a typo is matched too (difflib), and nothing is suggested when nothing is close
    lines[0] = lines[0].replace("amt", "ammount")
    txn.write_text("".join(lines))
    with pytest.raises(SpmDataError, match="did you mean 'ammount'"):
        load_dataset(sample)
    lines[0] = lines[0].replace("ammount", "zzz")
    txn.write_text("".join(lines))
    with pytest.raises(SpmDataError) as exc:
        load_dataset(sample)
    assert "did you mean" not in str(exc.value)


@pytest.mark.parametrize("fmt", ["xlsx", "duckdb"])
def test_file_formats_recognised_by_content(tmp_path, fmt):
    ds = tiny_dataset()
    bare = tmp_path / "company"  # no extension
    ds.save(bare, fmt)
    assert sniff_format(bare) == fmt and infer_format(bare) == fmt
    assert len(load_dataset(bare).transactions) == len(ds.transactions)
    # a wrong extension does not fool it either
    wrong = tmp_path / ("company.duckdb" if fmt == "xlsx" else "company.xlsx")
    shutil.copy(bare, wrong)
    assert infer_format(wrong) == fmt


@pytest.mark.parametrize("fmt", ["xlsx", "duckdb"])
def test_generate_adds_the_extension_and_validate_reads_it(tmp_path, fmt, monkeypatch, capsys):
    out = tmp_path / "gen"
    code, stdout, err = run(
        ["generate", out, "--format", fmt, "--reps", "12", "--accounts", "60", "--years", "1"],
        monkeypatch,
        capsys,
    )
    assert code == 0, err
    written = out.with_suffix(f".{fmt}")
    assert written.is_file() and f"wrote {written}" in stdout
    code, stdout, err = run(["validate", written], monkeypatch, capsys)
    assert code == 0 and "valid" in stdout, err


@pytest.mark.parametrize("table", ["activities", "opportunities"])
def test_a_company_without_crm_activity_is_still_valid(sample, table, monkeypatch, capsys):
    """Only the core tables must have rows; an empty activities or pipeline export loads."""
    path = sample / f"{table}.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    if table == "opportunities":  # activities name their opportunity: blank those links
        acts = sample / "activities.csv"
        lines = acts.read_text().splitlines()
        col = lines[0].split(",").index("opportunity_id")
        rows = [line.split(",") for line in lines[1:]]
        for r in rows:
            r[col] = ""
        acts.write_text("\n".join([lines[0], *(",".join(r) for r in rows)]) + "\n")
    ds = load_dataset(sample)
    assert len(ds[table]) == 0 and len(ds.transactions) > 0
    code, _, _ = run(["validate", sample], monkeypatch, capsys)
    assert code == 0


def test_references_into_an_optional_empty_table_are_listed(sample, monkeypatch, capsys):
    """An empty opportunities table is allowed, so activities naming one are real errors."""
    path = sample / "opportunities.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    code, _, err = run(["validate", sample], monkeypatch, capsys)
    assert code == 1
    assert "is not a known opportunities.opportunity_id" in err
    assert "0 problem(s)" not in err
