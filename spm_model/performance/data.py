"""Prepared inputs of the performance analytics: credit, measures, quotas per span.

:class:`PerformanceData` wraps a :class:`~spm_model.data.Dataset` with the one
crediting of the run (:func:`spm_model.calc.credit_dataset`, the same credit the
statements pay on) and answers, for any date span, "what did each rep achieve
on each measure" and "what was the quota". It attributes nothing itself.

Measures
--------
* money measures are ``products.measure`` values (``new_business``, ``renewal``,
  ``services``): credited amounts (currency);
* a quota measure that is not a product measure but names an activity kind
  (``meetings`` -> ``meeting``, ``demo``...) counts that rep's activities of the kind;
* managers are measured as their statements measure them: a rep whose plan
  measures a data measure with ``rollup: true`` is credited the roll-up of the
  whole hierarchy below them (every level, the crediting's ``rollup`` rows),
  and their pipeline rolls up the same way. Without plans, every rep with
  reports is treated so (as the ``sales_manager`` template does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from spm_model.calc.credit import credit_dataset
from spm_model.crediting import CreditingResult
from spm_model.data import Dataset, parse_period
from spm_model.data.periods import PeriodSpan
from spm_model.plans import Plan

CREDIT_COLUMNS = ["rep_id", "txn_id", "date", "measure", "amount", "margin", "kind", "source"]
"""Columns of :attr:`PerformanceData.credit` (one row per direct credit row)."""


def analytics_credit(credits: CreditingResult) -> pd.DataFrame:
    """Direct credit rows of a crediting as the analytics frame (:data:`CREDIT_COLUMNS`).

    ``source`` is the effective rule (owner, split, overlay, exception; a
    reversal carries the rule it reverses); ``margin`` is the transaction's
    margin times the credit share (currency).
    """
    c = credits.direct
    t = credits.transactions
    codes = c["txn_id"].cat.codes.to_numpy()
    if t is not None and "margin" in t and len(c):
        mg = pd.to_numeric(t["margin"], errors="coerce").to_numpy(np.float64)[codes]
        margin = np.round(mg * np.nan_to_num(c["share"].to_numpy(np.float64)), 2)
    else:
        margin = np.full(len(c), np.nan)
    kind = (
        t["kind"].astype(object).to_numpy()[codes]
        if t is not None and "kind" in t and len(c)
        else np.full(len(c), None, dtype=object)
    )
    return pd.DataFrame(
        {
            "rep_id": c["rep_id"].astype(object).to_numpy(),
            "txn_id": c["txn_id"].astype(object).to_numpy(),
            "date": c["date"].to_numpy(),
            "measure": c["measure"].astype(object).to_numpy(),
            "amount": c["cents"].to_numpy(np.int64) / 100.0,
            "margin": margin,
            "kind": kind,
            "source": CreditingResult.effective_rule(c).to_numpy(),
        }
    )


def rollup_reps(ds: Dataset, plans: Mapping[str, Plan] | None) -> dict[str, set[str]]:
    """Return the data measures each manager is measured on through the roll-up.

    From the plans when given (measures with ``rollup: true`` of the rep's
    ``reps.plan_id``); otherwise every rep with reports, on every money measure
    (an empty set meaning "all").
    """
    reps = ds.reps
    out: dict[str, set[str]] = {}
    if plans:
        by_plan = {
            pid: {(m.data_measure or n) for n, m in p.measures.items() if m.rollup}
            for pid, p in plans.items()
        }
        if "plan_id" in reps:
            for r, pid in zip(reps["rep_id"].astype(object), reps["plan_id"], strict=True):
                ms = by_plan.get(pid)
                if ms:
                    out[str(r)] = ms
        return out
    if "manager_id" in reps:
        for m in reps["manager_id"].dropna().astype(object).unique():
            out[str(m)] = set()
    return out


def descendants(reps: pd.DataFrame) -> pd.DataFrame:
    """Every (ancestor, rep_id) pair of the hierarchy, at any depth (cycles cut)."""
    if reps.empty or "manager_id" not in reps:
        return pd.DataFrame({"ancestor": [], "rep_id": []})
    mgr = dict(zip(reps["rep_id"].astype(object), reps["manager_id"].astype(object), strict=True))
    pairs = []
    for r in mgr:
        seen = {r}
        up = mgr.get(r)
        while isinstance(up, str) and up not in seen:
            pairs.append((up, r))
            seen.add(up)
            up = mgr.get(up)
    return pd.DataFrame(pairs, columns=["ancestor", "rep_id"])


def owner_on_date(assignments: pd.DataFrame, account_id: pd.Series, date: pd.Series) -> pd.Series:
    """Owner rep of each (account, date) pair from effective-dated owner assignments.

    A lookup of territory ownership (for territory potential), not crediting:
    who is credited what comes only from :mod:`spm_model.crediting`.

    Parameters
    ----------
    assignments : DataFrame
        The ``assignments`` table.
    account_id, date : Series
        Pairs to look up (same index).

    Returns
    -------
    Series of str
        ``rep_id`` of the owner on that date, missing where no owner assignment covers it.
    """
    own = assignments.loc[
        assignments["role"] == "owner", ["account_id", "rep_id", "start_date", "end_date"]
    ].dropna(subset=["account_id", "start_date"])
    left = pd.DataFrame(
        {
            "account_id": account_id.to_numpy(),
            "date": pd.to_datetime(date).to_numpy().astype("datetime64[ns]"),
            "_pos": np.arange(len(date)),
        }
    ).dropna(subset=["account_id", "date"])
    if left.empty or own.empty:
        return pd.Series(pd.NA, index=account_id.index, dtype="str")
    left = left.sort_values("date", kind="stable")
    own = own.sort_values("start_date", kind="stable")
    own = own.assign(start_date=own["start_date"].astype("datetime64[ns]"))
    m = pd.merge_asof(
        left,
        own,
        left_on="date",
        right_on="start_date",
        by="account_id",
        direction="backward",
    )
    ok = m["end_date"].isna() | (m["end_date"] >= m["date"])
    reps = m["rep_id"].where(ok)
    out = np.full(len(date), None, dtype=object)
    out[m["_pos"].to_numpy()] = reps.to_numpy(dtype=object, na_value=None)
    return pd.Series(out, index=account_id.index).astype("str")


class PerformanceData:
    """A dataset plus its one crediting, with span queries.

    Parameters
    ----------
    ds : Dataset
        Canonical tables (``reps``, ``quotas``, ``transactions``, ``opportunities``,
        ``activities``, ``assignments`` ...).
    credits : CreditingResult, optional
        The run's crediting (credit once, reuse); default
        :func:`spm_model.calc.credit_dataset` of ``ds`` with ``plans``.
    plans : mapping of plan id to Plan, optional
        The company's plans: clawback windows of the crediting, which managers
        are measured on the roll-up, and the payouts of leaderboards.
    """

    def __init__(
        self,
        ds: Dataset,
        credits: CreditingResult | None = None,
        plans: Mapping[str, Plan] | Iterable[Plan] | None = None,
    ):
        if isinstance(credits, pd.DataFrame):
            raise TypeError(
                "PerformanceData takes the run's CreditingResult "
                "(spm_model.calc.credit_dataset(ds, plans)), not a credit frame"
            )
        self.ds = ds
        self.fy_start_month = ds.meta.fy_start_month
        if plans is not None and not isinstance(plans, Mapping):
            plans = {p.id: p for p in plans}
        self.plans: dict[str, Plan] = dict(plans or {})
        self.credits = credits if credits is not None else credit_dataset(ds, self.plans or None)
        self.credit = analytics_credit(self.credits)
        self.product_measures = set(ds.products["measure"].dropna().unique())
        self.activity_kinds = set(ds.activities["kind"].dropna().unique())
        reps = ds.reps
        self.reps = reps.set_index("rep_id", drop=False)
        self.rollup = rollup_reps(ds, self.plans or None)
        self._team_credit: pd.DataFrame | None = None
        self._descendants: pd.DataFrame | None = None

    @property
    def team_credit(self) -> pd.DataFrame:
        """Roll-up credit of roll-up managers per day: ``rep_id, date, measure, amount``."""
        if self._team_credit is None:
            mgrs = sorted(self.rollup)
            r = self.credits.rollup_rows(mgrs) if mgrs else self.credits.credits.iloc[:0]
            g = (
                pd.DataFrame(
                    {
                        "rep_id": r["rep_id"].astype(object).to_numpy(),
                        "date": r["date"].to_numpy(),
                        "measure": r["measure"].astype(object).to_numpy(),
                        "cents": r["cents"].to_numpy(np.int64),
                    }
                )
                .groupby(["rep_id", "date", "measure"], as_index=False)["cents"]
                .sum()
            )
            g["amount"] = g.pop("cents") / 100.0
            self._team_credit = g
        return self._team_credit

    @property
    def hierarchy(self) -> pd.DataFrame:
        """Every (ancestor, rep_id) pair of the reporting hierarchy, at any depth."""
        if self._descendants is None:
            self._descendants = descendants(self.ds.reps)
        return self._descendants

    def rolled_up(self, frame: pd.DataFrame, rep_col: str = "rep_id") -> pd.DataFrame:
        """Add each row of ``frame`` again for every roll-up manager above its rep.

        Used for pipeline: a manager measured on the roll-up sees the open
        opportunities of the whole team below them (their own are kept too).
        """
        if not self.rollup or frame.empty:
            return frame
        anc = self.hierarchy
        anc = anc[anc["ancestor"].isin(list(self.rollup))]
        up = frame.merge(anc, left_on=rep_col, right_on="rep_id", how="inner", suffixes=("", "_"))
        up[rep_col] = up["ancestor"]
        up = up[frame.columns]
        return pd.concat([frame, up], ignore_index=True)

    # -- periods -------------------------------------------------------------------
    def span(self, label: str) -> PeriodSpan:
        """Parse a period label with the dataset's fiscal calendar."""
        return parse_period(label, self.fy_start_month)

    def span_after(self, sp: PeriodSpan) -> PeriodSpan:
        """Return the period of the same length right after ``sp``."""
        from spm_model.data.periods import periods_between

        nxt = (pd.Timestamp(sp.end) + pd.Timedelta(days=1)).date()
        return periods_between(nxt, nxt, sp.freq, self.fy_start_month)[0]

    def activity_kind_of(self, measure: str) -> str | None:
        """Activity kind counted by a quota measure (``meetings`` -> ``meeting``), if any."""
        if measure in self.product_measures:
            return None
        for cand in (measure, measure.removesuffix("s"), measure.removesuffix("es")):
            if cand in self.activity_kinds:
                return cand
        return None

    # -- achievements ------------------------------------------------------------------
    def actuals(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Achievement per rep and measure in ``start..end`` (inclusive).

        Returns
        -------
        DataFrame
            Columns ``rep_id, measure, actual`` (currency for money measures,
            counts for activity measures), managers rolled up over their teams.
        """
        c = self.credit
        sel = c[(c["date"] >= start) & (c["date"] <= end)]
        money = sel.groupby(["rep_id", "measure"], as_index=False, observed=True)["amount"].sum()
        money = money.rename(columns={"amount": "actual"})
        money = self._rollup(money, start, end)
        a = self.ds.activities
        acts = a[(a["date"] >= start) & (a["date"] <= end)]
        counts = acts.groupby(["rep_id", "kind"], as_index=False, observed=True).size()
        parts = [money]
        quota_measures = set(self.ds.quotas["measure"].dropna().unique())
        for m in sorted(quota_measures - self.product_measures):
            kind = self.activity_kind_of(m)
            if kind is None:
                continue
            k = counts[counts["kind"] == kind]
            parts.append(
                pd.DataFrame(
                    {"rep_id": k["rep_id"], "measure": m, "actual": k["size"].astype(float)}
                )
            )
        return pd.concat(parts, ignore_index=True)

    def _rollup(self, money: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Replace roll-up managers' money measures by their team's roll-up credit."""
        if not self.rollup:
            return money
        tc = self.team_credit
        tc = tc[(tc["date"] >= start) & (tc["date"] <= end)]
        team = tc.groupby(["rep_id", "measure"], as_index=False)["amount"].sum()
        team = team.rename(columns={"amount": "actual"})
        wanted = {(r, m) for r, ms in self.rollup.items() for m in ms}

        def rolled(df: pd.DataFrame) -> np.ndarray:
            keys = zip(df["rep_id"], df["measure"], strict=True)
            return np.array(
                [r in self.rollup and (not self.rollup[r] or (r, m) in wanted) for r, m in keys],
                dtype=bool,
            )

        keep_own = money[~rolled(money)] if len(money) else money
        team = team[rolled(team)] if len(team) else team
        out = pd.concat([keep_own, team], ignore_index=True)
        return out.groupby(["rep_id", "measure"], as_index=False, observed=True)["actual"].sum()

    def quotas(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Quota per rep and measure for ``start..end``.

        Quota rows whose period lies inside the span count whole; rows whose
        period only overlaps it count pro rata by days.

        Returns
        -------
        DataFrame
            Columns ``rep_id, measure, quota``.
        """
        q = self.ds.quotas
        if q.empty:
            return pd.DataFrame({"rep_id": [], "measure": [], "quota": []})
        labels = q["period"].dropna().unique()
        frac = {}
        for lab in labels:
            sp = self.span(str(lab))
            s, e = pd.Timestamp(sp.start), pd.Timestamp(sp.end)
            overlap = (min(e, end) - max(s, start)).days + 1
            frac[lab] = max(overlap, 0) / sp.days
        f = q["period"].map(frac).astype(float).fillna(0.0)
        sel = q.assign(quota=q["amount"] * f)[f > 0]
        return sel.groupby(["rep_id", "measure"], as_index=False, observed=True)["quota"].sum()

    def territory_potential(self, on: pd.Timestamp) -> pd.Series:
        """Sum of ``accounts.potential`` owned by each rep on a date (currency/year)."""
        acc = self.ds.accounts
        owner = owner_on_date(
            self.ds.assignments, acc["account_id"], pd.Series(on, index=acc.index)
        )
        pot = pd.Series(acc["potential"].to_numpy(dtype=float), index=owner.to_numpy())
        pot = pot[pot.index.notna()]
        return pot.groupby(level=0).sum()
