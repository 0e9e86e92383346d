"""Progress of long steps: what the library reports and how it is shown.

Long loops of the library (statements rep by rep, simulation chunks, batch
runs) take ``progress``: ``False`` (nothing), ``True`` (a tqdm bar, for
notebooks and scripts) or a *bar factory*, a callable
``factory(total=..., desc=..., unit=...)`` returning an object with
``update(n)`` and ``close()``. The command line passes the factory of its
terminal display (:mod:`spm_model.cli.progress`), so every long command shows
one consistent display on a terminal and nothing when piped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class Bar(Protocol):
    """A progress bar: advanced by ``update(n)``, finished by ``close()``."""

    def update(self, n: int = 1) -> Any:
        """Advance by ``n`` units."""

    def close(self) -> Any:
        """Finish the bar."""


BarFactory = Callable[..., Bar]
"""``factory(total=int | None, desc=str, unit=str) -> Bar``."""

Progress = bool | BarFactory | None
"""What a long step accepts as its ``progress`` argument."""


def make_bar(progress: Progress, *, total: int | None, desc: str, unit: str) -> Bar | None:
    """Return the bar ``progress`` asks for, or ``None`` for no display.

    Parameters
    ----------
    progress : bool, callable or None
        ``True`` for a tqdm bar, a bar factory, or ``False``/``None`` for none.
    total : int or None
        Units of work, when known.
    desc, unit : str
        What is being done and what one unit is (``"rep"``, ``"scenario"``).

    Returns
    -------
    Bar or None
    """
    if progress is None or progress is False:
        return None
    if progress is True:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit)
    return progress(total=total, desc=desc, unit=unit)
