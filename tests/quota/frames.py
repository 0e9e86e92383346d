"""Small frames shared by the handmade quota tests."""

from __future__ import annotations

import pandas as pd


def steady_pairs(n: int, measure: str = "new_business") -> pd.DataFrame:
    """``n`` full-time AE pairs ``R0..`` in one region and team, hired in 2020, not leaving."""
    return pd.DataFrame(
        {
            "rep_id": [f"R{i}" for i in range(n)],
            "measure": measure,
            "role": "AE",
            "region": "X",
            "team": "T",
            "fte": 1.0,
            "hire_date": pd.Timestamp("2020-01-01"),
            "end_date": pd.NaT,
        }
    )
