"""User decisions on people: each is one undoable transaction (``catalog.undo()`` / ``redo()``).

Semantics shared by the operations:

* Putting a face on a person by hand (name, move, confirm, merge) sets ``assigned='user'``: the
  system never moves it again. It clears the face's unnamed group and un-ignores it. An explicit
  face-level choice (:func:`name_faces`, :func:`move_faces`, :func:`confirm_suggestions`) also
  lifts an earlier "not this person" for that person; group-level ones (:func:`name_group`,
  merging a group) leave the faces rejected for that person in their group.
* "Not this person" (:func:`not_person`, :func:`reject_suggestions`, and splitting faces out of a
  person) is stored in ``rejections``: no recluster or suggestion ever puts the face back.
* Names: stripped, non-empty, at most :data:`MAX_NAME_LENGTH` characters, no control characters;
  unique without regard to case (:class:`~.errors.NameExistsError` lets the caller offer a merge).

``Ref`` names a merge source or target: ``("person", person_id)`` or ``("group", cluster_id)``.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from .errors import NameExistsError, PeopleError

Ref = tuple[str, int]

#: Longest person name accepted.
MAX_NAME_LENGTH = 100


# ---------------------------------------------------------------------------- validation
def validate_name(name: Any) -> str:
    """The name stripped, or PeopleError saying what is wrong with it."""
    if not isinstance(name, str):
        raise PeopleError(f"a person's name must be text, got {type(name).__name__}")
    text = name.strip()
    if not text:
        raise PeopleError("a person's name cannot be empty")
    bad = [ch for ch in text if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")]
    if bad:
        raise PeopleError(f"a person's name cannot contain control characters (found {bad[0]!r}): {text!r}")
    if len(text) > MAX_NAME_LENGTH:
        raise PeopleError(f"a person's name can have at most {MAX_NAME_LENGTH} characters, got {len(text)}")
    return text


def _face_ids(catalog, face_ids: Iterable[int]) -> list[int]:
    try:
        ids = sorted({int(f) for f in face_ids})
    except (TypeError, ValueError):
        raise PeopleError(f"face ids must be integers, got {face_ids!r}") from None
    if not ids:
        raise PeopleError("no faces given")
    found = set()
    for lo in range(0, len(ids), 900):
        chunk = ids[lo : lo + 900]
        marks = ",".join("?" * len(chunk))
        found.update(r[0] for r in catalog.conn.execute(f"SELECT id FROM faces WHERE id IN ({marks})", chunk))
    missing = [i for i in ids if i not in found]
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise PeopleError(f"no face with id {shown}")
    return ids


def _faces(catalog, ids: Sequence[int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for lo in range(0, len(ids), 900):
        chunk = list(ids[lo : lo + 900])
        marks = ",".join("?" * len(chunk))
        out += catalog.query(
            f"SELECT id, photo_id, person_id, assigned, cluster_id, ignored FROM faces WHERE id IN ({marks})",
            chunk,
        )
    return out


def _person(catalog, person_id: Any) -> dict[str, Any]:
    try:
        pid = int(person_id)
    except (TypeError, ValueError):
        raise PeopleError(f"person ids are integers, got {person_id!r}") from None
    rows = catalog.query("SELECT * FROM people WHERE id = ?", (pid,))
    if not rows:
        raise PeopleError(f"no person with id {pid}")
    return rows[0]


def _group_faces(catalog, cluster_id: Any) -> list[int]:
    try:
        cid = int(cluster_id)
    except (TypeError, ValueError):
        raise PeopleError(f"group ids are integers, got {cluster_id!r}") from None
    ids = [
        r[0]
        for r in catalog.conn.execute(
            "SELECT id FROM faces WHERE cluster_id = ? AND person_id IS NULL AND ignored = 0 ORDER BY id",
            (cid,),
        )
    ]
    if not ids:
        raise PeopleError(f"no unnamed group #{cid}")
    return ids


def find_person(catalog, name: str, *, exclude: int | None = None) -> tuple[int, str] | None:
    """``(id, name)`` of the person called ``name`` (any case), or None."""
    text = name.strip()
    row = catalog.conn.execute(
        "SELECT id, name FROM people WHERE name = ? COLLATE NOCASE AND id IS NOT ?", (text, exclude)
    ).fetchone()
    if row is not None:
        return int(row[0]), str(row[1])
    if text.isascii():
        return None
    folded = text.casefold()  # NOCASE folds ASCII only: compare Unicode case folds too
    for pid, other in catalog.conn.execute("SELECT id, name FROM people"):
        if other.casefold() == folded and pid != exclude:
            return int(pid), str(other)
    return None


# ---------------------------------------------------------------------------- building blocks
def _create_person(catalog, rec, name: str) -> int:
    pid = catalog.conn.execute(
        "INSERT INTO people(name, created_at) VALUES (?, ?)", (name, time.time())
    ).lastrowid
    rec.created("people", [pid])
    return int(pid)


def _assign(catalog, rec, face_ids: Sequence[int], pid: int, *, lift_rejections: bool) -> int:
    """Put faces on a person as the user's decision; returns how many."""
    if not face_ids:
        return 0
    rec.track("faces", face_ids)
    if lift_rejections:
        pairs = [(f, pid) for f in face_ids]
        rec.track("rejections", pairs)
        catalog.conn.executemany("DELETE FROM rejections WHERE face_id = ? AND person_id = ?", pairs)
    catalog.conn.executemany(
        "UPDATE faces SET person_id = ?, assigned = 'user', cluster_id = NULL, ignored = 0 WHERE id = ?",
        [(pid, f) for f in face_ids],
    )
    return len(face_ids)


def _reject(catalog, rec, face_ids: Sequence[int], pid: int) -> None:
    pairs = [(f, pid) for f in face_ids]
    rec.track("rejections", pairs)
    now = time.time()
    catalog.conn.executemany(
        "INSERT OR IGNORE INTO rejections(face_id, person_id, created_at) VALUES (?, ?, ?)",
        [(f, pid, now) for f in face_ids],
    )


def _not_rejected(catalog, face_ids: Sequence[int], pid: int) -> list[int]:
    rejected = {
        r[0] for r in catalog.conn.execute("SELECT face_id FROM rejections WHERE person_id = ?", (pid,))
    }
    return [f for f in face_ids if f not in rejected]


def _name_for_new(catalog, name: str, merge: bool) -> tuple[str, int | None]:
    text = validate_name(name)
    existing = find_person(catalog, text)
    if existing and not merge:
        raise NameExistsError(existing[1], existing[0])
    return text, existing[0] if existing else None


# ---------------------------------------------------------------------------- operations
def name_group(catalog, cluster_id: int, name: str, *, merge: bool = False) -> int:
    """Name an unnamed group: its faces become a new person (or join the existing one with ``merge``).

    Returns:
        The person id.

    Raises:
        NameExistsError: the name is taken and ``merge`` is False.
        PeopleError: no such group, or a bad name.
    """
    faces = _group_faces(catalog, cluster_id)
    text, existing = _name_for_new(catalog, name, merge)
    with catalog.undoable(f"name group #{int(cluster_id)} {text!r}") as rec:
        pid = existing if existing is not None else _create_person(catalog, rec, text)
        _assign(catalog, rec, _not_rejected(catalog, faces, pid), pid, lift_rejections=False)
    return pid


def name_faces(catalog, face_ids: Iterable[int], name: str, *, merge: bool = True) -> int:
    """Name a selection of faces: they go to the person called ``name`` (created when new).

    Raises:
        NameExistsError: the name is taken and ``merge`` is False.
    """
    ids = _face_ids(catalog, face_ids)
    text, existing = _name_for_new(catalog, name, merge)
    with catalog.undoable(f"name {len(ids)} face(s) {text!r}") as rec:
        pid = existing if existing is not None else _create_person(catalog, rec, text)
        _assign(catalog, rec, ids, pid, lift_rejections=True)
    return pid


def rename_person(catalog, person_id: int, name: str, *, merge: bool = False) -> int:
    """Rename a person; onto another person's name only with ``merge`` (then they are merged).

    Returns:
        The id of the person who carries the name afterwards.
    """
    person = _person(catalog, person_id)
    text = validate_name(name)
    other = find_person(catalog, text, exclude=person["id"])
    if other is not None:
        if not merge:
            raise NameExistsError(other[1], other[0])
        return merge_refs(catalog, [("person", person["id"])], ("person", other[0]))
    with catalog.undoable(f"rename {person['name']!r} to {text!r}") as rec:
        rec.track("people", [person["id"]])
        catalog.conn.execute("UPDATE people SET name = ? WHERE id = ?", (text, person["id"]))
    return int(person["id"])


def _ref(ref: Any) -> Ref:
    try:
        kind, value = ref
        value = int(value)
    except (TypeError, ValueError):
        raise PeopleError(f"a merge reference is ('person', id) or ('group', id), got {ref!r}") from None
    if kind not in ("person", "group"):
        raise PeopleError(f"a merge reference is ('person', id) or ('group', id), got {ref!r}")
    return kind, value


def merge_refs(catalog, sources: Sequence[Ref], target: Ref) -> int:
    """Merge people and/or unnamed groups into ``target`` (see :func:`merge`)."""
    target = _ref(target)
    srcs = list(dict.fromkeys(_ref(s) for s in sources))
    srcs = [s for s in srcs if s != target]
    if not srcs:
        raise PeopleError("nothing to merge: give at least one source other than the target")
    kind, tid = target
    if kind == "group":
        _group_faces(catalog, tid)
        if any(k == "person" for k, _ in srcs):
            raise PeopleError(
                f"cannot merge a named person into the unnamed group #{tid}; merge the group into the person"
            )
        members = [_group_faces(catalog, g) for _, g in srcs]
        with catalog.undoable(f"merge {len(srcs)} group(s) into group #{tid}") as rec:
            for faces in members:
                rec.track("faces", faces)
                catalog.conn.executemany(
                    "UPDATE faces SET cluster_id = ? WHERE id = ?", [(tid, f) for f in faces]
                )
        return tid
    tperson = _person(catalog, tid)
    people = [_person(catalog, s) for k, s in srcs if k == "person"]
    groups = [(g, _group_faces(catalog, g)) for k, g in srcs if k == "group"]
    with catalog.undoable(f"merge into {tperson['name']!r}") as rec:
        for faces in (f for _, f in groups):
            _assign(catalog, rec, _not_rejected(catalog, faces, tid), tid, lift_rejections=False)
        cover = tperson["cover_face_id"]
        for src in people:
            sid = src["id"]
            faces = [r[0] for r in catalog.conn.execute("SELECT id FROM faces WHERE person_id = ?", (sid,))]
            rej = [
                r[0]
                for r in catalog.conn.execute("SELECT face_id FROM rejections WHERE person_id = ?", (sid,))
            ]
            rec.track("faces", faces)
            rec.track(
                "rejections", [(f, sid) for f in rej] + [(f, tid) for f in rej] + [(f, tid) for f in faces]
            )
            catalog.conn.execute("UPDATE faces SET person_id = ? WHERE person_id = ?", (tid, sid))
            # faces of S that the user had marked "not T" are T's now: the merge decides
            catalog.conn.executemany(
                "DELETE FROM rejections WHERE face_id = ? AND person_id = ?", [(f, tid) for f in faces]
            )
            # "not S" becomes "not T", except for faces that are T's
            mine = {r[0] for r in catalog.conn.execute("SELECT id FROM faces WHERE person_id = ?", (tid,))}
            catalog.conn.executemany(
                "INSERT OR IGNORE INTO rejections(face_id, person_id, created_at) "
                "SELECT face_id, ?, created_at FROM rejections WHERE face_id = ? AND person_id = ?",
                [(tid, f, sid) for f in rej if f not in mine],
            )
            catalog.conn.execute("DELETE FROM rejections WHERE person_id = ?", (sid,))
            if cover is None and src["cover_face_id"] is not None:
                cover = src["cover_face_id"]
            rec.track("people", [sid])
            catalog.conn.execute("DELETE FROM people WHERE id = ?", (sid,))
        if cover != tperson["cover_face_id"]:
            rec.track("people", [tid])
            catalog.conn.execute("UPDATE people SET cover_face_id = ? WHERE id = ?", (cover, tid))
    return tid


def merge(catalog, sources: Sequence[Ref], target: Ref) -> int:
    """Merge people and/or unnamed groups into ``target``.

    * Into a person: each source person's faces (with their kind of assignment) and "not this
      person" decisions move to the target and the source person is deleted; each source group's
      faces join the target as the user's decision (except faces rejected for the target).
    * Into a group: source groups' faces join the target group (people cannot merge into groups).

    Returns:
        The target's person id or cluster id.
    """
    return merge_refs(catalog, sources, target)


def move_faces(catalog, face_ids: Iterable[int], person_id: int) -> None:
    """Move faces to a person as the user's decision (lifting any "not this person" for them)."""
    ids = _face_ids(catalog, face_ids)
    person = _person(catalog, person_id)
    with catalog.undoable(f"move {len(ids)} face(s) to {person['name']!r}") as rec:
        _assign(catalog, rec, ids, person["id"], lift_rejections=True)


def split_faces(catalog, face_ids: Iterable[int], name: str | None = None) -> Ref:
    """Split faces off into a new person (``name``) or a new unnamed group (no name).

    Faces taken out of a person are remembered as "not" that person. A new unnamed group is a
    view change: a later recluster may regroup its faces (name them to make it a decision).

    Returns:
        ``("person", id)`` or ``("group", cluster_id)``.
    """
    from .clustering import new_group_id

    ids = _face_ids(catalog, face_ids)
    faces = _faces(catalog, ids)
    text = None
    if name is not None:
        text, _ = _name_for_new(catalog, name, False)
    gid = None if text is not None else new_group_id(catalog)
    label = f"split {len(ids)} face(s) into " + (repr(text) if text else f"group #{gid}")
    with catalog.undoable(label) as rec:
        for f in faces:
            if f["person_id"] is not None and f["assigned"] in ("user", "auto"):
                _reject(catalog, rec, [f["id"]], f["person_id"])
        if text is not None:
            pid = _create_person(catalog, rec, text)
            _assign(catalog, rec, ids, pid, lift_rejections=True)
            return ("person", pid)
        rec.track("faces", ids)
        catalog.conn.executemany(
            "UPDATE faces SET person_id = NULL, assigned = NULL, cluster_id = ?, ignored = 0 WHERE id = ?",
            [(gid, f) for f in ids],
        )
    return ("group", int(gid))


def not_person(catalog, face_ids: Iterable[int], person_id: int) -> None:
    """Remember "these faces are not this person"; faces on that person leave it (unassigned)."""
    ids = _face_ids(catalog, face_ids)
    person = _person(catalog, person_id)
    pid = person["id"]
    with catalog.undoable(f"not {person['name']!r} ({len(ids)} face(s))") as rec:
        _reject(catalog, rec, ids, pid)
        rec.track("faces", ids)
        catalog.conn.executemany(
            "UPDATE faces SET person_id = NULL, assigned = NULL, cluster_id = NULL "
            "WHERE id = ? AND person_id = ?",
            [(f, pid) for f in ids],
        )


def _suggested(catalog, face_ids: Iterable[int]) -> list[dict[str, Any]]:
    ids = _face_ids(catalog, face_ids)
    faces = _faces(catalog, ids)
    wrong = [f["id"] for f in faces if f["assigned"] != "suggested" or f["person_id"] is None]
    if wrong:
        raise PeopleError(f"face {', '.join(map(str, wrong[:10]))}: no pending suggestion")
    return faces


def confirm_suggestions(catalog, face_ids: Iterable[int]) -> None:
    """Accept pending suggestions: the faces become the suggested person's (``assigned='user'``)."""
    faces = _suggested(catalog, face_ids)
    with catalog.undoable(f"confirm {len(faces)} suggestion(s)") as rec:
        by_person: dict[int, list[int]] = {}
        for f in faces:
            by_person.setdefault(f["person_id"], []).append(f["id"])
        for pid, ids in by_person.items():
            _assign(catalog, rec, ids, pid, lift_rejections=True)


def reject_suggestions(catalog, face_ids: Iterable[int]) -> None:
    """Decline pending suggestions, remembered as "not this person"; the faces go back to their group."""
    faces = _suggested(catalog, face_ids)
    with catalog.undoable(f"reject {len(faces)} suggestion(s)") as rec:
        for f in faces:
            _reject(catalog, rec, [f["id"]], f["person_id"])
        rec.track("faces", [f["id"] for f in faces])
        catalog.conn.executemany(
            "UPDATE faces SET person_id = NULL, assigned = NULL WHERE id = ?", [(f["id"],) for f in faces]
        )


def ignore_faces(catalog, face_ids: Iterable[int], ignored: bool = True) -> None:
    """Ignore faces (strangers, not-a-face): out of people, groups and suggestions; or un-ignore."""
    ids = _face_ids(catalog, face_ids)
    with catalog.undoable(f"{'ignore' if ignored else 'restore'} {len(ids)} face(s)") as rec:
        rec.track("faces", ids)
        if ignored:
            catalog.conn.executemany(
                "UPDATE faces SET ignored = 1, person_id = NULL, assigned = NULL, cluster_id = NULL "
                "WHERE id = ?",
                [(f,) for f in ids],
            )
        else:
            catalog.conn.executemany("UPDATE faces SET ignored = 0 WHERE id = ?", [(f,) for f in ids])


def hide_person(catalog, person_id: int, hidden: bool = True) -> None:
    """Hide a person from the people list (or show them again)."""
    person = _person(catalog, person_id)
    with catalog.undoable(f"{'hide' if hidden else 'show'} {person['name']!r}") as rec:
        rec.track("people", [person["id"]])
        catalog.conn.execute("UPDATE people SET hidden = ? WHERE id = ?", (int(bool(hidden)), person["id"]))


def set_cover(catalog, person_id: int, face_id: int | None) -> None:
    """Choose the face shown for a person (None: back to the best face)."""
    person = _person(catalog, person_id)
    if face_id is not None:
        (fid,) = _face_ids(catalog, [face_id])
        row = catalog.conn.execute(
            "SELECT person_id, assigned, ignored FROM faces WHERE id = ?", (fid,)
        ).fetchone()
        if row[0] != person["id"] or row[1] not in ("user", "auto") or row[2]:
            raise PeopleError(f"face {fid} is not one of {person['name']}'s faces")
        face_id = fid
    with catalog.undoable(f"cover of {person['name']!r}") as rec:
        rec.track("people", [person["id"]])
        catalog.conn.execute("UPDATE people SET cover_face_id = ? WHERE id = ?", (face_id, person["id"]))


def delete_person(catalog, person_id: int) -> None:
    """Delete a person: their faces become unassigned (free to be grouped again), their rejections go."""
    person = _person(catalog, person_id)
    pid = person["id"]
    with catalog.undoable(f"delete {person['name']!r}") as rec:
        faces = [r[0] for r in catalog.conn.execute("SELECT id FROM faces WHERE person_id = ?", (pid,))]
        rec.track("faces", faces)
        catalog.conn.execute(
            "UPDATE faces SET person_id = NULL, assigned = NULL, cluster_id = NULL WHERE person_id = ?",
            (pid,),
        )
        rej = [
            (r[0], pid)
            for r in catalog.conn.execute("SELECT face_id FROM rejections WHERE person_id = ?", (pid,))
        ]
        rec.track("rejections", rej)
        catalog.conn.execute("DELETE FROM rejections WHERE person_id = ?", (pid,))
        rec.track("people", [pid])
        catalog.conn.execute("DELETE FROM people WHERE id = ?", (pid,))
