"""The SQLite catalog of a photo library: folders, photos, faces, embeddings, people, decisions, undo."""

from .catalog import UNDO_LIMIT, Catalog, UndoRecorder, open_catalog
from .schema import SCHEMA_VERSION

__all__ = ["Catalog", "UndoRecorder", "open_catalog", "SCHEMA_VERSION", "UNDO_LIMIT"]
