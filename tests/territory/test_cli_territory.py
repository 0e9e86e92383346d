"""``spm territory`` from plain files: every option, and optima checked against scipy's MILP."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp
from typer.testing import CliRunner

from spm_model.cli import app
from tests.territory.test_dataset import _company

TIME = "20"


def teaching_case(seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """24 units, 4 reps: units and a drive-time matrix (minutes), unbalanced current owners."""
    rng = np.random.default_rng(seed)
    n, m = 24, 4
    xy = rng.uniform(0, 60, (n, 2))
    homes = np.array([[12.0, 12.0], [48.0, 12.0], [12.0, 48.0], [48.0, 48.0]])
    minutes = np.round(
        np.hypot(xy[:, None, 0] - homes[None, :, 0], xy[:, None, 1] - homes[None, :, 1]) * 1.3 + 5,
        1,
    )
    units = pd.DataFrame(
        {
            "unit_id": [f"Z{i:02d}" for i in range(n)],
            "potential": rng.integers(20, 80, n).astype(float),
            "workload": rng.integers(10, 30, n).astype(float),
            # current: nearest home, except that the first rep took over six more units
            "current": [f"R{j}" for j in np.where(np.arange(n) < 6, 0, minutes.argmin(axis=1))],
        }
    )
    dist = pd.DataFrame(minutes, columns=[f"R{j}" for j in range(m)])
    dist.insert(0, "unit_id", units["unit_id"])
    return units, dist


def milp_optimum(
    values: np.ndarray, tol: np.ndarray, cost: np.ndarray, locked: dict[int, int] | None = None
) -> float:
    """Minimum of sum cost[u, t] x[u, t], one territory per unit, equal-share balance +/- tol."""
    n, m = cost.shape
    A_assign = sp.kron(sp.eye(n), np.ones((1, m)))
    rows = []
    for t in range(m):
        sel = np.zeros((1, m))
        sel[0, t] = 1
        rows.append(sp.kron(values.T, sel))  # (k, n*m)
    A_bal = sp.vstack(rows)
    target = np.tile(values.sum(axis=0) / m, m)
    tt = np.tile(tol, m)
    lo_b = np.zeros(n * m)
    hi_b = np.ones(n * m)
    for u, t in (locked or {}).items():
        lo_b[u * m + t] = 1
    res = milp(
        cost.ravel(),
        integrality=np.ones(n * m),
        bounds=Bounds(lo_b, hi_b),
        constraints=[
            LinearConstraint(A_assign, 1, 1),
            LinearConstraint(A_bal, (1 - tt) * target, (1 + tt) * target),
        ],
        options={"mip_rel_gap": 0, "time_limit": 60},
    )
    assert res.status == 0, res.message
    return float(res.fun)


def run(args: list[str]):
    return CliRunner().invoke(app, ["territory", *args])


def test_teaching_case_travel_matches_milp(tmp_path):
    units, dist = teaching_case()
    units.to_csv(tmp_path / "units.csv", index=False)
    dist.to_csv(tmp_path / "minutes.csv", index=False)  # wide
    out = tmp_path / "travel.csv"
    r = run(
        [
            "--units", str(tmp_path / "units.csv"),
            "--distance", str(tmp_path / "minutes.csv"),
            "--distance-unit", "minutes",
            "--measures", "potential:0.1,workload:0.15",
            "--objective", "travel",
            "--gap", "0",
            "--time-limit", TIME,
            "--out", str(out),
        ]
    )  # fmt: skip
    assert r.exit_code == 0, r.output + repr(r.exception)
    d = dist.set_index("unit_id").to_numpy()
    best = milp_optimum(units[["potential", "workload"]].to_numpy(), np.array([0.1, 0.15]), cost=d)
    al = pd.read_csv(out)
    col = al["territory_id"].str[1:].astype(int).to_numpy()
    travel = d[np.arange(len(al)), col].sum()
    assert travel == pytest.approx(best, rel=1e-9)
    assert "Lower bound" in r.output and "proven optimal" in r.output
    assert "travel (minutes" in r.output and "mean_minutes" in r.output
    met = pd.read_csv(tmp_path / "travel_metrics.csv", index_col=0)
    assert met.loc["travel_minutes", "after"] == pytest.approx(best)
    assert (tmp_path / "travel_territories.csv").exists()
    assert not (tmp_path / "travel_map.png").exists()  # no coordinates, no map


def test_teaching_case_disruption_matches_milp(tmp_path):
    units, dist = teaching_case()
    units.to_csv(tmp_path / "units.csv", index=False)
    long = dist.melt(id_vars="unit_id", var_name="territory_id", value_name="minutes")
    long.to_csv(tmp_path / "long.csv", index=False)  # long form
    out = tmp_path / "disruption.csv"
    r = run(
        [
            "--units", str(tmp_path / "units.csv"),
            "--distance", str(tmp_path / "long.csv"),
            "--measures", "potential:0.1,workload:0.15",
            "--objective", "disruption",
            "--gap", "0",
            "--time-limit", TIME,
            "--out", str(out),
        ]
    )  # fmt: skip
    assert r.exit_code == 0, r.output + repr(r.exception)
    cur = units["current"].str[1:].astype(int).to_numpy()
    moved_cost = (np.arange(4)[None, :] != cur[:, None]).astype(float)
    best = milp_optimum(
        units[["potential", "workload"]].to_numpy(), np.array([0.1, 0.15]), cost=moved_cost
    )
    al = pd.read_csv(out)
    assert int(al["moved"].sum()) == round(best)
    assert best > 0  # the start is unbalanced: someone must move
    assert "moved accounts" in r.output


def test_compactness_objective_matches_milp_on_squared_distances(tmp_path):
    rng = np.random.default_rng(2)
    n = 16
    units = pd.DataFrame(
        {
            "unit_id": [f"u{i}" for i in range(n)],
            "x": rng.uniform(0, 10, n),
            "y": rng.uniform(0, 10, n),
            "potential": rng.integers(5, 15, n).astype(float),
        }
    )
    terrs = pd.DataFrame(
        {"territory_id": ["a", "b", "c"], "home_x": [2.0, 8, 5], "home_y": [2.0, 3, 8]}
    )
    units.to_csv(tmp_path / "u.csv", index=False)
    terrs.to_csv(tmp_path / "t.csv", index=False)
    out = tmp_path / "c.csv"
    r = run(
        [
            "--units", str(tmp_path / "u.csv"), "--territories", str(tmp_path / "t.csv"),
            "--measures", "potential:0.2", "--objective", "compactness", "--gap", "0",
            "--time-limit", TIME, "--out", str(out),
        ]
    )  # fmt: skip
    assert r.exit_code == 0, r.output + repr(r.exception)
    d2 = (units["x"].to_numpy()[:, None] - terrs["home_x"].to_numpy()) ** 2 + (
        units["y"].to_numpy()[:, None] - terrs["home_y"].to_numpy()
    ) ** 2
    best = milp_optimum(units[["potential"]].to_numpy(), np.array([0.2]), cost=d2)
    al = pd.read_csv(out)
    pos = al["territory_id"].map({"a": 0, "b": 1, "c": 2}).to_numpy()
    assert d2[np.arange(n), pos].sum() == pytest.approx(best, rel=1e-9)
    assert (tmp_path / "c_map.png").stat().st_size > 5_000  # planar map by default


def planar_case(tmp_path, seed: int = 3):
    rng = np.random.default_rng(seed)
    g = [(i, j) for i in range(4) for j in range(5)]
    units = pd.DataFrame(
        {
            "id": [f"g{i}{j}" for i, j in g],
            "x": [j + rng.uniform(-0.1, 0.1) for i, j in g],
            "y": [i + rng.uniform(-0.1, 0.1) for i, j in g],
            "potential": rng.integers(5, 15, len(g)).astype(float),
            "workload": rng.integers(5, 15, len(g)).astype(float),
            "current": ["A" if j < 3 else "B" if i < 2 else "C" for i, j in g],
        }
    )
    terrs = pd.DataFrame(
        {"rep_id": ["A", "B", "C"], "home_x": [0.5, 4.0, 4.0], "home_y": [1.5, 0.5, 3.0]}
    )
    units.to_csv(tmp_path / "u.csv", index=False)
    terrs.to_csv(tmp_path / "t.csv", index=False)
    edges = pd.DataFrame(
        [(f"g{i}{j}", f"g{i}{j + 1}") for i in range(4) for j in range(4)]
        + [(f"g{i}{j}", f"g{i + 1}{j}") for i in range(3) for j in range(5)],
        columns=["unit_a", "unit_b"],
    )
    edges.to_csv(tmp_path / "adj.csv", index=False)
    pd.DataFrame({"unit_id": ["g00", "g34"], "territory_id": ["A", "C"]}).to_csv(
        tmp_path / "locks.csv", index=False
    )
    return units, terrs, edges


def _connected(al: pd.DataFrame, edges: pd.DataFrame) -> bool:
    from scipy.sparse.csgraph import connected_components

    owner = al.set_index("unit_id")["territory_id"]
    pos = {u: i for i, u in enumerate(owner.index)}
    for t in owner.unique():
        mem = [u for u in owner.index if owner[u] == t]
        e = edges[edges["unit_a"].isin(mem) & edges["unit_b"].isin(mem)]
        idx = {u: i for i, u in enumerate(mem)}
        g = sp.csr_matrix(
            (np.ones(len(e)), (e["unit_a"].map(idx), e["unit_b"].map(idx))),
            shape=(len(mem), len(mem)),
        )
        if connected_components(g, directed=False)[0] != 1:
            return False
    return bool(pos)


def test_every_option_together_on_planar_units(tmp_path):
    units, _, edges = planar_case(tmp_path)
    out = tmp_path / "res" / "align.csv"
    r = run(
        [
            "--units", str(tmp_path / "u.csv"), "--territories", str(tmp_path / "t.csv"),
            "--locks", str(tmp_path / "locks.csv"),
            "--measures", "potential:0.25,workload:0.3",
            "--objective", "travel:1,disruption:2",
            "--max-moved", "0.4",
            "--adjacency", str(tmp_path / "adj.csv"),
            "--frontier", "3",
            "--plot", str(tmp_path / "res" / "map.png"),
            "--time-limit", "3", "--gap", "0.01", "--seed", "1", "--method", "auto",
            "--out", str(out),
        ]
    )  # fmt: skip
    assert r.exit_code == 0, r.output + repr(r.exception)
    al = pd.read_csv(out)
    own = al.set_index("unit_id")["territory_id"]
    assert own["g00"] == "A" and own["g34"] == "C"  # locks
    assert al["moved"].mean() <= 0.4 + 1e-9  # budget
    assert _connected(al, edges)  # adjacency
    for k, tol in (("potential", 0.25), ("workload", 0.3)):
        load = units.set_index("id")[k].groupby(own).sum()
        assert (load / (units[k].sum() / 3) - 1).abs().max() <= tol + 1e-9
    fr = pd.read_csv(tmp_path / "res" / "align_frontier.csv")
    assert len(fr) == 3 and fr["max_moved"].iloc[0] == 0.0
    assert (tmp_path / "res" / "align_frontier.png").stat().st_size > 5_000
    assert (tmp_path / "res" / "map.png").stat().st_size > 5_000
    assert "connected territories" in r.output and "2 locked unit(s)" in r.output
    assert "frontier" in r.output


def test_contiguity_flag_derives_adjacency(tmp_path):
    units, _, _ = planar_case(tmp_path, seed=4)
    out = tmp_path / "a.csv"
    r = run(
        [
            "--units", str(tmp_path / "u.csv"), "--territories", str(tmp_path / "t.csv"),
            "--measures", "potential:0.3", "--contiguity", "--time-limit", "10",
            "--out", str(out),
        ]
    )  # fmt: skip
    assert r.exit_code == 0, r.output + repr(r.exception)
    from spm_model.territory import delaunay_edges

    e = delaunay_edges(units["y"].to_numpy(), units["x"].to_numpy(), planar=True)
    ids = units["id"].to_numpy()
    dl = pd.DataFrame({"unit_a": ids[e[:, 0]], "unit_b": ids[e[:, 1]]})
    assert _connected(pd.read_csv(out), dl)
    assert "connected territories" in r.output


def test_dataset_with_new_options(tmp_path):
    ds = _company()
    src = tmp_path / "tiny"
    ds.save(src)
    pd.DataFrame({"account_id": ["A03"], "rep_id": ["E3"]}).to_csv(tmp_path / "l.csv", index=False)
    out = tmp_path / "o" / "asg.csv"
    r = run(
        [
            "--data", str(src), "--scope", "all",
            "--locks", str(tmp_path / "l.csv"),
            "--measures", "potential:0.3,workload:0.4",
            "--objective", "travel:1,disruption:50",
            "--moved-basis", "workload", "--max-moved", "0.7",
            "--frontier", "2",
            "--time-limit", "10", "--out", str(out),
        ]
    )  # fmt: skip
    assert r.exit_code == 0, r.output + repr(r.exception)
    asg = pd.read_csv(out)
    open_ = asg[asg["end_date"].isna() & (asg["role"] == "owner")]
    assert open_.set_index("account_id").loc["A03", "rep_id"] == "E3"
    met = pd.read_csv(tmp_path / "o" / "asg_metrics.csv", index_col=0)
    assert "potential.max_dev_pct" in met.index
    assert len(pd.read_csv(tmp_path / "o" / "asg_frontier.csv")) == 2
    assert "Lower bound" in r.output and "workload moved" in r.output


@pytest.mark.parametrize(
    ("mutate", "expect"),
    [
        (lambda d: d.assign(R2=d["R2"].astype(object).where(d.index != 3, "far")),
         "minutes.csv, row 5, column 'R2': not a number ('far')"),
        (lambda d: d.assign(R1=d["R1"].where(d.index != 0, -3.0)),
         "row 2, column 'R1': negative (-3)"),
    ],
)  # fmt: skip
def test_bad_distance_file_names_file_row_and_column(tmp_path, mutate, expect):
    units, dist = teaching_case()
    units.to_csv(tmp_path / "units.csv", index=False)
    mutate(dist).to_csv(tmp_path / "minutes.csv", index=False)
    out = tmp_path / "x.csv"
    r = run(
        ["--units", str(tmp_path / "units.csv"), "--distance", str(tmp_path / "minutes.csv"),
         "--measures", "potential", "--out", str(out)]
    )  # fmt: skip
    assert r.exit_code != 0
    assert expect in str(r.exception)
    assert not out.exists()  # nothing written on error


def test_bad_inputs_exit_nonzero_with_where_and_what(tmp_path):
    units, dist = teaching_case()
    units["potential"] = units["potential"].astype(object)
    units.loc[4, "potential"] = "lots"
    units.to_csv(tmp_path / "units.csv", index=False)
    dist.to_csv(tmp_path / "d.csv", index=False)
    base = ["--units", str(tmp_path / "units.csv"), "--out", str(tmp_path / "o.csv")]
    r = run([*base, "--distance", str(tmp_path / "d.csv"), "--measures", "potential"])
    assert r.exit_code != 0
    assert "units.csv, row 6, column 'potential': not a number ('lots')" in str(r.exception)
    r = run([*base, "--distance", str(tmp_path / "d.csv"), "--measures", "potential:-0.5"])
    assert r.exit_code != 0 and "must be a non-negative fraction" in str(r.exception)
    r = run([*base, "--distance", str(tmp_path / "d.csv"), "--objective", "speed"])
    assert r.exit_code != 0 and "unknown term 'speed'" in str(r.exception)
    r = run([*base, "--measures", "workload"])  # no coordinates, no matrix
    assert r.exit_code != 0 and "no coordinates" in str(r.exception)
    pd.DataFrame({"unit_id": ["nope"], "territory_id": ["R0"]}).to_csv(
        tmp_path / "l.csv", index=False
    )
    units2, _ = teaching_case()
    units2.to_csv(tmp_path / "units.csv", index=False)
    r = run([*base, "--distance", str(tmp_path / "d.csv"), "--locks", str(tmp_path / "l.csv")])
    assert r.exit_code != 0 and "l.csv" in str(r.exception) and "nope" in str(r.exception)
    r = run([*base, "--distance", str(tmp_path / "d.csv"), "--adjacency", str(tmp_path / "no")])
    assert r.exit_code != 0 and "file not found" in str(r.exception)
    r = run(
        [*base, "--distance", str(tmp_path / "d.csv"), "--measures", "potential:0.001",
         "--max-moved", "0", "--time-limit", "5"]
    )  # fmt: skip
    assert r.exit_code != 0 and "binds" in str(r.exception)
    assert not (tmp_path / "o.csv").exists()


def test_districts_from_scratch_from_the_cli(tmp_path):
    units, _, _ = planar_case(tmp_path, seed=6)
    out = tmp_path / "d.csv"
    r = run(
        [
            "--units", str(tmp_path / "u.csv"), "--districts", "3",
            "--measures", "potential:0.2,workload:0.25", "--objective", "compactness",
            "--contiguity", "--time-limit", "6", "--out", str(out),
        ]
    )  # fmt: skip
    assert r.exit_code == 0, r.output + repr(r.exception)
    al = pd.read_csv(out)
    assert al["territory_id"].nunique() == 3
    cen = pd.read_csv(tmp_path / "d_centres.csv")
    assert len(cen) == 3 and set(cen["centre_unit_id"]) <= set(units["id"])
    own = al.set_index("unit_id")["territory_id"]
    for k, tol in (("potential", 0.2), ("workload", 0.25)):
        load = units.set_index("id")[k].groupby(own).sum()
        assert (load / (units[k].sum() / 3) - 1).abs().max() <= tol + 1e-9
    assert "not to the choice of centres" in r.output
    assert (tmp_path / "d_map.png").exists()


def test_bad_dates_and_time_limits_are_refused_before_any_work(tmp_path):
    from pathlib import Path

    from spm_model.errors import SpmConfigError

    sample = Path(__file__).resolve().parents[2] / "data" / "sample"

    out = tmp_path / "a.csv"
    r = run(["--data", str(sample), "--time-limit", "-1", "--out", str(out)])
    assert r.exit_code == 2 and "--time-limit" in r.output
    for flag, value, message in (
        ("--as-of", "notadate", "--as-of 'notadate' is not a date"),
        ("--effective-date", "2026-13-01", "--effective-date '2026-13-01' is not a date"),
        ("--as-of", "2030-01-01", "--as-of 2030-01-01 is after the data"),
    ):
        r = run(["--data", str(sample), flag, value, "--out", str(out)])
        assert isinstance(r.exception, SpmConfigError) and message in str(r.exception)
    assert not out.exists()
