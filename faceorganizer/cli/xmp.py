"""``faceorganizer xmp write|import``: hand names to other apps through XMP, or take theirs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import FaceOrganizerError
from ._common import add_catalog_option

#: Lines shown per section before the rest is summarised as "... and N more".
SHOWN = 20


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``xmp`` command with its ``write`` and ``import`` sub-commands."""
    parser = subparsers.add_parser(
        "xmp",
        help="write people tags to XMP sidecars for other apps, or import theirs",
        description="Person names and face regions in standard photo metadata: MWG and Microsoft "
        "face regions plus person keywords, read by digiKam, Lightroom, Immich, ExifTool and others.",
    )
    sub = parser.add_subparsers(dest="xmp_command", metavar="ACTION", required=True)

    write = sub.add_parser(
        "write",
        help="write a sidecar next to each photo with named people",
        description="Write photo.jpg.xmp (or photo.xmp with --style base) for every photo with a "
        "confirmed face of the chosen people: MWG regions (mwg-rs), Microsoft People regions, "
        "Iptc4xmpExt:PersonInImage, lr:hierarchicalSubject People|<name> and dc:subject. An "
        "existing sidecar is merged (other apps' fields stay); writing again changes nothing. "
        "Photos are never modified.",
    )
    write.add_argument(
        "--people", nargs="+", metavar="NAME", help="write only these people (default: every visible person)"
    )
    write.add_argument(
        "--style",
        choices=("ext", "base"),
        default="ext",
        help="sidecar name: ext = photo.jpg.xmp (digiKam, darktable, Immich), base = photo.xmp "
        "(Lightroom's RAW convention, Immich) (default: %(default)s)",
    )
    add_catalog_option(write)
    write.set_defaults(func=_write)

    imp = sub.add_parser(
        "import",
        help="import other apps' face tags as your own naming decisions",
        description="Read face regions from each scanned photo's XMP sidecar, else its embedded XMP, "
        "else its folder's .picasa.ini, and name the matching faces (IoU >= 0.5). A tagged box "
        "with no detected face becomes a new face. Names you gave in faceorganizer are kept.",
    )
    imp.add_argument(
        "--contacts",
        type=Path,
        metavar="FILE",
        help="Picasa's contacts.xml, for the names of .picasa.ini faces (one beside the .picasa.ini "
        "is read too)",
    )
    add_catalog_option(imp)
    imp.set_defaults(func=_import)


def _catalog_path(args: argparse.Namespace) -> Path:
    from ..paths import default_catalog_path

    path = args.catalog if args.catalog is not None else default_catalog_path()
    if not os.path.isfile(path):
        raise FaceOrganizerError(f"no catalog at {path}; scan a folder first (faceorganizer scan PATH)")
    return Path(path)


def _write(args: argparse.Namespace) -> int:
    from ..catalog import open_catalog
    from ..metadata.sync import write_sidecars

    with open_catalog(_catalog_path(args)) as catalog:
        summary = write_sidecars(catalog, people=args.people, style=args.style)
    print(
        f"sidecars for {summary.photos} photo(s): written {summary.written}, unchanged {summary.unchanged}, "
        f"errors {len(summary.errors)}; {summary.regions} face region(s)"
    )
    _section("errors", summary.errors)
    return 1 if summary.errors else 0


def _import(args: argparse.Namespace) -> int:
    from ..catalog import open_catalog
    from ..metadata.sync import import_tags

    with open_catalog(_catalog_path(args)) as catalog:
        summary = import_tags(catalog, contacts_xml=args.contacts)
    print(
        f"looked at {summary.photos} photo(s), {summary.tagged} with face tags "
        f"({summary.regions} region(s)): "
        f"named {summary.matched} detected face(s), added {summary.created} new face(s), "
        f"{summary.unchanged} already so named"
    )
    if summary.people_created:
        print(f"  new people: {', '.join(summary.people_created)}")
    if summary.embedding_unavailable:
        print(
            f"note: new faces were added without an embedding ({summary.embedding_unavailable})",
            file=sys.stderr,
        )
    _section("kept your decision", summary.conflicts)
    _section("errors", summary.errors)
    return 1 if summary.errors else 0


def _section(title: str, rows: list[tuple[str, str]]) -> None:
    if not rows:
        return
    print(f"  {title}:")
    for where, what in rows[:SHOWN]:
        print(f"    {where}: {what}")
    if len(rows) > SHOWN:
        print(f"    ... and {len(rows) - SHOWN} more")
    sys.stdout.flush()
