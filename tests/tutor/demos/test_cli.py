import json

from typer.testing import CliRunner

from tutor.cli import app

runner = CliRunner()


def test_demo_json_prints_one_object_with_documented_keys():
    result = runner.invoke(app, ["demo", "scaling", "--json", "--d-k", "16", "--d-k", "1024",
                                 "--trials", "50", "--seed", "3"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["demo"] == "scaling" and data["params"]["seed"] == 3
    assert data["d_k"] == [16, 1024]
    assert data["max_weight_raw"][1] > 0.9 > 0.5 > data["max_weight_scaled"][1]


def test_demo_by_alias_same_seed_same_json():
    a = runner.invoke(app, ["demo", "gelu", "--json"])
    b = runner.invoke(app, ["demo", "activations", "--json"])
    assert a.exit_code == b.exit_code == 0
    assert json.loads(a.stdout) == json.loads(b.stdout)


def test_bad_option_value_exits_2_with_one_line():
    result = runner.invoke(app, ["demo", "scaling", "--trials", "0"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --trials")
    assert "Traceback" not in result.stderr


def test_too_big_combination_is_refused_before_any_work():
    result = runner.invoke(app, ["demo", "scaling", "--trials", "5000", "--n-keys", "4096"])
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "\n" not in line and "largest --trials allowed" in line


def test_warmup_not_below_steps_exits_2():
    result = runner.invoke(app, ["demo", "training", "--warmup", "50", "--steps", "20"])
    assert result.exit_code == 2
    assert "largest --warmup allowed is 19" in result.stderr
