"""``spm simulate``: Monte Carlo comp cost of one or more plans on a dataset."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the simulate command to ``app``."""

    @app.command()
    def simulate(
        plan: list[Path] = typer.Option(..., "--plan", help="Plan YAML (repeat to compare plans)."),
        data: Path = typer.Option(..., "--data", help="Dataset folder, .xlsx or .duckdb."),
        scenarios: int = typer.Option(10_000, "--scenarios", help="Number of scenarios."),
        seed: int = typer.Option(..., "--seed", help="Random seed (same seed, same numbers)."),
        budget: float | None = typer.Option(None, "--budget", help="Incentive budget (currency)."),
        out: Path | None = typer.Option(
            None, "--out", help="Folder for JSON/CSV summary and plots."
        ),
        horizon: str | None = typer.Option(None, help="Fiscal year to simulate (default: last)."),
        family: str = typer.Option("lognormal", help="lognormal, normal, gamma or empirical."),
        chunk_size: int = typer.Option(10_000, help="Scenarios per chunk."),
        tol: float | None = typer.Option(None, help="Run until relative MCSE of mean cost <= tol."),
        scheduler: str | None = typer.Option(None, help="Dask scheduler address (else local)."),
        plots: bool = typer.Option(True, help="Write PNG plots with --out."),
    ) -> None:
        """Simulate what the plan(s) will cost for the reps of the first plan, and the risk."""
        from spm_model.data import load_dataset
        from spm_model.plans import load_plan
        from spm_model.simulate import from_dataset
        from spm_model.simulate import simulate as run

        plans = [load_plan(p) for p in plan]
        ds = load_dataset(data)
        model = from_dataset(ds, plans[0], horizon=horizon, family=family)
        res = run(
            model,
            plans,
            scenarios,
            seed=seed,
            budget=budget,
            chunk_size=chunk_size,
            tol=tol,
            backend="dask" if scheduler else "local",
            scheduler=scheduler,
            progress=False,
        )
        typer.echo(res.text())
        if out is not None:
            paths = res.write(out, plots=plots)
            typer.echo(f"written: {', '.join(str(p) for p in paths)}")
