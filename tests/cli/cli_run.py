"""Run the ``faceorganizer`` console command in a subprocess, as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from shared_data import shared_path


def command() -> list[str]:
    """The installed console script beside this Python, else ``python -m faceorganizer``."""
    script = Path(sys.executable).with_name("faceorganizer")
    return [str(script)] if script.exists() else [sys.executable, "-m", "faceorganizer"]


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment with isolated caches, offline, plus ``extra``."""
    env = dict(os.environ)
    env.update(FACEORGANIZER_CACHE=str(home), TORCH_HOME=str(home / "torch"), FACEORGANIZER_OFFLINE="1")
    env.update(extra)
    return env


def faceorganizer(*args, home: Path, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess:
    """Run ``faceorganizer *args``; returns the completed process (text output)."""
    return subprocess.run(
        [*command(), *map(str, args)],
        capture_output=True,
        text=True,
        env=cli_env(home, **extra),
        timeout=timeout,
    )


def in_process(*args, capsys) -> subprocess.CompletedProcess:
    """Run ``faceorganizer *args`` through ``faceorganizer.cli.main`` in this process.

    For a test's repeat runs of a command it already ran as a subprocess: same arguments, same
    exit status and output, without another interpreter start and torch import.
    """
    from faceorganizer.cli import main

    capsys.readouterr()
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return subprocess.CompletedProcess(["faceorganizer", *map(str, args)], code, out.out, out.err)


def mtcnn_args() -> list[str]:
    return ["--mtcnn-weights", str(shared_path("weights", "mtcnn"))]


def make_bad_folder(folder: Path, good: list[Path]) -> list[Path]:
    """A folder with good images, a truncated JPEG, a zero-byte file and text named .jpg."""
    folder.mkdir(parents=True, exist_ok=True)
    for g in good:
        shutil.copyfile(g, folder / g.name)
    data = shared_path("images", "scenes", "paul_rudd.jpg").read_bytes()
    bad = [folder / "truncated.jpg", folder / "zero_bytes.jpg", folder / "notes.jpg"]
    bad[0].write_bytes(data[: len(data) // 4])
    bad[1].write_bytes(b"")
    bad[2].write_text("this is a text file, not a photo\n")
    return bad
