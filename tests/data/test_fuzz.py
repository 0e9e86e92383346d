"""Whatever a person types into a cell, loading reports problems; it never crashes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spm_model.data import load_dataset
from spm_model.data.schema import TABLES
from spm_model.errors import SpmDataError
from tests.data.defects import set_cell
from tests.data.tiny import tiny_tables

CELLS = [
    (table, col.name, len(df))
    for table, df in tiny_tables().items()
    for col in TABLES[table].columns
    if col.name in df
]
VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "nan",
            "NULL",
            "-1",
            "1e400",
            "2024-13-01",
            "0000-00-00",
            "TRUE",
            "1,000",
            "R1",
            "A1",
            "T1",
            "2024-Q0",
            "¥",
            "=SUM(A1)",
            "9" * 40,
        ]
    ),
    st.text(max_size=12),
)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    from tests.data.tiny import tiny_dataset

    folder = tmp_path_factory.mktemp("fuzz") / "base"
    tiny_dataset().save(folder)
    return folder


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_random_cell_edits_never_crash(base, tmp_path_factory, data):
    import shutil

    folder = tmp_path_factory.mktemp("case") / "ds"
    shutil.copytree(base, folder)
    for _ in range(data.draw(st.integers(1, 3))):
        table, column, n = data.draw(st.sampled_from(CELLS))
        pos = data.draw(st.integers(0, n - 1))
        value = data.draw(VALUES).replace("\r", " ").replace("\n", " ")
        set_cell(table, pos, column, value)(folder)
    try:
        ds = load_dataset(folder)
    except SpmDataError as err:
        assert err.problems
        for p in err.problems:
            assert p.source and p.message
            if p.row is not None:
                assert p.row >= 1
        return
    assert ds.validate(columns=False) == []
