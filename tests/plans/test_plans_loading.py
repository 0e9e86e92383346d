"""Plan loading, validation messages with YAML lines, round trips and ``spm check-plan``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spm_model import load_plan as top_level_load_plan
from spm_model.cli import app
from spm_model.plans import COMPONENT_TYPES, Plan, PlanError, load_plan
from spm_model.plans.summary import payout_table
from spm_model.plans.yamlio import load_yaml_with_lines

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates" / "plans").glob("*.yaml"))
BROKEN = sorted((Path(__file__).parent / "broken").glob("*.yaml"))
runner = CliRunner()


def test_at_least_six_templates():
    ids = {load_plan(p).id for p in TEMPLATES}
    assert {
        "saas_ae",
        "sdr",
        "account_manager",
        "channel_manager",
        "field_rep",
        "sales_manager",
    } <= ids


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_template_loads_and_round_trips(path):
    plan = load_plan(path)
    assert top_level_load_plan is load_plan
    again = Plan.from_dict(plan.to_dict())
    assert again == plan
    from_yaml = Plan.from_dict(load_yaml_with_lines(plan.to_yaml())[0])
    assert from_yaml == plan
    # target payout at 100% attainment of every measure (SPIFs aside)
    table = payout_table(plan, [0.0, 1.0])
    assert table["total"].iloc[0] >= 0
    assert table["pct_of_target"].iloc[1] == pytest.approx(1.0, abs=0.011)


def test_component_registry_has_all_types():
    assert set(COMPONENT_TYPES) == {
        "commission",
        "payout_curve",
        "matrix",
        "mbo",
        "spif",
        "multiplier",
    }


def _expectations(path: Path) -> list[tuple[int, str]]:
    out = []
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        m = re.search(r"# EXPECT: (.+)$", line)
        if m:
            out.append((i, m.group(1).strip()))
    return out


def test_eleven_broken_fixtures():
    assert len(BROKEN) == 11
    assert all(_expectations(p) for p in BROKEN)


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_plan_reports_every_problem_with_its_line(path):
    with pytest.raises(PlanError) as info:
        load_plan(path)
    problems = info.value.problems
    for line, text in _expectations(path):
        hits = [p for p in problems if p.line == line and text in str(p)]
        assert hits, f"no problem at line {line} mentioning {text!r}; got:\n{info.value}"
    assert all(p.source == str(path) for p in problems)
    assert len(problems) >= len(_expectations(path))


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_check_plan_cli_lists_problems_and_exits_1(path):
    res = runner.invoke(app, ["check-plan", str(path)])
    assert res.exit_code == 1
    out = res.output + (res.stderr if res.stderr_bytes is not None else "")
    for line, text in _expectations(path):
        assert f"line {line}:" in out and text in out


def test_check_plan_cli_summary_for_valid_plans():
    res = runner.invoke(app, ["check-plan", *map(str, TEMPLATES)])
    assert res.exit_code == 0, res.output
    assert "saas_ae" in res.output and "valid" in res.output
    # the payout table at 0/50/80/100/120/150/200%
    for level in ("0%", "50%", "80%", "100%", "120%", "150%", "200%"):
        assert re.search(rf"^\s+{level}\s", res.output, flags=re.M)
    assert "25,000.00" in res.output  # AE at 100%: the quarter's target incentive


def test_check_plan_mixed_valid_and_invalid_exits_1():
    res = runner.invoke(app, ["check-plan", "-q", str(TEMPLATES[0]), str(BROKEN[0])])
    assert res.exit_code == 1


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(PlanError, match="not found"):
        load_plan(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nname: [unclosed\nmeasures: {}\n")
    with pytest.raises(PlanError) as info:
        load_plan(bad)
    assert info.value.problems[0].line is not None
    assert "not valid YAML" in str(info.value)
    notmap = tmp_path / "list.yaml"
    notmap.write_text("- a\n- b\n")
    with pytest.raises(PlanError, match="mapping"):
        load_plan(notmap)


def test_missing_required_fields_are_all_listed():
    with pytest.raises(PlanError) as info:
        Plan.from_dict({"name": "x"})
    text = str(info.value)
    for field in ("id", "effective_from", "measures", "components"):
        assert f"'{field}'" in text


def test_line_map_records_keys_and_items():
    data, lines = load_yaml_with_lines("a: 1\nb:\n  - x: 1\n    y: 2\n  - 3\n")
    assert data == {"a": 1, "b": [{"x": 1, "y": 2}, 3]}
    assert lines.line_of(("b", 0, "y")) == 4
    assert lines.line_of(("b", 1)) == 5
    assert lines.line_of(("b", 0, "missing")) == 3
