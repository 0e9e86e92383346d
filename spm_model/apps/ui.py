"""The app pages as ipywidgets: they read controls, call :mod:`spm_model.apps.views`, format.

Every figure on a page is tagged ``<span class="spm-figure" data-name=...
data-value=...>`` with its exact value, and controls carry ``spm-*`` CSS
classes, so the browser tests read what a person sees.
"""

from __future__ import annotations

import html
import uuid
from typing import Any

import pandas as pd

from spm_model.apps import views
from spm_model.apps.bundle import Bundle
from spm_model.data.disputes import CATEGORIES, append_dispute
from spm_model.errors import SpmError

STYLE = """<style>
.spm-app {font-family: system-ui, sans-serif; max-width: 1100px}
.spm-app h2 {margin: 0.2em 0} .spm-app h3 {margin: 0.8em 0 0.3em}
.spm-cards {display: flex; gap: 12px; flex-wrap: wrap}
.spm-card {border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 14px; min-width: 150px}
.spm-card .spm-label {color: #57606a; font-size: 0.85em}
.spm-card .spm-figure {font-size: 1.35em; font-weight: 600}
.spm-table {border-collapse: collapse; font-size: 0.9em}
.spm-table th, .spm-table td {border-bottom: 1px solid #eaeef2; padding: 3px 8px; text-align: right}
.spm-table th:first-child, .spm-table td:first-child {text-align: left}
.spm-note {color: #57606a; font-size: 0.85em}
.spm-refusal {font-family: system-ui, sans-serif; padding: 2em}
</style>"""


def _w() -> Any:
    import ipywidgets

    return ipywidgets


def _card(label: str, name: str, value: float, text: str) -> str:
    return (
        f'<div class="spm-card"><div class="spm-label">{html.escape(label)}</div>'
        f"{views.figure(name, value, text)}</div>"
    )


def _whole(x: Any) -> str:
    return "—" if pd.isna(x) else f"{x:,.0f}"


def _two_places(x: Any) -> str:
    return "—" if pd.isna(x) else f"{x:,.2f}"


def _table(
    df: pd.DataFrame, money_cols: tuple[str, ...] = (), pct_cols: tuple[str, ...] = ()
) -> str:
    if df.empty:
        return '<p class="spm-note">none</p>'
    from spm_model.data.workbook import human_header

    fmt: dict[str, Any] = {c: views.money for c in money_cols if c in df}
    fmt.update({c: views.pct for c in pct_cols if c in df})
    for c in df.columns:
        if c in fmt or not pd.api.types.is_numeric_dtype(df[c]) or df[c].dtype == bool:
            continue
        vals = pd.to_numeric(df[c], errors="coerce").dropna()
        whole = bool(len(vals)) and bool((vals == vals.round()).all())
        fmt[c] = _whole if whole else _two_places
    shown = df.rename(columns={c: human_header(c) for c in df.columns})
    fmt = {human_header(c): f for c, f in fmt.items()}
    return shown.to_html(index=False, classes="spm-table", formatters=fmt, na_rep="—", border=0)


def refusal_page(reason: str = "") -> Any:
    """Return the only thing shown for a missing, unknown or wrong link."""
    text = "This link is not valid. Ask your sales operations team for your personal link."
    return _w().HTML(
        f'{STYLE}<div class="spm-refusal" id="spm-refusal"><h2>Access refused</h2>'
        f"<p>{html.escape(text)}</p>"
        + (f'<p class="spm-note">{html.escape(reason)}</p>' if reason else "")
        + "</div>"
    )


def error_page(message: str) -> Any:
    """Return the page shown when the data cannot be prepared (the message says why)."""
    return _w().HTML(
        f'{STYLE}<div class="spm-refusal" id="spm-error"><h2>The page could not be prepared</h2>'
        f'<p class="spm-note">{html.escape(message)}</p></div>'
    )


def _header(title: str, who: str, bundle: Bundle, period: str) -> str:
    return (
        f'<h2>{html.escape(title)} — {html.escape(who)}</h2><p class="spm-note">Period '
        f"{html.escape(period)}, credit to {bundle.as_of} · data version {bundle.fingerprint} · "
        f"every amount in {html.escape(bundle.ds.meta.currency)} from the statement engine</p>"
    )


class MyPayPage:
    """My pay: payable now and at 100%/120%, pace, next tier, what-if, statement, disputes."""

    def __init__(self, bundle: Bundle, rep_id: str | None = None):
        w = _w()
        self.bundle = bundle
        self.view = v = views.my_pay(bundle, rep_id)
        cur = v.currency
        nt = v.next_tier
        cards = [
            _card(
                "Payable now",
                "payable_now",
                v.figures["payable_now"],
                views.money(v.figures["payable_now"], cur),
            ),
            _card(
                "At 100% of quota",
                "payable_at_100",
                v.figures["payable_at_100"],
                views.money(v.figures["payable_at_100"], cur),
            ),
            _card(
                "At 120% of quota",
                "payable_at_120",
                v.figures["payable_at_120"],
                views.money(v.figures["payable_at_120"], cur),
            ),
            _card("Attainment", "attainment", v.attainment * 100, views.pct(v.attainment)),
            _card("Pace", "pace", v.pace * 100, views.pct(v.pace)),
        ]
        main = v.lines.dropna(subset=["quota"])
        measure = str(main["measure"].iloc[0]) if len(main) else ""
        spec = views.plan_of(bundle, v.rep_id).measures.get(measure)
        if spec is not None and spec.unit == "count":

            def amount(x: float) -> str:
                return "—" if x != x else f"{x:,.0f} {measure.replace('_', ' ')}"

        else:

            def amount(x: float) -> str:
                return views.money(x, cur)

        pace_note = (
            f"{amount(v.credited)} credited against a quota of {amount(v.quota)}; "
            f"by this day a period usually has {views.pct(v.expected_share)} of its bookings in "
            "(the company's seasonality), so pace = attainment / that share."
        )
        tier = (
            f"<p>Next tier: <b>{html.escape(nt.label)}</b> of {html.escape(nt.component)} at "
            f"{nt.threshold:.0%} of quota — book "
            f"{views.figure('to_next_tier', nt.to_book, views.money(nt.to_book, cur))} more and "
            "the period pays "
            + views.figure(
                "payable_at_next_tier", nt.payable_at_tier, views.money(nt.payable_at_tier, cur)
            )
            + ".</p>"
            if nt
            else '<p class="spm-note">No higher tier on this plan.</p>'
        )
        self.head = w.HTML(
            STYLE
            + '<div class="spm-app">'
            + _header("My pay", f"{v.name} ({v.rep_id})", bundle, v.period)
            + f'<div class="spm-cards">{"".join(cards)}</div>'
            + f'<p class="spm-note">{html.escape(pace_note)}</p>{tier}</div>'
        )
        self.deals = w.Text(
            placeholder="e.g. 50000 or 50000, 20000:renewal", description="If I close:"
        )
        self.deals.add_class("spm-whatif-input")
        self.go = w.Button(description="Estimate", button_style="primary")
        self.go.add_class("spm-whatif-go")
        self.result = w.HTML()
        self.result.add_class("spm-whatif-result")
        self.go.on_click(lambda _: self.run_what_if())
        self.deals.continuous_update = False
        lines = _table(
            v.lines[
                [
                    "period",
                    "component",
                    "measure",
                    "credited",
                    "quota",
                    "attainment",
                    "segment",
                    "earned",
                ]
            ],
            money_cols=("credited", "quota", "earned"),
            pct_cols=("attainment",),
        )
        self.lines = w.HTML(f'{STYLE}<div class="spm-app"><h3>Statement to date</h3>{lines}</div>')
        trace = w.HTML(f"<pre style='font-size:0.8em'>{html.escape(v.explain)}</pre>")
        self.explain = w.Accordion(children=[trace], titles=("Explain every amount",))
        self.explain.selected_index = None
        options = views.dispute_lines(v)
        self.d_line = w.Dropdown(options=options, description="Line:")
        self.d_line.add_class("spm-dispute-line")
        self.d_cat = w.Dropdown(
            options=list(CATEGORIES), value="calculation", description="Category:"
        )
        self.d_amount = w.FloatText(value=0.0, description="Claimed:")
        self.d_amount.add_class("spm-dispute-amount")
        self.d_reason = w.Textarea(placeholder="What is wrong?", description="Reason:")
        self.d_reason.add_class("spm-dispute-reason")
        self.d_go = w.Button(description="Raise dispute", button_style="warning")
        self.d_go.add_class("spm-dispute-go")
        self.d_result = w.HTML()
        self.d_result.add_class("spm-dispute-result")
        self._request = uuid.uuid4().hex
        self.d_go.on_click(lambda _: self.raise_dispute())
        self.widget = w.VBox(
            [
                self.head,
                w.HTML("<h3 style='font-family:system-ui'>What if I close more?</h3>"),
                w.HBox([self.deals, self.go]),
                self.result,
                self.lines,
                self.explain,
                w.HTML("<h3 style='font-family:system-ui'>Dispute a line</h3>"),
                w.VBox([self.d_line, self.d_cat, self.d_amount, self.d_reason, self.d_go]),
                self.d_result,
            ]
        )

    def run_what_if(self) -> None:
        """Re-run the statement with the typed deals and show the engine's payable."""
        try:
            r = views.what_if_deals(self.view, self.deals.value)
        except SpmError as exc:
            self.result.value = f'<p class="spm-note">{html.escape(str(exc))}</p>'
            return
        cur = self.view.currency
        self.result.value = (
            f"<p style='font-family:system-ui'>With {views.money(r['deals'], cur)} more closed "
            "today the period pays "
            + views.figure("payable_with_deals", r["payable"], views.money(r["payable"], cur))
            + f" ({r['change']:+,.2f} {html.escape(cur)} on now).</p>"
        )

    def raise_dispute(self) -> None:
        """Append the dispute to the journal (once per submission) and confirm its id."""
        try:
            row = append_dispute(
                self.bundle.source,
                self.view.rep_id,
                self.view.period,
                self.d_amount.value,
                self.d_reason.value,
                category=self.d_cat.value,
                line=self.d_line.value,
                request_id=self._request,
            )
        except SpmError as exc:
            self.d_result.value = f'<p class="spm-note">{html.escape(str(exc))}</p>'
            return
        self._request = uuid.uuid4().hex
        self.d_reason.value = ""  # a second click (a double-click) now asks for a reason
        self.d_result.value = (
            f"<p style='font-family:system-ui'>Dispute <b class='spm-dispute-id'>"
            f"{html.escape(row['dispute_id'])}</b> recorded; your manager sees it now.</p>"
        )


class MyTeamPage:
    """My team: scorecards, coaching flags with evidence, leaderboard with payouts, disputes."""

    def __init__(self, bundle: Bundle):
        w = _w()
        v = views.my_team(bundle)
        self.view = v
        who = (
            "the company"
            if bundle.scope.kind == "finance"
            else bundle.scope.name or bundle.scope.key
        )
        body = (
            STYLE
            + '<div class="spm-app">'
            + _header("My team", who, bundle, v.period)
            + f"<h3>Leaderboard (payout from the exact as-of statements, {html.escape(v.period)}"
            " to date: a monthly plan's months of the period added up)</h3>"
            + _table(
                v.leaderboard,
                money_cols=("payout_now", "payout_at_quota", "payout_gap"),
                pct_cols=("attainment", "pace"),
            )
            + "<h3>Behind pace, and why</h3>"
            + _table(v.behind, pct_cols=("attainment", "pace"))
            + "<h3>Coaching flags</h3>"
            + _table(v.flags.drop(columns=["severity"]))
            + "<h3>Scorecards</h3>"
            + _table(
                v.scorecards,
                money_cols=("quota", "bookings", "pipeline_weighted"),
                pct_cols=("attainment", "expected_share", "pace", "win_rate"),
            )
            + '<h3 id="spm-disputes">Open disputes</h3>'
            + _table(v.disputes, money_cols=("amount",))
            + "</div>"
        )
        self.widget = w.HTML(body)


class CompCostPage:
    """Comp cost: simulation sliders and the plans compared on the same scenarios."""

    def __init__(self, bundle: Bundle, n_scenarios: int = 1000):
        w = _w()
        self.bundle = bundle
        self.n = n_scenarios
        self.models: dict[str, Any] = {}
        self.mean = w.FloatSlider(
            value=1.0, min=0.5, max=1.5, step=0.05, description="Attainment x"
        )
        self.sd = w.FloatSlider(value=1.0, min=0.5, max=2.0, step=0.1, description="Volatility x")
        self.go = w.Button(description="Simulate", button_style="primary")
        self.go.add_class("spm-sim-go")
        self.out = w.HTML()
        self.out.add_class("spm-sim-result")
        self.go.on_click(lambda _: self.update())
        head = w.HTML(
            STYLE
            + '<div class="spm-app">'
            + _header("Comp cost", "Finance", bundle, bundle.period)
            + '<p class="spm-note">Each plan simulated on its own reps (fitted from the credited '
            f"history), {n_scenarios:,} scenarios, the same seed for both columns.</p></div>"
        )
        self.widget = w.VBox([head, w.HBox([self.mean, self.sd, self.go]), self.out])
        self.update()

    def update(self) -> None:
        """Simulate every plan as fitted and under the sliders, and tabulate."""
        t = views.comp_cost(
            self.bundle,
            mean_scale=self.mean.value,
            sd_scale=self.sd.value,
            n_scenarios=self.n,
            models=self.models,
        )
        self.out.value = (
            STYLE
            + '<div class="spm-app">'
            + _table(
                t,
                money_cols=(
                    "budget",
                    "mean_cost",
                    "p95_cost",
                    "whatif_mean_cost",
                    "whatif_p95_cost",
                    "change",
                ),
                pct_cols=("p_over_budget", "whatif_p_over_budget"),
            )
            + "</div>"
        )
