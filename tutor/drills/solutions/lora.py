def lora_forward(x, w, a, b, alpha):
    """A LoRA linear layer (Hu et al. 2021): x W + (alpha / r) (x A) B.

    x: (..., d_in)  w: (d_in, d_out)  a: (d_in, r)  b: (r, d_out)  ->  (..., d_out)
    r is the rank, a.shape[1]. Multiply (x @ a) @ b: never form the
    (d_in, d_out) update a @ b, which is what makes LoRA cheap.
    """
    r = a.shape[1]
    return x @ w + (alpha / r) * ((x @ a) @ b)
