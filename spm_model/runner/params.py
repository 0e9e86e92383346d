"""Notebook parameters: what a notebook declares, and checking values against it.

A notebook declares its parameters in the one cell tagged ``parameters``
(papermill's convention). :func:`notebook_parameters` reads that cell with
:func:`papermill.inspect_notebook` and infers each parameter's type from its
annotation or, failing that, from its default value (``seed = 7`` is an int,
``quick = False`` a bool, ``plan_paths = ["a.yaml"]`` a list). A default of
``None`` accepts any value.

:func:`check_parameters` is called before every run: unknown names and values
of the wrong type are reported together, in one :class:`~spm_model.errors.SpmConfigError`,
before any kernel starts.

Parameters whose names end in ``_path``, ``_paths`` or ``_dir`` are paths. The
notebooks' defaults are relative to the notebook's own folder (the kernel runs
there, as in JupyterLab); relative paths given on the command line or in a
batch file are relative to the current directory, so the runner makes them
absolute (:func:`resolve_path_parameters`).
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from spm_model.errors import SpmConfigError

PATH_SUFFIXES = ("_path", "_paths", "_dir")

_TYPE_NAMES = {
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "list": list,
    "dict": dict,
    "tuple": list,
}


@dataclass(frozen=True)
class ParamSpec:
    """One declared notebook parameter.

    Parameters
    ----------
    name : str
        Variable name in the ``parameters`` cell.
    type : type or None
        Expected Python type (``None``: any value is accepted).
    default : Any
        Default value as written in the cell (evaluated when it is a literal;
        otherwise the expression's source text).
    help : str
        The comment written after the assignment, if any.
    computed : bool
        The default is an expression (``os.environ.get(...)``), evaluated only
        when the notebook runs; ``default`` then holds its source text.
    """

    name: str
    type: type | None
    default: Any
    help: str = ""
    computed: bool = False

    @property
    def default_text(self) -> str:
        """The default as a reader should see it: a literal's repr, an expression as written."""
        return str(self.default) if self.computed else repr(self.default)

    @property
    def type_name(self) -> str:
        """Name of the expected type (``"any"`` when unconstrained)."""
        return self.type.__name__ if self.type is not None else "any"


def _literal(text: str) -> tuple[Any, bool]:
    """Evaluate a literal: ``(value, False)``; an expression: ``(text, True)``."""
    try:
        return ast.literal_eval(text), False
    except (ValueError, SyntaxError):
        return text, True  # an expression: keep its source text


def notebook_parameters(notebook: str | os.PathLike[str]) -> dict[str, ParamSpec]:
    """Parameters declared by ``notebook`` in its cell tagged ``parameters``.

    Parameters
    ----------
    notebook : path
        The ``.ipynb`` file.

    Returns
    -------
    dict of str to ParamSpec
        In declaration order; empty when the notebook has no parameters cell.

    Raises
    ------
    SpmConfigError
        The notebook does not exist or cannot be read.
    """
    import papermill

    path = Path(notebook)
    if not path.is_file():
        raise SpmConfigError(f"{path}: no such notebook")
    try:
        raw = papermill.inspect_notebook(str(path))
    except Exception as exc:
        raise SpmConfigError(f"{path}: cannot read notebook parameters: {exc}") from exc
    specs: dict[str, ParamSpec] = {}
    for name, info in raw.items():
        default, computed = _literal(str(info.get("default")))
        declared = str(info.get("inferred_type_name") or "None")
        typ: type | None = _TYPE_NAMES.get(declared.split("[")[0].strip())
        if typ is None and declared in ("None", "") and not computed:
            typ = None if default is None else type(default)
            if typ is tuple:
                typ = list
            if typ not in (int, float, str, bool, list, dict):
                typ = None
        specs[name] = ParamSpec(
            name=name,
            type=typ,
            default=default,
            help=str(info.get("help") or ""),
            computed=computed,
        )
    return specs


def parse_cli_value(text: str) -> Any:
    """Turn a command-line value into a Python value (YAML rules).

    ``"7"`` becomes 7, ``"0.5"`` 0.5, ``"true"`` True, ``"[a, b]"`` a list and
    ``"null"`` None; anything else stays a string. Values are later checked and
    converted against the notebook's declared types, so ``-p region 2024``
    still reaches a ``str`` parameter as ``"2024"``.
    """
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, (int, float, bool, list, dict)) or value is None:
        return value
    return text


def _convert(value: Any, spec: ParamSpec) -> tuple[Any, str | None]:
    """Value converted to ``spec.type``, or an error message."""
    typ = spec.type
    if typ is None or value is None:
        return value, None
    if typ is bool:
        if isinstance(value, bool):
            return value, None
        if isinstance(value, str) and value.strip().lower() in (
            "true",
            "yes",
            "1",
            "false",
            "no",
            "0",
        ):
            return value.strip().lower() in ("true", "yes", "1"), None
        if isinstance(value, int) and value in (0, 1):
            return bool(value), None
    elif typ is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value, None
        if isinstance(value, float) and value.is_integer():
            return int(value), None
        if isinstance(value, str):
            try:
                return int(value.strip()), None
            except ValueError:
                pass
    elif typ is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value), None
        if isinstance(value, str):
            try:
                return float(value.strip()), None
            except ValueError:
                pass
    elif typ is str:
        if isinstance(value, str):
            return value, None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value), None
    elif typ is list:
        if isinstance(value, (list, tuple)):
            return list(value), None
        if isinstance(value, str):
            parsed = parse_cli_value(value)
            if isinstance(parsed, list):
                return parsed, None
            return [value], None  # a single item for a list parameter
    elif typ is dict:
        if isinstance(value, dict):
            return value, None
        if isinstance(value, str) and isinstance(parse_cli_value(value), dict):
            return parse_cli_value(value), None
    return value, (
        f"parameter {spec.name!r} expects {spec.type_name} (default {spec.default_text}), "
        f"got {type(value).__name__} {value!r}"
    )


def check_parameters(
    notebook: str | os.PathLike[str],
    parameters: dict[str, Any] | None,
    specs: dict[str, ParamSpec] | None = None,
) -> dict[str, Any]:
    """Check ``parameters`` against the notebook's declared parameters.

    Parameters
    ----------
    notebook : path
        The ``.ipynb`` file (used to read the declarations and in messages).
    parameters : dict
        Values to inject. Strings from the command line are converted to the
        declared type where that is unambiguous (``"7"`` for an int).
    specs : dict of str to ParamSpec, optional
        Declarations already read with :func:`notebook_parameters`.

    Returns
    -------
    dict
        The parameters converted to the declared types.

    Raises
    ------
    SpmConfigError
        Listing every unknown name (with the declared names) and every value of
        the wrong type, all at once.
    """
    specs = notebook_parameters(notebook) if specs is None else specs
    parameters = dict(parameters or {})
    problems: list[str] = []
    out: dict[str, Any] = {}
    for name, value in parameters.items():
        spec = specs.get(name)
        if spec is None:
            import difflib

            close = difflib.get_close_matches(name, list(specs), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"unknown parameter {name!r}{hint}")
            continue
        converted, error = _convert(value, spec)
        if error:
            problems.append(error)
        else:
            out[name] = converted
    if problems:
        declared = (
            ", ".join(f"{s.name}: {s.type_name} = {s.default_text}" for s in specs.values())
            or "none"
        )
        lines = [f"{notebook}: {len(problems)} parameter problem(s):"]
        lines += [f"  - {p}" for p in problems]
        lines.append(f"  declared parameters: {declared}")
        raise SpmConfigError("\n".join(lines))
    return out


def is_path_parameter(name: str) -> bool:
    """Whether ``name`` follows the path naming convention (``*_path``, ``*_paths``, ``*_dir``)."""
    return name.endswith(PATH_SUFFIXES)


def resolve_path_parameters(
    parameters: dict[str, Any], base: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Make relative path parameters absolute against ``base`` (default: the current directory).

    Only parameters named ``*_path``, ``*_paths`` or ``*_dir`` are touched; URLs
    (``s3://...``) and absolute paths are left as they are.
    """
    root = Path(base) if base is not None else Path.cwd()

    def fix(v: Any) -> Any:
        if isinstance(v, str) and v and "://" not in v and not os.path.isabs(v):
            return str((root / v).resolve())
        return v

    out = {}
    for name, value in parameters.items():
        if is_path_parameter(name):
            out[name] = [fix(v) for v in value] if isinstance(value, list) else fix(value)
        else:
            out[name] = value
    return out
