"""Run a simulation: chunks of scenarios on the local process or a Dask cluster.

:func:`simulate` cuts the scenarios into chunks, runs :func:`engine.run_chunk` on
each (locally, or as Dask tasks on a ``dask.distributed`` cluster), and combines
the chunk outputs in scenario order. Because random streams belong to fixed
blocks of scenarios and totals are exact integer sums of cents, the result is the
same bit for bit for any chunk size, worker count or backend.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from spm_model.errors import SpmConfigError
from spm_model.plans import Plan, load_plan
from spm_model.progress import Progress, make_bar
from spm_model.simulate.engine import (
    REP_DETAIL_ELEMENTS,
    SCENARIO_BLOCK,
    ChunkOutput,
    EvalSettings,
    PlanContext,
    prepare_plan,
    run_chunk,
)
from spm_model.simulate.model import ScenarioModel
from spm_model.simulate.results import SimulationResult

PlanLike = Plan | str | Path


def as_plans(plans: PlanLike | Sequence[PlanLike] | Mapping[str, PlanLike]) -> dict[str, Plan]:
    """Normalise plans (a plan, a YAML path, a list or a name -> plan mapping) to a dict."""
    if isinstance(plans, Plan | str | Path):
        plans = [plans]
    items = plans.items() if isinstance(plans, Mapping) else ((None, p) for p in plans)
    out: dict[str, Plan] = {}
    for name, p in items:
        plan = p if isinstance(p, Plan) else load_plan(p)
        key = name or plan.id
        if key in out:  # two versions of one plan id: keep both under distinct names
            n = 2
            while f"{key}#{n}" in out:
                n += 1
            key = f"{key}#{n}"
        out[key] = plan
    if not out:
        raise SpmConfigError("simulate: give at least one plan")
    return out


def default_levels(plan: Plan, measure: str) -> tuple[float, float, float]:
    """Threshold, target and excellence attainment from the plan's labelled curve points.

    Looks for points labelled ``threshold``, ``target`` and ``excellence`` on
    components of ``measure`` (then of any measure); otherwise 0.5, 1.0, 1.5.
    """
    found: dict[str, float] = {}
    for only_main in (True, False):
        for c in plan.earning_components:
            if only_main and c.main_measure() != measure:
                continue
            for pt in getattr(c, "points", None) or []:
                lab = (getattr(pt, "label", None) or "").lower()
                if lab in ("threshold", "target", "excellence") and lab not in found:
                    found[lab] = float(pt.attainment)
    return (found.get("threshold", 0.5), found.get("target", 1.0), found.get("excellence", 1.5))


def primary_measure(plan: Plan, model: ScenarioModel) -> str:
    """Measure with the largest weight in the plan (that the model simulates)."""
    w = {m: v for m, v in plan.measure_weights().items() if m in model.measures}
    if w:
        return max(w, key=lambda k: w[k])
    for m in plan.measures:
        if m in model.measures:
            return m
    return model.measures[0]


def _ranges(start: int, stop: int, chunk: int) -> list[tuple[int, int]]:
    return [(a, min(stop, a + chunk)) for a in range(start, stop, chunk)]


class _Backend:
    """Runs chunk ranges and yields outputs in order."""

    def __init__(
        self,
        backend: str,
        model: ScenarioModel,
        contexts: list[PlanContext],
        settings: EvalSettings,
        seed: int,
        scheduler: str | None,
        client: Any,
        n_workers: int | None,
    ):
        self.model, self.contexts, self.settings, self.seed = model, contexts, settings, seed
        self.backend = backend
        self._own: list[Any] = []
        if backend == "local":
            return
        if backend != "dask":
            raise SpmConfigError(f"backend: {backend!r} (use 'local' or 'dask')")
        from distributed import Client, LocalCluster

        if client is None:
            if scheduler is not None:
                client = Client(scheduler)
            else:
                cluster = LocalCluster(
                    n_workers=n_workers or 2, threads_per_worker=1, dashboard_address=None
                )
                client = Client(cluster)
                self._own.append(cluster)
            self._own.insert(0, client)
        self.client = client
        self._data = client.scatter([model, contexts, settings], broadcast=True)

    def run(self, ranges: list[tuple[int, int]]) -> Iterator[ChunkOutput]:
        if self.backend == "local":
            for a, b in ranges:
                yield run_chunk(self.model, self.contexts, self.settings, self.seed, a, b)
            return
        m, c, s = self._data
        futures = [
            self.client.submit(run_chunk, m, c, s, self.seed, a, b, pure=False) for a, b in ranges
        ]
        try:
            for f in futures:  # in order: the combination order never depends on timing
                yield f.result()
                f.release()
        finally:  # a converged run stops early: drop the chunks still queued
            self.client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
        for obj in self._own:
            obj.close()


def simulate(
    model: ScenarioModel,
    plans: PlanLike | Sequence[PlanLike] | Mapping[str, PlanLike],
    n_scenarios: int = 10_000,
    *,
    seed: int,
    budget: float | None = None,
    chunk_size: int = 10_000,
    backend: str = "local",
    scheduler: str | None = None,
    client: Any = None,
    n_workers: int | None = None,
    tol: float | None = None,
    max_scenarios: int | None = None,
    check_every: int = 1_000,
    progress: Progress = False,
    levels: tuple[float, float, float] | None = None,
    measure: str | None = None,
    detail_scenarios: int | None = None,
) -> SimulationResult:
    """Monte Carlo comp cost of one or more plans on common random scenarios.

    Parameters
    ----------
    model : ScenarioModel
        Who is simulated and how performance varies (see :mod:`spm_model.simulate.build`).
    plans : Plan, path, list of them, or mapping name -> plan
        Plans evaluated on the **same** scenarios (common random numbers).
    n_scenarios : int
        Scenarios to run (the minimum when ``tol`` is set).
    seed : int
        Seed of every random stream; same seed, same numbers.
    budget : float, optional
        Incentive budget for the horizon (currency), for P(cost > budget) and
        the expected shortfall.
    chunk_size : int
        Scenarios per chunk (one Dask task each). Results do not depend on it.
    backend : {"local", "dask"}
        Where chunks run. ``"dask"`` uses ``client``, else a scheduler at
        ``scheduler``, else a new ``LocalCluster`` of ``n_workers`` processes.
    tol : float, optional
        Run until the relative Monte Carlo standard error of the mean cost of
        every plan is at most ``tol`` (e.g. 0.001 = 0.1%), checked every
        ``check_every`` scenarios, or until ``max_scenarios``.
    max_scenarios : int, optional
        Scenario limit with ``tol`` (default 100 x ``n_scenarios``).
    check_every : int
        Convergence check interval (scenarios); with ``tol`` every chunk is
        ``check_every`` scenarios, so the stopping point never depends on
        ``chunk_size``.
    progress : bool or bar factory
        Progress over scenarios: ``True`` for a tqdm bar, or a bar factory
        (see :mod:`spm_model.progress`).
    levels : tuple of float, optional
        Threshold, target and excellence attainment (fractions); default from
        the first plan's labelled curve points (see :func:`default_levels`).
    measure : str, optional
        Measure whose horizon attainment is reported (default: the first plan's
        largest-weight measure).
    detail_scenarios : int, optional
        Scenarios for which payouts per rep are kept (per-rep quantiles,
        per-rep paired differences); default as many as fit in 4 million values.

    Returns
    -------
    SimulationResult
    """
    plan_map = as_plans(plans)
    for name, p in plan_map.items():
        per_deal = [c.name for c in p.components if getattr(c, "per", "period") == "deal"]
        if per_deal:
            raise SpmConfigError(
                f"plan {name!r}: {', '.join(per_deal)} tiered per deal cannot be simulated "
                "(scenarios draw period totals, not deals); cost it with per: period tiers "
                "instead (with rates that rise by tier, an upper bound)"
            )
    if n_scenarios < 1:
        raise SpmConfigError(f"n_scenarios: {n_scenarios} (must be >= 1)")
    if chunk_size < 1:
        raise SpmConfigError(f"chunk_size: {chunk_size} (must be >= 1)")
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise SpmConfigError(f"seed: {seed!r} (a non-negative integer is required)")
    if tol is not None and not 0 < tol < 1:
        raise SpmConfigError(f"tol: {tol} (a relative standard error such as 0.001)")
    model.validate()
    contexts = [prepare_plan(p, model) for p in plan_map.values()]
    first = next(iter(plan_map.values()))
    meas = measure or primary_measure(first, model)
    if meas not in model.measures:
        raise SpmConfigError(f"measure {meas!r} is not simulated ({', '.join(model.measures)})")
    lv = tuple(levels) if levels is not None else default_levels(first, meas)
    if len(lv) != 3:
        raise SpmConfigError("levels: give threshold, target and excellence")
    limit = (max_scenarios or n_scenarios * 100) if tol is not None else n_scenarios
    if detail_scenarios is None:
        detail_scenarios = max(SCENARIO_BLOCK, REP_DETAIL_ELEMENTS // max(1, model.n_reps))
    settings = EvalSettings(model.measures.index(meas), (lv[0], lv[1], lv[2]), detail_scenarios)

    t0 = time.perf_counter()
    runner = _Backend(backend, model, contexts, settings, int(seed), scheduler, client, n_workers)
    outputs: list[ChunkOutput] = []
    bar = make_bar(
        progress, total=n_scenarios if tol is None else limit, desc="simulate", unit="scenario"
    )
    converged: bool | None = None
    try:
        if tol is None:
            for o in runner.run(_ranges(0, n_scenarios, chunk_size)):
                outputs.append(o)
                if bar is not None:
                    bar.update(o.stop - o.start)
        else:
            step = max(1, check_every)
            chunk = step  # checks at every step; accumulators never need cutting
            done = 0
            converged = False
            wave = chunk * (max(1, n_workers or 2) if backend == "dask" else 1)
            while done < limit and not converged:
                target = min(limit, max(done + wave, n_scenarios if done == 0 else 0))
                for o in runner.run(_ranges(done, target, chunk)):
                    outputs.append(o)
                    if bar is not None:
                        bar.update(o.stop - o.start)
                    if o.stop % step == 0 or o.stop == limit:
                        if o.stop >= n_scenarios and _rel_se(outputs) <= tol:
                            converged = True
                            break
                done = outputs[-1].stop
    finally:
        if bar is not None:
            bar.close()
        runner.close()
    return SimulationResult.from_chunks(
        outputs,
        model=model,
        plans=plan_map,
        contexts=contexts,
        settings=settings,
        measure=meas,
        seed=int(seed),
        budget=budget,
        tol=tol,
        converged=converged,
        elapsed=time.perf_counter() - t0,
        backend=backend,
    )


def _rel_se(outputs: list[ChunkOutput]) -> float:
    cost = np.concatenate([o.cost for o in outputs], axis=1).astype(np.float64)
    n = cost.shape[1]
    if n < 2:
        return np.inf
    mean = cost.mean(axis=1)
    se = cost.std(axis=1, ddof=1) / np.sqrt(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(mean != 0, se / np.abs(mean), np.where(se == 0, 0.0, np.inf))
    return float(rel.max())
