"""The end-to-end report and the scorecard pages in a real browser (headless Chromium).

Which report: the real notebook ``notebooks/00_end_to_end_report.ipynb``, run once for
this module through ``spm``'s runner in quick mode with ``forecast_model="seasonal_naive"``
(about 30 s instead of 4-5 minutes: every section, table, figure and the summary are the
notebook's own; only the Bayesian forecast is swapped for the seasonal-naive baseline, whose
draws have the same layout). To check a report made otherwise (``make report``, a full
quick run), point ``SPM_REPORT_HTML`` at its HTML file; its ``.figures.json`` must sit
next to it. The scorecard pages come from ``spm scorecards`` on the sample company.

Checks at 1280 px: no table or figure overflows (the page and every container of a table
or image have no horizontal scroll), every image loads, the summary's numbers are on the
first screen, no "Traceback", no absolute path, no solver banner or library log, no
``NaN``/``None`` cells, and the tab title names the company and period. Full-page
screenshots go to ``reports/browser/`` (and the first screen of the report, as a reader
sees it); the time each page took to load to ``reports/browser/timings.txt``.

Skipped, with the reason, when the Debian ``chromium`` package or Playwright is missing
(``make browser`` installs Chromium).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spm_model.reports import present
from tests.browser import CHROMIUM, MISSING, launch

WIDTH, HEIGHT = 1280, 800
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
SHOTS = ROOT / "reports" / "browser"
TIMINGS: dict[str, float] = {}
# what a reader must never see: tracebacks, solver banners, sampler logs, raw warnings
FORBIDDEN = (
    "Traceback",
    "HiGHS",
    "Copyright",
    "Initializing NUTS",
    "Sequential sampling",
    "Sampling 2 chains",
    "UserWarning",
    "ConvergenceWarning",
    "convergence checks failed",
)
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])/(?:home|tmp|work|usr|root|Users|var|opt|private|mnt)/")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

if not CHROMIUM.exists():
    pytest.skip(
        MISSING,
        allow_module_level=True,
    )
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, dict]:
    """The report's HTML and its recorded figures (run once for the module)."""
    given = os.environ.get("SPM_REPORT_HTML")
    if given:
        html = Path(given)
        figures = json.loads(html.with_suffix(".figures.json").read_text())
        return html, figures
    from spm_model.runner import run_notebook

    out = tmp_path_factory.mktemp("report")
    t0 = time.perf_counter()
    res = run_notebook(
        ROOT / "notebooks" / "00_end_to_end_report.ipynb",
        out,
        {
            "data_path": str(SAMPLE),
            "plan_dir": str(ROOT / "templates" / "plans"),
            "output_dir": str(out / "end_to_end"),
            "quick": True,
            "forecast_model": "seasonal_naive",
        },
        name="end_to_end",
        timeout=600,
    )
    TIMINGS["run the report notebook (quick, seasonal naive)"] = time.perf_counter() - t0
    assert res.status == "ok"
    return Path(res.files["html"]), res.figures


@pytest.fixture(scope="module")
def scorecards(tmp_path_factory) -> Path:
    """Folder written by ``spm scorecards`` for 2026-Q3 of the sample company."""
    out = tmp_path_factory.mktemp("scorecards")
    spm = Path(sys.executable).parent / "spm"
    subprocess.run(
        [str(spm), "scorecards", "--data", str(SAMPLE), "--period", "2026-Q3", "--out", str(out)],
        check=True,
        capture_output=True,
        cwd=ROOT,
        timeout=600,
    )
    return out


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()
    SHOTS.mkdir(parents=True, exist_ok=True)
    lines = [f"{k}: {v:.1f} s" for k, v in TIMINGS.items()]
    (SHOTS / "timings.txt").write_text("\n".join(lines) + "\n")


# every table and image, and each of its ancestors: content wider than the box is overflow
_OVERFLOW_JS = """
() => {
  const out = [];
  const vw = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > vw + 1)
    out.push(`page: ${document.documentElement.scrollWidth}px wide in a ${vw}px window`);
  for (const el of document.querySelectorAll("table, img")) {
    const r = el.getBoundingClientRect();
    const name = el.tagName.toLowerCase() + (el.alt ? `[${el.alt}]` : "")
      + ` "${(el.innerText || "").slice(0, 40).replace(/\\s+/g, " ")}"`;
    if (r.right > vw + 1) out.push(`${name} ends at ${Math.round(r.right)}px > ${vw}px`);
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (a.scrollWidth > a.clientWidth + 1) {
        out.push(`${name} overflows its container (${a.scrollWidth} > ${a.clientWidth}px)`);
        break;
      }
    }
  }
  return out;
}
"""
_BROKEN_IMAGES_JS = """
() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))
  .map(i => i.alt || i.src.slice(0, 60))
"""


def _open(browser, path: Path, label: str):
    page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    t0 = time.perf_counter()
    page.goto(path.as_uri(), wait_until="load")
    TIMINGS[f"load {label}"] = time.perf_counter() - t0
    return page


def _check_page(page, label: str, secret_paths: list[str]) -> str:
    """Common checks; returns the page's visible text."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{label}.png"), full_page=True)
    assert page.evaluate(_OVERFLOW_JS) == [], label
    assert page.evaluate(_BROKEN_IMAGES_JS) == [], label
    text = page.inner_text("body")
    for word in FORBIDDEN:
        assert word not in text, f"{label}: {word!r} on the page"
    assert not ABSOLUTE_PATH.search(text), f"{label}: {ABSOLUTE_PATH.search(text)[0]!r}"
    source = page.content()
    for secret in secret_paths:
        assert secret not in source, f"{label}: {secret} in the page source"
    cells = page.eval_on_selector_all("td", "els => els.map(e => e.innerText.trim())")
    bad = sorted({c for c in cells if c in ("nan", "NaN", "None", "NaT", "<NA>")})
    assert not bad, f"{label}: cells {bad}"
    return text


def test_report_opens_with_the_summary_and_reads_cleanly(browser, report):
    html, figures = report
    page = _open(browser, html, "end_to_end report")
    try:
        secrets = [str(ROOT), str(html.parent)]
        text = _check_page(page, "end_to_end", secrets)
        page.screenshot(path=str(SHOTS / "end_to_end_first_screen.png"))
        title = figures["report_title"]
        assert page.title() == title and "Northwind Analytics" in title and "2026-Q3" in title
        # the numbers a CFO asks for, each on the first screen with its meaning
        money = lambda x: present.format_money(x, "USD", compact=True)  # noqa: E731
        expected = {
            "payable": money(figures["payable_total"]),
            "comp cost P50": money(figures["comp_cost_p50"]),
            "comp cost P90": f"P90 {money(figures['comp_cost_p90'])}",
            "budget": money(figures["comp_budget"]),
            "chance over budget": present.format_percent(figures["comp_p_over_budget"]),
            "reps at quota": present.format_percent(figures["share_expected_at_quota"]),
            "next quarter": money(figures["forecast_next_quarter_mean"]),
            "80% range": f"80% range {money(figures['forecast_next_quarter_p10'])}",
        }
        cards = page.locator(".spm-card")
        assert cards.count() == 8
        for i in range(cards.count()):
            box = cards.nth(i).bounding_box()
            assert box is not None and box["y"] + box["height"] <= HEIGHT, (
                f"summary card {i} is below the first screen"
            )
            meaning = cards.nth(i).locator(".spm-meaning").inner_text()
            assert len(meaning.split()) >= 4, f"card {i} has no meaning line"
        first_screen = cards.all_inner_texts()
        joined = "\n".join(first_screen)
        for what, value in expected.items():
            assert value in joined, f"{what}: {value!r} not in the summary"
        assert "Chance of going over budget".upper() in joined.upper()
        # next year's cost: the fiscal year of the quota proposal, at the proposed quotas
        assert figures["comp_cost_year"] == f"FY{figures['quota_year']}"
        assert f"Comp cost FY{figures['quota_year']}, P50".upper() in joined.upper()
        assert "at the proposed quotas" in joined
        # the summary comes before every section
        assert text.index("sales compensation report, 2026-Q3") < text.index("1. Data health")
        # plots drawn and tables formatted
        assert page.locator("img").count() >= 6
        assert page.locator("table.spm-table").count() >= 8
        assert "Forecast by the seasonal naive baseline" in text or "Forecast model checks" in text
    finally:
        page.close()


def test_scorecard_pages_fit_and_load(browser, scorecards):
    pages = [scorecards / "index.html", *sorted((scorecards / "teams").glob("*.html"))]
    assert len(pages) >= 2
    for path in pages:
        label = "scorecards_index" if path.name == "index.html" else f"scorecards_{path.stem}"
        page = _open(browser, path, label)
        try:
            text = _check_page(page, label, [str(scorecards), str(ROOT)])
            if path.name == "index.html":
                assert page.locator("img").count() == 2
                assert "2026-Q3" in page.title()
                # region 'All' (leaders measured on company roll-ups) is not a region's line
                assert "reps whose region is All are in the charts by role" in text
            else:
                headers = page.eval_on_selector_all("th", "els => els.map(e => e.innerText)")
                assert "note" not in [h.strip().lower() for h in headers]
                widths = page.eval_on_selector_all(
                    "table.t td", "els => els.map(e => e.getBoundingClientRect().width)"
                )
                assert min(widths) > 20  # no column squeezed to a word a line
        finally:
            page.close()
