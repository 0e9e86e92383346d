"""``spm territory``: rebalance a dataset's territories and write the new assignments."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the territory command to ``app``."""

    @app.command()
    def territory(
        data: Path = typer.Option(
            ..., "--data", help="Dataset: folder of CSV/Parquet, .xlsx or .duckdb."
        ),
        out: Path = typer.Option(
            ..., "--out", help="Where to write the new assignments table (CSV, canonical schema)."
        ),
        tolerance: float = typer.Option(
            0.05, help="Allowed deviation from each rep's capacity-weighted target (0.05 = +/-5%)."
        ),
        max_moved: float | None = typer.Option(
            None,
            "--max-moved",
            help="Disruption budget: largest share of accounts that may move (0.15 = 15%).",
        ),
        adjacency: str | None = typer.Option(
            None, help="Account adjacency for contiguity: CSV with unit_a,unit_b or 'delaunay'."
        ),
        scope: str = typer.Option(
            "region", help="'region': balance within each region; 'all': company-wide."
        ),
        measures: str = typer.Option(
            "potential,workload", help="Comma-separated account columns to balance."
        ),
        moved_basis: str = typer.Option(
            "accounts", help="Budget counts 'accounts' or 'potential'."
        ),
        as_of: str | None = typer.Option(
            None, help="Date of the current alignment (default: the data's end date)."
        ),
        effective_date: str | None = typer.Option(
            None, help="First day of the new alignment (default: the day after --as-of)."
        ),
        method: str = typer.Option("auto", help="auto, mip or heuristic."),
        time_limit: float = typer.Option(
            60.0, help="Seconds per region (or for the whole company)."
        ),
        seed: int = typer.Option(0, help="Seed of the randomised search steps."),
        plot: Path | None = typer.Option(None, help="Also save a before/after map (PNG) here."),
    ) -> None:
        """Rebalance territories: balanced potential and workload, short travel, few moves.

        Prints before/after metrics per region and company-wide, writes the new
        assignments table to --out (old owner rows closed the day before the
        effective date) plus <out>_changes.csv and <out>_metrics.csv beside it.
        """
        import pandas as pd

        from spm_model.data import load_dataset
        from spm_model.data.io import atomic_write_text
        from spm_model.errors import SpmConfigError, SpmDataError
        from spm_model.territory import solve_dataset

        if scope not in ("region", "all"):
            raise SpmConfigError(f"--scope must be 'region' or 'all', got {scope!r}")
        if method not in ("auto", "mip", "heuristic"):
            raise SpmConfigError(f"--method must be auto, mip or heuristic, got {method!r}")
        ds = load_dataset(data)
        adj: pd.DataFrame | str | None = None
        if adjacency is not None:
            if adjacency == "delaunay":
                adj = "delaunay"
            else:
                path = Path(adjacency)
                if not path.exists():
                    raise SpmConfigError(f"--adjacency: file {path} not found")
                adj_df = pd.read_csv(path, dtype=str)
                missing = [c for c in ("unit_a", "unit_b") if c not in adj_df.columns]
                if missing:
                    raise SpmDataError(
                        f"{path}: adjacency needs columns unit_a and unit_b, missing {missing}"
                    )
                adj = adj_df
        res = solve_dataset(
            ds,
            scope=scope,  # type: ignore[arg-type]
            as_of=as_of,
            method=method,  # type: ignore[arg-type]
            time_limit=time_limit,
            seed=seed,
            tolerance=tolerance,
            max_moved=max_moved,
            measures=tuple(m.strip() for m in measures.split(",") if m.strip()),
            moved_basis=moved_basis,
            adjacency=adj,
        )
        table = res.assignments(ds, effective_date)
        eff = pd.Timestamp(effective_date) if effective_date else res.as_of + pd.Timedelta(days=1)
        out.parent.mkdir(parents=True, exist_ok=True)
        t = table.copy()
        for c in ("start_date", "end_date"):
            t[c] = t[c].dt.strftime("%Y-%m-%d")
        atomic_write_text(out, t.to_csv(index=False))
        changes = res.changes()
        atomic_write_text(out.with_name(out.stem + "_changes.csv"), changes.to_csv(index=False))
        metrics = res.metrics()
        per_scope = res.summary_table()
        atomic_write_text(out.with_name(out.stem + "_metrics.csv"), metrics.to_csv())
        pd.set_option("display.width", 200)
        typer.echo(
            f"Rebalanced {ds.meta.name}: alignment as of {res.as_of.date()}, scope {scope}, "
            f"tolerance +/-{tolerance:.1%}"
            + (f", at most {max_moved:.0%} of {moved_basis} moved" if max_moved is not None else "")
        )
        typer.echo("")
        typer.echo("Per scope (max deviation from target %, before -> after):")
        for _, r in per_scope.iterrows():
            parts = [
                f"{k} {r[f'{k}_max_dev_pct_before']:6.1f} -> {r[f'{k}_max_dev_pct_after']:4.1f}"
                for k in res.results[r["scope"]].compiled.measures
            ]
            typer.echo(
                f"  {r['scope']:<12} {r['reps']:>3} reps {r['accounts']:>6} accounts  "
                + "  ".join(parts)
                + f"  moved {r['accounts_moved_pct']:4.1f}% accounts"
                + f" ({r['potential_moved_pct']:4.1f}% potential)"
                + f"  mean km {r['mean_km_before']:5.0f} -> {r['mean_km_after']:5.0f}"
                + f"  gap {r['gap']:.2%}"
            )
        if "potential_per_fte" in per_scope and len(per_scope) > 1:
            ppf = per_scope.set_index("scope")["potential_per_fte"]
            typer.echo(
                "  potential per FTE by region: "
                + ", ".join(f"{k} {v:,.0f}" for k, v in ppf.items())
                + f" (max/min {ppf.max() / ppf.min():.2f}; a headcount question,"
                + " not rebalanced across regions)"
            )
        typer.echo("")
        typer.echo("Company-wide before/after (deviations against each scope's own target):")
        typer.echo(metrics.to_string(float_format=lambda v: f"{v:,.3f}"))
        typer.echo("")
        typer.echo(
            f"{len(changes)} accounts change owner from {eff.date()}; assignments written to {out} "
            f"(+ {out.stem}_changes.csv, {out.stem}_metrics.csv)"
        )
        if plot is not None:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            from spm_model.territory.plot import plot_alignment

            n = len(res.results)
            fig, axes = plt.subplots(n, 2, figsize=(13, 5 * n), squeeze=False)
            for i, (name, r) in enumerate(res.results.items()):
                comp = r.compiled
                cur = comp.current0.copy()
                cur[cur < 0] = r.assign[cur < 0]
                plot_alignment(comp, cur, ax=axes[i, 0], title=f"{name}: before", show_moved=False)
                plot_alignment(comp, r.assign, ax=axes[i, 1], title=f"{name}: after")
            fig.tight_layout()
            plot.parent.mkdir(parents=True, exist_ok=True)
            tmp = plot.with_name(plot.stem + ".tmp" + plot.suffix)
            fig.savefig(tmp, dpi=90)
            tmp.replace(plot)
            plt.close(fig)
            typer.echo(f"map written to {plot}")
