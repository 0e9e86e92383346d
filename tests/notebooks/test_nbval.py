"""The notebooks pass ``pytest --nbval-lax`` (the Jupyter way) in quick mode.

nbval cannot inject papermill parameters, so every notebook's ``quick`` parameter
defaults to the environment: ``SPM_QUICK=1`` makes the default quick run. This test runs
nbval on copies of the fast notebooks (01 to 05 and 07; 00 and 06 fit the Bayesian
forecast, minutes even in quick mode: ``make nbval`` runs every notebook) in a scratch
folder that links ``data/`` and ``templates/``, so their default relative paths work and
their outputs stay out of the repository. A user's own edited copy is checked the same
way: ``SPM_QUICK=1 pytest --nbval-lax --nbval-current-env my_copy.ipynb``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAST = [
    "01_data_overview",
    "02_plan_design",
    "03_comp_cost_simulation",
    "04_quota_setting",
    "05_territory_balancing",
    "07_rep_earnings_estimator",
]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_fast_notebooks_pass_nbval_lax_in_quick_mode(tmp_path):
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    for name in FAST:
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", nb_dir)
    for folder in ("data", "templates"):
        (tmp_path / folder).symlink_to(ROOT / folder, target_is_directory=True)
    env = {**os.environ, "SPM_QUICK": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [
            sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env",
            "-p", "no:cacheprovider", "-o", "addopts=", "-q", "-n", "0",
            "--rootdir", str(tmp_path), str(nb_dir),
        ],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=840,
    )  # fmt: skip
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    passed = re.search(r"(\d+) passed", proc.stdout)
    assert passed and int(passed.group(1)) >= 3 * len(FAST), tail
    assert "failed" not in proc.stdout.splitlines()[-1], tail
    # the environment made the defaults quick (notebook 03 runs 2000 scenarios when quick)
    summary = tmp_path / "reports" / "03_comp_cost_simulation" / "simulation" / "summary.json"
    assert json.loads(summary.read_text())["n_scenarios"] == 2000
