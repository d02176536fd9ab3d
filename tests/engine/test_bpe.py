"""Byte-level BPE checked against a recount-everything implementation and by hand."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.bpe import (
    BPETokenizer,
    oov_rate,
    pretokenize,
    tokens_per_word,
    train_bpe,
    word_vocabulary,
)

TEXT = (
    "The quick brown fox jumps over the lazy dog. The dog didn't care; the fox's\n"
    "jumping was 1234 times quicker than the dog's. Über-naïve café owners said: "
    "«the fox, the fox!» 日本語のテキストも少し。\n\n  Indented   lines   and tabs\there.\n"
) * 3


def naive_train(text: str, vocab_size: int) -> list[tuple[int, int]]:
    """Textbook BPE: recount every pair of every word occurrence before each merge."""
    words = [list(w.encode("utf-8")) for w in pretokenize(text)]
    merges = []
    while 256 + len(merges) < vocab_size:
        counts = Counter(p for w in words for p in zip(w[:-1], w[1:], strict=True))
        if not counts:
            break
        best = max(counts, key=lambda p: (counts[p], -p[0], -p[1]))  # ties: smallest pair
        new_id = 256 + len(merges)
        merges.append(best)
        for k, w in enumerate(words):
            out, i = [], 0
            while i < len(w):
                if w[i:i + 2] == list(best):
                    out.append(new_id)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            words[k] = out
    return merges


def naive_encode(merges, text: str) -> list[int]:
    """Apply every merge, in training order, to every word."""
    ids = []
    for word in pretokenize(text):
        w = list(word.encode("utf-8"))
        for rank, pair in enumerate(merges):
            out, i = [], 0
            while i < len(w):
                if tuple(w[i:i + 2]) == pair:
                    out.append(256 + rank)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            w = out
        ids.extend(w)
    return ids


def test_wikipedia_example_by_hand():
    # aaabdaaabac: aa -> Z (4 pairs), then ab and Za tie at 2 and ab = (97, 98) is the
    # smaller pair, then ZY -> X, leaving X d X a c
    tok = train_bpe("aaabdaaabac", 259)
    assert tok.merges == ((97, 97), (97, 98), (256, 257))
    assert tok.encode("aaabdaaabac") == [258, ord("d"), 258, ord("a"), ord("c")]
    assert tok.vocab[258] == b"aaab"


@pytest.mark.parametrize("vocab_size", [256, 270, 400, 600])
def test_merges_match_naive_bpe(vocab_size):
    tok = train_bpe(TEXT, vocab_size)
    assert list(tok.merges) == naive_train(TEXT, vocab_size)


def test_merges_match_naive_bpe_on_source_code():
    # a few kB of real text, so merges go well past the first few hundred ties
    text = Path(__file__).read_text(encoding="utf-8")[:5000]
    assert list(train_bpe(text, 456).merges) == naive_train(text, 456)


@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet="ab c\n'é1.", max_size=80), extra=st.integers(0, 30))
def test_merges_match_naive_bpe_on_random_text(text, extra):
    assert list(train_bpe(text, 256 + extra).merges) == naive_train(text, 256 + extra)


def test_encode_matches_applying_merges_in_order():
    tok = train_bpe(TEXT, 500)
    for text in (TEXT, "unseen words: quickest foxes, dogs' cafés, 12345678", ""):
        assert tok.encode(text) == naive_encode(tok.merges, text)


def test_training_is_deterministic_and_stops_when_out_of_pairs():
    assert train_bpe(TEXT, 450) == train_bpe(TEXT, 450)
    assert train_bpe(TEXT, 450).merges[:100] == train_bpe(TEXT, 356).merges
    tiny = train_bpe("ab ab", 10_000)        # only "ab" and " ab" can be formed
    assert tiny.merges == ((97, 98), (32, 256))
    assert tiny.vocab_size == 258


def test_vocab_entries_are_concatenated_merges():
    tok = train_bpe(TEXT, 400)
    for rank, (a, b) in enumerate(tok.merges):
        assert tok.vocab[256 + rank] == tok.vocab[a] + tok.vocab[b]
    # BPE shortens the text it was trained on
    assert len(tok.encode(TEXT)) < 0.6 * len(TEXT.encode("utf-8"))


@settings(max_examples=150, deadline=None)
@given(text=st.text())
def test_decode_inverts_encode(text):
    tok = train_bpe(TEXT, 400)
    assert tok.decode(tok.encode(text)) == text
    assert "".join(pretokenize(text)) == text


def test_pretokenize_splits_like_gpt2():
    assert pretokenize("Hello world's 123!! _x  end\n") == \
        ["Hello", " world", "'s", " 123", "!!", " _", "x", " ", " end", "\n"]


def test_decode_of_split_utf8_uses_replacement_character():
    tok = BPETokenizer(())
    assert tok.decode(list("é".encode())[:1]) == "\ufffd"


def test_bad_arguments():
    with pytest.raises(ValueError):
        train_bpe("abc", 255)
    with pytest.raises(ValueError):
        BPETokenizer(()).decode([256])
    with pytest.raises(ValueError):
        BPETokenizer(((300, 1),))
    with pytest.raises(ValueError):
        tokens_per_word(BPETokenizer(()), "   ")
    with pytest.raises(ValueError):
        oov_rate("a b", "", 2)


def test_tokens_per_word_and_oov_rate_by_hand():
    assert tokens_per_word(BPETokenizer(()), "ab cde") == 6 / 2   # one token per byte
    assert tokens_per_word(train_bpe("ab cde " * 5, 1000), "ab cde") == 1.0
    train = "the cat the dog the cat"
    assert word_vocabulary(train, 2) == ("the", "cat")
    assert oov_rate(train, "the cow", 2) == 0.5
    assert oov_rate(train, "the dog, the cat", 3) == pytest.approx(1 / 5)   # only "," is unseen
    assert oov_rate(train, "the cow", 0) == 1.0


# ----------------------------------------------------------------------------- GPT-2's split

GOLDEN = json.loads((Path(__file__).parents[1] / "fixtures" / "bpe_gpt2.json")
                    .read_text(encoding="utf-8"))


def test_numbers_that_are_not_digits_split_as_gpt2_does():
    # \p{N} includes superscripts, fractions and Roman numerals: they are numbers, not letters
    assert pretokenize("x² + y²") == ["x", "²", " +", " y", "²"]
    assert pretokenize("2½") == ["2½"]
    assert pretokenize("chapter Ⅻ, note ①") == ["chapter", " Ⅻ", ",", " note", " ①"]
    assert pretokenize("__init__ it's") == ["__", "init", "__", " it", "'s"]


@pytest.mark.parametrize("case", range(len(GOLDEN["cases"])))
def test_pretokenize_matches_tiktoken_pattern(case):
    # regex.findall with tiktoken's own rewrite of GPT-2's pattern
    c = GOLDEN["cases"][case]
    assert pretokenize(c["text"]) == c["words"]
    assert "".join(pretokenize(c["text"])) == c["text"]


@pytest.mark.parametrize("case", range(len(GOLDEN["cases"])))
def test_encode_matches_tiktoken(case):
    # tiktoken (its own regex engine and BPE) with the same merges as ranks
    tokenizer = BPETokenizer(tuple(tuple(m) for m in GOLDEN["merges"]))
    c = GOLDEN["cases"][case]
    assert tokenizer.encode(c["text"]) == c["ids"]
    assert tokenizer.decode(c["ids"]) == c["text"]


def test_golden_cases_cover_every_number_category():
    import unicodedata

    probe = GOLDEN["cases"][-2]["text"]
    categories = Counter(unicodedata.category(ch) for ch in set(probe))
    assert categories["No"] + categories["Nl"] == GOLDEN["n_number_chars"] > 200
