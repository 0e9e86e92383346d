"""The ``spm`` command line: a thin layer over the public API.

Each area registers its commands from its own module (``spm_model.cli.<area>``,
a function ``register(app)``), so the areas stay independent. Errors of the
package's own types print as readable messages and exit with status 1.
"""

from __future__ import annotations

import importlib
import sys

import typer

from spm_model import __version__
from spm_model.errors import SpmError

app = typer.Typer(
    name="spm",
    help="spm_model: comp plans, comp-cost simulation, quotas, territories and forecasts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Modules that contribute commands; each defines ``register(app: typer.Typer) -> None``.
COMMAND_MODULES = [
    "data",
    "plans",
    "calc",
    "estimate",
    "runner",
    "territory",
    "quota",
    "simulate",
    "performance",
    "forecast",
    "apps",
]


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"spm_model {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_version_callback,
        is_eager=True,
        help="Show the version and exit.",
    ),
) -> None:
    """Sales performance management modelling."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"spm_model.cli.{_name}").register(app)


# Third-party loggers whose warnings are not about the user's data or command.
QUIET_LOGGERS = (
    "pytensor.tensor.blas",  # "Using NumPy C-API based implementation for BLAS functions."
    "pytensor.configdefaults",  # compiler / BLAS discovery notes
    "traitlets",  # kernel transport notes ("running over TCP without encryption")
)


def quiet_third_party() -> None:
    """Keep third-party noise out of normal CLI output (their errors still show).

    PyTensor's "could not link to a BLAS installation" warning is about the
    machine's linear-algebra library, not the user's data or command: the models
    here are elementwise and do not use BLAS (see docs/performance.md).
    """
    import logging
    import warnings

    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=r".*could not link to a BLAS", category=UserWarning)


def main() -> None:
    """Entry point of the ``spm`` script."""
    quiet_third_party()
    try:
        app()
    except SpmError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(1)
