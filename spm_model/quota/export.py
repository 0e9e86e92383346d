"""Excel workbook of a quota result, with the allocation hierarchy."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from spm_model.quota.setting import QuotaResult


def hierarchy_table(result: QuotaResult) -> pd.DataFrame:
    """Return the allocation as an indented hierarchy: company, regions, teams, reps per measure.

    Returns
    -------
    DataFrame
        ``measure, level, node, parent, target, over_assign, to_assign, assigned,
        difference`` in tree order, with ``outline`` (0-3) for indentation.
    """
    a = result.allocation.copy()
    depth = {"company": 0, "region": 1, "team": 2, "rep": 3}
    a["outline"] = a["level"].map(depth)
    parts = []
    for _meas, g in a.groupby("measure", sort=True):
        comp = g[g["level"] == "company"]
        parts.append(comp)
        for reg in g[g["level"] == "region"].itertuples(index=False):
            parts.append(g[(g["level"] == "region") & (g["node"] == reg.node)])
            teams = g[(g["level"] == "team") & (g["parent"] == reg.node)]
            for t in teams.itertuples(index=False):
                parts.append(teams[teams["node"] == t.node])
                parts.append(g[(g["level"] == "rep") & (g["parent"] == t.node)])
    out = pd.concat(parts, ignore_index=True)
    out["label"] = ["    " * o + str(n) for o, n in zip(out["outline"], out["node"], strict=True)]
    cols = [
        "measure",
        "outline",
        "label",
        "level",
        "node",
        "parent",
        "target",
        "over_assign",
        "to_assign",
        "assigned",
        "difference",
    ]
    return out[cols]


def to_excel(result: QuotaResult, path: str | os.PathLike[str]) -> Path:
    """Write the quota workbook atomically and return its path.

    Sheets: ``Summary`` (first), ``quotas``, ``annual``, ``allocation``
    (hierarchy, grouped rows), ``unassigned`` and ``notes``, formatted by the
    package's workbook writer (:func:`spm_model.data.workbook.write_workbook`).
    """
    from spm_model.data.workbook import Sheet, write_workbook

    h = hierarchy_table(result)
    sheets = {
        "quotas": result.quotas,
        "annual": result.annual,
        "allocation": Sheet(h.drop(columns="outline"), outline=[int(o or 0) for o in h["outline"]]),
        "unassigned": result.unassigned,
        "notes": pd.DataFrame({"note": result.notes or ["(none)"]}),
    }
    return write_workbook(path, sheets, summary=result.summary(), title="Quotas")
