"""Safe YAML reading with positions: every value keeps the line and column it came from.

Only plain YAML is accepted: mappings, sequences, strings, numbers, booleans and
null. Any other tag (`!!python/object`, custom `!tags`) is an error, so nothing
is ever constructed or executed. Files over a size limit, and documents whose
aliases would expand past a node limit (a "billion laughs" bomb), are refused
before anything is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:  # libyaml is about 5x faster; PyPI's PyYAML wheels include it
    from yaml import CSafeLoader as Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as Loader  # type: ignore[assignment]

MAX_BYTES = 5 * 1024 * 1024
MAX_NODES = 200_000

_T = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_T + "str", _T + "int", _T + "float", _T + "bool", _T + "null"}
_AS_TEXT = {_T + "timestamp", _T + "binary"}  # dates stay the text they were written as
_COLLECTIONS = {_T + "seq", _T + "map"}

Path_ = tuple[Any, ...]


@dataclass(frozen=True)
class YamlProblem(Exception):
    line: int    # 1-based
    column: int  # 1-based
    message: str


@dataclass
class Located:
    """A plain Python value plus the position of every node and mapping key in it."""

    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path_) -> tuple[int, int]:
        """The position of the deepest node on `path` that exists."""
        for cut in range(len(path), -1, -1):
            pos = self.positions.get(tuple(path[:cut]))
            if pos is not None:
                return pos
        return (1, 1)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def read_text(path: Path) -> str:
    """The file as text; YamlProblem when it is too large or not UTF-8."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise YamlProblem(1, 1, f"file is {size / 1e6:.1f} MB, over the {MAX_BYTES // 2**20} MiB "
                                "limit; split it into one file per topic")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise YamlProblem(line, col, f"not UTF-8 text (byte 0x{raw[e.start]:02x}); "
                                     "save the file as UTF-8") from None
    return text.removeprefix("\ufeff")


def parse(text: str) -> Located:
    """Parse one YAML document into plain data with positions. Raises YamlProblem."""
    loader = Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = e.problem or e.context or "invalid YAML"
        raise YamlProblem(line, col, f"not valid YAML: {what}") from None
    except yaml.YAMLError as e:
        raise YamlProblem(1, 1, f"not valid YAML: {e}") from None
    finally:
        loader.dispose()
    if node is None:
        raise YamlProblem(1, 1, "file is empty; a question file is a mapping with "
                                "topic, title and questions")
    _check_size(node)
    located = Located(data=None)
    located.data = _build(node, (), located, loader)
    return located


def _check_size(root: yaml.Node) -> None:
    """Refuse alias bombs and recursive aliases before building anything."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise YamlProblem(*_mark(node), "recursive alias: a node contains itself")
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child)
                if total > MAX_NODES:
                    break
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k) + size(v)
                if total > MAX_NODES:
                    break
        active.discard(key)
        sizes[key] = total
        if total > MAX_NODES:
            raise YamlProblem(*_mark(node), f"aliases expand past {MAX_NODES:,} nodes; "
                                            "write the values out instead of nesting aliases")
        return total

    size(root)


def _build(node: yaml.Node, path: Path_, out: Located, loader: Any) -> Any:
    out.positions[path] = _mark(node)
    tag = node.tag
    if isinstance(node, yaml.ScalarNode):
        if tag in _AS_TEXT:
            return node.value
        if tag not in _SCALAR_TAGS:
            raise YamlProblem(*_mark(node), f"tag {tag!r} is not allowed; only plain YAML "
                                            "values (text, numbers, true/false, lists, maps)")
        return loader.construct_object(node, deep=True)
    if tag not in _COLLECTIONS:
        raise YamlProblem(*_mark(node), f"tag {tag!r} is not allowed; only plain YAML values")
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, (*path, i), out, loader) for i, child in enumerate(node.value)]
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        if key_node.tag == _T + "merge":
            raise YamlProblem(*_mark(key_node), "merge keys (<<) are not supported; "
                                                "write the fields out")
        key = _build(key_node, (*path, "\0key"), out, loader)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise YamlProblem(*_mark(key_node), "a mapping key must be plain text")
        if key in result:
            first = out.key_positions[(*path, key)]
            raise YamlProblem(*_mark(key_node), f"duplicate key {key!r} (first at line "
                                                f"{first[0]})")
        out.key_positions[(*path, key)] = _mark(key_node)
        result[key] = _build(value_node, (*path, key), out, loader)
    out.positions.pop((*path, "\0key"), None)
    return result
