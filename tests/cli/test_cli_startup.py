"""The command line starts without importing torch: parsing and ``--help`` stay cheap."""

from __future__ import annotations

import subprocess
import sys

from cli_run import cli_env, faceorganizer

COMMANDS = (
    "scan", "people", "faces", "name", "merge", "move", "not", "cluster", "undo",
    "export", "xmp", "detect", "weights", "convert",
)


def test_building_the_parser_does_not_import_torch(tmp_path):
    code = "import sys, faceorganizer.cli; faceorganizer.cli.build_parser(); print('torch' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=cli_env(tmp_path / "home"),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_help_lists_every_command(tmp_path):
    done = faceorganizer("--help", home=tmp_path / "home", timeout=120)
    assert done.returncode == 0, done.stderr
    listed = {line.split()[0] for line in done.stdout.splitlines() if line[:4] == "    " and line.strip()}
    for name in COMMANDS:
        assert name in listed, f"{name} missing from faceorganizer --help:\n{done.stdout}"
