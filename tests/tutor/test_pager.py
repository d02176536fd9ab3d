"""Output taller than the terminal goes through the pager, on a terminal only."""

from __future__ import annotations

import io
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest

from tutor.present import console as console_module
from tutor.present.console import console, paged

pty = pytest.importorskip("pty")


def on_a_terminal(args: list[str], tmp_path: Path, lines: int = 20, **env: str):
    """Run `tutor ARGS` on a pseudo-terminal of 80 x `lines` with a PAGER that saves what
    it is given: (what reached the terminal, what reached the pager or None)."""
    saved = tmp_path / "paged.txt"
    saved.unlink(missing_ok=True)
    full = {k: v for k, v in os.environ.items()
            if k not in ("NO_COLOR", "FORCE_COLOR", "TUTOR_PAGER", "LESS")}
    full.update({"COLUMNS": "80", "LINES": str(lines), "TERM": "xterm-256color",
                 "PAGER": f"cat > {saved}", **env})
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "tutor", *args], stdin=slave, stdout=slave,
                            stderr=slave, env=full, close_fds=True)
    os.close(slave)
    out = b""
    while select.select([master], [], [], 60)[0]:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed: the process ended
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(timeout=60) == 0, out.decode(errors="replace")
    os.close(master)
    return out.decode(errors="replace"), (saved.read_text() if saved.exists() else None)


SHOW = ["show", "scaling/why-sqrt-dk"]


@pytest.mark.slow
def test_tall_output_goes_to_the_pager_with_its_styles(tmp_path):
    screen, pager = on_a_terminal(SHOW, tmp_path)
    assert pager is not None and "scaling/why-sqrt-dk" in pager
    assert "\x1b[1m" in pager                       # bold kept: the pager shows colours
    assert len(pager.splitlines()) > 20
    assert "scaling/why-sqrt-dk" not in screen


@pytest.mark.slow
@pytest.mark.parametrize(("args", "env"), [(["--no-pager", *SHOW], {}),
                                           (SHOW, {"TUTOR_PAGER": "0"})],
                         ids=["--no-pager", "TUTOR_PAGER=0"])
def test_the_pager_can_be_turned_off(tmp_path, args, env):
    screen, pager = on_a_terminal(args, tmp_path, **env)
    assert pager is None and "scaling/why-sqrt-dk" in screen


@pytest.mark.slow
def test_output_that_fits_is_printed_and_a_missing_pager_prints(tmp_path):
    screen, pager = on_a_terminal(SHOW, tmp_path, lines=200)
    assert pager is None and "scaling/why-sqrt-dk" in screen
    screen, _ = on_a_terminal(SHOW, tmp_path, PAGER="no-such-pager-here")
    assert "scaling/why-sqrt-dk" in screen


def test_a_pipe_is_never_paged(tmp_path):
    saved = tmp_path / "paged.txt"
    env = {**os.environ, "PAGER": f"cat > {saved}", "LINES": "5", "COLUMNS": "80"}
    out = subprocess.run([sys.executable, "-m", "tutor", *SHOW], env=env, capture_output=True,
                         text=True, check=True).stdout
    assert not saved.exists() and "scaling/why-sqrt-dk" in out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("printed", "height", "expect_paged"), [(30, 24, True),
                                                                 (23, 24, False)])
def test_paged_counts_lines_against_the_terminal_height(monkeypatch, printed, height,
                                                        expect_paged):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setenv("LINES", str(height))
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.delenv("TUTOR_PAGER", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    pages: list[str] = []
    monkeypatch.setattr(console_module, "page", pages.append)
    with paged():
        out = console()
        assert out.width == 40
        for i in range(printed):
            out.print(f"line {i}")
        console(stderr=True).print("a progress line, not captured")
    text = "".join(f"line {i}\n" for i in range(printed))
    assert (pages, terminal.getvalue()) == (([text], "") if expect_paged else ([], text))
