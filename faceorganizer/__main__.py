"""``faceorganizer`` / ``python -m faceorganizer``: the window, or the command line with a sub-command.

- ``faceorganizer`` opens the window on the user's catalog;
- ``faceorganizer --catalog FILE`` opens the window on that catalog;
- ``faceorganizer COMMAND ...`` runs the command line (``faceorganizer --help`` lists the commands).
"""

from __future__ import annotations

import sys


def window_catalog(args: list[str]) -> tuple[bool, str | None]:
    """Whether ``args`` ask for the window, and the catalog it should open (None: the default one)."""
    if not args:
        return True, None
    if len(args) == 2 and args[0] == "--catalog":
        return True, args[1]
    if len(args) == 1 and args[0].startswith("--catalog="):
        return True, args[0].split("=", 1)[1]
    return False, None


def run(argv: list[str] | None = None) -> int:
    """Open the main window, or run the command line when a sub-command is given."""
    args = sys.argv[1:] if argv is None else argv
    gui, catalog = window_catalog(args)
    if gui:
        from .ui.app import main as gui_main

        return gui_main(sys.argv[:1], catalog=catalog)
    from .cli import main

    return main(args)


if __name__ == "__main__":
    sys.exit(run())
