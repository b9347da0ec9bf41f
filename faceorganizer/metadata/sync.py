"""The catalog and photo metadata: write the catalog's names to sidecars, import other apps' tags.

Writing (:func:`write_sidecars`): every photo holding a *confirmed* face (``assigned`` is
``user`` or ``auto``, not ignored) of a chosen person gets a sidecar with those faces (see
:mod:`.xmp` for the format and the merge rule). Without ``people`` every visible person is
chosen, and their names are the ones the sidecars' old regions and keywords are replaced for;
hidden people's regions already in a sidecar are left alone. Suggestions are not written.

Importing (:func:`import_tags`): for each scanned photo, the tags of its sidecar, else of its
embedded XMP, else of its folder's ``.picasa.ini`` (:func:`~.reader.read_photo_tags`) are
matched to the photo's faces one to one, best overlap first, when their IoU is at least
:data:`MATCH_IOU` (0.5: the usual "same object" threshold; detector and tagging-app boxes of one
face overlap far more, different faces of one photo far less). A matched face is named as the
user's decision through :func:`faceorganizer.people.operations.name_faces` (one undoable step
per name, the person created when new). A box that matches no face becomes a new face through
the scan's :func:`faceorganizer.scan.scanner.add_manual_face` (landmarks, thumbnail and
embedding like a face the user drew), marked ``source = 'imported'`` (the catalog's value for
faces that come from metadata), and named the same way. Without an embedding model the face is
added without embedding (:func:`add_imported_face`; a later model switch embeds it). Adding a
face is not on the undo stack (the undo log keeps decisions, not boxes).
Decisions the user already made in faceorganizer win: a face named otherwise by the user, a
face the user ignored, or a "not this person" for that name is left as is and reported as a
conflict. A face the system already attached to the same person (``auto``) is left as it is:
the tag may be our own sidecar of that decision. Importing again changes nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FaceOrganizerError, MetadataError, PeopleError
from .orientation import upright_size
from .picasa import PicasaIni, picasa_ini_in, read_contacts_xml, read_picasa_ini
from .reader import image_geometry, read_photo_tags
from .region import Region, iou
from .xmp import write_sidecar

#: Least IoU between an imported box and a face for them to be the same face.
MATCH_IOU = 0.5

Progress = Callable[[int, int], None]


@dataclass
class WriteSummary:
    """What :func:`write_sidecars` did.

    Attributes:
        photos: photos with a named face of the chosen people.
        written: sidecars created or changed.
        unchanged: sidecars that already held exactly this (not rewritten).
        regions: face regions written.
        sidecars: the sidecar paths (written or unchanged).
        errors: ``(photo path, reason)`` for photos left without a sidecar.
    """

    photos: int = 0
    written: int = 0
    unchanged: int = 0
    regions: int = 0
    sidecars: list[Path] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ImportSummary:
    """What :func:`import_tags` did.

    Attributes:
        photos: photos looked at.
        tagged: photos where named face regions were found.
        regions: named face regions found.
        matched: regions matched to an existing face and named there.
        created: regions that matched no face and became imported faces.
        unchanged: regions whose face already carried that name (by the user's decision, or
            automatically).
        people_created: names of the people the import created.
        conflicts: ``(photo path, what)`` where the user's own decision was kept.
        errors: ``(file, reason)`` for files that could not be read or were refused.
        embedding_unavailable: why new faces were added without an embedding (no model), or None.
    """

    photos: int = 0
    tagged: int = 0
    regions: int = 0
    matched: int = 0
    created: int = 0
    unchanged: int = 0
    people_created: list[str] = field(default_factory=list)
    conflicts: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    embedding_unavailable: str | None = None


def stored_size_of(photo: dict[str, Any]) -> tuple[tuple[int, int], int]:
    """``((stored_w, stored_h), orientation)`` of a catalog photo row (upright size + orientation).

    Falls back on the image header when the catalog has no size yet.
    """
    o = int(photo.get("orientation") or 1)
    w, h = photo.get("width"), photo.get("height")
    if not w or not h:
        return image_geometry(photo["path"])
    # the upright size with its axes swapped back for orientations 5..8
    return upright_size((int(w), int(h)), o), o


# ------------------------------------------------------------------------------ writing
def _chosen_people(catalog: Any, people: Iterable[str] | None) -> list[dict[str, Any]]:
    from ..people.operations import find_person

    if people is None:
        return catalog.query("SELECT id, name FROM people WHERE hidden = 0 ORDER BY id")
    chosen: dict[int, dict[str, Any]] = {}
    unknown = []
    for name in people:
        found = find_person(catalog, name)
        if found is None:
            unknown.append(name)
        else:
            chosen[found[0]] = {"id": found[0], "name": found[1]}
    if unknown:
        known = (
            ", ".join(r["name"] for r in catalog.query("SELECT name FROM people ORDER BY name")) or "none yet"
        )
        raise PeopleError(f"no person named {', '.join(map(repr, unknown))} in the catalog (people: {known})")
    return list(chosen.values())


def write_sidecars(
    catalog: Any,
    people: Iterable[str] | None = None,
    style: str = "ext",
    *,
    progress: Progress | None = None,
) -> WriteSummary:
    """Write an XMP sidecar for every photo with a confirmed face of the chosen people.

    Args:
        catalog: an open :class:`~faceorganizer.catalog.Catalog`.
        people: names (any case) to write; None writes every visible person.
        style: ``"ext"`` (``photo.jpg.xmp``) or ``"base"`` (``photo.xmp``).
        progress: called with ``(done, total)`` after each photo.

    Returns:
        The summary; a photo that cannot be written is reported there and the run goes on.

    Raises:
        PeopleError: a name in ``people`` is not a person of the catalog.
        ValueError: an unknown ``style``.
    """
    if style not in ("ext", "base"):
        raise ValueError(f"sidecar style must be 'ext' or 'base', not {style!r}")
    chosen = _chosen_people(catalog, people)
    summary = WriteSummary()
    if not chosen:
        return summary
    ids = [p["id"] for p in chosen]
    marks = ",".join("?" * len(ids))
    rows = catalog.query(
        "SELECT f.id, f.x1, f.y1, f.x2, f.y2, pe.name, ph.id AS photo_id, ph.path, ph.width, ph.height, "
        "ph.orientation, ph.missing FROM faces f JOIN people pe ON pe.id = f.person_id "
        "JOIN photos ph ON ph.id = f.photo_id WHERE f.assigned IN ('user', 'auto') AND f.ignored = 0 "
        f"AND pe.id IN ({marks}) ORDER BY ph.path, f.id",
        ids,
    )
    by_photo: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        by_photo.setdefault(r["photo_id"], []).append(r)
    managed = [p["name"] for p in chosen]
    summary.photos = len(by_photo)
    for done, faces in enumerate(by_photo.values(), 1):
        photo = faces[0]
        path = photo["path"]
        try:
            if photo["missing"] or not os.path.isfile(path):
                raise MetadataError(f"{path}: the photo is missing")
            stored, orientation = stored_size_of(photo)
            regions = [Region(f["name"], (f["x1"], f["y1"], f["x2"], f["y2"])) for f in faces]
            result = write_sidecar(path, regions, stored, orientation, style=style, managed_names=managed)
        except (FaceOrganizerError, OSError) as e:
            summary.errors.append((path, _reason(e, path)))
        else:
            summary.regions += len(regions)
            summary.sidecars.append(result.path)
            if result.changed:
                summary.written += 1
            else:
                summary.unchanged += 1
        if progress is not None:
            progress(done, summary.photos)
    return summary


def _reason(e: BaseException, path: str) -> str:
    text = str(e) if not isinstance(e, OSError) else (e.strerror or str(e))
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


# ---------------------------------------------------------------------------- importing
def add_imported_face(catalog: Any, photo_id: int, box: Sequence[float]) -> int:
    """Insert a face that came from metadata (``source = 'imported'``); returns its id.

    The box is upright, full-resolution pixels (the catalog's frame). The face has no
    embedding or thumbnail yet and no person; name it with the people operations.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    with catalog.transaction():
        cur = catalog.execute(
            "INSERT INTO faces(photo_id, x1, y1, x2, y2, source, created_at) "
            "VALUES (?, ?, ?, ?, ?, 'imported', ?)",
            (int(photo_id), x1, y1, x2, y2, time.time()),
        )
    return int(cur.lastrowid)


def _new_face(catalog: Any, photo_id: int, box: Sequence[float], summary: ImportSummary) -> int:
    """A face for a tagged box no face matched: embedded when a model is at hand."""
    if summary.embedding_unavailable is None:
        from ..vision.errors import WeightsError

        try:
            from ..scan.scanner import add_manual_face

            fid = add_manual_face(catalog, photo_id, box)
        except (ImportError, WeightsError) as e:
            summary.embedding_unavailable = str(e)
        else:
            with catalog.transaction():
                catalog.execute("UPDATE faces SET source = 'imported' WHERE id = ?", (fid,))
            return fid
    return add_imported_face(catalog, photo_id, box)


def match_regions(regions: Sequence[Region], faces: Sequence[dict[str, Any]], threshold: float = MATCH_IOU):
    """One-to-one matches ``(region index, face index)``, best IoU first, IoU >= ``threshold``."""
    pairs = []
    for i, r in enumerate(regions):
        for j, f in enumerate(faces):
            score = iou(r.box, (f["x1"], f["y1"], f["x2"], f["y2"]))
            if score >= threshold:
                pairs.append((-score, i, j))
    pairs.sort()
    used_r: set[int] = set()
    used_f: set[int] = set()
    out = []
    for _, i, j in pairs:
        if i not in used_r and j not in used_f:
            used_r.add(i)
            used_f.add(j)
            out.append((i, j))
    return sorted(out)


def import_tags(
    catalog: Any,
    photo_ids: Iterable[int] | None = None,
    *,
    contacts_xml: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import the face tags other apps left in the photos' metadata as user decisions.

    Args:
        catalog: an open :class:`~faceorganizer.catalog.Catalog`.
        photo_ids: the photos to look at; None takes every scanned photo (status ``ok`` or
            ``no_face``) that is not missing.
        contacts_xml: Picasa's ``contacts.xml`` for the names of ``.picasa.ini`` faces (a
            ``contacts.xml`` beside a ``.picasa.ini`` is used too).
        progress: called with ``(done, total)`` after each photo.

    Returns:
        The summary; unreadable or refused files are listed there and the run goes on.
    """
    from ..people.operations import find_person, name_faces, validate_name

    summary = ImportSummary()
    contacts: dict[str, str] = {}
    if contacts_xml is not None:
        try:
            contacts = read_contacts_xml(contacts_xml)
        except MetadataError as e:
            summary.errors.append((str(contacts_xml), _reason(e, str(contacts_xml))))
    photos = _photos(catalog, photo_ids)
    summary.photos = len(photos)
    inis: dict[Path, PicasaIni | None] = {}
    to_name: dict[str, list[int]] = {}
    for done, photo in enumerate(photos, 1):
        try:
            _import_photo(catalog, photo, contacts, inis, to_name, summary, find_person, validate_name)
        except (FaceOrganizerError, OSError) as e:
            summary.errors.append((photo["path"], _reason(e, photo["path"])))
        if progress is not None:
            progress(done, len(photos))
    for name, face_ids in to_name.items():
        try:
            is_new = find_person(catalog, name) is None
            name_faces(catalog, face_ids, name, merge=True)
        except PeopleError as e:
            summary.errors.append((name, str(e)))
            continue
        if is_new:
            summary.people_created.append(name)
    return summary


def _photos(catalog: Any, photo_ids: Iterable[int] | None) -> list[dict[str, Any]]:
    cols = "id, path, width, height, orientation, missing"
    if photo_ids is None:
        return catalog.query(
            f"SELECT {cols} FROM photos WHERE status IN ('ok', 'no_face') AND missing = 0 ORDER BY path"
        )
    ids = sorted({int(i) for i in photo_ids})
    rows: list[dict[str, Any]] = []
    for lo in range(0, len(ids), 900):
        chunk = ids[lo : lo + 900]
        rows += catalog.query(f"SELECT {cols} FROM photos WHERE id IN ({','.join('?' * len(chunk))})", chunk)
    return sorted((r for r in rows if not r["missing"]), key=lambda r: r["path"])


def _folder_ini(
    folder: Path, contacts: dict[str, str], inis: dict[Path, PicasaIni | None], summary: ImportSummary
) -> PicasaIni | None:
    if folder in inis:
        return inis[folder]
    ini = None
    found = picasa_ini_in(folder)
    if found is not None:
        try:
            ini = read_picasa_ini(found)
            beside = folder / "contacts.xml"
            if beside.is_file():
                ini.contacts = {**read_contacts_xml(beside), **contacts, **ini.contacts}
        except MetadataError as e:
            summary.errors.append((str(found), _reason(e, str(found))))
            ini = None
    inis[folder] = ini
    return ini


def _import_photo(
    catalog, photo, contacts, inis, to_name, summary: ImportSummary, find_person, validate_name
) -> None:
    path = Path(photo["path"])
    if not path.is_file():
        return
    stored, orientation = stored_size_of(photo)
    ini = _folder_ini(path.parent, contacts, inis, summary)
    tags = read_photo_tags(
        path, stored, orientation, picasa_ini=ini, contacts=contacts, picasa=ini is not None
    )
    if not tags.regions:
        return
    for region in tags.regions:  # all names acceptable, or nothing of this photo is imported
        try:
            validate_name(region.name)
        except PeopleError as e:
            raise MetadataError(f"{tags.origin}: {e}") from None
    summary.tagged += 1
    summary.regions += len(tags.regions)
    faces = catalog.query(
        "SELECT id, x1, y1, x2, y2, person_id, assigned, ignored FROM faces WHERE photo_id = ? ORDER BY id",
        (photo["id"],),
    )
    matches = dict(match_regions(tags.regions, faces))
    for i, region in enumerate(tags.regions):
        found = find_person(catalog, region.name)
        pid = found[0] if found else None
        if i not in matches:
            fid = _new_face(catalog, photo["id"], region.box, summary)
            summary.created += 1
            to_name.setdefault(found[1] if found else region.name, []).append(fid)
            continue
        face = faces[matches[i]]
        if face["ignored"]:
            summary.conflicts.append((str(path), f"{region.name!r}: you ignored this face; left ignored"))
            continue
        if face["person_id"] is not None and face["person_id"] == pid and face["assigned"] == "auto":
            summary.unchanged += 1  # possibly our own sidecar of that automatic decision: left automatic
            continue
        if face["assigned"] == "user" and face["person_id"] is not None:
            if face["person_id"] == pid:
                summary.unchanged += 1
            else:
                other = catalog.scalar("SELECT name FROM people WHERE id = ?", (face["person_id"],))
                summary.conflicts.append(
                    (str(path), f"{region.name!r}: you named this face {other!r}; your name is kept")
                )
            continue
        if pid is not None and catalog.scalar(
            "SELECT 1 FROM rejections WHERE face_id = ? AND person_id = ?", (face["id"], pid)
        ):
            summary.conflicts.append(
                (str(path), f"{region.name!r}: you said this face is not {found[1]!r}; left as is")
            )
            continue
        summary.matched += 1
        to_name.setdefault(found[1] if found else region.name, []).append(face["id"])
