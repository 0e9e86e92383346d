"""``spm scorecards``: scorecards, flags, drivers, leaderboards and trends for a period."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from spm_model.cli.progress import Display, quiet_option

if TYPE_CHECKING:
    import pandas as pd

TEAM_COLUMNS = [
    "rep_id",
    "name",
    "role",
    "quota",
    "bookings",
    "attainment",
    "ytd_attainment",
    "pace",
    "win_rate",
    "avg_deal_size",
    "sales_cycle_days",
    "coverage_weighted",
    "next_coverage_weighted",
    "activities",
    "prospecting_per_month",
    "attainment_peer_pct",
]
_PCT = {"attainment", "ytd_attainment", "pace", "win_rate", "attainment_peer_pct"}
# short headers that wrap, so a team's table fits a 1280 px screen
_HEADERS = {
    "rep_id": "Rep",
    "name": "Name",
    "role": "Role",
    "quota": "Quota",
    "bookings": "Bookings",
    "attainment": "Attain\u00adment",
    "ytd_attainment": "Year to date",
    "pace": "Pace",
    "win_rate": "Win rate",
    "avg_deal_size": "Average deal",
    "sales_cycle_days": "Cycle (days)",
    "coverage_weighted": "Coverage (weighted)",
    "next_coverage_weighted": "Next period coverage",
    "activities": "Activ\u00adities",
    "prospecting_per_month": "Prospecting a month",
    "attainment_peer_pct": "Peer percentile",
    "rank": "Rank",
    "movement": "Movement",
    "payout_now": "Payout now",
    "payout_at_quota": "Payout at quota",
}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "team"


def _fmt_table(df: pd.DataFrame) -> str:
    import pandas as pd

    shown = df.copy()
    for c in shown.columns:
        if c in _PCT:
            shown[c] = shown[c].map(lambda v: "" if pd.isna(v) else f"{v:.0%}")
        elif c in ("coverage_weighted", "next_coverage_weighted"):
            shown[c] = shown[c].map(lambda v: "" if pd.isna(v) else f"{v:.1f}x")
        elif pd.api.types.is_float_dtype(shown[c]):
            shown[c] = shown[c].map(lambda v: "" if pd.isna(v) else f"{v:,.0f}")
    shown.columns = [_HEADERS.get(str(c), str(c).replace("_", " ")) for c in shown.columns]
    return shown.to_html(index=False, escape=True, border=0, classes="t", na_rep="")


def _notes(grp: pd.DataFrame) -> str:
    """Scorecard notes as a list under the table (a note column squeezes to a word a line)."""
    if "note" not in grp:
        return ""
    rows = grp[grp["note"].notna() & (grp["note"].astype(str).str.strip() != "")]
    if rows.empty:
        return ""
    items = "".join(
        f"<li><b>{html.escape(str(r['name']))}</b>: {html.escape(str(r['note']))}</li>"
        for _, r in rows.iterrows()
    )
    return f"<p>Notes:</p><ul class='notes'>{items}</ul>"


def _page(title: str, body: str) -> str:
    style = (
        "body{font-family:system-ui,sans-serif;margin:2em;color:#222}"
        "table.t{border-collapse:collapse;font-size:13px;max-width:100%}"
        ".t th,.t td{padding:4px 6px;border-bottom:1px solid #ddd;text-align:right}"
        ".t th{vertical-align:bottom;max-width:7em;white-space:normal}"
        ".t td{white-space:nowrap}.notes li{margin:.2em 0}pre{white-space:pre-wrap}"
        ".t th{background:#f4f4f4}.flag{margin:.3em 0}.caution{color:#a33}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>\n"
    )


def register(app: typer.Typer) -> None:
    """Add ``spm scorecards`` to ``app``."""

    @app.command()
    def scorecards(
        data: Path = typer.Option(..., "--data", help="Dataset folder, .xlsx or .duckdb."),
        period: str = typer.Option(..., "--period", help="Period label, e.g. 2026-Q3."),
        out: Path = typer.Option(..., "--out", help="Output folder."),
        as_of: str | None = typer.Option(
            None, "--as-of", help="Cut-off date (default period end)."
        ),
        plans: Path | None = typer.Option(
            None, "--plans", help="Folder of plan YAML files for the payout estimate."
        ),
        metric: str = typer.Option("attainment", "--metric", help="Leaderboard metric."),
        quiet: bool = quiet_option(),
    ) -> None:
        """Write scorecards, coaching flags, drivers, leaderboards and trends for PERIOD.

        CSV files, one Excel workbook (a sheet each) and an HTML page per team.
        """
        import pandas as pd

        from spm_model.data import load_dataset
        from spm_model.data.io import atomic_path, atomic_write_text
        from spm_model.data.workbook import write_workbook
        from spm_model.errors import SpmConfigError
        from spm_model.performance import (
            PerformanceData,
            attainment_drivers,
            coaching_flags,
            estimated_payouts,
            evidence_scorecard,
            leaderboard,
            load_plans,
            plot_trends,
            trends,
        )
        from spm_model.performance import scorecards as make_scorecards
        from spm_model.performance.scorecard import attainment_panel

        show = Display(quiet)
        with show.step(f"loading {data}"):
            ds = load_dataset(data)
        plan_dir = plans if plans is not None else Path("templates/plans")
        company_plans = load_plans(plan_dir) if plan_dir.is_dir() else None
        pdata = PerformanceData(ds, plans=company_plans)
        try:
            span = pdata.span(period)
        except ValueError as exc:
            show.close()
            raise SpmConfigError(f"--period: {exc}") from exc
        try:
            ds.check_covers(span.start, span.end, f"--period {span.label}")
        except SpmConfigError:
            show.close()
            raise
        with show, show.step("crediting and scorecards"):
            card = make_scorecards(pdata, span.label, as_of=as_of)
        if card.empty:
            raise SpmConfigError(f"no active reps in {span.label}")
        if metric not in card:
            raise SpmConfigError(f"--metric: unknown scorecard column {metric!r}")
        with show:
            with show.step("coaching flags against peers"):
                panel = attainment_panel(pdata, span.freq)
                evidence = evidence_scorecard(pdata, span.label, as_of=as_of)
                flags = coaching_flags(card, panel, ds.reps, evidence=evidence)
            with show.step("drivers of attainment"):
                drivers = attainment_drivers(pdata, span.freq)
            with show.step("payouts at current attainment (exact statements)"):
                payouts = estimated_payouts(pdata, card) if company_plans else None
            with show.step("leaderboards and trends"):
                prev_start = pd.Timestamp(span.start) - pd.Timedelta(days=1)
                prev = panel[panel["end"] == prev_start]
                boards = pd.concat(
                    [
                        leaderboard(card, by, metric, prev, payouts).assign(level=by)
                        for by in ("company", "region", "team")
                    ],
                    ignore_index=True,
                )
                trend = trends(pdata, "region", span.freq)
                trend_role = trends(pdata, "role", span.freq)
        out.mkdir(parents=True, exist_ok=True)
        files = {
            "scorecards.csv": card,
            "flags.csv": flags,
            "drivers.csv": drivers.table,
            "leaderboards.csv": boards,
            "trends.csv": trend,
            "trends_by_role.csv": trend_role,
        }
        for name, df in files.items():
            atomic_write_text(out / name, df.to_csv(index=False, lineterminator="\n"))
        atomic_write_text(out / "drivers.txt", drivers.summary() + "\n")
        write_workbook(
            out / "performance.xlsx",
            {name.removesuffix(".csv"): df for name, df in files.items()},
            currency=ds.meta.currency,
            title=f"Performance, {period}",
        )
        import matplotlib.pyplot as plt

        # rows whose "region" is not a sales region (leaders with region "All") are not a
        # region's line: their outliers flatten the regions; they are in the by-role charts
        sales_regions = set(
            (ds.accounts["region"] if "region" in ds.accounts else ds.reps["region"]).dropna()
        )
        not_regions = sorted(set(trend["region"].dropna()) - sales_regions)
        for name, table, by in (
            ("trends.png", trend[trend["region"].isin(sales_regions)], "region"),
            ("trends_by_role.png", trend_role, "role"),
        ):
            fig = plot_trends(table, by)
            with atomic_path(out / name, is_dir=False) as tmp:
                fig.savefig(tmp, dpi=100, format="png")
            plt.close(fig)
        # one page per team, and an index
        (out / "teams").mkdir(exist_ok=True)
        links = []
        for team, grp in card.groupby("team"):
            slug = _slug(str(team))
            tf = flags[flags["team"] == team] if not flags.empty else flags
            flag_html = (
                "".join(
                    f"<p class='flag'><b>{html.escape(str(r.name))}</b> "
                    f"({html.escape(str(r.flag))}): {html.escape(str(r.reason))}</p>"
                    for r in tf.itertuples(index=False)
                )
                or "<p>No coaching flags.</p>"
            )
            lb = boards[(boards["level"] == "team") & (boards["group"] == str(team))]
            lb_cols = [
                c
                for c in ("rank", "name", "attainment", "movement", "payout_now", "payout_at_quota")
                if c in lb
            ]
            body = (
                f"<p>Period {span.label}, as of {card['as_of'].iloc[0]:%Y-%m-%d}. Money in "
                f"{ds.meta.currency}; attainment and pace as % of quota.</p>"
                f"<h2>Scorecards</h2>{_fmt_table(grp[[c for c in TEAM_COLUMNS if c in grp]])}"
                f"{_notes(grp)}"
                f"<h2>Coaching flags</h2>{flag_html}"
                f"<h2>Leaderboard</h2>{_fmt_table(lb[lb_cols])}"
                "<h2>Drivers of attainment (company)</h2>"
                f"<pre>{html.escape(drivers.summary())}</pre>"
            )
            atomic_write_text(out / "teams" / f"{slug}.html", _page(f"{team}: {span.label}", body))
            links.append(
                f"<li><a href='teams/{slug}.html'>{html.escape(str(team))}</a> "
                f"({len(grp)} reps)</li>"
            )
        index = (
            f"<p>{len(card)} reps, {len(flags)} coaching flags.</p><ul>{''.join(links)}</ul>"
            "<p><img src='trends.png' alt='trends by region' style='max-width:100%'></p>"
            + (
                "<p>One line per sales region; reps whose region is "
                f"{html.escape(', '.join(map(str, not_regions)))} are in the charts by role.</p>"
                if not_regions
                else ""
            )
            + "<p><img src='trends_by_role.png' alt='trends by role' style='max-width:100%'></p>"
            f"<p class='caution'>{html.escape(drivers.caution)}</p>"
        )
        atomic_write_text(out / "index.html", _page(f"Scorecards {span.label}", index))
        typer.echo(
            f"{span.label}: {len(card)} reps, {len(flags)} flags, "
            f"{card['team'].nunique()} team pages written to {out}"
        )
