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
