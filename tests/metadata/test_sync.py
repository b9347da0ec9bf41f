"""Catalog <-> metadata: write sidecars from a catalog, import other apps' tags into one."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from metadata_photos import exiftool_json, make_oriented_photo, reference_faces, sha256
from shared_data import shared_path

from faceorganizer.catalog import Catalog
from faceorganizer.cli import main
from faceorganizer.errors import PeopleError
from faceorganizer.metadata import Region, read_photo_tags, write_sidecar
from faceorganizer.metadata.sync import import_tags, write_sidecars

FACES = reference_faces("multiface.jpg")  # six faces, upright pixels of the 1200 x 630 picture


class Lib:
    """Photos under ``root`` and a catalog that knows them (rows as the scan writes them)."""

    def __init__(self, tmp_path: Path, name: str = "catalog.sqlite") -> None:
        self.root = tmp_path / "photos"
        self.root.mkdir(exist_ok=True)
        self.cat = Catalog(tmp_path / name)

    def photo(self, name: str, orientation: int, *, source: str = "multiface.jpg", status: str = "ok") -> int:
        path = self.root / name
        if not path.exists():
            make_oriented_photo(shared_path("images", "scenes", source), path, orientation)
        with self.cat.transaction():
            return self.cat.execute(
                "INSERT INTO photos(path, width, height, orientation, status) VALUES (?, 1200, 630, ?, ?)",
                (str(path), orientation, status),
            ).lastrowid

    def person(self, name: str, hidden: bool = False) -> int:
        with self.cat.transaction():
            return self.cat.execute(
                "INSERT INTO people(name, hidden, created_at) VALUES (?, ?, ?)",
                (name, int(hidden), time.time()),
            ).lastrowid

    def face(self, photo_id: int, box, person_id=None, assigned=None, ignored=False) -> int:
        with self.cat.transaction():
            return self.cat.execute(
                "INSERT INTO faces(photo_id, x1, y1, x2, y2, prob, person_id, assigned, ignored, created_at) "
                "VALUES (?, ?, ?, ?, ?, 0.99, ?, ?, ?, ?)",
                (photo_id, *box, person_id, assigned, int(ignored), time.time()),
            ).lastrowid

    def path(self, photo_id: int) -> Path:
        return Path(self.cat.scalar("SELECT path FROM photos WHERE id = ?", (photo_id,)))

    def names(self, photo_id: int) -> dict[int, tuple[str | None, str | None, str]]:
        """face id -> (person name, assigned, source)."""
        rows = self.cat.query(
            "SELECT f.id, pe.name, f.assigned, f.source FROM faces f "
            "LEFT JOIN people pe ON pe.id = f.person_id "
            "WHERE f.photo_id = ? ORDER BY f.id",
            (photo_id,),
        )
        return {r["id"]: (r["name"], r["assigned"], r["source"]) for r in rows}


@pytest.fixture
def named(tmp_path):
    """A catalog with a photo stored under orientation 6: Anna (user), Béla (auto), a suggestion,
    an ignored face, a hidden stranger, and one unnamed face."""
    lib = Lib(tmp_path)
    pid = lib.photo("group.jpg", 6)
    anna, bela, stranger = lib.person("Anna"), lib.person("Béla"), lib.person("Stranger", hidden=True)
    lib.face(pid, FACES[0], anna, "user")
    lib.face(pid, FACES[1], bela, "auto")
    lib.face(pid, FACES[2], anna, "suggested")
    lib.face(pid, FACES[3], bela, "user", ignored=True)
    lib.face(pid, FACES[4], stranger, "user")
    lib.face(pid, FACES[5])
    yield lib, pid
    lib.cat.close()


def test_write_sidecars_writes_confirmed_visible_people(named):
    lib, pid = named
    photo = lib.path(pid)
    before = sha256(photo)
    summary = write_sidecars(lib.cat)
    assert (summary.photos, summary.written, summary.unchanged, summary.regions) == (1, 1, 0, 2)
    assert summary.errors == [] and summary.sidecars == [photo.with_name("group.jpg.xmp")]
    tags = read_photo_tags(photo)
    assert [r.name for r in tags.regions] == ["Anna", "Béla"]
    for region, box in zip(tags.regions, FACES[:2]):
        assert region.box == pytest.approx(box, abs=1.0)
    [info] = exiftool_json(
        "-RegionName", "-RegionAppliedToDimensionsW", "-RegionAppliedToDimensionsH", str(summary.sidecars[0])
    )
    assert info["RegionName"] == ["Anna", "Béla"]
    assert (info["RegionAppliedToDimensionsW"], info["RegionAppliedToDimensionsH"]) == (630, 1200)  # stored
    again = write_sidecars(lib.cat)
    assert (again.written, again.unchanged) == (0, 1)
    assert sha256(photo) == before


def test_write_sidecars_for_chosen_people_keeps_the_others(named):
    lib, pid = named
    write_sidecars(lib.cat, style="base")
    with lib.cat.transaction():
        lib.cat.execute("UPDATE people SET name = 'Anna Maria' WHERE name = 'Anna'")
    summary = write_sidecars(lib.cat, people=["anna maria"], style="base")
    assert summary.regions == 1
    names = [r.name for r in read_photo_tags(lib.path(pid)).regions]
    assert names == ["Béla", "Anna Maria"]  # Béla not chosen: kept; Anna's old region replaced (same box)
    with pytest.raises(PeopleError, match="Nobody"):
        write_sidecars(lib.cat, people=["Nobody"])


def test_write_sidecars_reports_a_missing_photo_and_goes_on(named, tmp_path):
    lib, pid = named
    other = lib.photo("second.jpg", 1)
    lib.face(other, FACES[0], 1, "user")
    lib.path(pid).unlink()
    summary = write_sidecars(lib.cat)
    assert [p for p, _ in summary.errors] == [str(lib.path(pid))]
    assert "missing" in summary.errors[0][1]
    assert summary.written == 1 and (lib.root / "second.jpg.xmp").exists()


def test_round_trip_through_two_catalogs(named, tmp_path):
    """Names written from one catalog are imported into another that only detected the faces."""
    lib, pid = named
    write_sidecars(lib.cat)
    other = Lib(tmp_path, "other.sqlite")
    pid2 = other.photo("group.jpg", 6)
    jitter = [(x1 + 3, y1 - 2, x2 + 2, y2 + 3) for x1, y1, x2, y2 in FACES]  # another detector's boxes
    ids = [other.face(pid2, b) for b in jitter]
    summary = import_tags(other.cat)
    assert (summary.tagged, summary.regions, summary.matched, summary.created) == (1, 2, 2, 0)
    assert summary.people_created == ["Anna", "Béla"]
    assert summary.errors == [] and summary.conflicts == []
    names = other.names(pid2)
    assert names[ids[0]] == ("Anna", "user", "detected")
    assert names[ids[1]] == ("Béla", "user", "detected")
    assert all(names[i][0] is None for i in ids[2:])
    assert other.cat.can_undo() is not None
    again = import_tags(other.cat)
    assert (again.matched, again.created, again.unchanged, again.people_created) == (0, 0, 2, [])
    assert other.names(pid2) == names
    other.cat.close()


DIGIKAM = """<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
    xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#" xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#">
   <mwg-rs:Regions rdf:parseType="Resource">
    <mwg-rs:AppliedToDimensions stDim:w="1200" stDim:h="630" stDim:unit="pixel"/>
    <mwg-rs:RegionList><rdf:Bag>{items}</rdf:Bag></mwg-rs:RegionList>
   </mwg-rs:Regions>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def _sidecar(regions: dict[str, tuple[float, float, float, float]]) -> str:
    items = "".join(
        f'<rdf:li><rdf:Description mwg-rs:Name="{n}" mwg-rs:Type="Face">'
        f'<mwg-rs:Area stArea:x="{(x1 + x2) / 2400}" '
        f'stArea:y="{(y1 + y2) / 1260}" stArea:w="{(x2 - x1) / 1200}" stArea:h="{(y2 - y1) / 630}" '
        'stArea:unit="normalized"/></rdf:Description></rdf:li>'
        for n, (x1, y1, x2, y2) in regions.items()
    )
    return DIGIKAM.format(items=items)


def test_import_creates_faces_for_unmatched_boxes_and_keeps_user_decisions(tmp_path):
    lib = Lib(tmp_path)
    pid = lib.photo("a.jpg", 1)
    carl = lib.person("Carl")
    f0 = lib.face(pid, FACES[0], carl, "user")  # the user says Carl; the sidecar says Dora
    f1 = lib.face(pid, FACES[1], carl, "suggested")
    f2 = lib.face(pid, FACES[2], ignored=True)
    f3 = lib.face(pid, FACES[3])
    with lib.cat.transaction():
        lib.cat.execute("INSERT INTO people(name, created_at) VALUES ('Eve', 0)")
        eve = lib.cat.scalar("SELECT id FROM people WHERE name = 'Eve'")
        lib.cat.execute("INSERT INTO rejections(face_id, person_id, created_at) VALUES (?, ?, 0)", (f3, eve))
    photo = lib.path(pid)
    before = sha256(photo)
    no_face_box = (20.0, 20.0, 120.0, 150.0)
    (lib.root / "a.jpg.xmp").write_text(
        _sidecar({"Dora": FACES[0], "carl": FACES[1], "Finn": FACES[2], "Eve": FACES[3], "Gus": no_face_box}),
        encoding="utf-8",
    )
    summary = import_tags(lib.cat, [pid])
    assert (summary.regions, summary.matched, summary.created) == (5, 1, 1)
    assert len(summary.conflicts) == 3
    text = " ".join(c for _, c in summary.conflicts)
    assert "'Carl'" in text and "ignored" in text and "not 'Eve'" in text
    assert summary.people_created == ["Gus"]
    names = lib.names(pid)
    assert names[f0] == ("Carl", "user", "detected")
    assert names[f1] == ("Carl", "user", "detected")  # the suggestion confirmed by the tag
    assert names[f2][0] is None and names[f3][0] is None
    [new] = [fid for fid in names if fid not in (f0, f1, f2, f3)]
    assert names[new] == ("Gus", "user", "imported")
    box = lib.cat.query("SELECT x1, y1, x2, y2 FROM faces WHERE id = ?", (new,))[0]
    assert tuple(box.values()) == pytest.approx(no_face_box, abs=1e-6)
    again = import_tags(lib.cat, [pid])
    assert (again.matched, again.created, again.unchanged) == (0, 0, 2)
    assert sha256(photo) == before
    lib.cat.close()


def test_import_reads_picasa_and_reports_hostile_files(tmp_path):
    lib = Lib(tmp_path)
    good = lib.photo("IMG_1.jpg", 6)
    bad = lib.photo("IMG_2.jpg", 1)
    fgood = lib.face(good, FACES[0])
    lib.face(bad, FACES[0])
    # Picasa: stored frame of 630 x 1200 (orientation 6): upright (x', y') = (1200 - y, x)
    x1, y1, x2, y2 = FACES[0]
    left, top, right, bottom = y1 / 630, (1200 - x2) / 1200, y2 / 630, (1200 - x1) / 1200
    v = 0
    for f in (left, top, right, bottom):
        v = (v << 16) | round(f * 65535)
    (lib.root / ".picasa.ini").write_text(
        f"[IMG_1.jpg]\nfaces=rect64({v:x}),00000000000000ab\n", encoding="utf-8"
    )
    contacts = tmp_path / "contacts.xml"
    contacts.write_text(
        '<contacts><contact id="00000000000000ab" name="Hanna"/></contacts>', encoding="utf-8"
    )
    (lib.root / "IMG_2.jpg.xmp").write_text(_sidecar({"../escape": FACES[0]}), encoding="utf-8")
    summary = import_tags(lib.cat, contacts_xml=contacts)
    assert summary.matched == 1 and lib.names(good)[fgood][0] == "Hanna"
    assert len(summary.errors) == 1
    where, why = summary.errors[0]
    assert where == str(lib.path(bad)) and "path separator" in why and "IMG_2.jpg.xmp" in why
    assert all(n is None for n, _, _ in lib.names(bad).values())
    lib.cat.close()


def test_cli_write_and_import(named, tmp_path, capsys):
    lib, pid = named
    path = str(lib.cat.path)
    assert main(["xmp", "write", "--catalog", path]) == 0
    out = capsys.readouterr().out
    assert "written 1" in out and (lib.root / "group.jpg.xmp").exists()
    assert main(["xmp", "write", "--catalog", path, "--style", "base", "--people", "Béla"]) == 0
    assert [r.name for r in read_photo_tags(lib.path(pid), (630, 1200), 6).regions] == ["Anna", "Béla"]
    assert (lib.root / "group.xmp").exists()
    write_sidecar(lib.path(pid), [Region("Zed", FACES[5])], (630, 1200), 6)  # another app names face 6
    assert main(["xmp", "import", "--catalog", path]) == 0
    out = capsys.readouterr().out
    assert "named 1 detected face(s)" in out and "2 already so named" in out and "new people: Zed" in out
    assert lib.names(pid)[2] == ("Béla", "auto", "detected")  # our own auto decision stays automatic
    assert main(["xmp", "write", "--catalog", str(tmp_path / "nope.sqlite")]) == 1
    assert "no catalog" in capsys.readouterr().err


def test_unmatched_box_becomes_an_embedded_face_when_a_model_is_at_hand(tmp_path, fill_weights_file):
    lib = Lib(tmp_path)
    pid = lib.photo("m.jpg", 8)
    lib.cat.set_setting("model", str(fill_weights_file))  # the fill() Inception-ResNet-V1 weights
    (lib.root / "m.jpg.xmp").write_bytes(b"")  # an empty sidecar is malformed: refused
    summary = import_tags(lib.cat)
    assert "malformed" in summary.errors[0][1] and lib.names(pid) == {}
    (lib.root / "m.jpg.xmp").unlink()
    write_sidecar(lib.path(pid), [Region("Ida", FACES[2])], (630, 1200), 8)
    summary = import_tags(lib.cat)
    assert (summary.created, summary.embedding_unavailable, summary.errors) == (1, None, [])
    [face] = lib.cat.query("SELECT * FROM faces WHERE photo_id = ?", (pid,))
    assert (face["source"], face["assigned"]) == ("imported", "user")
    assert (face["x1"], face["y1"], face["x2"], face["y2"]) == pytest.approx(FACES[2], abs=0.01)
    assert face["thumbnail"] and face["landmarks"]
    [emb] = lib.cat.query("SELECT face_id, model, vector FROM embeddings")
    assert emb["face_id"] == face["id"] and len(emb["vector"]) > 0
    lib.cat.close()
