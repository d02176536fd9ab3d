"""Card kinds: one module per kind, found by name, so a new kind is one new file.

A kind module defines:

    NAME, SUMMARY            the `kind:` value and one line of help
    Model                    its pydantic schema model (a QuestionBase subclass)
    SELF_RATED, FAST_MS      how a session asks it: the user rates (recall, keypoints)
                             or it is graded (and a right answer under FAST_MS may be Easy)
    present(q, rng, fixed)   one showing: values drawn, options shuffled -> Presentation
    grade(q, pres, text)     an answer -> Graded (AnswerError when it cannot be read)
    REVEAL                   what follows the feedback: "answer", "full" or "misconception"
    detail(q)                its part of `tutor show`, as (style, text) lines
    markdown(q)              its part of the Markdown export
    ANKI_FIELDS, ANKI_FRONT, ANKI_BACK, anki(q, html[, inst])    its Anki note type
    wizard(ask, say)         the fields `tutor new` asks for
    checks(q)                checks beyond the schema, as (path, message) pairs
    ask(card)                optional: a custom session flow

The registry lists the modules of this package without importing them, so the
list of kinds costs no pydantic import; `models()` imports them.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from types import ModuleType

_FIRST = ("recall", "choice", "numeric", "keypoints", "order")  # display order; others follow


@functools.lru_cache(maxsize=1)
def names() -> tuple[str, ...]:
    """The kind names, without importing their modules."""
    found = {m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")
             and m.name != "base"}
    return tuple(n for n in _FIRST if n in found) + tuple(sorted(found - set(_FIRST)))


KINDS = names()


def kind(name: str) -> ModuleType:
    """The module of a kind; KeyError for an unknown one."""
    if name not in KINDS:
        raise KeyError(name)
    return importlib.import_module(f"tutor.kinds.{name}")


def models() -> dict[str, type]:
    """kind name -> its schema model."""
    return {n: kind(n).Model for n in KINDS}


def question_union():
    """The pydantic discriminated union of every kind's model."""
    from typing import Annotated, Union

    from pydantic import Field

    return Annotated[Union[tuple(models().values())], Field(discriminator="kind")]  # noqa: UP007


def help_text() -> str:
    """One line per kind, for `--help` texts and docs (imports the kind modules)."""
    return "\n".join(f"{n}: {kind(n).SUMMARY}" for n in KINDS)
