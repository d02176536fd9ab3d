import numpy as np


def beam_search(table, start, steps, width):
    """Beam search over a model whose next-token logits depend on the last token only.

    table: (vocab, vocab) float, table[t] = the logits of the token after token t.
    start: int, the prompt's one token.  steps, width: ints >= 1.
    -> (sequences (w, steps) int, scores (w,) float64), best first, w = the
    number of beams alive at the end (at most width). A beam's score is the sum
    of log softmax(table[previous token])[new token] over its new tokens. At
    every step extend each beam by every token and keep the width best
    (beam, token) pairs over all beams together. Ties: the earlier beam, then
    the lower token id, first.
    """
    logp = table - table.max(axis=-1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(axis=-1, keepdims=True))     # log softmax per row
    vocab = table.shape[-1]
    seqs = np.full((1, 0), start, dtype=np.int64)
    last = np.array([start])
    scores = np.zeros(1)
    for _ in range(steps):
        total = (scores[:, None] + logp[last]).ravel()                 # (beams * vocab,)
        best = np.argsort(-total, kind="stable")[:width]
        parent, token = best // vocab, best % vocab
        seqs = np.concatenate([seqs[parent], token[:, None]], axis=1)
        last, scores = token, total[best]
    return seqs, scores
