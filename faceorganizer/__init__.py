"""faceorganizer: a desktop photo organizer that knows who is in every picture.

The data flows library files -> :mod:`faceorganizer.scan` (decode, detect, embed) ->
:mod:`faceorganizer.catalog` (SQLite) -> :mod:`faceorganizer.people` (cluster, decide) ->
views (:mod:`faceorganizer.ui`) and :mod:`faceorganizer.export`. The face engine lives in
:mod:`faceorganizer.vision`. Importing this package is cheap: nothing heavy loads here.
"""

from __future__ import annotations

__version__ = "0.2.0"
