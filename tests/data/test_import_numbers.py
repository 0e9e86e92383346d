"""Import of exports: numbers as spreadsheets write them, and what is refused (never guessed)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spm_model.data.import_map import (
    ImportMapping,
    apply_mapping,
    parse_number,
    read_export,
    read_mapping,
)
from spm_model.errors import SpmConfigError, SpmDataError


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("$1,234.50", 1234.5),
        ("$(300.00)", -300.0),
        ("($300.00)", -300.0),
        ("(1,200.50)", -1200.5),
        ("-$300", -300.0),
        ("$-300", -300.0),
        ("1,234-", -1234.0),
        ("EUR 1,200", 1200.0),
        ("1200 USD", 1200.0),
        ("12 %", 12.0),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("0", 0.0),
    ],
)
def test_numbers_as_exports_write_them(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize(
    "text", ["1.234,56", "1 234,50", "1.5K", "abc", "(300", "--5", "(-5)", "$$5", "1,23", ""]
)
def test_what_is_not_a_number_is_refused(text):
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("text", "value"),
    [("1.234,56", 1234.56), ("1 234,50", 1234.5), ("1\u00a0234", 1234.0), ("(12,5)", -12.5)],
)
def test_european_numbers_with_a_comma_decimal(text, value):
    assert parse_number(text, ",") == value
    assert parse_number("1,234.56", ",") is None


@given(st.decimals(min_value=-1e9, max_value=1e9, places=2, allow_nan=False))
def test_a_formatted_amount_reads_back(x):
    text = f"{abs(x):,.2f}"
    got = parse_number(f"$({text})" if x < 0 else f"${text}")
    assert got == pytest.approx(float(x), abs=1e-9)


def _mapping(**kw) -> ImportMapping:
    return ImportMapping(
        table="transactions",
        columns={
            "txn_id": "Id",
            "date": "Date",
            "account_id": "Account",
            "product_id": "Product",
            "amount": "Amount",
            "kind": "Type",
            "margin": "Margin",
        },
        date_format="%m/%d/%Y",
        **kw,
    )


def _export(amounts, margins=None, dates=None) -> pd.DataFrame:
    n = len(amounts)
    return pd.DataFrame(
        {
            "Id": [f"X{i}" for i in range(n)],
            "Date": dates or ["02/14/2025"] * n,
            "Account": ["A1"] * n,
            "Product": ["P1"] * n,
            "Amount": amounts,
            "Type": ["booking"] * n,
            "Margin": margins or [None] * n,
        },
        dtype=object,
    )


def test_every_unreadable_number_and_date_is_named_with_its_row():
    ex = _export(["$1,200.50", "1.5K", "300"], margins=["n/a", "abc", None],
                 dates=["02/14/2025", "02/14/2025", "2025-02-30"])  # fmt: skip
    with pytest.raises(SpmDataError) as err:
        apply_mapping(ex, _mapping(), source="deals.csv")
    text = str(err.value)
    assert "row 3, column 'Amount': '1.5K' is not a number" in text
    assert "row 3, column 'Margin': 'abc' is not a number" in text
    assert "row 4, column 'Date': '2025-02-30' is not a date (date_format: %m/%d/%Y)" in text
    assert "row 2" not in text  # "n/a" is an empty cell, $1,200.50 a number


def test_a_european_export_with_its_decimal_mark():
    table = apply_mapping(_export(["1.234,56", "(12,50)"]), _mapping(decimal=","))
    assert table["amount"].tolist() == [1234.56, -12.5]


def test_malformed_mappings_are_one_clear_error(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text(
        "table: transactions\ncolumns: [a, b]\nvalues: {kind: booking}\nscale: {amount: x}\n"
    )
    with pytest.raises(SpmConfigError) as err:
        read_mapping(bad)
    text = str(err.value)
    assert "columns: must be a mapping" in text
    assert "values: kind: must be a mapping" in text
    assert "scale: amount: must be a number" in text


def test_awkward_export_files(tmp_path):
    latin = tmp_path / "latin.csv"
    latin.write_bytes("Id,Amount\nX1,£100\n".encode("cp1252"))
    assert read_export(latin)["Amount"].tolist() == ["£100"]
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(SpmDataError, match="the export is empty"):
        read_export(empty)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("Id,Amount\nX1,5\nX2,6,extra\n")
    with pytest.raises(SpmDataError, match="row 3: 3 fields where the header has 2"):
        read_export(ragged)
