"""Reading and writing datasets: CSV/Parquet folders, Excel workbooks, DuckDB files.

Layout of each format
---------------------
* **folder**: ``<table>.csv`` or ``<table>.parquet`` per table plus ``meta.yaml``;
* **Excel workbook** (``.xlsx``): one sheet per table plus a ``meta`` sheet (key, value);
* **DuckDB database** (``.duckdb``): one table per table plus a ``meta`` table (key, value).

Besides the canonical tables of :mod:`spm_model.data.schema`, a dataset may hold
*extra* tables (for example the generator's ground truth, ``truth_*``) and extra
columns in canonical tables. They are written in every format and read back with
their pandas dtypes, which are recorded under ``extra_dtypes`` in the metadata
(CSV and Excel cannot hold dtypes themselves).

Every writer is atomic: output goes to a temporary sibling first and is moved
into place with :func:`os.replace` only once complete, so a failing write leaves
the previous target untouched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pandas.api.types import pandas_dtype

from spm_model.data.dataset import Dataset, DatasetMeta, Format, coerce_table
from spm_model.data.schema import TABLES
from spm_model.errors import Problem, SpmConfigError, SpmDataError, yaml_hint

META_FILE = "meta.yaml"
META_TABLE = "meta"
EXTRA_DTYPES_KEY = "extra_dtypes"
"""Metadata key holding ``{table: {column: pandas dtype}}`` for non-canonical columns."""

_TABLE_SUFFIXES = (".csv", ".parquet")
_XLSX_MAX_ROWS = 1_048_575  # Excel's limit, header excluded
_XLSX_MAX_SHEET_NAME = 31


FORMAT_SUFFIX: dict[str, str] = {"xlsx": ".xlsx", "duckdb": ".duckdb"}
"""File suffix of the single-file formats (folders have none)."""


def read_yaml_mapping(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """Read a YAML file that must hold a mapping (a parameters file, an import mapping).

    Raises
    ------
    SpmConfigError
        One line naming the file: not found (``"<path>: <what> not found"``), not
        valid YAML (with the parser's message and a hint), or not a mapping.
    """
    p = Path(path)
    if not p.is_file():
        raise SpmConfigError(f"{p}: {what} not found")
    text = p.read_text(encoding="utf-8")
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        hint = yaml_hint(exc, text)
        raise SpmConfigError(
            f"{p}: not valid YAML: {exc}" + (f"\nHint: {hint}" if hint else "")
        ) from None
    if not isinstance(loaded, dict):
        raise SpmConfigError(f"{p}: expected a YAML mapping ({what})")
    return loaded


def sniff_format(path: Path) -> Format | None:
    """Format of an existing file from its first bytes, whatever its name.

    An Excel workbook is a zip archive (starting ``PK``); a DuckDB database
    has ``DUCK`` at byte 8. Returns ``None`` for anything else (or no file).
    """
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return None
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head[8:12] == b"DUCK":
        return "duckdb"
    return None


def infer_format(path: Path) -> Format:
    """Format of a source or target path: an existing file by its content, else by its suffix.

    Folders are CSV, or Parquet when they hold only Parquet files. So a workbook or
    database saved without its extension is still read as what it is.
    """
    if path.is_file():
        sniffed = sniff_format(path)
        if sniffed is not None:
            return sniffed
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".duckdb", ".db"):
        return "duckdb"
    if path.is_dir() and any(path.glob("*.parquet")) and not any(path.glob("*.csv")):
        return "parquet"
    return "csv"


# -- metadata encoding (key/value tables in Excel and DuckDB) --------------------
def _encode_meta_value(v: Any) -> str:
    """Text form of one metadata value that :func:`_decode_meta_value` reads back."""
    if isinstance(v, str):
        try:
            same = yaml.safe_load(v) == v
        except yaml.YAMLError:
            same = False
        return v if same else json.dumps(v)
    return json.dumps(v, default=str)


def _decode_meta_value(v: Any) -> Any:
    if not isinstance(v, str):
        return None if isinstance(v, float) and np.isnan(v) else v
    try:
        return yaml.safe_load(v)
    except yaml.YAMLError:
        return v


# -- dtypes of non-canonical columns ---------------------------------------------
def _extra_dtypes(ds: Dataset) -> dict[str, dict[str, str]]:
    """``{table: {column: dtype}}`` of every column not described by a canonical schema."""
    out: dict[str, dict[str, str]] = {}
    for name, df in ds.tables.items():
        schema = TABLES.get(name)
        known = set(schema.column_names) if schema else set()
        cols = {str(c): str(df[c].dtype) for c in df.columns if c not in known}
        if cols:
            out[name] = cols
    return out


_TRUE = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def restore_dtype(s: pd.Series, dtype: str) -> pd.Series:
    """Convert a column read from a file back to the pandas ``dtype`` it was saved with.

    Values that cannot be converted leave the column as read (a best effort: extra
    tables are not validated).
    """
    if str(s.dtype) == dtype:
        return s
    try:
        if dtype.startswith("datetime64"):
            if not pd.api.types.is_datetime64_any_dtype(s):
                s = pd.to_datetime(s, format="ISO8601")
            return s.astype(pandas_dtype(dtype))
        if dtype in ("bool", "boolean"):
            if not pd.api.types.is_bool_dtype(s):
                s = s.map(lambda v: _TRUE.get(str(v).strip().lower()) if pd.notna(v) else None)
            return s.astype(pandas_dtype(dtype))
        if dtype.lower().startswith(("int", "uint", "float")):
            return pd.to_numeric(s).astype(pandas_dtype(dtype))
        if dtype == "object":
            obj = s.astype(object)
            return obj.where(s.notna(), None)
        return s.astype(pandas_dtype(dtype))
    except (ValueError, TypeError, OverflowError):
        return s


def _apply_extra_dtypes(df: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    for c, d in dtypes.items():
        if c in df.columns:
            df[c] = restore_dtype(df[c], str(d))
    return df


# -- reading ---------------------------------------------------------------------
def _read_csv(p: Path, infer: bool) -> pd.DataFrame:
    try:
        if infer:
            return pd.read_csv(p)
        return pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        return pd.DataFrame()  # an empty file: a table with no rows (reported by the loader)


def _yaml_key_lines(text: str) -> dict[str, int]:
    """1-based line of each top-level key of a YAML mapping (for messages)."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): k.start_mark.line + 1 for k, _ in node.value}


def read_raw(
    source: Path,
) -> tuple[
    dict[str, tuple[pd.DataFrame, str]],
    dict[str, Any],
    list[Problem],
    dict[str, str],
    dict[str, int],
]:
    """Read raw tables from ``source``.

    Returns
    -------
    tables : dict
        Table name to (raw frame, location string used in messages); canonical
        and extra tables.
    meta : dict
        Raw metadata (``extra_dtypes`` included).
    problems : list of Problem
        Missing required tables or unreadable files.
    locations : dict
        Table name (and ``"meta"``) to the location used in messages.
    meta_rows : dict
        Metadata key to its line (``meta.yaml``) or row (``meta`` sheet or table).
    """
    problems: list[Problem] = []
    meta_rows: dict[str, int] = {}
    tables: dict[str, tuple[pd.DataFrame, str]] = {}
    meta: dict[str, Any] = {}
    if not source.exists():
        raise SpmDataError(Problem(str(source), None, None, None, "no such file or folder"))
    fmt = infer_format(source)
    meta_where = str(source)
    if source.is_dir():
        meta_path = source / META_FILE
        meta_where = str(meta_path)
        if meta_path.exists():
            text = meta_path.read_text(encoding="utf-8")
            try:
                loaded = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                line = mark.line + 1 if mark is not None else None
                why = f"not valid YAML: {getattr(exc, 'problem', None) or exc}"
                why += f". Hint: {yaml_hint(exc, text)}"
                problems.append(Problem(meta_where, "meta", line, None, why))
                loaded = {}
            meta_rows = _yaml_key_lines(text)
            if loaded is not None and not isinstance(loaded, dict):
                problems.append(
                    Problem(meta_where, "meta", None, None, "expected a mapping of settings")
                )
                loaded = {}
            meta = loaded or {}
        files: dict[str, list[Path]] = {}
        for p in sorted(source.iterdir()):
            if p.is_file() and not p.name.startswith((".", "~")) and p.suffix in _TABLE_SUFFIXES:
                files.setdefault(p.stem, []).append(p)
        extra_dtypes = meta.get(EXTRA_DTYPES_KEY) or {}
        for name, paths in files.items():
            if len(paths) > 1:
                problems.append(
                    Problem(
                        str(source),
                        name,
                        None,
                        None,
                        f"table {name!r} is present as both {paths[0].name} "
                        f"and {paths[1].name}; keep one",
                    )
                )
                continue
            p = paths[0]
            try:
                if p.suffix == ".csv":
                    # canonical tables and recorded extras: text, typed later;
                    # foreign extras without recorded dtypes: pandas inference.
                    infer = name not in TABLES and name not in extra_dtypes
                    df = _read_csv(p, infer)
                else:
                    df = pd.read_parquet(p)
            except Exception as exc:
                # CSV parser errors name the line ("Expected 5 fields in line 7, saw 6")
                found = re.search(r"line (\d+)", str(exc))
                line = int(found.group(1)) if found else None
                problems.append(Problem(str(p), name, line, None, f"cannot read file: {exc}"))
                continue
            tables[name] = (df, str(p))
    elif fmt == "xlsx":
        try:
            sheets = pd.read_excel(source, sheet_name=None, dtype=object)
        except Exception as exc:
            raise SpmDataError(
                Problem(str(source), None, None, None, f"cannot read workbook: {exc}")
            ) from exc
        meta_where = f"{source}[{META_TABLE}]"
        if META_TABLE in sheets:
            m = sheets.pop(META_TABLE)
            if m.shape[1] >= 2:
                for i, (k, v) in enumerate(zip(m.iloc[:, 0], m.iloc[:, 1], strict=False)):
                    if isinstance(k, str):
                        meta[k] = _decode_meta_value(v)
                        meta_rows[k] = i + 2
        for name, df in sheets.items():
            tables[str(name)] = (df, f"{source}[{name}]")
    elif fmt == "duckdb":
        import duckdb

        meta_where = f"{source}:{META_TABLE}"
        try:
            con = duckdb.connect(str(source), read_only=True)
        except Exception as exc:
            raise SpmDataError(
                Problem(str(source), None, None, None, f"cannot open database: {exc}")
            ) from exc
        try:
            existing = [
                r[0]
                for r in con.execute(
                    "select table_name from information_schema.tables "
                    "where table_schema = 'main' order by table_name"
                ).fetchall()
            ]
            if META_TABLE in existing:
                rows = con.execute(f'select * from "{META_TABLE}"').fetchall()
                for i, (k, v) in enumerate(rows):
                    meta[str(k)] = _decode_meta_value(v)
                    meta_rows[str(k)] = i + 2
            for name in existing:
                if name != META_TABLE:
                    tables[name] = (con.execute(f'select * from "{name}"').df(), f"{source}:{name}")
        finally:
            con.close()
    else:  # a single file that is not a workbook or a database
        raise SpmDataError(
            Problem(
                str(source),
                None,
                None,
                None,
                "not a dataset: expected a folder of CSV/Parquet files (with meta.yaml), "
                "an .xlsx workbook or a .duckdb file",
            )
        )
    for name, schema in TABLES.items():
        if schema.required_table and name not in tables:
            problems.append(
                Problem(str(source), name, None, None, f"required table {name!r} is missing")
            )
    meta = {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in meta.items()}
    locations = {name: where for name, (_, where) in tables.items()}
    locations["meta"] = meta_where
    return tables, meta, problems, locations, meta_rows


def load_dataset(source: str | os.PathLike[str], validate: bool = True) -> Dataset:
    """Load and validate a dataset.

    Parameters
    ----------
    source : path
        Folder of CSV/Parquet files (with optional ``meta.yaml``), ``.xlsx``
        workbook or ``.duckdb`` file.
    validate : bool
        Run the cross-table checks (:func:`spm_model.data.validate.validate_dataset`).
        Per-column checks (types, nulls, allowed values, ranges) always run.

    Returns
    -------
    Dataset
        Canonical tables in canonical dtypes, plus any extra tables with the
        dtypes they were saved with.

    Raises
    ------
    SpmDataError
        With **every** problem found (file, row, column, reason).
    """
    from spm_model.data.validate import validate_dataset

    path = Path(source)
    raw_tables, raw_meta, problems, locations, meta_rows = read_raw(path)
    extra_dtypes = raw_meta.pop(EXTRA_DTYPES_KEY, None) or {}
    if not isinstance(extra_dtypes, dict):
        extra_dtypes = {}
    meta, meta_problems = _parse_meta(raw_meta, locations["meta"], meta_rows)
    problems += meta_problems
    tables: dict[str, pd.DataFrame] = {}
    for name, (raw, where) in raw_tables.items():
        dtypes = extra_dtypes.get(name) or {}
        if name in TABLES:
            df, probs = coerce_table(raw, TABLES[name], where)
            problems += probs
        else:
            df = raw.reset_index(drop=True)
        tables[name] = _apply_extra_dtypes(df, dtypes) if isinstance(dtypes, dict) else df
    ds = Dataset(tables, meta, str(path))
    ds.locations = locations
    ds.meta_rows = meta_rows
    if validate:
        problems += validate_dataset(ds)
    if problems:
        raise SpmDataError(problems)
    return ds


def _parse_meta(
    raw: dict[str, Any], where: str, rows: dict[str, int]
) -> tuple[DatasetMeta, list[Problem]]:
    """Validate metadata field by field; invalid fields are reported and left at their defaults."""
    import difflib

    from pydantic import ValidationError

    problems: list[Problem] = []
    raw = dict(raw)
    # extra keys are kept (a generator's parameters, a user's notes), but a near-miss of a
    # setting is a typo whose setting would silently fall back to its default
    known = list(DatasetMeta.model_fields)
    for key in [k for k in raw if k not in known]:
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.8)
        if close and close[0] not in raw:
            problems.append(
                Problem(
                    where,
                    "meta",
                    rows.get(str(key)),
                    str(key),
                    f"unknown setting {key!r}: did you mean {close[0]!r}? (else "
                    f"{close[0]} takes its default)",
                )
            )
            raw.pop(key)
    for _ in range(len(raw) + 1):
        try:
            return DatasetMeta.model_validate(raw), problems
        except ValidationError as exc:
            for err in exc.errors():
                loc = err.get("loc", ())
                field = str(loc[0]) if loc else None
                problems.append(
                    Problem(
                        where,
                        "meta",
                        rows.get(field or ""),
                        field,
                        f"{err.get('msg')} (got {err.get('input')!r})",
                    )
                )
                raw.pop(field or "", None)
    return DatasetMeta.model_validate({}), problems  # pragma: no cover - defaults are valid


# -- writing ---------------------------------------------------------------------
@contextmanager
def atomic_path(target: Path, is_dir: bool) -> Iterator[Path]:
    """Yield a temporary sibling of ``target``; move it into place on success.

    On an exception nothing is moved and the temporary output is removed, so the
    previous ``target`` (if any) is left exactly as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_root = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    tmp = tmp_root / target.name
    if is_dir:
        tmp.mkdir()
    try:
        yield tmp
        if target.is_dir() and not target.is_symlink():
            # two renames: the old folder moves into the temporary root, which is removed below
            os.replace(target, tmp_root / ".old")
            os.replace(tmp, target)
        else:
            os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)


def atomic_write_text(target: str | os.PathLike[str], text: str) -> Path:
    """Write a text file atomically (UTF-8)."""
    target = Path(target)
    with atomic_path(target, is_dir=False) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target


def _date_columns(name: str, df: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(canonical date columns, other datetime columns) of a table."""
    schema = TABLES.get(name)
    canon = {c.name for c in schema.columns if c.kind == "date"} if schema else set()
    dates = [c for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])]
    return [c for c in dates if c in canon], [c for c in dates if c not in canon]


def _for_output(name: str, df: pd.DataFrame, fmt: Format) -> pd.DataFrame:
    """Copy of ``df`` ready for ``fmt``: dates as text (CSV) or dates (Excel), money rounded."""
    out = df.copy()
    schema = TABLES.get(name)
    if schema is not None:
        for col in schema.columns:
            if (
                col.kind == "money"
                and col.name in out
                and pd.api.types.is_float_dtype(out[col.name])
            ):
                out[col.name] = out[col.name].round(2)
    canon_dates, other_dates = _date_columns(name, out)
    for c in canon_dates + other_dates:
        s = out[c]
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        only_days = c in canon_dates or bool((s.dropna() == s.dropna().dt.normalize()).all())
        if fmt == "csv":
            out[c] = s.dt.strftime("%Y-%m-%d" if only_days else "%Y-%m-%dT%H:%M:%S.%f")
        elif fmt == "xlsx":
            out[c] = s.dt.date if only_days else s
    return out


def _meta_dict(ds: Dataset) -> dict[str, Any]:
    m = ds.meta.model_dump(mode="json")
    m.pop(EXTRA_DTYPES_KEY, None)
    out = {k: v for k, v in m.items() if v is not None}
    extra = _extra_dtypes(ds)
    if extra:
        out[EXTRA_DTYPES_KEY] = extra
    return out


def _check_folder_target(target: Path) -> list[Path]:
    """Entries of an existing folder target that are not dataset files (kept on save).

    Hidden sub-folders (``.ipynb_checkpoints``...) are kept too; any other sub-folder
    means the target is not a dataset folder, and replacing it is refused.
    """
    if not target.exists():
        return []
    if not target.is_dir():
        raise SpmConfigError(
            f"{target} exists and is not a folder; cannot save a folder dataset there"
        )
    keep: list[Path] = []
    for p in target.iterdir():
        if p.is_dir() and p.name.startswith("."):
            keep.append(p)
            continue
        if p.is_dir():
            raise SpmConfigError(
                f"refusing to replace folder {target}: it contains the sub-folder {p.name!r}, "
                "so it does not look like a dataset folder"
            )
        if p.suffix not in _TABLE_SUFFIXES and p.name != META_FILE:
            keep.append(p)
    return keep


def save_dataset(ds: Dataset, target: Path, fmt: Format) -> Path:
    """Write ``ds`` to ``target`` in ``fmt``, atomically.

    Parameters
    ----------
    ds : Dataset
        Dataset to write; canonical and extra tables are written.
    target : Path
        Folder (``csv``, ``parquet``), ``.xlsx`` or ``.duckdb`` file. An existing
        dataset folder is replaced whole; other files in it (a README, say) are kept.
    fmt : {"csv", "parquet", "xlsx", "duckdb"}
        Output format.

    Returns
    -------
    Path
        The written target.

    Raises
    ------
    SpmConfigError
        When the target cannot hold the dataset (a folder with sub-folders, a
        table too long for Excel, a table name too long for a sheet).
    """
    target = Path(target)
    meta = _meta_dict(ds)
    tables = {name: df for name, df in ds.tables.items() if name in TABLES or len(df.columns)}
    if fmt in ("csv", "parquet"):
        keep = _check_folder_target(target)
        with atomic_path(target, is_dir=True) as tmp:
            for p in keep:
                if p.is_dir():
                    shutil.copytree(p, tmp / p.name, symlinks=True)
                else:
                    shutil.copy2(p, tmp / p.name)
            (tmp / META_FILE).write_text(
                yaml.safe_dump(meta, sort_keys=False, allow_unicode=True), encoding="utf-8"
            )
            for name, df in tables.items():
                if fmt == "csv":
                    _for_output(name, df, fmt).to_csv(
                        tmp / f"{name}.csv", index=False, lineterminator="\n"
                    )
                else:
                    df.reset_index(drop=True).to_parquet(tmp / f"{name}.parquet", index=False)
    elif fmt == "xlsx":
        for name, df in tables.items():
            if len(df) > _XLSX_MAX_ROWS:
                raise SpmConfigError(
                    f"table {name!r} has {len(df):,} rows, more than an Excel sheet holds "
                    f"({_XLSX_MAX_ROWS:,}); save as parquet or duckdb instead"
                )
            if len(name) > _XLSX_MAX_SHEET_NAME or name == META_TABLE:
                raise SpmConfigError(f"table name {name!r} cannot be an Excel sheet name")
        with atomic_path(target, is_dir=False) as tmp:
            with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
                pd.DataFrame(
                    [(k, _encode_meta_value(v)) for k, v in meta.items()], columns=["key", "value"]
                ).to_excel(xw, sheet_name=META_TABLE, index=False)
                for name, df in tables.items():
                    _for_output(name, df, fmt).to_excel(xw, sheet_name=name, index=False)
    elif fmt == "duckdb":
        import duckdb

        if META_TABLE in tables:
            raise SpmConfigError(f"a table cannot be called {META_TABLE!r} in a DuckDB dataset")
        with atomic_path(target, is_dir=False) as tmp:
            con = duckdb.connect(str(tmp))
            try:
                con.execute(f'create table "{META_TABLE}" (key varchar, value varchar)')
                con.executemany(
                    f'insert into "{META_TABLE}" values (?, ?)',
                    [(k, _encode_meta_value(v)) for k, v in meta.items()],
                )
                for name, df in tables.items():
                    _create_duckdb_table(con, name, df)
            finally:
                con.close()
    else:
        raise SpmConfigError(f"unknown format {fmt!r} (expected csv, parquet, xlsx or duckdb)")
    return target


def _create_duckdb_table(con: Any, name: str, df: pd.DataFrame) -> None:
    """Create table ``name`` from ``df``: canonical dates as DATE, empty text columns as VARCHAR."""
    canon_dates, _ = _date_columns(name, df)
    src = df.reset_index(drop=True).copy()
    casts: dict[str, str] = {c: "DATE" for c in canon_dates}
    for c in src.columns:
        if src[c].dtype == object and src[c].isna().all():
            src[c] = src[c].astype("string")
            casts.setdefault(str(c), "VARCHAR")
    con.register("__spm_src", src)
    try:
        if casts:
            repl = ", ".join(f'cast("{c}" as {t}) as "{c}"' for c, t in casts.items())
            con.execute(f'create table "{name}" as select * replace ({repl}) from __spm_src')
        else:
            con.execute(f'create table "{name}" as select * from __spm_src')
    finally:
        con.unregister("__spm_src")
