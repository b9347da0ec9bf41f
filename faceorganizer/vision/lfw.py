"""Face verification on labelled photos with the app's own detection + embedding path.

Used by ``benchmarks/lfw_verify.py``: MTCNN finds the faces of each photo, the embedder
(:func:`faceorganizer.vision.embedders.load_embedder`) embeds them, and the face nearest the
photo centre stands for the photo (LFW photos are centred on their person). Distances are
squared L2 between unit embeddings, as :mod:`faceorganizer.vision.evaluation` expects.

Two protocols:

* LFW View 2 (:func:`pair_distances` + :func:`faceorganizer.vision.evaluation.kfold_verification`),
  optionally restricted to the pairs whose two photos exist (:func:`usable_pairs`);
* all pairs of a ``<root>/<person>/<photo>`` folder (:func:`all_pair_distances`), summarised
  by :func:`roc_auc` and :func:`best_threshold`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ImageError
from .evaluation import Pair

#: Squared distance given to a pair where a photo has no detected face (judged "different").
NO_FACE_DISTANCE = 4.0


@dataclass(frozen=True)
class EmbeddedPhoto:
    """The embedding of a photo's central face, or ``None`` when no face was found."""

    path: Path
    embedding: np.ndarray | None


def central_face(boxes: np.ndarray, width: int, height: int) -> int:
    """Index of the box whose centre is nearest the image centre."""
    centres = (boxes[:, :2] + boxes[:, 2:4]) / 2
    d = np.hypot(centres[:, 0] - width / 2, centres[:, 1] - height / 2)
    return int(np.argmin(d))


def embed_photos(
    paths: Sequence[str | os.PathLike[str]],
    detector,
    embedder,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> dict[Path, EmbeddedPhoto]:
    """Detect and embed the central face of each photo.

    Unreadable photos are reported on stderr (file and problem) and count as faceless.

    Args:
        paths: Photo files.
        detector: An MTCNN with ``detect(img, landmarks=True)``.
        embedder: A :class:`~faceorganizer.vision.embedders.FaceEmbedder`.
        progress: Called with ``(done, total)`` after each photo.
    """
    from .imageio import load_image

    out: dict[Path, EmbeddedPhoto] = {}
    unique = list(dict.fromkeys(Path(p) for p in paths))
    for i, path in enumerate(unique):
        vector = None
        try:
            pil = load_image(path)
        except ImageError as exc:
            print(f"skipped: {exc}", file=sys.stderr)
            pil = None
        if pil is not None:
            boxes, _probs, points = detector.detect(pil, landmarks=True)
            if boxes is not None and len(boxes):
                k = central_face(np.asarray(boxes), *pil.size)
                image = np.asarray(pil)
                vector = embedder.embed(image, np.asarray(boxes)[k : k + 1], np.asarray(points)[k : k + 1])[0]
        out[path] = EmbeddedPhoto(path, vector)
        if progress is not None:
            progress(i + 1, len(unique))
    return out


def usable_pairs(pairs: Sequence[Pair]) -> list[Pair]:
    """The pairs whose two photos exist on disk."""
    return [p for p in pairs if p.first.is_file() and p.second.is_file()]


def squared_distance(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Squared L2 distance of two unit embeddings; :data:`NO_FACE_DISTANCE` if one is missing."""
    if a is None or b is None:
        return NO_FACE_DISTANCE
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    return float(d @ d)


def pair_distances(pairs: Sequence[Pair], photos: dict[Path, EmbeddedPhoto]) -> tuple[np.ndarray, np.ndarray]:
    """``(distances, same)`` of LFW pairs from :func:`embed_photos` results."""
    dist = np.array([squared_distance(photos[p.first].embedding, photos[p.second].embedding) for p in pairs])
    same = np.array([p.same for p in pairs], dtype=bool)
    return dist, same


def person_photos(root: str | os.PathLike[str]) -> dict[str, list[Path]]:
    """``{person: sorted photo paths}`` of a ``<root>/<person>/*.jpg|png`` folder."""
    from .imageio import is_image_file

    people: dict[str, list[Path]] = {}
    for folder in sorted(Path(root).iterdir()):
        if folder.is_dir():
            files = sorted(f for f in folder.iterdir() if f.is_file() and is_image_file(f))
            if files:
                people[folder.name] = files
    return people


def all_pair_distances(
    people: dict[str, list[Path]], photos: dict[Path, EmbeddedPhoto]
) -> tuple[np.ndarray, np.ndarray]:
    """``(distances, same)`` over every pair of photos with a face (squared L2)."""
    labels, vectors = [], []
    for person, files in people.items():
        for f in files:
            e = photos[f].embedding
            if e is not None:
                labels.append(person)
                vectors.append(e)
    x = np.asarray(vectors, np.float64)
    sq = np.maximum((x * x).sum(1)[:, None] + (x * x).sum(1)[None, :] - 2 * x @ x.T, 0.0)
    iu = np.triu_indices(len(x), 1)
    lab = np.asarray(labels)
    return sq[iu], (lab[:, None] == lab[None, :])[iu]


def folder_pairs(people: dict[str, list[Path]], n_folds: int = 10, seed: int = 0) -> list[Pair]:
    """A View-2-like protocol built from a ``<person>/<photo>`` folder.

    Every same-person pair is used, with as many different-person pairs drawn at random
    (fixed ``seed``); they are laid out fold by fold (each fold: its same pairs, then its
    different pairs) so that :func:`~faceorganizer.vision.evaluation.kfold_verification`'s
    contiguous folds are balanced, as in LFW's ``pairs.txt``.
    """
    rng = np.random.default_rng(seed)
    same = [
        Pair(a, b, True) for files in people.values() for i, a in enumerate(files) for b in files[i + 1 :]
    ]
    rng.shuffle(same)  # type: ignore[arg-type]
    names = list(people)
    if len(names) < 2:
        raise ValueError("need photos of at least two people")
    diff: list[Pair] = []
    seen: set[tuple[Path, Path]] = set()
    while len(diff) < len(same):
        i, j = rng.choice(len(names), 2, replace=False)
        a = people[names[i]][rng.integers(len(people[names[i]]))]
        b = people[names[j]][rng.integers(len(people[names[j]]))]
        if (a, b) not in seen and (b, a) not in seen:
            seen.add((a, b))
            diff.append(Pair(a, b, False))
    out: list[Pair] = []
    for fold_same, fold_diff in zip(
        np.array_split(np.arange(len(same)), n_folds), np.array_split(np.arange(len(diff)), n_folds)
    ):
        out += [same[k] for k in fold_same] + [diff[k] for k in fold_diff]
    return out


def d_prime(distances: np.ndarray, same: np.ndarray) -> float:
    """Separation of the two distance distributions: mean gap over the pooled standard deviation."""
    d = np.asarray(distances, np.float64)
    same = np.asarray(same, bool)
    pos, neg = d[same], d[~same]
    return float((neg.mean() - pos.mean()) / np.sqrt((pos.var() + neg.var()) / 2))


def roc_auc(distances: np.ndarray, same: np.ndarray) -> float:
    """Probability that a random same pair is closer than a random different pair (ties 1/2)."""
    d = np.asarray(distances, np.float64)
    same = np.asarray(same, bool)
    pos, neg = d[same], d[~same]
    if not len(pos) or not len(neg):
        raise ValueError("need both same and different pairs")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    values = np.concatenate([pos, neg])[order]
    ranks = np.empty(len(values))
    # average ranks over ties
    _, first, counts = np.unique(values, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    rank_pos = ranks[: len(pos)].sum() - len(pos) * (len(pos) - 1) / 2.0
    # rank_pos counts negatives below each positive; AUC = P(pos < neg)
    return float(1.0 - rank_pos / (len(pos) * len(neg)))


def best_threshold(distances: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """The threshold (``same`` when ``distance < t``) with the best accuracy, and that accuracy."""
    d = np.asarray(distances, np.float64)
    same = np.asarray(same, bool)
    candidates = np.unique(np.concatenate([d, [d.max() + 1e-9]]))
    accs = [(float(np.mean((d < t) == same)), float(t)) for t in candidates]
    acc, t = max(accs)
    return t, acc
