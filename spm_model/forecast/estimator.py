"""The Bayesian bookings forecaster: configure, ``fit``, ``predict``."""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from spm_model.data import Dataset
from spm_model.errors import SpmConfigError, SpmDataError
from spm_model.forecast.baselines import active_reps
from spm_model.forecast.common_index import (
    combine_draws,
    common_share,
    estimate_log_index,
    split_panel,
    with_index_fit,
)
from spm_model.forecast.config import ForecastConfig
from spm_model.forecast.diagnostics import (
    Diagnostics,
    ModelFitWarning,
    SamplerSettings,
    compute_diagnostics,
    refit_settings,
)
from spm_model.forecast.model import (
    MAIN_PARAMS,
    Design,
    build_model,
    business_day_deviation,
    draw_bookings,
    easter_deviation,
    fiscal_month_index,
    lag12_covariate,
    linear_predictors,
    make_design,
    posterior_arrays,
    tenure_months,
)
from spm_model.forecast.numba_linking import link_by_symbol
from spm_model.forecast.panel import check_panel, monthly_bookings, parse_cutoff
from spm_model.forecast.statespace import (
    SS_MAIN_PARAMS,
    build_ss_model,
    forecast_log_amounts,
    posterior_hurdle_logit,
    run_filter,
)

if TYPE_CHECKING:
    from spm_model.crediting import CreditingResult

#: Below this posterior median of the state-space model's Student-t degrees of freedom the fit
#: warns (:class:`~spm_model.forecast.diagnostics.ModelFitWarning`): the sample company, forced
#: onto the state-space model, fitted ``nu`` 2.003-2.05; Texas housing about 9, a generated
#: company with five years of history 13 (90% interval 6.9-19.4).
LUMPY_NU = 2.5


def config_from(config: ForecastConfig | dict | None, **overrides: Any) -> ForecastConfig:
    """Build a :class:`ForecastConfig`, turning validation errors into ``SpmConfigError``."""
    base = config.model_dump() if isinstance(config, ForecastConfig) else dict(config or {})
    base.update(overrides)
    try:
        return ForecastConfig(**base)
    except ValidationError as exc:
        msgs = [f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise SpmConfigError("invalid forecast settings: " + "; ".join(msgs)) from None


def prepare_panel(
    data: Dataset | pd.DataFrame,
    measure: str | None = None,
    cutoff: str | pd.Timestamp | None = None,
    credits: CreditingResult | None = None,
) -> pd.DataFrame:
    """Return the monthly panel of a Dataset or a checked user panel, cut at ``cutoff``.

    A Dataset's panel is the selling view of its crediting result
    (:func:`~spm_model.forecast.panel.monthly_bookings`); ``credits`` reuses the
    run's crediting result instead of crediting ``data`` again (ignored for a
    panel DataFrame).
    """
    if isinstance(data, Dataset):
        return monthly_bookings(data, measure=measure, cutoff=cutoff, credits=credits)
    if isinstance(data, pd.DataFrame):
        panel = check_panel(data)
        if cutoff is not None:
            cut = parse_cutoff(cutoff)
            if cut > panel["month"].max():
                raise SpmConfigError(
                    f"cut-off {cut:%Y-%m} is after the panel's last month "
                    f"{panel['month'].max():%Y-%m}"
                )
            attrs = dict(panel.attrs)
            panel = panel[panel["month"] <= cut].reset_index(drop=True)
            panel.attrs.update(attrs)
        return panel
    raise SpmConfigError(
        f"fit() needs a Dataset or a monthly panel DataFrame, got {type(data).__name__}"
    )


def ieee_compilation() -> Any:
    """Compile the model's numba code with IEEE arithmetic (PyTensor's ``numba__fastmath`` off).

    PyTensor compiles for numba with fast-math flags by default (contraction,
    reassociation, approximate functions). With them, the code compiled in the
    process that first builds a graph and the same graph loaded from PyTensor's
    cache in the next process round differently in the last bits (measured: the
    Student-t degrees of freedom's gradient on a 50 x 180 panel, 1 ulp of a
    digamma, then the whole chain). The same seed then gave different draws on
    the first and the second fit of a fresh machine. Without fast math the
    first and every cached compilation give bit-identical log densities and
    gradients, so the same data and seed give the same draws.

    Returns
    -------
    contextmanager
        ``pytensor.config.change_flags(numba__fastmath=False)``.
    """
    import pytensor

    return pytensor.config.change_flags(numba__fastmath=False)


def build_configured_model(design: Design, cfg: ForecastConfig, kind: str, use_hurdle: bool) -> Any:
    """Build the PyMC model of ``kind`` for ``design`` with the settings of ``cfg``.

    What :meth:`BookingsForecaster.fit` samples, and what
    :func:`~spm_model.forecast.warmup.warm_up` compiles.

    Parameters
    ----------
    design : Design
        The panel's design (:func:`make_design`).
    cfg : ForecastConfig
        Likelihood (resolved for ``kind``) and the model options.
    kind : str
        ``"state_space"`` or ``"regression"``.
    use_hurdle : bool
        Model the months without bookings.

    Returns
    -------
    pymc.Model
    """
    likelihood = cfg.resolved_likelihood(kind)
    if kind == "state_space":
        return build_ss_model(
            design,
            likelihood,
            use_hurdle,
            cfg.lag12,
            seasonality=cfg.seasonality,
            season_tails=cfg.season_deviations == "student_t",
            drift_per_series=cfg.resolved_drift(len(design.reps)) == "per_series",
            level_regime=cfg.level_regime,
            common_movement=cfg.common_movement == "on",
        )
    return build_model(
        design,
        likelihood,
        cfg.rep_noise,
        use_hurdle,
        cfg.level_drift,
        cfg.lag12,
        cfg.quarter_noise,
    )


def _main_params(kind: str) -> tuple[str, ...]:
    return SS_MAIN_PARAMS if kind == "state_space" else MAIN_PARAMS


def _sample(
    model: Any, cfg: ForecastConfig, kind: str, sampler: str, settings: SamplerSettings
) -> Any:
    """Run ``sampler`` on ``model`` with ``settings``; the posterior as InferenceData."""
    import pymc as pm

    draws = settings.draws
    cores = cfg.cores or min(cfg.chains, os.cpu_count() or 1)
    with model, warnings.catch_warnings(), ieee_compilation(), link_by_symbol():
        warnings.filterwarnings("ignore", category=UserWarning, module="pymc")
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        if sampler == "advi":
            approx = pm.fit(
                n=cfg.advi_iterations,
                method="advi",
                random_seed=cfg.seed,
                progressbar=cfg.progressbar,
            )
            idata = approx.sample(draws * cfg.chains, random_seed=cfg.seed)
            post = idata.posterior.stack(s=("chain", "draw"))
            # Present the draws as `chains` pseudo-chains so downstream code sees one layout.
            idata.posterior = (
                post.drop_vars(["chain", "draw", "s"])
                .assign_coords(s=np.arange(post.sizes["s"]))
                .coarsen(s=draws)
                .construct(s=("chain", "draw"))
                .transpose("chain", "draw", ...)
            )
            return idata
        kwargs: dict[str, Any] = dict(
            draws=draws,
            tune=settings.tune,
            chains=cfg.chains,
            target_accept=settings.target_accept,
            random_seed=cfg.seed,
            progressbar=cfg.progressbar,
            compute_convergence_checks=False,
        )
        if sampler != "nutpie":
            return pm.sample(cores=cores, **kwargs)
        nutpie_kwargs: dict[str, Any] = {"cores": cores}
        # the parameter count only matters to the regression model's choice (and
        # model.initial_point() compiles a function: about a second)
        n_par = (
            sum(np.size(v) for v in model.initial_point().values())
            if kind == "regression" and cfg.mass_matrix == "auto"
            else 0
        )
        if cfg.resolved_mass_matrix(kind, n_par) == "low_rank":
            nutpie_kwargs["low_rank_modified_mass_matrix"] = True
        return pm.sample(nuts_sampler="nutpie", nuts_sampler_kwargs=nutpie_kwargs, **kwargs)


class BookingsForecaster:
    """Hierarchical Bayesian forecast of monthly bookings per rep (PyMC).

    Two models (``model``; the default ``"auto"`` picks the state-space model
    for histories of at least 36 months (48 for more than 200 series) with fewer
    than 10% of months without bookings, the regression model for shorter or
    lumpier ones, see
    :meth:`ForecastConfig.resolved_model`):

    * ``"state_space"`` (:mod:`spm_model.forecast.statespace`): each series'
      level a local linear trend with a damped, pooled drift, integrated out
      by a Kalman filter, so the level follows booms and busts; Student-t
      errors on the log scale, pooled seasonality, a hurdle for months
      without bookings.
    * ``"regression"`` (:mod:`spm_model.forecast.model`): a hurdle for months
      without bookings, a generalised-gamma model of the amount otherwise (or
      gamma, Student-t or normal: ``likelihood``), rep effects partially
      pooled within team and region and drifting from year to year, fiscal
      seasonality with quarter-end effects, a trend, a tenure ramp and the
      same month a year earlier as a covariate.

    Parameters
    ----------
    config : ForecastConfig or dict, optional
        Sampler and model settings.
    **overrides
        Individual settings (``draws=500``, ``sampler="pymc"``...).

    Attributes
    ----------
    panel_ : DataFrame
        Monthly training panel (see :mod:`spm_model.forecast.panel`).
    model_kind_ : {"regression", "state_space"}
        The model fitted (``model="auto"`` resolved for the history's length).
    likelihood_ : str
        The amount likelihood fitted (``likelihood="auto"`` resolved).
    design_ : Design
        Index arrays of the training data.
    model_ : pymc.Model
        The fitted model.
    idata_ : arviz.InferenceData
        Posterior draws and sampler statistics.
    diagnostics_ : Diagnostics
        R-hat, ESS and divergences (a ``ConvergenceWarning`` is issued in
        ``fit`` when a check fails).
    cutoff_ : Timestamp
        Last training month (month start).
    reps_ : DataFrame
        One row per rep: team, region, hire and end dates, last month seen,
        and ``active`` (employed after the cutoff, so forecast by ``predict``).

    Examples
    --------
    >>> ds = load_dataset("data/sample")  # doctest: +SKIP
    >>> fc = BookingsForecaster(draws=500, tune=500).fit(ds)  # doctest: +SKIP
    >>> draws = fc.predict(horizon=6)  # xarray (sample, rep, month)  # doctest: +SKIP
    """

    #: Log common index split off the panel (None: not used; see
    #: :mod:`~spm_model.forecast.common_index`).
    log_index_: pd.Series | None = None
    #: The forecaster of the common index (a panel of one series), when one was split off.
    index_forecaster_: BookingsForecaster | None = None

    def __init__(self, config: ForecastConfig | dict | None = None, **overrides: Any):
        self.config = config_from(config, **overrides)

    def __repr__(self) -> str:
        state = "unfitted"
        if hasattr(self, "idata_"):
            d = self.diagnostics_
            state = (
                f"fitted to {len(self.design_.reps)} reps x {self.design_.n_obs} rep-months up to "
                f"{self.cutoff_:%Y-%m}; {d.divergences} divergences, max R-hat {d.max_r_hat:.3f}"
            )
        c = self.config
        return (
            f"BookingsForecaster(model={getattr(self, 'model_kind_', c.model)!r}, "
            f"sampler={c.resolved_sampler()!r}, draws={c.draws or 'auto'}, tune={c.tune}, "
            f"chains={c.chains}, likelihood={c.likelihood!r}; {state})"
        )

    # -- fitting ---------------------------------------------------------------------------
    def fit(
        self,
        data: Dataset | pd.DataFrame,
        measure: str | None = None,
        cutoff: str | pd.Timestamp | None = None,
        credits: CreditingResult | None = None,
    ) -> BookingsForecaster:
        """Fit the model to the bookings history up to ``cutoff``.

        A fit that fails the convergence checks is redone with their advice
        applied, up to ``config.resolved_refits()`` times (see
        :func:`~spm_model.forecast.diagnostics.refit_settings`); the last fit is
        kept and ``diagnostics_.earlier_fits`` lists the others.

        With ``config.common_index`` on (state-space model), the model is fitted to
        the panel net of its common index and the index on its own, as a panel of
        one series (:mod:`~spm_model.forecast.common_index`; ``log_index_``,
        ``index_forecaster_``); ``diagnostics_`` checks both fits.

        Parameters
        ----------
        data : Dataset or DataFrame
            The company data (the panel is the direct owner's selling credit from
            crediting, see :mod:`spm_model.forecast.panel`) or a monthly panel
            with ``rep_id, month, bookings`` and optionally ``team, region,
            hire_date, end_date``.
        measure : str, optional
            Forecast only products crediting this plan measure (Dataset input).
        cutoff : str or Timestamp, optional
            Last month used for fitting (``"2025-06"``); default: the last
            complete month.
        credits : CreditingResult, optional
            The run's crediting result of ``data`` (Dataset input), reused
            rather than crediting again.

        Returns
        -------
        BookingsForecaster
            ``self``, fitted.
        """
        panel = prepare_panel(data, measure, cutoff, credits)
        if panel.empty:
            raise SpmDataError("no rep-months to fit (is the cutoff before the first month?)")
        kind, design = self._resolve_model(panel)
        self.common_share_ = float("nan")
        self.log_index_ = None
        self.index_forecaster_ = None
        model_panel = panel
        if kind == "state_space" and self.config.common_index != "off":
            log_index = estimate_log_index(panel)
            self.common_share_ = common_share(panel, log_index)
            if self.config.resolved_common_index(len(design.reps), self.common_share_):
                model_panel, index_panel = split_panel(panel, log_index)
                design = make_design(model_panel, self.config.block_months)
                self.log_index_ = log_index
        self._sample_model(model_panel, kind, design)
        self.panel_ = panel
        if self.log_index_ is not None:
            sub = self.config.model_copy(
                update={"common_index": "off", "model": "state_space", "hurdle": "off"}
            )
            idx = BookingsForecaster(sub)
            index_panel = prepare_panel(index_panel)
            idx._sample_model(index_panel, "state_space", idx._resolve_model(index_panel)[1])
            self.index_forecaster_ = idx
            self.diagnostics_ = with_index_fit(self.diagnostics_, idx.diagnostics_)
        self.diagnostics_.warn()
        self._warn_lumpy()
        return self

    def _resolve_model(self, panel: pd.DataFrame) -> tuple[str, Design]:
        """Return the model kind used for ``panel`` and its design."""
        try:
            design = make_design(panel, self.config.block_months)
        except ValueError as exc:
            raise SpmDataError(str(exc)) from None
        kind = self.config.resolved_model(
            len(design.grid_months), 1.0 - design.positive_share, len(design.reps)
        )
        return kind, design

    def _sample_model(self, panel: pd.DataFrame, kind: str, design: Design) -> None:
        """Build and sample ``kind`` on ``panel`` (refitting failed fits); set the fitted state."""
        cfg = self.config
        use_hurdle = cfg.hurdle == "on" or (cfg.hurdle == "auto" and design.positive_share < 1.0)
        likelihood = cfg.resolved_likelihood(kind)
        model = build_configured_model(design, cfg, kind, use_hurdle)
        sampler = cfg.resolved_sampler()
        first = SamplerSettings(cfg.resolved_draws(kind), cfg.tune, cfg.target_accept)
        settings, earlier = first, []
        t = time.perf_counter()
        while True:
            idata = _sample(model, cfg, kind, sampler, settings)
            diag = compute_diagnostics(idata, _main_params(kind), 0.0, sampler)
            nxt = (
                None
                if len(earlier) >= cfg.resolved_refits()
                else refit_settings(diag, settings, first)
            )
            if nxt is None:
                break
            failed = "; ".join(p.split(":")[0] for p in diag.problems())
            earlier.append(f"{settings.describe()}: {failed}")
            settings = nxt
        seconds = time.perf_counter() - t
        self.panel_ = panel
        self.model_kind_ = kind
        self.likelihood_ = likelihood
        self.design_: Design = design
        self.model_ = model
        self.idata_ = idata
        self.hurdle_ = use_hurdle
        self.cutoff_ = pd.Timestamp(panel["month"].max())
        self.diagnostics_: Diagnostics = dataclasses.replace(
            diag, sampling_seconds=seconds, earlier_fits=tuple(earlier)
        )
        self.reps_ = self._rep_table()

    def _warn_lumpy(self) -> None:
        """Warn when the state-space model's Student-t fitted lumpy months (``nu`` near 2)."""
        if self.model_kind_ != "state_space" or "nu" not in self.idata_.posterior:
            return
        nu = float(np.median(self.idata_.posterior["nu"].values))
        if nu < LUMPY_NU:
            warnings.warn(
                f"the state-space model fitted these months with Student-t noise of {nu:.2f} "
                "degrees of freedom: they are sums of a few lumpy deals (long lower tail), "
                "which its symmetric noise on the log scale fits badly and whose forecast "
                "intervals come out far too wide; use model='regression' (what model='auto' "
                "picks where 10% or more of the months have no bookings)",
                ModelFitWarning,
                stacklevel=3,
            )

    def _rep_table(self) -> pd.DataFrame:
        # every series without an end date before the forecast months is forecast, also when
        # its latest months (the cut-off month included) are missing
        return active_reps(self.panel_, self.cutoff_)

    def _main_params(self) -> tuple[str, ...]:
        return _main_params(self.model_kind_)

    def _check_fitted(self) -> None:
        if not hasattr(self, "idata_"):
            raise SpmConfigError("this BookingsForecaster is not fitted yet: call fit() first")

    # -- prediction ------------------------------------------------------------------------
    def posterior(self) -> dict[str, np.ndarray]:
        """Posterior draws of every parameter, flattened over chains (samples first)."""
        self._check_fitted()
        return posterior_arrays(self.idata_)

    def predict(
        self, horizon: int = 6, seed: int | None = None, include_inactive: bool = False
    ) -> Any:
        """Draw bookings per rep for the ``horizon`` months after the cutoff (posterior predictive).

        Parameters
        ----------
        horizon : int
            Months ahead (>= 1).
        seed : int, optional
            Seed of the predictive draws (default: the config's seed).
        include_inactive : bool
            Also forecast reps who left before the cutoff (normally dropped).

        Returns
        -------
        xarray.DataArray
            ``bookings`` (currency) with dims ``(sample, rep, month)``; the
            ``rep`` axis carries ``team`` and ``region`` coordinates. A rep
            with a known end date in the horizon books zero after it.
        """
        self._check_fitted()
        if int(horizon) < 1:
            raise SpmConfigError(f"horizon must be at least 1 month, got {horizon}")
        reps = self.reps_ if include_inactive else self.reps_[self.reps_["active"]]
        if reps.empty:
            raise SpmDataError(
                f"no rep is employed after {self.cutoff_:%Y-%m}; nothing to forecast"
            )
        months = pd.date_range(
            self.cutoff_ + pd.offsets.MonthBegin(1), periods=int(horizon), freq="MS"
        )
        d = self.design_
        rep_pos = {r: i for i, r in enumerate(d.reps)}
        likelihood = self.likelihood_
        rng = np.random.default_rng(self.config.seed if seed is None else seed)
        if self.model_kind_ == "state_space":
            log_amount, logit_ss = forecast_log_amounts(
                self.posterior(),
                d,
                self.model_.spm_ss,
                np.array([rep_pos[r] for r in reps.index]),
                months,
                reps["hire_date"].to_numpy(),
                rng,
                likelihood,
            )
            y = np.exp(np.clip(log_amount, -50.0, 50.0))
            if self.hurdle_:
                y = np.where(rng.random(y.shape) < 1.0 / (1.0 + np.exp(-logit_ss)), y, 0.0)
            if self.index_forecaster_ is not None:
                y = combine_draws(y, self._index_draws(months, rng), rng)
            y = y.reshape(y.shape[0], -1)
            return self._to_array(y, reps, months)
        ridx = np.repeat([rep_pos[r] for r in reps.index], len(months))
        mm = pd.DatetimeIndex(np.tile(months.to_numpy(), len(reps)))
        hires = pd.DatetimeIndex(np.repeat(reps["hire_date"].to_numpy(), len(months)))
        years = (mm - d.t0).days.to_numpy() / 365.25
        p = self.posterior()
        mu, logit, sigma = linear_predictors(
            p,
            ridx,
            years,
            fiscal_month_index(mm, d.fy_start_month),
            tenure_months(mm, hires),
            lag12=lag12_covariate(d, ridx, mm),
            business_days=business_day_deviation(mm),
            easter=easter_deviation(mm),
        )
        if "sigma_drift" in p:
            # the level keeps walking after the cut-off: monthly steps of sigma_drift / sqrt(block)
            n_s, n_r, n_m = mu.shape[0], len(reps), len(months)
            steps = rng.standard_normal((n_s, n_r, n_m)) / np.sqrt(d.block_months)
            walk = p["sigma_drift"][:, None, None] * np.cumsum(steps, axis=2)
            mu = mu + walk.reshape(n_s, n_r * n_m)
        y = draw_bookings(p, mu, logit, sigma, rng, likelihood=likelihood)
        return self._to_array(y, reps, months)

    def _index_draws(self, months: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
        """Draws of the common index ``exp(c)`` in ``months``: (index samples, months)."""
        idx = self.index_forecaster_
        # the index ends at the last month with bookings in some series, which can be before
        # the panel's cut-off
        ahead = (months[-1].year - idx.cutoff_.year) * 12 + months[-1].month - idx.cutoff_.month
        draws = idx.predict(ahead, seed=int(rng.integers(2**31)))
        return draws.sel(month=months).isel(rep=0).transpose("sample", "month").to_numpy()

    def _to_array(self, y: np.ndarray, reps: pd.DataFrame, months: pd.DatetimeIndex) -> Any:
        """Zero months after known end dates; draws (samples, reps x months) as a DataArray."""
        import xarray as xr

        mm = pd.DatetimeIndex(np.tile(months.to_numpy(), len(reps)))
        ends = pd.DatetimeIndex(np.repeat(reps["end_date"].to_numpy(), len(months)))
        gone = np.asarray(ends.notna() & (mm > ends.to_period("M").to_timestamp()))
        y[:, gone] = 0.0
        arr = y.reshape(y.shape[0], len(reps), len(months))
        return xr.DataArray(
            arr,
            dims=("sample", "rep", "month"),
            coords={
                "sample": np.arange(arr.shape[0]),
                "rep": reps.index.to_numpy(dtype=object),
                "month": months,
                "team": ("rep", reps["team"].to_numpy(dtype=object)),
                "region": ("rep", reps["region"].to_numpy(dtype=object)),
            },
            name="bookings",
            attrs={
                "units": self.panel_.attrs.get("currency", "currency"),
                "measure": self.panel_.attrs.get("measure", "all"),
                "cutoff": f"{self.cutoff_:%Y-%m}",
            },
        )

    def predict_in_sample(self, seed: int | None = None, max_samples: int = 500) -> np.ndarray:
        """Replicate the training data (posterior predictive): (samples, rows of ``panel_``)."""
        self._check_fitted()
        d = self.design_
        p = self.posterior()
        n = next(iter(p.values())).shape[0]
        rng = np.random.default_rng(self.config.seed if seed is None else seed)
        keep = np.sort(rng.choice(n, size=min(n, max_samples), replace=False))
        p = {k: v[keep] for k, v in p.items()}
        likelihood = self.likelihood_
        if self.model_kind_ == "state_space":
            # one-step-ahead replicates: the filter's prediction for each month given the months
            # before it, with the prediction-error variance
            s = self.model_.spm_ss
            fl = run_filter(p, s)
            pred = s.grid.log_y[None] - fl["v"]
            if likelihood == "normal":
                eps = rng.standard_normal(pred.shape)
            else:
                nu = p["nu"][:, None, None]
                eps = rng.standard_t(np.broadcast_to(nu, pred.shape)) * np.sqrt((nu - 2.0) / nu)
            y = np.exp(np.clip(pred + np.sqrt(fl["f"]) * eps, -50.0, 50.0))
            if self.hurdle_:
                pr = posterior_hurdle_logit(p, s)
                y = np.where(rng.random(y.shape) < 1.0 / (1.0 + np.exp(-pr)), y, 0.0)
            return y[:, d.rep_idx, d.month_idx] * self._index_scale()
        mu, logit, sigma = linear_predictors(
            p,
            d.rep_idx,
            d.years,
            d.fiscal_month,
            d.tenure,
            d.block,
            d.lag12,
            d.business_days,
            easter=d.easter,
        )
        if not self.hurdle_:
            logit = None
        return draw_bookings(p, mu, logit, sigma, rng, likelihood=likelihood)

    def _index_scale(self) -> np.ndarray | float:
        """``exp(c)`` of each training row's month (1.0 without a common index)."""
        if self.log_index_ is None:
            return 1.0
        d = self.design_
        months = d.grid_months[d.month_idx]
        return np.exp(months.map(self.log_index_).to_numpy(dtype=float, na_value=0.0))

    def observed_bookings(self) -> np.ndarray:
        """Return the training rows' bookings (currency), in ``predict_in_sample``'s order."""
        self._check_fitted()
        return self.design_.y * self._index_scale()

    def parameter_summary(self, hdi_prob: float = 0.9) -> pd.DataFrame:
        """Posterior mean, sd, central interval and diagnostics of the main parameters."""
        import arviz as az

        self._check_fitted()
        names = [v for v in self._main_params() if v in self.idata_.posterior]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return az.summary(self.idata_, var_names=names, hdi_prob=hdi_prob, stat_focus="mean")
