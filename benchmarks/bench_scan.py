"""End-to-end library scan speed (and memory) against facenet-pytorch's pipeline on the same files.

Builds a deterministic album of phone-size JPEGs (long side 2048-4032 px, 1-5 faces each:
LFW photos from ../shared pasted at 150-480 px onto smooth textured backgrounds) and scans it
with :func:`faceorganizer.scan.scan_library` (walk, hash, decode at the working size and
MTCNN in a worker process and the scan thread side by side, Inception-ResNet-V1 in batches,
thumbnails, catalog commits, clustering). Speed does not depend on the weight values, so the
deterministic ``fill()`` Inception-ResNet-V1 weights from ../shared/reference/test_weights.py
serve for both sides.

The reference is facenet-pytorch's pipeline a user would write: PIL decode, EXIF transpose,
resize to the same working size, ``MTCNN(keep_all=True).detect`` + ``extract`` (160 px
crops), ``InceptionResnetV1`` on each photo's crops. facenet-pytorch needs torchvision,
which cannot share our environment; run it from another interpreter that has it::

    python3 -m venv /tmp/fpenv
    /tmp/fpenv/bin/pip install torch torchvision facenet-pytorch numpy Pillow requests tqdm
    python benchmarks/bench_scan.py --reference-python /tmp/fpenv/bin/python

(``--reference-only`` is what that interpreter runs; it prints one JSON line.)

Memory: ``--memory`` scans a larger album of smaller photos and prints the resident memory of
the scan process and its workers as the scan goes, to show it stays flat.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FACEORGANIZER_SHARED", REPO.parent / "shared")).resolve()
LONG_SIDES = (2048, 3024, 4032)


# ---------------------------------------------------------------------------- album
def _faces_pool() -> list[Path]:
    return sorted((SHARED / "images" / "lfw_sample").glob("*/*.jpg"))


def make_photo(index: int, faces: list[Path], long_sides=LONG_SIDES) -> Image.Image:
    """Photo ``index`` of the album: a textured background with 1-5 LFW photos pasted on it."""
    rng = np.random.default_rng(index)
    long_side = int(long_sides[index % len(long_sides)])
    w, h = long_side, long_side * 3 // 4
    if index % 3 == 1:
        w, h = h, w  # some portraits
    base = rng.integers(40, 220, (6, 8, 3), dtype=np.uint8)
    background = Image.fromarray(base).resize((w, h), Image.Resampling.BICUBIC)
    noise = rng.normal(0, 6, (h // 8, w // 8, 3))
    grain = Image.fromarray(np.clip(noise + 128, 0, 255).astype(np.uint8)).resize((w, h))
    photo = Image.blend(background, grain, 0.15)
    count = 1 + index % 5
    cols = min(count, 3)
    rows = -(-count // cols)
    cell_w, cell_h = w // cols, h // rows
    for k in range(count):
        face = Image.open(faces[int(rng.integers(len(faces)))]).convert("RGB")
        side = int(min(cell_w, cell_h) * rng.uniform(0.35, 0.8))
        side = int(np.clip(side, 150 * long_side // 2048, 480 * long_side // 2048))
        face = face.resize((side, side), Image.Resampling.BICUBIC)
        r, c = divmod(k, cols)
        x = c * cell_w + int(rng.integers(0, max(1, cell_w - side)))
        y = r * cell_h + int(rng.integers(0, max(1, cell_h - side)))
        photo.paste(face, (x, y))
    return photo


def build_album(folder: Path, count: int, long_sides=LONG_SIDES, quality: int = 90) -> list[Path]:
    """Write the album (kept between runs: photos already there are not made again)."""
    folder.mkdir(parents=True, exist_ok=True)
    faces = _faces_pool()
    paths = []
    for i in range(count):
        path = folder / f"IMG_{i:05d}.jpg"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            make_photo(i, faces, long_sides).save(tmp, "JPEG", quality=quality)
            os.replace(tmp, path)
        paths.append(path)
    return paths


def fill_weights(path: Path) -> Path:
    """The deterministic fill() Inception-ResNet-V1 state dict as a .pt file."""
    if path.exists():
        return path
    import torch

    spec = importlib.util.spec_from_file_location("_tw", SHARED / "reference" / "test_weights.py")
    tw = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tw)
    layout = json.loads((SHARED / "reference" / "irv1_state_dict_layout.json").read_text())
    state = {k: torch.from_numpy(np.ascontiguousarray(tw.fill(k, tuple(s)))) for k, s, _ in layout["keys"]}
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------------------- memory
def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB (Linux)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                continue
    return out


# ---------------------------------------------------------------------------- ours
def cpu_seconds() -> float:
    """CPU time of this process and its reaped children (user + system)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run_ours(album: Path, weights: Path, args, memory: bool = False) -> dict:
    from faceorganizer.catalog import Catalog
    from faceorganizer.scan import scan_library
    from faceorganizer.scan.scanner import load_models

    mtcnn = SHARED / "weights" / "mtcnn"
    load_models(str(weights), "cpu", mtcnn)  # loading the networks is not part of the scan
    import sklearn.cluster  # noqa: F401 - imported once, as in a running app

    work = Path(tempfile.mkdtemp(prefix="bench_scan_"))
    cat = Catalog(work / "catalog.sqlite")
    cat.set_setting("scan.working_size", args.working_size)
    samples = []
    me = os.getpid()

    def progress(p):
        if memory and (p.done % args.sample_every == 0 or p.done == p.total):
            kids = children(me)
            samples.append((p.done, rss_mb(me), sum(rss_mb(k) for k in kids)))
            print(
                f"  {p.done:6d}/{p.total}  scan process {samples[-1][1]:7.1f} MB  "
                f"workers {samples[-1][2]:6.1f} MB",
                flush=True,
            )

    t0, c0 = time.perf_counter(), cpu_seconds()
    summary = scan_library(
        cat,
        [album],
        model=str(weights),
        mtcnn_weights=mtcnn,
        device="cpu",
        batch_size=args.batch_size,
        workers=args.workers,
        progress=progress,
    )
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    cat.close()
    shutil.rmtree(work, ignore_errors=True)
    return {
        "photos": summary.scanned,
        "faces": summary.faces,
        "seconds": elapsed,
        "cpu": cpu,
        "errors": len(summary.errors),
        "samples": samples,
    }


# ---------------------------------------------------------------------------- facenet-pytorch
def run_reference(album: Path, weights: Path, working_size: int) -> dict:
    import torch
    from facenet_pytorch import MTCNN, InceptionResnetV1
    from PIL import ImageOps

    mtcnn = MTCNN(keep_all=True, device="cpu")
    resnet = InceptionResnetV1(pretrained=None).eval()
    state = torch.load(weights, weights_only=True)
    resnet.load_state_dict({k: v for k, v in state.items() if not k.startswith("logits")}, strict=False)
    paths = sorted(album.glob("*.jpg"))
    faces = 0
    t0, c0 = time.perf_counter(), cpu_seconds()
    with torch.inference_mode():
        for path in paths:
            img = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
            w, h = img.size
            if max(w, h) > working_size:
                r = working_size / max(w, h)
                img = img.resize((round(w * r), round(h * r)), Image.Resampling.BILINEAR)
            boxes, _ = mtcnn.detect(img)
            if boxes is None:
                continue
            crops = mtcnn.extract(img, boxes, None)
            resnet(crops)
            faces += len(boxes)
    return {
        "photos": len(paths),
        "faces": faces,
        "seconds": time.perf_counter() - t0,
        "cpu": cpu_seconds() - c0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--photos",
        type=int,
        default=96,
        help="album size (the scan's worker takes about 2.5 s to start: tiny albums weigh that more)",
    )
    parser.add_argument(
        "--album", type=Path, default=Path(tempfile.gettempdir()) / "faceorganizer_bench_album"
    )
    parser.add_argument("--weights", type=Path, default=Path(tempfile.gettempdir()) / "irv1_fill_bench.pt")
    parser.add_argument("--working-size", type=int, default=1600)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--reference-only", action="store_true", help="run facenet-pytorch only, print JSON")
    parser.add_argument("--reference-python", default=None, help="interpreter with facenet-pytorch installed")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--repeat", type=int, default=2, help="interleaved runs per side (best counts)")
    parser.add_argument(
        "--memory", action="store_true", help="scan a larger album of smaller photos, print RSS"
    )
    parser.add_argument("--sample-every", type=int, default=50)
    args = parser.parse_args()

    if args.memory:
        album = args.album.with_name(args.album.name + "_memory")
        print(f"building {args.photos} photos (long side 1024-1600 px) in {album} ...", flush=True)
        build_album(album, args.photos, long_sides=(1024, 1280, 1600), quality=85)
        weights = fill_weights(args.weights)
        print("scanning; resident memory as it goes:")
        ours = run_ours(album, weights, args, memory=True)
        first = [s for s in ours["samples"] if s[0] >= min(200, ours["photos"])][:1] or ours["samples"][:1]
        last = ours["samples"][-1]
        print(
            f"{ours['photos']} photos, {ours['faces']} faces in {ours['seconds']:.0f} s; scan process RSS "
            f"{first[0][1]:.0f} MB at {first[0][0]} photos -> {last[1]:.0f} MB at {last[0]}; workers "
            f"{first[0][2]:.0f} -> {last[2]:.0f} MB"
        )
        return

    album = args.album
    if args.reference_only:
        print(json.dumps(run_reference(album, args.weights, args.working_size)))
        return
    print(f"building {args.photos} photos in {album} ...", flush=True)
    build_album(album, args.photos)
    extra = sorted(album.glob("IMG_*.jpg"))[args.photos :]
    for p in extra:  # an album left by a larger run: keep exactly --photos
        p.unlink()
    weights = fill_weights(args.weights)
    sizes = [Image.open(p).size for p in sorted(album.glob("*.jpg"))]
    print(
        f"{len(sizes)} photos, {min(max(s) for s in sizes)}-{max(max(s) for s in sizes)} px long side, "
        f"working size {args.working_size} px, {os.cpu_count()} CPUs, torch threads default"
    )

    def reference() -> dict | None:
        if args.skip_reference:
            return None
        if importlib.util.find_spec("facenet_pytorch") is not None:
            return run_reference(album, weights, args.working_size)
        if args.reference_python:
            cmd = [
                args.reference_python,
                __file__,
                "--reference-only",
                "--album",
                str(album),
                "--weights",
                str(weights),
                "--working-size",
                str(args.working_size),
            ]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            return json.loads(out.strip().splitlines()[-1])
        print("facenet-pytorch not importable here; pass --reference-python (see the module docstring)")
        return None

    # interleaved runs, best of each side: the machine's other load hits both alike
    ours_runs, ref_runs = [], []
    for i in range(args.repeat):
        ours_runs.append(run_ours(album, weights, args))
        ref_runs.append(reference())
        load = os.getloadavg()[0]
        r = ref_runs[-1]
        print(
            f"  run {i + 1}: ours {ours_runs[-1]['seconds']:.1f} s"
            + ("" if r is None else f", facenet-pytorch {r['seconds']:.1f} s")
            + f" (load average {load:.1f})",
            flush=True,
        )
    ours = min(ours_runs, key=lambda r: r["seconds"])
    ref = None if ref_runs[0] is None else min(ref_runs, key=lambda r: r["seconds"])

    def line(name: str, r: dict) -> str:
        return (
            f"{name:<22} {r['photos'] / r['seconds']:8.2f} photos/s {r['faces'] / r['seconds']:8.2f} faces/s "
            f"({r['photos']} photos, {r['faces']} faces, {r['seconds']:.1f} s)"
        )

    print(line("faceorganizer scan", ours))
    if ref is not None:
        print(line("facenet-pytorch", ref))
        ratio = (ours["photos"] / ours["seconds"]) / (ref["photos"] / ref["seconds"])
        print(f"ratio (photos/s): {ratio:.2f}x")
        ours_cpu, ref_cpu = ours["cpu"] / ours["photos"], ref["cpu"] / ref["photos"]
        print(
            f"CPU seconds per photo: ours {ours_cpu:.2f}, facenet-pytorch {ref_cpu:.2f} "
            f"({ref_cpu / ours_cpu:.2f}x; less sensitive to other load on the machine than wall time)"
        )


if __name__ == "__main__":
    main()
