"""Faces per second: faceorganizer's dlib-resnet-v1 (torch) against dlib's own descriptor code.

Usage: python benchmarks/bench_dlib.py [--threads 2] [--faces 64] [--repeats 3] [--batch 64]

Both sides embed the same faces of ``../shared/images/lfw_sample`` (MTCNN detections with the
real weights), runs interleaved, on ``--threads`` threads (torch.set_num_threads, and
OMP/OpenBLAS/MKL thread variables set before dlib and torch are imported):

* chips: the network alone on the same 150x150 chips (dlib's ``get_face_chip``): dlib's
  ``compute_face_descriptor(chip)`` one by one, dlib's batched list API
  ``compute_face_descriptor([chips])``, and ``DlibResNet.descriptors(chips)`` in batches;
* end to end: image + detection -> descriptor, alignment included: dlib's
  ``compute_face_descriptor(img, shape)`` per photo against
  ``DlibResnetEmbedder.embed(image, boxes, landmarks)`` per photo, and dlib's batched
  ``compute_face_descriptor([imgs], [shapes])`` against ``DlibResnetEmbedder.embed_batch``.

The machine's load average is printed too: on a busy machine, two threads can lose to one
(each of the many small parallel regions waits for a descheduled thread), so run it with
``--threads 1`` as well.

Prints faces/s of each and the ratios (faceorganizer / dlib). ``dlib`` (the ``dlib-bin``
wheel) is needed only here and in the tests.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def _set_thread_env(threads: int) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)


def _seconds(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--faces", type=int, default=32, help="number of faces (photos) to embed")
    p.add_argument("--repeats", type=int, default=3, help="interleaved runs; the best of them is shown")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--shared", type=Path, default=SHARED)
    args = p.parse_args(argv)
    _set_thread_env(args.threads)

    import dlib
    import numpy as np
    import torch

    from faceorganizer.vision.detection.mtcnn import MTCNN
    from faceorganizer.vision.dlib_align import dlib_rects
    from faceorganizer.vision.dlib_format import RESNET_FILE, SHAPE5_FILE, packaged_file
    from faceorganizer.vision.imageio import load_image
    from faceorganizer.vision.lfw import central_face, person_photos
    from faceorganizer.vision.models.dlib_resnet import DlibResnetEmbedder

    torch.set_num_threads(args.threads)
    sp = dlib.shape_predictor(str(packaged_file(SHAPE5_FILE)))
    fr = dlib.face_recognition_model_v1(str(packaged_file(RESNET_FILE)))
    detector = MTCNN(keep_all=True, weights=args.shared / "weights" / "mtcnn")
    embedder = DlibResnetEmbedder(batch_size=args.batch)

    photos = [f for files in person_photos(args.shared / "images" / "lfw_sample").values() for f in files]
    faces = []  # (image, box, landmarks, dlib shape)
    for f in photos:
        if len(faces) == args.faces:
            break
        pil = load_image(f)
        boxes, _, points = detector.detect(pil, landmarks=True)
        if boxes is None:
            continue
        k = central_face(boxes, *pil.size)
        image = np.asarray(pil)
        left, top, right, bottom = (int(v) for v in dlib_rects(boxes[k : k + 1])[0])
        shape = sp(image, dlib.rectangle(left, top, right, bottom))
        faces.append((image, boxes[k : k + 1], points[k : k + 1], shape))
    n = len(faces)
    chips = np.stack([dlib.get_face_chip(img, shape, 150, 0.25) for img, _, _, shape in faces])
    chip_list = list(chips)
    net = embedder.net

    def dlib_single():
        for c in chip_list:
            fr.compute_face_descriptor(c)

    def dlib_batch():
        fr.compute_face_descriptor(chip_list)

    def torch_batch():
        net.descriptors(chips, args.batch)

    def dlib_e2e():
        for img, _, _, shape in faces:
            fr.compute_face_descriptor(img, shape)

    def torch_e2e():
        for img, box, pts, _ in faces:
            embedder.embed(img, box, pts)

    images = [img for img, _, _, _ in faces]
    batch_faces = []
    for _, _, _, shape in faces:
        dets = dlib.full_object_detections()
        dets.append(shape)
        batch_faces.append(dets)

    def dlib_e2e_batch():
        fr.compute_face_descriptor(images, batch_faces)

    def torch_e2e_batch():
        embedder.embed_batch([(img, box, pts) for img, box, pts, _ in faces])

    for warm_up in (
        torch_batch,
        dlib_batch,
        torch_e2e,
        torch_e2e_batch,
    ):  # oneDNN primitives are made per shape
        warm_up()
    fns = {
        "dlib_single": dlib_single,
        "dlib_batch": dlib_batch,
        "torch_batch": torch_batch,
        "dlib_e2e": dlib_e2e,
        "torch_e2e": torch_e2e,
        "dlib_e2e_batch": dlib_e2e_batch,
        "torch_e2e_batch": torch_e2e_batch,
    }
    rates = {name: [] for name in fns}
    load_before = os.getloadavg()[0]
    for _ in range(args.repeats):
        for name, fn in fns.items():
            rates[name].append(n / _seconds(fn))
    # best of the interleaved runs: the least disturbed by other load on the machine
    r = {k: max(v) for k, v in rates.items()}
    diff = np.abs(
        net.descriptors(chips) - np.array([np.array(d) for d in fr.compute_face_descriptor(chip_list)])
    )
    print(
        f"{n} faces from lfw_sample, {args.threads} threads, batch {args.batch}, best of {args.repeats} runs"
    )
    print(
        f"torch {torch.__version__}, dlib {dlib.__version__}; "
        f"max |torch - dlib| on the chips {diff.max():.1e}"
    )
    print(f"{'what':<44} {'faces/s':>9}")
    print(f"{'dlib compute_face_descriptor(chip), one by one':<44} {r['dlib_single']:9.1f}")
    print(f"{'dlib compute_face_descriptor([chips]) batched':<44} {r['dlib_batch']:9.1f}")
    print(f"{'faceorganizer DlibResNet.descriptors(chips)':<44} {r['torch_batch']:9.1f}")
    print(f"{'dlib compute_face_descriptor(img, shape)':<44} {r['dlib_e2e']:9.1f}")
    print(f"{'faceorganizer embed(img, box, landmarks)':<44} {r['torch_e2e']:9.1f}")
    print(f"{'dlib compute_face_descriptor([imgs], [shapes])':<44} {r['dlib_e2e_batch']:9.1f}")
    print(f"{'faceorganizer embed_batch([(img, box, lm)])':<44} {r['torch_e2e_batch']:9.1f}")
    print(
        f"ratio, network on chips: {r['torch_batch'] / r['dlib_batch']:.2f}x dlib batched, "
        f"{r['torch_batch'] / r['dlib_single']:.2f}x dlib one by one"
    )
    print(
        f"ratio, end to end (alignment included): batched {r['torch_e2e_batch'] / r['dlib_e2e_batch']:.2f}x, "
        f"one photo at a time {r['torch_e2e'] / r['dlib_e2e']:.2f}x dlib"
    )
    print(f"load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main())
