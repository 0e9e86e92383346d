"""Pay as of a date, and exact what-ifs on top of it.

:func:`as_of` is the period-to-date statement: the statement of the period that
contains a date, computed exactly as the final one will be (same proration,
year-to-date true-ups, draws, clawback windows, roll-ups, caps and gates) on
the credit dated up to that day. Nothing is estimated: the rules are the
statement engine's; only the data stops at ``as_of``. With ``as_of`` the
period's last day and the data complete, it *is* the statement.

:func:`what_if` re-runs the same exact engine on changed inputs of the period
containing ``as_of``:

* ``deals``: extra credit for the rep dated ``as_of`` ("if I also close these
  deals"), each on a plan measure;
* ``attainment``: the rep's credited value of every measure that has a quota
  set to ``attainment x quota`` in the as-of measurement period and any later
  period of the statement ("what will I be paid at 100% / 120% of quota"). For
  cumulative (year-to-date) plans the *year-to-date* attainment is set.

:func:`estimate` puts both together for one rep, and :class:`Estimate` carries
the figures, the statement lines of every scenario and the explain trace.

Money is in the plan currency, exact to the cent (``ROUND_HALF_UP`` per line,
as in every statement).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from spm_model.calc.credit import credit_dataset
from spm_model.calc.engine import CalcResult, calculate, evaluate_inputs
from spm_model.calc.inputs import CalcInputs, TISource
from spm_model.crediting import CreditingResult
from spm_model.data.dataset import Dataset
from spm_model.data.periods import PeriodSpan, periods_between
from spm_model.errors import SpmConfigError, SpmDataError
from spm_model.plans import Deal, Plan


def _ts(d: object) -> pd.Timestamp:
    try:
        return pd.Timestamp(d).normalize()
    except (ValueError, TypeError) as exc:
        raise SpmConfigError(f"as_of: not a date: {d!r} ({exc})") from None


def measurement_period(plan: Plan, day: object) -> PeriodSpan:
    """Return the plan's measurement period (month, quarter or year) containing ``day``."""
    d = _ts(day).date()
    return periods_between(d, d, plan.measurement_period, plan.fy_start_month)[0]


def cut_dataset(ds: Dataset, as_of: object) -> Dataset:
    """Return the data as it stood at the end of ``as_of`` (activities, pipeline up to it).

    Transactions are cut through :meth:`CreditingResult.until`; reps, quotas,
    assignments and plans are kept whole (they describe the period, and
    statements prorate by employment dates whoever reads them).
    """
    cut = _ts(as_of)
    a = ds.activities
    o = ds.opportunities
    return ds.replace(
        activities=a[(a["date"] <= cut).to_numpy()] if len(a) else a,
        opportunities=o[(o["created_date"] <= cut).to_numpy()] if len(o) else o,
    )


def as_of(
    plan: Plan,
    ds: Dataset,
    as_of: object,
    *,
    period: str | None = None,
    credits: CreditingResult | None = None,
    reps: Sequence[str] | None = None,
    ti_source: TISource = "auto",
    workers: int = 1,
) -> CalcResult:
    """Period-to-date statements of a plan: what is payable if no more credit arrives.

    Parameters
    ----------
    plan : Plan
        Plan to pay.
    ds : Dataset
        Company data.
    as_of : date-like
        Last day whose credit (and activities, pipeline) counts.
    period : str, optional
        Statement period (whole measurement periods of the plan, e.g. a quarter
        of a monthly plan); default the plan's measurement period containing
        ``as_of``. ``as_of`` must not be after its end; a date before its
        start gives the coming period with nothing credited in it yet.
    credits : CreditingResult, optional
        The run's crediting (credit once, reuse): default
        :func:`spm_model.calc.credit_dataset` of ``ds`` with this plan.
    reps : sequence of str, optional
        Reps to evaluate (default: the plan's members).
    ti_source : {"auto", "rep", "plan_mix", "plan"}
        Source of the target incentive.
    workers : int
        Processes for the exact evaluation.

    Returns
    -------
    CalcResult
        Statements of ``period`` with ``as_of`` set; ``summary.payable`` is
        what would be paid for the period on the credit to date (currency).
    """
    cut = _ts(as_of)
    if period is None:
        period = measurement_period(plan, cut).label
    from spm_model.data.periods import parse_period

    try:
        span = parse_period(period, plan.fy_start_month)
    except ValueError as exc:
        raise SpmConfigError(f"period: {exc}") from None
    if cut > pd.Timestamp(span.end):
        raise SpmConfigError(
            f"as_of {cut.date()} is after period {period} ({span.start}..{span.end}): "
            "that period is closed; use its statement (spm_model.calc.calculate)"
        )
    if credits is None:
        credits = credit_dataset(ds, [plan])
    res = calculate(
        plan,
        cut_dataset(ds, cut),
        period,
        credits=credits.until(cut),
        reps=reps,
        ti_source=ti_source,
        workers=workers,
        stop_at_data_end=False,  # the rest of the period is still to come
    )
    res.as_of = cut.date()
    return res


def as_of_many(
    plans: Iterable[Plan] | Mapping[str, Plan],
    ds: Dataset,
    as_of_date: object,
    *,
    period: str | None = None,
    credits: CreditingResult | None = None,
    workers: int = 1,
    ti_source: TISource = "auto",
) -> list[CalcResult]:
    """Period-to-date statements of every plan, each rep on their own plan.

    ``period`` (e.g. a quarter) is used for plans whose measurement period fits
    in it; a plan measured over a longer period (a yearly plan on a quarterly
    board) is stated for its own measurement period containing the date.
    Plans without reps in the period are skipped. See :func:`as_of`.
    """
    items = list(plans.values() if isinstance(plans, Mapping) else plans)
    if credits is None:
        credits = credit_dataset(ds, items)
    order = {"month": 1, "quarter": 2, "year": 3}
    out = []
    for p in items:
        per = period
        if per is not None:
            from spm_model.data.periods import parse_period

            if order[parse_period(per, p.fy_start_month).freq] < order[p.measurement_period]:
                per = None
        try:
            out.append(
                as_of(
                    p,
                    ds,
                    as_of_date,
                    period=per,
                    credits=credits,
                    workers=workers,
                    ti_source=ti_source,
                )
            )
        except SpmDataError as exc:
            if "no rep" in str(exc):
                continue
            raise
    return out


# -- what-if ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class WhatIfDeal:
    """A deal a rep might close: ``amount`` (currency, or units) on a plan ``measure``."""

    amount: float
    measure: str | None = None

    @classmethod
    def parse(cls, text: str) -> WhatIfDeal:
        """Parse ``AMOUNT`` or ``AMOUNT:measure`` (``50000``, ``25000:renewal``)."""
        amount, _, measure = str(text).partition(":")
        try:
            value = float(amount.replace(",", "").replace("_", ""))
        except ValueError:
            raise SpmConfigError(
                f"deal {text!r}: expected AMOUNT or AMOUNT:measure, e.g. 50000:new_business"
            ) from None
        if not np.isfinite(value):
            raise SpmConfigError(f"deal {text!r}: the amount must be a finite number")
        return cls(value, measure.strip() or None)


def primary_measure(plan: Plan) -> str:
    """Return the plan measure a deal lands on by default: the first credited money one.

    Falls back to the first money measure of any source (an SDR's pipeline);
    a plan measured only on counts has no default and needs ``AMOUNT:measure``.
    """
    money = [n for n, m in plan.measures.items() if m.unit == "money"]
    credited = [n for n in money if plan.measures[n].source == "credit"]
    if credited or money:
        return (credited or money)[0]
    raise SpmConfigError(
        f"plan {plan.id!r} has no money measure to put a deal on; name one of "
        f"{', '.join(plan.measures)} as AMOUNT:measure"
    )


def _resolve_measure(plan: Plan, measure: str | None) -> str:
    if measure is None:
        return primary_measure(plan)
    if measure in plan.measures:
        return measure
    by_data = [n for n, m in plan.measures.items() if (m.data_measure or n) == measure]
    if by_data:
        return by_data[0]
    raise SpmConfigError(
        f"deal measure {measure!r} is not a measure of plan {plan.id!r}; "
        f"choose from {', '.join(plan.measures)}"
    )


def asof_period_index(result: CalcResult) -> int:
    """Index (in ``result.inputs.periods``) of the measurement period the what-ifs change.

    The period containing ``as_of``; for a coming period (``as_of`` before it
    starts), its first measurement period.
    """
    periods = result.inputs.periods
    first = len(periods) - len(result.periods)
    day = result.as_of or periods[-1].end
    if day < periods[first].start:  # a coming period: deals land in its first measurement period
        return first
    for t, p in enumerate(periods):
        if p.start <= day <= p.end:
            return t
    return len(periods) - 1


def _at_attainment(
    v: pd.DataFrame, labels: list[str], t0: int, att: Decimal, cumulative: bool
) -> pd.DataFrame:
    """Credited values set to ``att`` x quota from period ``t0`` on (vectorised, exact cents).

    Per (rep, measure) with a quota in the year: non-cumulative plans get
    ``round(att x quota)`` in every period from ``t0`` whose quota is not zero;
    cumulative plans get the period credit that brings year-to-date credit to
    ``round(att x year-to-date quota)`` at the end of every period from ``t0``.
    Rounding is half away from zero, to the cent, in integer arithmetic.
    """
    if v.empty:
        return v
    num, den = att.as_integer_ratio()
    n_p = len(labels)
    lab_pos = {lab: k for k, lab in enumerate(labels)}
    keys = v[["rep_id", "measure"]].drop_duplicates().reset_index(drop=True)
    kidx = pd.MultiIndex.from_frame(keys).get_indexer(
        pd.MultiIndex.from_frame(v[["rep_id", "measure"]])
    )
    pidx = v["period"].map(lab_pos).to_numpy()
    ok = ~pd.isna(pidx)
    kidx, pidx = kidx[ok], pidx[ok].astype(np.int64)
    shape = (len(keys), n_p)
    q = np.zeros(shape, np.int64)
    c = np.zeros(shape, np.int64)
    x = np.zeros(shape, np.float64)
    present = np.zeros(shape, bool)
    q[kidx, pidx] = np.rint(v["quota"].to_numpy(np.float64)[ok] * 100).astype(np.int64)
    c[kidx, pidx] = np.rint(v["credited"].to_numpy(np.float64)[ok] * 100).astype(np.int64)
    x[kidx, pidx] = v["cancelled"].to_numpy(np.float64)[ok]
    present[kidx, pidx] = True
    has_quota = (q != 0).any(axis=1)

    def scaled(cents: np.ndarray) -> np.ndarray:
        n = cents * num
        return np.sign(n) * ((2 * np.abs(n) + den) // (2 * den))

    new = c.copy()
    if cumulative:
        target_cum = scaled(np.cumsum(q, axis=1))
        prev_cum = np.concatenate([np.zeros((len(keys), 1), np.int64), np.cumsum(c, axis=1)], 1)
        for t in range(t0, n_p):
            base = prev_cum[:, t] if t == t0 else target_cum[:, t - 1]
            col = target_cum[:, t] - base
            new[:, t] = np.where(has_quota, col, c[:, t])
        touched = np.zeros(shape, bool)
        touched[:, t0:] = has_quota[:, None]
    else:
        touched = np.zeros(shape, bool)
        touched[:, t0:] = q[:, t0:] != 0
        new = np.where(touched, scaled(q), c)
    keep = present | touched
    ki, pi = np.nonzero(keep)
    return pd.DataFrame(
        {
            "rep_id": keys["rep_id"].to_numpy()[ki],
            "period": np.asarray(labels, dtype=object)[pi],
            "measure": keys["measure"].to_numpy()[ki],
            "credited": new[ki, pi] / 100.0,
            "quota": q[ki, pi] / 100.0,
            "cancelled": x[ki, pi],
        }
    )


def _changed_inputs(
    result: CalcResult,
    reps: Sequence[str],
    deals: Sequence[WhatIfDeal],
    attainment: float | None,
) -> CalcInputs:
    inputs = result.inputs
    plan = result.plan
    labels = inputs.labels
    t0 = asof_period_index(result)
    want = set(reps)
    v = inputs.values[inputs.values["rep_id"].isin(want)].copy()
    if attainment is not None:
        if not np.isfinite(attainment) or attainment < 0:
            raise SpmConfigError(f"attainment must be a finite fraction >= 0, got {attainment!r}")
        v = _at_attainment(v, labels, t0, Decimal(repr(float(attainment))), plan.cumulative)
    new_deals = {k: list(x) for k, x in inputs.deals.items() if k[0] in want}
    if deals:
        lab = labels[t0]
        day = max(result.as_of or inputs.periods[t0].end, inputs.periods[t0].start)
        add = []
        for r in reps:
            for k, d in enumerate(deals):
                m = _resolve_measure(plan, d.measure)
                add.append({"rep_id": r, "period": lab, "measure": m, "amount": d.amount})
                new_deals.setdefault((r, lab), []).append(
                    Deal(
                        f"what-if-{k + 1}",
                        day,
                        Decimal(repr(float(d.amount))),
                        m,
                        Decimal(1),
                    )
                )
        a = pd.DataFrame(add).groupby(["rep_id", "period", "measure"], as_index=False).sum()
        v = v.merge(a, on=["rep_id", "period", "measure"], how="outer")
        for col in ("credited", "quota", "cancelled"):
            v[col] = v[col].fillna(0.0)
        v["credited"] = (v["credited"] + v["amount"].fillna(0.0)).round(6)
        v = v.drop(columns="amount")
    return replace(
        inputs,
        reps=[r for r in inputs.reps if r in want],
        values=v.reset_index(drop=True),
        coverage=inputs.coverage[inputs.coverage["rep_id"].isin(want)].reset_index(drop=True),
        deals=new_deals,
    )


def what_if(
    result: CalcResult,
    reps: str | Sequence[str] | None = None,
    *,
    deals: Sequence[WhatIfDeal | float | str] = (),
    attainment: float | None = None,
    workers: int = 1,
) -> CalcResult:
    """Re-run statements exactly with extra deals or at a given attainment.

    Parameters
    ----------
    result : CalcResult
        A statement or an as-of statement (:func:`as_of`).
    reps : str or sequence of str, optional
        Reps to re-run (default every rep of ``result``).
    deals : sequence
        Extra deals (:class:`WhatIfDeal`, an amount, or ``"AMOUNT:measure"``)
        credited to each rep on the as-of day (the period end for a final
        statement), in the measurement period containing it.
    attainment : float, optional
        Set every quota-bearing measure to this fraction of quota (1.0 =
        100%) from the as-of measurement period to the end of the statement
        period (year to date for cumulative plans). Applied before ``deals``.
    workers : int
        Processes for the exact evaluation.

    Returns
    -------
    CalcResult
        Statements of the same period and plan for those reps (money in the
        plan currency), ``as_of`` kept.
    """
    if isinstance(reps, str):
        reps = [reps]
    reps = list(result.inputs.reps if reps is None else reps)
    unknown = [r for r in reps if r not in set(result.inputs.reps)]
    if unknown:
        raise SpmConfigError(
            f"rep(s) {', '.join(unknown[:10])} have no statement on plan {result.plan.id!r} "
            f"in {result.period}"
        )
    parsed = [
        d
        if isinstance(d, WhatIfDeal)
        else WhatIfDeal.parse(d)
        if isinstance(d, str)
        else WhatIfDeal(float(d))
        for d in deals
    ]
    inputs = _changed_inputs(result, reps, parsed, attainment)
    first_inside = len(inputs.periods) - len(result.periods)
    ds = result.dataset if result.dataset is not None else Dataset({})
    out = evaluate_inputs(
        result.plan,
        ds,
        result.credits,
        inputs,
        result.period,
        first_inside,
        {r: b for r, b in result.openings.items() if r in set(reps)},
        workers=workers,
    )
    out.as_of = result.as_of
    return out


def payable(result: CalcResult) -> pd.Series:
    """Payable of the statement period per rep (sum over its measurement periods; currency)."""
    s = result.summary
    if s.empty:
        return pd.Series(dtype=float, name="payable")
    cents = np.rint(s["payable"].to_numpy(np.float64) * 100).astype(np.int64)
    g = pd.Series(cents, index=s["rep_id"].to_numpy()).groupby(level=0, sort=False).sum()
    return (g / 100.0).rename("payable")


# -- one rep's estimate ----------------------------------------------------------------------
@dataclass
class Estimate:
    """A rep's pay as of a date, with what-ifs; every figure from the statement engine.

    Attributes
    ----------
    rep_id, plan_id, period : str
        Who, on which plan, for which statement period.
    as_of : date
        Credit dated up to this day counts.
    currency : str
        Currency of every money figure.
    scenarios : DataFrame
        One row per scenario (``now``, ``with deals``, ``at 100%`` ...):
        ``scenario``, ``deals`` (currency added), ``attainment`` (fraction of
        quota of the primary measure in the as-of measurement period, year to
        date for cumulative plans), ``earned`` and ``payable`` (currency),
        ``change`` (payable minus payable now).
    results : dict of str to CalcResult
        The exact statement behind each scenario (lines, summary, explain).
    """

    rep_id: str
    plan_id: str
    period: str
    as_of: date
    currency: str
    scenarios: pd.DataFrame
    results: dict[str, CalcResult] = field(default_factory=dict)

    @property
    def payable_now(self) -> float:
        """Payable for the period on the credit to date (currency)."""
        return float(self.scenarios.iloc[0]["payable"])

    def statement(self, scenario: str = "now") -> pd.DataFrame:
        """Statement lines of one scenario."""
        return self.results[scenario].statement(self.rep_id)

    def explain(self, scenario: str = "now"):
        """Explain trace of the statement behind a scenario (see :meth:`CalcResult.explain`)."""
        return self.results[scenario].explain(self.rep_id)

    def summary(self) -> str:
        """Readable summary of the scenarios."""
        lines = [
            f"Estimate for {self.rep_id} on plan {self.plan_id}, period {self.period}, "
            f"as of {self.as_of} ({self.currency})"
        ]
        for r in self.scenarios.itertuples():
            att = "" if pd.isna(r.attainment) else f"  attainment {r.attainment:.1%}"
            lines.append(
                f"  {r.scenario:<16} payable {r.payable:>14,.2f}  change {r.change:>+13,.2f}{att}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def _attainment_of(result: CalcResult, rep_id: str, measure: str) -> float:
    ln = result.lines
    t = asof_period_index(result)
    label = result.inputs.labels[t]
    sel = ln[(ln["rep_id"] == rep_id) & (ln["measure"] == measure) & (ln["period"] == label)]
    sel = sel.dropna(subset=["attainment"])
    return float(sel["attainment"].iloc[0]) if len(sel) else float("nan")


def estimate(
    plan: Plan,
    ds: Dataset,
    rep_id: str,
    as_of_date: object,
    *,
    deals: Sequence[WhatIfDeal | float | str] = (),
    attainments: Sequence[float] = (1.0, 1.2),
    period: str | None = None,
    credits: CreditingResult | None = None,
    base: CalcResult | None = None,
) -> Estimate:
    """Estimate a rep's exact pay as of a date, with "if I close these deals" and "at X%".

    Parameters
    ----------
    plan : Plan
        The rep's plan.
    ds : Dataset
        Company data.
    rep_id : str
        The rep.
    as_of_date : date-like
        Credit dated up to this day counts.
    deals : sequence
        Deals the rep might close (:class:`WhatIfDeal`, amounts, or
        ``"AMOUNT:measure"``), all together in one scenario.
    attainments : sequence of float
        Attainment scenarios (fractions of quota; 1.0 = 100%).
    period : str, optional
        Statement period (default the plan's measurement period containing the date).
    credits : CreditingResult, optional
        The run's crediting (reused; default credit ``ds``).
    base : CalcResult, optional
        An as-of result that already holds the rep (reused, no recomputation).

    Returns
    -------
    Estimate
    """
    if base is None:
        base = as_of(plan, ds, as_of_date, period=period, credits=credits, reps=[rep_id])
    elif rep_id not in set(base.inputs.reps):
        raise SpmConfigError(f"rep {rep_id!r} is not in the given as-of result")
    now = base
    results = {"now": now}
    parsed = [
        d
        if isinstance(d, WhatIfDeal)
        else WhatIfDeal.parse(d)
        if isinstance(d, str)
        else WhatIfDeal(float(d))
        for d in deals
    ]
    if parsed:
        results["with deals"] = what_if(base, rep_id, deals=parsed)
    for a in attainments:
        results[f"at {a:.0%}"] = what_if(base, rep_id, attainment=float(a))
    try:
        main = primary_measure(plan)
    except SpmConfigError:
        main = next(iter(plan.measures))
    rows = []
    now_pay = float(payable(now).get(rep_id, 0.0))
    for name, res in results.items():
        pay = float(payable(res).get(rep_id, 0.0))
        s = res.summary[res.summary["rep_id"] == rep_id]
        earned = float(np.rint(s["earned"].to_numpy(np.float64) * 100).sum() / 100)
        rows.append(
            {
                "scenario": name,
                "deals": float(sum(d.amount for d in parsed)) if name == "with deals" else 0.0,
                "attainment": _attainment_of(res, rep_id, main),
                "earned": earned,
                "payable": pay,
                "change": round(pay - now_pay, 2),
            }
        )
    return Estimate(
        rep_id,
        plan.id,
        base.period,
        base.as_of or base.periods[-1].end,
        plan.currency,
        pd.DataFrame(rows),
        results,
    )
