"""``spm validate`` and ``spm generate``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer

if TYPE_CHECKING:
    import pandas as pd


class OutputFormat(StrEnum):
    """Dataset formats ``spm generate`` can write."""

    csv = "csv"
    parquet = "parquet"
    duckdb = "duckdb"
    xlsx = "xlsx"


def _markdown_table(df: pd.DataFrame) -> str:
    """Render a small frame as a GitHub Markdown table (no optional dependency)."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = ["" if v is None or v != v else str(v) for v in row]  # v != v: NaN
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def register(app: typer.Typer) -> None:
    """Add the data commands to ``app``."""

    @app.command()
    def validate(
        source: Path = typer.Argument(..., help="Folder of CSV/Parquet, .xlsx or .duckdb file."),
        summary_out: Path | None = typer.Option(
            None, help="Also write the per-table summary here (.md for Markdown, else CSV)."
        ),
    ) -> None:
        """Validate a dataset: per-table summary on success, every problem and exit 1 on failure."""
        from spm_model.data import load_dataset
        from spm_model.data.io import atomic_write_text

        ds = load_dataset(source)
        summary = ds.summary()
        typer.echo(f"{source}: valid ({ds.meta.name}, currency {ds.meta.currency})")
        typer.echo(summary.to_string(index=False))
        if summary_out is not None:
            text = (
                _markdown_table(summary)
                if summary_out.suffix.lower() == ".md"
                else summary.to_csv(index=False, lineterminator="\n")
            )
            atomic_write_text(summary_out, text)
            typer.echo(f"summary written to {summary_out}")

    @app.command()
    def generate(
        out: Path = typer.Argument(..., help="Output folder (csv/parquet) or .duckdb/.xlsx file."),
        reps: int = typer.Option(60, "--reps", min=12, help="People in the sales organisation."),
        accounts: int = typer.Option(3000, "--accounts", min=50, help="Number of accounts."),
        years: int = typer.Option(3, "--years", min=1, max=20, help="Years of history."),
        seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same bytes)."),
        format: OutputFormat | None = typer.Option(
            None, "--format", help="Output format; inferred from OUT's suffix when omitted."
        ),
        validate: bool = typer.Option(
            True, "--validate/--no-validate", help="Validate the generated data before saving."
        ),
        plans: Path | None = typer.Option(
            None,
            "--plans",
            help="Folder of plan YAMLs the reps are paid on (by reps.plan_id); "
            "default: the templates shipped with spm_model (= templates/plans).",
        ),
    ) -> None:
        """Generate a synthetic sales organisation, pay it with its plans and save it (atomically).

        Payments are the exact statements' payable per rep and closed pay period,
        with planted timing (late payments, final-pay runs) and payment errors
        recorded in truth_payment_timing and truth_payment_errors.
        """
        import time

        from spm_model.calc.payroll import generate_company
        from spm_model.data.dataset import Format
        from spm_model.data.io import FORMAT_SUFFIX, infer_format
        from spm_model.errors import SpmDataError

        fmt = cast(Format, format.value) if format is not None else infer_format(out)
        if fmt in FORMAT_SUFFIX and not out.suffix:
            out = out.with_suffix(FORMAT_SUFFIX[fmt])  # so every tool knows it by its name too
        t0 = time.perf_counter()
        ds = generate_company(n_reps=reps, n_accounts=accounts, years=years, seed=seed, plans=plans)
        t1 = time.perf_counter()
        if validate:
            problems = ds.validate()
            if problems:
                raise SpmDataError(problems)
        t2 = time.perf_counter()
        ds.save(out, fmt)
        t3 = time.perf_counter()
        sizes = ", ".join(f"{name} {len(df):,}" for name, df in ds.tables.items() if len(df))
        typer.echo(f"wrote {out} ({fmt}): {sizes}")
        typer.echo(
            f"generate {t1 - t0:.1f} s"
            + (f", validate {t2 - t1:.1f} s" if validate else "")
            + f", save {t3 - t2:.1f} s"
        )

    @app.command("import")
    def import_(
        export: Path = typer.Argument(..., help="CRM or spreadsheet export (.csv or .xlsx)."),
        mapping: Path = typer.Option(
            ...,
            "--mapping",
            help="Column-mapping YAML (table, columns, values, scale, constants, date_format); "
            "example: templates/data/crm_opportunities_mapping.yaml.",
        ),
        out: Path = typer.Option(
            ..., "--out", help="Dataset folder (writes <table>.csv there) or a .csv path."
        ),
        sheet: str | None = typer.Option(None, "--sheet", help="Sheet of an .xlsx export."),
        replace: bool = typer.Option(
            False, "--replace", help="Overwrite the table's CSV if it exists."
        ),
        append: bool = typer.Option(
            False,
            "--append",
            help="Add the rows after the table's existing ones (rows already there refused).",
        ),
    ) -> None:
        """Import an export into one canonical table through a column mapping (see the data guide).

        The result is checked against the table's schema; run `spm validate` on the
        folder once every table is in.
        """
        from spm_model.data.import_map import import_export

        if replace and append:
            from spm_model.errors import SpmConfigError

            raise SpmConfigError("--replace and --append: choose one")
        mode = "replace" if replace else "append" if append else "new"
        path, table = import_export(export, mapping, out, sheet=sheet, mode=mode)
        typer.echo(f"{export}: {len(table):,} rows written to {path}")
