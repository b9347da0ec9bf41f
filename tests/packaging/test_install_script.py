"""packaging/linux/install.sh puts a build under a fake home's ~/.local and takes it away again."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "packaging" / "linux" / "install.sh"


def fake_build(folder: Path) -> Path:
    """A folder shaped like the PyInstaller output; its 'binary' echoes its arguments."""
    (folder / "_internal").mkdir(parents=True)
    binary = folder / "faceorganizer"
    binary.write_text('#!/bin/sh\necho "fake faceorganizer: $*"\n')
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    (folder / "_internal" / "payload.bin").write_bytes(b"\x00" * 1000)
    png = folder / "icons" / "48x48" / "faceorganizer.png"
    png.parent.mkdir(parents=True)
    png.write_bytes(b"\x89PNG fake")
    return folder


def run_install(home: Path, *args: str, xdg_data_home: Path | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    if xdg_data_home is not None:
        env["XDG_DATA_HOME"] = str(xdg_data_home)
    return subprocess.run(["bash", str(INSTALL), *args], env=env, capture_output=True, text=True, timeout=60)


def installed_files(home: Path) -> set[str]:
    return {str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and p.name != "mimeinfo.cache"}


@pytest.fixture()
def build(tmp_path) -> Path:
    return fake_build(tmp_path / "dist" / "faceorganizer")


def test_install_puts_everything_under_local(tmp_path, build):
    home = tmp_path / "home with space"
    home.mkdir()
    result = run_install(home, "--from", str(build))
    assert result.returncode == 0, result.stderr
    assert installed_files(home) == {
        ".local/opt/faceorganizer/faceorganizer",
        ".local/opt/faceorganizer/_internal/payload.bin",
        ".local/opt/faceorganizer/icons/48x48/faceorganizer.png",
        ".local/opt/faceorganizer/.faceorganizer-install",
        ".local/bin/faceorganizer",
        ".local/share/applications/faceorganizer.desktop",
        ".local/share/icons/hicolor/scalable/apps/faceorganizer.svg",
        ".local/share/icons/hicolor/48x48/apps/faceorganizer.png",
    }
    launcher = home / ".local/bin/faceorganizer"
    run = subprocess.run([str(launcher), "a b", "c"], capture_output=True, text=True, timeout=30)
    assert run.stdout == "fake faceorganizer: a b c\n"
    desktop = home / ".local/share/applications/faceorganizer.desktop"
    check = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    text = desktop.read_text()
    assert f'Exec="{launcher}"' in text  # absolute: ~/.local/bin is often not on a desktop session's PATH
    assert f"TryExec={launcher}\n" in text
    svg = home / ".local/share/icons/hicolor/scalable/apps/faceorganizer.svg"
    assert svg.read_bytes() == (REPO / "resources" / "icons" / "app.svg").read_bytes()


def test_xdg_data_home_is_honoured_and_uninstall_removes_everything(tmp_path, build):
    home, data = tmp_path / "home", tmp_path / "xdg-data"
    home.mkdir()
    assert run_install(home, "--from", str(build), xdg_data_home=data).returncode == 0
    assert (data / "applications" / "faceorganizer.desktop").is_file()
    assert (data / "icons/hicolor/scalable/apps/faceorganizer.svg").is_file()
    assert not (home / ".local/share/applications").exists()
    # Update in place: a second install replaces the app folder and keeps one copy.
    (build / "_internal" / "new.bin").write_bytes(b"new")
    assert run_install(home, "--from", str(build), xdg_data_home=data).returncode == 0
    assert (home / ".local/opt/faceorganizer/_internal/new.bin").read_bytes() == b"new"
    assert not list((home / ".local/opt").glob("faceorganizer.new.*"))
    # The user's catalog is not the installer's to remove.
    catalog = data / "faceorganizer" / "catalog.sqlite"
    catalog.parent.mkdir(parents=True)
    catalog.write_bytes(b"catalog")
    result = run_install(home, "--uninstall", xdg_data_home=data)
    assert result.returncode == 0, result.stderr
    assert installed_files(home) == set()
    assert installed_files(data) == {"faceorganizer/catalog.sqlite"}


def test_refuses_to_replace_a_folder_it_did_not_install(tmp_path, build):
    home = tmp_path / "home"
    foreign = home / ".local/opt/faceorganizer"
    foreign.mkdir(parents=True)
    (foreign / "precious.txt").write_text("mine")
    result = run_install(home, "--from", str(build))
    assert result.returncode != 0 and "not installed by install.sh" in result.stderr
    assert (foreign / "precious.txt").read_text() == "mine"
    assert run_install(home, "--uninstall").returncode == 0
    assert (foreign / "precious.txt").read_text() == "mine"


def test_missing_build_is_a_clear_error(tmp_path):
    result = run_install(tmp_path, "--from", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "no built app" in result.stderr and "packaging/build.sh" in result.stderr
