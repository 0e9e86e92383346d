"""Territory alignment: balanced potential and workload, short travel, little disruption.

Build a :class:`TerritoryProblem` from plain DataFrames (or from a Dataset with
:func:`problem_from_dataset`), :func:`solve` it with the exact MIP (HiGHS) or the
scalable LP-based heuristic, read the before/after metrics, map and per-territory
table from the :class:`AlignmentResult`, compare what-if variants side by side,
trace the travel-disruption frontier, design districts from scratch
(:func:`design_districts`), and write the new alignment as effective-dated
``assignments`` rows.
"""

from __future__ import annotations

from spm_model.territory.dataset import problem_from_dataset, solve_dataset
from spm_model.territory.diagnose import (
    AlignmentNotFound,
    Diagnosis,
    InfeasibleAlignment,
    diagnose,
)
from spm_model.territory.districts import DistrictDesign, design_districts
from spm_model.territory.geo import delaunay_edges, haversine_km
from spm_model.territory.instances import generate_instance
from spm_model.territory.metrics import alignment_metrics, compare_alignments, territory_table
from spm_model.territory.output import to_assignments
from spm_model.territory.plot import plot_alignment, plot_before_after
from spm_model.territory.problem import TerritoryProblem
from spm_model.territory.solve import AlignmentResult, solve
from spm_model.territory.whatif import (
    add_territory,
    compare_scenarios,
    lock_units,
    remove_territory,
    tradeoff_frontier,
)

__all__ = [
    "AlignmentNotFound",
    "AlignmentResult",
    "Diagnosis",
    "DistrictDesign",
    "InfeasibleAlignment",
    "TerritoryProblem",
    "add_territory",
    "alignment_metrics",
    "compare_alignments",
    "compare_scenarios",
    "delaunay_edges",
    "design_districts",
    "diagnose",
    "generate_instance",
    "haversine_km",
    "lock_units",
    "plot_alignment",
    "plot_before_after",
    "problem_from_dataset",
    "remove_territory",
    "solve",
    "solve_dataset",
    "territory_table",
    "to_assignments",
    "tradeoff_frontier",
]
