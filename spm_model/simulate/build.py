"""Build a :class:`ScenarioModel`: from assumptions, from history, or from posterior draws.

* :func:`from_assumptions`: user-specified distributions (mean and sd, or
  quantiles, or an empirical sample) for design work without history;
* :func:`from_dataset`: distributions fitted per rep from a dataset's history
  (credited / quota per period, credit read from the run's one
  :class:`~spm_model.crediting.CreditingResult` in the view the plan's
  statements use) with partial pooling toward peers. It is the one model
  builder: the CLI, the notebooks, the end-to-end report and the widgets all
  call it;
* :func:`with_draws`: posterior-predictive draws of credited amounts (a numpy
  array or an xarray ``DataArray``, e.g. from the Bayesian forecast) replace the
  copula for a model's reps, measures and periods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from spm_model.data import Dataset, parse_period, period_labels, periods_in_fiscal_year
from spm_model.data.periods import Frequency
from spm_model.errors import Problem, SpmConfigError, SpmDataError
from spm_model.plans import Plan
from spm_model.simulate.history import (
    attainment_history,
    credited_history,
    estimate_attrition,
    estimate_dependence,
    fit_marginals,
)
from spm_model.simulate.marginals import fit_quantiles, quantile_table
from spm_model.simulate.model import FAMILY_CODE, TABLE_POINTS, LargeDeals, Marginals, ScenarioModel

if TYPE_CHECKING:
    from spm_model.crediting import CreditingResult

PERIODS_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}


@dataclass(frozen=True)
class Distribution:
    """A user-specified attainment distribution (fractions of quota, 1.0 = 100%).

    Parameters
    ----------
    family : {"lognormal", "normal", "gamma", "empirical"}
    mean, sd : float
        Mean and standard deviation of attainment.
    p_zero : float
        Probability of a period with no credit.
    values : sequence of float, optional
        Sample for the empirical family.
    """

    family: str = "lognormal"
    mean: float = 1.0
    sd: float = 0.3
    p_zero: float = 0.0
    values: tuple[float, ...] | None = None

    @classmethod
    def from_quantiles(
        cls, quantiles: Mapping[float, float], family: str = "lognormal"
    ) -> Distribution:
        """Distribution matching quantiles, e.g. ``{0.1: 0.6, 0.5: 0.95, 0.9: 1.4}``."""
        mean, sd = fit_quantiles(quantiles, family)
        return cls(family, mean, sd)

    @classmethod
    def empirical(cls, values: Sequence[float]) -> Distribution:
        """Smoothed bootstrap of observed attainments."""
        v = np.asarray(values, dtype=np.float64)
        return cls("empirical", float(v.mean()), float(v.std()), 0.0, tuple(v.tolist()))

    def check(self) -> None:
        """Raise :class:`SpmConfigError` on bad parameters."""
        if self.family not in FAMILY_CODE:
            raise SpmConfigError(
                f"distribution family {self.family!r} (use {', '.join(FAMILY_CODE)})"
            )
        if self.sd < 0:
            raise SpmConfigError(f"distribution sd {self.sd} < 0")
        if self.family in ("lognormal", "gamma") and self.mean <= 0:
            raise SpmConfigError(f"{self.family} distribution needs mean > 0, got {self.mean}")
        if self.family == "empirical" and not self.values:
            raise SpmConfigError("empirical distribution needs values")


def _as_dist(d: Distribution | Mapping[str, Any]) -> Distribution:
    if isinstance(d, Distribution):
        out = d
    elif "quantiles" in d:
        out = Distribution.from_quantiles(
            {float(k): float(v) for k, v in dict(d["quantiles"]).items()},
            d.get("family", "lognormal"),
        )
    elif "values" in d:
        out = Distribution.empirical(d["values"])
    else:
        extra = set(d) - {"family", "mean", "sd", "p_zero"}
        if extra:
            raise SpmConfigError(f"distribution: unknown field(s) {', '.join(sorted(extra))}")
        out = Distribution(**dict(d))
    out.check()
    return out


def _marginals_from(dists: list[list[Distribution]]) -> Marginals:
    r, m = len(dists), len(dists[0])
    fam = np.zeros((r, m), np.int64)
    mean, sd, p0 = np.zeros((r, m)), np.zeros((r, m)), np.zeros((r, m))
    table = None
    for i in range(r):
        for j in range(m):
            d = dists[i][j]
            fam[i, j] = FAMILY_CODE[d.family]
            mean[i, j], sd[i, j], p0[i, j] = d.mean, d.sd, d.p_zero
            if d.family == "empirical":
                if table is None:
                    table = np.zeros((r, m, TABLE_POINTS))
                table[i, j] = quantile_table(np.asarray(d.values))
    return Marginals(fam, mean, sd, p0, table)


def _broadcast(name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    try:
        if arr.ndim == 1 and len(shape) == 2 and arr.shape[0] == shape[0] != shape[1]:
            arr = arr[:, None]
        return np.broadcast_to(arr, shape).copy()
    except ValueError:
        raise SpmConfigError(f"{name}: shape {arr.shape} does not fit {shape}") from None


def from_assumptions(
    measures: Mapping[str, Mapping[str, Any]],
    *,
    n_reps: int | None = None,
    rep_ids: Sequence[str] | None = None,
    periods: Sequence[str] | int = 4,
    freq: str = "quarter",
    groups: Sequence[str] | None = None,
    ote: float | Sequence[float] | None = None,
    rho_company: float = 0.0,
    rho_group: float = 0.0,
    rho_rep: float = 0.0,
    attrition: float = 0.0,
    vacancy_periods: int = 1,
    ramp: Sequence[float] = (0.25, 0.5, 0.75),
    hire_period: Sequence[int] | None = None,
    large_deals: Mapping[str, Mapping[str, float]] | None = None,
) -> ScenarioModel:
    """Scenario model from user assumptions (design work without history).

    Parameters
    ----------
    measures : mapping measure -> settings
        Per measure: ``quota`` (currency per period: scalar, per rep, or per
        rep x period), ``distribution`` (a :class:`Distribution` or a mapping
        ``{family, mean, sd, p_zero}`` / ``{quantiles: {p: attainment}}`` /
        ``{values: [...]}``, one for all reps or a list per rep), optional
        ``season`` (multiplier per period).
    n_reps, rep_ids : optional
        Number of reps or their ids.
    periods : sequence of str or int
        Period labels or their number.
    freq : {"month", "quarter", "year"}
        Period length (the plan's measurement period).
    groups : sequence of str, optional
        Region/team per rep for the group factor.
    ote : float or sequence, optional
        Annual OTE per rep (default the plan's).
    rho_company, rho_group, rho_rep : float
        Copula correlation shares.
    attrition : float
        Annual probability of leaving.
    vacancy_periods : int
        Empty periods before a backfill starts.
    ramp : sequence of float
        Backfill productivity by tenure period.
    hire_period : sequence of int, optional
        Hire period per rep relative to the horizon (to ramp new hires).
    large_deals : mapping measure -> {prob, size_mean, size_sd}, optional
        Lumpiness: per-period probability of a large deal and its size as a
        fraction of the period quota.

    Returns
    -------
    ScenarioModel
    """
    if rep_ids is None:
        if n_reps is None:
            raise SpmConfigError("give n_reps or rep_ids")
        rep_ids = [f"REP{i + 1:05d}" for i in range(n_reps)]
    reps = np.asarray(list(rep_ids), dtype=object)
    r = reps.size
    if freq not in PERIODS_PER_YEAR:
        raise SpmConfigError(f"freq {freq!r} (use month, quarter or year)")
    labels = [f"P{i + 1}" for i in range(periods)] if isinstance(periods, int) else list(periods)
    p = len(labels)
    names = list(measures)
    if not names:
        raise SpmConfigError("give at least one measure")
    quota = np.zeros((r, len(names), p))
    season = np.ones((len(names), p))
    dists: list[list[Distribution]] = [[] for _ in range(r)]
    for j, name in enumerate(names):
        spec = dict(measures[name])
        unknown = set(spec) - {"quota", "distribution", "season"}
        if unknown:
            raise SpmConfigError(
                f"measure {name!r}: unknown setting(s) {', '.join(sorted(unknown))}"
            )
        if "quota" not in spec:
            raise SpmConfigError(f"measure {name!r}: give a quota per period")
        quota[:, j, :] = _broadcast(f"{name}.quota", spec["quota"], (r, p))
        if "season" in spec:
            season[j] = _broadcast(f"{name}.season", spec["season"], (p,))
        d = spec.get("distribution", Distribution())
        per_rep = d if isinstance(d, list | tuple) else [d] * r
        if len(per_rep) != r:
            raise SpmConfigError(f"measure {name!r}: {len(per_rep)} distributions for {r} reps")
        for i, di in enumerate(per_rep):
            dists[i].append(_as_dist(di))
    gnames = sorted(set(groups)) if groups is not None else ["all"]
    gcode = (
        np.array([gnames.index(g) for g in groups], np.int64)
        if groups is not None
        else np.zeros(r, np.int64)
    )
    ld = None
    if large_deals:
        prob, sm, ss = np.zeros(len(names)), np.ones(len(names)), np.ones(len(names))
        for name, cfg in large_deals.items():
            if name not in names:
                raise SpmConfigError(f"large_deals: unknown measure {name!r}")
            j = names.index(name)
            prob[j], sm[j], ss[j] = (
                cfg["prob"],
                cfg["size_mean"],
                cfg.get("size_sd", cfg["size_mean"]),
            )
        ld = LargeDeals(prob, sm, ss)
    return ScenarioModel(
        rep_ids=reps,
        group=gcode,
        group_names=gnames,
        measures=names,
        periods=labels,
        freq=freq,
        quota=quota,
        ote=_broadcast("ote", np.nan if ote is None else ote, (r,)),
        hire_period=np.asarray(
            hire_period if hire_period is not None else np.full(r, -1000), np.int64
        ),
        marginals=_marginals_from(dists),
        season=season,
        ramp=tuple(ramp),
        ramp_existing=hire_period is not None,
        rho_company=rho_company,
        rho_group=rho_group,
        rho_rep=rho_rep,
        attrition=attrition,
        vacancy_periods=vacancy_periods,
        large_deals=ld,
        source="assumptions",
    ).validate()


# -- from a dataset --------------------------------------------------------------------------
def _month_index(d: pd.Series | pd.Timestamp) -> Any:
    if isinstance(d, pd.Series):
        return d.dt.year * 12 + (d.dt.month - 1)
    return d.year * 12 + (d.month - 1)


def _horizon(ds: Dataset, freq: Frequency, horizon: str | None) -> tuple[list[str], int]:
    fy0 = ds.meta.fy_start_month
    if horizon is None:
        q = ds.quotas
        if q is None or q.empty:
            raise SpmDataError("quotas table is empty: give horizon= and quota assumptions")
        last = max(parse_period(str(x), fy0).fiscal_year for x in q["period"].unique())
        fy = last
    else:
        try:
            fy = parse_period(str(horizon), fy0).fiscal_year
        except ValueError:
            raise SpmConfigError(
                f"horizon: {horizon!r} is not a fiscal year or period label (e.g. '2027')"
            ) from None
    return [s.label for s in periods_in_fiscal_year(fy, freq, fy0)], fy


QUOTA_COLUMNS = ("rep_id", "period", "measure", "amount")


def with_quotas(ds: Dataset, quotas: pd.DataFrame, source: str = "quotas") -> Dataset:
    """Return the dataset with ``quotas`` in place of its quotas for the years they cover.

    Rows of the dataset's quotas table whose fiscal year and measure appear in
    ``quotas`` are dropped and ``quotas`` added, so a proposal at another
    frequency (months against quarters) never double counts.

    Parameters
    ----------
    ds : Dataset
        Company data.
    quotas : DataFrame
        ``rep_id, period, measure, amount`` (currency or units), e.g.
        ``QuotaResult.quotas`` or the file ``spm quota --out`` writes.
    source : str
        Where the rows come from, named in errors (a file name).

    Returns
    -------
    Dataset

    Raises
    ------
    SpmDataError
        Missing columns, unknown period labels or reps, or amounts that are
        not finite and non-negative: every problem found, in one message.
    """

    def problem(row: int | None, column: str | None, message: str) -> Problem:
        return Problem(source, "quotas", row, column, message)

    missing = [c for c in QUOTA_COLUMNS if c not in quotas.columns]
    if missing:
        raise SpmDataError(
            problem(
                None,
                None,
                f"missing column(s) {', '.join(missing)} "
                f"(a quotas table has {', '.join(QUOTA_COLUMNS)})",
            )
        )
    problems: list[Problem] = []
    q = quotas.loc[:, list(QUOTA_COLUMNS)].reset_index(drop=True)
    q["rep_id"] = q["rep_id"].astype(str)
    q["period"] = q["period"].astype(str).str.strip()
    q["measure"] = q["measure"].astype(str)
    fy0 = ds.meta.fy_start_month
    years: dict[str, int] = {}
    for i, lab in enumerate(q["period"]):
        if lab not in years:
            try:
                years[lab] = parse_period(lab, fy0).fiscal_year
            except ValueError:
                years[lab] = -1
        if years[lab] < 0:
            problems.append(problem(i + 2, "period", f"{lab!r} is not a period label (2027-Q1)"))
    amount = pd.to_numeric(q["amount"], errors="coerce").to_numpy(np.float64)
    for k in np.flatnonzero(~(np.isfinite(amount) & (amount >= 0))).tolist():
        problems.append(
            problem(k + 2, "amount", f"{quotas['amount'].iloc[k]} is not an amount >= 0")
        )
    known = set(ds.reps["rep_id"].astype(str))
    for i, rid in enumerate(q["rep_id"]):
        if rid not in known:
            problems.append(problem(i + 2, "rep_id", f"{rid!r} is not in the reps table"))
    if problems:
        raise SpmDataError(problems)
    q["amount"] = amount
    q["fy"] = q["period"].map(years)
    old = ds.quotas.copy()
    old_fy = [parse_period(str(x), fy0).fiscal_year for x in old["period"]]
    covered = set(zip(q["fy"], q["measure"], strict=True))
    keep = [(y, m) not in covered for y, m in zip(old_fy, old["measure"], strict=True)]
    dtypes = {c: old[c].dtype for c in QUOTA_COLUMNS if c in old}
    merged = pd.concat([old[keep], q.drop(columns="fy").astype(dtypes)])
    return ds.replace(quotas=merged.reset_index(drop=True))


def _quota_labels(ds: Dataset, freq: Frequency) -> pd.DataFrame:
    """Quotas re-labelled at ``freq`` (summed from finer periods when needed)."""
    q = ds.quotas.copy()
    fy0 = ds.meta.fy_start_month
    spans = {lab: parse_period(str(lab), fy0) for lab in q["period"].unique()}
    q["start"] = pd.to_datetime([spans[x].start for x in q["period"]])
    q["pfreq"] = [spans[x].freq for x in q["period"]]
    q["label"] = period_labels(pd.DatetimeIndex(q["start"]), freq, fy0)
    return q.groupby(["rep_id", "measure", "label"], as_index=False)["amount"].sum()


def _horizon_quotas(
    ds: Dataset,
    plan: Plan,
    r_tab: pd.DataFrame,
    measures: list[str],
    labels: list[str],
    fy: int,
    quota_growth: float,
    strict: bool = True,
    measure_growth: Sequence[float] | None = None,
) -> tuple[np.ndarray, set[str]]:
    """Quota per rep, measure and horizon period, projected where the table has none.

    A missing quota is the same period of the previous fiscal year (else the
    rep's nearest quota of that year) times ``quota_growth`` (and, per measure,
    ``measure_growth``: factors in the order of ``measures``). With ``strict``
    an active rep with nothing to project from is an error naming the periods;
    otherwise that quota is NaN.

    Returns
    -------
    quota : ndarray, shape (R, M, P)
        Currency or units.
    projected : set of str
        Periods where an active rep's quota was projected.
    """
    freq = plan.measurement_period
    ql = _quota_labels(ds, freq)
    fy0 = ds.meta.fy_start_month
    prev = [s.label for s in periods_in_fiscal_year(fy - 1, freq, fy0)]
    quota = np.zeros((len(r_tab), len(measures), len(labels)))
    qname = {m: plan.measures[m].quota_measure or m for m in measures}
    idx = {
        (a, b, c): v
        for a, b, c, v in ql[["rep_id", "measure", "label", "amount"]].itertuples(index=False)
    }
    spans = [parse_period(lab, fy0) for lab in labels]
    p_start = pd.DatetimeIndex([pd.Timestamp(sp.start) for sp in spans])
    p_end = pd.DatetimeIndex([pd.Timestamp(sp.end) for sp in spans])
    hired = r_tab["hire_date"].to_numpy("datetime64[ns]")
    left = r_tab["end_date"].to_numpy("datetime64[ns]")
    no_quota: dict[tuple[str, str], list[str]] = {}
    projected: set[str] = set()
    for i, rid in enumerate(r_tab["rep_id"]):
        for j, m in enumerate(measures):
            spec = plan.measures[m]
            if spec.fixed_quota is not None:
                quota[i, j, :] = spec.fixed_quota
                continue
            if spec.quota_ratio_of is not None:
                continue  # derived below from the other measure's quota
            for t, lab in enumerate(labels):
                active = not (hired[i] > p_end[t].asm8) and not (left[i] < p_start[t].asm8)
                v = idx.get((rid, qname[m], lab))
                if v is None:
                    # same period of the previous fiscal year, else the rep's nearest quota
                    # of that year (a rep hired during it has none before the hire)
                    for u in sorted(range(len(prev)), key=lambda u: (abs(u - t), -u)):
                        v = idx.get((rid, qname[m], prev[u]))
                        if v is not None:
                            v *= quota_growth * (
                                1.0 if measure_growth is None else measure_growth[j]
                            )
                            if active:
                                projected.add(lab)
                            break
                if v is None:
                    if active:
                        no_quota.setdefault((lab, qname[m]), []).append(str(rid))
                    v = 0.0 if strict else np.nan
                quota[i, j, t] = v
    if no_quota and strict:
        m_periods = sorted({lab for lab, _ in no_quota})
        m_measures = sorted({meas for _, meas in no_quota})
        m_reps = sorted({r for ids in no_quota.values() for r in ids})
        raise SpmDataError(
            f"horizon {fy}: no quotas for plan {plan.id!r} in period(s) {', '.join(m_periods)} "
            f"(quotas measure(s) {', '.join(m_measures)}; {len(m_reps)} active rep(s), e.g. "
            f"{', '.join(m_reps[:5])}), nor in {fy - 1} to project them "
            "from: add them to the quotas table or choose another horizon"
        )
    for j, m in enumerate(measures):
        spec = plan.measures[m]
        if spec.fixed_quota is None and spec.quota_ratio_of is not None:
            if spec.quota_ratio_of not in measures:
                raise SpmConfigError(
                    f"measure {m!r}: quota_ratio_of {spec.quota_ratio_of!r} is not simulated"
                )
            base_q = quota[:, measures.index(spec.quota_ratio_of), :]
            quota[:, j, :] = base_q * float(spec.quota_ratio or 0.0)
    return quota, projected


def from_dataset(
    ds: Dataset,
    plan: Plan,
    *,
    horizon: str | None = None,
    credits: CreditingResult | None = None,
    reps: Sequence[str] | None = None,
    family: str = "lognormal",
    group_by: Sequence[str] = ("role",),
    shrinkage: float = 4.0,
    factor_group: str = "region",
    correlation: str | Mapping[str, float] = "estimate",
    attrition: float | str = "estimate",
    vacancy_periods: int = 1,
    ramp: Sequence[float] = (0.25, 0.5, 0.75),
    quota_growth: float = 1.0,
    seasonality: bool = True,
    large_deals: Mapping[str, Mapping[str, float]] | None = None,
    quotas: pd.DataFrame | None = None,
    sales_growth: float | Mapping[str, float] | None = None,
) -> ScenarioModel:
    """Scenario model fitted from a dataset's history for the reps on ``plan``.

    Parameters
    ----------
    ds : Dataset
        Reps, quotas, and (unless ``credits`` is given) transactions,
        assignments and products for the history.
    plan : Plan
        The plan whose measures and measurement period are simulated; reps with
        ``reps.plan_id == plan.id`` (or ``reps``) who are active at the horizon start.
    horizon : str, optional
        Fiscal year to simulate (``"2027"``); default the last fiscal year in
        the quotas table. A rep's missing horizon quota is projected from the
        same period of the previous fiscal year (or, for a rep without a quota
        in that period, the rep's nearest quota of that year) times
        ``quota_growth``; ``info["quota_projected"]`` lists those periods. A
        period in which a rep on the plan is active and has no quota in the
        horizon nor in the previous fiscal year is an error that names it.
    credits : CreditingResult, optional
        The run's one crediting of ``ds`` (credit once per run and pass it to
        every consumer), e.g. ``spm_model.calc.credit_dataset(ds, plans)``;
        default: ``credit_dataset(ds, [plan])``. The history is the view the
        plan's statements read: direct credit, or roll-up credit through the
        whole hierarchy for ``rollup: true`` measures (see
        :func:`spm_model.simulate.history.credited_history`).
    family : {"lognormal", "normal", "gamma", "empirical"}
        Marginal family fitted per rep and measure.
    group_by : sequence of str
        Rep columns (and/or ``"tenure_band"``) defining peer groups for pooling.
    shrinkage : float
        Prior weight of the peer group, in periods of history (larger = more pooling).
    factor_group : str
        Rep column of the group factor of the copula (region or team).
    correlation : "estimate" or mapping
        Estimate ``rho_company``/``rho_group`` from history, or give them
        (``{"rho_company": .2, "rho_group": .1, "rho_rep": 0}``).
    attrition : float or "estimate"
        Annual probability of leaving (estimated from ``end_date`` in history).
    vacancy_periods, ramp : see :class:`ScenarioModel`.
    quota_growth : float
        Multiplier on projected quotas.
    seasonality : bool
        Fit a seasonal attainment factor per measure and period of the year.
    large_deals : mapping, optional
        Extra lumpiness (see :func:`from_assumptions`).
    quotas : DataFrame, optional
        Quota rows ``rep_id, period, measure, amount`` (currency or units) that
        replace the quotas table's rows of the fiscal years and measures they
        cover, e.g. a proposal's ``QuotaResult.quotas`` to cost next year at
        the proposed quotas (see :func:`with_quotas`). Without ``horizon`` the
        last fiscal year of the merged table is simulated. Sales stay at the
        level the history implies: credit is drawn against the quotas the
        table held (or would have projected) for the horizon and paid against
        the given ones (``ScenarioModel.sales_basis``), so a quota raised 20%
        lowers attainment by a sixth rather than raising sales 20%. A rep with
        no earlier quota to compare with is drawn against the new quota. Where
        the table has no quotas for the horizon (next year's proposal), the
        previous year's quotas are that level grown by ``sales_growth``.
    sales_growth : float or mapping, optional
        With ``quotas``, for a horizon the quotas table does not cover: annual
        growth of each rep's sales from the previous fiscal year's quotas to the
        horizon, a fraction (0.08 = +8%), for every measure or per measure (plan
        or quota measure name; absent measures 0). Default: learnt as the quota
        methods learn it (:func:`spm_model.quota.build_history`: credit per
        full-capacity rep-month, the last twelve months against a year earlier),
        so the cost of a proposal assumes the sales growth its quotas assume;
        ``0`` keeps sales at the previous year's quota level.
        ``info["sales_growth"]`` holds the growth used per quota measure and
        ``info["sales_growth_source"]`` where it came from.

    Returns
    -------
    ScenarioModel
        ``info`` holds the fitted per-rep table (``info["fit"]``).
    """
    ds_history = ds
    if quotas is not None:
        ds = with_quotas(ds, quotas)
    if family not in FAMILY_CODE:
        raise SpmConfigError(f"family: {family!r} (use one of {', '.join(FAMILY_CODE)})")
    if shrinkage < 0:
        raise SpmConfigError(f"shrinkage: {shrinkage} (must be >= 0)")
    freq = plan.measurement_period
    fy0 = ds.meta.fy_start_month
    labels, fy = _horizon(ds, freq, horizon)
    h_start = pd.Timestamp(parse_period(labels[0], fy0).start)
    r_tab = ds.reps.copy()
    if reps is not None:
        missing = sorted(set(reps) - set(r_tab["rep_id"]))
        if missing:
            raise SpmDataError(f"reps not in the reps table: {', '.join(missing[:20])}")
        r_tab = r_tab[r_tab["rep_id"].isin(list(reps))]
    else:
        r_tab = r_tab[r_tab["plan_id"] == plan.id]
    active = r_tab["end_date"].isna() | (r_tab["end_date"] >= h_start)
    r_tab = r_tab[active].sort_values("rep_id").reset_index(drop=True)
    if r_tab.empty:
        raise SpmDataError(f"no active reps on plan {plan.id!r} at {h_start.date()}")
    measures = [
        m for m, spec in plan.measures.items() if spec.source in ("credit", "margin", "units")
    ]
    if not measures:
        raise SpmConfigError(f"plan {plan.id!r} has no credit-based measure to simulate")
    qname = {m: plan.measures[m].quota_measure or m for m in measures}
    quota, projected = _horizon_quotas(ds, plan, r_tab, measures, labels, fy, quota_growth)
    ql = _quota_labels(ds, freq)
    ppy = PERIODS_PER_YEAR[freq]
    # history: the run's one crediting, in the view the plan's statements read
    if credits is None:
        from spm_model.calc.credit import credit_dataset

        credits = credit_dataset(ds, [plan])
    basis = None
    growth_used: dict[str, float] = {}
    growth_source = ""
    if quotas is not None:
        # the history measured attainment against the quotas of its time: keep each rep's
        # sales at the level those quotas imply for the horizon (grown from the previous
        # year's where the table has none for it) and pay on the new quotas
        ref, ref_projected = _horizon_quotas(
            ds_history, plan, r_tab, measures, labels, fy, quota_growth, strict=False
        )
        if ref_projected:
            qmeasures = list(dict.fromkeys(qname.values()))
            growth_used, growth_source = _sales_growth(
                ds_history, fy, credits, sales_growth, qmeasures, qname
            )
            factor = [1.0 + growth_used[qname[m]] for m in measures]
            ref, _ = _horizon_quotas(
                ds_history, plan, r_tab, measures, labels, fy, quota_growth, False, factor
            )
        basis = np.where(np.isfinite(ref) & (ref > 0), ref, quota)
        if np.array_equal(basis, quota):
            basis = None
    cred = credited_history(credits, plan, measures, freq, ds)
    qparts = []
    for m in measures:
        spec = plan.measures[m]
        ratio_of = spec.quota_ratio_of if spec.fixed_quota is None else None
        part = ql[ql["measure"] == qname.get(ratio_of or m, ratio_of or m)]
        if ratio_of is not None:
            part = part.assign(amount=part["amount"] * float(spec.quota_ratio or 0.0))
        qparts.append(part.assign(measure=m).rename(columns={"label": "period"}))
    qhist = pd.concat(qparts, ignore_index=True)
    end = pd.Timestamp(ds.meta.end_date) if ds.meta.end_date else pd.Timestamp(ds.as_of)
    start = pd.Timestamp(ds.meta.start_date) if ds.meta.start_date else pd.Timestamp.min
    complete = [
        lab
        for lab in qhist["period"].unique()
        if pd.Timestamp(parse_period(str(lab), fy0).end) <= end
        and pd.Timestamp(parse_period(str(lab), fy0).start) >= start
    ]
    hist = attainment_history(cred, qhist[qhist["period"].isin(complete)])
    hist = _mostly_employed(hist, ds.reps, fy0)
    rep_info = ds.reps.set_index("rep_id")
    hist = hist[hist["rep_id"].isin(rep_info.index)]
    hist["pos"] = [
        (parse_period(str(x), fy0).start.month - fy0) % 12 * ppy // 12 for x in hist["period"]
    ]
    groups_of = _peer_groups(rep_info, group_by, end)
    fit, season = fit_marginals(
        hist, groups_of, measures, r_tab["rep_id"].tolist(), family, shrinkage, seasonality, ppy
    )
    marg = Marginals(
        np.full((len(r_tab), len(measures)), FAMILY_CODE[family], np.int64),
        fit["mean"],
        fit["sd"],
        fit["p_zero"],
        fit.get("table"),
    )
    pos_h = [(parse_period(x, fy0).start.month - fy0) % 12 * ppy // 12 for x in labels]
    season_h = season[:, pos_h] if seasonality else np.ones((len(measures), len(labels)))
    grp_col = (
        r_tab[factor_group].astype(str)
        if factor_group in r_tab
        else pd.Series(["all"] * len(r_tab))
    )
    gnames = sorted(grp_col.unique())
    gcode = grp_col.map({g: i for i, g in enumerate(gnames)}).to_numpy(np.int64)
    if isinstance(correlation, str):
        if correlation != "estimate":
            raise SpmConfigError(f"correlation: {correlation!r} (use 'estimate' or a mapping)")
        rho = estimate_dependence(
            hist, rep_info[factor_group].astype(str) if factor_group in rep_info else None
        )
    else:
        rho = {"rho_company": 0.0, "rho_group": 0.0, "rho_rep": 0.0, **dict(correlation)}
    if isinstance(attrition, str):
        if attrition != "estimate":
            raise SpmConfigError(f"attrition: {attrition!r} (a probability or 'estimate')")
        attr = estimate_attrition(
            ds.reps[
                ds.reps["rep_id"].isin(hist["rep_id"].unique()) | ds.reps["plan_id"].eq(plan.id)
            ],
            start,
            end,
        )
    else:
        attr = float(attrition)
    hire = _month_index(r_tab["hire_date"]) - _month_index(h_start)
    hire_period = np.floor_divide(hire.fillna(-1000).to_numpy(np.int64), 12 // ppy)
    leave = _month_index(r_tab["end_date"]) - _month_index(h_start)
    departure = np.floor_divide(leave.fillna(10_000).to_numpy(np.int64), 12 // ppy)
    departure = np.minimum(departure, len(labels) + 1)
    base = from_assumptions(
        {m: {"quota": quota[:, j, :]} for j, m in enumerate(measures)},
        rep_ids=r_tab["rep_id"].tolist(),
        periods=labels,
        freq=freq,
        groups=None,
        ote=r_tab["ote"].to_numpy(np.float64) if "ote" in r_tab else None,
        large_deals=large_deals,
        ramp=ramp,
        vacancy_periods=vacancy_periods,
    )
    fit_table = fit["table_df"]
    return base.replace(
        group=gcode,
        group_names=gnames,
        marginals=marg,
        season=season_h,
        hire_period=hire_period,
        departure=departure if np.any(departure < len(labels)) else None,
        ramp_existing=False,
        rho_company=rho["rho_company"],
        rho_group=rho["rho_group"],
        rho_rep=rho.get("rho_rep", 0.0),
        attrition=attr,
        source=f"history ({family}, pooled by {', '.join(group_by)})",
        info={
            "fit": fit_table,
            "history": hist,
            "fiscal_year": fy,
            "estimated": rho,
            "quota_projected": sorted(projected),
            "sales_basis": "quotas before the override" if basis is not None else "quota",
            "sales_growth": growth_used,
            "sales_growth_source": growth_source,
        },
        sales_basis=basis,
    )


#: Share of a period a rep must be employed for its attainment to enter the fit.
MIN_PERIOD_SHARE = 0.5


def _mostly_employed(hist: pd.DataFrame, reps: pd.DataFrame, fy0: int) -> pd.DataFrame:
    """Drop rep-periods the rep was employed for less than :data:`MIN_PERIOD_SHARE` of.

    A hire's first days or a leaver's last are no sample of a period's attainment: a
    quarter's quota prorated to 12 days met by one deal read 35.6x on a generated company,
    and the fitted spread made every simulated year of that plan implausible.
    """
    if hist.empty:
        return hist
    spans = {lab: parse_period(str(lab), fy0) for lab in hist["period"].unique()}
    lo = pd.to_datetime(hist["period"].map(lambda x: spans[x].start))
    hi = pd.to_datetime(hist["period"].map(lambda x: spans[x].end))
    r = reps.set_index(reps["rep_id"].astype(object))
    hire = pd.to_datetime(hist["rep_id"].map(r["hire_date"]))
    leave = pd.to_datetime(hist["rep_id"].map(r["end_date"]))
    first = np.maximum(lo, hire.fillna(lo))
    last = np.minimum(hi, leave.fillna(hi))
    days = (last - first).dt.days + 1
    share = days.clip(lower=0) / ((hi - lo).dt.days + 1)
    return hist[(share >= MIN_PERIOD_SHARE).to_numpy()].reset_index(drop=True)


def _sales_growth(
    ds: Dataset,
    fy: int,
    credits: CreditingResult,
    given: float | Mapping[str, float] | None,
    quota_measures: list[str],
    qname: Mapping[str, str],
) -> tuple[dict[str, float], str]:
    """Annual sales growth per quota measure into fiscal year ``fy``, and its source.

    Returns
    -------
    growth : dict str -> float
        Fraction per quota measure (0.08 = +8%).
    source : str
        ``"given"``, ``"learnt ..."`` or why it could not be learnt (then 0).
    """
    if given is not None:
        if isinstance(given, Mapping):
            by_quota = {qname.get(k, k): v for k, v in given.items()}
            out = {m: by_quota.get(m, 0.0) for m in quota_measures}
        else:
            out = dict.fromkeys(quota_measures, given)
        bad = {
            m: v
            for m, v in out.items()
            if isinstance(v, bool) or not isinstance(v, int | float) or not -1 < v < np.inf
        }
        if bad:
            raise SpmConfigError(
                "sales_growth: "
                + ", ".join(f"{m}={v!r}" for m, v in bad.items())
                + " (a fraction > -1: 0.08 = +8% a year)"
            )
        return {m: float(v) for m, v in out.items()}, "given"
    from spm_model.errors import SpmError
    from spm_model.quota.history import build_history

    try:
        hist = build_history(ds, int(fy), credits=credits)
    except SpmError as exc:
        reason = str(exc).splitlines()[0]
        return dict.fromkeys(quota_measures, 0.0), f"not learnt ({reason}): 0 used"
    source = (
        "learnt: credit per full-capacity rep-month, the last twelve months against a year earlier"
    )
    short = [
        n
        for n in hist.notes
        if "to compare with a year earlier" in n and n.split(":")[0] in quota_measures
    ]
    short += [
        f"{m}: not a quota measure of the history, 0 used"
        for m in quota_measures
        if m not in hist.growth
    ]
    if short:  # too little history a year apart: say what was used instead
        source += " (" + "; ".join(short) + ")"
    return {m: float(hist.growth.get(m, 0.0)) for m in quota_measures}, source


def _peer_groups(rep_info: pd.DataFrame, group_by: Sequence[str], asof: pd.Timestamp) -> pd.Series:
    cols = []
    for c in group_by:
        if c == "tenure_band":
            years = (asof - rep_info["hire_date"]).dt.days / 365.25
            cols.append(
                pd.cut(years, [-np.inf, 1, 2, np.inf], labels=["<1y", "1-2y", "2y+"]).astype(str)
            )
        elif c in rep_info:
            cols.append(rep_info[c].astype(str))
        else:
            raise SpmConfigError(f"group_by: unknown rep column {c!r}")
    if not cols:
        return pd.Series("all", index=rep_info.index)
    out = cols[0]
    for c in cols[1:]:
        out = out + "|" + c
    return out


def with_draws(
    model: ScenarioModel, draws: Any, *, sample_dims: Sequence[str] = ("chain", "draw", "sample")
) -> ScenarioModel:
    """Use posterior-predictive draws of credited amounts for ``model``'s reps.

    Parameters
    ----------
    model : ScenarioModel
        Gives reps, measures, periods, quotas, OTE and attrition.
    draws : ndarray or xarray.DataArray
        Credited amounts (currency). An array has shape (D, R, M, P) in the
        model's order; a DataArray has dims ``rep_id``, ``measure``, ``period``
        plus sample dims (any of ``sample_dims``, stacked), matched by label.

    Returns
    -------
    ScenarioModel
        Scenario ``s`` uses draw ``s % D``; the copula, marginals, seasonality
        and ramp are not used (the draws carry them); attrition still applies.
    """
    if hasattr(draws, "dims"):
        da = draws
        need = {"rep_id", "measure", "period"}
        if not need <= set(da.dims):
            raise SpmConfigError(f"draws: dims {da.dims} need {sorted(need)} plus sample dims")
        samp = [d for d in da.dims if d not in need]
        bad = [d for d in samp if d not in sample_dims]
        if bad:
            raise SpmConfigError(f"draws: unexpected dim(s) {bad}")
        missing = [
            f"{dim}={v}"
            for dim, vals in (
                ("rep_id", model.rep_ids),
                ("measure", model.measures),
                ("period", model.periods),
            )
            for v in vals
            if v not in set(np.asarray(da[dim].values).tolist())
        ]
        if missing:
            raise SpmConfigError(
                f"draws lack {len(missing)} label(s): {', '.join(map(str, missing[:10]))}"
            )
        da = da.sel(rep_id=list(model.rep_ids), measure=model.measures, period=model.periods)
        if len(samp) > 1:
            da = da.stack(_s=samp)
            samp = ["_s"]
        arr = np.asarray(
            da.transpose(samp[0], "rep_id", "measure", "period").values, dtype=np.float64
        )
    else:
        arr = np.asarray(draws, dtype=np.float64)
    if arr.ndim != 4 or arr.shape[1:] != (model.n_reps, model.n_measures, model.n_periods):
        raise SpmConfigError(
            f"draws: shape {arr.shape}, expected "
            f"(D, {model.n_reps}, {model.n_measures}, {model.n_periods})"
        )
    if not np.all(np.isfinite(arr)):
        raise SpmConfigError("draws contain NaN or infinite values")
    return model.replace(
        draws=np.ascontiguousarray(arr), source=f"{arr.shape[0]} posterior-predictive draws"
    )
