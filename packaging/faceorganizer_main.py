"""Entry script of the frozen app (PyInstaller): the same ``run()`` as the ``faceorganizer`` entry point.

No arguments open the window; arguments run the command line (``faceorganizer --help``).
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a spawned worker process re-enters here on Windows/macOS
    from faceorganizer.__main__ import run

    sys.exit(run())
