"""YAML syntax errors carry a plain-language hint; a wrong plan path says what is wrong."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from spm_model.plans import PlanError, load_plan

ROOT = Path(__file__).resolve().parents[2]
SPM = str(Path(sys.executable).parent / "spm")

CASES = {
    "tab": ("id: a\nname: A\ncomponents:\n  - name: x\n\tmeasure: y\n", 5, "tab"),
    "indent": ("id: a\nname: A\ncomponents:\n  - name: x\n     measure: y\n", 5, "indentation"),
    "colon": ("id: a\nname: A: b\n", 2, "quotes"),
    "list": ("id: a\n- x\n", 2, "indentation"),
    "quote": ('id: a\nname: "A\nfoo: 1\n', 4, "never closed"),
    "bracket": ("id: [a, b\nx: 1\n", 2, "bracket"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_yaml_syntax_error_has_parser_message_then_hint(tmp_path, case):
    text, line, word = CASES[case]
    p = tmp_path / f"{case}.yaml"
    p.write_text(text)
    with pytest.raises(PlanError) as exc:
        load_plan(p)
    (problem,) = exc.value.problems
    assert problem.line == line
    parser, _, hint = problem.message.partition(". Hint: ")
    assert parser.startswith("not valid YAML: ") and len(parser) > len("not valid YAML: ")
    assert word in hint


def test_plan_path_errors_are_precise(tmp_path):
    empty = tmp_path / "plans"
    empty.mkdir()
    with pytest.raises(PlanError, match=r"is a folder with no plan files \(\*\.yaml"):
        load_plan(empty)
    shutil.copy(ROOT / "templates" / "plans" / "sdr.yaml", empty / "sdr.yaml")
    with pytest.raises(PlanError, match=r"is a folder, not a plan file; it holds 1 plan file"):
        load_plan(empty)
    with pytest.raises(PlanError, match=r"plan file not found; did you mean .*sdr\.yaml\?"):
        load_plan(empty / "sdr.yml")
    with pytest.raises(PlanError, match=r"the folder .* does not exist"):
        load_plan(tmp_path / "nowhere" / "x.yaml")


def test_spm_explain_on_a_folder_without_yaml(tmp_path):
    r = subprocess.run(
        [SPM, "explain", "--plan", str(tmp_path), "--data", str(ROOT / "data" / "sample"),
         "--rep", "R0001", "--period", "2025-Q3"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 1
    assert "is a folder with no plan files (*.yaml, *.yml) in it" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_draw_written_as_50_is_refused_not_paid_at_5000_percent(tmp_path):
    """fraction_of_target: 50 passed and paid a 1,256,250 draw on a generated company."""
    import yaml

    d = yaml.safe_load((ROOT / "templates" / "plans" / "saas_ae.yaml").read_text())
    for value, ok in ((50, False), (1.5, False), ("50%", True), (0.5, True), (1, True)):
        d["draw"] = {"kind": "recoverable", "fraction_of_target": value, "periods": 2}
        f = tmp_path / "p.yaml"
        f.write_text(yaml.safe_dump(d, sort_keys=False))
        if ok:
            assert float(load_plan(f).draw.fraction_of_target) == (0.5 if value == "50%" else value)
            continue
        with pytest.raises(PlanError) as err:
            load_plan(f)
        assert (
            f"draw.fraction_of_target: {value!r} is above 1: this field is a fraction "
            "(0.5 or '50%' for 50%)"
        ) in str(err.value)
