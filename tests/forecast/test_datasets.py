"""The public real panels read from files inside installed packages (no download)."""

from __future__ import annotations

import pandas as pd
import pytest

from spm_model.errors import SpmConfigError
from spm_model.forecast import check_panel
from spm_model.forecast.datasets import meat_panel, txhousing_panel

pytest.importorskip("plotnine")


def test_meat_panel_is_seven_monthly_series_of_the_last_fifteen_years():
    p = meat_panel()
    assert sorted(p.rep_id.unique()) == [
        "beef",
        "broilers",
        "lamb_and_mutton",
        "other_chicken",
        "pork",
        "turkey",
        "veal",
    ]
    months = p.groupby("rep_id")["month"].agg(["min", "max", "count"])
    assert (months["min"] == pd.Timestamp("2009-01-01")).all()
    assert (months["max"] == pd.Timestamp("2023-12-01")).all()
    assert (months["count"] == 180).all()
    assert p["bookings"].notna().all() and (p["bookings"] > 0).all()
    # beef in January 2009, million pounds (USDA)
    beef = p[(p.rep_id == "beef") & (p.month == "2009-01-01")]["bookings"].item()
    assert 2000 < beef < 2400
    checked = check_panel(p)
    assert len(checked) == len(p)


def test_meat_panel_in_full_leaves_out_months_before_a_series_starts():
    p = meat_panel(start=None)
    first = p.groupby("rep_id")["month"].min()
    assert first["beef"] == pd.Timestamp("1944-01-01")
    assert first["broilers"] > pd.Timestamp("1944-01-01")
    assert p["bookings"].notna().all()


def test_texas_panel_measures():
    assert txhousing_panel("sales")["rep_id"].nunique() == 46
    with pytest.raises(SpmConfigError, match="measure"):
        txhousing_panel("price")
