"""Compile the forecaster's building blocks once, so a machine's first fit compiles less.

The first Bayesian fit on a fresh machine spends about half a minute compiling
the pieces every graph of the forecaster is made of (PyTensor's elementwise
operations, numba's versions of them). They are cached on disk in PyTensor's
compile directory (``PYTENSOR_FLAGS=base_compiledir=...``, default
``~/.pytensor``; numba's files under its ``numba`` folder) and reused by every
later fit whatever the size of its panel. :func:`warm_up` compiles a tiny model of each kind (no
sampling) to fill those caches; ``make venv`` runs it (``spm warmup``) into the
project's cache, which every ``make`` target uses. A later fit still
compiles its own graph, once per panel (about 15-20 s for 50 x 180 on the 2-core
development machine; 6-7 s when the graph is cached).
"""

from __future__ import annotations

import time
import warnings

__all__ = ["warm_up"]

WARM_UP_MODELS = ("state_space", "regression")


def warm_up(models: tuple[str, ...] = WARM_UP_MODELS) -> dict[str, float]:
    """Compile a tiny forecasting model of each kind into the on-disk caches.

    Parameters
    ----------
    models : tuple of str
        Model kinds to compile: ``"state_space"`` (the default for 36 months of
        history or more) and ``"regression"``; each with the hurdle for months
        without bookings and the kind's default likelihood.

    Returns
    -------
    dict
        Seconds spent per kind (wall clock; a warm cache gives a few seconds).

    Raises
    ------
    SpmConfigError
        An unknown model kind.
    """
    from spm_model.errors import SpmConfigError

    unknown = sorted(set(models) - set(WARM_UP_MODELS))
    if unknown:
        raise SpmConfigError(f"warm_up: unknown model kind(s) {unknown}; use {WARM_UP_MODELS}")
    import nutpie

    from spm_model.forecast.estimator import (
        build_configured_model,
        config_from,
        ieee_compilation,
        make_design,
        prepare_panel,
    )
    from spm_model.forecast.numba_linking import link_by_symbol
    from spm_model.forecast.simulate import simulate_panel

    cfg = config_from({"drift": "shared"})  # the building blocks of every panel size
    panel, _ = simulate_panel(n_reps=6, n_months=40, n_regions=2, teams_per_region=1, seed=0)
    design = make_design(prepare_panel(panel, None, None, None), cfg.block_months)
    out: dict[str, float] = {}
    for kind in models:
        t = time.perf_counter()
        model = build_configured_model(design, cfg, kind, use_hurdle=True)
        with warnings.catch_warnings(), ieee_compilation(), link_by_symbol():
            warnings.filterwarnings("ignore", category=UserWarning)
            warnings.filterwarnings("ignore", category=RuntimeWarning)
            nutpie.compile_pymc_model(model)
        out[kind] = time.perf_counter() - t
    return out
