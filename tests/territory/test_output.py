"""New alignments as effective-dated assignments rows."""

from __future__ import annotations

import pandas as pd
import pytest

from spm_model.errors import SpmDataError
from spm_model.territory import to_assignments


def _asg():
    return pd.DataFrame(
        {
            "account_id": ["A1", "A1", "A2", "A3", "A3", "A4"],
            "rep_id": ["R1", "R9", "R1", "R2", "R2", "R2"],
            "role": ["owner", "overlay", "owner", "owner", "owner", "owner"],
            "product_family": [None, "services", None, None, None, None],
            "start_date": pd.to_datetime(
                ["2024-01-01", "2024-01-01", "2024-01-01", "2023-01-01", "2024-06-01", "2025-01-01"]
            ),
            "end_date": pd.to_datetime([None, None, None, "2024-05-31", None, None]),
        }
    )


def test_changes_close_old_row_day_before_and_open_new():
    new = pd.Series({"A1": "R2", "A2": "R1", "A3": "R1", "A4": "R1", "A5": "R2"})
    out = to_assignments(_asg(), new, "2025-01-01")
    own = out[out["role"] == "owner"]
    a1 = own[own["account_id"] == "A1"].sort_values("start_date")
    assert list(a1["rep_id"]) == ["R1", "R2"]
    assert a1["end_date"].iloc[0] == pd.Timestamp("2024-12-31")
    assert a1["start_date"].iloc[1] == pd.Timestamp("2025-01-01") and pd.isna(
        a1["end_date"].iloc[1]
    )
    # unchanged owner keeps its single open row
    a2 = own[own["account_id"] == "A2"]
    assert len(a2) == 1 and pd.isna(a2["end_date"].iloc[0])
    # history untouched; a row starting on the effective date is replaced, not closed
    a3 = own[own["account_id"] == "A3"].sort_values("start_date")
    assert list(a3["end_date"].dt.strftime("%Y-%m-%d").fillna("")) == [
        "2024-05-31",
        "2024-12-31",
        "",
    ]
    a4 = own[own["account_id"] == "A4"]
    assert list(a4["rep_id"]) == ["R1"] and (a4["end_date"].isna()).all()
    # new account, overlay untouched
    assert own[own["account_id"] == "A5"]["rep_id"].tolist() == ["R2"]
    ov = out[out["role"] == "overlay"]
    assert len(ov) == 1 and pd.isna(ov["end_date"].iloc[0])
    # one owner per account on any day after the change
    day = pd.Timestamp("2025-03-01")
    open_ = own[(own["start_date"] <= day) & (own["end_date"].isna() | (own["end_date"] >= day))]
    assert open_["account_id"].is_unique and len(open_) == 5
    assert list(out.columns) == list(_asg().columns)


def test_future_dated_rows_conflict():
    with pytest.raises(SpmDataError, match="already has an owner row starting 2025-01-01 after"):
        to_assignments(_asg(), pd.Series({"A4": "R1"}), "2024-12-01")


def test_first_alignment_from_empty_table():
    out = to_assignments(None, pd.Series({"A1": "R1"}), "2025-01-01")
    assert out.to_dict("records")[0]["rep_id"] == "R1"
