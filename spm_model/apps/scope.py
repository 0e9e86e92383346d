"""Cut a company down to the rows one link may see.

:func:`scope_reps` turns a :class:`~spm_model.apps.access.Scope` into the set of
reps it covers; :func:`filter_credits` and :func:`filter_dataset` keep only
their rows. The company is credited once, whole (a rep's credit depends on
assignments, splits and clawbacks of the whole company); the scoped crediting is
a *row subset* of that result, so a rep's statement on the scoped data is the
statement on the whole company, to the cent. Nothing of a rep outside the scope
survives: not their rows, not their id in a categorical's categories, not a
transaction credited only to them.

Tables and what survives for reps ``S``:

* ``reps``: rows of ``S``; ``manager_id`` outside ``S`` is blanked;
* ``transactions``: those credited to someone in ``S`` (any rule); their
  ``opportunity_owner_id`` outside ``S`` is blanked; ``accounts`` of those
  transactions and of ``S``'s assignments;
* ``assignments``, ``quotas``, ``activities``, ``payments``, ``disputes``: rows of ``S``;
* ``splits``, ``credit_exceptions``: rows of ``S`` on kept transactions
  (``approved_by`` outside ``S`` blanked);
* ``opportunities``: owned by ``S``, or sourced by a meeting of ``S`` (an SDR's
  pipeline; the owner outside ``S`` blanked);
* ``products``: whole (a catalogue, not personal);
* extra tables (``truth_*`` of synthetic data): dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import pandas as pd

from spm_model.apps.access import Scope
from spm_model.crediting import CreditingResult
from spm_model.data import TABLES, Dataset
from spm_model.errors import SpmConfigError

_REP_TABLES = {
    "assignments": "rep_id",
    "quotas": "rep_id",
    "activities": "rep_id",
    "payments": "rep_id",
    "disputes": "rep_id",
    "opportunities": "owner_rep_id",
}
_PERSONAL_CATEGORIES = ("rep_id", "source_rep_id", "txn_id", "account_id", "original_txn_id")


def subtree(reps: pd.DataFrame, top: str) -> set[str]:
    """Return ``top`` and every rep below them in ``reps.manager_id``, at any depth."""
    ids = reps["rep_id"].astype(object).to_numpy()
    mgr = reps["manager_id"].astype(object).to_numpy() if "manager_id" in reps else ids[:0]
    children: dict[str, list[str]] = {}
    for r, m in zip(ids, mgr, strict=True):
        if isinstance(m, str):
            children.setdefault(m, []).append(str(r))
    out = {top}
    stack = [top]
    while stack:
        for c in children.get(stack.pop(), []):
            if c not in out:
                out.add(c)
                stack.append(c)
    return out


def scope_reps(reps: pd.DataFrame, scope: Scope) -> frozenset[str]:
    """Return the rep ids a scope covers.

    Raises
    ------
    SpmConfigError
        The scope names a rep who is not in the data, or gives a ``rep`` scope to
        a manager (their pay rolls up their team: issue them a ``manager`` link).
    """
    ids = set(reps["rep_id"].astype(object))
    if scope.kind == "finance":
        return frozenset(str(r) for r in ids)
    if scope.rep_id not in ids:
        raise SpmConfigError(f"access: rep {scope.rep_id!r} is not in the data")
    team = subtree(reps, str(scope.rep_id))
    if scope.kind == "rep":
        if len(team) > 1:
            raise SpmConfigError(
                f"access: {scope.rep_id} manages a team (their pay rolls it up): "
                "issue a manager link"
            )
        return frozenset(team)
    return frozenset(team)


def _keep_categories(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.remove_unused_categories()
    return s


def filter_credits(credits: CreditingResult, reps: Iterable[str]) -> CreditingResult:
    """Return the crediting of the reps in ``reps`` only (a row subset, exact).

    Direct credit rows of those reps and roll-up rows of those managers whose
    source rep is in the set too (materialised), the conservation, clawback,
    split and issue rows of their transactions; no categorical keeps a rep,
    transaction or account id outside the scope.
    """
    keep = sorted(set(reps))
    direct = credits.direct
    d = direct[direct["rep_id"].isin(keep).to_numpy()]
    r = credits.rollup_rows(keep)
    r = r[r["source_rep_id"].isin(keep).to_numpy()]
    c = pd.concat([d, r], ignore_index=True)
    for col in _PERSONAL_CATEGORIES:
        if col in c:
            c[col] = _keep_categories(c[col])
    txns = set(c["txn_id"].astype(object))

    def rows(df: pd.DataFrame | None, rep_col: str | None = "rep_id") -> pd.DataFrame | None:
        if df is None:
            return None
        m = np.ones(len(df), bool)
        if "txn_id" in df:
            m &= df["txn_id"].astype(object).isin(txns).to_numpy()
        if rep_col and rep_col in df:
            m &= df[rep_col].astype(object).isin(keep).to_numpy()
        out = df[m].reset_index(drop=True)
        for col in _PERSONAL_CATEGORIES:
            if col in out:
                out[col] = _keep_categories(out[col])
        return out

    t = credits.transactions
    if t is not None:
        t = rows(t, None)
        if t is not None and "opportunity_owner_id" in t:
            t["opportunity_owner_id"] = t["opportunity_owner_id"].where(
                t["opportunity_owner_id"].isin(keep)
            )
    return replace(
        credits,
        credits=c,
        conservation=rows(credits.conservation, None),
        split_report=rows(credits.split_report, None),
        clawbacks=rows(credits.clawbacks),
        issues=rows(credits.issues, None),
        problems=[],
        transactions=t,
        exceptions=_blank_outside(rows(credits.exceptions), "approved_by", keep),
        splits=rows(credits.splits),
        managers=None,
        rollup_materialised=True,
    )


def _blank_outside(df: pd.DataFrame | None, col: str, keep: Iterable[str]) -> pd.DataFrame | None:
    if df is None or col not in df:
        return df
    df = df.copy()
    df[col] = df[col].where(df[col].isin(list(keep)))
    return df


def filter_dataset(ds: Dataset, reps: Iterable[str], credits: CreditingResult) -> Dataset:
    """Return the part of ``ds`` the reps in ``reps`` may see (see the module notes).

    Parameters
    ----------
    ds : Dataset
        The whole company.
    reps : iterable of str
        Rep ids in scope (:func:`scope_reps`).
    credits : CreditingResult
        The whole company's crediting (:func:`spm_model.calc.credit_dataset`):
        it decides which transactions concern the scope.
    """
    keep = sorted(set(reps))
    unknown = set(keep) - set(ds.reps["rep_id"].astype(object))
    if unknown:
        raise SpmConfigError(f"unknown rep(s) {', '.join(sorted(unknown)[:10])}")
    txns = set(filter_credits(credits, keep).credits["txn_id"].astype(object))
    tables: dict[str, pd.DataFrame] = {}
    reps_t = ds.reps[ds.reps["rep_id"].isin(keep)].copy()
    reps_t["manager_id"] = reps_t["manager_id"].where(reps_t["manager_id"].isin(keep))
    tables["reps"] = reps_t
    t = ds.transactions[ds.transactions["txn_id"].isin(txns)].copy()
    if "opportunity_owner_id" in t:
        t["opportunity_owner_id"] = t["opportunity_owner_id"].where(
            t["opportunity_owner_id"].isin(keep)
        )
    tables["transactions"] = t
    for name, col in _REP_TABLES.items():
        df = ds[name]
        tables[name] = df[df[col].isin(keep)] if col in df else df.iloc[:0]
    # an SDR's pipeline counts the opportunities their meetings sourced, owned by AEs who may
    # be outside the scope: those opportunities are kept, their owner blanked
    opp = ds["opportunities"]
    act = tables["activities"]
    if len(opp) and "opportunity_id" in act and "opportunity_id" in opp:
        sourced = set(act["opportunity_id"].dropna().astype(object))
        more = opp[opp["opportunity_id"].isin(sourced) & ~opp["owner_rep_id"].isin(keep)].copy()
        if len(more):
            more["owner_rep_id"] = more["owner_rep_id"].where(more["owner_rep_id"].isin(keep))
            tables["opportunities"] = pd.concat([tables["opportunities"], more], ignore_index=True)
    accounts = set(t["account_id"].dropna()) | set(tables["assignments"]["account_id"].dropna())
    acc = ds.accounts[ds.accounts["account_id"].isin(accounts)].copy()
    if "parent_account_id" in acc:
        acc["parent_account_id"] = acc["parent_account_id"].where(
            acc["parent_account_id"].isin(accounts)
        )
    tables["accounts"] = acc
    for name in ("splits", "credit_exceptions"):
        df = ds[name]
        tables[name] = df[df["txn_id"].isin(txns) & df["rep_id"].isin(keep)]
    ce = tables["credit_exceptions"]
    if "approved_by" in ce:
        tables["credit_exceptions"] = _blank_outside(ce, "approved_by", keep)  # type: ignore[assignment]
    tables["products"] = ds.products
    return Dataset(
        {k: v.reset_index(drop=True) for k, v in tables.items() if k in TABLES},
        ds.meta.model_copy(),
        ds.source,
    )


def scoped(
    ds: Dataset, credits: CreditingResult, scope: Scope
) -> tuple[Dataset, CreditingResult, frozenset[str]]:
    """Return the scoped data, the scoped crediting and the rep ids of ``scope``."""
    keep = scope_reps(ds.reps, scope)
    return filter_dataset(ds, keep, credits), filter_credits(credits, keep), keep
