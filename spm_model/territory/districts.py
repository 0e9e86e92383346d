"""Districts from scratch: choose territory centres jointly with a balanced alignment.

When no rep homes are given, :func:`design_districts` chooses ``k`` centres among
the units and the alignment around them by *location-allocation* (the classical
districting scheme of Hess et al., 1965; a capacitated p-median with balance):

1. **Seed** centres by k-means++ on the unit coordinates, weighted by the first
   measure, then a few unconstrained Lloyd steps; each centre snaps to the
   nearest unit.
2. **Allocate**: solve the balanced alignment (every measure within its
   tolerance of the equal share, contiguity if asked) with the centres as homes
   and the chosen objective, by :func:`~spm_model.territory.solve.solve`
   (LP bound, rounding, repair, MIP).
3. **Locate**: move each centre to the member unit that minimises the
   objective of its district (the weighted 1-median for ``"travel"``, the unit
   nearest the weighted centroid for ``"compactness"``).
4. Repeat 2-3 until the centres stop moving, the objective stops improving or
   time runs out. The whole search restarts from ``restarts`` different seedings
   (the time split evenly); the alignment with the lowest objective is kept.

Objectives
----------
``"compactness"`` (default) minimises the sum of squared distances from each
unit to its district centre: round, compact districts with a small diameter
(what a sales leader wants when drawing new territories, or a planner of
balanced service areas). ``"travel"`` minimises the sum of distances to the
centre (a p-median: the least total driving from a rep based at the centre).

What the bound means
--------------------
Each allocation is solved with a lower bound and a gap for *its* centres; the
reported gap is that of the final alignment given the final centres. The
choice of centres itself carries no optimality certificate (location-allocation
is a local search over centres), and the result says so in its notes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from spm_model.errors import SpmConfigError
from spm_model.territory.diagnose import AlignmentNotFound, InfeasibleAlignment
from spm_model.territory.problem import TerritoryProblem
from spm_model.territory.quiet import solver_stdout_silenced
from spm_model.territory.solve import AlignmentResult, solve


@dataclass
class DistrictDesign:
    """Districts designed from scratch.

    Attributes
    ----------
    result : AlignmentResult
        The final alignment; territories are the districts (``D01``...), their
        homes the chosen centres.
    centres : DataFrame
        ``territory_id``, ``centre_unit_id`` and the centre's coordinates.
    history : list of float
        Objective after each allocation.
    iterations : int
        Allocations solved.
    """

    result: AlignmentResult
    centres: pd.DataFrame
    history: list[float] = field(default_factory=list)
    iterations: int = 0


def _coords(units: pd.DataFrame) -> tuple[np.ndarray, bool]:
    if {"lat", "lon"} <= set(units.columns):
        lat = pd.to_numeric(units["lat"], errors="coerce").to_numpy(float)
        lon = pd.to_numeric(units["lon"], errors="coerce").to_numpy(float)
        return np.column_stack([lon * np.cos(np.radians(np.nanmean(lat))), lat]), False
    if {"x", "y"} <= set(units.columns):
        x = pd.to_numeric(units["x"], errors="coerce").to_numpy(float)
        y = pd.to_numeric(units["y"], errors="coerce").to_numpy(float)
        return np.column_stack([x, y]), True
    raise SpmConfigError("design_districts needs unit coordinates: lat/lon or x/y columns")


def _seed_centres(xy: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """K-means++ seeding weighted by ``w`` then 5 Lloyd steps; returns unit positions."""
    n = len(xy)
    p = w / w.sum() if w.sum() > 0 else np.full(n, 1 / n)
    cent = [xy[rng.choice(n, p=p)]]
    d2 = ((xy - cent[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        q = w * d2
        q = q / q.sum() if q.sum() > 0 else np.full(n, 1 / n)
        cent.append(xy[rng.choice(n, p=q)])
        d2 = np.minimum(d2, ((xy - cent[-1]) ** 2).sum(axis=1))
    c = np.array(cent)
    for _ in range(5):
        lab = ((xy[:, None, :] - c[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        for j in range(k):
            mem = lab == j
            if mem.any():
                c[j] = np.average(xy[mem], axis=0, weights=np.maximum(w[mem], 1e-12))
    return _snap(xy, c)


def _snap(xy: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Distinct units nearest each point (greedy, in order)."""
    out = np.empty(len(points), dtype=int)
    taken = np.zeros(len(xy), dtype=bool)
    for j, pt in enumerate(points):
        d = ((xy - pt) ** 2).sum(axis=1)
        d[taken] = np.inf
        out[j] = int(np.argmin(d))
        taken[out[j]] = True
    return out


def _locate(
    xy: np.ndarray, w: np.ndarray, assign: np.ndarray, k: int, objective: str, old: np.ndarray
) -> np.ndarray:
    """Best centre unit of each district (see the module docstring)."""
    new = old.copy()
    for j in range(k):
        mem = np.flatnonzero(assign == j)
        if not len(mem):
            continue
        if objective == "compactness":
            ctr = np.average(xy[mem], axis=0, weights=np.maximum(w[mem], 1e-12))
            new[j] = mem[np.argmin(((xy[mem] - ctr) ** 2).sum(axis=1))]
        else:
            d = np.hypot(xy[mem, None, 0] - xy[None, mem, 0], xy[mem, None, 1] - xy[None, mem, 1])
            new[j] = mem[np.argmin(d @ w[mem])]
    return new


#: ``method="auto"`` designs districts with the exact MIP up to this many units (n^2
#: assignment variables: 150 units are 22,500, solved in seconds to a minute here).
EXACT_MAX_UNITS = 150


def _exact_blockers(u: pd.DataFrame, adjacency: object, cap: np.ndarray, n: int) -> str:
    """Why the exact design MIP does not apply ("" when it does)."""
    if adjacency is not None:
        return "contiguity is asked (the MIP has no connectivity rows)"
    for col in ("locked", "family"):
        if (
            col in u.columns
            and u[col].notna().any()
            and (u[col].astype(str).str.strip() != "").any()
        ):
            return f"units have a '{col}' column"
    if not np.allclose(cap, cap[0]):
        return "district capacities differ (the MIP's districts are interchangeable)"
    return ""


def _unit_matrix(distance: pd.DataFrame, uid: np.ndarray, source: str) -> np.ndarray:
    """Return the unit-by-unit distance matrix in the units' order, checked."""
    d = distance.copy()
    d.index = d.index.astype(str).str.strip()
    d.columns = d.columns.astype(str).str.strip()
    missing = [x for x in uid if x not in d.index or x not in d.columns]
    if missing:
        raise SpmConfigError(
            f"{source}: the distance matrix has no row or column for unit(s) {missing[:10]} "
            "(designing districts needs every unit's distance to every unit)"
        )
    out = d.loc[list(uid), list(uid)].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    if not np.isfinite(out).all() or (out < 0).any():
        raise SpmConfigError(f"{source}: distances must be non-negative numbers")
    return out


def _haversine_matrix(u: pd.DataFrame) -> np.ndarray:
    from spm_model.territory.geo import distance_matrix_km

    lat = pd.to_numeric(u["lat"], errors="coerce").to_numpy(float)
    lon = pd.to_numeric(u["lon"], errors="coerce").to_numpy(float)
    return distance_matrix_km(lat, lon, lat, lon)


def _exact_design(
    problem: Callable[[np.ndarray], TerritoryProblem],
    d: np.ndarray,
    k: int,
    time_limit: float,
    gap_target: float,
    t0: float,
) -> tuple[AlignmentResult, np.ndarray] | None:
    """Centres and alignment by one MIP over every unit as a candidate centre.

    ``problem(centres)`` is the alignment problem with those units as homes and
    ``d`` the unit-by-unit distances it uses. The MIP (strong formulation:
    ``x[i, j] <= y[j]``) minimises the design objective under each district's
    band (equal capacities: the same band for every district) and ``max_``
    limits. Returns the alignment around the chosen centres, re-solved by
    :func:`solve` (its own certificate for those centres), with the MIP's dual
    bound, which covers the choice of centres, as the design's lower bound;
    ``None`` when the MIP found no solution within the time limit.
    """
    import scipy.sparse as sp
    from scipy.optimize import Bounds, LinearConstraint, milp

    from spm_model.territory.solve import GAP_NOISE, _gap

    template = problem(np.arange(k))
    c = template.compile()
    n = c.n
    w = c.travel_w0
    cost = c.travel_weight * w[:, None] * d + c.compactness_weight * w[:, None] * d**2
    lo, hi = c.lo[0], c.hi[0]
    nx = n * n
    # x[i, j] at i * n + j (unit i served from centre unit j); y[j] at nx + j
    cols_x = np.arange(nx)
    j_of = np.tile(np.arange(n), n)
    assign = sp.csr_matrix((np.ones(nx), (np.repeat(np.arange(n), n), cols_x)), shape=(n, nx + n))
    link = sp.csr_matrix(
        (np.r_[np.ones(nx), -np.ones(nx)], (np.r_[cols_x, cols_x], np.r_[cols_x, nx + j_of])),
        shape=(nx, nx + n),
    )
    count = sp.csr_matrix((np.ones(n), (np.zeros(n, int), nx + np.arange(n))), shape=(1, nx + n))
    y = sp.csr_matrix((np.ones(n), (np.arange(n), nx + np.arange(n))), shape=(n, nx + n))
    blocks = [assign, link, count]
    lbs = [np.ones(n), np.full(nx, -np.inf), np.array([float(k)])]
    ubs = [np.ones(n), np.zeros(nx), np.array([float(k)])]
    for m in range(c.values.shape[1]):
        a = c.values[:, m]
        if not (a > 0).any():
            continue
        load = sp.csr_matrix((np.repeat(a, n), (j_of, cols_x)), shape=(n, nx + n))
        blocks += [load - hi[m] * y, load - lo[m] * y]
        lbs += [np.full(n, -np.inf), np.zeros(n)]
        ubs += [np.zeros(n), np.full(n, np.inf)]
    left = max(time_limit - (time.perf_counter() - t0), 1.0)
    with solver_stdout_silenced():  # HiGHS's stray MIP debug line (see .quiet)
        res = milp(
            np.r_[cost.ravel(), np.zeros(n)],
            constraints=LinearConstraint(
                sp.vstack(blocks).tocsr(), np.concatenate(lbs), np.concatenate(ubs)
            ),
            integrality=np.ones(nx + n),
            bounds=Bounds(0, 1),
            options={"time_limit": left, "mip_rel_gap": gap_target, "disp": False},
        )
    if res.x is None:
        return None
    centres = np.flatnonzero(res.x[nx:] > 0.5)
    bound = float(getattr(res, "mip_dual_bound", np.nan))
    if not np.isfinite(bound):
        bound = float(res.fun) if res.status == 0 else -np.inf
    r = solve(
        problem(centres),
        method="mip",
        time_limit=max(time_limit - (time.perf_counter() - t0), 1.0),
        gap_target=gap_target,
    )
    r.lower_bound = min(bound, r.lower_bound)
    r.gap = _gap(r.objective, r.lower_bound)
    r.status = "optimal" if r.gap <= gap_target + GAP_NOISE else "feasible"
    r.gap_target = gap_target
    r.notes.append(
        "Centres and alignment chosen together by one MIP (every unit a candidate centre): "
        "the bound covers the choice of centres."
    )
    r.seconds = time.perf_counter() - t0
    return r, centres


def design_districts(
    units: pd.DataFrame,
    n_districts: int,
    measures: Sequence[str] = ("potential", "workload"),
    tolerance: float | Mapping[str, float] = 0.05,
    adjacency: pd.DataFrame | np.ndarray | str | None = None,
    objective: Literal["compactness", "travel"] = "compactness",
    time_limit: float = 60.0,
    seed: int = 0,
    max_iter: int = 12,
    source: str = "<memory>",
    distance_unit: str | None = None,
    capacity: Sequence[float] | None = None,
    restarts: int = 4,
    gap_target: float = 5e-3,
    method: Literal["auto", "exact", "local"] = "auto",
    max_load: Mapping[str, float] | None = None,
    distance: pd.DataFrame | None = None,
) -> DistrictDesign:
    """Design ``n_districts`` balanced districts and their centres from the units alone.

    Parameters
    ----------
    units : DataFrame
        ``unit_id``, ``lat``/``lon`` (degrees) or ``x``/``y`` (planar), one
        column per measure; optional ``travel_weight`` (weights the distances
        and the centre choice), ``locked``, ``family`` as in
        :class:`~spm_model.territory.TerritoryProblem`. A ``current`` column is
        ignored (a design from scratch has no disruption).
    n_districts : int
        Number of districts (>= 1, at most the number of units).
    measures : sequence of str
        Measures to balance.
    tolerance : float or mapping
        Allowed relative deviation from the equal share (fraction), one for all
        measures or one per measure.
    adjacency : DataFrame, ndarray or "delaunay", optional
        Unit adjacency; when given every district is connected.
    objective : {"compactness", "travel"}
        Sum of squared distances to the centre, or sum of distances (p-median).
    time_limit : float
        Seconds in total.
    seed : int
        Seed of the centre seeding and of the search.
    max_iter : int
        Largest number of allocate/locate rounds.
    source : str
        Where the units came from (error messages).
    distance_unit : str, optional
        Unit name of the coordinates (default ``km`` for lat/lon, ``dist`` for x/y).
    capacity : sequence of float, optional
        Relative size (FTE) of each district; default equal.
    restarts : int
        Independent seedings of the centres (each gets an equal share of the time).
    gap_target : float
        Gap (fraction) at which each allocation stops.
    method : {"auto", "exact", "local"}
        ``"exact"``: one MIP chooses the centres and the alignment together (a
        capacitated p-median with balance; its bound covers the choice of
        centres, so a proven result is optimal for the design), for problems
        without contiguity, locks or families and with equal capacities;
        ``"local"``: location-allocation (any problem; no bound on the choice of
        centres); ``"auto"`` (default): exact up to :data:`EXACT_MAX_UNITS` units
        when it applies, else local.
    max_load : mapping of str to float, optional
        Absolute upper limit of each district's load per measure (same units as
        the measure; e.g. a capacitated p-median's capacity), on top of the
        tolerance band (a tolerance of 1 or more leaves only these limits).
    distance : DataFrame, optional
        Unit-by-unit distances (index and columns unit ids; road km, drive
        minutes, a graph's shortest paths) instead of coordinates: each unit's
        distance to every candidate centre. Designs with the exact method (the
        local search needs coordinates).

    Returns
    -------
    DistrictDesign

    Raises
    ------
    SpmConfigError
        Bad ``n_districts`` or ``objective``, no coordinates.
    InfeasibleAlignment, AlignmentNotFound
        When the balance (and contiguity) cannot be met around the first centres.
    """
    t0 = time.perf_counter()
    if method not in ("auto", "exact", "local"):
        raise SpmConfigError(f"method must be 'auto', 'exact' or 'local', got {method!r}")
    unknown = sorted(set(max_load or {}) - set(measures))
    if unknown:
        raise SpmConfigError(f"max_load: {unknown} are not among the measures {list(measures)}")
    if objective not in ("compactness", "travel"):
        raise SpmConfigError(f"objective must be 'compactness' or 'travel', got {objective!r}")
    n = len(units)
    if not (1 <= int(n_districts) <= n):
        raise SpmConfigError(f"n_districts must be between 1 and {n} (units), got {n_districts}")
    k = int(n_districts)
    u = units.drop(columns=[c for c in ("current",) if c in units.columns]).reset_index(drop=True)
    uid = u["unit_id"].astype(str).str.strip().to_numpy()
    dmat = None if distance is None else _unit_matrix(distance, uid, source)
    if dmat is not None:
        has_xy = {"x", "y"} <= set(u.columns) or {"lat", "lon"} <= set(u.columns)
        xy, planar = _coords(u) if has_xy else (np.full((n, 2), np.nan), True)
    else:
        xy, planar = _coords(u)
        if not np.isfinite(xy).all():
            raise SpmConfigError("design_districts needs a location for every unit")
    w = (
        pd.to_numeric(u["travel_weight"], errors="coerce").fillna(1.0).to_numpy(float)
        if "travel_weight" in u.columns
        else np.ones(n)
    )
    first = pd.to_numeric(u[measures[0]], errors="coerce").fillna(0).to_numpy(float)
    ids = [f"D{j + 1:0{len(str(k))}d}" for j in range(k)]
    hy, hx = ("home_y", "home_x") if planar else ("home_lat", "home_lon")
    yc, xc = ("y", "x") if planar else ("lat", "lon")
    cap = np.ones(k) if capacity is None else np.asarray(capacity, dtype=float)
    weights = (
        {"travel_weight": 0.0, "compactness_weight": 1.0}
        if objective == "compactness"
        else {"travel_weight": 1.0, "compactness_weight": 0.0}
    )

    def problem(cen: np.ndarray) -> TerritoryProblem:
        homes = (
            {}
            if dmat is not None
            else {hy: u[yc].to_numpy(float)[cen], hx: u[xc].to_numpy(float)[cen]}
        )
        terrs = pd.DataFrame(
            {
                "territory_id": ids,
                **homes,
                "capacity": cap,
                **{f"max_{k}": float(v) for k, v in (max_load or {}).items()},
            }
        )
        return TerritoryProblem(
            u,
            terrs,
            measures=tuple(measures),
            tolerance=tolerance,
            adjacency=adjacency,
            source=source,
            distance_unit=distance_unit,
            travel_weight=weights["travel_weight"],
            compactness_weight=weights["compactness_weight"],
            distance=None if dmat is None else pd.DataFrame(dmat[:, cen], index=uid, columns=ids),
        )

    def centres_table(centres: np.ndarray) -> pd.DataFrame:
        out = {"territory_id": ids, "centre_unit_id": uid[centres]}
        if np.isfinite(xy).all():
            out |= {yc: u[yc].to_numpy(float)[centres], xc: u[xc].to_numpy(float)[centres]}
        return pd.DataFrame(out)

    why_not = _exact_blockers(u, adjacency, cap, n)
    if dmat is not None and method == "local":
        raise SpmConfigError("method 'local' needs unit coordinates, not a distance matrix")
    if (method == "exact" or dmat is not None) and why_not:
        raise SpmConfigError(f"method 'exact' is not available here: {why_not}")
    if (
        method == "exact"
        or dmat is not None
        or (method == "auto" and not why_not and n <= EXACT_MAX_UNITS)
    ):
        if dmat is None:
            dmat = (
                np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
                if planar
                else _haversine_matrix(u)
            )
        exact = _exact_design(problem, dmat, k, time_limit, gap_target, t0)
        if exact is not None:
            res, centres = exact
            return DistrictDesign(
                result=res, centres=centres_table(centres), history=[res.objective], iterations=1
            )
        if method == "exact" or distance is not None:
            raise AlignmentNotFound(
                f"the exact design MIP found no districts within {time_limit:g} s"
            )

    best: AlignmentResult | None = None
    best_centres = np.arange(k)
    history: list[float] = []
    it = 0
    restarts = max(1, int(restarts))
    for rs in range(restarts):
        end = t0 + time_limit * (rs + 1) / restarts
        if best is not None and end - time.perf_counter() < 1.0:
            break
        centres = _seed_centres(xy, first * w, k, np.random.default_rng([seed, rs]))
        seen: set[tuple[int, ...]] = set()
        run_best = np.inf
        for j in range(max_iter):
            left = end - time.perf_counter()
            if best is not None and left < 0.5:
                break
            seen.add(tuple(sorted(centres.tolist())))
            # the first allocation gets a larger share: it must find a feasible alignment
            share = 0.5 if j == 0 else 1.0 / max(2, max_iter - j)
            try:
                r = solve(
                    problem(centres),
                    method="auto",
                    time_limit=max(left * share, 1.0),
                    seed=seed + it,
                    gap_target=gap_target,
                )
            except (InfeasibleAlignment, AlignmentNotFound):
                if best is None and rs == restarts - 1:
                    raise
                break  # these centres admit no balanced (connected) alignment
            it += 1
            history.append(r.objective)
            if best is None or r.objective < best.objective - 1e-9 * max(1.0, abs(best.objective)):
                best, best_centres = r, centres
            if r.objective >= run_best - 1e-9 * max(1.0, abs(run_best)):
                break  # locating no longer helps this run
            run_best = r.objective
            new = _locate(xy, w, r.assign, k, objective, centres)
            if tuple(sorted(new.tolist())) in seen:
                break
            centres = new
    assert best is not None
    best.centres_chosen = True
    best.status = "feasible"  # the centres come from a local search: nothing proves them best
    best.notes.append(
        f"Centres chosen by location-allocation ({it} allocation(s), {restarts} seeding(s)); "
        "the bound and gap "
        "refer to the alignment given these centres, not to the choice of centres."
    )
    best.seconds = time.perf_counter() - t0
    return DistrictDesign(
        result=best, centres=centres_table(best_centres), history=history, iterations=it
    )
