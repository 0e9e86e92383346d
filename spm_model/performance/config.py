"""Settings of the performance analytics, with documented defaults."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ScorecardConfig(BaseModel):
    """How scorecard figures are computed.

    Rates, shares and attainment are fractions (1.0 = 100%).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    lookback_days: int = Field(
        365,
        ge=30,
        description=(
            "Window (days up to the as-of date) for win rate, average deal size, sales-cycle "
            "length and activities per month; one quarter is too few closed deals for most reps."
        ),
    )
    tenure_bands: tuple[int, ...] = Field(
        (6, 12, 24),
        description="Upper bounds (months) of the tenure bands used for peer groups; last is open.",
    )
    peer_keys: tuple[str, ...] = Field(
        ("role", "tenure_band", "region"),
        description="Columns that define a rep's peer group.",
    )
    prospecting_kinds: tuple[str, ...] = Field(
        ("call", "email"),
        description=(
            "Activity kinds a rep initiates (prospecting touches); their monthly rate is the "
            "activity level used by the coaching flags, because meetings and demos follow "
            "the pipeline a rep already has."
        ),
    )
    renewal_measures: tuple[str, ...] = Field(
        ("renewal",),
        description=(
            "Measures whose opportunities are renewals: left out of the new-business win rate "
            "and pipeline created the coaching flags judge (renewals follow past wins, not "
            "prospecting)."
        ),
    )
    min_history_periods: int = Field(
        2,
        ge=1,
        description=(
            "Completed periods of history needed to estimate the within-period booking "
            "profile (seasonality); with fewer, the expected share is the elapsed share of days."
        ),
    )


DEFAULT_FLAGS: tuple[str, ...] = (
    "under_worked_territory",
    "activity_without_wins",
    "sandbagging",
    "chronic_thin_pipeline",
    "high_discount",
    "team_behind",
)
"""Flags raised by default: patterns over the look-back, judged against peers."""


class FlagConfig(BaseModel):
    """Thresholds of the coaching flags (all documented defaults).

    The default flags judge a pattern over the scorecard's look-back window (a
    year by default) against comparable peers, with empirical-Bayes shrinkage,
    and are raised only when the rep's true rate is beyond the threshold with
    probability ``min_sure``; at most ``max_flagged_share`` of the reps judged
    carry a flag (the surest first).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    flags: tuple[str, ...] = Field(
        DEFAULT_FLAGS,
        description=(
            "Flags to raise. Also available: behind_pace_thin_pipeline, concentrated_on_one_deal, "
            "slow_ramp, sudden_drop (this period's position or events rather than a pattern "
            "judged against peers: off by default)."
        ),
    )
    lookback_days: int = Field(
        730,
        ge=90,
        description=(
            "Look-back of the evidence scorecard the pattern flags read (pass it as "
            "``evidence=``): two years, because one year of deals is too few to be sure of a "
            "win rate or a pipeline rate for many reps."
        ),
    )
    min_sure: float = Field(
        0.75,
        gt=0.5,
        lt=1.0,
        description="Posterior probability that the rep is past the threshold needed to flag.",
    )
    max_flagged_share: float = Field(
        0.2,
        gt=0.0,
        le=1.0,
        description=(
            "At most this share of the reps of each role judged carry a flag (the surest are kept)."
        ),
    )
    min_peers: int = Field(
        6,
        ge=2,
        description=(
            "Reps a peer group (role, tenure band, territory-potential band) needs; smaller "
            "groups are widened to role and tenure band, then role."
        ),
    )
    potential_bands: int = Field(
        3, ge=1, description="Bands of territory potential within a role (terciles by default)."
    )
    peer_tenure_months: int = Field(
        12, ge=1, description="Tenure (months) splitting new reps from established peers."
    )
    min_months: float = Field(
        3.0,
        description=(
            "Months of the look-back a rep must have been employed to be judged (shrinkage "
            "keeps reps with little data near their peers)."
        ),
    )
    under_worked_min_months: float = Field(
        1.0,
        ge=0.0,
        description=(
            "Months after the ramp-up (``ramp_exclude_months``) a rep needs for the "
            "under-worked judgement when it counts opportunities: the count's Poisson "
            "likelihood weighs a short window by what the peers' rate would have given (a "
            "month of a large territory is evidence, a month of a small one leaves the rep "
            "near the peers), so ``min_months`` of employment in the look-back is not also "
            "needed after the ramp-up."
        ),
    )
    under_worked_ratio: float = Field(
        0.8,
        description=(
            "Pipeline created per unit of territory potential below this multiple of the "
            "peers' is an under-worked territory."
        ),
    )
    severe_under_worked_ratio: float = Field(
        0.5,
        description=(
            "Pipeline created per unit of territory potential surely below this multiple of "
            "the peers' is an under-worked territory whatever the effort; between it and "
            "``under_worked_ratio`` only when the rep's prospecting is not low too (the rate "
            "per prospecting touch is surely below ``under_worked_ratio`` x the peers')."
        ),
    )
    under_worked_effort_sure: float = Field(
        0.5,
        gt=0.0,
        lt=1.0,
        description=(
            "Posterior probability needed by the effort route of the under-worked flag (the "
            "rate per prospecting touch below ``under_worked_ratio`` x the peers') - which also "
            "needs the territory to yield fewer opportunities than the peers' outright: more "
            "likely than not. With the count's Poisson likelihood, 7 of 1,287 judged rep-periods "
            "without the pattern reach 0.5 on seven generated companies (5 reach 0.6), and "
            "under-worked reps on small territories reach 0.5-0.6."
        ),
    )
    high_activity_ratio: float = Field(
        1.25,
        description=(
            "Prospecting touches per month at least this multiple of the peers' (same role and "
            "tenure band) is busy: more likely than not under a heavy-tailed prior (a rep who "
            "truly makes 1.6x the peers' touches is not pulled back to the median)."
        ),
    )
    chronic_attainment: float = Field(
        0.7,
        description=(
            "With an attainment panel, behind_pace_thin_pipeline also needs the rep's "
            "attainment over the window surely below this (fraction of quota): a persistent "
            "shortfall, not one slow quarter."
        ),
    )
    team_behind_ratio: float = Field(
        0.8,
        description=(
            "A manager's team attainment over the look-back below this (fraction of quota) is "
            "behind; managers are judged on their team's roll-up, not their own pipeline."
        ),
    )
    window_periods: int = Field(
        4, ge=1, description="Complete periods of attainment history in the window (with a panel)."
    )

    behind_pace: float = Field(
        0.85,
        description=(
            "Pace below this (projected attainment, fraction) counts as behind; with a panel, "
            "the rep's attainment over the window must also be below it (surely)."
        ),
    )
    thin_coverage: float = Field(
        1.5,
        description="Weighted pipeline below this multiple of the remaining quota counts as thin.",
    )
    min_elapsed_share: float = Field(
        0.15, description="Pace flags wait until this share of the period has elapsed."
    )
    high_activity_pct: float = Field(
        0.6, description="Activity percentile among peers at or above which activity is healthy."
    )
    low_win_rate_ratio: float = Field(
        0.9, description="New-business win rate below this multiple of the peers' is low."
    )
    min_closed_deals: int = Field(
        8, description="Closed deals (lookback) needed before a win rate is judged."
    )
    concentration_share: float = Field(
        0.5,
        description=(
            "Largest single deal at or above this share of (bookings + open pipeline) "
            "is a concentration risk."
        ),
    )
    concentration_min_quota_share: float = Field(
        0.25, description="... and that deal is at least this share of the period's quota."
    )
    late_in_period: float = Field(
        0.85,
        description=(
            "From this elapsed share on, the pipeline flag looks at next period's pipeline "
            "against next period's quota (the current period has no time left to close deals)."
        ),
    )
    ramp_exclude_months: float = Field(
        4.0,
        ge=0.0,
        description=(
            "Months after hire left out of the under-worked rate (a new rep's pipeline is "
            "still building; pipeline is opened a sales cycle before it closes, so its "
            "creation settles sooner than bookings); a rep needs ``min_months`` after them "
            "to be judged."
        ),
    )
    sandbag_end_days: int = Field(
        14,
        ge=1,
        description="Days before a quarter ends whose wins count as won at quarter end.",
    )
    sandbag_start_days: int = Field(
        21,
        ge=1,
        description="Days after a quarter starts whose wins count as won just after quarter end.",
    )
    sandbag_odds_ratio: float = Field(
        2.0,
        gt=1.0,
        description=(
            "Sandbagging: the odds that a deal won around a quarter end lands in the first "
            "``sandbag_start_days`` of the new quarter rather than the last ``sandbag_end_days`` "
            "of the old one surely above this multiple of the peers' odds."
        ),
    )
    sandbag_prior_deals: float = Field(
        4.0,
        gt=0.0,
        description=(
            "Weight of the peers' rate in the sandbagging judgement, in deals (comparable reps "
            "time their wins alike, so the estimated spread between them would otherwise "
            "outweigh any rep's own record). 4 since 2026-12-05 (was 10: a rep with 8 of 9 "
            "wins around quarter ends just after them, peers 7 of 17, was 70% sure; now 90%)."
        ),
    )
    thin_pipeline_ratio: float = Field(
        0.5,
        gt=0.0,
        description=(
            "Chronic thin pipeline: new-business pipeline on hand at the quarter starts of the "
            "look-back, in quarters of the rep's own closing volume, surely below this multiple "
            "of the peers'."
        ),
    )
    discount_ratio: float = Field(
        0.9,
        gt=0.0,
        description=(
            "High discounts: net price per unit (against the company's median price of the same "
            "product) surely below this multiple of the peers'."
        ),
    )
    min_priced_bookings: int = Field(
        1,
        ge=1,
        description=(
            "High discounts: bookings with units (look-back) needed before a rep's price is "
            "judged. One is enough: the price index's variance pools the rep's own per-deal "
            "spread with the company's (flags.price_index_variance), so a single booking is "
            "judged with the uncertainty of one deal (4 until 2026-12-05, when a rep's spread "
            "was its own alone and read zero for one booking)."
        ),
    )
    discount_measures: tuple[str, ...] = Field(
        ("new_business",),
        description="Measures whose bookings' price per unit the high-discount flag judges.",
    )
    ramp_months: int = Field(12, description="Reps with less tenure are checked against the ramp.")
    ramp_ratio: float = Field(
        0.6,
        description=(
            "Projected attainment below this multiple of the tenure curve (median attainment of "
            "reps at the same tenure) is a slow ramp."
        ),
    )
    drop_ratio: float = Field(
        0.5,
        description=(
            "Projected attainment below this multiple of the rep's own mean over previous "
            "periods is a sudden drop."
        ),
    )
    drop_clip: float = Field(
        2.0, description="Past attainment is clipped at this before averaging (fraction)."
    )
    drop_history: int = Field(4, description="Previous periods averaged for the drop check.")
    drop_min_mean: float = Field(
        0.5, description="Only reps whose own mean attainment was at least this are checked."
    )
