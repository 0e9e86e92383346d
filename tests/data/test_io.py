"""Round trips through every format, extra tables, and atomic writes."""

from __future__ import annotations

import pandas as pd
import pytest

from spm_model.data import Dataset, load_dataset
from spm_model.data.dataset import coerce_table
from spm_model.data.io import atomic_path, atomic_write_text, save_dataset
from spm_model.data.schema import TABLES
from spm_model.errors import SpmConfigError, SpmDataError
from tests.data.tiny import tiny_dataset

FORMATS = [("csv", "ds"), ("parquet", "ds"), ("xlsx", "ds.xlsx"), ("duckdb", "ds.duckdb")]


def canonical(ds: Dataset) -> dict[str, pd.DataFrame]:
    out = {}
    for name, df in ds.tables.items():
        if name in TABLES:
            df, problems = coerce_table(df, TABLES[name], name)
            assert problems == []
        out[name] = df.reset_index(drop=True)
    return out


def assert_same(a: Dataset, b: Dataset) -> None:
    ta, tb = canonical(a), canonical(b)
    assert list(ta) == list(tb)
    for name in ta:
        pd.testing.assert_frame_equal(ta[name], tb[name], check_dtype=True, obj=name)
    assert a.meta == b.meta


@pytest.mark.parametrize(("fmt", "name"), FORMATS)
def test_round_trip_every_format(tmp_path, fmt, name):
    ds = tiny_dataset(with_truth=True)
    target = tmp_path / name
    ds.save(target, fmt)
    back = load_dataset(target)
    assert_same(ds, back)
    # extra (ground-truth) tables come back with their exact dtypes
    for t in ("truth_reps", "truth_seasonality"):
        pd.testing.assert_frame_equal(back[t], ds[t], check_dtype=True)
    # and a second round trip is stable
    target2 = tmp_path / ("again_" + name)
    back.save(target2, fmt)
    assert_same(back, load_dataset(target2))


def test_format_is_inferred(tmp_path):
    ds = tiny_dataset()
    ds.save(tmp_path / "a.xlsx")
    ds.save(tmp_path / "a.duckdb")
    ds.save(tmp_path / "folder")
    assert (tmp_path / "folder" / "reps.csv").exists()
    ds.save(tmp_path / "pq", "parquet")
    assert load_dataset(tmp_path / "pq").meta.name == "tiny"
    assert load_dataset(tmp_path / "a.xlsx").reps.shape[0] == 4


def test_csv_bytes_are_deterministic(tmp_path):
    ds = tiny_dataset(with_truth=True)
    ds.save(tmp_path / "a")
    ds.save(tmp_path / "b")
    for p in sorted((tmp_path / "a").iterdir()):
        assert p.read_bytes() == (tmp_path / "b" / p.name).read_bytes(), p.name


def test_money_keeps_cents_for_large_amounts(tmp_path):
    ds = tiny_dataset()
    acc = ds.accounts.copy()
    acc.loc[0, "potential"] = 123456789012.34
    ds = ds.replace(accounts=acc)
    ds.save(tmp_path / "d")
    assert load_dataset(tmp_path / "d").accounts.loc[0, "potential"] == 123456789012.34


class Boom(RuntimeError):
    pass


@pytest.mark.parametrize(("fmt", "name"), FORMATS)
def test_failing_write_leaves_previous_target_intact(tmp_path, fmt, name, monkeypatch):
    target = tmp_path / name
    tiny_dataset().save(target, fmt)
    before = {p.name: p.read_bytes() for p in (target.iterdir() if target.is_dir() else [target])}

    bad = tiny_dataset()
    # a table that cannot be written halfway through
    import spm_model.data.io as io_mod

    real = io_mod._for_output if fmt in ("csv", "xlsx") else None
    calls = {"n": 0}

    def explode(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise Boom("disk full")
        return real(*args, **kwargs) if real else args[-1]

    if fmt in ("csv", "xlsx"):
        monkeypatch.setattr(io_mod, "_for_output", explode)
    elif fmt == "parquet":
        orig = pd.DataFrame.to_parquet

        def to_parquet(self, *a, **k):
            calls["n"] += 1
            if calls["n"] == 3:
                raise Boom("disk full")
            return orig(self, *a, **k)

        monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)
    else:
        orig_create = io_mod._create_duckdb_table

        def create(con, tname, df):
            calls["n"] += 1
            if calls["n"] == 3:
                raise Boom("disk full")
            return orig_create(con, tname, df)

        monkeypatch.setattr(io_mod, "_create_duckdb_table", create)
    with pytest.raises(Boom):
        save_dataset(bad, target, fmt)
    after = {p.name: p.read_bytes() for p in (target.iterdir() if target.is_dir() else [target])}
    assert after == before
    # no temporary leftovers beside the target
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_atomic_write_text(tmp_path):
    p = tmp_path / "out" / "x.txt"
    atomic_write_text(p, "one")
    assert p.read_text() == "one"
    with pytest.raises(Boom), atomic_path(p, is_dir=False) as tmp:
        tmp.write_text("two")
        raise Boom("interrupted")
    assert p.read_text() == "one"
    atomic_write_text(p, "three")
    assert p.read_text() == "three"
    assert sorted(x.name for x in p.parent.iterdir()) == ["x.txt"]


def test_save_keeps_other_files_and_refuses_non_dataset_folders(tmp_path):
    target = tmp_path / "ds"
    tiny_dataset().save(target)
    (target / "README.md").write_text("about this data")
    (target / ".ipynb_checkpoints").mkdir()
    (target / ".ipynb_checkpoints" / "x.txt").write_text("kept")
    tiny_dataset().save(target, "parquet")
    assert (target / "README.md").read_text() == "about this data"
    assert (target / ".ipynb_checkpoints" / "x.txt").read_text() == "kept"
    assert not list(target.glob("*.csv"))  # the old CSV tables are gone
    (target / "sub").mkdir()
    with pytest.raises(SpmConfigError, match="sub-folder"):
        tiny_dataset().save(target)


def test_xlsx_refuses_too_long_tables(tmp_path, monkeypatch):
    import spm_model.data.io as io_mod

    monkeypatch.setattr(io_mod, "_XLSX_MAX_ROWS", 3)
    with pytest.raises(SpmConfigError, match="more than an Excel sheet holds"):
        tiny_dataset().save(tmp_path / "x.xlsx")
    assert not (tmp_path / "x.xlsx").exists()


def test_missing_source_and_missing_tables(tmp_path):
    with pytest.raises(SpmDataError, match="no such file"):
        load_dataset(tmp_path / "nope")
    (tmp_path / "one.csv").write_text("a,b\n1,2\n")
    with pytest.raises(SpmDataError, match="not a dataset: expected a folder"):
        load_dataset(tmp_path / "one.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpmDataError) as err:
        load_dataset(tmp_path / "empty")
    missing = {p.table for p in err.value.problems}
    assert {"reps", "accounts", "transactions", "quotas"} <= missing
    assert "splits" not in missing  # optional table


def test_csv_and_parquet_of_same_table_is_a_problem(tmp_path):
    target = tmp_path / "ds"
    tiny_dataset().save(target)
    tiny_dataset().reps.to_parquet(target / "reps.parquet")
    with pytest.raises(SpmDataError, match=r"both reps\.csv and reps\.parquet"):
        load_dataset(target)


def test_foreign_extra_csv_is_loaded_with_inferred_types(tmp_path):
    target = tmp_path / "ds"
    tiny_dataset().save(target)
    (target / "notes.csv").write_text("k,v\na,1\nb,2\n")
    ds = load_dataset(target)
    assert ds["notes"]["v"].tolist() == [1, 2]


def test_malformed_csv_names_the_line(tmp_path):
    target = tmp_path / "ds"
    tiny_dataset().save(target)
    p = target / "products.csv"
    lines = p.read_text().splitlines()
    lines[2] += ",extra,cells"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(SpmDataError) as err:
        load_dataset(target)
    (prob,) = [x for x in err.value.problems if x.source.endswith("products.csv")]
    assert prob.row == 3 and "cannot read file" in prob.message
