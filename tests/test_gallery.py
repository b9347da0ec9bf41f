import multiprocessing
import sqlite3

import numpy as np
import pytest

from torchface.gallery import Gallery, GalleryError, default_gallery_path

PRE = "mtcnn-box-crop(image_size=160,margin=0)+fixed_image_standardization"


def _unit(n, d=32, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def gallery(tmp_path):
    with Gallery(tmp_path / "g.sqlite") as g:
        yield g


def test_default_location_is_in_torchface_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHFACE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TORCHFACE_GALLERY", raising=False)
    assert default_gallery_path() == tmp_path / "home" / "gallery.sqlite"
    monkeypatch.setenv("TORCHFACE_GALLERY", str(tmp_path / "elsewhere.db"))
    assert default_gallery_path() == tmp_path / "elsewhere.db"


def test_add_stores_everything_and_search_finds_self_at_zero(gallery):
    e = _unit(6)
    gallery.add(
        "ada",
        e[:3],
        model="m",
        preprocessing=PRE,
        sources=["a0", "a1", "a2"],
        face_indices=[0, 1, 0],
        boxes=[[1, 2, 3, 4]] * 3,
        probs=[0.9, 0.8, 0.7],
    )
    gallery.add("bob", e[3:], model="m", preprocessing=PRE)
    assert len(gallery) == 6
    faces = gallery.faces("ada")
    assert [f.source for f in faces] == ["a0", "a1", "a2"]
    assert faces[1].face_index == 1 and faces[0].box == (1, 2, 3, 4)
    assert faces[2].prob == pytest.approx(0.7)
    np.testing.assert_array_equal(gallery.embeddings("m")[:3], e[:3])  # float32 round trip
    res = gallery.search(e[[1, 4]], model="m", preprocessing=PRE, top_k=2)
    assert res[0].identity == "ada" and res[0].best.distance == pytest.approx(0, abs=1e-6)
    assert res[0].best.source == "a1"
    assert res[1].identity == "bob"
    assert [m.name for m in res[0].matches] == ["ada", "bob"]


def test_top_k_is_sorted_by_each_identitys_closest_face(gallery):
    q = np.zeros(4, np.float32)
    q[0] = 1
    # identity distances to q: near (one close face, one far), mid, far
    vecs = {
        "near": [[0.99, 0.141, 0, 0], [-1, 0, 0, 0]],
        "mid": [[0.8, 0.6, 0, 0]],
        "far": [[0, 1, 0, 0], [0, 0, 1, 0]],
        "farthest": [[-1, 0, 0, 0]],
    }
    for name, v in vecs.items():
        gallery.add(name, np.array(v, np.float32), model="m", preprocessing=PRE)
    (res,) = gallery.search(q, model="m", top_k=3, threshold=2.0)
    assert [m.name for m in res.matches] == ["near", "mid", "far"]
    d = [m.distance for m in res.matches]
    assert d == sorted(d)
    assert d[0] == pytest.approx(np.linalg.norm(q - np.array([0.99, 0.141, 0, 0])), abs=1e-6)
    (res_all,) = gallery.search(q, model="m", top_k=10)
    assert len(res_all.matches) == 4  # k is capped by the number of identities


def test_unknown_beyond_threshold(gallery):
    e = _unit(3)
    gallery.add("ada", e[:1], model="vggface2", preprocessing=PRE)
    d = float(np.linalg.norm(e[1] - e[0]))
    (res,) = gallery.search(e[1], model="vggface2", threshold=d - 1e-3)
    assert res.identity == "unknown" and not res.known
    assert res.best.name == "ada"  # the closest is still reported
    (res,) = gallery.search(e[1], model="vggface2", threshold=d + 1e-3)
    assert res.identity == "ada"
    (res,) = gallery.search(e[1], model="vggface2")
    assert res.threshold == pytest.approx(1.1)  # documented default for vggface2


def test_models_are_never_mixed(gallery):
    gallery.add("ada", _unit(2), model="vggface2", preprocessing=PRE)
    gallery.add("ada", _unit(2, seed=1), model="casia-webface", preprocessing=PRE)
    with pytest.raises(GalleryError, match="never mixed"):
        gallery.add("bob", _unit(1), model="vggface2", preprocessing="other")
    with pytest.raises(GalleryError, match="size"):
        gallery.add("bob", _unit(1, d=16), model="vggface2", preprocessing=PRE)
    with pytest.raises(GalleryError, match="no faces embedded with model 'other'"):
        gallery.search(_unit(1), model="other")
    with pytest.raises(GalleryError, match="preprocessing"):
        gallery.search(_unit(1), model="vggface2", preprocessing="other")
    # search by model only returns that model's faces
    only = gallery.search(_unit(2, seed=1)[0], model="casia-webface")[0]
    assert only.best.distance == pytest.approx(0, abs=1e-6)
    assert {(i.name, i.model, i.faces) for i in gallery.identities()} == {
        ("ada", "vggface2", 2),
        ("ada", "casia-webface", 2),
    }


def test_reserved_and_empty_names_are_refused(gallery):
    for bad in ("", "  ", "unknown", "Unknown"):
        with pytest.raises(GalleryError):
            gallery.add(bad, _unit(1), model="m", preprocessing=PRE)


def test_failed_transaction_writes_nothing(gallery):
    gallery.add("ada", _unit(1), model="m", preprocessing=PRE)
    with pytest.raises(RuntimeError), gallery.transaction():
        gallery.add("bob", _unit(2), model="m", preprocessing=PRE)
        raise RuntimeError("crash in the middle")
    assert [i.name for i in gallery.identities()] == ["ada"]


def test_remove_and_model_cleanup(gallery):
    gallery.add("ada", _unit(2), model="m", preprocessing=PRE)
    gallery.add("bob", _unit(1), model="m", preprocessing=PRE)
    assert gallery.remove("ada") == 2
    assert gallery.remove("nobody") == 0
    assert [i.name for i in gallery.identities()] == ["bob"]
    assert gallery.search(_unit(1)[0], model="m")[0].best.name == "bob"
    gallery.remove("bob")
    assert gallery.models() == []  # an emptied model no longer binds its preprocessing
    gallery.add("cy", _unit(1), model="m", preprocessing="new")


def test_search_reads_the_database_once_then_uses_the_cached_matrix(gallery, monkeypatch):
    gallery.add("ada", _unit(50), model="m", preprocessing=PRE)
    gallery.search(_unit(1)[0], model="m")
    selects = []
    gallery._conn.set_trace_callback(lambda sql: selects.append(sql) if "FROM faces" in sql else None)
    for _ in range(20):
        gallery.search(_unit(1, seed=3)[0], model="m")
    assert selects == []  # 20 queries, no re-reading of the faces table
    gallery.add("bob", _unit(1, seed=9), model="m", preprocessing=PRE)
    assert gallery.search(_unit(1, seed=9)[0], model="m")[0].identity == "bob"


def _add_from_other_process(path):
    with Gallery(path) as g:
        g.add("zed", _unit(1, seed=42), model="m", preprocessing=PRE)


def test_cache_sees_writes_of_other_processes(tmp_path):
    path = tmp_path / "g.sqlite"
    with Gallery(path) as g:
        g.add("ada", _unit(1), model="m", preprocessing=PRE)
        assert g.search(_unit(1, seed=42)[0], model="m")[0].best.name == "ada"
        p = multiprocessing.get_context("spawn").Process(target=_add_from_other_process, args=(path,))
        p.start()
        p.join(60)
        assert p.exitcode == 0
        assert g.search(_unit(1, seed=42)[0], model="m")[0].identity == "zed"


def test_missing_or_foreign_file_is_a_clear_error(tmp_path):
    with pytest.raises(GalleryError, match="no gallery"):
        Gallery(tmp_path / "none.sqlite", create=False)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(GalleryError, match="not a usable"):
        Gallery(junk)


def test_file_is_plain_sqlite_with_float32_blobs(tmp_path):
    path = tmp_path / "g.sqlite"
    e = _unit(1)
    with Gallery(path) as g:
        g.add("ada", e, model="m", preprocessing=PRE, sources=["/x.jpg"])
    con = sqlite3.connect(path)
    name, model, blob, source = con.execute("SELECT name, model, embedding, source FROM faces").fetchone()
    assert (name, model, source) == ("ada", "m", "/x.jpg")
    np.testing.assert_array_equal(np.frombuffer(blob, "<f4"), e[0])
    assert con.execute("SELECT preprocessing FROM models").fetchone()[0] == PRE
