"""``faceorganizer scan``, ``purge`` and ``models``: fill the catalog, drop missing photos, switch models.

``scan PATH...`` adds the folders to the library and scans them (incremental: unchanged
files are skipped), with a progress bar on stderr (a one-line bar on a terminal, a plain
line every few seconds otherwise) and a closing summary on stdout naming every unreadable
file with its reason. Ctrl-C stops it; what was committed stays, and the next scan goes on
from there.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TextIO

from ._common import add_catalog_option


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``scan``, ``purge`` and ``models`` commands."""
    p = subparsers.add_parser(
        "scan",
        help="scan folders for faces into the catalog (incremental)",
        description="Add folders to the library and scan them: new and changed photos are decoded, "
        "their faces detected (MTCNN) and embedded; unchanged photos are skipped, moved ones keep "
        "their names, copies are recorded as duplicates, deleted ones are marked missing. Faces "
        "are then grouped into people.",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="folders (or photo files) to scan")
    add_catalog_option(p)
    p.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps")
    p.add_argument("--batch-size", type=_positive, default=16, metavar="N", help="faces per embedding batch")
    p.add_argument(
        "--model",
        default=None,
        metavar="M",
        help="embedding model (default: the catalog's, else the best available; see 'faceorganizer models')",
    )
    p.add_argument(
        "--mtcnn-weights",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder holding pnet.pt, rnet.pt and onet.pt (default: the weights cache)",
    )
    p.add_argument(
        "--workers",
        type=_non_negative,
        default=None,
        metavar="N",
        help="worker processes that decode (and on the CPU detect) beside the scan (default: cores - 1, "
        "at most 4; 0: all in-process)",
    )
    p.add_argument(
        "--import-tags",
        action="store_true",
        help="also import face regions and person tags from the photos' metadata (XMP, Picasa)",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="report progress on stderr (a bar on a terminal, periodic lines otherwise)",
    )
    p.set_defaults(func=_scan)

    p = subparsers.add_parser(
        "purge",
        help="remove missing photos (files deleted from disk) and their faces from the catalog",
    )
    add_catalog_option(p)
    p.set_defaults(func=_purge)

    p = subparsers.add_parser(
        "models",
        help="list the embedding models, or switch the catalog to another one",
        description="List the face embedding models and whether their weights are here. --switch "
        "re-embeds every face with another model and regroups the undecided ones; names, "
        "assignments and 'not this person' decisions are kept.",
    )
    add_catalog_option(p)
    p.add_argument("--switch", metavar="NAME", default=None, help="model to switch the catalog to")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    p.set_defaults(func=_models)


# ---------------------------------------------------------------------------- progress
class ProgressReporter:
    """A one-line bar on a terminal, a plain line every ``interval`` seconds otherwise."""

    def __init__(self, stream: TextIO, interval: float = 5.0, width: int = 28) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.interval = interval
        self.width = width
        self.last = 0.0
        self.drawn = False

    def __call__(self, p) -> None:
        """Show one :class:`~faceorganizer.scan.ScanProgress`."""
        now = time.monotonic()
        final = p.done >= p.total
        if not self.tty and not final and now - self.last < self.interval:
            return
        if self.tty and not final and now - self.last < 0.1:
            return
        self.last = now
        eta = "" if p.eta_s is None else f", ETA {_duration(p.eta_s)}"
        errors = f", {p.errors} unreadable" if p.errors else ""
        counts = f"{p.done}/{p.total} photos, {p.faces} faces{errors}{eta}"
        if self.tty:
            filled = int(self.width * p.done / p.total) if p.total else self.width
            bar = "#" * filled + "." * (self.width - filled)
            name = os.path.basename(p.current or "")[:30]
            self.stream.write(f"\r\x1b[2K[{bar}] {counts}  {name}")
            self.drawn = True
        else:
            self.stream.write(f"scan: {counts}\n")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


#: The model shipped with the app (see faceorganizer.vision.embedders.PREFERENCE).
OFFLINE_MODEL = "dlib-resnet-v1"


def format_summary(summary) -> str:
    """The closing summary of a scan, one fact per line."""
    rate = summary.scanned / summary.elapsed_s if summary.elapsed_s > 0 else 0.0
    lines = [
        f"{'Scan cancelled' if summary.cancelled else 'Scan finished'} in {_duration(summary.elapsed_s)} "
        f"({rate:.2f} photos/s)",
        f"photos found:  {summary.total}",
        f"  scanned:     {summary.scanned} ({summary.faces} faces, {summary.no_face} with no face)",
        f"  unchanged:   {summary.unchanged}",
        f"  moved:       {summary.moved}",
        f"  duplicates:  {summary.duplicates}",
        f"  missing:     {summary.missing}",
        f"  unreadable:  {len(summary.errors)}",
    ]
    lines += [f"    {path}: {reason}" for path, reason in summary.errors]
    kinds = Counter(os.path.splitext(p)[1].lower() or "(no extension)" for p in summary.non_images)
    detail = ", ".join(f"{ext} {n}" for ext, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))
    lines.append(f"non-image files: {len(summary.non_images)}" + (f" ({detail})" if detail else ""))
    if summary.model:
        lines.append(f"model: {summary.model}")
        if summary.model == OFFLINE_MODEL:
            lines.append(
                "  (the offline model, used because the Inception-ResNet-V1 weights are not on this "
                "computer; to use them: faceorganizer weights download vggface2, then faceorganizer "
                "models --switch vggface2 — your names are kept)"
            )
    return "\n".join(lines)


# ---------------------------------------------------------------------------- commands
def _open(args: argparse.Namespace):
    from ..catalog import open_catalog

    return open_catalog(args.catalog)


def _scan(args: argparse.Namespace) -> int:
    from ..errors import FaceOrganizerError
    from ..scan import scan_library

    for path in args.paths:
        if not path.exists():
            raise FaceOrganizerError(f"{path}: no such file or folder")
    reporter = ProgressReporter(sys.stderr) if args.progress else None
    catalog = _open(args)
    try:
        summary = scan_library(
            catalog,
            [str(p) for p in args.paths],
            model=args.model,
            device=args.device,
            batch_size=args.batch_size,
            workers=args.workers,
            mtcnn_weights=args.mtcnn_weights,
            progress=reporter,
            import_tags=args.import_tags,
        )
    finally:
        if reporter is not None:
            reporter.close()
        catalog.close()
    print(format_summary(summary))
    return 0


def _purge(args: argparse.Namespace) -> int:
    from ..scan import purge_missing

    catalog = _open(args)
    try:
        removed = purge_missing(catalog)
    finally:
        catalog.close()
    print(f"removed {removed} missing photo{'s' if removed != 1 else ''} and their faces")
    return 0


def _models(args: argparse.Namespace) -> int:
    from ..vision.embedders import EMBEDDERS, _load_plugins

    catalog = _open(args)
    try:
        if args.switch:
            from ..scan import reembed

            reporter = ProgressReporter(sys.stderr)
            try:
                count = reembed(catalog, args.switch, device=args.device, progress=reporter)
            finally:
                reporter.close()
            print(f"switched to {catalog.get_setting('model')}: {count} faces embedded again, decisions kept")
            return 0
        _load_plugins()
        current = catalog.get_setting("model")
        print(f"{'':2}{'name':<16} {'dim':>4}  {'weights':<10} description")
        for name, info in EMBEDDERS.items():
            try:
                here = info.is_available()
            except Exception:  # noqa: BLE001 - a broken cache counts as absent
                here = False
            mark = "*" if name == current else " "
            print(f"{mark} {name:<16} {info.dim:>4}  {'here' if here else 'missing':<10} {info.description}")
        if current and current not in EMBEDDERS:
            print(f"* {current} (the catalog's model, from a weights file)")
        if not current:
            print("(this catalog has no model yet: the first scan picks the best available one)")
    finally:
        catalog.close()
    return 0
