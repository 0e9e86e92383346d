from __future__ import annotations

from pathlib import Path

import pytest

from spm_model.errors import SpmConfigError
from spm_model.runner import check_parameters, notebook_parameters, parse_cli_value
from spm_model.runner.params import resolve_path_parameters

FIX = Path(__file__).parent / "fixtures"


def test_declared_parameters_and_types():
    specs = notebook_parameters(FIX / "ok.ipynb")
    assert list(specs)[:4] == ["seed", "rate", "label", "quick"]
    assert (
        specs["seed"].type is int
        and specs["seed"].default == 1
        and specs["seed"].help == "random seed"
    )
    assert specs["rate"].type is float  # from the annotation
    assert specs["label"].type is str
    assert specs["quick"].type is bool
    assert specs["items"].type is list
    assert specs["anything"].type is None


def test_cli_strings_are_converted_to_declared_types():
    got = check_parameters(
        FIX / "ok.ipynb",
        {"seed": "7", "rate": 2, "label": 2024, "quick": "true", "items": "[x]", "anything": "q"},
    )
    assert got == {
        "seed": 7,
        "rate": 2.0,
        "label": "2024",
        "quick": True,
        "items": ["x"],
        "anything": "q",
    }
    assert (
        parse_cli_value("7") == 7
        and parse_cli_value("true") is True
        and parse_cli_value("a b") == "a b"
    )


def test_unknown_and_wrong_types_are_reported_together():
    with pytest.raises(SpmConfigError) as err:
        check_parameters(
            FIX / "ok.ipynb", {"sed": 3, "seed": "seven", "quick": "maybe", "rate": "x"}
        )
    msg = str(err.value)
    assert "4 parameter problem(s)" in msg
    assert "unknown parameter 'sed' (did you mean 'seed'?)" in msg
    assert "parameter 'seed' expects int" in msg and "'seven'" in msg
    assert "parameter 'quick' expects bool" in msg
    assert "parameter 'rate' expects float" in msg
    assert "declared parameters: seed: int = 1" in msg


def test_bool_is_not_an_int():
    with pytest.raises(SpmConfigError, match="expects int"):
        check_parameters(FIX / "ok.ipynb", {"seed": True})


def test_notebook_without_parameters_cell_rejects_every_parameter():
    assert notebook_parameters(FIX / "no_parameters.ipynb") == {}
    with pytest.raises(SpmConfigError, match="unknown parameter 'x'"):
        check_parameters(FIX / "no_parameters.ipynb", {"x": 1})


def test_missing_notebook():
    with pytest.raises(SpmConfigError, match="no such notebook"):
        notebook_parameters(FIX / "nope.ipynb")


def test_path_parameters_resolved_against_base(tmp_path):
    got = resolve_path_parameters(
        {
            "data_path": "data/sample",
            "plan_paths": ["a.yaml", "/abs/b.yaml"],
            "label": "x/y",
            "url_path": "s3://b/k",
        },
        base=tmp_path,
    )
    assert got["data_path"] == str(tmp_path / "data/sample")
    assert got["plan_paths"] == [str(tmp_path / "a.yaml"), "/abs/b.yaml"]
    assert got["label"] == "x/y" and got["url_path"] == "s3://b/k"


def test_an_expression_default_is_shown_as_written_not_as_a_string(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(
        'import os\nquick: bool = os.environ.get("Q", "0") in ("1",)  # fast run\n'
        'width = 3 * 4  # unannotated expression\nlabel = "a"\n'
    )
    cell.metadata["tags"] = ["parameters"]
    nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.metadata["language_info"] = {"name": "python"}
    path = tmp_path / "expr.ipynb"
    nbformat.write(nb, path)
    specs = notebook_parameters(path)
    quick, width, label = specs["quick"], specs["width"], specs["label"]
    assert quick.computed and quick.type is bool
    assert quick.default_text == 'os.environ.get("Q", "0") in ("1",)'
    assert width.computed and width.type is None  # the expression's type is not known
    assert not label.computed and label.default_text == "'a'"
    with pytest.raises(SpmConfigError) as err:
        check_parameters(path, {"quick": "maybe"})
    assert '(default os.environ.get("Q", "0") in ("1",))' in str(err.value)
