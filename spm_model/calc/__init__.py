"""Exact calculation: statements, explanations, outputs, historical replay and reconciliation.

Middle layer: imports only :mod:`spm_model.data`, :mod:`spm_model.plans` and
(as the brief's flow puts calc right after it) the plain-DataFrame output of
:mod:`spm_model.crediting`.
"""

from spm_model.calc.asof import Estimate, WhatIfDeal, as_of, as_of_many, estimate, payable, what_if
from spm_model.calc.credit import clawback_policy, credit_dataset, rep_clawback_policies
from spm_model.calc.engine import CalcResult, calculate, calculate_many
from spm_model.calc.inputs import CalcInputs, annual_target_incentives, build_inputs

__all__ = [
    "CalcInputs",
    "CalcResult",
    "Estimate",
    "WhatIfDeal",
    "annual_target_incentives",
    "as_of",
    "as_of_many",
    "build_inputs",
    "calculate",
    "calculate_many",
    "clawback_policy",
    "credit_dataset",
    "estimate",
    "payable",
    "rep_clawback_policies",
    "what_if",
]
