import os

import torch
from shared_data import shared_path

from faceorganizer.vision.dataset import (
    ImageFiles,
    ImageFolder,
    collate_images,
    find_classes,
    list_images,
    make_loader,
)


def _pid_and_size(image):
    return (os.getpid(), image.size, image.mode)


def test_image_folder_identities_are_subfolders():
    root = shared_path("images", "lfw_sample")
    ds = ImageFolder(root)
    classes, _ = find_classes(root)
    assert ds.classes == classes == sorted(p.name for p in root.iterdir() if p.is_dir())
    assert len(ds.classes) == 10 and len(ds) == 100
    path, target = ds.samples[37]
    assert path.parent.name == ds.classes[target]
    image, t = ds[37]
    assert t == target and image.mode == "RGB" and image.size == (250, 250)
    assert ds.targets.count(0) == 10


def test_loader_collates_mixed_sizes_and_decodes_in_worker_processes():
    scenes = shared_path("images", "scenes")
    aligned = shared_path("images", "aligned")
    paths = list_images(scenes)[:3] + list_images(aligned)[:2]
    ds = ImageFiles(paths)
    loader = make_loader(ds, batch_size=5, num_workers=2)
    (batch,) = list(loader)
    assert [b.path for b in batch] == [str(p) for p in paths]
    sizes = {tuple(b.pixels.shape) for b in batch}
    assert len(sizes) > 1  # mixed sizes in one batch
    assert all(b.pixels.dtype == torch.uint8 and b.pixels.shape[2] == 3 for b in batch)

    folder = ImageFolder(shared_path("images", "lfw_sample"), transform=_pid_and_size)
    batches = list(make_loader(folder, batch_size=25, num_workers=2))
    pids = {info[0] for images, _ in batches for info in images}
    assert os.getpid() not in pids and len(pids) >= 1  # decoded in worker processes
    targets = torch.cat([t for _, t in batches])
    assert targets.tolist() == folder.targets


def test_image_files_report_bad_files_instead_of_raising(tmp_path):
    good = shared_path("images", "aligned", "paul_rudd.png")
    data = shared_path("images", "scenes", "paul_rudd.jpg").read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("not an image at all\n")
    ds = ImageFiles([good, tmp_path / "truncated.jpg", tmp_path / "empty.jpg", tmp_path / "text.jpg"])
    items = [ds[i] for i in range(len(ds))]
    assert items[0].error is None and items[0].to_pil().size == (160, 160)
    assert all(it.pixels is None for it in items[1:])
    assert "truncated" in items[1].error and "truncated.jpg" in items[1].error
    assert "empty" in items[2].error
    assert "not an image" in items[3].error


def test_collate_images_keeps_a_list():
    images, targets = collate_images([("a", 1), ("b", 0)])
    assert images == ["a", "b"] and targets.tolist() == [1, 0]


def test_list_images_reports_non_image_files_and_survives_symlink_loops(tmp_path, caplog):
    import logging
    import shutil

    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    shutil.copy(shared_path("images", "aligned", "paul_rudd.png"), root / "a.png")
    shutil.copy(shared_path("images", "scenes", "paul_rudd.jpg"), root / "sub" / "B.JPG")
    (root / "sub" / "notes.txt").write_text("x")
    (root / "clip.mov").write_bytes(b"\0" * 10)
    (root / ".hidden").mkdir()
    (root / ".hidden" / "c.jpg").write_bytes(b"x")
    os.symlink(root, root / "sub" / "loop")
    skipped = []
    found = list_images(root, non_images=skipped)
    assert found == [root / "a.png", root / "sub" / "B.JPG"]
    assert skipped == [root / "clip.mov", root / "sub" / "notes.txt"]
    with caplog.at_level(logging.WARNING, logger="faceorganizer"):
        assert list_images(root) == found
    assert "skipped 2 non-image file(s)" in caplog.text and "notes.txt" in caplog.text
