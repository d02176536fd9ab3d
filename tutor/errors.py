"""Domain errors. The core raises these; only the CLI turns them into exit codes."""

from __future__ import annotations


class TutorError(Exception):
    """A problem the user can fix. `hint` is an optional second sentence on how."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class UsageError(TutorError):
    """A bad option or argument value (exit code 2)."""

    exit_code = 2


class BankError(TutorError):
    """The question bank cannot be used (every file failed, or a fatal load error)."""


class StoreError(TutorError):
    """The progress store cannot be opened or is damaged."""
