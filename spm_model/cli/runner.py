"""``spm run``, ``spm params`` and ``spm batch``: parameterised notebooks from the shell."""

from __future__ import annotations

from pathlib import Path

import typer

from spm_model.cli.progress import Display, quiet_option


def _parameter_pairs(args: list[str]) -> list[tuple[str, str]]:
    """Pairs from ``-p NAME VALUE`` / ``--parameter NAME VALUE`` in the extra arguments."""
    from spm_model.errors import SpmConfigError

    pairs: list[tuple[str, str]] = []
    i = 0
    while i < len(args):
        if args[i] in ("-p", "--parameter"):
            if i + 2 >= len(args):
                raise SpmConfigError(f"{args[i]} needs a NAME and a VALUE: -p NAME VALUE")
            pairs.append((args[i + 1], args[i + 2]))
            i += 3
        else:
            raise SpmConfigError(
                f"unexpected argument {args[i]!r} (parameters are given as -p NAME VALUE)"
            )
    return pairs


def _show_progress(progress: bool | None, quiet: bool) -> bool:
    """Progress on when asked, off when quiet, else when stderr is a terminal."""
    if quiet:
        return False
    if progress is not None:
        return progress
    import sys

    return sys.stderr.isatty()


def register(app: typer.Typer) -> None:
    """Add the notebook runner commands to ``app``."""

    @app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def run_cmd(
        ctx: typer.Context,
        notebook: Path = typer.Argument(..., help="The parameterised notebook (.ipynb)."),
        parameters_file: Path | None = typer.Option(
            None, "-f", "--parameters-file", help="YAML mapping of parameters (-p wins)."
        ),
        out: Path = typer.Option(Path("reports"), "--out", "-o", help="Output folder."),
        name: str | None = typer.Option(
            None, help="File stem of the outputs (default: notebook stem)."
        ),
        html: bool = typer.Option(True, "--html/--no-html", help="Render the HTML report."),
        show_code: bool = typer.Option(False, help="Show code cells in the HTML report."),
        timeout: float = typer.Option(
            600.0,
            "--cell-timeout",
            "--timeout",
            min=0,
            help="Seconds a cell may run before the run fails naming it (0: no limit).",
        ),
        progress: bool | None = typer.Option(
            None,
            "--progress/--no-progress",
            help="Per-cell progress bar (default: when stderr is a terminal).",
        ),
        quiet: bool = quiet_option(),
    ) -> None:
        """Execute a notebook with checked parameters and render its HTML report (code hidden).

        Give parameters as -p NAME VALUE (repeatable; values are read as YAML,
        so 7, 0.5, true and lists work), e.g.
        spm run notebooks/01_data_overview.ipynb -p data_path data/sample -p quick true.
        Names and types are checked against the notebook's parameters cell
        (spm params NOTEBOOK lists them) before the kernel starts.
        """
        from spm_model.data.io import read_yaml_mapping
        from spm_model.runner import parse_cli_value, run_notebook

        params: dict = {}
        if parameters_file is not None:
            params.update(read_yaml_mapping(parameters_file, "parameters file"))
        for key, value in _parameter_pairs(ctx.args):
            params[key] = parse_cli_value(value)
        result = run_notebook(
            notebook, out, params, name=name, html=html, show_code=show_code,
            timeout=timeout, progress_bar=_show_progress(progress, quiet),
        )  # fmt: skip
        typer.echo(f"executed notebook: {result.files['notebook']}")
        if "html" in result.files:
            typer.echo(f"report: {result.files['html']}")
        if result.figures:
            typer.echo(f"figures ({result.files['figures']}):")
            for k, v in result.figures.items():
                typer.echo(f"  {k} = {v}")
        typer.echo(f"done in {result.seconds:.1f} s")

    @app.command("params")
    def params_cmd(
        notebook: Path = typer.Argument(..., help="The parameterised notebook (.ipynb)."),
    ) -> None:
        """List a notebook's declared parameters with their types and defaults."""
        from spm_model.runner import notebook_parameters

        specs = notebook_parameters(notebook)
        if not specs:
            typer.echo(f"{notebook}: no cell tagged 'parameters'")
        for s in specs.values():
            help_ = f"  # {s.help}" if s.help else ""
            typer.echo(f"{s.name}: {s.type_name} = {s.default_text}{help_}")

    @app.command("batch")
    def batch_cmd(
        batch_file: Path = typer.Argument(..., help="Batch definition (YAML)."),
        resume: bool = typer.Option(False, help="Skip runs already completed."),
        dask: str | None = typer.Option(
            None, "--dask", help="Dask scheduler address (or 'local' for a local cluster)."
        ),
        workers: int | None = typer.Option(None, min=1, help="Parallel runs (local processes)."),
        out: Path | None = typer.Option(
            None, "--out", "-o", help="Output folder (overrides 'out')."
        ),
        progress: bool | None = typer.Option(
            None,
            "--progress/--no-progress",
            help="Progress bar over runs (default: when stderr is a terminal).",
        ),
        quiet: bool = quiet_option(),
        timeout: float | None = typer.Option(
            None,
            "--cell-timeout",
            min=0,
            help="Seconds a cell may run before its run fails (default: the batch file's "
            "'timeout', else 600; 0: no limit).",
        ),
    ) -> None:
        """Run a notebook over a grid or list of parameter sets; exit 1 if any run failed."""
        from spm_model.runner import run_batch

        with Display(quiet=not _show_progress(progress, quiet)) as show:
            result = run_batch(
                batch_file, out_dir=out, resume=resume, workers=workers, dask_address=dask,
                progress=show.bar if show.enabled else bool(progress), timeout=timeout,
            )  # fmt: skip
        typer.echo(result.summary())
        if not result.ok:
            raise typer.Exit(1)
