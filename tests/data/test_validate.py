"""Every class of bad input is reported with file, row, column and reason - all at once."""

from __future__ import annotations

import pandas as pd
import pytest

from spm_model.data import Dataset, load_dataset
from spm_model.data.validate import validate_dataset
from spm_model.errors import Problem, SpmDataError
from tests.data.defects import DEFECTS, Defect, meta_line, set_cell
from tests.data.tiny import tiny_dataset, tiny_meta, tiny_tables


@pytest.fixture
def folder(tmp_path):
    target = tmp_path / "company"
    tiny_dataset().save(target)
    return target


def problems_of(path) -> list[Problem]:
    with pytest.raises(SpmDataError) as err:
        load_dataset(path)
    return err.value.problems


def expected_row(defect: Defect, folder) -> int | None:
    return meta_line(folder, defect.column) if defect.row == -1 else defect.row


def matches(p: Problem, defect: Defect, folder) -> bool:
    return (
        p.source.endswith(defect.file)
        and p.row == expected_row(defect, folder)
        and p.column == defect.column
        and defect.text in p.message
    )


def test_tiny_dataset_is_valid(folder):
    assert tiny_dataset().validate() == []
    ds = load_dataset(folder)
    assert ds.validate(columns=False) == []
    assert len(ds.transactions) == 6


@pytest.mark.parametrize("defect", DEFECTS, ids=[d.name for d in DEFECTS])
def test_each_defect_is_reported_with_file_row_column(folder, defect):
    defect.plant(folder)
    problems = problems_of(folder)
    hits = [p for p in problems if matches(p, defect, folder)]
    assert hits, "\n".join(map(str, problems))
    text = str(hits[0])
    assert defect.file in text
    assert f"column {defect.column!r}" in text
    word = "line" if defect.file.endswith(".yaml") else "row"
    assert f"{word} {expected_row(defect, folder)}" in text


def test_all_defects_at_once(folder):
    # every defect on disjoint cells (the manager cycle and the dangling manager
    # both edit reps.manager_id on different rows)
    for d in DEFECTS:
        d.plant(folder)
    problems = problems_of(folder)
    missing = [d.name for d in DEFECTS if not any(matches(p, d, folder) for p in problems)]
    assert missing == [], "\n".join(map(str, problems))


def test_many_bad_rows_are_counted_not_listed(tmp_path):
    tables = tiny_tables()
    t = tables["transactions"]
    n = 120
    big = pd.concat([t.iloc[[0]]] * n, ignore_index=True)
    big["txn_id"] = [f"X{i}" for i in range(n)]
    big["account_id"] = "NOPE"
    tables["transactions"] = big
    ds = Dataset(tables, tiny_meta())
    problems = ds.validate()
    listed = [p for p in problems if p.column == "account_id" and p.row is not None]
    assert len(listed) == 50
    assert any("70 more rows" in p.message for p in problems)
    assert listed[0].row == 2 and listed[-1].row == 51


def test_in_memory_dataset_reports_type_problems():
    tables = tiny_tables()
    tables["transactions"] = tables["transactions"].assign(amount=["1", "x", "3", "4", "5", "-1"])
    ds = Dataset(tables, tiny_meta())
    problems = ds.validate()
    assert [(p.table, p.row, p.column) for p in problems] == [("transactions", 3, "amount")]
    with pytest.raises(SpmDataError, match="'x' is not a number"):
        ds.check()


def test_a_negative_booking_is_a_problem_with_its_row():
    tables = tiny_tables()
    tables["transactions"] = tables["transactions"].assign(
        amount=[10000.0, -5000.5, 2500.25, 1200.0, 800.0, -10000.0]
    )
    problems = Dataset(tables, tiny_meta()).validate()
    assert [(p.row, p.column) for p in problems] == [(3, "amount")]
    assert "a booking must have a zero or positive amount, got -5000.50" in problems[0].message


def test_cancellations_that_reverse_more_than_the_booking_are_named():
    """T1 booked 10,000.00; T6 cancels all of it, a second cancellation of 1.00 is one too many
    (crediting would reverse 10,001.00 silently); a cancellation of part of T2 is fine."""
    tables = tiny_tables()
    extra = pd.DataFrame(
        {
            "txn_id": ["T7", "T8"],
            "kind": ["cancellation", "cancellation"],
            "amount": [-1.0, -2500.0],
            "original_txn_id": ["T1", "T2"],
        }
    )
    t = tables["transactions"]
    rows = t.iloc[[5, 5]].copy().reset_index(drop=True)
    for col in extra.columns:
        rows[col] = extra[col]
    tables["transactions"] = pd.concat([t, rows], ignore_index=True)
    problems = Dataset(tables, tiny_meta()).validate()
    assert [(p.row, p.column) for p in problems] == [(8, "amount")]
    assert "cancellations of T1 reverse more than it booked (10,000.00)" in problems[0].message


def test_meta_problems_are_reported_per_field(folder):
    p = folder / "meta.yaml"
    p.write_text(p.read_text().replace("fy_start_month: 1", "fy_start_month: 13"))
    problems = problems_of(folder)
    (prob,) = [x for x in problems if x.column == "fy_start_month"]
    assert prob.row == meta_line(folder, "fy_start_month")
    assert "less than or equal to 12" in prob.message
    assert str(prob).startswith(str(p) + ", line ")


def test_a_misspelt_setting_is_reported_not_defaulted(folder):
    p = folder / "meta.yaml"
    p.write_text(p.read_text().replace("fy_start_month: 1", "fy_start_mnth: 4") + "notes: ok\n")
    problems = problems_of(folder)
    (prob,) = [x for x in problems if x.column == "fy_start_mnth"]
    assert prob.row == meta_line(folder, "fy_start_mnth")
    assert "did you mean 'fy_start_month'?" in prob.message
    assert not [x for x in problems if x.column == "notes"]  # other extra keys are kept


def test_declared_end_before_start(folder):
    p = folder / "meta.yaml"
    p.write_text(p.read_text().replace("end_date: '2024-12-31'", "end_date: '2023-12-31'"))
    problems = problems_of(folder)
    assert any(x.column == "end_date" and "before start_date" in x.message for x in problems)


def test_parent_account_cycle_and_self_manager():
    tables = tiny_tables()
    tables["accounts"].loc[0, "parent_account_id"] = "A2"  # A1 -> A2 -> A1
    tables["reps"].loc[3, "manager_id"] = "R3"  # R3 manages itself
    problems = Dataset(tables, tiny_meta()).validate()
    msgs = {(p.table, p.row, p.message) for p in problems}
    assert ("accounts", 2, "parent account cycle: A1 -> A2 -> A1") in msgs
    assert ("reps", 5, "manager cycle: R3 -> R3") in msgs


def test_long_manager_chain_is_not_a_cycle():
    n = 3000
    ids = [f"P{i:05d}" for i in range(n)]
    reps = pd.concat([tiny_tables()["reps"].iloc[[1]]] * n, ignore_index=True)
    reps["rep_id"] = ids
    reps["manager_id"] = [None, *ids[:-1]]
    ds = Dataset({"reps": reps}, tiny_meta())
    from spm_model.data.validate import _cycles

    assert _cycles(ds, "reps", "rep_id", "manager_id", "manager") == []
    reps.loc[0, "manager_id"] = ids[-1]
    (p,) = _cycles(Dataset({"reps": reps}, tiny_meta()), "reps", "rep_id", "manager_id", "manager")
    assert p.row == 2
    assert p.message.startswith("manager cycle: P00000 -> P02999 -> P02998")
    assert "(3000 in the cycle)" in p.message and p.message.endswith("P00001 -> P00000")


def test_overlap_contained_in_longer_assignment():
    tables = tiny_tables()
    a = tables["assignments"]
    extra = pd.DataFrame(
        {
            "account_id": ["A3"],
            "rep_id": ["R1"],
            "role": ["owner"],
            "start_date": pd.to_datetime(["2024-03-01"]),
            "end_date": pd.to_datetime(["2024-03-31"]),
        }
    )
    tables["assignments"] = pd.concat([a, extra], ignore_index=True)
    problems = Dataset(tables, tiny_meta()).validate()
    (p,) = problems
    assert (p.row, p.column) == (8, "start_date")
    assert "overlaps another owner assignment (row 5)" in p.message


def test_overlays_may_overlap_owners():
    tables = tiny_tables()
    assert tables["assignments"]["role"].tolist().count("overlay") == 1
    assert Dataset(tables, tiny_meta()).validate() == []


@pytest.mark.parametrize(
    ("fmt", "name", "where"),
    [
        ("xlsx", "c.xlsx", "c.xlsx[transactions]"),
        ("duckdb", "c.duckdb", "c.duckdb:transactions"),
        ("parquet", "c", "transactions.parquet"),
    ],
)
def test_problems_name_the_sheet_or_table(tmp_path, fmt, name, where):
    tables = tiny_tables()
    tables["transactions"].loc[2, "account_id"] = "A99"
    Dataset(tables, tiny_meta()).save(tmp_path / name, fmt)
    problems = problems_of(tmp_path / name)
    (p,) = problems
    assert p.source.endswith(where) and p.row == 4 and p.column == "account_id"


def test_cross_checks_still_run_when_types_are_wrong(folder):
    set_cell("transactions", 2, "amount", "oops")(folder)
    set_cell("transactions", 0, "account_id", "A99")(folder)
    problems = problems_of(folder)
    assert {(p.row, p.column) for p in problems} == {(4, "amount"), (2, "account_id")}


def test_validate_dataset_without_declared_range():
    tables = tiny_tables()
    tables["transactions"].loc[0, "date"] = pd.Timestamp("2031-01-01")
    meta = tiny_meta().model_copy(update={"start_date": None, "end_date": None})
    assert validate_dataset(Dataset(tables, meta), columns=True) == []
