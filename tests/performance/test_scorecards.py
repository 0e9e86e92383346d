"""Scorecard figures computed by hand on a small company (rep R1 in full)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spm_model.performance import PerformanceData, ScorecardConfig, scorecards
from spm_model.performance.scorecard import attainment_panel, expected_share_curve
from tests.performance.handmade import handmade

MONTH = 365.25 / 12


@pytest.fixture(scope="module")
def card() -> pd.DataFrame:
    return scorecards(handmade(), "2024-Q2", as_of="2024-05-15").set_index("rep_id")


def test_r1_every_figure_by_hand(card):
    r = card.loc["R1"]
    # 10,000 (T1) + 30,000 (T2) - 2,000 (T5 cancels T1); T3 is after the as-of date
    assert r["bookings"] == 38_000
    assert r["quota"] == 100_000 and r["primary_measure"] == "new_business"
    assert r["attainment"] == pytest.approx(0.38)
    elapsed = 45 / 91  # 2024-04-01..2024-05-15 of 91 days
    assert r["elapsed_share"] == pytest.approx(elapsed)
    assert r["expected_share"] == pytest.approx(elapsed)  # one quarter of history: linear
    assert r["pace"] == pytest.approx(0.38 / elapsed)
    assert r["remaining_quota"] == 62_000
    # closed in the 365 days to 2024-05-15: O1, O2 won; O3, O4 lost (O7 closes later)
    assert (r["won_deals"], r["lost_deals"]) == (2, 2)
    assert r["win_rate"] == 0.5
    assert r["avg_deal_size"] == 20_000
    assert r["sales_cycle_days"] == pytest.approx((40 + 30) / 2)
    # open at the as-of date and due this period: O5 (open, p 0.5) and O7 (won later,
    # so weighted by the rep's win rate 0.5); O6 is due next period
    assert r["pipeline_deals"] == 2
    assert r["pipeline_unweighted"] == 65_000
    assert r["pipeline_weighted"] == 32_500
    assert r["coverage_unweighted"] == pytest.approx(65_000 / 62_000)
    assert r["coverage_weighted"] == pytest.approx(32_500 / 62_000)
    assert r["next_pipeline_weighted"] == 5_000
    # largest deal 40,000 (O5) of positive bookings 40,000 + pipeline 65,000
    assert r["largest_deal"] == 40_000
    assert r["largest_deal_share"] == pytest.approx(40_000 / 105_000)
    assert (r["calls"], r["emails"], r["meetings"], r["demos"], r["activities"]) == (3, 1, 2, 1, 7)
    months = 365 / MONTH  # look-back window (rep hired before it)
    assert r["activities_per_month"] == pytest.approx(9 / months)
    assert r["prospecting_per_month"] == pytest.approx(6 / months)
    assert r["tenure_months"] == pytest.approx(round(865 / MONTH, 1))
    assert r["tenure_band"] == "24m+"
    assert r["territory_potential"] == 150_000
    assert r["peer_size"] == 1 and r["attainment_peer_pct"] == 0.5


def test_year_to_date_figures_by_hand(card):
    """A cumulative (year-to-date) plan pays on the year so far: the scorecard shows it too."""
    r = card.loc["R1"]
    # Q1 quota 40,000 + Q2 100,000; T0 (20,000, February) + the quarter's 38,000
    assert r["ytd_quota"] == 140_000
    assert r["ytd_bookings"] == 58_000
    assert r["ytd_attainment"] == pytest.approx(58_000 / 140_000)
    # R2's only quota is Q2's: the year so far is the quarter
    assert card.loc["R2", "ytd_quota"] == card.loc["R2", "quota"] == 50_000
    assert card.loc["R2", "ytd_bookings"] == card.loc["R2", "bookings"]
    assert not card["plan_cumulative"].any()  # no plans given: not known to be cumulative


def test_which_plans_measure_year_to_date():
    from pathlib import Path

    from spm_model import load_plan

    plans = {
        p.id: p
        for p in (load_plan(f) for f in sorted(Path("templates/plans").glob("*.yaml")))
    }
    card = scorecards(
        PerformanceData(handmade(), plans=plans), "2024-Q2", as_of="2024-05-15"
    ).set_index("rep_id")
    # sales_manager measures year to date (cumulative: true); saas_ae quarter by quarter
    assert card.loc["M1", "plan_cumulative"]
    assert not card.loc[["R1", "R2"], "plan_cumulative"].any()


def test_manager_rollup_sdr_meetings_and_missing_ratios(card):
    m = card.loc["M1"]
    assert m["bookings"] == 38_000 + 8_000  # direct reports' own credit
    assert m["attainment"] == pytest.approx(46_000 / 150_000)
    s = card.loc["S1"]
    assert s["primary_measure"] == "meetings" and s["bookings"] == 12 and s["attainment"] == 0.4
    assert np.isnan(s["coverage_weighted"])  # pipeline does not cover a meetings quota
    r2 = card.loc["R2"]
    assert np.isnan(r2["win_rate"]) and np.isnan(r2["avg_deal_size"])
    assert "no closed deals" in r2["note"]
    numeric = card.select_dtypes("number").to_numpy(dtype=float)
    assert not np.isinf(numeric).any()


def test_no_quota_and_quota_met_are_reported_as_missing():
    ds = handmade()
    q = ds.quotas
    ds = ds.replace(
        quotas=q[q["rep_id"] != "R2"].assign(
            amount=lambda d: d["amount"].where(d["rep_id"] != "R1", 1000.0)
        )
    )
    card = scorecards(ds, "2024-Q2", as_of="2024-05-15").set_index("rep_id")
    assert np.isnan(card.loc["R2", "attainment"]) and "no quota" in card.loc["R2", "note"]
    assert card.loc["R1", "remaining_quota"] == 0
    assert (
        np.isnan(card.loc["R1", "coverage_weighted"])
        and "quota already met" in card.loc["R1", "note"]
    )


def test_seasonal_expected_share_from_history():
    ds = handmade()
    pdata = PerformanceData(ds)
    curve = expected_share_curve(pdata, "month", pd.Timestamp("2024-05-01"), min_periods=2)
    assert curve is not None and curve[-1] == pytest.approx(1.0)
    assert np.all(np.diff(curve) >= -1e-12)
    # months without bookings (January, March) carry no profile; February: all on the
    # 15th (T0, day 15 of 29); April: T1 on day 10 of 30 and T4 on day 20
    assert curve[40] == pytest.approx(np.mean([0.0, 10_000 / 18_000]))
    assert curve[60] == pytest.approx(np.mean([1.0, 10_000 / 18_000]))
    assert curve[67] == pytest.approx(1.0)


def test_analytics_credit_is_the_crediting_owner_split_cancellation():
    """The analytics read the one crediting: T5 reverses T1's owner credit on R1."""
    credit = PerformanceData(handmade()).credit
    t5 = credit[credit["txn_id"] == "T5"]
    assert t5["rep_id"].tolist() == ["R1"] and t5["amount"].tolist() == [-2000.0]
    assert credit.groupby("rep_id")["amount"].sum().to_dict() == {"R1": 63_000.0, "R2": 8_000.0}


def test_attainment_panel_and_config():
    panel = attainment_panel(handmade(), "quarter", until=pd.Timestamp("2024-06-30"))
    q1 = panel[(panel["period"] == "2024-Q1") & (panel["rep_id"] == "R1")].iloc[0]
    assert q1["actual"] == 20_000 and q1["attainment"] == 0.5
    card = scorecards(
        handmade(), "2024-Q2", as_of="2024-05-15", config=ScorecardConfig(lookback_days=60)
    )
    r1 = card.set_index("rep_id").loc["R1"]
    # 60 days to 2024-05-15 start 2024-03-17: O1, O2 won, O3 lost
    assert (r1["won_deals"], r1["lost_deals"]) == (2, 1)


def test_bad_period_label():
    with pytest.raises(ValueError, match="not a period label"):
        scorecards(handmade(), "2024-Q9")


def test_the_primary_measure_is_the_plans_heaviest_components():
    """With the plans known, a rep is scored on the quota measure of the plan's heaviest
    component (a matrix counts its row measure first), not on whichever quota is largest."""
    from pathlib import Path

    from spm_model import load_plan
    from spm_model.performance.scorecard import _plan_rank

    plans = {
        p.id: p
        for p in (load_plan(f) for f in sorted(Path("templates/plans").glob("*.yaml")))
    }
    reps = pd.DataFrame(
        {"rep_id": ["A", "F", "X"], "plan_id": ["saas_ae", "field_rep", "nobody's"]}
    )
    mq = pd.DataFrame(
        {
            "rep_id": ["A", "A", "F", "F", "X"],
            "measure": ["renewal", "new_business", "renewal", "new_business", "renewal"],
        }
    )
    # saas_ae: new business 80%, renewals 20%; field_rep: a matrix on new business (80%)
    assert _plan_rank(mq, reps, plans).tolist() == [1, 0, 2, 0, 1000]
    assert _plan_rank(mq, reps, {}).tolist() == [1000] * 5
    # the sample company: every AE on the new-business quota, every AM on renewals
    from spm_model.data import load_dataset

    ds = load_dataset("data/sample")
    card = scorecards(PerformanceData(ds, plans=plans), "2026-Q2")
    by_role = card.groupby("role")["primary_measure"].agg(set)
    assert by_role["AE"] == {"new_business"} and by_role["AM"] == {"renewal"}
