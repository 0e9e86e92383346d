"""The book due (renewals read from last year's bookings) and the learnt growth's
uncertainty in the stated chance of attainment; opportunities as seen at a cut-off
(handmade cases)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from spm_model.quota.backtest import _opportunities_at
from spm_model.quota.history import QuotaHistory, _book, _month_index, learn_book
from spm_model.quota.predictive import growth_variance, predictive_params
from tests.quota.frames import steady_pairs

PRODUCTS = pd.DataFrame(
    {
        "product_id": ["P1", "P2", "P3"],
        "family": ["platform", "addon", "renewal"],
        "measure": ["new_business", "new_business", "renewal"],
    }
)
DEC24 = 12 * (2024 - 1970) + 11  # months since 1970-01


def _renewing_company(rate: float = 0.8, months: int = 3) -> SimpleNamespace:
    """40 accounts: platform deals renew a year later at ``rate``, add-ons never do."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(40):
        acc = f"A{i}"
        for k in range(months):
            d = pd.Timestamp("2023-10-15") + pd.DateOffset(months=k)
            plat = float(rng.uniform(1_000, 50_000))
            rows.append((d, acc, "P1", plat))
            rows.append((d, acc, "P2", float(rng.uniform(1_000, 50_000))))
            rows.append((d + pd.DateOffset(years=1), acc, "P3", rate * plat))
            # new business in the later months, unrelated to a year earlier
            rows.append((d + pd.DateOffset(years=1), acc, "P1", float(rng.uniform(1_000, 50_000))))
    tx = pd.DataFrame(rows, columns=["date", "account_id", "product_id", "amount"])
    return SimpleNamespace(transactions=tx, products=PRODUCTS)


def test_the_book_learns_which_bookings_come_back_and_at_what_rate():
    rates, tx, n = learn_book(_renewing_company(0.8), DEC24, ["renewal", "new_business"])
    assert n == 3  # Oct-Dec 2024 have a month a year earlier in the data
    assert set(rates) == {"renewal"}  # new business does not come back from last year's deals
    assert rates["renewal"]["platform"] == pytest.approx(0.8, abs=1e-6)
    assert rates["renewal"].get("addon", 0.0) == pytest.approx(0.0, abs=1e-6)
    assert {"month", "family", "account_id", "amount"} <= set(tx.columns)


def test_no_book_without_enough_months_a_year_apart():
    rates, _, n = learn_book(_renewing_company(0.8), DEC24 - 1, ["renewal"])
    assert n == 2 and rates == {}


def test_the_book_follows_the_accounts_each_month():
    """A1 booked 1,000 in Jan and Feb 2024; R1 owns it to mid-Feb 2025, then R2."""
    tx = pd.DataFrame(
        {
            "account_id": ["A1", "A1"],
            "month": [DEC24 - 11, DEC24 - 10],
            "family": ["platform", "platform"],
            "amount": [1_000.0, 1_000.0],
        }
    )
    asg = pd.DataFrame(
        {
            "account_id": ["A1", "A1"],
            "rep_id": ["R1", "R2"],
            "role": ["owner", "owner"],
            "start_date": pd.to_datetime(["2024-01-01", "2025-02-15"]),
            "end_date": pd.to_datetime(["2025-02-14", pd.NaT]),
        }
    )
    pairs = pd.DataFrame({"rep_id": ["R1", "R2", "R1"], "measure": ["renewal"] * 2 + ["x"]})
    plan = np.arange(DEC24 + 1, DEC24 + 13)
    b = _book(
        SimpleNamespace(assignments=asg), tx, {"renewal": {"platform": 0.5}}, pairs, plan, DEC24
    )
    assert b[0, 0] == pytest.approx(500.0)  # January: R1's, at the learnt rate
    assert b[0, 1] == pytest.approx(500.0 * 14 / 28)  # February: split by days owned
    assert b[1, 1] == pytest.approx(500.0 * 14 / 28)
    assert b[0, 2:].sum() == 0.0 and b[1, 2:].sum() == 0.0
    assert np.isnan(b[2]).all()  # a measure without a book


def _history(level: np.ndarray, book: np.ndarray | None, lag_ratio: float = 0.5) -> QuotaHistory:
    """Reps x 15 months at full exposure; the last 3 have a month a year earlier."""
    n, h = len(level), 15
    pairs = steady_pairs(n, "renewal")
    months = np.arange(DEC24 - h + 1, DEC24 + 1)
    rng = np.random.default_rng(1)
    amounts = level[:, None] / 12.0 * np.exp(rng.normal(0, 0.1, (n, h)))
    hist_book = None
    if book is not None:
        hist_book = np.full((n, h), np.nan)
        # what reps were credited in the last three months: lag_ratio of their book then
        hist_book[:, -3:] = amounts[:, -3:] / lag_ratio
    return QuotaHistory(
        year=2025,
        fy_start_month=1,
        cutoff=pd.Timestamp("2024-12-31"),
        pairs=pairs,
        hist_months=months,
        amounts=amounts,
        exposure=np.ones((n, h)),
        season={"renewal": np.ones(12)},
        growth={"renewal": 0.0},
        plan_months=np.arange(DEC24 + 1, DEC24 + 13),
        potential=np.full((n, 12), 1_000.0),
        capacity=np.ones((n, 12)),
        employed=np.ones((n, 12)),
        hist_potential=np.full((n, h), 1_000.0),
        book=None if book is None else np.repeat(book[:, None] / 12.0, 12, axis=1),
        hist_book=hist_book,
    )


def test_the_book_moves_the_stated_chance_to_what_is_due():
    """Same history, different books: the rep with more due is expected to renew more."""
    n = 30
    level = np.full(n, 120_000.0)
    book = np.where(np.arange(n) < 15, 100_000.0, 400_000.0)
    with_book = predictive_params(_history(level, book))
    without = predictive_params(_history(level, book), use_book=False)
    assert without["mean_log"].std() < 0.05  # history alone cannot tell them apart
    low, high = with_book["mean_log"][:15].mean(), with_book["mean_log"][15:].mean()
    assert high - low > 0.5 * np.log(4.0)
    # the book's level comes from what reps were credited against it: half of it here
    assert np.exp(high) == pytest.approx(0.5 * 400_000.0, rel=0.35)
    # two readings are surer than one
    assert (with_book["sd_log"] < without["sd_log"]).all()
    # no book in the history: as before
    plain = predictive_params(_history(level, None))
    assert np.allclose(plain["mean_log"], without["mean_log"])


def test_learnt_growth_uncertainty_shrinks_with_more_reps_and_is_zero_without_a_year_earlier():
    def hist(n: int, h: int) -> SimpleNamespace:
        rng = np.random.default_rng(2)
        return SimpleNamespace(
            hist_months=np.arange(DEC24 - h + 1, DEC24 + 1),
            pairs=pd.DataFrame({"measure": ["new_business"] * n}),
            amounts=100.0 * np.exp(rng.normal(0, 0.5, (n, h))),
            exposure=np.ones((n, h)),
        )

    few, many = growth_variance(hist(10, 24)), growth_variance(hist(200, 24))
    assert 0 < many["new_business"] < few["new_business"]
    # each rate is a ratio of sums over reps: variance near 2 x CV^2 / n (CV of a year's sum)
    assert many["new_business"] == pytest.approx(2 * 0.5**2 / 12 / 200, rel=0.5)
    assert growth_variance(hist(10, 12)) == {}


def test_opportunities_at_a_cut_off_do_not_know_how_they_ended():
    cut = pd.Timestamp("2024-12-31")
    opps = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3", "O4"],
            "created_date": pd.to_datetime(
                ["2024-10-01", "2024-12-01", "2024-11-01", "2025-01-10"]
            ),
            "close_date": pd.to_datetime(["2024-12-15", "2025-03-01", "2025-01-01", "2025-02-01"]),
            "stage": ["closed_won", "closed_lost", "closed_won", "closed_won"],
            "probability": [1.0, 0.0, 1.0, 1.0],
            "status": ["won", "lost", "won", "won"],
        }
    )
    o = _opportunities_at(opps, cut).set_index("opportunity_id")
    assert list(o.index) == ["O1", "O2", "O3"]  # O4 did not exist yet
    assert o.loc["O1", "status"] == "won"  # closed before the cut-off: known
    assert (o.loc[["O2", "O3"], "status"] == "open").all()
    # 30 of 90 days: second of four stages; 60 of 61 days: the last
    assert (o.loc["O2", "stage"], o.loc["O2", "probability"]) == ("qualify", 0.25)
    assert (o.loc["O3", "stage"], o.loc["O3", "probability"]) == ("negotiate", 0.75)
    assert _month_index(pd.Series([cut]))[0] == DEC24
