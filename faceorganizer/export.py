"""Export the catalog's people into per-person folders: ``OUT/<person>/<photo file>``.

What goes where:

- A photo goes into a person's folder when it holds at least one *confirmed* face of that
  person: ``faces.assigned`` is ``user`` or ``auto`` and the face is not ignored. Suggested
  faces (waiting for a confirm) do not count. A group photo goes into each of its people's
  folders.
- Every person with a confirmed face is exported, except hidden people (strangers); naming a
  hidden person in ``people`` exports it anyway.
- A photo the catalog marks missing, or that is not at its path any more, is reported and
  skipped. A photo the scan recognised as a duplicate of another photo exported into the
  same folder is skipped too.

Names: a person's folder name is :func:`safe_folder_name` of the name (valid on Windows, macOS
and Linux; two people whose names clean to the same folder get ``Name (2)``, in person-id
order). A photo keeps its file name, cleaned the same way; two different photos with one
name in a folder become ``IMG_0001.jpg`` and ``IMG_0001 (2).jpg`` (sources sorted by path).
The manifest remembers which source went to which name, so the next export keeps it even
when new photos arrive. Every path written is checked to stay inside ``OUT`` (links
included).

Writing: ``copy`` writes a temporary file beside the target and renames it into place
(readers never see half a photo; the modification time and permission bits of the original
are kept, like :func:`shutil.copy2`). ``hardlink`` links the original (falling back to a copy
where linking is impossible, e.g. across devices; note that a hard link *is* the original:
editing the exported file edits the photo in the library). ``symlink`` makes an absolute link
to the original. Originals are only ever read. A full disk (or a read-only or over-quota one)
stops the export with an :class:`ExportError` naming the file, leaving nothing partial; any
other failure is recorded for its photo and the export goes on. Progress is reported and a
cancel is honoured between photos.

Exporting again is idempotent: a target that already holds the photo (same size and
modification time, the same content, the same inode or the same link) is left alone. A file
at a target that is not this export's own earlier output is never overwritten: the photo
gets the next free name instead. An earlier output of this export whose original changed
since is replaced. Export never deletes anything; files of photos that no longer belong to
a person stay, listed in the manifest as ``left``.

The manifest ``OUT/manifest.csv`` (rewritten atomically after every export, also a cancelled
or failed one) has one row per person and photo: person, person_id, source, destination
(relative to ``OUT``), mode, size, mtime_ns, sha256 (of copies), status (written, unchanged,
missing, duplicate, error, left) and detail.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import functools
import hashlib
import io
import os
import re
import shutil
import stat
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._atomic import atomic_write, atomic_write_bytes
from .errors import FaceOrganizerError, PeopleError

MODES = ("copy", "hardlink", "symlink")
MANIFEST_NAME = "manifest.csv"
MANIFEST_FIELDS = (
    "person",
    "person_id",
    "source",
    "destination",
    "mode",
    "size",
    "mtime_ns",
    "sha256",
    "status",
    "detail",
)
#: Name used for a person whose name has nothing left after cleaning.
FALLBACK_FOLDER = "Unnamed person"
#: Longest folder name, in UTF-8 bytes (file systems allow 255; paths stay short for Windows).
MAX_FOLDER_BYTES = 100
#: Longest exported file name, in UTF-8 bytes.
MAX_FILE_BYTES = 200

_RESERVED_CHARS = frozenset('<>:"/\\|?*')
#: Bidirectional-text controls: they make a name display differently from what it is.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"{p}{n}" for p in ("COM", "LPT") for n in (*"0123456789", "\u00b9", "\u00b2", "\u00b3")}
)
#: Errors after which no further file can be written: the export stops with a clear message.
_FATAL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})
#: Errors of ``os.link`` that mean "cannot link here", answered with a copy.
_NO_LINK_ERRNOS = frozenset(
    {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, getattr(errno, "EOPNOTSUPP", errno.ENOTSUP)}
)
_CHUNK = 1 << 20


class ExportError(FaceOrganizerError):
    """The export cannot go on (no space left, the export folder is unusable)."""


@dataclass
class ExportItem:
    """One row of the manifest: a photo of a person and what the export did with it."""

    person: str
    person_id: int
    source: str
    destination: str = ""  # relative to OUT, "/"-separated; empty when nothing was placed
    mode: str = ""
    size: int | None = None
    mtime_ns: int | None = None
    sha256: str = ""
    status: str = ""
    detail: str = ""

    def row(self) -> dict[str, str]:
        """The item as manifest CSV fields."""
        return {
            "person": self.person,
            "person_id": str(self.person_id),
            "source": self.source,
            "destination": self.destination,
            "mode": self.mode,
            "size": "" if self.size is None else str(self.size),
            "mtime_ns": "" if self.mtime_ns is None else str(self.mtime_ns),
            "sha256": self.sha256,
            "status": self.status,
            "detail": self.detail,
        }

    @classmethod
    def from_row(cls, row: dict[str, str]) -> ExportItem:
        """Parse a manifest row (raises ValueError on a malformed one)."""
        return cls(
            person=row["person"],
            person_id=int(row["person_id"]),
            source=row["source"],
            destination=row["destination"],
            mode=row["mode"],
            size=int(row["size"]) if row["size"] else None,
            mtime_ns=int(row["mtime_ns"]) if row["mtime_ns"] else None,
            sha256=row["sha256"],
            status=row["status"],
            detail=row["detail"],
        )


@dataclass
class ExportProgress:
    """Progress of an export, reported after each photo."""

    done: int
    total: int
    current: str | None
    written: int
    errors: int


@dataclass
class ExportSummary:
    """What an export did.

    Attributes:
        out_dir: The export folder.
        manifest: The manifest file.
        mode: The mode asked for.
        people: ``(name, folder)`` of each exported person.
        total: Photo placements planned (one per person and photo).
        written: Files (or links) written.
        unchanged: Targets that already held the photo.
        copied_instead: Hard links that fell back to a copy (across devices and the like).
        skipped: ``(source, reason)`` of photos not exported: missing, duplicate.
        errors: ``(path, reason)`` of photos that failed; the export went on.
        warnings: Other things the user should know (an unreadable old manifest).
        cancelled: The export was cancelled between two photos.
        elapsed_s: Wall time.
        items: Every placement, as in the manifest.
    """

    out_dir: Path
    manifest: Path
    mode: str
    people: list[tuple[str, str]] = field(default_factory=list)
    total: int = 0
    written: int = 0
    unchanged: int = 0
    copied_instead: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cancelled: bool = False
    elapsed_s: float = 0.0
    items: list[ExportItem] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        """Sources skipped because the photo is missing."""
        return [s for s, reason in self.skipped if reason.startswith("missing")]


# ---------------------------------------------------------------------------- names
def _clean(text: str) -> str:
    """Clean one name part.

    NFC; reserved characters to ``_``; tabs and line breaks to spaces; other control and bidi
    characters dropped; whitespace runs to one space; no leading or trailing dots and spaces.
    """
    out = []
    for ch in unicodedata.normalize("NFC", text):
        if ch in _RESERVED_CHARS:
            out.append("_")
        elif ch in "\t\n\r\v\f" or unicodedata.category(ch) == "Zs":
            out.append(" ")
        elif ch in _BIDI_CONTROLS or unicodedata.category(ch) in ("Cc", "Cs"):
            continue
        else:
            out.append(ch)
    # Whitespace runs become one space; leading and trailing dots and spaces go (Windows drops
    # trailing ones, leading dots hide a file on macOS and Linux, "." and ".." are path parts).
    return " ".join("".join(out).split()).strip(" .")


def _not_a_device(name: str) -> str:
    """``CON`` -> ``CON_``, ``NUL.txt`` -> ``NUL_.txt``: Windows device names are never file names."""
    stem, dot, rest = name.partition(".")
    if stem.rstrip(" ").upper() in _WINDOWS_DEVICES:
        return f"{stem.rstrip(' ')}_{dot}{rest}"
    return name


def _truncate(text: str, max_bytes: int, original: str) -> str:
    """Cut ``text`` to ``max_bytes`` of UTF-8, marked with a short hash of ``original`` (stays distinct)."""
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    tag = "~" + hashlib.sha1(original.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    budget = max_bytes - len(tag)
    cut = text.encode("utf-8")[:budget].decode("utf-8", "ignore").rstrip(" .")
    return cut + tag


def _empty(name: str) -> bool:
    return not name.strip("_ .-")


def safe_folder_name(name: str, fallback: str = FALLBACK_FOLDER) -> str:
    r"""A folder name for ``name`` that is valid on Windows, macOS and Linux and is one path part.

    Reserved characters (``<>:"/\\|?*``) become ``_``, control and bidi characters are dropped,
    leading/trailing dots and spaces go (so ``../x`` is ``_x``), Windows device names get a
    ``_`` (``CON_``, ``NUL_.txt``), and names longer than :data:`MAX_FOLDER_BYTES` are cut and
    tagged with a hash of the full name. A name with nothing left becomes ``fallback``.
    """
    cleaned = _clean(str(name))
    if _empty(cleaned):
        cleaned = fallback
    cleaned = _truncate(cleaned, MAX_FOLDER_BYTES, str(name))
    return _not_a_device(cleaned)


def safe_file_name(name: str, fallback: str = "photo") -> str:
    """A photo's file name made valid everywhere (as :func:`safe_folder_name`), keeping its extension."""
    stem, dot, ext = str(name).rpartition(".")
    if not dot:
        stem, ext = str(name), ""
    stem, ext = _clean(stem), _clean(ext)
    if _empty(stem):
        stem = fallback
    suffix = f".{ext}" if ext else ""
    stem = _truncate(stem, MAX_FILE_BYTES - len(suffix.encode("utf-8")), str(name))
    return _not_a_device(stem + suffix)


def _numbered(name: str, n: int) -> str:
    """``IMG_0001.jpg`` -> ``IMG_0001 (n).jpg`` (``n`` >= 2)."""
    if n < 2:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return f"{name} ({n})"
    return f"{stem} ({n}).{ext}"


def person_folders(catalog: Any) -> dict[int, str]:
    """Folder name of every person in the catalog (hidden ones too), distinct ignoring case.

    People are taken in id order, so a person keeps its folder when others are added; the
    manifest's name is reserved too.
    """
    taken = {MANIFEST_NAME.casefold()}
    folders: dict[int, str] = {}
    for row in catalog.query("SELECT id, name FROM people ORDER BY id"):
        base = safe_folder_name(row["name"])
        n, candidate = 1, base
        while candidate.casefold() in taken:
            n += 1
            candidate = f"{base} ({n})"
        taken.add(candidate.casefold())
        folders[int(row["id"])] = candidate
    return folders


# ---------------------------------------------------------------------------- manifest
def read_manifest(out_dir: str | os.PathLike[str]) -> list[ExportItem]:
    """The rows of ``OUT/manifest.csv`` (empty when there is none).

    Raises:
        ValueError: the file is not a manifest written by this export.
    """
    path = Path(out_dir) / MANIFEST_NAME
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != MANIFEST_FIELDS:
            raise ValueError(f"{path}: unexpected columns {reader.fieldnames}")
        return [ExportItem.from_row(row) for row in reader]


def _write_manifest(path: Path, items: Iterable[ExportItem]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
    writer.writeheader()
    for item in items:
        writer.writerow(item.row())
    atomic_write_bytes(path, buf.getvalue().encode("utf-8"))


# ---------------------------------------------------------------------------- the export
def export_people(
    catalog: Any,
    out_dir: str | os.PathLike[str],
    *,
    people: Iterable[str] | None = None,
    mode: str = "copy",
    progress: Callable[[ExportProgress], None] | None = None,
    control: Any = None,
) -> ExportSummary:
    """Export the photos of people into ``out_dir/<person>/<photo file>`` (see the module doc).

    Args:
        catalog: An open :class:`~faceorganizer.catalog.Catalog`.
        out_dir: The export folder (created when missing).
        people: Names of the people to export (case-insensitive); None exports every person
            that is not hidden. A hidden person named here is exported.
        mode: ``copy``, ``hardlink`` or ``symlink``.
        progress: Called with :class:`ExportProgress` after each photo.
        control: Anything with ``is_cancelled`` (and optionally ``is_paused``), e.g. the scan's
            ``ScanControl``; checked between photos.

    Returns:
        What was written, left unchanged, skipped and failed.

    Raises:
        PeopleError: a name in ``people`` is not a person of the catalog.
        ExportError: ``out_dir`` is unusable, or the disk is full (the message names the file;
            nothing partial is left and the manifest lists what was done).
    """
    if mode not in MODES:
        raise ExportError(f"unknown export mode {mode!r}; use one of {', '.join(MODES)}")
    start = time.perf_counter()
    out = Path(out_dir).absolute()
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"cannot create the export folder {out}: {e.strerror or e}") from e
    out_real = Path(os.path.realpath(out))
    summary = ExportSummary(out_dir=out, manifest=out / MANIFEST_NAME, mode=mode)

    selected = _select_people(catalog, people)
    folders = person_folders(catalog)
    try:
        previous = read_manifest(out)
    except (OSError, ValueError, KeyError, TypeError, csv.Error) as e:
        previous = []
        summary.warnings.append(f"{out / MANIFEST_NAME} could not be read ({e}); it will be rewritten")
    by_destination = {p.destination.casefold(): p for p in previous if p.destination}
    earlier = _earlier_names(by_destination)

    plans = [_Plan(r["id"], r["name"], folders[r["id"]], _photos_of(catalog, r["id"])) for r in selected]
    plans = [p for p in plans if p.photos]
    summary.total = sum(len(p.photos) for p in plans)
    summary.people = [(p.name, p.folder) for p in plans]
    done = 0
    finished = False
    try:
        for plan in plans:
            folder = out / plan.folder
            problem = _prepare_folder(folder, out_real)
            names = {} if problem else _assign_names(plan, folder, mode, by_destination, earlier)
            for photo in plan.photos:
                if _cancelled(control):
                    summary.cancelled = True
                    break
                item = ExportItem(person=plan.name, person_id=plan.id, source=photo["path"])
                summary.items.append(item)
                _export_one(
                    item,
                    photo,
                    plan,
                    folder,
                    names.get(photo["path"]),
                    problem,
                    mode,
                    by_destination,
                    summary,
                )
                done += 1
                if progress is not None:
                    progress(
                        ExportProgress(done, summary.total, item.source, summary.written, len(summary.errors))
                    )
            if summary.cancelled:
                break
        finished = not summary.cancelled
    finally:
        kept = _kept_rows(summary, previous, {p.id for p in plans}, complete=finished)
        try:
            _write_manifest(out / MANIFEST_NAME, [*kept, *summary.items])
        except OSError as e:
            if finished:
                raise ExportError(f"cannot write the manifest {out / MANIFEST_NAME}: {_reason(e)}") from e
            summary.warnings.append(f"the manifest could not be updated: {_reason(e)}")
        summary.elapsed_s = time.perf_counter() - start
    return summary


def _kept_rows(
    summary: ExportSummary, previous: list[ExportItem], exported_ids: set[int], *, complete: bool
) -> list[ExportItem]:
    """The earlier manifest's rows that this export did not redo.

    Rows of people not exported now stay as they were. After a complete export of a person,
    that person's earlier rows not redone are photos no longer theirs: kept as ``left`` while
    their file is still there.
    """
    redone = {(i.person_id, i.source) for i in summary.items}
    placed = {i.destination.casefold() for i in summary.items if i.destination}
    kept = []
    for old in previous:
        if (old.person_id, old.source) in redone or (
            old.destination and old.destination.casefold() in placed
        ):
            continue
        if complete and old.person_id in exported_ids:
            if not old.destination or not os.path.lexists(summary.out_dir / old.destination):
                continue
            old.status, old.detail = "left", "no longer a photo of this person; the file was left in place"
        kept.append(old)
    return kept


@dataclass
class _Plan:
    id: int
    name: str
    folder: str
    photos: list[dict[str, Any]]


def _select_people(catalog: Any, names: Iterable[str] | None) -> list[dict[str, Any]]:
    rows = catalog.query("SELECT id, name, hidden FROM people ORDER BY name COLLATE NOCASE, id")
    if names is None:
        return [r for r in rows if not r["hidden"]]
    wanted = list(dict.fromkeys(names))
    by_name = {r["name"].casefold(): r for r in rows}
    unknown = [n for n in wanted if n.casefold() not in by_name]
    if unknown:
        known = ", ".join(r["name"] for r in rows) or "none yet"
        raise PeopleError(f"no person named {', '.join(map(repr, unknown))} in the catalog (people: {known})")
    chosen = {by_name[n.casefold()]["id"] for n in wanted}
    return [r for r in rows if r["id"] in chosen]


def _photos_of(catalog: Any, person_id: int) -> list[dict[str, Any]]:
    """The photos holding a confirmed face of the person, by path."""
    return catalog.query(
        "SELECT DISTINCT ph.id, ph.path, ph.missing, ph.duplicate_of FROM faces f "
        "JOIN photos ph ON ph.id = f.photo_id "
        "WHERE f.person_id = ? AND f.assigned IN ('user', 'auto') AND f.ignored = 0 ORDER BY ph.path",
        (person_id,),
    )


def _cancelled(control: Any) -> bool:
    if control is None:
        return False
    while getattr(control, "is_paused", False) and not getattr(control, "is_cancelled", False):
        time.sleep(0.05)
    return bool(getattr(control, "is_cancelled", False))


def _inside(path: Path, root_real: Path) -> bool:
    """Whether ``path`` (links followed) lies strictly inside ``root_real``."""
    real = Path(os.path.realpath(path))
    return real != root_real and real.is_relative_to(root_real)


def _prepare_folder(folder: Path, out_real: Path) -> str | None:
    """Create a person's folder; the reason it cannot be used, or None."""
    if os.path.lexists(folder) and not folder.is_dir():
        return f"{folder} exists and is not a folder"
    if not _inside(folder, out_real):
        return f"{folder} leads outside the export folder {out_real}; nothing is written there"
    try:
        folder.mkdir(exist_ok=True)
    except OSError as e:
        if e.errno in _FATAL_ERRNOS:
            raise ExportError(f"{_reason(e)}: cannot create {folder}") from e
        return f"cannot create {folder}: {_reason(e)}"
    return None


def _reason(e: OSError) -> str:
    return e.strerror or str(e)


def _rel(folder: Path, name: str) -> str:
    return f"{folder.name}/{name}"


# ---------------------------------------------------------------------------- target states
def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _holds(dest: Path, source: str, mode: str) -> bool:
    """Whether ``dest`` already holds ``source`` the way ``mode`` would place it."""
    st = _lstat(dest)
    if st is None:
        return False
    if mode == "symlink":
        return stat.S_ISLNK(st.st_mode) and os.readlink(dest) == os.path.abspath(source)
    if not stat.S_ISREG(st.st_mode):
        return False
    try:
        src = os.stat(source)
    except OSError:
        return False
    if (src.st_dev, src.st_ino) == (st.st_dev, st.st_ino):
        return True
    if src.st_size != st.st_size:
        return False
    if src.st_mtime_ns == st.st_mtime_ns:
        return True
    try:
        return _sha256_of(str(dest), st.st_size, st.st_mtime_ns) == _sha256_of(
            source, src.st_size, src.st_mtime_ns
        )
    except OSError:
        return False


@functools.lru_cache(maxsize=4096)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    """sha256 of a file, remembered by path, size and mtime (one read per file and export)."""
    return _sha256(path)


def _is_ours(dest: Path, source: str, by_destination: dict[str, ExportItem]) -> bool:
    """Whether ``dest`` is this export's earlier, untouched output for ``source``."""
    old = by_destination.get(_rel(dest.parent, dest.name).casefold())
    if old is None or old.source != source or old.size is None:
        return False
    st = _lstat(dest)
    if st is None:
        return False
    if old.mode == "symlink":
        return stat.S_ISLNK(st.st_mode) and os.readlink(dest) == os.path.abspath(source)
    return stat.S_ISREG(st.st_mode) and (st.st_size, st.st_mtime_ns) == (old.size, old.mtime_ns)


def _usable(dest: Path, source: str, mode: str, by_destination: dict[str, ExportItem]) -> bool:
    """Whether ``source`` may take the name ``dest``: free, already holding it, or its own earlier output."""
    return not os.path.lexists(dest) or _holds(dest, source, mode) or _is_ours(dest, source, by_destination)


_NUMBERED = re.compile(r"^(?P<stem>.*) \((?P<n>[0-9]+)\)(?P<ext>\.[^.]*)?$")


def _base_key(entry: str) -> str:
    """``IMG_0001 (3).jpg`` -> ``img_0001.jpg``: the name an entry was numbered from (casefolded)."""
    m = _NUMBERED.match(entry)
    return (f"{m['stem']}{m['ext'] or ''}" if m else entry).casefold()


def _earlier_names(by_destination: dict[str, ExportItem]) -> dict[tuple[str, str], str]:
    """``(source, folder casefolded) -> file name`` of every earlier placement in the manifest."""
    out = {}
    for item in by_destination.values():
        folder, _, name = item.destination.rpartition("/")
        out[(item.source, folder.casefold())] = name
    return out


def _assign_names(
    plan: _Plan,
    folder: Path,
    mode: str,
    by_destination: dict[str, ExportItem],
    earlier: dict[tuple[str, str], str],
) -> dict[str, str]:
    """File name of each photo in the person's folder.

    A photo exported before keeps its earlier name (from the manifest) while that file is
    untouched or free; then a photo keeps a file that already holds it under one of its
    names. The others take, in path order, the first free name of ``name``, ``name (2)``,
    ...: free means not taken in this folder (ignoring case) and not an existing file holding
    something else. Missing and duplicate photos get a name only when they had one.
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    for photo in plan.photos:
        source = photo["path"]
        name = earlier.get((source, plan.folder.casefold()))
        if name and name.casefold() not in taken and _usable(folder / name, source, mode, by_destination):
            names[source] = name
            taken.add(name.casefold())
    fresh = [p["path"] for p in plan.photos if p["path"] not in names and _skip_reason(p, plan) is None]
    # A file already holding the photo under one of its possible names is kept (the manifest
    # may be gone), before any photo takes a free name.
    numbered: dict[str, list[str]] = {}
    with contextlib.suppress(OSError):
        for entry in sorted(os.listdir(folder)):
            numbered.setdefault(_base_key(entry), []).append(entry)
    for source in fresh:
        for entry in numbered.get(safe_file_name(os.path.basename(source)).casefold(), ()):
            if entry.casefold() not in taken and _holds(folder / entry, source, mode):
                names[source] = entry
                taken.add(entry.casefold())
                break
    for source in fresh:
        if source in names:
            continue
        base = safe_file_name(os.path.basename(source))
        n = 1
        while True:
            name = _numbered(base, n)
            if name.casefold() not in taken and _usable(folder / name, source, mode, by_destination):
                break
            n += 1
        names[source] = name
        taken.add(name.casefold())
    return names


def _skip_reason(photo: dict[str, Any], plan: _Plan) -> str | None:
    """Why a photo is not exported (missing, duplicate), or None."""
    if photo["missing"] or not os.path.isfile(photo["path"]):
        return "missing: the photo is not at its path any more (moved or deleted?)"
    original = photo["duplicate_of"]
    if original is not None and any(
        p["id"] == original and not p["missing"] and os.path.isfile(p["path"]) for p in plan.photos
    ):
        return "duplicate: the same photo is exported for this person from another path"
    return None


# ---------------------------------------------------------------------------- one photo
def _export_one(
    item: ExportItem,
    photo: dict[str, Any],
    plan: _Plan,
    folder: Path,
    name: str | None,
    problem: str | None,
    mode: str,
    by_destination: dict[str, ExportItem],
    summary: ExportSummary,
) -> None:
    """Place one photo in a person's folder, recording the outcome in ``item`` and ``summary``."""
    source = photo["path"]
    if problem:
        item.status, item.detail = "error", problem
        summary.errors.append((source, problem))
        return
    skip = _skip_reason(photo, plan)
    if skip is not None:
        item.status, item.detail = skip.split(":", 1)[0], skip
        summary.skipped.append((source, skip))
        old = by_destination.get(_rel(folder, name).casefold()) if name else None
        if old is not None and os.path.lexists(folder / old.destination.rpartition("/")[2]):
            # The earlier export of this photo stays where it is.
            item.destination, item.mode, item.size = old.destination, old.mode, old.size
            item.mtime_ns, item.sha256 = old.mtime_ns, old.sha256
        return
    assert name is not None, "every photo that is not skipped has a name"
    dest = folder / name
    item.destination = _rel(folder, name)
    if not _inside(dest.parent, Path(os.path.realpath(summary.out_dir))):
        raise ExportError(f"{dest} would lie outside {summary.out_dir}")
    try:
        if _holds(dest, source, mode):
            old = by_destination.get(item.destination.casefold())
            item.status = "unchanged"
            item.mode = "symlink" if mode == "symlink" else _file_mode(dest, source)
            item.size, item.mtime_ns = _size_mtime(dest)
            if (
                old is not None
                and old.source == source
                and (old.size, old.mtime_ns) == (item.size, item.mtime_ns)
            ):
                item.sha256 = old.sha256
            summary.unchanged += 1
            return
        replace = os.path.lexists(dest)  # only this export's own earlier output gets here
        _place(item, source, dest, mode, replace, summary)
        item.status = "written"
        summary.written += 1
    except OSError as e:
        what = f"cannot read {source}" if e.filename == source else f"cannot write {dest}"
        item.status, item.detail, item.destination = "error", f"{what}: {_reason(e)}", ""
        summary.errors.append((source, item.detail))
        if e.errno in _FATAL_ERRNOS:
            raise ExportError(
                f"{_reason(e)}: {what} (from {source}); nothing partial was left. Free some "
                f"space and export again: the {summary.written} files written so far are kept."
            ) from e


def _file_mode(dest: Path, source: str) -> str:
    try:
        return "hardlink" if os.path.samefile(dest, source) else "copy"
    except OSError:
        return "copy"


def _size_mtime(dest: Path) -> tuple[int, int]:
    """Size and mtime of what ``dest`` holds (the photo itself, for a link)."""
    st = os.stat(dest)
    return st.st_size, st.st_mtime_ns


def _place(
    item: ExportItem, source: str, dest: Path, mode: str, replace: bool, summary: ExportSummary
) -> None:
    if mode == "symlink":
        _link(os.symlink, os.path.abspath(source), dest, replace)
        item.mode = "symlink"
    elif mode == "hardlink":
        try:
            _link(os.link, source, dest, replace)
            item.mode = "hardlink"
        except OSError as e:
            if e.errno not in _NO_LINK_ERRNOS:
                raise
            item.sha256 = _copy(source, dest)
            item.mode = "copy"
            item.detail = f"hard link not possible ({errno.errorcode.get(e.errno or 0, e.errno)}): copied"
            summary.copied_instead += 1
    else:
        item.sha256 = _copy(source, dest)
        item.mode = "copy"
    item.size, item.mtime_ns = _size_mtime(dest)


def _link(make: Callable[[str, Path], None], source: str, dest: Path, replace: bool) -> None:
    """``make(source, dest)``; an existing ``dest`` is replaced in one rename through a temporary link."""
    if not replace:
        make(source, dest)
        return
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    make(source, tmp)
    try:
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _copy_data(src: Any, dst: Any, digest: Any) -> None:
    """Copy an open file into another, feeding the bytes to ``digest``."""
    while chunk := src.read(_CHUNK):
        digest.update(chunk)
        dst.write(chunk)


def _copy(source: str, dest: Path) -> str:
    """Copy through a temporary file and a rename, keeping mtime and mode bits; returns the sha256."""
    digest = hashlib.sha256()
    src_stat = os.stat(source)

    def write(f: Any) -> None:
        with open(source, "rb") as src:
            _copy_data(src, f, digest)
        f.flush()
        if os.chmod in os.supports_fd:
            os.chmod(f.fileno(), stat.S_IMODE(src_stat.st_mode))
        if os.utime in os.supports_fd:
            os.utime(f.fileno(), ns=(src_stat.st_atime_ns, src_stat.st_mtime_ns))

    atomic_write(dest, write)
    if os.utime not in os.supports_fd:  # Windows: set the times on the renamed file
        shutil.copystat(source, dest)
    return digest.hexdigest()
