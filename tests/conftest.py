import os

import pytest
from hypothesis import settings

# CI runs the same examples every time (a new failing example is found locally, then kept
# as a regression case); local runs explore fresh examples.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """No test ever touches the real data directory or a user's extra banks."""
    monkeypatch.setenv("TUTOR_HOME", str(tmp_path / "tutor-home"))
    monkeypatch.delenv("TUTOR_BANK", raising=False)
    monkeypatch.delenv("TUTOR_NOW", raising=False)
