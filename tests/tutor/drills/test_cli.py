"""`tutor drill` through the real CLI: stubs, checks in the child process, hostile files,
the store, the solution lock, --json, --watch and start-up cost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tutor.cli import app
from tutor.drills.registry import get_drill, list_drills

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[3]
NOW = "2026-12-01T09:00:00Z"

SOFTMAX = (get_drill("softmax").solution_path.read_text(encoding="utf-8"))


def run(*args, env=None):
    return runner.invoke(app, list(args),
                         env={"TUTOR_NOW": NOW, "COLUMNS": "200", **(env or {})})


def home() -> Path:
    return Path(os.environ["TUTOR_HOME"])


def write(tmp_path, text: str, name: str = "attempt.py") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- list and stubs

def test_list_json_has_every_drill_with_its_status():
    r = run("drill", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [row["name"] for row in rows] == [d.name for d in list_drills()]
    assert all({"name", "topic", "difficulty", "status"} <= set(row) for row in rows)
    assert {row["status"] for row in rows} == {"new"}


def test_no_drill_name_collides_with_a_subcommand():
    from typer.main import get_group

    from tutor.drills.cli import app as drill_app

    commands = set(get_group(drill_app).commands)
    assert commands == {"start", "check", "show"}
    assert not commands & {d.name for d in list_drills()}


def test_stub_is_written_kept_and_refreshed_with_a_backup():
    r = run("drill", "attention")
    path = home() / "drills" / "attention.py"
    assert r.exit_code == 0 and str(path) in r.stdout
    text = path.read_text(encoding="utf-8")
    assert "def attention(q, k, v, mask=None):" in text and "raise NotImplementedError" in text
    assert "1 / sqrt(d)" in text                      # the conventions are in the docstring
    path.write_text("# my work\n", encoding="utf-8")
    r = run("drill", "attention")
    assert "already exists" in r.stdout and path.read_text(encoding="utf-8") == "# my work\n"
    r = run("drill", "attention", "--fresh")
    backups = list(path.parent.glob("attention.*.bak.py"))
    assert len(backups) == 1 and backups[0].read_text(encoding="utf-8") == "# my work\n"
    assert path.read_text(encoding="utf-8") == text


def test_unknown_drill_is_a_usage_error_with_suggestions():
    r = run("drill", "check", "sofmax")
    assert r.exit_code == 2 and "did you mean softmax" in r.stderr


def test_the_stub_fails_until_it_is_written():
    run("drill", "softmax")
    r = run("drill", "check", "softmax")
    assert r.exit_code == 1
    assert "NotImplementedError: the stub is not filled in yet" in r.stdout
    assert "Traceback" not in r.output


# --------------------------------------------------------------------------- pass and fail

def test_a_correct_file_passes_and_becomes_a_card(tmp_path):
    f = write(tmp_path, SOFTMAX)
    r = run("drill", "check", "softmax", "--file", str(f), "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["passed"] is True and data["due"] > NOW
    assert all(c["passed"] for c in data["checks"])
    rows = {row["name"]: row for row in json.loads(run("drill", "--json").stdout)}
    assert rows["softmax"]["status"] == "passed"
    later = run("drill", "--json", env={"TUTOR_NOW": "2026-12-05T09:00:00Z"})
    assert {r["name"]: r for r in json.loads(later.stdout)}["softmax"]["status"] == "due"


def test_a_wrong_file_fails_shows_the_case_and_is_recorded_as_failed(tmp_path):
    f = write(tmp_path, "import numpy as np\n\ndef softmax(x, axis=-1):\n"
                        "    e = np.exp(x)\n    return e / e.sum(axis=axis, keepdims=True)\n")
    r = run("drill", "check", "softmax", "--file", str(f))
    assert r.exit_code == 1
    out = r.stdout
    assert "smallest failing case (large logits (no overflow))" in out
    assert "x = ndarray (2,) float64" in out and "expected:" in out and "received:" in out
    assert "first difference at index [0]:" in out
    assert "exp without subtracting the max first" in out       # the mistake is named
    assert "tolerances:\n  float64: |received - expected| <= 1e-09" in out
    status = {r["name"]: r["status"] for r in json.loads(run("drill", "--json").stdout)}
    assert status["softmax"] == "failed"


def test_show_waits_for_a_pass_unless_spoiled(tmp_path):
    r = run("drill", "show", "softmax")
    assert r.exit_code == 1 and "--spoil" in r.stderr
    assert "def softmax" in run("drill", "show", "softmax", "--spoil").stdout
    run("drill", "check", "softmax", "--file", str(write(tmp_path, SOFTMAX)))
    r = run("drill", "show", "softmax")
    assert r.exit_code == 0 and "np.max(x, axis=axis, keepdims=True)" in r.stdout


def test_the_review_goes_through_the_store():
    from tutor.clock import parse_now
    from tutor.drills.progress import status
    from tutor.store import open_store

    run("drill", "softmax")
    run("drill", "check", "softmax")
    with open_store() as store:
        rows = store.cards()
        assert store.count("reviews") == 1
    assert status("softmax", rows, parse_now(NOW, "test")) == "failed"


# --------------------------------------------------------------------------- hostile files

HOSTILE = {
    "endless loop": ("def softmax(x, axis=-1):\n    while True:\n        pass\n",
                     "did not finish within the time limit of 2 s"),
    "30 GB allocation": ("import numpy as np\n\ndef softmax(x, axis=-1):\n"
                         "    return np.ones(30 * 2**30 // 8)\n",
                         "ran out of memory (the limit is 2 GiB)"),
    "30 GB at import": ("big = bytearray(30 * 2**30)\n", "MemoryError"),
    "os._exit": ("import os\n\ndef softmax(x, axis=-1):\n    os._exit(3)\n",
                 "the process exited with code 3"),
    "sys.exit at import": ("import sys\nsys.exit(2)\n", "called exit(2)"),
    "printing megabytes": ("def softmax(x, axis=-1):\n    print('x' * 3_000_000)\n"
                           "    return x\n", "more bytes not shown"),
    "syntax error": ("def softmax(x, axis=-1)\n    return x\n",
                     "attempt.py:1: syntax error: expected ':'"),
    "missing function": ("def soft_max(x, axis=-1):\n    return x\n",
                         "`softmax` is missing (it defines soft_max)"),
    "wrong return type": ("def softmax(x, axis=-1):\n    return x.tolist()\n",
                          "returned list; expected a numpy array"),
    "an exception": ("def helper(x):\n    return x / undefined\n\n"
                     "def softmax(x, axis=-1):\n    return helper(x)\n",
                     "attempt.py:2 in helper: return x / undefined"),
    "a segfault": ("import ctypes\n\ndef softmax(x, axis=-1):\n    ctypes.string_at(0)\n",
                   "killed by signal SIGSEGV"),
    "a forked child": ("import os, time\n\ndef softmax(x, axis=-1):\n    if os.fork() == 0:\n"
                       "        time.sleep(60)\n    while True:\n        pass\n",
                       "did not finish within the time limit"),
}


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_hostile_file_is_stopped_with_a_clear_message(tmp_path, kind):
    text, expected = HOSTILE[kind]
    f = write(tmp_path, text)
    start = time.perf_counter()
    r = run("drill", "check", "softmax", "--file", str(f), "--time-limit", "2")
    elapsed = time.perf_counter() - start
    assert r.exit_code == 1, r.output
    assert expected in r.stdout, r.stdout
    assert "Traceback" not in r.output and "internal error" not in r.output
    assert elapsed < 15


def test_printed_output_is_shown_truncated(tmp_path):
    f = write(tmp_path, "import sys\n\ndef softmax(x, axis=-1):\n    print('hello from x')\n"
                        "    sys.stdout.write('y' * 1_000_000)\n    return x\n")
    data = json.loads(run("drill", "check", "softmax", "--file", str(f), "--json").stdout)
    assert data["stdout"].startswith("hello from x")
    assert len(data["stdout"]) < 20_000 and "more bytes not shown" in data["stdout"]


def test_importing_the_engine_is_not_a_pass(tmp_path):
    f = write(tmp_path, "from engine.functional import softmax\n")
    data = json.loads(run("drill", "check", "softmax", "--file", str(f), "--json").stdout)
    assert data["passed"] is False
    assert [c["name"] for c in data["checks"] if not c["passed"]] == ["written from scratch"]


def test_in_place_changes_to_the_input_are_reported(tmp_path):
    body = SOFTMAX.replace("e = np.exp(x - m)", "x -= m\n    e = np.exp(x)")
    f = write(tmp_path, body)
    data = json.loads(run("drill", "check", "softmax", "--file", str(f), "--json").stdout)
    assert data["passed"] is False
    bad = [c for c in data["checks"] if not c["passed"]]
    assert bad[0]["name"] == "inputs left unchanged" and "argument x" in bad[0]["message"]


def test_the_child_and_this_process_grade_alike(tmp_path):
    from tutor.drills.grading import check, check_function

    bad = "import numpy as np\n\ndef gelu(x):\n    return 0.5 * x * (1 + np.tanh(x))\n"
    f = write(tmp_path, bad)
    namespace: dict = {}
    exec(compile(bad, str(f), "exec"), namespace)
    a, b = check("gelu", f), check_function("gelu", namespace["gelu"])
    assert [(c.name, c.result) for c in a.checks] == [(c.name, c.result) for c in b.checks]
    assert a.failing_case.received_value == b.failing_case.received_value


# --------------------------------------------------------------------------- watch, start-up

@pytest.mark.slow
def test_watch_rechecks_on_save_and_ctrl_c_exits_130(tmp_path):
    f = write(tmp_path, "def softmax(x, axis=-1):\n    return x\n")
    env = {**os.environ, "TUTOR_NOW": NOW, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "tutor", "drill", "check", "softmax",
                             "--file", str(f), "--watch"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4)                      # the first check
        f.write_text(SOFTMAX, encoding="utf-8")
        time.sleep(4)                      # noticed within 0.5 s, checked again
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert out.count("FAILED") == 1 and out.count("PASSED") == 1
    assert "stopped watching" in out and "Traceback" not in err


def test_help_does_not_import_numpy():
    code = ("import sys\nfrom tutor.cli import main\nsys.argv = ['tutor', 'drill', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('NUMPY' if 'numpy' in sys.modules else 'NO NUMPY')\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60).stdout
    assert out.strip().endswith("NO NUMPY")


def test_a_broken_store_does_not_hide_the_result(tmp_path):
    (home() / "progress.db").mkdir(parents=True)
    f = write(tmp_path, SOFTMAX)
    r = run("drill", "check", "softmax", "--file", str(f))
    assert r.exit_code == 0 and "PASSED" in r.stdout
    assert "warning: the result was not saved" in r.stderr
