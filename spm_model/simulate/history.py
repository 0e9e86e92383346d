"""History for fitting: credit per rep, measure and period; pooled distribution fits.

The history is a view of the one crediting result
(:class:`spm_model.crediting.CreditingResult`, e.g. from
:func:`spm_model.calc.credit_dataset`): for each plan measure the view the pay
engine reads (direct credit, or roll-up credit through the whole hierarchy for
``rollup: true`` measures; the measure's ``data_measure`` and
``product_families``; margin or units for ``margin``/``units`` measures), so
the simulated history equals what statements credit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from spm_model.data import Dataset
from spm_model.data.periods import Frequency, period_labels
from spm_model.errors import SpmDataError
from spm_model.simulate.marginals import quantile_table

if TYPE_CHECKING:
    from spm_model.crediting import CreditingResult
    from spm_model.crediting.result import Basis
    from spm_model.plans import Plan


def credited_history(
    credits: CreditingResult,
    plan: Plan,
    measures: Sequence[str],
    freq: Frequency,
    ds: Dataset,
) -> pd.DataFrame:
    """Credited history of ``plan``'s measures, in the view its statements use.

    Parameters
    ----------
    credits : CreditingResult
        The run's one crediting of ``ds``.
    plan : Plan
        Gives, per measure, ``source`` (credit, margin or units), ``rollup``
        (roll-up credit through the whole hierarchy instead of direct credit),
        ``data_measure`` and ``product_families``.
    measures : sequence of str
        Plan measure names to return.
    freq : {"month", "quarter", "year"}
        Period of the ``period`` column.
    ds : Dataset
        ``products`` (families) and ``transactions`` (margin, units).

    Returns
    -------
    DataFrame
        ``rep_id, measure, period, amount``: ``measure`` is the plan measure
        name; ``amount`` in the dataset currency (units for ``units``
        measures), cancellations included as crediting reverses them.
    """
    parts = []
    family = None
    for name in measures:
        spec = plan.measures[name]
        basis: Basis = "rollup" if spec.rollup else "direct"
        dm = spec.data_measure or name
        if spec.source == "credit" and spec.product_families is None:
            t = credits.totals(freq, basis, by=("rep_id", "period", "measure"))
            t = t[t["measure"].astype(object) == dm]
            g = t[["rep_id", "period"]].assign(amount=t["amount"].to_numpy())
        else:
            rows = credits.rollup_rows() if spec.rollup else credits.direct
            rows = rows[rows["measure"].astype(object) == dm]
            if spec.product_families is not None:
                if family is None:
                    prods = ds.products
                    family = pd.Series(
                        prods["family"].astype(object).to_numpy(),
                        index=prods["product_id"].astype(object),
                    )
                fam = rows["product_id"].astype(object).map(family)
                rows = rows[fam.isin(list(spec.product_families)).to_numpy()]
            scale = 100.0  # credit and margin are summed in integer cents, as statements do
            if spec.source == "credit":
                value = rows["cents"].to_numpy(np.int64)
            else:
                col = spec.source  # "margin" or "units"
                tx = ds.transactions
                if tx is None or col not in tx:
                    raise SpmDataError(f"measure {name!r} needs transactions.{col}; it is missing")
                base = pd.Series(
                    pd.to_numeric(tx[col], errors="coerce").fillna(0.0).to_numpy(),
                    index=tx["txn_id"].astype(object),
                )
                b = rows["txn_id"].astype(object).map(base).fillna(0.0).to_numpy(np.float64)
                share = np.nan_to_num(rows["share"].to_numpy(np.float64))
                if col == "margin":
                    value = np.rint(b * 100 * share).astype(np.int64)
                else:
                    value, scale = np.round(b * share, 6), 1.0
            period = period_labels(pd.DatetimeIndex(rows["date"]), freq, credits.fy_start_month)
            g = (
                pd.DataFrame(
                    {
                        "rep_id": rows["rep_id"].astype(object).to_numpy(),
                        "period": np.asarray(period, dtype=object),
                        "amount": value,
                    }
                )
                .groupby(["rep_id", "period"], as_index=False, sort=True)["amount"]
                .sum()
            )
            g["amount"] = g["amount"] / scale
        parts.append(g.assign(measure=name)[["rep_id", "measure", "period", "amount"]])
    if not parts:
        return pd.DataFrame(
            {c: pd.Series(dtype=object) for c in ("rep_id", "measure", "period")}
        ).assign(amount=pd.Series(dtype=np.float64))
    out = pd.concat(parts, ignore_index=True)
    out["rep_id"] = out["rep_id"].astype(object)
    out["period"] = out["period"].astype(object)
    return out.reset_index(drop=True)


def attainment_history(credited: pd.DataFrame, quotas: pd.DataFrame) -> pd.DataFrame:
    """Attainment per rep, measure and period where a quota exists (missing credit = 0).

    Parameters
    ----------
    credited : DataFrame
        ``rep_id, measure, period, amount``.
    quotas : DataFrame
        ``rep_id, measure, period, amount`` (quota).

    Returns
    -------
    DataFrame
        ``rep_id, measure, period, credited, quota, attainment`` (fraction).
    """
    q = quotas[quotas["amount"] > 0][["rep_id", "measure", "period", "amount"]].rename(
        columns={"amount": "quota"}
    )
    c = credited.groupby(["rep_id", "measure", "period"], as_index=False)["amount"].sum()
    c = c.rename(columns={"amount": "credited"})
    h = q.merge(c, on=["rep_id", "measure", "period"], how="left")
    h["credited"] = h["credited"].fillna(0.0)
    h["attainment"] = h["credited"] / h["quota"]
    return h.reset_index(drop=True)


def _pool(
    y: np.ndarray, rep: np.ndarray, n_reps: int, prior_n: float
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Partial pooling of per-rep means and sds of ``y`` toward the group (empirical Bayes)."""
    n = np.bincount(rep, minlength=n_reps).astype(np.float64)
    if y.size == 0:
        return np.zeros(n_reps), np.zeros(n_reps), 0.0, 0.0
    s1 = np.bincount(rep, weights=y, minlength=n_reps)
    mean_r = np.where(n > 0, s1 / np.maximum(n, 1), 0.0)
    dev = y - mean_r[rep]
    ss = np.bincount(rep, weights=dev**2, minlength=n_reps)
    df = np.maximum(n - 1, 0)
    mu_g = float(y.mean())
    s2_w = float(ss.sum() / df.sum()) if df.sum() > 0 else float(y.var())
    has = n > 0
    if has.sum() > 1:
        tau2 = float(np.var(mean_r[has], ddof=1) - s2_w * np.mean(1.0 / n[has]))
    else:
        tau2 = 0.0
    tau2 = max(tau2, 1e-6 * max(s2_w, 1e-12))
    prec = n / max(s2_w, 1e-12) + 1.0 / tau2
    shrunk_mean = (n / max(s2_w, 1e-12) * mean_r + mu_g / tau2) / prec
    var_r = np.where(df > 0, ss / np.maximum(df, 1), s2_w)
    shrunk_var = (df * var_r + prior_n * s2_w) / (df + prior_n)
    return shrunk_mean, np.sqrt(shrunk_var), mu_g, s2_w


def fit_marginals(
    hist: pd.DataFrame,
    groups: pd.Series,
    measures: Sequence[str],
    rep_ids: Sequence[str],
    family: str,
    shrinkage: float,
    seasonality: bool,
    periods_per_year: int,
) -> tuple[dict[str, Any], np.ndarray]:
    """Fit attainment marginals per rep and measure with pooling toward peer groups.

    Reps with little or no history borrow from their group (``groups``: rep_id
    -> group label): lognormal fits pool log attainment of positive periods
    (zeros as a pooled hurdle probability); normal and gamma pool attainment;
    the empirical family mixes the rep's own periods with ``shrinkage``
    pseudo-periods drawn from the group's pool.

    Returns
    -------
    (fit, season)
        ``fit``: arrays ``mean``, ``sd``, ``p_zero`` (R, M), optional ``table``,
        and ``table_df`` (one row per rep and measure); ``season``: (M,
        periods_per_year) multipliers on attainment.
    """
    r_n, m_n = len(rep_ids), len(measures)
    mean, sd, p0 = np.ones((r_n, m_n)), np.zeros((r_n, m_n)), np.zeros((r_n, m_n))
    table = np.zeros((r_n, m_n, 201)) if family == "empirical" else None
    season = np.ones((m_n, periods_per_year))
    rows = []
    rep_pos = {r: i for i, r in enumerate(rep_ids)}
    for j, meas in enumerate(measures):
        h = hist[hist["measure"] == meas].copy()
        if h.empty:
            raise SpmDataError(
                f"no history with quotas for measure {meas!r}: give assumptions instead"
            )
        h["group"] = h["rep_id"].map(groups).fillna("other")
        a = h["attainment"].to_numpy(np.float64)
        if seasonality:
            pos_mask = a > 0
            if pos_mask.sum() > 0:
                la = np.log(np.where(pos_mask, a, 1.0))
                rep_mean = (
                    pd.Series(la)
                    .where(pos_mask)
                    .groupby(h["rep_id"].to_numpy())
                    .transform("mean")
                    .to_numpy()
                )
                resid = np.where(pos_mask, la - rep_mean, np.nan)
                by = pd.Series(resid).groupby(h["pos"].to_numpy()).agg(["mean", "count"])
                eff = (
                    by["mean"] * by["count"] / (by["count"] + shrinkage)
                )  # shrink toward no season
                f = np.exp(eff.reindex(range(periods_per_year)).fillna(0.0).to_numpy())
                season[j] = f / np.exp(np.mean(np.log(f)))
            a = a / season[j][h["pos"].to_numpy()]
            h["attainment"] = a
        targets = [g for g in pd.Series(rep_ids).map(groups).fillna("other")]
        for g in sorted(set(targets)):
            members = [r for r, tg in zip(rep_ids, targets, strict=True) if tg == g]
            hg = h[h["group"] == g]
            if hg.empty:
                hg = h  # no peer history: pool over everyone on the plan
            local = {r: k for k, r in enumerate(sorted(set(hg["rep_id"]) | set(members)))}
            code = hg["rep_id"].map(local).to_numpy(np.int64)
            ag = hg["attainment"].to_numpy(np.float64)
            n_loc = len(local)
            if family == "lognormal" or family == "gamma":
                pos = ag > 0
                n_all = np.bincount(code, minlength=n_loc).astype(float)
                n_zero = np.bincount(code[~pos], minlength=n_loc).astype(float)
                pz_g = float((~pos).mean())
                pz = (n_zero + shrinkage * pz_g) / (n_all + shrinkage)
                if family == "lognormal":
                    m_l, s_l, _, _ = _pool(np.log(ag[pos]), code[pos], n_loc, shrinkage)
                    mm = np.exp(m_l + s_l**2 / 2)
                    ss = mm * np.sqrt(np.expm1(s_l**2))
                else:
                    mm, ss, _, _ = _pool(ag[pos], code[pos], n_loc, shrinkage)
                    mm = np.maximum(mm, 1e-6)
            else:
                mm, ss, _, _ = _pool(ag, code, n_loc, shrinkage)
                pz = np.zeros(n_loc)
            for r in members:
                i, k = rep_pos[r], local[r]
                mean[i, j], sd[i, j], p0[i, j] = mm[k], ss[k], min(pz[k], 0.95)
                own = ag[code == k]
                if table is not None:
                    pool = ag
                    w = np.concatenate(
                        [np.ones(own.size), np.full(pool.size, shrinkage / max(pool.size, 1))]
                    )
                    table[i, j] = quantile_table(np.concatenate([own, pool]), w)
                rows.append(
                    {
                        "rep_id": r,
                        "measure": meas,
                        "group": g,
                        "periods": int(own.size),
                        "own_mean": float(own.mean()) if own.size else np.nan,
                        "mean": mean[i, j],
                        "sd": sd[i, j],
                        "p_zero": p0[i, j],
                    }
                )
    fit: dict[str, Any] = {"mean": mean, "sd": sd, "p_zero": p0, "table_df": pd.DataFrame(rows)}
    if table is not None:
        fit["table"] = table
    return fit, season


def estimate_dependence(hist: pd.DataFrame, group_of: pd.Series | None) -> dict[str, float]:
    """Copula correlation shares from history (variance components of log attainment).

    Residuals ``e`` of log attainment around each rep's mean are split into the
    company mean of each period ``c``, the group's deviation from it ``d`` and
    the rep's deviation from the group ``w``. With ``e = a_c C + a_g G + a_e eps``
    and ``Ng`` groups of ``n`` reps among ``N``: ``Var(w) = a_e^2 (1 - 1/n)``,
    ``Var(d) = a_g^2 (1 - 1/Ng) + a_e^2 (1/n - 1/N)`` and
    ``Var(c) = a_c^2 + a_g^2 / Ng + a_e^2 / N``, solved for the shares.
    """
    zero = {"rho_company": 0.0, "rho_group": 0.0, "rho_rep": 0.0}
    h = hist[hist["attainment"] > 0].copy()
    if h.empty:
        return zero
    h["y"] = np.log(h["attainment"])
    h["e"] = h["y"] - h.groupby(["rep_id", "measure"])["y"].transform("mean")
    total = float(h["e"].var())
    if not np.isfinite(total) or total <= 0:
        return zero
    keys = ["measure", "period"]
    h["c"] = h.groupby(keys)["e"].transform("mean")
    h["n_all"] = h.groupby(keys)["e"].transform("count")
    per = h.groupby(keys).agg(c=("c", "first"), n=("n_all", "first"))
    per = per[per["n"] > 1]
    if len(per) < 2:
        return zero
    rg = 0.0
    if group_of is not None:
        h["g"] = h["rep_id"].map(group_of).fillna("other")
        gk = [*keys, "g"]
        h["gm"] = h.groupby(gk)["e"].transform("mean")
        h["n_g"] = h.groupby(gk)["e"].transform("count")
        h["n_groups"] = h.groupby(keys)["g"].transform("nunique")
        inner = h[h["n_g"] > 1]
        ae2 = float((inner["e"] - inner["gm"]).var() / np.mean(1 - 1 / inner["n_g"]))
        grp = h.groupby(gk).agg(
            gm=("gm", "first"),
            c=("c", "first"),
            n_g=("n_g", "first"),
            n=("n_all", "first"),
            ng=("n_groups", "first"),
        )
        grp = grp[grp["ng"] > 1]
        if len(grp) > 1:
            var_d = float((grp["gm"] - grp["c"]).var())
            noise = ae2 * float(np.mean(1 / grp["n_g"] - 1 / grp["n"]))
            rg = (var_d - noise) / float(np.mean(1 - 1 / grp["ng"])) / total
        ng_mean = float(grp["ng"].mean()) if len(grp) else 1.0
    else:
        ae2 = float((h["e"] - h["c"]).var() / np.mean(1 - 1 / h["n_all"]))
        ng_mean = 1.0
    rg = float(rg) if np.isfinite(rg) else 0.0
    rg = max(rg, 0.0)
    rc = (float(per["c"].var()) - rg * total / ng_mean - ae2 * float(np.mean(1 / per["n"]))) / total
    rc = float(np.clip(rc if np.isfinite(rc) else 0.0, 0.0, 0.6))
    rg = float(np.clip(rg, 0.0, 0.6 - rc))
    return {"rho_company": round(rc, 4), "rho_group": round(rg, 4), "rho_rep": 0.0}


def estimate_attrition(reps: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> float:
    """Annual leaving probability: leavers in ``start..end`` over rep-years at risk."""
    if reps.empty:
        return 0.0
    hire = reps["hire_date"].clip(lower=start)
    stop = reps["end_date"].fillna(end).clip(upper=end)
    years = ((stop - hire).dt.days.clip(lower=0) / 365.25).sum()
    left = ((reps["end_date"] >= start) & (reps["end_date"] <= end)).sum()
    if years <= 0:
        return 0.0
    rate = left / years  # leavers per rep-year (Poisson hazard)
    return float(np.clip(1.0 - np.exp(-rate), 0.0, 0.9))
