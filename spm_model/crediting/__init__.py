"""Crediting: transactions to credited amounts per rep, measure and period, with lineage.

Middle layer: imports only :mod:`spm_model.data` (and the error types). See
:mod:`spm_model.crediting.engine` for the rules and their order.
"""

from spm_model.crediting.engine import DIRECT_RULES, PRIMARY_RULES, RULES, credit_transactions
from spm_model.crediting.policy import ClawbackPolicy
from spm_model.crediting.result import CONSERVATION_STATUSES, CreditingResult

__all__ = [
    "CONSERVATION_STATUSES",
    "DIRECT_RULES",
    "PRIMARY_RULES",
    "RULES",
    "ClawbackPolicy",
    "CreditingResult",
    "credit_transactions",
]
