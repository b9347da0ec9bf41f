"""The ``faceorganizer`` command line: the window's headless twin.

Each module of this package that defines ``register(subparsers)`` adds one or more
sub-commands; the sub-command's ``func(args) -> int`` runs it.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from ..errors import FaceOrganizerError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="faceorganizer",
        description="Organize a photo library by the people in it: scan folders for faces, group "
        "them into people, name, merge and fix the groups, export per-person folders. "
        "Run with no arguments to open the window.",
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"faceorganizer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except FaceOrganizerError as e:
        print(f"faceorganizer: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("faceorganizer: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `faceorganizer faces | head`: the reader left, nothing to report
        _silence_stdout()
        return 0


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
