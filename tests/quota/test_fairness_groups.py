"""Issue 14: fairness within role and measure, by region and team, with a test."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from spm_model.cli import main
from spm_model.quota import fairness_report, set_quotas
from spm_model.quota.fairness import fairness_groups
from tests.quota.conftest import SAMPLE


def _per_rep(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for reg in ("North", "South", "East", "West"):
        for i in range(12):
            role = "AM" if i < 4 else "AE"
            spread = 1.5 if reg == "South" else 0.3  # South's accounts split very unevenly
            pot = 1e6 * np.exp(rng.normal(0, spread))
            # account managers carry five times the quota per unit of potential, by design
            q2p = (2.5 if role == "AM" else 0.5) * np.exp(rng.normal(0, 0.1))
            rows.append(
                {
                    "rep_id": f"{reg}{i}",
                    "measure": "new_business",
                    "role": role,
                    "region": reg,
                    "team": f"{reg}-{i % 2}",
                    "quota": q2p * pot,
                    "potential": pot,
                    "quota_to_potential": q2p,
                    "quota_vs_last_year": 1.1 * np.exp(rng.normal(0, 0.1)),
                }
            )
    return pd.DataFrame(rows)


def test_unbalanced_region_stands_out_and_role_mix_does_not():
    g = fairness_groups(_per_rep())
    out = g[g["stands_out"]]
    assert ("region", "South", "territory_balance") in set(
        zip(out["level"], out["group"], out["test"], strict=True)
    )
    # quota to potential differs by role only: no group stands out on it
    assert not (out["test"] == "quota_to_potential").any()
    row = g[(g["group"] == "South") & (g["test"] == "territory_balance")].iloc[0]
    assert row["group_value"] > 3 * row["rest_value"] and "territories unequal" in row["words"]


def test_a_region_given_more_quota_for_its_potential_stands_out():
    d = _per_rep(1)
    east = d["region"] == "East"
    d.loc[east, "quota_to_potential"] *= 1.6
    g = fairness_groups(d)
    hit = g[(g["group"] == "East") & (g["test"] == "quota_to_potential")].iloc[0]
    assert hit["stands_out"] and hit["group_value"] > 1.4 * hit["rest_value"]


def test_sample_role_mix_is_not_an_outlier_and_the_planted_region_is_found(sample):
    fr = fairness_report(set_quotas(sample, 2026, "blend"))
    am = fr.per_rep[fr.per_rep["role"] == "AM"]
    assert am["potential_outlier"].mean() <= 0.25  # was every account-manager renewal row
    planted = set(sample["truth_regions"].query("unbalanced")["region"])
    g = fr.groups
    found = g[g["stands_out"] & (g["test"] == "territory_balance") & (g["level"] == "region")]
    assert set(found["group"]) == planted


def test_cli_fairness_out_writes_csv_and_plot(tmp_path, monkeypatch, capsys):
    out = tmp_path / "fair.csv"
    argv = ["quota", "--data", SAMPLE, "--year", "2026", "--out", tmp_path / "q.csv"]
    monkeypatch.setattr(sys, "argv", ["spm", *map(str, [*argv, "--fairness-out", out])])
    try:
        main()
    except SystemExit as e:
        assert not e.code
    so = capsys.readouterr().out
    g = pd.read_csv(out)
    assert {"level", "group", "test", "p_adjusted", "stands_out"} <= set(g.columns)
    assert (tmp_path / "fair.png").stat().st_size > 1000
    assert (tmp_path / "fair_reps.csv").exists()
    assert "stand out" in so


def test_cauchy_combination_handmade():
    from spm_model.quota.fairness import cauchy_combination

    # one p-value is returned unchanged; equal p-values combine to the same p-value
    assert abs(cauchy_combination([0.03]) - 0.03) < 1e-12
    assert abs(cauchy_combination([0.01, 0.01, 0.01]) - 0.01) < 1e-12
    # tan((0.5 - 0.01) pi) = 31.82, tan(0) = 0: T = 15.91, p = 0.5 - arctan(15.91) / pi = 0.0200
    assert abs(cauchy_combination([0.01, 0.5]) - 0.0200) < 2e-4
    # p-values of 1 do not break it
    assert cauchy_combination([1.0, 1.0]) > 0.99


def test_potential_by_year_handmade():
    from types import SimpleNamespace

    from spm_model.quota.fairness import potential_by_year

    # fiscal year starts in October: Oct 2023 - Sep 2024 is FY2024, then FY2025 (3 months)
    hm = np.arange((2023 - 1970) * 12 + 9, (2023 - 1970) * 12 + 9 + 15)
    hp = np.ones((3, 15))
    hp[0] *= 2.0
    hp[1, 13] = 0.0  # rep B owned nothing one month of FY2025
    h = SimpleNamespace(
        hist_potential=hp,
        hist_months=hm,
        fy_start_month=10,
        potential=np.full((3, 12), 5.0),
        year=2026,
        pairs=pd.DataFrame({"rep_id": ["A", "B", "A2"]}),
    )
    d = potential_by_year(h)
    assert list(d.columns) == [2024, 2025, 2026]
    assert d.loc["A", 2024] == 2.0 and d.loc["B", 2024] == 1.0
    assert np.isnan(d.loc["B", 2025]) and d.loc["A2", 2025] == 1.0
    assert (d[2026] == 5.0).all()


def test_region_split_unevenly_in_the_past_is_still_seen():
    # South was split very unevenly three years ago and has been evened out since:
    # the plan year alone does not show it, the years combined do; no other group stands out
    rng = np.random.default_rng(3)
    pr = _per_rep(1)
    pr["potential"] = 1e6 * np.exp(rng.normal(0, 0.3, len(pr)))
    south = (pr["region"] == "South").to_numpy()
    years = {}
    for y, spread in ((2023, 1.2), (2024, 1.0), (2025, 0.8), (2026, 0.3)):
        s = np.where(south, spread, 0.3)
        years[y] = 1e6 * np.exp(rng.normal(0, 1.0, len(pr)) * s)
    pby = pd.DataFrame(years, index=pr["rep_id"].to_numpy())
    pr["potential"] = pby[2026].to_numpy()
    plan_only = fairness_groups(pr)
    tb = plan_only[plan_only["test"] == "territory_balance"]
    assert not tb["stands_out"].any()
    g = fairness_groups(pr, potential_by_year=pby)
    tb = g[g["test"] == "territory_balance"]
    out = tb[tb["stands_out"]]
    assert ("region", "South") in set(zip(out["level"], out["group"], strict=True))
    assert set(out["group"]) <= {"South", "South-0", "South-1"}
    row = tb[(tb["level"] == "region") & (tb["group"] == "South")].iloc[0]
    assert "combined over 4 fiscal years' snapshots" in row["words"] and "FY2026" not in row["words"]


def test_generated_company_planted_region_is_found_and_nothing_else():
    from spm_model.data.synthetic import generate

    # at least 40 owners: the generator plants a strong, persistent unbalanced region
    ds = generate(n_reps=70, n_accounts=1500, years=3, seed=2)
    planted = set(ds.tables["truth_regions"].query("unbalanced")["region"])
    fr = fairness_report(set_quotas(ds, 2027, "history"), n_draws=200)
    g = fr.groups
    tb = g[(g["test"] == "territory_balance") & g["stands_out"]]
    assert set(tb.loc[tb["level"] == "region", "group"]) == planted
    # a team stands out only inside the planted region
    teams = tb.loc[tb["level"] == "team", "group"]
    assert all(t.rsplit(" ", 1)[0] in planted for t in teams)
