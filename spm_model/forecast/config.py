"""Settings of the Bayesian bookings forecaster, in one validated object."""

from __future__ import annotations

import importlib.util
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Sampler = Literal["auto", "nutpie", "pymc", "advi"]
Likelihood = Literal["auto", "gamma", "generalized_gamma", "student_t", "normal"]

#: ``model="auto"`` picks the state-space model for histories at least this long (months from
#: the panel's first month to the cut-off) of panels of up to
#: :data:`AUTO_SHORT_STATE_SPACE_MAX_SERIES` series; shorter ones get the regression model.
#: Dense real panels with 3-4 years of history (2026-12-07; scaled CRPS, 6 months ahead; state
#: space against regression): Texas number of sales from 2010-07, cut-offs 2013-07, 2014-01,
#: 2014-04 (37-46 months), 0.0774 against 0.0823 (ETS 0.0860), total WAPE 3.8% against 7.3%
#: (ETS 5.6%); Norway's new cars by make at 2010-01 and 2010-07 (37 and 43 months), 0.2006 and
#: 0.1710 against 0.2778 and 0.2197 (ETS 0.2210, 0.1944), WAPE 7.7% and 4.7% against 21.6% and
#: 16.0%. From 24-30 months the state-space fits mixed worse (R-hat 1.03-1.04 before refits).
AUTO_STATE_SPACE_MONTHS = 36
#: ... panels of more series need this many months: the state-space fit of 500 simulated series
#: x 36 months took 135 s and failed its checks (R-hat 1.02, min bulk ESS 124), where the
#: regression model takes about 90 s; 200 x 36 passed (R-hat 1.01, min bulk ESS 500).
AUTO_STATE_SPACE_MONTHS_MANY_SERIES = 48
#: Most series for which :data:`AUTO_STATE_SPACE_MONTHS` applies.
AUTO_SHORT_STATE_SPACE_MAX_SERIES = 200

#: ``drift="auto"`` gives each series its own long-run drift when the panel has at most this
#: many series (and at least two): a few product lines growing and shrinking at their own
#: rates are the common case there, and one drift pooled over a handful of different series
#: is what hurt the wine panel (user guide, "each series' own drift": 3.8% better than ETS
#: against 1.6% with the shared drift; meat level; on panels of 46 series it changed nothing).
AUTO_DRIFT_PER_SERIES_MAX = 12
#: ``level_regime="auto"`` gives the level noise a regime walk of its own (rather than the
#: observation noise's) when the panel has at least this many series and its data show noise
#: regimes (the regime walk's data weight, :func:`spm_model.forecast.centring.centring`): each
#: 6-month block of that walk is then read off 120 or more series-months. On Texas home sales
#: (46 series, last five cut-offs) it scored better and narrowed the intervals (user guide, "a
#: regime walk of the level noise's own"); on the 7-series meat panel, 42 values a block, it
#: widened them; on panels without regimes it has nothing to learn and only slows sampling.
AUTO_OWN_LEVEL_REGIME_MIN_SERIES = 20
#: ``common_index="auto"`` splits off the panel's common index
#: (:mod:`spm_model.forecast.common_index`) when the panel has at least
#: :data:`AUTO_COMMON_INDEX_MIN_SERIES` series and the index explains at least this share of
#: their year-on-year changes beyond chance (:func:`~spm_model.forecast.common_index.common_share`).
#: Shares: Texas home sales 0.29-0.30 (number) and 0.27 (dollar volume) from 2009 on, 0.067 and
#: 0.056 on the years before the 2008 crash (where the index still helped: scaled CRPS at the
#: 2007-01 cut-off 0.0754 against 0.0828); US meat production 0.27-0.34, Australian wine sales
#: 0.11-0.13; panels simulated with independent series (10-500 series, 3-15 years) 0-0.08, 0.005
#: or less from 50 series.
AUTO_COMMON_INDEX_MIN_SHARE = 0.05
#: ... and at least this many series: the index of a few series carries a good part of each
#: one's own noise (a 1/n share), which the split then counts twice. On the 6 wine series the
#: index scored 2% worse than without it at four of the five cut-offs.
AUTO_COMMON_INDEX_MIN_SERIES = 20
#: ... and whose months without bookings are fewer than this share of the observed months. Where
#: zero months are common the months are sums of a few lumpy deals: the state-space model's
#: symmetric Student-t on the log amounts fits them with about 2 degrees of freedom (sample
#: company) and the regression model's generalised gamma does better. Generated companies with
#: five years of history (2026-12-06, 4 cut-offs, 6 months ahead; regression against state
#: space): 60 reps, 33% zero months, scaled CRPS 0.557 against 0.571, total WAPE 9.1% against
#: 20.1%; 40 reps, 0.820 against 0.798, total WAPE 20.0% against 25.8%, currency CRPS 49,387
#: against 50,714. Real panels (no zero months) keep the state-space model.
AUTO_STATE_SPACE_MAX_ZERO_SHARE = 0.10


def nutpie_available() -> bool:
    """Whether the nutpie sampler can be imported."""
    return importlib.util.find_spec("nutpie") is not None


#: Posterior draws per chain by model when ``ForecastConfig.draws`` is None. Regression model,
#: min main bulk ESS (all from ``sigma_drift``) at 1000 / 1500 / 2000 draws per chain: sample
#: company 384 / 504 / 682 (fit 40-46 s), generated companies of 87 reps 274 / 348 / 492 and
#: 230 reps 299 (diagonal) / 382 / 517 (fit 81 s at 2000).
#: State-space model: its slowest main parameter (``log_sigma_level_sd``, sometimes
#: ``sigma_season_rep``) mixes at 12-20% efficiency, so 1000 draws a chain left the bulk ESS of
#: 2,000 draws at 290-396 on the Texas housing backtest's five dollar-volume fits (234-558 on the
#: number of sales) and the check of 400 failed at 7 of 10; 1500 a chain cost about a fifth more
#: sampling time (2026-12-05).
DEFAULT_DRAWS = {"regression": 2000, "state_space": 1500}

#: Largest regression model (unconstrained parameters) that 'auto' samples with nutpie's low-rank
#: modified mass matrix. Min main bulk / tail ESS of 2,000 draws, diagonal against low rank
#: (team deviations zero-sum in both): sample company (41 reps, 239 parameters) 173 / 141 against
#: 384 / 423; generated companies of 87 reps (479) 157 / 93 against 274 / 285, 149 reps (801)
#: 325 / 436 against 323 / 370, 230 reps (1,217) 299 / 383 against 200 / 175; simulated 500 x 36
#: (2,531) 545 / 1,062 in 94 s against 492 / 849 in 138 s.
LOW_RANK_MAX_PARAMETERS = 600
#: Refits of a fit that fails the convergence checks when ``ForecastConfig.refits`` is None
#: and the draws are the default: enough for a low ESS and then divergences twice (target_accept
#: 0.9 -> 0.967 -> 0.989), which a simulated 20 x 60 panel needed (2 refits left 1 divergence).
AUTO_REFITS = 3


class ForecastConfig(BaseModel):
    """Sampler and model settings of :class:`~spm_model.forecast.BookingsForecaster`.

    Every field is validated once, on construction; a bad value raises a
    ``pydantic.ValidationError`` naming the field and the allowed values (the
    forecaster turns it into an ``SpmConfigError``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    draws: int | None = Field(
        None,
        ge=10,
        description=(
            "Posterior draws kept per chain; None (the default): DEFAULT_DRAWS, 2000 for the "
            "regression model, whose weakest pooled scale (sigma_drift) mixes at about 12% "
            "efficiency and missed the ESS check of 400 at 1000 draws on the sample company "
            "and on generated companies, 1500 for the state-space model (whose weakest pooled "
            "scale mixes at 12-20% efficiency; one fit of 50 series "
            "x 180 months within a minute)."
        ),
    )
    tune: int = Field(1000, ge=0, description="Warm-up (adaptation) iterations per chain.")
    chains: int = Field(
        2, ge=1, le=16, description="Independent Markov chains (>= 2 to compute R-hat)."
    )
    cores: int | None = Field(
        None,
        ge=1,
        description="Chains run in parallel on this many cores; default min(chains, CPUs).",
    )
    target_accept: float = Field(
        0.9,
        gt=0.5,
        lt=1.0,
        description="NUTS target acceptance rate; raise it if there are divergences.",
    )
    refits: int | None = Field(
        None,
        ge=0,
        le=5,
        description=(
            "When a fit fails the convergence checks (divergences, R-hat, ESS of a main "
            "parameter), fit again up to this many times with the checks' advice applied "
            "(spm_model.forecast.diagnostics.refit_settings: target_accept raised on "
            "divergences, more draws on low ESS, more warm-up on R-hat); the last fit is kept "
            f"and its diagnostics list the earlier ones. None (the default): {AUTO_REFITS} when "
            "draws is left to its default, 0 when draws is set (a quick or deliberate run). "
            "0: fit once. Ignored by 'advi'."
        ),
    )
    sampler: Sampler = Field(
        "auto",
        description=(
            "'nutpie' (fast Rust NUTS), 'pymc' (PyMC's NUTS), 'advi' (mean-field variational "
            "quick mode for very large data: fast, but intervals are too narrow) or 'auto' "
            "(nutpie where installed, else PyMC)."
        ),
    )
    mass_matrix: Literal["auto", "diagonal", "low_rank"] = Field(
        "auto",
        description=(
            "nutpie's mass matrix: 'diagonal', 'low_rank' (nutpie's low-rank modified mass "
            "matrix, which also learns the posterior's strongest correlations) or 'auto' "
            "(low_rank for a regression model of at most LOW_RANK_MAX_PARAMETERS parameters, "
            "where it doubled the weakest bulk ESS on the sample company; diagonal for larger "
            "ones, where it mixed no better and cost time, and for the state-space model, "
            "where it mixed worse). Ignored by the 'pymc' sampler and 'advi'."
        ),
    )
    advi_iterations: int = Field(
        30_000, ge=100, description="Optimisation steps of the 'advi' quick mode."
    )
    model: Literal["auto", "regression", "state_space"] = Field(
        "auto",
        description=(
            "'state_space': each series' level a local linear trend with a damped, pooled "
            "drift, integrated out by a Kalman filter, so the level follows booms and busts "
            "(spm_model.forecast.statespace); 'regression': rep effects pooled within team and "
            "region, a company trend and block-wise level drift (spm_model.forecast.model), "
            "validated on a company's short rep histories; 'auto' (default): 'state_space' when "
            f"the training history spans at least {AUTO_STATE_SPACE_MONTHS} months ("
            f"{AUTO_STATE_SPACE_MONTHS_MANY_SERIES} for more than "
            f"{AUTO_SHORT_STATE_SPACE_MAX_SERIES} series), fewer than "
            f"{AUTO_STATE_SPACE_MAX_ZERO_SHARE:.0%} of its months have no bookings (and the "
            "likelihood is 'auto', 'student_t' or 'normal'), else 'regression'."
        ),
    )
    likelihood: Likelihood = Field(
        "auto",
        description=(
            "'auto' = 'generalized_gamma' for the regression model, 'student_t' for the "
            "state-space model (which takes only 'student_t' or 'normal'). "
            "Amounts in months with bookings: 'gamma' (mean exp(mu), per-rep coefficient of "
            "variation; log amounts skewed to the left, as sums of deals are), "
            "'generalized_gamma' (the skew of the log amounts estimated too: from gamma-like to "
            "lognormal), 'student_t' "
            "(Student-t on the log scale: heavy tails) or 'normal' (lognormal amounts)."
        ),
    )
    level_drift: bool = Field(
        True,
        description="Let each rep's level drift from year to year (a random walk over blocks of "
        "block_months); off = one constant level per rep.",
    )
    lag12: bool = Field(
        True,
        description="Use the rep's bookings in the same month a year earlier as a covariate "
        "(repeat business such as renewals); beyond 12 months ahead it counts as unknown.",
    )
    seasonality: Literal["fixed", "evolving", "evolving_common"] = Field(
        "fixed",
        description=(
            "State-space model only. 'fixed' (default): a shared 12-month pattern plus each "
            "series' own fixed deviations; 'evolving': each month's one-step error also moves "
            "its series' effect for that month of the year by a learnt gain (exponential "
            "smoothing's seasonal smoothing), the fixed deviations being the initial states; "
            "'evolving_common': the same without fixed deviations, every series starting from "
            "the shared pattern (for series with much the same seasonality). On Texas home "
            "sales 'evolving' scored 2% better than 'fixed', on wine sales 2% worse "
            "(docs/user-guide.md): backtest before choosing."
        ),
    )
    season_deviations: Literal["normal", "student_t"] = Field(
        "normal",
        description=(
            "State-space model only: the distribution of each series' fixed seasonal "
            "deviations from the shared pattern. 'normal' (default): partially pooled, zero-sum; "
            "'student_t': heavy-tailed (3 degrees of freedom), so the one series whose "
            "seasonality is far stronger than the others' (a college town's summer) keeps it. "
            "On long real panels 'student_t' scored better (Texas home sales across the boom and "
            "bust 6.3% better than ETS against 4.0%), but on panels whose series differ little "
            "it mixes badly (simulated 200 x 36 to 200 x 72: R-hat 1.04-1.13): backtest, and "
            "check the fit's diagnostics, before choosing it."
        ),
    )
    drift: Literal["auto", "shared", "per_series"] = Field(
        "auto",
        description=(
            "State-space model only: the long-run slope each series' trend decays towards. "
            "'shared': one drift for the panel; 'per_series': each series its own, partially "
            "pooled around it; 'auto' (default): 'per_series' for panels of 2 to "
            f"{AUTO_DRIFT_PER_SERIES_MAX} series, else 'shared'."
        ),
    )
    level_regime: Literal["auto", "shared", "own"] = Field(
        "auto",
        description=(
            "State-space model: how the level noise changes over the history's half-years. "
            "'shared': with the observation noise (one regime walk); 'own': a walk of its own, "
            "carried back towards its usual level after the cut-off; 'auto' (default): 'own' "
            "for panels of "
            f"{AUTO_OWN_LEVEL_REGIME_MIN_SERIES} series or more whose data show noise regimes, "
            "else 'shared'."
        ),
    )
    common_index: Literal["auto", "on", "off"] = Field(
        "off",
        description=(
            "State-space model: split off the month-to-month movement all series share (a "
            "two-way fixed-effects index, forecast by the same model as a series of its own) "
            "and fit the series net of it (spm_model.forecast.common_index): intervals of "
            "totals that know the series move together, and forecasts that recover from a "
            "shock all series shared; per-series intervals come out wider and fits take two "
            "to three times as long (docs/user-guide.md, 'A common index'). 'off' (default), "
            f"'on', or 'auto': on for panels of {AUTO_COMMON_INDEX_MIN_SERIES} series or more "
            f"whose index explains at least {AUTO_COMMON_INDEX_MIN_SHARE:.0%} of their "
            "year-on-year changes beyond chance."
        ),
    )
    common_movement: Literal["on", "off"] = Field(
        "off",
        description=(
            "State-space model: give the movement all series share a path of its own inside "
            "the model (a local linear trend plus a month's transient, sampled month by month "
            "with the other parameters), so a shock every series felt moves one path rather "
            "than each series' level, and the forecast carries that path forward "
            "(spm_model.forecast.statespace.COMMON_MOVEMENT; panels of 5 series or more). "
            "On the Texas number of sales across the boom and the bust it scored 8.7% better "
            "than ETS against 4.0% without, and in the calm years after it 8.4% against 12.0%; "
            "its intervals come out wide (80% cover 88%) and fits take two to ten times as "
            "long (docs/user-guide.md, 'A common movement'). "
            "'off' (default) or 'on'; backtest before choosing it."
        ),
    )
    block_months: int = Field(12, ge=3, le=36, description="Length of a level block, in months.")
    quarter_noise: bool = Field(
        False,
        description="Let the noise scale differ by month of the quarter (quarter-end months "
        "close more deals, so their totals vary less relative to their level).",
    )
    rep_noise: bool = Field(
        True, description="Give each rep its own noise scale (partially pooled on the log scale)."
    )
    hurdle: Literal["auto", "on", "off"] = Field(
        "auto",
        description=(
            "Model zero months with a hurdle (logistic) part; 'auto' = on when the data has "
            "zero months."
        ),
    )
    seed: int = Field(20240101, description="Seed of the sampler and of predictive draws.")
    progressbar: bool = Field(False, description="Show the sampler's progress bar.")

    @model_validator(mode="after")
    def _likelihood_fits_model(self) -> ForecastConfig:
        if self.model == "state_space" and self.likelihood not in ("auto", "student_t", "normal"):
            raise ValueError(
                f"likelihood {self.likelihood!r} is not available with model='state_space' "
                "(the Kalman filter scores log amounts): use 'student_t' or 'normal'"
            )
        return self

    def resolved_model(
        self,
        n_months: int | None = None,
        zero_share: float | None = None,
        n_series: int | None = None,
    ) -> Literal["regression", "state_space"]:
        """Return the model actually used for a history ('auto' resolved).

        ``'auto'`` is ``'state_space'`` for at least :data:`AUTO_STATE_SPACE_MONTHS`
        months of history (``n_months``; :data:`AUTO_STATE_SPACE_MONTHS_MANY_SERIES`
        for panels of more than :data:`AUTO_SHORT_STATE_SPACE_MAX_SERIES` series,
        ``n_series``; None: not known, the shorter bound) of which fewer than
        :data:`AUTO_STATE_SPACE_MAX_ZERO_SHARE` have no bookings (``zero_share``,
        fraction of the observed months; None: not known, not checked), and
        ``'regression'`` for shorter histories (or unknown length), for lumpy
        ones with many months without bookings (rep-level company data) and
        whenever the likelihood is one only the regression model has
        (``'gamma'``, ``'generalized_gamma'``).
        """
        if self.model != "auto":
            return self.model
        if self.likelihood in ("gamma", "generalized_gamma"):
            return "regression"
        many = n_series is not None and n_series > AUTO_SHORT_STATE_SPACE_MAX_SERIES
        need = AUTO_STATE_SPACE_MONTHS_MANY_SERIES if many else AUTO_STATE_SPACE_MONTHS
        long = n_months is not None and n_months >= need
        dense = zero_share is None or zero_share < AUTO_STATE_SPACE_MAX_ZERO_SHARE
        return "state_space" if long and dense else "regression"

    def resolved_drift(self, n_series: int) -> Literal["shared", "per_series"]:
        """Return the drift form used for a panel of ``n_series`` series ('auto' resolved)."""
        if self.drift != "auto":
            return self.drift
        return "per_series" if 2 <= n_series <= AUTO_DRIFT_PER_SERIES_MAX else "shared"

    def resolved_level_regime(
        self, n_series: int, shows_regimes: bool = True
    ) -> Literal["shared", "own"]:
        """Return the level noise's regime walk ('auto' resolved).

        ``n_series``: series in the panel; ``shows_regimes``: whether its data show
        noise regimes (the state-space model's regime data weight).
        """
        if self.level_regime != "auto":
            return self.level_regime
        many = n_series >= AUTO_OWN_LEVEL_REGIME_MIN_SERIES
        return "own" if many and shows_regimes else "shared"

    def resolved_common_index(self, n_series: int, share: float) -> bool:
        """Return whether the common index is split off ('auto' resolved).

        ``n_series``: series in the panel; ``share``: the index's share of their
        year-on-year changes beyond chance
        (:func:`~spm_model.forecast.common_index.common_share`).
        """
        if self.common_index != "auto":
            # one series is its own index: nothing would be left to fit
            return self.common_index == "on" and n_series >= 2
        return n_series >= AUTO_COMMON_INDEX_MIN_SERIES and share >= AUTO_COMMON_INDEX_MIN_SHARE

    def resolved_likelihood(self, model: str | None = None) -> str:
        """Return the amount likelihood used by ``model`` (default: the configured model).

        'auto' is 'student_t' for the state-space model and 'generalized_gamma'
        for the regression model.
        """
        model = self.model if model is None else model
        if self.likelihood == "auto":
            return "student_t" if model == "state_space" else "generalized_gamma"
        return self.likelihood

    def resolved_refits(self) -> int:
        """Return how many refits a failed fit may get (None resolved, see ``refits``)."""
        if self.refits is not None:
            return self.refits
        return AUTO_REFITS if self.draws is None else 0

    def resolved_draws(self, model: str) -> int:
        """Return the posterior draws per chain for ``model`` (None resolved)."""
        if self.draws is not None:
            return self.draws
        return DEFAULT_DRAWS[model]

    def resolved_mass_matrix(
        self, model: str, n_parameters: int = 0
    ) -> Literal["diagonal", "low_rank"]:
        """Return nutpie's mass matrix for ``model`` with ``n_parameters`` ('auto' resolved)."""
        if self.mass_matrix == "auto":
            small = n_parameters <= LOW_RANK_MAX_PARAMETERS
            return "low_rank" if model == "regression" and small else "diagonal"
        return self.mass_matrix

    def resolved_sampler(self) -> Literal["nutpie", "pymc", "advi"]:
        """Return the sampler actually used ('auto' resolved)."""
        if self.sampler == "auto":
            return "nutpie" if nutpie_available() else "pymc"
        return self.sampler
