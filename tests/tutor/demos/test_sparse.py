from collections import deque
from types import SimpleNamespace

import numpy as np
import pytest

from tests.tutor.demos._helpers import assert_fits, render_text, run
from tutor.demos import sparse


def _bfs_layers(mask: np.ndarray, full: np.ndarray) -> int | None:
    """Layers until every pair of `full` is linked: the longest shortest path, by BFS.

    Information flows from key j to query i in one layer when mask[i, j]; a path of
    length L means token i has heard from j after L layers (self-loops pad shorter paths).
    """
    n = len(mask)
    worst = 0
    for j in range(n):
        dist = {j: 0}
        todo = deque([j])
        while todo:
            u = todo.popleft()
            for i in np.flatnonzero(mask[:, u]):
                if i not in dist:
                    dist[int(i)] = dist[u] + 1
                    todo.append(int(i))
        for i in np.flatnonzero(full[:, j]):
            if int(i) not in dist:
                return None
            worst = max(worst, max(dist[int(i)], 1))
    return worst


@pytest.mark.parametrize("n,w,s,g", [(32, 3, 8, 2), (17, 1, 4, 0), (64, 5, 7, 3), (9, 8, 3, 1)])
def test_counts_match_closed_forms(n, w, s, g):
    ms = sparse.masks(n, w, s, g)
    forms = sparse.closed_forms(n, w, s, g)
    # brute force: count the pairs from the definitions, not from the engine's masks
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    local = np.abs(i - j) <= w
    glob = local | (i < g) | (j < g)
    strided = (j <= i) & (((i - j) < s) | ((i - j) % s == 0))
    for name, ref in (("local", local), ("global", glob), ("strided", strided)):
        assert np.array_equal(ms[name], ref), name
        assert forms[name][0] == ref.sum(), name
    assert forms["local"][1] == n * (2 * w + 1)


@pytest.mark.parametrize("n,w,s,g", [(32, 3, 8, 2), (20, 2, 5, 0)])
def test_receptive_field_matches_bfs(n, w, s, g):
    r = run("sparse", n=n, window=w, stride=s, global_tokens=g, layers=4)
    full_bi = np.ones((n, n), bool)
    for name, m in sparse.masks(n, w, s, g).items():
        full = np.tril(full_bi) if name == "strided" else full_bi
        assert r["receptive"][name]["layers_to_full"] == _bfs_layers(m, full), name
    # the window grows by w per layer: ceil((n - 1) / w) layers to span the sequence
    assert r["receptive"]["local"]["layers_to_full"] == -(-(n - 1) // w)


def test_defaults_claims():
    r = run("sparse", seed=0)
    p = r["patterns"]
    assert p["local"]["pairs"] == 32 * 7 - 12 == 212
    assert p["local"]["score_bytes"] == 4 * 212 and p["local"]["full_score_bytes"] == 4 * 1024
    assert r["equality"]["max_abs_diff"] < 1e-12
    assert r["receptive"]["strided"]["layers_to_full"] == 2
    assert r["receptive"]["global"]["layers_to_full"] == 2
    cov = r["receptive"]["local"]["coverage"]
    assert all(a < b for a, b in zip(cov, cov[1:], strict=False))


def test_check_and_render():
    assert sparse.check(SimpleNamespace(n=8, global_tokens=9)).startswith("--global-tokens")
    assert_fits(render_text("sparse", run("sparse")))
    assert_fits(render_text("sparse", run("sparse", n=64)))
