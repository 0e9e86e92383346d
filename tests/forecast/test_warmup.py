"""The warm-up that compiles the forecaster's building blocks into the on-disk caches."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from spm_model.errors import SpmConfigError
from spm_model.forecast import warm_up


def test_warm_up_rejects_an_unknown_model_kind_before_compiling():
    with pytest.raises(SpmConfigError, match=r"unknown model kind\(s\) \['regresion'\]"):
        warm_up(("state_space", "regresion"))


def test_cli_warmup_with_an_unknown_kind_exits_1_with_one_line(monkeypatch, capsys):
    from spm_model.cli import main

    monkeypatch.setattr(sys, "argv", ["spm", "warmup", "--model", "statespace"])
    with pytest.raises(SystemExit) as exit_:
        main()
    err = capsys.readouterr().err
    assert exit_.value.code == 1
    assert err.strip().count("\n") == 0
    assert "unknown model kind(s) ['statespace']" in err


_WARM = "from spm_model.forecast.warmup import warm_up; print(warm_up(('state_space',)))"


@pytest.mark.slow
def test_warm_up_fills_an_empty_cache_so_the_next_compilation_is_quick(tmp_path):
    """Into an empty PyTensor cache the warm-up compiles the building blocks; a fresh
    process compiling the same kind of model afterwards finds them there."""
    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={tmp_path / 'pytensor'}")
    took = []
    for _ in range(2):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", _WARM], env=env, check=True, capture_output=True)
        took.append(time.perf_counter() - t)
    assert any((tmp_path / "pytensor").rglob("*.nbi")), "nothing was compiled into the cache"
    # about 45 s against 10 s here: the building blocks are not compiled again
    assert took[1] < 0.5 * took[0], took
