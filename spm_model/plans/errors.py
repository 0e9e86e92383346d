"""Plan validation errors: every problem with its file, YAML line and field path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from spm_model.errors import SpmError


@dataclass(frozen=True)
class PlanProblem:
    """One problem found in a plan specification.

    Parameters
    ----------
    source : str
        Plan file (or ``"<dict>"`` for a plan built from a mapping).
    line : int or None
        1-based YAML line of the offending key or list item, when known.
    field : str
        Dotted field path, e.g. ``components[0].tiers[1].rate``.
    message : str
        What is wrong, in words a plan author can act on.
    """

    source: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.source + (f", line {self.line}" if self.line is not None else "")
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class PlanError(SpmError):
    """A plan specification is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[PlanProblem] | PlanProblem | str):
        if isinstance(problems, str):
            problems = [PlanProblem("<plan>", None, "", problems)]
        elif isinstance(problems, PlanProblem):
            problems = [problems]
        self.problems: list[PlanProblem] = list(problems)
        lines = [f"invalid plan: {len(self.problems)} problem(s) found:"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


def format_path(path: Sequence[str | int]) -> str:
    """Render a field path tuple as ``a.b[2].c``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
