import numpy as np
import pytest
from people_synth import album_fixture, faces_of_identity, identity, lookalike, rng_fixture  # noqa: F401

from faceorganizer import people
from faceorganizer.people import PeopleError, cluster, similarity_order


def test_list_people_named_first_then_groups_by_size(album, rng):
    sizes = {"A": 4, "B": 9, "C": 6, "D": 5, "E": 3}
    ids = {w: album.faces_alone(faces_of_identity(rng, identity(rng), n), w) for w, n in sizes.items()}
    cluster(album.cat)
    zoe = people.name_faces(album.cat, ids["D"], "zoe")
    anna = people.name_faces(album.cat, ids["E"], "Anna")
    hidden = people.name_faces(album.cat, ids["A"][:1], "Mallory")
    people.hide_person(album.cat, hidden)
    rows = people.list_people(album.cat)
    assert [(r.name, r.face_count) for r in rows[:2]] == [("Anna", 3), ("zoe", 5)]
    assert [r.face_count for r in rows[2:]] == [9, 6, 3]
    assert all(r.cluster_id is not None and r.id is None for r in rows[2:])
    assert rows[0].id == anna and rows[1].id == zoe
    everyone = people.list_people(album.cat, include_hidden=True)
    assert [r.name for r in everyone if r.name] == ["Anna", "Mallory", "zoe"]
    # cover: the best face (largest box x probability) unless one is chosen
    big = album.face(album.photo(), faces_of_identity(rng, identity(rng), 1)[0], "E", box=(0, 0, 900, 900))
    people.move_faces(album.cat, [big], anna)
    assert people.list_people(album.cat)[0].cover_face_id == big
    people.set_cover(album.cat, anna, ids["E"][1])
    assert people.list_people(album.cat)[0].cover_face_id == ids["E"][1]
    people.not_person(album.cat, [ids["E"][1]], anna)  # the chosen cover left: best face again
    assert people.list_people(album.cat)[0].cover_face_id == big
    for r in rows[2:]:
        assert album.row(r.cover_face_id)["cluster_id"] == r.cluster_id


def test_faces_of_and_person_by_name(album, rng):
    fa = album.faces_alone(faces_of_identity(rng, identity(rng), 5), "A")
    cluster(album.cat)
    gid = album.row(fa[0])["cluster_id"]
    assert [f["id"] for f in people.faces_of(album.cat, cluster_id=gid)] == fa
    pid = people.name_faces(album.cat, fa[:2], "Émile")
    assert people.person_by_name(album.cat, "  émile ") == pid
    assert people.person_by_name(album.cat, "nobody") is None
    mine = people.faces_of(album.cat, person_id=pid)
    assert [f["id"] for f in mine] == fa[:2]
    f = mine[0]
    assert f["person"] == "Émile" and f["cluster"] is None and f["assigned"] == "user"
    assert f["path"].startswith("/") and f["box"] == [100, 100, 300, 340] and f["prob"] == pytest.approx(0.99)
    assert [x["id"] for x in people.faces_of(album.cat, assigned="user")] == fa[:2]
    with pytest.raises(PeopleError, match="assigned must be"):
        people.faces_of(album.cat, assigned="maybe")


def test_unassigned_faces_put_lookalikes_side_by_side(album, rng):
    a = identity(rng)
    centres = [a, lookalike(rng, a, 0.9), identity(rng), identity(rng)]
    # single faces (no groups): interleave the identities in id order
    vecs = [faces_of_identity(rng, c, 6, spread=0.6) for c in centres]
    for k in range(6):
        for w, v in enumerate(vecs):
            album.faces_alone(v[k : k + 1], f"id{w}")
    faces = people.unassigned_faces(album.cat)
    assert len(faces) == 24
    labels = [album.truth[f["id"]] for f in faces]
    same_next = sum(x == y for x, y in zip(labels, labels[1:]))
    assert same_next >= 16  # in id order it is 0
    cluster(album.cat)
    faces = people.unassigned_faces(album.cat)
    # members of a group are contiguous
    seen, last = set(), None
    for f in faces:
        g = f["cluster"]
        if g is not None and g != last:
            assert g not in seen
            seen.add(g)
        last = g


def test_similarity_order_is_a_permutation_that_chains_neighbours():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((30, 16))
    X = np.repeat(centres, 40, axis=0) + 0.1 * rng.standard_normal((1200, 16))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    shuffle = rng.permutation(len(X))
    order = similarity_order(X[shuffle].astype(np.float32), leaf=100)
    assert sorted(order.tolist()) == list(range(len(X)))
    labels = (shuffle // 40)[order]
    assert (labels[1:] == labels[:-1]).mean() > 0.9


def test_search_photos_all_or_any(album, rng):
    a, b, c = identity(rng), identity(rng), identity(rng)
    va, vb, vc = (faces_of_identity(rng, x, 3) for x in (a, b, c))
    both = album.photo("/album/both.jpg")
    fa, fb = album.face(both, va[0], "A"), album.face(both, vb[0], "B")
    only_a = album.photo("/album/only_a.jpg")
    fa2 = album.face(only_a, va[1], "A")
    only_b = album.photo("/album/only_b.jpg")
    fb2 = album.face(only_b, vb[1], "B")
    other = album.photo("/album/c.jpg")
    album.face(other, vc[0], "C")
    alice = people.name_faces(album.cat, [fa, fa2], "Alice")
    bob = people.name_faces(album.cat, [fb, fb2], "Bob")
    paths = lambda rows: [r["path"] for r in rows]  # noqa: E731
    assert paths(people.search_photos(album.cat, [alice, bob])) == ["/album/both.jpg"]
    assert paths(people.search_photos(album.cat, [alice, bob], mode="any")) == [
        "/album/both.jpg",
        "/album/only_a.jpg",
        "/album/only_b.jpg",
    ]
    assert people.search_photos(album.cat, [alice])[0]["person_ids"] == [alice]
    with pytest.raises(PeopleError, match="mode"):
        people.search_photos(album.cat, [alice], mode="some")
    with pytest.raises(PeopleError, match="no person with id 77"):
        people.search_photos(album.cat, [alice, 77])
    album.cat.execute("UPDATE photos SET missing = 1 WHERE id = ?", (both,))
    assert people.search_photos(album.cat, [alice, bob]) == []
