"""Loading and validating plans: every problem at once, with file, YAML line and field."""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal
from difflib import get_close_matches
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from spm_model.errors import yaml_hint
from spm_model.plans.components.base import COMPONENT_TYPES, Component
from spm_model.plans.errors import PlanError, PlanProblem, format_path
from spm_model.plans.model import PERIODS_PER_YEAR, Plan
from spm_model.plans.money import D
from spm_model.plans.percent import is_percent_text
from spm_model.plans.yamlio import LineMap, load_yaml_with_lines

PathT = tuple[str | int, ...]


class _Collector:
    def __init__(self, source: str, lines: LineMap):
        self.source = source
        self.lines = lines
        self.problems: list[PlanProblem] = []

    def add(self, path: PathT, message: str) -> None:
        self.problems.append(
            PlanProblem(self.source, self.lines.line_of(path), format_path(path), message)
        )

    def add_validation(
        self, prefix: PathT, err: ValidationError, model: type[BaseModel] | None = None
    ) -> None:
        for e in err.errors():
            loc = tuple(
                x for x in e["loc"] if not (isinstance(x, str) and x.startswith("function-"))
            )
            msg = e["msg"]
            if e["type"] == "extra_forbidden":
                msg = f"unknown field {loc[-1]!r}" if loc else msg
                if loc and model is not None:
                    near = get_close_matches(str(loc[-1]), _fields_at(model, loc[:-1]), n=1)
                    msg += f" (did you mean {near[0]!r}?)" if near else ""
            elif e["type"] == "missing":
                msg = f"missing required field {loc[-1]!r}" if loc else msg
            elif e["type"] == "literal_error":
                msg = f"{msg} (got {e.get('input')!r})"
            elif e["type"] == "value_error":
                msg = msg.removeprefix("Value error, ")
            elif e["type"] == "less_than_equal" and e.get("ctx", {}).get("le") == 1:
                got = e.get("input")
                msg = f"{got!r} is above 1: this field is a fraction (0.5 or '50%' for 50%)"
            elif e["type"] == "float_parsing" and is_percent_text(e.get("input")):
                msg = (
                    f"{e.get('input')!r} is a percentage, but this field is an amount "
                    "(currency or units); percentages go in rates, weights and attainments"
                )
            self.add((*prefix, *loc), msg)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Return the pydantic models an annotation can hold (Optional, unions, lists, dicts)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in get_args(annotation) for m in _models_in(a)]


def _fields_at(model: type[BaseModel], loc: PathT) -> list[str]:
    """Return the field names (and aliases) of the models at ``loc`` below ``model``."""
    models = [model]
    for key in loc:
        if isinstance(key, int):
            continue  # a list item: the same models
        nxt = [
            m
            for cur in models
            if (f := cur.model_fields.get(key))
            for m in _models_in(f.annotation)
        ]
        models = nxt or models
    names = {n for m in models for n in m.model_fields}
    names |= {f.alias for m in models for f in m.model_fields.values() if f.alias}
    return sorted(names)


def _parse_component(raw: Any, i: int, col: _Collector) -> Component | None:
    path: PathT = ("components", i)
    if isinstance(raw, Component):
        return raw
    if not isinstance(raw, Mapping):
        col.add(path, "a component must be a mapping with 'type' and 'name'")
        return None
    t = raw.get("type")
    if t is None:
        col.add(path, f"missing 'type' (one of: {', '.join(sorted(COMPONENT_TYPES))})")
        return None
    cls = COMPONENT_TYPES.get(str(t))
    if cls is None:
        col.add(
            (*path, "type"),
            f"unknown component type {t!r} (known: {', '.join(sorted(COMPONENT_TYPES))})",
        )
        return None
    try:
        return cls.model_validate(dict(raw))
    except ValidationError as err:
        col.add_validation(path, err, cls)
        return None


def _plan_checks(plan: Plan, col: _Collector) -> None:
    """Cross-field checks of a structurally valid plan."""
    if plan.effective_to is not None and plan.effective_to < plan.effective_from:
        col.add(
            ("effective_to",),
            f"effective_to {plan.effective_to} is before effective_from {plan.effective_from}",
        )
    if PERIODS_PER_YEAR[plan.pay_frequency] > PERIODS_PER_YEAR[plan.measurement_period]:
        col.add(
            ("pay_frequency",),
            f"pay frequency {plan.pay_frequency!r} is finer than the "
            f"measurement period {plan.measurement_period!r}; pay at most as often as you measure",
        )
    if not plan.cumulative and plan.true_up != type(plan.true_up).model_validate({}):
        col.add(
            ("true_up",),
            "true_up settings apply to year-to-date plans: add 'cumulative: true' or remove them",
        )
    if plan.pay_mix is not None:
        s = plan.pay_mix.base + plan.pay_mix.variable
        if abs(s - 1) > 1e-9:
            col.add(("pay_mix",), f"pay mix base + variable = {s:g}, not 1")
    if plan.ote is not None and plan.pay_mix is not None and plan.target_incentive is not None:
        derived = D(plan.ote) * D(plan.pay_mix.variable)
        if abs(derived - D(plan.target_incentive)) > Decimal("0.01"):
            col.add(
                ("target_incentive",),
                f"target incentive {plan.target_incentive:,.2f} differs "
                f"from ote x variable = {derived:,.2f}",
            )
    for name, m in plan.measures.items():
        if m.source == "activities" and not m.activity_kinds:
            col.add(("measures", name, "source"), "source 'activities' needs 'activity_kinds'")
        if (m.quota_ratio_of is None) != (m.quota_ratio is None):
            col.add(("measures", name), "give both 'quota_ratio_of' and 'quota_ratio'")
        elif m.quota_ratio_of is not None and (
            m.quota_ratio_of not in plan.measures
            or m.quota_ratio_of == name
            or plan.measures[m.quota_ratio_of].quota_ratio_of is not None
        ):
            col.add(
                ("measures", name, "quota_ratio_of"),
                f"{m.quota_ratio_of!r} must be another "
                "plan measure whose quota is not itself a ratio",
            )
        if m.unit == "count" and m.source in ("credit", "margin", "pipeline"):
            col.add(("measures", name, "unit"), f"source {m.source!r} gives money, not counts")
    weighted = [
        (i, c)
        for i, c in enumerate(plan.components)
        if c.kind == "earning" and c.weight is not None
    ]
    if weighted:
        total = sum(c.weight or 0.0 for _, c in weighted)
        if abs(total - 1) > 1e-9:
            detail = ", ".join(f"{c.name} {c.weight:g}" for _, c in weighted)
            col.add(("components",), f"component weights sum to {total:g}, not 1 ({detail})")
        if plan.pay_mix is None and plan.target_incentive is None:
            col.add(
                ("pay_mix",),
                "weighted components need 'pay_mix' (to turn each rep's OTE into "
                "a target incentive) or 'target_incentive'",
            )
    names = [c.name for c in plan.components]
    for i, n in enumerate(names):
        if names.index(n) != i:
            col.add(("components", i, "name"), f"duplicate component name {n!r}")
    earning = {c.name for c in plan.components if c.kind == "earning"}
    for i, c in enumerate(plan.components):
        for j, target in enumerate(getattr(c, "applies_to", None) or []):
            if target not in earning:
                col.add(
                    ("components", i, "applies_to", j),
                    f"{target!r} is not an earning component of this plan",
                )
    if plan.cap is not None:
        if plan.cap.multiple_of_target is not None and plan.cap.multiple_of_target < 1:
            col.add(
                ("cap", "multiple_of_target"),
                f"cap below target: {plan.cap.multiple_of_target:g} x target incentive < 1",
            )
        if plan.cap.multiple_of_target is None and plan.cap.amount is None:
            col.add(("cap",), "give 'multiple_of_target' or 'amount'")
    if plan.draw is not None and (plan.draw.amount is None) == (
        plan.draw.fraction_of_target is None
    ):
        col.add(("draw",), "give exactly one of 'amount' or 'fraction_of_target'")


def plan_from_data(data: Any, source: str = "<dict>", lines: LineMap | None = None) -> Plan:
    """Validate plain data into a :class:`Plan`, collecting every problem.

    Parameters
    ----------
    data : mapping
        The plan as loaded from YAML/JSON.
    source : str
        File name used in messages.
    lines : LineMap, optional
        YAML line numbers by field path.

    Raises
    ------
    PlanError
        Listing every problem with its line and field.
    """
    col = _Collector(source, lines or LineMap())
    if not isinstance(data, Mapping):
        col.add((), "a plan file must be a YAML mapping (key: value pairs)")
        raise PlanError(col.problems)
    raw_components = data.get("components")
    header = {k: v for k, v in data.items() if k != "components"}
    plan_header: Plan | None = None
    try:
        plan_header = Plan.model_validate({**header, "components": []})
    except ValidationError as err:
        keep = [e for e in err.errors() if e["loc"][:1] != ("components",)]
        if keep:
            col.add_validation((), ValidationError.from_exception_data(err.title, keep), Plan)  # type: ignore[arg-type]
    components: list[Component | None] = []
    if raw_components is None:
        col.add(("components",), "missing required field 'components'")
    elif not isinstance(raw_components, list) or not raw_components:
        col.add(("components",), "'components' must be a non-empty list")
    else:
        components = [_parse_component(c, i, col) for i, c in enumerate(raw_components)]
    raw_measures = data.get("measures")
    measures: Mapping[str, Any] = raw_measures if isinstance(raw_measures, Mapping) else {}
    for i, c in enumerate(components):
        if c is not None:
            for sub, msg in c.check(measures):
                col.add(("components", i, *sub), msg)
    if plan_header is not None and components and all(c is not None for c in components):
        plan = plan_header.model_copy(update={"components": components})
        _plan_checks(plan, col)
        if not col.problems:
            return plan
    raise PlanError(_sorted(col.problems))


def _sorted(problems: list[PlanProblem]) -> list[PlanProblem]:
    return sorted(problems, key=lambda p: (p.line is None, p.line or 0))


def _not_a_plan_file(p: Path) -> str:
    """Say precisely why ``p`` is not a plan file (a folder, a near-miss name, nothing)."""
    import difflib

    if p.is_dir():
        found = sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
        if not found:
            return "is a folder with no plan files (*.yaml, *.yml) in it; pass a plan YAML file"
        names = ", ".join(f.name for f in found[:5]) + (", ..." if len(found) > 5 else "")
        return (
            f"is a folder, not a plan file; it holds {len(found)} plan file(s) ({names}): "
            f"pass one of them, e.g. {found[0]}"
        )
    if not p.parent.is_dir():
        return f"plan file not found (the folder {p.parent} does not exist)"
    near = difflib.get_close_matches(
        p.name, [f.name for f in p.parent.iterdir() if f.suffix in (".yaml", ".yml")], n=1
    )
    return "plan file not found" + (f"; did you mean {p.parent / near[0]}?" if near else "")


def load_plan(path: str | os.PathLike[str]) -> Plan:
    """Load and validate a plan from a YAML file.

    Parameters
    ----------
    path : str or PathLike
        YAML plan file (see ``templates/plans/``).

    Returns
    -------
    Plan

    Raises
    ------
    PlanError
        If the file is missing, is not YAML, or the plan is invalid; every
        problem is listed with the file, YAML line and field path.
    """
    p = Path(path)
    if not p.is_file():
        raise PlanError(PlanProblem(str(p), None, "", _not_a_plan_file(p)))
    text = p.read_text(encoding="utf-8")
    try:
        data, lines = load_yaml_with_lines(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        msg = getattr(err, "problem", None) or str(err)
        hint = yaml_hint(err, text)
        msg = f"{msg}. Hint: {hint}" if hint else msg
        raise PlanError(PlanProblem(str(p), line, "", f"not valid YAML: {msg}")) from None
    return plan_from_data(data, source=str(p), lines=lines)
