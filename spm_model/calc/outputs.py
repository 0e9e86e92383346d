"""Statement outputs: CSV tables, an Excel workbook and one Markdown/HTML statement per rep.

Everything is written into ``<out_dir>/<plan_id>_<period>/`` through a temporary
sibling folder that is moved into place only once complete
(:func:`spm_model.data.io.atomic_path`), so an interrupted run never leaves
half-written statements, and files of other runs in ``out_dir`` are untouched.

Layout::

    <plan_id>_<period>/
        summary.csv          one row per rep and measurement period
        lines.csv            one row per rep, period and component
        statements.xlsx      "Summary" sheet + one sheet per rep
        statements/<rep_id>.md | .html   readable statement with the full trace
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from spm_model.data.io import atomic_path
from spm_model.errors import SpmConfigError

if TYPE_CHECKING:
    from spm_model.calc.engine import CalcResult

FORMATS = ("csv", "xlsx", "md", "html")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_BAD_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def sheet_names(names: Sequence[str], reserved: Sequence[str] = ("Summary",)) -> list[str]:
    r"""Return unique Excel sheet names (at most 31 characters, no ``[]:*?/\\``).

    Parameters
    ----------
    names : sequence of str
        Wanted names, e.g. rep ids.
    reserved : sequence of str
        Names already used in the workbook.

    Returns
    -------
    list of str
        Names in the same order; clashes get a ``~2``, ``~3``... suffix.
    """
    used = {r.lower() for r in reserved}
    out = []
    for n in names:
        base = _BAD_SHEET_CHARS.sub("_", str(n)).strip("'") or "sheet"
        cand = base[:31]
        k = 2
        while cand.lower() in used:
            suffix = f"~{k}"
            cand = base[: 31 - len(suffix)] + suffix
            k += 1
        used.add(cand.lower())
        out.append(cand)
    return out


def _file_name(rep_id: str) -> str:
    return _BAD_FILE_CHARS.sub("_", str(rep_id)) or "rep"


def _fmt_table(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            if c in ("attainment", "proration"):
                out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:.2%}")
            elif c == "rate":
                out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:g}")
            else:
                out[c] = out[c].map(lambda v: "" if pd.isna(v) else f"{v:,.2f}")
    return out


def markdown_table(df: pd.DataFrame) -> str:
    """Render a DataFrame as a GitHub-flavoured Markdown table (numbers right-aligned)."""
    cols = [str(c) for c in df.columns]
    rows = [
        ["" if pd.isna(v) else str(v).replace("|", "\\|") for v in r]
        for r in df.itertuples(index=False)
    ]
    numeric = [
        pd.api.types.is_numeric_dtype(df[c]) or all(_looks_numeric(r[i]) for r in rows)
        for i, c in enumerate(df.columns)
    ]
    out = [
        "| " + " | ".join(cols) + " |",
        "|" + "|".join("---:" if n else "---" for n in numeric) + "|",
    ]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def _looks_numeric(v: str) -> bool:
    t = v.replace(",", "").replace("%", "").strip()
    if not t:
        return True
    try:
        float(t)
    except ValueError:
        return False
    return True


def statement_markdown(result: CalcResult, rep_id: str) -> str:
    """One rep's statement as Markdown: header, lines, totals and the full trace."""
    ex = result.explain(rep_id)
    s = ex.summary
    plan = result.plan
    head = [
        f"# Incentive statement - {rep_id}",
        "",
        f"Plan **{plan.id}** ({plan.name}, version {plan.version}), period **{result.period}**, "
        f"currency {plan.currency}.",
        "",
        "## Lines",
        "",
    ]
    cols = [
        "period",
        "component",
        "measure",
        "credited",
        "quota",
        "attainment",
        "segment",
        "rate",
        "earned",
        "ytd_earned",
        "clawback",
    ]
    body = markdown_table(_fmt_table(ex.lines[cols])) if len(ex.lines) else "_no lines_"
    tot_cols = [
        "period",
        "target_incentive",
        "earned",
        "ytd_earned",
        "previously_paid",
        "clawback",
        "draw",
        "draw_advanced",
        "draw_recovered",
        "draw_balance",
        "payable",
    ]
    tot = markdown_table(_fmt_table(s[tot_cols])) if len(s) else ""
    return "\n".join(
        [
            *head,
            body,
            "",
            "## Totals",
            "",
            tot,
            "",
            f"**Payable: {s['payable'].sum():,.2f} {plan.currency}**",
            "",
            "## How each amount was calculated",
            "",
            "```text",
            ex.text,
            "```",
            "",
        ]
    )


def statement_html(result: CalcResult, rep_id: str) -> str:
    """One rep's statement as a standalone HTML page."""
    ex = result.explain(rep_id)
    plan = result.plan
    cols = [
        "period",
        "component",
        "measure",
        "credited",
        "quota",
        "attainment",
        "segment",
        "rate",
        "earned",
        "ytd_earned",
        "clawback",
    ]
    tot_cols = [
        "period",
        "target_incentive",
        "earned",
        "ytd_earned",
        "previously_paid",
        "clawback",
        "draw",
        "draw_advanced",
        "draw_recovered",
        "draw_balance",
        "payable",
    ]
    lines = _fmt_table(ex.lines[cols]).to_html(index=False, border=0, classes="lines", escape=True)
    tot = _fmt_table(ex.summary[tot_cols]).to_html(
        index=False, border=0, classes="totals", escape=True
    )
    title = html.escape(f"Incentive statement - {rep_id} - {plan.id} {result.period}")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ padding: 4px 10px; border-bottom: 1px solid #ddd; text-align: right; }}
th {{ background: #f3f3f3; }}
td:nth-child(2), td:nth-child(3), td:nth-child(7) {{ text-align: left; }}
pre {{ background: #fafafa; padding: 1em; border: 1px solid #eee; overflow-x: auto; }}
</style></head><body>
<h1>{title}</h1>
<p>Plan <b>{html.escape(plan.name)}</b> (version {html.escape(plan.version)}),
currency {plan.currency}.</p>
<h2>Lines</h2>{lines}
<h2>Totals</h2>{tot}
<p><b>Payable: {ex.summary["payable"].sum():,.2f} {plan.currency}</b></p>
<h2>How each amount was calculated</h2>
<pre>{html.escape(ex.text)}</pre>
</body></html>
"""


def write_statements(
    result: CalcResult,
    out_dir: str | os.PathLike[str],
    formats: Sequence[str] = ("csv", "xlsx", "md"),
    *,
    reps: Sequence[str] | None = None,
    folder: str | None = None,
) -> Path:
    """Write the statements of ``result`` atomically.

    Parameters
    ----------
    result : CalcResult
        Output of :func:`spm_model.calc.calculate`.
    out_dir : path
        Parent folder; the run goes to ``<out_dir>/<plan_id>_<period>/``.
    formats : sequence of {"csv", "xlsx", "md", "html"}
        What to write.
    reps : sequence of str, optional
        Per-rep statements only for these reps (default: all).
    folder : str, optional
        The run folder's name instead of ``<plan_id>_<period>`` (two versions of
        one plan in a period each need their own).

    Returns
    -------
    Path
        The run folder.
    """
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise SpmConfigError(f"unknown output format(s) {bad}; choose from {', '.join(FORMATS)}")
    target = Path(out_dir) / (
        _file_name(folder)
        if folder
        else f"{_file_name(result.plan.id)}_{_file_name(result.period)}"
    )
    reps = list(result.reps if reps is None else reps)
    with atomic_path(target, is_dir=True) as tmp:
        if "csv" in formats:
            result.summary.to_csv(tmp / "summary.csv", index=False, lineterminator="\n")
            result.lines.to_csv(tmp / "lines.csv", index=False, lineterminator="\n")
        if "xlsx" in formats:
            _write_excel(result, tmp / "statements.xlsx", reps)
        if "md" in formats or "html" in formats:
            sd = tmp / "statements"
            sd.mkdir()
            for r in reps:
                if "md" in formats:
                    (sd / f"{_file_name(r)}.md").write_text(statement_markdown(result, r))
                if "html" in formats:
                    (sd / f"{_file_name(r)}.html").write_text(statement_html(result, r))
    return target


def _write_excel(result: CalcResult, path: Path, reps: Sequence[str]) -> None:
    """Summary sheet, then one sheet per rep, through the package's one workbook writer."""
    from spm_model.data.workbook import Sheet, write_workbook

    names = sheet_names(reps)
    summ = result.summary.copy()
    summ.insert(1, "sheet", summ["rep_id"].map(dict(zip(reps, names, strict=True))))
    sheets: dict[str, Sheet] = {}
    for r, sheet in zip(reps, names, strict=True):
        st = result.statement(r)
        cols = [
            c
            for c in (
                "period",
                "component",
                "type",
                "measure",
                "credited",
                "cancelled_credit",
                "quota",
                "attainment",
                "segment",
                "rate",
                "target",
                "earned",
                "ytd_earned",
                "clawback",
                "gate",
            )
            if c in st
        ]
        s = result.summary[result.summary["rep_id"] == r]
        title = (
            f"{r} - plan {result.plan.id} - {result.period}",
            f"payable {s['payable'].sum():,.2f} {result.plan.currency}; previously paid "
            f"{s['previously_paid'].iloc[0] if len(s) else 0:,.2f}",
        )
        sheets[sheet] = Sheet(st[cols], title=title)
    write_workbook(
        path,
        sheets,
        summary=summ,
        currency=result.plan.currency,
        title=f"Statements: plan {result.plan.id}, {result.period}",
    )
