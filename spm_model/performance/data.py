"""Prepared inputs of the performance analytics: credit, measures, quotas per span.

:class:`PerformanceData` wraps a :class:`~spm_model.data.Dataset` with the
booking credit (see :mod:`spm_model.performance.credit`) and answers, for any
date span, "what did each rep achieve on each measure" and "what was the quota".

Measures
--------
* money measures are ``products.measure`` values (``new_business``, ``renewal``,
  ``services``): credited amounts (currency);
* a quota measure that is not a product measure but names an activity kind
  (``meetings`` -> ``meeting``, ``demo``...) counts that rep's activities of the kind;
* first-line managers (role ``MANAGER``) are measured on their team: their own
  credit plus the owner and split credit of their direct reports (roll-up, one
  level, as the ``sales_manager`` plan template and the synthetic data do;
  overlay credit is not rolled up).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spm_model.data import Dataset, parse_period
from spm_model.data.periods import PeriodSpan
from spm_model.performance.credit import attribute_bookings, owner_on_date


class PerformanceData:
    """A dataset plus the booking credit, with span queries.

    Parameters
    ----------
    ds : Dataset
        Canonical tables (``reps``, ``quotas``, ``transactions``, ``opportunities``,
        ``activities``, ``assignments`` ...).
    credit : DataFrame, optional
        Credit per rep (``rep_id, date, measure, amount``, optionally ``txn_id``),
        e.g. from :mod:`spm_model.crediting`; default :func:`attribute_bookings`.
    """

    def __init__(self, ds: Dataset, credit: pd.DataFrame | None = None):
        self.ds = ds
        self.fy_start_month = ds.meta.fy_start_month
        self.credit = attribute_bookings(ds) if credit is None else credit.copy()
        if "txn_id" not in self.credit:
            self.credit["txn_id"] = pd.Series(np.arange(len(self.credit)).astype(str))
        self.product_measures = set(ds.products["measure"].dropna().unique())
        self.activity_kinds = set(ds.activities["kind"].dropna().unique())
        reps = ds.reps
        self.reps = reps.set_index("rep_id", drop=False)
        self._ancestors = _ancestor_pairs(reps)

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
        if "source" in sel:
            sel = sel[sel["source"].isin(["owner", "split", "exception"])]
        own = sel.groupby(["rep_id", "measure"], as_index=False, observed=True)["amount"].sum()
        money = self._rollup(money, own.rename(columns={"amount": "actual"}))
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

    def _rollup(self, money: pd.DataFrame, own: pd.DataFrame) -> pd.DataFrame:
        """Add each rep's own (owner/split) credit to their manager when a MANAGER."""
        anc = self._ancestors
        if anc.empty or own.empty:
            return money
        up = own.merge(anc, on="rep_id", how="inner")
        up = up.groupby(["ancestor", "measure"], as_index=False, observed=True)["actual"].sum()
        up = up.rename(columns={"ancestor": "rep_id"})
        both = pd.concat([money, up], ignore_index=True)
        return both.groupby(["rep_id", "measure"], as_index=False, observed=True)["actual"].sum()

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


def _ancestor_pairs(reps: pd.DataFrame) -> pd.DataFrame:
    """(rep_id, ancestor) for each rep whose direct manager has role MANAGER."""
    if reps.empty or "manager_id" not in reps:
        return pd.DataFrame({"rep_id": [], "ancestor": []})
    is_mgr = set(reps.loc[reps["role"] == "MANAGER", "rep_id"])
    pairs = pd.DataFrame({"rep_id": reps["rep_id"], "ancestor": reps["manager_id"]})
    pairs = pairs[pairs["ancestor"].isin(is_mgr) & (pairs["ancestor"] != pairs["rep_id"])]
    return pairs.drop_duplicates().reset_index(drop=True)
