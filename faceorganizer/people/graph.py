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

import numpy as np

#: Below this many faces the whole set is one cell (no k-means).
PRUNE_MIN_FACES = 6000


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
        cells = 1 if n < PRUNE_MIN_FACES else int(np.sqrt(n))
    rows_out: list[np.ndarray] = []
    cols_out: list[np.ndarray] = []
    sims_out: list[np.ndarray] = []
    for rows, cols in _blocks(X, eps, max(1, cells), chunk, seed):
        S = X[rows] @ X[cols].T
        col_ids = np.arange(n)[cols] if isinstance(cols, slice) else cols
        row_ids = np.arange(n)[rows] if isinstance(rows, slice) else rows
        r, c = _keep(S, thr, row_ids, col_ids, max_neighbors)
        rows_out.append(row_ids[r])
        cols_out.append(col_ids[c])
        sims_out.append(S[r, c])
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
    """Yield (rows, cols) index pairs whose products cover every pair within eps."""
    n = len(X)
    if cells <= 1:
        for lo in range(0, n, chunk):
            yield slice(lo, min(n, lo + chunk)), slice(0, n)
        return
    centroids = _kmeans(X, cells, seed)
    sims = np.empty((n, len(centroids)), np.float32)
    for lo in range(0, n, 8192):
        sims[lo : lo + 8192] = X[lo : lo + 8192] @ centroids.T
    csq = np.einsum("ij,ij->i", centroids, centroids)
    assign = np.argmax(sims, axis=1)
    dist = np.sqrt(np.maximum(1.0 + csq[None, :] - 2.0 * sims, 0.0))  # |x - c_b| for every x, b
    del sims
    order = np.argsort(assign, kind="stable")
    bounds = np.searchsorted(assign[order], np.arange(len(centroids) + 1))
    members = [order[bounds[b] : bounds[b + 1]] for b in range(len(centroids))]
    radius = np.array([dist[m, b].max() if len(m) else -np.inf for b, m in enumerate(members)], np.float32)
    slack = np.float32(eps + 1e-4)  # float32 rounding must never prune a true neighbour
    for mem in members:
        if len(mem) == 0:
            continue
        for lo in range(0, len(mem), chunk):
            rows = mem[lo : lo + chunk]
            need = dist[rows].min(axis=0) - radius <= slack
            cols = np.concatenate([members[b] for b in np.nonzero(need)[0]])
            yield rows, cols


def _kmeans(X: np.ndarray, k: int, seed: int, iters: int = 6, sample: int = 20000) -> np.ndarray:
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
