"""``spm validate`` and ``spm generate`` end to end (through the real entry point)."""

from __future__ import annotations

import sys

import pytest

from spm_model.cli import main
from spm_model.data import load_dataset
from tests.data.defects import DEFECTS, meta_line
from tests.data.tiny import tiny_dataset


def run(argv, monkeypatch, capsys) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["spm", *map(str, argv)])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_validate_valid_folder_prints_summary(tmp_path, monkeypatch, capsys):
    tiny_dataset(with_truth=True).save(tmp_path / "ok")
    code, out, err = run(
        ["validate", tmp_path / "ok", "--summary-out", tmp_path / "r" / "s.md"], monkeypatch, capsys
    )
    assert code == 0, err
    assert "valid (tiny, currency USD)" in out
    for table in ("reps", "transactions", "truth_reps"):
        assert table in out
    md = (tmp_path / "r" / "s.md").read_text()
    assert md.startswith("| table | rows |") and "| transactions | 6 |" in md
    code, _, _ = run(
        ["validate", tmp_path / "ok", "--summary-out", tmp_path / "r" / "s.csv"],
        monkeypatch,
        capsys,
    )
    assert code == 0 and (tmp_path / "r" / "s.csv").read_text().startswith("table,rows,")


TEN = [
    "missing_column",
    "wrong_type",
    "null_required",
    "duplicate_key",
    "dangling_txn_account",
    "manager_cycle",
    "negative_quota",
    "end_before_start",
    "overlapping_owners",
    "unknown_currency",
]


def test_validate_lists_ten_defects_with_rows_and_exits_1(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "bad"
    tiny_dataset().save(folder)
    chosen = [d for d in DEFECTS if d.name in TEN]
    assert len(chosen) == 10
    for d in chosen:
        d.plant(folder)
    code, _, err = run(["validate", folder], monkeypatch, capsys)
    assert code == 1
    assert "error: 10 problem(s) found:" in err
    lines = [ln for ln in err.splitlines() if ln.startswith("  - ")]
    assert len(lines) == 10, err
    for d in chosen:
        row = meta_line(folder, d.column) if d.row == -1 else d.row
        word = "line" if d.file.endswith(".yaml") else "row"
        want = f"{d.file}, {word} {row}, column {d.column!r}"
        if d.file == "meta.yaml":
            assert any(want in ln and d.text in ln for ln in lines), (d.name, err)
        else:
            table = d.file.removesuffix(".csv")
            assert any(
                f"{folder / d.file}, " in ln
                and f"{word} {row}, column {d.column!r}" in ln
                and d.text in ln
                for ln in lines
            ), (d.name, table, err)


def test_validate_missing_source(tmp_path, monkeypatch, capsys):
    code, _, err = run(["validate", tmp_path / "nothing"], monkeypatch, capsys)
    assert code == 1 and "no such file or folder" in err


@pytest.mark.parametrize(
    ("fmt", "name"), [("csv", "g"), ("parquet", "g"), ("duckdb", "g.duckdb"), ("xlsx", "g.xlsx")]
)
def test_generate_every_format(tmp_path, monkeypatch, capsys, fmt, name):
    pytest.importorskip("spm_model.data.synthetic")
    out = tmp_path / name
    code, stdout, err = run(
        [
            "generate",
            out,
            "--reps",
            30,
            "--accounts",
            300,
            "--years",
            1,
            "--seed",
            2,
            "--format",
            fmt,
        ],
        monkeypatch,
        capsys,
    )
    assert code == 0, err
    assert f"wrote {out} ({fmt})" in stdout
    ds = load_dataset(out)
    assert len(ds.reps) > 0 and len(ds.transactions) > 0
    assert any(t.startswith("truth_") for t in ds.tables)


def test_generate_infers_format_and_rejects_bad_options(tmp_path, monkeypatch, capsys):
    pytest.importorskip("spm_model.data.synthetic")
    code, _, err = run(
        [
            "generate",
            tmp_path / "x.duckdb",
            "--reps",
            30,
            "--accounts",
            300,
            "--years",
            1,
            "--seed",
            2,
        ],
        monkeypatch,
        capsys,
    )
    assert code == 0, err
    assert (tmp_path / "x.duckdb").is_file()
    code, _, err = run(["generate", tmp_path / "y", "--reps", 2], monkeypatch, capsys)
    assert code == 2 and "--reps" in err
    code, _, err = run(["generate", tmp_path / "y", "--format", "json"], monkeypatch, capsys)
    assert code == 2 and "--format" in err
    assert not (tmp_path / "y").exists()


def test_validate_the_sample_company(monkeypatch, capsys):
    from pathlib import Path

    sample = Path(__file__).resolve().parents[2] / "data" / "sample"
    code, out, err = run(["validate", sample], monkeypatch, capsys)
    assert code == 0, err
    for table in ("reps", "accounts", "transactions", "opportunities", "activities", "quotas"):
        assert f"\n{table:>20} " in out or f" {table} " in out
