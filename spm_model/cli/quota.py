"""``spm quota`` and ``spm quota-backtest``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from spm_model.cli.progress import Display, quiet_option


def _parse_mapping(text: str, what: str) -> float | dict[str, float]:
    """``"4e7"`` -> 4e7; ``"new_business=4e7,renewal=2e7"`` -> mapping."""
    from spm_model.errors import SpmConfigError

    text = text.strip()
    try:
        if "=" not in text:
            return float(text)
        out = {}
        for part in text.split(","):
            k, v = part.split("=", 1)
            out[k.strip()] = float(v)
        return out
    except ValueError:
        raise SpmConfigError(
            f"--{what} must be a number or name=number pairs separated by commas, got {text!r}"
        ) from None


def register(app: typer.Typer) -> None:
    """Add the quota commands to ``app``."""

    @app.command("quota")
    def quota(
        data: Path = typer.Option(..., "--data", help="Dataset folder, .xlsx or .duckdb."),
        year: int = typer.Option(..., "--year", help="Fiscal year to set quotas for."),
        out: Path = typer.Option(..., "--out", help="Output quotas table (.csv or .parquet)."),
        target: str | None = typer.Option(
            None,
            "--target",
            help="Company target (currency per year) for --measure, or measure=amount pairs "
            "('new_business=4e7,renewal=2e7'). Measures without a target are set bottom-up.",
        ),
        measure: str | None = typer.Option(
            None, "--measure", help="Measure a plain --target applies to (default new_business)."
        ),
        method: str = typer.Option(
            "blend",
            "--method",
            help="history, run_rate, potential, capacity, blend or probabilistic.",
        ),
        weights: str | None = typer.Option(
            None, "--weights", help="Blend weights, e.g. 'history=0.5,potential=0.5' (sum 1)."
        ),
        aim: float = typer.Option(0.65, "--aim", help="Probabilistic: share of reps at quota."),
        over_assign: str | None = typer.Option(
            None,
            "--over-assign",
            help="Total over-assignment of measures with a --target: 0.1 = rep quotas and "
            "vacancy lines sum to 110% of the target (split evenly across region, team and "
            "rep levels). Per-level fractions ('region=0.05,team=0.05,rep=0.1') compound: "
            "10% at each level is 33.1% in total. Needs --target.",
        ),
        freq: str = typer.Option("month", "--freq", help="month, quarter or year."),
        cutoff: str | None = typer.Option(
            None,
            "--cutoff",
            help="Last day of history to learn from (default: the day before the year, "
            "or the end of the data if earlier).",
        ),
        excel: Path | None = typer.Option(
            None, "--excel", help="Also write the Excel workbook with the allocation hierarchy."
        ),
        report: Path | None = typer.Option(
            None, "--report", help="Also write the target-vs-assigned report (CSV)."
        ),
        fairness_out: Path | None = typer.Option(
            None,
            "--fairness-out",
            help="Also write the fairness test of regions and teams (CSV: which groups stand "
            "out, role mix taken out), the per-rep diagnostics beside it (<name>_reps.csv) "
            "and a plot (<name>.png).",
        ),
        skip_unset: bool = typer.Option(
            False,
            "--skip-unset",
            help="A measure nobody has history for and without a --target is left out (noted) "
            "instead of stopping the run.",
        ),
        quiet: bool = quiet_option(),
    ) -> None:
        """Set quotas for a fiscal year and write the canonical quotas table (atomically)."""
        import pandas as pd

        from spm_model.data import load_dataset
        from spm_model.data.io import atomic_path, atomic_write_text
        from spm_model.errors import SpmConfigError
        from spm_model.quota import set_quotas

        spec: dict = {"method": method}
        if weights is not None:
            if method != "blend":
                raise SpmConfigError("--weights only applies to --method blend")
            w = _parse_mapping(weights, "weights")
            if not isinstance(w, dict):
                raise SpmConfigError(
                    "--weights must be name=weight pairs, e.g. history=0.5,potential=0.5"
                )
            spec["weights"] = w
        if method == "probabilistic":
            spec["aim"] = aim
        tgt = _parse_mapping(target, "target") if target is not None else None
        oa = _parse_mapping(over_assign, "over-assign") if over_assign is not None else None
        if oa is not None and tgt is None:
            raise SpmConfigError(
                "--over-assign needs --target: over-assignment is a share above the company "
                "target (without a target quotas are set bottom-up)"
            )
        if out.suffix.lower() not in (".csv", ".parquet"):
            raise SpmConfigError(f"--out must end in .csv or .parquet, got {out}")
        opts: dict[str, Any] = {} if cutoff is None else {"cutoff": cutoff}
        if skip_unset:
            opts["unset"] = "skip"
        with Display(quiet) as show:
            with show.step(f"loading {data}"):
                ds = load_dataset(data)
            with show.step(f"crediting the history and setting FY{year} quotas ({method})"):
                res = set_quotas(
                    ds, year, spec, target=tgt, measure=measure, over_assign=oa, freq=freq, **opts
                )
        if not res.reconciles:  # pragma: no cover - guarded by construction and tests
            raise SpmConfigError("allocation does not reconcile; nothing written")
        if out.suffix.lower() == ".csv":
            atomic_write_text(out, res.quotas.to_csv(index=False, lineterminator="\n"))
        else:
            with atomic_path(out, is_dir=False) as tmp:
                res.quotas.to_parquet(tmp, index=False)
        if report is not None:
            atomic_write_text(report, res.allocation.to_csv(index=False, lineterminator="\n"))
        if excel is not None:
            res.to_excel(excel)
        if fairness_out is not None:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            from spm_model.data.io import atomic_path
            from spm_model.quota import fairness_report

            with Display(quiet) as show, show.step("fairness by region and team"):
                fr = fairness_report(res)
            groups = fr.groups if fr.groups is not None else pd.DataFrame()
            atomic_write_text(fairness_out, groups.to_csv(index=False, lineterminator="\n"))
            reps_path = fairness_out.with_name(fairness_out.stem + "_reps.csv")
            atomic_write_text(reps_path, fr.per_rep.to_csv(index=False, lineterminator="\n"))
            ax = fr.plot_groups("region")
            with atomic_path(fairness_out.with_suffix(".png"), is_dir=False) as tmp:
                ax.figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
            plt.close(ax.figure)
            out_groups = groups[groups["stands_out"]] if len(groups) else groups
            typer.echo(
                f"fairness: {len(out_groups)} group test(s) stand out of {len(groups)} "
                f"(written to {fairness_out})"
            )
            for w in out_groups.get("words", pd.Series(dtype=str)).head(10):
                typer.echo(f"  {w}")
        typer.echo(
            f"{len(res.quotas)} quota rows for FY{year} ({res.method.name}) written to {out}"
        )
        typer.echo(res.summary().to_string(index=False))
        for line in res.over_assignment_text():
            typer.echo(f"over-assignment: {line}")
        for m, c in res.chance.items():
            typer.echo(f"chance of reaching quota ({m}): {c:.1%} for every rep with history")
        for n in res.notes[:20]:
            typer.echo(f"note: {n}")
        if len(res.notes) > 20:
            typer.echo(f"note: ... and {len(res.notes) - 20} more")

    @app.command("quota-backtest")
    def quota_backtest(
        data: Path = typer.Option(..., "--data", help="Dataset folder, .xlsx or .duckdb."),
        year: int | None = typer.Option(
            None, "--year", help="Held-out fiscal year (default the last complete one)."
        ),
        out: Path | None = typer.Option(None, "--out", help="Also write the table (CSV)."),
        aim: float = typer.Option(0.65, "--aim", help="Probabilistic method's aim."),
        target: str | None = typer.Option(
            None,
            "--target",
            help="Company target for the held-out year: an amount for --measure, "
            "measure=amount pairs, or 'actual' (what the reps really credited). "
            "Default bottom-up.",
        ),
        measure: str | None = typer.Option(
            None, "--measure", help="Measure a plain or 'actual' --target applies to."
        ),
        over_assign: str | None = typer.Option(
            None,
            "--over-assign",
            help="Total over-assignment above --target (0.1 = 10%); per-level pairs compound.",
        ),
        skip_unset: bool = typer.Option(
            True,
            "--skip-unset/--no-skip-unset",
            help="A measure nobody has history for before the held-out year and without a "
            "--target is left out with a note (default: a backtest scores what it can); "
            "--no-skip-unset stops the run instead.",
        ),
        quiet: bool = quiet_option(),
    ) -> None:
        """Backtest every quota method on a held-out fiscal year and print the table.

        Also prints the calibration of each method's stated chance of reaching quota:
        Brier score against the base rate's, and the reliability table.
        """
        import pandas as pd

        from spm_model.data import load_dataset, parse_period
        from spm_model.data.io import atomic_write_text
        from spm_model.errors import SpmConfigError
        from spm_model.quota import backtest
        from spm_model.quota.backtest import DEFAULT_METHODS

        tgt: Any = None
        if target is not None:
            tgt = "actual" if target.strip() == "actual" else _parse_mapping(target, "target")
        oa = _parse_mapping(over_assign, "over-assign") if over_assign is not None else None
        if oa is not None and tgt is None:
            raise SpmConfigError("--over-assign needs --target (an amount or 'actual')")
        ds = load_dataset(data)
        if year is None:
            end = pd.Timestamp(ds.meta.end_date)
            fy = ds.meta.fy_start_month
            y = parse_period(str(end.year + 1), fy).fiscal_year
            while pd.Timestamp(parse_period(str(y), fy).end) > end:
                y -= 1
            year = y
        methods = dict(DEFAULT_METHODS)
        methods["probabilistic"] = {"method": "probabilistic", "aim": aim}
        with Display(quiet) as show, show.step(f"backtesting {len(methods)} methods on FY{year}"):
            res = backtest(
                ds,
                year,
                methods,
                target=tgt,
                measure=measure,
                over_assign=oa,
                unset="skip" if skip_unset else "error",
            )
        if out is not None:  # before printing: a closed pipe (| head) must not lose the file
            atomic_write_text(out, res.table.to_csv(index=False, lineterminator="\n"))
        for note in res.notes:
            typer.echo(f"note: {note}")
        pd.set_option("display.width", 200)
        typer.echo(f"Backtest: quotas from data to the end of FY{year - 1}, scored on FY{year}")
        typer.echo(res.table.round(3).to_string(index=False))
        typer.echo(
            "\nCalibration of the stated chance of reaching quota (Brier: lower is better; "
            "a chance that knows something scores below the base rate's):"
        )
        common = _common_chance_methods(res.detail)
        for r in res.table.itertuples(index=False):
            if r.method in common:
                # Brier = base rate's + (stated - reached)^2: a tie at best; the gap is the test
                verdict = (
                    "one chance for every rep of a measure: it can tie the base rate, not beat "
                    "it; judge it by the gap between stated and reached"
                )
            else:
                verdict = "better" if r.brier < r.brier_base_rate else "not better"
            typer.echo(
                f"  {r.method}: Brier {r.brier:.3f} vs base rate {r.brier_base_rate:.3f} "
                f"({verdict}); stated {r.chance_mean:.1%} on average, {r.share_at_quota:.1%} "
                "reached quota"
            )
        if res.reliability is not None:
            typer.echo("\nReliability (stated chance vs share that reached quota):")
            typer.echo(res.reliability.round(3).to_string(index=False))
        if out is not None:
            typer.echo(f"table written to {out}")


def _common_chance_methods(detail: Any) -> set[str]:
    """Methods that state one chance of reaching quota for every rep of a measure (to 0.05).

    Their Brier score is the base rate's plus the squared gap between the chance stated and
    the share that reached quota, so it can tie the base rate but never beat it.
    """
    if detail is None or "chance" not in detail:
        return set()
    spread = detail.groupby(["method", "measure"])["chance"].agg(lambda c: c.max() - c.min())
    by_method = spread.groupby(level="method").max()
    # the common chance is solved to about 1e-5; whole-unit quotas of count measures
    # (meetings) spread it by a few points
    return set(by_method[by_method < 0.05].index)
