def kv_cache_bytes(n_layer, n_kv_head, head_dim, batch, seq, bytes_per=2):
    """Bytes held by a KV cache.   -> int

    Every layer keeps a key and a value vector of head_dim numbers per K/V head
    (n_kv_head of them: fewer than the query heads with GQA/MQA) for every
    token of every sequence; bytes_per is 2 for fp16/bf16.
    """
    return 2 * n_layer * n_kv_head * head_dim * batch * seq * bytes_per
