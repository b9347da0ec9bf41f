"""Decisions survive a recluster, a simulated rescan and a model switch."""

import numpy as np
from people_synth import album_fixture, faces_of_identity, identity, rng_fixture, unit  # noqa: F401

from faceorganizer import people
from faceorganizer.people import after_model_switch, cluster


def _decisions(album):
    return {
        "user": album.cat.query("SELECT id, person_id FROM faces WHERE assigned = 'user' ORDER BY id"),
        "ignored": album.cat.query("SELECT id FROM faces WHERE ignored = 1 ORDER BY id"),
        "rejections": album.cat.query("SELECT face_id, person_id FROM rejections ORDER BY face_id"),
        "people": album.cat.query("SELECT id, name, hidden, cover_face_id FROM people ORDER BY id"),
    }


def _decide(album, rng):
    """An album with every kind of decision; returns (faces by identity, alice, bob)."""
    a, b, c = identity(rng), identity(rng), identity(rng)
    fa = album.faces_alone(faces_of_identity(rng, a, 10), "A")
    fb = album.faces_alone(faces_of_identity(rng, b, 10), "B")
    fc = album.faces_alone(faces_of_identity(rng, c, 6), "C")
    cluster(album.cat)
    alice = people.name_faces(album.cat, fa[:6], "Alice")
    bob = people.name_faces(album.cat, fb[:3], "Bob")
    people.move_faces(album.cat, [fc[0]], bob)  # a user choice against the embeddings
    people.not_person(album.cat, [fa[6]], alice)
    people.ignore_faces(album.cat, [fb[9]])
    people.set_cover(album.cat, alice, fa[2])
    people.hide_person(album.cat, bob)
    return {"A": fa, "B": fb, "C": fc}, alice, bob


def test_decisions_survive_reclustering(album, rng):
    faces, alice, _ = _decide(album, rng)
    decided = _decisions(album)
    for s in (0.0, 1.0, 0.5):
        cluster(album.cat, sensitivity=s)
        assert _decisions(album) == decided
        assert album.row(faces["A"][6])["person_id"] != alice


def test_decisions_survive_a_rescan(album, rng):
    faces, alice, _ = _decide(album, rng)
    decided = _decisions(album)
    # a rescan detects the same faces again: the scan updates the same rows (box, prob, embedding)
    with album.cat.transaction():
        for fid, vec in album.vectors.items():
            album.cat.execute("UPDATE faces SET x1 = x1 + 1, prob = 0.98 WHERE id = ?", (fid,))
            album.cat.put_embedding(fid, album.model, unit(vec + 0.01 * rng.standard_normal(len(vec))))
    cluster(album.cat)
    assert _decisions(album) == decided
    # faces of A beyond the named six are attached to Alice again, except the rejected one
    assert {album.row(f)["person_id"] for f in faces["A"][7:]} == {alice}


def test_decisions_survive_a_model_switch(album, rng):
    faces, alice, bob = _decide(album, rng)
    decided = _decisions(album)
    # the new model embeds every face differently (a random rotation of the space, 128-d)
    rot = np.linalg.qr(rng.standard_normal((512, 512)))[0][:, :128].astype(np.float32)
    unembedded = faces["C"][5]  # its photo could not be read again: no new embedding
    assert album.row(unembedded)["cluster_id"] is not None
    with album.cat.transaction():
        for fid, vec in album.vectors.items():
            if fid != unembedded:
                album.cat.put_embedding(fid, "dlib-resnet-v1", unit(vec @ rot))
    s = after_model_switch(album.cat, "dlib-resnet-v1")
    assert album.cat.get_setting("model") == "dlib-resnet-v1"
    assert s.model == "dlib-resnet-v1" and s.eps == people.default_settings("dlib-resnet-v1").eps
    assert _decisions(album) == decided
    # only undecided faces were clustered again: the rest of A joins Alice, C forms a group
    assert s.faces == len(album.vectors) - len(decided["user"]) - 1 - 1
    assert album.row(unembedded)["cluster_id"] is None
    assert {album.row(f)["person_id"] for f in faces["A"][7:]} == {alice}
    assert album.row(faces["A"][6])["person_id"] != alice
    c_groups = {album.row(f)["cluster_id"] for f in faces["C"][1:5]}
    assert len(c_groups) == 1 and None not in c_groups
    assert album.row(faces["C"][0])["person_id"] == bob
