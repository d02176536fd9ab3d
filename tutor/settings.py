"""`settings.toml` in the tutor home: `new_per_day = 10`, `desired_retention = 0.9`."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass

from tutor import scheduling
from tutor.errors import TutorError

DEFAULT_NEW_PER_DAY = 10


@dataclass(frozen=True)
class Settings:
    new_per_day: int = DEFAULT_NEW_PER_DAY
    desired_retention: float = scheduling.DESIRED_RETENTION


def load_settings() -> Settings:
    from tutor.paths import tutor_home

    path = tutor_home() / "settings.toml"
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise TutorError(f"{path}: {e}", "fix the file or delete it to use the defaults") from None
    except OSError as e:
        raise TutorError(f"{path}: cannot be read ({e.strerror})",
                         "it should be a settings file; remove it to use the defaults") from None
    unknown = sorted(set(data) - {"new_per_day", "desired_retention"})
    if unknown:
        raise TutorError(f"{path}: unknown setting {unknown[0]!r}",
                         "the settings are new_per_day and desired_retention")
    new = data.get("new_per_day", DEFAULT_NEW_PER_DAY)
    if not isinstance(new, int) or isinstance(new, bool) or new < 0:
        raise TutorError(f"{path}: new_per_day = {new!r} must be a whole number >= 0")
    retention = data.get("desired_retention", scheduling.DESIRED_RETENTION)
    if not isinstance(retention, int | float) or not 0.7 <= retention <= 0.99:
        raise TutorError(f"{path}: desired_retention = {retention!r} must be between "
                         "0.7 and 0.99")
    return Settings(new, float(retention))
