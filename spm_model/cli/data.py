"""``spm validate`` and ``spm generate``."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the data commands to ``app``."""

    @app.command()
    def validate(
        source: Path = typer.Argument(..., help="Folder of CSV/Parquet, .xlsx or .duckdb file."),
        summary_out: Path | None = typer.Option(None, help="Also write the per-table summary (CSV/Markdown) here."),
    ) -> None:
        """Validate a dataset: a per-table summary on success, every problem and exit 1 on failure."""
        from spm_model.data import load_dataset

        ds = load_dataset(source)
        summary = ds.summary()
        typer.echo(f"{source}: valid ({ds.meta.name}, currency {ds.meta.currency})")
        typer.echo(summary.to_string(index=False))
        if summary_out is not None:
            from spm_model.data.io import atomic_write_text

            summary_out.parent.mkdir(parents=True, exist_ok=True)
            if summary_out.suffix == ".md":
                atomic_write_text(summary_out, summary.to_markdown(index=False) if hasattr(summary, "to_markdown") else summary.to_string())
            else:
                atomic_write_text(summary_out, summary.to_csv(index=False))
            typer.echo(f"summary written to {summary_out}")
