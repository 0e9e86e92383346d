"""Largest-remainder rounding and top-down allocation: exact reconciliation (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from spm_model.errors import SpmConfigError
from spm_model.quota import allocate, largest_remainder, largest_remainder_grouped, round_half_up

weights = st.lists(
    st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=40,
)


@given(weights, st.integers(min_value=0, max_value=10**12))
@settings(max_examples=150, deadline=None)
def test_largest_remainder_sums_exactly_and_stays_within_one_unit(w, total):
    out = largest_remainder(w, total)
    assert out.dtype == np.int64
    assert int(out.sum()) == total
    assert (out >= 0).all()
    ws = np.asarray(w)
    exact = total * ws / ws.sum() if ws.sum() > 0 else np.full(len(ws), total / len(ws))
    assert np.all(np.abs(out - exact) < 1 + 1e-6 * max(total, 1))


def test_largest_remainder_worked_example():
    # exact shares 3.333.., 3.333.., 3.333.. of 10 -> the first row gets the spare unit
    assert largest_remainder([1, 1, 1], 10).tolist() == [4, 3, 3]
    # 7 * (0.5, 0.3, 0.2) = 3.5, 2.1, 1.4 -> floors 3, 2, 1, spare unit to the 0.5 remainder
    assert largest_remainder([0.5, 0.3, 0.2], 7).tolist() == [4, 2, 1]
    assert largest_remainder([0, 0], 5).tolist() == [3, 2]  # zero weights split evenly


@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.floats(0, 1e6, allow_nan=False)), min_size=1, max_size=60
    ),
    st.lists(st.integers(0, 10**9), min_size=6, max_size=6),
)
@settings(max_examples=100, deadline=None)
def test_grouped_rounding_reconciles_every_group(rows, totals):
    g = np.array([r[0] for r in rows])
    w = np.array([r[1] for r in rows])
    t = np.array(totals, dtype=np.int64)
    t[np.setdiff1d(np.arange(6), g)] = 0  # groups without rows must have nothing to split
    out = largest_remainder_grouped(w, g, t)
    assert np.array_equal(np.bincount(g, weights=out, minlength=6).astype(np.int64), t)


hierarchy = st.lists(
    st.tuples(
        st.sampled_from(["North", "South", "East"]),
        st.sampled_from(["t1", "t2", "t3"]),
        st.floats(min_value=0, max_value=5e6, allow_nan=False),
    ),
    min_size=1,
    max_size=50,
)


@given(
    hierarchy,
    st.floats(min_value=1, max_value=1e11, allow_nan=False),
    st.floats(min_value=0, max_value=0.3),
    st.floats(min_value=0, max_value=0.3),
    st.floats(min_value=0, max_value=0.3),
)
@settings(max_examples=100, deadline=None)
def test_allocation_reconciles_to_the_unit_at_every_level(rows, target, o_reg, o_team, o_rep):
    leaves = pd.DataFrame(rows, columns=["region", "team", "weight"])
    leaves["rep_id"] = [f"R{i}" for i in range(len(leaves))]
    al = allocate(target, leaves, {"region": o_reg, "team": o_team, "rep": o_rep})
    rep = al.report
    assert al.reconciles
    comp = rep[rep["level"] == "company"].iloc[0]
    assert comp["target"] == round_half_up(target)
    assert comp["to_assign"] == round_half_up(comp["target"] * (1 + o_reg))
    assert rep.loc[rep["level"] == "region", "target"].sum() == comp["to_assign"]
    for lvl, child in (("region", "team"), ("team", "rep")):
        parents = rep[rep["level"] == lvl].set_index("node")
        sums = rep[rep["level"] == child].groupby("parent")["target"].sum()
        assert (sums.reindex(parents.index).fillna(0).astype(int) == parents["to_assign"]).all()
    assert al.leaves["amount"].sum() == rep.loc[rep["level"] == "team", "to_assign"].sum()
    assert (al.leaves["amount"] >= 0).all()


@given(
    hierarchy,
    st.floats(min_value=1, max_value=1e11, allow_nan=False),
    st.floats(min_value=0, max_value=0.5),
)
@settings(max_examples=100, deadline=None)
@example(  # a team of zero weight has no unit to give back when the rounding overshoots
    rows=[("North", "t1", 16.0), ("North", "t2", 0.0), ("South", "t1", 162.0)],
    target=7060489612.0,
    total=0.37207242762066123,
)
def test_a_total_over_assignment_is_met_to_the_unit(rows, target, total):
    # a total (not per level) is split across levels, and the leaves sum to it exactly
    leaves = pd.DataFrame(rows, columns=["region", "team", "weight"])
    leaves["rep_id"] = [f"R{i}" for i in range(len(leaves))]
    al = allocate(target, leaves, total)
    assert al.reconciles
    want = round_half_up(round_half_up(target) * (1 + total))
    assert al.leaves["amount"].sum() == want
    assert (al.leaves["amount"] >= 0).all()


def test_allocation_rejects_bad_input():
    leaves = pd.DataFrame({"region": ["a"], "team": ["t"], "rep_id": ["r"], "weight": [1.0]})
    for bad in (0, -5, float("nan")):
        with pytest.raises(SpmConfigError, match="target must be a positive amount"):
            allocate(bad, leaves)
    with pytest.raises(SpmConfigError, match="over_assign for level 'rep'"):
        allocate(100, leaves, {"rep": -0.1})
    with pytest.raises(SpmConfigError, match="levels"):
        allocate(100, leaves, {"division": 0.1})
    with pytest.raises(SpmConfigError, match="weights"):
        allocate(100, leaves.assign(weight=-1.0))


def test_round_half_up_is_away_from_zero_at_halves():
    assert round_half_up(np.array([0.5, 1.5, 2.5, 2.4999, -0.5])).tolist() == [1, 2, 3, 2, -1]
