"""A face gallery in one SQLite file: enrolled identities and their embeddings.

Every face is stored with its embedding (float32 blob), the model that made it, the
preprocessing the crop went through, the source file, the face's index in that file, its
box and detection probability. One gallery can hold embeddings of several models, but
they are never mixed: a model name is bound to one embedding size and one preprocessing
when its first face is added, and :meth:`Gallery.search` only compares a query with faces
of the same model.

Location: ``--gallery PATH`` on the command line, else ``$TORCHFACE_GALLERY``, else
``gallery.sqlite`` in the torchface home folder (``$TORCHFACE_HOME``, default
``~/.cache/torchface``); see :func:`default_gallery_path`.

Writes are transactional (a killed process leaves the gallery as of its last commit).
Search loads each model's embedding matrix once per :class:`Gallery` object, sorted by
identity, and answers a batch of queries with one matrix product; the cache is refreshed
only when this object or another process has written to the file since.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._home import default_gallery_path
from .errors import TorchfaceError
from .verification import threshold_for

SCHEMA_VERSION = 1
UNKNOWN = "unknown"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS models (
    name TEXT PRIMARY KEY,
    dim INTEGER NOT NULL,
    preprocessing TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS faces (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    model TEXT NOT NULL REFERENCES models(name),
    embedding BLOB NOT NULL,
    source TEXT,
    face_index INTEGER,
    x1 REAL, y1 REAL, x2 REAL, y2 REAL,
    prob REAL,
    added REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS faces_model_name ON faces (model, name);
"""


class GalleryError(TorchfaceError):
    """The gallery file is unusable, or a request would mix models."""


@dataclass(frozen=True)
class Match:
    """One gallery identity close to a query face.

    Attributes:
        name: The enrolled identity.
        distance: L2 distance between the query and the identity's closest face.
        face_id: Row id of that closest face.
        source: The file that face was enrolled from.
    """

    name: str
    distance: float
    face_id: int
    source: str | None


@dataclass(frozen=True)
class SearchResult:
    """The top-k identities for one query, closest first.

    Attributes:
        matches: Up to k identities, sorted by distance.
        threshold: Distance beyond which the query is "unknown".
    """

    matches: list[Match]
    threshold: float

    @property
    def best(self) -> Match | None:
        """The closest identity, or None for an empty gallery."""
        return self.matches[0] if self.matches else None

    @property
    def known(self) -> bool:
        """Whether the closest identity is within the threshold."""
        return self.best is not None and self.best.distance <= self.threshold

    @property
    def identity(self) -> str:
        """The closest identity's name, or ``"unknown"`` beyond the threshold."""
        best = self.best
        return best.name if best is not None and self.known else UNKNOWN


@dataclass(frozen=True)
class IdentitySummary:
    """An enrolled identity under one model."""

    name: str
    model: str
    faces: int


@dataclass(frozen=True)
class ModelSummary:
    """An embedding space held by the gallery."""

    name: str
    dim: int
    preprocessing: str
    faces: int
    identities: int


@dataclass(frozen=True)
class FaceRecord:
    """A stored face (without its embedding)."""

    id: int
    name: str
    model: str
    source: str | None
    face_index: int | None
    box: tuple[float, float, float, float] | None
    prob: float | None
    added: float


@dataclass
class _Index:
    """A model's embeddings, sorted by identity, for search."""

    names: np.ndarray  # (U,) identity names
    starts: np.ndarray  # (U,) first row of each identity in `matrix`
    matrix: np.ndarray  # (M, D) float32
    sq_norms: np.ndarray  # (M,) float32
    face_ids: np.ndarray  # (M,) int64
    sources: list[str | None]


def check_name(name: str) -> str:
    """A stripped identity name; raises GalleryError for empty or reserved names."""
    clean = name.strip()
    if not clean:
        raise GalleryError("an identity name cannot be empty")
    if clean.lower() == UNKNOWN:
        raise GalleryError(f"{UNKNOWN!r} is reserved for faces that match nobody")
    return clean


class Gallery:
    """An SQLite face gallery.

    Args:
        path: The gallery file; created (with its folder) when missing. Defaults to
            :func:`default_gallery_path`.
        create: Create the file when missing; otherwise a missing file is an error.

    Example:
        >>> with Gallery("people.sqlite") as g:  # doctest: +SKIP
        ...     g.add("ada", emb, model="vggface2", preprocessing="mtcnn160")
        ...     g.search(query, model="vggface2", preprocessing="mtcnn160")[0].identity
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, create: bool = True) -> None:
        self.path = Path(path) if path is not None else default_gallery_path()
        if not self.path.exists():
            if not create:
                raise GalleryError(f"no gallery at {self.path} (enroll someone first)")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None)
            self._conn.execute("PRAGMA synchronous=FULL")
            self._init_schema()
        except sqlite3.DatabaseError as e:
            raise GalleryError(f"{self.path} is not a usable torchface gallery: {e}") from e
        self._depth = 0
        self._writes = 0
        self._cache: dict[str, tuple[tuple[int, int], _Index]] = {}

    # ------------------------------------------------------------------ lifecycle
    def _init_schema(self) -> None:
        with self._raw_transaction():
            for statement in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                self._conn.execute(statement)
            row = self._conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                self._conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                raise GalleryError(
                    f"{self.path} has gallery schema {row[0]}; this torchface reads up to "
                    f"{SCHEMA_VERSION} (upgrade torchface)"
                )

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def __enter__(self) -> Gallery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _raw_transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several writes into one transaction (nestable; commits at the outermost).

        Everything written inside is committed together, or not at all if the block
        raises or the process dies.
        """
        if self._depth == 0:
            self._conn.execute("BEGIN IMMEDIATE")
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth -= 1
            if self._depth == 0:
                self._conn.execute("ROLLBACK")
                self._writes += 1
            raise
        self._depth -= 1
        if self._depth == 0:
            self._conn.execute("COMMIT")
            self._writes += 1

    # ------------------------------------------------------------------ writing
    def _bind_model(self, model: str, dim: int, preprocessing: str) -> None:
        row = self._conn.execute("SELECT dim, preprocessing FROM models WHERE name=?", (model,)).fetchone()
        if row is None:
            self._conn.execute("INSERT INTO models VALUES (?, ?, ?)", (model, dim, preprocessing))
            return
        if row[0] != dim or row[1] != preprocessing:
            raise GalleryError(
                f"{self.path} holds {model!r} embeddings of size {row[0]} made with "
                f"preprocessing {row[1]!r}; these are of size {dim} with {preprocessing!r}. "
                "Embeddings made differently are never mixed: use another gallery."
            )

    def add(
        self,
        name: str,
        embeddings: np.ndarray,
        *,
        model: str,
        preprocessing: str,
        sources: Sequence[str | None] | None = None,
        face_indices: Sequence[int | None] | None = None,
        boxes: np.ndarray | Sequence[Sequence[float]] | None = None,
        probs: Sequence[float | None] | None = None,
    ) -> list[int]:
        """Enroll faces of one identity, in one transaction.

        Args:
            name: The identity.
            embeddings: (N, D) or (D,) embeddings.
            model: The embedding model's name (e.g. ``"vggface2"``).
            preprocessing: How the crops were made; must match earlier faces of ``model``.
            sources: Source file of each face.
            face_indices: Index of each face in its source image.
            boxes: (N, 4) boxes x1, y1, x2, y2 in source pixels.
            probs: Detection probability of each face.

        Returns:
            The new faces' row ids.

        Raises:
            GalleryError: empty or reserved name, or ``model`` already bound to another
                embedding size or preprocessing.
        """
        name = check_name(name)
        emb = np.asarray(embeddings, dtype="<f4")
        if emb.ndim == 1:
            emb = emb[None, :]
        if emb.ndim != 2 or emb.shape[0] == 0:
            raise GalleryError(f"expected (N, D) embeddings, got shape {emb.shape}")
        n = emb.shape[0]

        def column(values: Sequence | None) -> list:
            if values is None:
                return [None] * n
            values = list(values)
            if len(values) != n:
                raise GalleryError(f"expected {n} values per face, got {len(values)}")
            return values

        src, idx, prb = column(sources), column(face_indices), column(probs)
        bxs = column(None if boxes is None else [list(map(float, b)) for b in boxes])
        now = time.time()
        ids: list[int] = []
        with self.transaction():
            self._bind_model(model, emb.shape[1], preprocessing)
            for i in range(n):
                box = bxs[i] if bxs[i] is not None else [None] * 4
                cur = self._conn.execute(
                    "INSERT INTO faces (name, model, embedding, source, face_index, "
                    "x1, y1, x2, y2, prob, added) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        name,
                        model,
                        np.ascontiguousarray(emb[i]).tobytes(),
                        None if src[i] is None else str(src[i]),
                        None if idx[i] is None else int(idx[i]),
                        *box,
                        None if prb[i] is None else float(prb[i]),
                        now,
                    ),
                )
                ids.append(int(cur.lastrowid))
        return ids

    def remove(self, name: str, model: str | None = None) -> int:
        """Delete an identity's faces (of every model, or only ``model``); returns the count."""
        with self.transaction():
            if model is None:
                cur = self._conn.execute("DELETE FROM faces WHERE name=?", (name,))
            else:
                cur = self._conn.execute("DELETE FROM faces WHERE name=? AND model=?", (name, model))
            self._conn.execute("DELETE FROM models WHERE name NOT IN (SELECT DISTINCT model FROM faces)")
        return cur.rowcount

    # ------------------------------------------------------------------ reading
    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM faces").fetchone()[0])

    def models(self) -> list[ModelSummary]:
        """The embedding spaces in the gallery, with face and identity counts."""
        rows = self._conn.execute(
            "SELECT m.name, m.dim, m.preprocessing, COUNT(f.id), COUNT(DISTINCT f.name) "
            "FROM models m LEFT JOIN faces f ON f.model = m.name GROUP BY m.name ORDER BY m.name"
        ).fetchall()
        return [ModelSummary(*r) for r in rows]

    def identities(self, model: str | None = None) -> list[IdentitySummary]:
        """Enrolled identities with their face counts, per model, sorted by name."""
        sql = "SELECT name, model, COUNT(*) FROM faces"
        args: tuple = ()
        if model is not None:
            sql += " WHERE model=?"
            args = (model,)
        sql += " GROUP BY name, model ORDER BY name, model"
        return [IdentitySummary(*r) for r in self._conn.execute(sql, args)]

    def faces(self, name: str | None = None, model: str | None = None) -> list[FaceRecord]:
        """Stored faces (without embeddings), optionally of one identity and/or model."""
        sql = "SELECT id, name, model, source, face_index, x1, y1, x2, y2, prob, added FROM faces"
        where, args = [], []
        if name is not None:
            where.append("name=?")
            args.append(name)
        if model is not None:
            where.append("model=?")
            args.append(model)
        if where:
            sql += " WHERE " + " AND ".join(where)
        out = []
        for r in self._conn.execute(sql + " ORDER BY id", args):
            box = None if r[5] is None else (r[5], r[6], r[7], r[8])
            out.append(FaceRecord(r[0], r[1], r[2], r[3], r[4], box, r[9], r[10]))
        return out

    def sources(self, name: str | None = None, model: str | None = None) -> set[str]:
        """The source files faces were enrolled from (to skip them on a re-run)."""
        return {f.source for f in self.faces(name, model) if f.source is not None}

    def embeddings(self, model: str) -> np.ndarray:
        """All embeddings of ``model`` as an (M, D) float32 matrix, sorted by identity."""
        return self._index(model).matrix

    # ------------------------------------------------------------------ search
    def _version(self) -> tuple[int, int]:
        external = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        return (external, self._writes)

    def _index(self, model: str) -> _Index:
        version = self._version()
        cached = self._cache.get(model)
        if cached is not None and cached[0] == version:
            return cached[1]
        row = self._conn.execute("SELECT dim FROM models WHERE name=?", (model,)).fetchone()
        dim = int(row[0]) if row else 0
        rows = self._conn.execute(
            "SELECT id, name, embedding, source FROM faces WHERE model=? ORDER BY name, id",
            (model,),
        ).fetchall()
        if rows:
            matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4")
            matrix = matrix.reshape(len(rows), dim).astype(np.float32)
            names_per_face = np.array([r[1] for r in rows], dtype=object)
            change = np.flatnonzero(names_per_face[1:] != names_per_face[:-1]) + 1
            starts = np.concatenate([[0], change]).astype(np.int64)
            names = names_per_face[starts]
        else:
            matrix = np.zeros((0, dim), np.float32)
            starts = np.zeros(0, np.int64)
            names = np.zeros(0, dtype=object)
        index = _Index(
            names=names,
            starts=starts,
            matrix=matrix,
            sq_norms=(matrix * matrix).sum(1),
            face_ids=np.array([r[0] for r in rows], dtype=np.int64),
            sources=[r[3] for r in rows],
        )
        self._cache[model] = (version, index)
        return index

    def check_model(
        self,
        model: str,
        preprocessing: str | None = None,
        dim: int | None = None,
        *,
        create_ok: bool = False,
    ) -> None:
        """Check that faces made with ``model`` / ``preprocessing`` / ``dim`` fit the gallery.

        Args:
            model: The embedding model's name.
            preprocessing: When given, must equal the stored preprocessing of ``model``.
            dim: When given, must equal the stored embedding size of ``model``.
            create_ok: Accept a model the gallery does not hold yet (for enrolling).

        Raises:
            GalleryError: the gallery holds no faces of ``model`` (unless ``create_ok``),
                or holds them with another preprocessing or size.
        """
        row = self._conn.execute("SELECT dim, preprocessing FROM models WHERE name=?", (model,)).fetchone()
        if row is None:
            if create_ok:
                return
            held = ", ".join(f"{m.name} ({m.faces} faces)" for m in self.models()) or "nothing"
            raise GalleryError(
                f"{self.path} has no faces embedded with model {model!r} (it holds: {held}); "
                "embeddings of different models are never compared"
            )
        if dim is not None and row[0] != dim:
            raise GalleryError(f"embeddings have size {dim}; {model!r} faces have {row[0]}")
        if preprocessing is not None and row[1] != preprocessing:
            raise GalleryError(
                f"{model!r} faces in {self.path} were made with preprocessing {row[1]!r}, "
                f"these with {preprocessing!r}; they are never mixed"
            )

    def search(
        self,
        queries: np.ndarray,
        *,
        model: str,
        preprocessing: str | None = None,
        top_k: int = 5,
        threshold: float | None = None,
        chunk: int = 256,
    ) -> list[SearchResult]:
        """Find the closest identities of each query embedding.

        An identity's distance is that of its closest enrolled face. The embedding matrix
        of ``model`` is read once and cached; each chunk of queries costs one matrix
        product against it.

        Args:
            queries: (N, D) or (D,) embeddings made with ``model``.
            model: The model that made the queries; only its faces are searched.
            preprocessing: When given, must equal the gallery's preprocessing for ``model``.
            top_k: How many identities to return per query.
            threshold: "unknown" beyond this distance; default: the model's documented
                threshold (:func:`torchface.verification.threshold_for`).
            chunk: Queries per matrix product (bounds memory).

        Returns:
            One :class:`SearchResult` per query.

        Raises:
            GalleryError: the gallery has no faces of ``model``, or they were made with
                another embedding size or preprocessing.
        """
        q = np.asarray(queries, dtype=np.float32)
        if q.ndim == 1:
            q = q[None, :]
        if top_k < 1:
            raise ValueError("top_k must be at least 1")
        self.check_model(model, preprocessing, q.shape[1])
        thr = threshold_for(model) if threshold is None else float(threshold)
        index = self._index(model)
        results: list[SearchResult] = []
        if index.matrix.shape[0] == 0:
            return [SearchResult([], thr) for _ in range(q.shape[0])]
        k = min(top_k, len(index.names))
        ends = np.append(index.starts[1:], index.matrix.shape[0])
        for lo in range(0, q.shape[0], chunk):
            block = q[lo : lo + chunk]
            sq = (block * block).sum(1)[:, None] + index.sq_norms[None, :] - 2.0 * (block @ index.matrix.T)
            per_identity = np.minimum.reduceat(sq, index.starts, axis=1)
            if k < per_identity.shape[1]:
                top = np.argpartition(per_identity, k - 1, axis=1)[:, :k]
            else:
                top = np.broadcast_to(np.arange(k), (block.shape[0], k))
            for row, ids in enumerate(top):
                matches = []
                for u in ids:
                    s, e = int(index.starts[u]), int(ends[u])
                    j = s + int(np.argmin(sq[row, s:e]))
                    exact = float(
                        np.linalg.norm(block[row].astype(np.float64) - index.matrix[j].astype(np.float64))
                    )
                    matches.append(
                        Match(str(index.names[u]), exact, int(index.face_ids[j]), index.sources[j])
                    )
                matches.sort(key=lambda m: (m.distance, m.name))
                results.append(SearchResult(matches, thr))
        return results
