"""Block allocation and the serving simulation against closed-form counts and invariants
checked at every step."""

from __future__ import annotations

import numpy as np
import pytest

from engine.paged_kv import (
    BlockAllocator,
    Request,
    Sequence,
    prefix_sharing,
    random_requests,
    simulate_serving,
)


def test_sequence_takes_a_block_only_when_the_last_is_full():
    a = BlockAllocator(10, block_size=4)
    s = Sequence(a)
    for n in range(1, 14):
        s.append(1)
        assert len(s.blocks) == -(-n // 4) == a.used_blocks
        assert s.blocks_needed(1) == (1 if n % 4 == 0 else 0)
    s.free()
    assert a.free_blocks == 10 and np.all(a.refcount == 0)
    with pytest.raises(MemoryError):
        Sequence(a).append(41)


def test_copy_on_write_of_a_shared_partial_block():
    a = BlockAllocator(10, block_size=4)
    root = Sequence(a)
    root.append(6)                                # blocks: [full, 2 of 4]
    child = root.fork()
    assert child.blocks == root.blocks and a.refcount[root.blocks[1]] == 2
    child.append(1)                               # writes into the shared partial block
    assert a.copies == 1 and child.blocks[0] == root.blocks[0]
    assert child.blocks[1] != root.blocks[1]
    assert a.refcount[root.blocks[0]] == 2 and a.refcount[root.blocks[1]] == 1
    root.append(1)                                # no longer shared: written in place
    assert a.copies == 1


@pytest.mark.parametrize(("system", "suffix", "block"), [(500, 30, 16), (512, 7, 16),
                                                        (33, 100, 8)])
def test_prefix_sharing_block_counts(system, suffix, block):
    n = 6
    r = prefix_sharing(n, system, [suffix] * n, block)
    assert r.blocks_private == n * -(-(system + suffix) // block)
    full = system // block
    # full prefix blocks once; each request its own copy of any partial block and the rest
    assert r.blocks_shared == full + n * (-(-(system + suffix) // block) - full)
    partial = system % block != 0
    assert r.copies == (n - 1 if partial else 0)   # the last writer finds it unshared


def check_invariants(stats, requests, capacity):
    assert stats.finished == len(requests)
    assert np.all(stats.used <= stats.allocated) and np.all(stats.allocated <= capacity)
    total_tokens = sum(r.prompt + r.output for r in requests)
    assert stats.used.max() <= total_tokens


def test_contiguous_reserves_the_maximum_for_every_request():
    reqs = [Request(0, 10, 5), Request(0, 20, 3), Request(1, 5, 5)]
    s = simulate_serving(reqs, capacity=100, scheme="contiguous", reserve=40)
    check_invariants(s, reqs, 100)
    # two fit (80 of 100 slots); the third waits for the second (23 tokens) to finish
    assert s.running[0] == 2 and s.allocated[0] == 80
    assert s.used[0] == 30 and s.waste[0] == 50
    assert s.running.max() == 2
    # step 0 writes the prompts, each later step one token: the second request reaches
    # 20 + 3 tokens at step 3 and leaves; at step 4 the third is admitted into its region
    assert s.running[3] == 1 and s.used[3] == 13
    assert s.running[4] == 2 and s.used[4] == 14 + 5


def test_paged_waste_is_under_one_block_per_request():
    rng = np.random.default_rng(0)
    reqs = random_requests(60, rng, (8, 200), (8, 200), rate=0.5)
    capacity, block = 4096, 16
    s = simulate_serving(reqs, capacity, "paged", block_size=block)
    check_invariants(s, reqs, capacity)
    assert np.all(s.waste < block * np.maximum(s.running, 1))
    c = simulate_serving(reqs, capacity, "contiguous", reserve=400)
    check_invariants(c, reqs, capacity)
    assert s.mean_utilisation > 0.9 > 0.6 > c.mean_utilisation
    assert s.steps < c.steps and s.running.max() > c.running.max()


def test_paged_preempts_when_the_pool_runs_out_and_still_finishes():
    reqs = [Request(0, 30, 40) for _ in range(4)]
    s = simulate_serving(reqs, capacity=160, scheme="paged", block_size=8)
    check_invariants(s, reqs, 160)
    assert s.preemptions > 0


def test_requests_that_cannot_fit_are_refused():
    with pytest.raises(ValueError, match="cannot fit"):
        simulate_serving([Request(0, 300, 10)], 256, "contiguous", reserve=256)
    with pytest.raises(ValueError, match="scheme='x'"):
        simulate_serving([], 256, "x")
