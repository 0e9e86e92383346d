"""Quota-setting history: credited amounts per rep, measure and month, and the planning frame.

:func:`credited_history` reads each rep's monthly credit from the one crediting
result (:class:`spm_model.crediting.CreditingResult`, made by
:func:`spm_model.calc.credit_dataset`): the rep's direct credit (owner, split,
overlay and exception credit, net of their cancellations and adjustments), and
counts ``meeting`` activities as the ``meetings`` measure. No transaction is
attributed here: :mod:`spm_model.crediting` alone decides who is credited what.

:func:`build_history` turns a dataset into a :class:`QuotaHistory`: the
quota-carrying (rep, measure) pairs for the plan year, their monthly history up to
the cut-off with exposure (active days x FTE x history ramp), learnt seasonality
and growth, territory potential by month of the plan year and the plan year's
capacity factors (activity, FTE, leave, new-hire ramp), and for measures that come
back from last year's deals (renewals) the book due in each plan month
(:func:`learn_book`: which product families' bookings come back as the measure a
year later, at what rate; the accounts the rep owns that month, as known at the
cut-off).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from spm_model.data import Dataset, parse_period
from spm_model.errors import Problem, SpmConfigError, SpmDataError

if TYPE_CHECKING:
    from spm_model.crediting import CreditingResult

#: Quota ramp by quarter of tenure (fraction of a full quota): 0/25/50/75/100%.
DEFAULT_RAMP: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
#: Weight of history months by quarter of tenure when annualising history.
DEFAULT_HISTORY_RAMP: tuple[float, ...] = (0.0, 0.5, 1.0)
#: Roles that carry individual quotas by default (managers get roll-ups).
DEFAULT_EXCLUDED_ROLES: tuple[str, ...] = ("MANAGER",)


def _month_index(dates: pd.Series | np.ndarray) -> np.ndarray:
    """Months since 1970-01 of each date (int64); NaT gives a very large sentinel."""
    raw = np.asarray(dates)
    if np.issubdtype(raw.dtype, np.datetime64):
        d = raw.astype("datetime64[M]")
    else:
        d = pd.DatetimeIndex(pd.to_datetime(dates)).to_numpy().astype("datetime64[M]")
    out = d.astype(np.int64)
    return np.where(np.isnat(d), np.iinfo(np.int64).max // 2, out)


def _month_label(m: np.ndarray | int) -> np.ndarray:
    m = np.atleast_1d(np.asarray(m, dtype=np.int64))
    if not len(m):
        return np.array([], dtype=object)
    u, inv = np.unique(m, return_inverse=True)
    names = np.array([f"{x // 12 + 1970:04d}-{x % 12 + 1:02d}" for x in u], dtype=object)
    return names[inv]


def _aggregate(rep: Any, measure: Any, month: np.ndarray, amount: np.ndarray) -> pd.DataFrame:
    """Sum amounts per (rep, measure, month) on integer codes (fast for millions of rows)."""
    if not len(rep):
        return pd.DataFrame({"rep_id": [], "measure": [], "period": [], "amount": []})
    rc, ru = pd.factorize(rep, sort=True)
    mc, mu = pd.factorize(measure, sort=True)
    m0 = int(month.min())
    nm = int(month.max()) - m0 + 1
    key = (rc.astype(np.int64) * len(mu) + mc) * nm + (month - m0)
    size = len(ru) * len(mu) * nm
    if size <= 50_000_000:  # dense bins: no sort
        cnt = np.bincount(key, minlength=size)
        ukey = np.flatnonzero(cnt)
        amt = np.bincount(key, weights=amount.astype(float), minlength=size)[ukey]
    else:
        ukey, inv = np.unique(key, return_inverse=True)
        amt = np.bincount(inv, weights=amount.astype(float))
    rm = ukey // nm
    return pd.DataFrame(
        {
            "rep_id": np.asarray(ru, dtype=object)[rm // len(mu)],
            "measure": np.asarray(mu, dtype=object)[rm % len(mu)],
            "period": _month_label(ukey % nm + m0),
            "amount": amt,
        }
    )


#: Crediting rules (effective rule, reading through cancellations and adjustments) that
#: make up quota history: the rep's whole direct credit, as the rep's statement sees it.
HISTORY_RULES: tuple[str, ...] = ("owner", "split", "overlay", "exception")


def credited_history(
    ds: Dataset,
    credits: CreditingResult | None = None,
    *,
    overlays: bool = True,
    meetings: bool = True,
) -> pd.DataFrame:
    """Credit per rep, measure and month: the quota view of the one crediting result.

    Quota history is the rep's **direct** credit as the crediting engine gives it
    for pay: ``credits.totals(freq="month", basis="direct", rules=HISTORY_RULES)``,
    i.e. owner or split credit, overlay credit, approved crediting exceptions and
    the cancellations and adjustments of each (clawed back under the window the
    ``credits`` were made with), without manager roll-ups (managers get roll-up
    quotas from their team). This module attributes no transaction itself.
    ``meetings`` are not transactions: they are counted from ``activities``.

    Parameters
    ----------
    ds : Dataset
        Needs ``transactions``, ``products`` and ``assignments`` (crediting);
        ``activities`` for meetings.
    credits : CreditingResult, optional
        The run's crediting result (credit once per run and pass it to every
        consumer); default :func:`spm_model.calc.credit_dataset` of ``ds``
        without plans (every cancellation reverses its booking in full).
    overlays : bool
        Keep overlay credit (and its reversals); ``False`` keeps owner, split
        and exception credit only.
    meetings : bool
        Count ``activities`` of kind ``meeting`` as the ``meetings`` measure.

    Returns
    -------
    DataFrame
        ``rep_id, measure, period, amount`` with ``period`` a calendar month label
        (``"2025-07"``); amounts in currency (meetings: counts), cancellations net.
    """
    if credits is None:
        from spm_model.calc.credit import credit_dataset

        credits = credit_dataset(ds)
    rules = HISTORY_RULES if overlays else tuple(r for r in HISTORY_RULES if r != "overlay")
    cols = ["rep_id", "measure", "period", "amount"]
    frames: list[pd.DataFrame] = []
    tot = credits.totals("month", "direct", rules=rules, by=("rep_id", "measure", "period"))
    if len(tot):
        frames.append(tot[cols].astype({"period": object}))
    if meetings and "activities" in ds and len(ds.activities):
        a = ds.activities
        sel = (a["kind"] == "meeting").to_numpy(dtype=bool)
        rep = a["rep_id"][sel]
        if len(rep):
            frames.append(
                _aggregate(
                    rep,
                    np.zeros(len(rep), dtype=np.int64),
                    _month_index(a["date"].to_numpy()[sel]),
                    np.ones(len(rep)),
                ).assign(measure="meetings")
            )
    if not frames:
        return pd.DataFrame({c: [] for c in cols})
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["rep_id", "measure", "period"], kind="stable").reset_index(drop=True)


def ramp_factor(tenure_months: np.ndarray, schedule: Sequence[float]) -> np.ndarray:
    """Fraction of full capacity by tenure: ``schedule[q]`` in tenure quarter ``q``.

    Parameters
    ----------
    tenure_months : ndarray
        Whole months since hire at the start of the month (0 = month of hire);
        negative means not yet hired (factor 0).
    schedule : sequence of float
        Fraction (1.0 = full) in quarters 0, 1, 2...; the last value holds after.
    """
    s = np.asarray(schedule, dtype=float)
    q = np.clip(np.asarray(tenure_months) // 3, 0, len(s) - 1)
    return np.where(np.asarray(tenure_months) < 0, 0.0, s[q.astype(np.int64)])


def _check_schedule(name: str, schedule: Sequence[float]) -> tuple[float, ...]:
    s = tuple(float(x) for x in schedule)
    if not s or any(not 0.0 <= x <= 1.0 for x in s) or s[-1] != 1.0:
        raise SpmConfigError(
            f"{name} must be fractions in [0, 1] ending with 1.0 (full capacity), got {list(s)}"
        )
    if any(b < a for a, b in itertools.pairwise(s)):
        raise SpmConfigError(f"{name} must not decrease, got {list(s)}")
    return s


def _active_fraction(hire: np.ndarray, end: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Fraction of each month's days a rep is employed: reps x months."""
    m0 = months.astype("datetime64[M]").astype("datetime64[D]")
    m1 = (months + 1).astype("datetime64[M]").astype("datetime64[D]") - np.timedelta64(1, "D")
    h = hire.astype("datetime64[D]")[:, None]
    e = end.astype("datetime64[D]")[:, None]
    e = np.where(np.isnat(e), np.datetime64("2262-01-01"), e)
    h = np.where(np.isnat(h), np.datetime64("1900-01-01"), h)
    a = np.maximum(h, m0[None, :])
    b = np.minimum(e, m1[None, :])
    days = (b - a).astype(np.int64) + 1
    return np.clip(days, 0, None) / ((m1 - m0).astype(np.int64) + 1)[None, :]


@dataclass
class QuotaHistory:
    """Everything a quota method learns from, for one plan year.

    Attributes
    ----------
    year : int
        Fiscal year quotas are set for.
    fy_start_month : int
        First month of the fiscal year.
    cutoff : pandas.Timestamp
        Last day of history used (the day before the plan year by default).
    pairs : DataFrame
        One row per quota-carrying (rep, measure): ``rep_id, measure, role, region,
        team, manager_id, hire_date, end_date, fte``; row order is the order of
        every array below.
    hist_months : ndarray of int
        History months (months since 1970-01), oldest first.
    amounts : ndarray, pairs x hist months
        Credited amount (currency; counts for ``meetings``).
    exposure : ndarray, pairs x hist months
        Active fraction x FTE x history ramp (1.0 = a full month at full capacity).
    season : dict str -> ndarray(12)
        Monthly seasonality per measure in fiscal-month order, mean 1.0.
    growth : dict str -> float
        Learnt (or given) annual growth per measure, a fraction (0.05 = +5%).
    plan_months : ndarray of int
        The twelve months of the plan year.
    potential : ndarray, pairs x 12
        Annual potential (currency per year) of the accounts the rep owns in each
        plan month (effective-dated assignments).
    capacity : ndarray, pairs x 12
        Plan-year factor: employed fraction x leave x new-hire ramp (FTE excluded).
    employed : ndarray, pairs x 12
        Fraction of each plan month the rep is employed.
    managers : DataFrame or None
        Reps of excluded roles active in the plan year with a measure they carry
        (``rep_id, measure, role, region, team, manager_id, hire_date, end_date``),
        for roll-up quotas.
    last_year_actual : ndarray or None
        Credit in the fiscal year before the plan year (None if not complete).
    notes : list of str
        What was inferred or fell back, for the report.
    hist_potential : ndarray, pairs x history months, or None
        Annual potential the rep owned in each history month (so a rep's past rate
        can be read against the territory it was earned on).
    productivity : ndarray, pairs x 12, or None
        Expected share of a full-capacity month each rep sells in each plan month:
        as ``capacity`` but with the ramp the history shows (``learnt_ramp``)
        instead of the quota ramp policy. Used for stated chances and for
        equal-chance (probabilistic) quotas.
    learnt_ramp : tuple of float or None
        Productivity by quarter of tenure, relative to reps past the ramp, learnt
        from the history (:func:`learn_ramp`).
    book : ndarray, pairs x 12, or None
        Business due to come back in each plan month (e.g. renewals): what the
        accounts the rep owns that month booked twelve months earlier, weighted by
        the learnt rate at which each product family comes back as the pair's
        measure (:func:`learn_book`); NaN for measures without such a book.
    hist_book : ndarray, pairs x history months, or None
        The same in the history months whose year-earlier month is in the data
        (NaN elsewhere), to calibrate the book against what reps were credited.
    book_rates : dict or None
        Per measure with a book, the rate per product family (fraction of a
        family's bookings that come back as the measure a year later).
    attrition : float or None
        Monthly leaving rate of quota-carrying reps learnt from the history
        (:func:`learn_attrition`; 0.01 = 1% of reps leave each month); None when
        the history has no rep-months to learn it from.
    """

    year: int
    fy_start_month: int
    cutoff: pd.Timestamp
    pairs: pd.DataFrame
    hist_months: np.ndarray
    amounts: np.ndarray
    exposure: np.ndarray
    season: dict[str, np.ndarray]
    growth: dict[str, float]
    plan_months: np.ndarray
    potential: np.ndarray
    capacity: np.ndarray
    employed: np.ndarray | None = None
    managers: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    last_year_actual: np.ndarray | None = None
    hist_potential: np.ndarray | None = None
    productivity: np.ndarray | None = None
    learnt_ramp: tuple[float, ...] | None = None
    book: np.ndarray | None = None
    hist_book: np.ndarray | None = None
    book_rates: dict[str, dict[str, float]] | None = None
    attrition: float | None = None

    @property
    def n_pairs(self) -> int:
        """Number of quota-carrying (rep, measure) pairs."""
        return len(self.pairs)

    def season_matrix(self) -> np.ndarray:
        """Plan-month seasonality per pair (pairs x 12, each row mean 1.0)."""
        meas = self.pairs["measure"].to_numpy()
        out = np.ones((self.n_pairs, 12))
        for m, s in self.season.items():
            out[meas == m] = s
        return out

    def hist_season(self) -> np.ndarray:
        """History-month seasonality per pair (pairs x hist months)."""
        pos = (self.hist_months % 12 - (self.fy_start_month - 1)) % 12
        return self.season_matrix()[:, pos]

    def annualised(self, months: int | None = 12, min_exposure: float = 3.0) -> np.ndarray:
        """Full-capacity annual rate per pair from the last ``months`` history months.

        Sum of credit divided by the season-weighted exposure, times 12: a rep who
        worked the whole year at full FTE gets exactly last year's total. NaN where
        the season-weighted exposure is below ``min_exposure`` months (no history).

        Returns
        -------
        ndarray
            Currency per year (counts per year for ``meetings``).
        """
        sl = slice(None) if months is None else slice(-months, None)
        e = (self.exposure[:, sl] * self.hist_season()[:, sl]).sum(axis=1)
        a = self.amounts[:, sl].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(e >= min_exposure, a / e * 12.0, np.nan)
        return out

    def tenure_months(self) -> np.ndarray:
        """Whole months of tenure at the first plan month (negative: hired later)."""
        return self.plan_months[0] - _month_index(self.pairs["hire_date"])


def _measures_by_role(
    ds: Dataset, credit: pd.DataFrame, reps: pd.DataFrame, before_year_start: pd.Timestamp
) -> dict[str, list[str]]:
    """Which measures each role carries: from past quotas if any, else from history."""
    out: dict[str, list[str]] = {}
    q = ds.quotas if "quotas" in ds else None
    if q is not None and len(q):
        qq = q.merge(reps[["rep_id", "role"]], on="rep_id")
        for role, g in qq.groupby("role"):
            out[str(role)] = sorted(g["measure"].unique().tolist())
        return out
    c = credit.merge(reps[["rep_id", "role"]], on="rep_id")
    c = c[c["amount"] > 0]
    for role, g in c.groupby("role"):
        tot = g.groupby("measure")["amount"].sum()
        money = tot.drop("meetings", errors="ignore")
        keep = list(money[money >= 0.05 * money.sum()].index) if len(money) else []
        if "meetings" in tot and not keep:
            keep = ["meetings"]
        out[str(role)] = sorted(keep)
    return out


def _learn_season(
    monthly: pd.DataFrame, measures: Sequence[str], fy_start_month: int, cutoff_m: int
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Seasonality per measure from complete fiscal years of company totals (mean 1)."""
    notes = []
    season: dict[str, np.ndarray] = {}
    tot = monthly.groupby(["measure", "month"])["amount"].sum()
    for meas in measures:
        s = tot.get(meas) if meas in tot.index.get_level_values(0) else None
        if s is None or not len(s):
            season[meas] = np.ones(12)
            notes.append(f"{meas}: no history, flat seasonality")
            continue
        s = s[s.index <= cutoff_m]
        fpos = (s.index.to_numpy() % 12 - (fy_start_month - 1)) % 12
        fy_key = s.index.to_numpy() - fpos  # month index of the fiscal year start
        df = pd.DataFrame({"fy": fy_key, "pos": fpos, "amount": s.to_numpy()})
        counts = df.groupby("fy")["pos"].count()
        full = counts[counts == 12].index
        df = df[df["fy"].isin(full)]
        if not len(full):
            season[meas] = np.ones(12)
            notes.append(f"{meas}: no complete fiscal year before the cut-off, flat seasonality")
            continue
        w = np.zeros(12)
        for _, g in df.groupby("fy"):
            total = g["amount"].sum()
            if total > 0:
                w[g["pos"].to_numpy()] += np.clip(g["amount"].to_numpy(), 0, None) / total
        w = w / w.sum() * 12 if w.sum() > 0 else np.ones(12)
        season[meas] = w
    return season, notes


def _learn_growth(
    monthly: pd.DataFrame, measures: Sequence[str], cutoff_m: int
) -> tuple[dict[str, float], list[str]]:
    """Annual growth per measure: last 12 months vs the same calendar months a year earlier."""
    tot = monthly.groupby(["measure", "month"])["amount"].sum()
    out: dict[str, float] = {}
    notes = []
    recent_all = prior_all = 0.0
    per: dict[str, tuple[float, float, int]] = {}
    for meas in measures:
        if meas not in tot.index.get_level_values(0):
            continue
        s = tot[meas]
        rec = s[(s.index > cutoff_m - 12) & (s.index <= cutoff_m)]
        pri = s.reindex(rec.index - 12)
        ok = pri.notna().to_numpy() & (pri.to_numpy() != 0)
        r, p = float(rec.to_numpy()[ok].sum()), float(pri.to_numpy()[ok].sum())
        per[meas] = (r, p, int(ok.sum()))
        if meas != "meetings":
            recent_all += r
            prior_all += p
    overall = recent_all / prior_all - 1.0 if prior_all > 0 else 0.0
    for meas in measures:
        r, p, n = per.get(meas, (0.0, 0.0, 0))
        if n >= 6 and p > 0:
            out[meas] = float(np.clip(r / p - 1.0, -0.5, 1.0))
        else:
            out[meas] = float(np.clip(overall, -0.5, 1.0))
            notes.append(
                f"{meas}: only {n} month(s) to compare with a year earlier, "
                f"company growth {out[meas]:+.1%} used"
            )
    return out, notes


def _learn_rate_growth(
    amounts: np.ndarray,
    exposure: np.ndarray,
    hist_months: np.ndarray,
    pair_measures: np.ndarray,
    measures: Sequence[str],
    cutoff_m: int,
) -> tuple[dict[str, float], list[str]]:
    """Annual growth of the rate per unit of exposure (credit per full-capacity month).

    The last 12 months against the same calendar months a year earlier, as
    :func:`_learn_growth`, but of credit per FTE-month (ramp-weighted) of the
    quota-carrying reps: a company that grew by hiring has not made each rep
    more productive, and quotas apply the growth to each rep's own rate.
    """
    out: dict[str, float] = {}
    notes: list[str] = []
    per: dict[str, tuple[float, float, float, float, int]] = {}
    idx = {int(m): i for i, m in enumerate(hist_months)}
    tot = (0.0, 0.0, 0.0, 0.0)
    for meas in measures:
        sel = pair_measures == meas
        a = amounts[sel].sum(axis=0)
        e = exposure[sel].sum(axis=0)
        ra = ea = pa = pe = 0.0
        n = 0
        for m in range(cutoff_m - 11, cutoff_m + 1):
            i, j = idx.get(m), idx.get(m - 12)
            if i is None or j is None or e[i] <= 0 or e[j] <= 0 or a[j] <= 0:
                continue
            ra, ea, pa, pe, n = ra + a[i], ea + e[i], pa + a[j], pe + e[j], n + 1
        per[meas] = (ra, ea, pa, pe, n)
        if meas != "meetings":
            tot = (tot[0] + ra, tot[1] + ea, tot[2] + pa, tot[3] + pe)
    overall = (tot[0] / tot[1]) / (tot[2] / tot[3]) - 1.0 if min(tot) > 0 else 0.0
    for meas in measures:
        ra, ea, pa, pe, n = per[meas]
        if n >= 6 and min(ra, ea, pa, pe) > 0:
            out[meas] = float(np.clip((ra / ea) / (pa / pe) - 1.0, -0.5, 1.0))
        else:
            out[meas] = float(np.clip(overall, -0.5, 1.0))
            notes.append(
                f"{meas}: only {n} month(s) to compare with a year earlier, "
                f"company growth per rep {out[meas]:+.1%} used"
            )
    return out, notes


def learn_ramp(
    amounts: np.ndarray,
    active_fte: np.ndarray,
    tenure_months: np.ndarray,
    season: np.ndarray,
    groups: np.ndarray,
    default: Sequence[float] = DEFAULT_RAMP,
    prior_rep_months: float = 12.0,
) -> tuple[tuple[float, ...], int]:
    """Productivity by quarter of tenure, relative to reps past the ramp, from the history.

    For each peer group (role and measure) the mature rate is credit per
    season-weighted FTE-month of reps whose tenure is past the schedule; a
    ramping rep-month is expected to sell that rate, and quarter ``q``'s factor is
    what ramping reps sold over what they were expected to. Each factor is shrunk
    towards ``default[q]`` with the weight of ``prior_rep_months`` rep-months (few
    new hires: close to the default), made non-decreasing and kept in [0, 1].

    Parameters
    ----------
    amounts, active_fte, tenure_months, season : ndarray
        Pairs x history months: credit, active fraction x FTE (no ramp), whole
        months of tenure, seasonality.
    groups : ndarray
        Peer group per pair.
    default : sequence of float
        Schedule to shrink towards (its length is the number of quarters).
    prior_rep_months : float
        Weight of the default, in rep-months.

    Returns
    -------
    (tuple of float, int)
        The schedule (last value 1.0) and the ramping rep-months it rests on.
    """
    d = np.asarray(default, dtype=float)
    n_q = len(d)
    q = tenure_months // 3
    w = active_fte * season
    expected = np.zeros_like(amounts, dtype=float)
    mature = (q >= n_q - 1) & (active_fte > 0)
    for g in np.unique(groups):
        sel = groups == g
        den = float((w[sel] * mature[sel]).sum())
        if den <= 0:
            continue
        rate = float((amounts[sel] * mature[sel]).sum()) / den
        expected[sel] = w[sel] * rate
    out = []
    used = 0
    for k in range(n_q - 1):
        cell = (q == k) & (active_fte > 0) & (expected > 0)
        n_k = float(active_fte[cell].sum())
        used += round(n_k)
        raw = float(amounts[cell].sum()) / float(expected[cell].sum()) if n_k > 0 else d[k]
        out.append((n_k * raw + prior_rep_months * d[k]) / (n_k + prior_rep_months))
    sched = np.clip(np.maximum.accumulate(np.asarray([*out, 1.0])), 0.0, 1.0)
    sched[-1] = 1.0
    return tuple(float(round(v, 4)) for v in sched), used


def _owned_potential(ds: Dataset, rep_ids: np.ndarray, plan_months: np.ndarray) -> np.ndarray:
    """Annual potential owned by each rep in each plan month (day-weighted)."""
    asg = ds.assignments
    own = asg[(asg["role"] == "owner") & asg["rep_id"].isin(set(rep_ids))]
    pot = ds.accounts.set_index("account_id")["potential"]
    out = np.zeros((len(rep_ids), len(plan_months)))
    if not len(own):
        return out
    p = pot.reindex(own["account_id"]).fillna(0.0).to_numpy(dtype=float)
    frac = _active_fraction(own["start_date"].to_numpy(), own["end_date"].to_numpy(), plan_months)
    ridx = pd.Index(rep_ids).get_indexer(own["rep_id"])
    contrib = frac * p[:, None]
    np.add.at(out, ridx, contrib)
    return out


#: Share of the measure's account-level variation the year-earlier bookings must explain
#: (R squared of the account-level fit) before the measure gets a book.
BOOK_MIN_R2 = 0.5
#: History months with a year-earlier month in the data needed to learn a book.
BOOK_MIN_MONTHS = 3


def learn_book(
    ds: Dataset,
    cut_m: int,
    measures: Sequence[str],
    *,
    min_r2: float = BOOK_MIN_R2,
    min_months: int = BOOK_MIN_MONTHS,
) -> tuple[dict[str, dict[str, float]], pd.DataFrame, int]:
    """Learn which bookings come back a year later as each measure (renewals).

    Over the history months ``m`` whose month ``m - 12`` is in the data, each
    account's amount of measure ``M`` in those months is fitted (non-negative
    least squares, no intercept) on the account's bookings of each product family
    twelve months earlier. A measure whose fit explains at least ``min_r2`` of the
    account-level variation has a book: its rates per family. New business, which
    does not come back from last year's deals, gets none.

    Parameters
    ----------
    ds : Dataset
        Needs ``transactions`` and ``products`` (``family``, ``measure``).
    cut_m : int
        Last history month (months since 1970-01); later transactions are ignored.
    measures : sequence of str
        Measures to learn a book for.
    min_r2 : float
        R squared the account-level fit must reach.
    min_months : int
        Months with a year-earlier month in the data needed.

    Returns
    -------
    (dict, DataFrame, int)
        ``{measure: {family: rate}}`` for measures with a book; the transactions
        up to ``cut_m`` with ``month`` and ``family`` columns; months fitted on.
    """
    from scipy.optimize import nnls

    tx = ds.transactions
    prod = ds.products.set_index("product_id")
    month = _month_index(pd.to_datetime(tx["date"]))
    keep = month <= cut_m
    t = pd.DataFrame(
        {
            "account_id": tx["account_id"].to_numpy()[keep],
            "month": month[keep],
            "family": tx["product_id"].map(prod["family"]).astype(str).to_numpy()[keep],
            "measure": tx["product_id"].map(prod["measure"]).astype(str).to_numpy()[keep],
            "amount": tx["amount"].to_numpy(dtype=float)[keep],
        }
    )
    if not len(t):
        return {}, t, 0
    first = int(t["month"].min())
    lag = np.arange(first + 12, cut_m + 1)
    if len(lag) < min_months:
        return {}, t, len(lag)
    fams = sorted(t["family"].unique())
    x = (
        t[np.isin(t["month"], lag - 12)]
        .pivot_table(index="account_id", columns="family", values="amount", aggfunc="sum")
        .reindex(columns=fams)
        .fillna(0.0)
    )
    rates: dict[str, dict[str, float]] = {}
    for m in measures:
        y = t[np.isin(t["month"], lag) & (t["measure"] == m)].groupby("account_id")["amount"].sum()
        if not len(y) or not len(x):
            continue
        idx = x.index.union(y.index)
        xx = x.reindex(idx).fillna(0.0).to_numpy()
        yy = y.reindex(idx).fillna(0.0).to_numpy()
        c, _ = nnls(xx, yy)
        sst = float(((yy - yy.mean()) ** 2).sum())
        r2 = 1.0 - float(((yy - xx @ c) ** 2).sum()) / sst if sst > 0 else 0.0
        if r2 >= min_r2 and (c > 0).any():
            rates[str(m)] = {f: float(v) for f, v in zip(fams, c, strict=True) if v > 0}
    return rates, t, len(lag)


def _book(
    ds: Dataset,
    tx: pd.DataFrame,
    rates: Mapping[str, Mapping[str, float]],
    pairs: pd.DataFrame,
    months: np.ndarray,
    cut_m: int,
) -> np.ndarray:
    """Book due per pair and month: year-earlier bookings of the accounts owned then."""
    out = np.full((len(pairs), len(months)), np.nan)
    if not rates or not len(tx):
        return out
    first = int(tx["month"].min())
    known = (months - 12 >= first) & (months - 12 <= cut_m)
    asg = ds.assignments
    own = asg[asg["role"] == "owner"] if "role" in asg else asg
    frac = _active_fraction(own["start_date"].to_numpy(), own["end_date"].to_numpy(), months)
    acc = pd.Index(pd.unique(own["account_id"]))
    arow = acc.get_indexer(own["account_id"])
    urep = pd.Index(pd.unique(pairs["rep_id"]))
    rrow = urep.get_indexer(own["rep_id"])
    ok = rrow >= 0
    col = pd.Series(np.arange(len(months)), index=months - 12)
    tt = tx[np.isin(tx["month"], months - 12) & tx["account_id"].isin(acc)]
    meas = pairs["measure"].to_numpy()
    for m, r in rates.items():
        w = tt["family"].map(dict(r)).fillna(0.0).to_numpy()
        b = np.zeros((len(acc), len(months)))
        np.add.at(
            b,
            (acc.get_indexer(tt["account_id"]), col.reindex(tt["month"]).to_numpy()),
            tt["amount"].to_numpy() * w,
        )
        per_rep = np.zeros((len(urep), len(months)))
        np.add.at(per_rep, rrow[ok], frac[ok] * b[arow[ok]])
        sel = meas == m
        vals = per_rep[urep.get_indexer(pairs["rep_id"].to_numpy()[sel])]
        out[sel] = np.where(known[None, :], vals, np.nan)
    return out


def check_inputs(ds: Dataset) -> None:
    """Quota-specific data checks: negative potential, non-positive FTE (all problems at once)."""
    problems: list[Problem] = []
    acc = ds.accounts
    if "potential" in acc:
        bad = np.flatnonzero(acc["potential"].to_numpy(dtype=float) < 0)
        for i in bad[:50]:
            problems.append(
                Problem(
                    "accounts",
                    "accounts",
                    int(i) + 2,
                    "potential",
                    f"negative potential {acc['potential'].iloc[i]} for account "
                    f"{acc['account_id'].iloc[i]}: potential must be >= 0",
                )
            )
    reps = ds.reps
    if "fte" in reps:
        f = reps["fte"].to_numpy(dtype=float)
        for i in np.flatnonzero(~(f > 0) & ~np.isnan(f))[:50]:
            problems.append(
                Problem("reps", "reps", int(i) + 2, "fte", f"fte must be > 0, got {f[i]}")
            )
    if problems:
        raise SpmDataError(problems)


def _leave_factor(
    leaves: pd.DataFrame | None, rep_ids: np.ndarray, plan_months: np.ndarray
) -> np.ndarray:
    """1 - share of each month on leave (leaves: rep_id, start_date, end_date[, fraction])."""
    out = np.ones((len(rep_ids), len(plan_months)))
    if leaves is None or not len(leaves):
        return out
    need = {"rep_id", "start_date", "end_date"}
    missing = need - set(leaves.columns)
    if missing:
        raise SpmDataError(
            Problem("<leaves>", None, None, ", ".join(sorted(missing)), "missing column(s)")
        )
    lv = leaves.copy()
    lv["start_date"] = pd.to_datetime(lv["start_date"])
    lv["end_date"] = pd.to_datetime(lv["end_date"])
    frac = lv["fraction"].to_numpy(dtype=float) if "fraction" in lv else np.ones(len(lv))
    problems = [
        Problem("<leaves>", None, int(i) + 2, "end_date", "end_date before start_date")
        for i in np.flatnonzero((lv["end_date"] < lv["start_date"]).to_numpy())
    ]
    problems += [
        Problem("<leaves>", None, int(i) + 2, "fraction", "fraction must be in (0, 1]")
        for i in np.flatnonzero(~((frac > 0) & (frac <= 1)))
    ]
    if problems:
        raise SpmDataError(problems)
    share = _active_fraction(lv["start_date"].to_numpy(), lv["end_date"].to_numpy(), plan_months)
    urep = pd.Index(pd.unique(np.asarray(rep_ids)))
    ridx = urep.get_indexer(lv["rep_id"])
    keep = ridx >= 0
    away = np.zeros((len(urep), len(plan_months)))
    np.add.at(away, ridx[keep], share[keep] * frac[keep, None])
    return np.clip(1.0 - away, 0.0, 1.0)[urep.get_indexer(rep_ids)]


def learn_attrition(
    reps: pd.DataFrame,
    months: np.ndarray,
    cutoff: pd.Timestamp,
    exclude_roles: Sequence[str] = (),
) -> float | None:
    """Monthly leaving rate of quota-carrying reps over history ``months``.

    Leavers (reps whose ``end_date`` falls in one of the months, on or before
    the cut-off) divided by the rep-months employed in them (each month a rep
    is employed on any day counts once): the hazard of leaving in a month.
    Nothing after the cut-off is used.

    Parameters
    ----------
    reps : DataFrame
        ``rep_id, role, hire_date, end_date``.
    months : ndarray of int
        History months (months since 1970-01), e.g. the last twelve.
    cutoff : pandas.Timestamp
        Last day of history; later end dates are ignored (not known yet).
    exclude_roles : sequence of str
        Roles without individual quotas (managers).

    Returns
    -------
    float or None
        Leavers per rep-month (fraction); None when no rep was employed in the
        months.

    Examples
    --------
    Ten reps employed all year, one of them leaving in its last month: 1 / 120.
    """
    if not len(months):
        return None
    r = reps[~reps["role"].isin(list(exclude_roles))] if "role" in reps else reps
    hire = pd.to_datetime(r["hire_date"]).to_numpy()
    end = pd.to_datetime(r["end_date"]).to_numpy()
    end = np.where(~np.isnat(end) & (end > cutoff.to_datetime64()), np.datetime64("NaT"), end)
    act = _active_fraction(hire, end, np.asarray(months))
    exposure = float((act > 0).sum())
    if exposure <= 0:
        return None
    em = _month_index(end)
    left = float(np.isin(em, np.asarray(months)).sum())
    return left / exposure


#: Fiscal years after the one holding the end of the data that quotas may be set for.
MAX_YEARS_AHEAD = 2


def data_span(ds: Dataset) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day the data cover (declared in ``meta``, else from the transactions).

    Returns
    -------
    (pandas.Timestamp, pandas.Timestamp)
        Start and end dates (inclusive).
    """
    tx = ds.transactions["date"] if "transactions" in ds and len(ds.transactions) else None
    start = ds.meta.start_date
    if start is None and tx is not None:
        start = pd.Timestamp(tx.min()).date()
    try:
        end: Any = ds.as_of
    except (TypeError, ValueError):
        end = None
    if start is None or end is None:
        raise SpmConfigError("the data have no dates (no start/end date and no transactions)")
    return pd.Timestamp(start), pd.Timestamp(end)


def check_plan_year(
    ds: Dataset,
    year: int,
    *,
    cutoff: str | pd.Timestamp | None = None,
    max_ahead: int = MAX_YEARS_AHEAD,
) -> None:
    """Refuse a plan year with no history before it or too far after the data.

    Parameters
    ----------
    ds : Dataset
        The company.
    year : int
        Fiscal year quotas are set for.
    cutoff : date, optional
        Last day of history (default the day before the year).
    max_ahead : int
        Latest plan year allowed, in fiscal years after the one holding the end
        of the data (default 2: data ending in FY2026 allow FY2028 at most).

    Raises
    ------
    SpmConfigError
        One line naming the data's span and the years that can be set.
    """
    fy = ds.meta.fy_start_month
    start, end = data_span(ds)
    y0 = pd.Timestamp(parse_period(str(int(year)), fy).start)
    cut = pd.Timestamp(cutoff) if cutoff is not None else y0 - pd.Timedelta(days=1)
    first = parse_period(str(start.year + 1), fy).fiscal_year
    while first > 1901 and pd.Timestamp(parse_period(str(first - 1), fy).start) > start:
        first -= 1
    last = parse_period(end.strftime("%Y-%m"), fy).fiscal_year + int(max_ahead)
    span = f"the data run from {start.date()} to {end.date()}, so quotas can be set for FY{first}"
    span += f" to FY{last}"
    if cut < start:
        raise SpmConfigError(
            f"fiscal year {year} has no history before it ({span}; history cut-off {cut.date()})"
        )
    if int(year) > last:
        raise SpmConfigError(
            f"fiscal year {year} is more than {max_ahead} years after the history ({span})"
        )


def build_history(
    ds: Dataset,
    year: int,
    *,
    credits: CreditingResult | None = None,
    cutoff: str | pd.Timestamp | None = None,
    measures: Sequence[str] | None = None,
    measures_by_role: Mapping[str, Sequence[str]] | None = None,
    exclude_roles: Sequence[str] = DEFAULT_EXCLUDED_ROLES,
    ramp: Sequence[float] = DEFAULT_RAMP,
    history_ramp: Sequence[float] = DEFAULT_HISTORY_RAMP,
    growth: float | Mapping[str, float] | None = None,
    leaves: pd.DataFrame | None = None,
) -> QuotaHistory:
    """Build the planning frame for fiscal ``year`` from a dataset.

    Parameters
    ----------
    ds : Dataset
        Canonical tables (reps, accounts, assignments, products, transactions...).
    year : int
        Fiscal year to set quotas for.
    credits : CreditingResult, optional
        The run's crediting result (may hold credit after the cut-off; it is
        cut here); default :func:`spm_model.calc.credit_dataset` of ``ds``.
        History is its quota view, :func:`credited_history`.
    cutoff : date, optional
        Last day of history to learn from; default the day before the plan year.
    measures : sequence of str, optional
        Only these measures.
    measures_by_role : mapping, optional
        Measures each role carries; default from past quotas, else from history.
    exclude_roles : sequence of str
        Roles without individual quotas (default managers).
    ramp : sequence of float
        New-hire quota ramp by quarter of tenure (fractions, last 1.0).
    history_ramp : sequence of float
        Weight of history months by quarter of tenure when annualising history.
    growth : float or mapping, optional
        Annual growth (fraction) for every measure or per measure; default learnt:
        the growth of credit per full-capacity rep-month over the last twelve
        months against a year earlier (hiring does not make each rep sell more).
    leaves : DataFrame, optional
        Planned leaves ``rep_id, start_date, end_date[, fraction]``.

    Returns
    -------
    QuotaHistory

    Raises
    ------
    SpmConfigError
        A year with no history before it (its cut-off before the data start) or
        more than :data:`MAX_YEARS_AHEAD` fiscal years after the end of the data
        (:func:`check_plan_year`).
    """
    if not isinstance(year, int | np.integer) or not 1900 < int(year) < 3000:
        raise SpmConfigError(f"year must be a fiscal year like 2026, got {year!r}")
    ramp = _check_schedule("ramp", ramp)
    history_ramp = _check_schedule("history_ramp", history_ramp)
    check_plan_year(ds, int(year), cutoff=cutoff)
    check_inputs(ds)
    fy = ds.meta.fy_start_month
    span = parse_period(str(int(year)), fy)
    y0 = pd.Timestamp(span.start)
    notes: list[str] = []
    if cutoff is not None:
        cut = pd.Timestamp(cutoff)
    else:
        cut = y0 - pd.Timedelta(days=1)
        try:
            as_of = pd.Timestamp(ds.as_of)
        except (TypeError, ValueError):  # no end date and no transactions
            as_of = pd.NaT
        if pd.notna(as_of) and as_of < cut:
            notes.append(
                f"history cut-off {as_of.date()} (end of the data), "
                f"{(cut - as_of).days} days before fiscal year {year} starts"
            )
            cut = as_of
    cut_m = int(_month_index(pd.Series([cut]))[0])
    if cut.month == (cut + pd.Timedelta(days=1)).month:
        cut_m -= 1  # a cut-off inside a month keeps only the complete months before it
    credit = credited_history(ds, credits)
    credit = credit.assign(month=_month_index(pd.to_datetime(credit["period"] + "-01")))
    credit = credit[credit["month"] <= cut_m]
    reps = ds.reps
    plan_months = np.arange(12, dtype=np.int64) + int(_month_index(pd.Series([y0]))[0])
    mbr = (
        {k: list(v) for k, v in measures_by_role.items()}
        if measures_by_role is not None
        else _measures_by_role(ds, credit, reps, y0)
    )
    # reps employed at some point in the plan year, in quota-carrying roles
    ye = pd.Timestamp(span.end)
    hire = pd.to_datetime(reps["hire_date"])
    endd = pd.to_datetime(reps["end_date"])
    active = (hire.isna() | (hire <= ye)) & (endd.isna() | (endd >= y0))
    pop = reps[active & ~reps["role"].isin(list(exclude_roles))]
    rows = []
    for r in pop.itertuples(index=False):
        for m in mbr.get(str(r.role), []):
            if measures is None or m in measures:
                rows.append((r.rep_id, m))
    if not rows:
        raise SpmDataError(
            Problem(
                "reps",
                "reps",
                None,
                "role",
                f"no quota-carrying reps for fiscal year {year} "
                f"(roles and measures: {mbr}; excluded roles {list(exclude_roles)})",
            )
        )
    pairs = pd.DataFrame(rows, columns=["rep_id", "measure"])
    mrows = [
        (r.rep_id, m)
        for r in reps[active & reps["role"].isin(list(exclude_roles))].itertuples(index=False)
        for m in mbr.get(str(r.role), [])
        if measures is None or m in measures
    ]
    cols0 = [
        c
        for c in ("rep_id", "role", "region", "team", "manager_id", "hire_date", "end_date")
        if c in reps
    ]
    managers = pd.DataFrame(mrows, columns=["rep_id", "measure"]).merge(
        reps[cols0], on="rep_id", how="left"
    )
    cols = [
        "rep_id",
        "role",
        "region",
        "team",
        "manager_id",
        "hire_date",
        "end_date",
        "fte",
        "plan_id",
    ]
    cols = [c for c in cols if c in reps]
    pairs = pairs.merge(reps[cols], on="rep_id", how="left")
    if "fte" not in pairs:
        pairs["fte"] = 1.0
    pairs["fte"] = pairs["fte"].fillna(1.0).astype(float)
    for c in ("region", "team"):
        if c not in pairs:
            pairs[c] = "(all)"
        pairs[c] = pairs[c].fillna("(none)").astype(str)
    n = len(pairs)
    # history matrix
    first_m = int(credit["month"].min()) if len(credit) else cut_m
    hist_months = np.arange(first_m, cut_m + 1, dtype=np.int64)
    key = pd.MultiIndex.from_frame(pairs[["rep_id", "measure"]])
    amounts = np.zeros((n, len(hist_months)))
    if len(credit) and len(hist_months):
        c = credit.set_index(["rep_id", "measure"])
        pos = key.get_indexer(c.index)
        ok = pos >= 0
        np.add.at(
            amounts,
            (pos[ok], (c["month"].to_numpy() - first_m)[ok]),
            c["amount"].to_numpy(dtype=float)[ok],
        )
    act = _active_fraction(pairs["hire_date"].to_numpy(), pairs["end_date"].to_numpy(), hist_months)
    ten_h = hist_months[None, :] - _month_index(pairs["hire_date"])[:, None]
    exposure = act * pairs["fte"].to_numpy()[:, None] * ramp_factor(ten_h, history_ramp)
    last = (hist_months >= plan_months[0] - 12) & (hist_months < plan_months[0])
    lya = amounts[:, last].sum(axis=1) if last.sum() == 12 else None
    raw_amounts = np.where(act > 0, amounts, 0.0)  # for the ramp: every active month
    amounts = np.where(exposure > 0, amounts, 0.0)  # credit while not exposed is dropped
    meas_list = sorted(pairs["measure"].unique())
    season, n1 = _learn_season(credit, meas_list, fy, cut_m)
    if growth is None:
        gr, n2 = _learn_rate_growth(
            amounts, exposure, hist_months, pairs["measure"].to_numpy(), meas_list, cut_m
        )
    elif isinstance(growth, Mapping):
        gr, n2 = {m: float(growth.get(m, 0.0)) for m in meas_list}, []
    else:
        gr, n2 = {m: float(growth) for m in meas_list}, []
    if any(g <= -1 for g in gr.values()):
        raise SpmConfigError(f"growth must be > -1 (a fraction), got {gr}")
    notes += n1 + n2
    # plan year
    act_p = _active_fraction(
        pairs["hire_date"].to_numpy(), pairs["end_date"].to_numpy(), plan_months
    )
    ten_p = plan_months[None, :] - _month_index(pairs["hire_date"])[:, None]
    capacity = (
        act_p
        * ramp_factor(ten_p, ramp)
        * _leave_factor(leaves, pairs["rep_id"].to_numpy(), plan_months)
    )
    leave_f = _leave_factor(leaves, pairs["rep_id"].to_numpy(), plan_months)
    groups = (pairs["role"].astype(str) + "|" + pairs["measure"].astype(str)).to_numpy()
    pos = (hist_months % 12 - (fy - 1)) % 12
    hs = np.ones((n, len(hist_months)))
    for m_, s_ in season.items():
        hs[pairs["measure"].to_numpy() == m_] = np.asarray(s_)[pos]
    learnt, n_ramp = learn_ramp(
        raw_amounts, act * pairs["fte"].to_numpy()[:, None], ten_h, hs, groups, ramp
    )
    productivity = act_p * ramp_factor(ten_p, learnt) * leave_f
    notes.append(
        "productivity by quarter of tenure learnt from "
        f"{n_ramp} ramping rep-months: " + ", ".join(f"{v:.0%}" for v in learnt)
    )
    urep = pairs["rep_id"].unique()
    pot_rep = _owned_potential(ds, urep, plan_months)
    potential = pot_rep[pd.Index(urep).get_indexer(pairs["rep_id"])]
    pot_hist = _owned_potential(ds, urep, hist_months)
    hist_potential = pot_hist[pd.Index(urep).get_indexer(pairs["rep_id"])]
    book = hist_book = None
    rates, tx_b, n_lag = learn_book(ds, cut_m, [m for m in meas_list if m != "meetings"])
    if rates:
        book = _book(ds, tx_b, rates, pairs, plan_months, cut_m)
        hist_book = _book(ds, tx_b, rates, pairs, hist_months, cut_m)
        for m, r in rates.items():
            # weights, not shares: a family that comes with the renewing deals (services
            # attached to platform deals) can stand in for part of them
            notes.append(
                f"{m}: read also from the book due, year-earlier bookings weighted by family "
                f"(learnt over {n_lag} months): "
                + ", ".join(f"{f} {v:.2f}" for f, v in r.items() if v >= 0.005)
            )
    attr = learn_attrition(reps, hist_months[-12:], cut, exclude_roles)
    if attr is not None:
        notes.append(
            f"reps leaving: {attr:.2%} a month over the last {min(12, len(hist_months))} "
            "history months"
        )
    return QuotaHistory(
        year=int(year),
        fy_start_month=fy,
        cutoff=cut,
        pairs=pairs.reset_index(drop=True),
        hist_months=hist_months,
        amounts=amounts,
        exposure=exposure,
        season=season,
        growth=gr,
        plan_months=plan_months,
        potential=potential,
        capacity=capacity,
        employed=act_p,
        managers=managers,
        notes=notes,
        last_year_actual=lya,
        hist_potential=hist_potential,
        productivity=productivity,
        learnt_ramp=learnt,
        book=book,
        hist_book=hist_book,
        book_rates=rates or None,
        attrition=attr,
    )
