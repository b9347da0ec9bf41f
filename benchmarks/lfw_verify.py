"""LFW 10-fold verification accuracy with the app's detection + embedding path.

Usage:
    python benchmarks/lfw_verify.py --lfw /data/lfw --pairs /data/pairs.txt [--model dlib-resnet-v1]
    python benchmarks/lfw_verify.py                      # ../shared: lfw_sample + the real pairs.txt
    python benchmarks/lfw_verify.py --compare-alignment  # dlib model: MTCNN-landmark vs shape-predictor

Full LFW: download and unpack ``lfw.tgz`` (``<root>/<Person>/<Person>_NNNN.jpg``) and the View-2
``pairs.txt``, then run the first command. MTCNN weights come from ``--mtcnn-weights`` (a folder
with ``pnet.pt``, ``rnet.pt``, ``onet.pt``; default ``../shared/weights/mtcnn`` when present,
else the weights cache). Each photo is represented by its face nearest the photo centre; a
photo without a detected face makes its pairs "different" (squared distance 4).

Pairs whose photos are missing are dropped (``--available-only``, on by default; the count is
printed), so the command also runs on a subset such as ``../shared/images/lfw_sample``, where
10-fold accuracy is computed over the usable pairs. It also reports every pair among the
photos of the folder (ROC AUC, best threshold, same/different distance distributions), the
figure that separates people on a small folder.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def _describe(name: str, d: np.ndarray) -> str:
    q = np.percentile(d, [0, 5, 25, 50, 75, 95, 100])
    return (
        f"{name:9s} n={len(d):5d} mean {d.mean():.3f}  min {q[0]:.3f}  p5 {q[1]:.3f}  p25 {q[2]:.3f}  "
        f"median {q[3]:.3f}  p75 {q[4]:.3f}  p95 {q[5]:.3f}  max {q[6]:.3f}"
    )


def evaluate(args: argparse.Namespace, alignment: str | None, out) -> dict[str, float]:
    """Embed the photos, print the figures, return them."""
    from faceorganizer.vision import lfw
    from faceorganizer.vision.detection.mtcnn import MTCNN
    from faceorganizer.vision.embedders import load_embedder
    from faceorganizer.vision.evaluation import kfold_verification, read_pairs

    kwargs = {"alignment": alignment} if alignment else {}
    embedder = load_embedder(args.model, **kwargs)
    detector = MTCNN(keep_all=True, weights=args.mtcnn_weights)
    root = Path(args.lfw)
    people = lfw.person_photos(root)
    paths = [p for files in people.values() for p in files]
    pairs = []
    if args.pairs:
        all_pairs = read_pairs(args.pairs, root)
        pairs = lfw.usable_pairs(all_pairs) if args.available_only else all_pairs
        print(f"pairs: {len(pairs)} of {len(all_pairs)} usable (both photos present)", file=out)
        if not pairs and args.folder_pairs:
            pairs = lfw.folder_pairs(people)
            print(
                f"no usable pairs: using {len(pairs)} pairs built from the folder "
                f"({sum(p.same for p in pairs)} same, all of them, + as many random different; 10 folds)",
                file=out,
            )
        if args.max_pairs:
            pairs = pairs[: args.max_pairs]
        pair_paths = [p.first for p in pairs] + [p.second for p in pairs]
        paths = paths + pair_paths if args.all_pairs else pair_paths
    start = time.perf_counter()
    photos = lfw.embed_photos(paths, detector, embedder)
    took = time.perf_counter() - start
    faceless = sum(1 for e in photos.values() if e.embedding is None)
    label = f"{embedder.name}" + (f" (alignment {alignment})" if alignment else "")
    print(f"{label}: {len(photos)} photos in {took:.1f} s, {faceless} without a face", file=out)
    figures: dict[str, float] = {}
    if pairs:
        dist, same = lfw.pair_distances(pairs, photos)
        folds = min(10, len(pairs))
        report = kfold_verification(dist, same, n_folds=folds)
        figures["kfold_accuracy"] = report.mean_accuracy
        figures["usable_pairs"] = len(pairs)
        print(f"LFW {folds}-fold over {len(pairs)} pairs: {report.summary()}", file=out)
    if args.all_pairs:
        dist, same = lfw.all_pair_distances(people, photos)
        l2 = np.sqrt(dist)
        auc = lfw.roc_auc(l2, same)
        t, acc = lfw.best_threshold(l2, same)
        dp = lfw.d_prime(l2, same)
        figures.update(auc=auc, best_threshold=t, best_accuracy=acc, d_prime=dp)
        print(
            f"all pairs of {root.name}: {int(same.sum())} same, {int((~same).sum())} different; "
            f"ROC AUC {auc:.4f}; d' {dp:.2f}; best L2 threshold {t:.3f} -> accuracy {acc:.4f}",
            file=out,
        )
        print("  L2 " + _describe("same", l2[same]), file=out)
        print("  L2 " + _describe("different", l2[~same]), file=out)
    return figures


def main(argv: list[str] | None = None, out=None) -> int:
    """Command-line entry point; returns the exit status."""
    out = out or sys.stdout
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lfw", default=str(SHARED / "images" / "lfw_sample"), help="LFW image root")
    p.add_argument(
        "--pairs", default=str(SHARED / "reference" / "lfw_pairs.txt"), help="pairs.txt ('' for none)"
    )
    p.add_argument("--model", default="dlib-resnet-v1", help="embedding model name (default dlib-resnet-v1)")
    p.add_argument("--alignment", default=None, help="dlib model alignment: mtcnn or shape-predictor")
    p.add_argument("--mtcnn-weights", default=None, help="folder with pnet.pt, rnet.pt, onet.pt")
    p.add_argument("--available-only", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--all-pairs", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument(
        "--folder-pairs",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="when no pair of pairs.txt is usable, build balanced pairs from the folder",
    )
    p.add_argument("--max-pairs", type=int, default=0, help="use only the first N usable pairs")
    p.add_argument("--compare-alignment", action="store_true", help="run both dlib alignments")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    if args.mtcnn_weights is None and (SHARED / "weights" / "mtcnn").is_dir():
        args.mtcnn_weights = str(SHARED / "weights" / "mtcnn")
    if not Path(args.lfw).is_dir():
        print(f"lfw_verify: error: {args.lfw}: not a folder", file=sys.stderr)
        return 1
    alignments = ["mtcnn", "shape-predictor"] if args.compare_alignment else [args.alignment]
    for alignment in alignments:
        evaluate(args, alignment, out)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main())
