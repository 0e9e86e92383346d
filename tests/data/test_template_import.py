"""The bring-your-own-data template workbook and `spm import` with a column mapping."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from spm_model.data import load_dataset
from spm_model.data import template as tpl
from spm_model.data.import_map import ImportMapping, apply_mapping, export_table, read_mapping
from spm_model.data.schema import TABLES
from spm_model.errors import SpmConfigError, SpmDataError

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "templates" / "data" / "company_template.xlsx"
MAPPING = ROOT / "templates" / "data" / "crm_opportunities_mapping.yaml"
SAMPLE = ROOT / "data" / "sample"


def test_template_workbook_loads_with_every_table_column_and_two_rows():
    ds = load_dataset(TEMPLATE)  # validates: no problem in the example company
    for name, schema in TABLES.items():
        assert list(ds[name].columns) == schema.column_names, name
        assert len(ds[name]) == 2, name
    guide = ds["columns"]
    assert len(guide) == sum(len(t.columns) for t in TABLES.values())
    assert guide["description"].str.len().min() > 0


def test_committed_template_is_the_generated_one(tmp_path):
    fresh = tpl.write_template(tmp_path / "t.xlsx")
    a = pd.read_excel(TEMPLATE, sheet_name=None, dtype=object)
    b = pd.read_excel(fresh, sheet_name=None, dtype=object)
    assert list(a) == list(b)
    for sheet in a:
        pd.testing.assert_frame_equal(a[sheet], b[sheet], obj=sheet)


def test_a_schema_column_without_an_example_is_an_error(monkeypatch):
    examples = {k: dict(v) for k, v in tpl.EXAMPLES.items()}
    del examples["reps"]["fte"]
    monkeypatch.setattr(tpl, "EXAMPLES", examples)
    with pytest.raises(KeyError, match="fte"):
        tpl.template_tables()


def _export(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """The sample's opportunities as a CRM would export them (US dates, $ amounts, %)."""
    original = load_dataset(SAMPLE).opportunities
    export = export_table(original, read_mapping(MAPPING))
    export["Amount"] = export["Amount"].map(lambda v: f"${v:,.2f}")
    path = tmp_path / "opportunities_export.csv"
    export.to_csv(path, index=False)
    return path, original


def test_spm_import_round_trips_the_worked_mapping(tmp_path):
    path, original = _export(tmp_path)
    text = path.read_text()
    assert "Closed Won" in text and "$" in text and "/2025" in text  # really an export
    company = tmp_path / "company"
    shutil.copytree(SAMPLE, company)
    (company / "opportunities.csv").unlink()
    spm = Path(sys.executable).parent / "spm"
    proc = subprocess.run(
        [str(spm), "import", str(path), "--mapping", str(MAPPING), "--out", str(company)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"{len(original):,} rows written" in proc.stdout
    back = load_dataset(company).opportunities  # the whole company validates with it
    pd.testing.assert_frame_equal(back, original)


def test_an_import_into_an_existing_table_never_drops_its_rows_silently(tmp_path):
    """The sample's opportunities imported again: refused (the table exists); --append refuses
    rows already there; half the export appended after the other half gives the whole table;
    --replace overwrites."""
    from spm_model.data.import_map import import_export

    path, original = _export(tmp_path)
    company = tmp_path / "company"
    shutil.copytree(SAMPLE, company)
    target = company / "opportunities.csv"
    before = target.read_text()
    with pytest.raises(SpmConfigError, match="exists .* --replace to overwrite it .* --append"):
        import_export(path, MAPPING, company)
    assert target.read_text() == before  # untouched
    with pytest.raises(SpmConfigError, match="already in"):
        import_export(path, MAPPING, company, mode="append")
    export = pd.read_csv(path, dtype=str)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    half = len(export) // 2
    export.iloc[:half].to_csv(first, index=False)
    export.iloc[half:].to_csv(second, index=False)
    import_export(first, MAPPING, company, mode="replace")
    assert len(load_dataset(company, validate=False).opportunities) == half
    import_export(second, MAPPING, company, mode="append")
    pd.testing.assert_frame_equal(load_dataset(company).opportunities, original)


def test_mapping_errors_point_at_the_cause(tmp_path):
    with pytest.raises(SpmConfigError, match="did you mean 'amount'"):
        ImportMapping("opportunities", {**read_mapping(MAPPING).columns, "amout": "Amount"})
    with pytest.raises(SpmConfigError, match="required column 'status' is not mapped"):
        cols = dict(read_mapping(MAPPING).columns)
        del cols["status"]
        ImportMapping("opportunities", cols)
    path, _ = _export(tmp_path)
    export = pd.read_csv(path, dtype=str).rename(columns={"Amount": "Amount (USD)"})
    with pytest.raises(SpmDataError, match="'Amount' for amount \\(closest: 'Amount \\(USD\\)'\\)"):
        apply_mapping(export, read_mapping(MAPPING))
    bad = pd.read_csv(path, dtype=str)
    bad.loc[0, "Status"] = "Maybe"
    with pytest.raises(SpmDataError, match="status"):
        apply_mapping(bad, read_mapping(MAPPING))
