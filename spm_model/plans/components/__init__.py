"""Plan components, registered by ``type:`` name (see :data:`COMPONENT_TYPES`)."""

from spm_model.plans.components.base import (
    COMPONENT_TYPES,
    ArrayInputs,
    Component,
    ComponentResult,
    Deal,
    Gate,
    PeriodInputs,
    Step,
    component_from_dict,
    register_component,
)
from spm_model.plans.components.commission import Commission, Tier
from spm_model.plans.components.curve import CurvePoint, PayoutCurve
from spm_model.plans.components.matrix import Matrix
from spm_model.plans.components.mbo import Mbo, Objective
from spm_model.plans.components.multiplier import Band, Multiplier
from spm_model.plans.components.spif import Spif, SpifFilter

__all__ = [
    "COMPONENT_TYPES",
    "ArrayInputs",
    "Band",
    "Commission",
    "Component",
    "ComponentResult",
    "CurvePoint",
    "Deal",
    "Gate",
    "Matrix",
    "Mbo",
    "Multiplier",
    "Objective",
    "PayoutCurve",
    "PeriodInputs",
    "Spif",
    "SpifFilter",
    "Step",
    "Tier",
    "component_from_dict",
    "register_component",
]
