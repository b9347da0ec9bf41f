"""Clustering and people-list speed on a synthetic 100,000-face catalog (512-d embeddings).

Targets (issue 10): clustering 100,000 faces of 512 dimensions under 30 s on 2 cores; opening a
100,000-face catalog and listing its people under 1 s.

The album imitates a family library: a few family members with thousands of faces each (two of
them look-alike siblings), a few hundred friends with tens to hundreds, and many background
strangers seen once or twice; photos hold 1-5 faces (group photos give same-photo pairs). A face
is its identity's unit vector plus isotropic noise of norm 0.2-0.55, renormalised.

    .venv/bin/python benchmarks/bench_people.py [--faces 100000] [--threads 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def _threads(n: int) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def build(path: Path, n_faces: int, seed: int = 0):
    """Write the synthetic catalog; returns {face_id: identity}."""
    import numpy as np

    from faceorganizer.catalog import Catalog

    rng = np.random.default_rng(seed)
    dim = 512
    sizes: list[int] = []
    scale = n_faces / 100_000
    sizes += [max(20, int(x * scale)) for x in rng.integers(2500, 6000, 8)]
    while sum(sizes) < 0.7 * n_faces:
        sizes.append(int(rng.integers(10, 300)))
    while sum(sizes) < n_faces:
        sizes.append(int(rng.integers(1, 3)))
    while sum(sizes) > n_faces:
        extra = sum(sizes) - n_faces
        if sizes[-1] > extra:
            sizes[-1] -= extra
        else:
            sizes.pop()
    centres = rng.standard_normal((len(sizes), dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    # family members 0 and 1 are look-alike siblings (identities 0.75 apart)
    g = rng.standard_normal(dim).astype(np.float32)
    g -= (g @ centres[0]) * centres[0]
    g /= np.linalg.norm(g)
    cos = 1 - 0.75**2 / 2
    centres[1] = cos * centres[0] + np.sqrt(1 - cos**2) * g
    labels = np.repeat(np.arange(len(sizes)), sizes)
    spread = rng.uniform(0.2, 0.55, n_faces).astype(np.float32)
    X = (
        centres[labels]
        + rng.standard_normal((n_faces, dim)).astype(np.float32) * (spread / np.sqrt(dim))[:, None]
    )
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    # photos: shuffle faces, cut into photos of 1-5 faces (a photo never shows one identity twice
    # by construction of the split below it may; real albums have such cases too: mirrors, posters)
    order = rng.permutation(n_faces)
    photo_of = np.empty(n_faces, np.int64)
    i = p = 0
    while i < n_faces:
        k = int(rng.choice([1, 1, 1, 2, 2, 3, 4, 5]))
        photo_of[order[i : i + k]] = p + 1
        i += k
        p += 1
    cat = Catalog(path)
    cat.set_setting("model", "vggface2")
    now = time.time()
    with cat.transaction():
        cat.conn.executemany(
            "INSERT INTO photos(id, path, status, width, height) VALUES (?, ?, 'ok', 4000, 3000)",
            [(j + 1, f"/album/{j // 1000:03d}/IMG_{j:06d}.jpg") for j in range(p)],
        )
        boxes = rng.uniform(50, 400, (n_faces, 2))
        cat.conn.executemany(
            "INSERT INTO faces(id, photo_id, x1, y1, x2, y2, prob, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    f + 1,
                    int(photo_of[f]),
                    float(boxes[f, 0]),
                    float(boxes[f, 1]),
                    float(boxes[f, 0] + 120),
                    float(boxes[f, 1] + 150),
                    0.95,
                    now,
                )
                for f in range(n_faces)
            ],
        )
        cat.conn.executemany(
            "INSERT INTO embeddings(face_id, model, vector) VALUES (?, 'vggface2', ?)",
            [(f + 1, X[f].tobytes()) for f in range(n_faces)],
        )
    cat.close()
    return {f + 1: int(labels[f]) for f in range(n_faces)}, len(sizes), p


def scores(cat, truth) -> dict[str, float]:
    """Pairwise and BCubed precision/recall of the unnamed groups (noise = singletons)."""
    import numpy as np

    rows = cat.conn.execute("SELECT id, cluster_id FROM faces ORDER BY id").fetchall()
    ids = np.array([r[0] for r in rows])
    pred = np.array([r[1] if r[1] is not None else -r[0] for r in rows])
    true = np.array([truth[int(i)] for i in ids])
    from sklearn.metrics.cluster import contingency_matrix

    c = contingency_matrix(true, pred, sparse=True)
    n = len(ids)
    tk = (c.data.astype(np.float64) ** 2).sum() - n
    pk = (np.asarray(c.sum(axis=0)).ravel().astype(np.float64) ** 2).sum() - n
    qk = (np.asarray(c.sum(axis=1)).ravel().astype(np.float64) ** 2).sum() - n
    pp, pr = tk / pk if pk else 1.0, tk / qk if qk else 1.0
    cc = c.tocoo()
    col = np.asarray(c.sum(axis=0)).ravel()
    row = np.asarray(c.sum(axis=1)).ravel()
    bp = float((cc.data.astype(np.float64) ** 2 / col[cc.col]).sum() / n)
    br = float((cc.data.astype(np.float64) ** 2 / row[cc.row]).sum() / n)
    return {"pairwise_P": pp, "pairwise_R": pr, "bcubed_P": bp, "bcubed_R": br}


def _timed(fn):
    """(result, wall seconds, CPU seconds of this process, all threads)."""
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t, time.process_time() - c


def _line(label: str, wall: float, cpu: float, target: float) -> str:
    return (
        f"{label:<44} wall {wall:7.2f} s  cpu {cpu:7.2f} s   target < {target:g} s   "
        f"ratio wall/target {wall / target:.2f}"
    )


def add_new_photos(path: Path, named: list[int], per_person: int, strangers: int, seed: int = 1) -> int:
    """New photos arrive: faces of already named people (near their faces) and new strangers."""
    import numpy as np

    from faceorganizer.catalog import Catalog

    rng = np.random.default_rng(seed)
    cat = Catalog(path)
    top_face = int(cat.scalar("SELECT MAX(id) FROM faces"))
    top_photo = int(cat.scalar("SELECT MAX(id) FROM photos"))
    rows = []
    ids, X = cat.embeddings("vggface2")
    for pid in named:
        own = [r[0] for r in cat.conn.execute("SELECT id FROM faces WHERE person_id = ? LIMIT 200", (pid,))]
        centre = X[np.searchsorted(ids, own)].mean(axis=0)
        centre /= np.linalg.norm(centre)
        for _ in range(per_person):
            v = centre + rng.standard_normal(512).astype(np.float32) * (rng.uniform(0.2, 0.5) / np.sqrt(512))
            rows.append(v / np.linalg.norm(v))
    for _ in range(strangers):
        v = rng.standard_normal(512).astype(np.float32)
        rows.append(v / np.linalg.norm(v))
    now = time.time()
    with cat.transaction():
        for k, v in enumerate(rows):
            fid, ph = top_face + k + 1, top_photo + k + 1
            cat.conn.execute(
                "INSERT INTO photos(id, path, status) VALUES (?, ?, 'ok')",
                (ph, f"/album/new/IMG_{k:06d}.jpg"),
            )
            cat.conn.execute(
                "INSERT INTO faces(id, photo_id, x1, y1, x2, y2, prob, created_at) "
                "VALUES (?, ?, 0, 0, 120, 150, 0.95, ?)",
                (fid, ph, now),
            )
            cat.put_embedding(fid, "vggface2", np.asarray(v, np.float32))
    cat.close()
    return len(rows)


def compare_sklearn(path: Path, n: int) -> None:
    """Our radius graph + DBSCAN(precomputed) against DBSCAN's own neighbour search, same faces."""
    import numpy as np
    from sklearn.cluster import DBSCAN
    from sklearn.metrics import adjusted_rand_score

    from faceorganizer.catalog import Catalog
    from faceorganizer.people.graph import radius_graph

    cat = Catalog(path)
    _, X = cat.embeddings("vggface2")
    cat.close()
    X = X[:n] / np.linalg.norm(X[:n], axis=1, keepdims=True)
    ours, w1, c1 = _timed(
        lambda: DBSCAN(eps=0.64, min_samples=3, metric="precomputed").fit(radius_graph(X, 0.64)).labels_
    )
    theirs, w2, c2 = _timed(lambda: DBSCAN(eps=0.64, min_samples=3, n_jobs=2).fit(X).labels_)
    print()
    print(
        f"DBSCAN on {n} faces: ours wall {w1:.2f} s cpu {c1:.2f} s; scikit-learn's own neighbour search wall "
        f"{w2:.2f} s cpu {c2:.2f} s (ratio {w2 / w1:.1f}x); "
        f"same partition: ARI {adjusted_rand_score(ours, theirs):.4f}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep", type=Path, help="build the catalog here and keep it")
    ap.add_argument(
        "--compare-sklearn",
        type=int,
        metavar="N",
        help="also time scikit-learn's own DBSCAN (metric euclidean) against ours on the first N faces",
    )
    args = ap.parse_args()
    _threads(args.threads)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from faceorganizer.catalog import Catalog
    from faceorganizer.people import cluster, list_people, name_group

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_people_"))
    work.mkdir(parents=True, exist_ok=True)
    path = work / "catalog.sqlite"
    if path.exists():
        path.unlink()
    t = time.perf_counter()
    truth, identities, photos = build(path, args.faces)
    took = time.perf_counter() - t
    print(f"built {args.faces} faces of {identities} identities in {photos} photos ({took:.1f} s)")
    print(
        f"machine: {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f} (wall times grow with load)"
    )
    import sklearn.cluster  # noqa: F401  (a cold import takes seconds; not part of clustering)

    cat = Catalog(path)
    s, wall, cpu = _timed(lambda: cluster(cat))
    print()
    print(_line(f"cluster {s.faces} faces (first run)", wall, cpu, 30))
    print("   wall per step: " + ", ".join(f"{k} {v:.2f}" for k, v in s.timings.items()))
    print(
        f"   {s.groups} groups, {s.grouped} faces grouped, {s.noise} ungrouped, "
        f"{s.ejected} ejected (same photo)"
    )
    print("   vs the true identities: " + ", ".join(f"{k} {v:.4f}" for k, v in scores(cat, truth).items()))

    groups = [p for p in list_people(cat) if p.cluster_id is not None][:20]
    named = [name_group(cat, g.cluster_id, f"Person {k:02d}") for k, g in enumerate(groups)]
    cat.close()
    added = add_new_photos(path, named, per_person=50, strangers=1000)
    cat = Catalog(path)
    s2, wall, cpu = _timed(lambda: cluster(cat))
    print()
    print(_line(f"recluster {s2.faces} faces (20 named, +{added} new)", wall, cpu, 30))
    print("   wall per step: " + ", ".join(f"{k} {v:.2f}" for k, v in s2.timings.items()))
    print(
        f"   {s2.groups} groups ({s2.kept_ids} kept their id, {s2.new_ids} new), {s2.auto} faces attached "
        f"to named people, {s2.suggested} suggested"
    )
    cat.close()

    def open_and_list():
        c = Catalog(path)
        try:
            return list_people(c)
        finally:
            c.close()

    rows, wall, cpu = _timed(open_and_list)
    print()
    print(_line(f"open catalog + list_people ({len(rows)} rows)", wall, cpu, 1))
    if args.compare_sklearn:
        compare_sklearn(path, args.compare_sklearn)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
