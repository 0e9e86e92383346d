"""The forecast panel is the selling view of the one crediting result (issue 13).

For every rep, measure and month the panel equals the owner and split credit
(with their cancellations and adjustments) read straight from the credit rows,
on the sample company and on a generated company with another seed; credit in
months a rep was not employed is the only credit left out, and it is reported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spm_model.calc import credit_dataset
from spm_model.crediting import CreditingResult
from spm_model.data import Dataset, load_dataset
from spm_model.data.synthetic import generate
from spm_model.forecast import SELLING_RULES, monthly_bookings

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return load_dataset(SAMPLE)


@pytest.fixture(scope="module")
def generated() -> Dataset:
    return generate(n_reps=24, n_accounts=400, years=3, seed=7)


def _selling_by_month(credits: CreditingResult, measure: str | None) -> pd.Series:
    """Owner + split credit per (rep, month start) in cents, from the credit rows."""
    c = credits.credits
    c = c[(c["level"] == 0).to_numpy()]
    eff = c["source_rule"].astype(object).where(c["source_rule"].notna(), c["rule"])
    c = c[eff.isin(["owner", "split"]).to_numpy()]
    if measure is not None:
        c = c[(c["measure"].astype(str) == measure).to_numpy()]
    month = c["date"].dt.to_period("M").dt.to_timestamp()
    return c.groupby([c["rep_id"].astype(str), month])["cents"].sum()


def _check_panel_equals_crediting(ds: Dataset) -> dict[str, float]:
    credits = credit_dataset(ds)
    reps = ds.reps.set_index("rep_id")
    worst = 0.0
    for measure in [None, *sorted(ds.products["measure"].astype(str).unique())]:
        p = monthly_bookings(ds, measure=measure, credits=credits)
        want = _selling_by_month(credits, measure)
        start, cut = p["month"].min(), p["month"].max()
        want = want[
            (want.index.get_level_values(1) >= start) & (want.index.get_level_values(1) <= cut)
        ]
        grid = pd.MultiIndex.from_arrays([p["rep_id"].astype(str), p["month"]])
        on_grid = want.reindex(grid).fillna(0).to_numpy(np.int64)
        got = p["bookings"].to_numpy()
        worst = max(worst, float(np.abs(got - np.clip(on_grid, 0, None) / 100.0).max()))
        assert p.attrs["negative_months"] == int((on_grid < 0).sum())
        # credit left out is exactly the credit in months the rep was not employed
        off = want[~want.index.isin(grid)]
        for rep, month in off.index:
            hire = pd.Timestamp(reps.at[rep, "hire_date"]).to_period("M").to_timestamp()
            end = reps.at[rep, "end_date"]
            assert month < hire or (
                pd.notna(end) and month > pd.Timestamp(end).to_period("M").to_timestamp()
            )
        assert p.attrs["credit_outside_employment"] == off.sum() / 100.0
    assert worst == 0.0
    return {"max_abs_diff": worst}


def test_sample_panel_equals_crediting_totals(sample):
    _check_panel_equals_crediting(sample)


def test_generated_panel_equals_crediting_totals(generated):
    _check_panel_equals_crediting(generated)


def test_panel_view_leaves_out_overlays_exceptions_and_rollups(sample):
    credits = credit_dataset(sample)
    p = monthly_bookings(sample, credits=credits)
    # the view is exactly totals(rules=SELLING_RULES): summed, it is smaller than direct credit
    # by the overlay and exception credit and never includes roll-ups
    view = credits.totals("month", "direct", rules=SELLING_RULES, by=("period",))
    direct = credits.totals("month", "direct", by=("period",))
    other = credits.totals("month", "direct", rules=("overlay", "exception"), by=("period",))
    assert view["cents"].sum() + other["cents"].sum() == direct["cents"].sum()
    assert other["cents"].sum() != 0
    managers = set(sample.reps.loc[sample.reps["role"] == "MANAGER", "rep_id"])
    owners = set(sample.assignments.loc[sample.assignments["role"] == "owner", "rep_id"])
    sellers = set(credits.totals("month", "direct", rules=SELLING_RULES, by=("rep_id",))["rep_id"])
    rolled_up_only = managers - owners - sellers
    assert rolled_up_only  # managers whose only credit is roll-up...
    assert not (set(p["rep_id"]) & rolled_up_only)  # ...are not forecast as sellers
