"""Small territories, short windows and small peer groups: hand-made cases (issue 14)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spm_model.performance import FlagConfig, coaching_flags
from spm_model.performance.flags import (
    pooled_group_medians,
    shrink_log_rate_robust,
    shrink_poisson_robust,
)
from tests.performance.test_flags_boards import card_row

UNDER = FlagConfig(flags=("under_worked_territory",))


def _counts() -> tuple[np.ndarray, np.ndarray]:
    """Twelve peers at 0.4 opportunities a year per typical deal (a little spread), then
    four reps: 3 where about 10 were due, 0 where about 5.4 were due, 10 where about 10
    were due, and 0 on a tiny exposure (0.4 due)."""
    exposure = np.r_[np.linspace(100, 300, 12), 25.0, 13.75, 25.0, 1.0]
    count = np.r_[np.round(0.4 * exposure[:12] * np.exp(np.linspace(-0.1, 0.1, 12))), 3, 0, 10, 0]
    return count, exposure


def test_poisson_shrinkage_weighs_a_small_count_by_what_was_due():
    count, exposure = _counts()
    groups = np.full(len(count), "g")
    use = np.ones(len(count), bool)
    pm, sure, med = shrink_poisson_robust(count, exposure, groups, use, None, 0.8)
    assert med[0] == pytest.approx(0.393, abs=0.001)  # the peers' median rate
    # 3 where 9.8 were due, 0 where 5.4 were due: more likely than not below 0.8x
    assert sure[12] > 0.6 and sure[13] > 0.6
    assert np.exp(pm[12]) < 0.8 and np.exp(pm[13]) < 0.8
    # 10 where 9.8 were due: nothing to see; 0 where 0.4 were due: left with the prior
    assert sure[14] < 0.15 and np.exp(pm[14]) == pytest.approx(1.0, abs=0.05)
    assert sure[15] < 0.25
    assert (sure[:12] < 0.15).all()
    # the normal approximation of the log count (variance 1 / count, a zero as half an
    # opportunity with variance 2) loses most of that evidence
    rate = np.where(count > 0, count, 0.5) / exposure
    se2 = np.where(count > 0, 1 / np.maximum(count, 1), 2.0)
    _, sure_n, _ = shrink_log_rate_robust(rate, se2, groups, use, None, 0.8)
    assert sure_n[12] < 0.5 and sure_n[13] < 0.3


def test_poisson_shrinkage_folds_in_the_error_of_the_effort():
    count, exposure = _counts()
    groups = np.full(len(count), "g")
    use = np.ones(len(count), bool)
    _, sure, _ = shrink_poisson_robust(count, exposure, groups, use, None, 0.8)
    # an exposure scaled by a noisy effort (log variance 0.05) makes the rep less sure
    _, sure_e, _ = shrink_poisson_robust(
        count, exposure, groups, use, None, 0.8, extra_se2=np.full(len(count), 0.05)
    )
    assert 0.5 < sure_e[12] < sure[12]


def _territory(rep_id: str, deals: float, opps: int, months: float = 24.0, **kw) -> dict:
    """A territory worth ``deals`` typical deals a year, ``opps`` opportunities opened in
    ``months`` after the ramp-up, 10 prospecting touches a month over 24 months."""
    return card_row(
        rep_id=rep_id,
        months_observed=24.0,
        territory_potential=deals * 4000.0,
        pipeline_created=opps * 20_000.0,
        opportunities_created=opps,
        settled_months=months,
        settled_potential=deals * 4000.0,
        settled_deal_potential=deals,
        settled_created=opps * 20_000.0,
        settled_created_rel_var=1.0 / max(opps, 1),
        settled_opportunities=opps,
        prospecting_touches=240,
        **kw,
    )


def test_small_territory_with_few_opportunities_is_under_worked():
    # peers: 20 opportunities a year per 100 typical deals (100 in two years on 250),
    # with a little spread; S: a territory a tenth the size, 1 opportunity where 10 were
    # due; Z: 0 where 5 were due; T: a tiny territory, 0 where 0.4 were due (no evidence)
    rows = [
        _territory(f"P{i:02d}", 250.0, round(100 * (1 + 0.08 * ((i % 5) - 2) / 2)))
        for i in range(12)
    ]
    rows += [_territory("S", 25.0, 1), _territory("Z", 12.5, 0), _territory("T", 1.0, 0)]
    flags = coaching_flags(pd.DataFrame(rows), config=UNDER).set_index("rep_id")
    assert set(flags.index) == {"S", "Z"}
    assert "opened 1 new-business opportunities" in flags.loc["S", "reason"]
    assert "25 typical deals a year" in flags.loc["S", "reason"]
    assert flags.loc["Z", "figure"] == pytest.approx(0.0)


def test_under_worked_needs_only_a_short_window_after_the_ramp_up():
    rows = [
        _territory(f"P{i:02d}", 250.0, round(100 * (1 + 0.08 * ((i % 5) - 2) / 2)))
        for i in range(12)
    ]
    # two months after the ramp-up of a large territory: 0 opportunities where 8 were due;
    # half a month: below the floor, not judged
    rows += [_territory("N", 250.0, 0, months=2.0), _territory("H", 250.0, 0, months=0.5)]
    flags = coaching_flags(pd.DataFrame(rows), config=UNDER)
    assert list(flags["rep_id"]) == ["N"]
    # with the floor at three months (the employment floor) N is not judged either
    strict = FlagConfig(flags=("under_worked_territory",), under_worked_min_months=3.0)
    assert coaching_flags(pd.DataFrame(rows), config=strict).empty


def test_pooled_group_medians_by_hand():
    # a group of 40 around 0 and one of 4 whose median (0.161) its own spread explains:
    # pulled most of the way to the overall median
    lv = np.r_[np.linspace(-0.2, 0.2, 40), np.log([1.3, 1.35, 1.0, 1.05])]
    groups = np.r_[np.full(40, "big"), np.full(4, "small")]
    m = pooled_group_medians(lv, groups, np.ones(44, bool))
    assert abs(m["big"]) < 0.01
    assert 0.0 < m["small"] < 0.1 < np.median(lv[40:])
    # two tight groups far apart keep their own medians
    lv2 = np.r_[np.linspace(-0.02, 0.02, 20), np.linspace(0.98, 1.02, 20)]
    m2 = pooled_group_medians(lv2, np.r_[np.full(20, "a"), np.full(20, "b")], np.ones(40, bool))
    assert m2["a"] == pytest.approx(0.0, abs=1e-3) and m2["b"] == pytest.approx(1.0, abs=1e-3)


def test_busy_but_not_winning_sure_is_that_both_parts_hold():
    # twelve peers at 30% on 100 deals and 6 touches a month; B wins 12% of 100 deals at
    # 1.6x the touches (surely busy); M wins 12% at 1.3x (busy, less surely)
    rows = []
    for i in range(12):
        w = 1 + 0.08 * ((i % 5) - 2) / 2
        rows.append(
            card_row(
                rep_id=f"P{i:02d}",
                months_observed=24.0,
                new_won_deals=round(30 * w),
                new_lost_deals=100 - round(30 * w),
                prospecting_touches=round(144 * w),
            )
        )
    for rep, touches in (("B", 230), ("M", 187)):
        rows.append(
            card_row(
                rep_id=rep,
                months_observed=24.0,
                new_won_deals=12,
                new_lost_deals=88,
                prospecting_touches=touches,
            )
        )
    cfg = FlagConfig(flags=("activity_without_wins",))
    f = coaching_flags(pd.DataFrame(rows), config=cfg).set_index("rep_id")
    assert set(f.index) == {"B", "M"}
    assert f.loc["B", "sure"] > f.loc["M", "sure"]  # the same win rate, surer busy
    assert "sure it is at least 1.25x" in f.loc["M", "reason"]
    assert f.loc["M", "sure"] < 0.97
