"""The scan's catalog writes: library folders, one transaction per photo, moves, duplicates, missing.

Every function that changes several rows does it in one transaction, so a scan killed at
any moment leaves each photo either as it was or fully updated.

A re-detected (changed) photo keeps its faces' identities: each old detected face is
matched to the new face with the highest box overlap (IoU >= :data:`MATCH_IOU`, boxes
taken relative to the photo size so a resized photo still matches) and updated in place,
so its person, assignment, group, "not this person" decisions and ignored flag carry over.
Old detected faces without a match are removed; manual and imported faces are kept.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..catalog import Catalog
from ..errors import CatalogError

#: Box overlap (intersection over union) at which a re-detected face is the same face.
MATCH_IOU = 0.5


@dataclass
class FaceRecord:
    """One face ready for the catalog (upright full-resolution pixels)."""

    box: Sequence[float]
    landmarks: np.ndarray | None
    prob: float | None
    low_quality: bool
    thumbnail: bytes | None
    embedding: np.ndarray | None
    source: str = "detected"


@dataclass
class PhotoRecord:
    """A photo row's values as the scan found them."""

    path: str
    size: int | None
    mtime: float | None
    hash: str | None
    width: int | None = None
    height: int | None = None
    orientation: int = 1
    taken_at: str | None = None
    status: str = "ok"
    error: str | None = None
    folder_id: int | None = None
    faces: list[FaceRecord] = field(default_factory=list)


# ---------------------------------------------------------------------------- folders
def _norm(path: str | os.PathLike[str]) -> str:
    return os.path.abspath(os.fspath(path))


def add_folder(catalog: Catalog, path: str | os.PathLike[str]) -> int:
    """Add a folder to the library (idempotent); returns its id.

    Raises:
        CatalogError: the path is not a folder.
    """
    folder = _norm(path)
    if not os.path.isdir(folder):
        raise CatalogError(f"{folder}: not a folder")
    with catalog.transaction():
        existing = catalog.scalar("SELECT id FROM folders WHERE path = ?", (folder,))
        if existing is not None:
            return int(existing)
        cur = catalog.execute("INSERT INTO folders(path, added_at) VALUES (?, ?)", (folder, time.time()))
        folder_id = int(cur.lastrowid)
        # photos already catalogued below it (e.g. through a file given alone) now belong to it
        for row in catalog.query("SELECT id, path FROM photos WHERE folder_id IS NULL"):
            if _inside(row["path"], folder):
                catalog.execute("UPDATE photos SET folder_id = ? WHERE id = ?", (folder_id, row["id"]))
        return folder_id


def remove_folder(catalog: Catalog, path: str | os.PathLike[str]) -> None:
    """Take a folder out of the library.

    Its photos are marked missing (their named faces stay until :func:`purge_missing`;
    adding the folder again and scanning brings them back unchanged).

    Raises:
        CatalogError: the folder is not in the library.
    """
    folder = _norm(path)
    with catalog.transaction():
        folder_id = catalog.scalar("SELECT id FROM folders WHERE path = ?", (folder,))
        if folder_id is None:
            raise CatalogError(f"{folder} is not a library folder")
        catalog.execute("DELETE FROM folders WHERE id = ?", (folder_id,))
        others = [r["path"] for r in catalog.query("SELECT path FROM folders")]
        for row in catalog.query(
            "SELECT id, path FROM photos WHERE folder_id IS NULL OR folder_id = ?", (folder_id,)
        ):
            if not _inside(row["path"], folder):
                continue
            owner = folder_for(row["path"], others)
            if owner is None:
                catalog.execute("UPDATE photos SET missing = 1, folder_id = NULL WHERE id = ?", (row["id"],))
            else:
                fid = catalog.scalar("SELECT id FROM folders WHERE path = ?", (owner,))
                catalog.execute("UPDATE photos SET folder_id = ? WHERE id = ?", (fid, row["id"]))


def library_folders(catalog: Catalog) -> list[str]:
    """The library's folders, sorted."""
    return [r["path"] for r in catalog.query("SELECT path FROM folders ORDER BY path")]


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def folder_for(path: str, folders: Iterable[str]) -> str | None:
    """The deepest of ``folders`` that contains ``path``, or None."""
    best = None
    for folder in folders:
        if _inside(path, folder) and (best is None or len(folder) > len(best)):
            best = folder
    return best


# ---------------------------------------------------------------------------- faces
def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise intersection over union of boxes ``a (N, 4)`` and ``b (M, 4)``."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def match_faces(old: np.ndarray, new: np.ndarray, threshold: float = MATCH_IOU) -> list[tuple[int, int]]:
    """Greedy one-to-one ``(old_index, new_index)`` pairs by descending IoU, each >= ``threshold``."""
    iou = iou_matrix(old, new)
    pairs = []
    if iou.size == 0:
        return pairs
    order = np.dstack(np.unravel_index(np.argsort(-iou, axis=None), iou.shape))[0]
    used_old: set[int] = set()
    used_new: set[int] = set()
    for i, j in order:
        if iou[i, j] < threshold:
            break
        if i in used_old or j in used_new:
            continue
        used_old.add(int(i))
        used_new.add(int(j))
        pairs.append((int(i), int(j)))
    return pairs


def landmarks_json(landmarks: np.ndarray | None) -> str | None:
    """Landmarks as the catalog stores them: JSON ``[[x, y], ...]`` rounded to 0.01 px."""
    if landmarks is None:
        return None
    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    return json.dumps([[round(float(x), 2), round(float(y), 2)] for x, y in pts])


def _face_values(face: FaceRecord) -> tuple:
    x1, y1, x2, y2 = (round(float(v), 2) for v in face.box)
    prob = None if face.prob is None else float(face.prob)
    return (x1, y1, x2, y2, landmarks_json(face.landmarks), prob, int(bool(face.low_quality)), face.thumbnail)


def _insert_face(catalog: Catalog, photo_id: int, face: FaceRecord, model: str | None, now: float) -> int:
    cur = catalog.execute(
        "INSERT INTO faces(photo_id, x1, y1, x2, y2, landmarks, prob, low_quality, thumbnail, source, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (photo_id, *_face_values(face), face.source, now),
    )
    face_id = int(cur.lastrowid)
    if face.embedding is not None and model is not None:
        catalog.put_embedding(face_id, model, face.embedding)
    return face_id


def _delete_faces(catalog: Catalog, face_ids: Sequence[int]) -> None:
    for fid in face_ids:
        catalog.execute("UPDATE people SET cover_face_id = NULL WHERE cover_face_id = ?", (fid,))
        catalog.execute("DELETE FROM faces WHERE id = ?", (fid,))


# ---------------------------------------------------------------------------- photos
_PHOTO_COLUMNS = (
    "path",
    "folder_id",
    "size",
    "mtime",
    "hash",
    "width",
    "height",
    "orientation",
    "taken_at",
    "status",
    "error",
)


def _photo_values(rec: PhotoRecord) -> tuple:
    return (
        rec.path,
        rec.folder_id,
        rec.size,
        rec.mtime,
        rec.hash,
        rec.width,
        rec.height,
        rec.orientation,
        rec.taken_at,
        rec.status,
        rec.error,
    )


def commit_photo(
    catalog: Catalog, rec: PhotoRecord, model: str | None, photo_id: int | None = None
) -> tuple[int, list[int]]:
    """Write one scanned photo and its faces in one transaction.

    Args:
        catalog: The catalog.
        rec: The photo as scanned (``status`` ok / no_face / error).
        model: Name the face embeddings are stored under.
        photo_id: The existing row of this path (a changed photo), else None.

    Returns:
        ``(photo_id, face_ids)``: the ids of ``rec.faces`` in order (kept ids for matched faces).
        For ``status == "error"`` the photo's existing faces are left untouched.
    """
    now = time.time()
    with catalog.transaction():
        if photo_id is None:
            marks = ", ".join("?" * (len(_PHOTO_COLUMNS) + 1))
            cur = catalog.execute(
                f"INSERT INTO photos({', '.join(_PHOTO_COLUMNS)}, scanned_at) VALUES ({marks})",
                (*_photo_values(rec), now),
            )
            photo_id = int(cur.lastrowid)
            return photo_id, [_insert_face(catalog, photo_id, f, model, now) for f in rec.faces]
        old = catalog.query("SELECT width, height FROM photos WHERE id = ?", (photo_id,))
        sets = ", ".join(f"{c} = ?" for c in _PHOTO_COLUMNS)
        catalog.execute(
            f"UPDATE photos SET {sets}, scanned_at = ?, missing = 0, duplicate_of = NULL WHERE id = ?",
            (*_photo_values(rec), now, photo_id),
        )
        if rec.status == "error":
            return photo_id, []
        old_faces = catalog.query(
            "SELECT id, x1, y1, x2, y2 FROM faces WHERE photo_id = ? AND source = 'detected' ORDER BY id",
            (photo_id,),
        )
        old_size = (old[0]["width"] or rec.width or 1, old[0]["height"] or rec.height or 1) if old else (1, 1)
        old_boxes = np.array([[f["x1"], f["y1"], f["x2"], f["y2"]] for f in old_faces], np.float64)
        new_boxes = np.array([list(f.box) for f in rec.faces], np.float64)
        pairs = match_faces(
            old_boxes.reshape(-1, 4) / np.tile(np.asarray(old_size, np.float64), 2),
            new_boxes.reshape(-1, 4) / np.tile(np.asarray((rec.width or 1, rec.height or 1), np.float64), 2),
        )
        matched = {j: old_faces[i]["id"] for i, j in pairs}
        face_ids = []
        for j, face in enumerate(rec.faces):
            fid = matched.get(j)
            if fid is None:
                face_ids.append(_insert_face(catalog, photo_id, face, model, now))
                continue
            catalog.execute(
                "UPDATE faces SET x1 = ?, y1 = ?, x2 = ?, y2 = ?, landmarks = ?, prob = ?, low_quality = ?, "
                "thumbnail = ? WHERE id = ?",
                (*_face_values(face), fid),
            )
            # embeddings of other models were made from the old pixels
            catalog.execute("DELETE FROM embeddings WHERE face_id = ? AND model IS NOT ?", (fid, model))
            if face.embedding is not None and model is not None:
                catalog.put_embedding(fid, model, face.embedding)
            face_ids.append(fid)
        kept = set(matched.values())
        _delete_faces(catalog, [f["id"] for f in old_faces if f["id"] not in kept])
        return photo_id, face_ids


def commit_unchanged(catalog: Catalog, photo_id: int, size: int, mtime: float, folder_id: int | None) -> None:
    """Record a file whose content did not change (same hash): new size/mtime, present again."""
    with catalog.transaction():
        catalog.execute(
            "UPDATE photos SET size = ?, mtime = ?, missing = 0, folder_id = COALESCE(?, folder_id) "
            "WHERE id = ?",
            (size, mtime, folder_id, photo_id),
        )


def commit_move(
    catalog: Catalog, photo_id: int, path: str, size: int, mtime: float, folder_id: int | None
) -> None:
    """A photo moved or renamed (same content): new path, faces and names kept."""
    with catalog.transaction():
        catalog.execute(
            "UPDATE photos SET path = ?, size = ?, mtime = ?, folder_id = ?, missing = 0 WHERE id = ?",
            (path, size, mtime, folder_id, photo_id),
        )


def commit_duplicate(
    catalog: Catalog, rec: PhotoRecord, original_id: int, photo_id: int | None = None
) -> int:
    """Record ``rec`` as a copy of photo ``original_id`` (no faces of its own); returns its id.

    An existing row for the path (a file whose content changed into a copy) loses its faces.
    """
    now = time.time()
    with catalog.transaction():
        orig = catalog.query(
            "SELECT width, height, orientation, taken_at, status, error FROM photos WHERE id = ?",
            (original_id,),
        )[0]
        rec.width, rec.height, rec.orientation = orig["width"], orig["height"], orig["orientation"]
        rec.taken_at, rec.status, rec.error = orig["taken_at"], orig["status"], orig["error"]
        if photo_id is None:
            marks = ", ".join("?" * (len(_PHOTO_COLUMNS) + 2))
            cur = catalog.execute(
                f"INSERT INTO photos({', '.join(_PHOTO_COLUMNS)}, scanned_at, duplicate_of) VALUES ({marks})",
                (*_photo_values(rec), now, original_id),
            )
            return int(cur.lastrowid)
        sets = ", ".join(f"{c} = ?" for c in _PHOTO_COLUMNS)
        catalog.execute(
            f"UPDATE photos SET {sets}, scanned_at = ?, missing = 0, duplicate_of = ? WHERE id = ?",
            (*_photo_values(rec), now, original_id, photo_id),
        )
        _delete_faces(
            catalog, [r["id"] for r in catalog.query("SELECT id FROM faces WHERE photo_id = ?", (photo_id,))]
        )
        return photo_id


def mark_missing(catalog: Catalog, photo_ids: Iterable[int]) -> int:
    """Mark photos whose files are gone as missing (faces and names kept); promote their copies.

    A missing photo that has a present duplicate hands its faces (with their names and
    decisions) to that copy, which becomes the photo of record.

    Returns:
        How many photos were newly marked.
    """
    ids = sorted(set(int(i) for i in photo_ids))
    count = 0
    with catalog.transaction():
        for pid in ids:
            count += catalog.execute(
                "UPDATE photos SET missing = 1 WHERE id = ? AND missing = 0", (pid,)
            ).rowcount
        promote_duplicates(catalog, ids)
    return count


def promote_duplicates(catalog: Catalog, missing_ids: Iterable[int]) -> int:
    """For each missing photo with a present copy, move its faces to the copy; returns how many moved."""
    moved = 0
    with catalog.transaction():
        for pid in missing_ids:
            copy = catalog.scalar(
                "SELECT id FROM photos WHERE duplicate_of = ? AND missing = 0 ORDER BY path LIMIT 1", (pid,)
            )
            if copy is None:
                continue
            catalog.execute("UPDATE faces SET photo_id = ? WHERE photo_id = ?", (copy, pid))
            catalog.execute("UPDATE photos SET duplicate_of = NULL WHERE id = ?", (copy,))
            catalog.execute(
                "UPDATE photos SET duplicate_of = ? WHERE duplicate_of = ? AND id != ?", (copy, pid, copy)
            )
            catalog.execute("UPDATE photos SET duplicate_of = ? WHERE id = ?", (copy, pid))
            moved += 1
    return moved


def purge_missing(catalog: Catalog) -> int:
    """Delete the photos marked missing, with their faces (and names on those faces); returns the count.

    Faces of a missing photo that has a present copy move to the copy first.
    """
    with catalog.transaction():
        ids = [r["id"] for r in catalog.query("SELECT id FROM photos WHERE missing = 1")]
        promote_duplicates(catalog, ids)
        face_ids = [
            r["id"]
            for r in catalog.query(
                "SELECT faces.id FROM faces JOIN photos ON photos.id = faces.photo_id "
                "WHERE photos.missing = 1"
            )
        ]
        _delete_faces(catalog, face_ids)
        catalog.execute(
            "UPDATE photos SET duplicate_of = NULL WHERE duplicate_of IN "
            "(SELECT id FROM photos WHERE missing = 1)"
        )
        return catalog.execute("DELETE FROM photos WHERE missing = 1").rowcount
