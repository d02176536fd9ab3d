"""Engine arrays of one transformers submodule saved in a fixture (test_moe, test_mla)."""

from __future__ import annotations


def block_sd(golden: dict, key: str) -> dict:
    """The submodule's state dict, saved under "<key>/sd/<HF name>"."""
    return {k.removeprefix(f"{key}/sd/"): v for k, v in golden.items()
            if k.startswith(f"{key}/sd/")}


def convert(sd: dict, weight_map: dict) -> dict:
    """Apply an engine weight map (HF name -> function giving engine arrays)."""
    assert set(sd) == set(weight_map)        # every HF array has a place, and only those
    params = {}
    for name, to_engine in weight_map.items():
        params |= to_engine(sd[name])
    return params
