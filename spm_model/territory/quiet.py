"""Keep a solver's stray console lines out of the process's standard output.

HiGHS, with its output switched off, still ``printf``-s a debug line from its MIP
solver in some solves (``HighsMipSolverData::transformNewIntegerFeasibleSolution
tmpSolver.run();``, HiGHS 1.12-1.16; ERGO-Code/HiGHS issue 2783). It is written
by C code straight to file descriptor 1, so Python's ``sys.stdout`` cannot catch
it, and it would land in the middle of what ``spm territory`` prints as its
result (results go to stdout). :func:`solver_stdout_silenced` points file
descriptor 1 at the null device while a solver runs and restores it after.

The redirection is process-wide, so it is reference-counted under a lock: nested
or concurrent solves (threads) redirect once and restore once, after the last one.
Python's own ``sys.stdout`` is flushed first, so nothing written before the solve
is lost. Where descriptor 1 cannot be duplicated (a closed or unusual stdout) the
solve runs unredirected.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_saved_fd: int | None = None


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except (AttributeError, OSError, ValueError):  # replaced, closed or detached stream
        pass


@contextmanager
def solver_stdout_silenced() -> Iterator[None]:
    """Send what native code writes to file descriptor 1 to the null device.

    Yields
    ------
    None
        Inside the block, C-level writes to standard output are discarded;
        standard error is untouched.
    """
    global _depth, _saved_fd
    with _lock:
        if _depth == 0:
            _flush_stdout()
            try:
                saved = os.dup(1)
            except OSError:
                saved = None
            if saved is not None:
                null = os.open(os.devnull, os.O_WRONLY)
                try:
                    os.dup2(null, 1)
                finally:
                    os.close(null)
            _saved_fd = saved
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved_fd is not None:
                os.dup2(_saved_fd, 1)
                os.close(_saved_fd)
                _saved_fd = None
