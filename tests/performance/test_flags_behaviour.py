"""Sandbagging, chronic thin pipeline and high discounts: hand-made cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spm_model.data import Dataset, DatasetMeta
from spm_model.performance import FlagConfig, coaching_flags
from spm_model.performance.flags import behaviour_evidence, shrink_log_rate_robust
from tests.performance.test_flags_boards import card_row

ONLY = {
    "sandbagging": FlagConfig(flags=("sandbagging",)),
    "chronic_thin_pipeline": FlagConfig(flags=("chronic_thin_pipeline",)),
    "high_discount": FlagConfig(flags=("high_discount",)),
}


def _peers(n: int = 12, **kw) -> list[dict]:
    """Established AEs alike but for a little spread (so the peer group has one)."""
    rows = []
    for i in range(n):
        wobble = 1.0 + 0.08 * ((i % 5) - 2) / 2
        base = {
            "rep_id": f"P{i:02d}",
            "months_observed": 24.0,
            "territory_potential": 1_000_000.0,
            # of 17 deals won around quarter ends, 7 just after the quarter ended
            "won_quarter_end": 10,
            "won_quarter_start": round(7 * wobble),
            # 0.8 quarters of pipeline on hand
            "pipeline_cover": 0.8 * wobble,
            "pipeline_cover_se2": 0.02,
            "deals_on_hand": 8.0,
            "pipeline_on_hand": 160_000.0,
            # sold at the usual price
            "price_index": 1.0 + 0.02 * ((i % 5) - 2) / 2,
            "price_index_se2": 1e-4,
            "priced_bookings": 40,
        }
        rows.append(card_row(**(base | kw)))
    return rows


def test_sandbagging_flags_wins_pushed_past_quarter_end():
    rows = _peers()
    # 16 of 18 deals won around quarter ends were booked in the first three weeks of a new
    # quarter (peers: 7 of 17)
    rows.append(card_row(rep_id="S", won_quarter_end=2, won_quarter_start=16))
    # a little more than the peers, within noise
    rows.append(card_row(rep_id="N", won_quarter_end=8, won_quarter_start=10))
    # all three just after quarter end, but three deals are too few to judge
    rows.append(card_row(rep_id="F", won_quarter_end=0, won_quarter_start=3))
    card = pd.DataFrame(rows).fillna({"months_observed": 24.0})
    flags = coaching_flags(card, config=ONLY["sandbagging"])
    assert list(flags["rep_id"]) == ["S"]
    f = flags.iloc[0]
    assert f["figure"] == pytest.approx(16 / 18)
    assert 0.35 < f["peer_median"] < 0.45  # the peers' share: about 7 of 17
    assert f["sure"] >= 0.8
    assert "first 21 days of a new quarter" in f["reason"] and "close dates" in f["reason"]


def test_sandbagging_prior_is_worth_at_most_the_configured_deals():
    rows = _peers()
    rows.append(card_row(rep_id="S", won_quarter_end=1, won_quarter_start=11, months_observed=24.0))
    card = pd.DataFrame(rows)
    # with a prior worth 4 deals, 11 of 12 (peers 7 of 17) is past twice the peers' odds
    assert list(coaching_flags(card, config=ONLY["sandbagging"])["rep_id"]) == ["S"]
    # a prior worth 200 deals drowns the rep's 12
    strong = FlagConfig(flags=("sandbagging",), sandbag_prior_deals=200.0)
    assert coaching_flags(card, config=strong).empty


def test_sandbagging_judges_a_handful_of_quarter_end_wins():
    """8 of 9 wins around quarter ends just after them (peers 7 of 17): flagged by default.

    By hand: the peers' share p0 = 7/17 (their median), odds 0.70, so the bar is a share of
    2 x 0.70 / (1 + 2 x 0.70) = 0.583. A prior worth 4 deals gives Beta(1.65 + 8, 2.35 + 1),
    P(share > 0.583) = 0.90 >= 0.75; worth 10 deals (the default until 2026-12-05), Beta(4.1 + 8,
    5.9 + 1), 0.70: not flagged (on generated companies sandbaggers with a handful of such wins
    were missed).
    """
    from scipy import stats

    rows = _peers()
    rows.append(card_row(rep_id="S", won_quarter_end=1, won_quarter_start=8, months_observed=24.0))
    card = pd.DataFrame(rows)
    flags = coaching_flags(card, config=ONLY["sandbagging"])
    assert list(flags["rep_id"]) == ["S"]
    p0 = 7 / 17
    bar = 2 * p0 / (1 - p0) / (1 + 2 * p0 / (1 - p0))
    assert flags.iloc[0]["sure"] == pytest.approx(
        stats.beta.sf(bar, 4 * p0 + 8, 4 * (1 - p0) + 1), abs=1e-9
    )
    ten = FlagConfig(flags=("sandbagging",), sandbag_prior_deals=10.0)
    assert coaching_flags(card, config=ten).empty


def test_chronic_thin_pipeline_against_peers():
    rows = _peers()
    # 0.2 quarters of pipeline on hand (peers 0.8), on plenty of deals
    rows.append(
        card_row(rep_id="T", pipeline_cover=0.2, pipeline_cover_se2=0.03, months_observed=24.0)
    )
    # 0.6: below the median, not below half of it
    rows.append(
        card_row(rep_id="N", pipeline_cover=0.6, pipeline_cover_se2=0.03, months_observed=24.0)
    )
    # 0.2 as well, but on two deals: not sure
    rows.append(
        card_row(rep_id="F", pipeline_cover=0.2, pipeline_cover_se2=1.5, months_observed=24.0)
    )
    # an SDR owns no territory
    rows.append(
        card_row(
            rep_id="SDR",
            role="SDR",
            pipeline_cover=0.1,
            pipeline_cover_se2=0.01,
            months_observed=24.0,
        )
    )
    flags = coaching_flags(pd.DataFrame(rows), config=ONLY["chronic_thin_pipeline"])
    assert list(flags["rep_id"]) == ["T"]
    f = flags.iloc[0]
    assert f["figure"] == pytest.approx(0.2)
    assert f["peer_median"] == pytest.approx(0.8, rel=0.05)
    assert f["sure"] > 0.95
    assert "quarters of the rep's own closing volume" in f["reason"]
    assert "Log opportunities" in f["action"]


def test_high_discount_against_peers():
    rows = _peers()
    # sells at 75% of the usual price per unit
    rows.append(
        card_row(
            rep_id="D",
            price_index=0.75,
            price_index_se2=2e-4,
            priced_bookings=30,
            months_observed=24.0,
        )
    )
    # 95%: within the 90% threshold
    rows.append(
        card_row(
            rep_id="N",
            price_index=0.95,
            price_index_se2=2e-4,
            priced_bookings=30,
            months_observed=24.0,
        )
    )
    # 70%, but on two bookings whose price is very uncertain: not sure enough
    rows.append(
        card_row(
            rep_id="F",
            price_index=0.70,
            price_index_se2=0.05,
            priced_bookings=2,
            months_observed=24.0,
        )
    )
    # one booking at 60% of the usual price, with the company's per-deal spread (sd 0.05):
    # judged (any booking counts, its variance says how sure) and flagged
    rows.append(
        card_row(
            rep_id="S",
            price_index=0.60,
            price_index_se2=0.05**2,
            priced_bookings=1,
            months_observed=24.0,
        )
    )
    flags = coaching_flags(pd.DataFrame(rows), config=ONLY["high_discount"])
    assert list(flags["rep_id"]) == ["D", "S"]
    strict = ONLY["high_discount"].model_copy(update={"min_priced_bookings": 4})
    assert list(coaching_flags(pd.DataFrame(rows), config=strict)["rep_id"]) == ["D"]
    f = flags.iloc[0]
    assert f["figure"] == pytest.approx(0.75)
    assert f["peer_median"] == pytest.approx(1.0, abs=0.02)
    assert f["sure"] > 0.99
    assert "25% below it" in f["reason"] and "pricing" in f["action"]


def test_robust_shrinkage_keeps_a_far_outlier_far():
    # ten alike reps and one with a third of their rate, measured well
    value = np.r_[np.exp(np.linspace(-0.1, 0.1, 10)), 1 / 3]
    se2 = np.full(11, 0.01)
    groups = np.full(11, "g")
    use = np.ones(11, bool)
    pm, sure, med = shrink_log_rate_robust(value, se2, groups, use, None, threshold=0.5)
    assert med[0] == pytest.approx(1.0, abs=0.02)
    assert np.exp(pm[-1]) == pytest.approx(1 / 3, rel=0.1)  # not pulled back to the median
    assert sure[-1] > 0.99
    assert (sure[:10] < 0.01).all()
    # a noisy measurement of the same rate is pulled towards the peers
    pm2, sure2, _ = shrink_log_rate_robust(
        value, np.r_[se2[:10], 1.0], groups, use, None, threshold=0.5
    )
    assert np.exp(pm2[-1]) > 0.5 and sure2[-1] < 0.8


def test_flag_cap_counts_owners_of_territory_together():
    # 10 AEs and 5 AMs, one AM busy but not winning: 20% of 15 owners is 3, of 5 AMs 1
    rows = _peers(10, new_won_deals=30, new_lost_deals=70, prospecting_touches=240)
    rows += [
        card_row(
            rep_id=f"AM{i}",
            role="AM",
            months_observed=24.0,
            new_won_deals=30,
            new_lost_deals=70,
            prospecting_touches=240,
        )
        for i in range(5)
    ]
    for i in range(3):
        rows.append(
            card_row(
                rep_id=f"B{i}",
                role="AE",
                months_observed=24.0,
                new_won_deals=8,
                new_lost_deals=92,
                prospecting_touches=400,
            )
        )
    card = pd.DataFrame(rows)
    cfg = FlagConfig(flags=("activity_without_wins",), min_peers=3)
    flags = coaching_flags(card, config=cfg)
    # 18 owners: at most 3 flagged, all three busy AEs kept
    assert set(flags["rep_id"]) == {"B0", "B1", "B2"}
    capped = coaching_flags(card, config=cfg.model_copy(update={"max_flagged_share": 0.12}))
    assert len(set(capped["rep_id"])) == 2 and capped.attrs["held_back"] == 1


def _evidence_company() -> Dataset:
    products = pd.DataFrame(
        {
            "product_id": ["P1", "P9"],
            "family": ["platform", "renewal"],
            "measure": ["new_business", "renewal"],
        }
    )
    d = pd.to_datetime
    opps = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3", "O4", "O5", "O6", "O7"],
            "account_id": ["A1"] * 7,
            "owner_rep_id": ["A"] * 7,
            "product_id": ["P1"] * 6 + ["P9"],
            "created_date": d(
                [
                    "2023-08-01",
                    "2023-09-01",
                    "2023-11-01",
                    "2023-12-01",
                    "2023-09-15",
                    "2024-03-01",
                    "2023-09-01",
                ]
            ),
            "close_date": d(
                [
                    "2023-09-25",
                    "2023-10-05",
                    "2024-01-10",
                    "2024-02-15",
                    "2024-03-20",
                    "2024-09-01",
                    "2023-10-05",
                ]
            ),
            "stage": ["closed_won"] * 4 + ["closed_lost", "propose", "closed_won"],
            "amount": [1000.0] * 7,
            "probability": [1.0] * 4 + [0.0, 0.5, 1.0],
            "status": ["won"] * 4 + ["lost", "open", "won"],
        }
    )
    txns = pd.DataFrame(
        {
            "txn_id": ["T1", "T2", "T3", "T4", "T5"],
            "date": d(["2023-09-25", "2023-10-05", "2023-09-25", "2024-01-10", "2024-01-10"]),
            "account_id": ["A1"] * 5,
            "product_id": ["P1", "P1", "P1", "P1", "P9"],
            "amount": [1000.0, 1800.0, 1000.0, 3000.0, 500.0],
            "kind": ["booking"] * 5,
            "original_txn_id": [None] * 5,
            "units": [1.0, 2.0, 1.0, 3.0, 1.0],
            "opportunity_owner_id": ["A", "A", "B", "B", "A"],
        }
    )
    meta = DatasetMeta(start_date="2022-07-01", end_date="2024-06-30")
    return Dataset({"products": products, "opportunities": opps, "transactions": txns}, meta)


def test_behaviour_evidence_by_hand():
    cfg = FlagConfig(lookback_days=365)
    ev = behaviour_evidence(_evidence_company(), pd.Timestamp("2024-06-30"), cfg)
    a = ev.loc["A"]
    # won new business around quarter ends: O1 six days before Q4 2023; O2 (4 days) and O3
    # (9 days) into a quarter; O4 mid-quarter; O5 lost; O7 a renewal
    assert (a["won_quarter_end"], a["won_quarter_start"]) == (1, 2)
    # snapshots at the quarter starts inside the look-back (2023-07-02..2024-06-30):
    # 2023-10-01 (O2, O5), 2024-01-01 (O3, O4, O5), 2024-04-01 (O6): 6 / 3 = 2 deals on hand;
    # 5 new-business deals closed in 365 days, 5 / (365 / 91.3) a quarter
    assert a["deals_on_hand"] == pytest.approx(2.0)
    assert a["pipeline_on_hand"] == pytest.approx(2000.0)
    assert a["pipeline_cover"] == pytest.approx(2.0 / (5 / (365 / 91.3)))
    assert a["pipeline_cover_se2"] == pytest.approx(8 / 36 + 1 / 5)  # O5 counted twice
    # price per unit: the usual P1 price is the median of 1000, 900, 1000, 1000 = 1000;
    # A sold 3 units for 2,800, B 4 for 4,000 (the renewal is not judged)
    assert a["price_index"] == pytest.approx(2800 / 3000)
    assert a["priced_bookings"] == 2
    # its variance: per-deal ratios 1.0 and 0.9 around 2800 / 3000 (SS_A); B's are 1.0 and
    # 1.0 (SS_B = 0); the company's per-deal spread over 1 + 1 degrees of freedom joins each
    # rep's own as 4 pseudo-deals; weights sum(list^2) / sum(list)^2, divided by index^2
    idx = 2800 / 3000
    ss_a = (1.0 - idx) ** 2 + (0.9 - idx) ** 2
    s2_all = ss_a / 2
    s2_a = (ss_a + 4 * s2_all) / (1 + 4)
    assert a["price_index_se2"] == pytest.approx(s2_a * (1000**2 + 2000**2) / 3000**2 / idx**2)
    assert ev.loc["B", "price_index"] == pytest.approx(1.0)
    # B sold at exactly the usual price twice: its own spread is zero, not its uncertainty
    s2_b = 4 * s2_all / (1 + 4)
    assert ev.loc["B", "price_index_se2"] == pytest.approx(s2_b * (1000**2 + 3000**2) / 4000**2)


def test_under_worked_for_the_effort_or_far_below_peers():
    # peers: 2,000,000 of pipeline on 1,000,000 of potential in two years, 10 touches a month
    common = {"opportunities_created": 100, "pipeline_created_rel_var": 0.02}
    common |= {"lookback_potential": 1_000_000.0, "months_observed": 24.0}
    rows = _peers(prospecting_touches=240, pipeline_created=2_000_000.0, **common)
    # normal effort, half the peers' pipeline: under-worked for the effort
    rows.append(
        card_row(rep_id="E", prospecting_touches=240, pipeline_created=1_000_000.0, **common)
    )
    # half the pipeline on half the effort: consistent (not this flag's concern)
    rows.append(
        card_row(rep_id="L", prospecting_touches=120, pipeline_created=1_000_000.0, **common)
    )
    # a fifth of the peers' pipeline: under-worked whatever the effort
    rows.append(card_row(rep_id="S", prospecting_touches=100, pipeline_created=400_000.0, **common))
    flags = coaching_flags(pd.DataFrame(rows), config=FlagConfig(flags=("under_worked_territory",)))
    f = flags.set_index("rep_id")
    assert set(f.index) == {"E", "S"}
    assert (
        "for the effort" in f.loc["E", "reason"]
        and "10.0 prospecting touches" in f.loc["E", "reason"]
    )
    assert "below 50% of the peers' rate" in f.loc["S", "reason"]
    assert f.loc["E", "figure"] == pytest.approx(500.0)  # per 1,000 of potential a year


def test_little_law_cover_by_hand():
    cfg = FlagConfig(lookback_days=365)
    a = behaviour_evidence(_evidence_company(), pd.Timestamp("2024-06-30"), cfg).loc["A"]
    # new-business deals closed in the look-back, days from creation to close:
    # O1 55, O2 34, O3 70, O4 76, O5 187 (lost); O6 is open, O7 a renewal
    days = np.array([55.0, 34.0, 70.0, 76.0, 187.0])
    assert a["days_open"] == pytest.approx(days.mean())  # 84.4
    assert a["pipeline_cover_little"] == pytest.approx(84.4 / 91.3)
    assert a["pipeline_cover_little_se2"] == pytest.approx(
        np.expm1(np.var(np.log(days), ddof=1)) / 5
    )


def test_chronic_thin_pipeline_on_little_law_cover():
    # peers open deals about 90 days before they close; T 25 days (a quarter of the time
    # on hand); N 80 days (within the spread)
    rows = _peers(pipeline_cover_little=1.0, pipeline_cover_little_se2=0.01)
    for i, r in enumerate(rows):
        r["pipeline_cover_little"] = 1.0 + 0.1 * ((i % 5) - 2) / 2
    rows.append(
        card_row(rep_id="T", pipeline_cover_little=25 / 91.3, pipeline_cover_little_se2=0.02)
    )
    rows.append(
        card_row(rep_id="N", pipeline_cover_little=80 / 91.3, pipeline_cover_little_se2=0.02)
    )
    card = pd.DataFrame(rows).fillna(
        {"months_observed": 24.0, "pipeline_cover": 0.8, "pipeline_cover_se2": 0.02}
    )
    flags = coaching_flags(card, config=ONLY["chronic_thin_pipeline"])
    assert list(flags["rep_id"]) == ["T"]
    assert "opened 25 days before they close" in flags.iloc[0]["reason"]
    assert flags.iloc[0]["figure"] == pytest.approx(25 / 91.3)


def test_under_worked_counts_opportunities_per_typical_deal_of_potential():
    # after ramp-up, peers open 100 opportunities in two years on a territory worth 250
    # typical deals a year (20 per 100 a year) with 10 touches a month
    common = {
        "settled_months": 24.0,
        "settled_potential": 1_000_000.0,
        "settled_deal_potential": 250.0,
        "settled_created": 2_000_000.0,
        "settled_created_rel_var": 0.02,
        "opportunities_created": 100,
        "pipeline_created": 2_000_000.0,
        "territory_potential": 1_000_000.0,
        "months_observed": 24.0,
    }
    rows = _peers(prospecting_touches=240, settled_opportunities=100, **common)
    # normal effort, half the opportunities: under-worked for the effort
    rows.append(card_row(rep_id="E", prospecting_touches=240, settled_opportunities=50, **common))
    # half the opportunities on half the effort: consistent
    rows.append(card_row(rep_id="L", prospecting_touches=120, settled_opportunities=50, **common))
    # a fifth of the peers' opportunities: under-worked whatever the effort
    rows.append(card_row(rep_id="S", prospecting_touches=100, settled_opportunities=20, **common))
    # the same count with twice the typical deals of potential (smaller accounts): half
    # the peers' rate for the effort
    big = common | {"settled_deal_potential": 500.0}
    rows.append(card_row(rep_id="D", prospecting_touches=240, settled_opportunities=100, **big))
    flags = coaching_flags(pd.DataFrame(rows), config=FlagConfig(flags=("under_worked_territory",)))
    f = flags.set_index("rep_id")
    assert set(f.index) == {"E", "S", "D"}
    assert f.loc["E", "figure"] == pytest.approx(10.0)  # per 100 typical deals a year
    assert "opened 50 new-business opportunities" in f.loc["E", "reason"]
    assert "250 typical deals a year" in f.loc["E", "reason"]


def test_deal_equivalent_potential_by_hand():
    from spm_model.performance.flags import _deal_equivalent_potential

    accounts = pd.DataFrame(
        {
            "account_id": ["E1", "S1", "X1"],
            "segment": ["enterprise", "smb", "mid_market"],
            "potential": [1_000_000.0, 50_000.0, 90_000.0],
        }
    )
    opps = pd.DataFrame(
        {
            "account_id": ["E1", "E1", "E1", "S1", "S1", "S1"],
            "amount": [90_000.0, 100_000.0, 200_000.0, 4_000.0, 5_000.0, 6_000.0],
        }
    )
    ds = Dataset(
        {"accounts": accounts}, DatasetMeta(start_date="2024-01-01", end_date="2024-12-31")
    )
    new = np.array([True, True, True, True, True, False])
    out = _deal_equivalent_potential(ds, opps, new)
    # enterprise: median 100,000 -> 10 deals; smb: median of 4,000 and 5,000 -> 4,500;
    # mid-market has no deals: the company-wide median (90,000, 100,000, 200,000, 4,000,
    # 5,000 -> 90,000)
    assert out["E1"] == pytest.approx(10.0)
    assert out["S1"] == pytest.approx(50_000 / 4_500)
    assert out["X1"] == pytest.approx(1.0)
