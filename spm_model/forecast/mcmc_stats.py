"""R-hat, bulk and tail ESS and Monte Carlo errors of many parameters at once.

The same estimators as ArviZ's ``summary(kind="diagnostics")`` (rank-normalised
split R-hat and ESS, Vehtari et al. 2021, with Geyer's initial monotone
sequence), computed for every parameter element in one vectorised pass instead
of a Python call per element: ArviZ 0.23 loops over the elements, which took
about 4 s of a 40 s fit with 1,500 elements (``docs/performance.md``). The
results equal ArviZ's to rounding (tested element by element in
``tests/forecast/test_mcmc_stats.py``), and the table is rounded as ArviZ rounds
it (Monte Carlo errors to 3 decimals, ESS to whole draws, R-hat to 2 decimals).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import product

import numpy as np
import pandas as pd
from scipy import fft, special
from scipy.stats.mstats import mquantiles

__all__ = ["diagnostics_table", "multichain_statistics", "statistics_in_blocks"]

COLUMNS = ("mcse_mean", "mcse_sd", "ess_bulk", "ess_tail", "r_hat")
ROUNDING = {"mcse_mean": 3, "mcse_sd": 3, "ess_bulk": 0, "ess_tail": 0, "r_hat": 2}


def _autocov(x: np.ndarray) -> np.ndarray:
    """Autocovariance at every lag along the last axis (FFT; as ArviZ's ``autocov``)."""
    n = x.shape[-1]
    m = fft.next_fast_len(2 * n)
    x = x - x.mean(axis=-1, keepdims=True)
    # independent transforms, threads split the batch: the same sums whatever the threads
    f = fft.rfft(x, n=m, axis=-1, workers=-1)
    f *= np.conjugate(f)
    cov = fft.irfft(f, n=m, axis=-1, workers=-1)[..., :n]
    cov /= n
    return cov


def _rank_average(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n of each row, ties given their average rank (scipy's ``"average"``)."""
    e, n = a.shape
    order = np.argsort(a, axis=1)
    s = np.take_along_axis(a, order, axis=1)
    pos = np.broadcast_to(np.arange(1.0, n + 1.0), a.shape)
    tie = s[:, 1:] == s[:, :-1]
    if tie.any():
        new = np.ones(a.shape, dtype=bool)
        new[:, 1:] = ~tie
        group = (np.cumsum(new, axis=1) + (np.arange(e) * (n + 1))[:, None]).ravel()
        mean = np.bincount(group, weights=pos.ravel()) / np.maximum(np.bincount(group), 1)
        sorted_rank = mean[group].reshape(a.shape)
    else:
        sorted_rank = pos
    rank = np.empty(a.shape)
    np.put_along_axis(rank, order, sorted_rank, axis=1)
    return rank


def _split(x: np.ndarray) -> np.ndarray:
    """Split each chain in two halves (``(E, C, D)`` to ``(E, 2C, D // 2)``)."""
    half = x.shape[-1] // 2
    return np.concatenate((x[..., :half], x[..., -half:]), axis=1)


def _z_scale(x: np.ndarray) -> np.ndarray:
    """Rank-normalise each element's draws (Blom's offset 3/8)."""
    flat = x.reshape(x.shape[0], -1)
    size = flat.shape[1]
    return special.ndtri((_rank_average(flat) - 0.375) / (size - 0.75 + 1.0)).reshape(x.shape)


def _ess(x: np.ndarray) -> np.ndarray:
    """Effective sample size of each element of ``x`` (``(E, chains, draws)``)."""
    x = np.asarray(x, dtype=float)
    e, n_chain, n_draw = x.shape
    out = np.full(e, np.nan)
    nan = np.isnan(x).any(axis=(1, 2))
    with np.errstate(invalid="ignore"):
        spread = x.max(axis=(1, 2)) - x.min(axis=(1, 2))
    const = ~nan & (spread < np.finfo(float).resolution)
    out[const] = n_chain * n_draw
    work = np.flatnonzero(~nan & ~const)
    if not len(work):
        return out
    xs = x[work]
    k = len(work)
    acov = _autocov(xs)
    acm = acov.mean(axis=1)  # mean over chains, per lag
    mean_var = acov[:, :, 0].mean(axis=1) * n_draw / (n_draw - 1.0)
    var_plus = mean_var * (n_draw - 1.0) / n_draw
    if n_chain > 1:
        var_plus = var_plus + np.var(xs.mean(axis=2), axis=1, ddof=1)
    rho = np.zeros((k, n_draw))
    rho[:, 0] = 1.0
    rho_even = np.ones(k)
    rho_odd = 1.0 - (mean_var - acm[:, 1]) / var_plus
    rho[:, 1] = rho_odd
    # Geyer's initial positive sequence, each element stopping on its own
    t = np.ones(k, dtype=np.int64)
    active = np.ones(k, dtype=bool)
    tt = 1
    while True:
        active &= (tt < n_draw - 3) & (rho_even + rho_odd > 0.0)
        if not active.any():
            break
        a = np.flatnonzero(active)
        re = 1.0 - (mean_var[a] - acm[a, tt + 1]) / var_plus[a]
        ro = 1.0 - (mean_var[a] - acm[a, tt + 2]) / var_plus[a]
        rho_even[a], rho_odd[a] = re, ro
        keep = re + ro >= 0
        rho[a[keep], tt + 1] = re[keep]
        rho[a[keep], tt + 2] = ro[keep]
        t[a] += 2
        tt += 2
    max_t = t - 2
    rows = np.arange(k)
    pos = rho_even > 0
    rho[rows[pos], max_t[pos] + 1] = rho_even[pos]
    # Geyer's initial monotone sequence
    tt = 1
    while True:
        a = np.flatnonzero(tt <= max_t - 2)
        if not len(a):
            break
        up = (rho[a, tt + 1] + rho[a, tt + 2]) > (rho[a, tt - 1] + rho[a, tt])
        b = a[up]
        rho[b, tt + 1] = (rho[b, tt - 1] + rho[b, tt]) / 2.0
        rho[b, tt + 2] = rho[b, tt + 1]
        tt += 2
    lag = np.arange(n_draw)[None, :]
    head = (rho * (lag <= max_t[:, None])).sum(axis=1)
    nxt = np.where(max_t + 1 < n_draw, rho[rows, np.minimum(max_t + 1, n_draw - 1)], 0.0)
    tau = -1.0 + 2.0 * head + nxt
    total = n_chain * n_draw
    tau = np.maximum(tau, 1.0 / np.log10(total))
    ess = total / tau
    ess[np.isnan(rho).any(axis=1)] = np.nan
    out[work] = ess
    return out


def _rhat(x: np.ndarray) -> np.ndarray:
    """Split R-hat of already split (and normalised) draws ``(E, chains, draws)``."""
    n = x.shape[2]
    chain_mean = x.mean(axis=2)
    within = np.var(x, axis=2, ddof=1).mean(axis=1)
    between = n * np.var(chain_mean, axis=1, ddof=1)
    return np.sqrt((between / within + n - 1) / n)


def multichain_statistics(x: np.ndarray) -> np.ndarray:
    """``mcse_mean, mcse_sd, ess_bulk, ess_tail, r_hat`` of each element.

    Parameters
    ----------
    x : ndarray
        Draws, ``(elements, chains, draws)``.

    Returns
    -------
    ndarray
        ``(elements, 5)``, unrounded; NaN for elements with a NaN draw or fewer
        than 4 draws (R-hat also with one chain).
    """
    x = np.asarray(x, dtype=float)
    e, n_chain, n_draw = x.shape
    out = np.full((e, 5), np.nan)
    ok = ~np.isnan(x).any(axis=(1, 2)) & (n_draw >= 4) & (n_chain >= 1)
    if not ok.any():
        return out
    v = x[ok]
    split = _split(v)
    z_split = _z_scale(split)
    q = mquantiles(v.reshape(len(v), -1), [0.05, 0.95], alphap=1, betap=1, axis=1)
    q = np.asarray(q)
    lo = _ess(_split(v <= q[:, 0, None, None]))
    hi = _ess(_split(v <= q[:, 1, None, None]))
    ess_tail = np.minimum(lo, hi)
    ess_tail = np.where(np.isnan(lo) | np.isnan(hi), np.nan, ess_tail)
    if n_chain >= 2:
        flat = v.reshape(len(v), -1)
        folded = np.abs(v - np.median(flat, axis=1)[:, None, None])
        r_hat = np.maximum(_rhat(z_split), _rhat(_z_scale(_split(folded))))
    else:
        r_hat = np.full(len(v), np.nan)
    ess_mean = _ess(split)
    sims_c2 = (v - v.mean(axis=(1, 2), keepdims=True)) ** 2
    c2_sum = sims_c2.sum(axis=(1, 2))
    size = n_chain * n_draw
    with np.errstate(invalid="ignore", divide="ignore"):
        mcse_mean = np.sqrt(c2_sum / (size - 1) / ess_mean)
        evar = c2_sum / size
        varvar = ((sims_c2**2).mean(axis=(1, 2)) - evar**2) / _ess(_split(sims_c2))
        mcse_sd = np.sqrt(varvar / evar / 4)
    out[ok] = np.column_stack([mcse_mean, mcse_sd, _ess(z_split), ess_tail, r_hat])
    return out


#: Elements per block of :func:`statistics_in_blocks`: a block's draws stay in the processor's
#: caches (1,500 elements x 2 x 1,500 draws: 2.3 s in one block, 1.2 s in blocks of about 100,
#: 0.8 s on two threads; the development machine)
BLOCK_ELEMENTS = 96


def statistics_in_blocks(
    x: np.ndarray, block: int = BLOCK_ELEMENTS, workers: int | None = None
) -> np.ndarray:
    """:func:`multichain_statistics` of blocks of elements, on a few threads.

    Each element's statistics depend on its own draws only, so the result equals
    one call on the whole array to the bit; NumPy and SciPy release the GIL in
    the sorts, transforms and array arithmetic.

    Parameters
    ----------
    x : ndarray
        Draws, ``(elements, chains, draws)``.
    block : int
        Elements per block.
    workers : int, optional
        Threads; default the machine's cores, at most 4.
    """
    x = np.asarray(x, dtype=float)
    n_blocks = max(1, -(-len(x) // block))
    if n_blocks == 1:
        return multichain_statistics(x)
    workers = workers or min(4, os.cpu_count() or 1)
    parts = np.array_split(x, n_blocks)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return np.concatenate(list(pool.map(multichain_statistics, parts)), axis=0)


def _labels(name: str, da) -> list[str]:
    dims = [d for d in da.dims if d not in ("chain", "draw")]
    if not dims:
        return [name]
    vals = [list(dict.fromkeys(da[d].values)) for d in dims]
    return [f"{name}[{', '.join(str(v) for v in combo)}]" for combo in product(*vals)]


def diagnostics_table(posterior, var_names: Sequence[str]) -> pd.DataFrame:
    """ArviZ's ``summary(kind="diagnostics")`` table of ``var_names``, computed at once.

    Parameters
    ----------
    posterior : xarray.Dataset
        Draws with ``chain`` and ``draw`` dimensions first.
    var_names : sequence of str
        Variables to report, in order.

    Returns
    -------
    DataFrame
        Index ``name`` or ``name[coord, ...]``; columns ``mcse_mean, mcse_sd,
        ess_bulk, ess_tail, r_hat`` rounded as ArviZ rounds them.
    """
    blocks = []
    labels: list[str] = []
    for name in var_names:
        da = posterior[name].transpose("chain", "draw", ...)
        arr = np.asarray(da.values, dtype=float)
        c, d = arr.shape[:2]
        blocks.append(np.moveaxis(arr.reshape(c, d, -1), 2, 0))
        labels += _labels(name, da)
    if not blocks:
        return pd.DataFrame(columns=list(COLUMNS))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        values = statistics_in_blocks(np.concatenate(blocks, axis=0))
    table = pd.DataFrame(values, index=labels, columns=list(COLUMNS))
    return table.round(ROUNDING)
