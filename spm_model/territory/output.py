"""Write an alignment as effective-dated ownership rows of the ``assignments`` table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from spm_model.data.schema import ASSIGNMENTS
from spm_model.errors import Problem, SpmDataError


def to_assignments(
    assignments: pd.DataFrame | None,
    new_owner: pd.Series,
    effective_date: object,
    role: str = "owner",
) -> pd.DataFrame:
    """Apply a new alignment to an assignments table from ``effective_date`` on.

    For every account in ``new_owner`` whose owner on ``effective_date`` differs
    from the new one, the open owner row is closed the day before
    (``end_date = effective_date - 1 day``; a row starting on that very day is
    dropped instead) and a new open-ended row starts on ``effective_date``.
    Accounts that keep their owner keep their rows; overlay rows and every other
    account are untouched. The result follows the ``assignments`` schema
    (account_id, rep_id, role, start_date, end_date, plus any extra columns
    already present) and can be fed to crediting and quota setting as it is.

    Parameters
    ----------
    assignments : DataFrame or None
        Current assignments table (``None`` or empty for a first alignment).
    new_owner : Series
        account_id -> rep_id of the new alignment.
    effective_date : date-like
        First day of the new alignment.
    role : str
        Role of the rows written (``"owner"``).

    Returns
    -------
    DataFrame
        The full new assignments table, sorted by account_id and start_date.

    Raises
    ------
    SpmDataError
        If an account already has an owner row starting after ``effective_date``
        (a future-dated change would conflict), listing every such account.
    """
    eff = pd.Timestamp(effective_date).normalize()
    cols = ASSIGNMENTS.column_names
    if assignments is None or len(assignments) == 0:
        base = pd.DataFrame({c: pd.Series(dtype="object") for c in cols if c != "product_family"})
        base["start_date"] = pd.Series(dtype="datetime64[ns]")
        base["end_date"] = pd.Series(dtype="datetime64[ns]")
    else:
        base = assignments.copy()
        base["start_date"] = pd.to_datetime(base["start_date"])
        base["end_date"] = pd.to_datetime(base["end_date"])
    new_owner = new_owner.dropna().astype(str)
    new_owner.index = new_owner.index.astype(str)
    acc = base["account_id"].astype(str)
    is_owner = base["role"].astype(str) == role
    in_scope = acc.isin(new_owner.index) & is_owner
    future = in_scope & (base["start_date"] > eff)
    if future.any():
        probs = [
            Problem(
                "assignments",
                "assignments",
                int(i) + 2,
                "start_date",
                f"account {acc.iloc[i]!r} already has an owner row starting "
                f"{base['start_date'].iloc[i].date()} after the effective date {eff.date()}",
            )
            for i in np.flatnonzero(future.to_numpy())
        ]
        raise SpmDataError(probs)
    open_now = (
        in_scope
        & (base["start_date"] <= eff)
        & (base["end_date"].isna() | (base["end_date"] >= eff))
    )
    cur_owner = pd.Series(
        base.loc[open_now, "rep_id"].astype(str).to_numpy(), index=acc[open_now].to_numpy()
    )
    cur_owner = cur_owner[~cur_owner.index.duplicated(keep="last")]
    same = new_owner.reindex(cur_owner.index) == cur_owner
    keep_accounts = set(same[same].index)
    change = open_now & ~acc.isin(keep_accounts)
    starts_today = change & (base["start_date"] == eff)
    base.loc[change & ~starts_today, "end_date"] = eff - pd.Timedelta(days=1)
    base = base[~starts_today.to_numpy()]
    new_acc = [a for a in new_owner.index if a not in keep_accounts]
    add = pd.DataFrame(
        {
            "account_id": new_acc,
            "rep_id": new_owner.reindex(new_acc).to_numpy(),
            "role": role,
            "start_date": eff,
            "end_date": pd.NaT,
        }
    )
    for c in base.columns:
        if c not in add.columns:
            add[c] = None
    out = pd.concat([base, add[base.columns]], ignore_index=True) if len(base) else add
    out["start_date"] = pd.to_datetime(out["start_date"])
    out["end_date"] = pd.to_datetime(out["end_date"])
    out = out.sort_values(["account_id", "start_date", "role"], kind="stable").reset_index(
        drop=True
    )
    return out
