"""The scenario model: who is simulated, on which quotas, with which distributions.

A :class:`ScenarioModel` holds plain numpy arrays indexed by rep ``r``, measure
``m`` and period ``t`` (the simulation horizon, one plan measurement period
each). Builders in :mod:`spm_model.simulate.build` fill it from a dataset and
history, from user-specified distributions, or from posterior-predictive draws;
:mod:`spm_model.simulate.engine` turns it into random scenarios.

Generative model for one scenario ``s`` (attainment as a fraction of quota,
1.0 = 100%)::

    z[s,r,m,t]  = a_c * C[s,t] + a_g * G[s,group(r),t] + a_r * E[s,r] + a_e * eps[s,r,m,t]
    x[s,r,m,t]  = F_rm^-1(Phi(z))                  (marginal of rep r, measure m)
    credited    = basis[r,m,t] * season[m,t] * ramp[r,t] * x  (+ large deals), to the cent

where ``basis`` is the quota unless ``sales_basis`` is set (the level the
attainment history was measured against, when the quotas paid on differ);
payouts always read ``credited / quota``.

with ``a_c**2 + a_g**2 + a_r**2 + a_e**2 = 1`` so ``z`` is standard normal: a
Gaussian copula whose correlation between two reps of the same group in the same
period is ``rho_company + rho_group`` (company only across groups), and between
periods of one rep ``rho_rep``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spm_model.errors import SpmConfigError

#: Marginal families (codes stored in :attr:`Marginals.family`).
FAMILIES = ("lognormal", "normal", "gamma", "empirical")
FAMILY_CODE = {name: i for i, name in enumerate(FAMILIES)}
#: Number of points of an empirical quantile table.
TABLE_POINTS = 201


@dataclass
class Marginals:
    """Per-rep, per-measure marginal distributions of attainment (fraction of quota).

    Parameters
    ----------
    family : ndarray of int, shape (R, M)
        Index into :data:`FAMILIES`.
    mean, sd : ndarray, shape (R, M)
        Mean and standard deviation of attainment (of the positive part when
        ``p_zero > 0``).
    p_zero : ndarray, shape (R, M)
        Probability of a period with nothing credited (hurdle).
    table : ndarray, shape (R, M, TABLE_POINTS), optional
        Quantiles of attainment at ``linspace(0, 1, TABLE_POINTS)`` for the
        ``empirical`` family (a smoothed bootstrap of history).
    """

    family: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    p_zero: np.ndarray
    table: np.ndarray | None = None

    def scaled(self, mean_scale: float = 1.0, sd_scale: float = 1.0) -> Marginals:
        """Copy with means and standard deviations multiplied (empirical tables too)."""
        table = None
        if self.table is not None:
            centre = self.table.mean(axis=-1, keepdims=True)
            table = (centre + (self.table - centre) * sd_scale) * mean_scale
        return Marginals(
            self.family.copy(),
            self.mean * mean_scale,
            self.sd * sd_scale * mean_scale,
            self.p_zero.copy(),
            table,
        )


@dataclass
class LargeDeals:
    """Large-deal lumpiness: occasional deals added on top of the regular flow.

    Parameters
    ----------
    prob : ndarray, shape (M,)
        Probability per rep and period of one large deal, by measure.
    size_mean, size_sd : ndarray, shape (M,)
        Deal size as a fraction of the period quota (lognormal).
    """

    prob: np.ndarray
    size_mean: np.ndarray
    size_sd: np.ndarray


@dataclass
class ScenarioModel:
    """Everything needed to draw credited performance scenarios.

    Parameters
    ----------
    rep_ids : ndarray of str, shape (R,)
        Seats simulated (reps; a backfill takes over the seat of a leaver).
    group : ndarray of int, shape (R,)
        Group (region or team) code of every rep, for the group factor.
    group_names : list of str
        Names of the group codes.
    measures : list of str
        Plan measure names, in order (M).
    periods : list of str
        Horizon period labels (P), one measurement period each.
    freq : str
        ``"month"``, ``"quarter"`` or ``"year"``.
    quota : ndarray, shape (R, M, P)
        Quota per rep, measure and period (currency).
    ote : ndarray, shape (R,)
        Annual on-target earnings (currency); with a plan's pay mix it gives the
        target incentive. NaN uses the plan's own.
    hire_period : ndarray of int, shape (R,)
        Period index of the hire relative to the horizon start (negative: before).
    marginals : Marginals
        Attainment distributions.
    season : ndarray, shape (M, P)
        Multiplier on attainment by period (1 = none).
    ramp : tuple of float
        Productivity of a new hire by tenure period (0-based), 1.0 after.
    ramp_existing : bool
        Apply ``ramp`` to reps hired during or just before the horizon (off
        when their quotas are already ramped, as in most data).
    rho_company, rho_group, rho_rep : float
        Copula correlation shares (see the module docstring); sum below 1.
    attrition : float
        Annual probability that a rep leaves (0 = none).
    vacancy_periods : int
        Periods a seat stays empty after its rep leaves, before the backfill starts.
    backfill_quota : str
        ``"ramped"``: a backfill's quota follows ``ramp`` (as new hires' quotas
        in most data); ``"full"``: the seat's full quota.
    large_deals : LargeDeals, optional
        Lumpiness on top of the marginals.
    draws : ndarray, shape (D, R, M, P), optional
        Posterior-predictive draws of credited amounts (currency). When set,
        scenario ``s`` uses draw ``s % D`` instead of the copula and marginals;
        attrition still applies.
    departure : ndarray of int, shape (R,), optional
        Known departure period of each rep (``end_date`` in the data; >= P: none).
        The rep keeps half of that period's credit and forfeits its payouts from
        that pay period on; no modelled backfill (the data's new hires are).
    source : str
        How the model was built (shown in summaries).
    sales_basis : ndarray, shape (R, M, P), optional
        Level the attainment marginals are measured against (currency or
        units): credited amounts are ``sales_basis x season x ramp x x`` while
        payouts and attainment read them against ``quota``. Default (None): the
        quota itself, i.e. sales move with quota. :func:`from_dataset` sets it
        when simulating at quotas other than those the history was measured
        on (a proposal): each rep keeps the sales the history implies, so a
        higher quota lowers attainment instead of raising sales.
    """

    rep_ids: np.ndarray
    group: np.ndarray
    group_names: list[str]
    measures: list[str]
    periods: list[str]
    freq: str
    quota: np.ndarray
    ote: np.ndarray
    hire_period: np.ndarray
    marginals: Marginals
    season: np.ndarray
    ramp: tuple[float, ...] = (0.25, 0.5, 0.75)
    ramp_existing: bool = False
    rho_company: float = 0.0
    rho_group: float = 0.0
    rho_rep: float = 0.0
    attrition: float = 0.0
    vacancy_periods: int = 1
    backfill_quota: str = "ramped"
    large_deals: LargeDeals | None = None
    draws: np.ndarray | None = None
    departure: np.ndarray | None = None
    source: str = "user"
    info: dict[str, Any] = field(default_factory=dict)
    sales_basis: np.ndarray | None = None

    # -- shapes ------------------------------------------------------------------------
    @property
    def n_reps(self) -> int:
        """Number of seats R."""
        return int(self.rep_ids.shape[0])

    @property
    def n_measures(self) -> int:
        """Number of measures M."""
        return len(self.measures)

    @property
    def n_periods(self) -> int:
        """Number of horizon periods P."""
        return len(self.periods)

    def validate(self) -> ScenarioModel:
        """Check shapes and parameter ranges; raise :class:`SpmConfigError` listing all problems."""
        r, m, p = self.n_reps, self.n_measures, self.n_periods
        probs: list[str] = []

        def shape(name: str, arr: np.ndarray | None, want: tuple[int, ...]) -> None:
            if arr is not None and tuple(arr.shape) != want:
                probs.append(f"{name}: shape {tuple(arr.shape)}, expected {want}")

        shape("group", self.group, (r,))
        shape("quota", self.quota, (r, m, p))
        shape("sales_basis", self.sales_basis, (r, m, p))
        shape("ote", self.ote, (r,))
        shape("hire_period", self.hire_period, (r,))
        shape("departure", self.departure, (r,))
        shape("season", self.season, (m, p))
        for f in ("family", "mean", "sd", "p_zero"):
            shape(f"marginals.{f}", getattr(self.marginals, f), (r, m))
        if self.marginals.table is not None:
            shape("marginals.table", self.marginals.table, (r, m, TABLE_POINTS))
        if self.draws is not None and (self.draws.ndim != 4 or self.draws.shape[1:] != (r, m, p)):
            probs.append(f"draws: shape {self.draws.shape}, expected (D, {r}, {m}, {p})")
        for name in ("rho_company", "rho_group", "rho_rep"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                probs.append(f"{name}: {v} is not in [0, 1)")
        if self.rho_company + self.rho_group + self.rho_rep >= 1.0:
            probs.append("rho_company + rho_group + rho_rep must stay below 1")
        if not 0.0 <= self.attrition < 1.0:
            probs.append(f"attrition: {self.attrition} is not an annual probability in [0, 1)")
        if self.vacancy_periods < 0:
            probs.append("vacancy_periods must be >= 0")
        if self.backfill_quota not in ("ramped", "full"):
            probs.append(f"backfill_quota: {self.backfill_quota!r} (use 'ramped' or 'full')")
        if any(not 0.0 <= x for x in self.ramp):
            probs.append("ramp: productivity fractions must be >= 0")
        mg = self.marginals
        if mg.family.size and (mg.family.min() < 0 or mg.family.max() >= len(FAMILIES)):
            probs.append("marginals.family: unknown family code")
        if np.any(mg.sd < 0) or not np.all(np.isfinite(mg.mean)):
            probs.append("marginals: standard deviations must be >= 0 and means finite")
        pos = np.isin(mg.family, [FAMILY_CODE["lognormal"], FAMILY_CODE["gamma"]])
        if np.any(pos & (mg.mean <= 0)):
            bad = [
                f"{self.rep_ids[i]}/{self.measures[j]}"
                for i, j in zip(*np.nonzero(pos & (mg.mean <= 0)), strict=True)
            ]
            probs.append(f"lognormal/gamma marginals need a mean > 0: {', '.join(bad[:10])}")
        if np.any((mg.p_zero < 0) | (mg.p_zero >= 1)):
            probs.append("marginals.p_zero must be in [0, 1)")
        if np.any(mg.family == FAMILY_CODE["empirical"]) and mg.table is None:
            probs.append("empirical marginals need a quantile table")
        if not np.all(np.isfinite(self.quota)) or np.any(self.quota < 0):
            probs.append("quota: values must be finite and >= 0")
        b = self.sales_basis
        if b is not None and (not np.all(np.isfinite(b)) or np.any(b < 0)):
            probs.append("sales_basis: values must be finite and >= 0")
        if probs:
            raise SpmConfigError("invalid scenario model:\n  - " + "\n  - ".join(probs))
        return self

    def replace(self, **changes: Any) -> ScenarioModel:
        """Copy with fields replaced (validated)."""
        return dataclasses.replace(self, **changes).validate()

    def with_assumptions(
        self,
        *,
        mean_scale: float = 1.0,
        sd_scale: float = 1.0,
        rho_company: float | None = None,
        rho_group: float | None = None,
        attrition: float | None = None,
    ) -> ScenarioModel:
        """Copy with assumptions shifted (used by sensitivity analysis).

        Parameters
        ----------
        mean_scale, sd_scale : float
            Multiply mean attainment / its volatility (coefficient of variation).
        rho_company, rho_group : float, optional
            New copula correlation shares.
        attrition : float, optional
            New annual attrition probability.
        """
        changes: dict[str, Any] = {"marginals": self.marginals.scaled(mean_scale, sd_scale)}
        if self.draws is not None and mean_scale != 1.0:
            changes["draws"] = self.draws * mean_scale
        if rho_company is not None:
            changes["rho_company"] = rho_company
        if rho_group is not None:
            changes["rho_group"] = rho_group
        if attrition is not None:
            changes["attrition"] = attrition
        return self.replace(**changes)

    @property
    def basis(self) -> np.ndarray:
        """Level credit is drawn against, shape (R, M, P): ``sales_basis`` or the quota."""
        return self.quota if self.sales_basis is None else self.sales_basis

    def ramp_factor(self) -> np.ndarray:
        """Productivity multiplier per rep and period, shape (R, P) (1 = fully ramped)."""
        out = np.ones((self.n_reps, self.n_periods))
        if not self.ramp_existing or not self.ramp:
            return out
        tenure = np.arange(self.n_periods)[None, :] - self.hire_period[:, None]
        ramp = np.asarray(self.ramp, dtype=np.float64)
        inside = (tenure >= 0) & (tenure < len(ramp))
        out[inside] = ramp[tenure[inside]]
        out[tenure < 0] = 0.0
        return out

    def __repr__(self) -> str:
        fam = (
            ", ".join(sorted({FAMILIES[c] for c in np.unique(self.marginals.family)}))
            if self.draws is None
            else f"{self.draws.shape[0]} posterior draws"
        )
        return (
            f"ScenarioModel({self.n_reps} reps x {self.n_measures} measures "
            f"({', '.join(self.measures)}) x {self.n_periods} {self.freq}s "
            f"{self.periods[0]}..{self.periods[-1]}; "
            f"{fam}; rho company {self.rho_company:.2f}, group {self.rho_group:.2f}, "
            f"rep {self.rho_rep:.2f}; attrition {self.attrition:.0%}/yr; source {self.source}"
            + ("" if self.sales_basis is None else "; sales drawn against the earlier quotas")
            + ")"
        )
