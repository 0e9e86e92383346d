"""Readable plan summaries and payout tables (used by ``spm check-plan``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import numpy as np
import pandas as pd

from spm_model.plans.components import (
    Commission,
    Component,
    Matrix,
    Mbo,
    Multiplier,
    PayoutCurve,
    PeriodInputs,
    Spif,
)
from spm_model.plans.model import PayoutArrays, Plan
from spm_model.plans.money import D, round_cents

DEFAULT_ATTAINMENTS = (0.0, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0)


def reference_quotas(plan: Plan, target_incentive: Decimal | None = None) -> dict[str, Decimal]:
    """Illustrative per-period quota of each measure, for payout tables.

    Fixed and ratio quotas come from the plan; other money measures get 10x the
    period target incentive (a quota-to-variable ratio typical of sales plans),
    count measures 20 units. Attainment-based components do not depend on it.
    """
    ti = plan.period_target_incentive() if target_incentive is None else target_incentive
    table: dict[str, Decimal] = {}
    for name, m in plan.measures.items():
        key = m.quota_measure or name
        table[key] = Decimal(20) if m.unit == "count" else round_cents(ti * 10)
    return plan.resolve_quotas(table)


def payout_table(
    plan: Plan,
    attainments: Sequence[float] = DEFAULT_ATTAINMENTS,
    *,
    target_incentive: Decimal | float | None = None,
    quotas: Mapping[str, Decimal] | None = None,
) -> pd.DataFrame:
    """Payout of one measurement period when every measure is at the same attainment.

    Parameters
    ----------
    plan : Plan
        The plan.
    attainments : sequence of float
        Attainment levels (fractions, 1.0 = 100%).
    target_incentive : Decimal or float, optional
        Period target incentive (currency); default the plan's.
    quotas : mapping, optional
        Quota per plan measure; default :func:`reference_quotas`.

    Returns
    -------
    pandas.DataFrame
        One row per attainment: ``attainment``, one column per component line
        (currency), ``total`` and ``pct_of_target`` (total / target incentive).
        SPIFs count no deals; MBOs use their default score.
    """
    ti = plan.period_target_incentive() if target_incentive is None else D(target_incentive)
    q = dict(quotas) if quotas is not None else reference_quotas(plan, ti)
    rows = []
    for a in attainments:
        credited = {m: round_cents(D(a) * q.get(m, Decimal(0))) for m in plan.measures}
        res = plan.evaluate_exact(PeriodInputs(credited, q, ti))
        row: dict[str, object] = {"attainment": a}
        for line in res.lines:
            row[line.component] = float(line.earned)
        row["total"] = float(res.total)
        row["pct_of_target"] = float(res.total / ti) if ti else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def payout_curve_arrays(
    plan: Plan,
    attainment: np.ndarray,
    *,
    target_incentive: float | None = None,
    quotas: Mapping[str, float] | None = None,
    extras: Mapping[str, np.ndarray] | None = None,
) -> PayoutArrays:
    """Vectorised payout when every measure is at ``attainment`` (for plots and widgets).

    Parameters
    ----------
    plan : Plan
        The plan.
    attainment : ndarray
        Attainment levels (fractions, 1.0 = 100%), any shape.
    target_incentive : float, optional
        Period target incentive (currency); default the plan's.
    quotas : mapping, optional
        Quota per plan measure; default :func:`reference_quotas`.
    extras : mapping, optional
        MBO scores / SPIF counts (default: MBO default scores, no SPIF deals).

    Returns
    -------
    PayoutArrays
        Total and per-line payouts (currency, cents) with the shape of ``attainment``.
    """
    ti = float(plan.period_target_incentive()) if target_incentive is None else target_incentive
    q = (
        {k: float(v) for k, v in quotas.items()}
        if quotas is not None
        else {k: float(v) for k, v in reference_quotas(plan, D(ti)).items()}
    )
    a = np.asarray(attainment, dtype=np.float64)
    credited = {m: np.round(a * q.get(m, 0.0), 2) for m in plan.measures}
    quota = {m: np.full(a.shape, q.get(m, 0.0)) for m in plan.measures}
    return plan.payout_arrays(credited, quota, ti, extras=extras)


def _describe(c: Component) -> list[str]:
    head = f"- {c.name} [{c.type}]"
    if c.weight is not None:
        head += f" weight {c.weight:.0%}"
    if c.description:
        head += f": {c.description}"
    out = [head]
    if isinstance(c, Commission):
        unit = "x BCR" if c.rate_basis == "bcr" else ""
        if c.rates:
            out += [f"    {m}: rate {r:g}" for m, r in c.rates.items()]
        elif c.rate is not None:
            out.append(f"    {c.measure}: flat rate {c.rate:g}{unit}")
        else:
            out.append(f"    {c.measure}: {c.method} tiers on {c.basis}")
            for t in c.tiers or []:
                fmt = (lambda x: f"{x:.0%}") if c.basis == "attainment" else (lambda x: f"{x:,.2f}")
                hi = "and above" if t.to is None else f"to {fmt(t.to)}"
                out.append(f"      {fmt(t.from_)} {hi}: rate {t.rate:g}{unit} {t.label}".rstrip())
    elif isinstance(c, PayoutCurve):
        xs, ys = c.resolved_points()
        pts = ", ".join(f"{x:.0%}->{y:.0%}" for x, y in zip(xs, ys, strict=True))
        out.append(
            f"    {c.measure}: {c.interpolation} curve {pts}; beyond: slope {c.slope_after_last:g}"
        )
    elif isinstance(c, Matrix):
        out.append(
            f"    rows {c.row_measure} bands {c.row_bands}; columns {c.col_measure} "
            f"bands {c.col_bands}"
        )
    elif isinstance(c, Mbo):
        out += [
            f"    {o.name}: weight {o.weight:.0%}, max score {o.max_score:g}" for o in c.objectives
        ]
    elif isinstance(c, Spif):
        out.append(
            f"    {c.amount:,.2f} per {c.basis}, {c.start} to {c.end}, filter "
            f"{c.filter.model_dump(exclude_none=True)}"
        )
    elif isinstance(c, Multiplier):
        bands = ", ".join(f">={b.from_:.0%}: x{b.factor:g}" for b in c.bands)
        out.append(f"    on {c.measure}: {bands}; applies to {c.applies_to or 'all'}")
    if c.gate is not None:
        g = c.gate
        otherwise = (
            "pays nothing"
            if g.otherwise_cap_attainment is None
            else f"attainment capped at {g.otherwise_cap_attainment:.0%}"
        )
        ytd = " year to date" if g.span == "year_to_date" else ""
        out.append(f"    gate: {g.measure}{ytd} >= {g.min_attainment:.0%}, otherwise {otherwise}")
    caps = []
    if c.cap_multiple is not None:
        caps.append(f"{c.cap_multiple:g}x target")
    if c.cap_amount is not None:
        caps.append(f"{c.cap_amount:,.2f} per period")
    if caps:
        out.append(f"    cap: {', '.join(caps)}")
    return out


#: OTE the summary illustrates a plan's payouts at when the plan leaves OTE to each rep.
ILLUSTRATIVE_OTE = 100_000


def plan_summary(plan: Plan, attainments: Sequence[float] = DEFAULT_ATTAINMENTS) -> str:
    """Multi-line readable summary of a plan, ending with a payout table."""
    ti_year = plan.annual_target_incentive()
    ti = plan.period_target_incentive()
    illustrative = ""
    if ti == 0 and plan.pay_mix is not None:  # each rep's own OTE applies: illustrate one
        ti_year = plan.annual_target_incentive(ILLUSTRATIVE_OTE)
        ti = plan.period_target_incentive(ILLUSTRATIVE_OTE)
        illustrative = (
            f" (illustrated at an OTE of {ILLUSTRATIVE_OTE:,.0f}: the plan names none, each "
            "rep's own OTE applies)"
        )
    lines = [
        f"{plan.name} (id {plan.id}, version {plan.version})",
        f"  effective {plan.effective_from} to {plan.effective_to or 'open'}; "
        f"currency {plan.currency}; fiscal year starts in month {plan.fy_start_month}",
        f"  measured per {plan.measurement_period}, paid per {plan.pay_frequency}"
        + (
            f"; cumulative year to date with true-up (negative true-up: {plan.true_up.negative})"
            if plan.cumulative
            else ""
        ),
    ]
    if plan.ote is not None:
        mix = (
            f", pay mix {plan.pay_mix.base:.0%}/{plan.pay_mix.variable:.0%}" if plan.pay_mix else ""
        )
        lines.append(f"  OTE {plan.ote:,.2f}{mix}")
    lines.append(
        f"  target incentive {ti_year:,.2f} a year, {ti:,.2f} per {plan.measurement_period}"
        + illustrative
    )
    lines.append("measures:")
    for name, m in plan.measures.items():
        src = m.source + (" (team roll-up)" if m.rollup else "")
        q = (
            f", fixed quota {m.fixed_quota:,.2f}"
            if m.fixed_quota is not None
            else f", quota {m.quota_ratio:g} x {m.quota_ratio_of}"
            if m.quota_ratio_of
            else ""
        )
        lines.append(f"- {name} [{m.unit}, from {src}{q}]")
    weights = plan.measure_weights()
    if weights:
        lines.append(
            "weights: "
            + ", ".join(f"{k} {v:.0%}" for k, v in weights.items())
            + " of target incentive"
        )
    lines.append("components:")
    for c in plan.components:
        lines += _describe(c)
    if plan.cap is not None:
        bits = []
        if plan.cap.multiple_of_target is not None:
            bits.append(f"{plan.cap.multiple_of_target:g}x target incentive")
        if plan.cap.amount is not None:
            bits.append(f"{plan.cap.amount:,.2f} per period")
        lines.append(f"total cap: {', '.join(bits)}")
    if plan.draw is not None:
        d = plan.draw
        amt = (
            f"{d.amount:,.2f}" if d.amount is not None else f"{d.fraction_of_target:.0%} of target"
        )
        lines.append(
            f"draw: {d.kind.replace('_', '-')} {amt} per {plan.pay_frequency} for "
            f"{d.periods} periods from {d.starts.replace('_', ' ')}"
        )
    if plan.clawback is not None:
        lines.append(
            "clawback: cancellations within "
            + (
                f"{plan.clawback.window_days} days, "
                if plan.clawback.window_days is not None
                else f"{plan.clawback.window_months} months, "
            )
            + f"{plan.clawback.method.replace('_', ' ')}"
        )
    pr = plan.proration
    rows = "quota rows for the days employed" if pr.quota_rows == "as_employed" else ""
    what = ", ".join([*pr.apply_to, *([rows] if rows else [])])
    lines.append(f"proration: {pr.method} ({what})")
    ref_q = reference_quotas(plan, ti)
    table = payout_table(plan, attainments, target_incentive=ti, quotas=ref_q)
    lines.append("")
    lines.append(
        f"payout per {plan.measurement_period} at target incentive {ti:,.2f}, all measures "
        "at the same attainment (quotas: "
        + ", ".join(f"{k} {v:,.0f}" for k, v in ref_q.items())
        + "):"
    )
    shown = table.copy()
    shown["attainment"] = [f"{a:.0%}" for a in shown["attainment"]]
    shown["pct_of_target"] = [
        f"{p:.1%}" if np.isfinite(p) else "n/a (no target incentive)"
        for p in shown["pct_of_target"]
    ]
    for col in shown.columns:
        if col not in ("attainment", "pct_of_target"):
            shown[col] = [f"{v:,.2f}" for v in shown[col]]
    lines.append(shown.to_string(index=False))
    return "\n".join(lines)
