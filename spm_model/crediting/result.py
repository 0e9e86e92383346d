"""The result of crediting: credit rows, conservation report, split report, issues."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from spm_model.data.periods import Frequency, period_labels
from spm_model.errors import Problem, SpmConfigError, SpmDataError

if TYPE_CHECKING:
    from spm_model.crediting.engine import _Block, _Context, _Splits
    from spm_model.crediting.policy import ClawbackPolicy
    from spm_model.data.dataset import Dataset

Basis = Literal["direct", "rollup", "all"]

CONSERVATION_STATUSES = {
    "ok": "owner/split credit equals the amount",
    "exception": "changed by an approved crediting exception",
    "split_over_100": "split shares total more than 100% (allowed, reported)",
    "split_under_100": "split shares total less than 100%",
    "clawback": "cancellation reversed only partly (clawback window / pro rata)",
    "follows_original": "reverses a booking whose own credit differs from its amount",
    "unassigned": "no owner on the transaction date: amount not credited",
    "not_credited": "not credited (circular original_txn_id chain)",
    "imbalance": "owner/split credit differs from the amount without a reason",
}
"""Statuses of the conservation report and what they mean."""
_EXPLAINED = {"ok", "exception", "split_over_100", "clawback", "follows_original"}


@dataclass
class CreditingResult:
    """Credit rows with lineage plus the checks made while crediting.

    Attributes
    ----------
    credits : DataFrame
        One row per (transaction, rep, rule): ``txn_id``, ``date`` (credit
        date: the transaction's date), ``rep_id``, ``measure``, ``account_id``,
        ``product_id``, ``rule``
        (owner, split, overlay, exception, cancellation, adjustment, rollup),
        ``amount`` (currency) and ``cents`` (integer cents), ``share`` (credit
        / transaction amount), ``source_rep_id`` (rollup: rep whose credit
        rolled up), ``source_rule`` (rollup/cancellation: rule of the credit
        rolled up or reversed), ``level`` (0 direct, n = n levels of
        management above the seller), ``assignment_row`` (file row of the
        assignment behind an owner/overlay credit, -1 if none), ``ref``
        (split reason or exception id), ``original_txn_id`` (cancellation /
        adjustment: the booking whose credit it reverses or adjusts).
    conservation : DataFrame
        One row per transaction: ``amount``, ``primary_credit`` (owner + split,
        including their reversals), ``exception_credit``, ``overlay_credit``,
        ``difference`` (primary + exception - amount), ``split_share_total``,
        ``status`` (see :data:`CONSERVATION_STATUSES`) and ``explained``.
    split_report : DataFrame
        Transactions whose split shares do not total 100%.
    clawbacks : DataFrame
        One row per reversed credit row of a cancellation: elapsed days, the
        clawback factor applied and the policy behind it.
    issues : DataFrame
        Transactions credited in an unusual way (``unassigned``,
        ``missing_original``, ``split_ignored``...), with a description.
    problems : list of Problem
        Input rows that could not be used (unknown product, rep or transaction).
    """

    credits: pd.DataFrame
    conservation: pd.DataFrame
    split_report: pd.DataFrame
    clawbacks: pd.DataFrame
    issues: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    policies: list[ClawbackPolicy] = field(default_factory=list)
    fy_start_month: int = 1
    transactions: pd.DataFrame | None = None
    exceptions: pd.DataFrame | None = None
    splits: pd.DataFrame | None = None
    managers: np.ndarray | None = None
    rollup_rules: tuple[str, ...] = ()
    rollup_materialised: bool = True

    # -- checks --------------------------------------------------------------------------------
    @property
    def violations(self) -> pd.DataFrame:
        """Conservation rows that are not explained (no exception, split report or clawback)."""
        c = self.conservation
        return c[~c["explained"]]

    @property
    def conserved(self) -> bool:
        """True when every transaction's owner/split credit equals its amount or is explained."""
        return bool(self.conservation["explained"].all())

    def check(self) -> CreditingResult:
        """Raise :class:`SpmDataError` on unexplained conservation failures, else return self."""
        v = self.violations
        if v.empty:
            return self
        problems = [
            Problem(
                "crediting",
                "transactions",
                None,
                "amount",
                f"transaction {r.txn_id}: {r.status} ({CONSERVATION_STATUSES[r.status]}), "
                f"amount {r.amount:,.2f}, credited {r.primary_credit + r.exception_credit:,.2f}",
            )
            for r in v.head(200).itertuples()
        ]
        raise SpmDataError(problems)

    def summary(self) -> pd.DataFrame:
        """Totals by rule (rows, amount) and conservation status counts, for a quick look."""
        by_rule = (
            self.credits.groupby("rule", observed=True)
            .agg(rows=("cents", "size"), amount=("cents", "sum"))
            .assign(amount=lambda d: d["amount"] / 100)
            .reset_index()
            .rename(columns={"rule": "item"})
        )
        by_rule.insert(0, "kind", "rule")
        st = (
            self.conservation.groupby("status")
            .agg(rows=("txn_id", "size"), amount=("amount", "sum"))
            .reset_index()
        )
        st = st.rename(columns={"status": "item"})
        st.insert(0, "kind", "conservation")
        return pd.concat([by_rule, st], ignore_index=True)

    def __repr__(self) -> str:
        c = self.credits
        return (
            f"CreditingResult({len(c):,} credit rows for {c['rep_id'].nunique():,} reps from "
            f"{len(self.conservation):,} transactions; conserved={self.conserved}, "
            f"{len(self.split_report):,} split(s) not at 100%, {len(self.issues):,} issue(s))"
        )

    # -- views -----------------------------------------------------------------------------------
    def with_periods(
        self, freq: Frequency = "quarter", fy_start_month: int | None = None
    ) -> pd.DataFrame:
        """Credit rows with a ``period`` label column for ``freq``."""
        fy = self.fy_start_month if fy_start_month is None else fy_start_month
        c = self.credits
        codes, uniq = pd.factorize(c["date"])
        labels = period_labels(pd.DatetimeIndex(uniq), freq, fy)
        out = c.copy()
        out["period"] = (
            np.asarray(labels, dtype=object)[codes] if len(codes) else np.zeros(0, object)
        )
        return out

    def totals(
        self,
        freq: Frequency = "quarter",
        basis: Basis = "direct",
        *,
        fy_start_month: int | None = None,
        by: Sequence[str] = ("rep_id", "period", "measure"),
        start: object | None = None,
        end: object | None = None,
        max_level: int | None = None,
        rules: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Credited amount per rep, period and measure.

        This is the one place every model reads credited history from (quota
        history, simulation history, forecast panel, performance analytics):
        each picks a *view* of the same credit rows with ``basis``, ``rules``
        and ``max_level`` rather than attributing transactions itself.

        Parameters
        ----------
        freq : {"month", "quarter", "year"}
            Period length of the ``period`` column.
        basis : {"direct", "rollup", "all"}
            ``direct``: the rep's own credit (owner, split, overlay, exception,
            cancellation, adjustment); ``rollup``: credit rolled up from the
            rep's team; ``all``: both.
        fy_start_month : int, optional
            Fiscal-year start (default: the dataset's).
        by : sequence of str
            Grouping columns (any credit column, plus ``period``).
        start, end : date-like, optional
            Keep credit dated within ``start``..``end`` (inclusive).
        max_level : int, optional
            With ``rollup``/``all``: keep roll-up credit from at most this many
            levels down (1 = direct reports only).
        rules : sequence of str, optional
            Keep only credit whose *effective* rule is one of these
            (:data:`~spm_model.crediting.RULES` minus ``rollup``): a cancellation,
            adjustment or roll-up row counts under the rule of the credit it
            reverses or rolls up. ``("owner", "split")`` is the direct
            owner's selling pattern (no overlays, no exceptions), with its
            cancellations.

        Returns
        -------
        DataFrame
            ``by`` columns plus ``amount`` (currency) and ``cents``.
        """
        c = self._basis(basis)
        if max_level is not None:
            c = c[c["level"] <= max_level]
        if rules is not None:
            c = c[self.effective_rule(c).isin(list(rules)).to_numpy()]
        if start is not None:
            c = c[c["date"] >= pd.Timestamp(start)]
        if end is not None:
            c = c[c["date"] <= pd.Timestamp(end)]
        keys = list(by)
        frame = c
        if "period" in keys:
            fy = self.fy_start_month if fy_start_month is None else fy_start_month
            codes, uniq = pd.factorize(c["date"])
            labels = (
                period_labels(pd.DatetimeIndex(uniq), freq, fy) if len(uniq) else np.zeros(0, str)
            )
            frame = c.assign(
                period=np.asarray(labels, dtype=object)[codes]
                if len(codes)
                else np.zeros(0, object)
            )
        g = frame.groupby(keys, observed=True, sort=True)["cents"].sum().reset_index()
        g["amount"] = g["cents"] / 100.0
        for k in keys:
            if isinstance(g[k].dtype, pd.CategoricalDtype):
                g[k] = g[k].astype(object)
        return g

    @staticmethod
    def effective_rule(rows: pd.DataFrame) -> pd.Series:
        """Rule of each credit row, reading through reversals and roll-ups.

        A cancellation, adjustment or roll-up row carries the rule of the
        credit it reverses or rolls up in ``source_rule``; that rule is
        returned for it (a cancellation of an unknown booking, credited like a
        booking, keeps its own rule).
        """
        rule = rows["rule"].astype(object)
        src = rows["source_rule"].astype(object)
        return src.where(src.notna(), rule)

    def until(self, as_of: object) -> CreditingResult:
        """Return the crediting as it stood at the end of ``as_of`` (credit dated up to it).

        Credit depends only on the transaction and the assignments on its date
        (a cancellation's clawback on the days between booking and
        cancellation), so this equals crediting only the transactions dated up
        to ``as_of``, without crediting again.
        """
        from dataclasses import replace

        cut = pd.Timestamp(as_of)
        c = self.credits
        keep = (c["date"] <= cut).to_numpy()
        cons = self.conservation
        cons = cons[(cons["date"] <= cut).to_numpy()] if "date" in cons else cons
        return replace(self, credits=c[keep].reset_index(drop=True), conservation=cons)

    def _basis(self, basis: Basis) -> pd.DataFrame:
        c = self.credits
        if basis == "direct":
            return self.direct
        if basis == "rollup":
            return self.rollup_rows()
        if basis == "all":
            return (
                c
                if self.rollup_materialised
                else pd.concat([c, self.rollup_rows()], ignore_index=True)
            )
        raise SpmConfigError(f"basis must be 'direct', 'rollup' or 'all', got {basis!r}")

    @property
    def direct(self) -> pd.DataFrame:
        """Direct credit rows (everything but roll-ups)."""
        c = self.credits
        return c if not self.rollup_materialised else c[c["level"] == 0]

    def rollup_rows(
        self, rep_ids: Sequence[str] | None = None, max_level: int | None = None
    ) -> pd.DataFrame:
        """Roll-up credit rows of managers (rule ``rollup``), materialised or computed now.

        Parameters
        ----------
        rep_ids : sequence of str, optional
            Only the roll-up credit of these managers.
        max_level : int, optional
            Only credit from at most this many levels down (1 = direct reports).

        Returns
        -------
        DataFrame
            Same columns as :attr:`credits`; ``source_rep_id`` is the rep whose
            credit rolls up, ``source_rule`` the rule of that credit, ``level``
            the number of levels between them.
        """
        c = self.credits
        if self.rollup_materialised:
            r = c[c["level"] > 0]
            if rep_ids is not None:
                r = r[r["rep_id"].isin(list(rep_ids))]
            if max_level is not None:
                r = r[r["level"] <= max_level]
            return r
        if self.managers is None:
            return c.iloc[:0]
        from spm_model.crediting.engine import _R

        rep_cat = c["rep_id"].cat
        cats = rep_cat.categories
        eff = np.where(
            c["source_rule"].cat.codes.to_numpy() >= 0,
            c["source_rule"].cat.codes,
            c["rule"].cat.codes,
        )
        base_idx = np.flatnonzero(np.isin(eff, [_R[x] for x in self.rollup_rules]))
        codes = rep_cat.codes.to_numpy().astype(np.int64)[base_idx]
        want = None
        if rep_ids is not None:
            want = np.zeros(len(cats), bool)
            pos = cats.get_indexer(list(rep_ids))
            want[pos[pos >= 0]] = True
        parts = []
        idx = base_idx
        current = codes
        seller = codes
        level = 0
        mgr = self.managers
        while len(idx) and (max_level is None or level < max_level):
            level += 1
            up = mgr[current]
            keep = up >= 0
            idx, up, seller = idx[keep], up[keep], seller[keep]
            if not len(idx):
                break
            sel = want[up] if want is not None else np.ones(len(up), bool)
            if sel.any():
                part = c.iloc[idx[sel]].copy()
                part["source_rep_id"] = pd.Categorical.from_codes(
                    seller[sel], dtype=c["rep_id"].dtype
                )
                # the rolled-up row's own rule, as the materialised roll-up has it: a
                # cancellation rolls up as a cancellation (the clawback of the manager)
                part["source_rule"] = pd.Categorical.from_codes(
                    c["rule"].cat.codes.to_numpy()[idx[sel]].astype(np.int64),
                    dtype=c["rule"].dtype,
                )
                part["rep_id"] = pd.Categorical.from_codes(up[sel], dtype=c["rep_id"].dtype)
                part["rule"] = pd.Categorical.from_codes(
                    np.full(int(sel.sum()), _R["rollup"]), dtype=c["rule"].dtype
                )
                part["level"] = np.int8(level)
                parts.append(part)
            current = up
        if not parts:
            return c.iloc[:0]
        return pd.concat(parts, ignore_index=True)

    def for_rep(
        self, rep_id: str, start: object | None = None, end: object | None = None
    ) -> pd.DataFrame:
        """Every credit row of one rep (optionally ``start``..``end``), with transaction details."""
        c = self.direct
        c = pd.concat([c[c["rep_id"] == rep_id], self.rollup_rows([rep_id])], ignore_index=True)
        if start is not None:
            c = c[c["date"] >= pd.Timestamp(start)]
        if end is not None:
            c = c[c["date"] <= pd.Timestamp(end)]
        c = c.copy()
        for k in (
            "rep_id",
            "txn_id",
            "measure",
            "account_id",
            "product_id",
            "rule",
            "source_rule",
            "source_rep_id",
        ):
            c[k] = c[k].astype(object)
        if self.transactions is not None and len(c):
            t = self.transactions
            cols = [x for x in ("txn_id", "kind", "amount", "original_txn_id") if x in t]
            tt = t[cols].rename(columns={"amount": "txn_amount"})
            tt["txn_id"] = tt["txn_id"].astype(object)
            c = c.merge(tt, on="txn_id", how="left")
        return c.reset_index(drop=True)


def _cat(codes: np.ndarray, categories: Sequence[object] | np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(
        np.asarray(codes, dtype=np.int64),
        categories=pd.Index(np.asarray(categories, dtype=object), dtype=object),
    )


def build_result(
    ds: Dataset,
    ctx: _Context,
    rows: _Block,
    sp: _Splits,
    orig: np.ndarray,
    is_linked: np.ndarray,
    issues: list[tuple[np.ndarray, str, np.ndarray | str]],
    problems: list[Problem],
    policies: list[ClawbackPolicy],
    clawbacks: pd.DataFrame | None,
) -> CreditingResult:
    """Assemble the public :class:`CreditingResult` from internal arrays."""
    from spm_model.crediting.engine import _R, PRIMARY_RULES, RULES

    n = len(ctx.txn_ids)
    txn_ids = ctx.txn_ids.to_numpy(dtype=object)
    days = rows.day.astype("datetime64[D]").astype("datetime64[ns]")
    credits = pd.DataFrame(
        {
            "txn_id": pd.Categorical.from_codes(
                rows.txn.astype(np.int64), dtype=pd.CategoricalDtype(ctx.txn_ids)
            ),
            "date": days,
            "rep_id": _cat(rows.rep, ctx.reps),
            "measure": _cat(rows.measure, ctx.measures),
            "account_id": _cat(ctx.t_acc[rows.txn], ctx.accounts),
            "product_id": _cat(ctx.t_prod[rows.txn], ctx.products),
            "rule": _cat(rows.rule, RULES),
            "amount": rows.cents / 100.0,
            "cents": rows.cents,
            "share": rows.share,
            "source_rep_id": _cat(rows.src_rep, ctx.reps),
            "source_rule": _cat(rows.src_rule, RULES),
            "level": rows.level,
            "assignment_row": rows.arow,
            "original_txn_id": pd.Categorical.from_codes(
                rows.orig.astype(np.int64), dtype=pd.CategoricalDtype(ctx.txn_ids)
            ),
            "ref": _cat(rows.ref, ctx.ref_small),
        }
    )

    # -- conservation ------------------------------------------------------------------------------
    direct = rows.level == 0
    eff_rule = np.where(rows.src_rule >= 0, rows.src_rule, rows.rule)
    prim_codes = [_R[r] for r in PRIMARY_RULES]
    is_prim = direct & np.isin(eff_rule, prim_codes)
    is_exc = direct & (eff_rule == _R["exception"])
    is_ovl = direct & (eff_rule == _R["overlay"])

    def per_txn(mask: np.ndarray) -> np.ndarray:
        return np.bincount(rows.txn[mask], weights=rows.cents[mask], minlength=n).astype(np.int64)

    prim, exc, ovl = per_txn(is_prim), per_txn(is_exc), per_txn(is_ovl)
    has_exc = np.zeros(n, bool)
    has_exc[rows.txn[direct & (rows.rule == _R["exception"])]] = True
    share_total = np.bincount(sp.txn, weights=sp.share, minlength=n) if len(sp.txn) else np.zeros(n)
    has_split = np.zeros(n, bool)
    has_split[sp.txn] = True
    has_split &= ~is_linked
    diff = prim + exc - ctx.t_cents

    _S = {k: i for i, k in enumerate(CONSERVATION_STATUSES)}
    status = np.full(n, _S["ok"], dtype=np.int8)
    status[diff != 0] = _S["imbalance"]
    split_over = has_split & (share_total > 1 + 1e-9)
    split_under = has_split & (share_total < 1 - 1e-9)
    status[split_under & (diff != 0)] = _S["split_under_100"]
    status[split_over] = _S["split_over_100"]
    claw = np.zeros(n, bool)
    if clawbacks is not None and len(clawbacks):
        partial = clawbacks.loc[clawbacks["factor"] < 1, "t"].to_numpy(np.int64)
        claw[partial] = True
    # linked txns whose original is not balanced follow the original
    o = np.clip(orig, 0, None)
    orig_bal = np.zeros(n, bool)
    orig_bal[:] = True
    lk = np.flatnonzero(is_linked)
    orig_bal[lk] = prim[o[lk]] + exc[o[lk]] == ctx.t_cents[o[lk]]
    status[is_linked & ~orig_bal & (diff != 0)] = _S["follows_original"]
    status[is_linked & claw] = _S["clawback"]
    status[has_exc] = _S["exception"]
    issue_map: dict[str, np.ndarray] = {}
    for idx, code, _ in issues:
        m = np.zeros(n, bool)
        m[idx] = True
        issue_map[code] = m
    if "unassigned" in issue_map:
        status[issue_map["unassigned"] & ~has_exc] = _S["unassigned"]
    if "circular_original" in issue_map:
        status[issue_map["circular_original"]] = _S["not_credited"]
    explained = np.isin(status, [_S[k] for k in _EXPLAINED]) | (
        (status == _S["unassigned"]) & (ctx.t_cents == 0)
    )
    t = ds.transactions.reset_index(drop=True)
    conservation = pd.DataFrame(
        {
            "txn_id": pd.Series(txn_ids, dtype=object),
            "date": pd.to_datetime(t["date"]).to_numpy(),
            "kind": t["kind"].astype(object).to_numpy(),
            "amount": ctx.t_cents / 100.0,
            "primary_credit": prim / 100.0,
            "exception_credit": exc / 100.0,
            "overlay_credit": ovl / 100.0,
            "difference": diff / 100.0,
            "split_share_total": np.where(has_split, share_total, np.nan),
            "status": pd.Categorical.from_codes(
                status.astype(np.int64),
                categories=pd.Index(list(CONSERVATION_STATUSES), dtype=object),
            ),
            "explained": explained,
        }
    )
    sr = np.flatnonzero(split_over | split_under)
    n_reps = np.bincount(sp.txn, minlength=n) if len(sp.txn) else np.zeros(n, np.int64)
    split_report = pd.DataFrame(
        {
            "txn_id": txn_ids[sr],
            "share_total": share_total[sr],
            "reps": n_reps[sr],
            "amount": ctx.t_cents[sr] / 100.0,
            "credited": prim[sr] / 100.0,
            "status": np.where(split_over[sr], "over_100", "under_100"),
        }
    )
    if clawbacks is not None and len(clawbacks):
        cb = pd.DataFrame(
            {
                "txn_id": txn_ids[clawbacks["t"].to_numpy(np.int64)],
                "original_txn_id": txn_ids[clawbacks["o"].to_numpy(np.int64)],
                "rep_id": ctx.reps.to_numpy(dtype=object)[clawbacks["rep"].to_numpy(np.int64)],
                "source_rule": np.asarray(RULES, dtype=object)[
                    clawbacks["source_rule"].to_numpy(np.int64)
                ],
                "elapsed_days": clawbacks["elapsed_days"].to_numpy(np.int64),
                "factor": clawbacks["factor"].to_numpy(np.float64),
                "policy": [policies[i].describe() for i in clawbacks["policy"].to_numpy(np.int64)],
            }
        )
    else:
        cb = pd.DataFrame(
            columns=[
                "txn_id",
                "original_txn_id",
                "rep_id",
                "source_rule",
                "elapsed_days",
                "factor",
                "policy",
            ]
        )
    issue_rows = []
    for idx, code, detail in issues:
        issue_rows.append(pd.DataFrame({"txn_id": txn_ids[idx], "issue": code, "detail": detail}))
    issues_df = (
        pd.concat(issue_rows, ignore_index=True)
        if issue_rows
        else pd.DataFrame(columns=["txn_id", "issue", "detail"])
    )
    return CreditingResult(
        credits=credits,
        conservation=conservation,
        split_report=split_report,
        clawbacks=cb,
        issues=issues_df,
        problems=problems,
        policies=policies,
        fy_start_month=ds.meta.fy_start_month,
        transactions=ds.transactions,
        exceptions=ds.credit_exceptions,
        splits=ds.splits,
    )
