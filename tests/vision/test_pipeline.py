from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from shared_data import shared_path

from faceorganizer.vision.pipeline import FacePipeline, array_to_pil, model_name_for, unstandardize


class FakeDetector:
    """One face in the middle of bright images, none in dark ones; 13x13 images crash."""

    image_size, margin, post_process = 160, 0, True

    def _detect(self, img):
        w, h = img.size
        if (w, h) == (13, 13):
            raise RuntimeError("boom")
        if np.asarray(img).mean() < 20:
            return SimpleNamespace(
                boxes=np.zeros((0, 4)), probs=np.zeros(0), landmarks=np.zeros((0, 5, 2)), image_size=(w, h)
            )
        box = np.array([[w / 4, h / 4, 3 * w / 4, 3 * h / 4]], np.float32)
        return SimpleNamespace(
            boxes=box, probs=np.array([0.99]), landmarks=np.full((1, 5, 2), w / 2), image_size=(w, h)
        )

    def detect_faces(self, imgs):
        if isinstance(imgs, list):
            return [self._detect(i) for i in imgs]
        return self._detect(imgs)

    def crop_faces(self, img, det):
        crops = []
        for box in det.boxes:
            face = img.crop(tuple(int(v) for v in box)).resize((160, 160), Image.BILINEAR)
            t = torch.from_numpy(np.asarray(face, np.float32)).permute(2, 0, 1)
            crops.append((t - 127.5) / 128.0)
        return torch.stack(crops) if crops else torch.zeros(0, 3, 160, 160)


class FakeEmbedder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(3, 8)
        torch.manual_seed(0)
        torch.nn.init.normal_(self.proj.weight)
        self.calls = []

    def forward(self, x):
        self.calls.append(x.shape[0])
        return torch.nn.functional.normalize(self.proj(x.mean((2, 3))), dim=1)


def _pipe(**kw):
    return FacePipeline(FakeDetector(), FakeEmbedder(), model_name="fake", **kw)


def test_every_kind_of_input_gives_one_result_in_order():
    scene = shared_path("images", "scenes", "paul_rudd.jpg")
    aligned = shared_path("images", "aligned")
    pil = Image.open(scene).convert("RGB")
    arr = np.array(pil)
    chw_float = torch.from_numpy(arr).permute(2, 0, 1).float() / 255.0
    inputs = [str(scene), pil, arr, chw_float, aligned]
    results = list(_pipe(batch_size=2).run(inputs))
    assert len(results) == 4 + 5
    assert [r.index for r in results] == list(range(9))
    assert results[0].source == str(scene)
    assert results[1].source == "<image 1>"
    assert results[4].source.endswith("angelina_jolie.png")  # folder, sorted
    assert all(r.status == "ok" and len(r.faces) == 1 for r in results)
    # the same picture as a path, PIL, uint8 HWC and float CHW 0..1 gives the same embedding
    for r in results[1:4]:
        np.testing.assert_allclose(r.faces[0].embedding, results[0].faces[0].embedding, atol=2e-3)
    assert results[0].image_size == pil.size


def test_embeddings_are_the_embedders_output_on_the_crops():
    pipe = _pipe(batch_size=3, embed_batch_size=2)
    results = list(pipe.run(shared_path("images", "aligned")))
    assert pipe.embedder.calls == [2, 1, 2]  # faces embedded in chunks of embed_batch_size
    crops = torch.stack([f.crop for r in results for f in r.faces])
    with torch.no_grad():
        expected = pipe.embedder(crops).numpy()
    got = np.stack([f.embedding for r in results for f in r.faces])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_bad_images_are_reported_and_never_stop_the_batch(tmp_path):
    good = shared_path("images", "aligned", "paul_rudd.png")
    data = shared_path("images", "scenes", "paul_rudd.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(data[:2000])
    (tmp_path / "zero.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("hello")
    dark = np.zeros((64, 64, 3), np.uint8)
    crash = np.full((13, 13, 3), 200, np.uint8)
    inputs = [
        good,
        tmp_path / "truncated.jpg",
        tmp_path / "zero.jpg",
        tmp_path / "text.jpg",
        dark,
        crash,
        good,
        tmp_path / "missing.jpg",
        np.zeros((5,), np.uint8),
    ]
    results = list(_pipe(batch_size=4).run(inputs))
    assert [r.status for r in results] == [
        "ok",
        "error",
        "error",
        "error",
        "no_face",
        "error",
        "ok",
        "error",
        "error",
    ]
    assert "truncated.jpg" in results[1].reason
    assert "empty" in results[2].reason
    assert "not an image" in results[3].reason
    assert results[4].reason == "no face found" and results[4].image_size == (64, 64)
    assert "face detection failed" in results[5].reason and "boom" in results[5].reason
    assert "missing.jpg" in results[7].reason
    assert "shape" in results[8].reason
    assert results[6].faces[0].embedding is not None


def test_worker_processes_give_the_same_results(tmp_path):
    folder = shared_path("images", "lfw_sample", "Tony_Blair")
    (tmp_path / "bad.jpg").write_bytes(b"")
    inline = list(_pipe(batch_size=3, num_workers=0).run([folder, tmp_path / "bad.jpg"]))
    workers = list(_pipe(batch_size=3, num_workers=2).run([folder, tmp_path / "bad.jpg"]))
    assert [r.source for r in inline] == [r.source for r in workers]
    assert [r.status for r in workers][-1] == "error" and len(workers) == 11
    for a, b in zip(inline, workers):
        for fa, fb in zip(a.faces, b.faces):
            np.testing.assert_array_equal(fa.embedding, fb.embedding)


def test_generators_are_consumed_lazily_and_options_are_honoured():
    seen = []

    def frames():
        for i in range(5):
            seen.append(i)
            yield np.full((40, 40, 3), 100 + i, np.uint8)

    pipe = FacePipeline(FakeDetector(), None, batch_size=2, keep_crops=False, keep_images=True)
    it = pipe.run(frames())
    first = next(it)
    assert seen == [0, 1]  # only the first batch was pulled
    assert first.faces[0].embedding is None and first.faces[0].crop is None
    assert first.image is not None and first.image.size == (40, 40)
    assert len(list(it)) == 4


def test_largest_face_and_dict():
    r = next(_pipe().run(np.full((50, 80, 3), 90, np.uint8)))
    d = r.to_dict()
    assert d["status"] == "ok" and d["width"] == 80 and d["height"] == 50
    assert d["faces"][0]["box"] == [20.0, 12.5, 60.0, 37.5]
    assert r.largest_face() is r.faces[0]


def test_array_to_pil_layouts():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert array_to_pil(gray).mode == "RGB" and array_to_pil(gray).size == (4, 3)
    rgba = np.zeros((2, 2, 4), np.uint8)
    assert array_to_pil(rgba).mode == "RGB"
    with pytest.raises(Exception, match="shape"):
        array_to_pil(np.zeros((2, 2, 2, 2)))


def test_unstandardize_inverts_fixed_standardization():
    pixels = torch.randint(0, 256, (3, 8, 8)).float()
    image = unstandardize((pixels - 127.5) / 128.0)
    np.testing.assert_array_equal(np.asarray(image), pixels.permute(1, 2, 0).byte().numpy())


def test_model_names_never_confuse_two_weight_files(tmp_path):
    assert model_name_for("vggface2") == "vggface2"
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    a.write_bytes(b"one")
    b.write_bytes(b"two")
    assert model_name_for(a).startswith("file:a.pt@") and model_name_for(a) != model_name_for(b)
    named = tmp_path / "20180402-114759-vggface2.pt"
    named.write_bytes(b"x")
    assert model_name_for(named) == "vggface2"
