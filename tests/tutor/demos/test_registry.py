"""Every demo in the registry honours the demo contract.

Demos whose module is not importable yet are skipped with a message naming it.
"""

import importlib
import json
import re

import pytest

from tests.tutor.demos._helpers import assert_fits, render_text, run
from tutor import demos
from tutor.demos.registry import DEMOS
from tutor.errors import UsageError

# result keys every demo gets from tutor.demos.compute, not from the module
_COMMON = {"demo", "params", "takeaway"}


def _module(name):
    info = DEMOS[name]
    try:
        return importlib.import_module(info.module)
    except ModuleNotFoundError as exc:
        if exc.name == info.module:
            pytest.skip(f"demo {name!r}: module {info.module} does not exist yet")
        raise


@pytest.fixture(scope="module")
def results():
    return {}


def _result(name, results):
    if name not in results:
        results[name] = run(name)
    return results[name]


@pytest.mark.parametrize("name", sorted(DEMOS))
def test_module_has_compute_and_render(name):
    module = _module(name)
    assert callable(getattr(module, "compute", None)), f"{module.__name__} has no compute()"
    assert callable(getattr(module, "render", None)), f"{module.__name__} has no render()"
    assert module.__doc__, f"{module.__name__} has no docstring documenting its JSON keys"


@pytest.mark.parametrize("name", sorted(DEMOS))
def test_runs_at_defaults_with_json_keys_documented(name, results):
    module = _module(name)
    result = _result(name, results)
    json.dumps(result, allow_nan=False)                 # plain JSON, no NaN
    assert isinstance(result["takeaway"], str) and result["takeaway"].strip()
    assert re.search(r"\d", result["takeaway"]), "the takeaway should quote computed numbers"
    undocumented = [k for k in result if k not in _COMMON
                    and not re.search(rf"\b{re.escape(k)}\b", module.__doc__ or "")]
    assert not undocumented, f"{name}: JSON keys missing from the module docstring: " \
        f"{undocumented}"


@pytest.mark.parametrize("name", sorted(DEMOS))
def test_renders_within_60_columns_at_defaults(name, results):
    _module(name)
    text = render_text(name, _result(name, results))
    assert_fits(text)
    assert "Takeaway" in text


@pytest.mark.parametrize("name", sorted(DEMOS))
def test_bad_option_names_the_option(name):
    _module(name)
    info = DEMOS[name]
    bounded = next((p for p in info.params if p.max is not None and p.type in (int, float)),
                   None)
    if bounded is None:
        pytest.skip(f"demo {name!r} has no numeric bounded option")
    too_big = bounded.max * 2 if bounded.type is float else int(bounded.max) + 1
    value = [too_big] if bounded.multiple else too_big
    with pytest.raises(UsageError, match=re.escape(bounded.flag)):
        demos.prepare(info, {bounded.name: value})


# demos whose figures involve no measured time: the same seed must give the same JSON
_SEEDED = {"scaling": {"d_k": [8, 64], "trials": 20}, "masks": {}, "norms": {"layers": 4},
           "residual": {"layers": 8, "steps": 10}, "activations": {}, "training": {}}


@pytest.mark.parametrize("name", sorted(_SEEDED))
def test_same_seed_same_figures_other_seed_other_figures(name):
    _module(name)
    a = run(name, seed=11, **_SEEDED[name])
    assert a == run(name, seed=11, **_SEEDED[name])
    if name not in ("activations", "training"):               # these use no randomness
        assert a != run(name, seed=12, **_SEEDED[name])
