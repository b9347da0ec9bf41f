"""The scan's parts without the networks: walk, decode, hashing, face matching, catalog writes."""

import io
import os
import shutil

import numpy as np
import pytest
from photo_library import lfw, save_rotated, scene
from PIL import Image

from faceorganizer.catalog import Catalog
from faceorganizer.errors import CatalogError
from faceorganizer.scan import add_folder, load_photo, purge_missing, store, walk_folders
from faceorganizer.scan.decode import to_full_resolution, working_dims
from faceorganizer.scan.hashing import hash_bytes, hash_file
from faceorganizer.scan.workers import DecodePool, read_photo
from faceorganizer.vision.errors import ImageError


def test_walk_rules(tmp_path):
    root = tmp_path / "lib"
    (root / "a" / "b").mkdir(parents=True)
    for name in ("x.JPG", "y.jpeg", "z.heic", "w.webp", "v.tiff", "u.bmp", "t.gif", "s.png"):
        (root / "a" / name).write_bytes(b"1")
    (root / "a" / "b" / "movie.mp4").write_bytes(b"1")
    (root / "a" / "b" / "sidecar.xmp").write_bytes(b"1")
    (root / ".thumbnails").mkdir()
    (root / ".thumbnails" / "t.jpg").write_bytes(b"1")
    (root / "a" / ".DS_Store").write_bytes(b"1")
    os.symlink(root, root / "a" / "b" / "up")  # loop
    os.symlink(root / "a", root / "also_a")  # the same folder twice
    os.symlink(root / "nowhere", root / "dangling.jpg")
    result = walk_folders([root, root / "a"])
    names = [os.path.relpath(f.path, root) for f in result.photos]
    assert sorted(os.path.basename(n) for n in names) == sorted(
        ["x.JPG", "y.jpeg", "z.heic", "w.webp", "v.tiff", "u.bmp", "t.gif", "s.png"]
    )
    assert len(names) == 8  # each file once, whatever the links
    assert [os.path.basename(p) for p in result.non_images] == ["movie.mp4", "sidecar.xmp"]
    assert [(os.path.basename(p), why) for p, why in result.errors] == [
        ("dangling.jpg", "broken symbolic link")
    ]
    entry = result.photos[0]
    assert entry.size == 1 and entry.mtime == os.stat(entry.path).st_mtime
    missing = walk_folders([tmp_path / "nope"])
    assert missing.photos == [] and "cannot read" in missing.errors[0][1]


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_load_photo_applies_exif_orientation_and_draft(tmp_path, orientation):
    upright = Image.open(scene("paul_rudd.jpg")).convert("RGB")  # 1638 x 2048
    path = tmp_path / "r.jpg"
    save_rotated(upright, orientation, path)
    plain = tmp_path / "p.jpg"
    upright.save(plain, quality=95)
    image, scale, info = load_photo(path, 800)
    ref, ref_scale, ref_info = load_photo(plain, 800)
    assert (info.width, info.height, info.orientation) == (1638, 2048, orientation)
    assert image.shape == ref.shape == (800, 640, 3) and info.draft and ref_info.draft
    assert scale == pytest.approx(2048 / 800) and info.scale_x == pytest.approx(1638 / 640)
    # the same upright picture (JPEG re-encoding and decoder scaling aside)
    assert np.abs(image.astype(int) - ref.astype(int)).mean() < 4
    full, _, full_info = load_photo(path)
    assert full.shape == (2048, 1638, 3) and not full_info.draft
    box = to_full_resolution(np.array([[10.0, 20.0, 110.0, 220.0]]), info)
    np.testing.assert_allclose(box, [[10 * 1638 / 640, 20 * 2048 / 800, 110 * 1638 / 640, 220 * 2048 / 800]])


@pytest.mark.parametrize("orientation", range(1, 9))
def test_upright_array_equals_pil_transpose(orientation):
    from faceorganizer.scan.decode import _TRANSPOSE, upright

    array = np.random.default_rng(orientation).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    method = _TRANSPOSE.get(orientation)
    expected = np.asarray(Image.fromarray(array).transpose(method)) if method is not None else array
    got = upright(array, orientation)
    assert got.flags.c_contiguous and np.array_equal(got, expected)


def test_load_photo_formats_and_bad_files(tmp_path):
    import pillow_heif

    pillow_heif.register_heif_opener()
    src = Image.open(lfw("Tony_Blair")).convert("RGB")
    src.save(tmp_path / "a.heic")
    frame2 = Image.new("RGB", src.size, (255, 0, 0))
    src.save(tmp_path / "a.gif", save_all=True, append_images=[frame2])
    shutil.copy(tmp_path / "a.heic", tmp_path / "heic_named.jpg")
    for name in ("a.heic", "a.gif", "heic_named.jpg"):
        image, scale, info = load_photo(tmp_path / name, 1600)
        assert image.shape == (250, 250, 3) and scale == 1.0
        assert np.abs(image.astype(int) - np.asarray(src, int)).mean() < 12, name  # the first frame
    data = scene("kate_siegel.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    (tmp_path / "zero.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("hello")
    for name, why in (
        ("cut.jpg", "truncated"),
        ("zero.jpg", r"empty \(0 bytes\)"),
        ("text.jpg", "not an image"),
        ("gone.jpg", "cannot read"),
    ):
        with pytest.raises(ImageError, match=why) as e:
            load_photo(tmp_path / name, 1600)
        assert str(tmp_path / name) in str(e.value)
    assert working_dims(4032, 3024, 1600) == (1600, 1200) and working_dims(100, 50, 1600) == (100, 50)


def test_read_photo_hashes_once_and_skips_known_content(tmp_path):
    path = tmp_path / "a.jpg"
    shutil.copy(lfw("Colin_Powell"), path)
    digest = hash_file(path)
    assert digest == hash_bytes(path.read_bytes())
    fresh = read_photo(str(path), 1600)
    assert fresh.hash == digest and fresh.image is not None and not fresh.skipped
    known = read_photo(str(path), 1600, {digest})
    assert known.skipped and known.image is None and known.hash == digest
    with DecodePool(1, 1600) as pool:
        results = list(pool.imap([str(path), str(tmp_path / "gone.jpg")]))
    assert results[0].image.shape == (250, 250, 3) and "cannot read" in results[1].error


def _face(box, prob=0.99):
    return store.FaceRecord(
        box=box,
        landmarks=np.zeros((5, 2)),
        prob=prob,
        low_quality=False,
        thumbnail=b"t",
        embedding=np.ones(4, np.float32) / 2,
    )


def test_iou_matching_is_greedy_and_one_to_one():
    old = np.array([[0, 0, 10, 10], [20, 20, 30, 30]])
    new = np.array([[21, 21, 31, 31], [0, 0, 10, 9], [100, 100, 110, 110]])
    assert sorted(store.match_faces(old, new)) == [(0, 1), (1, 0)]
    assert store.match_faces(old, np.zeros((0, 4))) == []
    assert store.match_faces(np.array([[0, 0, 10, 10]]), np.array([[5, 5, 15, 15]])) == []  # IoU 1/7


def test_changed_photo_keeps_matched_faces_and_their_decisions(tmp_path):
    cat = Catalog(tmp_path / "c.sqlite")
    try:
        rec = store.PhotoRecord(
            "/p/a.jpg",
            10,
            1.0,
            "h1",
            width=100,
            height=100,
            faces=[_face((10, 10, 40, 40)), _face((60, 10, 90, 40))],
        )
        pid, (f1, f2) = store.commit_photo(cat, rec, "m")
        with cat.transaction():
            cat.execute("INSERT INTO people(id, name, created_at) VALUES (1, 'Ann', 0)")
            cat.execute("UPDATE faces SET person_id = 1, assigned = 'user' WHERE id = ?", (f1,))
            cat.execute("UPDATE people SET cover_face_id = ? WHERE id = 1", (f2,))
            cat.put_embedding(f1, "other-model", np.zeros(3, np.float32))
        # the photo was resized to half: boxes match relative to the size
        rec2 = store.PhotoRecord(
            "/p/a.jpg",
            11,
            2.0,
            "h2",
            width=50,
            height=50,
            faces=[_face((5, 5, 20, 20)), _face((0, 30, 10, 45))],
        )
        pid2, (g1, g2) = store.commit_photo(cat, rec2, "m", pid)
        assert pid2 == pid and g1 == f1 and g2 not in (f1, f2)
        row = cat.query("SELECT * FROM faces WHERE id = ?", (f1,))[0]
        assert (row["person_id"], row["assigned"], row["x2"]) == (1, "user", 20)
        assert cat.scalar("SELECT COUNT(*) FROM faces WHERE id = ?", (f2,)) == 0
        assert cat.scalar("SELECT cover_face_id FROM people WHERE id = 1") is None
        assert (
            cat.scalar("SELECT COUNT(*) FROM embeddings WHERE face_id = ? AND model = 'other-model'", (f1,))
            == 0
        )
        # an unreadable version keeps the faces
        bad = store.PhotoRecord("/p/a.jpg", 12, 3.0, "h3", status="error", error="broken")
        store.commit_photo(cat, bad, "m", pid)
        assert cat.scalar("SELECT COUNT(*) FROM faces WHERE photo_id = ?", (pid,)) == 2
        assert cat.scalar("SELECT status FROM photos WHERE id = ?", (pid,)) == "error"
    finally:
        cat.close()


def test_folders_missing_and_purge(tmp_path):
    lib = tmp_path / "lib"
    (lib / "sub").mkdir(parents=True)
    cat = Catalog(tmp_path / "c.sqlite")
    try:
        fid = add_folder(cat, lib)
        assert add_folder(cat, lib) == fid and store.library_folders(cat) == [str(lib)]
        with pytest.raises(CatalogError, match="not a folder"):
            add_folder(cat, tmp_path / "nope")
        assert store.folder_for(str(lib / "sub" / "x.jpg"), [str(lib), str(lib / "sub")]) == str(lib / "sub")
        rec = store.PhotoRecord(
            str(lib / "a.jpg"), 1, 1.0, "h", width=10, height=10, faces=[_face((1, 1, 5, 5))], folder_id=fid
        )
        pid, _ = store.commit_photo(cat, rec, "m")
        assert store.mark_missing(cat, [pid]) == 1 and store.mark_missing(cat, [pid]) == 0
        assert cat.scalar("SELECT COUNT(*) FROM faces") == 1  # kept until purged
        assert purge_missing(cat) == 1 and cat.scalar("SELECT COUNT(*) FROM faces") == 0
        with pytest.raises(CatalogError, match="not a library folder"):
            store.remove_folder(cat, tmp_path)
    finally:
        cat.close()


def test_batched_fused_embedding_equals_per_photo_embedding(fill_weights_file, mtcnn_weights_dir):
    import torch

    from faceorganizer.scan.cuts import face_crops
    from faceorganizer.scan.embedding import BatchEmbedder
    from faceorganizer.vision.detection.mtcnn import MTCNN
    from faceorganizer.vision.embedders import load_embedder

    plain, fused = load_embedder(str(fill_weights_file)), load_embedder(str(fill_weights_file))
    detector = MTCNN(keep_all=True, weights=mtcnn_weights_dir)
    group = Image.open(scene("multiface.jpg")).convert("RGB").crop((0, 0, 700, 630))  # a few faces
    images = [np.asarray(group), np.asarray(Image.open(lfw("Tony_Blair")).convert("RGB"))]
    batcher = BatchEmbedder(fused, batch_size=2)
    prepared, expected = [], []
    for image in images:
        found = detector.detect_faces(image)
        boxes, marks = found.boxes.numpy(), found.landmarks.numpy()
        expected.append(plain.embed(image, boxes, marks))
        prepared.append(batcher.prepare(image, boxes, marks))
        crops = face_crops(image, boxes, batcher.crop_size)  # as a worker cuts them
        assert torch.equal(batcher.prepare_crops(crops), prepared[-1])
    out = batcher.embed([prepared[0], None, prepared[1]])
    assert [len(o) for o in out] == [len(expected[0]), 0, 1] and len(expected[0]) >= 2
    np.testing.assert_allclose(out[0], expected[0], atol=1e-5)
    np.testing.assert_allclose(out[2], expected[1], atol=1e-5)
    assert getattr(fused.net, "_faceorganizer_fused", False)
    assert getattr(fused.net, "_faceorganizer_onednn", None)  # the CPU ran the fused oneDNN plan
    assert not hasattr(plain.net, "_faceorganizer_fused")


def test_resolve_device_prefers_cuda_then_mps_then_cpu(monkeypatch):
    import torch

    from faceorganizer.errors import FaceOrganizerError
    from faceorganizer.scan import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolve_device("auto") == resolve_device(None) == "cpu" and resolve_device("cpu") == "cpu"
    with pytest.raises(FaceOrganizerError, match="CUDA is not available"):
        resolve_device("cuda:0")
    with pytest.raises(FaceOrganizerError, match="not a torch device"):
        resolve_device("quantum")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("auto") == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda" and resolve_device("cuda:1") == "cuda:1"


def test_thumbnails_from_file_are_upright(tmp_path):
    from faceorganizer.scan.thumbnails import THUMBNAIL_SIZE, thumbnails_from_file

    upright = Image.open(scene("paul_rudd.jpg")).convert("RGB")
    upright.save(tmp_path / "p.jpg", quality=95)
    save_rotated(upright, 6, tmp_path / "r.jpg")
    box = (600.0, 500.0, 700.0, 620.0)  # small: decoded at a reduced size, still above 112 px
    (a,), (b,) = (
        thumbnails_from_file(tmp_path / "p.jpg", [box]),
        thumbnails_from_file(tmp_path / "r.jpg", [box]),
    )
    ia, ib = (np.asarray(Image.open(io.BytesIO(x)), dtype=float) for x in (a, b))
    assert ia.shape == (THUMBNAIL_SIZE, THUMBNAIL_SIZE, 3) and np.abs(ia - ib).mean() < 4
