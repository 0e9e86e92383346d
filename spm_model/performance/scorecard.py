"""Rep scorecards: attainment and pace, pipeline, win rate, activity, peer percentiles.

Every ratio whose denominator is zero or missing is reported as missing (NaN)
with a ``note``, never as infinity: no quota, no closed deals, quota already
met (coverage of a remaining quota of zero), no history for a pace profile.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spm_model.data import Dataset
from spm_model.data.periods import periods_between
from spm_model.performance.config import ScorecardConfig
from spm_model.performance.data import PerformanceData

PEER_METRICS = (
    "attainment",
    "pace",
    "bookings",
    "win_rate",
    "avg_deal_size",
    "sales_cycle_days",
    "coverage_weighted",
    "activities_per_month",
    "prospecting_per_month",
)
"""Metrics ranked within each peer group (``<metric>_peer_pct``, ``<metric>_peer_median``)."""

ACTIVITY_KINDS = ("call", "email", "meeting", "demo")


def _div(num: pd.Series | np.ndarray, den: pd.Series | np.ndarray) -> np.ndarray:
    """Elementwise num / den with NaN where den is 0 or missing (never inf)."""
    n = np.asarray(num, dtype=float)
    d = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(n, d).shape, np.nan)
    ok = np.isfinite(d) & (d != 0) & np.isfinite(n)
    np.divide(n, d, out=out, where=ok)
    return out


def _prepare(data: Dataset | PerformanceData) -> PerformanceData:
    return data if isinstance(data, PerformanceData) else PerformanceData(data)


def expected_share_curve(
    pdata: PerformanceData, freq: str, before: pd.Timestamp, min_periods: int = 2
) -> np.ndarray | None:
    """Average cumulative share of a period's bookings by elapsed fraction (101 points).

    Built from every complete period of ``freq`` before ``before``: positive
    money credit binned by the fraction of the period elapsed at its date.
    ``None`` when fewer than ``min_periods`` periods are available.
    """
    ds = pdata.ds
    first = ds.meta.start_date or pdata.credit["date"].min()
    if first is None or pd.isna(first):
        return None
    spans = [
        p
        for p in periods_between(
            pd.Timestamp(first).date(),
            (before - pd.Timedelta(days=1)).date(),
            freq,  # type: ignore[arg-type]
            pdata.fy_start_month,
        )
        if pd.Timestamp(p.start) >= pd.Timestamp(first) and pd.Timestamp(p.end) < before
    ]
    if len(spans) < min_periods:
        return None
    c = pdata.credit
    c = c[(c["amount"] > 0) & c["measure"].isin(pdata.product_measures)]
    curves = []
    for sp in spans:
        s, e = pd.Timestamp(sp.start), pd.Timestamp(sp.end)
        sel = c[(c["date"] >= s) & (c["date"] <= e)]
        total = sel["amount"].sum()
        if total <= 0:
            continue
        frac = ((sel["date"] - s).dt.days.to_numpy() + 1) / sp.days
        hist = np.bincount(
            np.clip(np.ceil(frac * 100).astype(int), 0, 100), weights=sel["amount"], minlength=101
        )
        curves.append(np.cumsum(hist) / total)
    if len(curves) < min_periods:
        return None
    return np.mean(curves, axis=0)


def tenure_band(months: pd.Series, bands: tuple[int, ...]) -> pd.Series:
    """Label tenure in months with bands such as ``0-6m``, ``6-12m``, ``24m+``."""
    edges = [-np.inf, *bands, np.inf]
    labels = [f"{lo}-{hi}m" for lo, hi in zip((0, *bands[:-1]), bands, strict=True)]
    labels.append(f"{bands[-1]}m+")
    return pd.cut(months, edges, labels=labels, right=False).astype("str")


def scorecards(
    data: Dataset | PerformanceData,
    period: str,
    as_of: str | pd.Timestamp | None = None,
    config: ScorecardConfig | None = None,
) -> pd.DataFrame:
    """Scorecard of every active rep for one period, as of a date.

    Parameters
    ----------
    data : Dataset or PerformanceData
        The company with its crediting (a bare Dataset is credited once here
        with :func:`spm_model.calc.credit_dataset`; pass a
        :class:`PerformanceData` to reuse the run's crediting and plans).
    period : str
        Period label (``"2026-Q3"``, ``"2026"``, ``"2026-07"``; fiscal calendar of the data).
    as_of : date, optional
        Cut-off date; default the period end or the data's as-of date, whichever is earlier.
    config : ScorecardConfig, optional
        Look-back window, tenure bands, peer keys.

    Returns
    -------
    DataFrame
        One row per rep active in the period. Money in the dataset currency;
        attainment, shares, pace, win rate and coverage as fractions (1.0 = 100%);
        ``ytd_quota``, ``ytd_bookings`` and ``ytd_attainment``: the primary measure from the
        start of the fiscal year (what a cumulative plan pays on; ``plan_cumulative`` says
        whose plan that is);
        ``sales_cycle_days`` in days; ``tenure_months`` in months. Look-back
        counts for the coaching flags: ``prospecting_touches`` (calls and emails),
        ``months_observed`` (months of the look-back the rep was employed),
        ``new_won_deals`` and ``new_lost_deals`` (closed new-business deals, renewals
        left out), ``opportunities_created`` and ``pipeline_created`` (currency,
        new-business opportunities the rep owns created in the look-back) with
        ``pipeline_created_rel_var`` (``sum(amount^2) / sum(amount)^2``, the
        relative sampling variance of that total), ``territory_potential``
        (currency per year, owned at the cut-off) and ``lookback_potential`` (its
        mean over quarterly snapshots of the look-back while employed). Peer columns:
        ``peer_group``, ``peer_size``, ``<metric>_peer_pct`` (mid-rank percentile
        within the group, 0..1) and ``<metric>_peer_median``. Ratios with a zero
        denominator are NaN and explained in ``note``.
    """
    cfg = config or ScorecardConfig.model_validate({})
    pdata = _prepare(data)
    ds = pdata.ds
    sp = pdata.span(period)
    start, end = pd.Timestamp(sp.start), pd.Timestamp(sp.end)
    cut = pd.Timestamp(as_of) if as_of is not None else min(end, pd.Timestamp(ds.as_of))
    cut = min(max(cut, start), end)
    look_start = cut - pd.Timedelta(days=cfg.lookback_days - 1)

    reps = ds.reps
    active = (reps["hire_date"] <= cut) & (reps["end_date"].isna() | (reps["end_date"] >= start))
    card = reps.loc[active, ["rep_id", "name", "role", "region", "team", "manager_id", "hire_date"]]
    card = card.reset_index(drop=True)

    # quota and achievement, primary measure = the quota measure of the heaviest component of
    # the rep's plan (when the plans are known), else the largest money quota of the rep
    quotas = pdata.quotas(start, end)
    actual = pdata.actuals(start, cut)
    mq = quotas.merge(actual, on=["rep_id", "measure"], how="left").fillna({"actual": 0.0})
    mq["_money"] = mq["measure"].isin(pdata.product_measures)
    mq["_rank"] = _plan_rank(mq, reps, pdata.plans)
    mq = mq.sort_values(
        ["rep_id", "_rank", "_money", "quota"], ascending=[True, True, False, False]
    )
    primary = mq.drop_duplicates("rep_id").set_index("rep_id")
    card["primary_measure"] = card["rep_id"].map(primary["measure"])
    card["quota"] = card["rep_id"].map(primary["quota"]).astype(float)
    card["quota"] = card["quota"] * _employed_share(card, reps, pdata.plans, start, end)
    own_money = actual[actual["measure"].isin(pdata.product_measures)]
    total_money = own_money.groupby("rep_id")["actual"].sum()
    by_primary = actual.set_index(["rep_id", "measure"])["actual"]
    keys = list(zip(card["rep_id"], card["primary_measure"], strict=True))
    key_index = pd.MultiIndex.from_tuples(keys) if keys else None

    def on_primary(values: pd.Series) -> np.ndarray:
        """Each rep's value on its primary measure (NaN where there is none)."""
        return values.reindex(key_index).to_numpy(dtype=float) if keys else np.array([])

    card["bookings"] = np.where(
        card["primary_measure"].notna(),
        np.nan_to_num(on_primary(by_primary)),
        card["rep_id"].map(total_money).fillna(0.0).to_numpy(),
    ).astype(float)
    card["attainment"] = _div(card["bookings"], card["quota"])

    # year to date on the primary measure: what a cumulative plan (year-to-date true-up) pays on
    fy_start = pd.Timestamp(pdata.span(str(sp.fiscal_year)).start)
    ytd_q = pdata.quotas(fy_start, end).set_index(["rep_id", "measure"])["quota"]
    ytd_a = pdata.actuals(fy_start, cut).set_index(["rep_id", "measure"])["actual"]
    card["ytd_quota"] = on_primary(ytd_q) * _employed_share(card, reps, pdata.plans, fy_start, end)
    card["ytd_bookings"] = np.where(
        card["primary_measure"].notna(), np.nan_to_num(on_primary(ytd_a)), np.nan
    )
    card["ytd_attainment"] = _div(card["ytd_bookings"], card["ytd_quota"])
    card["plan_cumulative"] = _plan_is_cumulative(card, reps, pdata.plans)

    # pace against the within-period booking profile
    elapsed = ((cut - start).days + 1) / sp.days
    curve = expected_share_curve(pdata, sp.freq, start, cfg.min_history_periods)
    expected = (
        float(curve[int(np.clip(np.ceil(elapsed * 100), 0, 100))]) if curve is not None else elapsed
    )
    card["elapsed_share"] = elapsed
    card["expected_share"] = expected
    card["pace"] = _div(card["attainment"], np.full(len(card), expected))
    card["projected_attainment"] = card["pace"]
    card["remaining_quota"] = np.clip(card["quota"] - card["bookings"], 0, None)

    # deals: win rate, size, cycle (opportunities closed in the look-back window)
    opp = ds.opportunities
    closed = opp[
        opp["status"].isin(["won", "lost"])
        & (opp["close_date"] >= look_start)
        & (opp["close_date"] <= cut)
    ]
    won = closed[closed["status"] == "won"]
    g_won = won.groupby("owner_rep_id")
    n_won = g_won.size()
    n_lost = closed[closed["status"] == "lost"].groupby("owner_rep_id").size()
    card["won_deals"] = card["rep_id"].map(n_won).fillna(0).astype(int)
    card["lost_deals"] = card["rep_id"].map(n_lost).fillna(0).astype(int)
    card["win_rate"] = _div(card["won_deals"], card["won_deals"] + card["lost_deals"])
    card["avg_deal_size"] = card["rep_id"].map(g_won["amount"].mean()).astype(float)
    cycle = (won["close_date"] - won["created_date"]).dt.days
    card["sales_cycle_days"] = (
        card["rep_id"].map(cycle.groupby(won["owner_rep_id"]).mean()).astype(float)
    )

    # pipeline open at the cut-off and expected to close in the rest of the period
    open_at = opp[
        (opp["created_date"] <= cut)
        & ((opp["status"] == "open") | (opp["close_date"] > cut))
        & (opp["close_date"] > cut)
        & (opp["close_date"] <= end)
    ]
    company_win = _div(len(won), len(closed)) if len(closed) else np.nan
    rep_win = open_at["owner_rep_id"].map(card.set_index("rep_id")["win_rate"]).astype(float)
    prob = np.where(
        open_at["status"] == "open",
        open_at["probability"].to_numpy(dtype=float),
        rep_win.fillna(company_win).to_numpy(dtype=float),
    )
    pipe = pdata.rolled_up(
        pd.DataFrame(
            {
                "rep_id": open_at["owner_rep_id"].to_numpy(),
                "amount": open_at["amount"].to_numpy(dtype=float),
                "weighted": open_at["amount"].to_numpy(dtype=float) * prob,
            }
        )
    )
    g_pipe = pipe.groupby("rep_id")
    card["pipeline_deals"] = card["rep_id"].map(g_pipe.size()).fillna(0).astype(int)
    card["pipeline_unweighted"] = card["rep_id"].map(g_pipe["amount"].sum()).fillna(0.0)
    card["pipeline_weighted"] = card["rep_id"].map(g_pipe["weighted"].sum()).fillna(0.0).round(2)
    # next period's pipeline and quota: at (or near) a period end the pipeline that
    # matters is the one for the coming period
    nxt_start = end + pd.Timedelta(days=1)
    nxt = pdata.span_after(sp)
    nxt_end = pd.Timestamp(nxt.end)
    nxt_open = opp[
        (opp["created_date"] <= cut)
        & ((opp["status"] == "open") | (opp["close_date"] > cut))
        & (opp["close_date"] >= nxt_start)
        & (opp["close_date"] <= nxt_end)
    ]
    nrw = nxt_open["owner_rep_id"].map(card.set_index("rep_id")["win_rate"]).astype(float)
    nprob = np.where(
        nxt_open["status"] == "open",
        nxt_open["probability"].to_numpy(dtype=float),
        nrw.fillna(company_win).to_numpy(dtype=float),
    )
    nxt_pipe = pdata.rolled_up(
        pd.DataFrame(
            {
                "rep_id": nxt_open["owner_rep_id"].to_numpy(),
                "weighted": nxt_open["amount"].to_numpy(dtype=float) * nprob,
            }
        )
    )
    nxt_w = nxt_pipe.groupby("rep_id")["weighted"].sum()
    nq = pdata.quotas(nxt_start, nxt_end)
    nq = nq[nq["rep_id"].isin(card["rep_id"])]
    nkey = card["rep_id"] + "|" + card["primary_measure"].fillna("")
    nq_map = pd.Series(
        nq["quota"].to_numpy(), index=(nq["rep_id"] + "|" + nq["measure"]).to_numpy()
    )
    card["next_period"] = nxt.label
    card["next_quota"] = nkey.map(nq_map).astype(float)
    card["next_pipeline_weighted"] = card["rep_id"].map(nxt_w).fillna(0.0).round(2)
    money_primary = card["primary_measure"].isin(pdata.product_measures)
    card["next_coverage_weighted"] = np.where(
        money_primary, _div(card["next_pipeline_weighted"], card["next_quota"]), np.nan
    )
    card["coverage_unweighted"] = np.where(
        money_primary, _div(card["pipeline_unweighted"], card["remaining_quota"]), np.nan
    )
    card["coverage_weighted"] = np.where(
        money_primary, _div(card["pipeline_weighted"], card["remaining_quota"]), np.nan
    )

    # concentration: largest single deal among period bookings and open pipeline
    c = pdata.credit
    period_credit = c[(c["date"] >= start) & (c["date"] <= cut) & (c["amount"] > 0)]
    largest_booking = period_credit.groupby("rep_id")["amount"].max()
    largest_pipe = g_pipe["amount"].max()
    largest = pd.concat([largest_booking, largest_pipe], axis=1).max(axis=1)
    base = card["rep_id"].map(period_credit.groupby("rep_id")["amount"].sum()).fillna(0.0)
    card["largest_deal"] = card["rep_id"].map(largest).astype(float)
    card["largest_deal_share"] = _div(card["largest_deal"], base + card["pipeline_unweighted"])

    # activities in the period to date, and per month over the look-back window
    act = ds.activities
    in_period = act[(act["date"] >= start) & (act["date"] <= cut)]
    counts = in_period.groupby(["rep_id", "kind"]).size().unstack(fill_value=0)
    for kind in ACTIVITY_KINDS:
        col = counts[kind] if kind in counts else pd.Series(dtype=float)
        card[f"{kind}s"] = card["rep_id"].map(col).fillna(0).astype(int)
    card["activities"] = card["rep_id"].map(counts.sum(axis=1)).fillna(0).astype(int)
    recent = act[(act["date"] >= look_start) & (act["date"] <= cut)]
    hire = card["hire_date"].where(card["hire_date"] > look_start, look_start)
    months_observed = ((cut - hire).dt.days + 1) / (365.25 / 12)
    card["activities_per_month"] = _div(
        card["rep_id"].map(recent.groupby("rep_id").size()).fillna(0), months_observed
    )
    prospecting = recent[recent["kind"].isin(cfg.prospecting_kinds)].groupby("rep_id").size()
    card["prospecting_per_month"] = _div(card["rep_id"].map(prospecting).fillna(0), months_observed)
    card["prospecting_touches"] = card["rep_id"].map(prospecting).fillna(0).astype(int)
    card["months_observed"] = months_observed.clip(lower=0).round(3)
    # new business only (renewals follow past wins): win rate and pipeline created in the look-back
    prod_measure = ds.products.set_index("product_id")["measure"] if "products" in ds else None
    is_new = (
        ~opp["product_id"].map(prod_measure).isin(list(cfg.renewal_measures)).to_numpy()
        if prod_measure is not None and "product_id" in opp
        else np.ones(len(opp), dtype=bool)
    )
    closed_new = closed[is_new[opp.index.get_indexer(closed.index)]]
    n_won_new = closed_new[closed_new["status"] == "won"].groupby("owner_rep_id").size()
    n_lost_new = closed_new[closed_new["status"] == "lost"].groupby("owner_rep_id").size()
    card["new_won_deals"] = card["rep_id"].map(n_won_new).fillna(0).astype(int)
    card["new_lost_deals"] = card["rep_id"].map(n_lost_new).fillna(0).astype(int)
    # pipeline the rep created in the look-back window (opportunities they own, by creation date)
    created = opp[is_new & (opp["created_date"] >= look_start).to_numpy()]
    created = created[created["created_date"] <= cut]
    g_created = created.groupby("owner_rep_id")["amount"]
    card["opportunities_created"] = card["rep_id"].map(g_created.size()).fillna(0).astype(int)
    card["pipeline_created"] = card["rep_id"].map(g_created.sum()).fillna(0.0).astype(float)
    # relative variance of that sum as a compound-Poisson total: sum(a^2) / (sum a)^2
    sq = (created["amount"].astype(float) ** 2).groupby(created["owner_rep_id"]).sum()
    card["pipeline_created_rel_var"] = _div(
        card["rep_id"].map(sq).fillna(0.0), card["pipeline_created"] ** 2
    )

    card["tenure_months"] = ((cut - card["hire_date"]).dt.days / (365.25 / 12)).round(1)
    card["tenure_band"] = tenure_band(card["tenure_months"], cfg.tenure_bands)
    card["territory_potential"] = card["rep_id"].map(pdata.territory_potential(cut)).fillna(0.0)
    # potential owned over the look-back (mean of quarterly snapshots while employed), the
    # denominator of pipeline created: territories move, and a rep is judged on what they had
    snaps = pd.date_range(end=cut, periods=max(1, round(cfg.lookback_days / 91)), freq="91D")
    pots = pd.concat(
        [card["rep_id"].map(pdata.territory_potential(d)).fillna(0.0) for d in snaps], axis=1
    )
    employed = pd.concat([card["hire_date"] <= d for d in snaps], axis=1).to_numpy()
    pv = np.where(employed, pots.to_numpy(), np.nan)
    with np.errstate(invalid="ignore"):
        card["lookback_potential"] = np.where(
            employed.any(axis=1), np.nanmean(np.where(employed, pv, 0.0), axis=1), 0.0
        )
    card.insert(1, "period", sp.label)
    card.insert(2, "period_start", start)
    card.insert(3, "period_end", end)
    card.insert(4, "as_of", cut.normalize())

    notes = np.full(len(card), "", dtype=object)
    for mask, text in (
        (card["quota"].isna(), "no quota in the period"),
        (card["won_deals"] + card["lost_deals"] == 0, "no closed deals in the look-back window"),
        (
            money_primary & (card["remaining_quota"] == 0) & card["quota"].notna(),
            "quota already met",
        ),
        (np.full(len(card), curve is None), "pace uses elapsed days (not enough history)"),
    ):
        m = np.asarray(mask, dtype=bool)
        notes[m] = [f"{n}; {text}" if n else text for n in notes[m]]
    card["note"] = notes
    return _add_peers(card, cfg.peer_keys)


def _employed_share(
    card: pd.DataFrame, reps: pd.DataFrame, plans: dict, start: pd.Timestamp, end: pd.Timestamp
) -> np.ndarray:
    """Share of the period each rep was employed, where the rep's plan prorates quota rows.

    A plan whose quota rows are full-period quotas (``proration.quota_rows:
    full_period``) prorates a hire's or leaver's quota by days; with the plans known
    the scorecard does the same, so both show one attainment. Rows already set for the
    days employed (``as_employed``), reps without a known plan and plans that do not
    prorate quotas keep the row as it is (1.0).
    """
    if not plans or card.empty:
        return np.ones(len(card))
    r = reps.set_index(reps["rep_id"].astype(object))
    ids = card["rep_id"].astype(object)
    lo, hi = np.datetime64(start.date(), "D"), np.datetime64(end.date(), "D")

    def day(col: str, fill: np.datetime64) -> np.ndarray:
        v = pd.to_datetime(ids.map(r[col]).to_numpy()).to_numpy().astype("datetime64[D]")
        return np.where(np.isnat(v), fill, v)

    first = np.maximum(day("hire_date", lo), lo)
    last = np.minimum(day("end_date", hi), hi)
    days = np.maximum((last - first).astype(np.int64) + 1, 0).astype(float)
    share = days / float((hi - lo).astype(np.int64) + 1)

    def prorates(pid: object) -> bool:
        plan = plans.get(pid)
        pr = getattr(plan, "proration", None)
        return bool(
            pr is not None
            and pr.method == "days"
            and "quota" in pr.apply_to
            and pr.quota_rows == "full_period"  # "as_employed" rows need no proration
        )

    on = ids.map(r["plan_id"]).map(prorates).fillna(False).to_numpy(bool)
    return np.where(on, share, 1.0)


def _plan_of(reps: pd.DataFrame) -> pd.Series:
    """Plan id of each rep, indexed by rep id."""
    return reps.set_index(reps["rep_id"].astype(object))["plan_id"].astype(object)


def _plan_is_cumulative(card: pd.DataFrame, reps: pd.DataFrame, plans: dict) -> np.ndarray:
    """Whether each rep's plan measures year to date (``cumulative: true``); False when unknown."""
    if not plans or card.empty:
        return np.zeros(len(card), dtype=bool)
    plan_of = _plan_of(reps)
    cumulative = {pid: bool(p.cumulative) for pid, p in plans.items()}
    return np.array([cumulative.get(plan_of.get(r), False) for r in card["rep_id"]], dtype=bool)


def _plan_rank(mq: pd.DataFrame, reps: pd.DataFrame, plans: dict) -> np.ndarray:
    """Return the rank of each (rep, quota measure) row in the rep's plan.

    0 for the quota measure of the component with the largest weight, 1 for the next,
    ...; measures the plan does not weigh (or reps without a known plan) rank last, so
    the largest quota decides there.
    """
    last = 1_000
    if not plans or mq.empty:
        return np.full(len(mq), last)
    order: dict[str, dict[str, int]] = {}
    for pid, plan in plans.items():
        ranked: dict[str, int] = {}
        comps = sorted(plan.components, key=lambda c: -float(getattr(c, "weight", 0.0) or 0.0))
        for c in comps:
            # a component's measures: one, or a matrix's row then column
            for attr in ("measure", "row_measure", "col_measure"):
                m = getattr(c, attr, None)
                if m in plan.measures:
                    ranked.setdefault(plan.measures[m].quota_measure or m, len(ranked))
        order[pid] = ranked
    pids = mq["rep_id"].astype(object).map(_plan_of(reps))
    return np.array(
        [order.get(p, {}).get(m, last) for p, m in zip(pids, mq["measure"], strict=True)]
    )


def _add_peers(card: pd.DataFrame, keys: tuple[str, ...]) -> pd.DataFrame:
    """Mid-rank percentile and median of each peer metric within the peer group."""
    keys = tuple(k for k in keys if k in card)
    if not keys or card.empty:
        card["peer_group"] = ""
        card["peer_size"] = 0
        return card
    card["peer_group"] = card[list(keys)].astype(str).agg(" / ".join, axis=1)
    g = card.groupby("peer_group")
    card["peer_size"] = g["rep_id"].transform("size").astype(int)
    for m in PEER_METRICS:
        vals = card[m].astype(float)
        grp = vals.groupby(card["peer_group"])
        n = grp.transform("count")
        rank = grp.rank(method="average")
        card[f"{m}_peer_pct"] = _div(rank - 0.5, n)
        card[f"{m}_peer_median"] = grp.transform("median")
    return card


def attainment_panel(
    data: Dataset | PerformanceData, freq: str = "quarter", until: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Attainment of every rep in every complete period of ``freq`` (primary measure).

    Returns
    -------
    DataFrame
        ``rep_id, period, start, end, measure, quota, actual, attainment`` (fraction),
        for periods that end on or before ``until`` (default the data's as-of date).
    """
    pdata = _prepare(data)
    ds = pdata.ds
    stop = pd.Timestamp(until) if until is not None else pd.Timestamp(ds.as_of)
    first = ds.meta.start_date or pdata.credit["date"].min()
    rows = []
    for sp in periods_between(pd.Timestamp(first).date(), stop.date(), freq, pdata.fy_start_month):  # type: ignore[arg-type]
        s, e = pd.Timestamp(sp.start), pd.Timestamp(sp.end)
        if s < pd.Timestamp(first) or e > stop:
            continue
        q = pdata.quotas(s, e)
        a = pdata.actuals(s, e)
        mq = q.merge(a, on=["rep_id", "measure"], how="left").fillna({"actual": 0.0})
        mq["_money"] = mq["measure"].isin(pdata.product_measures)
        mq = mq.sort_values(["rep_id", "_money", "quota"], ascending=[True, False, False])
        mq = mq.drop_duplicates("rep_id").drop(columns="_money")
        mq.insert(1, "period", sp.label)
        mq.insert(2, "start", s)
        mq.insert(3, "end", e)
        rows.append(mq)
    if not rows:
        return pd.DataFrame(
            columns=["rep_id", "period", "start", "end", "measure", "quota", "actual", "attainment"]
        )
    panel = pd.concat(rows, ignore_index=True)
    panel["attainment"] = _div(panel["actual"], panel["quota"])
    return panel
