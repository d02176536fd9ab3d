import numpy as np


def top_k_router(x, w_router, k):
    """A mixture-of-experts router, as in Mixtral.

    x: (n, d) tokens  w_router: (d, n_experts)  k: experts per token
    ->  gates (n, n_experts) float64: for each token, softmax of the router
    logits x @ w_router taken over its k largest logits only (equivalently:
    softmax over all experts, keep the top k, renormalise to sum 1); 0 for the
    experts not chosen. Among equal logits the lower expert id wins.
    """
    logits = x @ w_router                                            # (n, E)
    top = np.argsort(-logits, axis=-1, kind="stable")[:, :k]        # (n, k)
    chosen = np.take_along_axis(logits, top, axis=-1)
    w = np.exp(chosen - chosen.max(axis=-1, keepdims=True))
    w /= w.sum(axis=-1, keepdims=True)
    gates = np.zeros_like(logits)
    np.put_along_axis(gates, top, w, axis=-1)
    return gates
