"""The radius-neighbour graph DBSCAN runs on: exact, chunked, pruned, bounded in memory.

``radius_graph(X, eps)`` returns a symmetric sparse matrix of Euclidean distances between unit
rows of ``X`` that lie within ``eps`` (the diagonal left out: scikit-learn's DBSCAN adds it).

* Distances come from chunked matrix products (``2 - 2 x.y``), never an N x N matrix.
* Large sets are first cut into cells (a few k-means steps on a sample). A cell ``b`` is compared
  with the faces of cell ``a`` only when the triangle inequality allows a pair within eps:
  ``min_{x in a} |x - c_b| - max_{y in b} |y - c_b| <= eps``. This pruning is exact: it only
  skips pairs that are provably farther than eps.
* Each face keeps at most ``max_neighbors`` of its nearest eps-neighbours (then the graph is
  symmetrised). DBSCAN's core faces are unchanged by this (``min_samples <= max_neighbors``);
  connectivity is DBSCAN's except where two dense regions touch only through faces that are not
  among each other's nearest neighbours, which then stay apart (the precision-first KNN-DBSCAN
  of learn-to-cluster). It bounds memory to ``N * max_neighbors`` edges whatever the album.
"""

from __future__ import annotations

import os

import numpy as np

#: Below this many faces the whole set is one cell (no k-means): exact brute force.
PRUNE_MIN_FACES = 6000
#: Faces per pruning cell (k-means centres) on large sets.
FACES_PER_CELL = 100
#: A face within this distance of its cell centre is "tight": its pairs are found exactly.
TIGHT_RADIUS = 0.6
#: Added to eps in the pruning bounds: float16 distances to the centres and float32 rounding.
SLACK = 0.01


def radius_graph(
    X: np.ndarray,
    eps: float,
    *,
    max_neighbors: int = 64,
    chunk: int = 2048,
    cells: int | None = None,
    seed: int = 0,
):
    """Sparse symmetric eps-neighbour graph of unit rows (CSR, float32 distances, no diagonal).

    Args:
        X: (N, D) L2-normalised rows.
        eps: Radius (Euclidean).
        max_neighbors: Nearest eps-neighbours kept per face before symmetrising.
        chunk: Rows per matrix product.
        cells: Number of pruning cells (default: about ``sqrt(N)`` for large N, else 1).
        seed: Seed of the k-means sample (the result does not depend on it, only the speed).
    """
    from scipy import sparse

    X = np.ascontiguousarray(X, dtype=np.float32)
    n = len(X)
    if n == 0:
        return sparse.csr_matrix((0, 0), dtype=np.float32)
    thr = np.float32(1.0 - eps * eps / 2.0)
    if cells is None:
        cells = 1 if n < PRUNE_MIN_FACES else max(2, n // FACES_PER_CELL)
    rows_out: list[np.ndarray] = []
    cols_out: list[np.ndarray] = []
    sims_out: list[np.ndarray] = []
    all_ids = np.arange(n)

    def work(block):
        rows, cols = block
        S = X[rows] @ X[cols].T
        row_ids, col_ids = all_ids[rows], all_ids[cols]
        r, c = _keep(S, thr, row_ids, col_ids, max_neighbors)
        return row_ids[r], col_ids[c], S[r, c]

    # one BLAS thread per worker: small products with a threaded BLAS stall on a busy machine
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    workers = max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2, 8))
    with threadpool_limits(1), ThreadPoolExecutor(workers) as pool:
        for r, c, sim in pool.map(work, _blocks(X, eps, max(1, cells), chunk, seed)):
            rows_out.append(r)
            cols_out.append(c)
            sims_out.append(sim)
    r = np.concatenate(rows_out)
    c = np.concatenate(cols_out)
    s = np.concatenate(sims_out)
    d = np.sqrt(np.maximum(2.0 - 2.0 * s, 0.0)).astype(np.float32)
    d = np.maximum(d, np.float32(1e-6))  # identical embeddings: keep the edge explicit
    g = sparse.csr_matrix((d, (r, c)), shape=(n, n), dtype=np.float32)
    return g.maximum(g.T).tocsr()


def _keep(S: np.ndarray, thr: np.float32, row_ids: np.ndarray, col_ids: np.ndarray, k: int):
    """Positions (r, c) in a block of similarities to keep: within eps, not self, k nearest per row."""
    mask = thr <= S
    same = row_ids[:, None] == col_ids[None, :] if len(row_ids) * len(col_ids) <= 4_000_000 else None
    if same is not None:
        mask &= ~same
    else:  # large block: find self positions through a lookup
        pos = np.full(int(max(row_ids.max(), col_ids.max())) + 1, -1, np.int64)
        pos[col_ids] = np.arange(len(col_ids))
        self_col = pos[row_ids]
        ok = self_col >= 0
        mask[np.nonzero(ok)[0], self_col[ok]] = False
    r, c = np.nonzero(mask)
    if len(r) == 0:
        return r, c
    counts = np.bincount(r, minlength=len(S))
    over = np.nonzero(counts > k)[0]
    if len(over):
        keep = counts[r] <= k
        r, c = r[keep], c[keep]
        sub = np.where(mask[over], S[over], -np.inf)
        top = np.argpartition(-sub, k - 1, axis=1)[:, :k]
        r = np.concatenate([r, np.repeat(over, k)])
        c = np.concatenate([c, top.ravel()])
    return r, c


def _blocks(X: np.ndarray, eps: float, cells: int, chunk: int, seed: int):
    """Yield (rows, cols) index pairs whose products cover the pairs within eps (see module doc)."""
    n = len(X)
    if cells <= 1:
        for lo in range(0, n, chunk):
            yield slice(lo, min(n, lo + chunk)), slice(0, n)
        return
    C = _kmeans(X, cells, seed)
    k = len(C)
    # |x - c| for every face and centre (float16 to bound memory; SLACK covers its rounding)
    dist = np.empty((n, k), np.float16)
    for lo in range(0, n, 4096):
        d2 = 2.0 - 2.0 * (X[lo : lo + 4096] @ C.T)
        dist[lo : lo + 4096] = np.sqrt(np.maximum(d2, 0.0))
    own = np.argmin(dist, axis=1)
    r = dist[np.arange(n), own].astype(np.float32)
    tight = r <= TIGHT_RADIUS
    order = np.lexsort((~tight, own))
    bounds = np.searchsorted(own[order], np.arange(k + 1))
    t_members, l_members = [], []
    for b in range(k):
        m = order[bounds[b] : bounds[b + 1]]
        t_members.append(m[tight[m]])
        l_members.append(m[~tight[m]])
    radius = np.array([r[m].max() if len(m) else -np.inf for m in t_members], np.float32)
    # near[a, b]: the smallest distance from a tight face of cell a to centre b
    near = np.full((k, k), np.inf, np.float32)
    for a in range(k):
        if len(t_members[a]):
            near[a] = dist[t_members[a]].min(axis=0)
    slack = np.float32(eps + SLACK)
    need = (near - radius[None, :] <= slack) & (near.T - radius[:, None] <= slack)
    # loose faces that a tight face of cell a may be close to: |y - c_a| <= R_a + eps
    loose = np.nonzero(~tight)[0]
    loose_for: list[list[np.ndarray]] = [[] for _ in range(k)]
    for lo in range(0, len(loose), 4096):
        ys = loose[lo : lo + 4096]
        hit = dist[ys].astype(np.float32) - radius[None, :] <= slack
        for a in np.nonzero(hit.any(axis=0))[0]:
            loose_for[a].append(ys[hit[:, a]])
    del dist
    for a in range(k):
        cells_a = np.nonzero(need[a])[0]
        if len(t_members[a]):
            cols = np.concatenate([t_members[b] for b in cells_a] + loose_for[a] + [l_members[a]])
            for lo in range(0, len(t_members[a]), chunk):
                yield t_members[a][lo : lo + chunk], cols
        if len(l_members[a]):
            # loose x loose pairs: only within neighbouring cells (the one approximation)
            cols = np.concatenate([l_members[b] for b in np.append(cells_a, a)])
            for lo in range(0, len(l_members[a]), chunk):
                yield l_members[a][lo : lo + chunk], cols


def _kmeans(X: np.ndarray, k: int, seed: int, iters: int = 4, sample: int = 20000) -> np.ndarray:
    """A few spherical k-means steps on a sample; (k', D) unit centroids (empty cells dropped)."""
    rng = np.random.default_rng(seed)
    n = len(X)
    S = X[rng.choice(n, size=min(n, sample), replace=False)] if n > sample else X
    C = S[rng.choice(len(S), size=min(k, len(S)), replace=False)].copy()
    from scipy import sparse

    for _ in range(iters):
        a = np.argmax(S @ C.T, axis=1)
        onehot = sparse.csr_matrix(
            (np.ones(len(S), np.float32), (a, np.arange(len(S)))), shape=(len(C), len(S))
        )
        sums = np.asarray(onehot @ S)
        keep = np.asarray(onehot.sum(axis=1)).ravel() > 0
        C = sums[keep]
        C /= np.maximum(np.linalg.norm(C, axis=1, keepdims=True), 1e-12)
    return C.astype(np.float32)
