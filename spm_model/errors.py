"""Exception types shared by every layer of spm_model.

Every error carries *where* (file, sheet, row, column or YAML line, field) and
*what*, so the CLI can print a readable message and exit non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found in input data or configuration.

    Parameters
    ----------
    source : str
        File, sheet or database the problem was found in.
    table : str or None
        Canonical table name (``"reps"``, ``"transactions"``...), if any.
    row : int or None
        Row number as a person sees it in the source: the header is row 1, the
        first data row is row 2 (for YAML files: the line number); ``None`` when
        the problem concerns a whole table or file.
    column : str or None
        Column or field name.
    message : str
        What is wrong, in words a user can act on.
    """

    source: str
    table: str | None
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.source]
        if self.table and self.table not in self.source:
            where.append(f"table {self.table}")
        if self.row is not None:
            line = self.source.endswith((".yaml", ".yml"))
            where.append(f"{'line' if line else 'row'} {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.message}"


class SpmError(Exception):
    """Base class of every error raised by spm_model."""


class SpmDataError(SpmError):
    """Input data failed validation; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem("<data>", None, None, None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        lines = [f"{len(self.problems)} problem(s) found:"]
        lines += [f"  - {p}" for p in self.problems[:200]]
        if len(self.problems) > 200:
            lines.append(f"  ... and {len(self.problems) - 200} more")
        super().__init__("\n".join(lines))


class SpmConfigError(SpmError):
    """A configuration value (CLI option, notebook parameter, method setting) is invalid."""
