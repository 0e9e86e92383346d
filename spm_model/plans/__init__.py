"""Comp plans as code: the plan specification and the payout math.

Bottom layer of spm_model: imports only :mod:`spm_model.data` and
:mod:`spm_model.errors`. Two engines with one meaning live here: the exact engine
(``Decimal``, used by ``spm_model.calc`` for statements) and the vectorised engine
(numpy, used by simulation, forecast accruals, leaderboards and widgets).

Loading
-------
``load_plan(path) -> Plan``
    YAML -> validated :class:`Plan`; raises :class:`PlanError` listing **every**
    problem with file, YAML line and field path (``components[2].tiers[1].from``).
``Plan.from_dict(d)``, ``plan.to_dict()``, ``plan.to_yaml()``
    Round trip through plain mappings / YAML.

Plan fields (all money in ``plan.currency``; rates and attainment as fractions)
------------------------------------------------------------------------------
``id, name, version, description, currency, effective_from, effective_to,
fy_start_month, measurement_period (month|quarter|year), pay_frequency (same or
coarser), cumulative (year to date with true-up), true_up.negative
(carry_forward|recover), ote, pay_mix {base, variable}, target_incentive
(annual), measures {name: Measure}, components [...], cap {multiple_of_target,
amount}, draw {kind, amount | fraction_of_target, periods, starts,
recover_after_window}, clawback {window_days, method full|pro_rata}, proration
{method days|none, apply_to, quota_rows full_period|as_employed}``.

``Measure`` says where the values come from (``source``: credit, margin, units,
activities, pipeline; ``data_measure``, ``product_families``,
``activity_kinds``, ``rollup``; ``quota_measure`` / ``fixed_quota``); the
calculation layer turns data into ``credited``/``quota`` per measure.

Components (``type:`` registry, :data:`COMPONENT_TYPES`; every one has ``name``,
``weight`` (share of target incentive), ``cap_multiple`` (of its target),
``cap_amount`` (per period), ``gate`` {measure, min_attainment,
otherwise_cap_attainment}):

* ``commission``: ``measure`` + ``rate`` | ``rates`` {measure: rate} (per-product
  rates: declare one measure per product family with ``product_families`` and
  key ``rates`` by those measures) |
  ``tiers`` [{from, to, rate, label}] with ``basis`` amount|attainment,
  ``method`` marginal|retroactive, ``rate_basis`` absolute|bcr;
* ``payout_curve``: ``measure``, ``points`` [{attainment, payout | slope,
  label}], ``interpolation`` linear|step, ``slope_after_last``;
* ``matrix``: ``row_measure``, ``col_measure``, ``row_bands``, ``col_bands``,
  ``payouts`` (fractions of target);
* ``mbo``: ``objectives`` [{name, weight, max_score}], ``default_score``;
* ``spif``: ``basis`` deal|unit, ``amount``, ``start``, ``end``, ``filter``
  {measure, product_ids, product_families, min_amount};
* ``multiplier``: ``measure``, ``bands`` [{from, factor}], ``applies_to``.

Exact engine (``Decimal``; earned amounts rounded to the cent ``ROUND_HALF_UP``
once per line, after the line's gate and cap; see :mod:`spm_model.plans.money`)
------------------------------------------------------------------------------
``PeriodInputs(credited, quota, target_incentive, scores, counts, deals, periods)``
    One rep, one span. ``plan.period_target_incentive(ote)`` gives the span TI.
``plan.evaluate_exact(inputs) -> PlanResult``
    ``.lines`` (``ComponentResult``: credited, quota, attainment, target, rate,
    segment, steps, earned, capped, gate), ``.subtotal``, ``.total_cap``,
    ``.total``, ``.explain()``.
``component.evaluate_exact(inputs) -> ComponentResult``
``plan.evaluate_periods_exact([inputs per period], draws=None, opening_balance=0,
paid_before=0) -> [PeriodOutcome]``
    YTD accumulation + true-up (cumulative plans), pay-period grouping, draws.
``apply_draws_exact(earnings, draws, recoverable=..)``, ``true_up_exact``,
``proration_factor(start, end, period_start, period_end)``,
``clawback_fraction_exact(booking_date, cancel_date, window_days, method)``.

Vectorised engine (float64, any leading shape; same rounding)
-------------------------------------------------------------
``plan.payout_arrays(credited, quota, target_incentive=None, extras=None)
-> PayoutArrays(total, components)``
    One span; ``extras`` holds MBO scores (``"<component>.<objective>"``) and
    SPIF counts (component name).
``plan.payout_arrays_periods(credited, quota, ...)`` (period axis last) -> dict
    ``earned, due, pay_due, payable, advance, recovery, balance``.
``apply_draws_arrays``, ``true_up_arrays``, ``clawback_fraction_arrays``.
``fast_payout_total(plan, credited, quota, ti)``: the same total from a fused,
    parallel numba kernel (commission and payout-curve plans with gates and caps;
    other plans fall back to ``payout_arrays``), for 10^8 evaluations
    (:mod:`spm_model.plans.fast`, imported lazily).

Other helpers: ``payout_table(plan, attainments)`` (exact payout at attainment
levels, a DataFrame), ``payout_curve_arrays(plan, attainment_array)`` (vectorised,
for plots and widgets), ``plan_summary(plan)`` (text used by ``spm check-plan``),
``plan.resolve_quotas(table_quotas)`` / ``plan.resolve_quota_arrays`` (fixed and
ratio quotas), ``plan.period_target_incentive(ote)``.
"""

from spm_model.plans.components import (
    COMPONENT_TYPES,
    ArrayInputs,
    Band,
    Commission,
    Component,
    ComponentResult,
    CurvePoint,
    Deal,
    Gate,
    Matrix,
    Mbo,
    Multiplier,
    Objective,
    PayoutCurve,
    PeriodInputs,
    Spif,
    SpifFilter,
    Step,
    Tier,
    component_from_dict,
    register_component,
)
from spm_model.plans.errors import PlanError, PlanProblem
from spm_model.plans.loader import load_plan, plan_from_data
from spm_model.plans.model import (
    ClawbackSettings,
    DrawSettings,
    Measure,
    PayMix,
    PayoutArrays,
    PeriodOutcome,
    Plan,
    PlanResult,
    ProrationSettings,
    TotalCap,
    TrueUp,
    accumulate_inputs,
    with_year_to_date,
)
from spm_model.plans.money import D, round_cents, round_cents_array
from spm_model.plans.sequencing import (
    DrawPeriod,
    TrueUpPeriod,
    apply_draws_arrays,
    apply_draws_exact,
    clawback_fraction_arrays,
    clawback_fraction_exact,
    draw_schedule,
    proration_factor,
    true_up_arrays,
    true_up_exact,
)
from spm_model.plans.summary import payout_curve_arrays, payout_table, plan_summary


def __getattr__(name: str):
    # numba is imported only when the fused kernel is asked for (keeps imports fast)
    if name in ("fast_payout_total", "compile_plan"):
        from spm_model.plans import fast

        return getattr(fast, name)
    raise AttributeError(f"module 'spm_model.plans' has no attribute {name!r}")


__all__ = [
    "COMPONENT_TYPES",
    "ArrayInputs",
    "Band",
    "ClawbackSettings",
    "Commission",
    "Component",
    "ComponentResult",
    "CurvePoint",
    "D",
    "Deal",
    "DrawPeriod",
    "DrawSettings",
    "Gate",
    "Matrix",
    "Mbo",
    "Measure",
    "Multiplier",
    "Objective",
    "PayMix",
    "PayoutArrays",
    "PayoutCurve",
    "PeriodInputs",
    "PeriodOutcome",
    "Plan",
    "PlanError",
    "PlanProblem",
    "PlanResult",
    "ProrationSettings",
    "Spif",
    "SpifFilter",
    "Step",
    "Tier",
    "TotalCap",
    "TrueUp",
    "TrueUpPeriod",
    "accumulate_inputs",
    "apply_draws_arrays",
    "apply_draws_exact",
    "clawback_fraction_arrays",
    "clawback_fraction_exact",
    "compile_plan",
    "component_from_dict",
    "draw_schedule",
    "fast_payout_total",
    "load_plan",
    "payout_curve_arrays",
    "payout_table",
    "plan_from_data",
    "plan_summary",
    "proration_factor",
    "register_component",
    "round_cents",
    "round_cents_array",
    "true_up_arrays",
    "true_up_exact",
    "with_year_to_date",
]
