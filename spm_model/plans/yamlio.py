"""YAML reading that remembers the line of every mapping key and list item.

:func:`load_yaml_with_lines` returns the plain data (dicts, lists, scalars) and a
:class:`LineMap` from field paths (``("components", 2, "tiers", 0, "rate")``) to
1-based line numbers, so validation errors can point at the exact YAML line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

Path = tuple[str | int, ...]


class LineMap:
    """Line numbers of the keys and items of a YAML document.

    Parameters
    ----------
    lines : dict
        Maps a path tuple to the 1-based line where that key or item starts.
    """

    def __init__(self, lines: dict[Path, int] | None = None):
        self.lines: dict[Path, int] = dict(lines or {})

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """Line of ``path``, or of its longest known prefix; ``None`` if nothing is known."""
        p = tuple(path)
        while True:
            if p in self.lines:
                return self.lines[p]
            if not p:
                return None
            p = p[:-1]


def _construct(loader: yaml.SafeLoader, node: yaml.Node, path: Path, lines: dict[Path, int]) -> Any:
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            sub = (*path, key)
            lines[sub] = key_node.start_mark.line + 1
            out[key] = _construct(loader, value_node, sub, lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            sub = (*path, i)
            lines[sub] = item.start_mark.line + 1
            items.append(_construct(loader, item, sub, lines))
        return items
    return loader.construct_object(node, deep=True)


def load_yaml_with_lines(text: str) -> tuple[Any, LineMap]:
    """Parse one YAML document, recording the line of every key and list item.

    Parameters
    ----------
    text : str
        YAML source.

    Returns
    -------
    data : Any
        The document as plain Python objects (safe types only).
    lines : LineMap
        Line numbers by field path.

    Raises
    ------
    yaml.YAMLError
        If the text is not valid YAML (the error carries its own line).
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Path, int] = {}
        if node is None:
            return None, LineMap(lines)
        lines[()] = node.start_mark.line + 1
        return _construct(loader, node, (), lines), LineMap(lines)
    finally:
        loader.dispose()
