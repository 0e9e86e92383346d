"""Panel files as users export them: other column names, a column per series, daily rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spm_model.errors import SpmConfigError, SpmDataError
from spm_model.forecast.panel import check_panel, parse_months
from spm_model.forecast.panel_file import parse_columns, read_panel


def _long(months: int = 30) -> pd.DataFrame:
    idx = pd.date_range("2021-01-01", periods=months, freq="MS")
    rows = [
        {"rep_id": rep, "month": m, "bookings": scale * (10 + np.sin(m.month)) + i}
        for rep, scale in (("north", 100.0), ("south", 1000.0))
        for i, m in enumerate(idx)
    ]
    return pd.DataFrame(rows)


def test_parse_months_reads_the_usual_forms_and_refuses_what_is_not_a_month():
    got = parse_months(
        pd.Series(["2024-03", "2024-03-15", "03/2024", "Mar-24", "2024M03", "202403"])
    )
    march = pd.Timestamp("2024-03-01")
    assert got.tolist() == [march, pd.Timestamp("2024-03-15"), march, march, march, march]
    bad = parse_months(pd.Series(["2024", "x", "2024M13", None]))
    assert bad.isna().all()
    nums = parse_months(pd.Series([202403, 2024]))
    assert nums.iloc[0] == pd.Timestamp("2024-03-01") and pd.isna(nums.iloc[1])


def test_columns_map_a_files_own_names(tmp_path):
    p = _long()
    f = tmp_path / "export.csv"
    p.rename(columns={"rep_id": "store", "month": "date", "bookings": "sales"}).to_csv(
        f, index=False
    )
    with pytest.raises(SpmDataError) as err:
        read_panel(f)
    text = str(err.value)
    assert "columns found: store, date, sales" in text
    assert "--columns rep_id=SERIES,month=DATE,bookings=AMOUNT" in text
    out = read_panel(f, columns=parse_columns("rep_id=store, month=date, bookings=sales"))
    assert out.attrs["layout"] == "long"
    assert len(out) == len(p)
    assert out.groupby("rep_id")["bookings"].sum().round(6).to_dict() == (
        p.groupby("rep_id")["bookings"].sum().round(6).to_dict()
    )


def test_a_mapped_column_that_is_not_in_the_file_is_named(tmp_path):
    f = tmp_path / "export.csv"
    _long().to_csv(f, index=False)
    with pytest.raises(SpmDataError) as err:
        read_panel(f, columns={"bookings": "revenue"})
    assert "maps bookings to 'revenue', not in the file" in str(err.value)
    assert "columns found: rep_id, month, bookings" in str(err.value)


def test_parse_columns_reports_every_bad_pair():
    assert parse_columns(None) == {} and parse_columns("") == {}
    with pytest.raises(SpmConfigError) as err:
        parse_columns("rep_id=store,amount=sales,month,rep_id=x")
    text = str(err.value)
    assert "'amount' is not a panel column" in text
    assert "'month' is not NAME=COLUMN" in text
    assert "'rep_id' is given twice" in text


def test_a_column_per_series_is_read_as_a_wide_panel(tmp_path):
    # a spreadsheet of months down and series across, months as "Jan-21", a BOM and a gap
    p = _long(24)
    wide = p.pivot(index="month", columns="rep_id", values="bookings")
    wide.index = wide.index.strftime("%b-%y")
    wide.index.name = "Month"
    wide.iloc[5, 0] = np.nan  # north, June 2021: not known
    f = tmp_path / "wide.csv"
    f.write_text(wide.to_csv(), encoding="utf-8-sig")
    out = read_panel(f)
    assert out.attrs["layout"] == "wide"
    assert sorted(out["rep_id"].unique()) == ["north", "south"]
    assert len(out) == 47  # 48 cells, one empty: a missing month, not a zero
    assert out.attrs["missing_months"] == 1
    assert not ((out["rep_id"] == "north") & (out["month"] == "2021-06-01")).any()
    south = out[out["rep_id"] == "south"].set_index("month")["bookings"]
    assert south.loc["2022-12-01"] == pytest.approx(
        p[(p.rep_id == "south") & (p.month == "2022-12-01")]["bookings"].item()
    )
    # long forced on the same file: the required columns are missing
    with pytest.raises(SpmDataError):
        read_panel(f, layout="long")


def test_wide_needs_months_beside_numbers(tmp_path):
    f = tmp_path / "notwide.csv"
    pd.DataFrame({"Month": ["Jan-21", "Feb-21"], "north": ["ten", "11"]}).to_csv(f, index=False)
    with pytest.raises(SpmDataError) as err:
        read_panel(f)  # auto: neither long nor wide, so the long reading's error
    assert "required column is missing" in str(err.value)
    with pytest.raises(SpmDataError) as err:
        read_panel(f, layout="wide")
    assert "one column of numbers per series" in str(err.value)


def test_daily_rows_are_an_error_unless_summed(tmp_path):
    days = pd.date_range("2023-01-01", "2023-12-31", freq="D")
    rng = np.random.default_rng(3)
    p = pd.DataFrame(
        {"rep_id": "north", "month": days, "bookings": rng.integers(0, 100, len(days))}
    )
    p["bookings"] = p["bookings"].astype(float)
    p.loc[p["month"].dt.month == 4, "bookings"] = np.nan  # April not known at all
    p.loc[p["month"] == "2023-05-02", "bookings"] = np.nan  # one day of May not known
    f = tmp_path / "daily.csv"
    p.to_csv(f, index=False, sep=";")  # a semicolon-separated export
    with pytest.raises(SpmDataError) as err:
        read_panel(f)
    text = str(err.value)
    assert "duplicate rep_id and month" in text and "--sum-duplicates" in text
    assert "row 2," in text or "row 2" in text
    out = read_panel(f, duplicates="sum")
    assert len(out) == 11  # April is missing
    assert out.attrs["summed_rows"] == len(days) - 12
    may = p[p["month"].dt.month == 5]["bookings"].sum()
    assert out.set_index("month").loc["2023-05-01", "bookings"] == may
    assert out.attrs["missing_months"] == 1


def test_cli_reads_a_wide_file_and_refuses_panel_options_on_a_dataset(tmp_path):
    from typer.testing import CliRunner

    from spm_model.cli import app

    p = _long(36)
    wide = p.pivot(index="month", columns="rep_id", values="bookings")
    wide.index = wide.index.strftime("%YM%m")
    f = tmp_path / "wide.csv"
    wide.to_csv(f)
    args = ["forecast-backtest", "--data", str(f), "--cutoffs", "2023-06", "--horizon", "3"]
    res = CliRunner().invoke(app, [*args, "--no-bayes", "--baselines", "seasonal_naive"])
    assert res.exit_code == 0, res.output
    assert "note: read as a wide panel: 2 series (one a column)" in res.output
    assert "| seasonal_naive" in res.output
    res = CliRunner().invoke(
        app,
        ["forecast-backtest", "--data", "data/sample", "--columns", "rep_id=x", "--no-bayes"],
    )
    assert res.exit_code != 0
    assert "read a panel file" in str(res.exception) + res.output


def test_a_workbook_is_a_panel_unless_it_has_dataset_sheets(tmp_path):
    from spm_model.forecast.panel_file import is_panel_file

    p = _long(24)
    wide = p.pivot(index="month", columns="rep_id", values="bookings").reset_index()
    book = tmp_path / "panel.xlsx"
    wide.to_excel(book, index=False)
    assert is_panel_file(book)
    out = read_panel(book)
    assert out.attrs["layout"] == "wide" and len(out) == 48
    ds_book = tmp_path / "company.xlsx"
    with pd.ExcelWriter(ds_book) as xw:  # a dataset workbook: a sheet per table
        pd.DataFrame({"rep_id": ["R1"]}).to_excel(xw, sheet_name="Reps", index=False)
        wide.to_excel(xw, sheet_name="notes", index=False)
    assert not is_panel_file(ds_book)
    assert not is_panel_file(tmp_path)  # a folder is a dataset


def test_amounts_as_spreadsheets_export_them(tmp_path):
    from spm_model.forecast.panel import parse_amounts

    amounts, missing = parse_amounts(
        pd.Series(["1,234.50", "$ 1,000", "12", "", "NA", "*", "#N/A", "x", "-", "1,23", None])
    )
    np.testing.assert_array_equal(amounts.to_numpy()[:3], [1234.5, 1000.0, 12.0])
    assert missing.tolist() == [False] * 3 + [True] * 4 + [False] * 3 + [True]
    assert amounts.iloc[7:10].isna().all()  # not numbers and not missing: the caller reports
    # a wide file with a marker for a month not known and grouped thousands: read
    f = tmp_path / "wines.csv"
    f.write_text('Month,Red,Rose\nJan-80,"1,464",112\nFeb-80,"1,512",*\nMar-80,"1,480",119\n')
    out = read_panel(f)
    assert out.attrs["layout"] == "wide" and len(out) == 5
    assert out.set_index(["rep_id", "month"]).loc[("Red", "1980-02-01"), "bookings"] == 1512.0
    # a dash is not taken as missing (accounting formats write zero as "-"): an error, with its row
    f.write_text("rep_id,month,bookings\na,2024-01,-\na,2024-02,#N/A\na,2024-03,5\n")
    with pytest.raises(SpmDataError) as err:
        read_panel(f)
    assert "row 2" in str(err.value) and "'-'" in str(err.value)
    assert "row 3" not in str(err.value)


def test_a_cut_off_is_read_as_the_data_months_are_and_an_impossible_one_is_refused():
    from spm_model.forecast.panel import parse_cutoff

    dec = pd.Timestamp("2014-12-01")
    for text in ("2014-12", "Dec-2014", "Dec-14", "2014-12-31", "12/2014", "201412"):
        assert parse_cutoff(text) == dec, text
    for text in ("2015-13", "2014", "soon"):
        with pytest.raises(SpmConfigError, match=f"cut-off '{text}' is not a month"):
            parse_cutoff(text)


def test_a_cut_off_after_the_panel_is_an_error():
    from spm_model.forecast.estimator import prepare_panel

    with pytest.raises(SpmConfigError, match="cut-off 2030-01 is after the panel's last month"):
        prepare_panel(_long(), cutoff="2030-01")
    assert prepare_panel(_long(), cutoff="Jun-2022")["month"].max() == pd.Timestamp("2022-06-01")


def test_a_blank_series_name_and_a_negative_month_are_named_with_their_rows():
    df = _long(14)
    df.loc[5, "rep_id"] = np.nan
    df.loc[7, "bookings"] = -120.0
    with pytest.raises(SpmDataError) as err:
        check_panel(df)
    text = str(err.value)
    assert "row 7" in text and "rep_id" in text and "empty" in text
    assert "got -120 (returns: net them into the month's bookings)" in text
    assert "np.float64" not in text


def test_coverage_notes_name_late_starters_and_quiet_series():
    from spm_model.forecast.panel import coverage_notes

    df = _long(30)  # 2021-01 .. 2023-06
    df = df[~((df["rep_id"] == "north") & (df["month"] > "2021-12-01"))]  # stopped
    late = _long(6).query("rep_id == 'north'").assign(rep_id="east")
    late["month"] = late["month"] + pd.DateOffset(years=2)  # starts 2023-01
    panel = check_panel(pd.concat([df, late], ignore_index=True))
    notes = coverage_notes(panel, "2022-12")
    assert notes[0] == "1 series start after the cut-off 2022-12 and are not forecast: east"
    assert "forecast as still selling" in notes[1] and notes[1].endswith(": north")
    assert coverage_notes(check_panel(_long(30))) == []


def test_forecast_backtest_of_two_years_uses_the_default_cutoffs_it_can(tmp_path):
    from typer.testing import CliRunner

    from spm_model.cli import app

    f = tmp_path / "short.csv"
    _long(24).to_csv(f, index=False)
    args = ["forecast-backtest", "--data", str(f), "--no-bayes", "--baselines", "seasonal_naive"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "cut-offs 2022-03, 2022-06; horizon 6 months" in res.output
    assert "only 2 of the 4 default cut-offs" in res.output
    res = CliRunner().invoke(app, [*args, "--horizon", "13"])
    assert res.exit_code == 1
    assert "too short to backtest 13 months ahead" in str(res.exception) + res.output
