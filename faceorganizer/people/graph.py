"""The radius-neighbour graph DBSCAN runs on: chunked, pruned, bounded in memory.

``radius_graph(X, eps)`` returns a symmetric sparse matrix of Euclidean distances between unit
rows of ``X`` that lie within ``eps``, each row starting with the face itself (an explicit 0) and
then sorted by distance: what scikit-learn's DBSCAN expects of a precomputed graph.

* Distances come from chunked matrix products (``2 - 2 x.y``), never an N x N matrix. The
  products run in a thread pool, one BLAS thread per worker.
* Below :data:`PRUNE_MIN_FACES` faces every pair is computed (exact). Larger sets are cut into
  cells (a few spherical k-means steps on a sample, about :data:`FACES_PER_CELL` faces each). A
  face within :data:`TIGHT_RADIUS` of its cell centre is *tight*; for tight faces the pruning is
  exact, by the triangle inequality: cells ``a`` and ``b`` are compared only when
  ``min_{x in a} |x - c_b| - R_b <= eps`` and ``min_{y in b} |y - c_a| - R_a <= eps`` (``R``: the
  largest distance of a tight face to its centre), and a loose face ``y`` is compared with the
  tight faces of cell ``a`` when ``|y - c_a| - R_a <= eps``. The one approximation: two *loose*
  faces (far from every centre: strangers, outliers) are compared only when their cells are
  neighbours. A missed pair can only split a group, never merge two (precision first).
* Each face keeps at most ``max_neighbors`` of its nearest eps-neighbours (then the graph is
  symmetrised). DBSCAN's core faces are unchanged by this (``min_samples <= max_neighbors``);
  connectivity is DBSCAN's except where two dense regions touch only through faces that are not
  among each other's nearest neighbours, which then stay apart (as in the precision-first
  KNN-DBSCAN of learn-to-cluster). Memory stays at most ``2 * N * max_neighbors`` edges.
"""

from __future__ import annotations

import os

import numpy as np

#: Below this many faces every pair is computed (no cells).
PRUNE_MIN_FACES = 6000
#: Faces per pruning cell (k-means centre) on large sets.
FACES_PER_CELL = 400
#: A face within this distance of its cell centre is "tight": its pairs are found exactly.
TIGHT_RADIUS = 0.6
#: Added to eps in the pruning bounds (float32 rounding must never prune a true neighbour).
SLACK = 1e-3


def radius_graph(
    X: np.ndarray,
    eps: float,
    *,
    max_neighbors: int = 24,
    chunk: int = 2048,
    cells: int | None = None,
    seed: int = 0,
    workers: int | None = None,
):
    """Sparse symmetric eps-neighbour graph of unit rows (CSR, float32 distances, explicit 0 diagonal).

    Args:
        X: (N, D) L2-normalised rows.
        eps: Radius (Euclidean).
        max_neighbors: Nearest eps-neighbours kept per face before symmetrising.
        chunk: Rows per matrix product.
        cells: Number of pruning cells (default: 1 below :data:`PRUNE_MIN_FACES` faces, else
            ``N // FACES_PER_CELL``).
        seed: Seed of the k-means sample (changes the speed, and which loose pairs are seen).
        workers: Threads for the products (default: the usable CPUs, at most 8).
    """
    from concurrent.futures import ThreadPoolExecutor

    from scipy import sparse
    from threadpoolctl import threadpool_limits

    X = np.ascontiguousarray(X, dtype=np.float32)
    n = len(X)
    if n == 0:
        return sparse.csr_matrix((0, 0), dtype=np.float32)
    thr = np.float32(1.0 - eps * eps / 2.0)
    if cells is None:
        cells = 1 if n < PRUNE_MIN_FACES else max(2, n // FACES_PER_CELL)
    plan = _plan(X, eps, cells, chunk, seed)

    def work(block):
        rows, parts = block
        cols = parts if isinstance(parts, np.ndarray) else np.unique(np.concatenate(parts))
        S = X[rows] @ X[cols].T
        r, c = _keep(S, thr, rows, cols, max_neighbors)
        return rows[r], cols[c], S[r, c]

    if workers is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
        workers = max(1, min(cpus, 8))
    # one BLAS thread per worker: small products with a threaded BLAS stall on a busy machine
    with threadpool_limits(1), ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(work, plan))
    r = np.concatenate([x[0] for x in results])
    c = np.concatenate([x[1] for x in results])
    s = np.concatenate([x[2] for x in results])
    del results
    d = np.sqrt(np.maximum(2.0 - 2.0 * s, 0.0)).astype(np.float32)
    d = np.maximum(d, np.float32(1e-6))  # identical embeddings: keep the edge explicit
    g = sparse.csr_matrix((d, (r, c)), shape=(n, n), dtype=np.float32)
    g = g.maximum(g.T).tocsr()
    return _sort_rows(g)


def _sort_rows(g):
    """Each CSR row as scikit-learn wants it: the face itself (distance 0) first, then by distance.

    With the diagonal already stored, DBSCAN's ``setdiag`` changes no structure, and rows sorted
    by distance spare scikit-learn its row-by-row sort.
    """
    from scipy import sparse

    n = g.shape[0]
    lengths = np.diff(g.indptr)
    row = np.repeat(np.arange(n), lengths)
    order = np.lexsort((g.data, row))
    indptr = g.indptr + np.arange(n + 1)
    indices = np.empty(g.nnz + n, g.indices.dtype)
    data = np.zeros(g.nnz + n, np.float32)
    first = indptr[:-1]
    indices[first] = np.arange(n)
    rest = np.ones(g.nnz + n, bool)
    rest[first] = False
    indices[rest] = g.indices[order]
    data[rest] = g.data[order]
    return sparse.csr_matrix((data, indices, indptr), shape=g.shape)


def _keep(S: np.ndarray, thr: np.float32, row_ids: np.ndarray, col_ids: np.ndarray, k: int):
    """Positions (r, c) in a block of similarities to keep: within eps, not self, k nearest per row."""
    pos = np.full(int(max(row_ids.max(), col_ids.max())) + 1, -1, np.int64)
    pos[col_ids] = np.arange(len(col_ids))
    self_col = pos[row_ids]
    ok = np.nonzero(self_col >= 0)[0]
    S[ok, self_col[ok]] = -np.inf  # never its own neighbour
    mask = thr <= S
    counts = np.count_nonzero(mask, axis=1)
    few = np.nonzero((counts > 0) & (counts <= k))[0]
    many = np.nonzero(counts > k)[0]
    r, c = np.nonzero(mask[few])
    r = few[r]
    if len(many):  # rows with more than k neighbours: the k nearest, without listing the others
        top = np.argpartition(-S[many], k - 1, axis=1)[:, :k]
        r = np.concatenate([r, np.repeat(many, k)])
        c = np.concatenate([c, top.ravel()])
    return r, c


def _plan(X: np.ndarray, eps: float, cells: int, chunk: int, seed: int) -> list:
    """(rows, columns) blocks whose products cover the pairs within eps (see the module doc)."""
    n = len(X)
    everyone = np.arange(n)
    if cells <= 1:
        return [(everyone[lo : lo + chunk], everyone) for lo in range(0, n, chunk)]
    C = _kmeans(X, cells, seed)
    k = len(C)
    own = np.empty(n, np.int64)
    r = np.empty(n, np.float32)
    near = np.full((k, k), np.inf, np.float32)  # near[a, b]: min |x - c_b| over tight x of cell a
    for lo in range(0, n, 4096):
        d = _distances(X[lo : lo + 4096], C)
        o = np.argmin(d, axis=1)
        own[lo : lo + 4096] = o
        rr = d[np.arange(len(d)), o]
        r[lo : lo + 4096] = rr
        t = rr <= TIGHT_RADIUS
        if t.any():
            ot, dt = o[t], d[t]
            srt = np.argsort(ot, kind="stable")
            cells_here, starts = np.unique(ot[srt], return_index=True)
            near[cells_here] = np.minimum(near[cells_here], np.minimum.reduceat(dt[srt], starts, axis=0))
    tight = r <= TIGHT_RADIUS
    order = np.lexsort((~tight, own))
    bounds = np.searchsorted(own[order], np.arange(k + 1))
    t_members, l_members = [], []
    for b in range(k):
        m = order[bounds[b] : bounds[b + 1]]
        t_members.append(m[tight[m]])
        l_members.append(m[~tight[m]])
    radius = np.array([r[m].max() if len(m) else -np.inf for m in t_members], np.float32)
    slack = np.float32(eps + SLACK)
    need = (near - radius[None, :] <= slack) & (near.T - radius[:, None] <= slack)
    # loose faces y that a tight face of cell a may be close to: |y - c_a| - R_a <= eps
    loose = np.nonzero(~tight)[0]
    pairs_a, pairs_y = [], []
    for lo in range(0, len(loose), 4096):
        ys = loose[lo : lo + 4096]
        yi, a = np.nonzero(_distances(X[ys], C) - radius[None, :] <= slack)
        pairs_a.append(a)
        pairs_y.append(ys[yi])
    loose_for: list[np.ndarray] = [np.zeros(0, np.int64)] * k
    if pairs_a:
        pa, py = np.concatenate(pairs_a), np.concatenate(pairs_y)
        srt = np.argsort(pa, kind="stable")
        pa, py = pa[srt], py[srt]
        cut = np.searchsorted(pa, np.arange(k + 1))
        loose_for = [py[cut[a] : cut[a + 1]] for a in range(k)]
    plan = []
    for a in range(k):
        cells_a = np.nonzero(need[a])[0]
        if len(t_members[a]):
            parts = [t_members[b] for b in cells_a] + [loose_for[a]]
            for lo in range(0, len(t_members[a]), chunk):
                plan.append((t_members[a][lo : lo + chunk], parts))
        if len(l_members[a]):
            # loose x loose pairs: only within neighbouring cells (the one approximation)
            parts = [l_members[b] for b in np.union1d(cells_a, [a])]
            for lo in range(0, len(l_members[a]), chunk):
                plan.append((l_members[a][lo : lo + chunk], parts))
    return plan


def _distances(X: np.ndarray, C: np.ndarray) -> np.ndarray:
    """(len(X), len(C)) Euclidean distances between unit rows and centres (float32)."""
    csq = np.einsum("ij,ij->i", C, C)
    return np.sqrt(np.maximum(1.0 + csq[None, :] - 2.0 * (X @ C.T), 0.0), dtype=np.float32)


def _kmeans(X: np.ndarray, k: int, seed: int, iters: int = 4, sample: int = 20000) -> np.ndarray:
    """A few spherical k-means steps on a sample; (k', D) unit centres (empty cells dropped)."""
    from scipy import sparse

    rng = np.random.default_rng(seed)
    n = len(X)
    S = X[rng.choice(n, size=min(n, sample), replace=False)] if n > sample else X
    C = S[rng.choice(len(S), size=min(k, len(S)), replace=False)].copy()
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
