"""Pre-heated kernels (`spm serve --preheat 1`): the same exact figures, faster pages.

A pre-heated kernel has started and imported the package before the request; it then waits
for the request's query string (the link's key). The page must show exactly what a cold
kernel shows. Load times are written to ``reports/apps/preheat_timings.txt`` (they are
measured after warm-up; no time is asserted, the machine running the tests may be loaded).
"""

from __future__ import annotations

import time

import pytest

from tests.apps.test_browser import (  # noqa: F401  (fixtures)
    DAY,
    REP,
    SHOTS,
    as_of,
    browser,
    figure,
    open_page,
    payable,
    serve,
    truth,
)

pytestmark = pytest.mark.slow  # long: `make test-slow` (CI runs it too)
TIMES: dict[str, float] = {}


@pytest.fixture(scope="module")
def hot_server(tmp_path_factory):
    yield from serve(tmp_path_factory, preheat=1)


def _timed(chromium, server, app, key, label):
    t0 = time.perf_counter()
    page = open_page(chromium, server, app, key, label)
    TIMES[label] = time.perf_counter() - t0
    return page


def test_preheated_page_shows_the_exact_payable(browser, hot_server, truth):  # noqa: F811
    ds, plans, cr = truth
    key = hot_server["tokens"][f"rep-{REP}"]
    # warm-up: the first request may wait for the pool's first kernel
    _timed(browser, hot_server, "my_pay", key, "my_pay first (warm-up)").close()
    time.sleep(8)  # let the pool start the replacement kernel
    page = _timed(browser, hot_server, "my_pay", key, "my_pay after warm-up")
    plan = plans[ds.reps.set_index("rep_id").at[REP, "plan_id"]]
    base = as_of(plan, ds, DAY, credits=cr, reps=[REP])
    assert figure(page, "payable_now") == round(float(payable(base)[REP]), 2)
    page.close()
    time.sleep(8)
    refused = _timed(browser, hot_server, "my_pay", "not-a-key", "refusal after warm-up")
    assert refused.query_selector("#spm-refusal") is not None
    assert refused.query_selector(".spm-figure") is None  # no figures on a refusal
    refused.close()
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "preheat_timings.txt").write_text(
        "".join(f"{k} (s): {v:.2f}\n" for k, v in TIMES.items())
    )
