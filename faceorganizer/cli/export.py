"""``faceorganizer export``: copy or link each person's photos into ``OUT/<person>/``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import FaceOrganizerError
from ._common import add_catalog_option

#: Reasons shown per section before the rest is summarised as "... and N more".
SHOWN = 20


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` command."""
    parser = subparsers.add_parser(
        "export",
        help="export each person's photos into a folder of their own",
        description="Write OUT/<person>/<photo file> for every person (hidden people only when named "
        "with --people). A photo with several people goes into each of their folders; only "
        "confirmed faces count, not suggestions. Exporting again adds only what changed and never "
        "overwrites a different file; OUT/manifest.csv records what was written. Originals are "
        "only read.",
    )
    parser.add_argument("out", type=Path, metavar="OUT", help="the export folder (created when missing)")
    parser.add_argument(
        "--people", nargs="+", metavar="NAME", help="export only these people (default: every visible person)"
    )
    parser.add_argument(
        "--mode",
        choices=("copy", "hardlink", "symlink"),
        default="copy",
        help="copy the photos, hard-link them (copied where linking is impossible, e.g. across "
        "drives) or make absolute symbolic links (default: %(default)s)",
    )
    add_catalog_option(parser)
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show progress on stderr (default: when stderr is a terminal)",
    )
    parser.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from ..catalog import open_catalog
    from ..export import ExportProgress, export_people
    from ..paths import default_catalog_path

    path = args.catalog if args.catalog is not None else default_catalog_path()
    if not os.path.isfile(path):
        raise FaceOrganizerError(f"no catalog at {path}; scan a folder first (faceorganizer scan PATH)")
    show = sys.stderr.isatty() if args.progress is None else args.progress

    def progress(p: ExportProgress) -> None:
        sys.stderr.write(f"\rexporting {p.done}/{p.total}")
        if p.done == p.total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    with open_catalog(path) as catalog:
        summary = export_people(
            catalog, args.out, people=args.people, mode=args.mode, progress=progress if show else None
        )
    names = ", ".join(name for name, _ in summary.people) or "nobody (no person has confirmed faces)"
    print(f"exported {len(summary.people)} people to {summary.out_dir} ({summary.mode}): {names}")
    print(
        f"  written: {summary.written}, unchanged: {summary.unchanged}, skipped: {len(summary.skipped)}, "
        f"errors: {len(summary.errors)}"
    )
    if summary.copied_instead:
        print(
            f"  copied instead of hard-linked (different drive or no link support): {summary.copied_instead}"
        )
    _section("skipped", summary.skipped)
    _section("errors", summary.errors)
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if summary.cancelled:
        print("export cancelled; export again to finish it")
    print(f"manifest: {summary.manifest}")
    return 1 if summary.errors or summary.cancelled else 0


def _section(title: str, rows: list[tuple[str, str]]) -> None:
    if not rows:
        return
    print(f"  {title}:")
    for path, reason in rows[:SHOWN]:
        print(f"    {path}: {reason}")
    if len(rows) > SHOWN:
        print(f"    ... and {len(rows) - SHOWN} more (see the manifest)")
