"""Plan inputs from data: credited values, quotas and target incentives per rep and period.

One table feeds both payout engines, so they see the same numbers:
:meth:`CalcInputs.period_inputs` builds the exact ``Decimal`` inputs of one rep
(:class:`spm_model.plans.PeriodInputs`), :meth:`CalcInputs.arrays` the numpy
arrays (reps x periods) of the vectorised engine.

Coverage and proration (mid-period changes)
-------------------------------------------
A rep is *covered* by the plan on the days where all of these hold: employed
(``hire_date`` .. ``end_date``), on the plan (``reps.plan_id``, or the rows of an
optional ``plan_assignments`` table ``rep_id, plan_id, start_date, end_date`` for
reps who change plan), and the plan is in effect (``effective_from`` ..
``effective_to``). For each measurement period:

* credit counts only when dated on a covered day (a rep who moves to another
  plan on 15 August is paid by each plan on its own days' credit); territory
  changes need nothing here, crediting already follows the effective-dated
  assignments;
* ``factor = covered days / days in period``;
* quota: each ``quotas`` row is spread evenly over the days of its period, and
  the measurement period takes the days it covers (so quarterly quotas feed a
  monthly plan and monthly quotas a quarterly plan). With
  ``proration.method: days`` and ``quota`` in ``proration.apply_to`` only the
  covered days count, i.e. the quota is prorated by days;
* target incentive: annual TI / periods per year, times ``factor`` when
  ``target_incentive`` is in ``proration.apply_to``.

All money is rounded to the cent ROUND_HALF_UP (integer arithmetic on cents).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd

from spm_model.crediting import CreditingResult
from spm_model.data.dataset import Dataset
from spm_model.data.periods import PeriodSpan, periods_between
from spm_model.errors import Problem, SpmConfigError, SpmDataError
from spm_model.plans import Deal, Mbo, PeriodInputs, Plan, Spif
from spm_model.plans.money import round_cents

TISource = Literal["auto", "plan", "rep", "plan_mix"]
_FAR = np.int64(10**7)


def _day(d: object) -> int:
    return int(np.datetime64(pd.Timestamp(d).date(), "D").astype(np.int64))


def _days_col(s: pd.Series, fill: int) -> np.ndarray:
    v = pd.to_datetime(s).to_numpy().astype("datetime64[D]")
    out = v.astype(np.int64)
    out[np.isnat(v)] = fill
    return out


def _div_round(num: np.ndarray, den: np.ndarray | int) -> np.ndarray:
    """Integer ``num / den`` rounded half away from zero (exact, int64)."""
    num = np.asarray(num, dtype=np.int64)
    den = np.asarray(den, dtype=np.int64)
    q = (2 * np.abs(num) + den) // (2 * den)
    return np.sign(num) * q


@dataclass
class CalcInputs:
    """Credited values, quotas and target incentives of the reps on one plan.

    Attributes
    ----------
    plan : Plan
        The plan.
    periods : list of PeriodSpan
        Measurement periods, in order (usually a fiscal year up to a period).
    reps : list of str
        Reps evaluated (covered at least one day).
    values : DataFrame
        Long table ``rep_id, period, measure, credited, quota, cancelled``:
        credited value of the period (currency, or units for count measures),
        quota, and the part of ``credited`` that comes from cancellations.
    coverage : DataFrame
        ``rep_id, period, covered_days, period_days, factor, target_incentive``
        (target incentive of the period after proration, currency).
    annual_ti : Series
        Annual target incentive per rep (currency).
    deals : dict
        ``(rep_id, period) -> list of Deal`` (only when the plan has SPIFs).
    scores : dict
        ``(rep_id, period) -> {"<component>.<objective>": score}`` from an
        optional ``mbo_scores`` table (rep_id, period, component, objective, score).
    intervals : DataFrame
        Covered day intervals per rep (``rep_id, start, end``, inclusive dates).
    problems : list of Problem
        Data gaps found (a measure without any quota, a rep without OTE...).
    ti_basis : Series, optional
        Where each rep's annual target incentive came from, in words.
    """

    plan: Plan
    periods: list[PeriodSpan]
    reps: list[str]
    values: pd.DataFrame
    coverage: pd.DataFrame
    annual_ti: pd.Series
    deals: dict[tuple[str, str], list[Deal]] = field(default_factory=dict)
    scores: dict[tuple[str, str], dict[str, Decimal]] = field(default_factory=dict)
    intervals: pd.DataFrame | None = None
    problems: list[Problem] = field(default_factory=list)
    ti_basis: pd.Series | None = None

    @property
    def labels(self) -> list[str]:
        """Period labels, in order."""
        return [p.label for p in self.periods]

    def period_inputs(
        self, rep_id: str, *, without_cancellations: bool = False
    ) -> list[PeriodInputs]:
        """Exact inputs of one rep, one per measurement period (in order).

        Parameters
        ----------
        rep_id : str
            Rep.
        without_cancellations : bool
            Leave out the credit of cancellations (used to measure clawbacks).
        """
        v = self._by_rep().get(rep_id)
        cov = self._cov_by_rep().get(rep_id)
        on_plan = self._on_plan(rep_id)
        out = []
        measures = list(self.plan.measures)
        for label in self.labels:
            credited = {m: Decimal(0) for m in measures}
            quota = {m: Decimal(0) for m in measures}
            if v is not None:
                for m, c, q, x in v.get(label, ()):
                    credited[m] = Decimal(str(c)) - (
                        Decimal(str(x)) if without_cancellations else 0
                    )
                    quota[m] = Decimal(str(q))
            ti = Decimal(str(cov[label])) if cov is not None and label in cov else Decimal(0)
            out.append(
                PeriodInputs(
                    credited,
                    quota,
                    ti,
                    scores=self.scores.get((rep_id, label), {}),
                    deals=tuple(
                        d
                        for d in self.deals.get((rep_id, label), [])
                        if not (without_cancellations and d.amount < 0)
                    ),
                    # a period before the hire (or after leaving) adds no per-period cap
                    periods=1 if label in on_plan else 0,
                )
            )
        return out

    def cancelled_periods(self, rep_id: str) -> set[str]:
        """Periods in which cancellations changed the rep's credited values."""
        cache = self.__dict__.get("_canc_cache")
        if cache is None:
            v = self.values[self.values["cancelled"] != 0]
            cache = {}
            for r, p in zip(v["rep_id"], v["period"], strict=True):
                cache.setdefault(r, set()).add(p)
            self.__dict__["_canc_cache"] = cache
        return cache.get(rep_id, set())

    def _by_rep(self) -> dict[str, dict[str, list[tuple[str, float, float, float]]]]:
        cache = self.__dict__.get("_by_rep_cache")
        if cache is None:
            cache = {}
            v = self.values
            for r, p, m, c, q, x in zip(
                v["rep_id"],
                v["period"],
                v["measure"],
                v["credited"],
                v["quota"],
                v["cancelled"],
                strict=True,
            ):
                cache.setdefault(r, {}).setdefault(p, []).append((m, c, q, x))
            self.__dict__["_by_rep_cache"] = cache
        return cache

    def _cov_by_rep(self) -> dict[str, dict[str, float]]:
        cache = self.__dict__.get("_cov_cache")
        if cache is None:
            cache = {}
            c = self.coverage
            for r, p, t in zip(c["rep_id"], c["period"], c["target_incentive"], strict=True):
                cache.setdefault(r, {})[p] = t
            self.__dict__["_cov_cache"] = cache
        return cache

    def _on_plan(self, rep_id: str) -> set[str]:
        """Periods in which the rep is on the plan for at least a day."""
        cache = self.__dict__.get("_on_cache")
        if cache is None:
            cache = {}
            c = self.coverage[self.coverage["covered_days"] > 0]
            for r, p in zip(c["rep_id"], c["period"], strict=True):
                cache.setdefault(r, set()).add(p)
            self.__dict__["_on_cache"] = cache
        return cache.get(rep_id, set())

    def on_plan_array(self) -> np.ndarray:
        """Return (reps, periods) booleans: on the plan for at least a day in the period.

        The ``on_plan`` argument of ``Plan.payout_arrays_periods``.
        """
        return np.array([[lab in self._on_plan(r) for lab in self.labels] for r in self.reps])

    def arrays(
        self,
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray]]:
        """Return the inputs of the vectorised engine, shape (reps, periods).

        Returns
        -------
        (credited, quota, target_incentive, extras)
            Per-measure credited and quota arrays, the target incentive array
            (currency) and the extras (MBO scores, SPIF counts).
        """
        reps = pd.Index(self.reps)
        labels = pd.Index(self.labels)
        shape = (len(reps), len(labels))
        credited = {m: np.zeros(shape) for m in self.plan.measures}
        quota = {m: np.zeros(shape) for m in self.plan.measures}
        v = self.values
        ri = reps.get_indexer(v["rep_id"])
        pi = labels.get_indexer(v["period"])
        for m in self.plan.measures:
            sel = (v["measure"] == m).to_numpy() & (ri >= 0) & (pi >= 0)
            credited[m][ri[sel], pi[sel]] = v["credited"].to_numpy()[sel]
            quota[m][ri[sel], pi[sel]] = v["quota"].to_numpy()[sel]
        ti = np.zeros(shape)
        c = self.coverage
        ri = reps.get_indexer(c["rep_id"])
        pi = labels.get_indexer(c["period"])
        ok = (ri >= 0) & (pi >= 0)
        ti[ri[ok], pi[ok]] = c["target_incentive"].to_numpy()[ok]
        extras: dict[str, np.ndarray] = {}
        for comp in self.plan.components:
            if isinstance(comp, Mbo):
                for key in comp.score_keys() if hasattr(comp, "score_keys") else []:
                    arr = np.full(shape, float(comp.default_score))
                    for (r, p), sc in self.scores.items():
                        if key in sc and r in reps and p in labels:
                            arr[reps.get_loc(r), labels.get_loc(p)] = float(sc[key])
                    extras[key] = arr
            if isinstance(comp, Spif):
                arr = np.zeros(shape)
                for (r, p), deals in self.deals.items():
                    if r in reps and p in labels:
                        n, _ = comp.count_exact(PeriodInputs({}, deals=tuple(deals)))
                        arr[reps.get_loc(r), labels.get_loc(p)] = float(n)
                extras[comp.name] = arr
        return credited, quota, ti, extras


# -- builders --------------------------------------------------------------------------------
def plan_reps(plan: Plan, ds: Dataset, reps: Sequence[str] | None = None) -> pd.DataFrame:
    """Plan membership intervals: ``rep_id, start_day, end_day`` (inclusive day numbers).

    From ``plan_assignments`` (rep_id, plan_id, start_date, end_date) when the
    dataset has it, else ``reps.plan_id``; ``reps`` overrides both (whole time).
    """
    r = ds.reps
    if reps is not None:
        ids = list(dict.fromkeys(reps))
        unknown = sorted(set(ids) - set(r["rep_id"].astype(object)))
        if unknown:
            raise SpmConfigError(f"unknown rep(s): {', '.join(unknown[:20])}")
        return pd.DataFrame({"rep_id": ids, "start_day": -_FAR, "end_day": _FAR})
    if "plan_assignments" in ds.tables and len(ds["plan_assignments"]):
        pa = ds["plan_assignments"]
        pa = pa[pa["plan_id"].astype(object) == plan.id]
        return pd.DataFrame(
            {
                "rep_id": pa["rep_id"].astype(object).to_numpy(),
                "start_day": _days_col(pa["start_date"], -int(_FAR)),
                "end_day": _days_col(pa["end_date"], int(_FAR)),
            }
        )
    on = r[r["plan_id"].astype(object) == plan.id]
    return pd.DataFrame(
        {"rep_id": on["rep_id"].astype(object).to_numpy(), "start_day": -_FAR, "end_day": _FAR}
    )


def membership_days(plan: Plan, ds: Dataset, members: pd.DataFrame) -> pd.DataFrame:
    """Days each member is on ``plan`` and employed: ``rep_id, start, end`` (inclusive day numbers).

    ``members`` as :func:`plan_reps` returns them, clipped to the reps' ``hire_date`` ..
    ``end_date``, the plan's effective dates and the data's declared ``meta.start_date``;
    members never on it are dropped.

    Raises
    ------
    SpmDataError
        A member who is not in the reps table.
    """
    emp = ds.reps.assign(rep_id=ds.reps["rep_id"].astype(object)).set_index("rep_id")
    hire = _days_col(emp["hire_date"], -int(_FAR))
    leave = _days_col(emp["end_date"], int(_FAR))
    pos = pd.Index(emp.index).get_indexer(members["rep_id"])
    if (pos < 0).any():
        bad = members.loc[pos < 0, "rep_id"].unique()[:20]
        raise SpmDataError(
            Problem(
                ds.source,
                "plan_assignments",
                None,
                "rep_id",
                f"unknown rep(s): {', '.join(map(str, bad))}",
            )
        )
    eff_lo = _day(plan.effective_from)
    if ds.meta.start_date is not None:
        # the data's declared first day: pay periods before it are not the data's to pay (a
        # year-to-date plan's first, partial year is measured and targeted from this day)
        eff_lo = max(eff_lo, _day(ds.meta.start_date))
    eff_hi = _day(plan.effective_to) if plan.effective_to else int(_FAR)
    iv = pd.DataFrame(
        {
            "rep_id": members["rep_id"].to_numpy(),
            "start": np.maximum.reduce(
                [members["start_day"].to_numpy(np.int64), hire[pos], np.full(len(pos), eff_lo)]
            ),
            "end": np.minimum.reduce(
                [members["end_day"].to_numpy(np.int64), leave[pos], np.full(len(pos), eff_hi)]
            ),
        }
    )
    return iv[iv["end"] >= iv["start"]].reset_index(drop=True)


def _ti_with_basis(plan: Plan, ote: Any, base: Any, source: TISource) -> tuple[Decimal, str]:
    """One rep's annual target incentive (currency) and where it comes from, in words."""
    has_ote = ote is not None and not pd.isna(ote)
    has_base = base is not None and not pd.isna(base)
    if source in ("auto", "rep") and has_ote and has_base:
        ti = round_cents(Decimal(repr(float(ote))) - Decimal(repr(float(base))))
        basis = f"reps.ote {float(ote):,.2f} - base_salary {float(base):,.2f}"
    elif source in ("auto", "plan_mix") and plan.pay_mix is not None and has_ote:
        ti = plan.annual_target_incentive(ote)
        basis = f"reps.ote {float(ote):,.2f} x the plan's variable share {plan.pay_mix.variable:g}"
    elif plan.target_incentive is not None:
        ti = plan.annual_target_incentive()
        basis = "the plan's target_incentive"
    else:
        ti = plan.annual_target_incentive()
        if plan.ote is not None and plan.pay_mix is not None:
            basis = f"the plan's ote {plan.ote:,.2f} x variable share {plan.pay_mix.variable:g}"
        else:
            basis = "no OTE for the rep and no target_incentive in the plan"
    if ti < 0:
        return Decimal(0), basis + ", below zero: 0"
    return ti, basis


def annual_target_incentives(
    plan: Plan, reps: pd.DataFrame, source: TISource = "auto"
) -> pd.Series:
    """Annual target incentive per rep (currency, cents).

    ``auto`` (default) uses the most specific figure available: the rep's own
    ``ote - base_salary`` from the reps table; else the rep's ``ote`` times the
    plan's ``pay_mix.variable``; else the plan's annual target incentive
    (``target_incentive``, or plan ``ote`` times the pay mix). ``rep``,
    ``plan_mix`` and ``plan`` force one source (falling back to the plan);
    ``spm calc --ti-source plan`` pays everyone on the plan's own figure.
    """
    return target_incentives_with_basis(plan, reps, source)[0]


def target_incentives_with_basis(
    plan: Plan, reps: pd.DataFrame, source: TISource = "auto"
) -> tuple[pd.Series, pd.Series]:
    """:func:`annual_target_incentives` and, per rep, where each figure came from in words."""
    values: dict[Any, Decimal] = {}
    words: dict[Any, str] = {}
    for rid, ote, base in zip(
        reps["rep_id"].astype(object), reps["ote"], reps["base_salary"], strict=True
    ):
        values[rid], words[rid] = _ti_with_basis(plan, ote, base, source)
    return pd.Series(values, dtype=object), pd.Series(words, dtype=object)


def check_calendar(plan: Plan, ds: Dataset) -> None:
    """Refuse a plan whose fiscal year starts in another month than the data's.

    Quota rows are labelled in the data's fiscal calendar (``2026-Q1``); read in
    the plan's they would land in other months, and statements would pay on the
    wrong quotas without a word.
    """
    data_fy = ds.meta.fy_start_month
    if plan.fy_start_month != data_fy:
        raise SpmConfigError(
            f"plan {plan.id!r} counts fiscal years from month {plan.fy_start_month}, the data "
            f"({ds.source}, meta fy_start_month) from month {data_fy}: quota periods such as "
            f"2026-Q1 would be read in two calendars; set fy_start_month: {data_fy} in the plan "
            "(or correct the data's meta)"
        )


def build_inputs(
    plan: Plan,
    ds: Dataset,
    credits: CreditingResult,
    periods: Sequence[PeriodSpan],
    *,
    reps: Sequence[str] | None = None,
    ti_source: TISource = "auto",
) -> CalcInputs:
    """Build the plan inputs of every covered rep for ``periods``.

    Parameters
    ----------
    plan : Plan
        Plan to evaluate.
    ds : Dataset
        Data (reps, quotas, transactions, activities, opportunities...).
    credits : CreditingResult
        Output of :func:`spm_model.crediting.credit_transactions` on ``ds``.
    periods : sequence of PeriodSpan
        Measurement periods of the plan's frequency, in order.
    reps : sequence of str, optional
        Evaluate these reps on the plan (default: the plan's members).
    ti_source : {"auto", "plan", "rep", "plan_mix"}
        Where the annual target incentive comes from
        (:func:`annual_target_incentives`).

    Returns
    -------
    CalcInputs
    """
    periods = list(periods)
    if not periods:
        raise SpmConfigError("no periods to calculate")
    check_calendar(plan, ds)
    problems: list[Problem] = []
    rt = ds.reps.copy()
    rt["rep_id"] = rt["rep_id"].astype(object)
    members = plan_reps(plan, ds, reps)
    if members.empty:
        raise SpmDataError(
            Problem(
                ds.source,
                "reps",
                None,
                "plan_id",
                f"no rep is on plan {plan.id!r} (reps.plan_id or plan_assignments); "
                "pass reps=[...] to evaluate chosen reps on it",
            )
        )
    iv = membership_days(plan, ds, members)
    p_start = np.array([_day(p.start) for p in periods], dtype=np.int64)
    p_end = np.array([_day(p.end) for p in periods], dtype=np.int64)
    p_days = p_end - p_start + 1
    labels = [p.label for p in periods]
    # covered days per (rep, period)
    cov_days = np.maximum(
        0,
        np.minimum(iv["end"].to_numpy()[:, None], p_end[None, :])
        - np.maximum(iv["start"].to_numpy()[:, None], p_start[None, :])
        + 1,
    )
    cov = pd.DataFrame(cov_days, columns=labels)
    cov["rep_id"] = iv["rep_id"].to_numpy()
    cov = cov.groupby("rep_id", sort=False).sum()
    cov = cov[cov.sum(axis=1) > 0]
    rep_list = list(cov.index)
    if not rep_list:
        raise SpmDataError(
            Problem(
                ds.source,
                "reps",
                None,
                None,
                (
                    f"no rep on plan {plan.id!r} is employed during {labels[0]}..{labels[-1]}"
                    if reps is None
                    else f"{', '.join(map(str, reps))} not employed on plan {plan.id!r} during "
                    f"{labels[0]}..{labels[-1]}"
                ),
            )
        )
    iv = iv[iv["rep_id"].isin(rep_list)].reset_index(drop=True)
    prorate_q = plan.proration.method == "days" and "quota" in plan.proration.apply_to
    prorate_ti = plan.proration.method == "days" and "target_incentive" in plan.proration.apply_to

    # target incentive per period
    ti_annual, ti_basis = target_incentives_with_basis(
        plan, rt[rt["rep_id"].isin(rep_list)], ti_source
    )
    ti_annual, ti_basis = ti_annual.reindex(rep_list), ti_basis.reindex(rep_list)
    ppy = plan.periods_per_year
    ti_period_cents = np.array([int(round_cents(t / ppy) * 100) for t in ti_annual], dtype=np.int64)
    cov_arr = cov[labels].to_numpy(np.int64)
    if prorate_ti:
        ti_cents = _div_round(ti_period_cents[:, None] * cov_arr, p_days[None, :])
    else:
        ti_cents = np.where(cov_arr > 0, ti_period_cents[:, None], 0)
    coverage = pd.DataFrame(
        {
            "rep_id": np.repeat(rep_list, len(labels)),
            "period": np.tile(labels, len(rep_list)),
            "covered_days": cov_arr.ravel(),
            "period_days": np.tile(p_days, len(rep_list)),
            "target_incentive": ti_cents.ravel() / 100.0,
        }
    )
    coverage["factor"] = coverage["covered_days"] / coverage["period_days"]

    values = []
    quotas: dict[str, pd.DataFrame] = {}
    for name, m in plan.measures.items():
        if getattr(m, "quota_ratio_of", None) is None:
            quotas[name] = _quota(
                name,
                m,
                plan,
                ds,
                iv,
                rep_list,
                p_start,
                p_end,
                labels,
                cov_arr,
                prorate_q,
                problems,
            )
    for name, m in plan.measures.items():
        other = getattr(m, "quota_ratio_of", None)
        if other is not None:
            # quota = ratio x the other measure's quota, rounded to the cent
            base = quotas.get(other, _no_quota())
            ratio = Decimal(repr(float(m.quota_ratio or 0)))
            quotas[name] = base.assign(
                quota=[float(round_cents(ratio * Decimal(repr(float(q))))) for q in base["quota"]]
            )
    for name, m in plan.measures.items():
        cred = _credited(name, m, ds, credits, iv, p_start, p_end, labels, problems)
        quo = quotas[name]
        df = cred.merge(quo, on=["rep_id", "period"], how="outer")
        df["measure"] = name
        values.append(df)
    vals = pd.concat(values, ignore_index=True)
    for c in ("credited", "quota", "cancelled"):
        vals[c] = vals[c].fillna(0.0)
    vals = vals[vals["rep_id"].isin(rep_list)]
    vals = vals[["rep_id", "period", "measure", "credited", "quota", "cancelled"]].reset_index(
        drop=True
    )

    deals: dict[tuple[str, str], list[Deal]] = {}
    if plan.needs_deals:
        deals = _deals(plan, ds, credits, iv, p_start, p_end, labels)
    scores = _scores(ds, rep_list, labels)
    ivd = pd.DataFrame(
        {
            "rep_id": iv["rep_id"],
            "start": (iv["start"].clip(-100000, 100000).to_numpy().astype("datetime64[D]")),
            "end": (iv["end"].clip(-100000, 100000).to_numpy().astype("datetime64[D]")),
        }
    )
    return CalcInputs(
        plan, periods, rep_list, vals, coverage, ti_annual, deals, scores, ivd, problems, ti_basis
    )


def _no_quota() -> pd.DataFrame:
    """Return an empty quota frame typed like a full one (so merges keep working)."""
    return pd.DataFrame(
        {
            "rep_id": pd.Series([], dtype=object),
            "period": pd.Series([], dtype=object),
            "quota": pd.Series([], dtype=np.float64),
        }
    )


def _period_index(day: np.ndarray, p_start: np.ndarray, p_end: np.ndarray) -> np.ndarray:
    k = np.searchsorted(p_start, day, side="right") - 1
    ok = (k >= 0) & (day <= p_end[np.clip(k, 0, None)])
    return np.where(ok, k, -1)


def _covered(rep: np.ndarray, day: np.ndarray, iv: pd.DataFrame) -> np.ndarray:
    """Boolean mask: (rep, day) falls in one of the rep's covered intervals."""
    if len(rep) == 0:
        return np.zeros(0, bool)
    left = pd.DataFrame({"rep_id": rep, "day": day, "i": np.arange(len(rep))})
    m = left.merge(iv, on="rep_id", how="inner")
    hit = m.loc[(m["day"] >= m["start"]) & (m["day"] <= m["end"]), "i"].to_numpy()
    out = np.zeros(len(rep), bool)
    out[hit] = True
    return out


def _credit_rows(
    name: str,
    m,
    credits: CreditingResult,
    ds: Dataset,
    iv: pd.DataFrame,
    p_start: np.ndarray,
    p_end: np.ndarray,
    problems: list[Problem] | None = None,
) -> pd.DataFrame:
    """Credit rows feeding a credit/margin/units measure, restricted to covered days.

    A cancellation dated after the rep left the plan is on no statement: it is named in
    ``problems`` (the plan's clawback then needs recovering from final pay by hand).
    """
    members = list(iv["rep_id"].unique())
    c = credits.rollup_rows(members) if m.rollup else credits.direct
    dm = m.data_measure or name
    c = c[c["measure"] == dm]
    c = c[c["rep_id"].isin(members)]
    if m.product_families is not None:
        fam = ds.products.set_index(ds.products["product_id"].astype(object))["family"].astype(
            object
        )
        fams = c["product_id"].astype(object).map(fam)
        c = c[fams.isin(m.product_families).to_numpy()]
    day = c["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    rep = c["rep_id"].astype(object).to_numpy()
    keep = _covered(rep, day, iv)
    k = _period_index(day, p_start, p_end)
    if problems is not None:
        cancel = (c["rule"] == "cancellation").to_numpy() | (
            (c["rule"] == "rollup") & (c["source_rule"] == "cancellation")
        ).to_numpy()
        # reps who left the company (a rep who moved plan has the credit on the new plan)
        ended = ds.reps.set_index(ds.reps["rep_id"].astype(object))["end_date"].dropna()
        last = ended.to_numpy().astype("datetime64[D]").astype(np.int64)
        last = pd.Series(last, index=ended.index)
        after = day > pd.Series(rep).map(last).fillna(np.iinfo(np.int64).max).to_numpy()
        lost = np.flatnonzero(cancel & ~keep & (k >= 0) & after & (c["cents"].to_numpy() != 0))
        for r in dict.fromkeys(rep[lost]):
            mine = lost[rep[lost] == r]
            end = (np.datetime64(int(last[r]), "D")).astype(str)
            txt = ", ".join(
                f"{c['txn_id'].iloc[i]} on {str(c['date'].iloc[i])[:10]} "
                f"({int(c['cents'].iloc[i]) / 100:,.2f})"
                for i in mine[:5]
            )
            problems.append(
                Problem(
                    ds.source,
                    "transactions",
                    None,
                    "date",
                    f"{r} left on {end}: cancellation credit dated after it is on no "
                    f"statement ({txt}{', ...' if len(mine) > 5 else ''}); recover any clawback "
                    "from final pay by hand",
                )
            )
    keep &= k >= 0
    out = c[keep].copy()
    out["_k"] = k[keep]
    return out


def _credited(name, m, ds, credits, iv, p_start, p_end, labels, problems) -> pd.DataFrame:
    if m.source in ("credit", "margin", "units"):
        rows = _credit_rows(name, m, credits, ds, iv, p_start, p_end, problems)
        is_cancel = (rows["rule"] == "cancellation") | (
            (rows["rule"] == "rollup") & (rows["source_rule"] == "cancellation")
        )
        if m.source == "credit":
            val = rows["cents"].to_numpy(np.int64)
            scale = 100.0
        else:
            t = ds.transactions
            col = "margin" if m.source == "margin" else "units"
            if col not in t:
                problems.append(
                    Problem(
                        ds.source,
                        "transactions",
                        None,
                        col,
                        f"measure {name!r} needs transactions.{col}; it is missing (0 used)",
                    )
                )
                base = np.zeros(len(rows))
            else:
                tv = pd.to_numeric(t[col], errors="coerce").fillna(0.0).to_numpy()
                codes = rows["txn_id"].cat.codes.to_numpy()
                base = tv[codes]
            share = np.nan_to_num(rows["share"].to_numpy(np.float64))
            if m.source == "margin":
                val = np.rint(base * 100 * share).astype(np.int64)
                scale = 100.0
            else:
                val = np.round(base * share, 6)
                scale = 1.0
        g = pd.DataFrame(
            {
                "rep_id": rows["rep_id"].astype(object).to_numpy(),
                "_k": rows["_k"].to_numpy(),
                "v": val,
                "x": np.where(is_cancel.to_numpy(), val, 0),
            }
        )
        g = g.groupby(["rep_id", "_k"], as_index=False)[["v", "x"]].sum()
        return pd.DataFrame(
            {
                "rep_id": g["rep_id"],
                "period": np.asarray(labels, dtype=object)[g["_k"]],
                "credited": g["v"] / scale,
                "cancelled": g["x"] / scale,
            }
        )
    if m.source == "activities":
        a = ds.activities
        if m.activity_kinds is not None:
            a = a[a["kind"].astype(object).isin(m.activity_kinds)]
        rep = a["rep_id"].astype(object).to_numpy()
        day = a["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
        keep = _covered(rep, day, iv)
        k = _period_index(day, p_start, p_end)
        keep &= k >= 0
        g = (
            pd.DataFrame({"rep_id": rep[keep], "_k": k[keep]})
            .groupby(["rep_id", "_k"], as_index=False)
            .size()
        )
        return pd.DataFrame(
            {
                "rep_id": g["rep_id"],
                "period": np.asarray(labels, dtype=object)[g["_k"]],
                "credited": g["size"].astype(float),
                "cancelled": 0.0,
            }
        )
    if m.source == "pipeline":
        o = pipeline_pairs(ds)
        rep = o["rep_id"].astype(object).to_numpy()
        day = o["created_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
        keep = _covered(rep, day, iv)
        k = _period_index(day, p_start, p_end)
        keep &= k >= 0
        cents = np.rint(o["amount"].to_numpy(np.float64) * 100).astype(np.int64)
        g = pd.DataFrame({"rep_id": rep[keep], "_k": k[keep], "v": cents[keep]})
        g = g.groupby(["rep_id", "_k"], as_index=False)["v"].sum()
        return pd.DataFrame(
            {
                "rep_id": g["rep_id"],
                "period": np.asarray(labels, dtype=object)[g["_k"]],
                "credited": g["v"] / 100.0,
                "cancelled": 0.0,
            }
        )
    raise SpmConfigError(f"measure {name!r}: unknown source {m.source!r}")


def pipeline_pairs(ds: Dataset) -> pd.DataFrame:
    """Opportunities each rep is credited with for pipeline created.

    A rep's pipeline is the opportunities they own (``owner_rep_id``) and those
    they sourced: an opportunity carrying one of their meetings in
    ``activities.opportunity_id`` (an SDR's booked meeting). Each opportunity
    counts once per rep, on its ``created_date``.

    Returns
    -------
    DataFrame
        ``rep_id, opportunity_id, account_id, product_id, created_date, amount``
        (currency) and ``how`` (``"owned"`` or ``"sourced"``).
    """
    o = ds.opportunities
    cols = ["opportunity_id", "account_id", "product_id", "created_date", "amount"]
    o = o.assign(product_id=o["product_id"] if "product_id" in o else None)[["owner_rep_id", *cols]]
    owned = o.rename(columns={"owner_rep_id": "rep_id"}).assign(how="owned")
    parts = [owned]
    if "activities" in ds and len(ds.activities) and "opportunity_id" in ds.activities:
        a = ds.activities
        met = a[(a["kind"].astype(str) == "meeting") & a["opportunity_id"].notna()]
        if len(met):
            src = met[["rep_id", "opportunity_id"]].drop_duplicates()
            src = src.merge(o[cols], on="opportunity_id", how="inner").assign(how="sourced")
            parts.append(src)
    out = pd.concat(parts, ignore_index=True)
    out["rep_id"] = out["rep_id"].astype(object)
    return out.drop_duplicates(["rep_id", "opportunity_id"], keep="first").reset_index(drop=True)


def _quota(
    name, m, plan, ds, iv, rep_list, p_start, p_end, labels, cov_arr, prorate, problems
) -> pd.DataFrame:
    n_r, n_p = len(rep_list), len(labels)
    money = m.unit == "money"
    if m.fixed_quota is not None:
        fq = int(round_cents(Decimal(repr(float(m.fixed_quota)))) * 100)
        if prorate:
            q = _div_round(
                np.full((n_r, n_p), fq, np.int64) * cov_arr, (p_end - p_start + 1)[None, :]
            )
        else:
            q = np.where(cov_arr > 0, fq, 0)
        return pd.DataFrame(
            {
                "rep_id": np.repeat(rep_list, n_p),
                "period": np.tile(labels, n_r),
                "quota": q.ravel() / 100.0,
            }
        )
    qm = m.quota_measure or name
    qt = ds.quotas
    qt = qt[(qt["measure"].astype(object) == qm) & qt["rep_id"].astype(object).isin(rep_list)]
    if qt.empty:
        problems.append(
            Problem(
                ds.source,
                "quotas",
                None,
                "measure",
                f"no quota rows for measure {qm!r} (plan measure {name!r}): quota 0",
            )
        )
        return _no_quota()
    from spm_model.data.periods import parse_period

    spans = {
        lab: parse_period(lab, plan.fy_start_month) for lab in qt["period"].astype(object).unique()
    }
    q_lo = np.array([_day(spans[x].start) for x in qt["period"]], dtype=np.int64)
    q_hi = np.array([_day(spans[x].end) for x in qt["period"]], dtype=np.int64)
    q_days = q_hi - q_lo + 1
    q_cents = np.rint(qt["amount"].to_numpy(np.float64) * 100).astype(np.int64)
    q_rep = qt["rep_id"].astype(object).to_numpy()
    if prorate and plan.proration.quota_rows == "as_employed":
        # the row is already the quota of the days employed: spread it over those days only
        r = ds.reps.set_index(ds.reps["rep_id"].astype(object))
        hire = _days_col(pd.Series(q_rep).map(r["hire_date"]), -int(_FAR))
        left = _days_col(pd.Series(q_rep).map(r["end_date"]), int(_FAR))
        employed = np.minimum(q_hi, left) - np.maximum(q_lo, hire) + 1
        q_days = np.where(employed > 0, employed, q_days)

    def counted_through(limit: np.ndarray) -> np.ndarray:
        """Count each quota row's days from its start to ``limit`` (inclusive).

        All of them, or with proration only the days the rep is on the plan.
        """
        hi = np.minimum(q_hi, limit)
        whole = np.maximum(hi - q_lo + 1, 0)
        if not prorate:
            return whole
        sel = whole > 0
        out = np.zeros(len(q_rep), dtype=np.int64)
        if not sel.any():
            return out
        sub = pd.DataFrame({"rep_id": q_rep[sel], "hi": hi[sel], "i": np.flatnonzero(sel)})
        sub["lo"] = q_lo[sel]
        mm = sub.merge(iv, on="rep_id", how="inner")
        d = np.maximum(np.minimum(mm["hi"], mm["end"]) - np.maximum(mm["lo"], mm["start"]) + 1, 0)
        return np.bincount(mm["i"].to_numpy(), weights=d.to_numpy(), minlength=len(q_rep)).astype(
            np.int64
        )

    # each period's share is the difference of the row's rounded running totals, so the
    # shares of a row add up to its amount to the cent (400,000 over 90/91/92/92 days:
    # 98,630.14 + 99,726.02 + 100,821.92 + 100,821.92, not a cent more)
    rows = []
    for k in range(n_p):
        sel = np.minimum(q_hi, p_end[k]) >= np.maximum(q_lo, p_start[k])
        if not sel.any():
            continue
        through = _div_round(q_cents * counted_through(np.full(len(q_rep), p_end[k])), q_days)
        before = _div_round(q_cents * counted_through(np.full(len(q_rep), p_start[k] - 1)), q_days)
        part = through - before
        rows.append(pd.DataFrame({"rep_id": q_rep[sel], "period": labels[k], "q": part[sel]}))
    g = (
        pd.concat(rows, ignore_index=True).groupby(["rep_id", "period"], as_index=False)["q"].sum()
        if rows
        else pd.DataFrame({"rep_id": [], "period": [], "q": []})
    )
    _name_missing_quotas(qm, name, ds, rep_list, labels, cov_arr, g, problems)
    del money
    if g.empty:
        return _no_quota()
    return pd.DataFrame({"rep_id": g["rep_id"], "period": g["period"], "quota": g["q"] / 100.0})


def _name_missing_quotas(qm, name, ds, rep_list, labels, cov_arr, have, problems) -> None:
    """Add a problem per period in which reps on the plan have no quota row for the measure.

    Their quota is 0, so any pay that reads attainment is 0: a quotas table whose
    periods do not cover the plan's (another fiscal calendar, a year not loaded yet)
    must not pass as a quiet zero.
    """
    got = set(zip(have["rep_id"].astype(object), have["period"].astype(object), strict=True))
    for k, lab in enumerate(labels):
        lacking = [
            str(r) for i, r in enumerate(rep_list) if cov_arr[i, k] > 0 and (r, lab) not in got
        ]
        if lacking:
            shown = ", ".join(lacking[:8]) + (", ..." if len(lacking) > 8 else "")
            problems.append(
                Problem(
                    ds.source,
                    "quotas",
                    None,
                    "period",
                    f"no quota row for measure {qm!r}"
                    + (f" (plan measure {name!r})" if name != qm else "")
                    + f" covers {lab} for "
                    f"{len(lacking)} rep(s) on the plan ({shown}): their quota is 0, so pay "
                    "that reads attainment is 0; add the rows (period labels in the plan's "
                    "fiscal calendar)",
                )
            )


def _deals(plan, ds, credits, iv, p_start, p_end, labels) -> dict[tuple[str, str], list[Deal]]:
    c = credits.direct
    eff = c["source_rule"].astype(object).where(c["source_rule"].notna(), c["rule"].astype(object))
    c = c[eff.isin(["owner", "split", "overlay"]).to_numpy()]
    day = c["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    rep = c["rep_id"].astype(object).to_numpy()
    keep = _covered(rep, day, iv)
    k = _period_index(day, p_start, p_end)
    keep &= k >= 0
    c = c[keep]
    k = k[keep]
    to_plan: dict[str, str] = {}
    for name, m in plan.measures.items():
        if m.source == "credit" and not m.rollup:
            to_plan.setdefault(m.data_measure or name, name)
    fam = (
        ds.products.set_index(ds.products["product_id"].astype(object))["family"]
        .astype(object)
        .to_dict()
    )
    t = ds.transactions
    units = (
        pd.to_numeric(t["units"], errors="coerce").fillna(0.0).to_numpy()
        if "units" in t
        else np.zeros(len(t))
    )
    codes = c["txn_id"].cat.codes.to_numpy()
    out: dict[tuple[str, str], list[Deal]] = {}
    for r, kk, tid, d, cents, meas, prod, share, code in zip(
        c["rep_id"].astype(object),
        k,
        c["txn_id"].astype(object),
        c["date"],
        c["cents"],
        c["measure"].astype(object),
        c["product_id"].astype(object),
        c["share"],
        codes,
        strict=True,
    ):
        u = Decimal(repr(round(float(units[code]) * (0.0 if pd.isna(share) else float(share)), 6)))
        out.setdefault((r, labels[kk]), []).append(
            Deal(
                tid,
                d.date(),
                Decimal(int(cents)) / 100,
                to_plan.get(meas, meas),
                u,
                prod,
                fam.get(prod),
            )
        )
    return out


def _scores(
    ds: Dataset, rep_list: list[str], labels: list[str]
) -> dict[tuple[str, str], dict[str, Decimal]]:
    if "mbo_scores" not in ds.tables:
        return {}
    s = ds["mbo_scores"]
    out: dict[tuple[str, str], dict[str, Decimal]] = {}
    want_r, want_p = set(rep_list), set(labels)
    for r, p, comp, obj, sc in zip(
        s["rep_id"].astype(object),
        s["period"].astype(str),
        s["component"],
        s["objective"],
        s["score"],
        strict=True,
    ):
        if r in want_r and p in want_p:
            out.setdefault((r, p), {})[f"{comp}.{obj}"] = Decimal(repr(float(sc)))
    return out


def fiscal_periods_through(plan: Plan, label: str) -> tuple[list[PeriodSpan], list[PeriodSpan]]:
    """Measurement periods from the fiscal-year start through ``label``, and those inside ``label``.

    Parameters
    ----------
    plan : Plan
        Gives the measurement period and fiscal calendar.
    label : str
        Requested period (``2025-Q3``, ``2025-07`` or ``2025``); must be made of
        whole measurement periods.

    Returns
    -------
    (list of PeriodSpan, list of PeriodSpan)
        All periods of the fiscal year up to the end of ``label``, and the
        periods that make up ``label``.
    """
    from spm_model.data.periods import parse_period

    try:
        span = parse_period(label, plan.fy_start_month)
    except ValueError as exc:
        raise SpmConfigError(str(exc)) from None
    order = {"month": 1, "quarter": 2, "year": 3}
    if order[span.freq] < order[plan.measurement_period]:
        raise SpmConfigError(
            f"period {label!r} is shorter than the plan's measurement period "
            f"({plan.measurement_period}); ask for a {plan.measurement_period} or longer"
        )
    fy = parse_period(str(span.fiscal_year), plan.fy_start_month)
    allp = periods_between(fy.start, span.end, plan.measurement_period, plan.fy_start_month)
    inside = [p for p in allp if p.start >= span.start]
    return allp, inside


def as_date(d: object) -> date:
    """Convert a date-like value to :class:`datetime.date`."""
    return pd.Timestamp(d).date()
