"""Solver lines written by native code stay out of standard output."""

from __future__ import annotations

import os
import threading

import numpy as np
import pandas as pd
import pytest

from spm_model.territory import InfeasibleAlignment, TerritoryProblem, solve
from spm_model.territory.quiet import solver_stdout_silenced


def test_native_writes_to_stdout_are_dropped_and_stdout_comes_back(capfd):
    print("before", flush=True)
    with solver_stdout_silenced():
        os.write(1, b"native junk\n")
        with solver_stdout_silenced():  # nested: one redirect, one restore
            os.write(1, b"more junk\n")
        os.write(1, b"still junk\n")
        os.write(2, b"errors stay\n")
    os.write(1, b"after\n")
    out, err = capfd.readouterr()
    assert out == "before\nafter\n"
    assert err == "errors stay\n"


def test_concurrent_solves_restore_stdout_once(capfd):
    go = threading.Barrier(4)

    def work():
        go.wait()
        for _ in range(50):
            with solver_stdout_silenced():
                os.write(1, b"junk\n")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    os.write(1, b"after\n")
    assert capfd.readouterr().out == "after\n"


def test_highs_debug_line_does_not_reach_stdout(capfd):
    """HiGHS 1.16 printf-s 'HighsMipSolverData::transformNewIntegerFeasibleSolution
    tmpSolver.run();' several times while proving this 8-unit case infeasible (found by a
    brute-force check), its output switched off."""
    rng = np.random.default_rng(180)
    n, tids = 8, ["A", "B", "C"]
    units = pd.DataFrame(
        {
            "unit_id": [f"u{i}" for i in range(n)],
            "x": rng.uniform(0, 10, n).round(2),
            "y": rng.uniform(0, 10, n).round(2),
            "potential": rng.integers(1, 20, n).astype(float),
            "workload": rng.integers(1, 6, n).astype(float),
            "travel_weight": rng.choice([1.0, 2.0, 0.5], n),
            "current": rng.choice([*tids, None], n, p=[0.3, 0.3, 0.3, 0.1]),
            "locked": None,
            "family": None,
        }
    )
    if rng.random() < 0.5:
        i = rng.integers(n)
        units.loc[i, "locked"] = rng.choice(tids)
    if rng.random() < 0.5:
        units.loc[[1, 2], "family"] = "F1"
    terrs = pd.DataFrame(
        {
            "territory_id": tids,
            "home_x": rng.uniform(0, 10, 3).round(2),
            "home_y": rng.uniform(0, 10, 3).round(2),
            "capacity": rng.choice([1.0, 1.5], 3),
        }
    )
    problem = TerritoryProblem(
        units,
        terrs,
        measures=["potential", "workload"],
        tolerance={"potential": 0.1, "workload": 0.4},
        max_moved=0.5,
        moved_basis="potential",
        travel_weight=1.0,
        disruption_weight=3.0,
        compactness_weight=0.0,
    )
    with pytest.raises(InfeasibleAlignment, match="the disruption budget binds"):
        solve(problem, method="mip", time_limit=10, gap_target=0.0)
    out = capfd.readouterr().out
    assert "HighsMipSolverData" not in out and out == ""
