"""``spm simulate``: Monte Carlo comp cost of one or more plans on a dataset.

The model is built exactly as the notebooks, the end-to-end report and the
widgets build it: the dataset is credited once with
:func:`spm_model.calc.credit_dataset` and the scenario model is fitted on that
crediting by :func:`spm_model.simulate.from_dataset`, so the same plan, data and
seed print the same figures everywhere.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from spm_model.cli.progress import Display, quiet_option

if TYPE_CHECKING:
    import pandas as pd

    from spm_model.plans import Plan


def _check_budget(value: float | None) -> float | None:
    """Reject a budget that is not a positive, finite amount (currency)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"must be a positive, finite amount, got {value!r}")
    return value


def _check_horizon(value: str | None) -> str | None:
    """Reject a horizon that is not a fiscal year or period label such as ``2027``."""
    if value is None:
        return None
    from spm_model.data import parse_period

    try:
        parse_period(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a fiscal year (e.g. 2027) or period label (e.g. 2027-Q1)"
        ) from None
    return value.strip()


def read_quotas(path: Path) -> pd.DataFrame:
    """Read a quotas table from a CSV or Parquet file (what ``spm quota --out`` writes)."""
    import pandas as pd

    from spm_model.errors import SpmDataError

    if not path.is_file():
        raise SpmDataError(f"--quotas {path}: file not found")
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype={"rep_id": str, "period": str, "measure": str})
    except (ValueError, OSError) as exc:  # parser and Arrow errors
        raise SpmDataError(
            f"--quotas {path}: not a readable CSV or Parquet table ({exc})"
        ) from None


def _company_plans(plans: list[Plan], default_dir: Path, plan_dir: Path | None) -> dict[str, Plan]:
    """Plans to credit the company with: ``plan_dir`` (or ``default_dir``) plus the first plan.

    Every ``*.yaml``/``*.yml`` file of the folder is loaded; in the default folder a
    file that is not a plan is skipped, in an explicit ``--plan-dir`` it is an error.
    The first ``--plan`` (the one simulated reps are on) wins over a file of the same
    id; further ``--plan`` files are alternatives to compare, not the company's plans.
    """
    from spm_model.errors import SpmError
    from spm_model.plans import load_plan

    folder = plan_dir if plan_dir is not None else default_dir
    out: dict[str, Plan] = {}
    for f in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        try:
            p = load_plan(f)
        except SpmError:
            if plan_dir is not None:
                raise
            continue
        out[p.id] = p
    out[plans[0].id] = plans[0]
    return out


def register(app: typer.Typer) -> None:
    """Add the simulate command to ``app``."""

    @app.command()
    def simulate(
        plan: list[Path] = typer.Option(..., "--plan", help="Plan YAML (repeat to compare plans)."),
        data: Path = typer.Option(..., "--data", help="Dataset folder, .xlsx or .duckdb."),
        scenarios: int = typer.Option(10_000, "--scenarios", help="Number of scenarios."),
        seed: int = typer.Option(..., "--seed", help="Random seed (same seed, same numbers)."),
        budget: float | None = typer.Option(
            None,
            "--budget",
            callback=_check_budget,
            help="Incentive budget for the horizon (currency; positive).",
        ),
        out: Path | None = typer.Option(
            None, "--out", help="Folder for JSON/CSV summary and plots."
        ),
        horizon: str | None = typer.Option(
            None,
            callback=_check_horizon,
            help="Fiscal year to simulate, e.g. 2027 (default: the last year with quotas).",
        ),
        quotas: Path | None = typer.Option(
            None,
            "--quotas",
            help="Quotas table (CSV/Parquet, e.g. from `spm quota --out`) replacing the "
            "dataset's quotas for the years it covers: the cost at proposed quotas. Without "
            "--horizon its last year is simulated.",
        ),
        sales_growth: float | None = typer.Option(
            None,
            "--sales-growth",
            help="With --quotas for a year the dataset has no quotas for: annual growth of "
            "sales from the previous year's quota level, a fraction (0.08 = +8%; 0 keeps "
            "that level). Default: learnt as `spm quota` learns it.",
        ),
        family: str = typer.Option("lognormal", help="lognormal, normal, gamma or empirical."),
        plan_dir: Path | None = typer.Option(
            None,
            "--plan-dir",
            help="Folder of the company's plan YAML files: the dataset is credited once with "
            "every rep's own plan (its clawback window), as statements and the end-to-end "
            "report do (default: the folder of the first --plan).",
        ),
        sensitivity: bool = typer.Option(
            False,
            "--sensitivity",
            help="Also print the tornado of the first plan's mean cost (written to "
            "sensitivity.csv with --out).",
        ),
        sensitivity_scenarios: int = typer.Option(
            2_000, help="Scenarios per run of the tornado (same seed in every run)."
        ),
        chunk_size: int = typer.Option(10_000, help="Scenarios per chunk."),
        tol: float | None = typer.Option(None, help="Run until relative MCSE of mean cost <= tol."),
        scheduler: str | None = typer.Option(None, help="Dask scheduler address (else local)."),
        plots: bool = typer.Option(True, help="Write PNG plots with --out."),
        quiet: bool = quiet_option(),
    ) -> None:
        """Simulate what the plan(s) will cost for the reps of the first plan, and the risk."""
        from spm_model.calc import credit_dataset
        from spm_model.data import load_dataset
        from spm_model.plans import load_plan
        from spm_model.simulate import from_dataset, with_quotas
        from spm_model.simulate import sensitivity as tornado
        from spm_model.simulate import simulate as run

        if sales_growth is not None and quotas is None:
            from spm_model.errors import SpmConfigError

            raise SpmConfigError(
                "--sales-growth needs --quotas: it grows sales from the previous year's quota "
                "level to a proposal's year (without --quotas sales follow the dataset's quotas)"
            )
        with Display(quiet) as show:
            plans = [load_plan(p) for p in plan]
            with show.step(f"loading {data}"):
                ds = load_dataset(data)
            proposal = None
            if quotas is not None:
                proposal = read_quotas(quotas)
                with_quotas(ds, proposal, source=str(quotas))  # every problem, by file row
            with show.step("crediting transactions"):
                credits = credit_dataset(ds, _company_plans(plans, plan[0].parent, plan_dir))
            with show.step("fitting the scenario model to the history"):
                model = from_dataset(
                    ds,
                    plans[0],
                    horizon=horizon,
                    family=family,
                    credits=credits,
                    quotas=proposal,
                    sales_growth=sales_growth,
                )
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
                progress=show.bar,
            )
            table = None
            if sensitivity:
                with show.step(f"sensitivity of {plans[0].id} ({sensitivity_scenarios:,} per run)"):
                    table = tornado(model, plans[0], seed=seed, n_scenarios=sensitivity_scenarios)
        typer.echo(res.text())
        projected = model.info.get("quota_projected") or []
        if projected:
            typer.echo(
                f"\nnote: quotas of some reps for {', '.join(projected)} projected from the "
                "same period of the previous fiscal year (not in the quotas table)"
            )
        growth = model.info.get("sales_growth") or {}
        if growth:
            rates = ", ".join(f"{m} {g:+.1%}" for m, g in growth.items())
            typer.echo(
                f"\nnote: sales in {model.info['fiscal_year']} are drawn at the previous year's "
                f"quota level grown a year ({rates}; {model.info['sales_growth_source']}; "
                "--sales-growth to set)"
            )
        if table is not None:
            typer.echo(
                f"\nSensitivity of {plans[0].id} mean cost "
                f"({sensitivity_scenarios:,} scenarios per run, seed {seed}):"
            )
            typer.echo(table.to_string(index=False, float_format=lambda x: f"{x:,.2f}"))
        if out is not None:
            paths = res.write(out, plots=plots)
            if table is not None:
                from spm_model.data.io import atomic_write_text

                paths.append(
                    atomic_write_text(
                        out / "sensitivity.csv", table.to_csv(index=False, lineterminator="\n")
                    )
                )
            typer.echo(f"written: {', '.join(str(p) for p in paths)}")
