"""``spm --help`` answers at once: the CLI imports nothing heavy until a command runs."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest

SPM = str(Path(sys.executable).parent / "spm")
HEAVY = ("pandas", "numpy", "scipy", "pymc", "pytensor", "statsmodels", "matplotlib", "papermill")


def _commands() -> list[str]:
    from typer.main import get_command

    from spm_model.cli import app

    return sorted(get_command(app).commands)  # type: ignore[attr-defined]


def _seconds(args: list[str], repeat: int) -> float:
    """Fastest of ``repeat`` runs, in CPU seconds of the ``spm`` process (user + system).

    The help must cost under a second of work. CPU time is what the command itself spends;
    the wall clock on a shared 2-core machine running the rest of the suite in parallel
    also counts the time spent waiting for a core, so it is only checked loosely (10 s).
    """
    import resource

    best = float("inf")
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        r = subprocess.run([SPM, *args], capture_output=True, text=True, timeout=60)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = min(best, cpu)
        assert r.returncode == 0, r.stderr
        assert "Usage" in r.stdout
        assert wall < 10.0, f"spm {' '.join(args)} took {wall:.1f} s of wall time"
    return best


def test_cli_import_loads_no_heavy_module():
    code = f"import sys, spm_model.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == ""


def test_package_reexports_stay_available_lazily():
    import spm_model

    assert "calculate" in dir(spm_model) and "calculate" in spm_model.__all__
    from spm_model import SpmDataError, calculate, load_dataset

    assert callable(calculate) and callable(load_dataset) and issubclass(SpmDataError, Exception)
    with pytest.raises(AttributeError):
        spm_model.no_such_name  # noqa: B018


def test_spm_help_under_one_second():
    _seconds(["--help"], 1)  # warm-up: file system and bytecode caches
    assert _seconds(["--help"], 3) < 1.0


@pytest.mark.slow  # one process per subcommand: about 20 s; `spm --help` itself stays in `make test`
def test_every_subcommand_help_under_one_second():
    slow = {}
    for cmd in _commands():
        t = _seconds([cmd, "--help"], 2)
        if t >= 1.0:
            slow[cmd] = round(t, 2)
    assert not slow, slow


def test_third_party_noise_is_quiet():
    from spm_model.cli import QUIET_LOGGERS, quiet_third_party

    quiet_third_party()
    import pytensor  # noqa: F401  (configures its own loggers on import)

    for name in QUIET_LOGGERS:
        assert not logging.getLogger(name).isEnabledFor(logging.WARNING)
    assert logging.getLogger("pytensor.tensor.blas").isEnabledFor(logging.ERROR)
