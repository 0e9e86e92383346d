"""``spm calc``, ``spm explain``, ``spm replay``, ``spm credit``: statements and reconciliation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from spm_model.cli.progress import Display, quiet_option


def _load(plan: Path, data: Path):
    from spm_model.data import load_dataset
    from spm_model.plans import load_plan

    return load_plan(plan), load_dataset(data)


def _reps(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [r.strip() for r in value.split(",") if r.strip()]


TI_SOURCES = ("auto", "rep", "plan_mix", "plan")


def ti_source_option() -> Any:
    """``--ti-source``: where each rep's annual target incentive comes from."""
    return typer.Option(
        "auto",
        "--ti-source",
        help="Where each rep's annual target incentive comes from: auto (the rep's ote - "
        "base_salary, else ote x the plan's variable share, else the plan's figure), rep, "
        "plan_mix, or plan (the plan's target_incentive, or its ote x variable share, for "
        "everyone).",
    )


def _ti_source(value: str) -> Any:
    from spm_model.errors import SpmConfigError

    if value not in TI_SOURCES:
        raise SpmConfigError(f"--ti-source must be one of {', '.join(TI_SOURCES)}, not {value!r}")
    return value


def register(app: typer.Typer) -> None:
    """Add the calculation commands to ``app``."""

    @app.command()
    def calc(
        plan: Path = typer.Option(
            ...,
            "--plan",
            help="Plan YAML file, or a folder of plans (every rep on their own plan).",
        ),
        data: Path = typer.Option(
            ..., "--data", help="Dataset: folder of CSV/Parquet, .xlsx or .duckdb."
        ),
        period: str = typer.Option(
            ..., "--period", help="Period label, e.g. 2025-Q3, 2025-07 or 2025."
        ),
        out: Path = typer.Option(
            Path("statements"), "--out", help="Output folder (a sub-folder per run)."
        ),
        formats: str = typer.Option(
            "csv,xlsx,md", "--formats", help="Comma list of csv, xlsx, md, html."
        ),
        reps: str | None = typer.Option(
            None, "--reps", help="Comma list of reps (default: reps on the plan)."
        ),
        ti_source: str = ti_source_option(),
        quiet: bool = quiet_option(),
    ) -> None:
        """Compute every rep's exact statement for a period; write CSV, Excel and statements."""
        from spm_model.calc import calculate, calculate_many, credit_dataset
        from spm_model.calc.engine import reps_without_a_plan
        from spm_model.calc.outputs import FORMATS
        from spm_model.data import load_dataset
        from spm_model.errors import SpmConfigError
        from spm_model.plans import load_plan

        source = _ti_source(ti_source)
        fmts = [f.strip() for f in formats.split(",") if f.strip()]
        bad = [f for f in fmts if f not in FORMATS]
        if bad:
            raise SpmConfigError(
                f"unknown output format(s) {bad}; choose from {', '.join(FORMATS)}"
            )
        with Display(quiet) as show:
            with show.step(f"loading {data}"):
                ds = load_dataset(data)
            _check_period(ds, period)
            if plan.is_dir():
                files = sorted([*plan.glob("*.yaml"), *plan.glob("*.yml")])
                if not files:
                    raise SpmConfigError(f"no plan files (*.yaml) in {plan}")
                if reps:
                    raise SpmConfigError("--reps needs a single --plan file")
                plans = [load_plan(f) for f in files]
                with show.step("crediting transactions"):
                    credits = credit_dataset(ds, plans)
                results = calculate_many(
                    plans, ds, period, credits=credits, ti_source=source, progress=show.bar
                )
                orphans = reps_without_a_plan(ds, plans, period)
                for pid, grp in orphans.groupby("plan_id", sort=True):
                    who = ", ".join(grp["rep_id"].head(10)) + (", ..." if len(grp) > 10 else "")
                    typer.secho(
                        f"warning: {len(grp)} rep(s) employed in {period} are on plan {pid!r}, "
                        f"which has no file in {plan}: not paid ({who})",
                        fg=typer.colors.YELLOW,
                        err=True,
                    )
                if not results:
                    first = min(p.effective_from for p in plans)
                    raise SpmConfigError(
                        f"no plan in {plan} has a rep employed in {period} (the plans take "
                        f"effect from {first})"
                    )
            else:
                one = load_plan(plan)
                with show.step("crediting transactions"):
                    credits = _company_credits(ds, one, plan)
                results = [
                    calculate(
                        one,
                        ds,
                        period,
                        credits=credits,
                        reps=_reps(reps),
                        ti_source=source,
                        progress=show.bar,
                    )
                ]
            ids = [res.plan.id for res in results]
            versions = [(res.plan.id, res.plan.version) for res in results]

            def folder(res: Any) -> str | None:
                """Two versions of one plan in the period: a folder each."""
                p = res.plan
                if ids.count(p.id) == 1:
                    return None
                if versions.count((p.id, p.version)) == 1:
                    return f"{p.id}_v{p.version}_{period}"
                return f"{p.id}_from_{p.effective_from}_{period}"

            with show.step(f"writing {', '.join(fmts)} to {out}"):
                targets = [res.write(out, fmts, folder=folder(res)) for res in results]
        covered: set[str] = set()
        warned: set[str] = set()
        for res, target in zip(results, targets, strict=True):
            s = res.summary
            covered |= set(s["rep_id"])
            typer.echo(
                f"{res.plan.id} {period}: {s['rep_id'].nunique()} reps, "
                f"earned {s['earned'].sum():,.2f}, "
                f"payable {s['payable'].sum():,.2f} {res.plan.currency} -> {target}"
            )
            for prob in res.inputs.problems:
                if str(prob) not in warned:  # a data problem several plans meet, once
                    warned.add(str(prob))
                    typer.secho(f"warning: {prob}", fg=typer.colors.YELLOW, err=True)
        if len(results) > 1:
            import pandas as pd

            from spm_model.data.io import atomic_write_text

            allsum = pd.concat([r.summary for r in results], ignore_index=True)
            atomic_write_text(
                Path(out) / f"summary_{period}.csv", allsum.to_csv(index=False, lineterminator="\n")
            )
            typer.echo(
                f"all plans: {len(covered)} reps, payable {allsum['payable'].sum():,.2f}; "
                f"combined summary in {Path(out) / f'summary_{period}.csv'}"
            )
        cons = results[0].credits if results else None
        if cons is not None and not cons.conserved:
            typer.secho(
                f"warning: {len(cons.violations)} transaction(s) not fully credited "
                f"(e.g. {', '.join(cons.violations['txn_id'].astype(str).head(5))})",
                fg=typer.colors.YELLOW,
                err=True,
            )

    @app.command()
    def explain(
        plan: Path = typer.Option(..., "--plan", help="Plan YAML file."),
        data: Path = typer.Option(..., "--data", help="Dataset folder or file."),
        rep: str = typer.Option(..., "--rep", help="Rep id."),
        period: str = typer.Option(..., "--period", help="Period label, e.g. 2025-Q3."),
        csv: Path | None = typer.Option(
            None, "--csv", help="Also write the credit rows behind the trace here."
        ),
        ti_source: str = ti_source_option(),
    ) -> None:
        """Print a trace of one rep's statement back to transactions and crediting rules."""
        from spm_model.calc import calculate

        source = _ti_source(ti_source)
        p, ds = _load(plan, data)
        _check_period(ds, period)
        res = calculate(
            p,
            ds,
            period,
            credits=_company_credits(ds, p, plan),
            reps=None if _is_member(p, ds, rep) else [rep],
            ti_source=source,
        )
        ex = res.explain(rep)
        typer.echo(ex.text)
        if csv is not None:
            from spm_model.data.io import atomic_write_text

            atomic_write_text(csv, ex.credits.to_csv(index=False, lineterminator="\n"))
            typer.echo(f"credit rows written to {csv}")

    @app.command()
    def replay(
        plan: Path = typer.Option(
            ...,
            "--plan",
            help="Plan YAML file (current plan or a new design), or a folder of plans "
            "(every plan over its members).",
        ),
        data: Path = typer.Option(..., "--data", help="Dataset folder or file (with payments)."),
        year: str | None = typer.Option(
            None, "--year", help="Fiscal year, e.g. 2025 (default: every closed year)."
        ),
        plans: Path | None = typer.Option(
            None,
            "--plans",
            help="Folder of the company's plans, for crediting as pay does (each rep's "
            "clawback window); default: the folder of --plan.",
        ),
        out: Path | None = typer.Option(
            None, "--out", help="Write reconciliation CSVs to this folder."
        ),
        reps: str | None = typer.Option(
            None, "--reps", help="Comma list of reps (default: reps on the plan)."
        ),
        tolerance: float = typer.Option(
            0.01, "--tolerance", help="Largest difference counted as a match."
        ),
        top: int = typer.Option(20, "--top", help="Payment errors to print."),
    ) -> None:
        """Replay plans over past years: what they would have paid versus what was paid.

        Differences that are only timing (a period's pay made in the next run, a
        leaver's final-pay run) are listed apart from payment errors, and each error
        is named by kind where the amounts show it (duplicate, flat, rate typo).
        """
        import pandas as pd

        from spm_model.calc.credit import credit_dataset
        from spm_model.calc.payroll import load_plan_set
        from spm_model.calc.replay import closed_years, dispute_summary, years_with_members
        from spm_model.calc.replay import replay as run_replay
        from spm_model.data import load_dataset
        from spm_model.errors import SpmConfigError
        from spm_model.plans import load_plan

        if not (tolerance >= 0 and tolerance < float("inf")):
            raise SpmConfigError(f"--tolerance must be a finite amount >= 0, got {tolerance}")
        ds = load_dataset(data)
        if year is not None:
            _check_period(ds, str(year), "--year")  # wholly outside the data: nothing to replay
        if plan.is_dir():
            if reps:
                raise SpmConfigError("--reps needs a single --plan file")
            chosen = list(load_plan_set(plan).values())
            company = load_plan_set(plans or plan)
        else:
            chosen = [load_plan(plan)]
            company = load_plan_set(plans) if plans is not None else _sibling_plans(plan)
        company.update({p.id: p for p in chosen})
        members = set(ds.reps["plan_id"].dropna().astype(object))
        if plan.is_dir():
            chosen = [p for p in chosen if p.id in members]
        credits = credit_dataset(ds, company)
        runs = []
        for p in chosen:
            years = [year] if year else closed_years(ds, p)
            if not years:
                raise SpmConfigError(
                    f"no closed fiscal year of plan {p.id!r} in {data}; pass --year"
                )
            if not reps and all(str(y).isdigit() for y in years):
                # a folder's plan, or a year, without anyone on the plan has nothing to replay
                staffed = years_with_members(ds, p, [int(y) for y in years])
                for y in years:
                    if int(y) not in staffed and plan.is_dir():
                        typer.echo(f"note: {p.id} FY{y}: no rep on the plan that year; skipped")
                if not staffed and not plan.is_dir():
                    raise SpmConfigError(
                        f"no rep on plan {p.id!r} is employed in FY{', FY'.join(map(str, years))}"
                    )
                years = [y for y in years if int(y) in staffed]
            for y in years:
                runs.append(
                    run_replay(p, ds, y, credits=credits, reps=_reps(reps), tolerance=tolerance)
                )
        all_errors = []
        if not runs:
            raise SpmConfigError(f"no plan in {plan} has a rep employed in the year(s) replayed")
        for res in runs:
            p, r = res.calc.plan, res.reconciliation
            d, t = res.discrepancies, res.timing
            n_due = int((r["status"] == "not_due").sum())
            typer.echo(
                f"{p.id} FY{res.calc.period}: {r['rep_id'].nunique()} reps, "
                f"would have paid {r['recomputed'].sum():,.2f}, "
                f"paid {r['paid'].sum():,.2f} {p.currency}; "
                f"{len(d)} payment errors, {len(t)} timing rows"
                + (f", {n_due} pay periods not due by the data's end (open year)" if n_due else "")
            )
            all_errors.append(d.assign(plan_id=p.id, year=res.calc.period))
        with pd.option_context("display.width", 160, "display.max_columns", 20):
            if len(runs) == 1:
                res = runs[0]
                typer.echo("\nBy status:")
                typer.echo(res.summary().to_string(index=False))
                typer.echo("\nBy period:")
                typer.echo(res.trends().to_string(index=False))
            timing = pd.concat([res.timing for res in runs], ignore_index=True)
            if len(timing):
                typer.echo(f"\n{len(timing)} timing rows (not errors):")
                typer.echo(
                    timing.head(top)[
                        ["rep_id", "period", "recomputed", "paid", "kind", "timing_amount"]
                    ].to_string(index=False)
                )
            d = pd.concat(all_errors, ignore_index=True)
            d = d.reindex(d["difference"].abs().sort_values(ascending=False).index)
            typer.echo(
                f"\n{len(d)} payment errors" + (f" (largest {min(top, len(d))}):" if len(d) else "")
            )
            if len(d):
                typer.echo(
                    d.head(top)[
                        [
                            "rep_id",
                            "period",
                            "recomputed",
                            "paid",
                            "difference",
                            "status",
                            "kind",
                            "payment_ids",
                        ]
                    ].to_string(index=False)
                )
        if out is not None:
            from spm_model.data.io import atomic_path

            for res in runs:
                p = res.calc.plan
                name = f"replay_{p.id}_{res.calc.period}"
                with atomic_path(out / name, is_dir=True) as tmp:
                    res.reconciliation.to_csv(
                        tmp / "reconciliation.csv", index=False, lineterminator="\n"
                    )
                    res.discrepancies.to_csv(
                        tmp / "discrepancies.csv", index=False, lineterminator="\n"
                    )
                    res.timing.to_csv(tmp / "timing.csv", index=False, lineterminator="\n")
                    res.by_rep().to_csv(tmp / "by_rep.csv", index=False, lineterminator="\n")
                    res.calc.summary.to_csv(
                        tmp / "statements_summary.csv", index=False, lineterminator="\n"
                    )
                    for k, v in dispute_summary(ds).items():
                        v.to_csv(tmp / f"disputes_{k}.csv", index=False, lineterminator="\n")
                typer.echo(f"reconciliation written to {out / name}")

    @app.command()
    def credit(
        data: Path = typer.Argument(..., help="Dataset folder or file."),
        out: Path | None = typer.Option(
            None, "--out", help="Write credits.csv and the reports here."
        ),
        freq: str = typer.Option("quarter", "--freq", help="Totals per month, quarter or year."),
    ) -> None:
        """Credit the transactions of a dataset and report conservation, splits and issues."""
        from spm_model.crediting import credit_transactions
        from spm_model.data import load_dataset
        from spm_model.errors import SpmConfigError

        if freq not in ("month", "quarter", "year"):
            raise SpmConfigError(f"--freq must be month, quarter or year, got {freq!r}")
        ds = load_dataset(data)
        res = credit_transactions(ds)
        typer.echo(repr(res))
        typer.echo(res.summary().to_string(index=False))
        if len(res.violations):
            typer.secho(f"{len(res.violations)} conservation violation(s):", fg=typer.colors.YELLOW)
            typer.echo(res.violations.head(20).to_string(index=False))
        if out is not None:
            from spm_model.data.io import atomic_path

            with atomic_path(out, is_dir=True) as tmp:
                res.credits.to_csv(tmp / "credits.csv", index=False, lineterminator="\n")
                totals = res.totals(freq, "all", by=("rep_id", "period", "measure", "rule"))  # type: ignore[arg-type]
                totals.to_csv(tmp / f"totals_{freq}.csv", index=False, lineterminator="\n")
                res.conservation.to_csv(tmp / "conservation.csv", index=False, lineterminator="\n")
                res.split_report.to_csv(tmp / "split_report.csv", index=False, lineterminator="\n")
                res.issues.to_csv(tmp / "issues.csv", index=False, lineterminator="\n")
            typer.echo(f"credits written to {out}")
        if not res.conserved:  # the reports are written; a run that checks the exit code stops
            typer.secho(
                f"error: crediting does not conserve the transactions ({len(res.violations)} "
                "unexplained; see above): fix the splits or exceptions before paying on it",
                fg=typer.colors.RED,
                err=True,
            )
            raise typer.Exit(1)


def _company_credits(ds, plan, path: Path):
    """Credit the company as pay does: each rep's clawback window from their own plan.

    The plans are the ones beside ``path`` (a template folder), with ``plan`` itself;
    so one plan's statements equal those of ``spm calc --plan FOLDER`` (a manager's
    roll-up follows each seller's own window).
    """
    from spm_model.calc import credit_dataset

    company = _sibling_plans(path)
    company[plan.id] = plan
    return credit_dataset(ds, company)


def _sibling_plans(path: Path) -> dict:
    """Plans in the folder of ``path`` by id (files that are not plans are skipped)."""
    from spm_model.errors import SpmError
    from spm_model.plans import load_plan

    out = {}
    for f in sorted([*path.parent.glob("*.yaml"), *path.parent.glob("*.yml")]):
        try:
            p = load_plan(f)
        except (SpmError, ValueError, OSError):
            continue
        out[p.id] = p
    return out


def _is_member(plan, ds, rep: str) -> bool:
    from spm_model.errors import SpmConfigError

    r = ds.reps
    ids = set(r["rep_id"].astype(object))
    if rep not in ids:
        raise SpmConfigError(f"unknown rep {rep!r} in {ds.source}")
    if "plan_assignments" in ds.tables and len(ds["plan_assignments"]):
        pa = ds["plan_assignments"]
        return bool(
            ((pa["rep_id"].astype(object) == rep) & (pa["plan_id"].astype(object) == plan.id)).any()
        )
    return bool(
        ((r["rep_id"].astype(object) == rep) & (r["plan_id"].astype(object) == plan.id)).any()
    )


def _check_period(ds: Any, period: str, option: str = "--period") -> None:
    """Stop on a period wholly outside the data (a label that does not parse is left to the run)."""
    from spm_model.data import parse_period

    try:
        span = parse_period(period, ds.meta.fy_start_month)
    except ValueError:
        return
    ds.check_covers(span.start, span.end, f"{option} {period}")
