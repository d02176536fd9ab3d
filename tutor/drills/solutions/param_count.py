def param_count(d_model, n_layer, vocab, n_ctx, ffn_mult=4, tied=True):
    """The exact parameter count of a GPT-2-style decoder.   -> int

    Token embedding (vocab, d) and learned positions (n_ctx, d). Each block:
    LayerNorm, attention (Q, K, V and output projections, each d x d with a
    bias), LayerNorm, FFN (d -> ffn_mult * d -> d, with biases). A final
    LayerNorm after the last block. Every LayerNorm has a gain and a shift.
    tied=True: the output head reuses the token embedding (no new weights);
    tied=False: a separate (d, vocab) head without bias.
    """
    d, f = d_model, ffn_mult * d_model
    attention = 4 * d * d + 4 * d
    ffn = d * f + f + f * d + d
    norms = 2 * (2 * d)
    total = vocab * d + n_ctx * d + n_layer * (attention + ffn + norms) + 2 * d
    return total if tied else total + d * vocab
