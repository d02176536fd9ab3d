"""Find, parse and validate question files into a `Bank`.

Every problem in every file is collected as a `Problem` with a file, line and
column, so one run reports all of them. A file with any problem is skipped as a
whole; the rest of the bank still loads, whatever is wrong with that file.

YAML is read as editors read it (YAML 1.2, see `yamlsafe`). Where that differs from
what an author may have meant, the message says so: `correct: yes` is text, so a
true/false field asks for `true` or `false`; `prompt: true` is a boolean, so a text
field asks for quotes.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from tutor.bank import schema
from tutor.bank.core import KINDS, Bank, Problem, Topic, question_files, scan
from tutor.bank.schema import AnyQuestion, QuestionFile
from tutor.bank.yamlsafe import Located, YamlProblem, parse, read_text


def load_bank(extra_dirs: list[Path] | None = None, *, builtin: bool = True) -> Bank:
    """The built-in bank plus every extra directory, validated, with every problem listed."""
    from tutor.paths import builtin_questions_dir, user_bank_dirs

    roots = ([builtin_questions_dir()] if builtin else []) + user_bank_dirs(extra_dirs)
    bank = Bank()
    for root in roots:
        if not root.exists():
            bank.problems.append(Problem(str(root), 0, 0, "bank directory does not exist; "
                                         "check --bank and TUTOR_BANK"))
            continue
        files, skipped = scan(root)
        bank.problems.extend(skipped)
        for path in files:
            _add_file(bank, path)
    return bank


def load_paths(paths: list[Path], *, against_builtin: bool = True) -> Bank:
    """These files or directories (for `tutor validate PATH...`).

    Built-in questions outside the given paths are loaded first, silently, so that
    an id repeating a built-in one is reported; only the given paths are kept.
    """
    targets = {f.resolve() for root in paths if root.exists() for f in question_files(root)}
    context = Bank()
    if against_builtin:
        from tutor.paths import builtin_questions_dir

        for path in question_files(builtin_questions_dir()):
            if path.resolve() not in targets:
                _add_file(context, path)
    bank = Bank(questions=dict(context.questions))
    seen: set[Path] = set()
    for root in paths:
        if not root.exists():
            bank.problems.append(Problem(str(root), 0, 0, "no such file or directory"))
            continue
        files, skipped = scan(root)
        bank.problems.extend(skipped)
        if not files and not skipped:
            bank.problems.append(Problem(str(root), 0, 0, "no .yaml or .yml files here"))
        for path in files:
            if path.resolve() not in seen:
                seen.add(path.resolve())
                _add_file(bank, path)
    for qid in context.questions:
        bank.questions.pop(qid, None)
    return bank


def _add_file(bank: Bank, path: Path) -> None:
    bank.files.append(path)
    try:
        parsed, problems = load_file(path)
    except Exception as e:  # a bug in a check must not take the other files down
        bank.problems.append(Problem(str(path), 1, 1, f"this file could not be checked "
                                     f"({type(e).__name__}: {e}); it is skipped, please "
                                     "report it"))
        return
    if parsed is None:
        bank.problems.extend(problems)
        return
    qfile, located = parsed
    # ids must be unique across every file loaded so far
    for i, q in enumerate(qfile.questions):
        if q.id in bank.questions:
            other = bank.questions[q.id].origin
            line, col = located.position(("questions", i, "id"))
            problems.append(Problem(str(path), line, col, f"duplicate id {q.id!r}: also defined "
                                    f"at {other[0]}:{other[1]}"))
    if problems:
        bank.problems.extend(problems)
        return
    topic = bank.topics.get(qfile.topic)
    if topic is None:
        bank.topics[qfile.topic] = Topic(qfile.topic, qfile.title, qfile.description,
                                         tuple(qfile.aliases), (str(path),))
    else:
        bank.topics[qfile.topic] = Topic(topic.name, topic.title, topic.description,
                                         tuple(dict.fromkeys(topic.aliases + tuple(qfile.aliases))),
                                         topic.files + (str(path),))
    for i, q in enumerate(qfile.questions):
        q._topic = qfile.topic
        q._origin = (str(path), located.position(("questions", i))[0])
        bank.questions[q.id] = q


def load_file(path: Path) -> tuple[tuple[QuestionFile, Located] | None, list[Problem]]:
    """Parse and validate one file: (the file and its positions, []) or (None, problems)."""
    where = str(path)
    try:
        located = parse(read_text(path))
    except YamlProblem as e:
        return None, [Problem(where, e.line, e.column, e.message)]
    except OSError as e:
        return None, [Problem(where, 1, 1, f"cannot read: {e.strerror or e}")]
    data = located.data
    if data is None:
        return None, [Problem(where, 1, 1, "file is empty; a question file is a mapping with "
                                           "topic, title and questions")]
    if not isinstance(data, dict):
        shape = "a list" if isinstance(data, list) else f"a single {type(data).__name__} value"
        return None, [Problem(where, 1, 1, f"top level is {shape}; a question file is a mapping "
                                           "with topic, title and questions")]
    early = _key_problems(located) + _yes_no_problems(located)
    if early:
        return None, sorted({Problem(where, line, col, msg) for line, col, msg in early})
    try:
        qfile = QuestionFile.model_validate(data)
    except ValidationError as e:
        problems = set()
        for err in _intended(located.data, e.errors(include_url=False)):
            problem = _problem(where, located, err)
            # a `str | KeyPoint` value fails both branches: report the position once
            if not any((p.line, p.column) == (problem.line, problem.column) for p in problems):
                problems.add(problem)
        # questions that are valid on their own still get the checks below, so that one
        # run reports every problem in the file
        items = data.get("questions")
        for i, item in enumerate(items if isinstance(items, list) else []):
            try:
                q = _QUESTION.validate_python(item)
            except ValidationError:
                continue
            for p, msg in _question_checks(q):
                problems.add(Problem(where, *located.position(("questions", i, *p)), msg))
        return None, sorted(problems)
    problems = [Problem(where, *located.position(p), msg) for p, msg in semantic_checks(qfile)]
    if problems:
        return None, sorted(problems)
    return (qfile, located), []


_QUESTION = TypeAdapter(schema.Question)


def semantic_checks(qfile: QuestionFile) -> list[tuple[tuple, str]]:
    """Checks the schema cannot express: unique ids, templates, demos and formulas."""
    out: list[tuple[tuple, str]] = []
    seen: dict[str, int] = {}
    for i, q in enumerate(qfile.questions):
        if q.id in seen:
            out.append((("questions", i, "id"), f"duplicate id {q.id!r}: also question "
                                                 f"{seen[q.id] + 1} of this file"))
        seen.setdefault(q.id, i)
        prefix = q.id.split("/", 1)[0]
        if prefix != qfile.topic:
            out.append((("questions", i, "id"), f"id {q.id!r} starts with {prefix!r}, not this "
                                                 f"file's topic {qfile.topic!r}; use "
                                                 f"{qfile.topic}/{q.id.split('/', 1)[-1]}"))
        out += [(("questions", i, *p), msg) for p, msg in _question_checks(q)]
    return out


def _question_checks(q: AnyQuestion) -> list[tuple[tuple, str]]:
    from tutor.demos.registry import check_demo_args
    from tutor.kinds import kind

    out: list[tuple[tuple, str]] = []
    module = kind(q.kind)
    if q.demo is not None:
        # a numeric card's '{name}' demo values are checked with each value it can draw
        for args in getattr(module, "demo_arg_samples", lambda q: [q.demo.args])(q):
            problems = check_demo_args(q.demo.name, args)
            out += [(("demo", *p), msg) for p, msg in problems]
            if problems:
                break
    out += module.checks(q)
    return out


def _problem(where: str, located: Located, err: dict[str, Any]) -> Problem:
    loc = tuple(err["loc"])
    kind = err["type"]
    path = _data_path(located, loc, missing=kind in ("missing", "extra_forbidden"))
    msg = err["msg"]
    field_name = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        allowed = _allowed_keys(located.data, path[:-1])
        line, col = located.key_positions.get(path, located.position(path))
        suggestion = difflib.get_close_matches(field_name, allowed, n=1, cutoff=0.6)
        hint = f"; did you mean {suggestion[0]!r}?" if suggestion else (
            f"; allowed here: {', '.join(sorted(allowed))}" if allowed else "")
        return Problem(where, line, col, f"unknown key {field_name!r}{hint}")
    line, col = located.position(path)
    if kind == "missing":
        return Problem(where, line, col, f"missing required field {field_name!r}")
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        line, col = located.position((*path, "kind"))
        if kind == "union_tag_not_found":
            return Problem(where, line, col, "missing required field 'kind' "
                                             f"(one of {', '.join(KINDS)})")
        got = err.get("ctx", {}).get("tag", "?")
        return Problem(where, line, col, f"kind {got!r} is not one of {', '.join(KINDS)}")
    after = path[2:] if path[:1] == ("questions",) and len(path) > 2 else path
    label = ".".join(str(p) for p in after if not isinstance(p, int)) or "file"
    if kind == "string_pattern_mismatch" and field_name == "id":
        msg = "id must look like 'topic/slug' (lowercase letters, digits and dashes)"
    elif kind == "string_pattern_mismatch" and field_name == "topic":
        msg = "topic must be lowercase letters, digits and dashes"
    elif kind == "value_error":
        msg = msg.removeprefix("Value error, ")
    elif kind == "string_type" and isinstance(err.get("input"), bool):
        word = str(err["input"]).lower()
        msg = f"{word} is read as true/false here; quote it (\"{word}\") if you mean the text"
    return Problem(where, line, col, f"{label}: {msg}")


_SCALAR_BRANCHES = ("str", "int", "float", "bool")


def _intended(data: Any, errors: list[dict]) -> list[dict]:
    """The errors worth showing: those of the union branch each value was meant for, and,
    for a value that fits no branch (null where a list or a range is expected), the
    first branch's error."""
    kept, dropped = [], []
    for err in errors:
        (dropped if _other_branch(data, tuple(err["loc"])) else kept).append(err)
    for err in dropped:
        base = _union_at(data, tuple(err["loc"]))
        if not any(tuple(k["loc"])[:len(base)] == base for k in kept):
            kept.append(err)
    return kept


def _other_branch(data: Any, loc: tuple) -> bool:
    """True for an error from a branch of a union (`str | Model`, `list | Range`) that the
    value did not take.

    A mapping is meant as the model, a list as the list, anything else as text; only
    the error of the intended branch is worth showing.
    """
    return _branch(data, loc)[1]


def _union_at(data: Any, loc: tuple) -> tuple:
    """The part of an error location before its union branch name."""
    return loc[:_branch(data, loc)[0]]


def _branch(data: Any, loc: tuple) -> tuple[int, bool]:
    """(index of the first union branch name in `loc` (or len(loc)), whether the value
    there was meant for another branch)."""
    node = data
    for i, part in enumerate(loc):
        indexable = isinstance(node, dict) and part in node or (
            isinstance(node, list) and isinstance(part, int) and part < len(node))
        if indexable:
            node = node[part]
            continue
        if not isinstance(part, str):
            continue
        if part in _SCALAR_BRANCHES:
            return i, isinstance(node, dict | list)  # a mapping or list meant something else
        if part.startswith(("list[", "tuple[", "set[")):
            return i, not isinstance(node, list)
        if part[:1].isupper() or part.startswith(("function-", "model[")):
            return i, not isinstance(node, dict)  # only a mapping is meant as the model
    return len(loc), False


def _data_path(located: Located, loc: tuple, missing: bool = False) -> tuple:
    """Map a pydantic error location onto the path of the YAML node it is about."""
    path: tuple = ()
    for i, part in enumerate(loc):
        candidate = (*path, part)
        if candidate in located.positions or candidate in located.key_positions:
            path = candidate
        elif missing and i == len(loc) - 1 and isinstance(part, str):
            path = candidate  # a missing field: report at its parent
        # else: a union tag such as 'numeric' or 'str' that is not in the data
    return path


def _allowed_keys(data: Any, path: tuple) -> list[str]:
    """The keys allowed in the mapping at `path`, for 'did you mean' suggestions."""
    model = _model_at(data, path)
    return list(model.model_fields) if model is not None else []


def _model_at(data: Any, path: tuple) -> type[BaseModel] | None:
    """The schema model of the mapping at `path` in the data, when there is one."""
    model: Any = QuestionFile
    node = data
    for part in path:
        if isinstance(node, dict) and isinstance(part, str):
            node = node.get(part)
            if model is QuestionFile and part == "questions":
                model = "question-list"
            elif model is schema.NumericQuestion and part == "vary":
                model = "vary"
            elif model == "vary":
                model = schema.VaryRange
            else:
                model = _NESTED.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            if model == "question-list":
                kind = node.get("kind") if isinstance(node, dict) else None
                model = schema.MODELS_BY_KIND.get(kind if isinstance(kind, str) else "",
                                                  schema.RecallQuestion)
            elif isinstance(model, tuple):
                model = model[0]
            else:
                return None
        else:
            return None
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model
    return None


def _mappings(data: Any) -> list[tuple[tuple, dict]]:
    """Every mapping in the data with its path, outermost first (no recursion)."""
    out: list[tuple[tuple, dict]] = []
    pending: list[tuple[tuple, Any]] = [((), data)]
    seen: set[int] = set()
    while pending:
        path, node = pending.pop()
        if id(node) in seen:  # an alias: the same object again
            continue
        if isinstance(node, dict):
            seen.add(id(node))
            out.append((path, node))
            pending += [((*path, k), v) for k, v in node.items()]
        elif isinstance(node, list):
            seen.add(id(node))
            pending += [((*path, i), v) for i, v in enumerate(node)]
    return out


def _key_problems(located: Located) -> list[tuple[int, int, str]]:
    """Keys that are not text (`1:`, `~:`, `true:`): every key is a field or a name."""
    out = []
    for path, node in _mappings(located.data):
        for key in node:
            if not isinstance(key, str):
                line, col = located.key_positions.get((*path, key), located.position(path))
                shown = "null" if key is None else str(key).lower() if isinstance(key, bool) \
                    else repr(key)
                out.append((line, col, f"key {shown} is not text; keys are field names "
                                       "(quote it if you mean the text)"))
    return out


_YES_NO = {"yes", "no", "on", "off", "y", "n"}


def _yes_no_problems(located: Located) -> list[tuple[int, int, str]]:
    """`yes`/`no`/`on`/`off` where true/false is expected: text in YAML 1.2 (and in
    editors), so say which to write instead of guessing."""
    out = []
    for path, node in _mappings(located.data):
        model = None
        for key, value in node.items():
            if not (isinstance(value, str) and value.lower() in _YES_NO):
                continue
            model = model or _model_at(located.data, path)
            fld = model.model_fields.get(key) if model is not None and isinstance(key, str) \
                else None
            if fld is not None and fld.annotation in (bool, bool | None):
                line, col = located.position((*path, key))
                out.append((line, col, f"{key}: {value!r} is text in YAML 1.2, not true/false; "
                                       "write true or false"))
    return out


# fields whose values are models: list-valued ones are wrapped in a 1-tuple
_NESTED: dict[str, Any] = {"demo": schema.DemoRef, "answer_from": schema.AnswerFrom,
                           "options": (schema.Option,), "key_points": (schema.KeyPoint,)}
