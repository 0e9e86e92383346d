"""Exact calculation: every rep's statement for a period, with ``Decimal`` money.

:func:`calculate` runs one plan over the reps on it for a requested period:

1. credit the transactions (:func:`spm_model.crediting.credit_transactions`,
   with the plan's clawback window) unless credits are given;
2. build the plan inputs from the fiscal-year start to the end of the period
   (:func:`spm_model.calc.inputs.build_inputs`: credited values, quotas and
   target incentives, prorated by covered days);
3. evaluate the plan exactly per rep with
   :meth:`spm_model.plans.Plan.evaluate_periods_exact` (year-to-date true-up,
   pay-period grouping, draws), and measure each cancellation's clawback as
   the payout it removed;
4. keep the statement lines of the requested measurement periods.

Rounding: every earned line is rounded to the cent ``ROUND_HALF_UP`` once, after
its gate and cap (see :mod:`spm_model.plans.money`); totals add rounded lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pandas as pd

from spm_model.calc.credit import clawback_policy, credit_dataset
from spm_model.calc.inputs import CalcInputs, TISource, build_inputs, fiscal_periods_through
from spm_model.crediting import CreditingResult, credit_transactions
from spm_model.data.dataset import Dataset
from spm_model.data.periods import PeriodSpan
from spm_model.errors import Problem, SpmError
from spm_model.plans import PeriodOutcome, Plan, accumulate_inputs, with_year_to_date
from spm_model.plans.money import ZERO, round_cents
from spm_model.progress import Progress, make_bar

LINE_COLUMNS = [
    "rep_id",
    "name",
    "plan_id",
    "period",
    "component",
    "type",
    "measure",
    "basis",
    "credited",
    "cancelled_credit",
    "quota",
    "attainment",
    "segment",
    "rate",
    "target",
    "earned",
    "ytd_earned",
    "capped",
    "gate",
    "clawback",
]
"""Columns of :attr:`CalcResult.lines` (one row per rep, period and component)."""

SUMMARY_COLUMNS = [
    "rep_id",
    "name",
    "role",
    "region",
    "team",
    "plan_id",
    "period",
    "covered_days",
    "period_days",
    "proration",
    "target_incentive",
    "earned",
    "ytd_earned",
    "previously_paid",
    "true_up_due",
    "clawback",
    "capped",
    "pay_period_end",
    "pay_due",
    "draw",
    "draw_advanced",
    "draw_recovered",
    "draw_balance",
    "payable",
]
"""Columns of :attr:`CalcResult.summary` (one row per rep and period)."""


@dataclass
class RepRun:
    """One rep's exact run over the fiscal year up to the requested period (internal)."""

    rep_id: str
    outcomes: list[PeriodOutcome]
    clawbacks: list[dict[str, Decimal]]
    draws: list[Decimal]
    opening_balance: Decimal = ZERO


@dataclass
class CalcResult:
    """Statements of one plan for one period.

    Attributes
    ----------
    plan : Plan
        Plan evaluated.
    period : str
        Requested period label.
    periods : list of PeriodSpan
        Measurement periods inside the requested period.
    lines : DataFrame
        One row per rep, measurement period and component (:data:`LINE_COLUMNS`):
        credited (currency or units), cancelled_credit (part of credited that
        comes from cancellations), quota, attainment (fraction), segment (tier
        or curve point reached), rate, target (component target incentive),
        earned (this period), ytd_earned, clawback (payout removed by this
        period's cancellations). ``basis`` is ``ytd`` for cumulative plans
        (credited/quota/attainment are year to date) and ``period`` otherwise.
    summary : DataFrame
        One row per rep and measurement period (:data:`SUMMARY_COLUMNS`),
        currency: earned, ytd_earned, previously_paid (net pay of earlier pay
        periods this fiscal year), true_up_due, draw, draw_advanced,
        draw_recovered, draw_balance (negative = owed by the rep), payable.
    inputs : CalcInputs
        Inputs of both engines (credited values, quotas, target incentives).
    credits : CreditingResult
        Crediting behind the inputs (for :meth:`explain`).
    runs : dict
        Per rep: the exact outcomes of every fiscal-year period so far.
    openings : dict
        Draw balance carried into the fiscal year per rep (currency).
    as_of : date or None
        For a period-to-date statement (:func:`spm_model.calc.as_of`): the
        last day whose credit counts; None for a statement on all the data.
    """

    plan: Plan
    period: str
    periods: list[PeriodSpan]
    lines: pd.DataFrame
    summary: pd.DataFrame
    inputs: CalcInputs
    credits: CreditingResult
    runs: dict[str, RepRun] = field(default_factory=dict)
    dataset: Dataset | None = None
    openings: dict[str, Decimal] = field(default_factory=dict)
    as_of: date | None = None

    def __repr__(self) -> str:
        tot = self.summary["payable"].sum() if len(self.summary) else 0.0
        return (
            f"CalcResult(plan={self.plan.id!r}, period={self.period!r}, "
            f"{self.summary['rep_id'].nunique()} reps, payable {tot:,.2f} {self.plan.currency})"
        )

    @property
    def reps(self) -> list[str]:
        """Reps with a statement."""
        return list(dict.fromkeys(self.summary["rep_id"]))

    def statement(self, rep_id: str) -> pd.DataFrame:
        """Statement lines of one rep (components, then a total line per period)."""
        self._check_rep(rep_id)
        lines = self.lines[self.lines["rep_id"] == rep_id]
        summ = self.summary[self.summary["rep_id"] == rep_id]
        tot = pd.DataFrame(
            {
                "rep_id": rep_id,
                "period": summ["period"].to_numpy(),
                "component": "TOTAL",
                "earned": summ["earned"].to_numpy(),
                "ytd_earned": summ["ytd_earned"].to_numpy(),
                "clawback": summ["clawback"].to_numpy(),
                "target": summ["target_incentive"].to_numpy(),
            }
        )
        return (
            pd.concat([lines, tot], ignore_index=True)
            .sort_values("period", kind="stable")
            .reset_index(drop=True)
        )

    def _check_rep(self, rep_id: str) -> None:
        if rep_id not in set(self.summary["rep_id"]) and rep_id not in self.runs:
            from spm_model.errors import SpmConfigError

            known = ", ".join(self.reps[:10])
            raise SpmConfigError(
                f"rep {rep_id!r} has no statement for plan {self.plan.id!r} in {self.period} "
                f"(reps on it: {known}{' ...' if len(self.reps) > 10 else ''})"
            )

    def explain(self, rep_id: str, period: str | None = None):
        """Trace every amount of a rep's statement back to transactions and rules.

        Returns
        -------
        Explanation
            ``.text`` (readable trace), ``.credits`` (DataFrame of the credit
            rows behind each measure, with the rule that produced them) and
            ``.lines`` (statement lines); ``print(explanation)`` shows the text.
        """
        from spm_model.calc.explain import explain

        return explain(self, rep_id, period)

    def write(
        self, out_dir, formats: Sequence[str] = ("csv", "xlsx", "md"), folder: str | None = None
    ):
        """Write statements atomically to ``out_dir`` (see ``write_statements``)."""
        from spm_model.calc.outputs import write_statements

        return write_statements(self, out_dir, formats, folder=folder)


# -- draws -----------------------------------------------------------------------------------
def _draw_schedule(
    plan: Plan,
    hire: date | None,
    fy_periods: list[PeriodSpan],
    ti_by_period: list[Decimal],
    pay_starts: list[date] | None = None,
) -> list[Decimal]:
    """Draw guarantee per pay period of the fiscal year for one rep.

    The window opens in the pay period containing the rep's hire date (or the
    plan's effective date with ``starts: plan_start``), even when that is before
    the plan took effect (only the window's pay periods inside the plan pay), and lasts
    ``draw.periods`` pay periods; the amount is ``draw.amount`` or
    ``fraction_of_target`` times the pay period's (prorated) target incentive.
    """
    k = plan.periods_per_pay
    n_pay = (len(fy_periods) + k - 1) // k
    if plan.draw is None:
        return [ZERO] * n_pay
    d = plan.draw
    # a window that opened before the plan took effect is not reopened at its start: a rep
    # hired years before the plan is not a new hire (its pay periods before the plan get nothing)
    start = plan.effective_from if d.starts == "plan_start" or hire is None else hire
    if pay_starts is None:
        pay_starts = [fy_periods[t * k].start for t in range(n_pay)]
    # index of the pay period containing ``start`` relative to the first pay period of the year
    months = {"month": 1, "quarter": 3, "year": 12}[plan.pay_frequency]
    first = pay_starts[0]
    delta_months = (start.year - first.year) * 12 + (start.month - first.month)
    idx0 = delta_months // months
    out = []
    for t in range(n_pay):
        pos = t - idx0
        if 0 <= pos < d.periods:
            if d.amount is not None:
                out.append(Decimal(repr(float(d.amount))))
            else:
                ti = sum(ti_by_period[t * k : (t + 1) * k], ZERO)
                out.append(round_cents(Decimal(repr(float(d.fraction_of_target or 0))) * ti))
        else:
            out.append(ZERO)
    return out


def run_rep(
    plan: Plan,
    inputs: CalcInputs,
    rep_id: str,
    hire: date | None,
    clawback_from: int = 0,
    opening_balance: Decimal = ZERO,
) -> RepRun:
    """Exact run of one rep over the input periods (year to date), with clawbacks.

    Parameters
    ----------
    plan : Plan
        Plan.
    inputs : CalcInputs
        Inputs (periods from the fiscal-year start).
    rep_id : str
        Rep.
    hire : date or None
        Hire date (draw window).
    clawback_from : int
        First period index for which clawbacks are measured.
    opening_balance : Decimal
        Draw balance carried in from the previous fiscal year (negative = owed).
    """
    pis = inputs.period_inputs(rep_id)
    draws = _draw_schedule(plan, hire, inputs.periods, [p.target_incentive for p in pis])
    outcomes = plan.evaluate_periods_exact(pis, draws=draws, opening_balance=opening_balance)
    claws: list[dict[str, Decimal]] = [{} for _ in pis]
    has_cancel = inputs.cancelled_periods(rep_id)
    if has_cancel:
        alt = inputs.period_inputs(rep_id, without_cancellations=True)
        for t in range(clawback_from, len(pis)):
            if inputs.labels[t] not in has_cancel:
                continue
            if plan.cumulative:
                span = accumulate_inputs([*pis[:t], alt[t]])
            elif plan.needs_year_to_date:
                span = with_year_to_date([*pis[:t], alt[t]])
            else:
                span = alt[t]
            without = plan.evaluate_exact(span)
            got = outcomes[t].result
            w = without.by_component()
            c = {name: w.get(name, ZERO) - e for name, e in got.by_component().items()}
            c["__total__"] = without.total - got.total
            claws[t] = c
    return RepRun(rep_id, outcomes, claws, draws, opening_balance)


def _opening_balances(
    plan: Plan,
    ds: Dataset,
    credits: CreditingResult,
    fy_periods: list[PeriodSpan],
    inputs: CalcInputs,
    hires: dict,
    ti_source: TISource,
    reps: Sequence[str] | None,
) -> dict[str, Decimal]:
    """Draw balances carried into the fiscal year by reps whose recoverable draw began earlier.

    The fiscal years from the one the rep's draw window opened in are run in
    order, each opening with the last one's closing balance, until this year: a
    balance still owed after a whole year keeps being recovered (a slow earner's
    advances are not forgiven by the calendar). A rep whose balance is settled
    drops out of the later years.
    """
    d = plan.draw
    if d is None or d.kind != "recoverable":
        return {}
    fy_start = fy_periods[0].start
    this_fy = fy_periods[0].fiscal_year
    starts: dict[str, date] = {}
    for r in inputs.reps:
        start = (
            plan.effective_from if d.starts == "plan_start" or hires.get(r) is None else hires[r]
        )
        if start < fy_start:
            starts[r] = start
    if not starts:
        return {}
    from spm_model.data.periods import parse_period

    def fiscal_year(day: date) -> int:
        return parse_period(f"{day:%Y-%m}", plan.fy_start_month).fiscal_year

    first = {r: fiscal_year(s) for r, s in starts.items()}
    balances: dict[str, Decimal] = {}
    for year in range(min(first.values()), this_fy):
        who = [r for r in starts if first[r] == year or balances.get(r, ZERO) != 0]
        if not who:
            continue
        try:
            periods, _ = fiscal_periods_through(plan, str(year))
            prev = build_inputs(plan, ds, credits, periods, reps=reps, ti_source=ti_source)
        except SpmError:  # no such year for this calendar, or nobody on the plan in it
            continue
        for r in who:
            if r not in prev.reps:
                continue
            run = run_rep(plan, prev, r, hires.get(r), len(periods), balances.get(r, ZERO))
            ends = [o.draw.balance for o in run.outcomes if o.pay_period_end and o.draw is not None]
            balances[r] = ends[-1] if ends else balances.get(r, ZERO)
    return {r: b for r, b in balances.items() if b != 0}


# -- main entry ------------------------------------------------------------------------------
def calculate(
    plan: Plan,
    ds: Dataset,
    period: str,
    *,
    credits: CreditingResult | None = None,
    reps: Sequence[str] | None = None,
    ti_source: TISource = "auto",
    progress: Progress = False,
    workers: int = 1,
    stop_at_data_end: bool = True,
) -> CalcResult:
    """Compute every rep's exact statement for ``period``.

    Parameters
    ----------
    plan : Plan
        Plan to pay (``spm_model.load_plan``).
    ds : Dataset
        Company data.
    period : str
        Period label: ``2025-Q3``, ``2025-07`` or ``2025`` (whole measurement
        periods of the plan).
    credits : CreditingResult, optional
        Crediting to use; default: credit ``ds`` with this plan's clawback policy
        for everyone. Pass the run's ``spm_model.calc.credit_dataset(ds, plans)``
        (each seller's own plan window) for statements that agree with every
        other figure of the run, e.g. a manager's roll-up over reps on other plans.
    reps : sequence of str, optional
        Evaluate these reps (default: reps on the plan).
    ti_source : {"auto", "rep", "plan_mix", "plan"}
        Source of the annual target incentive (see
        :func:`spm_model.calc.inputs.annual_target_incentives`).
    progress : bool or bar factory
        Progress over reps (single process): ``True`` for a tqdm bar, or a bar
        factory (see :mod:`spm_model.progress`).
    workers : int
        Processes for the per-rep exact evaluation (``fork`` start method;
        results are identical to a single process).
    stop_at_data_end : bool
        Leave out the measurement periods of ``period`` whose pay period begins
        after the data's end (``ds.as_of``): a fiscal year asked for before it is
        over runs to the last pay period with data, and ``inputs.problems`` says which
        periods were left out (computed on no sales, a year-to-date plan would
        true its managers down). As-of estimates pass ``False``.

    Returns
    -------
    CalcResult
        Statement lines and summary per rep; money in ``plan.currency``.
    """
    fy_periods, inside = fiscal_periods_through(plan, period)
    late = _after_the_data(plan, ds, inside) if stop_at_data_end else []
    if late:
        inside, fy_periods = inside[: -len(late)], fy_periods[: -len(late)]
    if credits is None:
        credits = credit_transactions(ds, clawback=clawback_policy(plan), rollup="lazy")
    inputs = build_inputs(plan, ds, credits, fy_periods, reps=reps, ti_source=ti_source)
    if late:
        inputs.problems.append(
            Problem(
                ds.source,
                "transactions",
                None,
                "date",
                f"{period}: {', '.join(p.label for p in late)} begin(s) after the end of the "
                f"data ({ds.as_of}): left out, the statements run to {inside[-1].label}",
            )
        )
    first_inside = len(fy_periods) - len(inside)
    hires = hire_dates(ds)
    openings = _opening_balances(plan, ds, credits, fy_periods, inputs, hires, ti_source, reps)
    return evaluate_inputs(
        plan,
        ds,
        credits,
        inputs,
        period,
        first_inside,
        openings,
        workers=workers,
        progress=progress,
    )


def reps_without_a_plan(ds: Dataset, plans: Sequence[Plan], period: str) -> pd.DataFrame:
    """Reps employed in ``period`` whose plan is not among ``plans`` (nobody pays them).

    Reads ``plan_assignments`` when the dataset has it (assignments overlapping the
    period), else ``reps.plan_id``; reps with no plan at all are not listed.

    Returns
    -------
    DataFrame
        ``rep_id, name, plan_id``, one row per rep and unknown plan.
    """
    from spm_model.data.periods import parse_period

    fy = plans[0].fy_start_month if plans else ds.meta.fy_start_month
    span = parse_period(period, fy)
    lo, hi = pd.Timestamp(span.start), pd.Timestamp(span.end)
    r = ds.reps
    employed = (r["hire_date"].isna() | (r["hire_date"] <= hi)) & (
        r["end_date"].isna() | (r["end_date"] >= lo)
    )
    known = {p.id for p in plans}
    if "plan_assignments" in ds.tables and len(ds["plan_assignments"]):
        pa = ds["plan_assignments"]
        on = (pa["start_date"].isna() | (pa["start_date"] <= hi)) & (
            pa["end_date"].isna() | (pa["end_date"] >= lo)
        )
        pairs = pa.loc[on, ["rep_id", "plan_id"]].astype(object)
    else:
        pairs = r[["rep_id", "plan_id"]].astype(object)
    pairs = pairs[pairs["plan_id"].notna() & ~pairs["plan_id"].isin(list(known))]
    ok = set(r.loc[employed, "rep_id"].astype(object))
    pairs = pairs[pairs["rep_id"].isin(list(ok))].drop_duplicates()
    names = r.set_index(r["rep_id"].astype(object))["name"]
    out = pairs.assign(name=pairs["rep_id"].map(names))[["rep_id", "name", "plan_id"]]
    return out.sort_values(["plan_id", "rep_id"]).reset_index(drop=True)


def _after_the_data(plan: Plan, ds: Dataset, inside: list[PeriodSpan]) -> list[PeriodSpan]:
    """Return the trailing periods of ``inside`` whose pay period begins after the data's end.

    A measurement period inside a pay period that has begun stays (a month measured
    after a leaver's last day is still paid at its quarter's end); never all of them.
    """
    from spm_model.data.periods import parse_period, period_labels

    try:
        end = pd.Timestamp(ds.as_of)
    except (KeyError, TypeError, ValueError):  # no end date and no transactions
        return []
    starts = pd.DatetimeIndex([pd.Timestamp(p.start) for p in inside])
    labels = period_labels(starts, plan.pay_frequency, plan.fy_start_month)
    pay_start = [pd.Timestamp(parse_period(str(x), plan.fy_start_month).start) for x in labels]
    late = [p for p, ps in zip(inside, pay_start, strict=True) if ps > end]
    return late if len(late) < len(inside) else []


def hire_dates(ds: Dataset) -> dict[str, date | None]:
    """Hire date of every rep (None when unknown), for draw windows."""
    return {
        r: (None if pd.isna(h) else pd.Timestamp(h).date())
        for r, h in zip(ds.reps["rep_id"].astype(object), ds.reps["hire_date"], strict=True)
    }


def evaluate_inputs(
    plan: Plan,
    ds: Dataset,
    credits: CreditingResult,
    inputs: CalcInputs,
    period: str,
    first_inside: int,
    openings: dict[str, Decimal],
    *,
    workers: int = 1,
    progress: Progress = False,
) -> CalcResult:
    """Evaluate prepared inputs exactly, rep by rep, into statements.

    The last step of :func:`calculate`, also used by as-of estimates and
    what-ifs on changed inputs (:mod:`spm_model.calc.asof`).

    Parameters
    ----------
    plan : Plan
        Plan.
    ds : Dataset
        Company data (rep names, roles, hire dates).
    credits : CreditingResult
        Crediting behind ``inputs`` (kept for explain).
    inputs : CalcInputs
        Inputs from the fiscal-year start through the requested period.
    period : str
        Requested period label.
    first_inside : int
        Index of the first measurement period of ``period`` in ``inputs.periods``.
    openings : dict
        Draw balance carried into the fiscal year per rep (currency).
    workers : int
        Processes for the per-rep evaluation.
    progress : bool or bar factory
        Progress over reps (single process; see :mod:`spm_model.progress`).

    Returns
    -------
    CalcResult
    """
    import multiprocessing as mp

    inside = inputs.periods[first_inside:]
    reps_t = ds.reps.set_index(ds.reps["rep_id"].astype(object))
    hires = hire_dates(ds)
    can_fork = "fork" in mp.get_all_start_methods()
    if workers > 1 and can_fork and len(inputs.reps) >= 2 * MIN_REPS_PER_WORKER:
        lines, summary, runs = _run_parallel(
            plan, inputs, hires, first_inside, workers, reps_t, openings
        )
    else:
        bar = make_bar(progress, total=len(inputs.reps), desc=f"{plan.id} {period}", unit="rep")
        runs = {}
        try:
            for r in inputs.reps:
                runs[r] = run_rep(
                    plan, inputs, r, hires.get(r), first_inside, openings.get(r, ZERO)
                )
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        lines, summary = _tables(plan, inputs, runs, reps_t, first_inside)
    return CalcResult(
        plan, period, inside, lines, summary, inputs, credits, runs, ds, openings=openings
    )


MIN_REPS_PER_WORKER = 100
"""Below this many reps per worker a single process is faster."""

_SHARED: dict = {}


class LazyRuns(dict):
    """Exact runs per rep, computed on first access (used after a parallel calculation).

    Workers send back only the statement rows (cheap to transfer); a rep's full
    run (for :meth:`CalcResult.explain`) is recomputed on demand, which gives
    the same numbers because the calculation is deterministic.
    """

    def __init__(self, plan: Plan, inputs: CalcInputs, hires: dict, first: int, openings: dict):
        super().__init__()
        self._job = (plan, inputs, hires, first, openings)
        self._reps = set(inputs.reps)

    def __missing__(self, rep_id: str) -> RepRun:
        if rep_id not in self._reps:
            raise KeyError(rep_id)
        plan, inputs, hires, first, openings = self._job
        run = run_rep(plan, inputs, rep_id, hires.get(rep_id), first, openings.get(rep_id, ZERO))
        self[rep_id] = run
        return run


def _run_chunk(reps: list[str]) -> dict[str, tuple[list[tuple], list[tuple]]]:
    plan, inputs, hires, first, lookups, openings = _SHARED["job"]
    out = {}
    for r in reps:
        run = run_rep(plan, inputs, r, hires.get(r), first, openings.get(r, ZERO))
        out[r] = _rep_rows(plan, inputs.labels, lookups, r, run, first)
    return out


def _run_parallel(
    plan: Plan,
    inputs: CalcInputs,
    hires: dict,
    first: int,
    workers: int,
    reps_t: pd.DataFrame,
    openings: dict,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, RepRun]]:
    """Evaluate reps in ``workers`` forked processes (inputs shared copy-on-write)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    lookups = _lookups(inputs, reps_t)
    inputs._by_rep()  # build the lookup caches once, before forking
    inputs._cov_by_rep()
    inputs.cancelled_periods("")
    reps = inputs.reps
    n_chunks = workers * 4
    chunks = [reps[i::n_chunks] for i in range(n_chunks) if reps[i::n_chunks]]
    _SHARED["job"] = (plan, inputs, hires, first, lookups, openings)
    try:
        ctx = mp.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            parts = list(pool.map(_run_chunk, chunks))
    finally:
        _SHARED.pop("job", None)
    merged: dict[str, tuple[list[tuple], list[tuple]]] = {}
    for part in parts:
        merged.update(part)
    line_rows: list[tuple] = []
    sum_rows: list[tuple] = []
    for r in reps:
        lr, sr = merged[r]
        line_rows += lr
        sum_rows += sr
    lines = pd.DataFrame(line_rows, columns=LINE_COLUMNS)
    summary = pd.DataFrame(sum_rows, columns=SUMMARY_COLUMNS)
    return lines, summary, LazyRuns(plan, inputs, hires, first, openings)


def calculate_many(
    plans: Sequence[Plan],
    ds: Dataset,
    period: str,
    *,
    credits: CreditingResult | None = None,
    workers: int = 1,
    ti_source: TISource = "auto",
    progress: Progress = False,
) -> list[CalcResult]:
    """Statements of several plans for one period, each rep on their own plan.

    The transactions are credited once, with each rep's clawback window taken
    from the plan the rep is on (``reps.plan_id``); a manager's roll-up follows
    the credit of the reps below, so their windows apply to it.

    Parameters
    ----------
    plans : sequence of Plan
        Plans to pay (e.g. every template).
    ds : Dataset
        Company data.
    period : str
        Period label.
    credits : CreditingResult, optional
        Crediting to use.
    workers : int
        Processes per plan for the exact evaluation.
    ti_source : {"auto", "rep", "plan_mix", "plan"}
        Source of the target incentive.
    progress : bool or bar factory
        Progress over each plan's reps (see :mod:`spm_model.progress`).

    Returns
    -------
    list of CalcResult
        One per plan that has reps in the period (plans without reps are skipped).
    """
    from spm_model.errors import SpmDataError

    if credits is None:
        credits = credit_dataset(ds, plans)
    out = []
    for p in plans:
        try:
            out.append(
                calculate(
                    p,
                    ds,
                    period,
                    credits=credits,
                    workers=workers,
                    ti_source=ti_source,
                    progress=progress,
                )
            )
        except SpmDataError as exc:
            if "no rep" in str(exc):
                continue
            raise
    return out


def _f(x: Decimal | None) -> float:
    return float("nan") if x is None else float(x)


def _lookups(inputs: CalcInputs, reps_t: pd.DataFrame) -> tuple[dict, dict, dict]:
    """Dictionaries used to turn runs into table rows (internal)."""
    c0 = inputs.coverage
    cov = {
        (r, p): (cd, pdays, f, ti)
        for r, p, cd, pdays, f, ti in zip(
            c0["rep_id"],
            c0["period"],
            c0["covered_days"],
            c0["period_days"],
            c0["factor"],
            c0["target_incentive"],
            strict=True,
        )
    }
    v0 = inputs.values
    vals = {
        (r, p, m): x
        for r, p, m, x in zip(
            v0["rep_id"], v0["period"], v0["measure"], v0["cancelled"], strict=True
        )
        if x
    }
    info_of = {
        r: (str(n) if isinstance(n, str) else "", ro, rg, tm)
        for r, n, ro, rg, tm in zip(
            reps_t.index,
            reps_t.get("name", pd.Series("", index=reps_t.index)),
            reps_t["role"],
            reps_t["region"],
            reps_t["team"],
            strict=True,
        )
    }
    return cov, vals, info_of


def _rep_rows(
    plan: Plan, labels: list[str], lookups: tuple[dict, dict, dict], r: str, run: RepRun, first: int
) -> tuple[list[tuple], list[tuple]]:
    """Statement line rows and summary rows of one rep (internal)."""
    cov, vals, info_of = lookups
    basis = "ytd" if plan.cumulative else "period"
    line_rows: list[tuple] = []
    sum_rows: list[tuple] = []
    name, role, region, team = info_of.get(r, ("", None, None, None))
    prev_lines: dict[str, Decimal] = {}
    ytd_lines: dict[str, Decimal] = {}
    ytd_total = ZERO
    paid_so_far = ZERO
    prev_total_ytd = ZERO
    for t, out in enumerate(run.outcomes):
        label = labels[t]
        res = out.result
        period_total = out.earned - prev_total_ytd if plan.cumulative else out.earned
        prev_total_ytd = out.earned if plan.cumulative else prev_total_ytd
        ytd_total = out.earned if plan.cumulative else ytd_total + out.earned
        covered_days, period_days, factor, ti = cov[(r, label)]
        draw = out.draw
        # a pay period that closes after the rep left (or moved plan) still pays what the
        # rep earned in it: its summary row is kept, with no statement lines
        settles = out.pay_period_end and (
            out.payable != 0 or out.pay_due != 0 or (draw is not None and draw.balance != 0)
        )
        if t >= first and (covered_days > 0 or settles):
            claw = run.clawbacks[t]
            for ln in res.lines if covered_days > 0 else ():
                if plan.cumulative:
                    earned = ln.earned - prev_lines.get(ln.component, ZERO)
                    ytd = ln.earned
                else:
                    earned = ln.earned
                    ytd = ytd_lines.get(ln.component, ZERO) + ln.earned
                canc = vals.get((r, label, ln.measure), 0.0)
                line_rows.append(
                    (
                        r,
                        name,
                        plan.id,
                        label,
                        ln.component,
                        ln.type,
                        ln.measure,
                        basis,
                        _f(ln.credited),
                        float(canc),
                        _f(ln.quota),
                        _f(ln.attainment),
                        ln.segment,
                        _f(ln.rate),
                        _f(ln.target),
                        _f(earned),
                        _f(ytd),
                        bool(ln.capped),
                        ln.gate,
                        _f(claw.get(ln.component, ZERO)),
                    )
                )
            sum_rows.append(
                (
                    r,
                    name,
                    role,
                    region,
                    team,
                    plan.id,
                    label,
                    int(covered_days),
                    int(period_days),
                    float(factor),
                    float(ti),
                    _f(period_total),
                    _f(ytd_total),
                    _f(paid_so_far),
                    _f(out.due),
                    _f(claw.get("__total__", ZERO)),
                    bool(res.capped),
                    bool(out.pay_period_end),
                    _f(out.pay_due),
                    _f(draw.draw if draw else ZERO),
                    _f(draw.advance if draw else ZERO),
                    _f(draw.recovery if draw else ZERO),
                    _f(draw.balance if draw else ZERO),
                    _f(out.payable),
                )
            )
        for ln in res.lines:
            if plan.cumulative:
                prev_lines[ln.component] = ln.earned
            else:
                ytd_lines[ln.component] = ytd_lines.get(ln.component, ZERO) + ln.earned
        if out.pay_period_end:
            paid_so_far += out.payable
    return line_rows, sum_rows


def _tables(
    plan: Plan, inputs: CalcInputs, runs: dict[str, RepRun], reps_t: pd.DataFrame, first: int
):
    lookups = _lookups(inputs, reps_t)
    line_rows: list[tuple] = []
    sum_rows: list[tuple] = []
    for r, run in runs.items():
        lr, sr = _rep_rows(plan, inputs.labels, lookups, r, run, first)
        line_rows += lr
        sum_rows += sr
    lines = pd.DataFrame(line_rows, columns=LINE_COLUMNS)
    summary = pd.DataFrame(sum_rows, columns=SUMMARY_COLUMNS)
    return lines, summary
