"""The torch port of dlib's face-recognition ResNet equals dlib, and the embedder works end to end."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from dlib_fixtures import dlib_models, dlib_shape, file_hash, lfw_faces, mtcnn, sample
from shared_data import shared_path

from faceorganizer.vision.errors import WeightsError

GROUP_PHOTO = "multiface.jpg"  # 1200x630, six people


@pytest.fixture(scope="module")
def net():
    from faceorganizer.vision.models.dlib_resnet import load_dlib_resnet

    return load_dlib_resnet()


@pytest.fixture(scope="module")
def dlib_chips():
    """dlib's own 150x150 chips (get_face_chip, padding 0.25) of MTCNN detections: 8 lfw faces."""
    dlib, _, _ = dlib_models()
    faces = sample(lfw_faces(), 8)
    return np.stack([dlib.get_face_chip(f.image, dlib_shape(f), 150, 0.25) for f in faces])


def test_descriptors_equal_dlibs_compute_face_descriptor_on_the_same_chips(net, dlib_chips):
    _, _, fr = dlib_models()
    ref = np.array([np.array(d) for d in fr.compute_face_descriptor(list(dlib_chips))])
    ours = net.descriptors(dlib_chips)
    assert ours.shape == ref.shape == (8, 128) and ours.dtype == np.float32
    assert np.abs(ours - ref).max() < 1e-4
    # the check has teeth: the faces' descriptors differ far more than the tolerance
    assert np.abs(ref - ref.mean(axis=0)).max() > 0.1
    # one chip at a time (batch of 1, another code path of the convolutions) agrees too
    single = net.descriptors(dlib_chips[:1])
    assert np.abs(single[0] - ref[0]).max() < 1e-4


def test_a_network_of_another_shape_is_refused(net):
    from faceorganizer.vision.dlib_format import RESNET_FILE, packaged_file, read_dnn
    from faceorganizer.vision.models.dlib_resnet import DlibResNet

    parsed = read_dnn(packaged_file(RESNET_FILE))
    headless = dataclasses.replace(parsed, layers=parsed.layers[:-1])
    with pytest.raises(WeightsError, match="not dlib's face-recognition ResNet: unexpected head"):
        DlibResNet(headless)
    no_relu = dataclasses.replace(parsed, layers=parsed.layers[:6] + parsed.layers[7:])
    with pytest.raises(WeightsError, match="unexpected residual block"):
        DlibResNet(no_relu)


def test_embedder_is_registered_available_and_the_default_without_inception_weights():
    from faceorganizer.vision.embedders import EMBEDDERS, available_models, default_model, load_embedder

    assert "dlib-resnet-v1" in available_models()
    assert EMBEDDERS["dlib-resnet-v1"].dim == 128
    # the test caches hold no Inception-ResNet-V1 weights, so the offline model is the default
    assert default_model() == "dlib-resnet-v1"
    emb = load_embedder("dlib-resnet-v1")
    assert (emb.name, emb.dim) == ("dlib-resnet-v1", 128)


def test_embedder_end_to_end_on_a_group_photo(tmp_path):
    from faceorganizer.vision.embedders import load_embedder
    from faceorganizer.vision.imageio import load_image
    from faceorganizer.vision.verification import pairwise_distances, threshold_for

    photo = shared_path("images", "scenes", GROUP_PHOTO)
    before = file_hash(photo)
    pil = load_image(photo)
    boxes, _, points = mtcnn().detect(pil, landmarks=True)
    image = np.asarray(pil)
    emb = load_embedder("dlib-resnet-v1")
    vectors = emb.embed(image, boxes, points)
    assert vectors.shape == (len(boxes), 128) and vectors.dtype == np.float32 and len(boxes) >= 6
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # six different people: every pair is farther apart than same-person pairs typically are
    # (0.30 on average on lfw_sample). Measured: the two most alike men are 0.417 apart, just
    # under the registry's 0.43 (dlib's 0.6 on raw descriptors), which the clustering
    # calibration has to take into account.
    d = pairwise_distances(vectors)
    assert d[np.triu_indices(len(d), 1)].min() > 0.38
    assert np.median(d[np.triu_indices(len(d), 1)]) > threshold_for("dlib-resnet-v1")
    # the same face cut out of a cropped copy of the photo embeds to (almost) the same vector:
    # alignment depends on the landmarks, not on where the face sits in the image
    x0, y0 = (np.maximum(boxes[0, :2] - 80, 0)).astype(int)
    shift = np.array([x0, y0], np.float32)
    crop = np.ascontiguousarray(image[y0:, x0:])
    again = emb.embed(crop, boxes[:1] - np.tile(shift, 2), points[:1] - shift)
    assert np.linalg.norm(again[0] - vectors[0]) < 0.02
    assert emb.embed(image, np.zeros((0, 4)), np.zeros((0, 5, 2))).shape == (0, 128)
    # several photos in shared forward passes give the same vectors as one photo at a time
    batched = emb.embed_batch(
        [
            (image, boxes, points),
            (image, np.zeros((0, 4)), np.zeros((0, 5, 2))),
            (crop, boxes[:1] - np.tile(shift, 2), points[:1] - shift),
        ]
    )
    assert [len(b) for b in batched] == [len(boxes), 0, 1]
    # the scan's protocol: prepare() per photo, embed_prepared() on the concatenation
    prepared = [
        emb.prepare(image, boxes, points),
        emb.prepare(crop, boxes[:1] - np.tile(shift, 2), points[:1] - shift),
    ]
    scanned = emb.embed_prepared(np.concatenate(prepared))
    np.testing.assert_allclose(scanned, np.concatenate([vectors, again]), atol=1e-5)
    np.testing.assert_allclose(batched[0], vectors, atol=1e-5)
    np.testing.assert_allclose(batched[2], again, atol=1e-5)
    assert file_hash(photo) == before
