"""Safe, bounded YAML reading with positions: every value keeps the line and column it
came from.

Values are read as editors read them (YAML 1.2 core schema, as yaml-language-server
does): `1e3` is the number 1000.0, `yes`, `no`, `on` and `off` are text, `0777` is
seven hundred and seventy-seven. Only plain YAML is accepted: mappings, sequences,
strings, numbers, booleans and null. Any other tag (`!!python/object`, custom `!tags`)
is an error, so nothing is ever constructed or executed.

The document is built straight from the parser's event stream, without recursion,
and every limit is checked as the events arrive, before any more work is done: the
file's size, the nesting depth, the length of one value, and the number of values
and characters once aliases are expanded (a "billion laughs" bomb, or one long text
aliased a hundred thousand times). A bad value (`!!int abc`, a 5,000-digit number)
is a `YamlProblem` with its line and column, never an exception of another kind.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

try:  # libyaml is about 5x faster; PyPI's PyYAML wheels include it
    from yaml import CSafeLoader as Loader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as Loader  # type: ignore[assignment]

MAX_BYTES = 5 * 1024 * 1024
MAX_NODES = 50_000           # values in one file, aliases expanded (the built-in
                             # bank's largest file has about 1,100)
MAX_CHARS = MAX_BYTES        # characters of text in one file, aliases expanded
MAX_DEPTH = 64               # a question file needs about 6
MAX_SCALAR = 100_000         # characters in one value
MAX_DIGITS = 1000            # digits in one number

_T = "tag:yaml.org,2002:"
_AS_TEXT = {_T + "str", _T + "timestamp", _T + "binary", "!"}  # dates stay text
_KEY = "\0key"

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution)
_NULL = {"", "~", "null", "Null", "NULL"}
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False,
         "FALSE": False}
_INT10 = re.compile(r"[-+]?[0-9]+")
_INT8 = re.compile(r"0o[0-7]+")
_INT16 = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)")

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


def read_text(path: Path) -> str:
    """The file as text; YamlProblem when it is not a regular file, too large or not UTF-8.

    At most MAX_BYTES + 1 bytes are ever read, whatever the file claims its size is,
    and a FIFO or device is refused without being opened for a blocking read.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise YamlProblem(1, 1, "is a directory, not a question file")
        if not stat.S_ISREG(st.st_mode):
            raise YamlProblem(1, 1, "is not a regular file (a FIFO, socket or device); "
                                    "a question file is plain text")
        if st.st_size > MAX_BYTES:
            raise YamlProblem(1, 1, f"file is {st.st_size / 1e6:.1f} MB, over the "
                                    f"{MAX_BYTES // 2**20} MiB limit; split it into one "
                                    "file per topic")
        with os.fdopen(os.dup(fd), "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:
        raise YamlProblem(1, 1, f"file is over the {MAX_BYTES // 2**20} MiB limit; split "
                                "it into one file per topic")
    wide = _wide_encoding(raw)
    if wide:
        raise YamlProblem(1, 1, f"the file is {wide} text; save it as UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise YamlProblem(line, col, f"not UTF-8 text (byte 0x{raw[e.start]:02x}); "
                                     "save the file as UTF-8") from None
    return text.removeprefix("\ufeff")


def _wide_encoding(raw: bytes) -> str | None:
    """'UTF-16' or 'UTF-32' when the bytes start with that BOM or look like it (every
    other byte zero), else None."""
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    head = raw[:64]
    if len(head) >= 8 and head.count(0) * 4 >= len(head) * 3:
        return "UTF-32"
    if len(head) >= 4 and (head[1::2].count(0) == len(head[1::2]) or
                           head[0::2].count(0) == len(head[0::2])):
        return "UTF-16"
    return None


def parse(text: str) -> Located:
    """Parse one YAML document into plain data with positions. Raises YamlProblem."""
    loader = Loader(text)
    try:
        return _Builder(loader).run()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = e.problem or e.context or "invalid YAML"
        raise YamlProblem(line, col, f"not valid YAML: {what}") from None
    except yaml.reader.ReaderError as e:
        line, col = _line_col(text, e.position)
        code = e.character if isinstance(e.character, int) else ord(str(e.character)[:1] or "?")
        raise YamlProblem(line, col, f"not valid YAML: {e.reason} (U+{code:04X}); write it "
                                     "as an escape in double quotes, or remove it") from None
    except yaml.YAMLError as e:
        raise YamlProblem(1, 1, f"not valid YAML: {e}") from None
    except RecursionError:  # pragma: no cover - the depth limit comes first
        raise YamlProblem(1, 1, f"nesting deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()


def _line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a byte offset into the UTF-8 form of `text`."""
    raw = text.encode("utf-8", "surrogatepass")[:max(0, offset)]
    line = raw.count(b"\n") + 1
    col = len(raw) - (raw.rfind(b"\n") + 1) + 1
    return line, col


def _mark(event: Any) -> tuple[int, int]:
    return (event.start_mark.line + 1, event.start_mark.column + 1)


class _Frame:
    """An open sequence or mapping on the builder's stack."""

    __slots__ = ("value", "path", "anchor", "nodes0", "chars0", "key", "key_mark")

    def __init__(self, value: Any, path: Path_, anchor: str | None, nodes0: int,
                 chars0: int) -> None:
        self.value = value
        self.path = path
        self.anchor = anchor
        self.nodes0 = nodes0
        self.chars0 = chars0
        self.key: Any = _KEY  # a mapping waiting for its next key
        self.key_mark = (1, 1)


class _Builder:
    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.out = Located(data=None)
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, int, int]] = {}  # value, nodes, chars
        self.nodes = 0
        self.chars = 0
        self.aliased = False
        self.done = False
        self.root: Any = None

    def run(self) -> Located:
        get = self.loader.get_event
        get()  # StreamStart
        event = get()
        if isinstance(event, yaml.StreamEndEvent):
            raise YamlProblem(1, 1, "file is empty; a question file is a mapping with "
                                    "topic, title and questions")
        # DocumentStart, then the nodes until the stack closes
        while True:
            event = get()
            if isinstance(event, yaml.DocumentEndEvent):
                break
            self.event(event)
        event = get()
        if not isinstance(event, yaml.StreamEndEvent):
            raise YamlProblem(*_mark(event), "not valid YAML: a second document (---) in "
                                             "one file; write one document per file")
        self.out.data = self.root
        return self.out

    # one event

    def event(self, e: Any) -> None:
        if type(e) is yaml.AliasEvent:
            self.alias(e)
        elif type(e) is yaml.ScalarEvent:
            self.count(e, 1, len(e.value))
            if len(e.value) > MAX_SCALAR:
                raise YamlProblem(*_mark(e), f"a value of {len(e.value):,} characters; one "
                                             f"value may hold at most {MAX_SCALAR:,}")
            path = self.child_path()
            value = _scalar(e)
            self.finish(value, path, _mark(e), e.anchor, 1, len(e.value))
        elif isinstance(e, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            is_map = isinstance(e, yaml.MappingStartEvent)
            wanted = _T + ("map" if is_map else "seq")
            if e.tag not in (None, "!", wanted):
                what = "mapping" if is_map else "list"
                raise YamlProblem(*_mark(e), f"tag {e.tag!r} on a {what} is not allowed; "
                                             "only plain YAML values (text, numbers, "
                                             "true/false, lists, maps)")
            if self.stack and self.stack[-1].key is _KEY and isinstance(self.stack[-1].value,
                                                                         dict):
                raise YamlProblem(*_mark(e), "a mapping key must be plain text")
            if len(self.stack) >= MAX_DEPTH:
                raise YamlProblem(*_mark(e), f"nesting deeper than {MAX_DEPTH} levels; a "
                                             "question file needs about 6")
            self.count(e, 1, 0)
            path = self.child_path()
            self.out.positions[path] = _mark(e)
            frame = _Frame({} if is_map else [], path, e.anchor, self.nodes - 1, self.chars)
            self.stack.append(frame)
        elif isinstance(e, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            frame = self.stack.pop()
            nodes, chars = self.nodes - frame.nodes0, self.chars - frame.chars0
            self.finish(frame.value, frame.path, self.out.positions[frame.path], frame.anchor,
                        nodes, chars, placed=True)

    def count(self, e: Any, nodes: int, chars: int) -> None:
        self.nodes += nodes
        self.chars += chars
        if self.nodes > MAX_NODES:
            if self.aliased:
                raise YamlProblem(*_mark(e), f"aliases expand past {MAX_NODES:,} nodes; "
                                             "write the values out instead of nesting "
                                             "aliases")
            raise YamlProblem(*_mark(e), f"more than {MAX_NODES:,} values in one file; "
                                         "split it into one file per topic")
        if self.chars > MAX_CHARS:
            raise YamlProblem(*_mark(e), f"aliases expand past {MAX_CHARS // 2**20} MiB of "
                                         "text; write the values out instead of repeating "
                                         "long aliases")

    def alias(self, e: Any) -> None:
        if any(f.anchor == e.anchor for f in self.stack):
            raise YamlProblem(*_mark(e), "recursive alias: a node contains itself")
        if e.anchor not in self.anchors:
            raise YamlProblem(*_mark(e), f"not valid YAML: alias *{e.anchor} has no anchor "
                                         f"&{e.anchor} before it")
        value, nodes, chars = self.anchors[e.anchor]
        self.aliased = True
        self.count(e, nodes, chars)
        self.finish(value, self.child_path(), _mark(e), None, nodes, chars)

    # placing a finished value in its parent

    def child_path(self) -> Path_:
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.value, list):
            return (*top.path, len(top.value))
        if top.key is _KEY:
            return (*top.path, _KEY)
        return (*top.path, top.key)

    def finish(self, value: Any, path: Path_, mark: tuple[int, int], anchor: str | None,
               nodes: int, chars: int, placed: bool = False) -> None:
        if anchor is not None:
            self.anchors[anchor] = (value, nodes, chars)
        if not self.stack:
            self.root = value
            self.out.positions[()] = mark
            return
        top = self.stack[-1]
        if isinstance(top.value, list):
            top.value.append(value)
            self.out.positions[path] = mark
            return
        if top.key is _KEY:  # this value is a key
            self.out.positions.pop(path, None)
            if isinstance(value, list | dict):
                raise YamlProblem(*mark, "a mapping key must be plain text")
            if value == "<<":
                raise YamlProblem(*mark, "merge keys (<<) are not supported; write the "
                                         "fields out")
            if value in top.value:
                first = self.out.key_positions[(*top.path, value)]
                raise YamlProblem(*mark, f"duplicate key {value!r} (first at line "
                                         f"{first[0]})")
            self.out.key_positions[(*top.path, value)] = mark
            top.key, top.key_mark = value, mark
            return
        top.value[top.key] = value
        if not placed:
            self.out.positions[path] = mark
        top.key = _KEY


def _scalar(e: Any) -> Any:
    """A scalar event's value under the YAML 1.2 core schema; YamlProblem when an
    explicit tag does not fit its text."""
    text, tag = e.value, e.tag
    if tag is None and e.implicit[0]:  # plain: resolved by its text
        return _plain(text, e)
    if tag is None or tag in _AS_TEXT:  # quoted or block text, or !!str
        return text
    if tag == _T + "int":
        value = _int(text, e)
        if value is None:
            raise YamlProblem(*_mark(e), f"!!int {text!r} is not a whole number")
        return value
    if tag == _T + "float":
        value = _float(text, e)
        if value is None:
            value = _int(text, e)
            if value is None:
                raise YamlProblem(*_mark(e), f"!!float {text!r} is not a number")
            return float(value)
        return value
    if tag == _T + "bool":
        if text not in _BOOL:
            raise YamlProblem(*_mark(e), f"!!bool {text!r} is not true or false")
        return _BOOL[text]
    if tag == _T + "null":
        if text not in _NULL:
            raise YamlProblem(*_mark(e), f"!!null {text!r} is not null")
        return None
    if tag == _T + "merge":
        raise YamlProblem(*_mark(e), "merge keys (<<) are not supported; write the fields out")
    raise YamlProblem(*_mark(e), f"tag {tag!r} is not allowed; only plain YAML values "
                                 "(text, numbers, true/false, lists, maps)")


def _plain(text: str, e: Any) -> Any:
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if not text or text[0] not in "0123456789+-.":
        return text  # the common case: words
    value = _int(text, e)
    if value is not None:
        return value
    value = _float(text, e)
    return text if value is None else value


def _int(text: str, e: Any) -> int | None:
    for pattern, base, skip in ((_INT10, 10, 0), (_INT8, 8, 2), (_INT16, 16, 2)):
        if pattern.fullmatch(text):
            if len(text) > MAX_DIGITS:
                raise YamlProblem(*_mark(e), f"a number with {len(text):,} digits; numbers "
                                             f"may have at most {MAX_DIGITS:,} (quote it if "
                                             "it is text)")
            return int(text[skip:], base)
    return None


def _float(text: str, e: Any) -> float | None:
    if _FLOAT.fullmatch(text):
        if len(text) > MAX_DIGITS:
            raise YamlProblem(*_mark(e), f"a number with {len(text):,} digits; numbers may "
                                         f"have at most {MAX_DIGITS:,} (quote it if it is "
                                         "text)")
        return float(text)
    if _INF.fullmatch(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN.fullmatch(text):
        return float("nan")
    return None
