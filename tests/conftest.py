import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """No test ever touches the real data directory or a user's extra banks."""
    monkeypatch.setenv("TUTOR_HOME", str(tmp_path / "tutor-home"))
    monkeypatch.delenv("TUTOR_BANK", raising=False)
    monkeypatch.delenv("TUTOR_NOW", raising=False)
