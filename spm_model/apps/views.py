"""What each app shows, as plain data: testable without a browser or a kernel.

Every money figure comes from :mod:`spm_model.calc` (the exact as-of statement,
its what-ifs and :func:`spm_model.calc.estimate`) or from the performance
analytics that read it (:func:`spm_model.performance.estimated_payouts`); the
ipywidgets pages (:mod:`spm_model.apps.ui`) only format these.

Money is in the plan (data) currency, to the cent; attainment, pace and shares
are fractions (1.0 = 100%).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from spm_model.apps.bundle import Bundle
from spm_model.calc import CalcResult, Estimate, WhatIfDeal, estimate, payable, what_if
from spm_model.data.disputes import read_disputes
from spm_model.errors import SpmConfigError, SpmError
from spm_model.plans import Plan


# -- my pay ----------------------------------------------------------------------------------
@dataclass
class NextTier:
    """The next tier of the rep's main commission line and what it takes to reach it.

    Attributes
    ----------
    component, measure, label : str
        Plan component, measure and tier label.
    threshold : float
        Attainment where the tier starts (fraction of quota).
    attainment : float
        Attainment now (fraction of quota).
    to_book : float
        Credit still needed to reach the tier (currency).
    payable_at_tier : float
        Period payable if ``to_book`` closes today (currency; the statement engine's figure).
    """

    component: str
    measure: str
    label: str
    threshold: float
    attainment: float
    to_book: float
    payable_at_tier: float


@dataclass
class PayView:
    """Everything the My pay page shows for one rep.

    Attributes
    ----------
    rep_id, name, plan_id, period : str
    as_of : date
    currency : str
    estimate : Estimate
        Exact payable now, at 100% and at 120% of quota (:func:`spm_model.calc.estimate`).
    attainment, pace, expected_share : float
        Attainment of the statement's first line with a quota (the plan's main
        measure, as the statement reads it), pace = attainment / the share of a
        period's bookings normally in by this day (from the company scorecards);
        NaN when unknown.
    quota, credited : float
        Quota and credit to date of the main measure (currency).
    next_tier : NextTier or None
    lines : DataFrame
        Statement lines of the period to date (the ``TOTAL`` row dropped).
    explain : str
        The statement's explain trace.
    """

    rep_id: str
    name: str
    plan_id: str
    period: str
    as_of: Any
    currency: str
    estimate: Estimate
    attainment: float
    pace: float
    expected_share: float
    quota: float
    credited: float
    next_tier: NextTier | None
    lines: pd.DataFrame
    explain: str
    figures: dict[str, float] = field(default_factory=dict)

    @property
    def base(self) -> CalcResult:
        """The as-of statement every what-if re-runs."""
        return self.estimate.results["now"]


def plan_of(bundle: Bundle, rep_id: str) -> Plan:
    """Return the rep's plan (``reps.plan_id``)."""
    reps = bundle.ds.reps.set_index(bundle.ds.reps["rep_id"].astype(object))
    if rep_id not in reps.index:
        raise SpmConfigError(f"rep {rep_id!r} is not in this link's scope")
    pid = reps.at[rep_id, "plan_id"]
    if pid not in bundle.plans:
        raise SpmConfigError(f"rep {rep_id} is on plan {pid!r}, which is not in the plan folder")
    return bundle.plans[str(pid)]


def next_tier(plan: Plan, base: CalcResult, rep_id: str) -> NextTier | None:
    """Return the next tier above the rep's attainment on the first tiered line of the statement.

    ``to_book`` is the credit that lifts attainment to the tier start in the
    as-of measurement period, and ``payable_at_tier`` the exact payable with it
    (:func:`spm_model.calc.what_if`). ``None`` when no tiered line has a tier above.
    """
    from spm_model.calc.asof import asof_period_index

    label = base.inputs.labels[asof_period_index(base)]
    lines = base.lines
    lines = lines[(lines["rep_id"] == rep_id) & (lines["period"] == label)]
    comps = {c["name"]: c for c in plan.to_dict()["components"]}
    for r in lines.itertuples():
        c = comps.get(r.component, {})
        tiers = c.get("tiers") or c.get("points")
        if not tiers or c.get("basis", "attainment") != "attainment" or pd.isna(r.attainment):
            continue
        key = "from" if c.get("tiers") else "attainment"
        starts = sorted(
            {(float(t[key]), str(t.get("label") or "")) for t in tiers if float(t[key]) > 0}
        )
        above = [(s, lab) for s, lab in starts if s > float(r.attainment) + 1e-12]
        if not above or not r.quota:
            continue
        start, lab = above[0]
        need = float(np.ceil((start * float(r.quota) - float(r.credited)) * 100) / 100)
        pay = float(
            payable(what_if(base, rep_id, deals=[WhatIfDeal(need, r.measure)])).get(rep_id, 0.0)
        )
        return NextTier(
            str(r.component),
            str(r.measure),
            lab or f"from {start:.0%}",
            start,
            float(r.attainment),
            need,
            pay,
        )
    return None


def my_pay(bundle: Bundle, rep_id: str | None = None) -> PayView:
    """Build the My pay view of one rep of the bundle (default the link's rep)."""
    rep = rep_id or bundle.scope.rep_id
    if rep is None or rep not in bundle.reps:
        raise SpmConfigError("this link has no rep: open My pay with a rep or manager link")
    plan = plan_of(bundle, rep)
    est = estimate(
        plan, bundle.ds, rep, bundle.as_of, attainments=(1.0, 1.2), credits=bundle.credits
    )
    base = est.results["now"]
    card = bundle.card.set_index("rep_id")
    row = card.loc[rep] if rep in card.index else pd.Series(dtype=object)
    st = est.statement()
    lines = st[st["component"] != "TOTAL"].reset_index(drop=True)
    main = lines.dropna(subset=["quota"])
    label = base.inputs.labels[_asof_index(base)]
    main = main[main["period"] == label]
    sc = est.scenarios.set_index("scenario")["payable"]
    names = bundle.ds.reps.set_index("rep_id")["name"]
    # attainment and pace as the statement measures them: its first line with a quota (the
    # company scorecard's measure, the rep's largest quota, can be another one)
    expected = float(row.get("expected_share", np.nan))
    if len(main) and pd.notna(main["attainment"].iloc[0]):
        attainment = float(main["attainment"].iloc[0])
        pace = attainment / expected if expected and np.isfinite(expected) else float("nan")
    else:
        attainment = float(row.get("attainment", np.nan))
        pace = float(row.get("pace", np.nan))
    return PayView(
        rep_id=rep,
        name=str(names.get(rep, rep)),
        plan_id=plan.id,
        period=est.period,
        as_of=est.as_of,
        currency=est.currency,
        estimate=est,
        attainment=attainment,
        pace=pace,
        expected_share=expected,
        quota=float(main["quota"].iloc[0]) if len(main) else float("nan"),
        credited=float(main["credited"].iloc[0]) if len(main) else float("nan"),
        next_tier=next_tier(plan, base, rep),
        lines=lines,
        explain=est.explain().text,
        figures={
            "payable_now": float(sc.get("now", 0.0)),
            "payable_at_100": float(sc.get("at 100%", np.nan)),
            "payable_at_120": float(sc.get("at 120%", np.nan)),
        },
    )


def _asof_index(base: CalcResult) -> int:
    from spm_model.calc.asof import asof_period_index

    return asof_period_index(base)


def parse_deals(text: str) -> list[WhatIfDeal]:
    """Parse ``"50000, 20000:renewal"`` into deals (amount in currency, optional measure)."""
    parts = [p.strip() for p in str(text).replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise SpmConfigError("enter at least one deal amount, e.g. 50000 or 50000:new_business")
    return [WhatIfDeal.parse(p) for p in parts]


def what_if_deals(view: PayView, text: str) -> dict[str, float]:
    """Payable if the deals in ``text`` close today (exact): ``payable``, ``change``, ``deals``."""
    deals = parse_deals(text)
    res = what_if(view.base, view.rep_id, deals=deals)
    pay = float(payable(res).get(view.rep_id, 0.0))
    now = view.figures["payable_now"]
    return {
        "deals": round(sum(d.amount for d in deals), 2),
        "payable": pay,
        "change": round(pay - now, 2),
    }


def dispute_lines(view: PayView) -> list[tuple[str, str]]:
    """Statement lines a rep can dispute: (label shown, line reference stored)."""
    out = []
    for r in view.lines.itertuples():
        ref = f"{view.plan_id} {r.period} {r.component}"
        out.append((f"{r.period} · {r.component} · earned {r.earned:,.2f} {view.currency}", ref))
    out.append((f"{view.period} · whole statement", f"{view.plan_id} {view.period} TOTAL"))
    return out


# -- my team ---------------------------------------------------------------------------------
TEAM_COLUMNS = [
    "rep_id",
    "name",
    "role",
    "team",
    "quota",
    "bookings",
    "attainment",
    "expected_share",
    "pace",
    "pipeline_weighted",
    "coverage_weighted",
    "win_rate",
    "activities_per_month",
]


@dataclass
class TeamView:
    """Everything the My team page shows for a manager's subtree (or the company).

    Attributes
    ----------
    scorecards : DataFrame
        :data:`TEAM_COLUMNS` per rep (money in currency, ratios as fractions).
    flags : DataFrame
        Coaching flags: ``rep_id, name, flag, reason`` (the evidence), ``severity``.
    leaderboard : DataFrame
        Ranked by attainment within the scope, with ``payout_now`` and
        ``payout_at_quota`` from the exact as-of statements (currency).
    behind : DataFrame
        Reps behind pace (pace < 1) with the reasons their flags and scorecards give
        (:func:`spm_model.performance.behind_pace`).
    disputes : DataFrame
        Open disputes of the scope (the data's table plus the journal, read now).
    """

    period: str
    as_of: Any
    currency: str
    scorecards: pd.DataFrame
    flags: pd.DataFrame
    leaderboard: pd.DataFrame
    behind: pd.DataFrame
    disputes: pd.DataFrame


def my_team(bundle: Bundle) -> TeamView:
    """Build the My team view of a bundle (scorecards, flags, leaderboard, disputes)."""
    from spm_model.performance import behind_pace, leaderboard

    card = bundle.card
    others = card[card["rep_id"] != bundle.scope.rep_id] if bundle.scope.rep_id else card
    sc = others[[c for c in TEAM_COLUMNS if c in others]].reset_index(drop=True)
    lb = leaderboard(others, payouts=bundle.payouts) if len(others) else others
    keep = [
        c
        for c in (
            "rank",
            "rep_id",
            "name",
            "role",
            "attainment",
            "pace",
            "payout_now",
            "payout_at_quota",
            "payout_gap",
        )
        if c in lb
    ]
    flags = bundle.flags[bundle.flags["rep_id"].isin(list(others["rep_id"]))]
    flags = flags.sort_values("severity", ascending=False)[
        ["rep_id", "name", "flag", "reason", "severity"]
    ].reset_index(drop=True)
    behind = behind_pace(others, flags)
    disputes = read_disputes(
        bundle.source, bundle.ds.disputes, status="open", reps=sorted(bundle.reps)
    )
    return TeamView(
        period=bundle.period,
        as_of=bundle.as_of,
        currency=bundle.ds.meta.currency,
        scorecards=sc,
        flags=flags,
        leaderboard=lb[keep].reset_index(drop=True),
        behind=behind.reset_index(drop=True),
        disputes=disputes[
            [
                "dispute_id",
                "rep_id",
                "period",
                "category",
                "amount",
                "opened_date",
                "line",
                "reason",
            ]
        ],
    )


# -- comp cost -------------------------------------------------------------------------------
def plans_in_use(bundle: Bundle) -> list[str]:
    """Plans that have reps in the bundle, sorted."""
    used = set(bundle.ds.reps["plan_id"].dropna())
    return sorted(p for p in bundle.plans if p in used)


def comp_cost(
    bundle: Bundle,
    plan_ids: Sequence[str] | None = None,
    *,
    mean_scale: float = 1.0,
    sd_scale: float = 1.0,
    attrition: float | None = None,
    n_scenarios: int = 1000,
    seed: int = 0,
    models: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Simulate the cost of each plan as fitted and under the sliders' assumptions.

    Each plan is simulated on its own reps' scenario model
    (:func:`spm_model.simulate.from_dataset`, fitted once and cached in
    ``models``) with the same seed for both settings (common random numbers),
    through :func:`spm_model.widgets.logic.what_if`.

    Returns
    -------
    DataFrame
        Per plan: ``budget`` (currency, the target incentives), ``mean_cost``,
        ``p95_cost`` as fitted and ``whatif_mean_cost``, ``whatif_p95_cost``,
        ``change`` (currency), ``p_over_budget`` and ``whatif_p_over_budget``
        (fractions), ``note`` (why a plan was not simulated, if so).
    """
    from spm_model.simulate import from_dataset
    from spm_model.widgets.logic import what_if as sim_what_if

    models = models if models is not None else {}
    rows: list[dict[str, Any]] = []
    for pid in plan_ids or plans_in_use(bundle):
        plan = bundle.plans[pid]
        if pid not in models:
            try:
                models[pid] = from_dataset(bundle.ds, plan, credits=bundle.credits)
            except SpmError as exc:  # e.g. a plan paid only on activity counts
                models[pid] = str(exc)
        m = models[pid]
        if isinstance(m, str):
            rows.append({"plan_id": pid, "note": f"not simulated: {m}"})
            continue
        base = sim_what_if(m, plan, n_scenarios=n_scenarios, seed=seed).figures
        alt = (
            base
            if mean_scale == 1.0 and sd_scale == 1.0 and attrition is None
            else sim_what_if(
                m,
                plan,
                mean_scale=mean_scale,
                sd_scale=sd_scale,
                attrition=attrition,
                n_scenarios=n_scenarios,
                seed=seed,
            ).figures
        )
        rows.append(
            {
                "plan_id": pid,
                "reps": len(m.rep_ids),
                "budget": base["budget"],
                "mean_cost": base["mean_cost"],
                "p95_cost": base["p95_cost"],
                "p_over_budget": base["p_over_budget"],
                "whatif_mean_cost": alt["mean_cost"],
                "whatif_p95_cost": alt["p95_cost"],
                "whatif_p_over_budget": alt["p_over_budget"],
                "change": round(alt["mean_cost"] - base["mean_cost"], 2),
                "note": "",
            }
        )
    out = pd.DataFrame(rows)
    if "reps" in out:
        out["reps"] = out["reps"].astype("Int64")
    return out


# -- formatting helpers (shared by the pages) ------------------------------------------------
def money(x: float, currency: str = "") -> str:
    """``12,345.67`` (and the currency code when given); an em dash for a missing value."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "—"
    return f"{x:,.2f}" + (f" {currency}" if currency else "")


def pct(x: float) -> str:
    """``85.3%``; an em dash for a missing value."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "—"
    return f"{x:.1%}"


def figure(name: str, value: float, text: str) -> str:
    """Return an HTML figure tagged with its exact value (``data-value``) for tests."""
    v = "" if not np.isfinite(value) else f"{value:.2f}"
    return (
        f'<span class="spm-figure" data-name="{html.escape(name)}" data-value="{v}">'
        f"{html.escape(text)}</span>"
    )
