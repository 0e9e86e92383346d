"""Reading and writing datasets: CSV/Parquet folders, Excel workbooks, DuckDB files.

Every writer is atomic: output goes to a temporary sibling first and is moved
into place with :func:`os.replace` only once complete.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import yaml

from spm_model.data.dataset import Dataset, DatasetMeta, Format, coerce_table
from spm_model.data.schema import TABLES
from spm_model.errors import Problem, SpmDataError


def infer_format(path: Path) -> Format:
    """Format of a source or target path from its suffix (folders: csv, or parquet if present)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".duckdb", ".db"):
        return "duckdb"
    if path.is_dir() and any(path.glob("*.parquet")) and not any(path.glob("*.csv")):
        return "parquet"
    return "csv"


# -- reading ---------------------------------------------------------------------
def read_raw(source: Path) -> tuple[dict[str, tuple[pd.DataFrame, str]], dict, list[Problem]]:
    """Read raw tables from ``source``.

    Returns
    -------
    tables : dict
        Table name to (raw frame, location string used in messages).
    meta : dict
        Raw metadata.
    problems : list of Problem
        Missing required tables or unreadable files.
    """
    problems: list[Problem] = []
    tables: dict[str, tuple[pd.DataFrame, str]] = {}
    meta: dict = {}
    if not source.exists():
        raise SpmDataError(Problem(str(source), None, None, None, "no such file or folder"))
    fmt = infer_format(source)
    if source.is_dir():
        meta_path = source / "meta.yaml"
        if meta_path.exists():
            meta = yaml.safe_load(meta_path.read_text()) or {}
        for name in TABLES:
            for ext in (".csv", ".parquet"):
                p = source / f"{name}{ext}"
                if p.exists():
                    try:
                        if ext == ".csv":
                            df = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""])
                        else:
                            df = pd.read_parquet(p)
                    except Exception as exc:  # noqa: BLE001 - reported as a problem
                        problems.append(Problem(str(p), name, None, None, f"cannot read file: {exc}"))
                        break
                    tables[name] = (df, str(p))
                    break
    elif fmt == "xlsx":
        sheets = pd.read_excel(source, sheet_name=None, dtype=object)
        if "meta" in sheets:
            m = sheets.pop("meta")
            meta = {str(k): v for k, v in zip(m.iloc[:, 0], m.iloc[:, 1], strict=False)}
        for name, df in sheets.items():
            if name in TABLES:
                tables[name] = (df, f"{source}[{name}]")
    elif fmt == "duckdb":
        import duckdb

        con = duckdb.connect(str(source), read_only=True)
        try:
            existing = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
            if "meta" in existing:
                meta = dict(con.execute("select key, value from meta").fetchall())
            for name in TABLES:
                if name in existing:
                    tables[name] = (con.execute(f'select * from "{name}"').df(), f"{source}:{name}")
        finally:
            con.close()
    else:  # pragma: no cover - infer_format only returns the above
        raise SpmDataError(Problem(str(source), None, None, None, f"unsupported format {fmt}"))
    for name, schema in TABLES.items():
        if schema.required_table and name not in tables:
            problems.append(Problem(str(source), name, None, None, f"required table {name!r} is missing"))
    meta = {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in meta.items()}
    return tables, meta, problems


def load_dataset(source: str | os.PathLike[str], validate: bool = True) -> Dataset:
    """Load and validate a dataset.

    Parameters
    ----------
    source : path
        Folder of CSV/Parquet files (with optional ``meta.yaml``), ``.xlsx``
        workbook or ``.duckdb`` file.
    validate : bool
        Run the cross-table checks (:func:`spm_model.data.validate.validate_dataset`).
        Type checks always run.

    Returns
    -------
    Dataset

    Raises
    ------
    SpmDataError
        With **every** problem found (file, row, column, reason).
    """
    path = Path(source)
    raw_tables, raw_meta, problems = read_raw(path)
    try:
        meta = DatasetMeta(**raw_meta)
    except Exception as exc:  # pydantic ValidationError
        meta = DatasetMeta()
        problems.append(Problem(str(path / "meta.yaml") if path.is_dir() else str(path), "meta", None, None, str(exc)))
    tables: dict[str, pd.DataFrame] = {}
    locations: dict[str, str] = {}
    for name, (raw, where) in raw_tables.items():
        df, probs = coerce_table(raw, TABLES[name], where)
        tables[name] = df
        locations[name] = where
        problems += probs
    ds = Dataset(tables, meta, str(path))
    ds.locations = locations  # type: ignore[attr-defined]
    if validate and not problems:
        problems += ds.validate()
    elif validate:
        # Still run cross-table checks so that all problems are reported at once.
        try:
            problems += ds.validate()
        except Exception:  # noqa: BLE001 - checks on broken tables may fail; type problems suffice
            pass
    if problems:
        raise SpmDataError(problems)
    return ds


# -- writing ---------------------------------------------------------------------
@contextmanager
def atomic_path(target: Path, is_dir: bool) -> Iterator[Path]:
    """Yield a temporary sibling of ``target``; move it into place on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_root = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    tmp = tmp_root / target.name
    if is_dir:
        tmp.mkdir()
    try:
        yield tmp
        if target.exists() and target.is_dir():
            old = target.parent / f".{target.name}.old-{os.getpid()}"
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)


def atomic_write_text(target: str | os.PathLike[str], text: str) -> Path:
    """Write a text file atomically."""
    target = Path(target)
    with atomic_path(target, is_dir=False) as tmp:
        tmp.write_text(text)
    return target


def _for_output(df: pd.DataFrame, fmt: Format) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d") if fmt in ("csv",) else out[c].dt.date
    return out


def _meta_dict(ds: Dataset) -> dict:
    m = ds.meta.model_dump(mode="json")
    return {k: v for k, v in m.items() if v is not None}


def save_dataset(ds: Dataset, target: Path, fmt: Format) -> Path:
    """Write ``ds`` to ``target`` in ``fmt``, atomically."""
    if fmt in ("csv", "parquet"):
        with atomic_path(target, is_dir=True) as tmp:
            (tmp / "meta.yaml").write_text(yaml.safe_dump(_meta_dict(ds), sort_keys=False))
            for name, df in ds.tables.items():
                if name not in TABLES:
                    continue
                if fmt == "csv":
                    _for_output(df, fmt).to_csv(tmp / f"{name}.csv", index=False, float_format="%.10g", lineterminator="\n")
                else:
                    df.to_parquet(tmp / f"{name}.parquet", index=False)
    elif fmt == "xlsx":
        with atomic_path(target, is_dir=False) as tmp:
            with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                pd.DataFrame(list(_meta_dict(ds).items()), columns=["key", "value"]).to_excel(xw, sheet_name="meta", index=False)
                for name, df in ds.tables.items():
                    if name in TABLES:
                        _for_output(df, fmt).to_excel(xw, sheet_name=name, index=False)
    elif fmt == "duckdb":
        import duckdb

        with atomic_path(target, is_dir=False) as tmp:
            con = duckdb.connect(str(tmp))
            try:
                meta_df = pd.DataFrame([(k, str(v)) for k, v in _meta_dict(ds).items()], columns=["key", "value"])
                con.register("meta_df", meta_df)
                con.execute("create table meta as select * from meta_df")
                for name, df in ds.tables.items():
                    if name in TABLES:
                        con.register("src", df)
                        con.execute(f'create table "{name}" as select * from src')
                        con.unregister("src")
            finally:
                con.close()
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return target
