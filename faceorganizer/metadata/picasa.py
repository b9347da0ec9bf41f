"""Picasa's face tags: ``.picasa.ini`` ``faces=`` lines and the ``contacts.xml`` names.

Format (as read by ExifTool's ``config_files/picasa_faces.config`` and other public readers):

* ``.picasa.ini`` (also ``Picasa.ini`` from older versions) is an INI file with one
  ``[file.jpg]`` section per photo. Its ``faces=`` line is a ``;``-separated list of
  ``rect64(HEX),CONTACTID`` entries.
* ``HEX`` is a 64-bit number written without leading zeros: four 16-bit fields, from the most
  significant, *left, top, right, bottom*, each divided by 65535 to give a fraction of the image
  width or height (so corners, not a centre).
* For JPEG and other non-RAW files the fractions refer to the stored (un-rotated) pixel grid,
  the same frame as MWG regions: ExifTool copies them to MWG areas unchanged. For RAW files
  Picasa measured the rotated picture, and ExifTool rotates them back; we follow both rules.
* ``CONTACTID`` is a 16-hex-digit id; ``ffffffffffffffff`` marks an unnamed face. Names come
  from ``contacts.xml`` (``<contact id="..." name="..."/>``, kept in Picasa's AppData folder) or,
  in newer versions, from a ``[Contacts2]`` section of the ini: ``ID=Name;email;``. Older
  versions used ``[Contacts]`` with the same lines.

Every name passes :func:`~faceorganizer.metadata.region.check_name` and every box must lie in
the image; otherwise the whole file is refused with a :class:`MetadataError`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as SafeET

from ..errors import MetadataError
from .orientation import normalize_orientation, stored_to_upright, upright_size
from .region import Region, check_name, check_normalized_box

UNNAMED_CONTACT = "ffffffffffffffff"
MAX_PICASA_BYTES = 16 * 1024 * 1024
INI_NAMES = (".picasa.ini", "Picasa.ini", "picasa.ini")

#: Extensions whose Picasa regions are measured on the rotated picture (ExifTool's list).
_RAW = (
    "3fr arw cr2 crw cs1 dcr dng eip erf iiq k25 kdc mef mos mrw nef nrw orf pef raf"
    " raw rw2 rwl sr2 srf srw x3f"
)
RAW_EXTENSIONS = frozenset(_RAW.split(" "))

_RECT = re.compile(r"rect64\(\s*([0-9a-fA-F]{1,16})\s*\)\s*,\s*([0-9a-fA-F]{1,16})")


@dataclass(frozen=True)
class PicasaFace:
    """One ``faces=`` entry: the contact id and the normalised ``(left, top, right, bottom)``."""

    contact_id: str
    box: tuple[float, float, float, float]


@dataclass
class PicasaIni:
    """A parsed ``.picasa.ini``: faces per file name (as in the section headers) and the ini's contacts."""

    path: Path
    faces: dict[str, list[PicasaFace]] = field(default_factory=dict)
    contacts: dict[str, str] = field(default_factory=dict)


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_PICASA_BYTES:
            raise MetadataError(f"{path}: {what} is {size} bytes, more than the {MAX_PICASA_BYTES} accepted")
        data = path.read_bytes()
    except OSError as e:
        raise MetadataError(f"{path}: cannot read the {what} ({e.strerror or e})") from None
    return data


def _read_text(path: Path, what: str) -> str:
    data = _read_bytes(path, what)
    if b"\x00" in data:
        raise MetadataError(f"{path}: the {what} holds NUL bytes; it is not a text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def decode_rect64(hex_value: str) -> tuple[float, float, float, float]:
    """``(left, top, right, bottom)`` fractions of a ``rect64`` hex value (leading zeros optional)."""
    v = int(hex_value, 16)
    return tuple(((v >> shift) & 0xFFFF) / 65535.0 for shift in (48, 32, 16, 0))  # type: ignore[return-value]


def read_picasa_ini(path: str | os.PathLike[str]) -> PicasaIni:
    """Parse a ``.picasa.ini``: the ``faces=`` of every section and the ``[Contacts2]``/``[Contacts]`` names.

    Raises:
        MetadataError: unreadable file, a malformed ``faces=`` entry, or an unsafe contact name.
    """
    p = Path(path)
    result = PicasaIni(p)
    section = ""
    for lineno, raw in enumerate(_read_text(p, "Picasa file").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith((";", "#")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if section.lower() in ("contacts2", "contacts"):
            name = value.split(";", 1)[0]
            if name.strip():
                result.contacts[key.strip().lower()] = check_name(name, f"{p} line {lineno}")
        elif key.strip().lower() == "faces":
            faces = []
            for entry in filter(None, (e.strip() for e in value.split(";"))):
                m = _RECT.fullmatch(entry)
                if m is None:
                    raise MetadataError(f"{p} line {lineno}: malformed faces entry {entry[:80]!r}")
                faces.append(PicasaFace(m.group(2).lower(), decode_rect64(m.group(1))))
            result.faces[section] = faces
    return result


def read_contacts_xml(path: str | os.PathLike[str]) -> dict[str, str]:
    """Contact id -> name from Picasa's ``contacts.xml`` (parsed safely: no DTD, no entities).

    Raises:
        MetadataError: unreadable, malformed or unsafe XML, or an unsafe name.
    """
    p = Path(path)
    data = _read_bytes(p, "contacts file")
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except defusedxml.DefusedXmlException as e:
        raise MetadataError(f"{p}: contacts file refused by the safe parser ({type(e).__name__})") from None
    except SafeET.ParseError as e:
        raise MetadataError(f"{p}: malformed contacts file ({e})") from None
    contacts = {}
    for el in root.iter("contact"):
        cid, name = el.get("id"), el.get("name") or el.get("display")
        if cid and name and name.strip():
            contacts[cid.strip().lower()] = check_name(name, str(p))
    return contacts


def find_picasa_ini(image_path: str | os.PathLike[str]) -> Path | None:
    """The Picasa ini in the photo's folder, if there is one."""
    return picasa_ini_in(Path(image_path).parent)


def picasa_ini_in(folder: str | os.PathLike[str]) -> Path | None:
    """The Picasa ini of a folder, if there is one."""
    folder = Path(folder)
    for name in INI_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def picasa_regions(
    image_path: str | os.PathLike[str],
    stored_size: Sequence[int],
    orientation: int | None,
    *,
    ini: PicasaIni | None = None,
    contacts: dict[str, str] | None = None,
) -> list[Region]:
    """The named Picasa faces of one photo, as upright pixel boxes.

    Args:
        image_path: the photo; its folder's ``.picasa.ini`` is read unless ``ini`` is given.
        stored_size: ``(width, height)`` of the photo's stored pixel grid.
        orientation: the photo's EXIF orientation.
        ini: an already parsed ini (to read a folder's file once for all its photos).
        contacts: id -> name from ``contacts.xml`` (:func:`read_contacts_xml`); the ini's own
            ``[Contacts2]`` names are used too, and win when both name an id.

    Returns:
        Named faces only; unnamed (``ffffffffffffffff``) and unknown contacts are skipped.

    Raises:
        MetadataError: an unsafe or malformed file, or a box outside the image.
    """
    p = Path(image_path)
    if ini is None:
        found = find_picasa_ini(p)
        if found is None:
            return []
        ini = read_picasa_ini(found)
    faces = ini.faces.get(p.name)
    if faces is None:  # Picasa on Windows: section names compare without case
        faces = next((v for k, v in ini.faces.items() if k.lower() == p.name.lower()), [])
    names = {**(contacts or {}), **ini.contacts}
    o = normalize_orientation(orientation)
    measured_upright = p.suffix.lower().lstrip(".") in RAW_EXTENSIONS
    origin = f"{ini.path} [{p.name}]"
    out = []
    for face in faces:
        name = names.get(face.contact_id)
        box = check_normalized_box(face.box, origin, name or face.contact_id)
        if face.contact_id == UNNAMED_CONTACT or name is None:
            continue
        if measured_upright:
            uw, uh = upright_size(stored_size, o)
            pixels = (box[0] * uw, box[1] * uh, box[2] * uw, box[3] * uh)
        else:
            sw, sh = stored_size
            pixels = stored_to_upright((box[0] * sw, box[1] * sh, box[2] * sw, box[3] * sh), stored_size, o)
        out.append(Region(name, pixels, "picasa"))
    return out
