"""``faceorganizer detect``: find faces, print boxes, probabilities and landmarks."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._common import (
    OutputNames,
    add_detector_options,
    add_runtime_options,
    build_pipeline,
    collect_images,
    progress_bar,
    warn,
)

if TYPE_CHECKING:
    from PIL import Image

_EPILOG = """\
output (stdout):
  default   one line per face: file, face index, probability, box x1 y1 x2 y2;
            images without a face or that cannot be read get one line saying so
  --json    one JSON document: a list of {file, status, reason, width, height,
            faces: [{index, box, prob, landmarks}]}
  --csv     one row per face (file,face,prob,x1,y1,x2,y2,lm0_x,lm0_y,...,lm4_y,
            width,height,status,reason); a row with an empty face for images without one
Unreadable images (empty, truncated, not an image) are reported and the run goes on;
the exit status is 0 once every input was looked at.

examples:
  faceorganizer detect photo.jpg
  faceorganizer detect photos/ --annotate annotated/ --save-crops crops/ --csv > faces.csv
"""

_CSV_HEADER = (
    ["file", "face", "prob", "x1", "y1", "x2", "y2"]
    + [f"lm{i}_{c}" for i in range(5) for c in ("x", "y")]
    + ["width", "height", "status", "reason"]
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``detect`` command."""
    p = subparsers.add_parser(
        "detect",
        help="find faces in images (boxes, probabilities, landmarks)",
        description="Detect faces with MTCNN in image files and folders (searched "
        "recursively). Needs only the small MTCNN weights.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--csv", action="store_true", help="print CSV")
    p.add_argument(
        "--save-crops",
        type=Path,
        metavar="DIR",
        help="save each face crop as DIR/<image>_face<N>.png",
    )
    p.add_argument(
        "--annotate",
        type=Path,
        metavar="DIR",
        help="save a copy of each image with boxes, landmarks and probabilities drawn",
    )
    add_detector_options(p)
    add_runtime_options(p)
    p.set_defaults(func=run)


def annotate(image: Image.Image, faces: list[Any]) -> Image.Image:
    """A copy of ``image`` with each face's box, landmarks and probability drawn."""
    from PIL import ImageDraw

    out = image.copy()
    draw = ImageDraw.Draw(out)
    width = max(2, round(min(out.size) / 300))
    for face in faces:
        x1, y1, x2, y2 = (float(v) for v in face.box)
        draw.rectangle([x1, y1, x2, y2], outline=(0, 255, 0), width=width)
        r = max(2, width)
        for x, y in face.landmarks:
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 0, 0))
        draw.text((x1 + width, max(0.0, y1 - 12 - width)), f"{face.prob:.3f}", fill=(0, 255, 0))
    return out


def _save_image(image: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() not in (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"):
        path = path.with_suffix(".png")
    image.save(path)


def run(args: argparse.Namespace) -> int:
    """Run ``faceorganizer detect``."""
    from ..vision.pipeline import unstandardize

    files = collect_images(args.paths)
    pipeline = build_pipeline(
        args, embed=False, keep_crops=args.save_crops is not None, keep_images=args.annotate is not None
    )
    names = OutputNames(args.paths)
    writer = csv.writer(sys.stdout, lineterminator="\n") if args.csv else None
    if writer is not None:
        writer.writerow(_CSV_HEADER)
    elif not args.json:
        print("file\tface\tprob\tx1\ty1\tx2\ty2")
    everything: list[dict[str, Any]] = []
    counts = {"files": 0, "faces": 0, "no_face": 0, "error": 0}
    with progress_bar(len(files), "detect", args.progress) as bar:
        for result in pipeline.run(files):
            counts["files"] += 1
            counts["faces"] += len(result.faces)
            if result.status != "ok":
                counts[result.status] += 1
            if result.error:
                warn(f"faceorganizer: cannot use {result.error}")
            rel = names.relative(result.source) if (args.annotate or args.save_crops) else None
            if args.annotate is not None and result.image is not None and rel is not None:
                _save_image(annotate(result.image, result.faces), args.annotate / rel)
            if args.save_crops is not None and rel is not None:
                for face in result.faces:
                    if face.crop is not None:
                        crop_name = rel.with_name(f"{rel.stem}_face{face.index}.png")
                        _save_image(unstandardize(face.crop), args.save_crops / crop_name)
            if args.json:
                everything.append(result.to_dict())
            elif writer is not None:
                _write_csv(writer, result)
            else:
                _print_text(result)
            result.image = None
            bar.update(1)
    if args.json:
        json.dump(everything, sys.stdout, indent=1)
        sys.stdout.write("\n")
    warn(
        f"detect: {counts['files']} images, {counts['faces']} faces; "
        f"{counts['no_face']} without a face, {counts['error']} unreadable"
    )
    return 0


def _print_text(result: Any) -> None:
    if not result.faces:
        print(f"{result.source}\t-\t{'error' if result.error else 'no face'}: {result.reason}")
        return
    for f in result.faces:
        box = "\t".join(f"{v:.1f}" for v in f.box)
        print(f"{result.source}\t{f.index}\t{f.prob:.4f}\t{box}")


def _write_csv(writer: Any, result: Any) -> None:
    size = list(result.image_size) if result.image_size else ["", ""]
    if not result.faces:
        writer.writerow([result.source] + [""] * 16 + size + [result.status, result.reason])
        return
    for f in result.faces:
        writer.writerow(
            [result.source, f.index, f"{f.prob:.6f}"]
            + [f"{v:.3f}" for v in f.box]
            + [f"{v:.3f}" for v in f.landmarks.reshape(-1)]
            + size
            + [result.status, ""]
        )
