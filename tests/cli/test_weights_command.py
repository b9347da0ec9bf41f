"""``faceorganizer weights`` driven as a user would, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys

from shared_data import shared_path


def run(*args: str, env_home) -> subprocess.CompletedProcess:
    env = dict(os.environ, FACEORGANIZER_CACHE=str(env_home), FACEORGANIZER_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "faceorganizer", "weights", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_list_import_verify_cycle(tmp_path, fill_weights_file):
    home = tmp_path / "home"
    listed = run("list", env_home=home)
    assert listed.returncode == 0
    for name in ("vggface2", "casia-webface", "pnet", "rnet", "onet"):
        assert name in listed.stdout
    assert "0.9965" in listed.stdout and "not downloaded" in listed.stdout

    mtcnn = [str(shared_path("weights", "mtcnn", f"{n}.pt")) for n in ("pnet", "rnet", "onet")]
    imported = run("import", *mtcnn, env_home=home)
    assert imported.returncode == 0, imported.stderr
    assert sorted(p.name for p in home.glob("*.pt")) == ["onet.pt", "pnet.pt", "rnet.pt"]

    # an Inception-ResNet-V1 file saved under another name needs --name
    unnamed = run("import", str(fill_weights_file), env_home=home)
    assert unnamed.returncode == 1 and "--name" in unnamed.stderr
    named = run("import", "--name", "vggface2", str(fill_weights_file), env_home=home)
    assert named.returncode == 0, named.stderr
    assert (home / "20180402-114759-vggface2.pt").is_file()

    verified = run("verify", env_home=home)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.count("OK") == 5  # + the offline model, found in its package
    assert "OK      dlib-resnet-v1" in verified.stdout

    # corrupt one file: verify fails and names it
    (home / "rnet.pt").write_bytes((home / "rnet.pt").read_bytes()[:-1] + b"\x00")
    broken = run("verify", env_home=home)
    assert broken.returncode == 1
    assert "FAILED  rnet" in broken.stdout and "sha256" in broken.stdout


def test_import_refuses_wrong_architecture(tmp_path):
    home = tmp_path / "home"
    pnet = shared_path("weights", "mtcnn", "pnet.pt")
    result = run("import", "--name", "casia-webface", str(pnet), env_home=home)
    assert result.returncode == 1
    assert "does not fit" in result.stderr
    assert not list(home.glob("*.pt"))


def test_download_offline_explains_where_to_put_the_file(tmp_path):
    result = run("download", "vggface2", env_home=tmp_path / "home")
    assert result.returncode == 1
    assert "20180402-114759-vggface2.pt" in result.stderr
    assert "releases/download/v2.2.9" in result.stderr
