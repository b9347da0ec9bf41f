"""Named people as fixed seeds: distances to them, and "is this X?" suggestions.

A face's distance to a person is the smaller of its distance to the person's nearest confirmed
(``assigned='user'``) face and to their centroid. A person with many confirmed faces is
represented by at most :data:`SEEDS_PER_PERSON` of them, evenly spread over their faces (plus the
centroid of all of them), so the cost stays linear in the number of faces.

Suggestion rule (:func:`suggest`): a face without a person (or with a pending suggestion) gets
``assigned='suggested'`` for person P when P is its nearest person at distance
``<= suggest_distance`` and every other person is at least ``suggest_margin`` farther. Never for
a person the face was rejected for, a hidden person, or a person already in the same photo (two
faces of one photo are two people); of two faces of one photo near the same P, only the closer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .settings import ClusterSettings, catalog_settings, current_model

#: Confirmed faces kept per person as seeds (plus the person's centroid).
SEEDS_PER_PERSON = 48


@dataclass
class Seeds:
    """The named people of a catalog as seed vectors."""

    person_ids: np.ndarray  # (P,) person ids
    hidden: np.ndarray  # (P,) bool
    vectors: np.ndarray  # (S, D) unit seed vectors, grouped by person
    starts: np.ndarray  # (P,) first seed row of each person in ``vectors``
    centroids: np.ndarray  # (P, D) unit centroids

    def __len__(self) -> int:
        return len(self.person_ids)

    def distances(self, X: np.ndarray, chunk: int = 8192) -> np.ndarray:
        """(N, P) distance of each unit row of ``X`` to each person (inf when there is none)."""
        n = len(X)
        out = np.full((n, len(self)), np.inf, np.float32)
        if n == 0 or len(self) == 0:
            return out
        for lo in range(0, n, chunk):
            xs = X[lo : lo + chunk]
            best = np.maximum.reduceat(xs @ self.vectors.T, self.starts, axis=1)
            best = np.maximum(best, xs @ self.centroids.T)
            out[lo : lo + chunk] = np.sqrt(np.maximum(2.0 - 2.0 * best, 0.0))
        return out


def load_seeds(catalog, model: str, lookup=None) -> Seeds:
    """Seeds of every person with confirmed faces embedded by ``model``.

    Args:
        catalog: The catalog.
        model: Embedding model.
        lookup: Optional ``(ids, X)`` of already-loaded embeddings (sorted ids) to reuse.
    """
    rows = catalog.conn.execute(
        "SELECT f.person_id, f.id FROM faces f JOIN people p ON p.id = f.person_id "
        "WHERE f.assigned = 'user' AND f.ignored = 0 ORDER BY f.person_id, f.id"
    ).fetchall()
    hidden_of = {r[0]: bool(r[1]) for r in catalog.conn.execute("SELECT id, hidden FROM people")}
    if not rows:
        return _empty_seeds()
    face_ids = np.array([r[1] for r in rows], np.int64)
    person_of = np.array([r[0] for r in rows], np.int64)
    vecs, found = _vectors(catalog, model, face_ids, lookup)
    face_ids, person_of, vecs = face_ids[found], person_of[found], vecs
    if len(face_ids) == 0:
        return _empty_seeds()
    pids, starts = np.unique(person_of, return_index=True)
    ends = np.append(starts[1:], len(person_of))
    chosen, new_starts, cents = [], [], []
    for lo, hi in zip(starts, ends):
        count = hi - lo
        pick = np.unique(np.linspace(lo, hi - 1, min(count, SEEDS_PER_PERSON)).round().astype(np.int64))
        new_starts.append(sum(len(c) for c in chosen))
        chosen.append(pick)
        c = vecs[lo:hi].mean(axis=0)
        cents.append(c / max(float(np.linalg.norm(c)), 1e-12))
    idx = np.concatenate(chosen)
    return Seeds(
        person_ids=pids,
        hidden=np.array([hidden_of.get(int(p), False) for p in pids], bool),
        vectors=np.ascontiguousarray(vecs[idx]),
        starts=np.array(new_starts, np.int64),
        centroids=np.array(cents, np.float32),
    )


def _empty_seeds() -> Seeds:
    z = np.zeros((0, 0), np.float32)
    return Seeds(np.zeros(0, np.int64), np.zeros(0, bool), z, np.zeros(0, np.int64), z)


def _vectors(catalog, model: str, face_ids: np.ndarray, lookup=None) -> tuple[np.ndarray, np.ndarray]:
    """Unit embeddings of ``face_ids`` (those that have one) and the mask of found ids."""
    if lookup is not None:
        ids, X = lookup
    else:
        ids, X = catalog.embeddings(model, face_ids.tolist())
        X = normalize(X)
    pos = np.searchsorted(ids, face_ids)
    pos = np.minimum(pos, max(len(ids) - 1, 0))
    found = (len(ids) > 0) & (ids[pos] == face_ids) if len(ids) else np.zeros(len(face_ids), bool)
    return X[pos[found]] if len(ids) else np.zeros((0, 0), np.float32), found


def normalize(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32)."""
    X = np.asarray(X, dtype=np.float32)
    if X.size == 0:
        return X
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def rejected_pairs(catalog) -> set[tuple[int, int]]:
    """Every ``(face_id, person_id)`` "not this person" decision."""
    return {(int(a), int(b)) for a, b in catalog.conn.execute("SELECT face_id, person_id FROM rejections")}


def mask_rejections(dist: np.ndarray, face_ids: np.ndarray, seeds: Seeds, rejected: set) -> None:
    """Set the distance of every rejected (face, person) pair to infinity, in place."""
    if not rejected or len(seeds) == 0:
        return
    row_of = {int(f): i for i, f in enumerate(face_ids)}
    col_of = {int(p): j for j, p in enumerate(seeds.person_ids)}
    for f, p in rejected:
        i, j = row_of.get(f), col_of.get(p)
        if i is not None and j is not None:
            dist[i, j] = np.inf


def nearest_two(dist: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column of the nearest person, its distance and the next-nearest distance, per row."""
    n, p = dist.shape
    if p == 0:
        return np.full(n, -1), np.full(n, np.inf, np.float32), np.full(n, np.inf, np.float32)
    best = np.argmin(dist, axis=1)
    d1 = dist[np.arange(n), best]
    if p == 1:
        return best, d1, np.full(n, np.inf, np.float32)
    d2 = np.partition(dist, 1, axis=1)[:, 1]
    return best, d1, d2


def person_photos(catalog, kinds: tuple[str, ...] = ("user", "auto")) -> set[tuple[int, int]]:
    """``(photo_id, person_id)`` of every face assigned to a person in one of the ways ``kinds``."""
    marks = ",".join("?" * len(kinds))
    return {
        (int(a), int(b))
        for a, b in catalog.conn.execute(
            "SELECT photo_id, person_id FROM faces WHERE person_id IS NOT NULL AND ignored = 0 "
            f"AND assigned IN ({marks})",
            kinds,
        )
    }


def suggest(
    catalog, *, model: str | None = None, settings: ClusterSettings | None = None, lookup=None
) -> int:
    """Mark faces close to exactly one named person as suggestions; returns how many are suggested.

    Re-evaluates every pending suggestion (it may vanish or change); never touches faces the user
    decided. See the module docstring for the rule.

    Args:
        catalog: The catalog.
        model: Embedding model (default: the catalog's).
        settings: Clustering settings (default: the model's at the catalog's sensitivity).
        lookup: Optional ``(ids, X)`` embeddings already loaded (ids sorted, rows unit).
    """
    model = model or current_model(catalog)
    if model is None:
        return 0
    settings = settings or catalog_settings(catalog, model)
    rows = catalog.conn.execute(
        "SELECT f.id, f.photo_id, f.person_id, f.assigned FROM faces f JOIN photos ph ON ph.id = f.photo_id "
        "WHERE f.ignored = 0 AND f.low_quality = 0 AND ph.missing = 0 "
        "AND (f.person_id IS NULL OR f.assigned = 'suggested') ORDER BY f.id"
    ).fetchall()
    if not rows:
        return 0
    face_ids = np.array([r[0] for r in rows], np.int64)
    photo_ids = np.array([r[1] for r in rows], np.int64)
    before = {int(r[0]): (r[2], r[3]) for r in rows}
    seeds = load_seeds(catalog, model, lookup)
    target: dict[int, int | None] = {int(f): None for f in face_ids}
    if len(seeds):
        X, found = _vectors(catalog, model, face_ids, lookup)
        fids, phs = face_ids[found], photo_ids[found]
        dist = seeds.distances(X)
        mask_rejections(dist, fids, seeds, rejected_pairs(catalog))
        best, d1, d2 = nearest_two(dist)
        with np.errstate(invalid="ignore"):  # inf - inf where every person was rejected
            ok = (d1 <= settings.suggest_distance) & (d2 - d1 >= settings.suggest_margin)
        taken = person_photos(catalog)
        chosen: dict[tuple[int, int], tuple[float, int]] = {}
        for i in np.nonzero(ok)[0]:
            col = int(best[i])
            if seeds.hidden[col]:
                continue
            pid = int(seeds.person_ids[col])
            key = (int(phs[i]), pid)
            if key in taken:
                continue
            if key not in chosen or d1[i] < chosen[key][0]:
                chosen[key] = (float(d1[i]), int(fids[i]))
        for (_photo, pid), (_d, fid) in chosen.items():
            target[fid] = pid
    updates = []
    for fid, pid in target.items():
        old_pid, old_assigned = before[fid]
        new = (pid, "suggested" if pid is not None else None)
        if (old_pid, old_assigned) != new:
            updates.append((new[0], new[1], fid, old_pid, old_assigned))
    if updates:
        with catalog.transaction():
            # only rows still as read: a decision taken meanwhile wins
            catalog.conn.executemany(
                "UPDATE faces SET person_id = ?, assigned = ? WHERE id = ? AND ignored = 0 "
                "AND person_id IS ? AND assigned IS ?",
                updates,
            )
    return sum(1 for v in target.values() if v is not None)
