"""Picasa's .picasa.ini faces and contacts.xml names."""

from __future__ import annotations

import pytest
from metadata_photos import make_oriented_photo, sha256
from PIL import Image
from shared_data import shared_path

from faceorganizer.errors import MetadataError
from faceorganizer.metadata import read_contacts_xml, read_photo_tags, read_picasa_ini
from faceorganizer.metadata.picasa import decode_rect64

ANNA, BELA, CARL, NOBODY = "1111111111111111", "b8e4117cf1d6615b", "00000000000000c3", "ffffffffffffffff"


def rect64(left, top, right, bottom) -> str:
    """Picasa's encoding, written from the format description: no leading zeros."""
    v = 0
    for f in (left, top, right, bottom):
        v = (v << 16) | round(f * 65535)
    return f"{v:x}"


def test_rect64_decoding_matches_the_format():
    assert decode_rect64("3f840000c3509f84") == pytest.approx(
        (0x3F84 / 65535, 0, 0xC350 / 65535, 0x9F84 / 65535)
    )
    assert decode_rect64("c3509f84") == pytest.approx((0, 0, 0xC350 / 65535, 0x9F84 / 65535))  # short form
    assert decode_rect64(rect64(0.25, 0.5, 0.75, 1.0)) == pytest.approx((0.25, 0.5, 0.75, 1.0), abs=1e-5)


@pytest.fixture
def album(tmp_path):
    """A folder as Picasa leaves it: a photo stored under orientation 6, .picasa.ini, contacts.xml."""
    photo = tmp_path / "IMG_0001.JPG"
    stored = make_oriented_photo(shared_path("images", "scenes", "multiface.jpg"), photo, 6)
    assert stored == (630, 1200)
    (tmp_path / ".picasa.ini").write_text(
        "[Picasa]\nname=Summer\n"
        f"[Contacts2]\n{ANNA}=Anna Kovács;anna@example.org;\n{BELA}=Béla;;\n"
        "[IMG_0001.JPG]\n"
        f"faces=rect64({rect64(0.1, 0.2, 0.25, 0.28)}),{ANNA};rect64({rect64(0.6, 0.7, 0.8, 0.8)}),{BELA};"
        f"rect64({rect64(0.3, 0.3, 0.4, 0.4)}),{NOBODY};rect64({rect64(0.5, 0.1, 0.6, 0.15)}),{CARL}\n"
        "backuphash=1234\n"
        "[other.jpg]\nfaces=rect64(0),ffffffffffffffff\n",
        encoding="utf-8",
    )
    (tmp_path / "contacts.xml").write_text(
        '<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n<contacts>\n'
        f' <contact id="{CARL}" name="Carl &amp; Co" display="Carl" modified_time="2011-01-01T00:00:00+00:00"'
        ' local_contact="1"/>\n'
        f' <contact id="{ANNA}" name="Someone Else"/>\n</contacts>\n',
        encoding="utf-8",
    )
    return tmp_path, photo


def test_picasa_faces_are_imported_upright(album):
    folder, photo = album
    before = sha256(photo)
    contacts = read_contacts_xml(folder / "contacts.xml")
    assert contacts == {CARL: "Carl & Co", ANNA: "Someone Else"}
    ini = read_picasa_ini(folder / ".picasa.ini")
    tags = read_photo_tags(photo, contacts=contacts)
    assert tags.origin == folder / ".picasa.ini"
    # unnamed (ffff...) skipped; [Contacts2] wins over contacts.xml for Anna; Carl from contacts.xml
    assert [r.name for r in tags.regions] == ["Anna Kovács", "Béla", "Carl & Co"]
    assert {r.source for r in tags.regions} == {"picasa"}
    assert ini.contacts[ANNA] == "Anna Kovács"
    # stored frame 630 x 1200, orientation 6: upright (x', y') = (1200 - y, x), by hand
    anna = tags.regions[0].box
    expected = (1200 - 0.28 * 1200, 0.1 * 630, 1200 - 0.2 * 1200, 0.25 * 630)
    assert anna == pytest.approx(expected, abs=0.05)  # 16-bit fractions: < 0.02 px here
    assert sha256(photo) == before


def test_raw_files_are_measured_on_the_rotated_picture(tmp_path):
    (tmp_path / ".picasa.ini").write_text(
        f"[Contacts2]\n{ANNA}=Anna;;\n[raw.nef]\nfaces=rect64({rect64(0.1, 0.2, 0.3, 0.4)}),{ANNA}\n",
        encoding="utf-8",
    )
    (tmp_path / "raw.nef").write_bytes(b"II*\x00 a raw file")
    tags = read_photo_tags(tmp_path / "raw.nef", (600, 400), 6)
    assert tags.regions[0].box == pytest.approx((0.1 * 400, 0.2 * 600, 0.3 * 400, 0.4 * 600), abs=0.05)


@pytest.mark.parametrize(
    ("ini", "problem"),
    [
        (
            f"[Contacts2]\n{ANNA}=../../evil;;\n[a.jpg]\nfaces=rect64(10001000200020),{ANNA}\n",
            "path separator",
        ),
        (
            f"[Contacts2]\n{ANNA}=Anna\x1b[31m;;\n[a.jpg]\nfaces=rect64(10001000200020),{ANNA}\n",
            "control character",
        ),
        (f"[Contacts2]\n{ANNA}=..;;\n", "path component"),
        (f"[Contacts2]\n{ANNA}=Anna;;\n[a.jpg]\nfaces=rect64(zz),{ANNA}\n", "malformed faces entry"),
        (
            f"[Contacts2]\n{ANNA}=Anna;;\n[a.jpg]\nfaces=rect64({rect64(0.5, 0.5, 0.2, 0.9)}),{ANNA}\n",
            "empty or inverted",
        ),
        (f"[Contacts2]\n{ANNA}=An\x00na;;\n", "NUL"),
    ],
)
def test_hostile_picasa_files_are_refused(tmp_path, ini, problem):
    photo = tmp_path / "a.jpg"
    Image.new("RGB", (64, 48)).save(photo)
    (tmp_path / ".picasa.ini").write_text(ini, encoding="utf-8")
    with pytest.raises(MetadataError, match=problem) as err:
        read_photo_tags(photo)
    assert ".picasa.ini" in str(err.value)


@pytest.mark.parametrize(
    ("xml", "problem"),
    [
        (
            '<!DOCTYPE c [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
            '<contacts><contact id="1" name="&b;"/></contacts>',
            "refused",
        ),
        ('<contacts><contact id="1" name="x"></contacts>', "malformed"),
        ('<contacts><contact id="1" name="a/b"/></contacts>', "path separator"),
    ],
)
def test_hostile_contacts_files_are_refused(tmp_path, xml, problem):
    path = tmp_path / "contacts.xml"
    path.write_text(xml, encoding="utf-8")
    with pytest.raises(MetadataError, match=problem) as err:
        read_contacts_xml(path)
    assert str(path) in str(err.value)
