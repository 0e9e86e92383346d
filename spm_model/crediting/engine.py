"""Crediting engine: transactions to credit rows per rep and measure, with lineage.

Rules, in the order they are applied
------------------------------------
1. **owner** - the account's owner on the transaction date (effective-dated
   ``assignments`` with role ``owner``; start and end dates inclusive) gets the
   whole amount.
2. **split** - a transaction listed in ``splits`` is credited by its shares
   *instead of* the owner rule (``amount x share`` per listed rep). Shares may
   add up to more than 1 (overlay-style double credit); that is reported in
   :attr:`CreditingResult.split_report`, as are shares totalling less than 1.
3. **overlay** - every ``overlay`` assignment of the account active on the
   transaction date, limited to its ``product_family`` when one is given, gets
   the whole amount in addition to the owner (overlay credit is not part of
   conservation).
4. **exception** - approved ``credit_exceptions`` are applied last, as extra
   rows carrying the exception id (reason and approver are in the table).
5. **cancellation** / **adjustment** - a cancellation or adjustment naming its
   booking (``original_txn_id``) reverses (or adjusts) the booking's credit
   rep by rep, in the period of the cancellation: every owner, split, overlay
   and exception row of the booking is scaled by ``amount / booking amount``
   and, for cancellations, by the rep's clawback factor
   (:class:`~spm_model.crediting.policy.ClawbackPolicy`). One without a known
   booking is credited like a booking (owner on its date) and reported.
6. **rollup** - every direct credit row (rules 1-5) also credits each manager
   above the rep (``reps.manager_id``, transitively), as rule ``rollup`` with
   ``source_rep_id`` naming the rep whose credit rolls up and ``level`` the
   distance (1 = direct manager). Plans for managers use the ``rollup`` credit;
   plans for individual contributors use the direct credit.

Amounts are integer cents internally (column ``cents``); rows from one split or
one reversal are rounded with the largest-remainder method, so a transaction's
owner/split credit adds up *exactly* to its amount.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from spm_model.crediting.cents import allocate, to_cents
from spm_model.crediting.policy import ClawbackSpec, resolve_policies
from spm_model.data.dataset import Dataset
from spm_model.errors import Problem, SpmDataError

if TYPE_CHECKING:
    from spm_model.crediting.result import CreditingResult

DIRECT_RULES: tuple[str, ...] = (
    "owner",
    "split",
    "overlay",
    "exception",
    "cancellation",
    "adjustment",
)
"""Rules that credit the rep who sold (or reversed) the deal."""
RULES: tuple[str, ...] = (*DIRECT_RULES, "rollup")
"""Every rule, in code order (the ``rule`` column is categorical in this order)."""
PRIMARY_RULES: tuple[str, ...] = ("owner", "split")
"""Rules whose credit is conserved: they add up to the transaction amount."""

_R = {r: i for i, r in enumerate(RULES)}
_DAY_OFFSET = 1 << 20
_KEY_SCALE = 1 << 22
_MAX_DAY = np.iinfo(np.int64).max // 4

CREDIT_COLUMNS = (
    "txn_id",
    "date",
    "rep_id",
    "measure",
    "account_id",
    "product_id",
    "rule",
    "amount",
    "cents",
    "share",
    "source_rep_id",
    "source_rule",
    "level",
    "assignment_row",
    "original_txn_id",
    "ref",
)


@dataclass
class _Block:
    """Credit rows as parallel arrays of codes (internal)."""

    txn: np.ndarray
    day: np.ndarray
    rep: np.ndarray
    measure: np.ndarray
    rule: np.ndarray
    cents: np.ndarray
    share: np.ndarray
    src_rep: np.ndarray
    src_rule: np.ndarray
    level: np.ndarray
    arow: np.ndarray
    ref: np.ndarray  # code into _Context.ref_small (split reason, exception id)
    orig: np.ndarray  # original transaction of a cancellation/adjustment (-1 none)

    @staticmethod
    def make(
        txn: np.ndarray,
        day: np.ndarray,
        rep: np.ndarray,
        measure: np.ndarray,
        rule: int | np.ndarray,
        cents: np.ndarray,
        share: np.ndarray,
        *,
        src_rep: np.ndarray | None = None,
        src_rule: np.ndarray | None = None,
        level: np.ndarray | None = None,
        arow: np.ndarray | None = None,
        ref: np.ndarray | None = None,
        orig: np.ndarray | None = None,
    ) -> _Block:
        n = len(txn)
        return _Block(
            txn=np.asarray(txn, dtype=np.int32),
            day=np.asarray(day, dtype=np.int32),
            rep=np.asarray(rep, dtype=np.int32),
            measure=np.asarray(measure, dtype=np.int16),
            rule=np.broadcast_to(np.asarray(rule, dtype=np.int8), (n,)).copy(),
            cents=np.asarray(cents, dtype=np.int64),
            share=np.asarray(share, dtype=np.float64),
            src_rep=np.full(n, -1, np.int32) if src_rep is None else np.asarray(src_rep, np.int32),
            src_rule=np.full(n, -1, np.int8) if src_rule is None else np.asarray(src_rule, np.int8),
            level=np.zeros(n, np.int8) if level is None else np.asarray(level, np.int8),
            arow=np.full(n, -1, np.int32) if arow is None else np.asarray(arow, np.int32),
            ref=np.full(n, -1, np.int32) if ref is None else np.asarray(ref, np.int32),
            orig=np.full(n, -1, np.int32) if orig is None else np.asarray(orig, np.int32),
        )

    @staticmethod
    def concat(blocks: list[_Block]) -> _Block:
        fields = _Block.__dataclass_fields__
        if not blocks:
            z = np.zeros(0, np.int64)
            return _Block.make(z, z, z, z, 0, z, np.zeros(0))
        return _Block(**{f: np.concatenate([getattr(b, f) for b in blocks]) for f in fields})

    def take(self, idx: np.ndarray) -> _Block:
        return _Block(**{f: getattr(self, f)[idx] for f in _Block.__dataclass_fields__})

    def __len__(self) -> int:
        return len(self.txn)


def _days(s: pd.Series) -> np.ndarray:
    """Dates as int64 days since 1970-01-01; NaT becomes a large sentinel."""
    v = pd.to_datetime(s).to_numpy().astype("datetime64[D]")
    out = v.astype(np.int64)
    out[np.isnat(v)] = _MAX_DAY
    return out


def _str_array(s: pd.Series) -> np.ndarray:
    """Values as an object array with ``None`` for missing (no string-dtype conversion)."""
    arr = s.to_numpy(dtype=object, na_value=None) if len(s) else np.zeros(0, object)
    return arr


@dataclass
class _Context:
    """Encoded inputs shared by the rule functions (internal)."""

    txn_ids: pd.Index
    t_day: np.ndarray
    t_acc: np.ndarray
    t_measure: np.ndarray
    t_family: np.ndarray
    t_cents: np.ndarray
    t_kind: np.ndarray  # 0 booking, 1 cancellation, 2 adjustment
    t_prod: np.ndarray
    products: pd.Index
    accounts: np.ndarray
    reps: pd.Index
    measures: pd.Index
    families: pd.Index
    a_acc: np.ndarray
    a_rep: np.ndarray
    a_start: np.ndarray
    a_end: np.ndarray
    a_role_owner: np.ndarray
    a_family: np.ndarray
    a_row: np.ndarray
    ref_small: np.ndarray = field(default_factory=lambda: np.zeros(0, object))


def _encode(ds: Dataset) -> tuple[_Context, list[Problem]]:
    problems: list[Problem] = []
    where = getattr(ds, "locations", {})
    t = ds.transactions.reset_index(drop=True)
    a = ds.assignments.reset_index(drop=True)
    p = ds.products.reset_index(drop=True)
    txn_ids = pd.Index(_str_array(t["txn_id"]), dtype=object)
    if txn_ids.has_duplicates:
        dup = txn_ids[txn_ids.duplicated()].unique()[:20]
        raise SpmDataError(
            Problem(
                where.get("transactions", "transactions"),
                "transactions",
                None,
                "txn_id",
                "duplicate transaction ids, crediting needs unique ids: "
                + ", ".join(map(str, dup)),
            )
        )
    rep_pool = [_str_array(ds.reps["rep_id"]), _str_array(a["rep_id"])]
    for name in ("splits", "credit_exceptions"):
        if len(ds[name]):
            rep_pool.append(_str_array(ds[name]["rep_id"]))
    pool = np.concatenate(rep_pool) if rep_pool else np.zeros(0, object)
    reps = pd.Index(pd.unique(pool[pd.notna(pool)]), dtype=object)
    acc_codes, acc_uniques = pd.factorize(
        np.concatenate([_str_array(t["account_id"]), _str_array(a["account_id"])])
    )
    t_acc = acc_codes[: len(t)].astype(np.int64)
    a_acc = acc_codes[len(t) :].astype(np.int64)
    measures = pd.Index(pd.unique(_str_array(p["measure"])), dtype=object)
    measures = (
        measures.append(pd.Index(["unmapped"], dtype=object))
        if "unmapped" not in measures
        else measures
    )
    families = pd.Index(pd.unique(_str_array(p["family"])), dtype=object)
    prod_idx = pd.Index(_str_array(p["product_id"]), dtype=object).get_indexer(
        _str_array(t["product_id"])
    )
    p_measure = measures.get_indexer(_str_array(p["measure"]))
    p_family = families.get_indexer(_str_array(p["family"]))
    unknown = prod_idx < 0
    t_measure = np.where(unknown, measures.get_loc("unmapped"), p_measure[prod_idx]).astype(
        np.int64
    )
    t_family = np.where(unknown, -1, p_family[prod_idx]).astype(np.int64)
    if unknown.any():
        bad = t.loc[unknown, "product_id"].astype(str).unique()[:20]
        problems.append(
            Problem(
                where.get("transactions", "transactions"),
                "transactions",
                None,
                "product_id",
                f"{int(unknown.sum())} transaction(s) have a product missing from products "
                f"(credited to measure 'unmapped'): {', '.join(bad)}",
            )
        )
    kind_map = {"booking": 0, "cancellation": 1, "adjustment": 2}
    kinds = pd.Categorical(_str_array(t["kind"]), categories=list(kind_map))
    t_kind = np.maximum(kinds.codes, 0).astype(np.int64)  # unknown kinds count as bookings
    if "product_family" in a:
        fam = _str_array(a["product_family"])
        a_family = np.where(pd.isna(fam), -1, families.get_indexer(fam))
        # a family unknown to the catalogue matches nothing: code -2
        a_family = np.where(pd.notna(fam) & (a_family < 0), -2, a_family).astype(np.int64)
    else:
        a_family = np.full(len(a), -1, np.int64)
    ctx = _Context(
        txn_ids=txn_ids,
        t_day=_days(t["date"]),
        t_acc=t_acc,
        t_measure=t_measure,
        t_family=t_family,
        t_cents=to_cents(t["amount"].to_numpy(dtype=np.float64)),
        t_kind=t_kind,
        t_prod=prod_idx.astype(np.int64),
        products=pd.Index(_str_array(p["product_id"]), dtype=object),
        accounts=np.asarray(acc_uniques, dtype=object),
        reps=reps,
        measures=measures,
        families=families,
        a_acc=a_acc,
        a_rep=reps.get_indexer(_str_array(a["rep_id"])).astype(np.int64),
        a_start=_days(a["start_date"]),
        a_end=_days(a["end_date"]),
        a_role_owner=(a["role"].astype(object) == "owner").to_numpy(dtype=bool),
        a_family=a_family,
        a_row=np.arange(len(a), dtype=np.int64) + 2,
    )
    return ctx, problems


# -- rules --------------------------------------------------------------------------------------
def owner_on_date(ctx: _Context, txn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Owner assignment index (or -1) of each transaction in ``txn`` on its date."""
    own = np.flatnonzero(ctx.a_role_owner)
    if own.size == 0 or txn.size == 0:
        return np.full(txn.size, -1, np.int64), np.full(txn.size, -1, np.int64)
    keys_a = ctx.a_acc[own] * _KEY_SCALE + np.clip(
        ctx.a_start[own] + _DAY_OFFSET, 0, _KEY_SCALE - 1
    )
    order = np.argsort(keys_a, kind="stable")
    own, keys_a = own[order], keys_a[order]
    keys_t = ctx.t_acc[txn] * _KEY_SCALE + np.clip(ctx.t_day[txn] + _DAY_OFFSET, 0, _KEY_SCALE - 1)
    pos = np.searchsorted(keys_a, keys_t, side="right") - 1
    cand = own[np.clip(pos, 0, None)]
    ok = (pos >= 0) & (ctx.a_acc[cand] == ctx.t_acc[txn]) & (ctx.a_end[cand] >= ctx.t_day[txn])
    ok &= ctx.a_rep[cand] >= 0
    ai = np.where(ok, cand, -1)
    return ai, np.where(ok, ctx.a_rep[cand], -1)


def _owner_rows(ctx: _Context, txn: np.ndarray) -> tuple[_Block, np.ndarray]:
    ai, rep = owner_on_date(ctx, txn)
    ok = ai >= 0
    t = txn[ok]
    blk = _Block.make(
        t,
        ctx.t_day[t],
        rep[ok],
        ctx.t_measure[t],
        _R["owner"],
        ctx.t_cents[t],
        np.ones(t.size),
        arow=ctx.a_row[ai[ok]],
    )
    return blk, txn[~ok]


def _overlay_rows(ctx: _Context, txn: np.ndarray) -> _Block:
    ov = np.flatnonzero(~ctx.a_role_owner & (ctx.a_rep >= 0))
    if ov.size == 0 or txn.size == 0:
        return _Block.concat([])
    left = pd.DataFrame({"acc": ctx.t_acc[txn], "t": txn})
    right = pd.DataFrame({"acc": ctx.a_acc[ov], "a": ov})
    m = left.merge(right, on="acc", how="inner", sort=False)
    t = m["t"].to_numpy(np.int64)
    ai = m["a"].to_numpy(np.int64)
    fam = ctx.a_family[ai]
    keep = (ctx.a_start[ai] <= ctx.t_day[t]) & (ctx.a_end[ai] >= ctx.t_day[t])
    keep &= (fam == -1) | (fam == ctx.t_family[t])
    t, ai = t[keep], ai[keep]
    order = np.lexsort((ai, t))
    t, ai = t[order], ai[order]
    return _Block.make(
        t,
        ctx.t_day[t],
        ctx.a_rep[ai],
        ctx.t_measure[t],
        _R["overlay"],
        ctx.t_cents[t],
        np.ones(t.size),
        arow=ctx.a_row[ai],
    )


@dataclass
class _Splits:
    txn: np.ndarray
    rep: np.ndarray
    share: np.ndarray
    reason: np.ndarray
    row: np.ndarray


def _split_rows(ctx: _Context, sp: _Splits, txn_mask: np.ndarray) -> _Block:
    sel = txn_mask[sp.txn]
    t, rep, share, reason = sp.txn[sel], sp.rep[sel], sp.share[sel], sp.reason[sel]
    raw = ctx.t_cents[t].astype(np.float64) * share
    cents = allocate(raw, t)
    return _Block.make(
        t, ctx.t_day[t], rep, ctx.t_measure[t], _R["split"], cents, share, ref=reason
    )


@dataclass
class _Exceptions:
    txn: np.ndarray
    rep: np.ndarray
    cents: np.ndarray
    exc_id: np.ndarray


def _exception_rows(ctx: _Context, ex: _Exceptions, txn_mask: np.ndarray) -> _Block:
    sel = txn_mask[ex.txn]
    t, rep, cents = ex.txn[sel], ex.rep[sel], ex.cents[sel]
    base = ctx.t_cents[t].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(base != 0, cents / np.where(base != 0, base, 1.0), np.nan)
    return _Block.make(
        t, ctx.t_day[t], rep, ctx.t_measure[t], _R["exception"], cents, share, ref=ex.exc_id[sel]
    )


def _linked_rows(
    ctx: _Context,
    rows: _Block,
    linked: np.ndarray,
    orig: np.ndarray,
    pol_of_rep: np.ndarray,
    policies: list,
) -> tuple[_Block, pd.DataFrame]:
    """Reversal / adjustment rows of ``linked`` transactions from their originals' rows."""
    direct = rows.level == 0
    src = pd.DataFrame({"o": rows.txn[direct], "row": np.flatnonzero(direct)})
    req = pd.DataFrame({"o": orig, "l": linked})
    m = req.merge(src, on="o", how="inner", sort=False)
    li = m["l"].to_numpy(np.int64)
    ri = m["row"].to_numpy(np.int64)
    oi = m["o"].to_numpy(np.int64)
    o_rows = rows.take(ri)
    fraction = ctx.t_cents[li] / ctx.t_cents[oi].astype(np.float64)
    is_cancel = ctx.t_kind[li] == 1
    factor = np.ones(li.size)
    elapsed = ctx.t_day[li] - ctx.t_day[oi]
    pidx = pol_of_rep[o_rows.rep]
    for k, pol in enumerate(policies):
        sel = is_cancel & (pidx == k)
        if sel.any():
            factor[sel] = pol.factor(elapsed[sel], ctx.t_day[oi][sel])
    raw = o_rows.cents * fraction * factor
    primary = np.isin(o_rows.rule, [_R[r] for r in PRIMARY_RULES])
    group = (
        pd.DataFrame({"l": li, "p": primary, "f": factor})
        .groupby(["l", "p", "f"], sort=False)
        .ngroup()
    )
    cents = allocate(raw, group.to_numpy())
    rule = np.where(is_cancel, _R["cancellation"], _R["adjustment"])
    blk = _Block.make(
        li,
        ctx.t_day[li],
        o_rows.rep,
        o_rows.measure,
        rule,
        cents,
        o_rows.share * fraction * factor,
        src_rule=o_rows.rule,
        arow=o_rows.arow,
        ref=o_rows.ref,
        orig=oi,
    )
    claw = pd.DataFrame(
        {
            "t": li[is_cancel],
            "o": oi[is_cancel],
            "rep": o_rows.rep[is_cancel],
            "source_rule": o_rows.rule[is_cancel],
            "elapsed_days": elapsed[is_cancel],
            "factor": factor[is_cancel],
            "policy": pidx[is_cancel],
        }
    )
    return blk, claw


def _ancestors(ds: Dataset, reps: pd.Index) -> np.ndarray:
    """Direct manager code of each rep code (-1 for none or unknown)."""
    mgr = np.full(len(reps), -1, np.int64)
    r = ds.reps
    if len(r) and "manager_id" in r:
        pos = reps.get_indexer(_str_array(r["rep_id"]))
        mpos = reps.get_indexer(_str_array(r["manager_id"]))
        ok = pos >= 0
        mgr[pos[ok]] = mpos[ok]
    return mgr


def _rollup_rows(rows: _Block, mgr: np.ndarray, rules: tuple[str, ...]) -> _Block:
    eff = np.where(rows.src_rule >= 0, rows.src_rule, rows.rule)
    sel = np.isin(eff, [_R[r] for r in rules]) & (rows.level == 0)
    base = rows.take(np.flatnonzero(sel))
    out: list[_Block] = []
    current = base.rep.copy()
    idx = np.arange(len(base))
    for level in range(1, len(mgr) + 1):
        up = mgr[current]
        keep = up >= 0
        if not keep.any():
            break
        idx, up = idx[keep], up[keep]
        b = base.take(idx)
        out.append(
            _Block.make(
                b.txn,
                b.day,
                up,
                b.measure,
                _R["rollup"],
                b.cents,
                b.share,
                src_rep=b.rep,
                src_rule=b.rule,
                level=np.full(len(b), level),
                arow=b.arow,
                ref=b.ref,
                orig=b.orig,
            )
        )
        current = up
    return _Block.concat(out)


# -- public -------------------------------------------------------------------------------------
def credit_transactions(
    ds: Dataset,
    *,
    clawback: ClawbackSpec = None,
    rollup: bool | Literal["lazy"] = True,
    rollup_rules: tuple[str, ...] = DIRECT_RULES,
) -> CreditingResult:
    """Credit every transaction of ``ds`` to reps, with lineage and conservation checks.

    Parameters
    ----------
    ds : Dataset
        Needs ``transactions``, ``assignments``, ``products`` and ``reps``;
        ``splits`` and ``credit_exceptions`` are used when present.
    clawback : ClawbackPolicy or mapping of rep_id to ClawbackPolicy, optional
        Clawback window and mode per rep's plan; default: cancellations
        reverse their booking's credit in full.
    rollup : bool or "lazy"
        ``True``: add ``rollup`` rows crediting every manager above each rep to
        :attr:`CreditingResult.credits`; ``"lazy"``: keep only the hierarchy
        and compute roll-up rows when asked
        (:meth:`CreditingResult.rollup_rows`, ``totals(basis="rollup")``),
        which saves memory and time on large data; ``False``: no roll-up.
    rollup_rules : tuple of str
        Rules whose credit rolls up (default all). Cancellation and adjustment
        rows follow the rule of the credit they reverse, so
        ``rollup_rules=("owner", "split", "exception")`` keeps overlay credit
        (and its reversals) out of the managers' roll-up.

    Returns
    -------
    CreditingResult
        Credit rows (one per rep and rule and transaction) plus the
        conservation, split and issue reports. Units: currency (``amount``)
        and integer cents (``cents``).

    Examples
    --------
    >>> res = credit_transactions(load_dataset("data/sample"))   # doctest: +SKIP
    >>> res.totals("quarter").head()                              # doctest: +SKIP
    """
    from spm_model.crediting.result import build_result

    unknown_rules = set(rollup_rules) - set(DIRECT_RULES)
    rollup_rules = tuple(r for r in rollup_rules if r not in ("cancellation", "adjustment"))
    if unknown_rules:
        from spm_model.errors import SpmConfigError

        raise SpmConfigError(
            f"rollup_rules: unknown rule(s) {sorted(unknown_rules)}; allowed: {DIRECT_RULES}"
        )
    ctx, problems = _encode(ds)
    where = getattr(ds, "locations", {})
    n = len(ctx.txn_ids)
    issues: list[tuple[np.ndarray, str, np.ndarray | str]] = []

    # splits
    s = ds.splits.reset_index(drop=True)
    s_txn = ctx.txn_ids.get_indexer(_str_array(s["txn_id"])) if len(s) else np.zeros(0, np.int64)
    s_rep = ctx.reps.get_indexer(_str_array(s["rep_id"])) if len(s) else np.zeros(0, np.int64)
    bad = (s_txn < 0) | (s_rep < 0)
    if bad.any():
        problems.append(
            Problem(
                where.get("splits", "splits"),
                "splits",
                None,
                "txn_id",
                f"{int(bad.sum())} split row(s) name an unknown transaction or rep and are ignored "
                f"(rows {', '.join(str(r) for r in (np.flatnonzero(bad) + 2)[:20])})",
            )
        )
    ok = ~bad
    sp = _Splits(
        txn=s_txn[ok].astype(np.int64),
        rep=s_rep[ok].astype(np.int64),
        share=s["share"].to_numpy(np.float64)[ok] if len(s) else np.zeros(0),
        reason=(_str_array(s["reason"]) if "reason" in s else np.full(len(s), None, object))[ok],
        row=np.flatnonzero(ok) + 2,
    )
    # exceptions
    e = ds.credit_exceptions.reset_index(drop=True)
    e_txn = ctx.txn_ids.get_indexer(_str_array(e["txn_id"])) if len(e) else np.zeros(0, np.int64)
    e_rep = ctx.reps.get_indexer(_str_array(e["rep_id"])) if len(e) else np.zeros(0, np.int64)
    bad = (e_txn < 0) | (e_rep < 0)
    if bad.any():
        problems.append(
            Problem(
                where.get("credit_exceptions", "credit_exceptions"),
                "credit_exceptions",
                None,
                "txn_id",
                f"{int(bad.sum())} exception row(s) name an unknown transaction or rep "
                "and are ignored "
                f"(rows {', '.join(str(r) for r in (np.flatnonzero(bad) + 2)[:20])})",
            )
        )
    ok = ~bad
    ex = _Exceptions(
        txn=e_txn[ok].astype(np.int64),
        rep=e_rep[ok].astype(np.int64),
        cents=to_cents(e["amount"].to_numpy(np.float64)[ok]) if len(e) else np.zeros(0, np.int64),
        exc_id=_str_array(e["exception_id"])[ok] if len(e) else np.zeros(0, object),
    )

    # reference table: split reasons and exception ids first, then transaction ids
    small = np.concatenate([sp.reason, ex.exc_id]).astype(object)
    codes, uniq = pd.factorize(small, use_na_sentinel=True)
    ctx.ref_small = np.asarray(uniq, dtype=object)
    sp.reason = codes[: len(sp.reason)].astype(np.int32)
    ex.exc_id = codes[len(sp.reason) :].astype(np.int32)

    # linked cancellations / adjustments
    t = ds.transactions.reset_index(drop=True)
    orig = (
        ctx.txn_ids.get_indexer(_str_array(t["original_txn_id"]))
        if "original_txn_id" in t
        else np.full(n, -1)
    )
    orig = orig.astype(np.int64)
    wants_link = (
        (ctx.t_kind > 0) & pd.notna(_str_array(t["original_txn_id"]))
        if "original_txn_id" in t
        else np.zeros(n, bool)
    )
    missing = wants_link & (orig < 0)
    if missing.any():
        issues.append(
            (
                np.flatnonzero(missing),
                "missing_original",
                "original booking not found; credited to the owner on its date",
            )
        )
    zero_orig = wants_link & (orig >= 0) & (ctx.t_cents[np.clip(orig, 0, None)] == 0)
    if zero_orig.any():
        issues.append(
            (
                np.flatnonzero(zero_orig),
                "zero_original",
                "original booking has amount 0; credited to the owner on its date",
            )
        )
    self_ref = wants_link & (orig == np.arange(n))
    is_linked = wants_link & (orig >= 0) & ~zero_orig & ~self_ref
    direct = ~is_linked

    has_split = np.zeros(n, bool)
    has_split[sp.txn] = True
    ignored_split = has_split & is_linked
    if ignored_split.any():
        issues.append(
            (
                np.flatnonzero(ignored_split),
                "split_ignored",
                "splits on a linked cancellation/adjustment are ignored; "
                "it follows its booking's credit",
            )
        )

    d_idx = np.flatnonzero(direct & ~has_split)
    owner_blk, unowned = _owner_rows(ctx, d_idx)
    if unowned.size:
        issues.append(
            (unowned, "unassigned", "no owner assignment of the account on the transaction date")
        )
    blocks = [
        owner_blk,
        _split_rows(ctx, sp, direct),
        _overlay_rows(ctx, np.flatnonzero(direct)),
        _exception_rows(ctx, ex, direct),
    ]
    rows = _Block.concat(blocks)

    # reversals, in rounds (a cancellation may cancel an adjustment)
    policies, pol_of_rep = resolve_policies(clawback, ctx.reps)
    done = direct.copy()
    pending = np.flatnonzero(is_linked)
    claws: list[pd.DataFrame] = []
    while pending.size:
        ready = pending[done[orig[pending]]]
        if ready.size == 0:
            issues.append(
                (pending, "circular_original", "original_txn_id chain is circular; not credited")
            )
            break
        mask = np.zeros(n, bool)
        mask[ready] = True
        lblk, claw = _linked_rows(ctx, rows, ready, orig[ready], pol_of_rep, policies)
        claws.append(claw)
        rows = _Block.concat([rows, lblk, _exception_rows(ctx, ex, mask)])
        done[ready] = True
        pending = pending[~done[pending]]

    mgr = _ancestors(ds, ctx.reps)
    if rollup is True:
        rows = _Block.concat([rows, _rollup_rows(rows, mgr, rollup_rules)])

    clawbacks = pd.concat(claws, ignore_index=True) if claws else None
    res = build_result(ds, ctx, rows, sp, orig, is_linked, issues, problems, policies, clawbacks)
    res.managers = mgr if rollup else None
    res.rollup_rules = rollup_rules
    res.rollup_materialised = rollup is True
    return res
