"""Simulation results: per-scenario totals, a readable summary, comparison, plots.

:class:`SimulationResult` keeps small per-scenario arrays (total cost per plan,
revenue, reps at each attainment level) in integer cents, from which quantiles
are exact; per-rep payouts are kept for the first ``detail_scenarios`` scenarios.
Money is in the plans' currency; attainment is a fraction (1.0 = 100%).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from spm_model.errors import SpmConfigError
from spm_model.simulate import stats
from spm_model.simulate.engine import HIST_EDGES, LEVERAGE_EDGES

if TYPE_CHECKING:
    from spm_model.plans import Plan
    from spm_model.simulate.engine import ChunkOutput, EvalSettings, PlanContext
    from spm_model.simulate.model import ScenarioModel

QUANTILES = (0.05, 0.50, 0.90, 0.95, 0.99)
LEVEL_NAMES = ("threshold", "target", "excellence")
#: Usual design guideline: share of reps reaching each level (low, high).
GUIDELINE = {"threshold": (0.85, 0.95), "target": (0.60, 0.70), "excellence": (0.05, 0.15)}


@dataclass
class Summary:
    """Headline figures of one plan with Monte Carlo standard errors.

    ``table`` has columns ``figure``, ``estimate``, ``mc_se``, ``unit``;
    ``levels`` the share of reps at threshold/target/excellence against the
    guideline; ``reps`` per-rep payout mean and quantiles.
    """

    plan: str
    n_scenarios: int
    budget: float | None
    currency: str
    table: pd.DataFrame
    levels: pd.DataFrame
    reps: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def value(self, figure: str) -> float:
        """Estimate of one figure by name."""
        row = self.table[self.table["figure"] == figure]
        if row.empty:
            raise KeyError(figure)
        return float(row["estimate"].iloc[0])

    def se(self, figure: str) -> float:
        """Monte Carlo standard error of one figure by name."""
        return float(self.table.loc[self.table["figure"] == figure, "mc_se"].iloc[0])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        return {
            "plan": self.plan,
            "n_scenarios": self.n_scenarios,
            "budget": self.budget,
            "currency": self.currency,
            "figures": {
                r.figure: {"estimate": _num(r.estimate), "mc_se": _num(r.mc_se), "unit": r.unit}
                for r in self.table.itertuples()
            },
            "levels": self.levels.to_dict(orient="records"),
            "notes": self.notes,
        }

    def __str__(self) -> str:
        lines = [f"Plan {self.plan}: {self.n_scenarios:,} scenarios ({self.currency})"]
        for r in self.table.itertuples():
            if r.unit == "share":
                est, se = f"{r.estimate:8.2%}", f"{r.mc_se:.2%}"
            elif r.unit == "ratio":
                est, se = f"{r.estimate:8.3%}", f"{r.mc_se:.3%}"
            else:
                est, se = f"{r.estimate:14,.0f}", f"{r.mc_se:,.0f}"
            lines.append(
                f"  {r.figure:<34} {est:>14}" + (f"  (MCSE {se})" if np.isfinite(r.mc_se) else "")
            )
        lines.append("  share of reps reaching (guideline):")
        for r in self.levels.itertuples():
            lines.append(
                f"    {r.level:<10} {r.attainment:5.0%}: {r.share:6.1%} (MCSE {r.mc_se:.1%}); "
                f"guideline {r.guideline_low:.0%}-{r.guideline_high:.0%}: {r.verdict}"
            )
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    __repr__ = __str__


def _num(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


@dataclass
class Comparison:
    """Paired comparison of plan B against plan A on common random numbers.

    ``table`` rows: mean cost A and B, mean difference B - A with its paired
    standard error and 95% interval, relative difference, the standard error an
    independent run of the same size would have had, the variance-reduction
    factor, and the distribution of the difference over the same scenarios:
    P5, P50 and P95 of B - A (currency, with their Monte Carlo standard errors)
    and P(B > A), the share of scenarios in which plan B costs more (unit
    ``share``). ``reps``: per-rep mean payout difference with 95% intervals (from
    the scenarios with per-rep detail).
    """

    plan_a: str
    plan_b: str
    n_scenarios: int
    table: pd.DataFrame
    reps: pd.DataFrame

    def value(self, figure: str) -> float:
        """Estimate of one figure by name."""
        return float(self.table.loc[self.table["figure"] == figure, "estimate"].iloc[0])

    def __str__(self) -> str:
        lines = [f"{self.plan_b} vs {self.plan_a}: {self.n_scenarios:,} common scenarios"]
        for r in self.table.itertuples():
            if r.unit == "ratio":
                lines.append(f"  {r.figure:<32} {r.estimate:12.3%}  (SE {r.se:.3%})")
            elif r.unit == "share":
                lines.append(f"  {r.figure:<32} {r.estimate:12.1%}  (SE {r.se:.1%})")
            elif r.unit == "factor":
                lines.append(f"  {r.figure:<32} {r.estimate:12.1f}x")
            elif not np.isfinite(r.se):
                lines.append(f"  {r.figure:<32} {r.estimate:12,.0f}")
            else:
                lines.append(
                    f"  {r.figure:<32} {r.estimate:12,.0f}  (SE {r.se:,.0f}; "
                    f"95% CI {r.ci_low:,.0f} .. {r.ci_high:,.0f})"
                )
        return "\n".join(lines)

    __repr__ = __str__


@dataclass(repr=False)
class SimulationResult:
    """Outcome of :func:`spm_model.simulate.simulate`.

    Attributes
    ----------
    plans : list of str
        Plan names, in the order given.
    n_scenarios : int
    cost_cents : ndarray of int64, shape (n_plans, N)
        Total incentive cost of every scenario (cents; includes draws, excludes base salary).
    cost_pay_cents : ndarray, shape (n_plans, N, P_pay)
        Cost per pay period.
    revenue_cents : ndarray, shape (N,)
        Credited amount summed over the simulated money measures (cents).
    level_counts, eligible : ndarray
        Reps at threshold/target/excellence and reps counted (tenured, stayed).
    """

    plans: list[str]
    plan_objects: dict[str, Plan]
    n_scenarios: int
    cost_cents: np.ndarray
    cost_pay_cents: np.ndarray
    revenue_cents: np.ndarray
    revenue_measure_cents: np.ndarray
    level_counts: np.ndarray
    eligible: np.ndarray
    leavers: np.ndarray
    rep_sum_cents: np.ndarray
    rep_detail_cents: np.ndarray
    lev_pay_cents: np.ndarray
    lev_ti_cents: np.ndarray
    lev_n: np.ndarray
    att_hist: np.ndarray
    rep_ids: np.ndarray
    measures: list[str]
    periods: list[str]
    pay_periods: list[str]
    measure: str
    levels: tuple[float, float, float]
    seed: int
    budget: float | None
    tol: float | None
    converged: bool | None
    elapsed: float
    backend: str
    currency: str
    ti_total: list[float]
    model_repr: str

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def from_chunks(
        cls,
        outputs: list[ChunkOutput],
        *,
        model: ScenarioModel,
        plans: dict[str, Plan],
        contexts: list[PlanContext],
        settings: EvalSettings,
        measure: str,
        seed: int,
        budget: float | None,
        tol: float | None,
        converged: bool | None,
        elapsed: float,
        backend: str,
    ) -> SimulationResult:
        """Combine chunk outputs (in scenario order) into one result."""
        outputs = sorted(outputs, key=lambda o: o.start)
        cat = lambda name, axis=0: np.concatenate([getattr(o, name) for o in outputs], axis=axis)  # noqa: E731
        tot = lambda name: sum(getattr(o, name) for o in outputs)  # noqa: E731
        plan0 = next(iter(plans.values()))
        k = plan0.periods_per_pay
        pay_labels = [
            model.periods[min(len(model.periods) - 1, i * k + k - 1)]
            for i in range(contexts[0].n_pay)
        ]
        return cls(
            plans=list(plans),
            plan_objects=plans,
            n_scenarios=int(outputs[-1].stop) if outputs else 0,
            cost_cents=cat("cost", 1),
            cost_pay_cents=cat("cost_pay", 1),
            revenue_cents=cat("revenue"),
            revenue_measure_cents=cat("revenue_measure"),
            level_counts=cat("level_counts"),
            eligible=cat("eligible"),
            leavers=cat("leavers"),
            rep_sum_cents=tot("rep_sum"),
            rep_detail_cents=cat("rep_detail", 1),
            lev_pay_cents=tot("lev_pay"),
            lev_ti_cents=tot("lev_ti"),
            lev_n=tot("lev_n"),
            att_hist=tot("att_hist"),
            rep_ids=np.asarray(model.rep_ids),
            measures=list(model.measures),
            periods=list(model.periods),
            pay_periods=pay_labels,
            measure=measure,
            levels=settings.levels,
            seed=seed,
            budget=budget,
            tol=tol,
            converged=converged,
            elapsed=elapsed,
            backend=backend,
            currency=plan0.currency,
            ti_total=[float(c.ti.sum()) for c in contexts],
            model_repr=repr(model),
        )

    # -- access ----------------------------------------------------------------------------
    def _index(self, plan: str | int | None) -> int:
        if plan is None:
            return 0
        if isinstance(plan, int):
            return plan
        if plan not in self.plans:
            raise SpmConfigError(f"unknown plan {plan!r} (simulated: {', '.join(self.plans)})")
        return self.plans.index(plan)

    def costs(self, plan: str | int | None = None) -> np.ndarray:
        """Total incentive cost per scenario (currency)."""
        return self.cost_cents[self._index(plan)] / 100.0

    def revenue(self) -> np.ndarray:
        """Credited revenue per scenario (currency)."""
        return self.revenue_cents / 100.0

    def cost_of_sales(self, plan: str | int | None = None) -> np.ndarray:
        """Incentive cost / revenue per scenario (fraction)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(
                self.revenue_cents > 0,
                self.cost_cents[self._index(plan)] / np.maximum(self.revenue_cents, 1),
                np.nan,
            )

    def level_shares(self) -> np.ndarray:
        """Share of counted reps at threshold, target, excellence per scenario, shape (N, 3)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.level_counts / np.maximum(self.eligible, 1)[:, None]

    # -- summary ---------------------------------------------------------------------------
    def summary(self, plan: str | int | None = None, budget: float | None = None) -> Summary:
        """Headline figures of one plan with Monte Carlo standard errors.

        Parameters
        ----------
        plan : str or int, optional
            Plan name or index (default the first).
        budget : float, optional
            Budget for the horizon (currency); default the one given to simulate.
        """
        i = self._index(plan)
        budget = self.budget if budget is None else budget
        cost = self.costs(i)
        n = cost.size
        srt = np.sort(cost)
        rows: list[tuple[str, float, float, str]] = []
        m, se = stats.mean_se(cost)
        rows.append(("mean cost", m, se, "currency"))
        s, sse = stats.sd_se(cost)
        rows.append(("sd cost", s, sse, "currency"))
        for p in QUANTILES:
            q, qse = stats.quantile_se(srt, p)
            rows.append((f"P{round(p * 100)} cost", q, qse, "currency"))
        if budget is not None:
            over = cost > budget
            p_over, p_se = stats.proportion_se(over)
            rows.append(("P(cost > budget)", p_over, p_se, "share"))
            excess = np.maximum(cost - budget, 0.0)
            e, ese = stats.mean_se(excess)
            rows.append(("expected shortfall above budget", e, ese, "currency"))
            c, cse = stats.conditional_mean_se(cost - budget, over)
            rows.append(("mean overrun when over budget", c, cse, "currency"))
        rv, rvse = stats.mean_se(self.revenue())
        rows.append(("mean revenue", rv, rvse, "currency"))
        cos = self.cost_of_sales(i)
        cos = cos[np.isfinite(cos)]
        c, cse = stats.mean_se(cos)
        rows.append(("mean cost of sales", c, cse, "ratio"))
        cs = np.sort(cos)
        for p in (0.05, 0.5, 0.95):
            q, qse = stats.quantile_se(cs, p)
            rows.append((f"P{round(p * 100)} cost of sales", q, qse, "ratio"))
        ratio = (
            float(cost.sum() / self.revenue_cents.sum() * 100)
            if self.revenue_cents.sum()
            else np.nan
        )
        rows.append(("aggregate cost of sales", ratio, np.nan, "ratio"))
        table = pd.DataFrame(rows, columns=["figure", "estimate", "mc_se", "unit"])
        shares = self.level_shares()
        lv = []
        for j, name in enumerate(LEVEL_NAMES):
            sh, shse = stats.mean_se(shares[:, j])
            lo, hi = GUIDELINE[name]
            verdict = (
                "below guideline"
                if sh < lo
                else "above guideline"
                if sh > hi
                else "within guideline"
            )
            lv.append((name, self.levels[j], sh, shse, lo, hi, verdict))
        levels = pd.DataFrame(
            lv,
            columns=[
                "level",
                "attainment",
                "share",
                "mc_se",
                "guideline_low",
                "guideline_high",
                "verdict",
            ],
        )
        notes = []
        if self.tol is not None:
            notes.append(
                "convergence: relative MCSE of mean cost "
                f"{'<=' if self.converged else 'did not reach'} "
                f"{self.tol:g} after {n:,} scenarios"
            )
        nd = self.rep_detail_cents.shape[1]
        if nd < n:
            notes.append(
                f"per-rep quantiles from the first {nd:,} scenarios; per-rep means from all"
            )
        return Summary(
            self.plans[i], n, budget, self.currency, table, levels, self.rep_quantiles(i), notes
        )

    def rep_quantiles(self, plan: str | int | None = None) -> pd.DataFrame:
        """Per-rep horizon payout: mean (all scenarios) and P5/P50/P95 (detail scenarios)."""
        i = self._index(plan)
        detail = self.rep_detail_cents[i] / 100.0
        q = (
            np.quantile(detail, [0.05, 0.5, 0.95], axis=0)
            if detail.shape[0]
            else np.full((3, len(self.rep_ids)), np.nan)
        )
        return pd.DataFrame(
            {
                "rep_id": self.rep_ids,
                "mean": self.rep_sum_cents[i] / 100.0 / max(self.n_scenarios, 1),
                "p5": q[0],
                "p50": q[1],
                "p95": q[2],
            }
        )

    def leverage(self, plan: str | int | None = None) -> pd.DataFrame:
        """Payout as a share of target incentive by horizon attainment bin (leverage curve)."""
        i = self._index(plan)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(
                self.lev_ti_cents[i] > 0,
                self.lev_pay_cents[i] / np.maximum(self.lev_ti_cents[i], 1),
                np.nan,
            )
        return pd.DataFrame(
            {"attainment": LEVERAGE_EDGES, "payout_share_of_target": share, "n": self.lev_n}
        )

    def attainment_distribution(self) -> pd.DataFrame:
        """Histogram of horizon attainment of the reported measure (bins of 2%; last open)."""
        n = self.att_hist.sum()
        return pd.DataFrame(
            {"attainment": HIST_EDGES, "count": self.att_hist, "share": self.att_hist / max(n, 1)}
        )

    # -- comparison ------------------------------------------------------------------------
    def compare(self, plan_a: str | int = 0, plan_b: str | int = 1) -> Comparison:
        """Paired comparison of two plans simulated together (common random numbers)."""
        ia, ib = self._index(plan_a), self._index(plan_b)
        a, b = self.costs(ia), self.costs(ib)
        n = a.size
        d_cents = self.cost_cents[ib] - self.cost_cents[ia]
        d = d_cents / 100.0
        dm, dse = stats.mean_se(d)
        ma, sea = stats.mean_se(a)
        mb, seb = stats.mean_se(b)
        indep = float(np.sqrt(sea**2 + seb**2))
        z = stats.Z95
        rows = [
            ("mean cost A", ma, sea, ma - z * sea, ma + z * sea, "currency"),
            ("mean cost B", mb, seb, mb - z * seb, mb + z * seb, "currency"),
            ("mean difference B - A", dm, dse, dm - z * dse, dm + z * dse, "currency"),
            (
                "relative difference",
                dm / ma if ma else np.nan,
                dse / abs(ma) if ma else np.nan,
                np.nan,
                np.nan,
                "ratio",
            ),
            ("SE if run independently", indep, np.nan, np.nan, np.nan, "currency"),
            (
                "variance reduction (CRN)",
                (indep / dse) ** 2 if dse > 0 else np.inf,
                np.nan,
                np.nan,
                np.nan,
                "factor",
            ),
        ]
        d_sorted = np.sort(d)
        for p in (0.05, 0.50, 0.95):
            q, qse = stats.quantile_se(d_sorted, p)
            rows.append(
                (
                    f"P{round(p * 100)} difference B - A",
                    q,
                    qse,
                    q - z * qse,
                    q + z * qse,
                    "currency",
                )
            )
        p_more, p_se = stats.proportion_se(d_cents > 0)
        rows.append(("P(B > A)", p_more, p_se, p_more - z * p_se, p_more + z * p_se, "share"))
        table = pd.DataFrame(
            rows, columns=["figure", "estimate", "se", "ci_low", "ci_high", "unit"]
        )
        da = self.rep_detail_cents[ib] / 100.0 - self.rep_detail_cents[ia] / 100.0
        k = da.shape[0]
        mean_d = (self.rep_sum_cents[ib] - self.rep_sum_cents[ia]) / 100.0 / max(n, 1)
        se_d = da.std(axis=0, ddof=1) / np.sqrt(k) if k > 1 else np.full(len(self.rep_ids), np.nan)
        reps = pd.DataFrame(
            {
                "rep_id": self.rep_ids,
                "mean_difference": mean_d,
                "se": se_d,
                "ci_low": mean_d - z * se_d,
                "ci_high": mean_d + z * se_d,
            }
        )
        return Comparison(self.plans[ia], self.plans[ib], n, table, reps)

    # -- output ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping: run settings and one summary per plan (+ comparisons)."""
        out: dict[str, Any] = {
            "n_scenarios": self.n_scenarios,
            "seed": self.seed,
            "budget": self.budget,
            "backend": self.backend,
            "elapsed_seconds": round(self.elapsed, 3),
            "model": self.model_repr,
            "measure": self.measure,
            "levels": dict(zip(LEVEL_NAMES, self.levels, strict=True)),
            "plans": {p: self.summary(p).to_dict() for p in self.plans},
        }
        if len(self.plans) > 1:
            out["comparisons"] = {
                f"{p} vs {self.plans[0]}": {
                    r.figure: {"estimate": _num(r.estimate), "se": _num(r.se)}
                    for r in self.compare(0, j).table.itertuples()
                }
                for j, p in enumerate(self.plans[1:], start=1)
            }
        return out

    def scenarios(self) -> pd.DataFrame:
        """One row per scenario: cost per plan, revenue, cost of sales, level shares."""
        df = pd.DataFrame({"scenario": np.arange(self.n_scenarios), "revenue": self.revenue()})
        for i, p in enumerate(self.plans):
            df[f"cost[{p}]"] = self.costs(i)
            df[f"cost_of_sales[{p}]"] = self.cost_of_sales(i)
        sh = self.level_shares()
        for j, name in enumerate(LEVEL_NAMES):
            df[f"share_{name}"] = sh[:, j]
        return df

    def write(self, out_dir: str | Path, plots: bool = True) -> list[Path]:
        """Write ``summary.json``, ``summary.txt``, ``scenarios.csv``, ``reps.csv`` and plots.

        Every file is written atomically. Returns the paths written.
        """
        from spm_model.data.io import atomic_path, atomic_write_text

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = [
            atomic_write_text(out / "summary.json", json.dumps(self.to_dict(), indent=2) + "\n"),
            atomic_write_text(out / "summary.txt", self.text() + "\n"),
            atomic_write_text(
                out / "scenarios.csv", self.scenarios().to_csv(index=False, lineterminator="\n")
            ),
        ]
        reps = []
        for p in self.plans:
            reps.append(self.rep_quantiles(p).assign(plan=p))
        paths.append(
            atomic_write_text(
                out / "reps.csv", pd.concat(reps).to_csv(index=False, lineterminator="\n")
            )
        )
        paths.append(self.to_excel(out / "simulation.xlsx"))
        if plots:
            from spm_model.simulate import plots as pl

            for name, fn in (
                ("cost_histogram.png", pl.plot_cost_histogram),
                ("leverage.png", pl.plot_leverage),
                ("attainment.png", pl.plot_attainment),
            ):
                fig = fn(self).figure
                with atomic_path(out / name, is_dir=False) as tmp:
                    fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
                import matplotlib.pyplot as plt

                plt.close(fig)
                paths.append(out / name)
        return paths

    EXCEL_MAX_SCENARIOS = 50_000
    """Scenarios written to the workbook's ``scenarios`` sheet at most (all are in the CSV)."""

    def to_excel(self, path: str | Path) -> Path:
        """Write the workbook: Summary (one row per plan), levels, reps and scenarios.

        Uses the package's one workbook writer
        (:func:`spm_model.data.workbook.write_workbook`): money in the plans'
        currency, shares and ratios as percentages.
        """
        from spm_model.data.workbook import Kind, Sheet, write_workbook

        rows: list[dict[str, Any]] = []
        kinds: dict[str, Kind] = {}
        levels = []
        for p in self.plans:
            summ = self.summary(p)
            row: dict[str, Any] = {"plan": p, "scenarios": summ.n_scenarios, "budget": summ.budget}
            for r in summ.table.itertuples():
                row[str(r.figure)] = r.estimate
                kinds[str(r.figure)] = "percent" if r.unit in ("share", "ratio") else "money"
            rows.append(row)
            levels.append(summ.levels.assign(plan=p))
        kinds["budget"] = "money"
        kinds["scenarios"] = "count"
        currency = self.summary(0).currency
        scen = self.scenarios()
        title = f"Simulation: {self.n_scenarios:,} scenarios, seed {self.seed}"
        if len(scen) > self.EXCEL_MAX_SCENARIOS:
            scen = scen.head(self.EXCEL_MAX_SCENARIOS)
            title += f" (first {self.EXCEL_MAX_SCENARIOS:,} scenarios here; all in scenarios.csv)"
        return write_workbook(
            path,
            {
                "levels": pd.concat(levels, ignore_index=True),
                "reps": pd.concat(
                    [self.rep_quantiles(p).assign(plan=p) for p in self.plans], ignore_index=True
                ),
                "scenarios": scen,
            },
            summary=Sheet(pd.DataFrame(rows), kinds=kinds),
            currency=currency,
            title=title,
        )

    def text(self) -> str:
        """Readable summary of every plan and comparison."""
        parts = [
            f"{self.n_scenarios:,} scenarios, seed {self.seed}, {self.backend} backend, "
            f"{self.elapsed:.1f} s",
            self.model_repr,
        ]
        parts += [str(self.summary(p)) for p in self.plans]
        parts += [str(self.compare(0, j)) for j in range(1, len(self.plans))]
        return "\n\n".join(parts)

    def __repr__(self) -> str:
        return self.text()

    # -- plots -----------------------------------------------------------------------------
    def plot_cost(self, plan: str | int | None = None, ax: Any = None) -> Any:
        """Histogram of total cost with the budget line (matplotlib Axes)."""
        from spm_model.simulate.plots import plot_cost_histogram

        return plot_cost_histogram(self, plan, ax=ax)

    def plot_leverage(self, plan: str | int | None = None, ax: Any = None) -> Any:
        """Payout vs attainment leverage curve (matplotlib Axes)."""
        from spm_model.simulate.plots import plot_leverage

        return plot_leverage(self, plan, ax=ax)

    def plot_attainment(self, ax: Any = None) -> Any:
        """Distribution of horizon attainment with the threshold/target/excellence lines."""
        from spm_model.simulate.plots import plot_attainment

        return plot_attainment(self, ax=ax)
