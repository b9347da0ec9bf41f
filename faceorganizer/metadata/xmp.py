"""XMP face regions: write and merge sidecars, read sidecars and packets embedded in JPEGs.

What is written (ANCHORS §5):

* **MWG regions** (``mwg-rs:Regions``): ``AppliedToDimensions`` is the *stored* (un-rotated)
  pixel size; each region has ``Type=Face``, ``Name`` and an ``stArea`` box whose ``x, y`` is
  the centre, normalised to the stored frame (Immich, LibrePhotos and ExifTool's
  ``rotate_regions.config`` read it that way).
* **Microsoft People regions** (``MP:RegionInfo/MPRI:Regions``): ``MPReg:Rectangle`` =
  ``"x, y, w, h"`` with ``x, y`` the top-left corner, normalised to the same stored frame
  (digiKam writes both sets in one frame), and ``MPReg:PersonDisplayName``.
* **Names**: ``Iptc4xmpExt:PersonInImage``, ``lr:hierarchicalSubject`` ``People|<name>``
  and ``dc:subject``. ``tiff:Orientation`` is added when the sidecar has none, so readers that
  prefer the sidecar's orientation agree with the file (Immich #15549).

Merging: an existing sidecar is parsed (safely) and rewritten with every other property,
namespace and keyword kept. A previous **Face** region is replaced when its name is one we
manage (the names written now plus ``managed_names``; the catalog sync passes the people it
writes) or when its box overlaps one of ours at IoU >= 0.5 (the same face under an older name);
names compare without regard to case, as the catalog's do. Other Face regions and all non-Face
regions (Pet, Focus, BarCode) stay, before ours. The same rule
applies to Microsoft regions and to the name keywords. Writing the same regions again gives
byte-identical output, and an unchanged sidecar is not rewritten at all. Kept regions keep their
normalised areas while ``AppliedToDimensions`` becomes the stored size, so a foreign region that
was measured on the upright picture (see below) would be read in the stored frame afterwards.

Reading: MWG regions are read first; Microsoft regions only when a file has no named MWG Face
regions (digiKam's and ExifToolGui's rule). Areas are taken in the stored frame and turned
upright with the photo's orientation; when ``AppliedToDimensions`` has the aspect of the
*upright* image instead (a writer that measured the transposed picture), the areas are taken in
the upright frame. Lightroom's ``mwg-rs:Rotation`` (the face's roll angle) does not move the
box and is ignored; point and circle regions and unnamed regions are skipped. Parsing uses
``defusedxml`` with DTDs forbidden: malformed XML, entity tricks, external references, boxes
outside the image and unsafe names raise :class:`~faceorganizer.errors.MetadataError`, and
nothing from that file is used.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET  # noqa: S405 - only for building and serialising trees
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as SafeET

from .._atomic import atomic_write_bytes
from ..errors import MetadataError
from .orientation import stored_to_upright, upright_size, upright_to_stored
from .region import Box, Region, check_name, check_normalized_box, iou, parse_number

NS: dict[str, str] = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "mwg-rs": "http://www.metadataworkinggroup.com/schemas/regions/",
    "stArea": "http://ns.adobe.com/xmp/sType/Area#",
    "stDim": "http://ns.adobe.com/xap/1.0/sType/Dimensions#",
    "MP": "http://ns.microsoft.com/photo/1.2/",
    "MPRI": "http://ns.microsoft.com/photo/1.2/t/RegionInfo#",
    "MPReg": "http://ns.microsoft.com/photo/1.2/t/Region#",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "tiff": "http://ns.adobe.com/tiff/1.0/",
}
_XML_NS = "http://www.w3.org/XML/1998/namespace"

#: Largest XMP document read (sidecar or embedded packet).
MAX_XMP_BYTES = 16 * 1024 * 1024

#: IoU above which an old Face region is taken to be the same face as one we write.
MERGE_IOU = 0.5

_XPACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_XPACKET_END = '<?xpacket end="w"?>\n'
_APP1_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_XMLNS = re.compile(rb'xmlns:([A-Za-z_][\w.\-]*)\s*=\s*["\']([^"\']*)["\']')


def _q(prefix: str, local: str) -> str:
    return f"{{{NS[prefix]}}}{local}"


_RDF_DESC = _q("rdf", "Description")
_RDF_LI = _q("rdf", "li")
_RDF_PARSE = _q("rdf", "parseType")
_LIST_TAGS = {_q("rdf", "Bag"), _q("rdf", "Seq"), _q("rdf", "Alt")}
_REGIONS = _q("mwg-rs", "Regions")
_MP_INFO = _q("MP", "RegionInfo")
_PERSON = _q("Iptc4xmpExt", "PersonInImage")
_HIER = _q("lr", "hierarchicalSubject")
_SUBJECT = _q("dc", "subject")
_ORIENT = _q("tiff", "Orientation")
_MANAGED = (_REGIONS, _MP_INFO, _PERSON, _HIER, _SUBJECT)


def sidecar_path(image_path: str | os.PathLike[str], style: str = "ext") -> Path:
    """The sidecar of ``image_path``: ``photo.jpg.xmp`` (style ``"ext"``) or ``photo.xmp`` (``"base"``)."""
    p = Path(image_path)
    if style == "ext":
        return p.with_name(p.name + ".xmp")
    if style == "base":
        return p.with_suffix(".xmp")
    raise ValueError(f"sidecar style must be 'ext' or 'base', not {style!r}")


def find_sidecar(image_path: str | os.PathLike[str]) -> Path | None:
    """The existing sidecar of ``image_path`` (``photo.jpg.xmp`` first, then ``photo.xmp``), if any."""
    p = Path(image_path)
    for name in (p.name + ".xmp", p.name + ".XMP", p.stem + ".xmp", p.stem + ".XMP"):
        candidate = p.with_name(name)
        if candidate.is_file():
            return candidate
    return None


# ------------------------------------------------------------------------------ parsing
def parse_xmp(data: bytes, origin: str) -> ET.Element:
    """Parse an XMP document safely (no DTD, no entities, no external references).

    Raises:
        MetadataError: naming ``origin`` and the problem.
    """
    if len(data) > MAX_XMP_BYTES:
        raise MetadataError(f"{origin}: XMP is {len(data)} bytes, more than the {MAX_XMP_BYTES} accepted")
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden:
        raise MetadataError(f"{origin}: XMP declares a DTD (refused: entity expansion risk)") from None
    except defusedxml.EntitiesForbidden:
        raise MetadataError(f"{origin}: XMP declares entities (refused: entity expansion risk)") from None
    except defusedxml.ExternalReferenceForbidden:
        raise MetadataError(f"{origin}: XMP refers to an external resource (refused)") from None
    except defusedxml.DefusedXmlException as e:
        raise MetadataError(f"{origin}: XMP refused by the safe parser ({e})") from None
    except ET.ParseError as e:
        raise MetadataError(f"{origin}: malformed XMP ({e})") from None


def _descriptions(root: ET.Element) -> list[ET.Element]:
    rdf = root if root.tag == _q("rdf", "RDF") else root.find(_q("rdf", "RDF"))
    if rdf is None:
        rdf = next(root.iter(_q("rdf", "RDF")), None)
    return [] if rdf is None else [d for d in rdf if d.tag == _RDF_DESC]


def _fields(node: ET.Element) -> dict[str, ET.Element | str]:
    """The fields of an RDF struct, whichever of the three RDF forms it was written in."""
    out: dict[str, ET.Element | str] = {}
    for target in [node, *(c for c in node if c.tag == _RDF_DESC)]:
        for key, value in target.attrib.items():
            if not key.startswith("{" + NS["rdf"]):
                out[key] = value
        for child in target:
            if child.tag != _RDF_DESC:
                out[child.tag] = child
    return out


def _text(value: ET.Element | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    items = _items(value)
    if items:  # a language alternative: the first entry
        return (items[0].text or "").strip()
    return (value.text or "").strip()


def _items(value: ET.Element | str | None) -> list[ET.Element]:
    if value is None or isinstance(value, str):
        return []
    for container in value:
        if container.tag in _LIST_TAGS:
            return [li for li in container if li.tag == _RDF_LI]
    return []


def _item_texts(value: ET.Element | str | None) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    return [(li.text or "").strip() for li in _items(value) if (li.text or "").strip()]


@dataclass(frozen=True)
class _RawRegion:
    """A region as found in a file: normalised box in the file's frame (``upright`` tells which)."""

    name: str | None
    box: Box
    kind: str
    upright: bool


def _mwg_raw(
    desc_fields: dict, stored_size: Sequence[int], orientation: int, origin: str
) -> list[_RawRegion]:
    regions = desc_fields.get(_REGIONS)
    if not isinstance(regions, ET.Element):
        return []
    rfields = _fields(regions)
    upright_frame = False
    dims = rfields.get(_q("mwg-rs", "AppliedToDimensions"))
    if isinstance(dims, ET.Element):
        dfields = _fields(dims)
        dw, dh = _text(dfields.get(_q("stDim", "w"))), _text(dfields.get(_q("stDim", "h")))
        if dw and dh:
            w = parse_number(dw, "AppliedToDimensions width", origin)
            h = parse_number(dh, "AppliedToDimensions height", origin)
            if w <= 0 or h <= 0:
                raise MetadataError(f"{origin}: AppliedToDimensions {dw} x {dh} is not an image size")
            upright_frame = _looks_upright(w / h, stored_size, orientation)
    out = []
    for li in _items(rfields.get(_q("mwg-rs", "RegionList"))):
        f = _fields(li)
        kind = _text(f.get(_q("mwg-rs", "Type"))) or "Face"
        name = _text(f.get(_q("mwg-rs", "Name")))
        area = f.get(_q("mwg-rs", "Area"))
        if not isinstance(area, ET.Element):
            continue
        a = _fields(area)
        unit = (_text(a.get(_q("stArea", "unit"))) or "normalized").strip()
        if a.get(_q("stArea", "w")) is None or a.get(_q("stArea", "h")) is None:
            continue  # a point or a circle: no box to match a face with
        label = name or "an unnamed region"
        if unit != "normalized":
            raise MetadataError(f"{origin}: the region of {label!r} has area unit {unit!r}, not 'normalized'")
        x = parse_number(_text(a.get(_q("stArea", "x"))), "stArea:x", origin)
        y = parse_number(_text(a.get(_q("stArea", "y"))), "stArea:y", origin)
        w = parse_number(_text(a.get(_q("stArea", "w"))), "stArea:w", origin)
        h = parse_number(_text(a.get(_q("stArea", "h"))), "stArea:h", origin)
        box = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
        out.append(_RawRegion(name, box, kind, upright_frame))
    return out


def _mp_raw(desc_fields: dict, origin: str) -> list[_RawRegion]:
    info = desc_fields.get(_MP_INFO)
    if not isinstance(info, ET.Element):
        return []
    out = []
    for li in _items(_fields(info).get(_q("MPRI", "Regions"))):
        f = _fields(li)
        rect = _text(f.get(_q("MPReg", "Rectangle")))
        name = _text(f.get(_q("MPReg", "PersonDisplayName")))
        if rect is None:
            continue
        parts = [p for p in rect.replace(";", ",").split(",")]
        if len(parts) != 4:
            raise MetadataError(f"{origin}: MPReg:Rectangle {rect!r} does not hold four numbers")
        x, y, w, h = (parse_number(p, "MPReg:Rectangle", origin) for p in parts)
        out.append(_RawRegion(name, (x, y, x + w, y + h), "Face", False))
    return out


def _looks_upright(dims_aspect: float, stored_size: Sequence[int], orientation: int) -> bool:
    """Whether AppliedToDimensions has the upright aspect (and not the stored one)."""
    if orientation < 5:
        return False
    sw, sh = float(stored_size[0]), float(stored_size[1])
    stored_aspect, upright_aspect = sw / sh, sh / sw
    return abs(dims_aspect / upright_aspect - 1) < 0.01 and abs(dims_aspect / stored_aspect - 1) >= 0.01


def _to_regions(
    raw: Iterable[_RawRegion], source: str, stored_size: Sequence[int], orientation: int, origin: str
) -> list[Region]:
    out = []
    sw, sh = int(stored_size[0]), int(stored_size[1])
    uw, uh = upright_size(stored_size, orientation)
    for r in raw:
        label = r.name or "an unnamed region"
        x1, y1, x2, y2 = check_normalized_box(r.box, origin, label)
        if r.kind != "Face" or not r.name or not r.name.strip():
            continue
        name = check_name(r.name, origin)
        if r.upright:
            box = (x1 * uw, y1 * uh, x2 * uw, y2 * uh)
        else:
            box = stored_to_upright((x1 * sw, y1 * sh, x2 * sw, y2 * sh), stored_size, orientation)
        out.append(Region(name, box, source))
    return out


def regions_from_xmp(
    data: bytes, stored_size: Sequence[int], orientation: int | None, *, origin: str
) -> list[Region]:
    """The named face regions of an XMP document, as upright pixel boxes.

    Args:
        data: the XMP document (a sidecar, or a packet taken out of an image).
        stored_size: ``(width, height)`` of the photo's stored pixel grid.
        orientation: the photo's EXIF orientation.
        origin: the file named in error messages.

    Raises:
        MetadataError: unsafe or malformed XML, boxes outside the image, unsafe names.
    """
    from .orientation import normalize_orientation

    o = normalize_orientation(orientation)
    root = parse_xmp(data, origin)
    mwg_raw: list[_RawRegion] = []
    mp_raw: list[_RawRegion] = []
    for desc in _descriptions(root):
        f = _fields(desc)
        mwg_raw += _mwg_raw(f, stored_size, o, origin)
        mp_raw += _mp_raw(f, origin)
    mwg = _to_regions(mwg_raw, "mwg", stored_size, o, origin)
    mp = _to_regions(mp_raw, "mp", stored_size, o, origin)  # checked even when MWG wins
    return mwg if mwg else mp


def read_sidecar(
    path: str | os.PathLike[str], stored_size: Sequence[int], orientation: int | None
) -> list[Region]:
    """The named face regions of an XMP sidecar (see :func:`regions_from_xmp`)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_XMP_BYTES:
            raise MetadataError(f"{p}: XMP is {size} bytes, more than the {MAX_XMP_BYTES} accepted")
        data = p.read_bytes()
    except OSError as e:
        raise MetadataError(f"{p}: cannot read the sidecar ({e.strerror or e})") from None
    return regions_from_xmp(data, stored_size, orientation, origin=str(p))


def embedded_xmp(image_path: str | os.PathLike[str]) -> bytes | None:
    """The XMP packet embedded in a JPEG's APP1 segment (``<x:xmpmeta ...>``), or None.

    Only JPEG files are searched (their segments are walked up to the image data); other
    formats return None.

    Raises:
        MetadataError: when the file cannot be read.
    """
    p = Path(image_path)
    try:
        with open(p, "rb") as f:
            if f.read(2) != b"\xff\xd8":
                return None
            while True:
                marker = f.read(2)
                if len(marker) < 2 or marker[0] != 0xFF:
                    return None
                code = marker[1]
                if code == 0xFF:  # fill byte
                    f.seek(-1, os.SEEK_CUR)
                    continue
                if code in (0xD9, 0xDA):  # end of image, start of scan
                    return None
                if 0xD0 <= code <= 0xD7 or code == 0x01:
                    continue
                length_bytes = f.read(2)
                if len(length_bytes) < 2:
                    return None
                length = int.from_bytes(length_bytes, "big") - 2
                if length < 0:
                    return None
                if code == 0xE1 and length >= len(_APP1_XMP):
                    payload = f.read(length)
                    if payload.startswith(_APP1_XMP):
                        body = payload[len(_APP1_XMP) :]
                        start = body.find(b"<x:xmpmeta")
                        end = body.rfind(b"</x:xmpmeta>")
                        if start >= 0 and end > start:
                            return body[start : end + len(b"</x:xmpmeta>")]
                        return body
                else:
                    f.seek(length, os.SEEK_CUR)
    except OSError as e:
        raise MetadataError(f"{p}: cannot read the image ({e.strerror or e})") from None


def read_embedded(
    image_path: str | os.PathLike[str], stored_size: Sequence[int], orientation: int | None
) -> list[Region]:
    """The named face regions of the XMP packet inside a JPEG (empty when it has none)."""
    data = embedded_xmp(image_path)
    if data is None:
        return []
    return regions_from_xmp(data, stored_size, orientation, origin=f"{image_path} (embedded XMP)")


# ------------------------------------------------------------------------------ writing
@dataclass(frozen=True)
class SidecarWrite:
    """The outcome of :func:`write_sidecar`: the sidecar's path and whether its bytes changed."""

    path: Path
    changed: bool


def _fmt(v: float) -> str:
    text = f"{v:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _normalized_stored(region: Region, stored_size: Sequence[int], orientation: int | None) -> Box:
    sw, sh = float(stored_size[0]), float(stored_size[1])
    x1, y1, x2, y2 = upright_to_stored(region.box, stored_size, orientation)
    x1, x2 = max(0.0, min(x1, sw)), max(0.0, min(x2, sw))
    y1, y2 = max(0.0, min(y1, sh)), max(0.0, min(y2, sh))
    return (x1 / sw, y1 / sh, x2 / sw, y2 / sh)


def _old_face_box(li: ET.Element) -> tuple[str | None, Box | None]:
    """Name and normalised box of an existing MWG Face region (box None when unreadable)."""
    f = _fields(li)
    name = _text(f.get(_q("mwg-rs", "Name")))
    area = f.get(_q("mwg-rs", "Area"))
    if not isinstance(area, ET.Element):
        return name, None
    a = _fields(area)
    try:
        x, y, w, h = (float(_text(a.get(_q("stArea", k))) or "nan") for k in "xywh")
    except ValueError:
        return name, None
    return name, (x - w / 2, y - h / 2, x + w / 2, y + h / 2)


def _old_mp_box(li: ET.Element) -> tuple[str | None, Box | None]:
    f = _fields(li)
    name = _text(f.get(_q("MPReg", "PersonDisplayName")))
    try:
        x, y, w, h = (float(p) for p in (_text(f.get(_q("MPReg", "Rectangle"))) or "").split(","))
    except ValueError:
        return name, None
    return name, (x, y, x + w, y + h)


def _is_ours(name: str | None, box: Box | None, managed: set[str], ours: list[Box]) -> bool:
    if name is not None and name.strip().casefold() in managed:
        return True
    return box is not None and any(iou(box, b) >= MERGE_IOU for b in ours)


def _is_people_tag(value: str, managed: set[str]) -> bool:
    return value.startswith("People|") and value[len("People|") :].casefold() in managed


def _sub(parent: ET.Element, prefix: str, local: str, attrib: dict[str, str] | None = None) -> ET.Element:
    return ET.SubElement(parent, _q(prefix, local), attrib or {})


def _bag(parent: ET.Element, prefix: str, local: str, values: Iterable[str]) -> None:
    prop = _sub(parent, prefix, local)
    bag = _sub(prop, "rdf", "Bag")
    for v in values:
        _sub(bag, "rdf", "li").text = v


def _strip_blank_text(node: ET.Element) -> None:
    for el in node.iter():
        if len(el) and el.text is not None and not el.text.strip():
            el.text = None
        if el.tail is not None and not el.tail.strip():
            el.tail = None


def _remove_property(desc: ET.Element, tag: str) -> ET.Element | str | None:
    """Remove ``tag`` from a Description (element or attribute form); return what was there."""
    found: ET.Element | str | None = desc.attrib.pop(tag, None)
    for child in list(desc):
        if child.tag == tag:
            desc.remove(child)
            found = child
    return found


def render_sidecar(
    existing: bytes | None,
    regions: Sequence[Region],
    stored_size: Sequence[int],
    orientation: int | None,
    *,
    managed_names: Iterable[str] = (),
    origin: str = "sidecar",
) -> bytes:
    """The bytes of a sidecar holding ``regions``, merged into ``existing`` (see the module doc).

    Args:
        existing: the current sidecar's bytes, or None for a new one.
        regions: named face regions, boxes upright in full-resolution pixels.
        stored_size: ``(width, height)`` of the stored pixel grid.
        orientation: the photo's EXIF orientation.
        managed_names: further names whose old regions and keywords are ours to replace.
        origin: the file named in error messages.

    Raises:
        MetadataError: the existing sidecar is unsafe or malformed (it is never clobbered), or a
            name cannot be written (unsafe, or holding ``|``, the keyword hierarchy separator).
    """
    ours: list[tuple[str, Box]] = []
    for r in regions:
        name = check_name(r.name, origin)
        if "|" in name:
            raise MetadataError(f"{origin}: person name {name!r} contains '|', the keyword level separator")
        ours.append((name, _normalized_stored(r, stored_size, orientation)))
    names = list(dict.fromkeys(n for n, _ in ours))
    managed = {n.casefold() for n in names} | {n.strip().casefold() for n in managed_names}
    our_boxes = [b for _, b in ours]

    prefixes: dict[str, str] = {}
    if existing is not None:
        root = parse_xmp(existing, origin)
        for m in _XMLNS.finditer(existing):
            prefixes.setdefault(m.group(2).decode("utf-8", "replace"), m.group(1).decode("ascii", "replace"))
        if root.tag == _q("rdf", "RDF"):
            meta = ET.Element(_q("x", "xmpmeta"), {_q("x", "xmptk"): "faceorganizer"})
            meta.append(root)
            root = meta
        _strip_blank_text(root)
    else:
        root = ET.Element(_q("x", "xmpmeta"), {_q("x", "xmptk"): "faceorganizer"})
    rdf = root.find(_q("rdf", "RDF"))
    if rdf is None:
        rdf = _sub(root, "rdf", "RDF")
    descs = _descriptions(root)
    if not descs:
        descs = [_sub(rdf, "rdf", "Description", {_q("rdf", "about"): ""})]

    kept_mwg: list[ET.Element] = []
    kept_mp: list[ET.Element] = []
    kept: dict[str, list[str]] = {_PERSON: [], _HIER: [], _SUBJECT: []}
    has_orientation = False
    for desc in descs:
        has_orientation = has_orientation or _ORIENT in desc.attrib or desc.find(_ORIENT) is not None
        old = {tag: _remove_property(desc, tag) for tag in _MANAGED}
        if isinstance(old[_REGIONS], ET.Element):
            for li in _items(_fields(old[_REGIONS]).get(_q("mwg-rs", "RegionList"))):
                kind = _text(_fields(li).get(_q("mwg-rs", "Type"))) or "Face"
                name, box = _old_face_box(li)
                if kind != "Face" or not _is_ours(name, box, managed, our_boxes):
                    kept_mwg.append(li)
        if isinstance(old[_MP_INFO], ET.Element):
            for li in _items(_fields(old[_MP_INFO]).get(_q("MPRI", "Regions"))):
                name, box = _old_mp_box(li)
                if not _is_ours(name, box, managed, our_boxes):
                    kept_mp.append(li)
        kept[_PERSON] += [v for v in _item_texts(old[_PERSON]) if v.casefold() not in managed]
        kept[_HIER] += [v for v in _item_texts(old[_HIER]) if not _is_people_tag(v, managed)]
        kept[_SUBJECT] += [v for v in _item_texts(old[_SUBJECT]) if v.casefold() not in managed]

    desc = descs[0]
    if not has_orientation:
        desc.set(_ORIENT, str(int(orientation or 1)))
    if ours or kept_mwg:
        reg = _sub(desc, "mwg-rs", "Regions", {_RDF_PARSE: "Resource"})
        _sub(
            reg,
            "mwg-rs",
            "AppliedToDimensions",
            {
                _q("stDim", "w"): str(int(stored_size[0])),
                _q("stDim", "h"): str(int(stored_size[1])),
                _q("stDim", "unit"): "pixel",
            },
        )
        bag = _sub(_sub(reg, "mwg-rs", "RegionList"), "rdf", "Bag")
        bag.extend(kept_mwg)
        for name, (x1, y1, x2, y2) in ours:
            d = _sub(
                _sub(bag, "rdf", "li"),
                "rdf",
                "Description",
                {_q("mwg-rs", "Name"): name, _q("mwg-rs", "Type"): "Face"},
            )
            _sub(
                d,
                "mwg-rs",
                "Area",
                {
                    _q("stArea", "x"): _fmt((x1 + x2) / 2),
                    _q("stArea", "y"): _fmt((y1 + y2) / 2),
                    _q("stArea", "w"): _fmt(x2 - x1),
                    _q("stArea", "h"): _fmt(y2 - y1),
                    _q("stArea", "unit"): "normalized",
                },
            )
    if ours or kept_mp:
        info = _sub(desc, "MP", "RegionInfo", {_RDF_PARSE: "Resource"})
        bag = _sub(_sub(info, "MPRI", "Regions"), "rdf", "Bag")
        bag.extend(kept_mp)
        for name, (x1, y1, x2, y2) in ours:
            rect = ", ".join(_fmt(v) for v in (x1, y1, x2 - x1, y2 - y1))
            _sub(
                _sub(bag, "rdf", "li"),
                "rdf",
                "Description",
                {_q("MPReg", "PersonDisplayName"): name, _q("MPReg", "Rectangle"): rect},
            )
    for tag, prefix, local, new in (
        (_PERSON, "Iptc4xmpExt", "PersonInImage", names),
        (_HIER, "lr", "hierarchicalSubject", [f"People|{n}" for n in names]),
        (_SUBJECT, "dc", "subject", names),
    ):
        values = list(dict.fromkeys(kept[tag] + new))
        if values:
            _bag(desc, prefix, local, values)
    return _serialize(root, prefixes)


def write_sidecar(
    image_path: str | os.PathLike[str],
    regions: Sequence[Region],
    stored_size: Sequence[int],
    orientation: int | None,
    *,
    style: str = "ext",
    managed_names: Iterable[str] = (),
) -> SidecarWrite:
    """Write (or merge into) the XMP sidecar of ``image_path``; the photo itself is never touched.

    Args:
        image_path: the photo.
        regions: named face regions, boxes upright in full-resolution pixels.
        stored_size: ``(width, height)`` of the photo's stored pixel grid.
        orientation: the photo's EXIF orientation.
        style: ``"ext"`` writes ``photo.jpg.xmp``, ``"base"`` writes ``photo.xmp``.
        managed_names: further names whose old regions and keywords are ours to replace
            (for instance every person in the catalog, so a removed tag disappears).

    Returns:
        The sidecar path and whether its bytes changed (an unchanged sidecar is not rewritten).

    Raises:
        MetadataError: the existing sidecar is unsafe or malformed, or a name is unsafe.
    """
    target = sidecar_path(image_path, style)
    existing: bytes | None = None
    if target.exists():
        try:
            existing = target.read_bytes()
        except OSError as e:
            raise MetadataError(f"{target}: cannot read the sidecar ({e.strerror or e})") from None
    data = render_sidecar(
        existing, regions, stored_size, orientation, managed_names=managed_names, origin=str(target)
    )
    if data == existing:
        return SidecarWrite(target, False)
    atomic_write_bytes(target, data)
    return SidecarWrite(target, True)


# -------------------------------------------------------------------------- serialising
def _escape(text: str, attr: bool) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if attr:
        text = text.replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    else:
        text = text.replace("\r", "&#13;")
    return text


def _serialize(root: ET.Element, hints: dict[str, str]) -> bytes:
    """Deterministic XMP text: canonical prefixes for known namespaces, the file's for others."""
    uri_prefix = {uri: p for p, uri in NS.items()}
    taken = set(uri_prefix.values()) | {"xml", "xmlns"}
    used: set[str] = set()

    def prefix_of(uri: str) -> str:
        if uri == _XML_NS:
            return "xml"
        if uri not in uri_prefix:
            base = hints.get(uri) or "ns"
            candidate, i = base, 1
            while candidate in taken:
                candidate, i = f"{base}{i}", i + 1
            uri_prefix[uri] = candidate
            taken.add(candidate)
        used.add(uri)
        return uri_prefix[uri]

    def qname(tag: str) -> str:
        if tag.startswith("{"):
            uri, local = tag[1:].split("}", 1)
            return f"{prefix_of(uri)}:{local}"
        return tag

    lines: list[str] = []

    def emit(el: ET.Element, depth: int) -> None:
        pad = " " * depth
        attrs = "".join(f' {qname(k)}="{_escape(v, True)}"' for k, v in el.attrib.items())
        name = qname(el.tag)
        if len(el):
            lines.append(f"{pad}<{name}{attrs}>")
            for child in el:
                emit(child, depth + 1)
            lines.append(f"{pad}</{name}>")
        elif el.text:
            lines.append(f"{pad}<{name}{attrs}>{_escape(el.text, False)}</{name}>")
        else:
            lines.append(f"{pad}<{name}{attrs}/>")

    emit(root, 0)
    # Namespace declarations go on the root element (valid XML, and every reader accepts it).
    decls = "".join(
        f' xmlns:{p}="{_escape(u, True)}"'
        for u, p in sorted(
            ((u, uri_prefix[u]) for u in used if u != _XML_NS), key=lambda t: (t[1] != "x", t[1])
        )
    )
    first = lines[0]
    cut = first.index(" ") if " " in first else len(first) - (2 if first.endswith("/>") else 1)
    lines[0] = first[:cut] + decls + first[cut:]
    return (_XPACKET_BEGIN + "\n".join(lines) + "\n" + _XPACKET_END).encode("utf-8")
