"""``faceorganizer`` / ``python -m faceorganizer``: the window with no arguments, else the command line."""

from __future__ import annotations

import sys


def run(argv: list[str] | None = None) -> int:
    """Open the main window when no arguments are given; otherwise run the command line."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        from .ui.app import main as gui_main

        return gui_main()
    from .cli import main

    return main(args)


if __name__ == "__main__":
    sys.exit(run())
