"""A small byte-level BPE tokenizer (Sennrich et al. 2016; byte-level as in GPT-2).

The base vocabulary is the 256 byte values, so every string has an encoding
and nothing is ever out of vocabulary. Training repeatedly merges the most
frequent adjacent pair of tokens into a new token. Text is first split into
words (an optional leading space plus a run of letters, numbers or
punctuation, with GPT-2's own pattern) and pairs never cross a word boundary, so
" the" can become one token but "e t" cannot.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import pairwise

import regex

BASE_VOCAB = 256

# GPT-2's split, exactly as released (it needs the `regex` module for the Unicode
# classes): \p{L} is any letter, \p{N} any number (digits, but also ² ½ Ⅻ ①), and
# [^\s\p{L}\p{N}] anything else that is not space. With the two whitespace branches
# every character is matched, so the words concatenate back to the text.
# `\s+(?!\S)` leaves the last space of a run to start the next word.
_WORD = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+"""
                      r"""|\s+(?!\S)|\s+""")

Pair = tuple[int, int]


def pretokenize(text: str) -> list[str]:
    """Split text into the words BPE works within; `"".join(words) == text`."""
    return _WORD.findall(text)


def merge_pair(ids: list[int], pair: Pair, new_id: int) -> list[int]:
    """Replace each occurrence of `pair`, scanning left to right without overlaps."""
    a, b = pair
    out, i, n = [], 0, len(ids)
    while i < n:
        if i + 1 < n and ids[i] == a and ids[i + 1] == b:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


@dataclass(frozen=True)
class BPETokenizer:
    """Merges in the order they were learned; merge i creates token 256 + i."""

    merges: tuple[Pair, ...]
    vocab: tuple[bytes, ...] = field(init=False, repr=False, compare=False)
    _ranks: dict[Pair, int] = field(init=False, repr=False, compare=False)
    _cache: dict[str, tuple[int, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        vocab = [bytes([i]) for i in range(BASE_VOCAB)]
        for rank, (a, b) in enumerate(self.merges):
            if not (0 <= a < len(vocab) and 0 <= b < len(vocab)):
                raise ValueError(f"merge {rank} = ({a}, {b}) uses a token not yet defined "
                                 f"(vocabulary has {len(vocab)})")
            vocab.append(vocab[a] + vocab[b])
        object.__setattr__(self, "merges", tuple((int(a), int(b)) for a, b in self.merges))
        object.__setattr__(self, "vocab", tuple(vocab))
        object.__setattr__(self, "_ranks", {p: r for r, p in enumerate(self.merges)})
        object.__setattr__(self, "_cache", {})

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def _encode_word(self, word: str) -> tuple[int, ...]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        ids = list(word.encode("utf-8"))
        while len(ids) > 1:
            # apply the earliest-learned merge present; repeating this reproduces
            # applying every merge in training order, because a merge only creates
            # pairs that contain its new token, which no earlier merge can use
            rank, pair = min((self._ranks.get(p, len(self._ranks)), p) for p in pairwise(ids))
            if rank == len(self._ranks):
                break
            ids = merge_pair(ids, pair, BASE_VOCAB + rank)
        result = tuple(ids)
        self._cache[word] = result
        return result

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for word in pretokenize(text):
            ids.extend(self._encode_word(word))
        return ids

    def decode(self, ids) -> str:
        """Text of the token ids; bytes that are not valid UTF-8 become U+FFFD."""
        bad = [i for i in ids if not 0 <= i < len(self.vocab)]
        if bad:
            raise ValueError(f"token ids {bad[:5]} are outside the vocabulary of "
                             f"{len(self.vocab)}")
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")

    def token_strings(self, ids) -> list[str]:
        """Each token's bytes shown as text, for displaying a segmentation."""
        return [self.vocab[i].decode("utf-8", errors="replace") for i in ids]


def train_bpe(text: str, vocab_size: int) -> BPETokenizer:
    """Learn `vocab_size - 256` merges from `text` (fewer if the words run out of pairs).

    Each step merges the pair with the highest count summed over word
    occurrences; ties go to the smallest pair of ids, so the same text always
    gives the same merges. Pair counts are updated only for the words that
    contain the merged pair, instead of being recounted over all words.
    """
    if vocab_size < BASE_VOCAB:
        raise ValueError(f"vocab_size={vocab_size} must be >= {BASE_VOCAB} (the byte alphabet)")
    word_counts = Counter(pretokenize(text))
    words = [list(w.encode("utf-8")) for w in word_counts]
    freqs = list(word_counts.values())

    pair_counts: dict[Pair, int] = defaultdict(int)
    where: dict[Pair, set[int]] = defaultdict(set)        # pair -> words that may contain it
    for i, ids in enumerate(words):
        for pair in pairwise(ids):
            pair_counts[pair] += freqs[i]
            where[pair].add(i)
    # max-heap by count, then smallest pair; entries go stale when counts change
    # and are skipped when popped (their count no longer matches)
    heap = [(-n, pair) for pair, n in pair_counts.items()]
    heapq.heapify(heap)

    merges: list[Pair] = []
    while len(merges) < vocab_size - BASE_VOCAB:
        while heap and pair_counts.get(heap[0][1], 0) != -heap[0][0]:
            heapq.heappop(heap)
        if not heap:
            break
        _, best = heapq.heappop(heap)
        new_id = BASE_VOCAB + len(merges)
        merges.append(best)
        changed: set[Pair] = set()
        for i in where.pop(best):
            old, f = words[i], freqs[i]
            new = merge_pair(old, best, new_id)
            if len(new) == len(old):
                continue                      # a stale entry: the pair left this word earlier
            for pair in pairwise(old):
                pair_counts[pair] -= f
                changed.add(pair)
            for pair in pairwise(new):
                pair_counts[pair] += f
                where[pair].add(i)
                changed.add(pair)
            words[i] = new
        for pair in changed:
            n = pair_counts[pair]
            if n > 0:
                heapq.heappush(heap, (-n, pair))
            else:
                del pair_counts[pair]
                where.pop(pair, None)
    return BPETokenizer(tuple(merges))


def tokens_per_word(tokenizer: BPETokenizer, text: str) -> float:
    """Average BPE tokens per whitespace-separated word of `text`."""
    n_words = len(text.split())
    if n_words == 0:
        raise ValueError("text has no words")
    return len(tokenizer.encode(text)) / n_words


def _words(text: str) -> list[str]:
    return [w.strip() for w in pretokenize(text) if not w.isspace()]


def word_vocabulary(text: str, vocab_size: int) -> tuple[str, ...]:
    """The `vocab_size` most frequent words of `text` (ties: alphabetical), case kept."""
    if vocab_size < 0:
        raise ValueError(f"vocab_size={vocab_size} must be >= 0")
    counts = Counter(_words(text))
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    return tuple(ranked[:vocab_size])


def oov_rate(train_text: str, test_text: str, vocab_size: int) -> float:
    """Fraction of word occurrences in `test_text` missing from a word-level vocabulary.

    The vocabulary is the `vocab_size` most frequent words of `train_text`
    (words as BPE splits them, without the leading space). A byte-level BPE
    tokenizer has no such failures: its rate is always 0.
    """
    vocab = set(word_vocabulary(train_text, vocab_size))
    test_words = _words(test_text)
    if not test_words:
        raise ValueError("test_text has no words")
    return sum(w not in vocab for w in test_words) / len(test_words)
