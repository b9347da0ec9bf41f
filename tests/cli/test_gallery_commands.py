"""``torchface enroll``, ``identify`` and ``gallery list|remove`` on the ten people of lfw_sample."""

from __future__ import annotations

import json
import signal
import sqlite3

import pytest
from cli_run import in_process, mtcnn_args, torchface
from conftest import shared_path

from torchface.cli import main

ENROLLED_PER_PERSON = 2


def _people():
    root = shared_path("images", "lfw_sample")
    return sorted(p.name for p in root.iterdir() if p.is_dir())


def _photos(person):
    return sorted(shared_path("images", "lfw_sample", person).glob("*.jpg"))


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory, fill_weights_file):
    """The ten people of lfw_sample enrolled with their first two photos (one command)."""
    tmp = tmp_path_factory.mktemp("gallery")
    people = tmp / "people"
    for person in _people():
        (people / person).mkdir(parents=True)
        for src in _photos(person)[:ENROLLED_PER_PERSON]:
            (people / person / src.name).symlink_to(src)
    gallery = tmp / "people.sqlite"
    home = tmp / "home"
    opts = ["--gallery", gallery, "--weights", fill_weights_file, *mtcnn_args(), "--workers", "0"]
    out = torchface("enroll", *opts, "--folders", people, "--batch-size", "4", home=home)
    assert out.returncode == 0, out.stderr
    for person in _people():
        assert f"enrolled {ENROLLED_PER_PERSON} faces of '{person}'" in out.stdout
    return {"gallery": gallery, "home": home, "opts": opts}


def _identify(enrolled, *args):
    out = torchface("identify", *enrolled["opts"], "--json", *args, home=enrolled["home"])
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_gallery_list_shows_the_ten_people(enrolled, capsys):
    out = torchface("gallery", "list", "--gallery", enrolled["gallery"], "--json", home=enrolled["home"])
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [(i["name"], i["faces"]) for i in data["identities"]] == [
        (p, ENROLLED_PER_PERSON) for p in _people()
    ]
    (model,) = data["models"]
    assert model["name"].startswith("file:irv1_fill_vggface2.pt@") and model["dim"] == 512
    assert "fixed_image_standardization" in model["preprocessing"]
    text = in_process("gallery", "list", "--gallery", enrolled["gallery"], capsys=capsys)
    assert "10 identities, 20 faces" in text.stdout and "Tony_Blair" in text.stdout


def test_an_enrolled_photo_finds_itself_at_distance_zero_with_ordered_top_k(enrolled):
    photos = [_photos(p)[1] for p in _people()[:3]]
    data = _identify(enrolled, "--top-k", "4", *photos)
    assert data["threshold"] == 1.1
    for person, image in zip(_people()[:3], data["images"]):
        (face,) = image["faces"]
        assert face["identity"] == person
        assert face["distance"] < 1e-4
        assert face["matches"][0]["source"].endswith(_photos(person)[1].name)
        d = [m["distance"] for m in face["matches"]]
        assert len(d) == 4 and d == sorted(d) and len({m["name"] for m in face["matches"]}) == 4


def test_unknown_beyond_the_threshold(enrolled, capsys):
    known = _photos("Hugo_Chavez")[0]  # enrolled
    new_photo = _photos("Hugo_Chavez")[5]  # not enrolled
    data = _identify(enrolled, "--threshold", "0.001", known, new_photo)
    first, second = (image["faces"][0] for image in data["images"])
    assert first["identity"] == "Hugo_Chavez" and first["distance"] < 1e-4
    assert second["identity"] == "unknown"
    assert second["matches"][0]["distance"] > 0.001  # the closest is still listed
    assert data["threshold"] == 0.001
    text = in_process("identify", *enrolled["opts"], "--threshold", "0.001", new_photo, capsys=capsys)
    assert text.returncode == 0, text.stderr
    assert "unknown (closest at" in text.stdout and "> 0.00" in text.stdout


def test_identify_refuses_faces_of_another_model(enrolled, tmp_path, fill_weights_file):
    other = tmp_path / "other_weights.pt"
    other.write_bytes(fill_weights_file.read_bytes())
    out = torchface(
        "identify",
        "--gallery",
        enrolled["gallery"],
        "--weights",
        other,
        *mtcnn_args(),
        _photos("Tony_Blair")[0],
        home=enrolled["home"],
    )
    assert out.returncode == 1
    assert "no faces embedded with model 'file:other_weights.pt@" in out.stderr


def test_rerun_skips_enrolled_images_and_remove_deletes(enrolled, tmp_path, capsys):
    g = tmp_path / "copy.sqlite"
    g.write_bytes(enrolled["gallery"].read_bytes())
    opts = ["--gallery", g, *enrolled["opts"][2:]]
    again = in_process("enroll", *opts, "Tony_Blair", *_photos("Tony_Blair")[:3], capsys=capsys)
    assert again.returncode == 0, again.stderr
    assert "2 images of Tony_Blair already enrolled" in again.stderr
    assert "enrolled 1 faces" in again.stdout
    removed = torchface("gallery", "remove", "--gallery", g, "Tony_Blair", home=enrolled["home"])
    assert removed.returncode == 0 and "removed 3 faces" in removed.stdout
    assert main(["gallery", "remove", "--gallery", str(g), "Tony_Blair"]) == 1
    assert "not in" in capsys.readouterr().err
    listed = json.loads(in_process("gallery", "list", "--gallery", g, "--json", capsys=capsys).stdout)
    assert "Tony_Blair" not in [i["name"] for i in listed["identities"]]
    assert len(listed["identities"]) == 9


def test_enroll_killed_midway_keeps_committed_faces_and_rerun_finishes(tmp_path, fill_weights_file, capsys):
    g = tmp_path / "g.sqlite"
    opts = [
        "--gallery",
        g,
        "--weights",
        fill_weights_file,
        *mtcnn_args(),
        "--workers",
        "0",
        "--batch-size",
        "2",
    ]
    photos = _photos("Gerhard_Schroeder")[:5]
    killed = torchface(
        "enroll", *opts, "Gerhard", *photos, home=tmp_path / "h", TORCHFACE_TEST_KILL_AFTER="1"
    )
    assert killed.returncode == -signal.SIGKILL
    con = sqlite3.connect(g)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT COUNT(*) FROM faces").fetchone()[0] == 2  # first commit only
    con.close()
    rerun = in_process("enroll", *opts, "Gerhard", *photos, capsys=capsys)
    assert rerun.returncode == 0, rerun.stderr
    assert "2 images of Gerhard already enrolled" in rerun.stderr
    con = sqlite3.connect(g)
    sources = [r[0] for r in con.execute("SELECT source FROM faces")]
    assert len(sources) == 5 and len(set(sources)) == 5


def test_identify_without_a_gallery_and_bad_names(tmp_path, capsys):
    images = str(shared_path("images", "aligned"))
    assert main(["identify", "--gallery", str(tmp_path / "none.sqlite"), images]) == 1
    assert "no gallery at" in capsys.readouterr().err
    assert main(["enroll", "--gallery", str(tmp_path / "g.sqlite"), "unknown", images]) == 1
    assert "reserved" in capsys.readouterr().err
    assert main(["enroll", "--gallery", str(tmp_path / "g.sqlite"), "ada"]) == 1
    assert "at least one IMG" in capsys.readouterr().err
