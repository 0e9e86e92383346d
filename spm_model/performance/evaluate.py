"""Score coaching flags against the planted truth of a generated company.

The synthetic generator (:func:`spm_model.data.synthetic.generate`) records the
rep-level patterns it planted in the ``truth_patterns`` table (see
``docs/data-model.md``). :func:`score_flags` compares the flags raised for one
period with that table; :func:`evaluate_flags` runs the default flags (as
``spm scorecards`` raises them) over several periods of a company and scores each.

Scoring rule
------------
* **Owner reps**: the reps on the period's scorecard whose role owns territory
  (AE, AM, FIELD) - the only reps patterns are planted in. Managers and other
  roles are not counted either way.
* **Flagged share**: owner reps carrying at least one flag / owner reps.
* **Precision**: flagged owner reps who carry any planted pattern / flagged owner
  reps (a flag for a different planted pattern than the rep's still names a rep
  who needs attention, so it counts).
* **Recall**: planted owner reps that the flags could judge - employed for at
  least ``min_months`` of the evidence look-back (``months_observed``; the flags'
  own ``FlagConfig.min_months``) - that carry at least one flag / those reps.
  Planted reps with less history are reported (``planted_unjudged``) but do not
  count.
* **By pattern**: for each planted pattern, the judged planted reps, how many
  carry any flag (``hits``) and how many carry the flag made for that pattern
  (``matched``, see :data:`PATTERN_FLAG`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from spm_model.performance.config import FlagConfig
from spm_model.performance.flags import TERRITORY_ROLES

PATTERN_FLAG = {
    "under_worked": "under_worked_territory",
    "high_activity_low_win": "activity_without_wins",
    "sandbagging": "sandbagging",
    "thin_pipeline": "chronic_thin_pipeline",
    "high_discount": "high_discount",
}
"""The flag made for each planted pattern of ``truth_patterns``."""


@dataclass
class FlagScore:
    """How one period's flags compare with the planted truth (see the module's rule)."""

    owners: int
    flagged: int
    true_positives: int
    planted: int
    found: int
    planted_unjudged: int
    by_pattern: pd.DataFrame = field(repr=False)

    @property
    def flagged_share(self) -> float:
        """Flagged owner reps / owner reps."""
        return self.flagged / self.owners if self.owners else float("nan")

    @property
    def precision(self) -> float:
        """Flagged owner reps with a planted pattern / flagged owner reps (NaN if none)."""
        return self.true_positives / self.flagged if self.flagged else float("nan")

    @property
    def recall(self) -> float:
        """Judged planted owner reps flagged / judged planted owner reps (NaN if none)."""
        return self.found / self.planted if self.planted else float("nan")

    def as_row(self) -> dict[str, Any]:
        """Return the figures as one flat row (per-pattern ``hits/planted`` as strings)."""
        row: dict[str, Any] = {
            "owners": self.owners,
            "flagged": self.flagged,
            "flagged_share": self.flagged_share,
            "precision": self.precision,
            "recall": self.recall,
            "found": self.found,
            "planted": self.planted,
            "planted_unjudged": self.planted_unjudged,
        }
        for p, r in self.by_pattern.iterrows():
            row[str(p)] = f"{int(r['hits'])}/{int(r['planted'])}"
        return row


def score_flags(
    flags: pd.DataFrame,
    truth_patterns: pd.DataFrame,
    card: pd.DataFrame,
    months_observed: pd.Series | None = None,
    min_months: float | None = None,
) -> FlagScore:
    """Score one period's coaching flags against the planted patterns.

    Parameters
    ----------
    flags : DataFrame
        :func:`~spm_model.performance.flags.coaching_flags` output (``rep_id``, ``flag``).
    truth_patterns : DataFrame
        The generator's ``truth_patterns`` table (``rep_id``, ``pattern``; several
        rows per rep are allowed, the first pattern counts).
    card : DataFrame
        The period's scorecard (``rep_id``, ``role``): who the owner reps are.
    months_observed : Series, optional
        Months of the evidence look-back each rep was employed (index ``rep_id``;
        the evidence scorecard's ``months_observed``). Default: every rep judged.
    min_months : float, optional
        Months needed to count in recall (default ``FlagConfig.min_months``).

    Returns
    -------
    FlagScore
        Counts, ``flagged_share``, ``precision``, ``recall`` and ``by_pattern``
        (index pattern; ``planted``, ``hits``, ``matched``).
    """
    if min_months is None:
        min_months = FlagConfig.model_fields["min_months"].default
    truth = truth_patterns.groupby("rep_id")["pattern"].first()
    own = card.loc[card["role"].astype(str).isin(TERRITORY_ROLES), "rep_id"]
    own_set = set(own)
    if months_observed is None:
        judged = own_set
    else:
        mo = months_observed.reindex(own).fillna(0.0).to_numpy(dtype=float)
        judged = set(own[mo >= min_months])
    flagged_by: dict[str, set[str]] = {}
    if len(flags):
        for rep, fl in flags.groupby("rep_id")["flag"]:
            if rep in own_set:
                flagged_by[str(rep)] = set(fl)
    flagged = set(flagged_by)
    planted_all = set(truth.index) & own_set
    planted = planted_all & judged
    rows = []
    for p in sorted(set(truth.unique()) | set(PATTERN_FLAG)):
        reps = set(truth[truth == p].index) & planted
        rows.append(
            {
                "pattern": p,
                "planted": len(reps),
                "hits": len(reps & flagged),
                "matched": sum(PATTERN_FLAG.get(p, "") in flagged_by.get(r, ()) for r in reps),
            }
        )
    by = pd.DataFrame(rows).set_index("pattern")
    return FlagScore(
        owners=len(own_set),
        flagged=len(flagged),
        true_positives=len(flagged & planted_all),
        planted=len(planted),
        found=len(planted & flagged),
        planted_unjudged=len(planted_all - judged),
        by_pattern=by,
    )


def evaluate_flags(
    ds: Any, periods: list[str], config: FlagConfig | None = None, pdata: Any = None
) -> pd.DataFrame:
    """Raise the coaching flags for each period of a generated company and score them.

    Parameters
    ----------
    ds : Dataset
        A generated company (with its ``truth_patterns`` table).
    periods : list of str
        Period labels (e.g. ``["2025-Q4", "2026-Q3"]``).
    config : FlagConfig, optional
        Flag settings (default: the documented defaults).
    pdata : PerformanceData, optional
        The company with its crediting (made if not given).

    Returns
    -------
    DataFrame
        One row per period: ``period`` and :meth:`FlagScore.as_row`.
    """
    from spm_model.performance.data import PerformanceData
    from spm_model.performance.flags import coaching_flags, evidence_scorecard
    from spm_model.performance.scorecard import attainment_panel, scorecards

    if "truth_patterns" not in ds:
        raise ValueError("the dataset has no truth_patterns table (not a generated company)")
    cfg = config or FlagConfig.model_validate({})
    pdata = pdata if pdata is not None else PerformanceData(ds)
    panel = attainment_panel(pdata, "quarter")
    out = []
    for period in periods:
        card = scorecards(pdata, period)
        ev = evidence_scorecard(pdata, period, config=cfg)
        fl = coaching_flags(card, panel, ds.reps, config=cfg, evidence=ev)
        mo = ev.set_index("rep_id")["months_observed"] if "months_observed" in ev else None
        score = score_flags(fl, ds.tables["truth_patterns"], card, mo, cfg.min_months)
        out.append({"period": period, **score.as_row()})
    return pd.DataFrame(out)


def summarise(table: pd.DataFrame) -> dict[str, float]:
    """Worst and mean figures of an :func:`evaluate_flags` table (several companies)."""
    return {
        "max_flagged_share": float(np.nanmax(table["flagged_share"])),
        "min_precision": float(np.nanmin(table["precision"])),
        "mean_precision": float(np.nanmean(table["precision"])),
        "min_recall": float(np.nanmin(table["recall"])),
        "mean_recall": float(np.nanmean(table["recall"])),
    }
