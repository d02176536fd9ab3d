"""The question bank: YAML files in, validated question models out.

Names load lazily, so `tutor.bank.index` can be used without importing pydantic.
"""

from __future__ import annotations

import importlib

_EXPORTS = {"Bank": "core", "Problem": "core", "Topic": "core", "load_bank": "loader",
            "load_file": "loader", "load_paths": "loader", "load_index": "index"}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tutor.bank' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tutor.bank.{module}"), name)


__all__ = sorted(_EXPORTS)
