"""App views without a browser: every figure is the engine's; bundles hold only their scope."""

from __future__ import annotations

import pickle
import re

import pytest

from spm_model.apps import views
from spm_model.apps.access import Scope, issue_links
from spm_model.apps.bundle import build_bundles, fingerprint, load_bundle
from spm_model.apps.session import open_app
from spm_model.calc import WhatIfDeal, as_of, credit_dataset, payable, what_if
from spm_model.data import load_dataset
from spm_model.data.disputes import append_dispute
from spm_model.errors import SpmConfigError
from spm_model.performance import load_plans

DAY = "2026-08-20"
PLANS = "templates/plans"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    import shutil

    work = tmp_path_factory.mktemp("bundles")
    data = work / "company"
    shutil.copytree("data/sample", data)
    (data / "disputes.journal.jsonl").unlink(missing_ok=True)
    scopes = [Scope("rep", "R0013"), Scope("manager", "R0006")]
    paths = build_bundles(data, PLANS, scopes, work / "cache", DAY)
    ds = load_dataset(data)
    plans = load_plans(PLANS)
    return {
        "data": data,
        "cache": work / "cache",
        "paths": paths,
        "ds": ds,
        "plans": plans,
        "credits": credit_dataset(ds, plans),
    }


def test_a_rep_bundle_file_holds_no_other_rep(built):
    raw = built["paths"]["rep-R0013"].read_bytes()
    ids = set(re.findall(rb"R\d{4}", raw))
    assert ids == {b"R0013"}
    b = pickle.loads(raw)
    assert b.reps == {"R0013"} and set(b.card["rep_id"]) <= {"R0013"}
    assert not [c for c in b.card if c.endswith("_peer_median")]


def test_my_pay_figures_are_the_engines(built):
    b = load_bundle(built["data"], PLANS, Scope("rep", "R0013"), built["cache"], DAY)
    v = views.my_pay(b)
    ds, plans, cr = built["ds"], built["plans"], built["credits"]
    base = as_of(plans["saas_ae"], ds, DAY, credits=cr, reps=["R0013"])
    assert v.figures["payable_now"] == payable(base)["R0013"]
    assert v.figures["payable_at_120"] == payable(what_if(base, "R0013", attainment=1.2))["R0013"]
    r = views.what_if_deals(v, "50000, 1000:renewal")
    full = what_if(base, "R0013", deals=[WhatIfDeal(50000.0), WhatIfDeal(1000.0, "renewal")])
    assert r["payable"] == payable(full)["R0013"]
    assert r["change"] == round(r["payable"] - v.figures["payable_now"], 2)
    nt = v.next_tier
    assert nt is not None and nt.threshold > v.attainment
    at_tier = what_if(base, "R0013", deals=[WhatIfDeal(nt.to_book, nt.measure)])
    assert nt.payable_at_tier == payable(at_tier)["R0013"]
    line = at_tier.statement("R0013")
    line = line[line["component"] == nt.component]
    assert float(line["attainment"].iloc[0]) == pytest.approx(nt.threshold, abs=1e-6)
    with pytest.raises(SpmConfigError):
        views.what_if_deals(v, "  ")
    assert views.dispute_lines(v)[-1][1].endswith("TOTAL")
    # the attainment card is the statement's own (its first line with a quota)
    st = base.statement("R0013")
    first = st[st["quota"].notna() & (st["component"] != "TOTAL")].iloc[0]
    assert v.attainment == pytest.approx(float(first["attainment"]))
    assert v.pace == pytest.approx(v.attainment / v.expected_share)


def test_my_team_is_the_subtree_and_reads_disputes_live(built):
    b = load_bundle(built["data"], PLANS, Scope("manager", "R0006"), built["cache"], DAY)
    team = views.my_team(b)
    assert set(team.leaderboard["rep_id"]) <= b.reps - {"R0006"}
    assert team.disputes.empty or set(team.disputes["rep_id"]) <= b.reps
    row = append_dispute(built["data"], "R0013", "2026-Q3", 10.0, "missing split")
    append_dispute(built["data"], "R0024", "2026-Q3", 10.0, "not in this team")
    team = views.my_team(b)
    assert row["dispute_id"] in set(team.disputes["dispute_id"])
    assert "R0024" not in set(team.disputes["rep_id"])
    pays = b.payouts.set_index("rep_id")["payout_now"]
    ds, plans, cr = built["ds"], built["plans"], built["credits"]
    full = as_of(plans["saas_ae"], ds, DAY, credits=cr, reps=["R0016"])
    assert pays["R0016"] == payable(full)["R0016"]


def test_fingerprint_follows_the_data_not_the_disputes(built, tmp_path):
    import shutil

    d = tmp_path / "c"
    shutil.copytree(built["data"], d)
    fp = fingerprint(d, PLANS)
    append_dispute(d, "R0013", "2026-Q3", 1.0, "x")
    assert fingerprint(d, PLANS) == fp
    with open(d / "transactions.csv", "a") as f:
        f.write("T99999998,2026-08-19,A0001,P01,1.0,booking,,1.0,1.0,,\n")
    assert fingerprint(d, PLANS) != fp


def test_open_app_refuses_without_a_valid_link(built, tmp_path, monkeypatch):
    access = tmp_path / "access.yaml"
    tok = dict((s.key, t) for s, t in issue_links(access, [Scope("rep", "R0013")]))
    monkeypatch.setenv("SPM_APP_ACCESS", str(access))
    monkeypatch.setenv("SPM_APP_DATA", str(built["data"]))
    monkeypatch.setenv("SPM_APP_PLANS", PLANS)
    monkeypatch.setenv("SPM_APP_CACHE", str(built["cache"]))
    monkeypatch.setenv("SPM_APP_AS_OF", DAY)
    for q in ("", "key=", "key=nope", f"key={tok['rep-R0013']}x"):
        assert 'id="spm-refusal"' in open_app("my_pay", q).value
    assert 'id="spm-refusal"' in open_app("my_team", f"key={tok['rep-R0013']}").value
    assert 'id="spm-refusal"' in open_app("my_pay", f"key={tok['rep-R0013']}&rep=R0014").value
    page = open_app("my_pay", f"key={tok['rep-R0013']}")
    html = page.children[0].children[0].value
    assert 'id="spm-refusal"' not in html and "payable_now" in html
