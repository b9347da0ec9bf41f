"""Face tags that travel: XMP sidecars (MWG and Microsoft regions, person keywords) and Picasa files.

Torch-free and Qt-free. Every public function takes and returns boxes upright in
full-resolution pixels (the catalog's frame) together with the photo's stored pixel size and
EXIF orientation; the stored-frame arithmetic the standards ask for stays inside.
"""

from ..errors import MetadataError
from .orientation import stored_to_upright, upright_size, upright_to_stored
from .picasa import picasa_regions, read_contacts_xml, read_picasa_ini
from .reader import PhotoTags, image_geometry, read_photo_tags
from .region import Region, iou
from .sync import ImportSummary, WriteSummary, import_tags, write_sidecars
from .xmp import (
    SidecarWrite,
    embedded_xmp,
    find_sidecar,
    read_embedded,
    read_sidecar,
    regions_from_xmp,
    render_sidecar,
    sidecar_path,
    write_sidecar,
)

__all__ = [
    "ImportSummary",
    "MetadataError",
    "PhotoTags",
    "Region",
    "SidecarWrite",
    "WriteSummary",
    "embedded_xmp",
    "find_sidecar",
    "image_geometry",
    "import_tags",
    "iou",
    "picasa_regions",
    "read_contacts_xml",
    "read_embedded",
    "read_photo_tags",
    "read_picasa_ini",
    "read_sidecar",
    "regions_from_xmp",
    "render_sidecar",
    "sidecar_path",
    "stored_to_upright",
    "upright_size",
    "upright_to_stored",
    "write_sidecar",
    "write_sidecars",
]
