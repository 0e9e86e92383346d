"""The territory alignment problem: validated inputs and their compiled arrays.

A *unit* is what gets assigned: an account, or a geographic basic unit (a ZIP-like
area aggregating accounts). A *territory* is a rep (or a territory centre) with a
home location and a capacity in FTE. :class:`TerritoryProblem` takes plain
DataFrames, checks them (every problem at once, as :class:`~spm_model.errors.SpmDataError`)
and compiles them into arrays the solvers share (:class:`Compiled`).

Model
-----
Binary ``x[u, t] = 1`` when unit ``u`` goes to territory ``t``; every unit goes to
exactly one territory. For every measure ``k`` (potential, workload, ...) and
territory ``t`` the load ``sum_u a[u, k] x[u, t]`` must lie within
``(1 +/- tau_k) * target[t, k]`` where ``target[t, k] = capacity[t] / sum(capacity)
* total_k`` (the capacity-weighted mean); a tolerance of 1 or more leaves the lower side
open (the band starts at 0) and ``inf`` leaves the measure unbalanced. Optional territory
columns ``max_<measure>`` and ``min_<measure>`` add absolute limits per territory (same
units as the measure): a capacitated assignment (each centre serving at most its
capacity, nothing asked of balance) is tolerance ``inf`` and ``max_demand``. The
objective is::

    travel_weight * sum_u w_u * dist[u, t] * x[u, t]
      + compactness_weight * sum_u w_u * dist[u, t] ** 2 * x[u, t]
      + disruption_weight * sum_u (s_u / mean s) * [t != current(u)] * x[u, t]

with ``w_u`` the unit's travel weight (visits, default 1), ``dist`` the distance
from the unit to the territory's home (haversine km, planar Euclidean, or a
supplied matrix in any unit) and ``s_u`` the unit's disruption size (its number
of accounts, or the value of the measure named by ``moved_basis``). An optional
disruption budget keeps the moved share ``sum s_u [moved] / sum s_u`` (over units
that have a current territory) at most ``max_moved``. Locked units are fixed to
their territory; units of one family (``family`` column) are kept together by
merging them into one super-unit before solving. With adjacency, each territory
must be connected (flow constraints in :mod:`spm_model.territory.model`, border
moves in :mod:`spm_model.territory.contiguity`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from spm_model.errors import Problem, SpmConfigError, SpmDataError
from spm_model.territory.geo import delaunay_edges, distance_matrix_km

MovedBasis = str
"""``"accounts"`` or the name of a numeric unit column (a measure such as ``"potential"``)."""


@dataclass
class TerritoryProblem:
    """Inputs of a territory alignment.

    Parameters
    ----------
    units : DataFrame
        One row per unit. Columns: ``unit_id`` (str, unique); ``lat``, ``lon``
        (degrees) or planar ``x``, ``y`` (any length unit; required unless
        ``distance`` is given); one numeric column per
        name in ``measures`` (non-negative; e.g. potential in currency/year,
        workload in hours/year). Optional: ``current`` (territory id now covering
        the unit, empty for unassigned units), ``locked`` (territory id the unit
        is pinned to), ``family`` (units sharing a value stay together),
        ``accounts`` (number of accounts in the unit, default 1) and
        ``travel_weight`` (visits per year or similar, default 1).
    territories : DataFrame
        One row per territory/rep: ``territory_id`` (str, unique), ``home_lat``,
        ``home_lon`` (degrees) or ``home_x``, ``home_y`` (planar; required unless
        ``distance`` is given) and
        optional ``capacity`` (FTE, > 0, default 1.0). A territory's balance
        target is its capacity share of each measure's total. Optional
        ``max_<measure>`` / ``min_<measure>`` (same units as the measure; blank:
        none) cap or floor a territory's load in absolute terms.
    measures : sequence of str
        Measure columns to balance.
    tolerance : float or mapping of str to float
        Allowed relative deviation from each territory's target, as a fraction
        (0.05 = +/-5%), one value for all measures or one per measure; 1 or
        more leaves the lower side open, ``inf`` does not balance the measure
        (only its ``max_<measure>`` / ``min_<measure>`` limits bind).
    max_moved : float, optional
        Disruption budget: the largest fraction of accounts (or of potential, see
        ``moved_basis``) whose owner may change; ``None`` for no budget.
    moved_basis : str
        What the disruption budget and penalty count: ``"accounts"`` or the name
        of a numeric unit column (``"potential"``, ``"workload"``...). Metrics
        report it as ``<moved_basis>_moved`` and ``<moved_basis>_moved_pct``.
    potential_column : str
        Column reported as ``potential_moved`` (and used when
        ``moved_basis="potential"``).
    travel_weight : float
        Weight of travel in the objective (per distance unit).
    compactness_weight : float
        Weight of the squared distance of each unit to its territory's home
        (centre) in the objective (per squared distance unit); favours round,
        compact territories over merely short total travel.
    disruption_weight : float
        Penalty per moved average account (or per moved average unit of
        potential), in km-equivalents; 0 leaves disruption to the budget.
    distance : DataFrame or ndarray, optional
        Unit-by-territory distance or drive-time matrix (rows in ``units`` order,
        or a DataFrame indexed by unit_id with territory_id columns). Replaces
        haversine distances.
    distance_unit : str, optional
        Unit of the distances, used in metric names (``mean_<unit>``) and
        reports: default ``"km"`` for haversine distances and ``"dist"`` for
        planar coordinates or a supplied matrix.
    adjacency : DataFrame, ndarray or "delaunay", optional
        Unit adjacency for contiguity: a DataFrame with columns ``unit_a``,
        ``unit_b`` (unit ids), an integer array of position pairs, or
        ``"delaunay"`` to derive it from a Delaunay triangulation of the unit
        locations. ``None`` means no contiguity requirement.
    source : str
        Where the inputs came from, used in error messages.
    """

    units: pd.DataFrame
    territories: pd.DataFrame
    measures: Sequence[str] = ("potential", "workload")
    tolerance: float | Mapping[str, float] = 0.05
    max_moved: float | None = None
    moved_basis: MovedBasis = "accounts"
    potential_column: str = "potential"
    travel_weight: float = 1.0
    disruption_weight: float = 0.0
    distance: pd.DataFrame | np.ndarray | None = None
    adjacency: pd.DataFrame | np.ndarray | str | None = None
    source: str = "<memory>"
    compactness_weight: float = 0.0
    distance_unit: str | None = None
    _compiled: Compiled | None = field(default=None, init=False, repr=False, compare=False)

    def replace(self, **changes: object) -> TerritoryProblem:
        """Return a copy with some inputs changed (used by the what-if helpers)."""
        kw = {
            f: getattr(self, f)
            for f in (
                "units",
                "territories",
                "measures",
                "tolerance",
                "max_moved",
                "moved_basis",
                "potential_column",
                "travel_weight",
                "disruption_weight",
                "distance",
                "adjacency",
                "source",
                "compactness_weight",
                "distance_unit",
            )
        }
        kw.update(changes)
        return TerritoryProblem(**kw)  # type: ignore[arg-type]

    def tolerances(self) -> np.ndarray:
        """Tolerance per measure, as fractions, in ``measures`` order."""
        if isinstance(self.tolerance, Mapping):
            missing = [k for k in self.measures if k not in self.tolerance]
            if missing:
                raise SpmConfigError(f"tolerance: no value for measure(s) {missing}")
            tau = np.array([float(self.tolerance[k]) for k in self.measures])
        else:
            tau = np.full(len(self.measures), float(self.tolerance))
        if np.any(np.isnan(tau)) or np.any(tau < 0):
            raise SpmConfigError(
                "tolerance must be a non-negative fraction (0.05 = +/-5%; 1 or more leaves the "
                f"lower side open; inf: not balanced), got {self.tolerance!r}"
            )
        return tau

    def compile(self) -> Compiled:
        """Validate the inputs and build the solver arrays (cached)."""
        if self._compiled is None:
            self._compiled = _compile(self)
        return self._compiled


@dataclass
class Compiled:
    """Arrays shared by the solvers (built by :meth:`TerritoryProblem.compile`).

    Member level (``n0`` original units) and solve level (``n`` super-units after
    merging families) are kept side by side; ``group`` maps the first to the second.
    """

    unit_ids: np.ndarray  # (n0,) str
    territory_ids: np.ndarray  # (m,) str
    measures: list[str]
    lat: np.ndarray  # (n0,) or NaN; planar problems hold y here
    lon: np.ndarray  # planar problems hold x here
    home_lat: np.ndarray  # (m,)
    home_lon: np.ndarray
    values0: np.ndarray  # (n0, K) measure values per unit
    dist0: np.ndarray  # (n0, m) km (or supplied units)
    current0: np.ndarray  # (n0,) int territory index, -1 = none
    size0: np.ndarray  # (n0,) disruption size s_u
    accounts0: np.ndarray  # (n0,) number of accounts
    potential0: np.ndarray  # (n0,) potential (for reporting), 0 if no column
    travel_w0: np.ndarray  # (n0,)
    group: np.ndarray  # (n0,) super-unit index
    capacity: np.ndarray  # (m,)
    tau: np.ndarray  # (K,)
    target: np.ndarray  # (m, K)
    lo: np.ndarray  # (m, K)
    hi: np.ndarray  # (m, K)
    values: np.ndarray  # (n, K)
    cost: np.ndarray  # (n, m) objective coefficient of x[u, t]
    travel: np.ndarray  # (n, m) travel part of cost
    stay: sp.csr_matrix  # (n, m) disruption size kept if u goes to t
    size: np.ndarray  # (n,) disruption size of super-unit (units with a current owner)
    locked: np.ndarray  # (n,) int territory index, -1 = free
    edges: np.ndarray | None  # (e, 2) super-unit adjacency, None = no contiguity
    budget: float | None  # max disruption size moved, None = no budget
    size_total: float  # total disruption size of units with a current territory
    max_moved: float | None
    moved_basis: str
    travel_weight: float
    disruption_weight: float
    planar: bool = False  # lat/lon hold planar y/x, distances are Euclidean
    distance_unit: str = "km"
    compactness_weight: float = 0.0
    limit_lo: np.ndarray | None = None  # (m, K) absolute min_<measure> limits, NaN = none
    limit_hi: np.ndarray | None = None  # (m, K) absolute max_<measure> limits, NaN = none

    @property
    def n(self) -> int:
        """Number of solve-level units (families merged)."""
        return self.values.shape[0]

    @property
    def m(self) -> int:
        """Number of territories."""
        return len(self.territory_ids)

    def dist_key(self, stem: str) -> str:
        """Metric name with the distance unit, e.g. ``mean_km`` or ``mean_minutes``."""
        return f"{stem}_{self.distance_unit}"

    @property
    def has_locations(self) -> bool:
        """Whether every unit has coordinates (maps, Delaunay adjacency, diameters)."""
        return bool(np.isfinite(self.lat).all() and np.isfinite(self.lon).all())

    @property
    def current(self) -> np.ndarray:
        """Current territory per original unit (-1 when unassigned)."""
        return self.current0

    def expand(self, assign: np.ndarray) -> np.ndarray:
        """Member-level territory index for a solve-level assignment."""
        return np.asarray(assign)[self.group]

    def min_stay(self) -> float:
        """Smallest disruption size that must stay put under the budget (or -inf)."""
        return -np.inf if self.budget is None else self.size_total - self.budget

    def objective(self, assign: np.ndarray) -> float:
        """Objective value of a solve-level assignment."""
        return float(self.cost[np.arange(self.n), assign].sum())

    def loads(self, assign: np.ndarray) -> np.ndarray:
        """Territory loads, shape (m, K), of a solve-level assignment."""
        out = np.zeros((self.m, self.values.shape[1]))
        np.add.at(out, assign, self.values)
        return out

    def stay_of(self, u: np.ndarray | int, t: np.ndarray | int) -> np.ndarray:
        """Disruption size kept when units ``u`` go to territories ``t`` (broadcast), dense."""
        uu, tt = np.broadcast_arrays(np.atleast_1d(u), np.atleast_1d(t))
        if uu.size == 0:
            return np.zeros(uu.shape)
        st = self.stay
        flat_u, flat_t = uu.ravel(), tt.ravel()
        # CSR lookup: position of column t in row u (rows are short)
        out = np.zeros(flat_u.size)
        start, stop = st.indptr[flat_u], st.indptr[flat_u + 1]
        for r in range(int((stop - start).max(initial=0))):
            has = start + r < stop
            pos = np.where(has, start + r, 0)
            hit = has & (st.indices[pos] == flat_t)
            out[hit] = st.data[pos[hit]]
        return out.reshape(uu.shape)

    def stayed(self, assign: np.ndarray) -> float:
        """Disruption size that keeps its current territory."""
        return float(self.stay_of(np.arange(self.n), assign).sum())

    def violation(self, assign: np.ndarray, rtol: float = 1e-9) -> dict[str, float]:
        """Largest relative violation of balance, budget and lock constraints (0 = feasible)."""
        ld = self.loads(assign)
        scale = np.maximum(self.target, 1e-12)
        over = np.maximum(ld - self.hi, 0) / scale
        under = np.maximum(self.lo - ld, 0) / scale
        bal = float(max(over.max(initial=0), under.max(initial=0)))
        bud = 0.0
        if self.budget is not None and self.size_total > 0:
            bud = max(0.0, self.min_stay() - self.stayed(assign)) / self.size_total
        lock = float(np.sum((self.locked >= 0) & (self.locked != assign)))
        return {
            "balance": bal if bal > rtol else 0.0,
            "budget": bud if bud > rtol else 0.0,
            "locked": lock,
        }

    def is_feasible(self, assign: np.ndarray, rtol: float = 1e-7) -> bool:
        """Whether a solve-level assignment meets every constraint (contiguity aside)."""
        v = self.violation(assign, rtol)
        return v["balance"] == 0 and v["budget"] == 0 and v["locked"] == 0

    def current_super(self) -> np.ndarray:
        """Return the solve-level current alignment (largest current territory, -1 if none)."""
        out = np.full(self.n, -1)
        st = self.stay.tocoo()
        if st.nnz:
            order = np.lexsort((-st.data, st.row))
            first = np.unique(st.row[order], return_index=True)[1]
            out[st.row[order][first]] = st.col[order][first]
        return out


def _is_blank(s: pd.Series) -> pd.Series:
    return s.isna() | (s.astype(str).str.strip() == "")


def band_text(tolerance: float, digits: int = 1) -> str:
    """Say a tolerance in words: ``+/-5.0%``, ``up to +150.0% (no lower limit)``, ...."""
    if np.isinf(tolerance):
        return "not balanced"
    if tolerance >= 1:
        return f"up to +{tolerance:.{digits}%} (no lower limit)"
    return f"+/-{tolerance:.{digits}%}"


def _limit_column(terrs: pd.DataFrame, col: str, src: str, problems: list[Problem]) -> np.ndarray:
    """Read an optional absolute limit per territory (``min_``/``max_<measure>``; NaN: none)."""
    if col not in terrs.columns:
        return np.full(len(terrs), np.nan)
    raw = terrs[col]
    vals = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    blank = _is_blank(raw).to_numpy()
    for i in np.flatnonzero(~blank & ~np.isfinite(vals)):
        problems.append(
            Problem(src, "territories", int(i) + 2, col, f"not a number ({raw.iloc[i]!r})")
        )
    for i in np.flatnonzero(np.isfinite(vals) & (vals < 0)):
        problems.append(Problem(src, "territories", int(i) + 2, col, f"{vals[i]:g} must be >= 0"))
    return np.where(np.isfinite(vals) & (vals >= 0), vals, np.nan)


def _compile(p: TerritoryProblem) -> Compiled:
    problems: list[Problem] = []
    src = p.source
    measures = list(p.measures)
    if not measures:
        raise SpmConfigError("measures: give at least one measure column to balance")
    if not isinstance(p.moved_basis, str) or not p.moved_basis.strip():
        raise SpmConfigError(
            f"moved_basis must be 'accounts' or a unit column name, got {p.moved_basis!r}"
        )
    if p.max_moved is not None and not (0 <= float(p.max_moved) <= 1):
        raise SpmConfigError(f"max_moved must be a fraction in [0, 1], got {p.max_moved!r}")
    if p.travel_weight < 0 or p.disruption_weight < 0 or p.compactness_weight < 0:
        raise SpmConfigError(
            "travel_weight, compactness_weight and disruption_weight must be non-negative"
        )
    tau = p.tolerances()
    units = p.units.reset_index(drop=True)
    terrs = p.territories.reset_index(drop=True)
    need_loc = p.distance is None
    planar = not {"lat", "lon"} <= set(units.columns) and {"x", "y"} <= set(units.columns)
    ycol, xcol = ("y", "x") if planar else ("lat", "lon")
    hy, hx = ("home_y", "home_x") if planar else ("home_lat", "home_lon")
    ucols = ["unit_id", *measures] + ([ycol, xcol] if need_loc else [])
    tcols = ["territory_id"] + ([hy, hx] if need_loc else [])
    for table, df, cols in (("units", units, ucols), ("territories", terrs, tcols)):
        for c in cols:
            if c not in df.columns:
                problems.append(Problem(src, table, None, c, "required column is missing"))
    if problems:
        raise SpmDataError(problems)
    if len(units) == 0 or len(terrs) == 0:
        raise SpmDataError(
            Problem(
                src,
                "units" if len(units) == 0 else "territories",
                None,
                None,
                "no rows: need at least one unit and one territory",
            )
        )

    def row(i: int | np.integer) -> int:
        return int(i) + 2  # spreadsheet row: header is row 1

    uid = units["unit_id"].astype(str).str.strip()
    tid = terrs["territory_id"].astype(str).str.strip()
    for table, ids, col in (("units", uid, "unit_id"), ("territories", tid, "territory_id")):
        blank = _is_blank(units[col] if table == "units" else terrs[col])
        for i in np.flatnonzero(blank.to_numpy()):
            problems.append(Problem(src, table, row(i), col, "empty id"))
        dup = ids.duplicated(keep="first") & ~blank
        for i in np.flatnonzero(dup.to_numpy()):
            problems.append(Problem(src, table, row(i), col, f"duplicate id {ids.iloc[i]!r}"))
    tindex = {t: j for j, t in enumerate(tid)}
    m = len(tid)

    def numeric(
        table: str,
        df: pd.DataFrame,
        col: str,
        lo: float | None = None,
        hi: float | None = None,
        strict_lo: bool = False,
        what: str = "",
    ) -> np.ndarray:
        vals = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        for i in np.flatnonzero(~np.isfinite(vals)):
            shown = df[col].iloc[i]
            msg = (
                "missing location"
                if col in ("lat", "lon", "home_lat", "home_lon", "x", "y", "home_x", "home_y")
                else "missing or not a number"
            )
            problems.append(Problem(src, table, row(i), col, f"{msg} ({shown!r})" + what))
        ok = np.isfinite(vals)
        if lo is not None:
            bad = ok & ((vals <= lo) if strict_lo else (vals < lo))
            for i in np.flatnonzero(bad):
                problems.append(
                    Problem(
                        src,
                        table,
                        row(i),
                        col,
                        f"{vals[i]:g} must be {'>' if strict_lo else '>='} {lo:g}",
                    )
                )
        if hi is not None:
            for i in np.flatnonzero(ok & (vals > hi)):
                problems.append(Problem(src, table, row(i), col, f"{vals[i]:g} must be <= {hi:g}"))
        return vals

    values0 = np.column_stack([numeric("units", units, k, lo=0.0) for k in measures])
    if need_loc and planar:
        lat = numeric("units", units, "y")
        lon = numeric("units", units, "x")
        home_lat = numeric("territories", terrs, "home_y")
        home_lon = numeric("territories", terrs, "home_x")
    elif need_loc:
        lat = numeric("units", units, "lat", -90, 90)
        lon = numeric("units", units, "lon", -180, 180)
        home_lat = numeric("territories", terrs, "home_lat", -90, 90)
        home_lon = numeric("territories", terrs, "home_lon", -180, 180)
    else:
        lat = pd.to_numeric(
            units.get(ycol, pd.Series(np.nan, index=units.index)), errors="coerce"
        ).to_numpy(float)
        lon = pd.to_numeric(
            units.get(xcol, pd.Series(np.nan, index=units.index)), errors="coerce"
        ).to_numpy(float)
        home_lat = pd.to_numeric(
            terrs.get(hy, pd.Series(np.nan, index=terrs.index)), errors="coerce"
        ).to_numpy(float)
        home_lon = pd.to_numeric(
            terrs.get(hx, pd.Series(np.nan, index=terrs.index)), errors="coerce"
        ).to_numpy(float)
    capacity = (
        numeric("territories", terrs, "capacity", lo=0.0, strict_lo=True)
        if "capacity" in terrs.columns
        else np.ones(m)
    )
    limits = {
        side: {k: _limit_column(terrs, f"{side}_{k}", src, problems) for k in measures}
        for side in ("min", "max")
    }
    accounts0 = (
        numeric("units", units, "accounts", lo=0.0)
        if "accounts" in units.columns
        else np.ones(len(units))
    )
    travel_w0 = (
        numeric("units", units, "travel_weight", lo=0.0)
        if "travel_weight" in units.columns
        else np.ones(len(units))
    )
    if p.potential_column in units.columns:
        potential0 = (
            values0[:, measures.index(p.potential_column)]
            if p.potential_column in measures
            else numeric("units", units, p.potential_column, lo=0.0)
        )
    elif p.moved_basis == "potential":
        problems.append(
            Problem(
                src, "units", None, p.potential_column, "moved_basis='potential' needs this column"
            )
        )
        potential0 = np.zeros(len(units))
    else:
        potential0 = np.zeros(len(units))
    basis = p.moved_basis.strip()
    if basis == "accounts":
        size_basis0 = accounts0
    elif basis == "potential":
        size_basis0 = potential0  # read from potential_column
    elif basis in measures:
        size_basis0 = values0[:, measures.index(basis)]
    elif basis in units.columns:
        size_basis0 = numeric("units", units, basis, lo=0.0)
    else:
        problems.append(
            Problem(src, "units", None, basis, "moved_basis names a column that is missing")
        )
        size_basis0 = np.zeros(len(units))

    def territory_ref(col: str, what: str) -> np.ndarray:
        out = np.full(len(units), -1)
        if col not in units.columns:
            return out
        blank = _is_blank(units[col]).to_numpy()
        vals = units[col].astype(str).str.strip().to_numpy()
        for i in np.flatnonzero(~blank):
            j = tindex.get(vals[i])
            if j is None:
                problems.append(
                    Problem(
                        src,
                        "units",
                        row(i),
                        col,
                        f"{what} {vals[i]!r} is not a known territory/rep",
                    )
                )
            else:
                out[i] = j
        return out

    current0 = territory_ref("current", "current territory")
    locked0 = territory_ref("locked", "locked to")

    # families -> super-units
    n0 = len(units)
    if "family" in units.columns:
        fam_blank = _is_blank(units["family"]).to_numpy()
        fam = units["family"].where(~fam_blank, "").astype(str).str.strip()
        key = np.where(
            fam_blank,
            ("\x00unit:" + uid).to_numpy(dtype=object),
            ("\x00fam:" + fam).to_numpy(dtype=object),
        ).astype(str)
        _, group = np.unique(key, return_inverse=True)
        # keep first-appearance order
        order = pd.unique(group)
        remap = np.empty(len(order), dtype=np.int64)
        remap[order] = np.arange(len(order))
        group = remap[group]
    else:
        group = np.arange(n0)
    n = int(group.max()) + 1 if n0 else 0
    locked = np.full(n, -1)
    for i in np.flatnonzero(locked0 >= 0):
        g = group[i]
        if locked[g] >= 0 and locked[g] != locked0[i]:
            problems.append(
                Problem(
                    src,
                    "units",
                    row(i),
                    "locked",
                    f"family {units['family'].iloc[i]!r} is locked to two territories "
                    f"({tid.iloc[locked[g]]!r} and {tid.iloc[locked0[i]]!r})",
                )
            )
        locked[g] = locked0[i]
    if problems:
        raise SpmDataError(problems)

    # distances
    if p.distance is None and planar:
        dist0 = np.hypot(lat[:, None] - home_lat[None, :], lon[:, None] - home_lon[None, :])
    elif p.distance is None:
        dist0 = distance_matrix_km(lat, lon, home_lat, home_lon)
    else:
        dist0 = _distance_from_input(p.distance, uid, tid, src)
    unit_name = p.distance_unit or ("km" if p.distance is None and not planar else "dist")
    # disruption sizes
    size0 = np.asarray(size_basis0, dtype=float).copy()
    has_cur = current0 >= 0
    size_total = float(size0[has_cur].sum())
    mean_size = float(size0[has_cur].mean()) if has_cur.any() and size0[has_cur].mean() > 0 else 1.0

    G = sp.csr_matrix((np.ones(n0), (group, np.arange(n0))), shape=(n, n0))
    values = np.asarray(G @ values0)
    travel = p.travel_weight * np.asarray(G @ (travel_w0[:, None] * dist0))
    if p.compactness_weight > 0:
        travel = travel + p.compactness_weight * np.asarray(G @ (travel_w0[:, None] * dist0**2))
    stay = sp.csr_matrix((size0[has_cur], (group[has_cur], current0[has_cur])), shape=(n, m))
    stay.sum_duplicates()
    size = np.asarray(G @ np.where(has_cur, size0, 0.0)).ravel()
    cost = travel.copy()
    if p.disruption_weight > 0:
        cost += (p.disruption_weight / mean_size) * (size[:, None] - stay.toarray())
    totals = values0.sum(axis=0)
    target = capacity[:, None] / capacity.sum() * totals[None, :]
    lo = np.where(tau >= 1, 0.0, 1 - np.minimum(tau, 1.0))[None, :] * target
    # no territory can carry more than the whole total (an infinite tolerance: no balance)
    hi = np.minimum(
        np.where(np.isinf(tau), np.inf, 1 + tau)[None, :] * np.where(target > 0, target, 0.0),
        totals[None, :],
    )
    for j, k in enumerate(measures):  # absolute limits per territory (min_<k>, max_<k>)
        mn, mx = limits["min"][k], limits["max"][k]
        lo[:, j] = np.where(np.isnan(mn), lo[:, j], np.maximum(lo[:, j], mn))
        hi[:, j] = np.where(np.isnan(mx), hi[:, j], np.minimum(hi[:, j], mx))
        for t in np.flatnonzero(lo[:, j] > hi[:, j] * (1 + 1e-12)):
            problems.append(
                Problem(
                    src,
                    "territories",
                    int(t) + 2,
                    f"max_{k}" if not np.isnan(mx[t]) else f"min_{k}",
                    f"territory {tid.iloc[t]!r} must carry {k} between {lo[t, j]:,.6g} and "
                    f"{hi[t, j]:,.6g}: no load meets both (tolerance band and min_/max_ limits)",
                )
            )
    if problems:
        raise SpmDataError(problems)
    budget = None if p.max_moved is None else float(p.max_moved) * size_total

    edges = None
    if p.adjacency is not None:
        e0 = _edges_from_input(p.adjacency, uid, lat, lon, src, planar=planar)
        if len(e0):
            ge = np.sort(group[e0], axis=1)
            ge = ge[ge[:, 0] != ge[:, 1]]
            edges = np.unique(ge, axis=0) if len(ge) else np.empty((0, 2), dtype=np.int64)
        else:
            edges = np.empty((0, 2), dtype=np.int64)

    return Compiled(
        unit_ids=uid.to_numpy(dtype=object),
        territory_ids=tid.to_numpy(dtype=object),
        measures=measures,
        lat=lat,
        lon=lon,
        home_lat=home_lat,
        home_lon=home_lon,
        values0=values0,
        dist0=dist0,
        current0=current0,
        size0=size0,
        accounts0=accounts0,
        potential0=potential0,
        travel_w0=travel_w0,
        group=group,
        capacity=capacity,
        tau=tau,
        target=target,
        lo=lo,
        hi=hi,
        limit_lo=np.column_stack([limits["min"][k] for k in measures]),
        limit_hi=np.column_stack([limits["max"][k] for k in measures]),
        values=values,
        cost=cost,
        travel=travel,
        stay=stay,
        size=size,
        locked=locked,
        edges=edges,
        budget=budget,
        size_total=size_total,
        max_moved=None if p.max_moved is None else float(p.max_moved),
        moved_basis=basis,
        travel_weight=float(p.travel_weight),
        disruption_weight=float(p.disruption_weight),
        planar=planar,
        distance_unit=str(unit_name),
        compactness_weight=float(p.compactness_weight),
    )


def _distance_from_input(
    d: pd.DataFrame | np.ndarray, uid: pd.Series, tid: pd.Series, src: str
) -> np.ndarray:
    if isinstance(d, pd.DataFrame):
        d = d.copy()
        d.index = d.index.astype(str)
        d.columns = d.columns.astype(str)
        miss_u = sorted(set(uid) - set(d.index))
        miss_t = sorted(set(tid) - set(d.columns))
        probs = []
        if miss_u:
            probs.append(
                Problem(
                    src,
                    "distance",
                    None,
                    None,
                    f"no row for unit(s) {miss_u[:10]}{' ...' if len(miss_u) > 10 else ''}",
                )
            )
        if miss_t:
            probs.append(
                Problem(src, "distance", None, None, f"no column for territory(ies) {miss_t[:10]}")
            )
        if probs:
            raise SpmDataError(probs)
        arr = d.loc[list(uid), list(tid)].to_numpy(dtype=float)
    else:
        arr = np.asarray(d, dtype=float)
        if arr.shape != (len(uid), len(tid)):
            raise SpmDataError(
                Problem(
                    src,
                    "distance",
                    None,
                    None,
                    f"matrix shape {arr.shape} != (units, territories) = {(len(uid), len(tid))}",
                )
            )
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise SpmDataError(
            Problem(
                src,
                "distance",
                int(i) + 2,
                str(tid.iloc[j]),
                f"{int(bad.sum())} distance(s) missing or negative, first for unit {uid.iloc[i]!r}",
            )
        )
    return arr


def _edges_from_input(
    adj: pd.DataFrame | np.ndarray | str,
    uid: pd.Series,
    lat: np.ndarray,
    lon: np.ndarray,
    src: str,
    planar: bool = False,
) -> np.ndarray:
    if isinstance(adj, str):
        if adj != "delaunay":
            raise SpmConfigError(f"adjacency: expected an edge list or 'delaunay', got {adj!r}")
        if not (np.isfinite(lat).all() and np.isfinite(lon).all()):
            raise SpmDataError(
                Problem(
                    src,
                    "units",
                    None,
                    "x/y" if planar else "lat/lon",
                    "Delaunay adjacency needs a location for every unit",
                )
            )
        return delaunay_edges(lat, lon, planar=planar)
    if isinstance(adj, pd.DataFrame):
        cols = [c for c in ("unit_a", "unit_b") if c not in adj.columns]
        if cols:
            raise SpmDataError(
                Problem(
                    src,
                    "adjacency",
                    None,
                    ",".join(cols),
                    "edge list needs columns unit_a and unit_b",
                )
            )
        pos = {u: i for i, u in enumerate(uid)}
        a = adj["unit_a"].astype(str).str.strip().map(pos)
        b = adj["unit_b"].astype(str).str.strip().map(pos)
        probs = []
        for col, s, raw in (("unit_a", a, adj["unit_a"]), ("unit_b", b, adj["unit_b"])):
            for i in np.flatnonzero(s.isna().to_numpy()):
                probs.append(
                    Problem(src, "adjacency", int(i) + 2, col, f"unknown unit {raw.iloc[i]!r}")
                )
        if probs:
            raise SpmDataError(probs)
        e = np.column_stack([a.to_numpy(dtype=np.int64), b.to_numpy(dtype=np.int64)])
    else:
        e = np.asarray(adj, dtype=np.int64).reshape(-1, 2)
        if len(e) and (e.min() < 0 or e.max() >= len(uid)):
            raise SpmDataError(Problem(src, "adjacency", None, None, "edge position out of range"))
    e = np.sort(e, axis=1)
    e = e[e[:, 0] != e[:, 1]]
    return np.unique(e, axis=0) if len(e) else np.empty((0, 2), dtype=np.int64)
