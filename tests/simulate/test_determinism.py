"""Same seed, same numbers: across chunk sizes and local vs Dask (bit-identical)."""

from __future__ import annotations

import numpy as np
import pytest

from spm_model.simulate import simulate

FIELDS = [
    "cost_cents",
    "cost_pay_cents",
    "revenue_cents",
    "level_counts",
    "eligible",
    "leavers",
    "rep_sum_cents",
    "rep_detail_cents",
    "lev_pay_cents",
    "lev_ti_cents",
    "lev_n",
    "att_hist",
]


def _same(a, b):
    for f in FIELDS:
        x, y = getattr(a, f), getattr(b, f)
        assert x.dtype == y.dtype and np.array_equal(x, y), f


@pytest.fixture(scope="module")
def runs(saas_plan, make_model):
    model = make_model(6)
    out = {
        c: simulate(model, saas_plan, 52_000, seed=99, chunk_size=c, detail_scenarios=3_000)
        for c in (1_000, 7_777, 50_000)
    }
    return model, out


def test_chunk_sizes_bit_identical(runs):
    _, out = runs
    _same(out[1_000], out[7_777])
    _same(out[1_000], out[50_000])
    assert out[1_000].leavers.sum() > 0  # attrition exercised


def test_seed_changes_numbers(runs, saas_plan):
    model, out = runs
    other = simulate(model, saas_plan, 1_000, seed=100)
    assert not np.array_equal(other.cost_cents, out[1_000].cost_cents[:, :1_000])


def test_prefix_property(runs, saas_plan):
    """The first N scenarios do not depend on how many are run."""
    model, out = runs
    short = simulate(model, saas_plan, 1_234, seed=99, chunk_size=500)
    assert np.array_equal(short.cost_cents, out[1_000].cost_cents[:, :1_234])


def test_dask_local_cluster_identical(runs, saas_plan):
    distributed = pytest.importorskip("distributed")
    model, _ = runs
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster) as client:
            res = simulate(
                model,
                saas_plan,
                9_000,
                seed=99,
                chunk_size=7_777,
                backend="dask",
                client=client,
                detail_scenarios=3_000,
            )
        # the user path: a scheduler address (simulate opens and closes its own client)
        conv = simulate(
            model,
            saas_plan,
            1_000,
            seed=99,
            tol=0.004,
            max_scenarios=8_000,
            backend="dask",
            scheduler=cluster.scheduler_address,
        )
    local = simulate(model, saas_plan, 9_000, seed=99, chunk_size=1_000, detail_scenarios=3_000)
    _same(res, local)
    conv_local = simulate(model, saas_plan, 1_000, seed=99, tol=0.004, max_scenarios=8_000)
    assert conv.n_scenarios == conv_local.n_scenarios
    np.testing.assert_array_equal(conv.cost_cents, conv_local.cost_cents)
