"""Short background jobs (export, folder removal, clustering preview, weight download) off the GUI thread.

``Task(fn, catalog_path)`` runs ``fn(catalog, task)`` on its own QThread with its own
:class:`~faceorganizer.catalog.Catalog` (or ``None`` when no path is given). ``fn`` reports
with ``task.report(value)`` and checks ``task.cancelled``. The outcome arrives on the GUI
thread as ``done(result)`` or ``failed(message)``; the thread is joined before either is
emitted. As with the scan, Python owns the worker and the GUI thread quits and waits.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot


class _Worker(QObject):
    progress = Signal(object)
    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[Any, Task], Any], catalog_path: Path | None, task: Task) -> None:
        super().__init__()
        self._fn = fn
        self._catalog_path = catalog_path
        self._task = task

    @Slot()
    def run(self) -> None:
        from ..catalog import Catalog
        from ..errors import FaceOrganizerError

        catalog = None
        try:
            if self._catalog_path is not None:
                catalog = Catalog(self._catalog_path)
            result = self._fn(catalog, self._task)
        except FaceOrganizerError as e:
            self.failed.emit(str(e))
        except OSError as e:
            self.failed.emit(str(e))
        except Exception as e:
            if self._task.cancelled:  # fn stopped by raising after cancel()
                self.failed.emit("cancelled")
            else:  # a bug: words for the user, the traceback for a report
                traceback.print_exc(file=sys.stderr)
                self.failed.emit(f"{type(e).__name__}: {e}")
        else:
            self.done.emit(result)
        finally:
            if catalog is not None:
                catalog.close()


class Task(QObject):
    """One background job; see the module docstring.

    Signals:
        progress(object): whatever ``fn`` passed to :meth:`report`.
        done(object): ``fn``'s return value (after the thread was joined).
        failed(str): a message for the user (after the thread was joined).
    """

    progress = Signal(object)
    done = Signal(object)
    failed = Signal(str)

    def __init__(
        self,
        fn: Callable[[Any, Task], Any],
        catalog_path: str | Path | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._cancel = threading.Event()
        self._worker = _Worker(fn, Path(catalog_path) if catalog_path is not None else None, self)
        self._thread = QThread()
        self._worker.moveToThread(self._thread)
        self._worker.progress.connect(self._on_progress)
        self._worker.done.connect(self._on_done)
        self._worker.failed.connect(self._on_failed)
        self._thread.started.connect(self._worker.run)
        self._running = False

    # --------------------------------------------------------------- any thread
    def report(self, value: Any) -> None:
        """Send a progress value to the GUI thread (call from ``fn``)."""
        self._worker.progress.emit(value)

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancel.is_set()

    @property
    def is_cancelled(self) -> bool:
        """Same as :attr:`cancelled` (the ``control`` protocol of export and scan)."""
        return self._cancel.is_set()

    # --------------------------------------------------------------- GUI thread
    @property
    def running(self) -> bool:
        """True from :meth:`start` until ``done`` or ``failed`` was emitted."""
        return self._running

    def start(self) -> Task:
        """Start the job; returns self."""
        self._running = True
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask ``fn`` to stop (it checks :attr:`cancelled`)."""
        self._cancel.set()

    def stop(self, timeout_ms: int = 60_000) -> bool:
        """Cancel and join the thread; False when it did not end in time."""
        self.cancel()
        self._thread.quit()
        ok = self._thread.wait(timeout_ms)
        if ok:
            self._running = False
        return ok

    def _join(self) -> None:
        self._thread.quit()
        self._thread.wait()
        self._running = False

    @Slot(object)
    def _on_progress(self, value: object) -> None:
        self.progress.emit(value)

    @Slot(object)
    def _on_done(self, result: object) -> None:
        self._join()
        self.done.emit(result)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._join()
        self.failed.emit(message)
