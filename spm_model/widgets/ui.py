"""ipywidgets front ends: plan designer, rep earnings estimator, leaderboard.

Each class builds its controls, wires them to a plain ``update`` method that
calls :mod:`spm_model.widgets.logic`, keeps the latest results in attributes
(``plan``, ``table``, ``payout``...) so tests can drive the widget by setting
control values, and displays itself in Jupyter.

In a non-interactive run (``spm run``, ``spm batch``, or any run with the
environment variable ``SPM_STATIC_WIDGETS=1``) there is no front end to answer
the widgets' messages, and executing clients (nbclient) can wait on them
forever. There the widgets are built without a kernel comm (nothing is sent)
and display a static snapshot instead: the current values and results as HTML
and the figure as a plain inline image.
"""

from __future__ import annotations

import html
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from spm_model.data import Dataset
from spm_model.errors import SpmConfigError
from spm_model.plans import Plan
from spm_model.widgets import logic

CostFunction = Callable[[Plan], tuple[np.ndarray, float | None]]

STATIC_ENV = "SPM_STATIC_WIDGETS"
"""Environment variable: ``1`` makes the widgets render static snapshots."""


def static_mode() -> bool:
    """Whether widgets render a static snapshot instead of live controls.

    True when the environment variable ``SPM_STATIC_WIDGETS`` is ``1``/``true``/
    ``yes``; the notebook runner sets it for the kernels it starts.
    """
    return os.environ.get(STATIC_ENV, "").strip().lower() in ("1", "true", "yes")


def _w() -> Any:
    import ipywidgets

    return ipywidgets


_COMM_LOCK = threading.RLock()


@contextmanager
def _offline_widgets(active: bool) -> Iterator[None]:
    """Build ipywidgets with comms that send nothing (when ``active``).

    ipywidgets opens a comm to the front end for every widget it constructs
    (including default layouts and styles); in a static run nobody answers, so
    the widgets get a :class:`comm.DummyComm` instead. Values, observers and
    callbacks work as usual.
    """
    if not active:
        yield
        return
    import comm
    import ipywidgets.comm as wcomm

    def dummy(*args: Any, **kwargs: Any) -> Any:
        return comm.DummyComm(*args, **kwargs)

    with _COMM_LOCK:
        saved = wcomm.create_comm
        wcomm.create_comm = dummy
        try:
            yield
        finally:
            wcomm.create_comm = saved


def _html_table(df: pd.DataFrame) -> str:
    """Return a small HTML table without the index, floats with thousands separators."""
    return df.to_html(index=False, na_rep="-", float_format=lambda v: f"{v:,.2f}", border=0)


class _Base(ABC):
    widget: Any
    static: bool = False

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        if self.static:
            note = (
                "<p style='color:#555'><i>Static snapshot of the "
                f"{html.escape(type(self).__name__)} widget (non-interactive run); "
                "open the notebook in Jupyter to change the values.</i></p>"
            )
            display(HTML(note + self.snapshot_html()))
            self.draw_snapshot()
        else:
            display(self.widget)

    @abstractmethod
    def snapshot_html(self) -> str:
        """Return the widget's current state and results as static HTML."""

    def draw_snapshot(self) -> None:  # noqa: B027  (optional hook: most widgets have no figure)
        """Draw the widget's figure straight into the cell output (static runs)."""


class PlanDesigner(_Base):
    """Edit a plan's tiers, curve points and caps; payout curve and cost distribution follow.

    Parameters
    ----------
    plan : Plan
        Starting plan (left unchanged; the edited one is :attr:`plan`).
    cost_function : callable, optional
        ``cost_function(plan) -> (costs, budget)``: simulated total costs
        (currency) and an optional budget, drawn as a histogram under the curve
        after every valid edit (e.g. a quick :mod:`spm_model.simulate` run).
    levels : sequence of float
        Attainment levels of the curve (fractions).
    plot : bool
        Draw with matplotlib (off in tests).
    """

    def __init__(
        self,
        plan: Plan,
        cost_function: CostFunction | None = None,
        levels: Any = logic.DEFAULT_LEVELS,
        plot: bool = True,
    ) -> None:
        self.static = static_mode()
        with _offline_widgets(self.static):
            self._build(plan, cost_function, levels, plot)

    def _build(
        self, plan: Plan, cost_function: CostFunction | None, levels: Any, plot: bool
    ) -> None:
        w = _w()
        self.original = plan
        self.plan: Plan = plan
        self._edited: Plan = plan
        self.cost_function = cost_function
        self.levels = levels
        self.plot = plot
        self.error = ""
        self.table = logic.payout_curve_table(plan, levels)
        self.costs: np.ndarray | None = None
        comps = logic.plan_components(plan)
        editable = comps[comps["editable"] != ""]["name"].tolist() or comps["name"].tolist()
        self.component = w.Dropdown(options=editable, description="component")
        self.cap = w.FloatText(description="cap x target", step=0.25)
        self.total_cap = w.FloatText(
            value=float((plan.to_dict().get("cap") or {}).get("multiple_of_target") or 0.0),
            description="plan cap x TI",
            step=0.25,
        )
        self.steps_box = w.VBox()
        self.step_inputs: list[dict[str, Any]] = []
        self.status = w.HTML()
        self.out = w.Output()
        self.component.observe(lambda _c: self._load_component(), names="value")
        for ctl in (self.cap, self.total_cap):
            ctl.observe(lambda _c: self.update(), names="value")
        self.widget = w.VBox(
            [
                w.HBox([self.component, self.cap, self.total_cap]),
                self.steps_box,
                self.status,
                self.out,
            ]
        )
        self._load_component()

    def _load_component(self) -> None:
        with _offline_widgets(self.static):
            self._load_component_controls()

    def _load_component_controls(self) -> None:
        w = _w()
        name = self.component.value
        steps = logic.component_steps(self.plan, name)
        comp = next(c for c in self.plan.to_dict()["components"] if c["name"] == name)
        self._suspend = True
        self.cap.value = float(comp.get("cap_multiple") or 0.0)
        self.kind = "tiers" if "rate" in steps.columns else "points"
        cols = ["from", "to", "rate"] if self.kind == "tiers" else ["attainment", "payout"]
        self.step_inputs, rows = [], []
        for _, r in steps.iterrows():
            inputs = {}
            for c in cols:
                v = r.get(c)
                blank = v is None or (isinstance(v, float) and np.isnan(v))
                inputs[c] = w.FloatText(
                    value=0.0 if blank else float(v),
                    description=c,
                    step=0.05,
                    layout=w.Layout(width="170px"),
                )
                if c == "to" and blank:
                    inputs[c] = w.Text(
                        value="",
                        description="to",
                        placeholder="open",
                        layout=w.Layout(width="170px"),
                    )
                inputs[c].observe(lambda _c: self.update(), names="value")
            inputs["label"] = r.get("label") if isinstance(r.get("label"), str) else None
            self.step_inputs.append(inputs)
            rows.append(w.HBox([inputs[c] for c in cols]))
        self.steps_box.children = rows
        self._suspend = False
        self.update()

    def current_steps(self) -> list[dict[str, Any]]:
        """Return the tiers or points as typed in the controls."""
        out = []
        for inp in self.step_inputs:
            row: dict[str, Any] = {}
            for k, ctl in inp.items():
                if k == "label":
                    if ctl:
                        row[k] = ctl
                    continue
                v = ctl.value
                if isinstance(v, str):
                    v = v.strip()
                    if not v:
                        continue
                    try:
                        v = float(v)
                    except ValueError:
                        row[k] = v  # reported by the plan model
                        continue
                row[k] = float(v)
            out.append(row)
        return out

    def update(self) -> None:
        """Re-validate the edited plan and redraw (the callback of every control)."""
        if getattr(self, "_suspend", False):
            return
        edits: dict[str, Any] = {self.kind: self.current_steps(), "cap_multiple": self.cap.value}
        edits["total_cap_multiple"] = self.total_cap.value
        plan, err = logic.try_edit(
            self._edited,
            self.component.value,
            **edits,
        )
        self.error = err
        if plan is None:
            self.status.value = f"<pre style='color:#b00020'>{html.escape(err)}</pre>"
            return
        self._edited = plan
        self.plan = plan
        self.table = logic.payout_curve_table(plan, self.levels)
        at100 = float(np.interp(1.0, self.table["attainment"], self.table["pct_of_target"]))
        self.status.value = f"valid plan; payout at 100% of quota: {at100:.0%} of target incentive"
        if self.cost_function is not None:
            self.costs, self.budget = self.cost_function(plan)
        if self.plot:
            self._draw()

    def _draw(self) -> None:
        if self.static:
            return  # drawn once, when the snapshot is displayed
        self.out.clear_output(wait=True)
        with self.out:
            self._figure()

    def snapshot_html(self) -> str:
        """Return the component being edited, its tiers or points, caps and status."""
        comp = html.escape(str(self.component.value))
        steps = pd.DataFrame(self.current_steps())
        caps = (
            f"component cap: {self.cap.value:g} x target"
            if self.cap.value
            else "component cap: none"
        )
        total = (
            f"plan cap: {self.total_cap.value:g} x target incentive"
            if self.total_cap.value
            else "plan cap: none"
        )
        status = self.status.value
        if not status.startswith("<"):
            status = f"<p>{html.escape(status)}</p>"
        return (
            f"<p><b>{html.escape(self.plan.name)}</b>, component <b>{comp}</b> "
            f"({self.kind}); {caps}; {total}</p>"
            + (_html_table(steps) if len(steps) else "")
            + status
        )

    def draw_snapshot(self) -> None:
        """Draw the payout curve (and cost distribution) as a plain inline figure."""
        if self.plot:
            self._figure()

    def _figure(self) -> None:
        import matplotlib.pyplot as plt

        from spm_model.reports import plots

        n = 2 if self.costs is not None else 1
        _, axes = plt.subplots(1, n, figsize=(6 * n, 3.6), layout="constrained", squeeze=False)
        plots.payout_curve(
            {
                "edited": (self.table["attainment"], self.table["pct_of_target"]),
                "original": (
                    self.table["attainment"],
                    logic.payout_curve_table(self.original, self.levels)["pct_of_target"],
                ),
            },
            title=self.plan.name,
            ax=axes[0, 0],
        )
        if self.costs is not None:
            plots.cost_distribution(
                self.costs, self.budget, currency=self.plan.currency, ax=axes[0, 1]
            )
        plt.show()


class EarningsEstimator(_Base):
    """A rep picks open deals (or types amounts) and sees attainment and estimated payout.

    Parameters
    ----------
    ds : Dataset
    plan : Plan
        The plan paying the reps listed (reps with ``plan_id == plan.id``).
    credit_totals : DataFrame, optional
        ``CreditingResult.totals(plan.measurement_period)``; credit so far in the period.
    period : str, optional
        Measurement period (default: the one after the data's as-of date).
    rep_id : str, optional
        Rep selected first.
    """

    def __init__(
        self,
        ds: Dataset,
        plan: Plan,
        credit_totals: pd.DataFrame | None = None,
        period: str | None = None,
        rep_id: str | None = None,
    ) -> None:
        self.static = static_mode()
        with _offline_widgets(self.static):
            self._build(ds, plan, credit_totals, period, rep_id)

    def _build(
        self,
        ds: Dataset,
        plan: Plan,
        credit_totals: pd.DataFrame | None,
        period: str | None,
        rep_id: str | None,
    ) -> None:
        w = _w()
        self.ds, self.plan, self.credit_totals = ds, plan, credit_totals
        self.period = period or logic.default_period(ds, plan)
        reps = ds.reps[ds.reps["plan_id"] == plan.id].sort_values("name")
        options = [(f"{r.name} ({r.rep_id})", r.rep_id) for r in reps.itertuples()]
        self.rep = w.Dropdown(
            options=options, value=rep_id or (options[0][1] if options else None), description="rep"
        )
        self.deals = w.SelectMultiple(rows=8, description="deals", layout=w.Layout(width="95%"))
        self.amounts = {m: w.FloatText(value=0.0, description=m, step=1000) for m in plan.measures}
        self.result = w.HTML()
        self.rep.observe(lambda _c: self._load_rep(), names="value")
        self.deals.observe(lambda _c: self.update(), names="value")
        for ctl in self.amounts.values():
            ctl.observe(lambda _c: self.update(), names="value")
        self.widget = w.VBox(
            [
                self.rep,
                w.HTML(f"<b>Open deals</b> (closing in {self.period} first)"),
                self.deals,
                w.HTML("<b>Other amounts</b>"),
                w.HBox(list(self.amounts.values())),
                self.result,
            ]
        )
        self._load_rep()

    def _load_rep(self) -> None:
        self.position = logic.rep_position(
            self.ds, self.plan, self.rep.value, self.period, self.credit_totals
        )
        d = self.position.open_deals
        self._suspend = True
        self.deals.options = [
            (
                f"{r.opportunity_id} {r.measure} {r.amount:,.0f} "
                f"close {pd.Timestamp(r.close_date):%Y-%m-%d}"
                f" p={r.probability:.0%}{'' if r.closes_in_period else ' (later)'}",
                r.opportunity_id,
            )
            for r in d.itertuples()
        ]
        self.deals.value = ()
        self._suspend = False
        self.update()

    def update(self) -> None:
        """Recompute the estimate from the selected deals and typed amounts."""
        if getattr(self, "_suspend", False):
            return
        extra = {m: c.value for m, c in self.amounts.items() if c.value}
        self.table, self.payout = logic.estimate_earnings(
            self.plan, self.position, list(self.deals.value), extra
        )
        cur = self.plan.currency
        t = self.table.assign(
            attainment_now=self.table["attainment_now"].map(
                lambda v: f"{v:.0%}" if pd.notna(v) else "-"
            ),
            attainment_with=self.table["attainment_with"].map(
                lambda v: f"{v:.0%}" if pd.notna(v) else "-"
            ),
        )
        p = self.payout
        self.result.value = (
            t.to_html(index=False, float_format=lambda v: f"{v:,.2f}")
            + f"<p>Estimated payout for {html.escape(self.period)}: "
            f"<b>{p['now']:,.2f} {cur}</b> now, "
            f"<b>{p['with_deals']:,.2f} {cur}</b> if these close "
            f"(+{p['difference']:,.2f}; target incentive {p['target_incentive']:,.2f}).</p>"
        )

    def snapshot_html(self) -> str:
        """Return the selected rep, deals and the estimate."""
        rep = html.escape(str(self.rep.value))
        deals = ", ".join(map(str, self.deals.value)) or "none selected"
        return f"<p>Rep <b>{rep}</b>; deals: {html.escape(deals)}</p>" + self.result.value


class Leaderboard(_Base):
    """Reps ranked by attainment for a period and measure, with movement since the last period."""

    def __init__(
        self,
        ds: Dataset,
        credit_totals: pd.DataFrame,
        period: str | None = None,
        measure: str = "new_business",
        roles: tuple[str, ...] = (),
    ) -> None:
        self.static = static_mode()
        with _offline_widgets(self.static):
            self._build(ds, credit_totals, period, measure, roles)

    def _build(
        self,
        ds: Dataset,
        credit_totals: pd.DataFrame,
        period: str | None,
        measure: str,
        roles: tuple[str, ...],
    ) -> None:
        w = _w()
        self.ds, self.credit_totals = ds, credit_totals
        periods = sorted(set(ds.quotas["period"]) & set(credit_totals["period"]))
        measures = sorted(set(ds.quotas["measure"]))
        role_opts = sorted(set(ds.reps["role"].dropna()))
        self.period = w.Dropdown(options=periods, value=period or periods[-1], description="period")
        self.measure = w.Dropdown(options=measures, value=measure, description="measure")
        self.roles = w.SelectMultiple(
            options=role_opts, value=tuple(roles), description="roles", rows=4
        )
        self.out = w.HTML()
        for ctl in (self.period, self.measure, self.roles):
            ctl.observe(lambda _c: self.update(), names="value")
        self.widget = w.VBox([w.HBox([self.period, self.measure, self.roles]), self.out])
        self.update()

    def update(self) -> None:
        """Recompute the ranking."""
        self.table = logic.leaderboard(
            self.ds,
            self.credit_totals,
            self.period.value,
            self.measure.value,
            roles=list(self.roles.value) or None,
        )
        shown = self.table.assign(
            attainment=self.table["attainment"].map("{:.0%}".format),
            movement=self.table["movement"].map(logic.movement_arrow),
        ).drop(columns=["previous_rank"])
        self.out.value = shown.to_html(index=False, float_format=lambda v: f"{v:,.2f}")

    def snapshot_html(self) -> str:
        """Return the ranking for the selected period, measure and roles."""
        roles = ", ".join(self.roles.value) or "all roles"
        return (
            f"<p>Period <b>{html.escape(str(self.period.value))}</b>, measure "
            f"<b>{html.escape(str(self.measure.value))}</b>, {html.escape(roles)}</p>"
            + self.out.value
        )


class WhatIfSliders(_Base):
    """Sliders for the simulation assumptions; cost distribution and figures follow.

    Parameters
    ----------
    model : spm_model.simulate.ScenarioModel
        Fitted scenario model (``from_dataset(ds, plan, credits=credits)``).
    plan : Plan
    n_scenarios, seed : int
        Size and seed of every run (same seed: differences come from the assumptions).
    budget : float, optional
        Budget (currency); default the reps' total target incentive.
    plot : bool
        Draw with matplotlib (off in tests).
    """

    def __init__(
        self,
        model: Any,
        plan: Plan,
        n_scenarios: int = 1000,
        seed: int = 0,
        budget: float | None = None,
        plot: bool = True,
    ) -> None:
        self.static = static_mode()
        with _offline_widgets(self.static):
            self._build(model, plan, n_scenarios, seed, budget, plot)

    def _build(
        self,
        model: Any,
        plan: Plan,
        n_scenarios: int,
        seed: int,
        budget: float | None,
        plot: bool,
    ) -> None:
        w = _w()
        self.model, self.plan, self.n_scenarios, self.seed = model, plan, n_scenarios, seed
        self.budget = budget
        self.plot = plot
        self.error = ""
        self.result: logic.WhatIf | None = None

        def slider(desc: str, value: float, lo: float, hi: float, step: float) -> Any:
            return w.FloatSlider(
                value=value,
                min=lo,
                max=hi,
                step=step,
                description=desc,
                continuous_update=False,
                readout_format=".2f",
                style={"description_width": "150px"},
                layout=w.Layout(width="420px"),
            )

        self.mean_scale = slider("mean attainment x", 1.0, 0.5, 1.5, 0.05)
        self.sd_scale = slider("volatility x", 1.0, 0.0, 2.0, 0.1)
        self.rho_company = slider("company swing share", float(model.rho_company), 0.0, 0.9, 0.05)
        self.rho_group = slider("regional swing share", float(model.rho_group), 0.0, 0.9, 0.05)
        self.attrition = slider("attrition per year", float(model.attrition), 0.0, 0.5, 0.01)
        self.controls = [
            self.mean_scale,
            self.sd_scale,
            self.rho_company,
            self.rho_group,
            self.attrition,
        ]
        for ctl in self.controls:
            ctl.observe(lambda _c: self.update(), names="value")
        self.figures = w.HTML()
        self.out = w.Output()
        self.widget = w.VBox([w.VBox(self.controls), self.figures, self.out])
        self.update()

    def update(self) -> None:
        """Re-simulate with the slider values (the callback of every slider)."""
        try:
            self.result = logic.what_if(
                self.model,
                self.plan,
                mean_scale=self.mean_scale.value,
                sd_scale=self.sd_scale.value,
                rho_company=self.rho_company.value,
                rho_group=self.rho_group.value,
                attrition=self.attrition.value,
                n_scenarios=self.n_scenarios,
                seed=self.seed,
                budget=self.budget,
            )
        except SpmConfigError as exc:
            self.error = str(exc)
            self.figures.value = f"<pre style='color:#b00020'>{html.escape(self.error)}</pre>"
            return
        self.error = ""
        f = self.result.figures
        cur = self.plan.currency
        self.figures.value = (
            f"<p>mean cost <b>{f['mean_cost']:,.0f} {cur}</b>, P95 {f['p95_cost']:,.0f}; "
            f"budget {f['budget']:,.0f}: <b>{f['p_over_budget']:.0%}</b> chance of overrun; "
            f"{f['share_at_target']:.0%} of rep-periods at or above quota</p>"
        )
        if self.plot and not self.static:
            self.out.clear_output(wait=True)
            with self.out:
                self._figure()

    def _figure(self) -> None:
        import matplotlib.pyplot as plt

        from spm_model.reports import plots

        if self.result is None:
            return
        plots.cost_distribution(
            self.result.costs,
            self.result.figures["budget"],
            currency=self.plan.currency,
            title=f"Simulated cost: {self.plan.name}",
        )
        plt.show()

    def snapshot_html(self) -> str:
        """Return the assumptions on the sliders and the resulting figures."""
        values = pd.DataFrame(
            {
                "assumption": [c.description for c in self.controls],
                "value": [float(c.value) for c in self.controls],
            }
        )
        return _html_table(values) + self.figures.value

    def draw_snapshot(self) -> None:
        """Draw the cost distribution as a plain inline figure."""
        if self.plot:
            self._figure()
