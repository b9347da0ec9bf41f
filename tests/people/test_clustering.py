import numpy as np
import pytest
from people_synth import (  # noqa: F401
    album_fixture,
    faces_of_identity,
    identity,
    lookalike,
    pairwise_precision,
    rng_fixture,
    unit,
)

from faceorganizer import people
from faceorganizer.people import PeopleError, cluster, default_settings
from faceorganizer.people.graph import radius_graph


def _identity_groups(album, who):
    """Group ids holding faces of identity ``who``."""
    groups = album.groups()
    return {g for g, members in groups.items() if any(album.truth[f] == who for f in members)}


def test_separable_identities_come_out_as_separate_groups(album, rng):
    for k in range(8):
        centre = identity(rng)
        album.faces_alone(faces_of_identity(rng, centre, int(rng.integers(4, 15)), spread=0.3), f"id{k}")
    summary = cluster(album.cat)
    groups = album.groups()
    assert pairwise_precision(groups, album.truth) >= 0.95
    assert summary.groups == len(groups) == 8  # each identity is one group (recall too)
    for k in range(8):
        assert len(_identity_groups(album, f"id{k}")) == 1
    assert summary.model == "vggface2" and summary.eps == pytest.approx(0.64)


def test_lookalikes_are_not_merged_at_the_default(album, rng):
    a = identity(rng)
    b = lookalike(rng, a, 0.75)  # siblings: 0.75 apart, faces within 0.35 of each other
    album.faces_alone(faces_of_identity(rng, a, 12), "A")
    album.faces_alone(faces_of_identity(rng, b, 12), "B")
    cluster(album.cat)
    groups = album.groups()
    assert pairwise_precision(groups, album.truth) == 1.0
    assert len(_identity_groups(album, "A")) == 1 and len(_identity_groups(album, "B")) == 1
    assert _identity_groups(album, "A") != _identity_groups(album, "B")
    # the loosest sensitivity widens eps past the siblings' distance: one group (the knob works)
    s = cluster(album.cat, sensitivity=1.0)
    assert s.eps == pytest.approx(default_settings("vggface2").eps_loose)
    assert album.cat.get_setting("cluster.sensitivity") == 1.0
    assert len(album.groups()) == 1


def test_two_faces_of_one_photo_never_share_a_group(album, rng):
    a = identity(rng)
    vecs = faces_of_identity(rng, a, 20)
    # photos with two faces of the same person (a poster, a mirror, a double detection)
    for k in range(0, 12, 2):
        ph = album.photo()
        album.face(ph, vecs[k], "A")
        album.face(ph, vecs[k + 1], "A")
    album.faces_alone(vecs[12:], "A")
    s = cluster(album.cat)
    assert s.ejected == 6
    for members in album.groups().values():
        photos = [album.row(f)["photo_id"] for f in members]
        assert len(photos) == len(set(photos))
    # the one that stays is the more central face of its photo
    (members,) = album.groups().values()
    centre = unit(np.mean([album.vectors[f] for f in members], axis=0))
    for ph in {album.row(f)["photo_id"] for f in members}:
        both = [r["id"] for r in album.cat.query("SELECT id FROM faces WHERE photo_id = ?", (ph,))]
        if len(both) == 2:
            kept = [f for f in both if f in members]
            other = [f for f in both if f not in members]
            assert album.vectors[kept[0]] @ centre >= album.vectors[other[0]] @ centre - 0.05


def test_group_ids_are_stable_across_a_recluster_after_adding_faces(album, rng):
    centres = [identity(rng) for _ in range(5)]
    for k, c in enumerate(centres):
        album.faces_alone(faces_of_identity(rng, c, 6), f"id{k}")
    cluster(album.cat)
    before = {f"id{k}": _identity_groups(album, f"id{k}") for k in range(5)}
    assert all(len(v) == 1 for v in before.values())
    used = set().union(*before.values())
    for k, c in enumerate(centres):
        album.faces_alone(faces_of_identity(rng, c, 3), f"id{k}")
    album.faces_alone(faces_of_identity(rng, identity(rng), 5), "new")
    s = cluster(album.cat)
    assert s.kept_ids == 5 and s.new_ids == 1
    for k in range(5):
        assert _identity_groups(album, f"id{k}") == before[f"id{k}"]
    (new_id,) = _identity_groups(album, "new")
    assert new_id not in used and new_id > max(used)
    # a third run with nothing new changes nothing
    snapshot = album.state()
    cluster(album.cat)
    assert album.state() == snapshot


def test_a_user_assigned_face_is_never_moved(album, rng):
    a, b = identity(rng), identity(rng)
    fa = album.faces_alone(faces_of_identity(rng, a, 8), "A")
    fb = album.faces_alone(faces_of_identity(rng, b, 8), "B")
    # the user (wrongly or not) put one of B's faces on "Alice" with A's faces
    alice = people.name_faces(album.cat, fa[:4] + [fb[0]], "Alice")
    for sensitivity in (0.0, 0.5, 1.0):
        cluster(album.cat, sensitivity=sensitivity)
        for f in fa[:4] + [fb[0]]:
            row = album.row(f)
            assert (row["person_id"], row["assigned"], row["cluster_id"]) == (alice, "user", None)


def test_groups_close_to_a_named_person_are_attached_as_auto(album, rng):
    a, b = identity(rng), identity(rng)
    named = album.faces_alone(faces_of_identity(rng, a, 6), "A")
    alice = people.name_faces(album.cat, named, "Alice")
    fresh = album.faces_alone(faces_of_identity(rng, a, 7), "A")
    strangers = album.faces_alone(faces_of_identity(rng, b, 7), "B")
    s = cluster(album.cat)
    assert s.auto == 7
    assert {(album.row(f)["person_id"], album.row(f)["assigned"]) for f in fresh} == {(alice, "auto")}
    assert {album.row(f)["person_id"] for f in strangers} == {None}
    assert len(_identity_groups(album, "B")) == 1
    snapshot = album.state()
    assert cluster(album.cat).auto == 7  # a rerun changes nothing
    assert album.state() == snapshot


def test_a_rejection_is_never_undone_by_recluster_or_suggestion(album, rng):
    a = identity(rng)
    named = album.faces_alone(faces_of_identity(rng, a, 6), "A")
    alice = people.name_faces(album.cat, named, "Alice")
    fresh = album.faces_alone(faces_of_identity(rng, a, 6), "A")
    cluster(album.cat)
    assert all((album.row(f)["person_id"], album.row(f)["assigned"]) == (alice, "auto") for f in fresh)
    people.not_person(album.cat, fresh[:2], alice)
    for _ in range(3):
        s = cluster(album.cat)
        people.suggest(album.cat)
        for f in fresh[:2]:
            assert album.row(f)["person_id"] is None
        # a rerun keeps the system's own attachments (auto faces are re-evaluated, not lost)
        assert all(
            (album.row(f)["person_id"], album.row(f)["assigned"]) == (alice, "auto") for f in fresh[2:]
        )
        assert s.auto == 4


def test_suggestions_need_one_close_person_and_a_margin(album, rng):
    a = identity(rng)
    b = lookalike(rng, a, 0.6)
    c = identity(rng)
    alice = people.name_faces(album.cat, album.faces_alone(faces_of_identity(rng, a, 5), "A"), "Alice")
    bob = people.name_faces(album.cat, album.faces_alone(faces_of_identity(rng, b, 5), "B"), "Bob")
    carol = people.name_faces(album.cat, album.faces_alone(faces_of_identity(rng, c, 5), "C"), "Carol")
    near_alice = album.faces_alone(faces_of_identity(rng, a, 1, spread=0.45), "A")[0]
    between = album.faces_alone([unit(a + b)], "?")[0]  # as close to Alice as to Bob: no margin
    near_carol = album.faces_alone(faces_of_identity(rng, c, 1, spread=0.45), "C")[0]
    far = album.faces_alone([identity(rng)], "X")[0]
    s = cluster(album.cat)
    assert album.row(near_alice)["person_id"] == alice and album.row(near_alice)["assigned"] == "suggested"
    assert album.row(near_carol)["person_id"] == carol
    assert album.row(between)["person_id"] is None
    assert album.row(far)["person_id"] is None
    assert s.suggested == 2
    # hidden people get no suggestions
    people.hide_person(album.cat, carol)
    assert people.suggest(album.cat) == 1
    assert album.row(near_carol)["person_id"] is None
    del bob


def test_no_suggestion_for_a_person_already_in_the_photo(album, rng):
    a = identity(rng)
    named = album.faces_alone(faces_of_identity(rng, a, 5), "A")
    alice = people.name_faces(album.cat, named, "Alice")
    ph = album.row(named[0])["photo_id"]
    twin = album.face(ph, faces_of_identity(rng, a, 1)[0], "A")  # same photo as a face of Alice
    elsewhere = album.faces_alone(faces_of_identity(rng, a, 1), "A")[0]
    cluster(album.cat)
    assert album.row(twin)["person_id"] is None
    assert album.row(elsewhere)["person_id"] == alice


def test_ignored_and_low_quality_faces_are_left_out(album, rng):
    a = identity(rng)
    faces = album.faces_alone(faces_of_identity(rng, a, 6), "A")
    low = album.face(album.photo(), faces_of_identity(rng, a, 1)[0], "A", low_quality=1)
    people.ignore_faces(album.cat, [faces[0]])
    s = cluster(album.cat)
    assert s.faces == 5
    assert album.row(faces[0])["cluster_id"] is None and album.row(low)["cluster_id"] is None
    assert len(album.groups()) == 1
    # a rescan with a stricter quality bar marks a grouped face low quality: it leaves the group
    album.cat.execute("UPDATE faces SET low_quality = 1 WHERE id = ?", (faces[1],))
    assert cluster(album.cat).faces == 4
    assert album.row(faces[1])["cluster_id"] is None
    assert len(album.groups()[album.row(faces[2])["cluster_id"]]) == 4


def test_settings_per_model_and_sensitivity():
    vgg = default_settings("vggface2")
    assert (vgg.eps, vgg.min_samples) == (0.64, 3)
    assert "PhotoPrism" in vgg.source and not vgg.calibrated
    assert "uncalibrated" in default_settings("casia-webface").source
    dlib = default_settings("dlib-resnet-v1")
    assert dlib.eps < 0.6 and "0.6" in dlib.source
    assert "fallback" in default_settings("some-new-model").source
    eps = [default_settings("vggface2", s).eps for s in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert eps == sorted(eps) and eps[2] == pytest.approx(0.64)
    assert eps[0] == pytest.approx(vgg.eps_strict) and eps[-1] == pytest.approx(vgg.eps_loose)
    for bad in (-0.1, 1.5, "x", float("nan")):
        with pytest.raises(PeopleError, match="sensitivity"):
            default_settings("vggface2", bad)
    people.CALIBRATED["vggface2"] = {"eps": 0.7, "eps_strict": 0.6, "eps_loose": 0.8, "source": "measured"}
    try:
        cal = default_settings("vggface2")
        assert cal.calibrated and cal.eps == pytest.approx(0.7) and cal.source == "measured"
    finally:
        del people.CALIBRATED["vggface2"]


def test_cluster_without_embeddings_is_a_no_op(album):
    album.cat.set_setting("model", None)
    s = cluster(album.cat)
    assert s.model is None and s.faces == 0


def test_radius_graph_equals_brute_force():
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(5)
    X = unit(rng.standard_normal((400, 32)) + 2.0 * np.repeat(rng.standard_normal((20, 32)), 20, axis=0))
    graph = radius_graph(X, 0.7, max_neighbors=1000)
    assert (graph.diagonal() == 0).all() and (graph.indices[graph.indptr[:-1]] == np.arange(len(X))).all()
    g = graph.toarray()
    d = cdist(X, X)
    expected = (d <= 0.7) & ~np.eye(len(X), dtype=bool)
    assert ((g > 0) == expected).all()
    assert np.allclose(g[expected], d[expected], atol=1e-3)


def test_pruned_graph_finds_every_pair_of_tight_faces():
    """The cell pruning is exact for faces near their cell centre; only loose x loose pairs may go."""
    rng = np.random.default_rng(6)
    centres = unit(rng.standard_normal((60, 128)))
    X = np.concatenate([faces_of_identity(rng, c, 40, spread=0.3) for c in centres])
    X = np.concatenate([X, unit(rng.standard_normal((300, 128)))])  # isolated strangers
    full = radius_graph(X, 0.64, cells=1, max_neighbors=10**6)
    pruned = radius_graph(X, 0.64, cells=40, max_neighbors=10**6)
    assert pruned.nnz == full.nnz and abs(full - pruned).max() < 1e-4
    assert pruned.data.max() <= 0.64 + 1e-4  # no pair counted twice
    rows = np.split(pruned.data, pruned.indptr[1:-1])
    assert all(r[0] == 0 and (np.diff(r) >= 0).all() for r in rows)  # itself, then by distance


def test_dbscan_on_the_graph_matches_plain_dbscan():
    from sklearn.cluster import DBSCAN
    from sklearn.metrics import adjusted_rand_score

    rng = np.random.default_rng(7)
    X = np.concatenate([faces_of_identity(rng, identity(rng, 64), 15, spread=0.35) for _ in range(10)])
    X = np.concatenate([X, unit(rng.standard_normal((50, 64)))])
    plain = DBSCAN(eps=0.6, min_samples=3).fit(X).labels_
    ours = DBSCAN(eps=0.6, min_samples=3, metric="precomputed").fit(radius_graph(X, 0.6)).labels_
    assert adjusted_rand_score(plain, ours) == 1.0 and ((plain < 0) == (ours < 0)).all()


def test_a_decision_taken_during_a_run_wins(album, rng, monkeypatch):
    """The run computes outside the write transaction; a face decided meanwhile is left alone."""
    from faceorganizer.catalog import Catalog
    from faceorganizer.people import clustering

    faces = album.faces_alone(faces_of_identity(rng, identity(rng), 6), "A")
    real = clustering.match_ids

    def while_the_user_acts(*args, **kwargs):
        with Catalog(album.cat.path) as other:  # the window, on its own connection
            people.name_faces(other, [faces[0]], "Alice")
        return real(*args, **kwargs)

    monkeypatch.setattr(clustering, "match_ids", while_the_user_acts)
    s = cluster(album.cat)
    assert s.skipped == 1
    row = album.row(faces[0])
    assert (row["assigned"], row["cluster_id"]) == ("user", None)
    assert len({album.row(f)["cluster_id"] for f in faces[1:]}) == 1
