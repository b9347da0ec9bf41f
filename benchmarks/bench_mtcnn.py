"""Frames per second of MTCNN.detect at 1080p / 720p / 540p, single and batched.

Usage: python benchmarks/bench_mtcnn.py [--repeats 5] [--threads 2] [--batch 4] [--shared ../shared]
                                        [--torch-path] [--skip-memory]

Runs faceorganizer's MTCNN and, when facenet_pytorch is importable in the same environment,
facenet-pytorch's side by side (runs interleaved, same torch, same threads) and prints the ratio.
``--torch-path`` also times faceorganizer without its C kernels (``FACEORGANIZER_NATIVE=0``), interleaved.
Ends with the peak memory of one 3840x2160 detection, measured in a fresh process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
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


def _time_pair(fns, repeats):
    """Median wall time of each function, runs interleaved so that load hits all alike."""
    for fn in fns:
        fn()  # warm-up (oneDNN primitives are created per shape)
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, times):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    return [statistics.median(t) for t in times]


def _peak_memory(shared: Path, threads: int) -> str:
    """Peak RSS of a fresh process while it detects faces in one 3840x2160 image.

    On Linux the high-water mark is reset (``/proc/self/clear_refs``) after the model and
    the image are loaded, so the figure is the detection's own peak.
    """
    code = f"""
import resource, torch
from PIL import Image
torch.set_num_threads({threads})
from faceorganizer.vision.detection.mtcnn import MTCNN
m = MTCNN(weights={str(shared / "weights" / "mtcnn")!r}, keep_all=True)
img = Image.open({str(shared / "images" / "scenes" / "video_frame_1080p_a.jpg")!r}).convert("RGB")
img = img.resize((3840, 2160), Image.BILINEAR)
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])
base = rss("VmRSS:")
open("/proc/self/clear_refs", "w").write("5")
with torch.inference_mode():
    n = len(m.detect_faces(img))
print(n, base, rss("VmHWM:"))
"""
    if not Path("/proc/self/clear_refs").exists():
        return "3840x2160: peak memory is measured on Linux only"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    n, base, peak = (int(v) for v in out.stdout.split())
    return (
        f"3840x2160: {n} faces; peak RSS during detection {peak / 1024:.0f} MiB, "
        f"{(peak - base) / 1024:.0f} MiB above the loaded model and image (target < 1536 MiB)"
    )


def _without_kernels(fn, inp):
    os.environ["FACEORGANIZER_NATIVE"] = "0"
    try:
        return fn(inp)
    finally:
        del os.environ["FACEORGANIZER_NATIVE"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--torch-path", action="store_true", help="also time faceorganizer without its C kernels")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from faceorganizer.vision.detection.mtcnn import MTCNN

    ours = MTCNN(weights=args.shared / "weights" / "mtcnn", keep_all=True)
    try:
        from facenet_pytorch import MTCNN as RefMTCNN

        ref = RefMTCNN(keep_all=True)
    except ImportError:
        ref = None
        print("facenet_pytorch not importable: timing faceorganizer only")
    print(f"torch {torch.__version__}, {args.threads} threads, median of {args.repeats}")
    from faceorganizer.vision import _native

    torch_path = args.torch_path and _native.available()
    header = f"{'size':>10} {'mode':>8} {'faceorganizer fps':>14}"
    header += f" {'torch-ops fps':>14}" if torch_path else ""
    print(header + (f" {'facenet fps':>12} {'ratio':>6}" if ref else ""))
    for size in SIZES:
        frames = _frames(args.shared, size)
        batch = [frames[i % 2] for i in range(args.batch)]
        for mode, inp, n in (
            ("single", frames[0], 1),
            ("single", frames[1], 1),
            (f"batch{args.batch}", batch, args.batch),
        ):
            fns = [lambda inp=inp: ours.detect(inp)]
            if torch_path:
                fns.append(lambda inp=inp: _without_kernels(ours.detect, inp))
            if ref is not None:
                fns.append(lambda inp=inp: ref.detect(inp))
            with torch.inference_mode():
                times = _time_pair(fns, args.repeats)
            line = f"{size[0]}x{size[1]:<5} {mode:>8} {n / times[0]:14.2f}"
            if torch_path:
                line += f" {n / times[1]:14.2f}"
            if ref is not None:
                line += f" {n / times[-1]:12.2f} {times[-1] / times[0]:6.2f}"
            print(line, flush=True)

    if not args.skip_memory:
        print(_peak_memory(args.shared, args.threads))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
