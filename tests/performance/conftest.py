from __future__ import annotations

from pathlib import Path

import pytest

from spm_model.data import load_dataset
from spm_model.performance import PerformanceData, attainment_panel

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="session")
def sample_pdata():
    pdata = PerformanceData(load_dataset(SAMPLE))
    return pdata, attainment_panel(pdata)
