"""Progress of long commands: shown on a terminal, never in pipes, files or with --quiet."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from spm_model.cli import app
from spm_model.cli.progress import Display
from spm_model.progress import make_bar

ROOT = Path(__file__).resolve().parents[2]
SPM = str(Path(sys.executable).with_name("spm"))


def _terminal() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, width=100), buf


def test_steps_and_bars_on_a_terminal():
    console, buf = _terminal()
    with Display(console=console) as show:
        assert show.enabled
        with show.step("crediting transactions"):
            pass
        bar = make_bar(show.bar, total=3, desc="saas_ae 2026-Q3", unit="rep")
        for _ in range(3):
            bar.update(1)
        bar.close()
    text = buf.getvalue()
    assert "✓" in text and "crediting transactions" in text
    assert "saas_ae 2026-Q3" in text and "3/3 reps" in text


@pytest.mark.parametrize("terminal", [True, False])
def test_quiet_or_not_a_terminal_shows_nothing(terminal):
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=terminal)
    with Display(quiet=terminal, console=console) as show:  # quiet on a terminal; else a pipe
        assert not show.enabled
        with show.step("loading"):
            pass
        bar = show.bar(total=2, desc="x", unit="rep")
        bar.update(2)
        bar.close()
        show.note("hello")
    assert buf.getvalue() == ""


def test_make_bar_choices():
    assert make_bar(False, total=1, desc="x", unit="rep") is None
    assert make_bar(None, total=1, desc="x", unit="rep") is None
    seen = {}

    def factory(**kw):
        seen.update(kw)
        return "bar"

    assert make_bar(factory, total=5, desc="d", unit="run") == "bar"
    assert seen == {"total": 5, "desc": "d", "unit": "run"}


def test_piped_cli_output_has_no_progress(tmp_path):
    r = CliRunner().invoke(
        app,
        ["calc", "--plan", str(ROOT / "templates/plans/sdr.yaml"), "--data",
         str(ROOT / "data/sample"), "--period", "2026-Q3", "--out", str(tmp_path),
         "--formats", "csv"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "✓" not in r.output and "crediting" not in r.output
    assert r.output.startswith("sdr 2026-Q3:")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
@pytest.mark.parametrize("quiet", [False, True])
def test_terminal_gets_progress_and_stdout_stays_clean(tmp_path, quiet):
    """stderr on a pseudo-terminal shows the steps; stdout (a pipe) holds only the results."""
    master, slave = os.openpty()
    cmd = [SPM, "calc", "--plan", str(ROOT / "templates/plans"), "--data",
           str(ROOT / "data/sample"), "--period", "2026-Q3", "--out", str(tmp_path),
           "--formats", "csv", *(["--quiet"] if quiet else [])]  # fmt: skip
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave, env=env, cwd=ROOT)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:  # a terminal is read while it is written (its buffer is small)
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the other end closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    out, _ = proc.communicate(timeout=240)
    reader.join(timeout=10)
    os.close(master)
    terminal = b"".join(chunks)
    assert proc.returncode == 0
    stdout = out.decode()
    assert stdout.splitlines()[0].startswith("account_manager 2026-Q3: 7 reps")
    assert "\x1b" not in stdout and "crediting" not in stdout
    screen = terminal.decode(errors="replace")
    if quiet:
        assert "crediting" not in screen
    else:
        assert "crediting transactions" in screen and "saas_ae 2026-Q3" in screen
        assert "✓" in screen


def test_third_party_noise_is_kept_out():
    """PyTensor's BLAS notice never reaches the output; other warnings still do."""
    import warnings

    from spm_model.cli import quiet_third_party

    with warnings.catch_warnings(record=True) as caught:
        quiet_third_party()
        warnings.warn("PyTensor could not link to a BLAS installation.", UserWarning, stacklevel=1)
        warnings.warn("a warning about the user's data", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["a warning about the user's data"]
