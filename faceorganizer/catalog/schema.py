"""The catalog's SQL schema and its migrations.

``MIGRATIONS[i]`` takes a catalog from schema version ``i`` to ``i + 1``; the version is kept in
SQLite's ``user_version``. A catalog written by a newer faceorganizer is refused, never altered.

Coordinates: face boxes and landmarks are in *upright* (EXIF orientation applied),
full-resolution pixels of the photo. ``photos.width/height`` are the upright size;
``photos.orientation`` is the EXIF orientation (1..8) of the stored pixels.

Decisions: ``faces.assigned`` says how ``faces.person_id`` was set:
``user`` (the user named, moved or confirmed it — never changed by the system), ``auto`` (the
system attached it to a named person), ``suggested`` (proposed, waiting for confirm/reject), or
NULL (no person; ``cluster_id`` then names its unnamed group, if any). ``rejections`` holds
"not this person" decisions; ``faces.ignored`` marks faces the user dismissed.
"""

from __future__ import annotations

V1 = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE folders (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    added_at REAL NOT NULL
);
CREATE TABLE photos (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    folder_id INTEGER REFERENCES folders(id) ON DELETE SET NULL,
    size INTEGER,
    mtime REAL,
    hash TEXT,
    width INTEGER,
    height INTEGER,
    orientation INTEGER NOT NULL DEFAULT 1,
    taken_at TEXT,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'ok', 'no_face', 'error')),
    error TEXT,
    missing INTEGER NOT NULL DEFAULT 0,
    duplicate_of INTEGER REFERENCES photos(id) ON DELETE SET NULL,
    scanned_at REAL
);
CREATE INDEX photos_hash ON photos(hash);
CREATE INDEX photos_folder ON photos(folder_id);
CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    hidden INTEGER NOT NULL DEFAULT 0,
    cover_face_id INTEGER,
    created_at REAL NOT NULL
);
CREATE UNIQUE INDEX people_name ON people(name COLLATE NOCASE);
CREATE TABLE faces (
    id INTEGER PRIMARY KEY,
    photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    x1 REAL NOT NULL,
    y1 REAL NOT NULL,
    x2 REAL NOT NULL,
    y2 REAL NOT NULL,
    landmarks TEXT,
    prob REAL,
    low_quality INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL DEFAULT 'detected' CHECK (source IN ('detected', 'manual', 'imported')),
    thumbnail BLOB,
    person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
    assigned TEXT CHECK (assigned IN ('auto', 'user', 'suggested')),
    cluster_id INTEGER,
    ignored INTEGER NOT NULL DEFAULT 0,
    created_at REAL
);
CREATE INDEX faces_photo ON faces(photo_id);
CREATE INDEX faces_person ON faces(person_id);
CREATE INDEX faces_cluster ON faces(cluster_id);
CREATE TABLE embeddings (
    face_id INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (face_id, model)
) WITHOUT ROWID;
CREATE INDEX embeddings_model ON embeddings(model);
CREATE TABLE rejections (
    face_id INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
    person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    PRIMARY KEY (face_id, person_id)
) WITHOUT ROWID;
CREATE TABLE undo_log (
    id INTEGER PRIMARY KEY,
    label TEXT NOT NULL,
    created_at REAL NOT NULL,
    changes TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'done' CHECK (state IN ('done', 'undone'))
);
"""

#: Migration scripts; ``MIGRATIONS[i]`` upgrades schema version ``i`` to ``i + 1``.
MIGRATIONS: tuple[str, ...] = (V1,)

SCHEMA_VERSION = len(MIGRATIONS)

#: Primary-key columns of the tables that undo snapshots.
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "people": ("id",),
    "faces": ("id",),
    "rejections": ("face_id", "person_id"),
    "photos": ("id",),
}

#: Columns an undo snapshot keeps per table (None: every column). Faces keep only their
#: decision columns: thumbnails and boxes are not user decisions and would bloat the log.
TRACKED_COLUMNS: dict[str, tuple[str, ...] | None] = {
    "people": None,
    "faces": ("person_id", "assigned", "cluster_id", "ignored"),
    "rejections": None,
    "photos": ("missing",),
}
