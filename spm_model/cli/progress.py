"""Progress display of the long commands: on a terminal only, never in pipes or logs.

``calc``, ``simulate``, ``forecast``, ``forecast-backtest``, ``territory``,
``scorecards``, ``quota`` and ``batch`` show what they are doing on standard
error (rich): a line per step with a spinner and its time, and bars for loops
with a known length (reps, scenarios, runs). Like ``git``, the display is
shown only when standard error is a terminal; piped or redirected runs, CI
logs and ``--quiet`` print nothing extra. Results still go to standard output.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID


def quiet_option() -> Any:
    """Return the ``--quiet/-q`` option of a long command."""
    return typer.Option(
        False,
        "--quiet",
        "-q",
        help="No progress display (it is shown only when stderr is a terminal).",
    )


def _task(progress: Progress, task: TaskID) -> Any:
    return next(t for t in progress.tasks if t.id == task)


class _NoBar:
    """A bar that shows nothing (piped output, --quiet)."""

    def update(self, n: int = 1) -> None:
        """Do nothing."""

    def close(self) -> None:
        """Do nothing."""


class _TaskBar:
    """A bar of the display: one task of its rich ``Progress``."""

    def __init__(self, progress: Progress, task: TaskID):
        self._progress, self._task = progress, task

    def update(self, n: int = 1) -> None:
        """Advance by ``n`` units."""
        self._progress.advance(self._task, n)

    def close(self) -> None:
        """Mark the bar complete (it stays on screen with its time)."""
        task = _task(self._progress, self._task)
        if task.total is None:
            self._progress.update(
                self._task, total=task.completed or 1, completed=task.completed or 1
            )
        self._progress.stop_task(self._task)


def _bar_column() -> Any:
    """Return a bar column that leaves steps (tasks without a length) blank."""
    from rich.progress import BarColumn
    from rich.text import Text

    class StepAwareBar(BarColumn):
        def render(self, task: Any) -> Any:
            return Text("") if task.fields.get("step") else super().render(task)

    return StepAwareBar(bar_width=30)


class Display:
    """What a long command shows while it works.

    Parameters
    ----------
    quiet : bool
        Show nothing (``--quiet``).
    console : rich Console, optional
        Where to draw; default standard error. The display is enabled only
        when this console is a terminal.

    Examples
    --------
    >>> with Display(quiet=True) as show:
    ...     with show.step("loading data"):
    ...         pass
    """

    def __init__(self, quiet: bool = False, console: Console | None = None):
        if console is None:
            from rich.console import Console

            console = Console(stderr=True)
        self.console = console
        self.enabled = not quiet and console.is_terminal
        self._progress: Progress | None = None

    def __enter__(self) -> Display:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop drawing (the finished lines stay on screen)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _live(self) -> Progress:
        if self._progress is None:
            from rich.progress import (
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(finished_text="[green]✓[/green]"),
                TextColumn("{task.description}"),
                _bar_column(),
                TextColumn("{task.fields[count]}", style="progress.download"),
                TimeElapsedColumn(),
                console=self.console,
                redirect_stdout=sys.stdout.isatty(),  # results to a file stay in the file
                redirect_stderr=True,
            )
            self._progress.start()
        return self._progress

    @contextmanager
    def step(self, text: str) -> Iterator[None]:
        """Show ``text`` with a spinner while the block runs, then with a tick and its time."""
        if not self.enabled:
            yield
            return
        progress = self._live()
        task = progress.add_task(text, total=None, count="", step=True)
        try:
            yield
        finally:
            progress.update(task, total=1, completed=1)
            progress.stop_task(task)

    def bar(self, total: int | None = None, desc: str = "", unit: str = "") -> _TaskBar | _NoBar:
        """Start a bar: the factory the library's ``progress=`` arguments take.

        See :mod:`spm_model.progress`; returns a bar that shows nothing when
        the display is off.
        """
        if not self.enabled:
            return _NoBar()
        progress = self._live()
        task = progress.add_task(desc, total=total, count="", step=False)
        bar = _TaskBar(progress, task)
        if total is not None and unit:
            bar_update = bar.update

            def update(n: int = 1) -> None:
                bar_update(n)
                done = int(_task(progress, task).completed)
                progress.update(task, count=f"{done:,}/{total:,} {unit}s")

            bar.update = update  # type: ignore[method-assign]
            progress.update(task, count=f"0/{total:,} {unit}s")
        return bar

    def note(self, text: str) -> None:
        """Print a line of context on the display (nothing when it is off)."""
        if self.enabled:
            self._live().console.print(f"[dim]{text}[/dim]")
