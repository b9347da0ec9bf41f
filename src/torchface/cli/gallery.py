"""``torchface enroll``, ``identify`` and ``gallery list|remove``: an SQLite face gallery."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._home import default_gallery_path
from ..errors import TorchfaceError
from ._common import (
    add_detector_options,
    add_embedder_options,
    add_runtime_options,
    build_pipeline,
    collect_images,
    durable_write_done,
    durable_write_point,
    progress_bar,
    warn,
)

if TYPE_CHECKING:
    from ..gallery import Gallery

_GALLERY_HELP = (
    "the gallery file (default: $TORCHFACE_GALLERY, else gallery.sqlite in the torchface "
    "home folder $TORCHFACE_HOME, by default ~/.cache/torchface)"
)

_ENROLL_EPILOG = """\
Each image contributes its largest face. Images already enrolled for NAME with the same
model are skipped, so an interrupted enroll is finished by running it again. Faces are
committed in transactions of --batch-size images: a killed run keeps what it committed.

examples:
  torchface enroll "Ada Lovelace" ada1.jpg ada2.jpg
  torchface enroll --gallery team.sqlite Bob photos/bob/
  torchface enroll --gallery team.sqlite --folders people/   # people/<name>/<images>
"""

_IDENTIFY_EPILOG = """\
For every face of every image, prints the --top-k closest enrolled identities with their
L2 distance (an identity's distance is that of its closest enrolled face). The face is
"unknown" when the closest identity is farther than the threshold (default: the model's
documented threshold, 1.10 for vggface2 and casia-webface). Only faces enrolled with the
same model and preprocessing are searched.

examples:
  torchface identify group.jpg
  torchface identify --gallery team.sqlite --top-k 3 --json photos/
"""


def _add_gallery_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gallery", type=Path, metavar="FILE", help=_GALLERY_HELP)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``enroll``, ``identify`` and ``gallery`` commands."""
    p = subparsers.add_parser(
        "enroll",
        help="add a person's face(s) to the gallery",
        description="Detect, embed and store faces of one person in the gallery.",
        epilog=_ENROLL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_gallery_option(p)
    p.add_argument("name", metavar="NAME", nargs="?", help="the person's name")
    p.add_argument("paths", nargs="*", metavar="IMG", help="images (or folders) of that person")
    p.add_argument(
        "--folders",
        nargs="+",
        type=Path,
        metavar="ROOT",
        help="instead of NAME IMG...: enroll every sub-folder of ROOT as one person named "
        "after the sub-folder (ROOT/<name>/<images>)",
    )
    add_embedder_options(p)
    add_detector_options(p)
    add_runtime_options(p)
    p.set_defaults(func=run_enroll)

    p = subparsers.add_parser(
        "identify",
        help="name the faces in images using the gallery",
        description="Detect and embed the faces of the given images and look them up in the gallery.",
        epilog=_IDENTIFY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_gallery_option(p)
    p.add_argument("paths", nargs="+", metavar="IMG", help="images or folders")
    p.add_argument(
        "--top-k",
        type=int,
        default=3,
        metavar="K",
        help="identities listed per face (default: %(default)s)",
    )
    p.add_argument(
        "--threshold",
        type=float,
        metavar="D",
        help="'unknown' beyond this distance (default: the model's documented threshold)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    add_embedder_options(p)
    add_detector_options(p)
    add_runtime_options(p)
    p.set_defaults(func=run_identify)

    p = subparsers.add_parser(
        "gallery",
        help="list or remove enrolled people",
        description=f"Inspect and edit the face gallery. Default file: {default_gallery_path()}"
        " ($TORCHFACE_GALLERY or $TORCHFACE_HOME change it).",
    )
    sub = p.add_subparsers(dest="gallery_command", metavar="ACTION", required=True)
    q = sub.add_parser("list", help="enrolled identities, models and face counts")
    _add_gallery_option(q)
    q.add_argument("--model", help="only this model's faces")
    q.add_argument("--faces", action="store_true", help="also list every stored face")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.set_defaults(func=run_list)
    q = sub.add_parser("remove", help="delete an identity's faces")
    _add_gallery_option(q)
    q.add_argument("name", metavar="NAME")
    q.add_argument("--model", help="only the faces of this model (default: all)")
    q.set_defaults(func=run_remove)


# ---------------------------------------------------------------------------- enroll
def _enroll_plan(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(name, file) pairs from ``NAME IMG...`` or ``--folders ROOT...``."""
    from ..dataset import find_classes, list_images
    from ..gallery import check_name

    if args.folders:
        if args.name or args.paths:
            raise TorchfaceError("give either NAME IMG... or --folders ROOT..., not both")
        plan = []
        for root in args.folders:
            classes, _ = find_classes(root)
            for person in classes:
                name = check_name(person)
                plan.extend((name, str(f)) for f in list_images(Path(root) / person))
        return plan
    if not args.name or not args.paths:
        raise TorchfaceError("enroll needs NAME and at least one IMG (or --folders ROOT)")
    name = check_name(args.name)
    return [(name, f) for f in collect_images(args.paths)]


def run_enroll(args: argparse.Namespace) -> int:
    """Run ``torchface enroll``."""
    from ..gallery import Gallery

    plan = _enroll_plan(args)
    if not plan:
        raise TorchfaceError("no images to enroll")
    pipeline = build_pipeline(args, embed=True, keep_crops=False)
    model, preprocessing = pipeline.model_name, pipeline.preprocessing
    with Gallery(args.gallery) as gallery:
        gallery.check_model(model, preprocessing, create_ok=True)
        done: dict[str, set[str]] = {}
        todo: list[tuple[str, str]] = []
        for name, f in plan:
            if name not in done:
                done[name] = gallery.sources(name, model)
            if os.path.realpath(f) not in done[name]:
                todo.append((name, f))
        skipped: dict[str, int] = {}
        for name, f in plan:
            if os.path.realpath(f) in done[name]:
                skipped[name] = skipped.get(name, 0) + 1
        for name, count in skipped.items():
            warn(f"enroll: {count} images of {name} already enrolled, skipped")
        added: dict[str, int] = {name: 0 for name in done}
        unusable = 0
        with progress_bar(len(todo), "enroll", args.progress) as bar:
            pending: list[tuple[str, str, Any]] = []
            results = pipeline.run([f for _, f in todo])
            for (name, _), result in zip(todo, results):
                bar.update(1)
                face = result.largest_face()
                if face is None:
                    unusable += 1
                    warn(f"torchface: {result.source}: not enrolled, {result.reason}")
                else:
                    if len(result.faces) > 1:
                        warn(
                            f"torchface: {result.source}: {len(result.faces)} faces, "
                            f"enrolled the largest (face {face.index})"
                        )
                    pending.append((name, os.path.realpath(result.source), face))
                if len(pending) >= args.batch_size:
                    _commit(gallery, model, preprocessing, pending, added)
                    pending = []
            _commit(gallery, model, preprocessing, pending, added)
        for name, count in added.items():
            print(
                f"enrolled {count} faces of {name!r} into {gallery.path} (model {model}); "
                f"{skipped.get(name, 0)} already enrolled"
            )
        if unusable:
            print(f"{unusable} images without a usable face were not enrolled")
    return 0


def _commit(
    gallery: Gallery,
    model: str,
    preprocessing: str,
    pending: list[tuple[str, str, Any]],
    added: dict[str, int],
) -> None:
    """Store pending faces in one transaction (a kill rolls back only this batch)."""
    import numpy as np

    if not pending:
        return
    with gallery.transaction():
        for name in dict.fromkeys(n for n, _, _ in pending):
            mine = [(s, f) for n, s, f in pending if n == name]
            gallery.add(
                name,
                np.stack([f.embedding for _, f in mine]),
                model=model,
                preprocessing=preprocessing,
                sources=[s for s, _ in mine],
                face_indices=[f.index for _, f in mine],
                boxes=[f.box for _, f in mine],
                probs=[f.prob for _, f in mine],
            )
            added[name] += len(mine)
        durable_write_point()
    durable_write_done()


# ---------------------------------------------------------------------------- identify
def run_identify(args: argparse.Namespace) -> int:
    """Run ``torchface identify``."""
    from ..gallery import Gallery

    if args.top_k < 1:
        raise TorchfaceError("--top-k must be at least 1")
    files = collect_images(args.paths)
    with Gallery(args.gallery, create=False) as gallery:
        pipeline = build_pipeline(args, embed=True, keep_crops=False)
        model, preprocessing = pipeline.model_name, pipeline.preprocessing
        gallery.check_model(model, preprocessing)
        threshold = hit_threshold(args, model)
        report: list[dict[str, Any]] = []
        if not args.json:
            print(f"gallery: {gallery.path}  model: {model}  unknown beyond {threshold:.2f}")
        with progress_bar(len(files), "identify", args.progress) as bar:
            pending: list[Any] = []
            for result in pipeline.run(files):
                bar.update(1)
                pending.append(result)
                if len(pending) >= args.batch_size:
                    report.extend(_identify_batch(gallery, pending, model, preprocessing, args))
                    pending = []
            report.extend(_identify_batch(gallery, pending, model, preprocessing, args))
        if args.json:
            json.dump(
                {"gallery": str(gallery.path), "model": model, "threshold": threshold, "images": report},
                sys.stdout,
                indent=1,
            )
            sys.stdout.write("\n")
    return 0


def _identify_batch(
    gallery: Gallery, results: list[Any], model: str, preprocessing: str, args: Any
) -> list[dict[str, Any]]:
    """Search the faces of several images with one gallery query; print or return entries."""
    import numpy as np

    faces = [f for r in results for f in r.faces]
    hits = iter(
        gallery.search(
            np.stack([f.embedding for f in faces]),
            model=model,
            preprocessing=preprocessing,
            top_k=args.top_k,
            threshold=args.threshold,
        )
        if faces
        else []
    )
    entries = []
    for result in results:
        entry: dict[str, Any] = {
            "file": result.source,
            "status": result.status,
            "reason": result.reason,
            "faces": [],
        }
        for face in result.faces:
            hit = next(hits)
            entry["faces"].append(
                {
                    "face": face.index,
                    "box": [round(float(v), 1) for v in face.box],
                    "identity": hit.identity,
                    "distance": None if hit.best is None else hit.best.distance,
                    "matches": [
                        {"name": m.name, "distance": m.distance, "source": m.source} for m in hit.matches
                    ],
                }
            )
        if not args.json:
            _print_identified(entry, hit_threshold(args, model))
        entries.append(entry)
    return entries if args.json else []


def hit_threshold(args: Any, model: str) -> float:
    """The threshold in force: --threshold, else the model's documented one."""
    from ..verification import threshold_for

    return threshold_for(model) if args.threshold is None else args.threshold


def _print_identified(entry: dict[str, Any], threshold: float) -> None:
    if not entry["faces"]:
        print(f"{entry['file']}: {entry['reason']}")
        return
    for face in entry["faces"]:
        box = ",".join(f"{v:.0f}" for v in face["box"])
        dist = face["distance"]
        if face["identity"] == "unknown":
            detail = "" if dist is None else f" (closest at {dist:.3f} > {threshold:.2f})"
            head = f"unknown{detail}"
        else:
            head = f"{face['identity']}  {dist:.3f}"
        print(f"{entry['file']}  face {face['face']} [{box}]: {head}")
        for rank, m in enumerate(face["matches"], 1):
            print(f"    {rank}. {m['name']:<30} {m['distance']:.3f}")


# ---------------------------------------------------------------------------- gallery
def _open_existing(path: Path | None) -> Gallery:
    from ..gallery import Gallery

    return Gallery(path, create=False)


def run_list(args: argparse.Namespace) -> int:
    """Run ``torchface gallery list``."""
    with _open_existing(args.gallery) as gallery:
        models = [m for m in gallery.models() if args.model in (None, m.name)]
        people = gallery.identities(args.model)
        faces = gallery.faces(model=args.model) if args.faces else []
        if args.json:
            json.dump(
                {
                    "gallery": str(gallery.path),
                    "models": [m.__dict__ for m in models],
                    "identities": [p.__dict__ for p in people],
                    "faces": [f.__dict__ for f in faces],
                },
                sys.stdout,
                indent=1,
            )
            sys.stdout.write("\n")
            return 0
        print(f"gallery: {gallery.path}")
        for m in models:
            print(f"model {m.name}: {m.identities} identities, {m.faces} faces, {m.dim}-d, {m.preprocessing}")
        if not people:
            print("(no one enrolled)")
            return 0
        width = max(4, *(len(p.name) for p in people))
        print(f"\n{'name':<{width}}  {'faces':>5}  model")
        for p in people:
            print(f"{p.name:<{width}}  {p.faces:>5}  {p.model}")
        if faces:
            print("\nid     name / model / source / face")
            for f in faces:
                print(f"{f.id:<6} {f.name} / {f.model} / {f.source} / {f.face_index}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    """Run ``torchface gallery remove``."""
    from ..gallery import GalleryError

    with _open_existing(args.gallery) as gallery:
        removed = gallery.remove(args.name, args.model)
        if removed == 0:
            scope = f" with model {args.model!r}" if args.model else ""
            raise GalleryError(f"{args.name!r}{scope} is not in {gallery.path}")
        print(f"removed {removed} faces of {args.name!r} from {gallery.path}")
    return 0
