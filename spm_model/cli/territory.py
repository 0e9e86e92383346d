"""``spm territory``: design or rebalance territories from a dataset or from plain files.

Two sources of units:

* ``--data`` a company dataset: accounts and account-owning reps, balanced per
  region (``--scope region``) or company-wide; writes the new effective-dated
  assignments table.
* ``--units FILE`` any table with an id, the measures and ``lat``/``lon`` or
  ``x``/``y`` (or a ``--distance`` matrix instead of coordinates), with
  ``--territories FILE`` (reps and their homes), or ``--districts N`` to design
  N districts from scratch (centres chosen with the alignment); writes the
  alignment (one row per unit).

Both print a metrics table before/after, the bound and gap in words, and write
the metrics, per-territory table and a before/after map beside ``--out``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from spm_model.cli.progress import Display, quiet_option


def register(app: typer.Typer) -> None:
    """Add the territory command to ``app``."""

    @app.command()
    def territory(
        out: Path = typer.Option(
            ...,
            "--out",
            help="Output CSV: the new assignments table (--data) or the alignment (--units).",
        ),
        data: Path | None = typer.Option(
            None, "--data", help="Dataset: folder of CSV/Parquet, .xlsx or .duckdb."
        ),
        units: Path | None = typer.Option(
            None,
            "--units",
            help="Units table (CSV/Parquet/xlsx): id (unit_id/account_id/id), measures, lat/lon "
            "or x/y; optional current, locked, family, accounts, travel_weight.",
        ),
        territories: Path | None = typer.Option(
            None,
            "--territories",
            help="With --units: territory_id (or rep_id), home_lat/home_lon or home_x/home_y, "
            "capacity (FTE). Without it, --distance's columns are the territories.",
        ),
        districts: int | None = typer.Option(
            None,
            "--districts",
            help="With --units and no homes: design this many districts from scratch "
            "(centres chosen jointly with the alignment).",
        ),
        distance: Path | None = typer.Option(
            None,
            "--distance",
            help="Unit-by-territory distance or drive-time matrix: long (unit_id, territory_id, "
            "value) or wide (unit id column, one column per territory); any unit.",
        ),
        distance_unit: str | None = typer.Option(
            None, "--distance-unit", help="Unit of --distance for labels (km, miles, minutes)."
        ),
        locks: Path | None = typer.Option(
            None, "--locks", help="Locked units: unit_id (or account_id), territory_id (or rep_id)."
        ),
        measures: str = typer.Option(
            "potential,workload",
            "--measures",
            help="Measures to balance, each with its own tolerance: potential:0.05,workload:0.08 "
            "(a measure without one takes --tolerance).",
        ),
        tolerance: float = typer.Option(
            0.05, help="Default allowed deviation from each target (0.05 = +/-5%)."
        ),
        objective: str = typer.Option(
            "travel",
            "--objective",
            help="travel, disruption or compactness, or a weighted mix such as "
            "travel:1,disruption:20 (disruption weight = distance units per moved average "
            "account).",
        ),
        max_moved: float | None = typer.Option(
            None,
            "--max-moved",
            help="Disruption budget: largest share of --moved-basis that may move (0.15 = 15%).",
        ),
        moved_basis: str = typer.Option(
            "accounts", help="What disruption counts: 'accounts' or a measure (potential...)."
        ),
        frontier: int | None = typer.Option(
            None,
            "--frontier",
            help="Also trace the travel-vs-disruption frontier at N move budgets "
            "(<out>_frontier.csv and .png).",
        ),
        adjacency: Path | None = typer.Option(
            None,
            "--adjacency",
            help="Unit adjacency edge list (unit_a, unit_b): connected territories.",
        ),
        contiguity: bool = typer.Option(
            False,
            "--contiguity",
            help="Connected territories on an adjacency derived from the coordinates (Delaunay).",
        ),
        scope: str = typer.Option(
            "region", help="--data only: 'region' balances within each region; 'all' company-wide."
        ),
        as_of: str | None = typer.Option(
            None, help="--data only: date of the current alignment (default: the data's end)."
        ),
        effective_date: str | None = typer.Option(
            None, help="--data only: first day of the new alignment (default: the day after)."
        ),
        method: str = typer.Option("auto", help="auto, mip or heuristic."),
        time_limit: float = typer.Option(
            60.0, min=0.1, help="Seconds per region (or per problem)."
        ),
        gap: float = typer.Option(
            1e-3, "--gap", help="Stop when the gap to the lower bound is at most this (fraction)."
        ),
        seed: int = typer.Option(0, help="Seed of the randomised search steps."),
        relax: bool = typer.Option(
            False,
            "--relax",
            help="A region whose tolerance is proven unreachable is balanced to the tightest "
            "tolerance found reachable in the time limit (stated) instead of failing the run.",
        ),
        max_load: str | None = typer.Option(
            None,
            "--max-load",
            help="With --districts: each district's largest load, e.g. demand=120 (a "
            "capacitated p-median with --measures demand:inf); with --territories use "
            "max_<measure> columns.",
        ),
        restarts: int | None = typer.Option(
            None,
            "--restarts",
            min=1,
            help="With --districts: seedings of the centres searched (default 4; each gets an "
            "equal share of --time-limit; more search more centres, the best is kept).",
        ),
        plot: Path | None = typer.Option(
            None, help="Before/after map (PNG); default <out>_map.png when units have locations."
        ),
        quiet: bool = quiet_option(),
    ) -> None:
        """Design or rebalance territories: balanced measures, short travel, few moves.

        Prints the before/after metrics and the bound and gap in words; writes
        --out plus <out>_metrics.csv, <out>_territories.csv, <out>_map.png and
        (with --data) <out>_changes.csv beside it.
        """
        from spm_model.errors import SpmConfigError
        from spm_model.territory.readers import parse_measures, parse_objective

        if (data is None) == (units is None):
            raise SpmConfigError("give exactly one of --data (a dataset) or --units (a table)")
        if method not in ("auto", "mip", "heuristic"):
            raise SpmConfigError(f"--method must be auto, mip or heuristic, got {method!r}")
        if scope not in ("region", "all"):
            raise SpmConfigError(f"--scope must be 'region' or 'all', got {scope!r}")
        if adjacency is not None and contiguity:
            raise SpmConfigError("give --adjacency FILE or --contiguity, not both")
        if frontier is not None and frontier < 2:
            raise SpmConfigError(f"--frontier needs at least 2 points, got {frontier}")
        if max_moved is not None and not 0 <= max_moved <= 1:
            raise SpmConfigError(f"--max-moved must be a fraction in [0, 1], got {max_moved:g}")
        if not 0 <= gap < 1:
            raise SpmConfigError(f"--gap must be a fraction in [0, 1), got {gap:g}")
        names, tols = parse_measures(measures, tolerance)
        weights = parse_objective(objective)
        opts = _Options(
            measures=names,
            tolerance=tols,
            weights=weights,
            max_moved=max_moved,
            moved_basis=moved_basis,
            method=method,
            time_limit=time_limit,
            gap=gap,
            seed=seed,
            distance_unit=distance_unit,
            show=Display(quiet),
            relax=relax,
            restarts=4 if restarts is None else restarts,
            max_load=_parse_max_load(max_load, names),
        )
        if restarts is not None and districts is None:
            raise SpmConfigError("--restarts goes with --districts (the centres' search)")
        with opts.show:
            if data is not None:
                for flag, val in (
                    ("--territories", territories),
                    ("--districts", districts),
                    ("--max-load", max_load),
                ):
                    if val is not None:
                        raise SpmConfigError(f"{flag} goes with --units, not --data")
                _run_dataset(
                    data,
                    out,
                    opts,
                    distance,
                    locks,
                    adjacency,
                    contiguity,
                    scope,
                    as_of,
                    effective_date,
                    frontier,
                    plot,
                )
            else:
                assert units is not None
                _run_units(
                    units,
                    out,
                    opts,
                    territories,
                    districts,
                    distance,
                    locks,
                    adjacency,
                    contiguity,
                    frontier,
                    plot,
                )


@dataclass
class _Options:
    """Solver and problem settings shared by both sources."""

    measures: list[str]
    tolerance: dict[str, float]
    weights: dict[str, float]
    max_moved: float | None
    moved_basis: str
    method: str
    time_limit: float
    gap: float
    seed: int
    distance_unit: str | None
    show: Display = field(default_factory=lambda: Display(quiet=True))
    relax: bool = False
    restarts: int = 4
    max_load: dict[str, float] = field(default_factory=dict)

    def problem_kwargs(self) -> dict[str, Any]:
        return {
            "measures": tuple(self.measures),
            "tolerance": dict(self.tolerance),
            "max_moved": self.max_moved,
            "moved_basis": self.moved_basis,
            **self.weights,
        }

    def solve(self, p: Any) -> Any:
        from spm_model.territory import solve

        return solve(
            p,
            method=self.method,  # type: ignore[arg-type]  # checked in the command
            time_limit=self.time_limit,
            gap_target=self.gap,
            seed=self.seed,
        )


def _write_csv(path: Path, df: Any, index: bool = False) -> None:
    from spm_model.data.io import atomic_write_text

    atomic_write_text(path, df.to_csv(index=index))


def _sibling(out: Path, suffix: str) -> Path:
    return out.with_name(out.stem + suffix)


def _echo_result(name: str, r: Any) -> None:
    typer.echo(
        f"[{name}] {r.compiled.n} units into {r.compiled.m} territories, "
        f"{r.method}, {r.status}, {r.seconds:.1f} s"
    )
    for line in r.bound_statement().splitlines():
        typer.echo("  " + line)


def _solve_all(problems: dict[str, Any], opts: _Options) -> dict[str, Any]:
    """Solve every named problem; report every infeasible one together."""
    from spm_model.territory import AlignmentNotFound, InfeasibleAlignment
    from spm_model.territory.diagnose import solve_relaxing

    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    unproven = False
    for name, p in problems.items():
        label = "solving" if len(problems) == 1 else f"solving region {name}"
        try:
            with opts.show.step(label):
                results[name] = opts.solve(p)
        except InfeasibleAlignment as exc:
            got = solve_relaxing(p, opts.solve, exc) if opts.relax else None
            if got is None:
                errors[name] = str(exc)
                continue
            results[name] = got[0]
            where = "" if len(problems) == 1 else f"region {name}: "
            typer.echo(
                f"note: {where}the tolerance asked is not reachable; balanced to "
                + ", ".join(f"{k} +/-{v:.1%}" for k, v in got[1].items())
                + " (--relax: the tightest the diagnosis found in the time limit; more time or "
                "a larger --max-moved may reach a tighter one)"
            )
        except AlignmentNotFound as exc:
            errors[name] = str(exc)
            unproven = True
    if errors:
        msg = "; ".join(
            (f"{k}: {v}" if len(problems) == 1 else f"region {k}: {v}") for k, v in errors.items()
        )
        raise (AlignmentNotFound(msg) if unproven else InfeasibleAlignment(msg))
    return results


def _adjacency_arg(adjacency: Path | None, contiguity: bool) -> Any:
    from spm_model.territory.readers import read_adjacency

    if adjacency is not None:
        return read_adjacency(adjacency)
    return "delaunay" if contiguity else None


def _parse_max_load(spec: str | None, measures: list[str]) -> dict[str, float]:
    """``"demand=120,workload=1500"`` -> limits per balanced measure."""
    from spm_model.errors import SpmConfigError

    out: dict[str, float] = {}
    for part in (p.strip() for p in (spec or "").split(",")):
        if not part:
            continue
        name, eq, val = part.partition("=")
        name = name.strip()
        try:
            v = float(val)
        except ValueError:
            v = float("nan")
        if not eq or not v >= 0:
            raise SpmConfigError(f"--max-load: {part!r} must read measure=limit (limit >= 0)")
        if name not in measures:
            raise SpmConfigError(
                f"--max-load: {name!r} is not among --measures ({', '.join(measures)})"
            )
        out[name] = v
    return out


def _run_units(
    units_path: Path,
    out: Path,
    opts: _Options,
    territories: Path | None,
    districts: int | None,
    distance: Path | None,
    locks: Path | None,
    adjacency: Path | None,
    contiguity: bool,
    frontier: int | None,
    plot: Path | None,
) -> None:
    import pandas as pd

    from spm_model.errors import Problem, SpmConfigError, SpmDataError
    from spm_model.territory import TerritoryProblem
    from spm_model.territory.readers import (
        read_distance,
        read_locks,
        read_territories,
        read_units,
    )

    dist = read_distance(distance) if distance is not None else None
    u = read_units(units_path, opts.measures, need_location=dist is None)
    if locks is not None:
        lk = read_locks(locks)
        unknown = sorted(set(lk) - set(u["unit_id"]))
        if unknown:
            raise SpmDataError(
                Problem(str(locks), "locks", None, None, f"unknown unit(s) {unknown[:10]}")
            )
        u["locked"] = u["unit_id"].map(lk)
    adj = _adjacency_arg(adjacency, contiguity)
    if districts is not None:
        if territories is not None:
            raise SpmConfigError(
                "--districts chooses the centres among the units: leave out --territories"
            )
        _run_districts(u, units_path, out, opts, districts, adj, frontier, plot, dist)
        return
    if opts.max_load:
        raise SpmConfigError(
            "--max-load goes with --districts; with --territories give max_<measure> columns"
        )
    if territories is not None:
        t = read_territories(territories)
    elif dist is not None:
        t = pd.DataFrame({"territory_id": list(dist.columns)})
    else:
        raise SpmConfigError(
            "--units needs --territories (homes), --distance (a matrix whose columns are the "
            "territories) or --districts N (design from scratch)"
        )
    kw = opts.problem_kwargs()
    p = TerritoryProblem(
        u,
        t,
        distance=dist,
        adjacency=adj,
        source=str(units_path),
        distance_unit=opts.distance_unit,
        **kw,
    )
    c = p.compile()
    if plot is not None and not c.has_locations:
        raise SpmConfigError("--plot needs unit coordinates (lat/lon or x/y) in --units")
    r = _solve_all({"all": p}, opts)["all"]
    _write_unit_outputs(out, {"all": r}, plot)
    if frontier is not None:
        _write_frontier(out, {"all": p}, {"all": r}, frontier, opts)


def _write_unit_outputs(out: Path, results: dict[str, Any], plot: Path | None) -> None:
    import pandas as pd

    r = results["all"]
    c = r.compiled
    al = r.alignment
    _write_csv(out, al)
    metrics = r.metrics()
    if not (c.current0 >= 0).any():
        metrics = metrics[["after"]]  # no current alignment: nothing to compare with
    _write_csv(_sibling(out, "_metrics.csv"), metrics, index=True)
    _write_csv(_sibling(out, "_territories.csv"), r.territories())
    pd.set_option("display.width", 200)
    _echo_result("all", r)
    typer.echo("")
    typer.echo("Before/after:" if "before" in metrics else "Metrics:")
    typer.echo(metrics.to_string(float_format=lambda v: f"{v:,.3f}"))
    typer.echo("")
    moved = int(al["moved"].sum())
    typer.echo(
        f"{moved} unit(s) change territory; alignment written to {out} "
        f"(+ {out.stem}_metrics.csv, {out.stem}_territories.csv)"
    )
    if c.has_locations:
        _write_map(plot or _sibling(out, "_map.png"), results)


def _write_map(path: Path, results: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from spm_model.data.io import atomic_path
    from spm_model.territory.plot import plot_alignment

    n = len(results)
    fig, axes = plt.subplots(n, 2, figsize=(13, 5 * n), squeeze=False)
    for i, (name, r) in enumerate(results.items()):
        comp = r.compiled
        cur = comp.current0.copy()
        has_current = bool((cur >= 0).any())
        cur[cur < 0] = r.assign[cur < 0]
        label = "" if name == "all" else f"{name}: "
        plot_alignment(
            comp,
            cur,
            ax=axes[i, 0],
            title=f"{label}before" if has_current else f"{label}before (no current alignment)",
            show_moved=False,
        )
        plot_alignment(comp, r.assign, ax=axes[i, 1], title=f"{label}after")
    fig.tight_layout()
    with atomic_path(path, is_dir=False) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    typer.echo(f"map written to {path}")


def _write_frontier(
    out: Path, problems: dict[str, Any], results: dict[str, Any], n: int, opts: _Options
) -> None:
    """Travel-vs-disruption frontier: N budgets from 0 to the travel-optimal moved share."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    from spm_model.data.io import atomic_path
    from spm_model.territory import alignment_metrics, tradeoff_frontier

    frames = []
    for name, p in problems.items():
        where = "" if len(problems) == 1 else f" of region {name}"
        with opts.show.step(f"frontier{where}: {n} move budgets"):
            base = p.replace(disruption_weight=0.0, max_moved=None)
            free = opts.solve(base)
            m = alignment_metrics(base.compile(), free.assign)
            c = base.compile()
            key = (
                "accounts_moved_pct"
                if c.moved_basis == "accounts"
                else f"{c.moved_basis}_moved_pct"
            )
            top = max(m.get(key, 0.0) / 100, 1e-6)
            budgets = [float(b) for b in np.linspace(0.0, top, n)]
            df = tradeoff_frontier(
                base,
                budgets=budgets,
                time_limit=opts.time_limit,
                method=opts.method,
                seed=opts.seed,
            )
        df.insert(0, "scope", name)
        frames.append(df)
    fr = pd.concat(frames, ignore_index=True)
    path = _sibling(out, "_frontier.csv")
    _write_csv(path, fr)
    c0 = next(iter(problems.values())).compile()
    tkey = c0.dist_key("travel")
    key = "accounts_moved_pct" if c0.moved_basis == "accounts" else f"{c0.moved_basis}_moved_pct"
    fig, ax = plt.subplots(figsize=(7, 5))
    for name, g in fr.groupby("scope", sort=False):
        ok = g[g["feasible"].astype(bool)]
        if tkey in ok and len(ok):
            ax.plot(ok[key], ok[tkey], "o-", label=str(name))
    ax.set_xlabel(f"{c0.moved_basis} moved (%)")
    ax.set_ylabel(f"travel ({c0.distance_unit})")
    ax.set_title("Travel vs disruption: each point minimises travel under a move budget")
    ax.legend(fontsize=8)
    fig.tight_layout()
    png = _sibling(out, "_frontier.png")
    with atomic_path(png, is_dir=False) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    typer.echo("")
    typer.echo("Travel vs disruption frontier (each row: least travel within a move budget):")
    cols = [c for c in ("scope", "max_moved", "feasible", key, tkey, "gap") if c in fr]
    typer.echo(fr[cols].to_string(index=False, float_format=lambda v: f"{v:,.3f}"))
    typer.echo(f"frontier written to {path} and {png}")


def _run_districts(
    u: Any,
    units_path: Path,
    out: Path,
    opts: _Options,
    k: int,
    adj: Any,
    frontier: int | None,
    plot: Path | None,
    dist: Any = None,
) -> None:
    from spm_model.errors import SpmConfigError
    from spm_model.territory.districts import design_districts

    if frontier is not None:
        raise SpmConfigError("--frontier needs current territories; not with --districts")
    w = dict(opts.weights)
    if w.get("disruption_weight", 0) > 0 or opts.max_moved is not None:
        raise SpmConfigError(
            "--districts designs from scratch: disruption and --max-moved need a current "
            "alignment and --territories"
        )
    with opts.show.step(f"designing {k} districts"):
        d = design_districts(
            u,
            k,
            measures=opts.measures,
            tolerance=opts.tolerance,
            adjacency=adj,
            objective="travel" if w.get("compactness_weight", 0) == 0 else "compactness",
            time_limit=opts.time_limit,
            seed=opts.seed,
            source=str(units_path),
            distance_unit=opts.distance_unit,
            restarts=opts.restarts,
            max_load=opts.max_load or None,
            distance=dist,
            gap_target=opts.gap,
        )
    r = d.result
    _write_unit_outputs(out, {"all": r}, plot)
    _write_csv(_sibling(out, "_centres.csv"), d.centres)
    typer.echo(f"district centres written to {_sibling(out, '_centres.csv')}")


def _run_dataset(
    data: Path,
    out: Path,
    opts: _Options,
    distance: Path | None,
    locks: Path | None,
    adjacency: Path | None,
    contiguity: bool,
    scope: str,
    as_of: str | None,
    effective_date: str | None,
    frontier: int | None,
    plot: Path | None,
) -> None:
    import pandas as pd

    from spm_model.data import load_dataset
    from spm_model.territory.dataset import OWNER_ROLES, DatasetAlignment, problem_from_dataset
    from spm_model.territory.problem import band_text
    from spm_model.territory.readers import read_distance, read_locks

    with opts.show.step(f"loading {data}"):
        ds = load_dataset(data)
    as_of_ts = _date_option("--as-of", as_of) if as_of is not None else pd.Timestamp(ds.as_of)
    if as_of is not None:
        ds.check_covers(as_of_ts.date(), as_of_ts.date(), f"--as-of {as_of}")
    if effective_date is not None:
        _date_option("--effective-date", effective_date)
    kw = opts.problem_kwargs()
    if distance is not None:
        kw["distance"] = read_distance(distance)
        kw["distance_unit"] = opts.distance_unit
    elif opts.distance_unit is not None:
        kw["distance_unit"] = opts.distance_unit
    locked = read_locks(locks) if locks is not None else None
    adj = _adjacency_arg(adjacency, contiguity)
    if scope == "all":
        names: list[str | None] = [None]
    else:
        reps = ds.reps
        names = sorted(set(reps.loc[reps["role"].isin(list(OWNER_ROLES)), "region"]))
    problems = {}
    with opts.show.step("building the problem of each region"):
        for reg in names:
            # locks outside a region's accounts are ignored there; unknown accounts are errors
            problems[reg or "all"] = problem_from_dataset(
                ds, as_of=as_of_ts, region=reg, locked=locked, adjacency=adj, **kw
            )
    results = _solve_all(problems, opts)
    res = DatasetAlignment(results=results, as_of=as_of_ts, scope=scope)
    table = res.assignments(ds, effective_date)
    eff = pd.Timestamp(effective_date) if effective_date else res.as_of + pd.Timedelta(days=1)
    t = table.copy()
    for col in ("start_date", "end_date"):
        t[col] = t[col].dt.strftime("%Y-%m-%d")
    _write_csv(out, t)
    changes = res.changes()
    _write_csv(_sibling(out, "_changes.csv"), changes)
    metrics = res.metrics()
    per_scope = res.summary_table()
    _write_csv(_sibling(out, "_metrics.csv"), metrics, index=True)
    terr = pd.concat(
        [r.territories().assign(scope=name) for name, r in results.items()], ignore_index=True
    )
    _write_csv(_sibling(out, "_territories.csv"), terr)
    pd.set_option("display.width", 200)
    mm = opts.max_moved
    typer.echo(
        f"Rebalanced {ds.meta.name}: alignment as of {res.as_of.date()}, scope {scope}, "
        "tolerance "
        + ", ".join(f"{k} {band_text(v)}" for k, v in opts.tolerance.items())
        + (f", at most {mm:.0%} of {opts.moved_basis} moved" if mm is not None else "")
    )
    typer.echo("")
    typer.echo("Per scope (max deviation from target %, before -> after):")
    for _, r in per_scope.iterrows():
        parts = [
            f"{k} {r[f'{k}_max_dev_pct_before']:6.1f} -> {r[f'{k}_max_dev_pct_after']:4.1f}"
            for k in res.results[r["scope"]].compiled.measures
        ]
        typer.echo(
            f"  {r['scope']:<12} {r['reps']:>3} reps {r['accounts']:>6} accounts  "
            + "  ".join(parts)
            + f"  moved {r['accounts_moved_pct']:4.1f}% accounts"
            + f" ({r['potential_moved_pct']:4.1f}% potential)"
            + f"  mean distance {r['mean_km_before']:5.0f} -> {r['mean_km_after']:5.0f}"
            + f"  gap {r['gap']:.2%}"
        )
    if "potential_per_fte" in per_scope and len(per_scope) > 1:
        ppf = per_scope.set_index("scope")["potential_per_fte"]
        typer.echo(
            "  potential per FTE by region: "
            + ", ".join(f"{k} {v:,.0f}" for k, v in ppf.items())
            + f" (max/min {ppf.max() / ppf.min():.2f}; a headcount question,"
            + " not rebalanced across regions)"
        )
    typer.echo("")
    for name, r in results.items():
        _echo_result(name, r)
    typer.echo("")
    typer.echo("Company-wide before/after (deviations against each scope's own target):")
    typer.echo(metrics.to_string(float_format=lambda v: f"{v:,.3f}"))
    typer.echo("")
    typer.echo(
        f"{len(changes)} accounts change owner from {eff.date()}; assignments written to {out} "
        f"(+ {out.stem}_changes.csv, {out.stem}_metrics.csv, {out.stem}_territories.csv)"
    )
    if plot is not None or all(r.compiled.has_locations for r in results.values()):
        _write_map(plot or _sibling(out, "_map.png"), results)
    if frontier is not None:
        _write_frontier(out, problems, results, frontier, opts)


def _date_option(flag: str, value: str) -> Any:
    """Read a date option as a Timestamp (a one-line error naming the option otherwise)."""
    import pandas as pd

    from spm_model.errors import SpmConfigError

    try:
        return pd.Timestamp(str(value)).normalize()
    except (ValueError, TypeError):
        raise SpmConfigError(f"{flag} {value!r} is not a date (write it as 2026-01-31)") from None
