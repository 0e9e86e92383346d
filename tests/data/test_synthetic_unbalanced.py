"""Issue 14: the generator's unbalanced region is clearly and persistently unbalanced."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spm_model.data.synthetic import (
    IMBALANCE_MIN_OWNERS,
    IMBALANCE_SPREAD,
    _skewed_split,
    generate,
)

OWNERS = ["AE", "AM", "FIELD"]


@pytest.fixture(scope="module")
def company():
    return generate(n_reps=70, n_accounts=1500, years=2, seed=2)


def _spread_by_region(ds, day) -> pd.Series:
    """Standard deviation of log owned potential per region (owners on ``day``, role-adjusted)."""
    a = ds.assignments
    a = a[a["role"] == "owner"]
    d = pd.Timestamp(day)
    start, end = pd.to_datetime(a["start_date"]), pd.to_datetime(a["end_date"])
    on = a[(start <= d) & (end.isna() | (end >= d))]
    pot = (
        on.merge(ds.accounts[["account_id", "potential"]], on="account_id")
        .groupby("rep_id")["potential"]
        .sum()
    )
    reps = ds.reps.set_index("rep_id").loc[pot.index]
    keep = reps["role"].isin(OWNERS).to_numpy()
    pot, reps = pot[keep], reps[keep]
    lv = np.log(pot)
    adj = lv - lv.groupby(reps["role"]).transform("median")
    return adj.groupby(reps["region"]).std()


def test_the_unbalanced_region_is_the_most_unequal_from_first_to_last_day(company):
    reps = company.reps
    assert reps["role"].isin(OWNERS).sum() >= IMBALANCE_MIN_OWNERS
    tr = company.tables["truth_regions"]
    ub = tr.loc[tr["unbalanced"], "region"].item()
    # the planted effect is recorded, and is the largest split by a wide margin
    sp = tr.set_index("region")["potential_spread"]
    assert sp[ub] >= 0.9 * IMBALANCE_SPREAD
    assert sp[ub] > sp.drop(ub).max() + 0.5
    assert tr.set_index("region")["largest_to_smallest"][ub] > 10
    # and it stays so: on the first and the last day of the data (after the yearly
    # reassignments, expansion seats and turnover), per rep, role-adjusted
    for day in (company.meta.start_date, company.meta.end_date):
        s = _spread_by_region(company, day)
        assert s.idxmax() == ub
        assert s[ub] > 1.5 * s.drop(ub).max()
        assert s[ub] >= 0.9 * IMBALANCE_SPREAD


def test_skewed_split_deals_the_planted_two_tier_shares():
    rng = np.random.default_rng(5)
    potential = rng.lognormal(11, 0.6, 600)
    seats = np.arange(10, 18)
    acc_seat, share = _skewed_split(potential, seats, rng)
    assert share.sum() == pytest.approx(1.0)
    # half the seats favoured, each about exp(2 x spread) = 20x the others
    assert np.sort(share)[4] / np.sort(share)[3] == pytest.approx(np.exp(2 * IMBALANCE_SPREAD))
    assert np.log(share).std() == pytest.approx(IMBALANCE_SPREAD)
    held = pd.Series(potential).groupby(acc_seat).sum().reindex(seats, fill_value=0.0)
    realised = held.to_numpy() / potential.sum()
    assert (realised > 0).all()
    np.testing.assert_allclose(realised, share, atol=0.01)
    assert np.log(realised).std() == pytest.approx(IMBALANCE_SPREAD, abs=0.15)


def test_small_companies_keep_the_older_split():
    ds = generate(n_reps=40, n_accounts=300, years=1, seed=3)
    assert ds.reps["role"].isin(OWNERS).sum() < IMBALANCE_MIN_OWNERS
    assert list(ds.tables["truth_regions"].columns) == ["region", "unbalanced"]
