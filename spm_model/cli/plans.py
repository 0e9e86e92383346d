"""``spm check-plan``: validate plan files and summarise them."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the plan commands to ``app``."""

    @app.command("check-plan")
    def check_plan(
        plans: list[Path] = typer.Argument(..., help="One or more plan YAML files."),
        attainments: str = typer.Option(
            "0,0.5,0.8,1,1.2,1.5,2",
            help="Attainment levels (fractions, 1 = 100%) for the payout table.",
        ),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="Only say valid/invalid."),
    ) -> None:
        """Validate plan files.

        Valid: a summary and a payout table. Invalid: every problem with its YAML line, exit 1.
        """
        from spm_model.errors import SpmConfigError
        from spm_model.plans import PlanError, load_plan
        from spm_model.plans.summary import plan_summary

        try:
            levels = [float(x) for x in attainments.split(",") if x.strip()]
        except ValueError:
            raise SpmConfigError(
                f"--attainments must be comma-separated numbers, got {attainments!r}"
            ) from None
        failed = 0
        for i, path in enumerate(plans):
            if i:
                typer.echo("")
            try:
                plan = load_plan(path)
            except PlanError as err:
                failed += 1
                typer.secho(f"{path}: INVALID ({len(err.problems)} problem(s))", fg="red", err=True)
                for p in err.problems:
                    typer.echo(f"  - {p}", err=True)
                continue
            typer.secho(f"{path}: valid", fg="green")
            if not quiet:
                typer.echo(plan_summary(plan, levels))
        if failed:
            raise typer.Exit(1)
