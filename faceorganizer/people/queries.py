"""Read-only views of people: the people list, faces of a person or group, unassigned faces, search.

Counting rules: a person's faces are those with ``assigned`` ``user`` or ``auto`` (not ignored);
pending suggestions are counted apart (``suggested_count``). An unnamed group's faces are those
with its ``cluster_id`` and no person. The cover is the chosen cover face while it is still one
of the person's faces, else the best face: not low quality, then largest box x probability.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .errors import PeopleError
from .operations import find_person

_SCORE = "((1 - f.low_quality) * 1e12 + (f.x2 - f.x1) * (f.y2 - f.y1) * COALESCE(f.prob, 0.5))"


@dataclass
class PersonSummary:
    """One row of the people list: a named person (``id`` set) or an unnamed group (``cluster_id`` set)."""

    id: int | None
    cluster_id: int | None
    name: str | None
    face_count: int
    cover_face_id: int | None
    hidden: bool
    suggested_count: int

    @property
    def is_named(self) -> bool:
        """True for a named person, False for an unnamed group."""
        return self.id is not None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def list_people(catalog, *, include_hidden: bool = False) -> list[PersonSummary]:
    """Named people first (by name, case-insensitive), then unnamed groups by size (largest first)."""
    conn = catalog.conn
    counts = {
        r[0]: (r[1] or 0, r[2] or 0)
        for r in conn.execute(
            "SELECT person_id, SUM(assigned IN ('user', 'auto')), SUM(assigned = 'suggested') FROM faces "
            "WHERE person_id IS NOT NULL AND ignored = 0 GROUP BY person_id"
        )
    }
    best = {
        r[0]: r[1]
        for r in conn.execute(
            f"SELECT f.person_id, f.id, MAX({_SCORE}) FROM faces f WHERE f.person_id IS NOT NULL "
            "AND f.assigned IN ('user', 'auto') AND f.ignored = 0 GROUP BY f.person_id"
        )
    }
    covers = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT p.id, p.cover_face_id FROM people p JOIN faces f ON f.id = p.cover_face_id "
            "WHERE f.person_id = p.id AND f.assigned IN ('user', 'auto') AND f.ignored = 0"
        )
    }
    named = []
    for pid, name, hidden in conn.execute("SELECT id, name, hidden FROM people"):
        if hidden and not include_hidden:
            continue
        n, s = counts.get(pid, (0, 0))
        named.append(
            PersonSummary(pid, None, name, int(n), covers.get(pid, best.get(pid)), bool(hidden), int(s))
        )
    named.sort(key=lambda p: (p.name.casefold(), p.id))
    groups = [
        PersonSummary(None, int(r[0]), None, int(r[1]), int(r[2]), False, 0)
        for r in conn.execute(
            f"SELECT f.cluster_id, COUNT(*), f.id, MAX({_SCORE}) FROM faces f WHERE f.cluster_id IS NOT NULL "
            "AND f.person_id IS NULL AND f.ignored = 0 GROUP BY f.cluster_id"
        )
    ]
    groups.sort(key=lambda g: (-g.face_count, g.cluster_id))
    return named + groups


def person_by_name(catalog, name: str) -> int | None:
    """The id of the person called ``name`` (any case, surrounding spaces ignored), or None."""
    found = find_person(catalog, name)
    return found[0] if found else None


_FACE_SQL = (
    "SELECT f.id, f.photo_id, ph.path, f.x1, f.y1, f.x2, f.y2, f.prob, f.person_id, pe.name, f.cluster_id, "
    "f.assigned, f.ignored, f.low_quality FROM faces f JOIN photos ph ON ph.id = f.photo_id "
    "LEFT JOIN people pe ON pe.id = f.person_id"
)


def _face_dict(r) -> dict[str, Any]:
    path = r[2]
    return {
        "id": r[0],
        "photo_id": r[1],
        "path": path if os.path.isabs(path) else os.path.abspath(path),
        "box": [r[3], r[4], r[5], r[6]],
        "prob": r[7],
        "person_id": r[8],
        "person": r[9],
        "cluster": r[10] if r[8] is None else None,
        "assigned": r[11],
        "ignored": bool(r[12]),
        "low_quality": bool(r[13]),
    }


def faces_of(
    catalog,
    *,
    person_id: int | None = None,
    cluster_id: int | None = None,
    assigned: str | list[str] | None = None,
    include_ignored: bool = False,
) -> list[dict[str, Any]]:
    """Faces as dicts (id, photo_id, path, box, prob, person_id, person, cluster, assigned, ...).

    Args:
        catalog: The catalog.
        person_id: Only this person's faces (confirmed, automatic and suggested, see ``assigned``).
        cluster_id: Only this unnamed group's faces.
        assigned: Only faces assigned this way (``"user"``, ``"auto"``, ``"suggested"``, or a list).
        include_ignored: Also ignored faces.

    Ordered by photo path, then face id.
    """
    where, params = [], []
    if person_id is not None:
        where.append("f.person_id = ?")
        params.append(int(person_id))
    if cluster_id is not None:
        where.append("f.cluster_id = ? AND f.person_id IS NULL")
        params.append(int(cluster_id))
    if assigned is not None:
        kinds = [assigned] if isinstance(assigned, str) else list(assigned)
        bad = [k for k in kinds if k not in ("user", "auto", "suggested")]
        if bad:
            raise PeopleError(f"assigned must be user, auto or suggested, got {bad[0]!r}")
        where.append(f"f.assigned IN ({','.join('?' * len(kinds))})")
        params += kinds
    if not include_ignored:
        where.append("f.ignored = 0")
    sql = _FACE_SQL + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY ph.path, f.id"
    return [_face_dict(r) for r in catalog.conn.execute(sql, params)]


def unassigned_faces(catalog, *, model: str | None = None) -> list[dict[str, Any]]:
    """Faces without a person (not ignored), ordered so that similar faces sit side by side.

    Each unnamed group is kept together; groups and ungrouped faces are ordered by similarity
    (groups by their mean embedding), members within a group by a nearest-neighbour chain.
    Faces without an embedding of the model come last.
    """
    from .settings import current_model
    from .suggestions import normalize

    faces = [
        _face_dict(r)
        for r in catalog.conn.execute(
            _FACE_SQL + " WHERE f.person_id IS NULL AND f.ignored = 0 ORDER BY f.id"
        )
    ]
    if not faces:
        return []
    model = model or current_model(catalog)
    ids = np.array([f["id"] for f in faces], np.int64)
    if model is None:
        return faces
    emb_ids, X = catalog.embeddings(model, ids.tolist())
    X = normalize(X)
    row = {int(i): k for k, i in enumerate(emb_ids)}
    items: dict[Any, list[int]] = {}
    rest = []
    for k, f in enumerate(faces):
        if f["id"] not in row:
            rest.append(k)
        elif f["cluster"] is not None:
            items.setdefault(("g", f["cluster"]), []).append(k)
        else:
            items[("f", f["id"])] = [k]
    keys = list(items)
    if not keys:
        return faces
    centres = normalize(np.stack([X[[row[faces[k]["id"]] for k in items[key]]].mean(axis=0) for key in keys]))
    out: list[int] = []
    for i in similarity_order(centres):
        members = items[keys[i]]
        if len(members) > 1:
            sub = X[[row[faces[k]["id"]] for k in members]]
            members = [members[j] for j in similarity_order(sub)]
        out += members
    return [faces[k] for k in out + rest]


def similarity_order(X: np.ndarray, leaf: int = 384) -> np.ndarray:
    """A permutation of the rows of ``X`` (unit vectors) that puts similar rows next to each other.

    Recursive bisection along the main direction of variation down to ``leaf`` rows, then a
    greedy nearest-neighbour chain inside each leaf. O(N D log N) for large N.
    """
    n = len(X)
    if n <= 2:
        return np.arange(n)
    if n <= leaf:
        S = X @ X.T
        np.fill_diagonal(S, -np.inf)
        order = [0]
        seen = np.zeros(n, bool)
        seen[0] = True
        for _ in range(n - 1):
            s = np.where(seen, -np.inf, S[order[-1]])
            nxt = int(np.argmax(s))
            order.append(nxt)
            seen[nxt] = True
        return np.array(order)
    centred = np.asarray(X - X.mean(axis=0), dtype=np.float32)
    v = centred[np.argmax(np.einsum("ij,ij->i", centred, centred))].copy()
    for _ in range(8):  # power iteration on the covariance (float32 throughout: no upcast copies)
        v = centred.T @ (centred @ v)
        v /= max(float(np.linalg.norm(v)), 1e-12)
    proj = centred @ v
    cut = np.argsort(proj, kind="stable")
    left, right = cut[: n // 2], cut[n // 2 :]
    return np.concatenate([left[similarity_order(X[left], leaf)], right[similarity_order(X[right], leaf)]])


def search_photos(
    catalog, person_ids, *, mode: str = "all", include_missing: bool = False
) -> list[dict[str, Any]]:
    """Photos showing all (``mode="all"``) or any (``"any"``) of the given people.

    Only confirmed and automatic faces count (not suggestions). Each result: id, path, taken_at,
    width, height, person_ids (of the asked people present). Ordered by date taken, then path.
    """
    if mode not in ("all", "any"):
        raise PeopleError(f"mode must be 'all' or 'any', got {mode!r}")
    try:
        wanted = sorted({int(p) for p in person_ids})
    except (TypeError, ValueError):
        raise PeopleError(f"person ids must be integers, got {person_ids!r}") from None
    if not wanted:
        raise PeopleError("no people given to search for")
    marks = ",".join("?" * len(wanted))
    known = {r[0] for r in catalog.conn.execute(f"SELECT id FROM people WHERE id IN ({marks})", wanted)}
    missing = [p for p in wanted if p not in known]
    if missing:
        raise PeopleError(f"no person with id {', '.join(map(str, missing))}")
    need = len(wanted) if mode == "all" else 1
    rows = catalog.conn.execute(
        "SELECT ph.id, ph.path, ph.taken_at, ph.width, ph.height, GROUP_CONCAT(DISTINCT f.person_id), "
        "COUNT(DISTINCT f.person_id) AS n FROM photos ph JOIN faces f ON f.photo_id = ph.id "
        f"WHERE f.person_id IN ({marks}) AND f.assigned IN ('user', 'auto') AND f.ignored = 0 "
        + ("" if include_missing else "AND ph.missing = 0 ")
        + "GROUP BY ph.id HAVING n >= ? ORDER BY ph.taken_at IS NULL, ph.taken_at, ph.path",
        (*wanted, need),
    ).fetchall()
    return [
        {
            "id": r[0],
            "path": r[1],
            "taken_at": r[2],
            "width": r[3],
            "height": r[4],
            "person_ids": sorted(int(x) for x in str(r[5]).split(",")),
        }
        for r in rows
    ]
