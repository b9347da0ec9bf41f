"""Scanning a photo library into the catalog: walk, decode, detect, embed, commit, cluster.

:func:`scan_library` is what the window's scan button and ``faceorganizer scan`` run:

1. Walk the library folders (:mod:`.walk`): photos, non-image files (reported), hidden
   folders and symlink loops skipped.
2. A file whose size and modification time are unchanged is skipped (no read at all).
3. Every other file is read once in a worker process, hashed and decoded upright at the
   working size (:mod:`.workers`, :mod:`.decode`), ahead of the networks. On the CPU the
   worker also runs MTCNN on it (one torch thread each: whole photos side by side use the
   cores better than one photo on several threads), while this thread embeds and commits;
   when this thread would wait, it reads and detects the next photo no worker has started.
4. Its hash decides: a known photo whose file is gone -> *moved* (the path is updated,
   faces and names kept); a known photo still present -> *duplicate* (recorded with
   ``duplicate_of``, not detected again); otherwise MTCNN finds the faces, the embedder
   embeds them in batches across photos, and the photo is committed in one transaction
   (:mod:`.store`; a changed photo's faces keep their names by box overlap).
5. Photos of the walked folders that were not found are marked missing (their named faces
   are kept until :func:`~faceorganizer.scan.store.purge_missing`).
6. Faces are grouped into people (:func:`faceorganizer.people.cluster`).

Quality bars (documented defaults, catalog setting ``"scan.min_face_size"``): a face whose
shorter box side is below :data:`DEFAULT_MIN_FACE_SIZE` pixels (upright full resolution)
or whose MTCNN probability is below :data:`MIN_FACE_PROB` is stored with ``low_quality = 1``
(shown, but left out of clustering). Thumbnails are :data:`THUMBNAIL_SIZE` px JPEG squares
around the box with :data:`THUMBNAIL_PADDING` of its size added on each side.

A kill at any moment loses at most the photos not yet committed; the next scan continues
from there. A bad photo is recorded with status ``error`` and its reason; it never stops
the scan.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..catalog import Catalog
from ..errors import CatalogError, FaceOrganizerError
from ..vision.errors import WeightsError
from . import store
from .cuts import FaceCuts, cut_faces
from .decode import DEFAULT_WORKING_SIZE, PhotoInfo, load_photo, to_full_resolution
from .detection import DETECT_MIN_FACE, Detections, DetectorSpec, detect_faces, make_detector
from .thumbnails import (
    THUMBNAIL_PADDING,  # noqa: F401 - documented here with the other bars
    THUMBNAIL_SIZE,  # noqa: F401
    thumbnail_jpeg,
    thumbnails_from_file,
    wants_full_resolution,
)
from .walk import walk_folders
from .workers import Decoded, DecodePool

#: Faces whose shorter side (upright full-resolution pixels) is below this are low quality.
DEFAULT_MIN_FACE_SIZE = 40
#: Faces MTCNN is less sure of than this are low quality (its own last threshold is 0.7).
MIN_FACE_PROB = 0.95
NO_WEIGHTS_MESSAGE = (
    "no face embedding model is available: download one with 'faceorganizer weights download "
    "vggface2' (107 MB), or import a file you downloaded with 'faceorganizer weights import FILE' "
    "(see 'faceorganizer weights list')"
)


@dataclass
class ScanProgress:
    """Where a scan stands (passed to the ``progress`` callback after each photo).

    Attributes:
        done: Photos examined (new or changed files; unchanged ones are skipped up front).
        total: Photos to examine in this scan.
        faces: Faces found so far in this scan.
        current: The file just handled.
        eta_s: Estimated seconds left, once a few photos are done.
        errors: Unreadable photos so far.
    """

    done: int
    total: int
    faces: int
    current: str | None
    eta_s: float | None
    errors: int


@dataclass
class ScanSummary:
    """What a scan did.

    Attributes:
        total: Photo files found in the scanned folders.
        scanned: Photos decoded and run through the detector.
        unchanged: Photos skipped as unchanged (same size and time, or same content).
        moved: Photos found under a new path (faces and names kept).
        duplicates: Copies of a photo already in the catalog, recorded, not detected.
        missing: Photos newly marked missing (file gone).
        no_face: Scanned photos with no face.
        faces: Faces found.
        errors: ``(path, reason)`` of each unreadable photo or folder (also those found
            unreadable by an earlier scan and not changed since).
        non_images: Other files found in the folders (not photos).
        cancelled: The scan was cancelled before the end.
        elapsed_s: Wall time.
        photo_ids: Photos written in this scan (new, changed, moved, duplicates).
        model: Embedding model the faces were stored under.
    """

    total: int = 0
    scanned: int = 0
    unchanged: int = 0
    moved: int = 0
    duplicates: int = 0
    missing: int = 0
    no_face: int = 0
    faces: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    non_images: list[str] = field(default_factory=list)
    cancelled: bool = False
    elapsed_s: float = 0.0
    photo_ids: list[int] = field(default_factory=list)
    model: str | None = None


class ScanControl:
    """Pause, resume and cancel a running scan from another thread (takes effect between photos)."""

    def __init__(self) -> None:
        self._run = threading.Event()
        self._run.set()
        self._cancel = threading.Event()

    def pause(self) -> None:
        """Hold the scan after the current photo."""
        self._run.clear()

    def resume(self) -> None:
        """Continue a paused scan."""
        self._run.set()

    def cancel(self) -> None:
        """Stop the scan after the current photo (what is committed stays)."""
        self._cancel.set()
        self._run.set()

    @property
    def is_paused(self) -> bool:
        """Whether the scan is held."""
        return not self._run.is_set()

    @property
    def is_cancelled(self) -> bool:
        """Whether the scan was asked to stop."""
        return self._cancel.is_set()

    def wait(self) -> bool:
        """Block while paused; returns False when cancelled."""
        while not self._run.wait(0.1):
            pass
        return not self._cancel.is_set()


# ---------------------------------------------------------------------------- devices, models
def resolve_device(device: str | None = "auto") -> str:
    """``auto``: CUDA, then MPS, then CPU; any other name is checked and returned.

    Raises:
        FaceOrganizerError: unknown device, or CUDA/MPS asked for where it is not available.
    """
    import torch

    name = (device or "auto").strip()
    mps = getattr(torch.backends, "mps", None)
    mps_ok = bool(mps is not None and mps.is_available())
    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        return "mps" if mps_ok else "cpu"
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError) as e:
        raise FaceOrganizerError(
            f"device {name!r} is not a torch device ({e}); use auto, cpu, cuda or mps"
        ) from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise FaceOrganizerError(f"device {name}: CUDA is not available on this machine")
    if dev.type == "mps" and not mps_ok:
        raise FaceOrganizerError(f"device {name}: MPS is not available on this machine")
    return name


def choose_model(catalog: Catalog, model: str | None) -> str:
    """The model to embed with: ``model``, else the catalog's, else the best available one.

    Raises:
        WeightsError: no model is available (the message says how to get one).
    """
    if model:
        return str(model)
    current = catalog.get_setting("model")
    if current:
        return str(current)
    from ..vision.embedders import default_model

    best = default_model()
    if best is None:
        raise WeightsError(NO_WEIGHTS_MESSAGE)
    return best


_models_lock = threading.Lock()
_last_models: dict[tuple, tuple[Any, Any]] = {}


def _file_key(path: str | os.PathLike[str] | None) -> tuple:
    if path is None:
        return (None,)
    try:
        st = os.stat(path)
    except OSError:
        return (os.fspath(path),)
    return (os.fspath(path), st.st_size, st.st_mtime)


def load_models(model: str, device: str, mtcnn_weights: str | os.PathLike[str] | None) -> tuple[Any, Any]:
    """The MTCNN detector and the embedder (both raise WeightsError when weights are missing).

    The last pair loaded is kept, so scanning again in the same process (the window's
    rescans) does not load the networks again.
    """
    from ..vision.embedders import load_embedder

    key = (str(model), device, _file_key(model), _file_key(mtcnn_weights))
    with _models_lock:
        if key in _last_models:
            return _last_models[key]
        embedder = load_embedder(str(model), device=device)
        detector = make_detector(mtcnn_weights, device, DETECT_MIN_FACE)
        _last_models.clear()
        _last_models[key] = (detector, embedder)
        return detector, embedder


_embedders: dict[tuple, Any] = {}


def load_embedder_cached(model: str, device: str) -> Any:
    """The embedder for ``model`` on ``device``, reusing the scan's or an earlier call's instance."""
    with _models_lock:
        for key, (_, embedder) in _last_models.items():
            if key[:3] == (str(model), device, _file_key(model)):
                return embedder
        key = (str(model), device, _file_key(model))
        if key not in _embedders:
            from ..vision.embedders import load_embedder

            _embedders.clear()
            _embedders[key] = load_embedder(str(model), device=device)
        return _embedders[key]


def default_workers() -> int:
    """Worker processes: one per core beside the scan's own thread (1 to 4)."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


@contextlib.contextmanager
def _torch_threads(count: int | None) -> Any:
    """Run the block with ``count`` torch intra-op threads (None: as they are); restored after."""
    if count is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, count))
    try:
        yield
    finally:
        torch.set_num_threads(before)


# ---------------------------------------------------------------------------- faces of one photo
def face_thumbnail(image: np.ndarray, box: np.ndarray) -> bytes:
    """A :data:`THUMBNAIL_SIZE` px square JPEG around ``box`` (image pixels), padded, clipped by black."""
    return thumbnail_jpeg(image, box)


def face_records(
    info: PhotoInfo,
    boxes: np.ndarray,
    probs: np.ndarray,
    marks: np.ndarray,
    min_size: float,
    thumbnails: list[bytes],
) -> list[store.FaceRecord]:
    """Catalog records (full-resolution boxes, quality flag, thumbnail) for detections on a working image."""
    faces = []
    full = to_full_resolution(boxes.reshape(-1, 4), info)
    full_marks = to_full_resolution(marks.reshape(-1, 5, 2), info)
    for k in range(len(boxes)):
        x1, y1, x2, y2 = full[k]
        x1, x2 = max(0.0, x1), min(float(info.width), x2)
        y1, y2 = max(0.0, y1), min(float(info.height), y2)
        short = min(x2 - x1, y2 - y1)
        faces.append(
            store.FaceRecord(
                box=(x1, y1, x2, y2),
                landmarks=full_marks[k],
                prob=float(probs[k]),
                low_quality=bool(short < min_size or probs[k] < MIN_FACE_PROB),
                thumbnail=thumbnails[k],
                embedding=None,
            )
        )
    return faces


# ---------------------------------------------------------------------------- the scan
@dataclass
class _Pending:
    """A detected photo waiting for its faces' embeddings."""

    rec: store.PhotoRecord
    photo_id: int | None
    prepared: Any
    path: str
    entry: dict[str, Any]
    thumbs: Any = None


class _Scan:
    """State of one :func:`scan_library` run."""

    def __init__(
        self,
        catalog: Catalog,
        summary: ScanSummary,
        detector: Any,
        batcher: Any,
        model: str,
        min_size: float,
        progress: Callable[[ScanProgress], None] | None,
        on_photo: Callable[[int], None] | None,
    ) -> None:
        self.cat = catalog
        self.summary = summary
        self.detector = detector
        self.batcher = batcher
        self.model = model
        self.min_size = min_size
        self.progress = progress
        self.on_photo = on_photo
        self.pending: list[_Pending] = []
        self.pending_faces = 0
        self.pool: DecodePool | None = None
        self.done = 0
        self.total = 0
        self.started = time.monotonic()

    # progress -----------------------------------------------------------------
    def tick(self, path: str) -> None:
        self.done += 1
        if self.progress is None:
            return
        elapsed = time.monotonic() - self.started
        eta = None
        if self.done >= 2 and self.total:
            eta = elapsed / self.done * max(0, self.total - self.done)
        self.progress(
            ScanProgress(self.done, self.total, self.summary.faces, path, eta, len(self.summary.errors))
        )

    def committed(self, photo_id: int) -> None:
        self.summary.photo_ids.append(photo_id)
        if self.on_photo is not None:
            self.on_photo(photo_id)

    # photos -------------------------------------------------------------------
    def detect(
        self,
        rec: store.PhotoRecord,
        photo_id: int | None,
        image: np.ndarray | None,
        info: PhotoInfo,
        entry: dict[str, Any],
        found: Detections | None = None,
        cut: FaceCuts | None = None,
    ) -> None:
        """Detect and cut (unless a worker did: ``found``, ``cut``), make the records, queue for embedding."""
        boxes, probs, marks = found if found is not None else detect_faces(self.detector, image)
        if cut is None:
            cut = cut_faces(image, boxes, self.batcher.crop_size)
        rec.faces = face_records(info, boxes, probs, marks, self.min_size, cut.thumbnails)
        rec.status = "ok" if rec.faces else "no_face"
        self.summary.scanned += 1
        self.summary.faces += len(rec.faces)
        if not rec.faces:
            self.summary.no_face += 1
        prepared = None
        if rec.faces and cut.crops is not None:
            prepared = self.batcher.prepare_crops(cut.crops)
        elif rec.faces:
            prepared = self.batcher.prepare(image, boxes, marks)
        thumbs = None
        scale = max(info.scale_x, info.scale_y)
        if self.pool is not None and any(wants_full_resolution(b, scale) for b in boxes):
            thumbs = self.pool.thumbnails(rec.path, [tuple(float(v) for v in f.box) for f in rec.faces])
        self.pending.append(_Pending(rec, photo_id, prepared, rec.path, entry, thumbs))
        self.pending_faces += len(rec.faces)
        self.tick(rec.path)
        if self.pending_faces >= self.batcher.batch_size or not rec.faces and len(self.pending) == 1:
            self.flush()

    def flush(self) -> None:
        """Embed the pending faces together, then commit each pending photo in order."""
        if not self.pending:
            return
        vectors = self.batcher.embed([p.prepared for p in self.pending])
        for item, vecs in zip(self.pending, vectors):
            for face, vec in zip(item.rec.faces, vecs):
                face.embedding = vec
            sharp = self.pool.thumbnails_result(item.thumbs) if self.pool is not None else None
            if sharp is not None and len(sharp) == len(item.rec.faces):
                for face, thumb in zip(item.rec.faces, sharp):
                    face.thumbnail = thumb
            photo_id, _ = store.commit_photo(self.cat, item.rec, self.model, item.photo_id)
            item.entry.update(id=photo_id, status=item.rec.status)
            self.committed(photo_id)
        self.pending = []
        self.pending_faces = 0


def _known_photos(catalog: Catalog) -> dict[str, dict[str, Any]]:
    rows = catalog.query(
        "SELECT id, path, size, mtime, hash, status, error, missing, duplicate_of FROM photos"
    )
    return {r["path"]: r for r in rows}


def scan_library(
    catalog: Catalog,
    folders: Iterable[str | os.PathLike[str]] | None = None,
    *,
    model: str | None = None,
    device: str = "auto",
    batch_size: int = 16,
    workers: int | None = None,
    mtcnn_weights: str | os.PathLike[str] | None = None,
    progress: Callable[[ScanProgress], None] | None = None,
    control: ScanControl | None = None,
    on_photo: Callable[[int], None] | None = None,
    import_tags: bool = False,
) -> ScanSummary:
    """Scan library folders into the catalog (see the module docstring for the steps).

    Args:
        catalog: The catalog (used from this thread only).
        folders: Folders to scan; they are added to the library. None: every library folder.
        model: Embedding model (registry name or ``.pt`` file); default the catalog's
            ``"model"`` setting, else the best available model. The catalog's setting is
            set to it when unset.
        device: ``auto`` (CUDA, then MPS, then CPU), ``cpu``, ``cuda``, ``cuda:1``, ``mps``.
        batch_size: Faces per embedding batch.
        workers: Worker processes (default :func:`default_workers`; 0 decodes and detects in
            this thread). On the CPU they detect too; a scan on the main thread then
            embeds with the cores they leave (torch's thread count is process-wide, so a
            scan on another thread leaves it as it is).
        mtcnn_weights: Folder with ``pnet.pt``, ``rnet.pt``, ``onet.pt`` (default: the cache).
        progress: Called with a :class:`ScanProgress` after each photo.
        control: Pause / resume / cancel from another thread.
        on_photo: Called with each committed photo's id.
        import_tags: Import face regions and person tags from the photos' metadata
            (:func:`faceorganizer.metadata.sync.import_tags`) for the photos written.

    Returns:
        A :class:`ScanSummary`.

    Raises:
        WeightsError: no embedding model or MTCNN weights (the message says how to get them).
        CatalogError: no folder to scan, or the model differs from the catalog's.
    """
    started = time.monotonic()
    summary = ScanSummary()
    control = control or ScanControl()
    if folders is not None:
        roots = [os.path.abspath(os.fspath(f)) for f in folders]
        for root in roots:
            if os.path.isdir(root):
                store.add_folder(catalog, root)
    else:
        roots = store.library_folders(catalog)
    if not roots:
        raise CatalogError("the library has no folders yet: give a folder to scan")

    model_name = choose_model(catalog, model)
    dev = resolve_device(device)
    working_size = int(catalog.get_setting("scan.working_size", DEFAULT_WORKING_SIZE) or DEFAULT_WORKING_SIZE)
    min_size = float(catalog.get_setting("scan.min_face_size", DEFAULT_MIN_FACE_SIZE))

    # 1. walk; 2. skip unchanged files
    walk = walk_folders(roots)
    summary.total = len(walk.photos)
    summary.non_images = walk.non_images
    summary.errors.extend(walk.errors)
    known = _known_photos(catalog)
    library = store.library_folders(catalog)
    folder_ids = {r["path"]: r["id"] for r in catalog.query("SELECT id, path FROM folders")}

    def folder_id(path: str) -> int | None:
        owner = store.folder_for(path, library)
        return None if owner is None else folder_ids.get(owner)

    found = {e.path for e in walk.photos}
    todo = []
    for entry in walk.photos:
        row = known.get(entry.path)
        if row is not None and row["size"] == entry.size and row["mtime"] == entry.mtime:
            summary.unchanged += 1
            if row["missing"]:
                store.commit_unchanged(catalog, row["id"], entry.size, entry.mtime, folder_id(entry.path))
            if row["status"] == "error":  # still unreadable: named again in every summary
                summary.errors.append((entry.path, _reason(row["error"] or "unreadable", entry.path)))
            continue
        todo.append(entry)

    # photos of these folders not found: gone (moved, or to be marked missing)
    gone = {
        r["id"]: r
        for path, r in known.items()
        if path not in found and any(store._inside(path, root) for root in roots)
    }
    by_hash: dict[str, list[dict[str, Any]]] = {}
    stale = {known[e.path]["id"] for e in todo if e.path in known}  # content may have changed
    for r in known.values():
        if r["hash"] and r["id"] not in stale and r["status"] != "error":
            by_hash.setdefault(r["hash"], []).append(r)

    n_workers = min(default_workers() if workers is None else max(0, int(workers)), len(todo))
    spec = main_threads = None
    if n_workers and dev == "cpu":  # whole photos detected side by side, one torch thread each
        spec = DetectorSpec(None if mtcnn_weights is None else os.fspath(mtcnn_weights), DETECT_MIN_FACE)
        if threading.current_thread() is threading.main_thread():
            # torch's thread count is process-wide: changing it while other threads may run
            # torch (the window's) is not safe, so only a scan on the main thread sets it
            main_threads = max(1, (os.cpu_count() or 2) - n_workers)
    pool = DecodePool(n_workers, working_size, by_hash.keys(), detector=spec)
    moved_ids: set[int] = set()
    try:
        detector = batcher = None
        if todo:  # models load only when there is something to read (a rescan of nothing is instant)
            pool.start()  # the workers start (and load their detector) while the models load here
            detector, embedder = load_models(model_name, dev, mtcnn_weights)
            model_name = str(getattr(embedder, "name", model_name))
            _check_model(catalog, model_name, model)
            batcher = _batcher(embedder, batch_size)
            pool.crop_size = batcher.crop_size  # photos detected beside come back cut
        else:
            model_name = catalog.get_setting("model") or model_name
        summary.model = model_name
        scan = _Scan(catalog, summary, detector, batcher, model_name, min_size, progress, on_photo)
        scan.total = len(todo)
        scan.pool = pool

        # a photo no worker has started is read here (and on the CPU detected) instead of waiting
        helper = functools.partial(pool.decode, detector=detector if spec is not None else None)
        with _torch_threads(main_threads):
            for result in pool.imap((e.path for e in todo), helper):
                if not control.wait():
                    summary.cancelled = True
                    break
                _handle(scan, pool, result, known, by_hash, gone, moved_ids, folder_id)
        scan.flush()  # every photo is read: the last faces are embedded with every core
    finally:
        pool.close()

    if not summary.cancelled:
        # 5. files gone from the walked folders (and not moved) are missing
        summary.missing = store.mark_missing(catalog, [pid for pid in gone if pid not in moved_ids])
    if import_tags and summary.photo_ids:
        _import_tags(catalog, summary.photo_ids)
    changed = summary.photo_ids or summary.missing
    if changed and not summary.cancelled:
        from .. import people

        people.cluster(catalog, model=model_name)
    summary.elapsed_s = time.monotonic() - started
    return summary


def _check_model(catalog: Catalog, model_name: str, asked: str | None) -> None:
    """Make ``model_name`` the catalog's model when it has none; refuse a different one."""
    current = catalog.get_setting("model")
    if current is None:
        catalog.set_setting("model", model_name)
    elif current != model_name:
        raise CatalogError(
            f"this catalog's faces are embedded with {current!r}, not {model_name!r}: switch models with "
            f"'faceorganizer models --switch {asked or model_name}' "
            "(re-embeds every face, keeps every decision)"
        )


def _batcher(embedder: Any, batch_size: int) -> Any:
    from .embedding import BatchEmbedder

    return BatchEmbedder(embedder, batch_size)


def _commit_error(scan: Any, rec: Any, own_id: int | None, error: str) -> None:
    """Record an unreadable photo with its reason (one transaction) and count it in the summary."""
    scan.flush()
    rec.status, rec.error = "error", error
    photo_id, _ = store.commit_photo(scan.cat, rec, scan.model, own_id)
    scan.summary.errors.append((rec.path, _reason(error, rec.path)))
    scan.committed(photo_id)
    scan.tick(rec.path)


def _handle(
    scan: _Scan,
    pool: DecodePool,
    result: Decoded,
    known: dict,
    by_hash: dict,
    gone: dict,
    moved_ids: set[int],
    folder_id: Callable[[str], int | None],
) -> None:
    """Decide what one read file is (error, unchanged, moved, duplicate, new) and act."""
    cat, summary = scan.cat, scan.summary
    path = result.path
    row = known.get(path)
    own_id = None if row is None else row["id"]
    rec = store.PhotoRecord(
        path=path, size=result.size, mtime=result.mtime, hash=result.hash, folder_id=folder_id(path)
    )
    if result.error is not None and result.hash is None:
        # vanished or unreadable between the walk and now
        _commit_error(scan, rec, own_id, result.error)
        return
    if row is not None and row["hash"] == result.hash and row["status"] != "pending":
        # touched, not changed
        scan.flush()
        store.commit_unchanged(cat, row["id"], result.size, result.mtime, rec.folder_id)
        summary.unchanged += 1
        by_hash.setdefault(result.hash, []).append(row)
        scan.tick(path)
        return
    candidates = [c for c in by_hash.get(result.hash, []) if c["id"] is None or c["id"] != own_id]
    if candidates:
        scan.flush()  # a copy of a photo still waiting for its embeddings needs its id
        source = next(
            (
                c
                for c in candidates
                if (c["id"] in gone or c["missing"])
                and c["id"] not in moved_ids
                and not os.path.exists(c["path"])
            ),
            None,
        )
        if source is not None and own_id is None:
            store.commit_move(cat, source["id"], path, result.size, result.mtime, rec.folder_id)
            moved_ids.add(source["id"])
            source.update(path=path, missing=0)
            summary.moved += 1
            scan.committed(source["id"])
            scan.tick(path)
            return
        present = [c for c in candidates if c["id"] not in gone and not c["missing"]]
        present += [c for c in candidates if c["id"] in moved_ids and c not in present]
        if present:
            original = present[0]
            orig_id = original["duplicate_of"] or original["id"]
            photo_id = store.commit_duplicate(cat, rec, orig_id, own_id)
            summary.duplicates += 1
            by_hash.setdefault(result.hash, []).append(
                {
                    "id": photo_id,
                    "path": path,
                    "hash": result.hash,
                    "missing": 0,
                    "duplicate_of": orig_id,
                    "status": rec.status,
                }
            )
            scan.committed(photo_id)
            scan.tick(path)
            return
    if result.skipped:
        result = pool.decode(path, force=True)  # decoding was skipped for a known hash
    if result.error is not None:
        _commit_error(scan, rec, own_id, result.error)
        return
    info = result.info
    assert info is not None and (result.image is not None or result.cut is not None)
    rec.width, rec.height, rec.orientation, rec.taken_at = (
        info.width,
        info.height,
        info.orientation,
        info.taken_at,
    )
    entry = {
        "id": own_id,
        "path": path,
        "hash": result.hash,
        "missing": 0,
        "duplicate_of": None,
        "status": None,
    }
    try:
        scan.detect(rec, own_id, result.image, info, entry, result.detections, result.cut)
    except FaceOrganizerError:
        raise
    except Exception as e:  # noqa: BLE001 - one photo's failure never stops the scan
        rec.faces, rec.status = [], "error"
        rec.error = f"{path}: face detection failed ({type(e).__name__}: {e})"
        scan.flush()
        photo_id, _ = store.commit_photo(cat, rec, scan.model, own_id)
        summary.errors.append((path, _reason(rec.error, path)))
        scan.committed(photo_id)
        scan.tick(path)
        return
    by_hash.setdefault(result.hash, []).append(entry)


def _reason(error: str, path: str) -> str:
    """The reason part of an ``"<path>: <reason>"`` message."""
    prefix = f"{path}: "
    return error[len(prefix) :] if error.startswith(prefix) else error


def _import_tags(catalog: Catalog, photo_ids: list[int]) -> None:
    try:
        from ..metadata.sync import import_tags
    except ImportError as e:
        raise FaceOrganizerError(
            "importing face tags from photo metadata is not available in this installation "
            f"(faceorganizer.metadata.sync: {e})"
        ) from e
    import_tags(catalog, photo_ids)


# ---------------------------------------------------------------------------- manual faces, model switch
_MANUAL_LANDMARKS = np.array([[0.31, 0.40], [0.69, 0.40], [0.50, 0.58], [0.35, 0.78], [0.65, 0.78]])


def _photo_for(catalog: Catalog, photo_id: int) -> dict[str, Any]:
    rows = catalog.query("SELECT id, path, width, height FROM photos WHERE id = ?", (int(photo_id),))
    if not rows:
        raise CatalogError(f"no photo with id {photo_id}")
    return rows[0]


def add_manual_face(
    catalog: Catalog,
    photo_id: int,
    box_upright_fullres: Iterable[float],
    *,
    model: str | None = None,
    device: str = "auto",
) -> int:
    """Add a face the user drew (a missed detection, a profile) and embed it; returns its id.

    The landmarks are placed at a frontal face's average positions inside the box (the
    embedder needs them); the face is not low quality and has no probability.

    Raises:
        CatalogError: no such photo, or a box outside it.
        WeightsError: no embedding model.
    """
    photo = _photo_for(catalog, photo_id)
    x1, y1, x2, y2 = (float(v) for v in box_upright_fullres)
    if not (x2 > x1 and y2 > y1):
        raise CatalogError(f"the face box {x1, y1, x2, y2} is empty")
    working = int(catalog.get_setting("scan.working_size", DEFAULT_WORKING_SIZE) or DEFAULT_WORKING_SIZE)
    try:
        image, _, info = load_photo(photo["path"], working)
    except FaceOrganizerError as e:
        raise CatalogError(str(e)) from e
    x1, x2 = max(0.0, x1), min(float(info.width), x2)
    y1, y2 = max(0.0, y1), min(float(info.height), y2)
    if not (x2 > x1 and y2 > y1):
        raise CatalogError(f"the face box lies outside the photo ({info.width}x{info.height})")
    model_name = choose_model(catalog, model)
    embedder = load_embedder_cached(model_name, resolve_device(device))
    model_name = str(getattr(embedder, "name", model_name))
    full_box = np.array([x1, y1, x2, y2])
    full_marks = full_box[:2] + _MANUAL_LANDMARKS * (full_box[2:] - full_box[:2])
    work_box = full_box / np.tile([info.scale_x, info.scale_y], 2)
    work_marks = full_marks / np.array([info.scale_x, info.scale_y])
    vec = embedder.embed(image, work_box[None].astype(np.float32), work_marks[None].astype(np.float32))[0]
    thumbnail = face_thumbnail(image, work_box)
    if wants_full_resolution(work_box, max(info.scale_x, info.scale_y)):
        with contextlib.suppress(Exception):  # else the working-size thumbnail stays
            (thumbnail,) = thumbnails_from_file(photo["path"], [(x1, y1, x2, y2)])
    face = store.FaceRecord(
        box=(x1, y1, x2, y2),
        landmarks=full_marks,
        prob=None,
        low_quality=False,
        thumbnail=thumbnail,
        embedding=vec,
        source="manual",
    )
    with catalog.transaction():
        face_id = store._insert_face(catalog, int(photo_id), face, model_name, time.time())
        if catalog.scalar("SELECT status FROM photos WHERE id = ?", (photo_id,)) == "no_face":
            catalog.execute("UPDATE photos SET status = 'ok' WHERE id = ?", (photo_id,))
    if catalog.get_setting("model") is None:
        catalog.set_setting("model", model_name)
    return face_id


def reembed(
    catalog: Catalog,
    model: str,
    *,
    device: str = "auto",
    progress: Callable[[ScanProgress], None] | None = None,
    control: ScanControl | None = None,
    batch_size: int = 16,
) -> int:
    """Switch the catalog to another embedding model: embed every face again, keep every decision.

    Each present photo is decoded once (working size, as the scan does) and its faces are
    embedded from their stored boxes and landmarks; one transaction per photo, so a killed
    switch resumes where it stopped (faces already embedded with ``model`` are skipped).
    When every face is done, the catalog's ``"model"`` setting becomes ``model`` and the
    undecided faces are clustered again (user decisions are never touched).

    Returns:
        Faces embedded.

    Raises:
        WeightsError: the model's weights are missing.
    """
    import json

    from ..vision.embedders import load_embedder

    control = control or ScanControl()
    embedder = load_embedder(str(model), device=resolve_device(device))
    name = str(getattr(embedder, "name", model))
    batcher = _batcher(embedder, batch_size)
    working = int(catalog.get_setting("scan.working_size", DEFAULT_WORKING_SIZE) or DEFAULT_WORKING_SIZE)
    rows = catalog.query(
        "SELECT faces.id, faces.photo_id, photos.path, x1, y1, x2, y2, landmarks FROM faces "
        "JOIN photos ON photos.id = faces.photo_id WHERE photos.missing = 0 AND NOT EXISTS "
        "(SELECT 1 FROM embeddings e WHERE e.face_id = faces.id AND e.model = ?) "
        "ORDER BY photos.path, faces.id",
        (name,),
    )
    photos: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        photos.setdefault(r["photo_id"], []).append(r)
    done = embedded = 0
    started = time.monotonic()
    for faces in photos.values():
        if not control.wait():
            return embedded
        path = faces[0]["path"]
        try:
            image, _, info = load_photo(path, working)
        except FaceOrganizerError:
            done += 1
            continue
        scale = np.array([info.scale_x, info.scale_y])
        boxes = np.array([[f["x1"], f["y1"], f["x2"], f["y2"]] for f in faces]) / np.tile(scale, 2)
        marks = []
        for f, box in zip(faces, boxes):
            pts = json.loads(f["landmarks"]) if f["landmarks"] else None
            if pts is None:
                pts = box[:2] + _MANUAL_LANDMARKS * (box[2:] - box[:2])
            else:
                pts = np.asarray(pts, np.float64) / scale
            marks.append(pts)
        (vecs,) = batcher.embed([batcher.prepare(image, boxes, np.asarray(marks))])
        with catalog.transaction():
            for f, vec in zip(faces, vecs):
                catalog.put_embedding(f["id"], name, vec)
        embedded += len(faces)
        done += 1
        if progress is not None:
            elapsed = time.monotonic() - started
            eta = elapsed / done * (len(photos) - done) if done >= 2 else None
            progress(ScanProgress(done, len(photos), embedded, path, eta, 0))
    from .. import people

    people.after_model_switch(catalog, name)
    return embedded
