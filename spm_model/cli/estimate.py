"""``spm estimate``: a rep's exact pay as of a date, with what-if deals and attainment."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the estimate command to ``app``."""

    @app.command()
    def estimate(
        plan: Path = typer.Option(
            ...,
            "--plan",
            help="Plan YAML file, or a folder of plans (the rep's own plan is used).",
        ),
        data: Path = typer.Option(..., "--data", help="Dataset folder or file."),
        rep: str = typer.Option(..., "--rep", help="Rep id."),
        as_of: str | None = typer.Option(
            None, "--as-of", help="Date whose credit counts (default: the data's end date)."
        ),
        deal: list[str] = typer.Option(
            [],
            "--deal",
            help="A deal the rep might close: AMOUNT or AMOUNT:measure (repeatable).",
        ),
        attainment: list[float] = typer.Option(
            [],
            "--attainment",
            help="Attainment scenario as a fraction of quota (repeatable; default 1.0 and 1.2).",
        ),
        period: str | None = typer.Option(
            None,
            "--period",
            help="Statement period (default: the plan's measurement period containing the date).",
        ),
        explain: bool = typer.Option(False, "--explain", help="Print the explain trace too."),
    ) -> None:
        """Pay as of a date (exact, as the statement will pay it), what-if deals and at X% quota."""
        import datetime as dt

        from spm_model.calc import credit_dataset
        from spm_model.calc.asof import WhatIfDeal
        from spm_model.calc.asof import estimate as run_estimate
        from spm_model.data import load_dataset
        from spm_model.errors import SpmConfigError
        from spm_model.plans import load_plan

        ds = load_dataset(data)
        reps = ds.reps.set_index(ds.reps["rep_id"].astype(object))
        if rep not in reps.index:
            raise SpmConfigError(f"--rep: unknown rep {rep!r} in {data}")
        if plan.is_dir():
            files = sorted([*plan.glob("*.yaml"), *plan.glob("*.yml")])
            if not files:
                raise SpmConfigError(f"--plan: no plan files (*.yaml) in folder {plan}")
            plans = {p.id: p for p in (load_plan(f) for f in files)}
            pid = reps.at[rep, "plan_id"] if "plan_id" in reps else None
            if pid not in plans:
                raise SpmConfigError(
                    f"--plan: rep {rep} is on plan {pid!r}, which is not in {plan} "
                    f"(plans there: {', '.join(plans)})"
                )
            p = plans[pid]
            credits = credit_dataset(ds, plans)
        else:
            from spm_model.cli.calc import _company_credits

            p = load_plan(plan)
            credits = _company_credits(ds, p, plan)
        deals = [WhatIfDeal.parse(d) for d in deal]
        atts = attainment or [1.0, 1.2]
        bad = [a for a in atts if not 0 <= a <= 10]
        if bad:
            raise SpmConfigError(
                f"--attainment {bad[0]:g}: a fraction of quota (1.2 = 120%), between 0 and 10"
            )
        day = as_of or str(ds.as_of)
        try:
            when = dt.date.fromisoformat(day)
        except ValueError:
            # 03/04/2025 is 3 April or 4 March depending on who wrote it: never guessed
            raise SpmConfigError(
                f"--as-of {day!r}: write the date as YYYY-MM-DD (e.g. 2025-04-03)"
            ) from None
        ds.check_covers(when, when, f"--as-of {day}")
        est = run_estimate(
            p, ds, rep, day, deals=deals, attainments=atts, period=period, credits=credits
        )
        typer.echo(est.summary())
        if explain:
            typer.echo("")
            typer.echo(est.explain().text)
