"""dlib-style alignment in numpy: the transform, the chips and the ported 5-point shape predictor."""

from __future__ import annotations

import numpy as np
import pytest
from dlib_fixtures import dlib_models, dlib_shape, lfw_faces, sample, shape_points
from shared_data import shared_path

from faceorganizer.vision import dlib_align as A


def test_similarity_transform_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (3, 5, 2))
    angle, scale, shift = np.array([0.3, -1.2, 2.5]), np.array([0.5, 2.0, 1.3]), rng.uniform(-50, 50, (3, 2))
    rot = np.stack(
        [np.stack([np.cos(angle), -np.sin(angle)], -1), np.stack([np.sin(angle), np.cos(angle)], -1)], -2
    )
    dst = np.einsum("nij,npj->npi", scale[:, None, None] * rot, src) + shift[:, None, :]
    t = A.similarity_transform(src, dst)
    np.testing.assert_allclose(t[:, :, :2], scale[:, None, None] * rot, atol=1e-9)
    np.testing.assert_allclose(t[:, :, 2], shift, atol=1e-9)


def test_chips_match_dlibs_get_face_chip_for_the_same_points():
    dlib, _, _ = dlib_models()
    diffs = []
    for face in sample(lfw_faces(), 6):
        shape = dlib_shape(face)
        ref = dlib.get_face_chip(face.image, shape, 150, 0.25)
        ours = A.extract_chips(face.image, A.chip_transforms(shape_points(shape)[None]))[0]
        diffs.append(np.abs(ref.astype(int) - ours.astype(int)).mean())
    # below one grey level on average: same geometry (a half-pixel or 1% scale error gives 2-4)
    assert max(diffs) < 1.0


def test_large_faces_go_through_dlibs_pyramid():
    from faceorganizer.vision.imageio import load_image

    dlib, sp, _ = dlib_models()
    image = np.asarray(load_image(shared_path("images", "scenes", "paul_rudd.jpg")))
    rect = dlib.get_frontal_face_detector()(image, 0)[0]
    shape = sp(image, rect)
    tform = A.chip_transforms(shape_points(shape)[None])
    assert np.hypot(tform[0, 0, 0], tform[0, 1, 0]) > 8  # three pyramid levels
    ref = dlib.get_face_chip(image, shape, 150, 0.25).astype(int)
    ours = A.extract_chips(image, tform)[0].astype(int)
    plain = A._sample(image, tform[0], 150).astype(int)  # without the pyramid: aliased
    assert np.abs(ref - ours).mean() < 3.0
    assert np.abs(ref - ours).mean() < 0.6 * np.abs(ref - plain).mean()


def test_pyramid_down_is_dlibs_binomial_filter():
    x = np.zeros((11, 13, 3), np.uint8)
    x[4, 6] = 255  # one bright pixel, centred on output (2, 1)
    d = A.pyramid_down(x)
    assert d.shape == (4, 5, 3)
    expected = (np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) * 255) // 256
    assert d[1, 2, 0] == expected[2, 2] and d[0, 2, 0] == expected[0, 2] and d[1, 1, 0] == expected[2, 0]
    assert d[3].max() == 0 and d[:, 4].max() == 0


def test_ported_shape_predictor_gives_dlibs_points():
    sp = A.load_shape_predictor()
    faces = sample(lfw_faces(), 20)
    errors = []
    for face in faces:
        ref = shape_points(dlib_shape(face))  # dlib rounds its points to whole pixels
        ours = sp.predict(A.intensity(face.image), A.dlib_rects(face.box))[0]
        errors.append(np.abs(ours - ref).max())
    errors = np.array(errors)
    # within dlib's rounding for most faces; measured: 31 of 34 faces <= 0.5 px, all <= 0.61 px
    assert np.mean(errors <= 0.5 + 1e-6) >= 0.8
    assert errors.max() < 1.0


def test_both_aligners_make_chips_of_the_right_shape():
    face = lfw_faces()[0]
    for name in ("mtcnn", "shape-predictor"):
        chips = A.make_aligner(name)(face.image, face.box, face.landmarks)
        assert chips.shape == (1, 150, 150, 3) and chips.dtype == np.uint8 and chips.std() > 20
    with pytest.raises(ValueError, match="unknown alignment 'eyes'"):
        A.make_aligner("eyes")


def test_mtcnn_template_is_where_dlibs_points_put_mtcnns_landmarks():
    """Seen through the chip frame dlib's own points define, MTCNN's landmarks sit on MTCNN_TEMPLATE."""
    sp = A.load_shape_predictor()
    chip_points = (A.CHIP_PADDING + A.DLIB_TEMPLATE) / (1 + 2 * A.CHIP_PADDING)
    seen = []
    for face in sample(lfw_faces(), 20):
        pts = sp.predict(A.intensity(face.image), A.dlib_rects(face.box))
        to_unit = A.similarity_transform(pts, chip_points[None])[0]
        unit = face.landmarks[0] @ to_unit[:, :2].T + to_unit[:, 2]
        seen.append(unit * (1 + 2 * A.CHIP_PADDING) - A.CHIP_PADDING)
    deviation = np.abs(np.median(seen, axis=0) - A.MTCNN_TEMPLATE)
    # the eyes within 3% of the face size, nose and mouth within 6% (MTCNN's mouth corners
    # sit a little lower than dlib's mean points 48 and 54); a swapped or mirrored point
    # would be 30-50% off
    assert deviation[:2].max() < 0.03
    assert deviation.max() < 0.06
