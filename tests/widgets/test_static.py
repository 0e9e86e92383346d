"""Widgets in a non-interactive run: no comm to a front end, a static snapshot instead."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spm_model.plans import load_plan
from spm_model.widgets import PlanDesigner, ui

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def plan():
    return load_plan(ROOT / "templates" / "plans" / "saas_ae.yaml")


@pytest.fixture
def opened(monkeypatch):
    """Record every comm ipywidgets opens to a front end."""
    import comm
    import ipywidgets.comm as wcomm

    calls: list[str] = []

    def record(*args, **kwargs):
        calls.append(kwargs.get("target_name", ""))
        return comm.DummyComm(*args, **kwargs)

    monkeypatch.setattr(wcomm, "create_comm", record)
    return calls


def _cost(p):
    return np.array([1.0, 2.0, 3.0]), 2.5


def test_static_mode_follows_the_environment(monkeypatch):
    monkeypatch.delenv(ui.STATIC_ENV, raising=False)
    assert not ui.static_mode()
    for value in ("1", "true", "YES"):
        monkeypatch.setenv(ui.STATIC_ENV, value)
        assert ui.static_mode()
    monkeypatch.setenv(ui.STATIC_ENV, "0")
    assert not ui.static_mode()


def test_interactive_designer_opens_comms(monkeypatch, opened, plan):
    monkeypatch.delenv(ui.STATIC_ENV, raising=False)
    d = PlanDesigner(plan, cost_function=_cost, plot=False)
    assert not d.static and "jupyter.widget" in opened


def test_static_designer_sends_nothing_and_snapshots(monkeypatch, opened, plan):
    monkeypatch.setenv(ui.STATIC_ENV, "1")
    d = PlanDesigner(plan, cost_function=_cost, plot=False)
    assert d.static and opened == []
    # the controls still drive the model (same callbacks), still without comms
    d.step_inputs[2]["rate"].value = 4.0
    assert d.error == "" and d.plan is not plan
    d.component.value = "renewals"
    assert d.kind == "points" and opened == []
    html = d.snapshot_html()
    assert plan.name in html and "renewals" in html and "points" in html
    assert "<table" in html and "valid plan; payout at 100% of quota" in html
    # the comm factory is restored afterwards
    import ipywidgets.comm as wcomm

    assert wcomm.create_comm.__name__ == "record"


def test_static_display_is_html_not_a_widget_view(monkeypatch, plan):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    monkeypatch.setenv(ui.STATIC_ENV, "1")
    had_shell = InteractiveShell.initialized()
    InteractiveShell.instance()
    try:
        d = PlanDesigner(plan, cost_function=_cost, plot=False)
        with capture_output() as cap:
            d._ipython_display_()
    finally:
        if not had_shell:
            InteractiveShell.clear_instance()
    data = [o.data for o in cap.outputs]
    assert data and all("application/vnd.jupyter.widget-view+json" not in x for x in data)
    assert "Static snapshot of the PlanDesigner widget" in data[0]["text/html"]
