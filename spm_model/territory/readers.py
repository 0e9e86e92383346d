"""Read territory inputs from files: units, territories, distance matrices, locks, adjacency.

Every reader accepts CSV, Parquet or Excel (first sheet) and reports every
problem with the file, the row as a person sees it in a spreadsheet (header =
row 1) and the column, as :class:`~spm_model.errors.SpmDataError`. Ids are read
as text, so ``007`` stays ``007``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from spm_model.errors import Problem, SpmDataError

UNIT_ID_COLUMNS = ("unit_id", "account_id", "id")
TERRITORY_ID_COLUMNS = ("territory_id", "rep_id", "district_id")
FROM_COLUMNS = ("unit_id", "account_id", "from", "origin")
TO_COLUMNS = ("territory_id", "rep_id", "to", "destination")


def read_table(path: str | Path, what: str) -> pd.DataFrame:
    """Read a CSV, Parquet or Excel file with every column as text.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        What the file holds (for error messages), e.g. ``"units"``.

    Returns
    -------
    DataFrame
        Column names stripped of surrounding spaces; values as ``str`` (empty
        cells are missing).

    Raises
    ------
    SpmDataError
        When the file is missing, unreadable or has no columns.
    """
    p = Path(path)
    if not p.exists():
        raise SpmDataError(Problem(str(p), what, None, None, "file not found"))
    try:
        suffix = p.suffix.lower()
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(p)
            df = df.astype({c: str for c in df.columns}).where(df.notna(), None)
        elif suffix in (".xlsx", ".xls"):
            df = pd.read_excel(p, dtype=str)
        else:
            df = pd.read_csv(p, dtype=str, skipinitialspace=True)
    except Exception as exc:  # unreadable: say which file and why
        raise SpmDataError(
            Problem(str(p), what, None, None, f"cannot read the file ({exc})")
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    if len(df.columns) == 0:
        raise SpmDataError(Problem(str(p), what, None, None, "the file has no columns"))
    return df


def _id_column(df: pd.DataFrame, names: Sequence[str], path: Path, what: str) -> str:
    for c in names:
        if c in df.columns:
            return c
    raise SpmDataError(
        Problem(
            str(path),
            what,
            None,
            names[0],
            f"no id column: expected one of {list(names)}, found {list(df.columns)}",
        )
    )


def _numeric(
    df: pd.DataFrame, col: str, path: Path, what: str, problems: list[Problem]
) -> np.ndarray:
    raw = df[col]
    vals = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    for i in np.flatnonzero(~np.isfinite(vals)):
        problems.append(
            Problem(str(path), what, int(i) + 2, col, f"not a number ({raw.iloc[i]!r})")
        )
    return vals


def read_units(
    path: str | Path,
    measures: Sequence[str],
    id_column: str | None = None,
    need_location: bool = True,
) -> pd.DataFrame:
    """Read a units table (accounts or geographic units).

    Parameters
    ----------
    path : str or Path
        File with an id column (``unit_id``, ``account_id`` or ``id``, or
        ``id_column``), one column per measure, and ``lat``/``lon`` (degrees)
        or ``x``/``y`` (planar). Optional columns of
        :class:`~spm_model.territory.TerritoryProblem` (``current``, ``locked``,
        ``family``, ``accounts``, ``travel_weight``) pass through.
    measures : sequence of str
        Measure columns that must be present.
    id_column : str, optional
        Name of the id column when it is not one of the usual names.
    need_location : bool
        Require coordinates (no distance matrix supplied).

    Returns
    -------
    DataFrame
        With the id column renamed ``unit_id``; measures and coordinates numeric.

    Raises
    ------
    SpmDataError
        Missing columns, empty or duplicate ids, non-numeric values (every
        problem, with row and column).
    """
    p = Path(path)
    df = read_table(p, "units")
    idc = id_column if id_column is not None else _id_column(df, UNIT_ID_COLUMNS, p, "units")
    problems: list[Problem] = []
    if idc not in df.columns:
        problems.append(Problem(str(p), "units", None, idc, "id column not found"))
    for k in measures:
        if k not in df.columns:
            problems.append(Problem(str(p), "units", None, k, "measure column not found"))
    has_ll = {"lat", "lon"} <= set(df.columns)
    has_xy = {"x", "y"} <= set(df.columns)
    if need_location and not (has_ll or has_xy):
        problems.append(
            Problem(
                str(p),
                "units",
                None,
                "lat/lon",
                "no coordinates: give lat and lon (degrees) or x and y (planar), "
                "or a distance matrix with --distance",
            )
        )
    if problems:
        raise SpmDataError(problems)
    df = df.rename(columns={idc: "unit_id"})
    ids = df["unit_id"].astype(str).str.strip()
    blank = df["unit_id"].isna() | (ids == "")
    for i in np.flatnonzero(blank.to_numpy()):
        problems.append(Problem(str(p), "units", int(i) + 2, idc, "empty id"))
    for i in np.flatnonzero((ids.duplicated() & ~blank).to_numpy()):
        problems.append(Problem(str(p), "units", int(i) + 2, idc, f"duplicate id {ids.iloc[i]!r}"))
    num_cols = list(measures) + (["lat", "lon"] if has_ll else ["x", "y"] if has_xy else [])
    for c in ("accounts", "travel_weight"):
        if c in df.columns:
            num_cols.append(c)
    out = df.copy()
    out["unit_id"] = ids
    for c in dict.fromkeys(num_cols):
        out[c] = _numeric(df, c, p, "units", problems)
    if problems:
        raise SpmDataError(problems)
    return out


def read_territories(path: str | Path) -> pd.DataFrame:
    """Read a territories (reps) table.

    Parameters
    ----------
    path : str or Path
        File with ``territory_id`` (or ``rep_id``), optional ``home_lat``/``home_lon``
        or ``home_x``/``home_y``, optional ``capacity`` (FTE) and optional absolute
        limits ``max_<measure>`` / ``min_<measure>`` (blank: none).

    Returns
    -------
    DataFrame
        With the id column renamed ``territory_id``; coordinates and capacity numeric.
    """
    p = Path(path)
    df = read_table(p, "territories")
    idc = _id_column(df, TERRITORY_ID_COLUMNS, p, "territories")
    df = df.rename(columns={idc: "territory_id"})
    df["territory_id"] = df["territory_id"].astype(str).str.strip()
    problems: list[Problem] = []
    for c in ("home_lat", "home_lon", "home_x", "home_y", "capacity"):
        if c in df.columns:
            df[c] = _numeric(df, c, p, "territories", problems)
    if problems:
        raise SpmDataError(problems)
    return df


def read_distance(path: str | Path) -> pd.DataFrame:
    """Read a unit-by-territory distance (or drive-time) matrix, long or wide.

    Long form: columns for the unit (``unit_id``, ``account_id``, ``from`` or
    ``origin``), the territory (``territory_id``, ``rep_id``, ``to`` or
    ``destination``) and exactly one value column (any name, any unit: km,
    miles, minutes). Wide form: the first column holds unit ids, every other
    column is a territory id.

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    DataFrame
        Index unit_id, one column per territory_id, float values.

    Raises
    ------
    SpmDataError
        Non-numeric or negative values, duplicate pairs, or missing pairs in the
        long form (each with row and column).
    """
    p = Path(path)
    df = read_table(p, "distance")
    src = str(p)
    problems: list[Problem] = []
    fcol = next((c for c in FROM_COLUMNS if c in df.columns), None)
    tcol = next((c for c in TO_COLUMNS if c in df.columns and c != fcol), None)
    if fcol is not None and tcol is not None and len(df.columns) == 3:
        vcol = next(c for c in df.columns if c not in (fcol, tcol))
        vals = _numeric(df, vcol, p, "distance", problems)
        for i in np.flatnonzero(np.isfinite(vals) & (vals < 0)):
            problems.append(Problem(src, "distance", int(i) + 2, vcol, f"negative ({vals[i]:g})"))
        u = df[fcol].astype(str).str.strip()
        t = df[tcol].astype(str).str.strip()
        dup = pd.Series(list(zip(u, t, strict=True))).duplicated().to_numpy()
        for i in np.flatnonzero(dup):
            problems.append(
                Problem(src, "distance", int(i) + 2, tcol, f"pair ({u[i]!r}, {t[i]!r}) repeated")
            )
        if problems:
            raise SpmDataError(problems)
        wide = pd.DataFrame({"u": u, "t": t, "v": vals}).pivot(index="u", columns="t", values="v")
        missing = np.argwhere(wide.isna().to_numpy())
        for i, j in missing[:20]:
            problems.append(
                Problem(
                    src,
                    "distance",
                    None,
                    vcol,
                    f"no value for unit {wide.index[i]!r} and territory {wide.columns[j]!r}",
                )
            )
        if len(missing) > 20:
            problems.append(
                Problem(src, "distance", None, vcol, f"... {len(missing) - 20} more missing pairs")
            )
        if problems:
            raise SpmDataError(problems)
        wide.index.name = "unit_id"
        wide.columns.name = None
        return wide.astype(float)
    if len(df.columns) < 2:
        raise SpmDataError(
            Problem(
                src,
                "distance",
                None,
                None,
                "expected a long matrix (unit_id, territory_id, value) or a wide one "
                "(unit id column, then one column per territory)",
            )
        )
    idc = df.columns[0]
    ids = df[idc].astype(str).str.strip()
    for i in np.flatnonzero(ids.duplicated().to_numpy()):
        problems.append(Problem(src, "distance", int(i) + 2, idc, f"unit {ids[i]!r} repeated"))
    out = pd.DataFrame(index=pd.Index(ids.to_numpy(), name="unit_id"))
    for c in df.columns[1:]:
        v = _numeric(df, c, p, "distance", problems)
        for i in np.flatnonzero(np.isfinite(v) & (v < 0)):
            problems.append(Problem(src, "distance", int(i) + 2, c, f"negative ({v[i]:g})"))
        out[str(c).strip()] = v
    if problems:
        raise SpmDataError(problems)
    return out


def read_locks(path: str | Path) -> dict[str, str]:
    """Read locked units: ``unit_id`` (or ``account_id``) and ``territory_id`` (or ``rep_id``).

    Returns
    -------
    dict of str to str
        unit_id -> territory_id.

    Raises
    ------
    SpmDataError
        Missing columns, empty cells, or a unit locked to two territories.
    """
    p = Path(path)
    df = read_table(p, "locks")
    uc = _id_column(df, (*FROM_COLUMNS[:2], "id"), p, "locks")
    tc = _id_column(df, (*TO_COLUMNS[:2], "locked"), p, "locks")
    problems: list[Problem] = []
    out: dict[str, str] = {}
    for i, (u, t) in enumerate(zip(df[uc], df[tc], strict=True)):
        if pd.isna(u) or not str(u).strip():
            problems.append(Problem(str(p), "locks", i + 2, uc, "empty unit id"))
            continue
        if pd.isna(t) or not str(t).strip():
            problems.append(Problem(str(p), "locks", i + 2, tc, "empty territory id"))
            continue
        u, t = str(u).strip(), str(t).strip()
        if u in out and out[u] != t:
            problems.append(
                Problem(str(p), "locks", i + 2, tc, f"unit {u!r} already locked to {out[u]!r}")
            )
        out[u] = t
    if problems:
        raise SpmDataError(problems)
    return out


def read_adjacency(path: str | Path) -> pd.DataFrame:
    """Read a unit adjacency edge list: columns ``unit_a`` and ``unit_b``.

    Returns
    -------
    DataFrame
        Columns ``unit_a``, ``unit_b`` (text).

    Raises
    ------
    SpmDataError
        Missing columns or empty cells (with row and column).
    """
    p = Path(path)
    df = read_table(p, "adjacency")
    missing = [c for c in ("unit_a", "unit_b") if c not in df.columns]
    if missing:
        raise SpmDataError(
            Problem(
                str(p),
                "adjacency",
                None,
                ",".join(missing),
                f"an edge list needs columns unit_a and unit_b, found {list(df.columns)}",
            )
        )
    problems = [
        Problem(str(p), "adjacency", int(i) + 2, c, "empty unit id")
        for c in ("unit_a", "unit_b")
        for i in np.flatnonzero((df[c].isna() | (df[c].astype(str).str.strip() == "")).to_numpy())
    ]
    if problems:
        raise SpmDataError(problems)
    return pd.DataFrame(
        {
            "unit_a": df["unit_a"].astype(str).str.strip(),
            "unit_b": df["unit_b"].astype(str).str.strip(),
        }
    )


def parse_measures(spec: str, default_tolerance: float) -> tuple[list[str], dict[str, float]]:
    """Parse ``"potential:0.05,workload:0.08"`` into measures and their tolerances.

    A measure without ``:tolerance`` takes ``default_tolerance``.

    Raises
    ------
    SpmConfigError
        An empty list, a repeated measure, or a tolerance that is not a fraction in [0, 1).
    """
    from spm_model.errors import SpmConfigError

    names: list[str] = []
    tol: dict[str, float] = {}
    for part in (s.strip() for s in spec.split(",")):
        if not part:
            continue
        name, _, val = part.partition(":")
        name = name.strip()
        if name in tol:
            raise SpmConfigError(f"--measures: {name!r} is given twice")
        try:
            t = float(val) if val.strip() else float(default_tolerance)
        except ValueError:
            raise SpmConfigError(
                f"--measures: tolerance of {name!r} must be a fraction (0.05 = +/-5%), got {val!r}"
            ) from None
        if not (0 <= t):
            raise SpmConfigError(
                f"--measures: tolerance of {name!r} must be a non-negative fraction "
                f"(0.05 = +/-5%; 1 or more leaves the lower side open; inf: not balanced), "
                f"got {t:g}"
            )
        names.append(name)
        tol[name] = t
    if not names:
        raise SpmConfigError("--measures: give at least one measure, e.g. potential:0.05")
    return names, tol


OBJECTIVES = ("travel", "disruption", "compactness")


def parse_objective(spec: str) -> dict[str, float]:
    """Parse ``"travel"`` or ``"travel:1,disruption:20"`` into objective weights.

    Returns
    -------
    dict
        ``travel_weight``, ``disruption_weight`` and ``compactness_weight``
        (missing terms are 0; a term named without a weight gets 1).

    Raises
    ------
    SpmConfigError
        Unknown term, negative or non-numeric weight, or all weights zero.
    """
    from spm_model.errors import SpmConfigError

    w = dict.fromkeys(OBJECTIVES, 0.0)
    for part in (s.strip() for s in spec.split(",")):
        if not part:
            continue
        name, _, val = part.partition(":")
        name = name.strip().lower()
        if name not in w:
            raise SpmConfigError(
                f"--objective: unknown term {name!r}; use {', '.join(OBJECTIVES)}, "
                "optionally weighted (travel:1,disruption:20)"
            )
        try:
            x = float(val) if val.strip() else 1.0
        except ValueError:
            raise SpmConfigError(
                f"--objective: weight of {name!r} is not a number: {val!r}"
            ) from None
        if not np.isfinite(x) or x < 0:
            raise SpmConfigError(f"--objective: weight of {name!r} must be >= 0, got {x:g}")
        w[name] = x
    if sum(w.values()) <= 0:
        raise SpmConfigError("--objective: give at least one term with a positive weight")
    return {f"{k}_weight": v for k, v in w.items()}
