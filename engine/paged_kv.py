"""KV-cache memory management: contiguous reservation against paged blocks (vLLM).

Serving many requests at once, each request's KV cache grows one token per
step up to a length nobody knows in advance.

- Contiguous: reserve room for the longest the request may become
  (`reserve` tokens) in one piece of a flat arena, first fit. Reserved but
  unwritten slots are *reservation waste*; free holes too small for the next
  request are *external fragmentation*.
- Paged (PagedAttention, Kwon et al. 2023): memory is a pool of blocks of
  `block_size` tokens; a request gets a new block only when its last one is
  full, and a block table maps its logical blocks to physical ones. Only the
  unfilled tail of each request's last block is wasted (*internal
  fragmentation*, under one block per request). When the pool runs out, the
  newest running request is preempted (its blocks freed, recomputed later).

Prefix sharing: requests that start with the same system prompt point their
block tables at the same physical blocks (reference counted); the first write
into a shared, partly filled block copies it first (copy-on-write).

Memory is counted in token slots; multiply by the per-token KV bytes
(engine.accounting.kv_cache_bytes(config, 1, 1)) for bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class BlockAllocator:
    """A pool of `num_blocks` physical blocks with reference counts."""

    def __init__(self, num_blocks: int, block_size: int):
        if num_blocks < 1 or block_size < 1:
            raise ValueError(f"num_blocks={num_blocks} and block_size={block_size} must be >= 1")
        self.block_size = block_size
        self.num_blocks = num_blocks
        self.refcount = np.zeros(num_blocks, dtype=np.int64)
        self._free = list(range(num_blocks - 1, -1, -1))     # pop() hands out 0, 1, 2, ...
        self.copies = 0                                        # copy-on-write events

    @property
    def free_blocks(self) -> int:
        return len(self._free)

    @property
    def used_blocks(self) -> int:
        return self.num_blocks - len(self._free)

    def allocate(self) -> int:
        if not self._free:
            raise MemoryError("no free KV blocks")
        block = self._free.pop()
        self.refcount[block] = 1
        return block

    def share(self, block: int) -> int:
        self.refcount[block] += 1
        return block

    def release(self, block: int) -> None:
        if self.refcount[block] < 1:
            raise ValueError(f"block {block} is not allocated")
        self.refcount[block] -= 1
        if self.refcount[block] == 0:
            self._free.append(block)


class Sequence:
    """One request's block table: logical block i lives in physical block `blocks[i]`."""

    def __init__(self, allocator: BlockAllocator):
        self.allocator = allocator
        self.blocks: list[int] = []
        self.length = 0

    def append(self, n: int = 1) -> None:
        """Write n more tokens: fill the last block, copying it first if it is shared."""
        a, size = self.allocator, self.allocator.block_size
        for _ in range(n):
            offset = self.length % size
            if offset == 0:
                self.blocks.append(a.allocate())
            elif a.refcount[self.blocks[-1]] > 1:              # copy-on-write
                shared = self.blocks[-1]
                self.blocks[-1] = a.allocate()
                a.release(shared)
                a.copies += 1
            self.length += 1

    def fork(self) -> Sequence:
        """A new sequence sharing every block of this one (a common prefix)."""
        child = Sequence(self.allocator)
        child.blocks = [self.allocator.share(b) for b in self.blocks]
        child.length = self.length
        return child

    def free(self) -> None:
        for b in self.blocks:
            self.allocator.release(b)
        self.blocks, self.length = [], 0

    def blocks_needed(self, n: int) -> int:
        """New blocks that writing n more tokens would take (no sharing)."""
        size = self.allocator.block_size
        return -(-(self.length + n) // size) - -(-self.length // size)


@dataclass(frozen=True)
class Request:
    arrival: int        # step at which it arrives
    prompt: int         # prompt tokens, written in the step it is admitted
    output: int         # tokens it will generate, one per step


def random_requests(n: int, rng: np.random.Generator, prompt_range: tuple[int, int],
                    output_range: tuple[int, int], rate: float) -> list[Request]:
    """n requests: uniform prompt and output lengths, Poisson arrivals at `rate` per step."""
    gaps = rng.exponential(1 / rate, size=n)
    arrivals = np.floor(np.cumsum(gaps)).astype(int)
    prompts = rng.integers(prompt_range[0], prompt_range[1] + 1, size=n)
    outputs = rng.integers(output_range[0], output_range[1] + 1, size=n)
    return [Request(int(a), int(p), int(o)) for a, p, o in zip(arrivals, prompts, outputs,
                                                                 strict=True)]


@dataclass(frozen=True)
class ServingStats:
    """Per-step token slots of one simulated run, and totals.

    used: slots holding real K/V; allocated: slots the scheme has handed out
    (reserved regions, or whole blocks); running: requests in the batch.
    """

    scheme: str
    capacity: int
    used: np.ndarray
    allocated: np.ndarray
    running: np.ndarray
    steps: int
    finished: int
    preemptions: int

    @property
    def waste(self) -> np.ndarray:
        """Allocated but unused slots per step: reservation waste or internal fragmentation."""
        return self.allocated - self.used

    @property
    def mean_utilisation(self) -> float:
        """Mean share of the allocated slots that hold real tokens (steps with any allocation)."""
        busy = self.allocated > 0
        return float(np.mean(self.used[busy] / self.allocated[busy])) if busy.any() else 0.0


def _first_fit(holes: list[list[int]], size: int) -> int | None:
    # holes: sorted [start, length] free ranges of the arena; take the first that fits
    for i, (start, length) in enumerate(holes):
        if length >= size:
            if length == size:
                holes.pop(i)
            else:
                holes[i] = [start + size, length - size]
            return start
    return None


def _give_back(holes: list[list[int]], start: int, size: int) -> None:
    holes.append([start, size])
    holes.sort()
    merged: list[list[int]] = []
    for s, n in holes:
        if merged and merged[-1][0] + merged[-1][1] == s:
            merged[-1][1] += n
        else:
            merged.append([s, n])
    holes[:] = merged


SCHEMES = ("contiguous", "paged")


def simulate_serving(requests: list[Request], capacity: int, scheme: str = "paged",
                     block_size: int = 16, reserve: int = 2048,
                     max_steps: int = 100_000) -> ServingStats:
    """FIFO continuous batching of `requests` on `capacity` token slots of KV memory.

    Each step: waiting requests that have arrived are admitted in order while
    memory allows (the prompt is written at admission); every other running
    request writes one token; requests that reach prompt + output tokens finish
    and free their memory.

    scheme="contiguous": admission reserves `reserve` slots in one piece
    (first fit), held until the request finishes.
    scheme="paged": capacity // block_size blocks; admission needs the prompt's
    blocks plus one free; a block is taken when the last one fills. If the
    step's new blocks do not fit, the most recently admitted requests are
    preempted (blocks freed, requeued at the front to recompute what they had).
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme={scheme!r} is not one of {', '.join(SCHEMES)}")
    longest = max((r.prompt + r.output for r in requests), default=0)
    limit = reserve if scheme == "contiguous" else capacity - block_size
    if longest > limit or (scheme == "contiguous" and reserve > capacity):
        raise ValueError(f"a request of {longest} tokens cannot fit: capacity={capacity}, "
                         f"reserve={reserve}, block_size={block_size}")
    paged = scheme == "paged"
    alloc = BlockAllocator(capacity // block_size, block_size) if paged else None
    holes = [[0, capacity]]
    queue = [(r, 0) for r in sorted(requests, key=lambda r: r.arrival)]   # (request, written)
    running: list[list] = []            # [request, Sequence or arena start, length]
    used, allocated, batch = [], [], []
    step = finished = preemptions = 0
    while (queue or running) and step < max_steps:
        grown = {id(r) for r in running}
        while queue and queue[0][0].arrival <= step:             # admit, in order
            req, done = queue[0]
            length = req.prompt + done
            if paged:
                if alloc.free_blocks < -(-length // block_size) + 1:
                    break
                where = Sequence(alloc)
                where.append(length)
            else:
                where = _first_fit(holes, reserve)
                if where is None:
                    break
            queue.pop(0)
            running.append([req, where, length])
        if paged:                                                # room for this step's tokens
            while sum(r[1].blocks_needed(1) for r in running if id(r) in grown) > \
                    alloc.free_blocks:
                victim = running.pop()
                grown.discard(id(victim))
                victim[1].free()
                queue.insert(0, (victim[0], victim[2] - victim[0].prompt))
                preemptions += 1
        for r in running:                                        # one token each
            if id(r) in grown:
                if paged:
                    r[1].append(1)
                r[2] += 1
        nxt = []
        for r in running:
            if r[2] >= r[0].prompt + r[0].output:
                if paged:
                    r[1].free()
                else:
                    _give_back(holes, r[1], reserve)
                finished += 1
            else:
                nxt.append(r)
        running = nxt
        used.append(sum(r[2] for r in running))
        allocated.append(block_size * alloc.used_blocks if paged else reserve * len(running))
        batch.append(len(running))
        step += 1
    return ServingStats(scheme, capacity, np.array(used), np.array(allocated),
                        np.array(batch), step, finished, preemptions)


@dataclass(frozen=True)
class PrefixSharing:
    """Blocks for n requests with a common system prompt, with and without sharing."""

    blocks_private: int
    blocks_shared: int
    copies: int           # copy-on-write events (the shared, partly filled last block)


def prefix_sharing(n_requests: int, system_prompt: int, suffixes: list[int],
                   block_size: int) -> PrefixSharing:
    """Write a shared `system_prompt` once, fork it per request, then each request's
    own tokens (`suffixes[i]`); against every request writing its whole prompt alone."""
    if len(suffixes) != n_requests:
        raise ValueError(f"{len(suffixes)} suffixes for {n_requests} requests")
    total = sum(-(-(system_prompt + s) // block_size) for s in suffixes)
    private = BlockAllocator(total, block_size)
    for s in suffixes:
        Sequence(private).append(system_prompt + s)
    shared = BlockAllocator(total + n_requests, block_size)
    root = Sequence(shared)
    root.append(system_prompt)
    children = [root.fork() for _ in suffixes]
    root.free()
    for child, s in zip(children, suffixes, strict=True):
        child.append(s)
    return PrefixSharing(blocks_private=private.used_blocks, blocks_shared=shared.used_blocks,
                         copies=shared.copies)
