"""Synthetic sales organisation: a believable company with recorded ground truth.

:func:`generate` builds every canonical table from one seed, vectorised so that a
national sales force (10,000 reps, 500,000 accounts, millions of transactions)
takes seconds. The same seed gives the same bytes.

How the company works
---------------------
* **Organisation.** A VP, regional managers, first-line managers with teams of
  about eight. Individual contributors are account executives (AE), account
  managers (AM) and field reps (FIELD), who own accounts; SDRs, who book meetings;
  channel managers (CHANNEL) and services specialists (OVERLAY), who hold overlay
  assignments. Each position ("seat") can turn over: the leaver's accounts are
  covered by the team manager until a backfill is hired, who then ramps up.
  Some seats are opened during the data window (expansion hires).
* **Reps.** Every person has a true skill (lognormal), a win rate, an activity
  level, a sales-cycle length and a linear ramp over their first months.
* **Accounts** cluster around cities of their region, with skewed potential by
  segment (enterprise, mid-market, SMB) and a workload in hours per year.
* **Ownership** is effective-dated: leavers, backfills, expansion seats and a few
  random mid-year reassignments produce several assignment rows per account.
* **Pipeline.** Opportunities arise per account at a rate proportional to its
  potential, are thinned by the owner's activity and ramp, and close won with the
  owner's win rate. Close dates follow a monthly seasonality with quarter-end and
  Q4 spikes and a growth trend. Won deals are bookings; deals closing after the
  data's end date form the open pipeline. Won platform deals renew a year later;
  services attach to some wins.
* **Corrections.** Some bookings are cancelled (fully or in part, referring to
  the original), adjusted, split between two reps, or re-credited by an approved
  exception.
* **Quotas.** Quarterly quotas are set from each territory's expected bookings
  for an average rep; a manager's from the new business of everyone below them
  (the hierarchy roll-up their plan is paid on).
* **Pay** is not made here: this module is the bottom layer and knows no plans.
  :func:`spm_model.calc.payroll.pay_company` pays every closed pay period with
  the exact statement engine on the plan each rep is on (``reps.plan_id``),
  plants payment errors and timing differences, and draws the disputes with
  :func:`make_disputes`; :func:`spm_model.calc.payroll.generate_company` (and
  ``spm generate``) does both steps. :func:`generate` alone leaves the
  ``payments`` and ``disputes`` tables empty.

Planted patterns (recorded in ``truth_*`` tables)
-------------------------------------------------
* ``truth_reps.pattern == "high_activity_low_win"``: reps with about 1.6x the
  activity but less than half the usual win rate.
* ``truth_reps.pattern == "under_worked"``: reps whose territories convert their
  potential at about half the normal rate.
* ``truth_patterns``: every planted rep and effect size, the two above and three
  behaviour patterns (own random stream; ``floor(2.5%)`` of owners each, none in a
  company with fewer than 40 owners): ``sandbagging`` (won deals due in a quarter's
  last two weeks pushed into the next quarter), ``thin_pipeline`` (opportunities
  opened late: little open pipeline at any date, same bookings) and
  ``high_discount`` (deals sold below list; ``units`` stay at list price). See
  :data:`TRUTH_MARKDOWN`.
* ``truth_regions.unbalanced``: one region whose accounts were split very
  unevenly between its owners. In a company with at least 40 owners (own random
  stream) the split is two-tier and strong (:data:`IMBALANCE_SPREAD`) and the later
  account moves inside the region keep it; ``truth_regions.potential_spread`` and
  ``largest_to_smallest`` record every region's split.
* ``truth_payment_errors`` and ``truth_payment_timing`` (added by the payroll
  step): payments that deviate from the statement, and payments made in a later
  pay run than their period's (late payments, final-pay runs of leavers).
* ``truth_seasonality``: the monthly seasonality (mean 1) and annual growth used.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from spm_model.data.dataset import Dataset, DatasetMeta

# -- fixed vocabulary --------------------------------------------------------------
_REGION_GROUPS: list[tuple[str, list[tuple[str, float, float]]]] = [
    (
        "Pacific Northwest",
        [("Seattle", 47.61, -122.33), ("Portland", 45.52, -122.68), ("Boise", 43.62, -116.20)],
    ),
    (
        "Northern California",
        [
            ("San Francisco", 37.77, -122.42),
            ("San Jose", 37.34, -121.89),
            ("Sacramento", 38.58, -121.49),
        ],
    ),
    (
        "Southern California",
        [
            ("Los Angeles", 34.05, -118.24),
            ("San Diego", 32.72, -117.16),
            ("Las Vegas", 36.17, -115.14),
        ],
    ),
    (
        "Mountain",
        [
            ("Denver", 39.74, -104.99),
            ("Salt Lake City", 40.76, -111.89),
            ("Phoenix", 33.45, -112.07),
        ],
    ),
    ("Texas", [("Dallas", 32.78, -96.80), ("Houston", 29.76, -95.37), ("Austin", 30.27, -97.74)]),
    (
        "Plains",
        [("Kansas City", 39.10, -94.58), ("Minneapolis", 44.98, -93.27), ("Omaha", 41.26, -95.93)],
    ),
    (
        "Great Lakes",
        [("Chicago", 41.88, -87.63), ("Detroit", 42.33, -83.05), ("Milwaukee", 43.04, -87.91)],
    ),
    (
        "Ohio Valley",
        [("Columbus", 39.96, -83.00), ("Pittsburgh", 40.44, -79.99), ("Louisville", 38.25, -85.76)],
    ),
    (
        "Southeast",
        [("Atlanta", 33.75, -84.39), ("Charlotte", 35.23, -80.84), ("Nashville", 36.16, -86.78)],
    ),
    ("Florida", [("Miami", 25.76, -80.19), ("Tampa", 27.95, -82.46), ("Orlando", 28.54, -81.38)]),
    (
        "Mid-Atlantic",
        [
            ("Washington", 38.91, -77.04),
            ("Philadelphia", 39.95, -75.17),
            ("Baltimore", 39.29, -76.61),
        ],
    ),
    (
        "Northeast",
        [("New York", 40.71, -74.01), ("Boston", 42.36, -71.06), ("Hartford", 41.76, -72.69)],
    ),
]
_SMALL_REGION_NAMES = {
    2: ["West", "East"],
    3: ["West", "Central", "East"],
    4: ["West", "Central", "Southeast", "Northeast"],
}
_FIRST = (
    "Alex Sam Jordan Taylor Morgan Casey Riley Jamie Avery Quinn Drew Parker Rowan Blake "
    "Cameron Devon Emery Finley Harper Hayden Jesse Kai Logan Marley Noel Peyton Reese Sage "
    "Skyler Toni Maria Chen Priya Omar Lena Ivan Sofia Mateo Aisha Kenji Nora Luis Hana Ravi "
    "Elena Tomas Zoe Ming Yusuf Ingrid"
).split()
_LAST = (
    "Smith Johnson Lee Garcia Brown Davis Miller Wilson Moore Clark Lewis Walker Hall Young "
    "King Wright Lopez Hill Scott Green Adams Baker Nelson Carter Mitchell Perez Roberts Turner "
    "Phillips Campbell Parker Evans Edwards Collins Stewart Morris Rogers Reed Cook Morgan Bell "
    "Murphy Bailey Rivera Cooper Kim Patel Nguyen"
).split()
_INDUSTRIES = np.array(
    [
        "software",
        "manufacturing",
        "healthcare",
        "financial services",
        "retail",
        "education",
        "logistics",
        "public sector",
    ]
)
_SEGMENTS = np.array(["enterprise", "mid_market", "smb"])
_SEGMENT_SHARE = np.array([0.10, 0.30, 0.60])
_POTENTIAL_MEDIAN = np.array([400_000.0, 90_000.0, 18_000.0])
_DEAL_MEDIAN = np.array([60_000.0, 20_000.0, 6_000.0])
_WORKLOAD_BASE = np.array([160.0, 60.0, 18.0])  # hours / year at median potential
PRODUCTS = pd.DataFrame(
    {
        "product_id": ["P01", "P02", "P03", "P04", "P05", "P06", "P07"],
        "name": [
            "Platform Core",
            "Platform Plus",
            "Analytics Add-on",
            "Subscription Renewal",
            "Expansion Seats",
            "Implementation Services",
            "Training",
        ],
        "family": ["platform", "platform", "addon", "renewal", "expansion", "services", "services"],
        "measure": [
            "new_business",
            "new_business",
            "new_business",
            "renewal",
            "renewal",
            "services",
            "services",
        ],
    }
)
#: Monthly seasonality of bookings (calendar months; quarter-end and Q4 spikes), mean 1.
SEASONALITY = np.array([0.80, 0.85, 1.15, 0.85, 0.90, 1.15, 0.80, 0.85, 1.15, 0.95, 1.00, 1.55])
SEASONALITY = SEASONALITY / SEASONALITY.mean()
ANNUAL_GROWTH = 0.08
#: Role mix of individual contributors.
_IC_ROLES = np.array(["AE", "AM", "FIELD", "SDR", "CHANNEL", "OVERLAY"])
_IC_SHARE = np.array([0.42, 0.20, 0.12, 0.14, 0.06, 0.06])
_OWNER_ROLES = ("AE", "AM", "FIELD")
_OTE = {
    "AE": 200_000,
    "AM": 160_000,
    "FIELD": 180_000,
    "SDR": 90_000,
    "CHANNEL": 170_000,
    "OVERLAY": 150_000,
    "MANAGER": 240_000,
}
_MIX = {
    "AE": 0.5,
    "AM": 0.6,
    "FIELD": 0.5,
    "SDR": 0.7,
    "CHANNEL": 0.6,
    "OVERLAY": 0.7,
    "MANAGER": 0.6,
}  # base share
_RAMP_MONTHS = {"AE": 6, "AM": 4, "FIELD": 6, "SDR": 3, "CHANNEL": 6, "OVERLAY": 4, "MANAGER": 3}
#: Measures each role carries a quota on, in the order the quotas table lists them.
QUOTA_MEASURES = {
    "AE": ("new_business", "renewal"),
    "FIELD": ("new_business", "renewal"),
    "AM": ("renewal", "new_business"),
    "CHANNEL": ("new_business",),
    "OVERLAY": ("services",),
    "SDR": ("meetings",),
    "MANAGER": ("new_business",),
}
PLAN_IDS = {
    "AE": "saas_ae",
    "AM": "account_manager",
    "FIELD": "field_rep",
    "SDR": "sdr",
    "CHANNEL": "channel_manager",
    "OVERLAY": "overlay_specialist",
    "MANAGER": "sales_manager",
}
N_STREAMS = 12
"""Independent random streams of one seed (``SeedSequence(seed).spawn(N_STREAMS)``)."""
PAY_STREAM = 7
"""Stream of the payroll step (planted payment errors and timing)."""
DISPUTE_STREAM = 8
"""Stream of the disputes."""
BEHAVIOUR_STREAM = 9
"""Stream of the behaviour patterns (sandbagging, thin pipeline, high discounts)."""
BEHAVIOUR_SHARE = 0.025
"""Each behaviour pattern is planted in ``floor(BEHAVIOUR_SHARE x owner reps)`` reps: none in
a company with fewer than 40 owners of territory (such as the bundled sample), so that the
planted reps stay well below the coaching flags' one-in-five cap."""
IMBALANCE_STREAM = 10
"""Stream of the planted unbalanced region's split and of the account moves inside it."""
SOURCING_STREAM = 11
"""Stream of the SDR meetings that source an opportunity."""
SOURCED_SHARE = 0.65
"""Chance that an SDR meeting sources an opportunity of the SDR's team created in the
:data:`SOURCING_WINDOW_DAYS` after it (about 5-6 sourced opportunities a month at full
ramp, near the ``sdr`` plan's pipeline quota of 150,000)."""
SOURCING_WINDOW_DAYS = 30
IMBALANCE_MIN_OWNERS = 40
"""Companies with at least this many owners of territory (AE, AM, FIELD; the floor under which
:data:`BEHAVIOUR_SHARE` plants no behaviour) get the strong, persistent unbalanced region of
:data:`IMBALANCE_SPREAD`; smaller ones (such as the bundled sample) keep the older random split
so that their tables stay byte-identical."""
IMBALANCE_SPREAD = 1.5
"""Planted spread of the unbalanced region: standard deviation (natural log) of the potential
of its owner territories as first split. Its seats are split at random into two tiers whose
potential per seat differs by the factor that gives this spread (``exp(3)``, about 20x, for a
region split half and half); the other regions' nearest-seat territories spread 0.1-1.1
(median about 0.5) on the 200-rep companies of the benchmarks."""
SANDBAG_DAYS = 14
"""Sandbagging: won deals due in the last ``SANDBAG_DAYS`` days of a quarter can be pushed."""
SANDBAG_SHARE = 0.8
"""Sandbagging: share of those deals pushed into the first three weeks of the next quarter."""
THIN_PIPELINE_LEAD = 0.3
"""Thin pipeline: opportunities are opened at this fraction of the usual lead time before
close (same deals, same bookings; the open pipeline at any date is about this fraction)."""
DISCOUNT_RANGE = (0.18, 0.28)
"""High discounts: the rep's mean discount off list price is drawn from this range."""
LIST_PRICE_PER_UNIT = 1200.0
"""List price of one unit of the platform, add-on and renewal products (``units``)."""

_TRUTH_TABLES = [
    (
        "truth_reps",
        "Every person's true traits: `skill`, `win_rate`, `activity_level` (1.0 = average), "
        "`cycle_days`, `ramp_months`, `penetration` (share of the territory's potential worked, "
        "1.0 = normal), `pattern` (the two older patterns below, else empty) and `seat`.",
    ),
    (
        "truth_patterns",
        "One row per planted rep and effect: `rep_id`, `pattern`, `measure` (what the effect "
        "is on), `effect` (the planted value) and `baseline` (what a rep without the pattern "
        "has).",
    ),
    (
        "truth_regions",
        "`region`, `unbalanced` (the region whose accounts were split very unevenly between "
        "owners); in a company with at least 40 owners also `potential_spread` (standard "
        "deviation of the natural log of the potential of the region's owner territories as "
        "first split: the planted effect for the unbalanced region, the baseline for the "
        "others) and `largest_to_smallest` (largest of those territories over the smallest). "
        "See the unbalanced region below.",
    ),
    ("truth_seasonality", "`month`, `weight` (monthly seasonality, mean 1) and `annual_growth`."),
    (
        "truth_payment_errors, truth_payment_timing",
        "Payments that deviate from the statement, and payments made in a later pay run "
        "(added by the payroll step).",
    ),
]
_TRUTH_PATTERNS = [
    (
        "high_activity_low_win",
        "max(3, 6% of owners)",
        "`activity_level`: about 1.6 vs 1.0; `win_rate_factor`: 0.45 vs 1.0",
        "about 1.6x the prospecting touches and opportunities, less than half the rep's usual "
        "win rate",
    ),
    (
        "under_worked",
        "max(3, 6% of owners)",
        "`pipeline_rate_factor`: 0.5 vs 1.0",
        "half the opportunities per unit of territory potential for the rep's activity; "
        "prospecting touches unchanged",
    ),
    (
        "sandbagging",
        f"floor({BEHAVIOUR_SHARE:.1%} of owners)",
        f"`pushed_share`: {SANDBAG_SHARE} vs 0",
        f"that share of the won deals due in the last {SANDBAG_DAYS} days of a quarter close "
        "in the first three weeks of the next (created dates unchanged)",
    ),
    (
        "thin_pipeline",
        f"floor({BEHAVIOUR_SHARE:.1%} of owners)",
        f"`lead_time_factor`: {THIN_PIPELINE_LEAD} vs 1.0",
        "opportunities are opened at that fraction of the usual time before close: same deals "
        "and bookings, about that fraction of the open pipeline at any date; activity normal",
    ),
    (
        "high_discount",
        f"floor({BEHAVIOUR_SHARE:.1%} of owners)",
        f"`discount`: drawn from {DISCOUNT_RANGE[0]:.0%}-{DISCOUNT_RANGE[1]:.0%} vs 0",
        "the rep's new deals sell at list x (1 - discount), each deal +/- 4 points; "
        f"`transactions.units` stay at list ({LIST_PRICE_PER_UNIT:,.0f} a unit), so the net "
        "price per unit is below the usual; quotas allow for it",
    ),
]
TRUTH_MARKDOWN = "\n".join(
    [
        "## Ground truth of generated companies (`truth_*` tables)",
        "",
        "`spm_model.data.synthetic.generate` (and `spm generate`) records what it planted in "
        "extra tables, so that analytics can be scored against the truth.",
        "",
        "| table | what it records |",
        "|---|---|",
        *[f"| {a} | {b} |" for a, b in _TRUTH_TABLES],
        "",
        "Rep-level patterns (`truth_patterns`; owners of territory - AE, AM, FIELD - only, one "
        "pattern per rep):",
        "",
        "| pattern | planted in | effect (`measure`: `effect` vs `baseline`) | how it shows |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in _TRUTH_PATTERNS],
        "",
        "The three behaviour patterns (sandbagging, thin_pipeline, high_discount) draw from "
        "their own random stream and change what the chosen reps do (other rows can be "
        "renumbered, as tables are ordered by date). A company with fewer than 40 owners of "
        "territory, such as the bundled `data/sample` (`make sample`), gets none of them: its "
        "tables are byte-identical to those made before the patterns existed.",
        "",
        "Unbalanced region (`truth_regions.unbalanced`, one region): in a company with at least "
        f"{IMBALANCE_MIN_OWNERS} owners of territory its owner seats are split at random into "
        "two tiers (half favoured, rounded down), and its accounts are dealt so that a "
        "favoured seat holds about 20 times the potential of another (standard deviation of "
        f"the log territory potential {IMBALANCE_SPREAD} as planted, against 0.1-1.1, median "
        "about 0.5, for the other regions' nearest-seat territories; both recorded in "
        "`potential_spread`). Accounts reassigned later (about 5% a year) and accounts held for "
        "an expansion seat until it opens stay within the tier (or go to a seat drawn in "
        "proportion to its planted share), so the region stays the most unequal in every "
        "year; elsewhere such moves go to any seat of the team, which, applied to the older "
        "random split, lifted the smallest territories two-fold or more in three years and evened "
        "the region out. A company with fewer owners (such as `data/sample`) keeps the older "
        "split (Dirichlet weights 0.6, no truth columns beyond `unbalanced`) and its tables "
        "unchanged. The split, the tiers and the moves draw from their own random stream.",
        "",
    ]
)
"""Markdown section on the planted truth, appended to ``docs/data-model.md``."""


def random_stream(seed: int, stream: int) -> np.random.Generator:
    """Return random stream number ``stream`` of ``seed``, as :func:`generate` draws it.

    Parameters
    ----------
    seed : int
        Seed of the company.
    stream : int
        Stream number, ``0 <= stream < N_STREAMS`` (:data:`PAY_STREAM`,
        :data:`DISPUTE_STREAM` for the payroll step).

    Returns
    -------
    numpy.random.Generator
        Independent of every other stream of the seed.
    """
    if not 0 <= stream < N_STREAMS:
        raise ValueError(f"stream must be in 0..{N_STREAMS - 1}, got {stream}")
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(N_STREAMS)[stream])


def _days(d: np.ndarray | pd.Series) -> np.ndarray:
    """Datetime64 values to integer days since the epoch."""
    return np.asarray(d, dtype="datetime64[D]").astype(np.int64)


def _dates(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[ns]")


def _ids(prefix: str, n: int, width: int | None = None) -> np.ndarray:
    """Return identifiers ``prefix0001``... as an object array (small tables, lookups)."""
    width = width or max(4, len(str(n)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, n + 1)], dtype=object)


_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default ``str`` dtype


def _arrow_ids(prefix: str, n: int, width: int) -> pd.Series:
    """Return identifiers built in Arrow (fast for millions of rows) as a ``str`` Series."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1)), pa.string()), width, "0")
    return pd.Series(pc.binary_join_element_wise(prefix, digits, ""), dtype=_STR)


def _take_str(values: np.ndarray | pd.Series | pa.Array, idx: np.ndarray) -> pd.Series:
    """``values[idx]`` as a ``str`` Series, taken in Arrow; ``idx < 0`` gives nulls."""
    arr = (
        values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values, pa.string())
    )
    idx = np.asarray(idx, dtype=np.int64)
    neg = idx < 0
    taken = pc.take(arr, pa.array(np.where(neg, 0, idx), mask=neg if neg.any() else None))
    return pd.Series(taken, dtype=_STR)


def generate(
    n_reps: int = 60,
    n_accounts: int = 3000,
    years: int = 3,
    seed: int = 0,
    end_date: dt.date | str = dt.date(2026, 9, 30),
    currency: str = "USD",
    name: str = "Northwind Analytics",
) -> Dataset:
    """Generate a synthetic sales organisation.

    Parameters
    ----------
    n_reps : int
        People in the sales organisation, managers and leavers included (>= 12).
    n_accounts : int
        Accounts (>= 50).
    years : int
        Length of the data window in years; the window ends at ``end_date``.
    seed : int
        Seed of every random draw; the same seed gives the same tables.
    end_date : date or str
        Last day of the data (the "as of" date); the pipeline is open beyond it.
    currency : str
        ISO 4217 code of all money columns.
    name : str
        Company name.

    Returns
    -------
    Dataset
        Canonical tables (``payments`` and ``disputes`` empty: see
        :func:`spm_model.calc.payroll.generate_company`) plus ground truth in
        extra tables ``truth_reps``, ``truth_patterns``, ``truth_regions`` and
        ``truth_seasonality``.
    """
    if n_reps < 12:
        raise ValueError(f"n_reps must be >= 12, got {n_reps}")
    if n_accounts < 50:
        raise ValueError(f"n_accounts must be >= 50, got {n_accounts}")
    if years < 1:
        raise ValueError(f"years must be >= 1, got {years}")
    end = pd.Timestamp(end_date).normalize()
    start = (end + pd.Timedelta(days=1) - pd.DateOffset(years=years)).normalize()
    streams = np.random.SeedSequence(seed).spawn(N_STREAMS)
    rng = [np.random.default_rng(s) for s in streams]

    org = _organisation(n_reps, start, end, rng[0])
    _plant_behaviours(org, random_stream(seed, BEHAVIOUR_STREAM))
    n_owners = int(np.isin(org["role"], _OWNER_ROLES).sum())
    org["_imbalance_rng"] = (
        random_stream(seed, IMBALANCE_STREAM) if n_owners >= IMBALANCE_MIN_OWNERS else None
    )
    accounts, account_seat = _accounts(n_accounts, org, rng[1])
    assignments, owner_int = _assignments(accounts, account_seat, org, start, end, rng[2])
    org["_owner_int"] = owner_int
    opps, txns = _pipeline(accounts, owner_int, org, start, end, rng[3])
    txns, splits, exceptions = _corrections(txns, org, start, end, rng[4])
    activities = _activities(opps, org, start, end, rng[5], random_stream(seed, SOURCING_STREAM))
    credit = _owner_credit(txns, splits, org, assignments, activities, opps)
    quotas = _quotas(org, accounts, assignments, credit, start, end, rng[6])
    # streams PAY_STREAM and DISPUTE_STREAM belong to the payroll step (spm_model.calc.payroll)

    reps = org["reps"]
    tables = {
        "reps": reps[[c for c in reps.columns if not c.startswith("_")]].reset_index(drop=True),
        "accounts": accounts.drop(columns=["_seat", "_city"]).reset_index(drop=True),
        "assignments": assignments,
        "products": PRODUCTS.copy(),
        "transactions": txns,
        "splits": splits,
        "credit_exceptions": exceptions,
        "quotas": quotas,
        "opportunities": opps,
        "activities": activities,
        "truth_reps": org["truth"],
        "truth_regions": org["truth_regions"],
        "truth_patterns": org["truth_patterns"],
        "truth_seasonality": pd.DataFrame(
            {
                "month": np.arange(1, 13),
                "weight": SEASONALITY.round(6),
                "annual_growth": ANNUAL_GROWTH,
            }
        ),
    }
    meta = DatasetMeta(
        name=name,
        currency=currency,
        fy_start_month=1,
        start_date=start.date(),
        end_date=end.date(),
        seed=seed,
        **{"n_reps": n_reps, "n_accounts": n_accounts, "years": years},
    )
    return Dataset(tables, meta, source=f"synthetic(seed={seed})")


# -- organisation ---------------------------------------------------------------------
def _organisation(
    n_reps: int, start: pd.Timestamp, end: pd.Timestamp, rng: np.random.Generator
) -> dict:
    n_regions = int(np.clip(round(n_reps / 15), 2, 12))
    groups = np.array_split(np.arange(len(_REGION_GROUPS)), n_regions)
    if n_regions in _SMALL_REGION_NAMES:
        region_names = _SMALL_REGION_NAMES[n_regions]
    else:
        region_names = [
            _REGION_GROUPS[g[0]][0]
            if len(g) == 1
            else "/".join(_REGION_GROUPS[i][0].split()[0] for i in g)
            for g in groups
        ]
    cities = []
    for r, g in enumerate(groups):
        for gi in g:
            for cname, lat, lon in _REGION_GROUPS[gi][1]:
                cities.append((r, cname, lat, lon))
    city_df = pd.DataFrame(cities, columns=["region_idx", "city", "lat", "lon"])

    window_days = (end - start).days + 1
    years = window_days / 365.25
    n_below_vp = n_reps - 1 - n_regions
    n_teams = max(n_regions, int(np.ceil(n_below_vp / 9)))
    n_people_ic = n_below_vp - n_teams
    # Turnover events: each adds a leaver + backfill (two people, one seat).
    n_turn = round(0.09 * years * n_people_ic / (1 + 0.09 * years))
    # a small organisation over many years: fewer turnover events, so that every role keeps a seat
    n_turn = min(n_turn, n_people_ic - max(len(_IC_ROLES), n_teams + 2))
    n_seats = n_people_ic - n_turn
    seat_team = np.sort(np.arange(n_seats) % n_teams)
    team_region = np.sort(np.arange(n_teams) % n_regions)
    # stratified role mix: every role present, shares as _IC_SHARE
    counts = np.maximum(1, np.floor(_IC_SHARE * n_seats).astype(int))
    counts[0] += n_seats - counts.sum()
    seat_role = rng.permutation(np.repeat(_IC_ROLES, counts))
    # every team has at least one owner seat
    first_of_team = np.r_[0, np.flatnonzero(np.diff(seat_team)) + 1]
    seat_role[first_of_team] = "AE"
    if not (seat_role == "OVERLAY").any():
        seat_role[-1] = "OVERLAY"
    if not (seat_role == "SDR").any():
        seat_role[-2] = "SDR"

    start_d = int(_days(np.datetime64(start.date())))
    end_d = int(_days(np.datetime64(end.date())))
    # seat opening: most seats exist before the window; ~12% open during it (expansion hires)
    expansion = rng.random(n_seats) < 0.12
    expansion[first_of_team] = False
    open_day = np.where(expansion, rng.integers(start_d + 60, end_d - 120, n_seats), start_d - 400)
    first_hire = np.where(expansion, open_day, start_d - rng.integers(60, 8 * 365, n_seats))

    # turnover: choose seats, leave date, vacancy gap
    turn_seat = rng.choice(n_seats, size=n_turn, replace=n_turn > n_seats)
    turn_seat = np.sort(turn_seat)
    lo = np.maximum(open_day[turn_seat] + 90, start_d + 30)
    hi = np.maximum(lo + 1, end_d - 60)
    leave_day = rng.integers(lo, hi)
    gap = rng.integers(20, 90, n_turn)

    # incumbents per seat: sequential leave days within a seat
    people = []  # seat, hire_day, end_day (or -1)
    order = np.lexsort((leave_day, turn_seat))
    turn_seat, leave_day, gap = turn_seat[order], leave_day[order], gap[order]
    seat_events: dict[int, list[tuple[int, int]]] = {}
    for s_, ld_, g_ in zip(turn_seat.tolist(), leave_day.tolist(), gap.tolist(), strict=True):
        seat_events.setdefault(s_, []).append((ld_, g_))
    for s in range(n_seats):
        hire = int(first_hire[s])
        events = seat_events.get(s, [])
        last_leave = -(10**9)
        for ld0, gap_days in events:
            ld = max(int(ld0), hire + 60, last_leave + 1)
            if ld >= end_d - 30:
                break
            people.append((s, hire, ld))
            hire = min(ld + int(gap_days), end_d - 1)
            last_leave = ld
        people.append((s, hire, -1))
    ppl = pd.DataFrame(people, columns=["seat", "hire_day", "end_day"])
    # the count may differ from n_people_ic when turnover events merged: adjust to n_reps
    n_ic = len(ppl)
    n_people = 1 + n_regions + n_teams + n_ic
    if n_people > n_reps:  # drop trailing backfills to hit the exact size
        drop = ppl.index[(ppl["end_day"] == -1) & ppl.duplicated("seat", keep="first")][
            : n_people - n_reps
        ]
        # dropping a backfill leaves its seat vacant after the predecessor left
        ppl = ppl.drop(index=drop).reset_index(drop=True)
    elif n_people < n_reps:
        extra = n_reps - n_people
        add_seats = np.arange(n_seats, n_seats + extra)
        seat_team = np.r_[seat_team, rng.integers(0, n_teams, extra)]
        seat_role = np.r_[seat_role, rng.choice(_IC_ROLES, size=extra, p=_IC_SHARE)]
        od = rng.integers(start_d + 60, end_d - 120, extra)
        open_day = np.r_[open_day, od]
        expansion = np.r_[expansion, np.ones(extra, bool)]
        ppl = pd.concat(
            [ppl, pd.DataFrame({"seat": add_seats, "hire_day": od, "end_day": -1})],
            ignore_index=True,
        )
        n_seats += extra
    ppl = ppl.sort_values(["seat", "hire_day"]).reset_index(drop=True)
    n_ic = len(ppl)

    # ids: VP, regional managers, team managers, ICs
    n_total = 1 + n_regions + n_teams + n_ic
    rep_ids = _ids("R", n_total)
    vp = rep_ids[0]
    rm = rep_ids[1 : 1 + n_regions]
    tm = rep_ids[1 + n_regions : 1 + n_regions + n_teams]
    team_names = np.array(
        [f"{region_names[team_region[t]]} {t + 1:03d}" for t in range(n_teams)], dtype=object
    )

    first = rng.choice(_FIRST, n_total)
    last = rng.choice(_LAST, n_total)
    names = np.char.add(np.char.add(first.astype(str), " "), last.astype(str)).astype(object)
    role = np.r_[["MANAGER"] * (1 + n_regions + n_teams), seat_role[ppl["seat"].to_numpy()]].astype(
        object
    )
    region = np.r_[
        ["All"],
        np.array(region_names)[np.arange(n_regions)],
        np.array(region_names)[team_region],
        np.array(region_names)[team_region[seat_team[ppl["seat"].to_numpy()]]],
    ].astype(object)
    team = np.r_[
        ["Leadership"],
        ["Leadership"] * n_regions,
        team_names,
        team_names[seat_team[ppl["seat"].to_numpy()]],
    ].astype(object)
    manager = np.r_[
        [None], [vp] * n_regions, rm[team_region], tm[seat_team[ppl["seat"].to_numpy()]]
    ].astype(object)
    hire_day = np.r_[
        start_d - rng.integers(3 * 365, 10 * 365, 1 + n_regions + n_teams),
        ppl["hire_day"].to_numpy(),
    ]
    end_day = np.r_[np.full(1 + n_regions + n_teams, -1), ppl["end_day"].to_numpy()]
    ote = np.array([_OTE[r] for r in role], float) * np.exp(rng.normal(0, 0.06, n_total))
    ote = np.round(ote / 1000) * 1000
    mix = np.array([_MIX[r] for r in role])
    base = np.round(ote * mix / 100) * 100
    fte = np.where(rng.random(n_total) < 0.04, 0.6, 1.0)
    fte[: 1 + n_regions + n_teams] = 1.0

    # homes near a city of the region
    city_region = city_df["region_idx"].to_numpy()
    region_idx = np.r_[
        [0], np.arange(n_regions), team_region, team_region[seat_team[ppl["seat"].to_numpy()]]
    ]
    home_city = np.empty(n_total, int)
    for r in range(n_regions):
        idx = np.flatnonzero(region_idx == r)
        pool = np.flatnonzero(city_region == r)
        home_city[idx] = rng.choice(pool, size=len(idx))
    home_city[0] = 0
    home_lat = city_df["lat"].to_numpy()[home_city] + rng.normal(0, 0.15, n_total)
    home_lon = city_df["lon"].to_numpy()[home_city] + rng.normal(0, 0.15, n_total)

    # true characteristics
    skill = np.exp(rng.normal(0, 0.30, n_total))
    skill[: 1 + n_regions + n_teams] = 1.0
    win_rate = np.clip(0.28 * skill**0.8, 0.05, 0.65)
    activity = np.exp(rng.normal(0, 0.20, n_total))
    cycle = np.round(np.clip(75 / skill**0.3 * np.exp(rng.normal(0, 0.15, n_total)), 20, 240))
    ramp = np.array([_RAMP_MONTHS[r] for r in role], float)
    pattern = np.full(n_total, "", dtype=object)
    penetration = np.ones(n_total)
    owners = np.flatnonzero(np.isin(role, _OWNER_ROLES))
    n_plant = max(3, round(0.06 * len(owners)))
    planted = rng.choice(owners, size=min(len(owners), 2 * n_plant), replace=False)
    hi_act, under = planted[:n_plant], planted[n_plant:]
    activity[hi_act] = 1.6 * np.exp(rng.normal(0, 0.05, len(hi_act)))
    win_rate[hi_act] = np.clip(0.45 * win_rate[hi_act], 0.05, None)
    pattern[hi_act] = "high_activity_low_win"
    penetration[under] = 0.5
    pattern[under] = "under_worked"
    # managers cover vacancies at reduced effort
    activity[: 1 + n_regions + n_teams] = 0.5

    reps = pd.DataFrame(
        {
            "rep_id": rep_ids,
            "name": names,
            "role": role,
            "region": region,
            "team": team,
            "manager_id": manager,
            "hire_date": _dates(hire_day),
            "end_date": pd.to_datetime(
                pd.Series(np.where(end_day >= 0, end_day, 0))
                .astype("datetime64[D]")
                .astype("datetime64[ns]")
            ).where(end_day >= 0),
            "plan_id": [PLAN_IDS[r] for r in role],
            "base_salary": base,
            "ote": ote,
            "fte": fte,
            "home_lat": home_lat.round(5),
            "home_lon": home_lon.round(5),
        }
    )
    truth = pd.DataFrame(
        {
            "rep_id": rep_ids,
            "skill": skill.round(5),
            "win_rate": win_rate.round(5),
            "activity_level": activity.round(5),
            "cycle_days": cycle.astype(int),
            "ramp_months": ramp.astype(int),
            "penetration": penetration,
            "pattern": pattern,
            "seat": np.r_[np.full(1 + n_regions + n_teams, -1), ppl["seat"].to_numpy()],
        }
    )
    unbalanced = np.zeros(n_regions, bool)
    unbalanced[rng.integers(0, n_regions)] = True
    truth_regions = pd.DataFrame({"region": region_names, "unbalanced": unbalanced})
    ic_offset = 1 + n_regions + n_teams
    seat_people = ppl.assign(rep_idx=np.arange(n_ic) + ic_offset)
    return {
        "reps": reps,
        "truth": truth,
        "truth_regions": truth_regions,
        "cities": city_df,
        "region_names": region_names,
        "n_regions": n_regions,
        "seat_team": seat_team,
        "seat_role": seat_role,
        "seat_open": open_day,
        "seat_expansion": expansion,
        "team_region": team_region,
        "team_manager_idx": np.arange(n_teams) + 1 + n_regions,
        "seat_people": seat_people,
        "home_lat": home_lat,
        "home_lon": home_lon,
        "skill": skill,
        "win_rate": win_rate,
        "activity": activity,
        "cycle": cycle,
        "ramp": ramp,
        "penetration": penetration,
        "hire_day": hire_day,
        "end_day": end_day,
        "role": role,
    }


def _plant_behaviours(org: dict, rng: np.random.Generator) -> None:
    """Choose the reps of the behaviour patterns and record every rep-level pattern.

    Sets ``org["push"]`` (share of won deals due in a quarter's last
    :data:`SANDBAG_DAYS` days that are pushed into the next quarter), ``org["lead"]``
    (fraction of the usual opportunity lead time) and ``org["discount"]`` (mean
    discount off list) per rep, and ``org["truth_patterns"]``: one row per planted
    rep and pattern, with the effect size (``effect`` on ``measure``, ``baseline``
    what a rep without the pattern has). Reps of the older patterns
    (``truth_reps.pattern``) are listed too and are not chosen again.
    """
    role = org["role"]
    truth = org["truth"]
    n = len(role)
    pattern = truth["pattern"].to_numpy()
    owners = np.flatnonzero(np.isin(role, _OWNER_ROLES))
    free = owners[pattern[owners] == ""]
    k = min(int(np.floor(BEHAVIOUR_SHARE * len(owners))), len(free) // 3)
    chosen = rng.choice(free, size=3 * k, replace=False) if k > 0 else np.zeros(0, np.int64)
    sandbag, thin, disc = chosen[:k], chosen[k : 2 * k], chosen[2 * k :]
    push, lead, discount = np.zeros(n), np.ones(n), np.zeros(n)
    push[sandbag] = SANDBAG_SHARE
    lead[thin] = THIN_PIPELINE_LEAD
    discount[disc] = np.round(rng.uniform(*DISCOUNT_RANGE, len(disc)), 3)
    org["push"], org["lead"], org["discount"] = push, lead, discount
    org["_behaviour_rng"] = rng
    rep_ids = org["reps"]["rep_id"].to_numpy()
    hi = np.flatnonzero(pattern == "high_activity_low_win")
    under = np.flatnonzero(pattern == "under_worked")
    rows: list[tuple[str, str, str, float, float]] = []
    for i in hi:
        rows.append(
            (rep_ids[i], "high_activity_low_win", "activity_level", org["activity"][i], 1.0)
        )
        rows.append((rep_ids[i], "high_activity_low_win", "win_rate_factor", 0.45, 1.0))
    for i in under:
        rows.append((rep_ids[i], "under_worked", "pipeline_rate_factor", 0.5, 1.0))
    for i in sandbag:
        rows.append((rep_ids[i], "sandbagging", "pushed_share", SANDBAG_SHARE, 0.0))
    for i in thin:
        rows.append((rep_ids[i], "thin_pipeline", "lead_time_factor", THIN_PIPELINE_LEAD, 1.0))
    for i in disc:
        rows.append((rep_ids[i], "high_discount", "discount", float(discount[i]), 0.0))
    tp = pd.DataFrame(rows, columns=["rep_id", "pattern", "measure", "effect", "baseline"])
    tp["effect"] = tp["effect"].astype(float).round(5)
    tp["baseline"] = tp["baseline"].astype(float)
    org["truth_patterns"] = tp.sort_values(["rep_id", "pattern", "measure"]).reset_index(drop=True)


# -- accounts -----------------------------------------------------------------------------
def _accounts(n: int, org: dict, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    cities = org["cities"]
    city_w = rng.uniform(0.5, 2.0, len(cities))
    city = rng.choice(len(cities), size=n, p=city_w / city_w.sum())
    region_idx = cities["region_idx"].to_numpy()[city]
    seg = rng.choice(3, size=n, p=_SEGMENT_SHARE)
    lat = cities["lat"].to_numpy()[city] + rng.normal(0, 0.35, n)
    lon = cities["lon"].to_numpy()[city] + rng.normal(0, 0.45, n)
    potential = _POTENTIAL_MEDIAN[seg] * np.exp(rng.normal(0, 0.6, n))
    workload = (
        _WORKLOAD_BASE[seg]
        * (potential / _POTENTIAL_MEDIAN[seg]) ** 0.5
        * np.exp(rng.normal(0, 0.2, n))
    )
    # parents: ~4% of non-enterprise accounts belong to an enterprise account of the same region
    parent = np.full(n, None, dtype=object)
    ids = _ids("A", n)
    ent = np.flatnonzero(seg == 0)
    if len(ent):
        child = np.flatnonzero((seg != 0) & (rng.random(n) < 0.04))
        for r in np.unique(region_idx[child]):
            pool = ent[region_idx[ent] == r]
            kids = child[region_idx[child] == r]
            if len(pool):
                parent[kids] = ids[rng.choice(pool, size=len(kids))]
    # owner seat: nearest owner seat of the region (Voronoi territories); the unbalanced
    # region instead gets a skewed random split (a strong two-tier split of its own stream in
    # a company with IMBALANCE_MIN_OWNERS owners or more, see _skewed_split)
    seat_role = org["seat_role"]
    seat_region = org["team_region"][org["seat_team"]]
    owner_seats = np.flatnonzero(np.isin(seat_role, _OWNER_ROLES))
    sp = org["seat_people"]
    first_person = sp.drop_duplicates("seat").set_index("seat")["rep_idx"]
    seat_lat = org["home_lat"][first_person.reindex(np.arange(len(seat_role))).to_numpy()]
    seat_lon = org["home_lon"][first_person.reindex(np.arange(len(seat_role))).to_numpy()]
    account_seat = np.full(n, -1)
    unbalanced = org["truth_regions"]["unbalanced"].to_numpy()
    irng = org["_imbalance_rng"]
    seat_weight = np.zeros(len(seat_role))  # planted share of the unbalanced region's seats
    for r in range(org["n_regions"]):
        acc = np.flatnonzero(region_idx == r)
        seats = owner_seats[seat_region[owner_seats] == r]
        if len(seats) == 0:
            seats = owner_seats
        if unbalanced[r]:
            # drawn in every company, so that the main stream's later draws are unchanged
            w = rng.dirichlet(np.full(len(seats), 0.6))
            account_seat[acc] = seats[rng.choice(len(seats), size=len(acc), p=w)]
            if irng is not None:
                account_seat[acc], seat_weight[seats] = _skewed_split(potential[acc], seats, irng)
        else:
            # nearest seat with a size penalty to keep territories roughly comparable
            d = (lat[acc, None] - seat_lat[None, seats]) ** 2 + (
                (lon[acc, None] - seat_lon[None, seats]) * 0.8
            ) ** 2
            d = d * np.exp(rng.normal(0, 0.5, d.shape))
            account_seat[acc] = seats[np.argmin(d, axis=1)]
    org["seat_weight"] = seat_weight
    if irng is not None:
        _record_spread(org, np.round(potential, -2), account_seat, owner_seats, seat_region)
    accounts = pd.DataFrame(
        {
            "account_id": ids,
            "name": np.char.add("Account ", np.arange(1, n + 1).astype(str)).astype(object),
            "parent_account_id": parent,
            "segment": _SEGMENTS[seg].astype(object),
            "industry": rng.choice(_INDUSTRIES, size=n).astype(object),
            "region": np.array(org["region_names"], dtype=object)[region_idx],
            "lat": lat.round(5),
            "lon": lon.round(5),
            "potential": np.round(potential, -2),
            "workload": workload.round(1),
            "_seat": account_seat,
            "_city": city,
        }
    )
    return accounts, account_seat


def _skewed_split(
    potential: np.ndarray, seats: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Split a region's accounts between ``seats`` in two tiers of planted shares.

    A random ``floor(k / 2)`` of the ``k`` seats are favoured; a favoured seat's share of
    the region's potential is ``ratio`` times the others', with ``ratio`` such that the
    standard deviation of the log shares is :data:`IMBALANCE_SPREAD`. The accounts, in
    random order, each go to the seat furthest below its share, so the realised split is
    the planted one to within about an account.

    Returns
    -------
    (ndarray, ndarray)
        Seat of each account, and each seat's planted share (sums to 1).
    """
    k = len(seats)
    fav = np.zeros(k, bool)
    fav[rng.choice(k, size=k // 2, replace=False)] = True
    q = fav.mean()
    log_ratio = IMBALANCE_SPREAD / np.sqrt(q * (1 - q)) if 0 < q < 1 else 0.0
    share = np.exp(np.where(fav, log_ratio, 0.0))
    share = share / share.sum()
    pot = np.asarray(potential, dtype=float)
    # accounts in random order, each to the seat furthest below its share of the potential
    deficit = share * pot.sum()
    which = np.empty(len(pot), np.int64)
    for i in rng.permutation(len(pot)):
        j = int(np.argmax(deficit))
        which[i] = j
        deficit[j] -= pot[i]
    out = seats[which]
    return out, share


def _record_spread(
    org: dict,
    potential: np.ndarray,
    account_seat: np.ndarray,
    owner_seats: np.ndarray,
    seat_region: np.ndarray,
) -> None:
    """Add the effect size of the territory split to ``org["truth_regions"]``.

    ``potential_spread``: standard deviation (natural log, ddof 0) of the potential of each
    region's owner territories as first split (seats with accounts); ``largest_to_smallest``:
    the largest of those territories over the smallest.
    """
    seat_pot = np.bincount(account_seat[account_seat >= 0], weights=potential[account_seat >= 0])
    seat_pot = np.r_[seat_pot, np.zeros(max(0, len(seat_region) - len(seat_pot)))]
    spread, ratio = [], []
    for r in range(org["n_regions"]):
        v = seat_pot[owner_seats[seat_region[owner_seats] == r]]
        v = v[v > 0]
        spread.append(float(np.log(v).std()) if len(v) > 1 else np.nan)
        ratio.append(float(v.max() / v.min()) if len(v) > 1 else np.nan)
    tr = org["truth_regions"]
    tr["potential_spread"] = np.round(spread, 4)
    tr["largest_to_smallest"] = np.round(ratio, 2)


# -- assignments --------------------------------------------------------------------
def _keep_skew(
    seat: np.ndarray,
    pick: np.ndarray,
    pick_other: np.ndarray,
    team_owner_seats: dict[int, np.ndarray],
    org: dict,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the planted unbalanced region unbalanced through the later account moves.

    Elsewhere a reassigned account goes to any other owner seat of its team and an
    expansion seat's accounts are held by any team-mate's seat until it opens: over three
    years that lifts the smallest territories several-fold and evens the split out. In the
    unbalanced region both go to a seat of the same tier (favoured or not, see
    :func:`_skewed_split`) when the team has one, else to a seat drawn in proportion to its
    planted share, so every seat keeps its planted share in expectation.
    """
    w = org["seat_weight"]
    pick, pick_other = pick.copy(), pick_other.copy()
    inside = np.flatnonzero(w[seat] > 0)
    if len(inside) == 0:
        return pick, pick_other
    favoured = w > w[w > 0].min() * (1 + 1e-9)
    seat_team = org["seat_team"]
    for s_ in np.unique(seat[inside]):
        acc = inside[seat[inside] == s_]
        pool = team_owner_seats[int(seat_team[s_])]
        if len(pool) == 0:
            continue
        same = pool[favoured[pool] == favoured[s_]]
        for out, cands in ((pick, pool), (pick_other, pool[pool != s_])):
            tier = cands[np.isin(cands, same)]
            cands = tier if len(tier) else cands
            if len(cands) == 0:
                continue
            p = w[cands] / w[cands].sum()
            out[acc] = cands[rng.choice(len(cands), size=len(acc), p=p)]
    return pick, pick_other


def _seat_timeline(org: dict, start_d: int, end_d: int) -> pd.DataFrame:
    """Who fills each seat when: incumbents, and the team manager during vacancies."""
    sp = org["seat_people"]
    seat_team = org["seat_team"]
    rows = []
    seats = sp["seat"].to_numpy()
    hire = sp["hire_day"].to_numpy()
    endd = sp["end_day"].to_numpy()
    ridx = sp["rep_idx"].to_numpy()
    mgr_of_seat = org["team_manager_idx"][seat_team]
    seat_open = org["seat_open"]
    for i in range(len(sp)):
        s = seats[i]
        a = max(hire[i], seat_open[s])
        b = endd[i] if endd[i] >= 0 else end_d + 3650
        rows.append((s, ridx[i], a, b))
        nxt = hire[i + 1] if i + 1 < len(sp) and seats[i + 1] == s else None
        if endd[i] >= 0:
            cover_end = (nxt - 1) if nxt is not None else end_d + 3650
            if cover_end > endd[i]:
                rows.append((s, mgr_of_seat[s], endd[i] + 1, cover_end))
    tl = pd.DataFrame(rows, columns=["seat", "rep_idx", "a", "b"])
    return tl


def _assignments(
    accounts: pd.DataFrame,
    account_seat: np.ndarray,
    org: dict,
    start: pd.Timestamp,
    end: pd.Timestamp,
    rng: np.random.Generator,
) -> pd.DataFrame:
    start_d, end_d = int(_days(np.datetime64(start.date()))), int(_days(np.datetime64(end.date())))
    n = len(accounts)
    seat_team = org["seat_team"]
    seat_role = org["seat_role"]
    seat_open = org["seat_open"]
    # account -> seat segments: expansion seats took their accounts from a team-mate's seat
    # at opening;
    # plus ~5%/year random reassignments to another owner seat of the same team
    team_owner_seats: dict[int, np.ndarray] = {}
    owner_mask = np.isin(seat_role, _OWNER_ROLES)
    for t in np.unique(seat_team):
        team_owner_seats[int(t)] = np.flatnonzero(
            (seat_team == t) & owner_mask & ~org["seat_expansion"]
        )
    years = (end_d - start_d + 1) / 365.25
    reassign = rng.random(n) < 0.05 * years
    re_day = rng.integers(start_d + 30, end_d - 30, n)
    prev_choice = rng.random(n)
    far_past = start_d - 400
    open_end = end_d + 3650
    # pools of non-expansion owner seats per team, flattened with offsets
    teams = np.unique(seat_team)
    pool_flat = np.concatenate([team_owner_seats[int(t)] for t in teams])
    pool_len = np.zeros(seat_team.max() + 1, dtype=np.int64)
    pool_len[teams] = [len(team_owner_seats[int(t)]) for t in teams]
    pool_off = np.zeros_like(pool_len)
    pool_off[teams] = np.r_[0, np.cumsum(pool_len[teams])[:-1]]
    seat = account_seat.astype(np.int64)
    team = seat_team[seat]
    k = pool_len[team]
    j = np.minimum((prev_choice * np.maximum(k, 1)).astype(np.int64), np.maximum(k - 1, 0))
    pick = pool_flat[np.minimum(pool_off[team] + j, len(pool_flat) - 1)]
    # for reassignment: a different seat of the pool (next one if the draw hit the own seat)
    pick_other = np.where(
        pick == seat,
        pool_flat[np.minimum(pool_off[team] + (j + 1) % np.maximum(k, 1), len(pool_flat) - 1)],
        pick,
    )
    irng = org.get("_imbalance_rng")
    if irng is not None:
        pick, pick_other = _keep_skew(seat, pick, pick_other, team_owner_seats, org, irng)
    is_exp = org["seat_expansion"][seat] & (k > 0)
    is_re = ~is_exp & reassign & (k > 1)
    two = is_exp | is_re
    first_seat = np.where(is_exp, pick, seat)
    second_seat = np.where(is_exp, seat, pick_other)
    switch = np.where(is_exp, seat_open[seat], re_day)
    idx = np.flatnonzero(two)
    seg_acc = np.r_[np.arange(n), idx]
    seg_seat = np.r_[first_seat, second_seat[idx]]
    seg_a = np.r_[np.full(n, far_past), switch[idx]]
    seg_b = np.r_[np.where(two, switch - 1, open_end), np.full(len(idx), open_end)]
    segs = pd.DataFrame({"acc": seg_acc, "seat": seg_seat, "sa": seg_a, "sb": seg_b})
    tl = _seat_timeline(org, start_d, end_d)
    m = segs.merge(tl, on="seat")
    m["s"] = np.maximum(m["sa"], m["a"])
    m["e"] = np.minimum(m["sb"], m["b"])
    m = m[m["s"] <= m["e"]].copy()
    m["s"] = np.maximum(m["s"], start_d - 365)  # ownership history starts a year before the data
    m = m[(m["s"] <= m["e"]) & (m["s"] <= end_d)].sort_values(["acc", "s"])
    # merge consecutive rows of the same rep
    same = (m["acc"].to_numpy()[1:] == m["acc"].to_numpy()[:-1]) & (
        m["rep_idx"].to_numpy()[1:] == m["rep_idx"].to_numpy()[:-1]
    )
    grp = np.r_[0, np.cumsum(~same)]
    m["g"] = grp
    m = m.groupby("g", sort=False).agg(
        acc=("acc", "first"), rep_idx=("rep_idx", "first"), s=("s", "min"), e=("e", "max")
    )
    rep_ids = org["reps"]["rep_id"].to_numpy()
    o_acc = m["acc"].to_numpy().astype(np.int64)
    o_rep = m["rep_idx"].to_numpy().astype(np.int64)
    o_s = m["s"].to_numpy().astype(np.int64)
    o_e = m["e"].to_numpy().astype(np.int64)
    owner_int = {"acc": o_acc, "rep": o_rep, "s": o_s, "e": o_e}
    # overlays: services specialists and channel managers cover accounts of their team's region
    ov_acc, ov_rep, ov_fam, ov_s, ov_e = [], [], [], [], []
    tl_groups = {int(k): g for k, g in tl.groupby("seat")}
    region_of_acc = accounts["region"].to_numpy()
    segment = accounts["segment"].to_numpy()
    seat_region = np.array(org["region_names"], dtype=object)[org["team_region"][seat_team]]
    families = ["services", "platform"]
    for fam_code, (role, seg_filter) in enumerate((("OVERLAY", None), ("CHANNEL", "smb"))):
        seats = np.flatnonzero(seat_role == role)
        for r in np.unique(seat_region[seats]):
            rs = seats[seat_region[seats] == r]
            sel = region_of_acc == r
            if seg_filter:
                sel &= segment == seg_filter
            acc = np.flatnonzero(sel)
            if len(acc) == 0:
                continue
            which = rs[rng.integers(0, len(rs), len(acc))]
            for seat_i in np.unique(which):
                a_idx = acc[which == seat_i]
                for rep_i, a, b in tl_groups[int(seat_i)][["rep_idx", "a", "b"]].itertuples(
                    index=False
                ):
                    if org["role"][rep_i] != role:
                        continue  # overlays are not covered by managers during vacancies
                    k = len(a_idx)
                    ov_acc.append(a_idx)
                    ov_rep.append(np.full(k, rep_i))
                    ov_fam.append(np.full(k, fam_code))
                    ov_s.append(np.full(k, max(a, start_d - 365)))
                    ov_e.append(np.full(k, b))
    cat = (
        (lambda x: np.concatenate(x).astype(np.int64))
        if ov_acc
        else (lambda x: np.zeros(0, np.int64))
    )
    n_own = len(o_acc)
    all_acc = np.r_[o_acc, cat(ov_acc)]
    all_rep = np.r_[o_rep, cat(ov_rep)]
    all_s = np.r_[o_s, cat(ov_s)]
    all_e = np.r_[o_e, cat(ov_e)]
    all_fam = np.r_[np.full(n_own, -1), cat(ov_fam)]
    is_owner = np.r_[np.ones(n_own, bool), np.zeros(len(all_acc) - n_own, bool)]
    # canonical order: account, role (overlay < owner), start date, rep (ids are zero-padded,
    # so integer order equals text order)
    order = np.lexsort((all_rep, all_s, is_owner, all_acc))
    all_acc, all_rep, all_s, all_e = all_acc[order], all_rep[order], all_s[order], all_e[order]
    all_fam, is_owner = all_fam[order], is_owner[order]
    open_ended = all_e > end_d
    out = pd.DataFrame(
        {
            "account_id": _take_str(pa.array(accounts["account_id"]), all_acc),
            "rep_id": _take_str(rep_ids.astype(object), all_rep),
            "role": _take_str(np.array(["overlay", "owner"], dtype=object), is_owner.astype(int)),
            "product_family": _take_str(np.array(families, dtype=object), all_fam),
            "start_date": _dates(all_s),
            "end_date": pd.Series(_dates(np.where(open_ended, 0, all_e))).where(~open_ended),
        }
    )
    return out, owner_int


def _owner_lookup(owner_int: dict, acc: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Index of the owning rep of account ``acc[i]`` on ``day[i]`` (-1 if none)."""
    big = np.int64(10**8)
    key = owner_int["acc"] * big + owner_int["s"]
    order = np.argsort(key, kind="stable")
    key, e, r = key[order], owner_int["e"][order], owner_int["rep"][order]
    q = acc.astype(np.int64) * big + day
    pos = np.searchsorted(key, q, side="right") - 1
    ok = pos >= 0
    pos_c = np.where(ok, pos, 0)
    ok &= (key[pos_c] // big) == acc
    ok &= e[pos_c] >= day
    return np.where(ok, r[pos_c], -1)


def _index_of_ids(ids: pd.Series, prefix_len: int = 1) -> np.ndarray:
    """Row index of zero-padded sequential ids (``A000123`` -> 122), computed in Arrow."""
    num = pc.cast(pc.utf8_slice_codeunits(pa.array(ids, pa.string()), prefix_len), pa.int64())
    return np.asarray(num.to_numpy(zero_copy_only=False), dtype=np.int64) - 1


# -- pipeline ---------------------------------------------------------------------------
def _close_days(n: int, lo: int, hi: int, rng: np.random.Generator) -> np.ndarray:
    """Close dates in [lo, hi] with monthly seasonality, quarter-end clustering and growth."""
    months = pd.period_range(
        pd.Timestamp(_dates(np.array([lo]))[0]), pd.Timestamp(_dates(np.array([hi]))[0]), freq="M"
    )
    m_start = _days(months.start_time.to_numpy())
    m_len = months.days_in_month.to_numpy()
    t_years = (m_start - lo) / 365.25
    w = SEASONALITY[months.month.to_numpy() - 1] * (1 + ANNUAL_GROWTH) ** t_years * m_len / 30.4
    mi = rng.choice(len(months), size=n, p=w / w.sum())
    u = rng.random(n)
    quarter_end = months.month.to_numpy()[mi] % 3 == 0
    late = quarter_end & (rng.random(n) < 0.45)
    day_in = np.where(late, m_len[mi] - 1 - np.floor(u * 10), np.floor(u * m_len[mi]))
    return np.clip(m_start[mi] + day_in.astype(np.int64), lo, hi)


def _pipeline(
    accounts: pd.DataFrame,
    assign: pd.DataFrame,
    org: dict,
    start: pd.Timestamp,
    end: pd.Timestamp,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    start_d, end_d = int(_days(np.datetime64(start.date()))), int(_days(np.datetime64(end.date())))
    horizon = end_d + 180  # open pipeline expected to close up to 6 months out
    reps = org["reps"]
    rep_index = pd.Index(reps["rep_id"])
    seg = (
        pd.Series(accounts["segment"]).map({"enterprise": 0, "mid_market": 1, "smb": 2}).to_numpy()
    )
    potential = accounts["potential"].to_numpy()
    deal_mean = _DEAL_MEDIAN[seg] * np.exp(0.7**2 / 2)
    # expected won new-business value per year at an average owner: 12% of potential
    base_rate = 0.12 * potential / (deal_mean * 0.28)  # opportunities per year before thinning
    max_act = max(2.0, float(org["activity"].max()))
    burn_in = start_d - 365  # a year before the window, so renewals exist from the start
    years_span = (horizon - burn_in + 1) / 365.25
    # thinning: candidates at the max rate; accepted with owner's activity * ramp / max
    n_cand = rng.poisson(base_rate * years_span * max_act / 1.0)
    acc = np.repeat(np.arange(len(accounts)), n_cand)
    close = _close_days(len(acc), burn_in, horizon, rng)
    owner = _owner_lookup(assign, acc, close)
    has_owner = owner >= 0
    own_c = np.where(has_owner, owner, 0)
    tenure_m = (close - org["hire_day"][own_c]) / 30.44
    ramp_f = np.clip(tenure_m / org["ramp"][own_c], 0.1, 1.0)
    p_accept = org["activity"][own_c] * ramp_f * org["penetration"][own_c] / max_act
    keep = has_owner & (rng.random(len(acc)) < p_accept)
    acc, close, owner = acc[keep], close[keep], owner[keep]
    n = len(acc)
    cycle = np.maximum(7, org["cycle"][owner] * np.exp(rng.normal(0, 0.35, n))).astype(np.int64)
    created = close - cycle
    amount = np.round(_DEAL_MEDIAN[seg[acc]] * np.exp(rng.normal(0, 0.7, n)), -1)
    # large-deal lumpiness: 1% of deals are 5-10x larger
    big = rng.random(n) < 0.01
    amount[big] *= rng.uniform(5, 10, big.sum())
    amount = np.round(amount, 0)
    won = rng.random(n) < org["win_rate"][owner]
    product = np.where(rng.random(n) < 0.75, np.where(rng.random(n) < 0.6, "P01", "P02"), "P03")
    # behaviour patterns (no-ops for reps without them: draws from their own stream)
    factor = np.ones(n)  # net / list price
    if org["push"].any() or (org["lead"] < 1).any() or org["discount"].any():
        brng = org["_behaviour_rng"]
        # sandbagging: won deals due in a quarter's last days are pushed into the next
        month = _dates(close).astype("datetime64[M]")
        q_first = month - (month.astype(np.int64) % 3)
        next_q = _days((q_first + 3).astype("datetime64[D]"))
        push = won & (next_q - close <= SANDBAG_DAYS) & (brng.random(n) < org["push"][owner])
        close = np.where(push, next_q + brng.integers(0, 21, n), close)
        # thin pipeline: opportunities opened late, at a fraction of the lead time
        lead = org["lead"][owner]
        created = np.where(
            lead < 1, close - np.maximum(3, np.round((close - created) * lead)), created
        ).astype(np.int64)
        # high discounts: the rep's deals sell below list (units stay at list)
        d = org["discount"][owner]
        deal_d = np.clip(d + brng.normal(0, 0.04, n), 0.0, 0.5)
        factor = np.where(d > 0, 1.0 - deal_d, 1.0)
        amount = np.where(d > 0, np.round(amount * factor, 0), amount)
    status = np.where(close > end_d, "open", np.where(won, "won", "lost"))
    visible = created <= end_d
    # renewals: won platform deals renew 12 months later (p=0.85, 0.9-1.2x); 25% are expansions
    ren_src = np.flatnonzero(won & (product != "P03") & (close + 365 <= horizon) & visible)
    r_close = close[ren_src] + 365
    r_n = len(ren_src)
    r_won = rng.random(r_n) < 0.85
    r_amount = np.round(amount[ren_src] * rng.uniform(0.9, 1.2, r_n), 0)
    r_owner = _owner_lookup(assign, acc[ren_src], r_close)
    ok = r_owner >= 0
    exp_flag = rng.random(r_n) < 0.25
    r_product = np.where(exp_flag, "P05", "P04")
    r_amount = np.where(exp_flag, np.round(r_amount * 0.3, 0), r_amount)
    r_created = r_close - 90
    r_status = np.where(r_close > end_d, "open", np.where(r_won, "won", "lost"))

    all_acc = np.r_[acc, acc[ren_src][ok]]
    all_owner = np.r_[owner, r_owner[ok]]
    all_created = np.r_[created, r_created[ok]]
    all_close = np.r_[close, r_close[ok]]
    all_amount = np.r_[amount, r_amount[ok]]
    all_product = np.r_[product, r_product[ok]]
    all_status = np.r_[status, r_status[ok]]
    all_factor = np.r_[factor, factor[ren_src][ok]]
    keep = (all_created <= end_d) & (all_close >= start_d)
    all_factor = all_factor[keep]
    all_acc, all_owner, all_created, all_close = (
        all_acc[keep],
        all_owner[keep],
        all_created[keep],
        all_close[keep],
    )
    all_amount, all_product, all_status = all_amount[keep], all_product[keep], all_status[keep]
    order = np.lexsort((all_acc, all_created))
    all_acc, all_owner, all_created, all_close = (
        all_acc[order],
        all_owner[order],
        all_created[order],
        all_close[order],
    )
    all_amount, all_product, all_status = all_amount[order], all_product[order], all_status[order]
    all_factor = all_factor[order]
    m = len(all_acc)
    opp_ids = _arrow_ids("O", m, 8)
    elapsed = np.clip((end_d - all_created) / np.maximum(all_close - all_created, 1), 0, 1)
    stage_idx = np.minimum((elapsed * 4).astype(int), 3)
    stages = np.array(["prospect", "qualify", "propose", "negotiate"])
    prob_by_stage = np.array([0.1, 0.25, 0.5, 0.75])
    stage = np.where(
        all_status == "won",
        "closed_won",
        np.where(all_status == "lost", "closed_lost", stages[stage_idx]),
    )
    prob = np.where(
        all_status == "won", 1.0, np.where(all_status == "lost", 0.0, prob_by_stage[stage_idx])
    )
    acc_arrow = pa.array(accounts["account_id"].to_numpy(), pa.string())
    rep_arrow = pa.array(rep_index.to_numpy(), pa.string())

    def vocab(values: np.ndarray) -> pd.Series:
        uniq, code = np.unique(values, return_inverse=True)
        return _take_str(uniq.astype(object), code)

    opps = pd.DataFrame(
        {
            "opportunity_id": opp_ids,
            "account_id": _take_str(acc_arrow, all_acc),
            "owner_rep_id": _take_str(rep_arrow, all_owner),
            "product_id": vocab(all_product),
            "created_date": _dates(all_created),
            "close_date": _dates(all_close),
            "stage": vocab(stage),
            "amount": all_amount.astype(float),
            "probability": prob,
            "status": vocab(all_status),
        }
    )
    org["_opp_owner"] = all_owner
    w = np.flatnonzero(all_status == "won")
    opp_ids = opp_ids.to_numpy()[w]
    w_sel = np.arange(len(w))
    bk = pd.DataFrame(
        {
            "date": _dates(all_close[w]),
            "account_id": opps["account_id"].to_numpy()[w],
            "product_id": all_product[w].astype(object),
            "amount": all_amount[w].astype(float),
            "kind": "booking",
            "original_txn_id": None,
            # units at list price (a discounted deal sells the same units for less)
            "units": np.maximum(
                1, np.round(all_amount[w] / (LIST_PRICE_PER_UNIT * all_factor[w]))
            ).astype(float),
            "opportunity_id": opp_ids,
            "opportunity_owner_id": rep_index.to_numpy()[all_owner[w]],
        }
    )
    # services attach to 40% of won new-business deals, 0-30 days later, ~15% of the value
    nb = np.flatnonzero(np.isin(all_product[w], ["P01", "P02"]))
    att = nb[rng.random(len(nb)) < 0.4]
    s_day = all_close[w][att] + rng.integers(0, 31, len(att))
    in_win = s_day <= end_d
    att, s_day = att[in_win], s_day[in_win]
    s_amt = np.round(all_amount[w][att] * rng.uniform(0.08, 0.22, len(att)), 0)
    svc = pd.DataFrame(
        {
            "date": _dates(s_day),
            "account_id": bk["account_id"].to_numpy()[att],
            "product_id": np.where(rng.random(len(att)) < 0.7, "P06", "P07").astype(object),
            "amount": s_amt.astype(float),
            "kind": "booking",
            "original_txn_id": None,
            "units": np.maximum(1, np.round(s_amt / 1500)).astype(float),
            "opportunity_id": opp_ids[w_sel][att],
            "opportunity_owner_id": bk["opportunity_owner_id"].to_numpy()[att],
        }
    )
    txns = pd.concat([bk, svc], ignore_index=True)
    txns = txns[(txns["date"] >= pd.Timestamp(start)) & (txns["date"] <= pd.Timestamp(end))]
    margin_rate = np.where(txns["product_id"].isin(["P06", "P07"]).to_numpy(), 0.35, 0.78)
    txns["margin"] = np.round(
        txns["amount"].to_numpy() * margin_rate * np.exp(rng.normal(0, 0.08, len(txns))), 2
    )
    txns = txns.sort_values(["date", "account_id", "product_id"], kind="stable").reset_index(
        drop=True
    )
    return opps, txns


# -- corrections: cancellations, adjustments, splits, exceptions ------------------------
def _corrections(
    txns: pd.DataFrame, org: dict, start: pd.Timestamp, end: pd.Timestamp, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    end_d = int(_days(np.datetime64(end.date())))
    n = len(txns)
    txns = txns.copy()
    txns["txn_id"] = _ids("T", n, 8)
    days = _days(txns["date"].to_numpy())
    cancel = np.flatnonzero(rng.random(n) < 0.03)
    delay = rng.integers(5, 200, len(cancel))
    c_day = days[cancel] + delay
    ok = c_day <= end_d
    cancel, c_day = cancel[ok], c_day[ok]
    partial = rng.random(len(cancel)) < 0.3
    c_amt = -np.round(txns["amount"].to_numpy()[cancel] * np.where(partial, 0.5, 1.0), 2)
    canc = pd.DataFrame(
        {
            "date": _dates(c_day),
            "account_id": txns["account_id"].to_numpy()[cancel],
            "product_id": txns["product_id"].to_numpy()[cancel],
            "amount": c_amt,
            "kind": "cancellation",
            "original_txn_id": txns["txn_id"].to_numpy()[cancel],
            "units": np.nan,
            "margin": -np.round(txns["margin"].to_numpy()[cancel] * np.where(partial, 0.5, 1.0), 2),
            "opportunity_id": txns["opportunity_id"].to_numpy()[cancel],
            "opportunity_owner_id": txns["opportunity_owner_id"].to_numpy()[cancel],
        }
    )
    adj = np.flatnonzero(rng.random(n) < 0.005)
    a_day = np.minimum(days[adj] + rng.integers(1, 60, len(adj)), end_d)
    adjs = pd.DataFrame(
        {
            "date": _dates(a_day),
            "account_id": txns["account_id"].to_numpy()[adj],
            "product_id": txns["product_id"].to_numpy()[adj],
            "amount": np.round(
                txns["amount"].to_numpy()[adj] * rng.uniform(-0.1, 0.1, len(adj)), 2
            ),
            "kind": "adjustment",
            "original_txn_id": txns["txn_id"].to_numpy()[adj],
            "units": np.nan,
            "margin": np.nan,
            "opportunity_id": txns["opportunity_id"].to_numpy()[adj],
            "opportunity_owner_id": txns["opportunity_owner_id"].to_numpy()[adj],
        }
    )
    extra = pd.concat([canc, adjs], ignore_index=True)
    extra = extra.sort_values(["date", "original_txn_id"], kind="stable").reset_index(drop=True)
    extra["txn_id"] = np.array(
        [f"T{i:08d}" for i in range(n + 1, n + 1 + len(extra))], dtype=object
    )
    cols = [
        "txn_id",
        "date",
        "account_id",
        "product_id",
        "amount",
        "kind",
        "original_txn_id",
        "units",
        "margin",
        "opportunity_id",
        "opportunity_owner_id",
    ]
    all_t = pd.concat([txns[cols], extra[cols]], ignore_index=True)
    # splits: 2% of new-business bookings shared 50/50 or 60/40 between the owner and another
    # owner of the region
    reps = org["reps"]
    role = reps["role"].to_numpy()
    nb = np.flatnonzero(
        (txns["product_id"].isin(["P01", "P02"])).to_numpy() & (rng.random(n) < 0.02)
    )
    rep_ids = reps["rep_id"].to_numpy()
    rep_pos = pd.Index(rep_ids)
    opp_owner = rep_pos.get_indexer(txns["opportunity_owner_id"].to_numpy()[nb])
    region_codes, region_of = np.unique(reps["region"].to_numpy().astype(str), return_inverse=True)
    owner_idx = np.flatnonzero(np.isin(role, _OWNER_ROLES))
    order = owner_idx[np.argsort(region_of[owner_idx], kind="stable")]
    counts = np.bincount(region_of[order], minlength=len(region_codes))
    offs = np.r_[0, np.cumsum(counts)[:-1]]
    share_main = np.where(rng.random(len(nb)) < 0.5, 0.5, 0.6)
    u = rng.random(len(nb))
    reg = region_of[np.maximum(opp_owner, 0)]
    kk = counts[reg]
    jj = np.minimum((u * np.maximum(kk, 1)).astype(np.int64), np.maximum(kk - 1, 0))
    other = order[np.minimum(offs[reg] + jj, len(order) - 1)]
    other = np.where(
        other == opp_owner,
        order[np.minimum(offs[reg] + (jj + 1) % np.maximum(kk, 1), len(order) - 1)],
        other,
    )
    ok = (opp_owner >= 0) & (kk > 1) & (other != opp_owner)
    tid = txns["txn_id"].to_numpy()[nb][ok]
    m_ = ok.sum()
    split_rows = pd.DataFrame(
        {
            "txn_id": np.r_[tid, tid],
            "rep_id": np.r_[rep_ids[opp_owner[ok]], rep_ids[other[ok]]],
            "share": np.r_[share_main[ok], np.round(1 - share_main[ok], 2)],
            "reason": np.full(2 * m_, "co-sell", dtype=object),
        }
    )
    split_rows["_o"] = np.r_[np.arange(m_), np.arange(m_)]
    split_rows = (
        split_rows.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)
    )
    splits = split_rows
    # exceptions: 0.3% of bookings re-credit part of the amount to the opportunity owner,
    # approved by their manager
    ex = np.flatnonzero(rng.random(n) < 0.003)
    mgr = pd.Series(reps["manager_id"].to_numpy(), index=reps["rep_id"].to_numpy())
    exc = pd.DataFrame(
        {
            "exception_id": _ids("X", len(ex)),
            "txn_id": txns["txn_id"].to_numpy()[ex],
            "rep_id": txns["opportunity_owner_id"].to_numpy()[ex],
            "amount": np.round(txns["amount"].to_numpy()[ex] * rng.choice([0.25, 0.5], len(ex)), 2),
            "reason": rng.choice(
                [
                    "territory transition",
                    "sourced by rep before reassignment",
                    "strategic deal support",
                ],
                len(ex),
            ).astype(object),
            "approved_by": mgr.reindex(txns["opportunity_owner_id"].to_numpy()[ex])
            .fillna("R" + "0" * 3 + "1")
            .to_numpy(),
        }
    )
    all_t["units"] = all_t["units"].astype(float)
    return all_t, splits, exc


# -- activities -------------------------------------------------------------------------
def _activities(
    opps: pd.DataFrame,
    org: dict,
    start: pd.Timestamp,
    end: pd.Timestamp,
    rng: np.random.Generator,
    sourcing: np.random.Generator | None = None,
) -> pd.DataFrame:
    start_d, end_d = int(_days(np.datetime64(start.date()))), int(_days(np.datetime64(end.date())))
    reps = org["reps"]
    rep_ids = reps["rep_id"].to_numpy()
    # opportunity work: 1-4 meetings/demos per opportunity between creation and close
    o_created = _days(opps["created_date"].to_numpy())
    o_close = np.minimum(_days(opps["close_date"].to_numpy()), end_d)
    k = rng.integers(1, 5, len(opps))
    oi = np.repeat(np.arange(len(opps)), k)
    span = np.maximum(o_close[oi] - o_created[oi], 1)
    d1 = o_created[oi] + (rng.random(len(oi)) * span).astype(np.int64)
    kind1 = np.where(rng.random(len(oi)) < 0.6, "meeting", "demo")
    opp_rep = org["_opp_owner"]
    # prospecting: calls and emails per active rep-month ~ Poisson(6 * activity);
    # SDR meetings ~ Poisson(14 * skill)
    months = pd.period_range(start, end, freq="M")
    m_start = _days(months.start_time.to_numpy())
    m_len = months.days_in_month.to_numpy()
    hire, endd = org["hire_day"], org["end_day"]
    active = (hire[:, None] <= m_start[None, :] + m_len[None, :] - 1) & (
        (endd[:, None] < 0) | (endd[:, None] >= m_start[None, :])
    )
    is_mgr = org["role"] == "MANAGER"
    lam = np.where(is_mgr, 0.0, 6.0 * org["activity"])[:, None] * active
    cnt = rng.poisson(lam)
    ri, mi = np.nonzero(cnt)
    reps_rep = np.repeat(ri, cnt[ri, mi])
    mon_rep = np.repeat(mi, cnt[ri, mi])
    d2 = m_start[mon_rep] + (rng.random(len(reps_rep)) * m_len[mon_rep]).astype(np.int64)
    kind2 = np.where(rng.random(len(reps_rep)) < 0.6, "call", "email")
    sdr = org["role"] == "SDR"
    lam_s = np.where(sdr, 14.0 * org["skill"] * org["activity"], 0.0)[:, None] * active
    tenure_m = (m_start[None, :] - hire[:, None]) / 30.44
    lam_s = lam_s * np.clip(tenure_m / org["ramp"][:, None], 0.1, 1.0)
    cnt_s = rng.poisson(lam_s)
    rs, ms = np.nonzero(cnt_s)
    rep_s = np.repeat(rs, cnt_s[rs, ms])
    mon_s = np.repeat(ms, cnt_s[rs, ms])
    d3 = m_start[mon_s] + (rng.random(len(rep_s)) * m_len[mon_s]).astype(np.int64)
    opp_s = (
        _sourced_opportunities(rep_s, d3, o_created, opp_rep, reps["team"].to_numpy(), sourcing)
        if sourcing is not None
        else np.full(len(rep_s), -1)
    )
    rep_all = np.r_[opp_rep[oi], reps_rep, rep_s]
    day_all = np.r_[d1, d2, d3]
    kind_all = np.r_[kind1, kind2, np.full(len(rep_s), "meeting")]
    opp_all = np.r_[oi, np.full(len(reps_rep), -1), opp_s]
    keep = (day_all >= start_d) & (day_all <= end_d)
    e = endd[rep_all]
    keep &= (e < 0) | (day_all <= e)  # ended reps log nothing after leaving
    rep_all, day_all, kind_all, opp_all = (
        rep_all[keep],
        day_all[keep],
        kind_all[keep],
        opp_all[keep],
    )
    order = np.lexsort((rep_all, day_all))
    rep_all, day_all, kind_all, opp_all = (
        rep_all[order],
        day_all[order],
        kind_all[order],
        opp_all[order],
    )
    kinds, kind_code = np.unique(kind_all, return_inverse=True)
    return pd.DataFrame(
        {
            "activity_id": _arrow_ids("V", len(rep_all), 8),
            "rep_id": _take_str(rep_ids.astype(object), rep_all),
            "account_id": _take_str(pa.array(opps["account_id"]), opp_all),
            "opportunity_id": _take_str(pa.array(opps["opportunity_id"]), opp_all),
            "date": _dates(day_all),
            "kind": _take_str(kinds.astype(object), kind_code),
        }
    )


def _sourced_opportunities(
    sdr: np.ndarray,
    day: np.ndarray,
    created: np.ndarray,
    owner: np.ndarray,
    team: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Opportunity each SDR meeting sources (-1 for none).

    With chance :data:`SOURCED_SHARE` a meeting on ``day`` sources one opportunity,
    drawn uniformly from those owned in the SDR's team and created in the
    :data:`SOURCING_WINDOW_DAYS` from ``day``; the meeting then carries its
    ``opportunity_id`` (the ``sdr`` plan's pipeline measure reads it).
    """
    out = np.full(len(sdr), -1, dtype=np.int64)
    if not len(sdr) or not len(created):
        return out
    codes, _ = pd.factorize(team)
    span = int(created.max() - min(created.min(), day.min())) + SOURCING_WINDOW_DAYS + 2
    base = int(min(created.min(), day.min()))
    opp_key = codes[owner].astype(np.int64) * span + (created - base)
    order = np.argsort(opp_key, kind="stable")
    sorted_key = opp_key[order]
    lo_key = codes[sdr].astype(np.int64) * span + (day - base)
    lo = np.searchsorted(sorted_key, lo_key, side="left")
    hi = np.searchsorted(sorted_key, lo_key + SOURCING_WINDOW_DAYS, side="right")
    u, pick = rng.random(len(sdr)), rng.random(len(sdr))
    hit = (u < SOURCED_SHARE) & (hi > lo)
    idx = lo[hit] + (pick[hit] * (hi[hit] - lo[hit])).astype(np.int64)
    out[hit] = order[idx]
    return out


# -- credit, quotas, payments, disputes -------------------------------------------------
def _owner_credit(
    txns: pd.DataFrame,
    splits: pd.DataFrame,
    org: dict,
    assign: pd.DataFrame,
    activities: pd.DataFrame,
    opps: pd.DataFrame,
) -> pd.DataFrame:
    """Credit per rep, quarter and measure, as the generator sets quotas from it.

    Owner of the account on the transaction date (splits replace the owner by the
    listed shares), overlays on their product family, cancellations and
    adjustments credited like any transaction, manager roll-up to the first-line
    manager, SDR meetings counted.
    """
    reps = org["reps"]
    rep_index = pd.Index(reps["rep_id"])
    acc = _index_of_ids(txns["account_id"])
    day = _days(txns["date"].to_numpy())
    owner = _owner_lookup(org["_owner_int"], acc, day)
    measure = PRODUCTS.set_index("product_id")["measure"].reindex(txns["product_id"]).to_numpy()
    family = PRODUCTS.set_index("product_id")["family"].reindex(txns["product_id"]).to_numpy()
    q = pd.PeriodIndex(txns["date"], freq="Q").astype(str).str.replace("Q", "-Q").to_numpy()
    base = pd.DataFrame(
        {
            "txn_id": txns["txn_id"].to_numpy(),
            "rep_idx": owner,
            "measure": measure,
            "period": q,
            "amount": txns["amount"].to_numpy(),
            "family": family,
            "acc": acc,
            "day": day,
        }
    )
    base = base[base["rep_idx"] >= 0]
    # splits keyed on the original booking apply to its cancellations too
    orig = txns["original_txn_id"].fillna(txns["txn_id"]).to_numpy()
    base["orig"] = pd.Series(orig, index=txns.index).reindex(base.index).to_numpy()
    sp = splits.assign(rep_idx=rep_index.get_indexer(splits["rep_id"]))
    split_txn = set(sp["txn_id"])
    has_split = base["orig"].isin(split_txn).to_numpy()
    plain = base[~has_split][["rep_idx", "measure", "period", "amount"]]
    sm = base[has_split].merge(
        sp[["txn_id", "rep_idx", "share"]].rename(
            columns={"txn_id": "orig", "rep_idx": "split_rep"}
        ),
        on="orig",
    )
    sm["amount"] = sm["amount"] * sm["share"]
    sm = sm.rename(columns={"rep_idx": "_o", "split_rep": "rep_idx"})[
        ["rep_idx", "measure", "period", "amount"]
    ]
    owner_credit = pd.concat([plain, sm], ignore_index=True)
    # overlays
    ov = assign[assign["role"] == "overlay"]
    ovm = base[["txn_id", "measure", "period", "amount", "family", "day"]].assign(
        account_id=txns["account_id"].reindex(base.index).to_numpy()
    )
    ovm = ovm.merge(
        ov[["account_id", "rep_id", "product_family", "start_date", "end_date"]],
        left_on=["account_id", "family"],
        right_on=["account_id", "product_family"],
    )
    in_range = (ovm["day"].to_numpy() >= _days(ovm["start_date"].to_numpy())) & (
        ovm["end_date"].isna().to_numpy()
        | (
            ovm["day"].to_numpy()
            <= _days(ovm["end_date"].fillna(pd.Timestamp("2262-01-01")).to_numpy())
        )
    )
    ovm = ovm[in_range]
    ov_credit = pd.DataFrame(
        {
            "rep_idx": rep_index.get_indexer(ovm["rep_id"]),
            "measure": ovm["measure"].to_numpy(),
            "period": ovm["period"].to_numpy(),
            "amount": ovm["amount"].to_numpy(),
        }
    )
    # manager roll-up of owner new business, to every manager above the rep (as crediting's
    # hierarchy roll-up credits them: a regional manager's quota covers the region's teams)
    mgr_idx = rep_index.get_indexer(reps["manager_id"].fillna(""))
    nb = owner_credit[owner_credit["measure"] == "new_business"]
    above = nb["rep_idx"].to_numpy()
    parts = []
    for _ in range(len(reps)):  # at most one level per rep; ends at the top of the tree
        above = np.where(above >= 0, mgr_idx[np.maximum(above, 0)], -1)
        if not (above >= 0).any():
            break
        parts.append(nb.assign(rep_idx=above)[above >= 0])
    rolled = pd.concat(parts, ignore_index=True) if parts else nb.iloc[:0]
    rolled = rolled[org["role"][rolled["rep_idx"].to_numpy()] == "MANAGER"]
    # SDR meetings
    sdr_ids = set(reps.loc[reps["role"] == "SDR", "rep_id"])
    mt = activities[(activities["kind"] == "meeting") & activities["rep_id"].isin(sdr_ids)]
    mt_credit = pd.DataFrame(
        {
            "rep_idx": rep_index.get_indexer(mt["rep_id"]),
            "measure": "meetings",
            "period": pd.PeriodIndex(mt["date"], freq="Q")
            .astype(str)
            .str.replace("Q", "-Q")
            .to_numpy(),
            "amount": 1.0,
        }
    )
    # owner credit for managers covering a vacancy counts as their own owner credit (not roll-up)
    credit = pd.concat(
        [
            owner_credit.assign(source="owner"),
            ov_credit.assign(source="overlay"),
            rolled.assign(source="rollup"),
            mt_credit.assign(source="sdr"),
        ],
        ignore_index=True,
    )
    out = credit.groupby(["rep_idx", "measure", "period"], as_index=False)["amount"].sum()
    return out


def _quarters(
    start: pd.Timestamp, end: pd.Timestamp, extend_to_year_end: bool = True
) -> pd.PeriodIndex:
    last = pd.Timestamp(year=end.year, month=12, day=31) if extend_to_year_end else end
    return pd.period_range(start, last, freq="Q")


def _quotas(
    org: dict,
    accounts: pd.DataFrame,
    assign: pd.DataFrame,
    credit: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Quarterly quotas: expected credit of an average rep in the seat, +5%, prorated, ramped."""
    reps = org["reps"]
    role = org["role"]
    n = len(reps)
    qs = _quarters(start, end)
    labels = qs.astype(str).str.replace("Q", "-Q").to_numpy()
    q_start = _days(qs.start_time.to_numpy().astype("datetime64[D]"))
    q_end = _days(qs.end_time.to_numpy().astype("datetime64[D]"))
    # territory expectation: realised credit divided by the rep's true skill-related
    # multipliers, i.e. what an average rep would have booked in the seat.
    skill_mult = (
        org["win_rate"] / 0.28 * org["activity"] * org["penetration"] * (1.0 - org["discount"])
    )
    c = credit.copy()
    c["rep_role"] = role[c["rep_idx"].to_numpy()]
    c["adj"] = c["amount"] / np.where(
        role[c["rep_idx"].to_numpy()] == "MANAGER", 1.0, skill_mult[c["rep_idx"].to_numpy()]
    )
    # expectation per rep-measure: mean adjusted quarterly credit, seasonal by quarter-of-year
    q_of = pd.Series(c["period"].str[-1].astype(int))
    c["qoy"] = q_of.to_numpy()
    rep_mean = c.groupby(["rep_idx", "measure"])["adj"].mean()
    season_q = SEASONALITY.reshape(4, 3).mean(axis=1)
    hire, endd = org["hire_day"], org["end_day"]
    rm = pd.DataFrame(
        [(i, m) for i in range(n) for m in QUOTA_MEASURES[role[i]]], columns=["rep_idx", "measure"]
    )
    fallback = rep_mean.groupby(level="measure").median()
    base = rep_mean.reindex(pd.MultiIndex.from_frame(rm)).to_numpy()
    base = np.where(np.isnan(base), fallback.reindex(rm["measure"]).fillna(0.0).to_numpy(), base)
    base = np.maximum(base, 0.0) * 1.05 * np.exp(rng.normal(0, 0.08, len(rm)))
    ri = rm["rep_idx"].to_numpy()
    a = np.maximum(q_start[None, :], hire[ri, None])
    b = np.where(endd[ri, None] < 0, q_end[None, :], np.minimum(q_end[None, :], endd[ri, None]))
    frac = (b - a + 1) / (q_end - q_start + 1)[None, :]
    tenure_m = (q_start[None, :] - hire[ri, None]) / 30.44
    ramp = np.where(
        (role[ri] == "MANAGER")[:, None],
        1.0,
        np.clip((tenure_m + 1.5) / org["ramp"][ri, None], 0.25, 1.0),
    )
    qoy = np.array([int(x[-1]) for x in labels])
    amt = base[:, None] * (season_q[qoy - 1] / season_q.mean())[None, :] * frac * ramp
    meetings = (rm["measure"].to_numpy() == "meetings")[:, None]
    amt = np.where(meetings, np.round(amt, 0), np.round(amt, -2))
    amt = np.maximum(amt, np.where(meetings, 1.0, 100.0))
    valid = b >= a
    r_i, q_i = np.nonzero(valid)
    return pd.DataFrame(
        {
            "rep_id": reps["rep_id"].to_numpy()[ri[r_i]],
            "period": labels[q_i],
            "measure": rm["measure"].to_numpy()[r_i],
            "amount": amt[r_i, q_i].astype(float),
        }
    )


def make_disputes(
    payments: pd.DataFrame,
    errors: pd.DataFrame,
    end: pd.Timestamp | dt.date | str,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Disputes raised against payments: a background rate plus most planted underpayments.

    Parameters
    ----------
    payments : DataFrame
        Payments (``rep_id, period, amount, paid_date``; currency).
    errors : DataFrame
        Planted payment errors (``rep_id, period, error, correct_amount,
        paid_amount``; currency); 80% of the ``underpaid_flat`` ones raise a
        ``calculation`` dispute for the missing amount.
    end : date
        Last day of the data: disputes opened later are dropped, later
        resolutions leave the dispute open.
    rng : numpy.random.Generator
        Random stream (:data:`DISPUTE_STREAM` of the company's seed).

    Returns
    -------
    DataFrame
        The ``disputes`` table (amounts in currency).
    """
    end = pd.Timestamp(end).normalize()
    paid = payments.drop_duplicates(["rep_id", "period"])
    n_bg = rng.binomial(len(paid), 0.04)
    bg = paid.iloc[np.sort(rng.choice(len(paid), size=n_bg, replace=False))]
    cats = np.array(["crediting", "split", "quota", "calculation", "timing", "other"])
    bg_cat = rng.choice(cats, size=n_bg, p=[0.35, 0.15, 0.15, 0.15, 0.1, 0.1])
    bg_amt = np.round(np.abs(bg["amount"].to_numpy()) * rng.uniform(0.02, 0.2, n_bg), 2)
    er = errors[errors["error"] == "underpaid_flat"]
    er = er[rng.random(len(er)) < 0.8]
    first_paid = paid.set_index(["rep_id", "period"])["paid_date"]
    er_paid = first_paid.reindex(pd.MultiIndex.from_frame(er[["rep_id", "period"]])).to_numpy()
    rows = pd.DataFrame(
        {
            "rep_id": np.r_[bg["rep_id"].to_numpy(), er["rep_id"].to_numpy()],
            "period": np.r_[bg["period"].to_numpy(), er["period"].to_numpy()],
            "category": np.r_[bg_cat, np.full(len(er), "calculation")].astype(object),
            "amount": np.r_[bg_amt, (er["correct_amount"] - er["paid_amount"]).round(2).to_numpy()],
            "paid_date": np.r_[
                bg["paid_date"].to_numpy().astype("datetime64[ns]"),
                er_paid.astype("datetime64[ns]"),
            ],
        }
    )
    end_d = int(_days(np.datetime64(end.date())))
    opened = _days(rows["paid_date"].to_numpy()) + rng.integers(1, 45, len(rows))
    rows = rows[opened <= end_d].copy()
    opened = opened[opened <= end_d]
    res_days = np.ceil(rng.exponential(21, len(rows))).astype(np.int64) + 2
    resolved = opened + res_days
    open_ = resolved > end_d
    status = np.where(open_, "open", np.where(rng.random(len(rows)) < 0.6, "resolved", "rejected"))
    status = np.where((rows["category"].to_numpy() == "calculation") & ~open_, "resolved", status)
    res_amt = np.where(
        status == "resolved", rows["amount"].to_numpy(), np.where(status == "rejected", 0.0, np.nan)
    )
    out = (
        pd.DataFrame(
            {
                "rep_id": rows["rep_id"].to_numpy(),
                "period": rows["period"].to_numpy(),
                "category": rows["category"].to_numpy(),
                "amount": rows["amount"].to_numpy(),
                "opened_date": _dates(opened),
                "resolved_date": pd.Series(_dates(np.where(open_, 0, resolved)))
                .where(~open_)
                .to_numpy(),
                "status": status.astype(object),
                "resolution_amount": res_amt,
            }
        )
        .sort_values(["opened_date", "rep_id"], kind="stable")
        .reset_index(drop=True)
    )
    out.insert(0, "dispute_id", _ids("D", len(out)))
    return out
