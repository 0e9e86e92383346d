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
    min_history_periods: int = Field(
        2,
        ge=1,
        description=(
            "Completed periods of history needed to estimate the within-period booking "
            "profile (seasonality); with fewer, the expected share is the elapsed share of days."
        ),
    )


class FlagConfig(BaseModel):
    """Thresholds of the coaching flags (all documented defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    behind_pace: float = Field(
        0.85, description="Pace below this (projected attainment, fraction) counts as behind."
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
        0.7, description="Win rate below this multiple of the company median is low."
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
