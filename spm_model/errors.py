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
    cause : str or None
        Table whose own problem this one follows from (for example references
        into a table that has no rows); listed under that table's problem as a
        consequence, not as a root cause.
    """

    source: str
    table: str | None
    row: int | None
    column: str | None
    message: str
    cause: str | None = None

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
        super().__init__(_describe(self.problems))


def _describe(problems: list[Problem], limit: int = 200) -> str:
    """Root causes first, each followed by the problems that follow from it (indented)."""
    roots = [p for p in problems if p.cause is None]
    consequences = [p for p in problems if p.cause is not None]
    lines = [f"{len(roots)} problem(s) found:"]
    placed: set[str] = set()
    for p in roots[:limit]:
        lines.append(f"  - {p}")
        if p.table and p.table not in placed:
            placed.add(p.table)
            lines += [f"      {c.message}" for c in consequences if c.cause == p.table]
    if len(roots) > limit:
        lines.append(f"  ... and {len(roots) - limit} more")
    lines += [f"  - {c}" for c in consequences if c.cause not in placed]
    return "\n".join(lines)


class SpmConfigError(SpmError):
    """A configuration value (CLI option, notebook parameter, method setting) is invalid."""


def yaml_hint(error: Exception, text: str = "") -> str:
    """Return a plain-language hint for a YAML syntax error, to add after the parser's message.

    Parameters
    ----------
    error : yaml.YAMLError
        The parser's error (its ``problem`` and ``problem_mark`` are used).
    text : str
        The YAML text, to look at the offending line (tabs, ``key: value: more``).

    Returns
    -------
    str
        One sentence, or ``""`` when nothing more useful than the parser's
        message can be said.
    """
    problem = str(getattr(error, "problem", None) or error)
    mark = getattr(error, "problem_mark", None)
    lines = text.splitlines()
    line = lines[mark.line] if mark is not None and 0 <= mark.line < len(lines) else ""
    if "\t" in problem or "'\\t'" in problem or "\t" in line[: len(line) - len(line.lstrip())]:
        return "the line is indented with a tab: YAML indents with spaces only"
    if "mapping values are not allowed" in problem:
        if line.count(": ") > 1 or (line.rstrip().endswith(":") and ": " in line.strip()):
            return (
                "this line has a second ': ' after its key: put the value in quotes "
                '(name: "A: b")'
            )
        return (
            "check this line's indentation: it is indented more than the line above, "
            "which YAML reads as a continuation of that value (indent siblings equally)"
        )
    if "expected <block end>" in problem or "could not find expected ':'" in problem:
        return (
            "check the indentation: items at the same level need the same number of "
            "spaces, and a list ('- ...') cannot follow a 'key: value' at the same level"
        )
    if "end of stream" in problem or "while scanning a quoted scalar" in str(error):
        return "a quote (\" or ') is opened and never closed"
    if "expected ',' or ']'" in problem or "expected ',' or '}'" in problem:
        return "a bracket ([ or {) is opened and never closed, or a comma is missing"
    return "YAML is sensitive to indentation: use spaces, and indent siblings equally"
