"""Coaching flags: who needs help, and why, with the evidence and the action.

The default flags (:data:`~spm_model.performance.config.DEFAULT_FLAGS`) judge a
pattern over the evidence scorecard's look-back (two years by default) against
comparable peers - same role, tenure band (new or established) and band of
territory potential, widened to role and tenure, then role, when a group has
fewer than ``min_peers`` reps - with empirical-Bayes shrinkage: the peer group's
spread gives the prior, a rep's own counts the likelihood, so a rep with few
deals is pulled towards the peers and is not flagged on noise. A flag is raised
only when the rep's true rate is past the threshold with probability
``min_sure`` (0.75), and at most ``max_flagged_share`` (20%) of the reps of each
role judged carry one (the surest kept; AE, AM and FIELD, the owners of
territory, count as one role). Every flag carries the figure, the peers' range
(25th-75th percentile), the median, how sure, and the suggested action.

``under_worked_territory`` (owners of territory: AE, AM, FIELD)
    New-business opportunities opened per year per typical deal of territory
    potential (with :func:`evidence_scorecard`: each account's potential divided
    by the median new-business deal of its segment, so that territories of large
    and small accounts compare and the count has Poisson noise only; the first
    ``ramp_exclude_months`` after hire left out) either surely below
    ``severe_under_worked_ratio`` x the peers', or below ``under_worked_ratio`` x
    the peers' for the rep's prospecting effort (rate per prospecting touch; sure
    to ``under_worked_effort_sure``) while below the peers' outright. The count
    is judged by its exact Poisson likelihood against what the peers' median rate
    would have given, under a heavy-tailed prior (:func:`shrink_poisson_robust`), so
    that a small territory's 0 or 3 opportunities where 10 were due count as
    evidence; a rep needs ``under_worked_min_months`` after the ramp-up.
    Without the evidence scorecard: pipeline value per unit of potential, with the
    compound-Poisson variance ``sum(a^2) / (sum a)^2`` of the rep's opportunities.
``activity_without_wins`` (sellers)
    Win rate below ``low_win_rate_ratio`` x the peers' (beta-binomial shrinkage
    of won / closed deals) while prospecting touches per month are more likely
    than not at least ``high_activity_ratio`` x those of the peers of the same role
    and tenure band (heavy-tailed prior, one between-rep spread over the groups).
``sandbagging`` (sellers)
    Deals won around quarter ends that land in the first ``sandbag_start_days`` of
    the new quarter rather than the last ``sandbag_end_days`` of the old one: the
    odds surely above ``sandbag_odds_ratio`` x the peers' (beta-binomial shrinkage).
``chronic_thin_pipeline`` (owners of territory)
    New-business pipeline on hand, in quarters of the rep's own closing volume,
    surely below ``thin_pipeline_ratio`` x the peers' (heavy-tailed shrinkage). By
    Little's law the pipeline on hand is the closing rate times the time a deal is
    open, so the cover is measured as the mean days from creation to close of
    every new-business deal closed in the look-back / 91.3 (sampling variance of a
    log-normal mean); the deals on hand at the quarter starts are reported too
    (without the evidence scorecard's ``pipeline_cover_little``, they are judged:
    Poisson variance of both counts).
``high_discount`` (sellers)
    Net price per unit of the ``discount_measures`` bookings, against the
    company's median price of the same product, surely below ``discount_ratio`` x
    the peers' (heavy-tailed shrinkage).
``behind_pace_thin_pipeline`` (quota-carrying reps, not managers)
    Pace below ``behind_pace`` and weighted pipeline below ``thin_coverage`` x the
    remaining quota (late in the period: next period's), and, with an attainment
    panel, attainment over the last ``window_periods`` complete periods surely below
    ``chronic_attainment`` (a persistent shortfall, not one slow quarter).
``team_behind`` (managers)
    The team's roll-up attainment over the window surely below
    ``team_behind_ratio`` and behind pace now. Managers are judged on their team's
    results, never on their own pipeline.

The evidence of the last three comes from :func:`behaviour_evidence`
(added to the evidence scorecard by :func:`evidence_scorecard`).

Off by default (one period's events; add them to ``flags``):
``concentrated_on_one_deal`` (one deal is at least ``concentration_share`` of
bookings plus open pipeline), ``slow_ramp`` (tenure under ``ramp_months`` and
projected attainment below ``ramp_ratio`` x the tenure curve) and
``sudden_drop`` (projected attainment below ``drop_ratio`` x the rep's own mean
over the previous ``drop_history`` periods).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from spm_model.performance.config import FlagConfig, ScorecardConfig

FLAG_NAMES = (
    "under_worked_territory",
    "activity_without_wins",
    "sandbagging",
    "chronic_thin_pipeline",
    "high_discount",
    "behind_pace_thin_pipeline",
    "team_behind",
    "concentrated_on_one_deal",
    "slow_ramp",
    "sudden_drop",
)

SELLER_ROLES = ("AE", "AM", "FIELD", "CHANNEL")
"""Roles whose win rates and activity are judged."""

TERRITORY_ROLES = ("AE", "AM", "FIELD")
"""Roles that own territories (their pipeline is judged against its potential)."""

MANAGER_ROLES = ("MANAGER",)

CREATED_CAP_QUANTILE = 0.95
"""Deals above this quantile of the company's new opportunities count at it in the
under-worked rate (one very large deal should not decide a rep's rate)."""

ROBUST_DF = 3.0
"""Degrees of freedom of the heavy-tailed prior of :func:`shrink_log_rate_robust`."""

MIN_TAU2 = 0.04
"""Floor of the between-rep variance of log rates (a spread of about 20% between peers):
a peer group that looks too alike would otherwise shrink every rep to its median."""

COLUMNS = [
    "rep_id",
    "name",
    "team",
    "region",
    "role",
    "period",
    "flag",
    "reason",
    "severity",
    "figure",
    "peer_low",
    "peer_median",
    "peer_high",
    "sure",
    "action",
    "peer_group",
]
"""Columns of :func:`coaching_flags`: ``figure`` is the rep's value of the judged
metric, ``peer_low``/``peer_high`` the peers' 25th/75th percentiles and
``peer_median`` their median (same units), ``sure`` the posterior probability that
the rep is past the threshold (NaN for flags without a model), ``severity`` how
far past the threshold (0..1, larger is worse)."""

ACTIONS = {
    "under_worked_territory": (
        "Work the territory: account plans for the highest-potential accounts without an "
        "open opportunity, and a weekly prospecting target."
    ),
    "activity_without_wins": (
        "Review qualification and deal strategy on the last lost deals, not effort: "
        "fewer, better-qualified opportunities."
    ),
    "sandbagging": (
        "Review close dates with the rep: book deals when they are won, and forecast the "
        "quarter's real commit (holding deals back hides the team's position and delays pay)."
    ),
    "chronic_thin_pipeline": (
        "Log opportunities as soon as they are found and build pipeline a quarter ahead; "
        "review the forward pipeline each week."
    ),
    "high_discount": (
        "Review pricing on the rep's recent deals with the manager: discount approvals, "
        "value selling and negotiation coaching."
    ),
    "behind_pace_thin_pipeline": "Build pipeline now or pull deals forward; review weekly.",
    "team_behind": (
        "Review each rep's pipeline with the manager; look at the team's flagged reps and "
        "territory coverage first."
    ),
    "concentrated_on_one_deal": "Widen the pipeline so the period does not hinge on one deal.",
    "slow_ramp": "Pair with a mentor and review territory and onboarding.",
    "sudden_drop": "Ask what changed (territory, a lost account, personal circumstances).",
}


def _ratio(num: object, den: object) -> np.ndarray:
    n = np.asarray(num, dtype=float)
    d = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(n, d).shape, np.nan)
    np.divide(n, d, out=out, where=np.isfinite(d) & (d != 0))
    return out


def _pct(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{x:.0%}"


def _money(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{x:,.0f}"


def tenure_curve(panel: pd.DataFrame, reps: pd.DataFrame, step_months: int = 3) -> pd.Series:
    """Median attainment by tenure (months at the period end, in ``step_months`` bins).

    Parameters
    ----------
    panel : DataFrame
        :func:`~spm_model.performance.scorecard.attainment_panel` output.
    reps : DataFrame
        The reps table (``hire_date``).

    Returns
    -------
    Series
        Index: tenure bin start (months); values: median attainment (fraction).
    """
    if panel.empty:
        return pd.Series(dtype=float)
    hire = panel["rep_id"].map(reps.set_index("rep_id")["hire_date"])
    months = (panel["end"] - hire).dt.days / (365.25 / 12)
    bins = (months // step_months * step_months).clip(lower=0)
    ok = panel["attainment"].notna() & bins.notna()
    return panel.loc[ok, "attainment"].groupby(bins[ok]).median().sort_index()


def peer_groups(
    card: pd.DataFrame, judged: np.ndarray, config: FlagConfig
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Peer group of every row: role, tenure band and band of territory potential.

    Potential bands are quantiles of territory potential within the role among
    the judged rows. A group with fewer than ``config.min_peers`` judged rows is
    widened to role and tenure band, then to the role (whose members are then
    every judged rep of the role and tenure band, or of the role).

    Parameters
    ----------
    card : DataFrame
        Scorecard rows (``role``, ``tenure_months``, ``territory_potential``).
    judged : ndarray of bool
        Rows that take part in the comparison.
    config : FlagConfig
        ``min_peers``, ``potential_bands``, ``peer_tenure_months``.

    Returns
    -------
    (ndarray of str, dict)
        The label per row (``"AE / 12m+ / potential 2 of 3"`` and the like) and,
        per label, the boolean mask of its member rows (judged or not).
    """
    role = card["role"].astype(str).to_numpy()
    ten = (
        card["tenure_months"].to_numpy(dtype=float)
        if "tenure_months" in card
        else np.full(len(card), np.inf)
    )
    tm = config.peer_tenure_months
    tband = np.where(ten < tm, f"<{tm}m", f"{tm}m+")
    pot = (
        card["territory_potential"].to_numpy(dtype=float)
        if "territory_potential" in card
        else np.zeros(len(card))
    )
    nb = config.potential_bands
    pband = np.full(len(card), "", dtype=object)
    for r in np.unique(role):
        sel = (role == r) & judged & (pot > 0)
        if nb > 1 and sel.sum() >= nb:
            edges = np.quantile(pot[sel], np.linspace(0, 1, nb + 1)[1:-1])
            b = np.searchsorted(edges, pot, side="right") + 1
            m = role == r
            pband[m] = [f"potential {k} of {nb}" for k in b[m]]
    levels = [
        np.array([f"{a} / {b} / {c}" for a, b, c in zip(role, tband, pband, strict=True)]),
        np.array([f"{a} / {b}" for a, b in zip(role, tband, strict=True)]),
        role.astype(str),
    ]
    out = levels[-1].astype(object)
    for lab in levels[-2::-1]:  # role first, refined where groups are big enough
        counts = pd.Series(lab[judged]).value_counts()
        big = pd.Series(lab).map(counts).fillna(0).to_numpy() >= config.min_peers
        out = np.where(big, lab, out)
    members: dict[str, np.ndarray] = {}
    for g in np.unique(out.astype(str)):
        for lab in levels:
            hit = lab == g
            if hit.any():
                members[g] = hit
                break
    return np.asarray(out, dtype=str), members


def _peer_stats(
    x: np.ndarray, groups: np.ndarray, members: dict[str, np.ndarray], use: np.ndarray
) -> pd.DataFrame:
    """25th percentile, median and 75th percentile of ``x`` over each row's peer group."""
    out = pd.DataFrame(np.nan, index=range(len(x)), columns=["low", "median", "high"])
    for g in np.unique(groups):
        pool = members.get(str(g), groups == g) & use & np.isfinite(x)
        if pool.any():
            out.loc[groups == g, ["low", "median", "high"]] = np.quantile(
                x[pool], [0.25, 0.5, 0.75]
            )
    return out


def _peer_pools(
    groups: np.ndarray, members: dict[str, np.ndarray] | None, usable: np.ndarray
) -> Iterator[tuple[Any, np.ndarray, np.ndarray]]:
    """Each peer group with at least two usable members: (label, rows in it, usable pool).

    The pool is the group's members (``members[label]`` when given, e.g. peers pooled across
    tenure bands) that are ``usable``.
    """
    for g in np.unique(groups):
        sel = groups == g
        pool = members.get(str(g), sel) if members is not None else sel
        ok = pool & usable
        if ok.sum() >= 2:
            yield g, sel, ok


def shrink_log_rate(
    value: np.ndarray,
    se2: np.ndarray,
    groups: np.ndarray,
    use: np.ndarray,
    members: dict[str, np.ndarray] | None = None,
    pooled: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empirical-Bayes normal-normal shrinkage of log rates towards the peer median.

    Parameters
    ----------
    value : ndarray
        Observed rate per row (> 0 where used).
    se2 : ndarray
        Sampling variance of ``log(value)`` per row.
    groups : ndarray
        Peer group per row.
    use : ndarray of bool
        Rows with a usable value.
    members : dict, optional
        Member rows of each group (default: the rows carrying its label).
    pooled : bool
        Estimate one between-rep variance from every group's deviations from its
        own median (a handful of peers gives a noisy variance; the spread between
        comparable reps is much the same in every group) instead of one per group.

    Returns
    -------
    (ndarray, ndarray, ndarray)
        Posterior mean and standard deviation of the log ratio to the peer median,
        and the peer median (per row). The between-rep variance is estimated per
        group (or pooled) by the method of moments,
        ``max(var(log rate) - mean(se2), MIN_TAU2)``.
    """
    n = len(value)
    post_m = np.full(n, np.nan)
    post_s = np.full(n, np.nan)
    med = np.full(n, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        lv = np.log(np.where(use & (value > 0), value, np.nan))
    pooled_tau2: float | None = None
    if pooled:
        dev: list[np.ndarray] = []
        noise: list[np.ndarray] = []
        for g in np.unique(groups):
            sel = groups == g
            ok = sel & use & np.isfinite(lv)
            if ok.sum() >= 2:
                dev.append(lv[ok] - np.median(lv[ok]))
                noise.append(se2[ok])
        if dev:
            d = np.concatenate(dev)
            k = max(len(d) - len(dev), 1)
            pooled_tau2 = max(
                float(np.sum(d**2) / k) - float(np.mean(np.concatenate(noise))), MIN_TAU2
            )
    for _g, sel, ok in _peer_pools(groups, members, use & np.isfinite(lv)):
        m0 = float(np.median(lv[ok]))
        lr = lv - m0
        tau2 = (
            pooled_tau2
            if pooled_tau2 is not None
            else max(float(np.var(lr[ok], ddof=1)) - float(np.mean(se2[ok])), MIN_TAU2)
        )
        w = tau2 / (tau2 + se2[sel])
        post_m[sel] = w * lr[sel]
        post_s[sel] = np.sqrt(w * se2[sel])
        med[sel] = np.exp(m0)
    return post_m, post_s, med


def pooled_group_medians(
    lv: np.ndarray,
    groups: np.ndarray,
    use: np.ndarray,
    members: dict[str, np.ndarray] | None = None,
) -> dict[str, float]:
    """Each group's median of ``lv``, partially pooled towards the median of all groups.

    A peer group of ten reps with three unusual ones in it has a median that moves
    with them. The group's median has sampling variance ``(pi / 2) s2 / n`` (``s2``
    the spread of its members, ``n`` their number); the groups' true medians vary
    around the overall median by ``t2``, the variance of the group medians net of
    that sampling variance (method of moments, at least 0). The pooled median is
    ``M + t2 / (t2 + v) (m - M)``: a large group keeps its own, a small one whose
    median is no further off than its noise explains moves to the overall median.

    Parameters
    ----------
    lv : ndarray
        Values (e.g. log rates); non-finite ones are left out.
    groups, use, members
        As :func:`shrink_log_rate`.

    Returns
    -------
    dict
        Pooled median per group label (groups with fewer than two usable members
        are left out).
    """
    ok_all = use & np.isfinite(lv)
    if ok_all.sum() < 2:
        return {}
    overall = float(np.median(lv[ok_all]))
    med: dict[str, float] = {}
    var: dict[str, float] = {}
    for g, _sel, ok in _peer_pools(groups, members, ok_all):
        med[str(g)] = float(np.median(lv[ok]))
        var[str(g)] = float(np.pi / 2 * np.var(lv[ok], ddof=1) / ok.sum())
    if len(med) < 2:
        return med
    m = np.array(list(med.values()))
    v = np.array(list(var.values()))
    t2 = max(float(np.mean((m - overall) ** 2)) - float(np.mean(v)), 0.0)
    return {
        g: overall + (t2 / (t2 + var[g]) if t2 + var[g] > 0 else 1.0) * (med[g] - overall)
        for g in med
    }


def shrink_log_rate_robust(
    value: np.ndarray,
    se2: np.ndarray,
    groups: np.ndarray,
    use: np.ndarray,
    members: dict[str, np.ndarray] | None,
    threshold: float,
    df: float = ROBUST_DF,
    pool_norms: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shrinkage of log rates towards the peer median under a heavy-tailed prior.

    Most comparable reps are alike and a few differ a lot; a normal prior fitted
    to the peers' spread pulls those few back to the median (a rep with a third
    of the peers' pipeline is "shrunk" to two thirds). Here the prior of the log
    ratio to the peer median is a Student t with ``df`` degrees of freedom whose
    scale is the robust (median absolute deviation) spread of all groups'
    deviations from their medians, net of the median sampling variance (at
    least ``MIN_TAU2``); the likelihood is normal with variance ``se2``; the
    posterior is evaluated on a grid.

    Parameters
    ----------
    value, se2, groups, use, members
        As :func:`shrink_log_rate`.
    threshold : float
        Ratio to the peer median (e.g. 0.5) whose posterior probability of being
        undershot is returned.
    df : float
        Degrees of freedom of the prior (heavier tails when smaller).
    pool_norms : bool
        Partially pool each group's median towards the median of all groups
        (:func:`pooled_group_medians`): a small group's median is noisy and moves
        with the few unusual reps in it.

    Returns
    -------
    (ndarray, ndarray, ndarray)
        Posterior mean of the log ratio to the peer median, the posterior
        probability that the ratio is below ``threshold``, and the peer median.
    """
    from scipy import stats

    n = len(value)
    post_m = np.full(n, np.nan)
    sure = np.full(n, np.nan)
    med = np.full(n, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        lv = np.log(np.where(use & (value > 0), value, np.nan))
    lr = np.full(n, np.nan)
    dev: list[np.ndarray] = []
    noise: list[np.ndarray] = []
    norms = pooled_group_medians(lv, groups, use, members) if pool_norms else {}
    for g, sel, ok in _peer_pools(groups, members, use & np.isfinite(lv)):
        m0 = norms.get(str(g), float(np.median(lv[ok])))
        lr[sel] = lv[sel] - m0
        med[sel] = np.exp(m0)
        own = sel & use & np.isfinite(lv)
        dev.append(lv[own] - m0)
        noise.append(se2[own])
    if not dev:
        return post_m, sure, med
    d = np.concatenate(dev)
    mad2 = (1.4826 * float(np.median(np.abs(d - np.median(d))))) ** 2
    tau2 = max(mad2 - float(np.median(np.concatenate(noise))), MIN_TAU2)
    grid = np.linspace(-5.0, 5.0, 2001)
    log_prior = stats.t.logpdf(grid, df, scale=np.sqrt(tau2))
    below = grid < np.log(threshold)
    for i in np.flatnonzero(np.isfinite(lr) & use & np.isfinite(se2) & (se2 > 0)):
        lp = log_prior - 0.5 * (lr[i] - grid) ** 2 / se2[i]
        w = np.exp(lp - lp.max())
        w /= w.sum()
        post_m[i] = float(np.sum(w * grid))
        sure[i] = float(np.sum(w[below]))
    return post_m, sure, med


def shrink_poisson_robust(
    count: np.ndarray,
    exposure: np.ndarray,
    groups: np.ndarray,
    use: np.ndarray,
    members: dict[str, np.ndarray] | None,
    threshold: float,
    extra_se2: np.ndarray | None = None,
    df: float = ROBUST_DF,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Heavy-tailed shrinkage of a count rate with its exact Poisson likelihood.

    As :func:`shrink_log_rate_robust` (Student t prior on the log ratio to the peer
    median, its scale from the robust spread of all groups), but the evidence is
    the count itself: a rep who opened ``count`` opportunities where the peers'
    median rate would give ``lambda = median x exposure`` has the likelihood
    ``count x theta - lambda x exp(theta)`` for the log ratio ``theta``. The normal
    approximation of the log rate (variance ``1 / count``) fails on small
    territories: it takes 3 opportunities where the peers' rate would give 10 for
    weak evidence (the variance is read at the low count, not at the rate tested)
    and has no value for a count of zero; the Poisson likelihood weighs both by
    what was expected.

    Parameters
    ----------
    count : ndarray
        Events per row (opportunities opened).
    exposure : ndarray
        What the rate is per, per row (e.g. typical deals of potential x years); the
        rate is ``count / exposure``.
    groups, use, members
        As :func:`shrink_log_rate`.
    threshold : float
        Ratio to the peer median whose posterior probability of being undershot is
        returned.
    extra_se2 : ndarray, optional
        Variance of a normal error in the log of the exposure (e.g. ``1 / touches``
        when the exposure is scaled by a measured effort), folded into the likelihood.
    df : float
        Degrees of freedom of the prior.

    Returns
    -------
    (ndarray, ndarray, ndarray)
        Posterior mean of the log ratio to the peer median, the posterior
        probability that the ratio is below ``threshold``, and the peer median rate.
    """
    from scipy import stats

    nrow = len(count)
    post_m = np.full(nrow, np.nan)
    sure = np.full(nrow, np.nan)
    med = np.full(nrow, np.nan)
    k = np.asarray(count, dtype=float)
    e = np.asarray(exposure, dtype=float)
    ok_all = use & np.isfinite(k) & (k >= 0) & np.isfinite(e) & (e > 0)
    rate = _ratio(k, np.where(ok_all, e, np.nan))
    with np.errstate(divide="ignore", invalid="ignore"):
        lr_half = np.log((k + 0.5) / e)  # log rate with half an event added (finite at 0)
    dev: list[np.ndarray] = []
    noise: list[np.ndarray] = []
    for _g, sel, ok in _peer_pools(groups, members, ok_all):
        m = float(np.median(rate[ok]))
        if not m > 0:
            m = float(k[ok].sum() / e[ok].sum())
        if not m > 0:
            continue
        med[sel] = m
        own = sel & ok_all
        dev.append(lr_half[own] - np.log(m))
        noise.append(1.0 / (k[own] + 0.5))
    if not dev:
        return post_m, sure, med
    d = np.concatenate(dev)
    mad2 = (1.4826 * float(np.median(np.abs(d - np.median(d))))) ** 2
    tau2 = max(mad2 - float(np.median(np.concatenate(noise))), MIN_TAU2)
    grid = np.linspace(-5.0, 5.0, 2001)
    step = float(grid[1] - grid[0])
    log_prior = stats.t.logpdf(grid, df, scale=np.sqrt(tau2))
    below = grid < np.log(threshold)
    for i in np.flatnonzero(ok_all & np.isfinite(med)):
        ll = k[i] * grid - med[i] * e[i] * np.exp(grid)
        lik = np.exp(ll - ll.max())
        v = float(extra_se2[i]) if extra_se2 is not None else 0.0
        if np.isfinite(v) and v > 0:
            half = int(np.ceil(5.0 * np.sqrt(v) / step))
            x = np.arange(-half, half + 1) * step
            kern = np.exp(-0.5 * x**2 / v)
            lik = np.convolve(lik, kern / kern.sum(), mode="same")
        with np.errstate(divide="ignore"):
            lp = log_prior + np.log(lik)
        w = np.exp(lp - lp.max())
        w /= w.sum()
        post_m[i] = float(np.sum(w * grid))
        sure[i] = float(np.sum(w[below]))
    return post_m, sure, med


def shrink_binomial(
    k: np.ndarray,
    n: np.ndarray,
    groups: np.ndarray,
    use: np.ndarray,
    members: dict[str, np.ndarray] | None = None,
    max_prior_n: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empirical-Bayes beta-binomial shrinkage of rates (won / closed) towards the peers.

    Parameters
    ----------
    k, n : ndarray
        Successes and trials per row.
    groups : ndarray
        Peer group per row.
    use : ndarray of bool
        Rows with usable counts.
    members : dict, optional
        Member rows of each group (default: the rows carrying its label).
    max_prior_n : float, optional
        Cap of the prior's weight in trials (``alpha + beta``): for a rate on which
        comparable reps are nearly identical, the estimated spread is tiny and
        would outweigh any rep's own record.

    Returns
    -------
    (ndarray, ndarray, ndarray)
        Posterior ``alpha`` and ``beta`` per row and the peers' rate (median of the
        members' observed rates, robust to the odd rep). The prior has that mean
        and, as variance, the between-rep variance of the observed rates net of
        binomial noise (method of moments, kept between 0.5% and 90% of the largest
        possible, ``p (1 - p)``).
    """
    a = np.full(len(k), np.nan)
    b = np.full(len(k), np.nan)
    p0 = np.full(len(k), np.nan)
    for _g, sel, ok in _peer_pools(groups, members, use & (n > 0)):
        r = k[ok] / n[ok]
        p = float(np.clip(np.median(r), 1e-3, 1 - 1e-3))
        var = float(np.var(r, ddof=1)) - float(np.mean(p * (1 - p) / n[ok]))
        var = float(np.clip(var, 0.005 * p * (1 - p), 0.9 * p * (1 - p)))
        s = p * (1 - p) / var - 1.0
        if max_prior_n is not None:
            s = min(s, max_prior_n)
        a[sel] = p * s + k[sel]
        b[sel] = (1 - p) * s + (n[sel] - k[sel])
        p0[sel] = p
    return a, b, p0


def window_attainment(
    panel: pd.DataFrame, before: pd.Timestamp, periods: int, clip: float = 3.0
) -> pd.DataFrame:
    """Attainment over the last ``periods`` complete periods ending on or before ``before``.

    Returns
    -------
    DataFrame
        Index ``rep_id``: ``attainment`` (sum of actuals / sum of quotas, fraction),
        ``periods`` (count) and ``se2`` (sampling variance of its log, from the spread
        of the rep's period attainments, pooled over reps).
    """
    p = panel[(panel["end"] <= before) & (panel["quota"] > 0)].sort_values("end")
    p = p.groupby("rep_id").tail(periods)
    if p.empty:
        return pd.DataFrame(columns=["attainment", "periods", "se2"])
    g = p.groupby("rep_id")
    out = pd.DataFrame(
        {
            "attainment": g["actual"].sum() / g["quota"].sum(),
            "periods": g.size(),
        }
    )
    la = np.log(p["attainment"].clip(lower=0.05, upper=clip))
    within = la - la.groupby(p["rep_id"]).transform("mean")
    dof = (g.size() - 1).clip(lower=0).sum()
    pooled = float((within**2).sum() / dof) if dof > 0 else 0.25
    out["se2"] = pooled / out["periods"]
    return out


def evidence_scorecard(
    pdata: Any, period: str, as_of: Any = None, config: FlagConfig | None = None
) -> pd.DataFrame:
    """Scorecard of ``period`` over the flags' look-back (``config.lookback_days``).

    Parameters
    ----------
    pdata : PerformanceData
        The company with its crediting.
    period : str
        Period label.
    as_of : date, optional
        Cut-off (as for :func:`~spm_model.performance.scorecard.scorecards`).
    config : FlagConfig, optional
        ``lookback_days``.

    Returns
    -------
    DataFrame
        Pass it to :func:`coaching_flags` as ``evidence``.
    """
    from spm_model.performance.scorecard import scorecards

    cfg = config or FlagConfig.model_validate({})
    card = scorecards(
        pdata,
        period,
        as_of=as_of,
        config=ScorecardConfig.model_validate({"lookback_days": cfg.lookback_days}),
    )
    if card.empty:
        return card
    extra = behaviour_evidence(
        pdata.ds, pd.Timestamp(card["as_of"].iloc[0]), cfg, pdata.fy_start_month
    )
    extra = extra.reindex(card["rep_id"]).reset_index(drop=True)
    card = pd.concat([card.reset_index(drop=True), extra], axis=1)
    return _settled_territory_rate(pdata, card, cfg)


def _settled_territory_rate(pdata: Any, card: pd.DataFrame, cfg: FlagConfig) -> pd.DataFrame:
    """Add the under-worked evidence over the look-back after each rep's ramp-up.

    The first ``cfg.ramp_exclude_months`` after hire are left out (a new rep's
    pipeline is still building): ``settled_months``, ``settled_potential`` (mean
    territory potential at 91-day snapshots in that window, currency per year),
    ``settled_deal_potential`` (the same in typical deals a year: each account's
    potential over the median new-business opportunity of its segment),
    ``settled_opportunities`` (new-business opportunities opened in the window),
    ``settled_created`` (new-business pipeline created in it, each deal capped at
    the company's :data:`CREATED_CAP_QUANTILE`) and ``settled_created_rel_var``.
    """
    ds = pdata.ds
    cut = pd.Timestamp(card["as_of"].iloc[0]).normalize()
    look_start = cut - pd.Timedelta(days=cfg.lookback_days - 1)
    settle = pd.to_datetime(card["hire_date"]) + pd.DateOffset(
        days=round(cfg.ramp_exclude_months * 30.44)
    )
    begin = settle.where(settle > look_start, look_start)
    months = ((cut - begin).dt.days + 1).clip(lower=0) / (365.25 / 12)
    opp = ds.opportunities
    prod = ds.products.set_index("product_id")["measure"] if "products" in ds else None
    renewal = list(ScorecardConfig.model_fields["renewal_measures"].default)
    measure = opp["product_id"].map(prod) if prod is not None else pd.Series("", opp.index)
    created = pd.to_datetime(opp["created_date"])
    new = ~measure.isin(renewal).to_numpy() & (created >= look_start).to_numpy()
    new &= (created <= cut).to_numpy() & opp["owner_rep_id"].notna().to_numpy()
    amount = opp["amount"].astype(float)
    deal_pot = _deal_equivalent_potential(ds, opp, new)
    snaps = pd.date_range(end=cut, periods=max(1, round(cfg.lookback_days / 91)), freq="91D")
    sums = [_territory_sums(ds, d, deal_pot) for d in [*snaps, cut]]
    inside = np.column_stack([(begin <= d).to_numpy() for d in snaps])

    def window_mean(col: str) -> np.ndarray:
        vals = np.column_stack(
            [card["rep_id"].map(s[col]).fillna(0.0).to_numpy() for s in sums[:-1]]
        )
        with np.errstate(invalid="ignore"):
            return np.asarray(
                np.where(
                    inside.any(axis=1),
                    np.nansum(np.where(inside, vals, 0.0), axis=1)
                    / np.maximum(inside.sum(axis=1), 1),
                    card["rep_id"].map(sums[-1][col]).fillna(0.0).to_numpy(),
                )
            )

    pot = window_mean("potential")
    card["settled_deal_potential"] = window_mean("deals")
    cap = float(np.quantile(amount[new], CREATED_CAP_QUANTILE)) if new.any() else np.inf
    o = pd.DataFrame(
        {"rep_id": opp["owner_rep_id"][new], "d": created[new], "a": amount[new].clip(upper=cap)}
    )
    o = o.merge(pd.DataFrame({"rep_id": card["rep_id"], "b": begin}), on="rep_id")
    o = o[o["d"] >= o["b"]]
    g = o.groupby("rep_id")["a"]
    total = card["rep_id"].map(g.sum()).fillna(0.0)
    card["settled_months"] = months.to_numpy()
    card["settled_potential"] = pot
    card["settled_created"] = total.to_numpy()
    card["settled_opportunities"] = card["rep_id"].map(g.size()).fillna(0).to_numpy()
    card["settled_created_rel_var"] = _ratio(
        card["rep_id"].map((o["a"] ** 2).groupby(o["rep_id"]).sum()).fillna(0.0), total**2
    )
    return card


def _deal_equivalent_potential(ds: Any, opp: pd.DataFrame, new: np.ndarray) -> pd.Series:
    """Each account's potential in typical new-business deals of its segment.

    Territories of large accounts yield fewer, larger deals: potential divided by
    the median new-business opportunity amount of the account's ``segment``
    (``new`` marks the opportunities that set it; the company-wide median where the
    segment has none or the accounts carry no segment) puts them on one scale, so
    that opportunities can be counted - a count has Poisson noise only, where
    amounts add the spread of deal sizes.
    """
    acc = ds.accounts
    amount = opp["amount"].astype(float)[new]
    overall = float(np.median(amount)) if len(amount) else 1.0
    overall = overall if overall > 0 else 1.0
    pot = acc["potential"].astype(float).to_numpy()
    if "segment" in acc and len(amount):
        seg = opp["account_id"][new].map(acc.set_index("account_id")["segment"])
        typical = amount.groupby(seg).median()
        size = acc["segment"].map(typical).fillna(overall).to_numpy(dtype=float)
    else:
        size = np.full(len(acc), overall)
    return pd.Series(pot / np.where(size > 0, size, overall), index=acc["account_id"].to_numpy())


def _territory_sums(ds: Any, on: pd.Timestamp, deal_pot: pd.Series) -> pd.DataFrame:
    """Per owner on a date: ``potential`` (currency/year) and ``deals`` (typical deals/year)."""
    from spm_model.performance.data import owner_on_date

    acc = ds.accounts
    owner = owner_on_date(ds.assignments, acc["account_id"], pd.Series(on, index=acc.index))
    df = pd.DataFrame(
        {
            "potential": acc["potential"].to_numpy(dtype=float),
            "deals": deal_pot.reindex(acc["account_id"]).to_numpy(dtype=float),
        },
        index=owner.to_numpy(),
    )
    return df[df.index.notna()].groupby(level=0).sum()


def _quarter_bounds(dates: pd.Series, fy_start_month: int) -> tuple[pd.Series, pd.Series]:
    """First day of each date's fiscal quarter and of the next quarter."""
    month = dates.dt.to_period("M")
    pos = (dates.dt.month - fy_start_month) % 3
    first = (month - pos.to_numpy()).dt.start_time
    nxt = (month - pos.to_numpy() + 3).dt.start_time
    return first, nxt


def behaviour_evidence(
    ds: Any, as_of: pd.Timestamp, config: FlagConfig | None = None, fy_start_month: int = 1
) -> pd.DataFrame:
    """Evidence of sandbagging, thin pipeline and discounting over the look-back, per rep.

    Parameters
    ----------
    ds : Dataset
        The company (``opportunities``, ``transactions``, ``products``).
    as_of : Timestamp
        Cut-off; the look-back is the ``config.lookback_days`` days ending on it.
    config : FlagConfig, optional
        ``lookback_days``, ``sandbag_end_days``, ``sandbag_start_days``,
        ``discount_measures``.
    fy_start_month : int
        First month of the fiscal year (quarters follow it).

    Returns
    -------
    DataFrame
        Index ``rep_id`` (opportunity owners), columns ``won_quarter_end`` and
        ``won_quarter_start`` (new-business deals won in the last
        ``sandbag_end_days`` of a quarter / the first ``sandbag_start_days`` of
        one), ``pipeline_cover`` (open new-business opportunities at the quarter
        starts of the look-back, on average, divided by the rep's closed (won +
        lost) new-business opportunities per quarter: quarters of pipeline on hand),
        ``deals_on_hand`` (that average count), ``pipeline_on_hand`` (their mean
        value, currency), ``pipeline_cover_se2`` (sampling variance of the log of
        ``pipeline_cover``), ``days_open`` (mean days from creation to close of
        the new-business deals closed in the look-back), ``pipeline_cover_little``
        (``days_open`` / 91.3: the cover by Little's law) and
        ``pipeline_cover_little_se2``, ``price_index`` (net amount / (units x the
        company's median price per unit of the product) over the rep's
        ``discount_measures`` bookings; 1.0 = the usual price), ``price_index_se2``
        and ``priced_bookings``.
    """
    cfg = config or FlagConfig.model_validate({})
    cut = pd.Timestamp(as_of).normalize()
    look_start = cut - pd.Timedelta(days=cfg.lookback_days - 1)
    prod = ds.products.set_index("product_id")["measure"] if "products" in ds else None
    opp = ds.opportunities
    out = pd.DataFrame(index=pd.Index([], name="rep_id"))
    if len(opp):
        measure = opp["product_id"].map(prod) if prod is not None else pd.Series("", opp.index)
        renewal = list(ScorecardConfig.model_fields["renewal_measures"].default)
        new = opp[~measure.isin(renewal).to_numpy() & opp["owner_rep_id"].notna().to_numpy()]
        close = pd.to_datetime(new["close_date"])
        created = pd.to_datetime(new["created_date"])
        amount = new["amount"].astype(float)
        # 1. wins around quarter ends
        won = (new["status"] == "won").to_numpy() & (close >= look_start).to_numpy()
        won &= (close <= cut).to_numpy()
        first, nxt = _quarter_bounds(close, fy_start_month)
        at_end = won & ((nxt - close).dt.days <= cfg.sandbag_end_days).to_numpy()
        at_start = won & ((close - first).dt.days < cfg.sandbag_start_days).to_numpy()
        owner = new["owner_rep_id"].to_numpy()
        out = pd.DataFrame(
            {
                "won_quarter_end": pd.Series(at_end.astype(int), index=owner)
                .groupby(level=0)
                .sum(),
                "won_quarter_start": pd.Series(at_start.astype(int), index=owner)
                .groupby(level=0)
                .sum(),
            }
        )
        out.index.name = "rep_id"
        # pipeline created in the look-back, each deal capped at the company's 95th
        # percentile: one very large deal should not decide a rep's rate
        made = (created >= look_start).to_numpy() & (created <= cut).to_numpy()
        if made.any():
            cap = float(np.quantile(amount[made], CREATED_CAP_QUANTILE))
            capped = amount[made].clip(upper=cap)
            c_sum = capped.groupby(owner[made]).sum()
            c_sq = (capped**2).groupby(owner[made]).sum()
            out = out.reindex(out.index.union(c_sum.index))
            out["pipeline_created_capped"] = c_sum.reindex(out.index).fillna(0.0)
            out["pipeline_created_capped_rel_var"] = _ratio(
                c_sq.reindex(out.index).fillna(0.0), out["pipeline_created_capped"] ** 2
            )
        # 2. pipeline on hand at quarter starts (reconstructed: open then, whatever happened)
        q_first, _ = _quarter_bounds(pd.Series([look_start, cut]), fy_start_month)
        snaps = pd.date_range(q_first.iloc[0], cut, freq=pd.DateOffset(months=3))
        snaps = snaps[snaps >= look_start]
        times_open = np.zeros(len(new))
        for d in snaps:
            times_open += (created <= d).to_numpy() & (close > d).to_numpy()
        opened = pd.DataFrame({"m": times_open, "v": times_open * amount.to_numpy()}, index=owner)
        opened = opened[opened["m"] > 0]
        on_hand_n = opened["m"].groupby(level=0).sum()
        on_hand_sq = (opened["m"] ** 2).groupby(level=0).sum()
        on_hand_v = opened["v"].groupby(level=0).sum()
        closed = new["status"].isin(["won", "lost"]).to_numpy() & (close >= look_start).to_numpy()
        closed &= (close <= cut).to_numpy()
        closed_n = pd.Series(1.0, index=owner[closed]).groupby(level=0).sum()
        n_snap = max(len(snaps), 1)
        quarters = cfg.lookback_days / 91.3
        out = out.reindex(out.index.union(on_hand_n.index).union(closed_n.index))
        hand_n = on_hand_n.reindex(out.index).fillna(0.0)
        per_q = closed_n.reindex(out.index).fillna(0.0) / quarters
        out["pipeline_on_hand"] = on_hand_v.reindex(out.index).fillna(0.0) / n_snap
        out["deals_on_hand"] = hand_n / n_snap
        out["pipeline_cover"] = _ratio(hand_n / n_snap, per_q)
        # an opportunity open at m snapshots counts m times: variance sum(m^2) / (sum m)^2
        out["pipeline_cover_se2"] = _ratio(
            on_hand_sq.reindex(out.index).fillna(0.0), hand_n**2
        ) + _ratio(1.0, closed_n.reindex(out.index))
        # the same cover by Little's law: pipeline on hand = closing rate x the time a deal
        # is open, measured on every deal closed in the look-back (not on a few snapshots)
        days = (close - created).dt.days.astype(float)[closed].clip(lower=1.0)
        d_own = owner[closed]
        d_mean = days.groupby(d_own).mean()
        d_n = days.groupby(d_own).size()
        d_var = np.log(days).groupby(d_own).var(ddof=1)
        out = out.reindex(out.index.union(d_mean.index))
        out["days_open"] = d_mean.reindex(out.index)
        out["pipeline_cover_little"] = out["days_open"] / 91.3
        # sampling variance of the log of a mean of log-normal ages: (e^s2 - 1) / n
        out["pipeline_cover_little_se2"] = _ratio(
            np.expm1(d_var.reindex(out.index).fillna(0.5)), d_n.reindex(out.index)
        )
    # 3. price per unit against the company's usual price of the product
    tx = ds.transactions
    if len(tx) and "units" in tx and "opportunity_owner_id" in tx:
        measure = tx["product_id"].map(prod) if prod is not None else pd.Series("", tx.index)
        bk = tx[
            (tx["kind"] == "booking").to_numpy()
            & measure.isin(list(cfg.discount_measures)).to_numpy()
            & (tx["units"].astype(float) > 0).to_numpy()
            & (tx["amount"].astype(float) > 0).to_numpy()
            & tx["opportunity_owner_id"].notna().to_numpy()
        ]
        unit_price = bk["amount"].astype(float) / bk["units"].astype(float)
        usual = unit_price.groupby(bk["product_id"]).transform("median")
        at_list = bk["units"].astype(float) * usual
        bk = bk.assign(_list=at_list, _amt=bk["amount"].astype(float))
        bk = bk[(pd.to_datetime(bk["date"]) >= look_start) & (pd.to_datetime(bk["date"]) <= cut)]
        g = bk.groupby("opportunity_owner_id")
        idx = g["_amt"].sum() / g["_list"].sum()
        se2 = price_index_variance(bk["_amt"], bk["_list"], bk["opportunity_owner_id"], idx)
        out = out.reindex(out.index.union(idx.index))
        out["price_index"] = idx.reindex(out.index)
        out["price_index_se2"] = se2.reindex(out.index)
        out["priced_bookings"] = g.size().reindex(out.index).fillna(0).astype(int)
    out.index.name = "rep_id"
    return out


#: Pseudo-deals of the company's per-deal price spread in each rep's own spread
#: (:func:`price_index_variance`).
PRICE_PRIOR_DEALS = 4.0


def price_index_variance(
    amount: pd.Series, at_list: pd.Series, owner: pd.Series, index: pd.Series
) -> pd.Series:
    """Return the sampling variance of the log of each rep's price index.

    A rep's index is ``sum(amount) / sum(at_list)``, the deals' price ratios
    ``r_i = amount_i / at_list_i`` averaged with weights ``at_list_i``, so
    ``var(index) = s2 x sum(at_list_i^2) / sum(at_list_i)^2`` with ``s2`` the
    rep's per-deal spread of ``r_i`` around the index; divided by ``index^2`` for
    the log. The rep's own spread over ``n`` deals has ``n - 1`` degrees of
    freedom (none for one deal, where it reads zero), so it is pooled with the
    company's per-deal spread as :data:`PRICE_PRIOR_DEALS` pseudo-deals:
    ``s2 = (SS + k s2_all) / (n - 1 + k)``.

    Parameters
    ----------
    amount, at_list : Series
        Net amount and units x usual price per booking (currency).
    owner : Series
        The rep of each booking.
    index : Series
        The reps' price indices (index ``rep_id``; ratio).

    Returns
    -------
    Series
        Variance of the log index per rep (index ``rep_id``).
    """
    ratio = amount / at_list
    dev2 = (ratio - owner.map(index)) ** 2
    ss = dev2.groupby(owner).sum()
    n = owner.groupby(owner).size().reindex(ss.index)
    dof = n - 1
    s2_all = float(ss.sum() / dof.sum()) if dof.sum() > 0 else 0.0
    s2 = (ss + PRICE_PRIOR_DEALS * s2_all) / (dof + PRICE_PRIOR_DEALS)
    weights = (at_list**2).groupby(owner).sum() / at_list.groupby(owner).sum() ** 2
    return s2 * weights.reindex(ss.index) / index.reindex(ss.index) ** 2


def coaching_flags(
    card: pd.DataFrame,
    panel: pd.DataFrame | None = None,
    reps: pd.DataFrame | None = None,
    config: FlagConfig | None = None,
    evidence: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Evaluate the coaching flags on a scorecard.

    Parameters
    ----------
    card : DataFrame
        :func:`~spm_model.performance.scorecard.scorecards` output (one period).
    panel : DataFrame, optional
        :func:`~spm_model.performance.scorecard.attainment_panel` output; gives the
        attainment window of ``behind_pace_thin_pipeline`` and ``team_behind``
        (without it the first looks at this period only and the second is not
        raised) and is needed for ``slow_ramp`` and ``sudden_drop``. Only periods
        ending by the scorecard's as-of date are used.
    reps : DataFrame, optional
        The reps table (for the tenure curve).
    config : FlagConfig, optional
        Thresholds and which flags to raise.
    evidence : DataFrame, optional
        The same period's scorecard over the flags' longer look-back
        (``scorecards(..., config=ScorecardConfig(lookback_days=config.lookback_days))``,
        see :func:`evidence_scorecard`, which adds the columns of
        :func:`behaviour_evidence` and the under-worked rate after ramp-up): the
        pattern flags (under-worked territory, busy but not winning, sandbagging,
        chronic thin pipeline, high discount) read their counts from it; without
        those columns the last three are not raised. Default: ``card``.

    Returns
    -------
    DataFrame
        One row per raised flag, columns :data:`COLUMNS`: ``reason`` is a sentence
        with the numbers, the peers' range and how sure, ending with the suggested
        ``action``. ``attrs["judged"]`` is the number of reps judged and
        ``attrs["held_back"]`` the reps whose flags were dropped by
        ``max_flagged_share``.
    """
    cfg = config or FlagConfig.model_validate({})
    unknown = set(cfg.flags) - set(FLAG_NAMES)
    if unknown:
        raise ValueError(f"unknown flags {sorted(unknown)}; choose from {list(FLAG_NAMES)}")
    on = set(cfg.flags)
    rows: list[dict[str, object]] = []
    if card.empty:
        return pd.DataFrame(columns=COLUMNS)
    card = card.reset_index(drop=True)
    ev = card
    if evidence is not None:
        ev = evidence.set_index("rep_id").reindex(card["rep_id"]).reset_index()
        ev["role"] = card["role"].to_numpy()
    role = card["role"].astype(str).to_numpy()
    is_mgr = np.isin(role, MANAGER_ROLES)
    months = (
        ev["months_observed"].fillna(0.0).to_numpy(dtype=float)
        if "months_observed" in ev
        else np.full(len(card), 12.0)
    )
    enough = months >= cfg.min_months

    def add(
        mask: np.ndarray,
        flag: str,
        reasons: list[str],
        severity: np.ndarray,
        figure: np.ndarray | None = None,
        peers: pd.DataFrame | None = None,
        sure: np.ndarray | None = None,
        groups: np.ndarray | None = None,
    ) -> None:
        for i in np.flatnonzero(mask):
            r = card.iloc[i]
            rows.append(
                {
                    "rep_id": r["rep_id"],
                    "name": r.get("name"),
                    "team": r.get("team"),
                    "region": r.get("region"),
                    "role": r.get("role"),
                    "period": r.get("period"),
                    "flag": flag,
                    "reason": f"{reasons[i]} {ACTIONS[flag]}",
                    "severity": float(np.clip(severity[i], 0, 1)),
                    "figure": float(figure[i]) if figure is not None else np.nan,
                    "peer_low": float(peers["low"].iloc[i]) if peers is not None else np.nan,
                    "peer_median": float(peers["median"].iloc[i]) if peers is not None else np.nan,
                    "peer_high": float(peers["high"].iloc[i]) if peers is not None else np.nan,
                    "sure": float(sure[i]) if sure is not None else np.nan,
                    "action": ACTIONS[flag],
                    "peer_group": groups[i] if groups is not None else "",
                }
            )

    from scipy import stats

    # 1. under-worked territory: pipeline created per unit of potential, against peers
    if "under_worked_territory" in on and {"pipeline_created", "territory_potential"} <= set(
        ev.columns
    ):
        settled = "settled_created" in ev
        if settled:  # after the ramp-up, deals capped (see evidence_scorecard)
            pot = ev["settled_potential"].to_numpy(dtype=float)
            created = ev["settled_created"].to_numpy(dtype=float)
            n_opp = ev["settled_opportunities"].to_numpy(dtype=float)
            rel = ev["settled_created_rel_var"].to_numpy(dtype=float)
            t_months = ev["settled_months"].to_numpy(dtype=float)
        else:
            pot = ev[
                "lookback_potential" if "lookback_potential" in ev else "territory_potential"
            ].to_numpy(dtype=float)
            created = ev["pipeline_created"].to_numpy(dtype=float)
            n_opp = ev["opportunities_created"].to_numpy(dtype=float)
            rel = (
                ev["pipeline_created_rel_var"].to_numpy(dtype=float)
                if "pipeline_created_rel_var" in ev
                else 2.0 / np.maximum(n_opp, 1.0)
            )
            t_months = months
        counted = settled and "settled_deal_potential" in ev
        # a count judged by its Poisson likelihood needs no floor of months beyond a
        # short one: a month of a large territory is evidence, and the prior keeps a
        # short window of a small territory near the peers
        floor = cfg.under_worked_min_months if counted else cfg.min_months
        judged = np.isin(role, TERRITORY_ROLES) & (t_months >= floor) & (pot > 0)
        rate = _ratio(created, pot * t_months / 12.0)  # pipeline per unit potential per year
        # no opportunity at all: half an opportunity's worth, with the variance of one
        se2 = np.where(n_opp > 0, np.nan_to_num(rel, nan=1.0), 2.0)
        med_amt = float(np.nanmedian(_ratio(created, n_opp))) if (n_opp > 0).any() else 1.0
        rate = np.where(judged & (created <= 0), _ratio(0.5 * med_amt, pot * t_months / 12.0), rate)
        if counted:
            # opportunities a year per typical deal of potential: a count (Poisson noise
            # only), with each territory's potential in typical deals of its segments
            dpot = ev["settled_deal_potential"].to_numpy(dtype=float)
            judged &= dpot > 0
            exposure = dpot * t_months / 12.0  # typical deals of potential x years
            rate = _ratio(n_opp, exposure)
        groups, members = peer_groups(ev, judged, cfg)
        touches = (
            ev["prospecting_touches"].to_numpy(dtype=float)
            if "prospecting_touches" in ev
            else ev["prospecting_per_month"].to_numpy(dtype=float) * months
        )
        effort = _ratio(touches, months)
        use_b = judged & (touches > 0)
        if counted:
            # the count against what the peers' rate would give (exact Poisson
            # likelihood: a small territory's 0 or 3 opportunities where 10 were due
            # is evidence, which the normal approximation of a log count loses)
            # (a) far below the peers' rate, whatever the effort
            pm_raw, sure_raw, _ = shrink_poisson_robust(
                n_opp, exposure, groups, judged, members, cfg.severe_under_worked_ratio
            )
            # (b) below the peers' rate for the rep's prospecting effort (the calls and
            # emails are made, the territory's potential does not turn into pipeline)
            pm_b, sure_b, _ = shrink_poisson_robust(
                n_opp,
                exposure * effort,
                groups,
                use_b,
                members,
                cfg.under_worked_ratio,
                extra_se2=1.0 / np.maximum(touches, 1.0),
            )
            pm_r, _, _ = shrink_poisson_robust(n_opp, exposure, groups, judged, members, 1.0)
        else:
            pm_raw, sure_raw, _ = shrink_log_rate_robust(
                rate, se2, groups, judged, members, cfg.severe_under_worked_ratio
            )
            pm_b, sure_b, _ = shrink_log_rate_robust(
                _ratio(rate, effort),
                se2 + 1.0 / np.maximum(touches, 1.0),
                groups,
                use_b,
                members,
                cfg.under_worked_ratio,
            )
            pm_r, _, _ = shrink_log_rate_robust(rate, se2, groups, judged, members, 1.0)
        route_b = use_b & np.isfinite(sure_b) & (sure_b >= cfg.under_worked_effort_sure)
        route_b &= np.exp(pm_r) < 1.0
        route_a = judged & np.isfinite(sure_raw) & (sure_raw >= cfg.min_sure)
        m = route_a | route_b
        sure = np.where(route_a, sure_raw, sure_b)
        pm = np.where(route_a, pm_raw - np.log(cfg.severe_under_worked_ratio), pm_b)
        pm = pm + np.log(cfg.under_worked_ratio)
        scale = 100.0 if counted else 1000.0
        peers = _peer_stats(rate * scale, groups, members, judged)
        act_peers = _peer_stats(effort, groups, members, use_b)

        def why(i: int) -> str:
            if route_a[i]:
                return (
                    f"{sure_raw[i]:.0%} sure it is below {cfg.severe_under_worked_ratio:.0%} of "
                    "the peers' rate."
                )
            return (
                f"{sure_b[i]:.0%} sure it is below {cfg.under_worked_ratio:.0%} of the peers' "
                f"rate for the effort: {effort[i]:.1f} prospecting touches a month (peers "
                f"{act_peers['median'].iloc[i]:.1f}), yet the territory yields "
                f"{np.exp(pm_r[i]):.0%} of the peers' {'opportunities' if counted else 'pipeline'}."
            )

        def what(i: int) -> str:
            if counted:
                return (
                    f"opened {int(n_opp[i])} new-business opportunities ({_money(created[i])}) in "
                    f"{t_months[i]:.0f} months after ramp-up on {_money(pot[i])} of territory "
                    f"potential a year, worth {dpot[i]:,.0f} typical deals a year: "
                    f"{rate[i] * 100:,.1f} opportunities a year per 100 typical deals of potential"
                )
            return (
                f"created {_money(created[i])} of pipeline in "
                f"{t_months[i]:.0f} months{' after ramp-up' if settled else ''} on "
                f"{_money(pot[i])} of territory potential, "
                f"{rate[i] * 1000:,.0f} per 1,000 of potential a year"
            )

        fmt = ",.1f" if counted else ",.0f"
        reasons = [
            f"Territory under-worked: {what(i)}; peers ({groups[i]}) "
            f"{peers['low'].iloc[i]:{fmt}}-{peers['high'].iloc[i]:{fmt}} (median "
            f"{peers['median'].iloc[i]:{fmt}}); {why(i)}"
            if m[i]
            else ""
            for i in range(len(card))
        ]
        add(
            m,
            "under_worked_territory",
            reasons,
            1 - np.exp(pm) / cfg.under_worked_ratio,
            rate * scale,
            peers,
            sure,
            groups,
        )

    # 2. busy but not winning: win rate low against peers while prospecting is high
    if "activity_without_wins" in on:
        nb = "new_won_deals" in ev
        won = ev["new_won_deals" if nb else "won_deals"].to_numpy(dtype=float)
        closed = won + ev["new_lost_deals" if nb else "lost_deals"].to_numpy(dtype=float)
        judged = np.isin(role, SELLER_ROLES) & enough & (closed >= cfg.min_closed_deals)
        groups, members = peer_groups(ev, judged, cfg)
        a, b, p0 = shrink_binomial(won, closed, groups, judged, members)
        with np.errstate(invalid="ignore"):
            sure = stats.beta.cdf(cfg.low_win_rate_ratio * p0, a, b)
        touches = (
            ev["prospecting_touches"].to_numpy(dtype=float)
            if "prospecting_touches" in ev
            else ev["prospecting_per_month"].to_numpy(dtype=float) * months
        )
        act_rate = _ratio(touches, months)
        # effort is compared within role and tenure band (not the band of potential: a
        # rep's calls and emails do not scale with the territory, and the larger group
        # gives a steadier median), with one between-rep spread pooled over the groups
        a_groups, a_members = peer_groups(ev, judged, cfg.model_copy(update={"potential_bands": 1}))
        act_m, not_busy, act_med = shrink_log_rate_robust(
            act_rate,
            1.0 / np.maximum(touches, 1.0),
            a_groups,
            judged,
            a_members,
            cfg.high_activity_ratio,
            pool_norms=True,
        )
        busy = np.isfinite(not_busy) & (not_busy < 0.5)
        wr = _ratio(won, closed)
        peers = _peer_stats(wr, groups, members, judged)
        m = judged & busy & np.isfinite(sure) & (sure >= cfg.min_sure)
        reasons = [
            f"Busy but not winning: wins {_pct(wr[i])} of {int(closed[i])} closed "
            f"{'new-business ' if nb else ''}deals in the look-back against peers' "
            f"{_pct(peers['low'].iloc[i])}-"
            f"{_pct(peers['high'].iloc[i])} (median {_pct(p0[i])}; {groups[i]}), "
            f"{sure[i]:.0%} sure the true rate is below {cfg.low_win_rate_ratio:.0%} of the "
            f"peers'; while making {act_rate[i]:.1f} prospecting touches a month, "
            f"{np.exp(act_m[i]):.1f}x the peers' {act_med[i]:.1f} ({1 - not_busy[i]:.0%} sure "
            f"it is at least {cfg.high_activity_ratio:g}x)."
            if m[i]
            else ""
            for i in range(len(card))
        ]
        post_wr = a / (a + b)
        add(
            m,
            "activity_without_wins",
            reasons,
            1 - _ratio(post_wr, cfg.low_win_rate_ratio * p0),
            wr,
            peers,
            # how sure the flag is: both parts hold (the win rate low and the rep busy),
            # which ranks it fairly against the other flags under ``max_flagged_share``
            sure * (1 - not_busy),
            groups,
        )

    # 3. sandbagging: wins around quarter ends land just after them
    if "sandbagging" in on and {"won_quarter_end", "won_quarter_start"} <= set(ev.columns):
        k_start = ev["won_quarter_start"].fillna(0).to_numpy(dtype=float)
        n_qe = k_start + ev["won_quarter_end"].fillna(0).to_numpy(dtype=float)
        judged = np.isin(role, SELLER_ROLES) & enough & (n_qe >= cfg.min_closed_deals)
        groups, members = peer_groups(ev, judged, cfg)
        a, b, p0 = shrink_binomial(
            k_start, n_qe, groups, judged, members, max_prior_n=cfg.sandbag_prior_deals
        )
        odds0 = p0 / (1 - p0)
        thr = cfg.sandbag_odds_ratio * odds0 / (1 + cfg.sandbag_odds_ratio * odds0)
        with np.errstate(invalid="ignore"):
            sure = stats.beta.sf(thr, a, b)
        share = _ratio(k_start, n_qe)
        peers = _peer_stats(share, groups, members, judged)
        m = judged & np.isfinite(sure) & (sure >= cfg.min_sure)
        reasons = [
            f"Possible sandbagging: of {int(n_qe[i])} new-business deals won around quarter "
            f"ends in the look-back, {_pct(share[i])} were booked in the first "
            f"{cfg.sandbag_start_days} days of a new quarter rather than the last "
            f"{cfg.sandbag_end_days} of the old one; peers ({groups[i]}) "
            f"{_pct(peers['low'].iloc[i])}-{_pct(peers['high'].iloc[i])} (median {_pct(p0[i])}); "
            f"{sure[i]:.0%} sure the odds are over {cfg.sandbag_odds_ratio:g}x the peers'."
            if m[i]
            else ""
            for i in range(len(card))
        ]
        post = a / (a + b)
        add(m, "sandbagging", reasons, _ratio(post - thr, 1 - thr), share, peers, sure, groups)

    # 4. chronic thin pipeline: pipeline on hand, in quarters of the rep's closing volume
    if "chronic_thin_pipeline" in on and {"pipeline_cover", "pipeline_cover_se2"} <= set(
        ev.columns
    ):
        little = "pipeline_cover_little" in ev
        snap_cover = ev["pipeline_cover"].to_numpy(dtype=float)
        if little:  # Little's law: the mean time a deal is open, on every closed deal
            cover = ev["pipeline_cover_little"].to_numpy(dtype=float)
            se2c = ev["pipeline_cover_little_se2"].to_numpy(dtype=float)
        else:
            cover = snap_cover
            se2c = ev["pipeline_cover_se2"].to_numpy(dtype=float)
        judged = (
            np.isin(role, TERRITORY_ROLES)
            & enough
            & np.isfinite(cover)
            & (cover > 0)
            & np.isfinite(se2c)
        )
        groups, members = peer_groups(ev, judged, cfg)
        pm, sure, _ = shrink_log_rate_robust(
            cover, np.nan_to_num(se2c, nan=1.0), groups, judged, members, cfg.thin_pipeline_ratio
        )
        peers = _peer_stats(cover, groups, members, judged)
        hand = ev["pipeline_on_hand"].to_numpy(dtype=float) if "pipeline_on_hand" in ev else cover
        deals = ev["deals_on_hand"].to_numpy(dtype=float) if "deals_on_hand" in ev else cover
        m = judged & np.isfinite(sure) & (sure >= cfg.min_sure)

        def opened(i: int) -> str:
            if not little:
                return ""
            return (
                f"new-business deals are opened {cover[i] * 91.3:.0f} days before they close "
                "on average, "
            )

        reasons = [
            f"Chronic thin pipeline: {opened(i)}{deals[i]:.1f} open new-business deals "
            f"({_money(hand[i])}) on hand on average at the quarter starts of the look-back "
            f"({snap_cover[i]:.2f} quarters of the rep's own closing volume); pipeline cover "
            f"{cover[i]:.2f} quarters against peers ({groups[i]}) "
            f"{peers['low'].iloc[i]:.2f}-"
            f"{peers['high'].iloc[i]:.2f} (median {peers['median'].iloc[i]:.2f}); "
            f"{sure[i]:.0%} sure it is below {cfg.thin_pipeline_ratio:.0%} of the peers'."
            if m[i]
            else ""
            for i in range(len(card))
        ]
        add(
            m,
            "chronic_thin_pipeline",
            reasons,
            1 - np.exp(pm) / cfg.thin_pipeline_ratio,
            cover,
            peers,
            sure,
            groups,
        )

    # 5. high discounts: net price per unit against the usual price, against peers
    if "high_discount" in on and {"price_index", "price_index_se2"} <= set(ev.columns):
        pidx = ev["price_index"].to_numpy(dtype=float)
        se2p = ev["price_index_se2"].to_numpy(dtype=float)
        nb_ = ev["priced_bookings"].fillna(0).to_numpy(dtype=float)
        judged = (
            np.isin(role, SELLER_ROLES)
            & enough
            & np.isfinite(pidx)
            & (pidx > 0)
            & (nb_ >= cfg.min_priced_bookings)
        )
        groups, members = peer_groups(ev, judged, cfg)
        pm, sure, _ = shrink_log_rate_robust(
            pidx, np.nan_to_num(se2p, nan=1.0), groups, judged, members, cfg.discount_ratio
        )
        peers = _peer_stats(pidx, groups, members, judged)
        m = judged & np.isfinite(sure) & (sure >= cfg.min_sure)
        reasons = [
            f"High discounts: {int(nb_[i])} bookings in the look-back sold at {_pct(pidx[i])} of "
            f"the company's usual price per unit ({_pct(1 - pidx[i])} below it); peers "
            f"({groups[i]}) {_pct(peers['low'].iloc[i])}-{_pct(peers['high'].iloc[i])} (median "
            f"{_pct(peers['median'].iloc[i])}); {sure[i]:.0%} sure the rep's price is below "
            f"{cfg.discount_ratio:.0%} of the peers'."
            if m[i]
            else ""
            for i in range(len(card))
        ]
        add(
            m,
            "high_discount",
            reasons,
            1 - np.exp(pm) / cfg.discount_ratio,
            pidx,
            peers,
            sure,
            groups,
        )

    pace = card["pace"].to_numpy(dtype=float)
    elapsed = card["elapsed_share"].to_numpy(dtype=float)
    as_of = pd.Timestamp(card["as_of"].iloc[0]) if "as_of" in card else None
    win = (
        window_attainment(panel, as_of, cfg.window_periods)
        if panel is not None and not panel.empty and as_of is not None
        else None
    )
    w_att: np.ndarray | None = None
    if win is not None and len(win):
        w_att = card["rep_id"].map(win["attainment"]).to_numpy(dtype=float)
        w_se2 = card["rep_id"].map(win["se2"]).to_numpy(dtype=float)
        w_n = card["rep_id"].map(win["periods"]).fillna(0).to_numpy()

        def window_sure(threshold: float, use: np.ndarray) -> np.ndarray:
            grp = np.where(is_mgr, "managers", "reps")
            pm_, ps_, med_ = shrink_log_rate(w_att, w_se2, grp, use & (w_n >= 2))
            return np.asarray(
                stats.norm.cdf((np.log(threshold) - (pm_ + np.log(med_))) / np.maximum(ps_, 1e-9))
            )

    # 6. behind pace with thin pipeline (late in the period: next period's pipeline)
    if "behind_pace_thin_pipeline" in on:
        cov = card["coverage_weighted"].to_numpy(dtype=float)
        money = (
            card["coverage_weighted"].notna().to_numpy() | (card["remaining_quota"] == 0).to_numpy()
        )
        late = elapsed >= cfg.late_in_period
        next_cov = card["next_coverage_weighted"].to_numpy(dtype=float)
        use_cov = np.where(late, next_cov, cov)
        m1 = (
            ~is_mgr
            & (elapsed >= cfg.min_elapsed_share)
            & np.isfinite(pace)
            & (pace < cfg.behind_pace)
            & np.isfinite(use_cov)
            & (use_cov < cfg.thin_coverage)
            & money
        )
        sure1 = np.full(len(card), np.nan)
        if w_att is not None:
            sure1 = window_sure(cfg.chronic_attainment, ~is_mgr & np.isfinite(w_att))
            m1 &= np.isfinite(sure1) & (sure1 >= cfg.min_sure)

        def pipeline_words(i: int, r: Any) -> str:
            if late[i]:
                return (
                    f"weighted pipeline for {r.next_period} covers only {next_cov[i]:.1f}x "
                    f"next period's {_money(r.next_quota)} quota"
                )
            return (
                f"weighted pipeline closing this period covers only {cov[i]:.1f}x the "
                f"{_money(r.remaining_quota)} still to go"
            )

        def window_words(i: int) -> str:
            if w_att is None or not np.isfinite(sure1[i]):
                return ""
            return (
                f" Over the last {int(w_n[i])} periods: {_pct(w_att[i])} of quota, "
                f"{sure1[i]:.0%} sure it is below {_pct(cfg.chronic_attainment)}."
            )

        reasons = [
            f"Behind pace: {_pct(r.attainment)} of the {_money(r.quota)} quota booked with "
            f"{_pct(r.expected_share)} of the period's bookings normally in by now (pace "
            f"{_pct(r.pace)}); {pipeline_words(i, r)}.{window_words(i)}"
            if m1[i]
            else ""
            for i, r in enumerate(card.itertuples(index=False))
        ]
        add(
            m1,
            "behind_pace_thin_pipeline",
            reasons,
            1 - _ratio(pace, cfg.behind_pace),
            pace,
            None,
            sure1,
        )

    # 7. managers: the team's roll-up results, not their own pipeline
    if "team_behind" in on and w_att is not None:
        use = is_mgr & np.isfinite(w_att)
        sure4 = window_sure(cfg.team_behind_ratio, use)
        peers = _peer_stats(w_att, np.where(is_mgr, "managers", "reps"), {}, use)
        m4 = (
            use
            & np.isfinite(sure4)
            & (sure4 >= cfg.min_sure)
            & np.isfinite(pace)
            & (pace < cfg.behind_pace)
            & (elapsed >= cfg.min_elapsed_share)
        )
        reasons = [
            f"Team behind: the team reached {_pct(w_att[i])} of its quota over the last "
            f"{int(w_n[i])} periods (other managers' teams {_pct(peers['low'].iloc[i])}-"
            f"{_pct(peers['high'].iloc[i])}), {sure4[i]:.0%} sure it is below "
            f"{_pct(cfg.team_behind_ratio)}, and is at {_pct(pace[i])} of pace this period."
            if m4[i]
            else ""
            for i in range(len(card))
        ]
        add(
            m4,
            "team_behind",
            reasons,
            1 - _ratio(w_att, cfg.team_behind_ratio),
            w_att,
            peers,
            sure4,
            np.where(is_mgr, "managers", ""),
        )

    # 8. concentration on one deal (opt-in)
    if "concentrated_on_one_deal" in on:
        share = card["largest_deal_share"].to_numpy(dtype=float)
        big = _ratio(card["largest_deal"], card["quota"]) >= cfg.concentration_min_quota_share
        m5 = ~is_mgr & np.isfinite(share) & (share >= cfg.concentration_share) & big
        reasons = [
            f"Concentrated: one deal of {_money(r.largest_deal)} "
            f"({_pct(r.largest_deal / r.quota)} of quota) is {_pct(share[i])} of this "
            "period's bookings plus open pipeline."
            if m5[i]
            else ""
            for i, r in enumerate(card.itertuples(index=False))
        ]
        add(m5, "concentrated_on_one_deal", reasons, share, share)

    # 9 and 10 need history (opt-in)
    if panel is not None and not panel.empty and on & {"slow_ramp", "sudden_drop"}:
        start = pd.Timestamp(card["period_start"].iloc[0])
        hist = panel[panel["end"] < start]
        proj = card["projected_attainment"].to_numpy(dtype=float)
        if "slow_ramp" in on and reps is not None and not hist.empty:
            curve = tenure_curve(hist, reps)
            if not curve.empty:
                tenure = card["tenure_months"].to_numpy(dtype=float)
                idx = np.searchsorted(curve.index.to_numpy(dtype=float), tenure, side="right") - 1
                expected = np.where(idx >= 0, curve.to_numpy()[np.clip(idx, 0, None)], np.nan)
                m6 = (
                    ~is_mgr
                    & (tenure < cfg.ramp_months)
                    & np.isfinite(proj)
                    & np.isfinite(expected)
                    & (proj < cfg.ramp_ratio * expected)
                )
                reasons = [
                    f"Slow ramp: {tenure[i]:.0f} months in, projected at {_pct(proj[i])} of "
                    f"quota where reps at this tenure typically reach {_pct(expected[i])}."
                    if m6[i]
                    else ""
                    for i in range(len(card))
                ]
                add(m6, "slow_ramp", reasons, 1 - _ratio(proj, cfg.ramp_ratio * expected), proj)
        if "sudden_drop" in on and not hist.empty:
            last = hist.sort_values("end").groupby("rep_id").tail(cfg.drop_history)
            # clip so one quarter on a tiny ramp quota (e.g. 478%) does not set the bar
            mean = last["attainment"].clip(upper=cfg.drop_clip).groupby(last["rep_id"]).mean()
            n = last.groupby("rep_id")["attainment"].count()
            own = card["rep_id"].map(mean).to_numpy(dtype=float)
            nh = card["rep_id"].map(n).fillna(0).to_numpy()
            m7 = (
                ~is_mgr
                & (nh >= 2)
                & np.isfinite(own)
                & (own >= cfg.drop_min_mean)
                & np.isfinite(proj)
                & (proj < cfg.drop_ratio * own)
                & (elapsed >= cfg.min_elapsed_share)
            )
            reasons = [
                f"Sudden drop: projected at {_pct(proj[i])} of quota against an average of "
                f"{_pct(own[i])} over the previous {int(nh[i])} periods."
                if m7[i]
                else ""
                for i in range(len(card))
            ]
            add(m7, "sudden_drop", reasons, 1 - _ratio(proj, cfg.drop_ratio * own), proj)

    out = pd.DataFrame(rows, columns=COLUMNS)
    n_judged = len(card)
    held = 0
    if not out.empty:
        # at most max_flagged_share of the reps of each role (owners of territory - AE, AM,
        # FIELD - counted together): keep the surest (then the most severe), so that one
        # role's flags do not crowd out another's
        rank = (
            out.assign(_s=out["sure"].fillna(0.5))
            .groupby("rep_id")[["_s", "severity"]]
            .max()
            .sort_values(["_s", "severity"], ascending=False)
        )

        def family(roles: pd.Series) -> pd.Series:
            return roles.where(~roles.isin(TERRITORY_ROLES), "territory owners")

        rank["role"] = family(
            pd.Series(rank.index.map(card.set_index("rep_id")["role"].astype(str)), rank.index)
        )
        n_role = family(card["role"].astype(str)).value_counts()
        keep: set[str] = set()
        for r, grp in rank.groupby("role", sort=False):
            cap = int(np.floor(cfg.max_flagged_share * int(n_role.get(r, 0))))
            keep |= set(grp.index[:cap])
            held += max(len(grp) - cap, 0)
        if held:
            out = out[out["rep_id"].isin(keep)]
        out = out.sort_values(["team", "rep_id", "flag"], kind="stable").reset_index(drop=True)
    out.attrs["judged"] = n_judged
    out.attrs["held_back"] = held
    return out
