"""The served apps in a real browser: `spm serve` on a copy of the sample company, in Chromium.

One server and one browser for the whole module. Skipped, with the reason, when the
Debian ``chromium`` package, Playwright or Voila is missing (``make browser`` installs
Chromium). Screenshots of the three apps go to ``reports/apps/``; page load times to
``reports/apps/browser_timings.txt``.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from spm_model.apps.access import Scope, issue_links
from spm_model.apps.scope import subtree
from spm_model.calc import as_of, credit_dataset, payable, what_if
from spm_model.data import load_dataset
from spm_model.performance import load_plans
from tests.browser import CHROMIUM, MISSING, free_port, launch

DAY = "2026-08-20"
REP, OTHER, MANAGER = "R0013", "R0024", "R0006"
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "reports" / "apps"
TIMINGS: dict[str, float] = {}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

if not CHROMIUM.exists():
    pytest.skip(
        MISSING,
        allow_module_level=True,
    )
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytest.importorskip("voila", reason="voila is not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serve(tmp_path_factory, preheat=0)


def serve(tmp_path_factory, preheat: int):
    """Run `spm serve` on a copy of the sample company; ``preheat`` kernels per app."""
    work = tmp_path_factory.mktemp("serve")
    data = work / "company"
    shutil.copytree(ROOT / "data" / "sample", data)
    (data / "disputes.journal.jsonl").unlink(missing_ok=True)
    access = work / "access.yaml"
    tokens = {
        s.key: t
        for s, t in issue_links(
            access,
            [Scope("rep", REP), Scope("rep", OTHER), Scope("manager", MANAGER), Scope("finance")],
        )
    }
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "spm"),
            "serve",
            "--data",
            str(data),
            "--plans",
            str(ROOT / "templates" / "plans"),
            "--access",
            str(access),
            "--port",
            str(port),
            "--cache",
            str(work / "cache"),
            "--as-of",
            DAY,
            "--preheat",
            str(preheat),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=work,
    )
    banner = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        banner.append(line)
        if "Serving the apps" in line or proc.poll() is not None:
            break
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    TIMINGS["server start incl. warm-up (s)"] = time.perf_counter() - t0
    assert proc.poll() is None, "".join(banner) + proc.stdout.read()
    yield {
        "url": f"http://127.0.0.1:{port}",
        "tokens": tokens,
        "data": data,
        "banner": "".join(banner),
        "cache": work / "cache",
    }
    import psutil

    # voila and its kernels, started by `spm serve`: SIGTERM to `spm serve` must stop them too
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    _gone, alive = psutil.wait_procs(children, timeout=30)
    for p in alive:
        p.kill()
    assert children and not alive, f"spm serve left running: {[p.pid for p in alive]}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "browser_timings.txt").write_text(
        "".join(f"{k}: {v:.2f}\n" for k, v in TIMINGS.items())
    )


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def truth():
    """The exact engine on the whole company (what every figure must equal)."""
    ds = load_dataset(ROOT / "data" / "sample")
    plans = load_plans(ROOT / "templates" / "plans")
    return ds, plans, credit_dataset(ds, plans)


def open_page(browser, server, app: str, key: str | None, label: str, **params: str):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    q = "&".join(
        [*([f"key={key}"] if key is not None else []), *[f"{k}={v}" for k, v in params.items()]]
    )
    t0 = time.perf_counter()
    page.goto(f"{server['url']}/voila/render/{app}.ipynb" + (f"?{q}" if q else ""))
    page.wait_for_selector(
        ".spm-built, #spm-refusal, #spm-error", state="attached", timeout=120_000
    )
    TIMINGS[f"page load {label} (s)"] = time.perf_counter() - t0
    return page


def figure(page, name: str) -> float:
    el = page.wait_for_selector(f'.spm-figure[data-name="{name}"]', state="attached")
    return float(el.get_attribute("data-value"))


def rep_ids(text: str) -> set[str]:
    return set(re.findall(r"\bR\d{4}\b", text))


def test_server_binds_localhost_and_says_so(server):
    assert "localhost only" in server["banner"]
    assert "Prepared 4 link(s)" in server["banner"]


def test_rep_page_shows_the_exact_as_of_payable(browser, server, truth):
    ds, plans, cr = truth
    page = open_page(browser, server, "my_pay", server["tokens"][f"rep-{REP}"], "my_pay (rep)")
    plan = plans[ds.reps.set_index("rep_id").at[REP, "plan_id"]]
    base = as_of(plan, ds, DAY, credits=cr, reps=[REP])
    assert figure(page, "payable_now") == round(float(payable(base)[REP]), 2)
    at100 = payable(what_if(base, REP, attainment=1.0))[REP]
    assert figure(page, "payable_at_100") == round(float(at100), 2)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "my_pay.png"), full_page=True)
    # what-if: the engine's figure for one more deal closed today
    page.fill(".spm-whatif-input input", "50000")
    page.click(".spm-whatif-go")
    shown = figure(page, "payable_with_deals")
    assert shown == round(float(payable(what_if(base, REP, deals=[50000.0]))[REP]), 2)
    assert shown > figure(page, "payable_now")
    # access: nothing of another rep anywhere in the page
    content = page.content()
    assert rep_ids(content) == {REP}
    others = ds.reps.loc[ds.reps["rep_id"] != REP, "name"]
    assert not [n for n in others if n in content]
    page.close()


def test_a_dispute_raised_by_a_rep_shows_in_the_managers_app(browser, server):
    page = open_page(browser, server, "my_pay", server["tokens"][f"rep-{REP}"], "my_pay (dispute)")
    page.select_option(".spm-dispute-line select", index=0)
    page.fill(".spm-dispute-amount input", "123.45")
    page.fill(".spm-dispute-reason textarea", "Deal T-42 credited to the wrong quarter")
    page.click(".spm-dispute-go")
    dispute_id = page.wait_for_selector(".spm-dispute-id").inner_text()
    assert re.fullmatch(r"W\d{6}", dispute_id)
    page.close()
    team = open_page(browser, server, "my_team", server["tokens"][f"manager-{MANAGER}"], "my_team")
    table = team.inner_text("body")
    assert dispute_id in table and "wrong quarter" in table
    team.screenshot(path=str(SHOTS / "my_team.png"), full_page=True)
    team.close()
    # another manager's team does not see it: R0024's own link has no team app
    other = open_page(browser, server, "my_team", server["tokens"][f"rep-{OTHER}"], "refused")
    assert other.query_selector("#spm-refusal") is not None
    other.close()


def test_a_manager_link_shows_exactly_their_subtree(browser, server, truth):
    ds, _, _ = truth
    page = open_page(browser, server, "my_team", server["tokens"][f"manager-{MANAGER}"], "my_team")
    shown = rep_ids(page.content())
    team = subtree(ds.reps, MANAGER)
    assert shown <= team
    active = set(ds.reps.loc[ds.reps["end_date"].isna() | (ds.reps["end_date"] >= DAY), "rep_id"])
    assert shown >= team & active
    page.close()


@pytest.mark.parametrize("key", [None, "", "not-a-real-token-0123456789abcdef"])
def test_a_missing_or_unknown_token_gets_only_the_refusal_page(browser, server, key):
    page = open_page(browser, server, "my_pay", key, f"refusal {key!r}")
    assert page.query_selector("#spm-refusal") is not None
    text = page.inner_text("body")
    assert "Access refused" in text
    assert not rep_ids(page.content()) and "Payable" not in text and "USD" not in text
    page.close()


def test_comp_cost_app_for_finance(browser, server):
    page = open_page(browser, server, "comp_cost", server["tokens"]["finance"], "comp_cost")
    table = page.wait_for_selector(".spm-sim-result table", timeout=120_000)
    assert "saas_ae" in table.inner_text()
    page.screenshot(path=str(SHOTS / "comp_cost.png"), full_page=True)
    page.close()
    rep = open_page(browser, server, "comp_cost", server["tokens"][f"rep-{REP}"], "refused")
    assert rep.query_selector("#spm-refusal") is not None
    rep.close()


def test_new_transactions_show_on_the_next_page_load(browser, server):
    data = server["data"]
    asg = pd.read_csv(data / "assignments.csv")
    own = asg[(asg["rep_id"] == REP) & (asg["role"] == "owner")]
    own = own[(own["start_date"] <= DAY) & (own["end_date"].isna() | (own["end_date"] >= DAY))]
    account = own["account_id"].iloc[0]
    with open(data / "transactions.csv", "a", encoding="utf-8") as f:
        f.write(f"T99999999,2026-08-19,{account},P01,40000.0,booking,,1.0,30000.0,,{REP}\n")
    ds = load_dataset(data)
    plans = load_plans(ROOT / "templates" / "plans")
    cr = credit_dataset(ds, plans)
    plan = plans[ds.reps.set_index("rep_id").at[REP, "plan_id"]]
    want = round(float(payable(as_of(plan, ds, DAY, credits=cr, reps=[REP]))[REP]), 2)
    page = open_page(
        browser, server, "my_pay", server["tokens"][f"rep-{REP}"], "my_pay after new data"
    )
    assert figure(page, "payable_now") == want
    assert "T99999999" in ds.transactions["txn_id"].tolist()
    page.close()
