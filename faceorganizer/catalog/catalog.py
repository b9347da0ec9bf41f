"""The SQLite catalog: one file per library, WAL mode, migrations, transactions, undo.

A :class:`Catalog` wraps one connection (use one per thread; SQLite's WAL lets a reader and
a writer work side by side, e.g. the window and the scan worker). Writes go through
:meth:`Catalog.transaction`; user decisions go through :meth:`Catalog.undoable`, which records
the rows an operation changes so that :meth:`Catalog.undo` and :meth:`Catalog.redo` can put
them back. Every committed transaction is durable (a kill -9 loses at most the one in flight).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from ..errors import CatalogError
from .schema import MIGRATIONS, PRIMARY_KEYS, SCHEMA_VERSION, TRACKED_COLUMNS

#: Undo entries kept; older ones are dropped.
UNDO_LIMIT = 500

Key = tuple[Any, ...]


class Catalog:
    """A photo library's catalog.

    Args:
        path: The SQLite file (created with its folder when missing), or ``":memory:"``.
        readonly: Open without writing (no migration; fails on a missing file).

    Raises:
        CatalogError: the file is not a catalog, is damaged, or was made by a newer version.
    """

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False) -> None:
        self.path = Path(path) if str(path) != ":memory:" else None
        try:
            if self.path is None:
                conn = sqlite3.connect(":memory:", check_same_thread=False)
            elif readonly:
                uri = f"file:{self.path.resolve().as_posix()}?mode=ro"
                conn = sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
        except (sqlite3.Error, OSError) as e:
            raise CatalogError(f"cannot open the catalog {path}: {e}") from e
        conn.isolation_level = None  # explicit BEGIN/COMMIT only
        conn.row_factory = sqlite3.Row
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self._depth = 0
        self._lock = threading.RLock()
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA foreign_keys = ON")
            if not readonly and self.path is not None:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate(readonly)
        except sqlite3.DatabaseError as e:
            conn.close()
            raise CatalogError(f"{path} is not a faceorganizer catalog or is damaged: {e}") from e

    # ------------------------------------------------------------------ lifecycle
    def close(self) -> None:
        """Close the connection (a WAL checkpoint happens on the last close)."""
        self.conn.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        """The schema version stored in the file."""
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self, readonly: bool) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise CatalogError(
                f"{self.path} was written by a newer faceorganizer (schema {version}, this version "
                f"knows {SCHEMA_VERSION}); upgrade faceorganizer to open it"
            )
        if version == SCHEMA_VERSION:
            return
        if readonly:
            raise CatalogError(f"{self.path} needs an upgrade (schema {version}); open it writable once")
        for target in range(version, SCHEMA_VERSION):
            with self.transaction():
                for statement in _statements(MIGRATIONS[target]):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {target + 1}")

    # ------------------------------------------------------------------ transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``); nested calls join the outer one.

        Commits when the block ends, rolls back when it raises.
        """
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self.conn
            except BaseException:
                self._depth = 0
                self.conn.execute("ROLLBACK")
                raise
            self._depth = 0
            self.conn.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        """Run one statement (reads, or writes inside :meth:`transaction`)."""
        return self.conn.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        """Rows of a query as dicts."""
        return [dict(r) for r in self.conn.execute(sql, params)]

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        """The first column of the first row, or None."""
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    # ------------------------------------------------------------------ settings
    def get_setting(self, key: str, default: Any = None) -> Any:
        """A JSON value from the ``meta`` table, or ``default``."""
        raw = self.scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return default if raw is None else json.loads(raw)

    def set_setting(self, key: str, value: Any) -> None:
        """Store a JSON value in the ``meta`` table (its own transaction unless inside one)."""
        with self.transaction():
            self.conn.execute(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

    def next_id(self, counter: str) -> int:
        """A new value of a named, never-reused counter (e.g. unnamed-group ids)."""
        with self.transaction():
            value = int(self.get_setting(f"counter.{counter}", 0)) + 1
            self.set_setting(f"counter.{counter}", value)
            return value

    # ------------------------------------------------------------------ embeddings
    def embeddings(self, model: str, face_ids: Iterable[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Face ids and their (N, D) float32 embeddings made by ``model``, ordered by face id."""
        if face_ids is None:
            rows = self.conn.execute(
                "SELECT face_id, vector FROM embeddings WHERE model = ? ORDER BY face_id", (model,)
            ).fetchall()
        else:
            wanted = sorted(set(int(i) for i in face_ids))
            rows = []
            for lo in range(0, len(wanted), 900):
                chunk = wanted[lo : lo + 900]
                marks = ",".join("?" * len(chunk))
                rows += self.conn.execute(
                    f"SELECT face_id, vector FROM embeddings WHERE model = ? AND face_id IN ({marks}) "
                    "ORDER BY face_id",
                    (model, *chunk),
                ).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        if not rows:
            return ids, np.zeros((0, 0), np.float32)
        blob = b"".join(r[1] for r in rows)
        return ids, np.frombuffer(blob, dtype=np.float32).reshape(len(rows), -1).copy()

    def put_embedding(self, face_id: int, model: str, vector: np.ndarray) -> None:
        """Store (or replace) one face's embedding for ``model`` (call inside a transaction)."""
        data = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
        self.conn.execute(
            "INSERT INTO embeddings(face_id, model, vector) VALUES (?, ?, ?) "
            "ON CONFLICT(face_id, model) DO UPDATE SET vector = excluded.vector",
            (int(face_id), model, data),
        )

    # ------------------------------------------------------------------ undo
    @contextlib.contextmanager
    def undoable(self, label: str) -> Iterator[UndoRecorder]:
        """One user operation: a transaction whose tracked rows can be undone and redone.

        Call ``rec.track(table, keys)`` *before* changing rows (``rec.created(table, keys)``
        for rows the operation inserts). The snapshot after is taken when the block ends.
        A new operation clears the redo stack.
        """
        with self.transaction():
            rec = UndoRecorder(self)
            yield rec
            changes = rec.finish()
            if changes:
                self.conn.execute("DELETE FROM undo_log WHERE state = 'undone'")
                self.conn.execute(
                    "INSERT INTO undo_log(label, created_at, changes) VALUES (?, ?, ?)",
                    (label, time.time(), json.dumps(changes)),
                )
                self.conn.execute(
                    "DELETE FROM undo_log WHERE id <= (SELECT MAX(id) FROM undo_log) - ?", (UNDO_LIMIT,)
                )

    def can_undo(self) -> str | None:
        """Label of the operation :meth:`undo` would revert, or None."""
        return self.scalar("SELECT label FROM undo_log WHERE state = 'done' ORDER BY id DESC LIMIT 1")

    def can_redo(self) -> str | None:
        """Label of the operation :meth:`redo` would re-apply, or None."""
        return self.scalar("SELECT label FROM undo_log WHERE state = 'undone' ORDER BY id LIMIT 1")

    def undo(self) -> str | None:
        """Revert the latest operation; returns its label, or None when there is nothing to undo."""
        with self.transaction():
            row = self.conn.execute(
                "SELECT id, label, changes FROM undo_log WHERE state = 'done' ORDER BY id DESC LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            _apply(self.conn, json.loads(row["changes"]), "before")
            self.conn.execute("UPDATE undo_log SET state = 'undone' WHERE id = ?", (row["id"],))
            return str(row["label"])

    def redo(self) -> str | None:
        """Re-apply the latest undone operation; returns its label, or None."""
        with self.transaction():
            row = self.conn.execute(
                "SELECT id, label, changes FROM undo_log WHERE state = 'undone' ORDER BY id LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            _apply(self.conn, json.loads(row["changes"]), "after")
            self.conn.execute("UPDATE undo_log SET state = 'done' WHERE id = ?", (row["id"],))
            return str(row["label"])

    def history(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest operations: id, label, created_at, state (newest first)."""
        return self.query(
            "SELECT id, label, created_at, state FROM undo_log ORDER BY id DESC LIMIT ?", (limit,)
        )


class UndoRecorder:
    """Collects before/after snapshots of the rows one operation changes."""

    def __init__(self, catalog: Catalog) -> None:
        self._conn = catalog.conn
        self._before: dict[str, dict[Key, dict[str, Any] | None]] = {}

    def track(self, table: str, keys: Iterable[Any]) -> None:
        """Snapshot rows before they change; ``keys`` are ids or primary-key tuples."""
        seen = self._before.setdefault(table, {})
        fresh = [k for k in map(_key, keys) if k not in seen]
        seen.update(_snapshot(self._conn, table, fresh))

    def created(self, table: str, keys: Iterable[Any]) -> None:
        """Mark rows this operation inserts (undo deletes them)."""
        seen = self._before.setdefault(table, {})
        for k in map(_key, keys):
            seen.setdefault(k, None)

    def finish(self) -> list[dict[str, Any]]:
        """The changes as JSON-ready records; unchanged rows are dropped."""
        changes = []
        for table, before in self._before.items():
            after = _snapshot(self._conn, table, list(before))
            for key, old in before.items():
                new = after.get(key)
                if old != new:
                    changes.append({"table": table, "key": list(key), "before": old, "after": new})
        return changes


def _key(k: Any) -> Key:
    return tuple(k) if isinstance(k, (tuple, list)) else (int(k),)


def _snapshot(conn: sqlite3.Connection, table: str, keys: list[Key]) -> dict[Key, dict[str, Any] | None]:
    pk = PRIMARY_KEYS[table]
    cols = TRACKED_COLUMNS[table]
    select = "*" if cols is None else ", ".join((*pk, *cols))
    where = " AND ".join(f"{c} = ?" for c in pk)
    out: dict[Key, dict[str, Any] | None] = {}
    for key in keys:
        row = conn.execute(f"SELECT {select} FROM {table} WHERE {where}", key).fetchone()
        out[key] = None if row is None else {k: row[k] for k in row.keys() if k not in pk}  # noqa: SIM118
    return out


#: Order in which restored rows are written (parents first) and deleted (children first).
_TABLE_ORDER = ("people", "photos", "faces", "rejections")


def _apply(conn: sqlite3.Connection, changes: list[dict[str, Any]], side: str) -> None:
    """Write one side ("before" or "after") of recorded changes back."""
    order = {t: i for i, t in enumerate(_TABLE_ORDER)}
    upserts = sorted((c for c in changes if c[side] is not None), key=lambda c: order[c["table"]])
    deletes = sorted((c for c in changes if c[side] is None), key=lambda c: -order[c["table"]])
    for c in upserts:
        table, pk, values = c["table"], PRIMARY_KEYS[c["table"]], c[side]
        where = " AND ".join(f"{col} = ?" for col in pk)
        exists = conn.execute(f"SELECT 1 FROM {table} WHERE {where}", c["key"]).fetchone()
        if exists:
            if values:
                sets = ", ".join(f"{col} = ?" for col in values)
                conn.execute(f"UPDATE {table} SET {sets} WHERE {where}", (*values.values(), *c["key"]))
        else:
            cols = (*pk, *values)
            marks = ", ".join("?" * len(cols))
            conn.execute(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", (*c["key"], *values.values())
            )
    for c in deletes:
        pk = PRIMARY_KEYS[c["table"]]
        where = " AND ".join(f"{col} = ?" for col in pk)
        conn.execute(f"DELETE FROM {c['table']} WHERE {where}", c["key"])


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (no semicolons inside our statements)."""
    return [s.strip() for s in script.split(";") if s.strip()]


def open_catalog(path: str | os.PathLike[str] | None = None, *, readonly: bool = False) -> Catalog:
    """Open (or create) the catalog at ``path``, default :func:`faceorganizer.paths.default_catalog_path`."""
    if path is None:
        from ..paths import default_catalog_path

        path = default_catalog_path()
    return Catalog(path, readonly=readonly)
