"""Widget logic as plain functions: everything a widget computes, testable without a browser.

The ipywidgets front ends in :mod:`spm_model.widgets.ui` only read controls,
call these functions and draw the results.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from spm_model.data import Dataset, parse_period
from spm_model.errors import SpmConfigError
from spm_model.plans import Plan, PlanError

DEFAULT_LEVELS = tuple(float(x) for x in np.round(np.linspace(0.0, 2.0, 41), 4))


# -- plan designer ---------------------------------------------------------------
def plan_components(plan: Plan) -> pd.DataFrame:
    """List the components of ``plan``: name, type, measure, weight, cap and what is editable."""
    rows = []
    for c in plan.to_dict()["components"]:
        editable = (
            "tiers"
            if c.get("tiers")
            else "points"
            if c.get("points")
            else "rate"
            if "rate" in c
            else ""
        )
        rows.append(
            {
                "name": c["name"],
                "type": c["type"],
                "measure": c.get("measure", ""),
                "weight": c.get("weight"),
                "cap_multiple": c.get("cap_multiple"),
                "editable": editable,
            }
        )
    return pd.DataFrame(rows)


def component_steps(plan: Plan, component: str) -> pd.DataFrame:
    """Return a component's tiers (``from``, ``to``, ``rate``) or curve points."""
    c = _component_dict(plan.to_dict(), component)
    if c.get("tiers"):
        return pd.DataFrame(c["tiers"]).reindex(columns=["from", "to", "rate", "label"])
    if c.get("points"):
        return pd.DataFrame(c["points"]).reindex(columns=["attainment", "payout", "label"])
    return pd.DataFrame(columns=["from", "to", "rate", "label"])


def _component_dict(data: Mapping[str, Any], component: str) -> dict[str, Any]:
    for c in data["components"]:
        if c["name"] == component:
            return c
    names = ", ".join(c["name"] for c in data["components"])
    raise SpmConfigError(f"plan has no component {component!r}; it has {names}")


def edit_plan(
    plan: Plan,
    component: str,
    *,
    tiers: Sequence[Mapping[str, Any]] | pd.DataFrame | None = None,
    points: Sequence[Mapping[str, Any]] | pd.DataFrame | None = None,
    rate: float | None = None,
    cap_multiple: float | None = None,
    total_cap_multiple: float | None = None,
) -> Plan:
    """Return a copy of ``plan`` with one component's tiers, curve points, rate or cap changed.

    Parameters
    ----------
    plan : Plan
        Plan to start from (unchanged).
    component : str
        Name of the component to edit.
    tiers : table, optional
        Rows with ``from``, ``to`` (blank for the last tier), ``rate`` and
        optional ``label``; bounds are fractions of quota for attainment tiers.
    points : table, optional
        Rows with ``attainment`` and ``payout`` (fractions; 1.0 = 100%).
    rate : float, optional
        Flat commission rate (fraction of credited amount).
    cap_multiple : float, optional
        Cap of the component as a multiple of its target (``None`` leaves it;
        ``0`` or a negative value removes it).
    total_cap_multiple : float, optional
        Plan-wide cap as a multiple of target incentive (same convention).

    Returns
    -------
    Plan
        Validated by the plan model.

    Raises
    ------
    PlanError
        The edited plan is invalid (overlapping tiers, unsorted points...), with
        the field of every problem.
    """
    data = plan.to_dict()
    c = _component_dict(data, component)

    def rows(table: Any) -> list[dict[str, Any]]:
        recs = (
            table.to_dict("records")
            if isinstance(table, pd.DataFrame)
            else [dict(r) for r in table]
        )
        out = []
        for r in recs:
            clean = {
                k: v
                for k, v in r.items()
                if v is not None and not (isinstance(v, float) and np.isnan(v))
            }
            if "label" in clean and not str(clean["label"]).strip():
                del clean["label"]
            out.append(clean)
        return out

    if tiers is not None:
        c["tiers"] = rows(tiers)
    if points is not None:
        c["points"] = rows(points)
    if rate is not None:
        c["rate"] = float(rate)
    if cap_multiple is not None:
        if cap_multiple > 0:
            c["cap_multiple"] = float(cap_multiple)
        else:
            c.pop("cap_multiple", None)
    if total_cap_multiple is not None:
        if total_cap_multiple > 0:
            data["cap"] = {
                **(data.get("cap") or {}),
                "multiple_of_target": float(total_cap_multiple),
            }
        else:
            data.pop("cap", None)
    return Plan.from_dict(data, source=f"{plan.id} (edited)")


def payout_curve_table(plan: Plan, levels: Sequence[float] = DEFAULT_LEVELS) -> pd.DataFrame:
    """Payout of one measurement period at each attainment level (every measure at that level).

    Columns: ``attainment`` (fraction), one per component (currency), ``total``
    and ``pct_of_target`` (fraction of the period target incentive).
    """
    from spm_model.plans.summary import payout_table

    return payout_table(plan, [float(x) for x in levels])


def try_edit(plan: Plan, component: str, **edits: Any) -> tuple[Plan | None, str]:
    """Apply :func:`edit_plan`; return ``(None, message)`` instead of raising (live editing)."""
    try:
        return edit_plan(plan, component, **edits), ""
    except (PlanError, SpmConfigError, ValueError, TypeError) as exc:
        return None, str(exc)


# -- rep earnings estimator ------------------------------------------------------
@dataclass
class RepPosition:
    """Where a rep stands in one period, as the statement engine sees it.

    Parameters
    ----------
    rep_id, period : str
    credited : dict
        Credited value so far per plan measure in the measurement period the
        estimate is for (currency, or counts).
    quota : dict
        Quota of that measurement period per plan measure (currency, or counts).
    target_incentive : float
        Target incentive of the statement period (currency, after proration).
    open_deals : DataFrame
        The rep's open opportunities: ``opportunity_id``, ``account_id``,
        ``measure``, ``amount``, ``probability``, ``close_date``, ``stage``.
    base : CalcResult, optional
        The rep's as-of statement (:func:`spm_model.calc.as_of`) every figure
        comes from; what-ifs re-run it exactly.
    """

    rep_id: str
    period: str
    credited: dict[str, float]
    quota: dict[str, float]
    target_incentive: float
    open_deals: pd.DataFrame = field(default_factory=pd.DataFrame)
    base: Any = None


def default_period(ds: Dataset, plan: Plan) -> str:
    """Return the measurement period of the day after the as-of date (the period being sold in)."""
    from spm_model.data import period_labels

    day = pd.Timestamp(ds.as_of) + pd.Timedelta(days=1)
    labels = period_labels(pd.Series([day]), plan.measurement_period, ds.meta.fy_start_month)
    return str(np.asarray(labels)[0])


def default_rep(ds: Dataset, plan: Plan) -> str:
    """Return the first rep (by ``rep_id``) on ``plan`` who is employed on the as-of date.

    A rep who has left (``end_date`` before the as-of date) or is not hired yet has
    no statement to estimate; :class:`~spm_model.errors.SpmConfigError` when nobody
    on the plan is employed then.
    """
    reps = ds.reps[ds.reps["plan_id"].astype(object) == plan.id].sort_values("rep_id")
    day = pd.Timestamp(ds.as_of)
    hired = pd.to_datetime(reps["hire_date"]).fillna(pd.Timestamp.min) <= day
    staying = pd.to_datetime(reps["end_date"]).fillna(pd.Timestamp.max) >= day
    active = reps.loc[hired & staying, "rep_id"]
    if active.empty:
        raise SpmConfigError(
            f"no rep on plan {plan.id!r} is employed on {day.date()} (the data's as-of date); "
            "pass a rep"
        )
    return str(active.iloc[0])


def _check_credits(credits: Any) -> Any:
    if isinstance(credits, pd.DataFrame):
        raise TypeError(
            "pass the run's CreditingResult (spm_model.calc.credit_dataset(ds, plans)), "
            "not a totals frame: estimates are exact statements and need the credit rows"
        )
    return credits


def rep_position(
    ds: Dataset,
    plan: Plan,
    rep_id: str,
    period: str | None = None,
    credits: Any = None,
    as_of: Any = None,
) -> RepPosition:
    """Credited so far, quota, target incentive and open deals of one rep for one period.

    Every figure is read from the rep's exact as-of statement
    (:func:`spm_model.calc.as_of`), so it is what the statement will pay on.

    Parameters
    ----------
    ds : Dataset
    plan : Plan
        The rep's plan (its measures and measurement period are used).
    rep_id : str
    period : str, optional
        Period label such as ``2026-Q4`` (default :func:`default_period`).
    credits : CreditingResult, optional
        The run's crediting (default: credit ``ds`` with ``plan``).
    as_of : date-like, optional
        Credit dated up to this day counts (default the data's as-of date,
        capped at the period end).
    """
    from spm_model.calc.asof import as_of as statement_as_of

    credits = _check_credits(credits)
    reps = ds.reps.set_index("rep_id")
    if rep_id not in reps.index:
        raise SpmConfigError(f"unknown rep {rep_id!r}")
    period = period or default_period(ds, plan)
    span = parse_period(period, ds.meta.fy_start_month)
    day = pd.Timestamp(as_of if as_of is not None else ds.as_of)
    day = min(day, pd.Timestamp(span.end))
    base = statement_as_of(plan, ds, day, period=period, credits=credits, reps=[rep_id])
    credited, quota, ti = _position_figures(base, rep_id)
    opp = ds.opportunities
    opp = opp[(opp["owner_rep_id"] == rep_id) & (opp["status"] == "open")]
    opp = opp.merge(ds.products[["product_id", "measure"]], on="product_id", how="left")
    close = pd.to_datetime(opp["close_date"])
    in_period = (close >= pd.Timestamp(span.start)) & (close <= pd.Timestamp(span.end))
    deals = opp.assign(closes_in_period=in_period.to_numpy())[
        [
            "opportunity_id",
            "account_id",
            "measure",
            "amount",
            "probability",
            "close_date",
            "stage",
            "closes_in_period",
        ]
    ].sort_values(["closes_in_period", "amount"], ascending=[False, False])
    return RepPosition(rep_id, period, credited, quota, ti, deals.reset_index(drop=True), base=base)


def _position_figures(res: Any, rep_id: str) -> tuple[dict[str, float], dict[str, float], float]:
    """Credited and quota per measure in the as-of measurement period; the period's TI."""
    from spm_model.calc.asof import asof_period_index

    label = res.inputs.labels[asof_period_index(res)]
    v = res.inputs.values
    v = v[(v["rep_id"] == rep_id) & (v["period"] == label)].set_index("measure")
    credited = {m: float(v["credited"].get(m, 0.0)) for m in res.plan.measures}
    quota = {m: float(v["quota"].get(m, 0.0)) for m in res.plan.measures}
    s = res.summary[res.summary["rep_id"] == rep_id]
    ti = float(np.rint(s["target_incentive"].to_numpy(np.float64) * 100).sum() / 100)
    return credited, quota, ti


def _deals_of(
    plan: Plan, position: RepPosition, deal_ids: Sequence[str], extra: Mapping[str, float]
) -> tuple[list[Any], dict[str, float]]:
    from spm_model.calc.asof import WhatIfDeal

    added = dict.fromkeys(plan.measures, 0.0)
    deals = position.open_deals
    chosen = deals[deals["opportunity_id"].isin(list(deal_ids))] if len(deals) else deals
    out = []
    for m, amt in chosen.groupby("measure")["amount"].sum().items() if len(chosen) else []:
        for pm, spec in plan.measures.items():
            if (getattr(spec, "data_measure", None) or pm) == m and spec.source == "credit":
                added[pm] += float(amt)
                out.append(WhatIfDeal(float(amt), pm))
                break
    for m, amt in extra.items():
        if m not in added:
            raise SpmConfigError(f"plan {plan.id} has no measure {m!r}; it has {', '.join(added)}")
        if amt:
            added[m] += float(amt)
            out.append(WhatIfDeal(float(amt), m))
    return out, added


def estimate_earnings(
    plan: Plan,
    position: RepPosition,
    deal_ids: Sequence[str] = (),
    extra_amounts: Mapping[str, float] | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Return what the rep is paid for the period now, and if the chosen deals close.

    Both figures are the statement engine's payable for the period
    (:func:`spm_model.calc.what_if` on the rep's as-of statement), with the
    same draws, true-ups, caps and clawbacks as the statement.

    Parameters
    ----------
    plan : Plan
    position : RepPosition
        From :func:`rep_position`.
    deal_ids : sequence of str
        Open opportunities assumed to close in the period (credited in full to
        their product's measure on the as-of day).
    extra_amounts : mapping of measure to amount, optional
        Typed-in amounts (currency) per plan measure.

    Returns
    -------
    by_measure : DataFrame
        Per measure: ``credited``, ``added``, ``quota``, ``attainment_now``,
        ``attainment_with`` (fractions of quota, 1.0 = 100%).
    payout : dict
        ``now``, ``with_deals`` and ``difference`` (currency, to the cent), and
        ``target_incentive``.
    """
    from spm_model.calc.asof import payable, what_if

    if position.base is None:
        raise SpmConfigError("position has no statement: build it with rep_position()")
    deals, added = _deals_of(plan, position, deal_ids, extra_amounts or {})
    rep = position.rep_id
    now = float(payable(position.base).get(rep, 0.0))
    with_deals = (
        float(payable(what_if(position.base, rep, deals=deals)).get(rep, 0.0)) if deals else now
    )
    rows = []
    for m in plan.measures:
        q = position.quota.get(m, 0.0)
        c = position.credited.get(m, 0.0)
        rows.append(
            {
                "measure": m,
                "credited": round(c, 2),
                "added": round(added[m], 2),
                "quota": q,
                "attainment_now": c / q if q else np.nan,
                "attainment_with": (c + added[m]) / q if q else np.nan,
            }
        )
    payout = {
        "now": round(now, 2),
        "with_deals": round(with_deals, 2),
        "difference": round(with_deals - now, 2),
        "target_incentive": round(position.target_incentive, 2),
    }
    return pd.DataFrame(rows), payout


def earnings_curve(
    plan: Plan, position: RepPosition, measure: str, amounts: Sequence[float]
) -> pd.DataFrame:
    """Exact period payable as more is closed on one measure.

    Parameters
    ----------
    plan : Plan
    position : RepPosition
    measure : str
        Plan measure the extra amounts are credited to.
    amounts : sequence of float
        Additional credited amounts (currency).

    Returns
    -------
    DataFrame
        ``added`` (currency), ``attainment`` (fraction of that measure's quota)
        and ``payout`` (currency, the statement's payable for the period).
    """
    from spm_model.calc.asof import WhatIfDeal, payable, what_if

    if measure not in plan.measures:
        raise SpmConfigError(
            f"plan {plan.id} has no measure {measure!r}; it has {', '.join(plan.measures)}"
        )
    if position.base is None:
        raise SpmConfigError("position has no statement: build it with rep_position()")
    add = np.asarray(amounts, dtype=float)
    rep = position.rep_id
    pay = [
        float(
            payable(
                what_if(position.base, rep, deals=[WhatIfDeal(float(a), measure)] if a else [])
            ).get(rep, 0.0)
        )
        for a in add
    ]
    q = position.quota.get(measure, 0.0)
    base = position.credited.get(measure, 0.0)
    return pd.DataFrame(
        {
            "added": add,
            "attainment": (base + add) / q if q else np.nan,
            "payout": np.round(pay, 2),
        }
    )


# -- what-if simulation ----------------------------------------------------------
@dataclass
class WhatIf:
    """Outcome of one what-if simulation.

    Parameters
    ----------
    figures : dict
        ``mean_cost``, ``p50_cost``, ``p95_cost`` (currency), ``p_over_budget``
        and ``share_at_target`` (fractions), ``budget`` (currency).
    costs : ndarray
        Total cost per scenario (currency).
    """

    figures: dict[str, float]
    costs: np.ndarray


def plan_budget(model: Any, plan: Plan) -> float:
    """Total annual target incentive of the reps in a scenario model (currency)."""
    return round(float(sum(plan.annual_target_incentive(float(o)) for o in model.ote)), 2)


def what_if(
    model: Any,
    plan: Plan,
    *,
    mean_scale: float = 1.0,
    sd_scale: float = 1.0,
    rho_company: float | None = None,
    rho_group: float | None = None,
    attrition: float | None = None,
    n_scenarios: int = 1000,
    seed: int = 0,
    budget: float | None = None,
) -> WhatIf:
    """Simulate ``plan`` under shifted assumptions of a fitted scenario model.

    Parameters
    ----------
    model : spm_model.simulate.ScenarioModel
        Fitted once (``from_dataset(ds, plan, credits=credits)``); shifted here with
        ``model.with_assumptions``.
    plan : Plan
    mean_scale, sd_scale : float
        Multipliers on mean attainment and on its volatility (1.0 = as fitted).
    rho_company, rho_group : float, optional
        Copula correlation shares (company-wide and regional swings); their sum
        with the rep share must stay at most 0.95.
    attrition : float, optional
        Annual probability of leaving (fraction).
    n_scenarios, seed : int
        Size and seed; the same seed gives the same scenarios for every setting.
    budget : float, optional
        Budget for the horizon (currency); default :func:`plan_budget`.

    Raises
    ------
    SpmConfigError
        Invalid settings (negative scales, correlations summing above 0.95).
    """
    from spm_model.simulate import simulate

    if mean_scale <= 0 or sd_scale < 0:
        raise SpmConfigError("mean_scale must be > 0 and sd_scale >= 0")
    rc = model.rho_company if rho_company is None else rho_company
    rg = model.rho_group if rho_group is None else rho_group
    if min(rc, rg) < 0 or rc + rg + model.rho_rep > 0.95:
        raise SpmConfigError(
            f"correlation shares must be >= 0 and sum to at most 0.95 "
            f"(company {rc:.2f} + regional {rg:.2f} + rep {model.rho_rep:.2f})"
        )
    if attrition is not None and not 0 <= attrition < 1:
        raise SpmConfigError("attrition is an annual probability in [0, 1)")
    shifted = model.with_assumptions(
        mean_scale=mean_scale, sd_scale=sd_scale, rho_company=rc, rho_group=rg, attrition=attrition
    )
    budget = plan_budget(model, plan) if budget is None else float(budget)
    res = simulate(shifted, plan, n_scenarios, seed=seed, budget=budget)
    costs = np.asarray(res.costs(), dtype=float)
    levels = {lv["level"]: lv["share"] for lv in res.summary().to_dict()["levels"]}
    return WhatIf(
        figures={
            "budget": budget,
            "mean_cost": round(float(costs.mean()), 2),
            "p50_cost": round(float(np.percentile(costs, 50)), 2),
            "p95_cost": round(float(np.percentile(costs, 95)), 2),
            "p_over_budget": float(np.mean(costs > budget)),
            "share_at_target": float(levels.get("target", np.nan)),
        },
        costs=costs,
    )


def cost_function(model: Any, n_scenarios: int = 1000, seed: int = 0, budget: float | None = None):
    """Return a ``plan -> (costs, budget)`` function for :class:`~spm_model.widgets.PlanDesigner`.

    Every edited plan is costed on the same scenarios of ``model`` (fitted for
    the original plan, whose measures the edits keep).
    """
    from spm_model.simulate import simulate

    def run(plan: Plan) -> tuple[np.ndarray, float]:
        b = plan_budget(model, plan) if budget is None else float(budget)
        res = simulate(model, plan, n_scenarios, seed=seed, budget=b)
        return np.asarray(res.costs(), dtype=float), b

    return run


# -- leaderboard -----------------------------------------------------------------
def leaderboard(
    ds: Dataset,
    credit_totals: pd.DataFrame,
    period: str,
    measure: str = "new_business",
    previous_period: str | None = None,
    roles: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Reps ranked by attainment in ``period``, with their movement since the previous period.

    Parameters
    ----------
    ds : Dataset
    credit_totals : DataFrame
        ``CreditingResult.totals(freq)`` with periods of the same kind as ``period``.
    period : str
        Period label (``2026-Q3``).
    measure : str
        Data measure ranked on (``quotas.measure``).
    previous_period : str, optional
        Default: the period before ``period`` in ``credit_totals``/quotas labels.
    roles : sequence of str, optional
        Keep only these roles.

    Returns
    -------
    DataFrame
        ``rank``, ``rep_id``, ``name``, ``role``, ``region``, ``credited``,
        ``quota`` (currency), ``attainment`` (fraction), ``previous_rank`` and
        ``movement`` (places gained; positive = up). Reps without quota are left out.
    """
    quotas = ds.quotas[ds.quotas["measure"] == measure]
    periods = sorted(set(quotas["period"]))
    if period not in periods:
        raise SpmConfigError(f"no {measure} quotas for period {period!r}")
    if previous_period is None:
        i = periods.index(period)
        previous_period = periods[i - 1] if i > 0 else None

    def ranked(p: str) -> pd.DataFrame:
        q = (
            quotas[(quotas["period"] == p) & (quotas["amount"] > 0)]
            .groupby("rep_id")["amount"]
            .sum()
        )
        ct = credit_totals[(credit_totals["period"] == p) & (credit_totals["measure"] == measure)]
        c = ct.groupby("rep_id")["amount"].sum()
        df = pd.DataFrame({"quota": q}).join(c.rename("credited")).fillna({"credited": 0.0})
        df = df.join(ds.reps.set_index("rep_id")[["name", "role", "region"]])
        if roles:
            df = df[df["role"].isin(list(roles))]
        df["attainment"] = df["credited"] / df["quota"]
        df = df.sort_values(["attainment", "credited"], ascending=[False, False])
        df["rank"] = np.arange(1, len(df) + 1)
        return df

    now = ranked(period)
    if previous_period is not None:
        prev = ranked(previous_period)["rank"].rename("previous_rank")
        now = now.join(prev)
        now["movement"] = now["previous_rank"] - now["rank"]
    else:
        now["previous_rank"] = np.nan
        now["movement"] = np.nan
    out = now.reset_index().rename(columns={"index": "rep_id"})
    cols = [
        "rank",
        "rep_id",
        "name",
        "role",
        "region",
        "credited",
        "quota",
        "attainment",
        "previous_rank",
        "movement",
    ]
    return out[cols].round({"credited": 2, "quota": 2})


def movement_arrow(movement: float) -> str:
    """Arrow and places for a leaderboard movement (``▲ 3``, ``▼ 1``, ``=``, ``new``)."""
    if movement is None or (isinstance(movement, float) and np.isnan(movement)):
        return "new"
    m = int(movement)
    return f"▲ {m}" if m > 0 else f"▼ {-m}" if m < 0 else "="


def as_date(value: Any) -> dt.date:
    """Date of a date-like value (helper for date pickers)."""
    return pd.Timestamp(value).date()
