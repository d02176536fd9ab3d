"""`tutor new`: a wizard that appends one valid question to a YAML file.

It asks for the kind, then for that kind's fields, one line each (`\\n` in a
line becomes a line break). It inserts the question as text after the last
question in the file, so everything already there, comments included, stays as
it was. The result is validated before the file is replaced; an invalid
question is never written. Piped stdin answers the same prompts line by line.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tutor.errors import TutorError, UsageError
from tutor.kinds import KINDS

Ask = Callable[..., str]
SCHEMA_FILE = "tutor-schema.json"


def header(topic: str, title: str) -> str:
    return (f"# yaml-language-server: $schema=./{SCHEMA_FILE}\n"
            f"# Questions for tutor. Check this file with: tutor validate {topic}.yaml\n"
            f"# Format: docs/authoring.md, or `tutor schema` for the JSON Schema.\n"
            f"topic: {topic}\n"
            f"title: {_scalar(title)}\n"
            f"questions:\n")


class Checked:
    """`ask` that checks each answer as it is typed: at a terminal a bad answer is asked
    again (what was typed before is kept); from a pipe it is a usage error naming the field,
    and nothing is written."""

    def __init__(self, ask: Ask, say: Callable[[str], None], interactive: bool) -> None:
        self.ask, self.say, self.interactive = ask, say, interactive

    def __call__(self, text: str, default: str | None = None,
                 check: Callable[[str], Any] | None = None) -> Any:
        while True:
            answer = self.ask(text, default=default)
            if check is None:
                return answer
            try:
                return check(answer)
            except ValueError as e:
                if not self.interactive:
                    raise UsageError(f"{text}: {e}") from None
                self.say(f"  {e}; try again")


def _kind_name(text: str) -> str:
    if text not in KINDS:
        raise ValueError(f"{text!r} is not one of {', '.join(KINDS)}")
    return text


def _topic_name(text: str) -> str:
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", text):
        raise ValueError(f"topic {text!r}: use lowercase letters, digits and dashes")
    return text


def _difficulty(text: str) -> int:
    if text.strip() not in ("1", "2", "3"):
        raise ValueError("difficulty must be 1, 2 or 3")
    return int(text)


def _demo(text: str) -> str:
    if not text:
        return ""
    from tutor.demos.registry import lookup

    info = lookup(text)
    if info is None:
        import difflib

        from tutor.demos.registry import DEMOS

        close = difflib.get_close_matches(text, list(DEMOS), n=1)
        raise ValueError(f"no demo {text!r}" + (f"; did you mean {close[0]!r}?" if close else
                                               "; `tutor demo` lists them"))
    return info.name


def run_wizard(ask: Ask, say: Callable[[str], None], *, file: Path | None, kind: str | None,
               topic: str | None, bank_ids: set[str],
               interactive: bool = False) -> tuple[str, Path]:
    """Ask for a question and append it. Returns (question id, file written)."""
    from tutor.paths import default_user_bank

    if file is not None and file.is_dir():
        raise UsageError(f"--file: {file} is a directory", "give a .yaml file in it")
    if kind is not None and kind not in KINDS:
        raise UsageError(f"--kind: {kind!r} is not one of {', '.join(KINDS)}")
    ask = Checked(ask, say, interactive)
    kind = kind or ask(f"Kind ({', '.join(KINDS)})", default="recall", check=_kind_name)
    existing = _existing_topic(file)
    if topic is not None:
        try:
            _topic_name(topic)
        except ValueError as e:
            raise UsageError(f"--topic: {e}") from None
    topic = topic or existing or ask("Topic (e.g. masks, or a new one)", check=_topic_name)
    path = file or default_user_bank() / f"{topic}.yaml"
    if existing and existing != topic:
        raise UsageError(f"{path} holds topic {existing!r}, not {topic!r}",
                         "choose another --file or the same topic")
    text = _read_keeping_newlines(path) if path.exists() else None
    if text is None:
        text = header(topic, ask("Title of the new topic", default=topic.replace("-", " ")
                                 .capitalize()))
    q: dict[str, Any] = {"id": None, "kind": kind}
    q["prompt"] = _text(ask("Prompt (the question)"))
    q["answer"] = _text(ask("Model answer"))
    from tutor.kinds import kind as kind_module

    q.update(kind_module(kind).wizard(ask, say))
    hint = ask("Hint (optional)", default="")
    if hint:
        q["hint"] = _text(hint)
    q["difficulty"] = ask("Difficulty 1-3", default="2", check=_difficulty)
    tags = [t.strip() for t in ask("Tags, comma-separated (optional)", default="").split(",")]
    if any(tags):
        q["tags"] = [t for t in tags if t]
    demo = ask("Demo that proves it (optional; `tutor demo` lists them)", default="",
               check=_demo)
    if demo:
        q["demo"] = {"name": demo, "args": ask(
            "Demo options as name=value, comma-separated (optional)", default="",
            check=lambda line: _demo_args(demo, pairs_checked(line)))}
    suggested = f"{topic}/{_slug(q['prompt'])}"
    while True:
        qid = ask("Id (topic/slug; progress is keyed by it)", default=suggested)
        if qid not in bank_ids:
            break
        say(f"{qid} is already used; choose another id")
    q["id"] = qid
    new_text = insert_question(text, q)
    _validate_and_write(path, new_text, qid)
    return qid, path


def _text(line: str) -> str:
    return line.replace("\\n", "\n").strip()


def _demo_args(demo: str, args: dict[str, Any]) -> dict[str, Any]:
    from tutor.demos.registry import check_demo_args

    problems = check_demo_args(demo, args)
    if problems:
        raise ValueError(problems[0][1])
    return args


def pairs_checked(line: str, sep: str = ",", multi: bool = False) -> dict[str, Any]:
    """`pairs`, with every problem as a ValueError (for asking again)."""
    try:
        return pairs(line, sep, multi)
    except UsageError as e:
        raise ValueError(e.message) from None


def pairs(line: str, sep: str = ",", multi: bool = False) -> dict[str, Any]:
    import yaml

    def scalar(key: str, text: str) -> Any:
        if text.startswith(("!", "&", "*")):
            raise UsageError(f"{key}={text}: tags and aliases are not values")
        try:
            return yaml.safe_load(text)
        except (yaml.YAMLError, ValueError):
            raise UsageError(f"{key}={text}: not a number, text or [list] YAML can read") \
                from None

    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in line.split(sep))):
        if "=" not in part:
            raise UsageError(f"{part!r} is not name=value")
        key, value = (s.strip() for s in part.split("=", 1))
        out[key] = [scalar(key, v) for v in value.split()] if multi else scalar(key, value)
    return out


def _slug(prompt: str) -> str:
    words = re.findall(r"[a-z0-9]+", prompt.lower())
    stop = {"the", "a", "an", "of", "is", "are", "what", "why", "how", "does", "do", "in", "to"}
    return "-".join([w for w in words if w not in stop][:5]) or "question"


def _scalar(text: str) -> str:
    import yaml

    return yaml.safe_dump(text, default_style=None, width=10_000).strip().removesuffix("...") \
        .strip()


def _existing_topic(file: Path | None) -> str | None:
    if file is None or not file.exists():
        return None
    import yaml

    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        raise TutorError(f"{file} is not valid YAML", f"fix it first: tutor validate {file}") \
            from None
    return data.get("topic") if isinstance(data, dict) else None


def insert_question(text: str, question: dict[str, Any]) -> str:
    """`text` with `question` appended to its `questions:` block list, everything else kept."""
    import yaml

    item = yaml.safe_dump([_clean(question)], sort_keys=False, allow_unicode=True, width=88,
                          default_flow_style=False)
    root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    seq = None
    if isinstance(root, yaml.MappingNode):
        seq = next((v for k, v in root.value if k.value == "questions"), None)
    if seq is None or (isinstance(seq, yaml.ScalarNode) and seq.value in ("", "~", "null")):
        # `questions:` with nothing after it, or no questions key at all
        body = text if text.endswith("\n") else text + "\n"
        if seq is None:
            body += "questions:\n"
        return body + _indent(item, 2)
    if not isinstance(seq, yaml.SequenceNode) or seq.flow_style:
        raise TutorError("`questions` is not a block list (one `- ` item per question)",
                         "rewrite it as a block list, then run tutor new again")
    if not seq.value:
        return text[: seq.start_mark.index] + "\n" + _indent(item, 2) + text[seq.end_mark.index:]
    first = seq.value[0].start_mark
    line_start = text.rfind("\n", 0, first.index) + 1
    dash = text.index("-", line_start)
    indent = dash - line_start
    end = seq.value[-1].end_mark.index
    # insert after the line on which the last question ends
    cut = text.find("\n", end - 1 if end and text[end - 1] == "\n" else end)
    cut = len(text) if cut == -1 else cut + 1
    before, after = text[:cut], text[cut:]
    if not before.endswith("\n"):
        before += "\n"
    return before + _indent(item, indent) + after


def _indent(block: str, n: int) -> str:
    return "".join(" " * n + line if line.strip() else line
                   for line in block.splitlines(keepends=True))


def _clean(q: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in q.items() if v not in (None, [], {}, "")}
    if "demo" in out and not out["demo"].get("args"):
        out["demo"] = {"name": out["demo"]["name"]}
    return out


def _read_keeping_newlines(path: Path) -> str:
    """The file's text with its own line ends (CRLF stays CRLF)."""
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def _validate_and_write(path: Path, text: str, qid: str) -> None:
    """Validate the new text, then replace the file: through a symlink to its target,
    keeping its mode and line ends. The temporary file is named so that no bank ever loads
    it, and it is removed whatever happens."""
    import shutil

    from tutor.bank import load_file

    target = Path(os.path.realpath(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    if "\r\n" in text:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    fd, tmp = tempfile.mkstemp(prefix=".tutor-new-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        parsed, problems = load_file(Path(tmp))
        if problems:
            first = problems[0]
            raise TutorError(f"the new question is not valid ({first.message}, line "
                             f"{first.line}); {path} was not changed")
        if target.exists():
            shutil.copymode(target, tmp)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        try:
            os.replace(tmp, target)
        except OSError as e:
            raise TutorError(f"cannot write {path}: {e.strerror}; it was not changed") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    schema = target.parent / SCHEMA_FILE
    if not schema.exists():
        import json

        from tutor.bank.schema import json_schema

        schema.write_text(json.dumps(json_schema(), indent=2) + "\n", encoding="utf-8")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
