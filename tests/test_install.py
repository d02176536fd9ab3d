"""Install conventions: a licence file matching the metadata, project URLs, and a README
set-up that names the Python version and a virtual environment (CI runs its test line)."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_license_file_matches_the_declared_license():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n")
    assert re.search(r"Copyright \(c\) \d{4} the transformer-tutor authors", text)
    assert "WITHOUT WARRANTY OF ANY KIND" in text


def test_project_urls():
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]
    assert set(urls) >= {"Homepage", "Documentation", "Issues"}
    assert all(u.startswith("https://") for u in urls.values())


def test_readme_set_up_names_python_and_a_virtual_environment():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "project"]["requires-python"]
    assert requires == ">=3.11" and "Python 3.11 or newer" in setup
    for line in ("python3 -m venv .venv && . .venv/bin/activate", "pip install . && tutor quiz",
                 "pipx install .", "uv tool install .", "pip install -e '.[test]' && pytest"):
        assert line in setup, line
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -e '.[test]' && pytest" in ci
