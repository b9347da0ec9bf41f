"""Worker processes that detect as well as decode, and the scan's own thread helping them."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import struct
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.queues import SimpleQueue

import numpy as np
import pytest
import torch
from photo_library import lfw, new_catalog, scene

from faceorganizer.scan import scan_library
from faceorganizer.scan.detection import DetectorSpec, detect_faces, make_detector
from faceorganizer.scan.workers import DecodePool, _submit, read_photo


def _photos(tmp_path, count: int) -> list[str]:
    people = ["Colin_Powell", "Tony_Blair", "George_W_Bush", "Gerhard_Schroeder"]
    paths = []
    for i in range(count):
        path = tmp_path / f"photo_{i:02d}.jpg"
        shutil.copy(lfw(people[i % len(people)], 1 + i // len(people)), path)
        paths.append(str(path))
    return paths


def _photos_and_group(tmp_path, count: int) -> list[str]:
    """``count`` portraits, then a group photo."""
    group = tmp_path / "group.jpg"
    shutil.copy(scene("multiface.jpg"), group)
    return [*_photos(tmp_path, count), str(group)]


def test_workers_detect_what_the_scan_thread_would(tmp_path, mtcnn_weights_dir):
    paths = _photos_and_group(tmp_path, 3)
    with DecodePool(1, 1600, detector=DetectorSpec(str(mtcnn_weights_dir))) as pool:
        results = list(pool.imap(paths))
    assert [r.path for r in results] == paths
    detector = make_detector(mtcnn_weights_dir)
    found = 0
    for r in results:
        assert r.image is not None and r.detections is not None, r.path
        boxes, probs, marks = detect_faces(detector, r.image)
        assert r.detections[0].shape == boxes.shape
        np.testing.assert_allclose(r.detections[0], boxes, atol=1e-3)
        np.testing.assert_allclose(r.detections[1], probs, atol=1e-5)
        np.testing.assert_allclose(r.detections[2], marks, atol=1e-3)
        found += len(boxes)
    assert found >= len(paths)


def test_workers_send_the_faces_cut_instead_of_the_photo(tmp_path, mtcnn_weights_dir):
    from faceorganizer.scan import load_photo
    from faceorganizer.scan.cuts import cut_faces

    paths = _photos_and_group(tmp_path, 2)
    group = paths[-1]
    with DecodePool(1, 1600, detector=DetectorSpec(str(mtcnn_weights_dir))) as pool:
        pool.crop_size = 160  # the embedder's, once it is known
        results = list(pool.imap(paths))
        helped = pool.decode(group, detector=make_detector(mtcnn_weights_dir))  # the scan's thread
    assert sum(len(r.detections[0]) for r in results) >= len(paths)
    for r in [*results, helped]:
        assert r.image is None and r.cut is not None and r.detections is not None, r.path
        image, _, _ = load_photo(r.path, 1600)
        expected = cut_faces(image, r.detections[0], 160)  # what the scan would cut from the photo
        assert r.cut.crops.dtype == np.uint8 and r.cut.crops.shape == (len(r.detections[0]), 3, 160, 160)
        assert np.array_equal(r.cut.crops, expected.crops) and r.cut.thumbnails == expected.thumbnails
    assert helped.cut.thumbnails == results[-1].cut.thumbnails


def test_a_worker_that_cannot_detect_leaves_it_to_the_scan(tmp_path):
    (path,) = _photos(tmp_path, 1)
    with DecodePool(1, 1600, detector=DetectorSpec(str(tmp_path / "no-weights-here"))) as pool:
        (result,) = list(pool.imap([path]))
    assert result.error is None and result.image is not None and result.detections is None


def test_the_calling_thread_helps_while_the_worker_starts_and_order_is_kept(tmp_path):
    paths = _photos(tmp_path, 14)
    helped = []

    def helper(path):
        helped.append(path)
        return read_photo(path, 1600)

    with DecodePool(1, 1600) as pool:
        results = list(pool.imap(paths, helper))
    assert [r.path for r in results] == paths  # each once, in order
    assert all(r.image is not None and r.hash for r in results)
    # a worker process takes far longer to start than a 250 px photo takes to decode
    assert helped, "the calling thread never helped"
    assert len(set(helped)) == len(helped)


def test_without_workers_the_helper_does_everything(tmp_path):
    paths = _photos(tmp_path, 3)
    helped = []
    pool = DecodePool(0, 1600)
    out = list(pool.imap(paths, lambda p: helped.append(p) or read_photo(p, 1600)))
    assert helped == paths and [r.path for r in out] == paths


def test_a_cpu_scan_with_detecting_workers_matches_one_without_and_restores_threads(tmp_path, scan_kwargs):
    lib = tmp_path / "lib"
    lib.mkdir()
    _photos(lib, 5)
    threads = torch.get_num_threads()
    found = []
    for workers in (0, 1):
        cat = new_catalog(tmp_path / f"w{workers}.sqlite")
        summary = scan_library(cat, [lib], workers=workers, **scan_kwargs)
        assert summary.scanned == 5 and not summary.errors
        rows = cat.query(
            "SELECT photos.path, x1, y1, x2, y2, prob FROM faces JOIN photos ON photos.id = faces.photo_id "
            "ORDER BY photos.path, x1"
        )
        found.append(rows)
        cat.close()
        assert torch.get_num_threads() == threads
    assert len(found[0]) == len(found[1]) >= 5
    for a, b in zip(*found):
        assert a["path"] == b["path"]
        assert np.allclose(
            [a[k] for k in ("x1", "y1", "x2", "y2")], [b[k] for k in ("x1", "y1", "x2", "y2")], atol=1e-2
        )
        assert abs(a["prob"] - b["prob"]) < 1e-5


def test_a_worker_that_died_while_idle_is_replaced(tmp_path):
    paths = _photos(tmp_path, 4)
    with DecodePool(1, 1600) as pool:
        assert list(pool.imap(paths[:1]))[0].image is not None
        dead = pool._executor
        for proc in list(dead._processes.values()):
            proc.kill()
        deadline = time.monotonic() + 10
        while not dead._broken and time.monotonic() < deadline:  # the pool notices the death
            time.sleep(0.05)
        assert dead._broken
        results = list(pool.imap(paths))
        assert pool._executor not in (None, dead)
    assert [r.path for r in results] == paths
    assert all(r.error is None and r.image is not None for r in results)


@pytest.mark.parametrize("helped", [False, True])
def test_a_worker_killed_mid_photo_loses_no_photo(tmp_path, helped):
    paths = _photos(tmp_path, 10)
    out = []
    with DecodePool(1, 1600) as pool:
        helper = (lambda p: read_photo(p, 1600)) if helped else None
        for i, result in enumerate(pool.imap(paths, helper)):
            out.append(result)
            if i == 1:  # the worker is reading the next photos: kill it (out of memory, kill -9)
                killed = pool._executor
                for proc in list(killed._processes.values()):
                    proc.kill()
        assert pool._executor not in (None, killed)  # a fresh pool did the rest
        assert pool.workers == 1
    assert [r.path for r in out] == paths
    assert all(r.error is None and r.image is not None for r in out)


def _die_while_sending() -> None:
    """Worker task: start sending a result, then get killed halfway (the pool's pipe is left mid-message)."""
    results = multiprocessing.current_process()._args[1]  # _process_worker(call_queue, result_queue, ...)
    assert isinstance(results, SimpleQueue)
    os.write(results._writer.fileno(), struct.pack("!i", 1 << 20) + b"half a result")
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.timeout(120)
def test_a_worker_killed_while_sending_its_result_does_not_hang_the_wait(tmp_path):
    (path,) = _photos(tmp_path, 1)
    with DecodePool(1, 1600) as pool:
        broken = _submit(pool._start(), _die_while_sending)
        outcome = []

        def wait():
            try:
                pool.result(broken)
            except BaseException as e:  # noqa: BLE001 - what the wait ended with is the test
                outcome.append(e)

        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        waiter.join(30)
        assert not waiter.is_alive(), "the wait on a worker that died mid-send hung"
        assert len(outcome) == 1 and isinstance(outcome[0], BrokenProcessPool)
        (result,) = list(pool.imap([path]))  # the pool starts afresh
        assert result.error is None and result.image is not None


def test_workers_fork_only_from_a_single_threaded_linux_process(monkeypatch):
    import sys

    from faceorganizer.scan import workers

    monkeypatch.delenv(workers.START_METHOD_ENV, raising=False)
    with monkeypatch.context() as alone:
        alone.setattr(threading, "active_count", lambda: 1)  # the command line: the main thread only
        assert workers.start_method() == ("fork" if sys.platform.startswith("linux") else "spawn")
    seen = []
    thread = threading.Thread(target=lambda: seen.append(workers.start_method()))  # a scan in a thread
    thread.start()
    thread.join()
    beside = threading.Event()
    other = threading.Thread(target=beside.wait)  # a thread beside the main one (a GUI)
    other.start()
    try:
        seen.append(workers.start_method())
    finally:
        beside.set()
        other.join()
    assert seen == ["spawn", "spawn"]
    monkeypatch.setenv(workers.START_METHOD_ENV, "spawn")
    assert workers.start_method() == "spawn"
