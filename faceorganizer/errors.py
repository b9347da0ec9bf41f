"""Errors faceorganizer raises on purpose; all derive from :class:`FaceOrganizerError`.

The command line prints them as ``faceorganizer: error: ...`` (exit status 1) and the
window shows them in a message box: they are meant for the user, not as tracebacks.
"""

from __future__ import annotations


class FaceOrganizerError(Exception):
    """Base class of every error faceorganizer raises on purpose."""


class CatalogError(FaceOrganizerError):
    """The catalog cannot be opened, is from a newer version, or an operation is not allowed."""


class PeopleError(FaceOrganizerError, ValueError):
    """A people operation names something that does not exist or is not allowed."""


class MetadataError(FaceOrganizerError, ValueError):
    """Photo metadata (an XMP sidecar, an embedded packet, a Picasa file) is unsafe or malformed.

    The message names the file and the problem; nothing from that file is imported.
    """
