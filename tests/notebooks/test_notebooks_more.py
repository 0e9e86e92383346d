"""The other half of the quick notebook runs (see test_notebooks.py)."""

from __future__ import annotations

import pytest

from tests.notebooks.test_notebooks import SECOND_HALF, _params, run_quick


@pytest.mark.parametrize("path", _params(SECOND_HALF))
def test_notebook_runs_quick(path, tmp_path):
    run_quick(path, tmp_path)
