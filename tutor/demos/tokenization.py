"""tokenization: byte-level BPE trained live on the tool's own question bank.

The text is every prose field of the built-in question files (prompts,
answers, hints, options, key points), one document per question. The
documents are shuffled with the seed; a fifth is held out and never seen in
training. BPE is trained once up to the largest `--vocab`; BPE merges are
learned greedily in order, so the first v - 256 merges are exactly the
tokenizer that training to v would give, and every smaller vocabulary comes
from that one run. A word-level vocabulary of the same size (the most
frequent training words) is measured on the same held-out text.

JSON keys:
- `corpus`: {source, files, documents, train_chars, held_out_chars,
  train_words, held_out_words, distinct_train_words};
- `sizes`: [{vocab, reached, tokens_per_word, held_out_tokens, word_oov_rate,
  bpe_oov_rate, embedding, untied_head}] for 256 (bytes only) and each `--vocab`
  (`reached`: the vocabulary training got to, smaller when the text ran out of pairs;
  `embedding`: vocab x d_model; `untied_head`: the same again for an untied output head);
- `all_words_oov_rate`: held-out OOV with every training word in the vocabulary;
- `roundtrip_ok`: decode(encode(held-out text)) == held-out text at every size;
- `unseen`: {text, tokens (strings), n_tokens, n_bytes, roundtrip_ok, word_oov}: a
  string with characters the bank never uses;
- `example`: {text, segmentations: [{vocab, tokens}]};
- `embedding_table`: [{name, vocab, d_model, embedding, untied_head}] for real
  vocabulary sizes at `--d-model`;
- `takeaway`.
"""

from __future__ import annotations

MAX_TRAIN_CHARS = 40_000       # keeps training well under a second on two cores
MAX_HELD_OUT_CHARS = 15_000
MIN_CORPUS_CHARS = 2_000
HELD_OUT_SHARE = 0.2
EXAMPLE = "Why divide the attention scores by sqrt(d_k)?"
UNSEEN = "Schrödinger's naïve café: 東京 🤖"
_SKIP_KEYS = {"id", "topic", "kind", "tags", "asked_in", "demo", "answer_from", "vary",
              "difficulty", "tolerance", "units", "aliases"}
_REAL_VOCABS = (("100K vocab", 100_000), ("gpt2", None), ("llama-2-7b", None),
                ("llama-3-8b", None))


def _strings(node, out: list[str]) -> None:
    if isinstance(node, str):
        out.append(node)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key not in _SKIP_KEYS:
                _strings(value, out)
    elif isinstance(node, list):
        for value in node:
            _strings(value, out)


def bank_documents() -> tuple[list[str], int, str]:
    """(documents, files read, source): one document per question of the built-in bank."""
    import yaml

    from tutor.paths import builtin_questions_dir

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    docs: list[str] = []
    files = sorted(builtin_questions_dir().glob("*.yaml"))
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            data = yaml.load(text, Loader=loader)
        except yaml.YAMLError:
            docs.append(text)          # a broken file still holds prose
            continue
        questions = data.get("questions", []) if isinstance(data, dict) else []
        for q in questions:
            parts: list[str] = []
            _strings(q, parts)
            if parts:
                docs.append("\n".join(parts))
    if sum(map(len, docs)) >= MIN_CORPUS_CHARS:
        return docs, len(files), "question bank"
    return _engine_docstrings(), len(files), "engine docstrings"


def _engine_docstrings() -> list[str]:
    """The engine's docstrings: prose that ships with the tool even without a bank."""
    import ast
    from pathlib import Path

    import engine

    docs = []
    for path in sorted(Path(engine.__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef):
                doc = ast.get_docstring(node)
                if doc:
                    docs.append(doc)
    return docs


def split_corpus(rng) -> tuple[str, str, tuple[list[str], int, str]]:
    """(training text, held-out text, (documents, files, source)), shuffled by rng."""
    docs, n_files, source = bank_documents()
    order = rng.permutation(len(docs))
    n_held = max(1, round(HELD_OUT_SHARE * len(docs)))
    held_out = "\n".join(docs[i] for i in order[:n_held])[:MAX_HELD_OUT_CHARS]
    train = "\n".join(docs[i] for i in order[n_held:])[:MAX_TRAIN_CHARS]
    return train, held_out, (docs, n_files, source)


def check(p) -> str | None:
    if len(set(p.vocab)) > 8:
        return "--vocab: give at most 8 different sizes"
    return None


def compute(p, rng, progress) -> dict:
    from engine.accounting import count_params
    from engine.bpe import BASE_VOCAB, BPETokenizer, oov_rate, tokens_per_word, train_bpe
    from engine.config import ModelConfig, preset

    train, held_out, (docs, n_files, source) = split_corpus(rng)

    sizes = sorted({BASE_VOCAB, *p.vocab})
    trained = train_bpe(train, max(sizes))

    def embedding_params(vocab: int) -> tuple[int, int]:
        config = ModelConfig(vocab_size=vocab, d_model=p.d_model, n_head=1, n_layer=1,
                             tie_embeddings=False, positional="rope")
        items = count_params(config).items
        return items["token_embedding"], items["lm_head"]

    rows, roundtrip = [], True
    tokenizers = {}
    for v in progress(sizes, total=len(sizes), description="encoding held-out text"):
        tok = BPETokenizer(trained.merges[:v - BASE_VOCAB])
        tokenizers[v] = tok
        ids = tok.encode(held_out)
        exact = tok.decode(ids) == held_out
        roundtrip &= exact
        emb, head = embedding_params(v)
        rows.append({
            "vocab": v, "reached": tok.vocab_size,
            "tokens_per_word": tokens_per_word(tok, held_out), "held_out_tokens": len(ids),
            "word_oov_rate": oov_rate(train, held_out, v),
            "bpe_oov_rate": 0.0 if exact else None,
            "embedding": emb, "untied_head": head,
        })
    distinct = len(set(_words(train)))
    all_oov = oov_rate(train, held_out, distinct)

    big = tokenizers[max(sizes)]
    unseen_ids = big.encode(UNSEEN)
    unseen = {"text": UNSEEN, "tokens": big.token_strings(unseen_ids), "n_tokens": len(unseen_ids),
              "n_bytes": len(UNSEEN.encode("utf-8")),
              "roundtrip_ok": big.decode(unseen_ids) == UNSEEN,
              "word_oov": oov_rate(train, UNSEEN, distinct)}
    example = {"text": EXAMPLE, "segmentations": [
        {"vocab": v, "tokens": tokenizers[v].token_strings(tokenizers[v].encode(EXAMPLE))}
        for v in sorted({sizes[1] if len(sizes) > 1 else sizes[0], sizes[-1]})]}

    table = []
    for name, vocab in _REAL_VOCABS:
        v = vocab if vocab is not None else preset(name).vocab_size
        emb, head = embedding_params(v)
        table.append({"name": name, "vocab": v, "d_model": p.d_model, "embedding": emb,
                      "untied_head": head})

    first, last = rows[0], rows[-1]
    same_size = rows[-1]
    hundred_k = table[0]
    takeaway = (
        f"Tokens per word fall from {first['tokens_per_word']:.2f} (bytes) to "
        f"{last['tokens_per_word']:.2f} at {last['vocab']:,}, but every token costs a "
        f"d_model row: 100K x {p.d_model:,} = {hundred_k['embedding'] / 1e6:,.1f}M "
        f"parameters, twice that untied. A {same_size['vocab']:,}-word vocabulary misses "
        f"{same_size['word_oov_rate']:.0%} of held-out words (still "
        f"{all_oov:.0%} with all {distinct:,} training words); byte-level BPE misses none.")
    return {
        "corpus": {"source": source, "files": n_files, "documents": len(docs),
                   "train_chars": len(train), "held_out_chars": len(held_out),
                   "train_words": len(train.split()), "held_out_words": len(held_out.split()),
                   "distinct_train_words": distinct},
        "sizes": rows,
        "all_words_oov_rate": all_oov,
        "roundtrip_ok": roundtrip,
        "unseen": unseen,
        "example": example,
        "embedding_table": table,
        "takeaway": takeaway,
    }


def _words(text: str) -> list[str]:
    """Words as the word-level vocabulary counts them (BPE's pre-tokenisation, stripped)."""
    from engine.bpe import pretokenize

    return [w.strip() for w in pretokenize(text) if not w.isspace()]


def render(result: dict):
    from rich.table import Table
    from rich.text import Text

    from tutor.demos import _viz

    c = result["corpus"]
    intro = Text(f"Trained on {c['train_chars']:,} characters of the {c['source']} "
                 f"({c['documents']} documents); {c['held_out_chars']:,} held-out characters "
                 f"measure it.", style="dim")
    rows = []
    for r in result["sizes"]:
        label = f"{r['vocab']:,}" + (" (bytes)" if r["vocab"] == 256 else "")
        if r["reached"] < r["vocab"]:
            label += f" (got {r['reached']:,})"
        rows.append((label, f"{r['tokens_per_word']:.2f}", f"{r['word_oov_rate']:.1%}",
                     "0%" if r["bpe_oov_rate"] == 0 else "?", _m(r["embedding"])))
    sizes = _viz.table(("vocab", "tok/word", "word OOV", "BPE OOV", "emb"), rows,
                       title="held-out text; word OOV: a same-size word vocabulary")
    bars = _viz.bars([(f"{r['vocab']:,}", r["tokens_per_word"], f"{r['tokens_per_word']:.2f}")
                      for r in result["sizes"]], title="tokens per word", width=30)
    seg = Table(title="segmentation of an example", title_justify="left", box=None,
                show_header=False, pad_edge=False)
    seg.add_column(justify="right", style="dim", no_wrap=True)
    seg.add_column(overflow="fold")
    for s in result["example"]["segmentations"]:
        seg.add_row(f"{s['vocab']:,}", "|".join(s["tokens"]) + f"  ({len(s['tokens'])})")
    u = result["unseen"]
    unseen = Text(f"Unseen text {u['text']!r}: word-level OOV {u['word_oov']:.0%}; BPE: "
                  f"{u['n_tokens']} tokens for {u['n_bytes']} bytes, round trip "
                  f"{'exact' if u['roundtrip_ok'] else 'BROKEN'}.")
    emb = _viz.table(("vocabulary", "size", "embedding", "+ untied head"), [
        (t["name"], f"{t['vocab']:,}", _m(t["embedding"]),
         _m(t["embedding"] + t["untied_head"])) for t in result["embedding_table"]],
        title=f"embedding parameters at d_model = {result['embedding_table'][0]['d_model']:,}")
    return _viz.view("Tokenization: BPE trained live", intro, sizes, bars, seg, unseen,
                     emb, takeaway=result["takeaway"])


def _m(n: int) -> str:
    return f"{n / 1e6:,.1f}M" if n >= 1e5 else f"{n:,}"
