"""The generator's planted rep-level patterns and their recorded effect sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spm_model.data.synthetic import (
    BEHAVIOUR_SHARE,
    DISCOUNT_RANGE,
    LIST_PRICE_PER_UNIT,
    SANDBAG_DAYS,
    SANDBAG_SHARE,
    THIN_PIPELINE_LEAD,
    generate,
)


@pytest.fixture(scope="module")
def company():
    return generate(n_reps=110, n_accounts=2500, years=2, seed=11)


def test_truth_patterns_lists_every_planted_rep_with_its_effect(company):
    tp = company.tables["truth_patterns"]
    reps = company.reps.set_index("rep_id")
    owners = reps.index[reps["role"].isin(["AE", "AM", "FIELD"])]
    k = int(np.floor(BEHAVIOUR_SHARE * len(owners)))
    assert k >= 1
    per = tp.groupby("pattern")["rep_id"].nunique()
    assert per["sandbagging"] == per["thin_pipeline"] == per["high_discount"] == k
    # one pattern per rep, all owners of territory
    assert tp.groupby("rep_id")["pattern"].nunique().max() == 1
    assert set(tp["rep_id"]) <= set(owners)
    # the older patterns are the ones in truth_reps
    old = company.tables["truth_reps"].query("pattern != ''").set_index("rep_id")["pattern"]
    listed = tp[tp["pattern"].isin(["high_activity_low_win", "under_worked"])]
    assert listed.groupby("rep_id")["pattern"].first().sort_index().equals(old.sort_index())
    eff = tp.set_index(["pattern", "measure"])["effect"]
    assert (eff.loc[("sandbagging", "pushed_share")] == SANDBAG_SHARE).all()
    assert (eff.loc[("thin_pipeline", "lead_time_factor")] == THIN_PIPELINE_LEAD).all()
    d = eff.loc[("high_discount", "discount")]
    assert ((d >= DISCOUNT_RANGE[0]) & (d <= DISCOUNT_RANGE[1])).all()
    assert (eff.loc[("under_worked", "pipeline_rate_factor")] == 0.5).all()


def _won_new(company) -> pd.DataFrame:
    o = company.opportunities
    return o[(o["status"] == "won") & o["product_id"].isin(["P01", "P02", "P03"])]


def test_sandbaggers_book_quarter_end_wins_in_the_next_quarter(company):
    tp = company.tables["truth_patterns"]
    bag = set(tp.loc[tp["pattern"] == "sandbagging", "rep_id"])
    won = _won_new(company)
    close = pd.to_datetime(won["close_date"])
    q_next = (close.dt.to_period("Q") + 1).dt.start_time
    q_start = close.dt.to_period("Q").dt.start_time
    at_end = (q_next - close).dt.days <= SANDBAG_DAYS
    at_start = (close - q_start).dt.days < 21
    share = (at_start.groupby(won["owner_rep_id"]).sum()) / (
        (at_start | at_end).groupby(won["owner_rep_id"]).sum()
    )
    others = share.drop(index=list(bag), errors="ignore").median()
    for r in bag:
        assert share[r] > others + 0.3, (r, share[r], others)


def test_thin_pipeline_reps_open_opportunities_late(company):
    tp = company.tables["truth_patterns"]
    thin = set(tp.loc[tp["pattern"] == "thin_pipeline", "rep_id"])
    o = company.opportunities
    o = o[o["product_id"].isin(["P01", "P02", "P03"])]
    lead = (pd.to_datetime(o["close_date"]) - pd.to_datetime(o["created_date"])).dt.days
    med = lead.groupby(o["owner_rep_id"]).median()
    others = med.drop(index=list(thin), errors="ignore").median()
    for r in thin:
        assert med[r] < 0.5 * others, (r, med[r], others)


def test_discounters_sell_units_below_list(company):
    tp = company.tables["truth_patterns"]
    disc = tp[tp["pattern"] == "high_discount"].set_index("rep_id")["effect"]
    t = company.transactions
    t = t[(t["kind"] == "booking") & t["product_id"].isin(["P01", "P02", "P03"])]
    price = (
        t.groupby("opportunity_owner_id")["amount"].sum()
        / t.groupby("opportunity_owner_id")["units"].sum()
    )
    others = price.drop(index=disc.index, errors="ignore")
    assert others.median() == pytest.approx(LIST_PRICE_PER_UNIT, rel=0.03)
    for r, d in disc.items():
        assert price[r] == pytest.approx(LIST_PRICE_PER_UNIT * (1 - d), rel=0.05)


def test_small_companies_plant_no_behaviour_patterns():
    ds = generate(n_reps=40, n_accounts=300, years=1, seed=3)
    tp = ds.tables["truth_patterns"]
    assert not tp["pattern"].isin(["sandbagging", "thin_pipeline", "high_discount"]).any()
    assert set(tp.columns) == {"rep_id", "pattern", "measure", "effect", "baseline"}
