"""Frames per second of MTCNN.detect at 1080p / 720p / 540p, single and batched.

Usage: python benchmarks/bench_mtcnn.py [--repeats 5] [--threads 2] [--batch 4] [--shared ../shared]

Runs torchface's MTCNN and, when facenet_pytorch is importable in the same environment,
facenet-pytorch's side by side (interleaved, same torch, same threads) and prints the ratio.
Ends with the peak memory of one 3840x2160 detection (RSS high-water-mark increase).
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import time
from pathlib import Path

import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SIZES = [(1920, 1080), (1280, 720), (960, 540)]


def _frames(shared: Path, size):
    names = ["video_frame_1080p_a.jpg", "video_frame_1080p_b.jpg"]
    return [
        Image.open(shared / "images" / "scenes" / n).convert("RGB").resize(size, Image.BILINEAR)
        for n in names
    ]


def _time(fn, repeats):
    fn()  # warm-up (oneDNN primitives are created per shape)
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from torchface.detection.mtcnn import MTCNN

    ours = MTCNN(weights=args.shared / "weights" / "mtcnn", keep_all=True)
    try:
        from facenet_pytorch import MTCNN as RefMTCNN

        ref = RefMTCNN(keep_all=True)
    except ImportError:
        ref = None
        print("facenet_pytorch not importable: timing torchface only")
    print(f"torch {torch.__version__}, {args.threads} threads, median of {args.repeats}")
    header = f"{'size':>10} {'mode':>8} {'torchface fps':>14}"
    print(header + (f" {'facenet fps':>12} {'ratio':>6}" if ref else ""))
    for size in SIZES:
        frames = _frames(args.shared, size)
        batch = [frames[i % 2] for i in range(args.batch)]
        for mode, inp, n in (
            ("single", frames[0], 1),
            ("single", frames[1], 1),
            (f"batch{args.batch}", batch, args.batch),
        ):
            with torch.inference_mode():
                t_ours = _time(lambda inp=inp: ours.detect(inp), args.repeats)
                line = f"{size[0]}x{size[1]:<5} {mode:>8} {n / t_ours:14.2f}"
                if ref is not None:
                    t_ref = _time(lambda inp=inp: ref.detect(inp), args.repeats)
                    line += f" {n / t_ref:12.2f} {t_ref / t_ours:6.2f}"
            print(line, flush=True)

    if not args.skip_memory:
        img = _frames(args.shared, (3840, 2160))[0]
        gc.collect()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with torch.inference_mode():
            res = ours.detect_faces(img)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
        print(
            f"3840x2160: {len(res)} faces, peak RSS increase {(peak - before) * scale / 2**20:.0f} MiB "
            f"(high-water mark; earlier runs may already have raised it)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
