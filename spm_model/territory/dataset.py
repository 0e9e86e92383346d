"""Build and solve alignments from a :class:`~spm_model.data.Dataset`.

Scope
-----
By default (``scope="region"``) every sales region is balanced on its own: each
region's accounts are shared among the region's account-owning reps, and every
rep's target is the region's capacity-weighted mean. This is what a sales leader
expects from a realignment: accounts stay with their region's management, no one
is asked to cover a far-away region, and a region that is short of reps shows up
as a headcount question (its potential per FTE is reported) rather than being
"fixed" by shipping accounts across the country. ``scope="all"`` balances the
whole company against one national mean.

Who owns what
-------------
Territories are the reps active on the ``as_of`` date whose role covers accounts
(``AE``, ``AM``, ``FIELD`` by default), with capacity = FTE. An account's current
territory is its owner row open on ``as_of``; accounts covered by someone outside
those reps (a manager covering a vacancy, say) or by nobody are *unassigned*:
they get an owner, and that does not count as a move. Accounts of one corporate
family (same top-level parent) stay together within a region.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from spm_model.data import Dataset
from spm_model.errors import Problem, SpmConfigError, SpmDataError
from spm_model.territory.diagnose import AlignmentNotFound, InfeasibleAlignment, solve_relaxing
from spm_model.territory.metrics import alignment_metrics, territory_table
from spm_model.territory.problem import TerritoryProblem
from spm_model.territory.solve import AlignmentResult, solve

OWNER_ROLES = ("AE", "AM", "FIELD")


def _family_roots(accounts: pd.DataFrame) -> pd.Series:
    parent = accounts.set_index("account_id")["parent_account_id"]
    parent = parent.where(parent.notna() & (parent.astype(str).str.strip() != ""), None)
    root = pd.Series(accounts["account_id"].to_numpy(), index=accounts["account_id"].to_numpy())
    cur = parent.reindex(root.index)
    for _ in range(50):  # climb the parent chain (bounded: cycles stop here)
        has = cur.notna()
        if not has.any():
            break
        root[has] = cur[has]
        cur = parent.reindex(root.to_numpy()).set_axis(root.index)
    return root


def owners_on(ds: Dataset, as_of: dt.date | pd.Timestamp, role: str = "owner") -> pd.Series:
    """Owner rep of every account on ``as_of`` (account_id -> rep_id; the latest row wins)."""
    a = ds.assignments
    d = pd.Timestamp(as_of)
    open_ = (
        (a["role"] == role) & (a["start_date"] <= d) & (a["end_date"].isna() | (a["end_date"] >= d))
    )
    cur = a[open_].sort_values("start_date")
    return cur.drop_duplicates("account_id", keep="last").set_index("account_id")["rep_id"]


def problem_from_dataset(
    ds: Dataset,
    as_of: dt.date | str | None = None,
    region: str | None = None,
    roles: Sequence[str] = OWNER_ROLES,
    measures: Sequence[str] = ("potential", "workload"),
    tolerance: float | dict[str, float] = 0.05,
    max_moved: float | None = None,
    moved_basis: Literal["accounts", "potential"] = "accounts",
    keep_families: bool = True,
    locked: dict[str, str] | None = None,
    adjacency: pd.DataFrame | str | None = None,
    **kwargs: Any,
) -> TerritoryProblem:
    """Territory problem for a dataset's accounts and account-owning reps.

    Parameters
    ----------
    ds : Dataset
        Accounts (location, potential in currency/year, workload in hours/year),
        reps (role, region, FTE, home) and assignments.
    as_of : date or str, optional
        Date of the current alignment (default ``ds.as_of``).
    region : str, optional
        Restrict to one region's accounts and reps.
    roles : sequence of str
        Roles whose reps own territories.
    measures : sequence of str
        Account columns to balance.
    tolerance, max_moved, moved_basis
        See :class:`TerritoryProblem`.
    keep_families : bool
        Keep accounts with the same top-level parent together.
    locked : dict, optional
        account_id -> rep_id pins (strategic accounts).
    adjacency : DataFrame or "delaunay", optional
        Account adjacency (columns ``unit_a``, ``unit_b``) for contiguity.
    **kwargs
        Passed to :class:`TerritoryProblem` (``travel_weight``, ``disruption_weight``...).

    Returns
    -------
    TerritoryProblem
    """
    as_of_ts = pd.Timestamp(as_of if as_of is not None else ds.as_of)
    src = f"{ds.source}"
    acc = ds.accounts.copy()
    reps = ds.reps
    problems: list[Problem] = []
    for k in measures:
        if k not in acc.columns:
            problems.append(
                Problem(src, "accounts", None, k, "measure column not found in accounts")
            )
    active = reps[
        reps["role"].isin(list(roles))
        & (reps["hire_date"] <= as_of_ts)
        & (reps["end_date"].isna() | (reps["end_date"] >= as_of_ts))
    ]
    if region is not None:
        if region not in set(reps["region"]):
            raise SpmConfigError(
                f"region {region!r} not found; regions: {sorted(set(reps['region']))}"
            )
        active = active[active["region"] == region]
        in_region = (acc["region"] == region) if "region" in acc.columns else None
        if in_region is None:
            cur = owners_on(ds, as_of_ts)
            rep_region = reps.set_index("rep_id")["region"]
            in_region = acc["account_id"].map(cur).map(rep_region) == region
        acc_rows = np.flatnonzero(in_region.to_numpy())
    else:
        acc_rows = np.arange(len(acc))
    if len(active) == 0:
        raise SpmConfigError(
            f"no active reps with roles {list(roles)} on {as_of_ts.date()}"
            + (f" in region {region!r}" if region else "")
        )
    rep_rows = {r: i for i, r in enumerate(reps["rep_id"])}
    for r in active["rep_id"]:
        i = rep_rows[r]
        for col in ("home_lat", "home_lon"):
            if pd.isna(reps[col].iloc[i]) and kwargs.get("distance") is None:
                problems.append(Problem(src, "reps", i + 2, col, f"rep {r!r} has no home location"))
    sub = acc.iloc[acc_rows]
    if kwargs.get("distance") is None:
        for col in ("lat", "lon"):
            for i in acc_rows[sub[col].isna().to_numpy()]:
                problems.append(
                    Problem(
                        src,
                        "accounts",
                        int(i) + 2,
                        col,
                        f"account {acc['account_id'].iloc[i]!r} has no location",
                    )
                )
    if problems:
        raise SpmDataError(problems)
    cur = owners_on(ds, as_of_ts)
    eligible = set(active["rep_id"])
    current = sub["account_id"].map(cur)
    current = current.where(current.isin(eligible), None)
    units = pd.DataFrame(
        {
            "unit_id": sub["account_id"].to_numpy(),
            "lat": sub["lat"].to_numpy(),
            "lon": sub["lon"].to_numpy(),
            **{k: sub[k].to_numpy() for k in measures},
            "current": current.to_numpy(),
        }
    )
    if moved_basis == "potential" and "potential" not in units.columns:
        units["potential"] = sub["potential"].to_numpy()
    if keep_families and "parent_account_id" in acc.columns:
        roots = _family_roots(acc)
        fam = sub["account_id"].map(roots)
        single = fam.map(fam.value_counts()) <= 1
        units["family"] = fam.where(~single, None).to_numpy()
    if locked:
        units["locked"] = units["unit_id"].map(locked)
        unknown_acc = sorted(set(locked) - set(acc["account_id"]))
        if unknown_acc:
            raise SpmDataError(
                Problem(
                    src,
                    "accounts",
                    None,
                    "account_id",
                    f"locked account(s) not found: {unknown_acc[:10]}",
                )
            )
        bad = {a: r for a, r in locked.items() if a in set(units["unit_id"]) and r not in eligible}
        if bad:
            raise SpmDataError(
                [
                    Problem(
                        src,
                        "reps",
                        None,
                        "rep_id",
                        f"account {a!r} is locked to {r!r}, which is not an active "
                        f"account-owning rep{' in ' + region if region else ''}",
                    )
                    for a, r in bad.items()
                ]
            )
    territories = pd.DataFrame(
        {
            "territory_id": active["rep_id"].to_numpy(),
            "home_lat": active["home_lat"].to_numpy(),
            "home_lon": active["home_lon"].to_numpy(),
            "capacity": active["fte"].to_numpy(),
        }
    )
    if isinstance(adjacency, pd.DataFrame):
        ids = set(units["unit_id"])
        adjacency = adjacency[
            adjacency["unit_a"].astype(str).isin(ids) & adjacency["unit_b"].astype(str).isin(ids)
        ]
    label = f"{src} ({region})" if region else src
    return TerritoryProblem(
        units=units,
        territories=territories,
        measures=tuple(measures),
        tolerance=tolerance,
        max_moved=max_moved,
        moved_basis=moved_basis,
        adjacency=adjacency,
        source=label,
        **kwargs,
    )


@dataclass
class DatasetAlignment:
    """Alignments of a dataset, one per scope (region, or ``"all"``)."""

    results: dict[str, AlignmentResult]
    as_of: pd.Timestamp
    scope: str
    errors: dict[str, str] = field(default_factory=dict)
    relaxed: dict[str, dict[str, float]] = field(default_factory=dict)

    def owners(self) -> pd.Series:
        """account_id -> new owner rep_id over all scopes."""
        parts = [r.alignment.set_index("unit_id")["territory_id"] for r in self.results.values()]
        return pd.concat(parts) if parts else pd.Series(dtype=object)

    def changes(self) -> pd.DataFrame:
        """Accounts whose owner changes: scope, account_id, from_rep_id, to_rep_id."""
        rows = []
        for name, r in self.results.items():
            al = r.alignment
            al = al[al["current"].isna() | al["moved"]]
            rows.append(
                pd.DataFrame(
                    {
                        "scope": name,
                        "account_id": al["unit_id"],
                        "from_rep_id": al["current"],
                        "to_rep_id": al["territory_id"],
                    }
                )
            )
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()

    def assignments(self, ds: Dataset, effective_date: object | None = None) -> pd.DataFrame:
        """Return the dataset's assignments table with the new alignment from ``effective_date``.

        Defaults to the day after ``as_of``.
        """
        from spm_model.territory.output import to_assignments

        eff = (
            pd.Timestamp(effective_date)
            if effective_date is not None
            else self.as_of + pd.Timedelta(days=1)
        )
        return to_assignments(ds.assignments, self.owners(), eff)

    def summary_table(self) -> pd.DataFrame:
        """Before/after per scope: balance, disruption, compactness and gap (one row per scope)."""
        rows = []
        for name, r in self.results.items():
            c = r.compiled
            b = alignment_metrics(c, c.current0)
            a = alignment_metrics(c, r.assign)
            row: dict[str, object] = {
                "scope": name,
                "reps": c.m,
                "accounts": len(c.unit_ids),
                "unassigned_before": int(b["unassigned"]),
            }
            for i, k in enumerate(c.measures):
                row[f"{k}_tolerance_pct"] = float(c.tau[i]) * 100.0
                row[f"{k}_max_dev_pct_before"] = b[f"{k}.max_dev_pct"]
                row[f"{k}_max_dev_pct_after"] = a[f"{k}.max_dev_pct"]
                row[f"{k}_cv_before"] = b[f"{k}.cv"]
                row[f"{k}_cv_after"] = a[f"{k}.cv"]
            row.update(
                {
                    "accounts_moved_pct": a["accounts_moved_pct"],
                    "potential_moved_pct": a["potential_moved_pct"],
                    "mean_km_before": b[c.dist_key("mean")],
                    "mean_km_after": a[c.dist_key("mean")],
                    "gap": r.gap,
                    "seconds": r.seconds,
                }
            )
            if "potential" in c.measures:
                row["potential_per_fte"] = float(
                    c.values0[:, c.measures.index("potential")].sum() / c.capacity.sum()
                )
            rows.append(row)
        return pd.DataFrame(rows)

    def metrics(self) -> pd.DataFrame:
        """Company-wide before/after metrics, deviations measured against each scope's own mean.

        Rows are metrics, columns ``before`` and ``after``.
        """
        before, after = [], []
        moved_acc = moved_pot = acc_tot = pot_tot = 0.0
        d_b, d_a = [], []
        measures: list[str] = []
        unit = "km"
        for r in self.results.values():
            c = r.compiled
            measures = c.measures
            unit = c.distance_unit
            before.append(territory_table(c, c.current0))
            after.append(territory_table(c, r.assign))
            m = alignment_metrics(c, r.assign)
            moved_acc += m["accounts_moved"]
            moved_pot += m["potential_moved"]
            acc_tot += c.accounts0[c.current0 >= 0].sum()
            pot_tot += c.potential0[c.current0 >= 0].sum()
            ok = c.current0 >= 0
            d_b.append(c.dist0[np.flatnonzero(ok), c.current0[ok]])
            d_a.append(c.dist0[np.arange(len(r.assign)), r.assign])
        out: dict[str, dict[str, float]] = {"before": {}, "after": {}}
        for name, tabs, d in (("before", before, d_b), ("after", after, d_a)):
            t = pd.concat(tabs, ignore_index=True)
            for k in measures:
                rel = t[k] / t[f"{k}_target"]
                out[name][f"{k}.max_dev_pct"] = float((rel - 1).abs().max() * 100)
                out[name][f"{k}.max_min_ratio"] = (
                    float(rel.max() / rel.min()) if rel.min() > 0 else float("inf")
                )
                out[name][f"{k}.cv"] = float(rel.std(ddof=0) / rel.mean())
            dd = np.concatenate(d) if d else np.array([])
            out[name][f"mean_{unit}"] = float(dd.mean()) if len(dd) else float("nan")
            out[name][f"max_{unit}"] = float(dd.max()) if len(dd) else float("nan")
        out["before"]["accounts_moved_pct"] = 0.0
        out["before"]["potential_moved_pct"] = 0.0
        out["after"]["accounts_moved_pct"] = 100 * moved_acc / acc_tot if acc_tot else 0.0
        out["after"]["potential_moved_pct"] = 100 * moved_pot / pot_tot if pot_tot else 0.0
        return pd.DataFrame(out)


def solve_dataset(
    ds: Dataset,
    scope: Literal["region", "all"] = "region",
    as_of: dt.date | str | None = None,
    method: Literal["auto", "mip", "heuristic"] = "auto",
    time_limit: float = 60.0,
    seed: int = 0,
    infeasible: Literal["error", "relax"] = "error",
    **problem_kwargs: Any,
) -> DatasetAlignment:
    """Rebalance a dataset's territories, region by region (default) or company-wide.

    Parameters
    ----------
    ds : Dataset
        The sales organisation.
    scope : {"region", "all"}
        Balance within each region, or across the company (see the module docstring).
    as_of : date or str, optional
        Date of the current alignment (default ``ds.as_of``).
    method, time_limit, seed
        See :func:`~spm_model.territory.solve.solve`; ``time_limit`` is per scope.
    infeasible : {"error", "relax"}
        A region whose balance tolerance is proven unreachable: ``"error"`` raises
        (every such region named); ``"relax"`` solves it at the tightest tolerance
        its diagnosis found reachable (:func:`~spm_model.territory.diagnose.solve_relaxing`)
        and records it in :attr:`DatasetAlignment.relaxed` and the summary table's
        ``<measure>_tolerance_pct`` (a report on a company with small regions). On
        a large region the diagnosis is a MIP cut short by the time limit, so the
        tolerance is then halved back towards the one asked twice (a 42-rep region
        with 15% moved, 5 s per solve: the diagnosis +/-50%, solved at +/-20.5%).
    **problem_kwargs
        Passed to :func:`problem_from_dataset` (tolerance, max_moved, ...).

    Returns
    -------
    DatasetAlignment

    Raises
    ------
    InfeasibleAlignment
        Naming every region whose constraints cannot be met, with the tightest
        feasible tolerance or budget of each.
    AlignmentNotFound
        When some region found no alignment in its time and none was proven
        impossible.
    """
    if scope not in ("region", "all"):
        raise SpmConfigError(f"scope must be 'region' or 'all', got {scope!r}")
    as_of_ts = pd.Timestamp(as_of if as_of is not None else ds.as_of)
    if infeasible not in ("error", "relax"):
        raise SpmConfigError(f"infeasible must be 'error' or 'relax', got {infeasible!r}")
    results: dict[str, AlignmentResult] = {}
    errors: dict[str, str] = {}
    relaxed: dict[str, dict[str, float]] = {}
    unproven: list[str] = []

    def solve_one(p: Any) -> AlignmentResult:
        return solve(p, method=method, time_limit=time_limit, seed=seed)

    def solve_scope(name: str, p: Any) -> AlignmentResult:
        try:
            return solve_one(p)
        except InfeasibleAlignment as exc:
            got = solve_relaxing(p, solve_one, exc) if infeasible == "relax" else None
            if got is None:
                raise
            relaxed[name] = got[1]
            return got[0]

    if scope == "all":
        p = problem_from_dataset(ds, as_of=as_of_ts, **problem_kwargs)
        results["all"] = solve_scope("all", p)
    else:
        reps = ds.reps
        roles = problem_kwargs.get("roles", OWNER_ROLES)
        regions = sorted(set(reps.loc[reps["role"].isin(list(roles)), "region"]))
        for reg in regions:
            p = problem_from_dataset(ds, as_of=as_of_ts, region=reg, **problem_kwargs)
            try:
                results[reg] = solve_scope(reg, p)
            except InfeasibleAlignment as exc:
                errors[reg] = str(exc)
            except AlignmentNotFound as exc:
                errors[reg] = str(exc)
                unproven.append(reg)
        if errors:
            msg = "; ".join(f"region {k}: {v}" for k, v in errors.items())
            raise AlignmentNotFound(msg) if unproven else InfeasibleAlignment(msg)
    return DatasetAlignment(
        results=results, as_of=as_of_ts, scope=scope, errors=errors, relaxed=relaxed
    )
