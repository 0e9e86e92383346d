"""Quota-setting methods: small estimators with one interface.

Every method is configured in ``__init__`` (parameters validated there, errors
name the parameter), learns in ``fit(history)`` and leaves its result in
attributes ending in ``_``:

* ``basis_``: per (rep, measure) pair of the :class:`QuotaHistory`, the annual
  quota **at full capacity** (one FTE, fully ramped, whole year), in currency
  (counts for ``meetings``); NaN where the method has nothing to go on (no
  history, no potential); :func:`spm_model.quota.set_quotas` then falls back to
  the capacity method (productivity of peers) and reports it.
* ``profile_``: pairs x 12 plan months, the relative level of the territory in
  each month (1.0 = average; potential-based methods follow mid-year moves).

``predict()`` returns the basis as a table. Methods register under a name
(:data:`METHODS`) so configurations (``{"method": "blend", "weights": {...}}``)
and the CLI can name them.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from spm_model.errors import SpmConfigError
from spm_model.quota.history import QuotaHistory
from spm_model.quota.predictive import (
    COLLAPSE_SHARE,
    CORE_WIDTH,
    condition_on_total,
    credit_quantile,
    predictive_params,
)

METHODS: dict[str, type[QuotaMethod]] = {}


def register_method(cls: type[QuotaMethod]) -> type[QuotaMethod]:
    """Class decorator: make a method available by its ``name``."""
    METHODS[cls.name] = cls
    return cls


def make_method(spec: str | Mapping[str, Any] | QuotaMethod, **params: Any) -> QuotaMethod:
    """Build a method from a name (``"blend"``), a mapping ``{"method": name, ...}`` or instance."""
    if isinstance(spec, QuotaMethod):
        return spec
    if isinstance(spec, Mapping):
        params = {**{k: v for k, v in spec.items() if k != "method"}, **params}
        spec = str(spec.get("method", ""))
    cls = METHODS.get(str(spec))
    if cls is None:
        raise SpmConfigError(f"unknown quota method {spec!r}; choose one of {sorted(METHODS)}")
    return cls(**params)


def _growth_factor(
    history: QuotaHistory, months_ahead: float, override: float | None
) -> np.ndarray:
    meas = history.pairs["measure"].to_numpy()
    g = (
        np.full(len(meas), override)
        if override is not None
        else np.array([history.growth.get(m, 0.0) for m in meas])
    )
    return (1.0 + g) ** (months_ahead / 12.0)


def _check_growth(growth: float | None) -> float | None:
    if growth is not None and not (math.isfinite(growth) and growth > -1):
        raise SpmConfigError(f"growth must be a fraction > -1 (0.05 = +5%), got {growth!r}")
    return None if growth is None else float(growth)


class QuotaMethod:
    """Base class: ``fit(history)`` sets ``basis_`` and ``profile_``; ``predict()`` tabulates."""

    name: ClassVar[str] = ""
    basis_: np.ndarray
    profile_: np.ndarray
    history_: QuotaHistory

    def get_params(self) -> dict[str, Any]:
        """Return the configuration as a plain mapping (round-trips through :func:`make_method`)."""
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def fit(self, history: QuotaHistory) -> QuotaMethod:
        """Learn from ``history``; returns ``self``."""
        self.history_ = history
        b = np.asarray(self._basis(history), dtype=float)
        self.basis_ = np.where(np.isfinite(b), np.maximum(b, 0.0), np.nan)  # net credit can be < 0
        if not hasattr(self, "profile_") or self.profile_.shape != (history.n_pairs, 12):
            self.profile_ = np.ones((history.n_pairs, 12))
        return self

    def _basis(self, history: QuotaHistory) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict(self) -> pd.DataFrame:
        """Return the fitted annual basis per (rep, measure), full capacity, currency per year."""
        if not hasattr(self, "basis_"):
            raise SpmConfigError(f"{type(self).__name__} is not fitted: call fit(history) first")
        p = self.history_.pairs
        return pd.DataFrame(
            {
                "rep_id": p["rep_id"].to_numpy(),
                "measure": p["measure"].to_numpy(),
                "basis": self.basis_,
                "has_basis": np.isfinite(self.basis_),
            }
        )


@register_method
class HistoricalGrowth(QuotaMethod):
    """Last fiscal year (or trailing twelve months) x (1 + growth).

    Parameters
    ----------
    basis : {"last_year", "ttm"}
        ``last_year``: the fiscal year before the plan year; ``ttm``: the twelve
        months up to the history cut-off (the same when the cut-off is year end).
    growth : float, optional
        Annual growth as a fraction (0.08 = +8%); default the learnt growth.
    min_exposure : float
        Season-weighted months of history a rep needs (else no basis).
    """

    name: ClassVar[str] = "history"

    def __init__(
        self, basis: str = "last_year", growth: float | None = None, min_exposure: float = 3.0
    ):
        if basis not in ("last_year", "ttm"):
            raise SpmConfigError(f"basis must be 'last_year' or 'ttm', got {basis!r}")
        if not min_exposure > 0:
            raise SpmConfigError(f"min_exposure must be > 0 months, got {min_exposure!r}")
        self.basis = basis
        self.growth = _check_growth(growth)
        self.min_exposure = float(min_exposure)

    def _basis(self, history: QuotaHistory) -> np.ndarray:
        if self.basis == "last_year":
            end = history.plan_months[0] - 1
            idx = np.flatnonzero((history.hist_months > end - 12) & (history.hist_months <= end))
            h = history
            if len(idx) and idx[-1] != len(h.hist_months) - 1:
                trimmed = QuotaHistory(
                    **{
                        **vars(h),
                        "amounts": h.amounts[:, : idx[-1] + 1],
                        "exposure": h.exposure[:, : idx[-1] + 1],
                        "hist_months": h.hist_months[: idx[-1] + 1],
                        "hist_potential": None
                        if h.hist_potential is None
                        else h.hist_potential[:, : idx[-1] + 1],
                    }
                )
                h = trimmed
            ahead = (
                12.0 + (history.plan_months[0] - 1 - h.hist_months[-1])
                if len(h.hist_months)
                else 12.0
            )
            return h.annualised(12, self.min_exposure) * _growth_factor(history, ahead, self.growth)
        ahead = 6.0 + 6.0 + (history.plan_months[0] - 1 - history.hist_months[-1])
        return history.annualised(12, self.min_exposure) * _growth_factor(
            history, ahead, self.growth
        )


@register_method
class RunRate(QuotaMethod):
    """Recent months annualised (seasonally adjusted), grown to the plan year.

    Parameters
    ----------
    months : int
        History months in the run rate (3, 6...).
    growth : float, optional
        Annual growth as a fraction; default the learnt growth. Applied from the
        middle of the run-rate window to the middle of the plan year.
    min_exposure : float
        Season-weighted months a rep needs (else no basis).
    """

    name: ClassVar[str] = "run_rate"

    def __init__(self, months: int = 6, growth: float | None = None, min_exposure: float = 2.0):
        if not (isinstance(months, int | np.integer) and 1 <= months <= 24):
            raise SpmConfigError(f"months must be an integer in 1..24, got {months!r}")
        if not min_exposure > 0:
            raise SpmConfigError(f"min_exposure must be > 0 months, got {min_exposure!r}")
        self.months = int(months)
        self.growth = _check_growth(growth)
        self.min_exposure = float(min(min_exposure, months))

    def _basis(self, history: QuotaHistory) -> np.ndarray:
        gap = (
            history.plan_months[0] - 1 - history.hist_months[-1] if len(history.hist_months) else 0
        )
        ahead = self.months / 2 + 6 + gap
        return history.annualised(self.months, self.min_exposure) * _growth_factor(
            history, ahead, self.growth
        )


def _peer_ratio(
    num: np.ndarray, den: np.ndarray, groups: np.ndarray, fallback: np.ndarray, min_peers: int
) -> np.ndarray:
    """Ratio sum(num)/sum(den) per group over finite rows, else per fallback group."""
    ok = np.isfinite(num) & np.isfinite(den) & (den > 0)
    out = np.full(len(num), np.nan)
    for keys in (fallback, groups):  # coarse first, refined where enough peers
        df = pd.DataFrame({"k": keys[ok], "n": num[ok], "d": den[ok]})
        agg = df.groupby("k").agg(n=("n", "sum"), d=("d", "sum"), c=("n", "size"))
        agg = agg[(agg["c"] >= (1 if keys is fallback else min_peers)) & (agg["d"] > 0)]
        r = (agg["n"] / agg["d"]).reindex(keys).to_numpy()
        out = np.where(np.isfinite(r), r, out)
    return out


@register_method
class PotentialBased(QuotaMethod):
    """Share of account potential: territory potential x the peers' conversion rate.

    The conversion rate (credit per unit of potential) is learnt per role and
    measure from reps with history (``sum credit / sum potential``; the measure's
    pool when a role has fewer than ``min_peers``). Territory potential is the
    average potential the rep owns while employed in the plan year, so mid-year
    territory moves prorate; ``profile_`` follows the monthly potential.

    Parameters
    ----------
    growth : float, optional
        Annual growth (fraction); default the learnt growth.
    min_peers : int
        Reps with history a role needs for its own conversion rate.
    """

    name: ClassVar[str] = "potential"

    def __init__(self, growth: float | None = None, min_peers: int = 3):
        if not (isinstance(min_peers, int | np.integer) and min_peers >= 1):
            raise SpmConfigError(f"min_peers must be an integer >= 1, got {min_peers!r}")
        self.growth = _check_growth(growth)
        self.min_peers = int(min_peers)

    def _basis(self, history: QuotaHistory) -> np.ndarray:
        act = np.where(history.capacity > 0, 1.0, 0.0)
        act = np.where(act.sum(axis=1, keepdims=True) > 0, act, 1.0)
        pot = (history.potential * act).sum(axis=1) / act.sum(axis=1)
        hist = history.annualised(12, 3.0)
        p = history.pairs
        groups = (p["role"].astype(str) + "|" + p["measure"]).to_numpy()
        conv = _peer_ratio(hist, pot, groups, p["measure"].to_numpy(), self.min_peers)
        basis = np.where(pot > 0, conv * pot, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            prof = np.where(pot[:, None] > 0, history.potential / pot[:, None], 1.0)
        self.profile_ = np.where(act > 0, prof, 1.0)
        self.conversion_ = conv
        return basis * _growth_factor(history, 12.0, self.growth)


@register_method
class CapacityBased(QuotaMethod):
    """Productivity per FTE by role and tenure band, from peers with history.

    Productivity is the median full-capacity annual rate of peers in the same
    role, measure and tenure band (years of tenure at the middle of the plan
    year, bands split at ``tenure_bands`` months); with fewer than ``min_peers``
    the role and measure, then the measure. FTE and the new-hire ramp apply
    afterwards (the quota frame's capacity), so this is the method used for reps
    without history.

    Parameters
    ----------
    tenure_bands : tuple of int
        Band edges in months of tenure (e.g. ``(12, 36)``: <1 y, 1-3 y, 3 y+).
    growth : float, optional
        Annual growth (fraction); default the learnt growth.
    min_peers : int
        Peers a band needs.
    """

    name: ClassVar[str] = "capacity"

    def __init__(
        self,
        tenure_bands: tuple[int, ...] = (12, 36),
        growth: float | None = None,
        min_peers: int = 3,
    ):
        tb = tuple(int(x) for x in tenure_bands)
        if any(b <= a for a, b in itertools.pairwise(tb)) or any(x <= 0 for x in tb):
            raise SpmConfigError(
                f"tenure_bands must be increasing positive months, got {tenure_bands!r}"
            )
        if not (isinstance(min_peers, int | np.integer) and min_peers >= 1):
            raise SpmConfigError(f"min_peers must be an integer >= 1, got {min_peers!r}")
        self.tenure_bands = tb
        self.growth = _check_growth(growth)
        self.min_peers = int(min_peers)

    def _basis(self, history: QuotaHistory) -> np.ndarray:
        p = history.pairs
        rate = history.annualised(12, 3.0)
        ten = history.tenure_months() + 6
        band = np.searchsorted(np.asarray(self.tenure_bands), ten, side="right")
        meas = p["measure"].to_numpy()
        rm = (p["role"].astype(str) + "|" + p["measure"]).to_numpy()
        rmb = rm + "|" + band.astype(str)
        out = np.full(len(p), np.nan)
        ok = np.isfinite(rate)
        for keys, need in ((meas, 1), (rm, self.min_peers), (rmb, self.min_peers)):
            s = pd.Series(rate[ok]).groupby(keys[ok])
            med = s.median()[s.size() >= need]
            r = med.reindex(keys).to_numpy()
            out = np.where(np.isfinite(r), r, out)
        self.productivity_ = out
        return out * _growth_factor(history, 12.0, self.growth)


@register_method
class Blended(QuotaMethod):
    """Weighted average of other methods' bases (weights sum to 1).

    Where a component has no basis for a pair (e.g. no history), the remaining
    weights are renormalised for that pair and the pair is listed in ``notes_``.

    Parameters
    ----------
    weights : mapping str -> float
        Method name -> weight (fractions summing to 1), e.g.
        ``{"history": 0.5, "potential": 0.5}``.
    params : mapping str -> mapping, optional
        Parameters of each component method.
    """

    name: ClassVar[str] = "blend"

    def __init__(
        self,
        weights: Mapping[str, float] | None = None,
        params: Mapping[str, Mapping[str, Any]] | None = None,
    ):
        w = dict(weights) if weights is not None else {"history": 0.5, "potential": 0.5}
        bad = [k for k in w if k not in METHODS or k in ("blend", "probabilistic")]
        if bad:
            raise SpmConfigError(
                f"blend weights name unknown or nested methods {bad}; "
                f"use {sorted(k for k in METHODS if k not in ('blend', 'probabilistic'))}"
            )
        if any(
            not (isinstance(v, int | float) and math.isfinite(v) and v >= 0) for v in w.values()
        ):
            raise SpmConfigError(f"blend weights must be non-negative numbers, got {w}")
        if not w or abs(sum(w.values()) - 1.0) > 1e-9:
            raise SpmConfigError(
                f"blend weights must sum to 1, got {w} (sum {sum(w.values()):.6g})"
            )
        self.weights = {k: float(v) for k, v in w.items()}
        self.params = {k: dict(v) for k, v in (params or {}).items()}
        unknown = set(self.params) - set(self.weights)
        if unknown:
            raise SpmConfigError(
                f"blend params given for methods without weight: {sorted(unknown)}"
            )
        self.components_ = {k: make_method(k, **self.params.get(k, {})) for k in self.weights}

    def get_params(self) -> dict[str, Any]:
        """Return the configuration as a plain mapping."""
        return {"weights": dict(self.weights), "params": dict(self.params)}

    def _basis(self, history: QuotaHistory) -> np.ndarray:
        num = np.zeros(history.n_pairs)
        den = np.zeros(history.n_pairs)
        prof = np.zeros((history.n_pairs, 12))
        for k, w in self.weights.items():
            if w == 0:
                continue
            m = self.components_[k].fit(history)
            b = m.basis_
            ok = np.isfinite(b)
            num += np.where(ok, w * b, 0.0)
            den += np.where(ok, w, 0.0)
            prof += np.where(ok[:, None], w * m.profile_, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(den > 0, num / den, np.nan)
            self.profile_ = np.where(den[:, None] > 0, prof / den[:, None], 1.0)
        partial = (den > 0) & (den < 1 - 1e-9)
        p = history.pairs
        self.notes_ = [
            f"{r} {m}: blended from {den_i:.0%} of the weights (other components had no basis)"
            for r, m, den_i in zip(
                p["rep_id"][partial], p["measure"][partial], den[partial], strict=True
            )
        ]
        return out


@register_method
class Probabilistic(QuotaMethod):
    """Quota at the level each rep reaches with probability ``aim``.

    With a predictive distribution of next year's performance per pair, the
    quota is its ``1 - aim`` quantile, so every rep has the same chance ``aim`` of
    reaching quota and the expected share of reps at quota is ``aim``.

    Parameters
    ----------
    aim : float
        Probability of attainment (fraction, 0.65 = 65% of reps at quota).
    draws : ndarray or DataFrame, optional
        Predictive draws of next year's full-capacity amount: pairs x draws in the
        history's pair order, or a DataFrame with ``rep_id, measure`` and one
        column per draw (e.g. from the forecast module). Default: the history-
        based lognormal with shrinkage (:mod:`spm_model.quota.predictive`,
        analytic quantiles).
    drift : float, optional
        Year-to-year variance of a rep's true rate (log scale) for the default
        predictive distribution; default None: the persistence of a rep's lead over
        peers is estimated from the history (:func:`~spm_model.quota.predictive.
        predictive_params`).

    given_target : bool
        With a company target (default True): state the chance *if the reps sell
        the target* (:func:`~spm_model.quota.predictive.condition_on_total`): the
        predictive distributions are moved together so that what the reps are
        expected to sell, with the ramp the history shows and the share of reps
        the history shows leaving each month (:attr:`QuotaHistory.attrition`), is
        the target; the chance then refers to reps who stay the whole year.
        False: the history's own forecast of the year (learnt growth included).
        Not used with ``draws``.
    collapse_share, core_width : float
        Shape of a year of credit given the target
        (:func:`~spm_model.quota.predictive.condition_on_total`): the chance that
        a rep's year collapses to a fraction of its core (fraction; default
        :data:`~spm_model.quota.predictive.COLLAPSE_SHARE`, 0.04) and the core's
        spread of ``log A`` as a fraction of the predictive one (default
        :data:`~spm_model.quota.predictive.CORE_WIDTH`, 0.9). ``0`` and ``1``:
        the plain gamma.

    With a company target, :func:`~spm_model.quota.set_quotas` replaces ``aim``
    by the common chance at which the quotas sum to the target (plus
    over-assignment) and reports it (``QuotaResult.chance``): equal-chance quotas.
    A ramping rep's quota follows what the history shows new hires sell by quarter
    of tenure (:attr:`QuotaHistory.productivity`), not the quota ramp policy, so
    the chance is the same for them too; the rest of their seat stays with the
    vacancy line.
    """

    name: ClassVar[str] = "probabilistic"

    def __init__(
        self,
        aim: float = 0.65,
        draws: np.ndarray | pd.DataFrame | None = None,
        drift: float | None = None,
        given_target: bool = True,
        collapse_share: float = COLLAPSE_SHARE,
        core_width: float = CORE_WIDTH,
    ):
        if not (isinstance(aim, int | float) and 0.0 < aim < 1.0):
            raise SpmConfigError(f"aim must be a probability strictly between 0 and 1, got {aim!r}")
        if drift is not None and not drift >= 0:
            raise SpmConfigError(f"drift must be >= 0 or None (estimated), got {drift!r}")
        if not (isinstance(collapse_share, int | float) and 0.0 <= collapse_share < 1.0):
            raise SpmConfigError(f"collapse_share must be in [0, 1), got {collapse_share!r}")
        if not (isinstance(core_width, int | float) and 0.0 < core_width <= 1.0):
            raise SpmConfigError(f"core_width must be in (0, 1], got {core_width!r}")
        self.aim = float(aim)
        self.draws = draws
        self.drift = None if drift is None else float(drift)
        self.given_target = bool(given_target)
        self.collapse_share = float(collapse_share)
        self.core_width = float(core_width)

    def get_params(self) -> dict[str, Any]:
        """Return the configuration (draws summarised by shape)."""
        d = None if self.draws is None else f"<{np.shape(self.draws)} draws>"
        return {
            "aim": self.aim,
            "draws": d,
            "drift": self.drift,
            "given_target": self.given_target,
            "collapse_share": self.collapse_share,
            "core_width": self.core_width,
        }

    def _aligned_draws(self, history: QuotaHistory) -> np.ndarray | None:
        d = self.draws
        if d is None:
            return None
        if isinstance(d, pd.DataFrame):
            if not {"rep_id", "measure"} <= set(d.columns):
                raise SpmConfigError("draws DataFrame needs rep_id and measure columns")
            vals = d.drop(columns=["rep_id", "measure"]).to_numpy(dtype=float)
            key = pd.MultiIndex.from_frame(d[["rep_id", "measure"]].astype(str))
            pos = key.get_indexer(pd.MultiIndex.from_frame(history.pairs[["rep_id", "measure"]]))
            out = np.full((history.n_pairs, vals.shape[1]), np.nan)
            out[pos >= 0] = vals[pos[pos >= 0]]
            return out
        arr = np.asarray(d, dtype=float)
        if arr.ndim != 2 or arr.shape[0] != history.n_pairs:
            raise SpmConfigError(
                f"draws must be pairs x draws ({history.n_pairs} rows in the history's pair "
                f"order), got shape {arr.shape}"
            )
        return arr

    def _basis(self, history: QuotaHistory) -> np.ndarray:
        d = self._aligned_draws(history)
        self.draws_ = d
        if d is None:
            self.predictive_ = (
                predictive_params(history)
                if self.drift is None
                else predictive_params(history, drift=self.drift)
            )
        return self.basis_at(self.aim)

    def basis_at(self, chance: float) -> np.ndarray:
        """Full-capacity annual basis per pair that each rep reaches with probability ``chance``.

        Parameters
        ----------
        chance : float
            Probability of attainment (fraction in (0, 1)).

        Returns
        -------
        ndarray
            Currency per year (counts for ``meetings``); NaN where the pair has no
            predictive distribution. Needs :meth:`fit` first.
        """
        if not 0.0 < chance < 1.0:
            raise SpmConfigError(f"chance must be strictly between 0 and 1, got {chance!r}")
        d = getattr(self, "draws_", None)
        if d is not None:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                q = np.nanquantile(d, 1.0 - chance, axis=1)
            return np.where(np.isfinite(d).any(axis=1), q, np.nan)
        p = self.predictive_
        z = stats.norm.ppf(1.0 - chance)
        out = np.exp(p["mean_log"].to_numpy() + z * p["sd_log"].to_numpy())
        if "shape" in p:
            k = p["shape"].to_numpy(dtype=float)
            g = np.isfinite(k)
            if g.any():
                pi = p["collapse"].to_numpy(dtype=float)[g] if "collapse" in p else 0.0
                b = p["collapse_max"].to_numpy(dtype=float)[g] if "collapse_max" in p else 1.0
                out[g] = credit_quantile(
                    chance, p["mean_log"].to_numpy()[g], k[g], np.nan_to_num(pi), b
                )
        return out

    def condition_on_target(self, rows: np.ndarray, total: float, scale: np.ndarray) -> float:
        """Read the predictive distributions of ``rows`` given that they sell ``total``.

        Parameters
        ----------
        rows : ndarray of bool
            Pairs of one measure with a predictive distribution.
        total : float
            What they are to sell in the plan year (currency; the target less
            what pairs without a distribution are expected to sell).
        scale : ndarray
            Expected share of a full-capacity year each pair sells (FTE x
            productivity x chance of staying, fraction).

        Returns
        -------
        float
            The common shift on the log scale
            (:func:`~spm_model.quota.predictive.condition_on_total`); 0.0 with
            draws or ``given_target=False`` (nothing changed).
        """
        if not self.given_target or getattr(self, "draws_", None) is not None:
            return 0.0
        self.predictive_, shift = condition_on_total(
            self.predictive_,
            rows,
            total,
            scale,
            collapse_share=self.collapse_share,
            core_width=self.core_width,
        )
        return shift
