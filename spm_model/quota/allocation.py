"""Top-down allocation with over-assignment and exact largest-remainder rounding.

A company target is spread to regions, teams and reps in proportion to weights
(the method's quota basis). At each level the children receive the parent's
amount times ``1 + over_assign[level]``, rounded half up to a whole currency
unit (one number is the *total* over-assignment, split evenly across the three
levels by :func:`split_total_over_assign`; a per-level mapping compounds), and
split by **largest remainder** (Hamilton's method): everyone gets the floor of
their exact share and the units left go to the largest fractional parts (ties to
the earlier row), so the children sum to the parent's assigned amount exactly and
no child is more than one unit from its exact share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spm_model.errors import SpmConfigError

LEVELS: tuple[str, ...] = ("region", "team", "rep")


def round_half_up(x: float | np.ndarray) -> np.ndarray:
    """Round to whole units, halves away from zero (ROUND_HALF_UP for money)."""
    a = np.asarray(x, dtype=float)
    return (np.sign(a) * np.floor(np.abs(a) + 0.5)).astype(np.int64)


def largest_remainder_grouped(
    weights: np.ndarray, groups: np.ndarray, totals: np.ndarray
) -> np.ndarray:
    """Split integer ``totals[g]`` over the rows of each group in proportion to ``weights``.

    Parameters
    ----------
    weights : ndarray of float
        Non-negative weight per row. A group whose weights sum to zero is split
        evenly.
    groups : ndarray of int
        Group code per row, in ``0..len(totals) - 1``.
    totals : ndarray of int
        Non-negative whole amount per group.

    Returns
    -------
    ndarray of int64
        Per row; the rows of every group sum exactly to its total and each row
        is within one unit of its exact share.
    """
    w = np.asarray(weights, dtype=float)
    g = np.asarray(groups, dtype=np.int64)
    t = np.asarray(totals, dtype=np.int64)
    if w.shape != g.shape:
        raise ValueError("weights and groups must have the same shape")
    if (w < 0).any() or not np.isfinite(w).all():
        raise SpmConfigError("allocation weights must be finite and >= 0")
    if (t < 0).any():
        raise SpmConfigError("allocation totals must be >= 0")
    if len(w) == 0:
        return np.zeros(0, dtype=np.int64)
    wsum = np.bincount(g, weights=w, minlength=len(t))
    cnt = np.bincount(g, minlength=len(t))
    if ((cnt == 0) & (t > 0)).any():
        raise SpmConfigError("a non-zero total has no rows to go to")
    even = wsum[g] <= 0
    share = np.where(even, 1.0 / np.maximum(cnt[g], 1), w / np.where(even, 1.0, wsum[g]))
    # exact share in units; split integer and fractional parts without losing the integer part
    tt = t[g].astype(float)
    exact = tt * share
    base = np.floor(exact).astype(np.int64)
    frac = exact - base
    deficit = t - np.bincount(g, weights=base, minlength=len(t)).round().astype(np.int64)
    # float error could leave the deficit outside 0..count-1: repair by moving whole units
    if (deficit < 0).any() or (deficit > cnt).any():  # pragma: no cover - defensive
        over = np.minimum(deficit, 0)
        base = base + 0
        for gi in np.flatnonzero(over < 0):
            rows = np.flatnonzero((g == gi) & (base > 0))
            take = -over[gi]
            for r in rows[np.argsort(frac[rows])][:take]:
                base[r] -= 1
                frac[r] += 1.0
        deficit = t - np.bincount(g, weights=base, minlength=len(t)).round().astype(np.int64)
    order = np.lexsort((np.arange(len(w)), -frac, g))  # by group, largest fraction first
    first = np.searchsorted(g[order], np.arange(len(t)))
    rank = np.empty(len(w), dtype=np.int64)
    rank[order] = np.arange(len(w)) - first[g[order]]
    return base + (rank < deficit[g]).astype(np.int64)


def largest_remainder(weights: Sequence[float] | np.ndarray, total: int) -> np.ndarray:
    """Split a whole ``total`` over ``weights`` exactly (see :func:`largest_remainder_grouped`)."""
    w = np.asarray(weights, dtype=float)
    if int(total) != total:
        raise SpmConfigError(f"total must be a whole number of units, got {total!r}")
    return largest_remainder_grouped(w, np.zeros(len(w), dtype=np.int64), np.array([int(total)]))


def split_total_over_assign(total: float) -> dict[str, float]:
    """Per-level fractions whose compounding gives ``total`` over the company target.

    The total is split evenly in growth terms across :data:`LEVELS`: every level
    adds ``(1 + total) ** (1 / 3) - 1`` (10% total -> 3.23% at the region, team and
    rep levels), so each manager keeps a small cushion between the target they
    are handed and what they hand down, and the leaves sum to ``target x (1 +
    total)`` up to the whole-unit rounding at each level.

    Parameters
    ----------
    total : float
        Total over-assignment (fraction, 0.1 = leaves sum to 110% of the target).

    Returns
    -------
    dict
        ``{"region": f, "team": f, "rep": f}`` (fractions).
    """
    if not (math.isfinite(total) and 0.0 <= total <= 1.0):
        raise SpmConfigError(
            f"over_assign must be a total fraction in [0, 1] (0.1 = quotas sum to 110% of "
            f"the target), got {total!r}"
        )
    per = (1.0 + float(total)) ** (1.0 / len(LEVELS)) - 1.0
    return dict.fromkeys(LEVELS, per)


def parse_over_assign(over_assign: float | Mapping[str, float] | None) -> dict[str, float]:
    """Over-assignment per level (fractions).

    Parameters
    ----------
    over_assign : float, mapping or None
        A number is the **total** over-assignment: the leaves (reps and vacancy
        lines) sum to ``target x (1 + over_assign)``; it is split across levels by
        :func:`split_total_over_assign`. A mapping ``{"region": a, "team": b,
        "rep": c}`` gives explicit **per-level** fractions, which **compound**:
        the total is ``(1 + a)(1 + b)(1 + c) - 1`` (10% at each of three levels
        is 33.1% in total). ``None``: no over-assignment.

    Returns
    -------
    dict
        Fraction per level in :data:`LEVELS`.
    """
    if over_assign is None:
        return dict.fromkeys(LEVELS, 0.0)
    if isinstance(over_assign, Mapping):
        unknown = set(over_assign) - set(LEVELS)
        if unknown:
            raise SpmConfigError(
                f"over_assign levels {sorted(unknown)} unknown; use {list(LEVELS)}"
            )
        out = {lv: float(over_assign.get(lv, 0.0)) for lv in LEVELS}
    else:
        out = split_total_over_assign(float(over_assign))
    for lv, v in out.items():
        if not (math.isfinite(v) and 0.0 <= v <= 1.0):
            raise SpmConfigError(
                f"over_assign for level {lv!r} must be a fraction in [0, 1] (0.1 = 10%), got {v!r}"
            )
    return out


def _settle_total(exact: np.ndarray, rounded: np.ndarray, want: int) -> None:
    """Move whole units in ``rounded`` (in place) so it sums to ``want``.

    The units go to (or come from) the entries rounded furthest down (up) from
    ``exact``, ties to the first; the difference is a unit or two of rounding.
    """
    diff = want - int(rounded.sum())
    if diff == 0 or len(rounded) == 0:
        return
    gap = exact - rounded  # > 0: rounded down
    order = np.argsort(-gap if diff > 0 else gap, kind="stable")
    if diff < 0:  # take units only from entries that have them (a zero-weight team has none)
        order = order[rounded[order] > 0]
    k = 0
    while diff != 0 and len(order):
        i = order[k % len(order)]
        if diff < 0 and rounded[i] == 0:
            order = order[rounded[order] > 0]
            continue
        rounded[i] += 1 if diff > 0 else -1
        diff += -1 if diff > 0 else 1
        k += 1


def total_over_assign(levels: Mapping[str, float]) -> float:
    """Compounded total of per-level fractions: ``prod(1 + f) - 1`` (fraction)."""
    return float(np.prod([1.0 + float(levels.get(lv, 0.0)) for lv in LEVELS]) - 1.0)


@dataclass
class Allocation:
    """Result of :func:`allocate`.

    Attributes
    ----------
    leaves : DataFrame
        Input rows with ``amount`` (whole currency units).
    report : DataFrame
        One row per node: ``level`` (company/region/team/rep), ``node``,
        ``parent``, ``target`` (amount handed down, units), ``over_assign``
        (fraction), ``to_assign`` (target x (1 + over_assign) rounded half up),
        ``assigned`` (sum of children), ``difference`` (assigned - to_assign, 0).
    """

    leaves: pd.DataFrame
    report: pd.DataFrame

    @property
    def reconciles(self) -> bool:
        """True when every node's children sum exactly to its amount to assign."""
        inner = self.report[self.report["level"] != "rep"]
        return bool((inner["difference"] == 0).all())


def allocate(
    target: float | int,
    leaves: pd.DataFrame,
    over_assign: float | Mapping[str, float] | None = None,
    *,
    weight: str = "weight",
    label: str = "rep_id",
) -> Allocation:
    """Spread ``target`` company -> region -> team -> leaf rows.

    Parameters
    ----------
    target : float
        Company target (currency, rounded half up to a whole unit; must be > 0).
    leaves : DataFrame
        One row per leaf with ``region``, ``team``, ``label`` (rep id, or an
        unassigned line) and ``weight`` (>= 0): region and team weights are the
        sums of their leaves.
    over_assign : float or mapping
        One number: total over-assignment (fraction; leaves sum to ``target x (1 +
        over_assign)``, split across levels). A mapping: fraction added at each
        level (``{"region": 0.05, "team": 0.05, "rep": 0.1}``), compounding.
    weight, label : str
        Column names.

    Returns
    -------
    Allocation
    """
    if not (
        isinstance(target, int | float | np.integer | np.floating)
        and math.isfinite(target)
        and target > 0
    ):
        raise SpmConfigError(f"target must be a positive amount, got {target!r}")
    oa = parse_over_assign(over_assign)
    lv = leaves.reset_index(drop=True)
    w = lv[weight].to_numpy(dtype=float)
    if (w < 0).any() or not np.isfinite(w).all():
        raise SpmConfigError("allocation weights must be finite and >= 0")
    company = int(round_half_up(target))
    if company <= 0:
        raise SpmConfigError(f"target must be at least one whole unit, got {target!r}")
    rows = [("company", "company", "", company, 0.0, company)]
    # regions
    reg_codes, reg_names = pd.factorize(lv["region"], sort=True)
    reg_w = np.bincount(reg_codes, weights=w, minlength=len(reg_names))
    to_assign_c = int(round_half_up(company * (1 + oa["region"])))
    reg_amt = largest_remainder_grouped(
        reg_w, np.zeros(len(reg_names), dtype=np.int64), np.array([to_assign_c])
    )
    rows[0] = ("company", "company", "", company, oa["region"], to_assign_c)
    # teams (a team name is unique within its region)
    team_key = lv["region"].astype(str) + "/" + lv["team"].astype(str)
    team_codes, team_names = pd.factorize(team_key, sort=True)
    team_w = np.bincount(team_codes, weights=w, minlength=len(team_names))
    team_reg = np.zeros(len(team_names), dtype=np.int64)
    team_reg[team_codes] = reg_codes
    reg_to_assign = round_half_up(reg_amt * (1 + oa["team"]))
    team_amt = largest_remainder_grouped(team_w, team_reg, reg_to_assign)
    team_exact = team_amt * (1 + oa["rep"])
    team_to_assign = round_half_up(team_exact)
    if over_assign is not None and not isinstance(over_assign, Mapping):
        # a total: the leaves sum to it exactly (each level's rounding could leave a unit or two)
        _settle_total(
            team_exact, team_to_assign, int(round_half_up(company * (1 + float(over_assign))))
        )
    leaf_amt = largest_remainder_grouped(w, team_codes, team_to_assign)
    for i, r in enumerate(reg_names):
        rows.append(
            ("region", str(r), "company", int(reg_amt[i]), oa["team"], int(reg_to_assign[i]))
        )
    for i, t in enumerate(team_names):
        rows.append(
            (
                "team",
                str(t),
                str(reg_names[team_reg[i]]),
                int(team_amt[i]),
                oa["rep"],
                int(team_to_assign[i]),
            )
        )
    rep_rows = pd.DataFrame(
        {
            "level": "rep",
            "node": lv[label].astype(str).to_numpy(),
            "parent": np.asarray(team_names, dtype=object)[team_codes],
            "target": leaf_amt,
            "over_assign": 0.0,
            "to_assign": leaf_amt,
        }
    )
    rep_df = pd.DataFrame(
        rows, columns=["level", "node", "parent", "target", "over_assign", "to_assign"]
    )
    report = pd.concat([rep_df, rep_rows], ignore_index=True)
    # assigned = sum of children's targets
    child_sum = report.groupby("parent")["target"].sum()
    report["assigned"] = report["node"].map(child_sum).fillna(report["target"]).astype(np.int64)
    report.loc[report["level"] == "rep", "assigned"] = report.loc[
        report["level"] == "rep", "target"
    ]
    report["difference"] = report["assigned"] - report["to_assign"]
    report["weight"] = np.concatenate([[w.sum()], reg_w, team_w, w])
    out = lv.assign(amount=leaf_amt)
    return Allocation(leaves=out, report=report)
