"""Bottom layer: canonical tables, validation, I/O, periods and synthetic data."""

from spm_model.data.dataset import Dataset, DatasetMeta
from spm_model.data.io import load_dataset
from spm_model.data.periods import PeriodSpan, parse_period, period_labels, periods_in_fiscal_year
from spm_model.data.schema import TABLES

__all__ = [
    "TABLES",
    "Dataset",
    "DatasetMeta",
    "PeriodSpan",
    "load_dataset",
    "parse_period",
    "period_labels",
    "periods_in_fiscal_year",
]
