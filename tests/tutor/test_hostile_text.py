"""A shared bank is untrusted: its escape sequences and markup never reach the terminal, and
any bytes a user types are kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tutor.format import visible

OSC52 = "\x1b]52;c;aGFja2Vk\x1b\\"
BANK = r'''
topic: inj
title: "Plain [link=file:///etc/passwd]x[/link] [/]"
questions:
  - id: inj/q1
    kind: choice
    difficulty: 1
    prompt: "clip\e]52;c;aGFja2Vk\e\\ end [bold]x[/] [/] \u009b2J"
    answer: "answer\e[2J"
    hint: "hint\e]8;;http://x\e\\"
    options:
      - text: "opt\e]52;c;aGFja2Vk\e\\"
        correct: true
        explanation: "why\e[2J"
      - text: other
        explanation: nope
'''


@pytest.fixture()
def env(tmp_path):
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "q.yaml").write_text(BANK, encoding="utf-8")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / f"x{OSC52}.yaml").write_text("topic: [\n", encoding="utf-8")
    e = {**os.environ, "TUTOR_HOME": str(tmp_path / "home"), "TUTOR_NOW": "2026-03-01T12:00Z"}
    e.pop("TUTOR_BANK", None)
    return bank, bad, e


def run(env, *args, stdin=""):
    return subprocess.run([sys.executable, "-m", "tutor", *args], input=stdin.encode()
                          if isinstance(stdin, str) else stdin, capture_output=True, env=env,
                          timeout=60)


def test_visible_shows_controls_and_keeps_text():
    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible("\u009b2J") == "\\x9b2J" and visible("x\u202ey") == "x\\u202ey"
    assert visible("tab\tand\nnewline, ünïcode √") == "tab\tand\nnewline, ünïcode √"


@pytest.mark.parametrize("args", [["list", "--topic", "inj"], ["topics"], ["show", "inj/q1"],
                                  ["export", "markdown", "-o", "-"]])
def test_no_escape_sequence_reaches_stdout(env, args, tmp_path):
    bank, _, e = env
    if args[0] == "export":
        args = ["export", "markdown", "-o", str(tmp_path / "g.md"), "--topic", "inj"]
    r = run(e, "--bank", str(bank), *args)
    assert r.returncode == 0, r.stderr
    out = r.stdout + (tmp_path / "g.md").read_bytes() if args[0] == "export" else r.stdout
    assert b"\x1b]" not in out and b"\x1b[2J" not in out and "\u009b".encode() not in out
    assert b"\\x1b" in out or args[0] == "topics"


def test_markup_in_bank_text_is_shown_as_text(env):
    bank, _, e = env
    r = run(e, "--bank", str(bank), "topics")
    assert r.returncode == 0 and b"[link=file:///etc/passwd]" in r.stdout
    r = run(e, "--bank", str(bank), "list", "--topic", "inj")
    assert r.returncode == 0 and b"[bold]x[/] [/]" in r.stdout


def test_quiz_screen_and_hint_carry_no_escapes(env):
    bank, _, e = env
    r = run(e, "--bank", str(bank), "quiz", "--topic", "inj", stdin="h\nA\n")
    assert r.returncode == 0, r.stderr
    both = r.stdout + r.stderr
    assert b"\x1b]" not in both and b"\x1b[2J" not in both


def test_a_file_name_with_escapes_is_shown_visibly_in_warnings(env):
    _, bad, e = env
    r = run(e, "--bank", str(bad), "list")
    assert b"\x1b]" not in r.stderr and b"\\x1b]52" in r.stderr


def test_any_bytes_typed_as_an_answer_are_saved(env):
    bank, _, e = env
    r = run(e, "--bank", str(bank), "quiz", "--topic", "inj", "--json",
            stdin=b"\xff\xfeA\n")
    assert r.returncode == 0, r.stderr
    # the unreadable letters count as wrong, and the answer is kept, whatever its bytes
    graded = json.loads(r.stdout.splitlines()[0])
    assert graded["correct"] is False and graded["answer"].endswith("A")


def test_a_terminal_that_cannot_show_unicode_gets_escapes_not_a_crash(env):
    bank, _, e = env
    r = run({**e, "PYTHONIOENCODING": "ascii"}, "--bank", str(bank), "show",
            "attention/why-multi-head")
    assert r.returncode == 0, r.stderr
    assert b"attention/why-multi-head" in r.stdout


def test_closed_stdio_and_a_settings_folder_give_one_line(env, tmp_path):
    _, _, e = env
    closed_out = subprocess.run([sys.executable, "-m", "tutor", "--version"], env=e,
                                stdout=subprocess.DEVNULL, capture_output=False,
                                stderr=subprocess.PIPE, timeout=60, close_fds=True,
                                preexec_fn=lambda: os.close(1))
    assert closed_out.returncode == 1 and b"stdout is closed" in closed_out.stderr
    assert b"Traceback" not in closed_out.stderr
    closed_in = subprocess.run([sys.executable, "-m", "tutor", "quiz", "--topic", "masks"],
                               env=e, capture_output=True, timeout=60,
                               preexec_fn=lambda: os.close(0))
    assert closed_in.returncode == 0 and b"Traceback" not in closed_in.stderr
    home = Path(e["TUTOR_HOME"])
    (home / "settings.toml").mkdir(parents=True)
    r = run(e, "quiz", stdin=":q\n")
    assert r.returncode == 1 and b"settings.toml: cannot be read" in r.stderr


@pytest.mark.parametrize("when", ["9999-12-31T23:00:00Z", "0001-01-01T00:00:00Z"])
def test_a_clock_at_the_far_ends_is_a_usage_error(env, when):
    bank, _, e = env
    r = run({**e, "TUTOR_NOW": when}, "stats")
    assert r.returncode == 2 and b"TUTOR_NOW" in r.stderr and b"Traceback" not in r.stderr
