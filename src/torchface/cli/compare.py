"""``torchface compare``: distances between the faces of several images, and same/different."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import TorchfaceError
from ._common import (
    add_detector_options,
    add_embedder_options,
    add_runtime_options,
    build_pipeline,
    collect_images,
    progress_bar,
    warn,
)

if TYPE_CHECKING:
    import numpy as np

_EPILOG = """\
The distance is the Euclidean (L2) distance between L2-normalised embeddings (0 = same
embedding, 2 = opposite). Two faces are judged the same person when the distance is at
most the model's threshold: 1.10 for vggface2 and casia-webface, and 1.10 for other
Inception-ResNet-V1 weight files unless --threshold says otherwise.
By default each image contributes its largest face; --all-faces uses every face
(labelled <image>#<face index>).

examples:
  torchface compare a.jpg b.jpg
  torchface compare group.jpg --all-faces --json
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` command."""
    p = subparsers.add_parser(
        "compare",
        help="distance matrix between faces and same/different verdicts",
        description="Embed the faces of the given images and print their distance matrix "
        "and, for each pair, whether they show the same person.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="IMG", help="images (or folders of images)")
    p.add_argument("--all-faces", action="store_true", help="compare every face, not the largest per image")
    p.add_argument(
        "--threshold",
        type=float,
        metavar="D",
        help="same person when distance <= D (default: the model's documented threshold)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    add_embedder_options(p)
    add_detector_options(p)
    add_runtime_options(p)
    p.set_defaults(func=run)


def _label(source: str, taken: set[str]) -> str:
    label = Path(source).name
    if label in taken:
        label = source
    taken.add(label)
    return label


def run(args: argparse.Namespace) -> int:
    """Run ``torchface compare``."""
    import numpy as np

    from ..verification import pairwise_distances, threshold_for

    files = collect_images(args.paths)
    pipeline = build_pipeline(args, embed=True, keep_crops=False)
    labels: list[str] = []
    embeddings: list[np.ndarray] = []
    taken: set[str] = set()
    with progress_bar(len(files), "compare", args.progress) as bar:
        for result in pipeline.run(files):
            bar.update(1)
            if not result.faces:
                warn(f"torchface: {result.source}: skipped, {result.reason}")
                continue
            base = _label(result.source, taken)
            if args.all_faces:
                for face in result.faces:
                    labels.append(f"{base}#{face.index}")
                    embeddings.append(face.embedding)
            else:
                face = result.largest_face()
                labels.append(base)
                embeddings.append(face.embedding)
    if len(embeddings) < 2:
        raise TorchfaceError(
            f"need at least two faces to compare, found {len(embeddings)} in {len(files)} images"
        )
    model = pipeline.model_name
    threshold = threshold_for(model) if args.threshold is None else args.threshold
    dist = pairwise_distances(np.stack(embeddings))
    pairs = [
        (labels[i], labels[j], float(dist[i, j]), bool(dist[i, j] <= threshold))
        for i in range(len(labels))
        for j in range(i + 1, len(labels))
    ]
    if args.json:
        json.dump(
            {
                "model": model,
                "metric": "L2 distance between L2-normalised embeddings",
                "threshold": threshold,
                "labels": labels,
                "distances": np.round(dist.astype(np.float64), 6).tolist(),
                "pairs": [{"a": a, "b": b, "distance": round(d, 6), "same": same} for a, b, d, same in pairs],
            },
            sys.stdout,
            indent=1,
        )
        sys.stdout.write("\n")
        return 0
    _print_table(labels, dist, model, threshold, pairs)
    return 0


def _print_table(labels: list[str], dist: np.ndarray, model: str, threshold: float, pairs: list[Any]) -> None:
    print(f"model: {model}    L2 distance; same person when <= {threshold:.2f}")
    print()
    width = max(8, *(len(s) for s in labels))
    print(" " * width + "".join(f"  {s:>{width}}" for s in labels))
    for label, row in zip(labels, dist):
        print(f"{label:<{width}}" + "".join(f"  {v:>{width}.3f}" for v in row))
    print()
    for a, b, d, same in pairs:
        verdict = "same" if same else "different"
        print(f"{a:<{width}}  {b:<{width}}  {d:.3f}  {verdict}")
