"""Fairness diagnostics for a set of quotas, and the plots a reviewer uses.

:func:`fairness_report` takes a :class:`QuotaResult` and predictive draws of each
rep's performance (default: the history-based distribution of
:mod:`spm_model.quota.predictive`, scaled by each rep's plan-year capacity and
FTE) and reports per rep and measure:

* expected attainment (mean of draws / quota; fraction, 1.0 = 100%) and the
  probability of reaching the threshold, target and excellence levels;
* quota-to-potential ratio (quota per unit of owned account potential), with
  outliers flagged (outside the Tukey fences of the log ratio within role and
  measure, so role mix is not an outlier);
* quota vs last fiscal year's actual (ratio);
* optionally the expected payout under a plan (vectorised engine of
  :mod:`spm_model.plans`), for single-measure plans.

The summary per measure has the expected share of reps at each level and the
Gini coefficient and CV of quota relative to potential; :func:`fairness_groups`
says which regions and teams stand out (quota to potential, quota to last year,
territory balance), role mix taken out, with Holm-adjusted tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spm_model.errors import SpmConfigError
from spm_model.quota.predictive import predictive_draws
from spm_model.quota.setting import QuotaResult


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = all equal, 1 = one holds everything)."""
    v = np.sort(np.asarray(x, dtype=float)[np.isfinite(x)])
    if len(v) == 0 or v.sum() <= 0:
        return float("nan")
    if (v < 0).any():
        raise SpmConfigError("gini needs non-negative values")
    n = len(v)
    return float((2 * np.arange(1, n + 1) - n - 1).dot(v) / (n * v.sum()))


@dataclass
class FairnessReport:
    """Per-rep diagnostics and per-measure summary (see module docstring).

    Attributes
    ----------
    per_rep : DataFrame
        ``rep_id, measure, role, region, team, quota, potential, quota_to_potential,
        potential_outlier, last_year_actual, quota_vs_last_year, expected_attainment,
        p_threshold, p_target, p_excellence`` (+ ``expected_payout`` with a plan).
    summary : DataFrame
        Per measure: ``reps, share_threshold, share_target, share_excellence``
        (expected shares, fractions), ``gini_quota_to_potential``,
        ``cv_quota_to_potential``, ``outliers``.
    levels : tuple of float
        Attainment levels (threshold, target, excellence), fractions.
    attainment_draws : ndarray
        Reps x draws of attainment (for the histogram).
    groups : DataFrame
        Regions and teams that stand out, role mix taken out (:func:`fairness_groups`).
    """

    per_rep: pd.DataFrame
    summary: pd.DataFrame
    levels: tuple[float, float, float]
    attainment_draws: np.ndarray
    groups: pd.DataFrame | None = None

    def plot_groups(self, level: str = "region", ax: Any = None) -> Any:
        """Role-adjusted quota-to-potential by group (box per group; stand-outs in red)."""
        import matplotlib.pyplot as plt

        d = self.per_rep.assign(adj=np.exp(_role_adjusted(self.per_rep, "quota_to_potential")))
        d = d[np.isfinite(d["adj"])]
        names = sorted(d[level].dropna().unique())
        if ax is None:
            _, ax = plt.subplots(figsize=(max(6, 0.6 * len(names)), 4.5))
        g = self.groups if self.groups is not None else pd.DataFrame(columns=["level"])
        out = set(g.loc[(g["level"] == level) & g["stands_out"], "group"]) if len(g) else set()
        box = ax.boxplot(
            [d.loc[d[level] == n, "adj"] for n in names], patch_artist=True, showfliers=True
        )
        for patch, n in zip(box["boxes"], names, strict=True):
            patch.set_facecolor("#e06666" if n in out else "#9fc5e8")
        ax.set_xticks(range(1, len(names) + 1), names, rotation=45, ha="right", fontsize=8)
        ax.axhline(1.0, color="k", lw=0.8, ls="--")
        ax.set_yscale("log")
        ax.set_ylabel("quota per unit of potential / role median")
        ax.set_title(f"Quota to potential by {level}, within role (red: stands out)")
        return ax

    def plot_quota_vs_potential(self, measure: str | None = None, ax: Any = None) -> Any:
        """Scatter of annual quota against owned potential, outliers highlighted."""
        import matplotlib.pyplot as plt

        d = self.per_rep
        if measure is not None:
            d = d[d["measure"] == measure]
        d = d[d["potential"] > 0]
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4.5))
        for meas, g in d.groupby("measure"):
            ax.scatter(g["potential"], g["quota"], s=22, alpha=0.75, label=str(meas))
        o = d[d["potential_outlier"]]
        ax.scatter(
            o["potential"], o["quota"], s=80, facecolors="none", edgecolors="red", label="outlier"
        )
        for r in o.itertuples():
            ax.annotate(
                r.rep_id,
                (r.potential, r.quota),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
        ax.set_xlabel("owned account potential (currency per year)")
        ax.set_ylabel("annual quota (currency)")
        ax.set_title("Quota vs territory potential")
        ax.legend(fontsize=8)
        return ax

    def plot_attainment_histogram(self, measure: str | None = None, ax: Any = None) -> Any:
        """Histogram of expected attainment per rep with the threshold/target/excellence lines."""
        import matplotlib.pyplot as plt

        d = self.per_rep
        if measure is not None:
            d = d[d["measure"] == measure]
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        ax.hist(d["expected_attainment"].clip(upper=3.0), bins=30, color="#4878a8", alpha=0.85)
        for lv, name in zip(self.levels, ("threshold", "target", "excellence"), strict=True):
            ax.axvline(lv, color="k", ls="--", lw=1)
            ax.text(lv, ax.get_ylim()[1] * 0.95, f" {name}", fontsize=8, va="top")
        ax.set_xlabel("expected attainment (1.0 = 100% of quota)")
        ax.set_ylabel("reps")
        ax.set_title("Expected attainment distribution")
        return ax


def fairness_report(
    result: QuotaResult,
    draws: np.ndarray | None = None,
    *,
    levels: Sequence[float] = (0.5, 1.0, 1.2),
    n_draws: int = 1000,
    seed: int = 0,
    fence: float = 1.5,
    plan: Any = None,
) -> FairnessReport:
    """Diagnose the fairness of ``result``'s annual quotas.

    Parameters
    ----------
    result : QuotaResult
        Quotas from :func:`set_quotas`.
    draws : ndarray, optional
        Predictive draws of each pair's plan-year credit (pairs x draws, the
        order of ``result.annual``), e.g. from the forecast module. Default: the
        history-based distribution at full capacity x FTE x capacity share.
    levels : (threshold, target, excellence)
        Attainment levels (fractions, increasing).
    n_draws, seed : int
        Size and seed of the default draws.
    fence : float
        Tukey fence multiple of the IQR of log quota-to-potential for outliers.
    plan : spm_model.plans.Plan, optional
        With a plan, ``expected_payout`` (mean over draws, currency per year) is
        added for reps on single-measure plans whose measure matches.

    Returns
    -------
    FairnessReport
    """
    lv = tuple(float(x) for x in levels)
    if len(lv) != 3 or not (0 < lv[0] < lv[1] < lv[2]):
        raise SpmConfigError(f"levels must be three increasing positive fractions, got {levels!r}")
    a = result.annual
    h = result.history
    if draws is None:
        d = predictive_draws(h, n_draws=n_draws, seed=seed)
        d = d * (a["fte"].to_numpy() * a["capacity_share"].to_numpy())[:, None]
    else:
        d = np.asarray(draws, dtype=float)
        if d.ndim != 2 or d.shape[0] != len(a):
            raise SpmConfigError(f"draws must be pairs x draws ({len(a)} rows), got {d.shape}")
    q = a["annual"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        att = np.where(q[:, None] > 0, d / q[:, None], np.nan)
        pot = a["potential"].to_numpy(dtype=float)
        q2p = np.where(pot > 0, q / pot, np.nan)
        lya = a["last_year_actual"].to_numpy(dtype=float)
        qly = np.where(lya > 0, q / lya, np.nan)
    out = a[["rep_id", "measure", "role", "region", "team"]].copy()
    out["quota"] = q
    out["potential"] = pot
    out["quota_to_potential"] = q2p
    flag = np.zeros(len(a), dtype=bool)
    # within role and measure: roles carry different quota-to-potential by design
    rm = (out["role"].astype(str) + "|" + out["measure"].astype(str)).to_numpy()
    for key in np.unique(rm):
        sel = (rm == key) & np.isfinite(q2p) & (q2p > 0)
        if sel.sum() >= 4:
            lr = np.log(q2p[sel])
            q1, q3 = np.percentile(lr, [25, 75])
            iqr = q3 - q1
            flag[np.flatnonzero(sel)] = (lr < q1 - fence * iqr) | (lr > q3 + fence * iqr)
    out["potential_outlier"] = flag
    out["last_year_actual"] = lya
    out["quota_vs_last_year"] = qly
    expected = np.full(len(out), np.nan)
    some = np.isfinite(att).any(axis=1) if att.size else np.zeros(len(out), bool)
    expected[some] = np.nanmean(att[some], axis=1)  # NaN, without a warning, where no quota
    out["expected_attainment"] = expected
    out["p_threshold"] = np.nanmean(att >= lv[0], axis=1)
    out["p_target"] = np.nanmean(att >= lv[1], axis=1)
    out["p_excellence"] = np.nanmean(att >= lv[2], axis=1)
    if plan is not None:
        out["expected_payout"] = _expected_payout(plan, out, d, h.pairs)
    rows = []
    for meas, g in out.groupby("measure", sort=True):
        r = g["quota_to_potential"].to_numpy()
        r = r[np.isfinite(r)]
        rows.append(
            {
                "measure": meas,
                "reps": len(g),
                "share_threshold": float(g["p_threshold"].mean()),
                "share_target": float(g["p_target"].mean()),
                "share_excellence": float(g["p_excellence"].mean()),
                "gini_quota_to_potential": gini(r) if len(r) else np.nan,
                "cv_quota_to_potential": float(np.std(r, ddof=1) / np.mean(r))
                if len(r) > 1
                else np.nan,
                "outliers": int(g["potential_outlier"].sum()),
            }
        )
    return FairnessReport(
        out,
        pd.DataFrame(rows),
        lv,
        att,
        groups=fairness_groups(out, potential_by_year=potential_by_year(h)),  # type: ignore[arg-type]
    )


def potential_by_year(history: Any) -> pd.DataFrame | None:
    """Owned potential per rep in each fiscal year of the history and in the plan year.

    One row per rep (``rep_id`` index), one column per fiscal year (named by the
    calendar year it ends in, as plan years are) with the average annual potential
    the rep owned in that year's months, NaN where the rep owned nothing in one of
    them (not there yet, or between territories). The plan year is the last column.
    None when the history carries no potential by month.
    """
    hp = getattr(history, "hist_potential", None)
    if hp is None:
        return None
    hm = np.asarray(history.hist_months)
    fsm = int(history.fy_start_month)
    fy = (hm - (fsm - 1)) // 12 + 1970 + (1 if fsm > 1 else 0)
    cols: dict[int, np.ndarray] = {}
    for y in np.unique(fy):
        blk = np.asarray(hp, dtype=float)[:, fy == y]
        if blk.shape[1] >= 3:
            cols[int(y)] = np.where((blk > 0).all(axis=1), blk.mean(axis=1), np.nan)
    plan = np.asarray(history.potential, dtype=float)
    cols[int(history.year)] = np.where((plan > 0).all(axis=1), plan.mean(axis=1), np.nan)
    d = pd.DataFrame(cols, index=history.pairs["rep_id"].to_numpy())
    return d[~d.index.duplicated()]


def cauchy_combination(p: Sequence[float] | np.ndarray) -> float:
    """Combine p-values of dependent tests (Cauchy combination, Liu & Xie 2020).

    ``T = mean(tan((0.5 - p) * pi))`` is approximately standard Cauchy under the null
    whatever the dependence between the tests, so the combined p-value is
    ``0.5 - arctan(T) / pi``. Used for the same territories tested year after year.
    """
    v = np.clip(np.asarray(p, dtype=float), 1e-15, 1 - 1e-12)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan")
    t = float(np.mean(np.tan((0.5 - v) * np.pi)))
    return float(min(1.0, max(0.0, 0.5 - np.arctan(t) / np.pi)))


def _balance_test(x: pd.Series, y: pd.Series, yg: pd.Series) -> tuple[float, float, float] | None:
    """One-sided F-test: spread of ``x`` against the pooled within-group spread of ``y``."""
    from scipy import stats

    dev = y - y.groupby(yg).transform("mean")
    dof = len(y) - int(yg.nunique())
    if dof < 2 or len(x) < 2:
        return None
    v_rest = float((dev**2).sum() / dof)
    v_grp = float(x.var(ddof=1))
    f = v_grp / v_rest if v_rest > 0 else np.inf
    return float(np.sqrt(v_grp)), float(np.sqrt(v_rest)), float(stats.f.sf(f, len(x) - 1, dof))


def _role_adjusted(per_rep: pd.DataFrame, col: str) -> pd.Series:
    """Log of ``col`` minus its median within role and measure (NaN where not positive)."""
    v = per_rep[col].astype(float)
    lv = np.log(v.where(v > 0))
    return lv - lv.groupby([per_rep["role"], per_rep["measure"]]).transform("median")


def fairness_groups(
    per_rep: pd.DataFrame,
    by: Sequence[str] = ("region", "team"),
    alpha: float = 0.05,
    min_reps: int = 3,
    min_effect: float = 0.1,
    potential_by_year: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Which regions or teams stand out, with role mix taken out.

    Every figure is compared **within role and measure** (the log of the rep's
    ratio minus the median of reps in the same role and measure), so a team of
    account managers is not an outlier for carrying renewal quotas. For each
    group (every region, every team) against the rest of the company:

    * ``quota_to_potential``: is the group's quota per unit of potential higher or
      lower (Welch t-test on the role-adjusted log ratio, two-sided);
    * ``quota_to_last_year``: the same for quota against last year's actual;
    * ``territory_balance``: are the group's territories more unequal (one-sided
      F-test of the variance of role-adjusted log potential, one value per rep,
      against the other groups' pooled within-group variance). With
      ``potential_by_year`` the test is run for every fiscal year of the history
      and the plan year (reps present that whole year, role-adjusted that year) and
      the yearly p-values are combined by the Cauchy combination
      (:func:`cauchy_combination`, valid for the dependent tests of the same
      territories year after year): a region split unevenly and only partly evened
      out since is still seen. The values shown are those of the year with the
      smallest p-value.

    p-values are adjusted for the number of groups tested in each family (level x
    test, Holm); a group stands out when the adjusted p-value is below ``alpha`` and
    the difference is material: at least ``min_effect`` (10%) between the group's
    ratio and the rest's, or a spread of potential ``1 + min_effect`` times the rest's.

    Parameters
    ----------
    per_rep : DataFrame
        :attr:`FairnessReport.per_rep`.
    by : sequence of str
        Grouping columns (each is its own level).
    alpha : float
        Family-wise error rate.
    min_reps : int
        Groups with fewer reps are not tested.
    min_effect : float
        Smallest difference that counts (fraction).
    potential_by_year : DataFrame, optional
        Owned potential per rep (index) and fiscal year (columns), from
        :func:`potential_by_year`; default: the plan year only (``per_rep``).

    Returns
    -------
    DataFrame
        ``level, group, test, reps, group_value, rest_value, p_value, p_adjusted,
        stands_out, words``; values are geometric-mean ratios to the role median
        (1.0 = typical for the role) or, for balance, the standard deviation of
        role-adjusted log potential.
    """
    from scipy import stats

    d = per_rep.copy()
    d["_q2p"] = _role_adjusted(d, "quota_to_potential")
    d["_qly"] = _role_adjusted(d, "quota_vs_last_year")
    d["_pot"] = _role_adjusted(d, "potential")
    reps_once = d.drop_duplicates("rep_id").set_index("rep_id")
    # territory balance: plan year from per_rep, or every year of potential_by_year
    if potential_by_year is not None and len(potential_by_year.columns):
        yearly = reps_once[[c for c in by if c in reps_once] + ["role"]].copy()
        years: list[tuple[str | None, str]] = []
        for yr in potential_by_year.columns:
            v = potential_by_year[yr].reindex(yearly.index).astype(float)
            lv = np.log(v.where(v > 0))
            yearly[f"_pot_{yr}"] = lv - lv.groupby(yearly["role"]).transform("median")
            years.append((str(yr), f"_pot_{yr}"))
    else:
        yearly = reps_once
        years = [(None, "_pot")]
    rows: list[tuple[Any, ...]] = []
    for level in by:
        if level not in d:
            continue
        for grp in sorted(d[level].dropna().unique()):
            inside = d[level] == grp
            n = int(d.loc[inside, "rep_id"].nunique())
            if n < min_reps or n == d["rep_id"].nunique():
                continue
            for test, col in (("quota_to_potential", "_q2p"), ("quota_to_last_year", "_qly")):
                x = d.loc[inside, col].dropna()
                y = d.loc[~inside, col].dropna()
                if len(x) < min_reps or len(y) < min_reps:
                    continue
                p = float(stats.ttest_ind(x, y, equal_var=False).pvalue)
                rows.append(
                    (
                        level,
                        grp,
                        test,
                        n,
                        float(np.exp(x.mean())),
                        float(np.exp(y.mean())),
                        p,
                        None,
                        1,
                    )
                )
            bal = []
            for lab, col in years:
                ins = yearly[level] == grp
                x = yearly.loc[ins, col].dropna()
                y = yearly.loc[~ins, col].dropna()
                if len(x) >= min_reps and len(y) >= min_reps:
                    r = _balance_test(x, y, yearly.loc[y.index, level])
                    if r is not None:
                        bal.append((lab, *r))
            if bal:
                best = min(bal, key=lambda b: b[3])
                p = cauchy_combination([b[3] for b in bal]) if len(bal) > 1 else best[3]
                rows.append(
                    (level, grp, "territory_balance", n, best[1], best[2], p, best[0], len(bal))
                )
    cols = ["level", "group", "test", "reps", "group_value", "rest_value", "p_value"]
    out = pd.DataFrame(rows, columns=[*cols, "year_", "years_"])
    if out.empty:
        return out[cols].assign(p_adjusted=[], stands_out=[], words=[])
    # Holm step-down adjustment within each family (level x test)
    adj = np.empty(len(out))
    for _, fam in out.groupby(["level", "test"]):
        pv = fam["p_value"].to_numpy()
        order = np.argsort(pv)
        m = len(pv)
        running = 0.0
        for rank, i in enumerate(order):
            running = max(running, min(1.0, (m - rank) * pv[i]))
            adj[fam.index[i]] = running
    out["p_adjusted"] = adj
    ratio = out["group_value"] / out["rest_value"]
    material = np.where(
        out["test"] == "territory_balance",
        ratio >= 1.0 + min_effect,
        np.abs(np.log(ratio)) >= np.log1p(min_effect),
    )
    out["stands_out"] = (out["p_adjusted"] < alpha) & material
    words = []
    for r in out.itertuples(index=False):
        if r.test == "territory_balance":
            when = (
                f"; most uneven in FY{r.year_}, evidence combined over {r.years_} fiscal years' "
                "snapshots (every year the data touch and the plan year)"
                if r.year_ is not None
                else ""
            )
            w = (
                f"{r.level} {r.group}: territories unequal (potential spread "
                f"{r.group_value:.2f} vs {r.rest_value:.2f} elsewhere, log scale{when})"
            )
        else:
            what = "potential" if r.test == "quota_to_potential" else "last year's actual"
            w = (
                f"{r.level} {r.group}: quota per unit of {what} {r.group_value:.2f}x the role's "
                f"typical vs {r.rest_value:.2f}x elsewhere"
            )
        words.append(f"{w} (adjusted p {r.p_adjusted:.3f})")
    out["words"] = words
    out = out.drop(columns=["year_", "years_"])
    return out.sort_values(["stands_out", "p_adjusted"], ascending=[False, True]).reset_index(
        drop=True
    )


def _expected_payout(
    plan: Any, per_rep: pd.DataFrame, draws: np.ndarray, pairs: pd.DataFrame
) -> np.ndarray:
    """Mean payout over draws for reps whose plan has exactly one measure (NaN otherwise)."""
    out = np.full(len(per_rep), np.nan)
    names = list(plan.measures)
    if len(names) != 1:
        return out
    pm = names[0]
    spec = plan.measures[pm]
    data_measure = getattr(spec, "data_measure", None) or getattr(spec, "quota_measure", None) or pm
    sel = (per_rep["measure"] == data_measure).to_numpy() & (per_rep["quota"] > 0).to_numpy()
    if "plan_id" in pairs and plan.id is not None:
        sel &= (pairs["plan_id"] == plan.id).to_numpy()
    if not sel.any():
        return out
    q = per_rep["quota"].to_numpy()[sel][:, None]
    ti = float(plan.annual_target_incentive())  # annual target incentive (currency)
    pa = plan.payout_arrays(
        {pm: draws[sel]},
        {pm: np.broadcast_to(q, draws[sel].shape)},
        target_incentive=ti,
        periods=1.0,
        components=False,
    )
    out[sel] = np.asarray(pa.total).mean(axis=1)
    return out
