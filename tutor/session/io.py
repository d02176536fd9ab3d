"""Where answers come from: a terminal (line editing, history) or a pipe (the line protocol).

Commands start with a colon, on every kind of card, so no answer is ever taken for
one: `:d` prove it, `:h` hint, `:s` skip, `:u` undo the last answer, `:b` bury
until tomorrow, `:x` suspend, `:q` quit, and `?` (or `:?`) for this list.
"""

from __future__ import annotations

import sys

COMMANDS = {":d": "prove it", ":h": "hint", ":s": "skip", ":u": "undo last",
            ":b": "bury", ":x": "suspend", ":q": "quit", "?": "help"}
FOOTER = ":d prove it · :h hint · :s skip · :u undo · :q quit · ? more"


def command(text: str) -> str | None:
    """The command a line is, or None for an answer. Commands need their colon."""
    t = text.strip().lower()
    if t in ("?", ":?", ":help"):
        return "?"
    return t if t in COMMANDS else None


class Quit(Exception):
    """The user typed :q, or the input ended."""


class Skip(Exception):
    """The user skipped the card."""


class Undo(Exception):
    """The user asked to take back the last answer."""


class HoldBack(Exception):
    """The user buried (:b) or suspended (:x) the card."""

    def __init__(self, how: str) -> None:
        super().__init__(how)
        self.how = how


class Lines:
    """One answer at a time, from a terminal (prompt_toolkit: arrow keys, Ctrl-A/E, history,
    Alt-Enter for a new line) or from stdin (one line each, counted)."""

    def __init__(self, interactive: bool, out) -> None:
        self.interactive = interactive
        self.out = out
        self.line_no = 0
        self._prompt = None

    def _session(self):
        if self._prompt is None:
            from prompt_toolkit import PromptSession
            from prompt_toolkit.history import InMemoryHistory
            from prompt_toolkit.key_binding import KeyBindings

            keys = KeyBindings()

            @keys.add("escape", "enter")
            def _newline(event) -> None:
                event.current_buffer.insert_text("\n")

            self._prompt = PromptSession(history=InMemoryHistory(), key_bindings=keys)
        return self._prompt

    def read(self, prompt: str = "> ", multiline: bool = False) -> str | None:
        if self.interactive:
            try:
                return self._session().prompt(prompt)
            except EOFError:
                return None
        line = sys.stdin.readline()
        if not line:
            return None
        self.line_no += 1
        return line.rstrip("\r\n")

    def where(self) -> str:
        return f"input line {self.line_no}"
