"""XMP sidecars: round trip on rotated photos, exiftool agreement, other apps' files, merging, hostile XML."""

from __future__ import annotations

import subprocess

import pytest
from metadata_photos import (
    exiftool_json,
    hand_upright_to_stored,
    make_oriented_photo,
    reference_faces,
    sha256,
)
from PIL import Image, ImageOps
from shared_data import shared_path

from faceorganizer.errors import FaceOrganizerError, MetadataError
from faceorganizer.metadata import (
    Region,
    embedded_xmp,
    read_photo_tags,
    read_sidecar,
    sidecar_path,
    write_sidecar,
)

NAMES = ["Ada Lovelace", "Béla Bartók", "Zoë", "Jean-Luc", "O'Brien & Sons", "李小龙"]


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """multiface.jpg stored under orientations 1, 3, 6 and 8 (same upright picture)."""
    folder = tmp_path_factory.mktemp("oriented")
    out = {}
    for o in (1, 3, 6, 8):
        path = folder / f"multi_o{o}.jpg"
        stored = make_oriented_photo(shared_path("images", "scenes", "multiface.jpg"), path, o)
        with Image.open(path) as im:
            assert ImageOps.exif_transpose(im).size == (1200, 630)  # the test photo is what it claims
        out[o] = (path, stored)
    return out


def _regions():
    return [Region(n, b) for n, b in zip(NAMES, reference_faces("multiface.jpg"))]


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_round_trip_within_one_pixel(photos, orientation, tmp_path):
    src, stored = photos[orientation]
    photo = tmp_path / src.name
    photo.write_bytes(src.read_bytes())
    before = sha256(photo)
    result = write_sidecar(photo, _regions(), stored, orientation)
    assert result.changed and result.path == tmp_path / (photo.name + ".xmp")
    tags = read_photo_tags(photo)  # size and orientation read from the photo itself
    assert tags.origin == result.path
    assert [r.name for r in tags.regions] == NAMES
    err = max(abs(a - b) for r, w in zip(tags.regions, _regions()) for a, b in zip(r.box, w.box))
    print(f"orientation {orientation}: round-trip max error {err:.2e} px")
    assert err <= 1.0
    assert err < 0.01  # six decimals of a 1200-pixel side
    assert sha256(photo) == before


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_exiftool_reads_the_same_boxes_and_names(photos, orientation, tmp_path):
    src, stored = photos[orientation]
    photo = tmp_path / src.name
    photo.write_bytes(src.read_bytes())
    sidecar = write_sidecar(photo, _regions(), stored, orientation).path
    [info] = exiftool_json("-struct", "-RegionInfo", "-RegionInfoMP", str(sidecar))
    [image] = exiftool_json("-ImageWidth", "-ImageHeight", "-Orientation#", str(photo))
    mwg = info["RegionInfo"]
    dims = mwg["AppliedToDimensions"]
    assert (dims["W"], dims["H"], dims["Unit"]) == (image["ImageWidth"], image["ImageHeight"], "pixel")
    assert image["Orientation"] == orientation
    w, h = dims["W"], dims["H"]
    mp = info["RegionInfoMP"]["Regions"]
    assert [r["Name"] for r in mwg["RegionList"]] == NAMES
    assert [r["Type"] for r in mwg["RegionList"]] == ["Face"] * len(NAMES)
    assert [r["PersonDisplayName"] for r in mp] == NAMES
    worst = 0.0
    for region, mp_region, (_, upright_box) in zip(
        mwg["RegionList"], mp, zip(NAMES, reference_faces("multiface.jpg"))
    ):
        expected = hand_upright_to_stored(upright_box, orientation, (w, h))
        a = region["Area"]
        assert a["Unit"] == "normalized"
        centre_box = ((a["X"] - a["W"] / 2) * w, (a["Y"] - a["H"] / 2) * h,
                      (a["X"] + a["W"] / 2) * w, (a["Y"] + a["H"] / 2) * h)  # fmt: skip
        x, y, rw, rh = (float(v) for v in mp_region["Rectangle"].split(","))
        corner_box = (x * w, y * h, (x + rw) * w, (y + rh) * h)
        for got in (centre_box, corner_box):
            worst = max(worst, *(abs(p - q) for p, q in zip(got, expected)))
    print(f"orientation {orientation}: exiftool vs catalog boxes, max difference {worst:.2e} px")
    assert worst < 0.01


def test_exiftool_reads_the_name_keywords(photos, tmp_path):
    src, stored = photos[6]
    photo = tmp_path / src.name
    photo.write_bytes(src.read_bytes())
    sidecar = write_sidecar(photo, _regions(), stored, 6).path
    [info] = exiftool_json(
        "-PersonInImage", "-HierarchicalSubject", "-Subject", "-XMP:Orientation#", str(sidecar)
    )
    assert info["PersonInImage"] == NAMES
    assert info["HierarchicalSubject"] == [f"People|{n}" for n in NAMES]
    assert info["Subject"] == NAMES
    assert info["Orientation"] == 6  # the sidecar agrees with the file (Immich #15549)


def test_base_style_sidecar(photos, tmp_path):
    src, stored = photos[3]
    photo = tmp_path / "p.jpg"
    photo.write_bytes(src.read_bytes())
    assert sidecar_path(photo, "base") == tmp_path / "p.xmp"
    result = write_sidecar(photo, _regions()[:1], stored, 3, style="base")
    assert result.path == tmp_path / "p.xmp" and not (tmp_path / "p.jpg.xmp").exists()
    assert read_photo_tags(photo).regions[0].name == NAMES[0]


# ------------------------------------------------------------------ other apps' sidecars
DIGIKAM = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:exif="http://ns.adobe.com/exif/1.0/"
    xmlns:tiff="http://ns.adobe.com/tiff/1.0/"
    xmlns:digiKam="http://www.digikam.org/ns/1.0/"
    xmlns:MP="http://ns.microsoft.com/photo/1.2/"
    xmlns:MPRI="http://ns.microsoft.com/photo/1.2/t/RegionInfo#"
    xmlns:MPReg="http://ns.microsoft.com/photo/1.2/t/Region#"
    xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
    xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#"
    xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
   tiff:Orientation="6"
   exif:PixelXDimension="{W}"
   exif:PixelYDimension="{H}">
   <digiKam:TagsList>
    <rdf:Seq>
     <rdf:li>People/Anna</rdf:li>
     <rdf:li>People/Béla</rdf:li>
    </rdf:Seq>
   </digiKam:TagsList>
   <MP:RegionInfo rdf:parseType="Resource">
    <MPRI:Regions>
     <rdf:Bag>
      {MP}
     </rdf:Bag>
    </MPRI:Regions>
   </MP:RegionInfo>
   <mwg-rs:Regions rdf:parseType="Resource">
    <mwg-rs:AppliedToDimensions stDim:w="{W}" stDim:h="{H}" stDim:unit="pixel"/>
    <mwg-rs:RegionList>
     <rdf:Bag>
      {MWG}
     </rdf:Bag>
    </mwg-rs:RegionList>
   </mwg-rs:Regions>
   <lr:hierarchicalSubject>
    <rdf:Bag>
     <rdf:li>People|Anna</rdf:li>
     <rdf:li>People|Béla</rdf:li>
    </rdf:Bag>
   </lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""

# Two faces in the stored frame of a 630 x 1200 grid (multiface under orientation 6),
# as normalised (left, top, width, height).
STORED_FACES = {"Anna": (0.1, 0.2, 0.15, 0.08), "Béla": (0.6, 0.7, 0.2, 0.1)}


def _digikam_sidecar(mwg=True, mp=True, w=630, h=1200, faces=STORED_FACES):
    mwg_items = "".join(
        f'<rdf:li><rdf:Description mwg-rs:Name="{n}" mwg-rs:Type="Face"><mwg-rs:Area stArea:x="{x + bw / 2}" '
        f'stArea:y="{y + bh / 2}" stArea:w="{bw}" stArea:h="{bh}" stArea:unit="normalized"/>'
        "</rdf:Description></rdf:li>"
        for n, (x, y, bw, bh) in faces.items()
    )
    mp_items = "".join(
        f'<rdf:li MPReg:PersonDisplayName="{n}" MPReg:Rectangle="{x}, {y}, {bw}, {bh}"/>'
        for n, (x, y, bw, bh) in faces.items()
    )
    return DIGIKAM.format(W=w, H=h, MWG=mwg_items if mwg else "", MP=mp_items if mp else "")


def _expected_upright_o6(w=630, h=1200, faces=STORED_FACES):
    # orientation 6: upright (x', y') = (h - y, x), written out by hand
    out = {}
    for n, (x, y, bw, bh) in faces.items():
        sx1, sy1, sx2, sy2 = x * w, y * h, (x + bw) * w, (y + bh) * h
        out[n] = (h - sy2, sx1, h - sy1, sx2)
    return out


@pytest.mark.parametrize("variant", ["mwg+mp", "mp only"])
def test_digikam_style_sidecar_is_imported(photos, tmp_path, variant):
    src, stored = photos[6]
    assert stored == (630, 1200)
    photo = tmp_path / "dk.jpg"
    photo.write_bytes(src.read_bytes())
    (tmp_path / "dk.jpg.xmp").write_text(_digikam_sidecar(mwg=variant == "mwg+mp"), encoding="utf-8")
    tags = read_photo_tags(photo)
    expected = _expected_upright_o6()
    assert [r.name for r in tags.regions] == list(expected)
    assert {r.source for r in tags.regions} == ({"mwg"} if variant == "mwg+mp" else {"mp"})
    for r in tags.regions:
        assert r.box == pytest.approx(expected[r.name], abs=1e-6)


def test_mwg_is_preferred_over_microsoft_regions(tmp_path):
    (tmp_path / "a.jpg.xmp").write_text(
        _digikam_sidecar().replace('MPReg:PersonDisplayName="Anna"', 'MPReg:PersonDisplayName="Other"'),
        encoding="utf-8",
    )
    regions = read_sidecar(tmp_path / "a.jpg.xmp", (630, 1200), 6)
    assert [r.name for r in regions] == ["Anna", "Béla"]


LIGHTROOM = """<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000 1.000000">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
    xmlns:stDim="http://ns.adobe.com/xap/1.0/sType/Dimensions#"
    xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"
   xmp:Rating="4"
   xmp:Label="Red"
   crs:Exposure2012="+0.35"
   photoshop:City="Szeged">
   <dc:title>
    <rdf:Alt>
     <rdf:li xml:lang="x-default">Picnic &amp; cake</rdf:li>
    </rdf:Alt>
   </dc:title>
   <dc:subject>
    <rdf:Bag>
     <rdf:li>Holiday</rdf:li>
     <rdf:li>Carla</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <lr:hierarchicalSubject>
    <rdf:Bag>
     <rdf:li>Places|Szeged</rdf:li>
     <rdf:li>People|Carla</rdf:li>
    </rdf:Bag>
   </lr:hierarchicalSubject>
   <mwg-rs:Regions rdf:parseType="Resource">
    <mwg-rs:AppliedToDimensions rdf:parseType="Resource">
     <stDim:h>630</stDim:h>
     <stDim:w>1200</stDim:w>
     <stDim:unit>pixel</stDim:unit>
    </mwg-rs:AppliedToDimensions>
    <mwg-rs:RegionList>
     <rdf:Bag>
      <rdf:li rdf:parseType="Resource">
       <mwg-rs:Area rdf:parseType="Resource">
        <stArea:h>0.2</stArea:h>
        <stArea:w>0.1</stArea:w>
        <stArea:x>0.25</stArea:x>
        <stArea:y>0.5</stArea:y>
        <stArea:unit>normalized</stArea:unit>
       </mwg-rs:Area>
       <mwg-rs:Name>Carla</mwg-rs:Name>
       <mwg-rs:Type>Face</mwg-rs:Type>
       <mwg-rs:Rotation>-0.02101</mwg-rs:Rotation>
      </rdf:li>
      <rdf:li rdf:parseType="Resource">
       <mwg-rs:Area rdf:parseType="Resource">
        <stArea:h>0.1</stArea:h>
        <stArea:w>0.1</stArea:w>
        <stArea:x>0.8</stArea:x>
        <stArea:y>0.8</stArea:y>
        <stArea:unit>normalized</stArea:unit>
       </mwg-rs:Area>
       <mwg-rs:Name>Rex</mwg-rs:Name>
       <mwg-rs:Type>Pet</mwg-rs:Type>
      </rdf:li>
     </rdf:Bag>
    </mwg-rs:RegionList>
   </mwg-rs:Regions>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def test_lightroom_style_sidecar_is_imported(photos, tmp_path):
    src, _ = photos[3]
    photo = tmp_path / "lr.jpg"
    photo.write_bytes(src.read_bytes())
    (tmp_path / "lr.xmp").write_text(LIGHTROOM, encoding="utf-8")
    tags = read_photo_tags(photo)
    # Face only (the Pet region is not a person); stored frame, then rotated 180 by hand:
    # stored box (0.2*1200, 0.4*630, 0.3*1200, 0.6*630) -> (1200 - x2, 630 - y2, 1200 - x1, 630 - y1)
    assert [r.name for r in tags.regions] == ["Carla"]
    assert tags.regions[0].box == pytest.approx((840.0, 252.0, 960.0, 378.0), abs=1e-6)


def test_regions_written_against_the_upright_picture_are_recognised(tmp_path):
    # A writer that measured the transposed picture says so by an upright AppliedToDimensions.
    sidecar = tmp_path / "u.jpg.xmp"
    sidecar.write_text(_digikam_sidecar(mwg=True, mp=False, w=1200, h=630), encoding="utf-8")
    [anna, _] = read_sidecar(sidecar, (630, 1200), 6)
    x, y, bw, bh = STORED_FACES["Anna"]
    assert anna.box == pytest.approx((x * 1200, y * 630, (x + bw) * 1200, (y + bh) * 630), abs=1e-6)


# --------------------------------------------------------------------------- merging
def test_merge_keeps_foreign_fields_and_is_idempotent(photos, tmp_path):
    src, stored = photos[1]
    photo = tmp_path / "lr.jpg"
    photo.write_bytes(src.read_bytes())
    before = sha256(photo)
    sidecar = tmp_path / "lr.jpg.xmp"
    sidecar.write_text(LIGHTROOM, encoding="utf-8")
    ours = _regions()[:2]
    first = write_sidecar(photo, ours, stored, 1)
    assert first.changed
    data = sidecar.read_bytes()
    second = write_sidecar(photo, ours, stored, 1)
    assert not second.changed and sidecar.read_bytes() == data  # byte-identical
    [info] = exiftool_json(
        "-struct", "-RegionInfo", "-Rating", "-Label", "-Exposure2012", "-City", "-Title", "-Subject",
        "-HierarchicalSubject", "-PersonInImage", "-Orientation#", str(sidecar),
    )  # fmt: skip
    assert (info["Rating"], info["Label"], info["Exposure2012"], info["City"]) == (
        4,
        "Red",
        "+0.35",
        "Szeged",
    )
    assert info["Title"] == "Picnic & cake"
    assert info["Subject"] == ["Holiday", "Carla", *NAMES[:2]]
    assert info["HierarchicalSubject"] == [
        "Places|Szeged",
        "People|Carla",
        *(f"People|{n}" for n in NAMES[:2]),
    ]
    assert info["PersonInImage"] == NAMES[:2]
    assert info["Orientation"] == 1
    regions = info["RegionInfo"]["RegionList"]
    assert [(r["Name"], r["Type"]) for r in regions] == [
        ("Carla", "Face"),
        ("Rex", "Pet"),
        (NAMES[0], "Face"),
        (NAMES[1], "Face"),
    ]
    assert regions[0]["Rotation"] == -0.02101
    # Catalog says Carla is ours and no longer on this photo; Ada was renamed (same box).
    renamed = [Region("Ada King", ours[0].box), ours[1]]
    write_sidecar(photo, renamed, stored, 1, managed_names=["Carla", NAMES[0]])
    [info] = exiftool_json(
        "-struct", "-RegionInfo", "-RegionInfoMP", "-Subject", "-HierarchicalSubject", str(sidecar)
    )
    assert [r["Name"] for r in info["RegionInfo"]["RegionList"]] == ["Rex", "Ada King", NAMES[1]]
    assert [r["PersonDisplayName"] for r in info["RegionInfoMP"]["Regions"]] == ["Ada King", NAMES[1]]
    assert info["Subject"] == ["Holiday", "Ada King", NAMES[1]]
    assert info["HierarchicalSubject"] == ["Places|Szeged", "People|Ada King", f"People|{NAMES[1]}"]
    assert sha256(photo) == before


def test_overlapping_foreign_face_is_replaced_and_others_kept(tmp_path):
    photo = tmp_path / "x.jpg"
    Image.new("RGB", (630, 1200)).save(photo)
    (tmp_path / "x.jpg.xmp").write_text(_digikam_sidecar(), encoding="utf-8")
    anna_upright = _expected_upright_o6()["Anna"]
    write_sidecar(photo, [Region("Anna Smith", anna_upright)], (630, 1200), 6)
    names = [r.name for r in read_sidecar(tmp_path / "x.jpg.xmp", (630, 1200), 6)]
    assert names == ["Béla", "Anna Smith"]
    # digiKam's own tag list is another app's field: kept as it was
    assert "People/Anna" in (tmp_path / "x.jpg.xmp").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- embedded
def test_embedded_packet_is_read_when_there_is_no_sidecar(tmp_path):
    photo = tmp_path / "emb.jpg"
    packet = _digikam_sidecar().encode("utf-8")
    Image.new("RGB", (630, 1200)).save(photo, xmp=packet, exif=_exif(6))
    assert embedded_xmp(photo).startswith(b"<x:xmpmeta")
    tags = read_photo_tags(photo)
    assert tags.origin == photo
    expected = _expected_upright_o6()
    assert [r.name for r in tags.regions] == list(expected)
    for r in tags.regions:
        assert r.box == pytest.approx(expected[r.name], abs=1e-6)


def _exif(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


# ------------------------------------------------------------------------- hostile files
BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject>&lol9;</dc:subject>
</rdf:Description></rdf:RDF></x:xmpmeta>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE x [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject>&secret;</dc:subject>
</rdf:Description></rdf:RDF></x:xmpmeta>
"""


def _one_face(name="Anna", box=(0.1, 0.2, 0.15, 0.08)):
    return _digikam_sidecar(faces={"Good": (0.5, 0.5, 0.1, 0.1), name: box})


HOSTILE = {
    "billion laughs": (BILLION_LAUGHS, "DTD"),
    "external entity": (EXTERNAL_ENTITY, "DTD"),
    "malformed": (_digikam_sidecar().replace("</rdf:RDF>", ""), "malformed XMP"),
    "box outside": (_one_face(box=(0.9, 0.2, 0.3, 0.08)), "outside the image"),
    "negative box": (_one_face(box=(-0.2, 0.2, 0.1, 0.08)), "outside the image"),
    "not a number": (_digikam_sidecar().replace('stArea:w="0.15"', 'stArea:w="nan"'), "not a finite number"),
    "slash": (_one_face(name="../../etc/passwd"), "path separator"),
    "backslash": (_one_face(name="a\\b"), "path separator"),
    "dot dot": (_one_face(name=".."), "path component"),
    "newline": (_one_face(name="Anna&#10;Smith"), "control character"),
    "escape": (_one_face(name="Anna&#x1b;"), "malformed XMP"),  # not even allowed in XML 1.0
    "nul": (_one_face(name="Anna&#0;"), "malformed XMP"),
    "tab in MP only": (
        _digikam_sidecar(mwg=True).replace(
            'MPReg:PersonDisplayName="Béla"', 'MPReg:PersonDisplayName="B&#9;é"'
        ),
        "control character",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_sidecar_is_refused_with_a_clear_message(case, tmp_path):
    text, problem = HOSTILE[case]
    photo = tmp_path / "h.jpg"
    Image.new("RGB", (630, 1200)).save(photo, exif=_exif(6))
    sidecar = tmp_path / "h.jpg.xmp"
    sidecar.write_text(text, encoding="utf-8")
    before = sidecar.read_bytes()
    with pytest.raises(MetadataError, match=problem) as err:
        read_photo_tags(photo)  # nothing comes back, not even the good region
    assert str(sidecar) in str(err.value)
    assert isinstance(err.value, FaceOrganizerError)
    # and writing never clobbers a sidecar it cannot read safely
    if case in ("billion laughs", "external entity", "malformed", "escape", "nul"):
        with pytest.raises(MetadataError, match=problem):
            write_sidecar(photo, [Region("Anna", (1, 1, 50, 50))], (630, 1200), 6)
        assert sidecar.read_bytes() == before


@pytest.mark.parametrize("name", ["a/b", "..", "x\x00y", "tab\there", "A|B"])
def test_unsafe_names_are_not_written(name, tmp_path):
    photo = tmp_path / "w.jpg"
    Image.new("RGB", (64, 64)).save(photo)
    with pytest.raises(MetadataError):
        write_sidecar(photo, [Region(name, (1, 1, 20, 20))], (64, 64), 1)
    assert not (tmp_path / "w.jpg.xmp").exists()


def test_merge_into_an_exiftool_sidecar_and_read_after_exiftool_edits(photos, tmp_path):
    src, stored = photos[8]
    photo = tmp_path / "et.jpg"
    photo.write_bytes(src.read_bytes())
    sidecar = tmp_path / "et.jpg.xmp"
    # exiftool writes one rdf:Description per namespace, with single-quoted attributes
    subprocess.run(
        ["exiftool", "-q", "-o", str(sidecar), "-XMP-xmp:Rating=3", "-XMP-dc:Subject=Foo",
         "-XMP-dc:Creator=Ann Photographer", str(photo)],
        check=True,
    )  # fmt: skip
    write_sidecar(photo, _regions()[:3], stored, 8)
    [info] = exiftool_json("-Rating", "-Subject", "-Creator", "-RegionName", str(sidecar))
    assert (info["Rating"], info["Creator"]) == (3, "Ann Photographer")
    assert info["Subject"] == ["Foo", *NAMES[:3]]
    assert info["RegionName"] == NAMES[:3]
    # exiftool rewrites our sidecar in its own layout; we still read the same boxes
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-XMP-xmp:Rating=5", str(sidecar)], check=True)
    regions = read_sidecar(sidecar, stored, 8)
    assert [r.name for r in regions] == NAMES[:3]
    for got, want in zip(regions, _regions()):
        assert got.box == pytest.approx(want.box, abs=0.01)
    again = write_sidecar(photo, _regions()[:3], stored, 8)
    assert exiftool_json("-Rating", str(again.path))[0]["Rating"] == 5
    assert not write_sidecar(photo, _regions()[:3], stored, 8).changed


def test_managed_names_compare_without_case(tmp_path):
    photo = tmp_path / "c.jpg"
    Image.new("RGB", (630, 1200)).save(photo)
    (tmp_path / "c.jpg.xmp").write_text(_digikam_sidecar(), encoding="utf-8")
    write_sidecar(photo, [Region("ANNA", (10, 10, 60, 60))], (630, 1200), 6, managed_names=["béla"])
    assert [r.name for r in read_sidecar(tmp_path / "c.jpg.xmp", (630, 1200), 6)] == ["ANNA"]
