"""Keep the docs' transcripts real.

Every ```console block in README.md and docs/*.md holds lines `$ tutor ...`
followed by that command's output. `python docs/transcripts.py` reruns every
command and rewrites the blocks; the test suite reruns them and fails when the
docs and the real output drift apart.

Commands run from the repository root with NO_COLOR=1, COLUMNS=72, an empty
TUTOR_HOME (shared by the commands of one document, in order), a fixed
TUTOR_NOW and no TUTOR_BANK, so the output is the same on every machine. A
line `$ printf '...' | tutor ...` feeds the printf text to the command's stdin.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"```console\n(.*?)```", re.S)
WIDTH = 72


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def commands(block: str) -> list[tuple[str, str]]:
    """(command, expected output) pairs of one console block."""
    out: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line)
    return [(cmd, "\n".join(lines).rstrip()) for cmd, lines in out]


PIPED = re.compile(r"^printf '((?:[^'\\]|\\.)*)' \| (tutor .*)$")
NOW = "2026-11-23T09:00:00Z"  # TUTOR_NOW: the quiz's clock, fixed so its output is too


def run(command: str, home: str) -> str:
    stdin = ""
    piped = PIPED.match(command)
    if piped:
        stdin = piped.group(1).encode().decode("unicode_escape")
        command = piped.group(2)
    args = shlex.split(command)
    if args[0] != "tutor":
        raise ValueError(f"transcripts run only tutor commands, not {command!r}")
    env = {k: v for k, v in os.environ.items() if k not in ("TUTOR_BANK", "FORCE_COLOR")}
    env.update(NO_COLOR="1", COLUMNS=str(WIDTH), LINES="50", TUTOR_HOME=home,
               TERM="dumb", PYTHONIOENCODING="utf-8", TUTOR_NOW=NOW)
    r = subprocess.run([sys.executable, "-m", "tutor", *args[1:]], cwd=ROOT, env=env,
                       input=stdin, capture_output=True, text=True, timeout=120)
    text = r.stdout + r.stderr
    return "\n".join(line.rstrip() for line in text.rstrip().splitlines())


def render(block: str, home: str) -> str:
    parts = []
    for cmd, _ in commands(block):
        parts.append(f"$ {cmd}\n{run(cmd, home)}".rstrip())
    return "\n".join(parts) + "\n"


def check(doc: Path) -> list[tuple[str, str, str]]:
    """Rerun a document's commands in order: (command, expected, actual) for each."""
    out = []
    with tempfile.TemporaryDirectory() as home:
        for block in BLOCK.findall(doc.read_text(encoding="utf-8")):
            for cmd, expected in commands(block):
                out.append((cmd, expected, run(cmd, home)))
    return out


def update() -> None:
    for doc in documents():
        with tempfile.TemporaryDirectory() as home:
            text = doc.read_text(encoding="utf-8")
            new = BLOCK.sub(lambda m: "```console\n" + render(m.group(1), home) + "```", text)
        if new != text:
            doc.write_text(new, encoding="utf-8")
            print(f"updated {doc.relative_to(ROOT)}")


if __name__ == "__main__":
    update()
