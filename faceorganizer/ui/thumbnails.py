"""Thumbnails for the views: face crops from the catalog and photo previews from disk.

Face thumbnails are small JPEG blobs in ``faces.thumbnail``. :class:`FaceThumbnails` decodes
them only when a view asks for one (a visible cell), keeps the results in a byte-capped LRU,
and never spends more than a few milliseconds of one event-loop turn decoding: past that
budget a request returns None (the view paints a placeholder) and the face is decoded on a
later turn, newest requests first, then announced with :attr:`FaceThumbnails.ready`.

Photo previews need a file read and a full JPEG decode, so :class:`PhotoThumbnails` and
:func:`load_photo_async` decode on a :class:`~PySide6.QtCore.QThreadPool` and hand a
:class:`~PySide6.QtGui.QImage` back to the GUI thread through a queued signal.
"""

from __future__ import annotations

import contextlib
import gc
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtGui import QImage, QPixmap

from ..catalog import Catalog

#: Decoding time one event-loop turn may spend on face thumbnails before deferring the rest.
DECODE_BUDGET_S = 0.008
#: Requests waiting for a later turn; older ones (scrolled away) are dropped past this.
MAX_PENDING = 256


class PixmapLRU:
    """A least-recently-used map of keys to pixmaps, capped by the pixmaps' bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[Any, QPixmap] = OrderedDict()
        self._bytes = 0

    @staticmethod
    def _size(pixmap: QPixmap) -> int:
        return max(1, pixmap.width() * pixmap.height() * 4)

    def get(self, key: Any) -> QPixmap | None:
        """The pixmap for ``key`` (now the most recent), or None."""
        pixmap = self._items.get(key)
        if pixmap is not None:
            self._items.move_to_end(key)
        return pixmap

    def put(self, key: Any, pixmap: QPixmap) -> None:
        """Store a pixmap, evicting the least recently used ones past the byte cap."""
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= self._size(old)
        self._items[key] = pixmap
        self._bytes += self._size(pixmap)
        while self._bytes > self.max_bytes and len(self._items) > 1:
            _, dropped = self._items.popitem(last=False)
            self._bytes -= self._size(dropped)

    def __contains__(self, key: Any) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        """Forget every pixmap."""
        self._items.clear()
        self._bytes = 0


class FaceThumbnails(QObject):
    """Face thumbnails decoded on demand from the catalog's JPEG blobs, cached at the size shown.

    Each view asks for the size it paints (``size`` logical pixels a side, at the screen's
    pixel ratio), so painting never rescales: a smooth rescale per paint cost more than the
    decoding itself.

    Signals:
        ready: a deferred face thumbnail is now cached; the argument is the face id.

    Attributes:
        decode_count: thumbnails decoded so far (a test and benchmark figure).
    """

    ready = Signal(int)

    def __init__(self, catalog: Catalog, *, max_bytes: int = 64 << 20, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.cache = PixmapLRU(max_bytes)
        self.decode_count = 0
        self._pending: OrderedDict[tuple[int, int | None], None] = OrderedDict()
        self._missing: set[int] = set()
        self._turn_start = 0.0
        self._spent = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._drain)

    def cached(self, face_id: int, size: int | None = None) -> QPixmap | None:
        """The thumbnail if it is already decoded (never decodes)."""
        return self.cache.get((int(face_id), size))

    def get(self, face_id: int, size: int | None = None) -> QPixmap | None:
        """The thumbnail of one face (``size`` px a side, None: as stored), or None while it waits."""
        key = (int(face_id), size)
        pixmap = self.cache.get(key)
        if pixmap is not None or key[0] in self._missing:
            return pixmap
        now = time.perf_counter()
        if now - self._turn_start > 0.03:  # a new burst of painting
            self._turn_start, self._spent = now, 0.0
        if self._spent < DECODE_BUDGET_S:
            try:
                blob = self.catalog.scalar("SELECT thumbnail FROM faces WHERE id = ?", (key[0],))
            except sqlite3.Error:  # the catalog was closed (the window is going away)
                return None
            pixmap = self._decode(key, blob)
            self._spent += time.perf_counter() - now
            return pixmap
        self._pending[key] = None
        self._pending.move_to_end(key)
        while len(self._pending) > MAX_PENDING:
            self._pending.popitem(last=False)
        if not self._timer.isActive():
            self._timer.start()
        return None

    def wait_idle(self) -> None:
        """Decode every deferred request now (tests and shutdown)."""
        while self._pending:
            self._drain()

    def _decode(self, key: tuple[int, int | None], blob: bytes | None) -> QPixmap | None:
        face_id, size = key
        if not blob:
            self._missing.add(face_id)
            return None
        image = QImage.fromData(bytes(blob))
        self.decode_count += 1
        if image.isNull():
            self._missing.add(face_id)
            return None
        ratio = 1.0
        if size is not None:
            from PySide6.QtGui import QGuiApplication

            screen = QGuiApplication.primaryScreen()
            ratio = screen.devicePixelRatio() if screen is not None else 1.0
            px = max(1, round(size * ratio))
            if image.width() != px or image.height() != px:
                image = image.scaled(
                    px, px, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
                )
        pixmap = QPixmap.fromImage(image)
        pixmap.setDevicePixelRatio(ratio)
        self.cache.put(key, pixmap)
        return pixmap

    @Slot()
    def _drain(self) -> None:
        start = time.perf_counter()
        done: list[int] = []
        while self._pending and (not done or time.perf_counter() - start < DECODE_BUDGET_S):  # >= 1 batch
            batch = list(reversed(self._pending))[:32]  # newest first: what is on screen now
            for key in batch:
                self._pending.pop(key, None)
            ids = sorted({fid for fid, _ in batch})
            marks = ",".join("?" * len(ids))
            try:
                blobs = dict(
                    self.catalog.execute(
                        f"SELECT id, thumbnail FROM faces WHERE id IN ({marks})", ids
                    ).fetchall()
                )
            except sqlite3.Error:  # the catalog was closed (the window is going away)
                self._pending.clear()
                return
            for key in batch:
                if key not in self.cache and self._decode(key, blobs.get(key[0])) is not None:
                    done.append(key[0])
        for fid in done:
            self.ready.emit(fid)
        if self._pending:
            self._timer.start()


def face_thumbnails(session: Any) -> FaceThumbnails:
    """The face-thumbnail cache shared by every view of one session (made on first use)."""
    cache = getattr(session, "_face_thumbnails", None)
    if cache is None or cache.catalog is not session.catalog:
        cache = FaceThumbnails(session.catalog, parent=session)
        session._face_thumbnails = cache
    return cache


# ---------------------------------------------------------------------- photos (threaded)
def decode_photo(path: str | Path, max_side: int | None) -> tuple[QImage, tuple[int, int]]:
    """Decode a photo upright (EXIF applied) into a QImage, at most ``max_side`` pixels a side.

    Uses ``faceorganizer.scan.load_photo`` (the scan's shared decoder) when it exists, else the
    engine's reader. Runs on any thread.

    Returns:
        The image and the upright full-resolution ``(width, height)`` it stands for.
    """
    try:
        from ..scan import load_photo
    except ImportError:
        load_photo = None
    if load_photo is not None:
        # Pillow's resize: the window shows photos without loading torch
        array, _scale, info = load_photo(str(path), max_side=max_side, resize="pillow")
        return _to_qimage(np.asarray(array)), (int(info.width), int(info.height))
    from PIL import Image

    from ..vision.imageio import load_image

    image = load_image(path)
    full = image.size
    if max_side is not None and max(full) > max_side:
        ratio = max_side / max(full)
        image = image.resize(
            (max(1, round(full[0] * ratio)), max(1, round(full[1] * ratio))), Image.Resampling.BILINEAR
        )
    return _to_qimage(np.asarray(image)), (int(full[0]), int(full[1]))


def _to_qimage(array: np.ndarray) -> QImage:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    if array.ndim == 2:
        array = np.ascontiguousarray(np.repeat(array[:, :, None], 3, axis=2))
    h, w = array.shape[:2]
    return QImage(array.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class _LoadSignals(QObject):
    done = Signal(object, object, object)  # key, QImage, (full width, full height)
    failed = Signal(object, str)  # key, message


class _LoadTask(QRunnable):
    def __init__(self, key: Any, path: str, max_side: int | None, signals: _LoadSignals) -> None:
        super().__init__()
        self.key, self.path, self.max_side, self.signals = key, path, max_side, signals

    def run(self) -> None:
        try:
            image, full = decode_photo(self.path, self.max_side)
        except Exception as e:  # noqa: BLE001 - any decode failure becomes a message for the user
            _emit(self.signals.failed, self.key, f"{self.path}: {e}")
            return
        _emit(self.signals.done, self.key, image, full)


class PhotoLoader(QObject):
    """Decodes photos on the global thread pool; results arrive on the GUI thread.

    Signals:
        loaded: ``(key, QImage, (full width, full height))`` for a finished request.
        failed: ``(key, message)`` when the photo cannot be read.
    """

    loaded = Signal(object, object, object)
    failed = Signal(object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._signals = _LoadSignals(self)
        self._signals.done.connect(self._on_done)
        self._signals.failed.connect(self._on_failed)
        self.pool = QThreadPool.globalInstance()

    def load(self, key: Any, path: str | Path, max_side: int | None) -> None:
        """Start decoding ``path``; :attr:`loaded` or :attr:`failed` follows with ``key``."""
        install_gc_guard()
        self.pool.start(_LoadTask(key, str(path), max_side, self._signals))

    @Slot(object, object, object)
    def _on_done(self, key: Any, image: QImage, full: Any) -> None:
        self.loaded.emit(key, image, full)

    @Slot(object, str)
    def _on_failed(self, key: Any, message: str) -> None:
        self.failed.emit(key, message)


class PhotoThumbnails(QObject):
    """Photo previews (for the search grid) decoded off the GUI thread and cached.

    Signals:
        ready: the preview of this photo id is cached.
    """

    ready = Signal(int)

    def __init__(self, size: int = 192, *, max_bytes: int = 96 << 20, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.size = size
        self.cache = PixmapLRU(max_bytes)
        self.failed: set[int] = set()
        self._inflight: set[int] = set()
        self._loader = PhotoLoader(self)
        self._loader.loaded.connect(self._on_loaded)
        self._loader.failed.connect(self._on_failed)

    def get(self, photo_id: int, path: str) -> QPixmap | None:
        """The cached preview, or None while it is decoded in the background."""
        photo_id = int(photo_id)
        pixmap = self.cache.get(photo_id)
        if pixmap is None and photo_id not in self._inflight and photo_id not in self.failed:
            self._inflight.add(photo_id)
            self._loader.load(photo_id, path, self.size)
        return pixmap

    def busy(self) -> bool:
        """Whether previews are still being decoded."""
        return bool(self._inflight)

    @Slot(object, object, object)
    def _on_loaded(self, key: Any, image: QImage, _full: Any) -> None:
        self._inflight.discard(key)
        self.cache.put(key, QPixmap.fromImage(image))
        self.ready.emit(int(key))

    @Slot(object, str)
    def _on_failed(self, key: Any, _message: str) -> None:
        self._inflight.discard(key)
        self.failed.add(int(key))
        self.ready.emit(int(key))


class _GuiThreadGc(QObject):
    """Runs Python's cyclic garbage collector on the GUI thread only.

    With worker threads running Python (catalog reads, photo decoding, the scan), an automatic
    collection can start on any thread and destroy Qt objects caught in garbage cycles there,
    which crashes Qt (seen as a segfault inside "Garbage-collecting" on a pool thread). So the
    automatic collector is switched off and the same generational thresholds are checked
    from a GUI-thread timer instead. After each full collection the survivors are frozen
    (:func:`gc.freeze`): with torch and scikit-learn loaded a full pass over every object takes
    about half a second, while a pass over what is new since the last one takes milliseconds.
    """

    def __init__(self, app: QObject) -> None:
        super().__init__(app)
        self.thresholds = gc.get_threshold()
        self.timer = QTimer(self)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    @Slot()
    def check(self) -> None:
        """Collect the generations whose counts passed their thresholds (as automatic gc would)."""
        if gc.isenabled():  # someone switched automatic collection back on: nothing to do here
            return
        c0, c1, c2 = gc.get_count()
        t0, t1, t2 = self.thresholds
        if c0 > t0:
            generation = 2 if c2 > t2 else 1 if c1 > t1 else 0
            gc.collect(generation)
            if generation == 2:
                gc.freeze()


_GC_GUARD: _GuiThreadGc | None = None


def install_gc_guard() -> None:
    """Collect garbage on the GUI thread only (see :class:`_GuiThreadGc`); call before starting workers."""
    global _GC_GUARD
    from PySide6.QtCore import QCoreApplication

    app = QCoreApplication.instance()
    if app is None:
        return
    if _GC_GUARD is None or _GC_GUARD.parent() is not app:
        _GC_GUARD = _GuiThreadGc(app)
    if gc.isenabled():
        gc.disable()
        gc.freeze()  # what exists now (the imported modules) is not scanned again


def remove_gc_guard() -> None:
    """Collect now and hand collection back to Python (tests, or an application shutting down)."""
    gc.collect()  # before unfreezing: only what is new since the last freeze is scanned
    gc.unfreeze()
    gc.enable()


_QUERY_POOL: QThreadPool | None = None


def query_pool() -> QThreadPool:
    """The pool the views read the catalog on (two threads; photo decoding keeps the global pool)."""
    global _QUERY_POOL
    if _QUERY_POOL is None:
        _QUERY_POOL = QThreadPool()
        _QUERY_POOL.setMaxThreadCount(2)
    return _QUERY_POOL


def run_in_pool(
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[Exception], None],
    parent: QObject,
    pool: QThreadPool | None = None,
) -> QObject:
    """Run ``fn()`` on a thread pool; ``on_done(result)`` / ``on_error(exc)`` run on the GUI thread.

    ``parent`` must live on the GUI thread; the returned relay object belongs to it. ``pool``
    defaults to Qt's global pool.
    """
    install_gc_guard()
    relay = _Relay(on_done, on_error, parent)
    (pool or QThreadPool.globalInstance()).start(_FnTask(fn, relay))
    return relay


class _Relay(QObject):
    done = Signal(object)
    error = Signal(object)

    def __init__(
        self, on_done: Callable[[Any], None], on_error: Callable[[Exception], None], parent: QObject
    ) -> None:
        super().__init__(parent)
        self._on_done, self._on_error = on_done, on_error
        self.done.connect(self._finish)
        self.error.connect(self._fail)

    @Slot(object)
    def _finish(self, result: Any) -> None:
        try:
            self._on_done(result)
        finally:
            self.deleteLater()

    @Slot(object)
    def _fail(self, exc: Any) -> None:
        try:
            self._on_error(exc)
        finally:
            self.deleteLater()


class _FnTask(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self.fn, self.relay = fn, relay

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as e:  # noqa: BLE001 - handed to the GUI thread, which tells the user
            _emit(self.relay.error, e)
            return
        _emit(self.relay.done, result)


def _emit(signal: Any, *args: Any) -> None:
    """Emit from a worker; the receiver may have been closed meanwhile (then nobody listens)."""
    with contextlib.suppress(RuntimeError):
        signal.emit(*args)
