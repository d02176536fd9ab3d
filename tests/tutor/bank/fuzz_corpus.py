"""A corpus of malformed question files, made deterministically from a valid one.

Families (about 560 cases from examples/my-first-topic.yaml):
truncations, byte flips, tag injections, deep nesting, alias bombs, control
characters, encodings that are not UTF-8, huge lines and values, and wrong types
(null, true, numbers, NaN, infinities, text, lists, maps, `yes`; PER_KEY of them,
rotating) at every key.

    python tests/tutor/bank/fuzz_corpus.py OUT_DIR     # writes one file per case
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
BASE = ROOT / "examples" / "my-first-topic.yaml"

TAGS = ["!!int x", "!!float y", "!!bool maybe", "!!int 0x", "!!float .", "!!int 1_",
        "!!null x", "!!str", "!!binary ?", "!!timestamp 2020-99-99", "!!map", "!!seq",
        "!!set {a}", "!!omap [a]", "!!pairs [a, b]", "!!merge x", "!custom 1", "!<tag:x> y",
        "!!python/none ''", "!!python/object/apply:os.system ['true']",
        "!!python/name:os.system", "&a", "*a", "*nowhere", "<<: {}", ".nan", "-.inf",
        "1e999", "0o8", "0b2", "1:2:3", "%YAML 1.1", "? x", "[", "{", "'", '"', "|", ">"]
WRONG = ["null", "true", "yes", "0", "-1", "1.5", "1e400", ".nan", "-.inf", "text",
         "[]", "{}", "[1, 2]", "{a: 1}", "'2'"]
PER_KEY = 4


def _cases_from(base: str, rng: random.Random) -> list[tuple[str, bytes]]:
    raw = base.encode("utf-8")
    lines = base.splitlines(keepends=True)
    cases: list[tuple[str, bytes]] = []

    for i in range(1, 25):  # truncations at evenly spread points
        cut = len(raw) * i // 25
        cases.append((f"truncate-{i:02d}", raw[:cut]))

    for i in range(60):  # byte flips, some making the file not UTF-8
        data = bytearray(raw)
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        cases.append((f"flip-{i:02d}", bytes(data)))

    value_lines = [i for i, line in enumerate(lines) if ": " in line and
                   not line.rstrip().endswith((":", "|"))]
    for i, tag in enumerate(TAGS):  # a token in place of a value, and as a new line
        j = value_lines[(i * 7) % len(value_lines)]
        head = lines[j].split(": ", 1)[0]
        changed = lines[:j] + [f"{head}: {tag}\n"] + lines[j + 1:]
        cases.append((f"tag-{i:02d}", "".join(changed).encode()))
        inserted = lines[:j] + [f"{tag}\n"] + lines[j:]
        cases.append((f"tag-line-{i:02d}", "".join(inserted).encode()))

    head = "topic: t\ntitle: T\nquestions:\n"
    q = "  - {id: t/q, kind: recall, prompt: p, answer: a, tags: %s}\n"
    for n in (50, 61, 62, 63, 64, 65, 100, 490, 1000, 5000):  # deep nesting
        cases.append((f"deep-flow-{n}", (head + q % ("[" * n + "]" * n)).encode()))
        cases.append((f"deep-map-{n}", (head + q % ("{a: " * n + "1" + "}" * n)).encode()))
        if n <= 1000:  # a block list n deep is n^2 bytes of indentation
            block = "".join("  " * k + "-\n" for k in range(1, n + 1))
            cases.append((f"deep-block-{n}", (head + block).encode()))

    lol = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for k in range(1, 10):
        lol.append(f"a{k}: &a{k} [" + ", ".join([f"*a{k - 1}"] * 9) + "]")
    cases.append(("alias-billion-laughs", ("\n".join(lol) + "\n").encode()))
    for width, copies in ((1_000_000, 100_000), (100_000, 100), (10_000, 2_000)):
        text = (f"{head}  - id: t/q1\n    kind: recall\n    prompt: p\n    answer: &big "
                f"{'y' * width}\n    tags: [" + ", ".join(["*big"] * copies) + "]\n")
        cases.append((f"alias-quadratic-{width}x{copies}", text.encode()))
    cases += [
        ("alias-recursive", b"topic: t\ntitle: T\nquestions: &q [*q]\n"),
        ("alias-undefined", (head + q % "*nope").encode()),
        ("alias-as-key", b"a: &k key\n*k : 1\ntopic: t\n"),
        ("alias-merge", (head.replace("questions:\n", "base: &b {kind: recall, answer: a}\n"
                                      "questions:\n") + "  - <<: *b\n    id: t/q1\n"
                         "    prompt: p\n").encode()),
        ("alias-chain", ("x0: &x0 [" + "1, " * 50 + "1]\n" + "".join(
            f"x{k}: &x{k} [*x{k - 1}, *x{k - 1}, *x{k - 1}]\n" for k in range(1, 15))).encode()),
    ]

    prompt_line = next(i for i, line in enumerate(lines) if "prompt:" in line)
    for code in [*range(0, 32), 0x7f, 0x85, 0x9b, 0x2028, 0x202e, 0xfeff]:
        if chr(code) in "\t\n":
            continue
        raw_line = lines[prompt_line].rstrip("\n") + f" x{chr(code)}y\n"
        changed = lines[:prompt_line] + [raw_line] + lines[prompt_line + 1:]
        cases.append((f"control-raw-{code:04x}", "".join(changed).encode("utf-8")))
        escaped = lines[prompt_line].split("prompt:")[0] + f'prompt: "x\\u{code:04x}y"\n'
        changed = lines[:prompt_line] + [escaped] + lines[prompt_line + 1:]
        cases.append((f"control-escaped-{code:04x}", "".join(changed).encode("utf-8")))

    cases += [
        ("enc-latin1", base.replace("What", "Wh\xe4t").encode("latin-1", "replace")),
        ("enc-ff", raw.replace(b"What", b"Wh\xfft")),
        ("enc-overlong", raw.replace(b"What", b"Wh\xc0\x80t")),
        ("enc-surrogate", raw.replace(b"What", b"Wh\xed\xa0\x80t")),
        ("enc-cut-multibyte", raw + "é".encode()[:1]),
        ("enc-utf16-le", base.encode("utf-16-le")),
        ("enc-utf16-bom", base.encode("utf-16")),
        ("enc-utf32", base.encode("utf-32")),
        ("enc-bom", b"\xef\xbb\xbf" + raw),
        ("enc-double-bom", b"\xef\xbb\xbf\xef\xbb\xbf" + raw),
        ("enc-crlf", raw.replace(b"\n", b"\r\n")),
        ("enc-cr", raw.replace(b"\n", b"\r")),
        ("enc-nul", raw.replace(b"What", b"Wh\x00t")),
        ("binary-elf", b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 16),
        ("binary-random", bytes(rng.randrange(256) for _ in range(4096))),
    ]

    cases += [
        ("huge-line", (head + q % ("[" + ", ".join(["x"] * 200_000) + "]")).encode()),
        ("huge-value", (head + q % "[]").replace("prompt: p", "prompt: " + "p" * 200_000)
         .encode()),
        ("huge-key", (head + "  - {" + "k" * 150_000 + ": 1}\n").encode()),
        ("huge-number", (head + q % ("[" + "9" * 5000 + "]")).encode()),
        ("huge-file", b"a: " + b"x" * (5 * 1024 * 1024 + 10)),
        ("many-values", (head + q % ("[" + ",".join(["1"] * 60_000) + "]")).encode()),
        ("many-questions", (head + "".join(
            f"  - {{id: t/q{i}, kind: recall, prompt: p{i}, answer: a}}\n"
            for i in range(5000))).encode()),
        ("two-documents", raw + b"---\n" + raw),
        ("empty", b""),
        ("only-comment", b"# nothing here\n"),
        ("only-dashes", b"---\n"),
        ("top-list", b"- a\n- b\n"),
        ("top-text", b"just text\n"),
    ]
    return cases


def _wrong_types(base: str) -> list[tuple[str, bytes]]:
    """Each distinct key of each kind of question, and the file's own keys, with every
    value in WRONG in place of the right one."""
    from tutor.bank.yamlsafe import parse

    data = parse(base).data
    targets: list[tuple[str, list]] = [(f"file.{k}", [k]) for k in data]
    seen: set[str] = set()
    for i, q in enumerate(data["questions"]):
        for key, value in q.items():
            label = f"{q['kind']}.{key}"
            if label not in seen:
                seen.add(label)
                targets.append((label, ["questions", i, key]))
            nested = value[0] if isinstance(value, list) and value else value
            if isinstance(nested, dict):
                for sub in nested:
                    label = f"{q['kind']}.{key}.{sub}"
                    if label not in seen:
                        seen.add(label)
                        where = [0] if isinstance(value, list) else []
                        targets.append((label, ["questions", i, key, *where, sub]))
    cases = []
    for t, (label, path) in enumerate(targets):
        for k in range(PER_KEY):  # a rotating few of the wrong values at each key
            w = (t * PER_KEY + k) % len(WRONG)
            doc = _copy(data)
            node = doc
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = _MARK
            text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000)
            text = text.replace(f"'{_MARK}'", _MARK).replace(_MARK, WRONG[w])
            cases.append((f"wrong-{label}-{w:02d}", text.encode("utf-8")))
    return cases


_MARK = "@@wrong@@"  # dumped as text, then replaced by the wrong value written as it is


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def corpus(seed: int = 0, base: Path = BASE) -> list[tuple[str, bytes]]:
    """(name, file content) for every case; the same for the same seed and base."""
    text = base.read_text(encoding="utf-8")
    return _cases_from(text, random.Random(seed)) + _wrong_types(text)


def main(argv: list[str]) -> None:
    out = Path(argv[0]) if argv else Path("fuzz-corpus")
    out.mkdir(parents=True, exist_ok=True)
    cases = corpus()
    for name, content in cases:
        (out / f"{name}.yaml").write_bytes(content)
    print(f"wrote {len(cases)} files to {out}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main(sys.argv[1:])
