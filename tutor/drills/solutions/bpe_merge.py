def merge_pair(ids, pair, new_id):
    """One BPE merge: replace every occurrence of `pair` in `ids` by `new_id`.

    ids: list of int  pair: (a, b)  new_id: int  ->  a new list of int.
    Scan left to right; after a merge continue after the merged pair, so
    occurrences never overlap: [a, a, a] with the pair (a, a) gives [new, a].
    """
    a, b = pair
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == a and ids[i + 1] == b:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
