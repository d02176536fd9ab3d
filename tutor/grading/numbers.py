"""Numbers as people write them in interviews, and safe arithmetic on them.

    124M  1.2e8  124,439,808  7B  21.7bn  1.5k  3T  2^30  45%  2 GiB  350 GB  1.5 billion
    ~124M  ≈124M  −1.6  1.24 × 10^8  1.24·10⁸  4096*4097/2  (8*9)/2  2^21 - 1

- K, M, B (or G, bn) and T after a number are thousand, million, billion and
  trillion; the words work too.
- KB, MB, GB and TB are decimal bytes (1e3 ... 1e12); KiB, MiB, GiB and TiB are
  binary bytes (2^10 ... 2^40). So `7B` is seven billion, and `7 GB` is 7e9 bytes.
- A percentage is a fraction (`45%` is 0.45), except on a card whose unit is
  percent, where `72%`, `72 %` and `72` all read as 72.
- `~`, `≈`, "about", "roughly" and "approximately" in front are ignored, and so is
  a trailing plain word such as `params`, `bytes` or `FLOPs`.
- Arithmetic with + − × / ^ (or **) and parentheses is evaluated by walking the
  parsed expression tree over floats, never with `eval`; its size is bounded.
"""

from __future__ import annotations

import ast
import math
import re

_SCALE = {
    "": 1.0, "k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "b": 1e9, "B": 1e9, "G": 1e9, "T": 1e12,
    "bn": 1e9, "mn": 1e6, "tn": 1e12,
    "KB": 1e3, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15,
    "KiB": 2.0**10, "MiB": 2.0**20, "GiB": 2.0**30, "TiB": 2.0**40, "PiB": 2.0**50,
    "%": 0.01,
}
_WORDS = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_PERCENT_UNITS = {"%", "percent", "per cent", "percentage points"}

MAX_CHARS = 120          # longer input is not a number anybody typed
MAX_NODES = 60           # operators and numbers in one expression
MAX_EXPONENT = 1000      # |b| in a ^ b

_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?"
_UNIT = (r"[KMGTP]i?B|kB|bn|mn|tn|(?i:thousand|million|billion|trillion)(?![a-z])"
         r"|[kKmMbBGT](?![a-zA-Z])|%")
_TERM = re.compile(rf"(?P<num>{_NUMBER})(?:\s*(?P<unit>{_UNIT}))?")
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_LEAD = re.compile(r"^(?:~|≈|∼|about|approx\.?|approximately|roughly|around|circa|ca\.)\s*",
                   re.IGNORECASE)
_TRAIL = re.compile(r"\s+[A-Za-z][A-Za-z-]*\.?$")


class AnswerError(ValueError):
    """An answer that cannot be read (not a wrong answer: it is asked again)."""


def parse_number(text: str, units: str | None = None) -> float:
    """A number as people write it (see the module docstring) -> float."""
    original = text.strip()
    s = _prepare(original)
    if not s:
        raise AnswerError("type a number, e.g. 124M, 1.2e8, 2^30 or 2 GiB")
    if len(s) > MAX_CHARS:
        raise AnswerError(f"that is {len(s)} characters; a number is at most {MAX_CHARS}")
    percent_card = (units or "").strip().lower() in _PERCENT_UNITS
    value = _evaluate(s, original, percent_card)
    if not math.isfinite(value):
        raise AnswerError(f"{original!r} is too large")
    return value


def _prepare(s: str) -> str:
    s = s.translate(str.maketrans({"−": "-", "–": "-", "—": "-", "×": "*", "·": "*",
                                   "⋅": "*", "÷": "/", "\u00a0": " ", "\u202f": " "}))
    s = s.replace("_", "")
    s = _LEAD.sub("", s.strip())
    # 1.24 x 10^8, 1.24*10⁸, 1.24 × 10**8 -> 1.24e8 (only when written as a power of ten)
    s = re.sub(r"(?<=\d)\s*[xX*]\s*10\s*(?:\^|\*\*)\s*\(?\s*([-+]?\d+)\s*\)?", r"e\1", s)
    s = re.sub(r"(?<=\d)\s*[xX*]\s*10([⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+)",
               lambda m: "e" + m[1].translate(_SUPERSCRIPT), s)
    s = re.sub(r"(?<=\d)([⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+)", lambda m: "^" + m[1].translate(_SUPERSCRIPT), s)
    s = re.sub(r"(?<=\d) (?=\d{3}\b)", "", s)  # 124 439 808
    m = _TRAIL.search(s)
    if m and not re.fullmatch(rf"\s*(?:{_UNIT})", m[0]):
        s = s[:m.start()]
    return s.strip()


def _evaluate(s: str, original: str, percent_card: bool) -> float:
    """Replace each number-with-unit by a float literal, then walk the expression."""
    pieces: list[str] = []
    pos = 0
    for m in _TERM.finditer(s):
        between = s[pos:m.start()]
        if not re.fullmatch(r"[\s()+\-*/^]*", between):
            raise _unreadable(original)
        pieces.append(between)
        value = float(m["num"].replace(",", ""))
        unit = m["unit"] or ""
        if unit == "%" and percent_card:
            scale = 1.0
        else:
            scale = _WORDS.get(unit.lower(), _SCALE.get(unit))
            if scale is None:
                raise _unreadable(original)
        pieces.append(f"({value!r}*{scale!r})")
        pos = m.end()
    rest = s[pos:]
    if not re.fullmatch(r"[\s()]*", rest) or not pieces:
        raise _unreadable(original)
    pieces.append(rest)
    expr = "".join(pieces).replace("^", "**")
    try:
        tree = ast.parse(expr, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise _unreadable(original) from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES * 4:
        raise AnswerError(f"{original!r} is too long an expression")
    try:
        return _walk(tree.body)
    except ZeroDivisionError:
        raise AnswerError(f"{original!r} divides by zero") from None
    except OverflowError:
        raise AnswerError(f"{original!r} is too large") from None


def evaluate(expr: str, names: dict[str, float]) -> float:
    """An arithmetic expression over named values, e.g. 'n^2 / 2' (a trap's formula).

    ValueError for anything but numbers, names, + - * / ^ and parentheses.
    """
    if len(expr) > 4 * MAX_CHARS:
        raise ValueError("expression too long")
    try:
        tree = ast.parse(expr.replace("^", "**"), mode="eval")
    except SyntaxError as e:
        raise ValueError(f"{expr!r} is not an arithmetic expression ({e.msg})") from None
    try:
        return _walk(tree.body, names)
    except AnswerError as e:
        raise ValueError(str(e)) from None


def expression_names(expr: str) -> set[str]:
    """The names an expression uses (for validation)."""
    try:
        tree = ast.parse(expr.replace("^", "**"), mode="eval")
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _walk(node: ast.AST, names: dict[str, float] | None = None) -> float:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)
    if isinstance(node, ast.Name) and names is not None:
        if node.id not in names:
            raise AnswerError(f"unknown name {node.id!r}")
        value = names[node.id]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AnswerError(f"{node.id!r} is not a number")
        return float(value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = _walk(node.operand, names)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        a, b = _walk(node.left, names), _walk(node.right, names)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        if isinstance(node.op, ast.Div):
            return a / b
        if isinstance(node.op, ast.Pow):
            if abs(b) > MAX_EXPONENT:
                raise OverflowError
            if a < 0 and not float(b).is_integer():
                raise AnswerError("a negative number to a fractional power is not real")
            return math.pow(a, b)
    raise AnswerError("only numbers, + - * / ^ and parentheses can be used")


def _unreadable(text: str) -> AnswerError:
    return AnswerError(f"{text!r} is not a number (try 124M, 1.2e8, 2^30, 2 GiB or 4096*4097/2)")


def within(given: float, truth: float, tolerance: float) -> bool:
    """Relative tolerance: |given - truth| <= tolerance * |truth| (absolute when truth is 0)."""
    return abs(given - truth) <= tolerance * (abs(truth) if truth else 1.0)


def relative_error(given: float, truth: float) -> float:
    return abs(given - truth) / (abs(truth) if truth else 1.0)
