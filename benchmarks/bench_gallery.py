"""Identify queries per second against a synthetic gallery of 100,000 faces.

Builds (or reuses) an SQLite gallery of random L2-normalised 512-d embeddings
(10,000 identities x 10 faces), then times:

* the first search (reads the embedding matrix from the database once),
* single-face queries, one ``search`` call each (what ``torchface identify`` does per image),
* batched queries (many faces per ``search`` call).

Usage: .venv/bin/python benchmarks/bench_gallery.py [--faces 100000] [--gallery FILE]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from torchface.gallery import Gallery

MODEL = "vggface2"
PRE = "mtcnn-box-crop(image_size=160,margin=0)+fixed_image_standardization"


def unit(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def build(path: Path, faces: int, per_identity: int, dim: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    emb = unit(faces, dim, rng)
    t0 = time.perf_counter()
    with Gallery(path) as g, g.transaction():
        for i in range(0, faces, per_identity):
            g.add(
                f"person_{i // per_identity:06d}",
                emb[i : i + per_identity],
                model=MODEL,
                preprocessing=PRE,
                sources=[f"/photos/{j}.jpg" for j in range(i, i + per_identity)],
            )
    print(f"built {faces} faces in {time.perf_counter() - t0:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")
    return emb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--faces", type=int, default=100_000)
    ap.add_argument("--per-identity", type=int, default=10)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--gallery", type=Path, help="reuse or create this file (default: a temp file)")
    args = ap.parse_args()

    tmp = None
    path = args.gallery
    if path is None:
        tmp = tempfile.TemporaryDirectory()
        path = Path(tmp.name) / "bench.sqlite"
    emb = build(path, args.faces, args.per_identity, args.dim) if not path.exists() else None

    rng = np.random.default_rng(1)
    with Gallery(path, create=False) as g:
        n = len(g)
        if emb is None:
            emb = g.embeddings(MODEL)
        t0 = time.perf_counter()
        g.search(emb[0], model=MODEL, preprocessing=PRE)
        first = time.perf_counter() - t0

        picks = rng.integers(0, n, args.queries)
        noisy = emb[picks] + 0.02 * rng.standard_normal((args.queries, args.dim), dtype=np.float32)
        t0 = time.perf_counter()
        hits = [g.search(q, model=MODEL, preprocessing=PRE, top_k=5)[0] for q in noisy]
        single = args.queries / (time.perf_counter() - t0)
        truth = [f"person_{p // args.per_identity:06d}" for p in picks]
        correct = sum(h.identity == t for h, t in zip(hits, truth))

        many = np.repeat(noisy, max(1, 4 * args.batch // args.queries + 1), axis=0)[: 4 * args.batch]
        t0 = time.perf_counter()
        for lo in range(0, len(many), args.batch):
            g.search(many[lo : lo + args.batch], model=MODEL, preprocessing=PRE, top_k=5)
        batched = len(many) / (time.perf_counter() - t0)

    print(f"gallery: {n} faces, {n // args.per_identity} identities, {args.dim}-d, {os.cpu_count()} CPUs")
    print(f"first search (loads the matrix once): {first * 1000:.0f} ms")
    print(
        f"single-face queries: {single:.1f} queries/s ({1000 / single:.2f} ms each), "
        f"top-1 correct {correct}/{args.queries}"
    )
    print(f"batched queries ({args.batch} per call): {batched:.0f} queries/s")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
