"""The wheel carries the built-in bank, and an installed tutor finds it from any directory."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir",
                    str(out), str(ROOT)], check=True, capture_output=True)
    (path,) = out.glob("transformer_tutor-*.whl")
    return path


def test_wheel_contains_packages_bank_and_entry_point(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    source = sorted(p.name for p in (ROOT / "questions").glob("*.yaml"))
    packaged = sorted(Path(n).name for n in names
                      if n.startswith("tutor/_builtin_questions/") and n.endswith(".yaml"))
    assert packaged == source and source
    assert "engine/attention.py" in names and "tutor/cli/__init__.py" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "tutor = tutor.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_installed_wheel_finds_every_question_from_another_directory(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PYTHONPATH": str(site), "TUTOR_HOME": str(tmp_path / "home"), "PATH": "/usr/bin"}
    r = subprocess.run([sys.executable, "-m", "tutor", "list", "--json"], cwd=elsewhere,
                       env=env, capture_output=True, text=True, check=True)
    ids = {q["id"] for q in json.loads(r.stdout)}
    from tutor.bank import load_paths

    expected = set(load_paths([ROOT / "questions"], against_builtin=False).questions)
    assert ids == expected and ids
