"""Fixtures for the quota tests: the bundled sample company (loaded once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spm_model.data import load_dataset

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="session")
def sample():
    return load_dataset(SAMPLE)


@pytest.fixture(scope="session")
def hist2026(sample):
    from spm_model.quota import build_history

    return build_history(sample, 2026)
