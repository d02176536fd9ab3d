"""tokenization demo: BPE on the bank, checked against separate training runs and arithmetic."""

import io
import json

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from engine.bpe import train_bpe
from tutor.cli import app
from tutor.demos import DEMOS, render
from tutor.demos.tokenization import split_corpus


@pytest.fixture(scope="module")
def result():
    out = CliRunner().invoke(app, ["demo", "tokenization", "--json", "--seed", "1",
                                   "--vocab", "300", "--vocab", "600"])
    assert out.exit_code == 0, out.stderr
    return json.loads(out.stdout)


def test_round_trip_is_exact_and_bpe_has_no_oov(result):
    assert result["roundtrip_ok"] is True
    assert all(r["bpe_oov_rate"] == 0.0 for r in result["sizes"])
    assert result["unseen"]["roundtrip_ok"] is True
    assert result["unseen"]["word_oov"] > 0            # the word vocabulary cannot say it
    assert result["corpus"]["source"] == "question bank"


def test_tokens_per_word_fall_and_match_a_separate_training_run(result):
    rows = {r["vocab"]: r for r in result["sizes"]}
    assert list(rows) == [256, 300, 600]
    tpw = [r["tokens_per_word"] for r in result["sizes"]]
    assert tpw[0] > tpw[1] > tpw[2]
    # train directly to 300 on the same split: the demo's prefix of a 600 run must agree
    train, held_out, _ = split_corpus(np.random.default_rng(1))
    direct = train_bpe(train, 300)
    ids = direct.encode(held_out)
    assert rows[300]["held_out_tokens"] == len(ids)
    assert rows[300]["tokens_per_word"] == pytest.approx(len(ids) / len(held_out.split()))
    # bytes only: one token per UTF-8 byte
    assert rows[256]["held_out_tokens"] == len(held_out.encode("utf-8"))


def test_word_level_oov_shrinks_with_vocabulary_but_stays(result):
    oov = [r["word_oov_rate"] for r in result["sizes"]]
    assert oov[0] >= oov[1] >= oov[2] > result["all_words_oov_rate"] > 0


def test_embedding_parameters_are_vocab_times_d(result):
    for r in result["sizes"]:
        assert r["embedding"] == r["untied_head"] == r["vocab"] * 4096
    table = {t["name"]: t for t in result["embedding_table"]}
    assert table["100K vocab"]["embedding"] == 409_600_000            # 100K x 4096
    assert table["llama-3-8b"]["embedding"] == 128_256 * 4096
    out = CliRunner().invoke(app, ["demo", "tokenization", "--json", "--vocab", "260",
                                   "--d-model", "512"])
    assert json.loads(out.stdout)["embedding_table"][0]["embedding"] == 100_000 * 512


def test_renders_within_60_columns(result):
    out = io.StringIO()
    Console(width=60, file=out, color_system=None).print(render(DEMOS["tokenization"], result))
    lines = out.getvalue().splitlines()
    assert max(map(len, lines)) <= 60
    assert any("Takeaway" in line for line in lines)
