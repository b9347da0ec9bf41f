"""Grouping the undecided faces into people: DBSCAN, same-photo rule, seeds, stable group ids.

What the system may change (and what it never touches):

* **Decided, never touched**: faces with ``assigned='user'`` (named, moved or confirmed by the
  user), ignored faces and faces of missing photos. Low-quality faces are left out of clustering
  (kept for the user to name); one the system had grouped or attached before a rescan marked it
  low quality leaves that group or person.
* **Re-evaluated at every run**: faces without a person (``assigned`` NULL; their
  ``cluster_id`` is their unnamed group), faces the system attached (``auto``) and pending
  suggestions (``suggested``). Such a face without an embedding of the current model (not
  re-embedded after a model switch) leaves its group and automatic person: they came from
  another model.
* **Rejections** ("not this person", table ``rejections``) are constraints, never undone: a face
  is never attached or suggested to a person it was rejected for.

A run (:func:`cluster`):

1. DBSCAN (scikit-learn, ``metric="precomputed"``) on the L2-normalised embeddings of the
   re-evaluated faces, over the sparse radius graph of :mod:`.graph`; eps and min_samples from
   :mod:`.settings` (per model, moved by the sensitivity).
2. Same-photo rule (precision first): two faces of one photo are two people. In a group holding
   several faces of one photo, the one closest to the group's core (the mean of its core faces)
   stays and the others are ejected (no group). Groups left with one face dissolve.
3. Named people are fixed seeds: a group is attached to person P (``assigned='auto'``) only when
   at least ``attach_fraction`` of its faces lie within eps of P's confirmed faces with the
   suggestion margin over every other person, and none of its faces is that close to another
   person. Faces rejected for P, or whose photo already shows P, stay in the group.
4. Stable ids: new groups take the ids of the old groups they share most faces with (greedy, by
   overlap); the others get fresh ids from ``catalog.next_id("cluster")``.
5. Suggestions (:func:`.suggestions.suggest`) for the faces still without a person.

The computation runs outside any write transaction; the results are written in one transaction
that skips every face whose state changed meanwhile (a user decision taken during the run wins).
A run is not an undoable user operation: it never changes a decision.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .graph import radius_graph
from .settings import SENSITIVITY_KEY, ClusterSettings, catalog_settings, current_model, validate_sensitivity
from .suggestions import (
    load_seeds,
    nearest_two,
    normalize,
    person_photos,
    rejected_pairs,
    suggest,
)


@dataclass
class ClusterSummary:
    """What one clustering run did."""

    model: str | None
    faces: int = 0  #: faces clustered (undecided, embedded by the model)
    groups: int = 0  #: unnamed groups after the run
    grouped: int = 0  #: faces in unnamed groups
    noise: int = 0  #: clustered faces left without a group or person
    kept_ids: int = 0  #: groups that kept an id from before
    new_ids: int = 0  #: groups with a fresh id
    ejected: int = 0  #: faces ejected by the same-photo rule
    auto: int = 0  #: faces attached to named people
    suggested: int = 0  #: faces with a pending suggestion after the run
    skipped: int = 0  #: faces whose state changed during the run (left as they were)
    eps: float = 0.0
    min_samples: int = 0
    sensitivity: float = 0.5
    source: str = ""
    elapsed_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


def cluster(catalog, *, model: str | None = None, sensitivity: float | None = None) -> ClusterSummary:
    """Group the undecided faces of the catalog (see the module docstring).

    Args:
        catalog: The catalog.
        model: Embedding model (default: catalog setting ``"model"``).
        sensitivity: 0..1; when given it is stored as the catalog's ``cluster.sensitivity``.

    Returns:
        A :class:`ClusterSummary`.
    """
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    if sensitivity is not None:
        catalog.set_setting(SENSITIVITY_KEY, validate_sensitivity(sensitivity))
    model = model or current_model(catalog)
    settings = catalog_settings(catalog, model)
    summary = ClusterSummary(
        model=model,
        eps=settings.eps,
        min_samples=settings.min_samples,
        sensitivity=settings.sensitivity,
        source=settings.source,
        timings=timings,
    )
    if model is None:
        summary.elapsed_s = time.perf_counter() - t0
        return summary

    # -- read
    t = time.perf_counter()
    rows = catalog.conn.execute(
        "SELECT f.id, f.photo_id, f.cluster_id, f.person_id, f.assigned FROM faces f "
        "JOIN photos ph ON ph.id = f.photo_id "
        "WHERE f.ignored = 0 AND f.low_quality = 0 AND ph.missing = 0 "
        "AND (f.assigned IS NULL OR f.assigned != 'user') ORDER BY f.id"
    ).fetchall()
    all_ids, all_X = catalog.embeddings(model)
    all_X = normalize(all_X)
    lookup = (all_ids, all_X)
    face_ids = np.array([r[0] for r in rows], np.int64)
    pos = np.searchsorted(all_ids, face_ids) if len(all_ids) else np.zeros(len(face_ids), np.int64)
    pos = np.minimum(pos, max(len(all_ids) - 1, 0))
    has = (all_ids[pos] == face_ids) if len(all_ids) else np.zeros(len(face_ids), bool)
    # undecided faces without an embedding of this model (e.g. not re-embedded after a model
    # switch) leave their old group and automatic person: those came from another model
    stale = [
        (None, None, None, r[0], r[2], r[3], r[4])
        for r, h in zip(rows, has)
        if not h and r[2:] != (None,) * 3
    ]
    rows = [r for r, h in zip(rows, has) if h]
    face_ids, X = face_ids[has], all_X[pos[has]] if len(all_ids) else np.zeros((0, 0), np.float32)
    photo_ids = np.array([r[1] for r in rows], np.int64)
    old_cluster = np.array([-1 if r[2] is None else r[2] for r in rows], np.int64)
    before = {int(r[0]): (r[2], r[3], r[4]) for r in rows}
    summary.faces = n = len(face_ids)
    timings["read"] = time.perf_counter() - t

    # -- DBSCAN
    labels = np.full(n, -1, np.int64)
    core = np.zeros(n, bool)
    t = time.perf_counter()
    if n >= 2:
        from sklearn.cluster import DBSCAN

        timings["import"] = time.perf_counter() - t
        t = time.perf_counter()
        graph = radius_graph(X, settings.eps, max_neighbors=max(24, 4 * settings.min_samples))
        timings["graph"] = time.perf_counter() - t
        t = time.perf_counter()
        db = DBSCAN(eps=settings.eps, min_samples=settings.min_samples, metric="precomputed").fit(graph)
        labels = db.labels_.astype(np.int64)
        core[db.core_sample_indices_] = True
        del graph
    timings["dbscan"] = time.perf_counter() - t

    # -- same-photo rule
    t = time.perf_counter()
    labels, summary.ejected = enforce_cannot_link(labels, photo_ids, X, core)
    timings["cannot_link"] = time.perf_counter() - t

    # -- named people as seeds
    t = time.perf_counter()
    person = np.full(n, -1, np.int64)
    seeds = load_seeds(catalog, model, lookup)
    if len(seeds) and (labels >= 0).any():
        person = attach_groups(catalog, labels, face_ids, photo_ids, X, seeds, settings)
        labels = np.where(person >= 0, -1, labels)
        labels = _drop_small(labels)
    summary.auto = int((person >= 0).sum())
    timings["seeds"] = time.perf_counter() - t

    # -- stable ids
    t = time.perf_counter()
    new_ids, kept = match_ids(labels, old_cluster, lambda: new_group_id(catalog))
    summary.kept_ids, summary.new_ids = kept, len(new_ids) - kept
    cluster_id = np.array([new_ids[label] if label >= 0 else -1 for label in labels], np.int64)

    # -- write
    updates = stale
    for i, fid in enumerate(face_ids.tolist()):
        cid = None if cluster_id[i] < 0 else int(cluster_id[i])
        pid = None if person[i] < 0 else int(person[i])
        new = (cid, pid, "auto" if pid is not None else None)
        old = before[fid]
        if old != new:
            updates.append((*new, fid, *old))
    with catalog.transaction():
        conn = catalog.conn
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS cluster_updates (cluster_id, person_id, assigned, "
            "id INTEGER PRIMARY KEY, old_cluster, old_person, old_assigned)"
        )
        conn.execute("DELETE FROM cluster_updates")
        conn.executemany("INSERT INTO cluster_updates VALUES (?, ?, ?, ?, ?, ?, ?)", updates)
        # only rows still as they were read: a decision taken during the run wins
        cur = conn.execute(
            "UPDATE faces SET cluster_id = u.cluster_id, person_id = u.person_id, assigned = u.assigned "
            "FROM cluster_updates u WHERE faces.id = u.id AND faces.ignored = 0 AND faces.low_quality = 0 "
            "AND faces.cluster_id IS u.old_cluster AND faces.person_id IS u.old_person "
            "AND faces.assigned IS u.old_assigned"
        )
        summary.skipped = len(updates) - max(cur.rowcount, 0)
        conn.execute("DELETE FROM cluster_updates")
        # faces a rescan marked low quality leave their group and automatic person
        conn.execute(
            "UPDATE faces SET cluster_id = NULL, person_id = NULL, assigned = NULL WHERE low_quality = 1 "
            "AND (assigned IS NULL OR assigned != 'user') "
            "AND (cluster_id IS NOT NULL OR person_id IS NOT NULL)"
        )
    timings["write"] = time.perf_counter() - t

    t = time.perf_counter()
    summary.suggested = suggest(catalog, model=model, settings=settings, lookup=lookup)
    timings["suggest"] = time.perf_counter() - t
    summary.groups = len(new_ids)
    summary.grouped = int((labels >= 0).sum())
    summary.noise = int(((labels < 0) & (person < 0)).sum())
    summary.elapsed_s = time.perf_counter() - t0
    return summary


def after_model_switch(catalog, model: str, *, sensitivity: float | None = None) -> ClusterSummary:
    """Make ``model`` the catalog's model and re-cluster (the scan's ``reembed`` calls this).

    Every decision lives on the face rows (person, ``assigned='user'``, ignored, rejections), so it
    survives as it is; only the undecided faces are grouped again, with the new embeddings and the
    new model's defaults, and the system's ``auto``/``suggested`` attachments are re-evaluated.
    """
    catalog.set_setting("model", model)
    return cluster(catalog, model=model, sensitivity=sensitivity)


def enforce_cannot_link(
    labels: np.ndarray, photo_ids: np.ndarray, X: np.ndarray, core: np.ndarray
) -> tuple[np.ndarray, int]:
    """Eject all but the most central face of each photo from each group; returns (labels, ejected).

    "Most central": highest cosine to the normalised mean of the group's core faces (all its
    faces when it has no core). Groups left with a single face dissolve.
    """
    labels = labels.copy()
    grouped = np.nonzero(labels >= 0)[0]
    if len(grouped) == 0:
        return labels, 0
    lab = labels[grouped]
    key = lab * (int(photo_ids.max()) + 1) + photo_ids[grouped]
    uniq, counts = np.unique(key, return_counts=True)
    if (counts < 2).all():
        return labels, 0
    centre = _centroids(lab, X[grouped], core[grouped])
    sim = np.einsum("ij,ij->i", X[grouped], centre[lab])
    order = np.lexsort((-sim, key))  # by (group, photo), most central first
    first = np.ones(len(order), bool)
    first[1:] = key[order][1:] != key[order][:-1]
    eject = grouped[order[~first]]
    labels[eject] = -1
    return _drop_small(labels), int(len(eject))


def _centroids(lab: np.ndarray, X: np.ndarray, core: np.ndarray) -> np.ndarray:
    """(max label + 1, D) unit mean of each group's core faces (all its faces without cores)."""
    k = int(lab.max()) + 1
    sums = _group_sums(lab[core], X[core], k)
    has_core = np.bincount(lab[core], minlength=k) > 0
    if not has_core.all():
        sums[~has_core] = _group_sums(lab, X, k)[~has_core]
    return normalize(sums)


def _group_sums(lab: np.ndarray, X: np.ndarray, k: int) -> np.ndarray:
    """(k, D) sum of the rows of each label."""
    from scipy import sparse

    onehot = sparse.csr_matrix(
        (np.ones(len(lab), np.float32), (lab, np.arange(len(lab)))), shape=(k, len(lab))
    )
    return np.asarray(onehot @ X, dtype=np.float32)


def _drop_small(labels: np.ndarray) -> np.ndarray:
    """Dissolve groups of a single face."""
    grouped = labels >= 0
    if not grouped.any():
        return labels
    counts = np.bincount(labels[grouped])
    single = grouped & (counts[np.where(grouped, labels, 0)] < 2)
    return np.where(single, -1, labels)


def attach_groups(
    catalog,
    labels: np.ndarray,
    face_ids: np.ndarray,
    photo_ids: np.ndarray,
    X: np.ndarray,
    seeds,
    settings: ClusterSettings,
) -> np.ndarray:
    """Person id (or -1) per face: groups confidently close to one named person join them as ``auto``."""
    person = np.full(len(labels), -1, np.int64)
    grouped = np.nonzero(labels >= 0)[0]
    dist = seeds.distances(X[grouped])
    best, d1, d2 = nearest_two(dist)
    with np.errstate(invalid="ignore"):  # inf - inf for faces far from everyone
        close = (d1 <= settings.eps) & (d2 - d1 >= settings.suggest_margin)
    near_any = d1 <= settings.eps
    rejected = rejected_pairs(catalog)
    # photos already showing a person: only the user's faces count (auto and suggested ones are
    # being re-evaluated by this very run), plus the faces this run attaches
    taken = person_photos(catalog, kinds=("user",))
    lab = labels[grouped]
    order = np.argsort(lab, kind="stable")
    bounds = np.searchsorted(lab[order], np.arange(int(lab.max()) + 2))
    for g in range(int(lab.max()) + 1):
        members = order[bounds[g] : bounds[g + 1]]
        if len(members) == 0 or not close[members].any():
            continue
        col = int(np.bincount(best[members][close[members]]).argmax())
        votes = int((close[members] & (best[members] == col)).sum())
        conflict = (near_any[members] & (best[members] != col)).any()
        if conflict or votes < settings.attach_fraction * len(members) or seeds.hidden[col]:
            continue
        pid = int(seeds.person_ids[col])
        for m in members:
            fid, ph = int(face_ids[grouped[m]]), int(photo_ids[grouped[m]])
            if (fid, pid) in rejected or (ph, pid) in taken:
                continue
            person[grouped[m]] = pid
            taken.add((ph, pid))
    return person


def new_group_id(catalog) -> int:
    """A fresh unnamed-group id (``catalog.next_id("cluster")``, kept above every id in use)."""
    with catalog.transaction():
        top = catalog.scalar("SELECT MAX(cluster_id) FROM faces") or 0
        if int(catalog.get_setting("counter.cluster", 0)) < top:
            catalog.set_setting("counter.cluster", int(top))
        return catalog.next_id("cluster")


def match_ids(labels: np.ndarray, old: np.ndarray, fresh) -> tuple[dict[int, int], int]:
    """Map each new label to a group id: the old id it shares most faces with, else a fresh one.

    Greedy by overlap (ties: the smaller old id, then the smaller label); each old id is given at
    most once. Returns ``({label: id}, number of labels that kept an old id)``.
    """
    mapping: dict[int, int] = {}
    both = (labels >= 0) & (old >= 0)
    if both.any():
        pairs, counts = np.unique(np.stack([labels[both], old[both]], axis=1), axis=0, return_counts=True)
        order = np.lexsort((pairs[:, 0], pairs[:, 1], -counts))
        used_old: set[int] = set()
        for i in order:
            label, oid = int(pairs[i, 0]), int(pairs[i, 1])
            if label in mapping or oid in used_old:
                continue
            mapping[label] = oid
            used_old.add(oid)
    kept = len(mapping)
    for label in np.unique(labels[labels >= 0]).tolist():
        if label not in mapping:
            mapping[label] = int(fresh())
    return mapping, kept
