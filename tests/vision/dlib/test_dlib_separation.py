"""Same-person and different-person distances separate on ../shared/images/lfw_sample (10 x 10 photos)."""

from __future__ import annotations

import numpy as np
from dlib_fixtures import lfw_faces

from faceorganizer.vision.lfw import EmbeddedPhoto, all_pair_distances, best_threshold, d_prime, roc_auc


def test_lfw_sample_people_separate():
    from faceorganizer.vision.embedders import l2_normalize, load_embedder
    from faceorganizer.vision.verification import threshold_for

    emb = load_embedder("dlib-resnet-v1")
    faces = lfw_faces()
    # the embedder's own alignment, the network in one batch (embed() per photo is tested elsewhere)
    chips = np.concatenate([emb.chips(f.image, f.box, f.landmarks) for f in faces])
    vectors = l2_normalize(emb.embed_chips(chips))
    photos, people = {}, {}
    for f, v in zip(faces, vectors):
        photos[f.path] = EmbeddedPhoto(f.path, v)
        people.setdefault(f.person, []).append(f.path)
    sq, same = all_pair_distances(people, photos)
    dist = np.sqrt(sq)
    assert (int(same.sum()), int((~same).sum())) == (450, 4500)
    auc = roc_auc(dist, same)
    t, acc = best_threshold(dist, same)
    registry_acc = float(np.mean((dist <= threshold_for("dlib-resnet-v1")) == same))
    balanced = (np.mean(dist[same] <= 0.43) + np.mean(dist[~same] > 0.43)) / 2
    # measured: AUC 0.9996, d' 4.8, best accuracy 0.9966 at 0.419, 0.43 -> 0.996
    assert auc > 0.995
    assert d_prime(dist, same) > 4.0
    assert acc > 0.99 and 0.35 < t < 0.5
    assert registry_acc > 0.99 and balanced > 0.98
    assert np.median(dist[same]) + 0.15 < np.median(dist[~same])
