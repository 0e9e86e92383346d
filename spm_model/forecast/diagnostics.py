"""Convergence diagnostics of a fitted forecaster: computed, summarised and warned about."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spm_model.forecast.mcmc_stats import diagnostics_table


class ConvergenceWarning(UserWarning):
    """The sampler's output fails a convergence check; the forecast may be unreliable."""


class ModelFitWarning(UserWarning):
    """The model chosen fits the data's shape badly; another model will forecast it better."""


@dataclass(frozen=True)
class Diagnostics:
    """Convergence summary of one fit.

    Parameters
    ----------
    table : DataFrame
        One row per parameter element: ``r_hat``, ``ess_bulk``, ``ess_tail``,
        ``mcse_mean`` and whether it is a main parameter.
    divergences : int
        Divergent transitions after warm-up.
    n_samples : int
        Posterior draws in total (all chains).
    sampling_seconds : float
        Wall time of the sampler (compilation included).
    sampler : str
        Sampler used.
    earlier_fits : tuple of str
        One line per earlier fit that failed the checks and was redone
        (:func:`refit_settings`): its settings and what failed.
    """

    table: pd.DataFrame
    divergences: int
    n_samples: int
    sampling_seconds: float
    sampler: str
    earlier_fits: tuple[str, ...] = ()

    @property
    def max_r_hat(self) -> float:
        """Largest R-hat over all parameters (NaN with one chain)."""
        return float(self.table["r_hat"].max())

    @property
    def min_ess_bulk(self) -> float:
        """Smallest bulk ESS over all parameters."""
        return float(self.table["ess_bulk"].min())

    def main(self) -> pd.DataFrame:
        """Rows of the main (global and group-level) parameters."""
        return self.table[self.table["main"]]

    def problems(self, r_hat_max: float = 1.01, ess_min: float = 400.0) -> list[str]:
        """Failed checks, each with advice; empty when the fit looks healthy."""
        out = []
        if self.sampler == "advi":
            out.append(
                "fitted with the 'advi' quick mode: intervals are approximate "
                "(usually too narrow); "
                "use sampler='nutpie' or 'pymc' for final numbers"
            )
            return out
        if self.divergences:
            out.append(
                f"{self.divergences} divergent transitions: raise target_accept "
                "(e.g. 0.95 or 0.99) "
                "and check the data for outliers or reps with very few months"
            )
        rh = self.table["r_hat"].to_numpy(dtype=float)
        if np.isfinite(rh).any() and np.nanmax(rh) > r_hat_max:
            worst = self.table.loc[self.table["r_hat"].idxmax()]
            out.append(
                f"R-hat up to {worst['r_hat']:.3f} ({worst.name}) > {r_hat_max}: chains disagree; "
                "increase tune and draws or run more chains"
            )
        main = self.main()
        if len(main) and main["ess_bulk"].min() < ess_min:
            worst = main.loc[main["ess_bulk"].idxmin()]
            out.append(
                f"bulk ESS down to {worst['ess_bulk']:.0f} ({worst.name}) < {ess_min:.0f} "
                "for a main "
                "parameter: increase draws (intervals are noisy)"
            )
        if len(main) and main["ess_tail"].min() < ess_min:
            worst = main.loc[main["ess_tail"].idxmin()]
            out.append(
                f"tail ESS down to {worst['ess_tail']:.0f} ({worst.name}) < {ess_min:.0f} "
                "for a main "
                "parameter: increase draws (tail quantiles such as P90 are noisy)"
            )
        return out

    def warn(self, r_hat_max: float = 1.01, ess_min: float = 400.0) -> None:
        """Issue a :class:`ConvergenceWarning` listing every failed check."""
        probs = self.problems(r_hat_max, ess_min)
        if probs:
            warnings.warn(
                "forecast model convergence checks failed:\n  - " + "\n  - ".join(probs),
                ConvergenceWarning,
                stacklevel=3,
            )

    def summary(self) -> str:
        """Return a short human-readable report."""
        ess_per_s = self.main()["ess_bulk"].min() / max(self.sampling_seconds, 1e-9)
        main = self.main()
        lines = [f"refitted after: {e}" for e in self.earlier_fits]
        lines += [
            f"sampler {self.sampler}: {self.n_samples} draws in {self.sampling_seconds:.1f} s, "
            f"{self.divergences} divergences",
            f"max R-hat {self.max_r_hat:.3f}; main parameters: min bulk ESS "
            f"{main['ess_bulk'].min():.0f}, min tail ESS {main['ess_tail'].min():.0f}; "
            f"all parameters: min bulk ESS {self.min_ess_bulk:.0f}",
            f"bulk ESS per second (main, min): {ess_per_s:.1f}",
        ]
        probs = self.problems()
        lines += [f"WARNING: {p}" for p in probs] or ["all convergence checks passed"]
        return "\n".join(lines)


@dataclass(frozen=True)
class SamplerSettings:
    """The settings of one NUTS run that a refit changes.

    Parameters
    ----------
    draws : int
        Posterior draws kept per chain.
    tune : int
        Warm-up iterations per chain.
    target_accept : float
        NUTS target acceptance rate (fraction).
    """

    draws: int
    tune: int
    target_accept: float

    def describe(self) -> str:
        """Return the settings in one line."""
        return f"draws {self.draws}, tune {self.tune}, target_accept {self.target_accept:.3f}"


#: Most draws (and warm-up) a refit asks for, as a multiple of the first fit's.
MAX_DRAWS_FACTOR = 4
#: Highest target acceptance rate a refit sets.
MAX_TARGET_ACCEPT = 0.99


def refit_settings(
    diag: Diagnostics,
    current: SamplerSettings,
    first: SamplerSettings,
    r_hat_max: float = 1.01,
    ess_min: float = 400.0,
) -> SamplerSettings | None:
    """Return the next, more careful fit's settings when ``diag`` fails a check, else None.

    What each failed check changes (the advice of :meth:`Diagnostics.problems`,
    applied):

    * divergent transitions: ``target_accept`` moves two thirds of the way to 1
      (0.9 -> 0.967 -> 0.989; at most :data:`MAX_TARGET_ACCEPT`), so NUTS takes
      smaller steps where the posterior curves sharply;
    * R-hat above ``r_hat_max``: twice the warm-up and twice the draws;
    * bulk or tail ESS of a main parameter below ``ess_min``: draws scaled by
      1.3 x ``ess_min`` / the smallest ESS (between x1.5 and x3), since ESS grows
      in proportion to the draws of a chain that mixes.

    Draws and warm-up stay at most :data:`MAX_DRAWS_FACTOR` times the first fit's.

    Parameters
    ----------
    diag : Diagnostics
        The checks of the fit just done.
    current : SamplerSettings
        Its settings.
    first : SamplerSettings
        The first fit's settings (the cap on the draws).
    r_hat_max, ess_min : float
        The checks' thresholds (as :meth:`Diagnostics.problems`).

    Returns
    -------
    SamplerSettings or None
        None when every check passes, when ``diag`` is not from NUTS, or when
        nothing is left to raise (draws at their cap and target_accept at its
        ceiling).
    """
    if diag.sampler == "advi" or not diag.problems(r_hat_max, ess_min):
        return None
    draws, tune, accept = current.draws, current.tune, current.target_accept
    if diag.divergences:
        accept = min(MAX_TARGET_ACCEPT, 1.0 - (1.0 - accept) / 3.0)
    rh = diag.table["r_hat"].to_numpy(dtype=float)
    if np.isfinite(rh).any() and np.nanmax(rh) > r_hat_max:
        tune = min(tune * 2, max(first.tune * MAX_DRAWS_FACTOR, tune))
        draws *= 2
    main = diag.main()
    if len(main):
        ess = float(min(main["ess_bulk"].min(), main["ess_tail"].min()))
        if ess < ess_min:
            factor = 1.3 * ess_min / max(ess, 1.0)
            draws = max(draws, int(np.ceil(current.draws * min(max(factor, 1.5), 3.0))))
    if draws != current.draws:  # whole hundreds
        draws = min(int(-(-draws // 100) * 100), max(first.draws * MAX_DRAWS_FACTOR, current.draws))
    out = SamplerSettings(draws, tune, round(accept, 4))
    return None if out == current else out


def compute_diagnostics(
    idata: Any,
    main_params: tuple[str, ...],
    seconds: float,
    sampler: str,
    earlier_fits: tuple[str, ...] = (),
) -> Diagnostics:
    """Compute R-hat, bulk and tail ESS for every free parameter of ``idata``.

    Parameters
    ----------
    idata : arviz.InferenceData
        Result of the sampler.
    main_params : tuple of str
        Names treated as main parameters (the others are per-rep effects and
        derived quantities).
    seconds : float
        Wall time of the fit, in seconds.
    sampler : str
        Sampler name.
    earlier_fits : tuple of str
        Earlier fits redone (see :attr:`Diagnostics.earlier_fits`).
    """
    post = idata.posterior
    # nutpie also stores the unconstrained values (``sigma_log__``...): report the model's own
    names = [v for v in post.data_vars if v != "team_mean" and not str(v).endswith("__")]
    # ArviZ's summary(kind="diagnostics"), all elements at once (mcmc_stats: same numbers)
    tab = diagnostics_table(post, names)
    base = tab.index.to_series().str.replace(r"\[.*\]$", "", regex=True)
    tab["main"] = base.isin(main_params).to_numpy()
    div = 0
    if "sample_stats" in idata and "diverging" in idata.sample_stats:
        div = int(idata.sample_stats["diverging"].sum())
    n = int(post.sizes["chain"] * post.sizes["draw"])
    return Diagnostics(tab, div, n, seconds, sampler, earlier_fits)
