"""What-if alignments compared side by side, and the travel-disruption frontier."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from spm_model.territory.diagnose import AlignmentNotFound, InfeasibleAlignment
from spm_model.territory.metrics import alignment_metrics
from spm_model.territory.problem import TerritoryProblem
from spm_model.territory.solve import AlignmentResult, solve


def add_territory(
    problem: TerritoryProblem,
    territory_id: str,
    home_lat: float | None = None,
    home_lon: float | None = None,
    capacity: float = 1.0,
    *,
    home_x: float | None = None,
    home_y: float | None = None,
    distances: Sequence[float] | pd.Series | None = None,
) -> TerritoryProblem:
    """Return a copy of ``problem`` with one more territory (a new hire).

    Parameters
    ----------
    problem : TerritoryProblem
        The problem to extend.
    territory_id : str
        The new territory's id (not already used).
    home_lat, home_lon : float, optional
        The new home, for problems whose homes are latitude/longitude (degrees).
    capacity : float
        The new territory's relative size (FTE); existing territories without
        a ``capacity`` column keep the default 1.0.
    home_x, home_y : float, optional
        The new home, for problems with planar ``home_x``/``home_y`` homes.
    distances : sequence or Series, optional
        For problems whose travel comes from a distance matrix: the distance of
        every unit to the new territory (a Series indexed by ``unit_id``, or one
        value per unit in the units' order). Units only.

    Raises
    ------
    SpmConfigError
        The id is taken, or the home is not given in the problem's own terms.
    """
    from spm_model.errors import SpmConfigError

    t = problem.territories
    if territory_id in set(t["territory_id"].astype(str)):
        raise SpmConfigError(f"territory {territory_id!r} already exists")
    row: dict[str, object] = {"territory_id": territory_id}
    if problem.distance is not None:
        if distances is None:
            raise SpmConfigError(
                "this problem's travel comes from a distance matrix: give distances= (each "
                "unit's distance to the new territory)"
            )
        dist = _extend_distance(problem, territory_id, distances)
    else:
        dist = None
        planar = {"home_x", "home_y"} <= set(t.columns)
        given = (home_x, home_y) if planar else (home_lat, home_lon)
        if any(v is None for v in given):
            raise SpmConfigError(
                "the territories' homes are "
                + (
                    "planar: give home_x and home_y"
                    if planar
                    else "lat/lon: give home_lat and home_lon"
                )
                + f" for {territory_id!r}"
            )
        keys = ("home_x", "home_y") if planar else ("home_lat", "home_lon")
        row.update(dict(zip(keys, given, strict=True)))
    t = t.copy()
    if "capacity" not in t.columns:
        t["capacity"] = 1.0
    row["capacity"] = capacity
    new = pd.DataFrame([row]).reindex(columns=t.columns)
    return problem.replace(territories=pd.concat([t, new], ignore_index=True), distance=dist)


def _extend_distance(
    problem: TerritoryProblem, territory_id: str, distances: Sequence[float] | pd.Series
) -> pd.DataFrame | np.ndarray:
    from spm_model.errors import SpmConfigError

    ids = problem.units["unit_id"].astype(str)
    if isinstance(distances, pd.Series):
        d = distances.copy()
        d.index = d.index.astype(str)
        missing = sorted(set(ids) - set(d.index))
        if missing:
            raise SpmConfigError(f"distances= has no value for unit(s) {missing[:10]}")
        col = d.reindex(ids).to_numpy(float)
    else:
        col = np.asarray(distances, dtype=float)
        if col.shape != (len(ids),):
            raise SpmConfigError(
                f"distances= needs one value per unit ({len(ids)}), got shape {col.shape}"
            )
    if not np.isfinite(col).all() or (col < 0).any():
        raise SpmConfigError("distances= must be finite and non-negative")
    dist = problem.distance
    if isinstance(dist, pd.DataFrame):
        out = dist.copy()
        out[territory_id] = (
            pd.Series(col, index=ids.to_numpy()).reindex(out.index.astype(str)).to_numpy()
        )
        return out
    return np.column_stack([np.asarray(dist, dtype=float), col])


def remove_territory(problem: TerritoryProblem, territory_id: str) -> TerritoryProblem:
    """Return a copy without ``territory_id``; its units become unassigned.

    Their reassignment is not counted as a move.

    Units locked to the removed territory are unlocked.
    """
    t = problem.territories
    u = problem.units.copy()
    if "current" in u.columns:
        u.loc[u["current"].astype(str) == territory_id, "current"] = None
    if "locked" in u.columns:
        u.loc[u["locked"].astype(str) == territory_id, "locked"] = None
    dist = problem.distance
    if isinstance(dist, pd.DataFrame):
        dist = dist.drop(columns=[territory_id])
    elif dist is not None:
        keep = (t["territory_id"].astype(str) != territory_id).to_numpy()
        dist = np.asarray(dist)[:, keep]
    return problem.replace(
        units=u, territories=t[t["territory_id"].astype(str) != territory_id], distance=dist
    )


def lock_units(problem: TerritoryProblem, locks: Mapping[str, str]) -> TerritoryProblem:
    """Return a copy with units pinned: ``locks`` maps unit_id to territory_id."""
    u = problem.units.copy()
    if "locked" not in u.columns:
        u["locked"] = None
    u["locked"] = u["locked"].astype(object)
    m = u["unit_id"].astype(str).map(dict(locks))
    u.loc[m.notna(), "locked"] = m[m.notna()]
    return problem.replace(units=u)


def compare_scenarios(
    base: TerritoryProblem,
    scenarios: Mapping[str, TerritoryProblem | Mapping],
    time_limit: float = 30.0,
    method: str = "auto",
    seed: int = 0,
    include_current: bool = True,
) -> tuple[pd.DataFrame, dict[str, AlignmentResult | str]]:
    """Solve several what-if variants and put their metrics side by side.

    Parameters
    ----------
    base : TerritoryProblem
        The base problem.
    scenarios : mapping of str to TerritoryProblem or dict
        Each value is a full problem (e.g. from :func:`add_territory`) or a dict of
        changed inputs (``{"tolerance": 0.03}``, ``{"max_moved": 0.10}``).
    time_limit : float
        Seconds per scenario.
    method : str
        Solver method (see :func:`~spm_model.territory.solve.solve`).
    seed : int
        Seed.
    include_current : bool
        Add a ``current`` column with the metrics of today's alignment.

    Returns
    -------
    (DataFrame, dict)
        Metrics (rows) by scenario (columns), plus ``gap`` and ``seconds`` rows;
        and the results by scenario (a message string for infeasible ones,
        whose column is then empty).
    """
    cols: dict[str, dict[str, float]] = {}
    results: dict[str, AlignmentResult | str] = {}
    if include_current:
        c0 = base.compile()
        cols["current"] = alignment_metrics(c0, c0.current0)
    for name, sc in scenarios.items():
        p = sc if isinstance(sc, TerritoryProblem) else base.replace(**dict(sc))
        try:
            r = solve(p, method=method, time_limit=time_limit, seed=seed)  # type: ignore[arg-type]
        except (InfeasibleAlignment, AlignmentNotFound) as exc:
            results[name] = str(exc)
            cols[name] = {}
            continue
        results[name] = r
        met = alignment_metrics(p.compile(), r.assign)
        met.update({"territories": float(p.compile().m), "gap": r.gap, "seconds": r.seconds})
        cols[name] = met
    return pd.DataFrame(cols), results


def tradeoff_frontier(
    problem: TerritoryProblem,
    budgets: Sequence[float] | None = None,
    time_limit: float = 20.0,
    method: str = "auto",
    seed: int = 0,
) -> pd.DataFrame:
    """Travel-versus-disruption frontier by the epsilon-constraint method.

    For each disruption budget ``eps`` (largest moved share), minimise travel
    subject to the balance tolerance and ``moved <= eps`` (disruption weight 0).
    Points that are infeasible are reported with ``feasible=False``; dominated
    points (more travel for more moves) are flagged, so a sales leader reads the
    efficient compromises directly.

    Parameters
    ----------
    problem : TerritoryProblem
        Base problem (its tolerance is kept; its budget and disruption weight are replaced).
    budgets : sequence of float, optional
        Moved-share budgets (fractions); default 0.02 to 0.30 and no budget.
    time_limit : float
        Seconds per point.
    method : str
        Solver method.
    seed : int
        Seed.

    Returns
    -------
    DataFrame
        One row per budget: ``max_moved``, ``feasible``, ``travel_<unit>``
        (e.g. ``travel_km``), ``accounts_moved_pct``, ``potential_moved_pct``
        (and ``<basis>_moved_pct`` for another disruption basis),
        ``mean_<unit>``, ``objective``, ``lower_bound``, ``gap``, ``dominated``,
        or the infeasibility message.
    """
    if budgets is None:
        budgets = [0.02, 0.05, 0.10, 0.15, 0.20, 0.30, 1.0]
    rows = []
    c0 = problem.compile()
    tkey, mkey = c0.dist_key("travel"), c0.dist_key("mean")
    for eps in budgets:
        p = problem.replace(max_moved=float(eps), disruption_weight=0.0)
        try:
            r = solve(p, method=method, time_limit=time_limit, seed=seed)  # type: ignore[arg-type]
        except (InfeasibleAlignment, AlignmentNotFound) as exc:
            rows.append({"max_moved": eps, "feasible": False, "message": str(exc)})
            continue
        m = alignment_metrics(p.compile(), r.assign)
        row: dict[str, object] = {
            "max_moved": eps,
            "feasible": True,
            tkey: m[tkey],
            "accounts_moved_pct": m["accounts_moved_pct"],
            "potential_moved_pct": m["potential_moved_pct"],
        }
        if f"{c0.moved_basis}_moved_pct" in m:
            row[f"{c0.moved_basis}_moved_pct"] = m[f"{c0.moved_basis}_moved_pct"]
        row.update(
            {
                mkey: m[mkey],
                "objective": r.objective,
                "lower_bound": r.lower_bound,
                "gap": r.gap,
                "message": "",
            }
        )
        rows.append(row)
    df = pd.DataFrame(rows)
    if tkey in df:
        ok = df["feasible"].astype(bool)
        tr = df[tkey].where(ok)
        best_so_far = tr.cummin().shift(1)
        df["dominated"] = ok & (tr >= best_so_far - 1e-9) & best_so_far.notna()
    return df
