"""Where answers come from: a terminal (prompts, asked again) or a pipe (the line protocol)."""

from __future__ import annotations

import sys

COMMANDS = {"d": "prove it", "h": "hint", "s": "skip", "q": "quit"}


class Quit(Exception):
    """The user typed q, or the input ended."""


class Skip(Exception):
    """The user skipped the card."""


class Lines:
    """One line at a time, from a terminal (with a prompt) or from stdin (counted)."""

    def __init__(self, interactive: bool, out) -> None:
        self.interactive = interactive
        self.out = out
        self.line_no = 0

    def read(self, prompt: str = "> ") -> str | None:
        if self.interactive:
            from rich.text import Text

            try:
                self.out.print(Text(prompt, style="bold cyan"), end="")
                return input()
            except EOFError:
                return None
        line = sys.stdin.readline()
        if not line:
            return None
        self.line_no += 1
        return line.rstrip("\r\n")

    def where(self) -> str:
        return f"input line {self.line_no}"
