"""Canonical tables of spm_model: one schema per table, documented column by column.

The schemas are plain declarative objects (:class:`Column`, :class:`TableSchema`)
read by the loaders, the validator (:mod:`spm_model.data.validate`) and the
documentation generator (``docs/data-model.md`` is rendered from them by
:func:`render_markdown`).

Conventions
-----------
* Money columns (``kind="money"``) are amounts in the dataset currency
  (``Dataset.meta.currency``, an ISO 4217 code) with at most 2 decimals.
* Dates are ISO dates (``YYYY-MM-DD``).
* Rates and shares are fractions (0.25 = 25%).
* Period labels follow :mod:`spm_model.data.periods`: ``2025`` (fiscal year),
  ``2025-Q3`` (fiscal quarter) or ``2025-07`` (calendar month).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["str", "int", "float", "money", "date", "period", "bool"]


@dataclass(frozen=True)
class ForeignKey:
    """Reference from a column to the key column of another table."""

    table: str
    column: str


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    Parameters
    ----------
    name : str
        Column name as it appears in files.
    kind : {"str", "int", "float", "money", "date", "period", "bool"}
        Logical type; ``money`` is a float amount in the dataset currency.
    required : bool
        Whether the column must be present in the source.
    nullable : bool
        Whether empty values are allowed.
    unit : str
        Unit of the values (``"USD"``-style currency, ``"fraction"``, ``"hours/year"``...).
    description : str
        Meaning of the column.
    allowed : tuple of str, optional
        Allowed values for categorical columns.
    min_value : float, optional
        Smallest allowed value (inclusive) for numeric columns.
    max_value : float, optional
        Largest allowed value (inclusive) for numeric columns.
    references : ForeignKey, optional
        Table and column this column refers to.
    """

    name: str
    kind: ColumnKind
    required: bool = True
    nullable: bool = False
    unit: str = ""
    description: str = ""
    allowed: tuple[str, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None
    references: ForeignKey | None = None


@dataclass(frozen=True)
class TableSchema:
    """Schema of one canonical table.

    Parameters
    ----------
    name : str
        Table name (file stem, sheet name or database table).
    description : str
        What one row means.
    columns : tuple of Column
        Columns in canonical order.
    key : tuple of str
        Columns whose combination is unique.
    date_ranges : tuple of (str, str)
        Pairs (start column, end column) where end must not precede start.
    required_table : bool
        Whether a dataset must contain the table.
    needs_rows : bool
        Whether the table must have at least one row (the core of a company:
        reps, accounts, assignments, products, transactions). Quotas,
        opportunities and activities may be present but empty (a company
        without a CRM export is still paid).
    """

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    date_ranges: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    required_table: bool = True
    needs_rows: bool = True

    @property
    def column_names(self) -> list[str]:
        """Names of all columns, in canonical order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """Return the column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _fk(table: str, column: str) -> ForeignKey:
    return ForeignKey(table, column)


ROLES = ("AE", "SDR", "AM", "CHANNEL", "FIELD", "MANAGER", "OVERLAY")
MEASURES = ("new_business", "renewal", "services")

REPS = TableSchema(
    name="reps",
    description="One row per sales person (reps, specialists and managers).",
    key=("rep_id",),
    date_ranges=(("hire_date", "end_date"),),
    columns=(
        Column("rep_id", "str", description="Unique rep identifier."),
        Column("name", "str", description="Display name."),
        Column("role", "str", allowed=ROLES, description="Sales role; selects the default plan."),
        Column("region", "str", description="Sales region the rep belongs to."),
        Column("team", "str", description="Team (first-line manager's unit)."),
        Column(
            "manager_id",
            "str",
            nullable=True,
            references=_fk("reps", "rep_id"),
            description="rep_id of the rep's manager; empty for the top of the hierarchy.",
        ),
        Column("hire_date", "date", description="First day in the sales organisation."),
        Column("end_date", "date", nullable=True, description="Last day; empty if still active."),
        Column("plan_id", "str", nullable=True, description="Compensation plan id the rep is on."),
        Column(
            "base_salary",
            "money",
            min_value=0,
            unit="currency/year",
            description="Annual base salary.",
        ),
        Column(
            "ote",
            "money",
            min_value=0,
            unit="currency/year",
            description="On-target earnings: base plus target incentive at 100% attainment.",
        ),
        Column(
            "fte",
            "float",
            min_value=0,
            max_value=1,
            unit="fraction",
            description="Full-time equivalent (1.0 = full time).",
        ),
        Column(
            "home_lat",
            "float",
            nullable=True,
            min_value=-90,
            max_value=90,
            unit="degrees",
            description="Home/base latitude.",
        ),
        Column(
            "home_lon",
            "float",
            nullable=True,
            min_value=-180,
            max_value=180,
            unit="degrees",
            description="Home/base longitude.",
        ),
    ),
)

ACCOUNTS = TableSchema(
    name="accounts",
    description="One row per customer or prospect account.",
    key=("account_id",),
    columns=(
        Column("account_id", "str", description="Unique account identifier."),
        Column("name", "str", description="Account name."),
        Column(
            "parent_account_id",
            "str",
            nullable=True,
            references=_fk("accounts", "account_id"),
            description="Parent account in a corporate family; empty for a top-level account.",
        ),
        Column(
            "segment",
            "str",
            allowed=("enterprise", "mid_market", "smb"),
            description="Customer segment.",
        ),
        Column("industry", "str", description="Industry label."),
        Column(
            "region",
            "str",
            required=False,
            nullable=True,
            description="Sales region the account lies in.",
        ),
        Column(
            "lat",
            "float",
            nullable=True,
            min_value=-90,
            max_value=90,
            unit="degrees",
            description="Latitude.",
        ),
        Column(
            "lon",
            "float",
            nullable=True,
            min_value=-180,
            max_value=180,
            unit="degrees",
            description="Longitude.",
        ),
        Column(
            "potential",
            "money",
            min_value=0,
            unit="currency/year",
            description="Estimated annual sales potential.",
        ),
        Column(
            "workload",
            "float",
            min_value=0,
            unit="hours/year",
            description="Selling effort needed to cover the account.",
        ),
    ),
)

ASSIGNMENTS = TableSchema(
    name="assignments",
    description=(
        "Effective-dated territory ownership: which rep covers which account, in which role."
    ),
    key=("account_id", "rep_id", "role", "start_date"),
    date_ranges=(("start_date", "end_date"),),
    columns=(
        Column(
            "account_id",
            "str",
            references=_fk("accounts", "account_id"),
            description="Account covered.",
        ),
        Column("rep_id", "str", references=_fk("reps", "rep_id"), description="Rep covering it."),
        Column(
            "role",
            "str",
            allowed=("owner", "overlay"),
            description="owner (one at a time per account) or overlay specialist.",
        ),
        Column(
            "product_family",
            "str",
            required=False,
            nullable=True,
            description=(
                "For overlays: product family the specialist is credited on; empty means all."
            ),
        ),
        Column("start_date", "date", description="First day of the assignment (inclusive)."),
        Column(
            "end_date",
            "date",
            nullable=True,
            description="Last day (inclusive); empty if open-ended.",
        ),
    ),
)

PRODUCTS = TableSchema(
    name="products",
    description="Product catalogue and the plan measure each product credits.",
    key=("product_id",),
    columns=(
        Column("product_id", "str", description="Unique product identifier."),
        Column("name", "str", description="Product name."),
        Column("family", "str", description="Product family (used by overlay crediting)."),
        Column(
            "measure",
            "str",
            description="Plan measure credited by sales of this product (e.g. new_business).",
        ),
    ),
)

TRANSACTIONS = TableSchema(
    name="transactions",
    description="Bookings, cancellations and adjustments; the input to crediting.",
    key=("txn_id",),
    columns=(
        Column("txn_id", "str", description="Unique transaction identifier."),
        Column("date", "date", description="Booking (or cancellation) date."),
        Column(
            "account_id",
            "str",
            references=_fk("accounts", "account_id"),
            description="Account the sale is for.",
        ),
        Column(
            "product_id",
            "str",
            references=_fk("products", "product_id"),
            description="Product sold.",
        ),
        Column(
            "amount",
            "money",
            unit="currency",
            description="Booking value; negative for cancellations and downward adjustments.",
        ),
        Column(
            "kind",
            "str",
            allowed=("booking", "cancellation", "adjustment"),
            description="Transaction kind.",
        ),
        Column(
            "original_txn_id",
            "str",
            nullable=True,
            references=_fk("transactions", "txn_id"),
            description="For cancellations/adjustments: the booking they refer to.",
        ),
        Column(
            "units",
            "float",
            required=False,
            nullable=True,
            min_value=0,
            unit="units",
            description="Quantity sold (for per-unit SPIFs).",
        ),
        Column(
            "margin",
            "money",
            required=False,
            nullable=True,
            unit="currency",
            description="Gross margin of the deal.",
        ),
        Column(
            "opportunity_id",
            "str",
            required=False,
            nullable=True,
            description="Opportunity that produced the booking.",
        ),
        Column(
            "opportunity_owner_id",
            "str",
            required=False,
            nullable=True,
            references=_fk("reps", "rep_id"),
            description=(
                "Rep who owned the opportunity (informational; crediting uses assignments)."
            ),
        ),
    ),
)

SPLITS = TableSchema(
    name="splits",
    description="Explicit credit splits of a transaction between reps.",
    key=("txn_id", "rep_id"),
    required_table=False,
    columns=(
        Column(
            "txn_id",
            "str",
            references=_fk("transactions", "txn_id"),
            description="Transaction split.",
        ),
        Column(
            "rep_id", "str", references=_fk("reps", "rep_id"), description="Rep receiving a share."
        ),
        Column(
            "share",
            "float",
            min_value=0,
            max_value=1,
            unit="fraction",
            description="Share of the amount credited, at most 1 a row (the rows of one deal may "
            "total more than 1 for overlays).",
        ),
        Column(
            "reason", "str", nullable=True, required=False, description="Why the deal is split."
        ),
    ),
)

CREDIT_EXCEPTIONS = TableSchema(
    name="credit_exceptions",
    description="Approved manual crediting exceptions, applied after all rules.",
    key=("exception_id",),
    required_table=False,
    columns=(
        Column("exception_id", "str", description="Unique exception identifier."),
        Column(
            "txn_id",
            "str",
            references=_fk("transactions", "txn_id"),
            description="Transaction affected.",
        ),
        Column(
            "rep_id",
            "str",
            references=_fk("reps", "rep_id"),
            description="Rep whose credit changes.",
        ),
        Column(
            "amount",
            "money",
            unit="currency",
            description="Credit added (negative to remove credit).",
        ),
        Column("reason", "str", description="Reason for the exception."),
        Column("approved_by", "str", description="Who approved it."),
    ),
)

QUOTAS = TableSchema(
    name="quotas",
    description="Quota per rep, period and measure.",
    key=("rep_id", "period", "measure"),
    columns=(
        Column("rep_id", "str", references=_fk("reps", "rep_id"), description="Rep."),
        Column("period", "period", description="Fiscal period label (2025, 2025-Q3 or 2025-07)."),
        Column("measure", "str", description="Plan measure."),
        Column("amount", "money", min_value=0, unit="currency", description="Quota amount."),
    ),
    needs_rows=False,
)

OPPORTUNITIES = TableSchema(
    name="opportunities",
    description="Sales pipeline: opportunities open, won and lost.",
    key=("opportunity_id",),
    date_ranges=(("created_date", "close_date"),),
    columns=(
        Column("opportunity_id", "str", description="Unique opportunity identifier."),
        Column(
            "account_id", "str", references=_fk("accounts", "account_id"), description="Account."
        ),
        Column("owner_rep_id", "str", references=_fk("reps", "rep_id"), description="Owning rep."),
        Column(
            "product_id",
            "str",
            required=False,
            nullable=True,
            references=_fk("products", "product_id"),
            description="Main product.",
        ),
        Column("created_date", "date", description="Date the opportunity was opened."),
        Column(
            "close_date",
            "date",
            nullable=True,
            description="Actual close date, or expected close date if open.",
        ),
        Column(
            "stage",
            "str",
            description="Sales stage (prospect, qualify, propose, negotiate, closed).",
        ),
        Column(
            "amount",
            "money",
            min_value=0,
            unit="currency",
            description="Expected or won deal value.",
        ),
        Column(
            "probability",
            "float",
            min_value=0,
            max_value=1,
            unit="fraction",
            description="Win probability by stage.",
        ),
        Column("status", "str", allowed=("open", "won", "lost"), description="Outcome."),
    ),
    needs_rows=False,
)

ACTIVITIES = TableSchema(
    name="activities",
    description="Sales activities logged by reps.",
    key=("activity_id",),
    columns=(
        Column("activity_id", "str", description="Unique activity identifier."),
        Column("rep_id", "str", references=_fk("reps", "rep_id"), description="Rep."),
        Column(
            "account_id",
            "str",
            nullable=True,
            references=_fk("accounts", "account_id"),
            description="Account, if any.",
        ),
        Column(
            "opportunity_id",
            "str",
            nullable=True,
            required=False,
            references=_fk("opportunities", "opportunity_id"),
            description="Opportunity, if any. A meeting on an opportunity credits its rep with "
            "sourcing it (the plans' pipeline measure; an SDR's booked meeting).",
        ),
        Column("date", "date", description="Activity date."),
        Column(
            "kind",
            "str",
            allowed=("call", "email", "meeting", "demo"),
            description="Activity kind.",
        ),
    ),
    needs_rows=False,
)

PAYMENTS = TableSchema(
    name="payments",
    description="Incentive amounts actually paid per rep and period.",
    key=("payment_id",),
    required_table=False,
    columns=(
        Column("payment_id", "str", description="Unique payment identifier."),
        Column("rep_id", "str", references=_fk("reps", "rep_id"), description="Rep paid."),
        Column("period", "period", description="Period the payment is for."),
        Column(
            "amount",
            "money",
            unit="currency",
            description="Incentive amount paid (excluding base salary).",
        ),
        Column("paid_date", "date", description="Payment date."),
    ),
)

DISPUTES = TableSchema(
    name="disputes",
    description="Compensation disputes raised by reps.",
    key=("dispute_id",),
    required_table=False,
    date_ranges=(("opened_date", "resolved_date"),),
    columns=(
        Column("dispute_id", "str", description="Unique dispute identifier."),
        Column("rep_id", "str", references=_fk("reps", "rep_id"), description="Rep who raised it."),
        Column("period", "period", description="Period disputed."),
        Column(
            "category", "str", description="crediting, quota, calculation, split, timing, other."
        ),
        Column("amount", "money", min_value=0, unit="currency", description="Amount claimed."),
        Column("opened_date", "date", description="Date raised."),
        Column("resolved_date", "date", nullable=True, description="Date resolved; empty if open."),
        Column("status", "str", allowed=("open", "resolved", "rejected"), description="Status."),
        Column(
            "resolution_amount",
            "money",
            nullable=True,
            required=False,
            unit="currency",
            description="Amount granted.",
        ),
    ),
)

TABLES: dict[str, TableSchema] = {
    t.name: t
    for t in (
        REPS,
        ACCOUNTS,
        ASSIGNMENTS,
        PRODUCTS,
        TRANSACTIONS,
        SPLITS,
        CREDIT_EXCEPTIONS,
        QUOTAS,
        OPPORTUNITIES,
        ACTIVITIES,
        PAYMENTS,
        DISPUTES,
    )
}
"""All canonical tables, in load order."""


def render_markdown() -> str:
    """Render the data model as Markdown (the source of ``docs/data-model.md``)."""
    out = [
        "# spm_model data model",
        "",
        "Generated from `spm_model/data/schema.py` by `spm_model.data.schema.render_markdown()`.",
        "Money is in the dataset currency (`meta.currency`); rates and shares are fractions.",
        "",
    ]
    for t in TABLES.values():
        out += [f"## {t.name}", "", t.description, "", f"Key: `{', '.join(t.key)}`."]
        if not t.required_table:
            out.append("Optional table.")
        out += [
            "",
            "| column | type | unit | nullable | required | meaning |",
            "|---|---|---|---|---|---|",
        ]
        for c in t.columns:
            meaning = c.description
            if c.allowed:
                meaning += f" One of: {', '.join(c.allowed)}."
            if c.references:
                meaning += f" References `{c.references.table}.{c.references.column}`."
            if c.min_value is not None and c.max_value is not None:
                meaning += f" Range {c.min_value:g} to {c.max_value:g}."
            elif c.min_value is not None:
                meaning += f" At least {c.min_value:g}."
            elif c.max_value is not None:
                meaning += f" At most {c.max_value:g}."
            out.append(
                f"| {c.name} | {c.kind} | {c.unit} | {'yes' if c.nullable else 'no'} | "
                f"{'yes' if c.required else 'no'} | {meaning} |"
            )
        out.append("")
    from spm_model.data.synthetic import TRUTH_MARKDOWN  # the generator's planted truth

    out.append(TRUTH_MARKDOWN)
    return "\n".join(out)
