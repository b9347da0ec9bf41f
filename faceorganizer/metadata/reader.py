"""One entry point for a photo's face tags from any source: sidecar, embedded XMP, Picasa."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import MetadataError
from .orientation import normalize_orientation
from .picasa import PicasaIni, find_picasa_ini, picasa_regions, read_picasa_ini
from .region import Region
from .xmp import find_sidecar, read_embedded, read_sidecar


@dataclass(frozen=True)
class PhotoTags:
    """The named face regions found for one photo, and the file they were read from (None: none found)."""

    regions: list[Region]
    origin: Path | None


def image_geometry(image_path: str | os.PathLike[str]) -> tuple[tuple[int, int], int]:
    """``((stored_width, stored_height), exif_orientation)`` of an image, from its header only.

    Raises:
        MetadataError: when the image cannot be opened.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(image_path) as im:
            size = (int(im.size[0]), int(im.size[1]))
            orientation = normalize_orientation(im.getexif().get(0x0112))
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise MetadataError(f"{image_path}: cannot read the image header ({e})") from None
    return size, orientation


def read_photo_tags(
    image_path: str | os.PathLike[str],
    stored_size: Sequence[int] | None = None,
    orientation: int | None = None,
    *,
    picasa_ini: PicasaIni | None = None,
    contacts: dict[str, str] | None = None,
    picasa: bool = True,
) -> PhotoTags:
    """The named face regions of a photo, boxes upright in full-resolution pixels.

    Sources, first one with a named face wins: the XMP sidecar (``photo.jpg.xmp``, then
    ``photo.xmp``), the XMP packet embedded in a JPEG, the folder's ``.picasa.ini``. Each
    source prefers MWG regions and falls back on Microsoft regions.

    Args:
        image_path: the photo (never modified).
        stored_size: ``(width, height)`` of the stored pixel grid; read from the image when None.
        orientation: the EXIF orientation; read from the image when ``stored_size`` is None.
        picasa_ini: the folder's parsed ``.picasa.ini``, to parse it once per folder; when None
            the photo's folder is looked at.
        contacts: Picasa contact id -> name (from ``contacts.xml``).
        picasa: False skips Picasa files (e.g. when the caller found the folder's unreadable).

    Raises:
        MetadataError: a source is unsafe or malformed; the message names it. Nothing is
            returned for the photo then, so one hostile file never half-imports.
    """
    p = Path(image_path)
    if stored_size is None:
        stored_size, orientation = image_geometry(p)
    sidecar = find_sidecar(p)
    if sidecar is not None:
        regions = read_sidecar(sidecar, stored_size, orientation)
        if regions:
            return PhotoTags(regions, sidecar)
    regions = read_embedded(p, stored_size, orientation)
    if regions:
        return PhotoTags(regions, p)
    if not picasa:
        return PhotoTags([], None)
    if picasa_ini is None:
        found = find_picasa_ini(p)
        picasa_ini = read_picasa_ini(found) if found is not None else None
    if picasa_ini is not None:
        regions = picasa_regions(p, stored_size, orientation, ini=picasa_ini, contacts=contacts)
        if regions:
            return PhotoTags(regions, picasa_ini.path)
    return PhotoTags([], None)
