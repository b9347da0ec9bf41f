"""The library scan on a background thread: a QObject worker, its QThread, and the GUI-side handle.

:class:`ScanWorker` owns its own :class:`~faceorganizer.catalog.Catalog` (one connection per
thread) and runs :func:`faceorganizer.scan.scan_library`. It creates no widgets; it reports
through signals, which Qt queues to the GUI thread. Every few photos it also re-clusters the
undecided faces so that groups appear while the scan runs.

:class:`ScanRunner` is what the window holds: it starts the thread, forwards pause, resume and
cancel to the worker's :class:`~faceorganizer.scan.ScanControl`, and on stop cancels, asks the
thread to quit and waits for it in the GUI thread. Python keeps the only reference to the
worker (no ``thread.finished -> deleteLater``, which crashed under load on these machines).
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

#: Re-cluster after this many committed photos...
CLUSTER_EVERY_PHOTOS = 25
#: ...or this many seconds, whichever comes first (and only when new photos were committed).
CLUSTER_EVERY_S = 8.0


#: Modules the scan and the clustering import on first use; imported up front by :func:`heavy_imports`.
HEAVY_MODULES = (
    "torch",
    "numpy",
    "PIL.Image",
    "PIL.ImageChops",
    "PIL.ImageSequence",
    "PIL.JpegImagePlugin",
    "PIL.PngImagePlugin",
    "scipy.sparse",
    "sklearn.cluster",
    "threadpoolctl",
    "multiprocessing",
    "multiprocessing.popen_spawn_posix",
    "concurrent.futures.process",
    "torch.utils.serialization",
    "faceorganizer.vision.detection.mtcnn",
    "faceorganizer.vision.alignment",
    "faceorganizer.vision.embedders",
    "faceorganizer.vision.dlib_align",
    "faceorganizer.scan",
    "faceorganizer.scan.embedding",
    "faceorganizer.people",
    "faceorganizer.people.clustering",
    "faceorganizer.export",
)


_HEAVY_DONE = False


def heavy_imports() -> None:
    """Import torch, scikit-learn and the modules the scan loads lazily, in the calling thread.

    Importing (and compiling) them inside the worker holds the GIL for up to half a second and
    freezes the window, so the window calls this once on the GUI thread after its first paint,
    before any scan. Registered embedders (plugins) are loaded too, and the objects alive at the
    end are moved to the collector's permanent generation (:func:`gc.freeze`).
    """
    global _HEAVY_DONE
    if _HEAVY_DONE:
        return
    import contextlib
    import gc
    import importlib

    for name in HEAVY_MODULES:
        with contextlib.suppress(ImportError):  # platform-specific (popen_spawn_posix on Windows)
            importlib.import_module(name)
    from ..vision.embedders import available_models

    available_models()  # imports the embedder plugins
    # Everything imported so far lives as long as the program: keep it out of the collector's
    # full passes, which would otherwise walk torch's objects and freeze the window for 0.1-0.3 s.
    gc.collect()
    gc.freeze()
    _HEAVY_DONE = True


#: How much nicer than the window the scan thread runs (its torch threads and decoding processes
#: inherit it), so that the window gets the CPU first on a busy machine.
SCAN_NICENESS = 5


def lower_thread_priority(step: int = SCAN_NICENESS) -> None:
    """Lower the calling thread's scheduling priority (Linux: per thread; elsewhere nothing)."""
    if not sys.platform.startswith("linux"):
        return
    import os
    import threading

    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + step))
    except OSError:  # not allowed here: the scan simply runs at the window's priority
        pass


class ScanWorker(QObject):
    """Runs one scan of a catalog's library on whatever thread it is moved to.

    Signals:
        progress(ScanProgress): after each photo.
        photoDone(int): a photo's faces were committed (its id).
        clustered(object): the groups were re-computed mid-scan (the ClusterSummary).
        finished(ScanSummary): the scan ended (``summary.cancelled`` says whether it was stopped).
        failed(str): the scan could not run or broke; a message for the user.
        modelMissing(str): no embedding weights; the message says how to get them.
    """

    progress = Signal(object)
    photoDone = Signal(int)
    clustered = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    modelMissing = Signal(str)

    def __init__(
        self,
        catalog_path: str | Path,
        folders: list[str] | None = None,
        *,
        model: str | None = None,
        device: str = "auto",
        mtcnn_weights: str | Path | None = None,
        workers: int | None = None,
        batch_size: int | None = None,
        cluster_every: int = CLUSTER_EVERY_PHOTOS,
        cluster_every_s: float = CLUSTER_EVERY_S,
    ) -> None:
        super().__init__()
        from ..scan import ScanControl

        self.catalog_path = Path(catalog_path)
        self.folders = folders
        self.model = model
        self.device = device
        self.mtcnn_weights = mtcnn_weights
        self.workers = workers
        self.batch_size = batch_size
        self.cluster_every = cluster_every
        self.cluster_every_s = cluster_every_s
        self.control = ScanControl()
        self._catalog: Any = None
        self._since_cluster = 0
        self._last_cluster = 0.0

    # ----------------------------------------------------------------- worker thread
    @Slot()
    def run(self) -> None:
        """Scan (on the worker thread); ends with exactly one of finished, failed, modelMissing."""
        from ..catalog import Catalog
        from ..errors import FaceOrganizerError
        from ..scan import scan_library
        from ..vision.errors import WeightsError

        lower_thread_priority()
        try:
            self._catalog = Catalog(self.catalog_path)
        except FaceOrganizerError as e:
            self.failed.emit(str(e))
            return
        self._last_cluster = time.monotonic()
        outcome: tuple[Any, Any]
        extra = {} if self.batch_size is None else {"batch_size": self.batch_size}
        try:
            summary = scan_library(
                self._catalog,
                self.folders,
                model=self.model,
                device=self.device,
                workers=self.workers,
                mtcnn_weights=self.mtcnn_weights,
                progress=self._on_progress,
                control=self.control,
                on_photo=self._on_photo,
                **extra,
            )
        except WeightsError as e:
            outcome = (self.modelMissing, str(e))
        except FaceOrganizerError as e:
            outcome = (self.failed, str(e))
        except Exception as e:  # a bug: tell the user in words, keep the traceback for a report
            traceback.print_exc(file=sys.stderr)
            outcome = (self.failed, f"{type(e).__name__}: {e}")
        else:
            outcome = (self.finished, summary)
        finally:
            self._catalog.close()  # before the final signal: the GUI thread joins this thread on it
            self._catalog = None
        signal, value = outcome
        signal.emit(value)

    def _on_progress(self, progress: Any) -> None:
        self.progress.emit(progress)

    def _on_photo(self, photo_id: int) -> None:
        self.photoDone.emit(int(photo_id))
        self._since_cluster += 1
        due = time.monotonic() - self._last_cluster >= self.cluster_every_s
        if self._since_cluster >= self.cluster_every or (due and self._since_cluster):
            self._cluster_now()

    def _cluster_now(self) -> None:
        """Group the faces found so far (runs between photos, on the worker thread)."""
        from ..errors import FaceOrganizerError
        from ..people import cluster

        self._since_cluster = 0
        self._last_cluster = time.monotonic()
        try:
            summary = cluster(self._catalog, model=self.model)
        except FaceOrganizerError as e:  # not fatal for the scan; the end-of-scan clustering retries
            print(f"faceorganizer: grouping during the scan failed: {e}", file=sys.stderr)
            return
        self.clustered.emit(summary)


class ScanRunner(QObject):
    """The GUI thread's handle on one running scan (one thread, one worker).

    Signals mirror the worker's (queued to the GUI thread) plus ``stopped`` after the thread
    has been joined, whatever the outcome.
    """

    progress = Signal(object)
    photoDone = Signal(int)
    clustered = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    modelMissing = Signal(str)
    stopped = Signal()

    def __init__(self, worker: ScanWorker, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("faceorganizer-scan")
        worker.moveToThread(self.thread)
        # Receivers are this GUI-thread QObject's slots: Qt queues the calls to the GUI thread.
        worker.progress.connect(self._progress)
        worker.photoDone.connect(self._photo_done)
        worker.clustered.connect(self._clustered)
        worker.finished.connect(self._finished)
        worker.failed.connect(self._failed)
        worker.modelMissing.connect(self._model_missing)
        self.thread.started.connect(worker.run)
        self._running = False
        self.paused = False

    @property
    def running(self) -> bool:
        """True from :meth:`start` until the worker's final signal reached the GUI thread."""
        return self._running

    def start(self) -> None:
        """Start the thread (the worker's ``run`` starts on it)."""
        self._running = True
        self.thread.start()

    def pause(self) -> None:
        """Pause between photos."""
        self.paused = True
        self.worker.control.pause()

    def resume(self) -> None:
        """Continue a paused scan."""
        self.paused = False
        self.worker.control.resume()

    def cancel(self) -> None:
        """Ask the scan to stop after the current photo (returns at once)."""
        self.worker.control.cancel()
        if self.paused:
            self.worker.control.resume()

    def stop(self, timeout_ms: int = 120_000) -> bool:
        """Cancel, then join the thread from the GUI thread. Returns False if it did not end in time."""
        if self.thread.isRunning():
            self.cancel()
            self.thread.quit()
            if not self.thread.wait(timeout_ms):
                return False
        self._running = False
        return True

    # ----------------------------------------------------------------- GUI thread
    @Slot(object)
    def _progress(self, p: object) -> None:
        self.progress.emit(p)

    @Slot(int)
    def _photo_done(self, photo_id: int) -> None:
        self.photoDone.emit(photo_id)

    @Slot(object)
    def _clustered(self, summary: object) -> None:
        self.clustered.emit(summary)

    def _join(self) -> None:
        self.thread.quit()
        self.thread.wait()
        self._running = False

    @Slot(object)
    def _finished(self, summary: object) -> None:
        self._join()
        self.finished.emit(summary)
        self.stopped.emit()

    @Slot(str)
    def _failed(self, message: str) -> None:
        self._join()
        self.failed.emit(message)
        self.stopped.emit()

    @Slot(str)
    def _model_missing(self, message: str) -> None:
        self._join()
        self.modelMissing.emit(message)
        self.stopped.emit()
