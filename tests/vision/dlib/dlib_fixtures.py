"""Shared, memoised inputs of the dlib-model tests: MTCNN detections of lfw_sample, dlib's own models.

Plain functions with a per-process cache (not fixtures) so that every test module of this
folder reuses one detection pass and one copy of each network.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from shared_data import shared_path


@dataclass(frozen=True)
class Face:
    """The central MTCNN face of one photo."""

    path: Path
    person: str
    image: np.ndarray
    box: np.ndarray  # (1, 4)
    landmarks: np.ndarray  # (1, 5, 2)


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@functools.lru_cache(maxsize=1)
def mtcnn():
    from faceorganizer.vision.detection.mtcnn import MTCNN

    return MTCNN(keep_all=True, weights=shared_path("weights", "mtcnn"))


@functools.lru_cache(maxsize=1)
def lfw_faces() -> tuple[Face, ...]:
    """The central face of each of the 100 lfw_sample photos (photos hashed before and after)."""
    from faceorganizer.vision.imageio import load_image
    from faceorganizer.vision.lfw import central_face, person_photos

    people = person_photos(shared_path("images", "lfw_sample"))
    assert len(people) == 10 and all(len(v) == 10 for v in people.values())
    faces = []
    for person, files in people.items():
        for f in files:
            before = file_hash(f)
            pil = load_image(f)
            boxes, _, points = mtcnn().detect(pil, landmarks=True)
            assert boxes is not None, f"MTCNN found no face in {f}"
            k = central_face(boxes, *pil.size)
            faces.append(Face(f, person, np.asarray(pil), boxes[k : k + 1], points[k : k + 1]))
            assert file_hash(f) == before
    return tuple(faces)


@functools.lru_cache(maxsize=1)
def dlib_models():
    """``(dlib, shape_predictor, face_recognition_model)`` from the dlib-bin wheel (tests only)."""
    import dlib

    from faceorganizer.vision.dlib_format import RESNET_FILE, SHAPE5_FILE, packaged_file

    sp = dlib.shape_predictor(str(packaged_file(SHAPE5_FILE)))
    fr = dlib.face_recognition_model_v1(str(packaged_file(RESNET_FILE)))
    return dlib, sp, fr


def dlib_shape(face: Face):
    """dlib's 5-point shape of a face, predicted by dlib itself in the MTCNN box."""
    from faceorganizer.vision.dlib_align import dlib_rects

    dlib, sp, _ = dlib_models()
    left, top, right, bottom = (int(v) for v in dlib_rects(face.box)[0])
    return sp(face.image, dlib.rectangle(left, top, right, bottom))


def shape_points(shape) -> np.ndarray:
    return np.array([[shape.part(i).x, shape.part(i).y] for i in range(shape.num_parts)], np.float64)


def sample(faces, n: int) -> list:
    """``n`` faces spread over the people (deterministic)."""
    step = max(len(faces) // n, 1)
    return list(faces[::step][:n])
