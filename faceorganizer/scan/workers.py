"""Decoding worker processes: read, hash, decode (and on the CPU detect) photos while the networks run.

:class:`DecodePool` hands paths to ``workers`` processes and yields their results in order,
with at most ``window`` photos decoded ahead (memory stays flat however large the library).
The workers are forked from a single-threaded Linux process (the command line: they start
at once, torch already imported, instead of importing it for a second and a half each;
each builds its own detector) and spawned everywhere else (spawn is safe beside other threads, such as the
window's, and the same on Linux, macOS and Windows); see :func:`start_method`.
Each worker reads a file once, hashes the bytes (:mod:`.hashing`) and decodes them
(:func:`.decode.load_photo`); a file whose hash the catalog already knows is not decoded
(a move or a copy needs no detection). ``workers=0`` does the same in the calling thread.

Given a :class:`~.detection.DetectorSpec`, each worker also runs MTCNN on the photo it
decoded (its own detector, one torch thread), so on the CPU several photos are detected
side by side while the main process embeds and commits. It then cuts the faces' thumbnails
and, given the embedder's crop size (:attr:`DecodePool.crop_size`), their crops
(:mod:`.cuts`), and returns those instead of the working image, which costs more CPU to
send than that. A worker that cannot detect (weights unreadable, any error) returns the
photo without detections and the main process detects it itself, so the outcome, error
messages included, is the same either way.

Workers never outlive the scan: they are shut down when it ends (normally, cancelled or by
an exception), they exit when their parent dies (``PR_SET_PDEATHSIG`` on Linux, plus a
watchdog thread that polls the parent everywhere), and they ignore Ctrl-C (the parent
handles it). A worker that crashes (a decoder bug on a hostile file) costs that one
photo, reported as unreadable; the pool is restarted for the rest. A worker killed from
outside (the out-of-memory killer, ``kill -9``) costs nothing: its photo is read again.
Every wait on a worker checks that the workers are alive (:meth:`DecodePool.result`), so a
worker that dies in the middle of sending its result cannot hang the scan.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import numpy as np

from ..vision.errors import ImageError
from .cuts import FaceCuts, cut_faces
from .decode import PhotoInfo, load_photo
from .detection import Detections, DetectorSpec
from .hashing import hash_bytes, hash_file

#: Files up to this size are read into memory once (hash + decode); larger ones are hashed
#: from disk and decoded from the path.
READ_LIMIT = 256 << 20
#: Seconds between two liveness checks of the workers while a result is awaited; a pool
#: with a dead worker gets as long again to notice by itself before it is broken up.
LIVENESS_POLL = 0.5


@dataclass
class Decoded:
    """One file as a worker saw it.

    Attributes:
        path: The file.
        size: Size in bytes when read (None when it could not be read).
        mtime: Modification time when read.
        hash: SHA-256 of the content (None when it could not be read).
        image: Upright working-size RGB uint8 image, or None (error, or decoding skipped).
        scale: Full-resolution pixels per working pixel (long side).
        info: What the decoder learnt (None without an image).
        error: Why the file could not be read or decoded, else None.
        skipped: True when decoding was skipped because the catalog knows the hash.
        detections: The faces a worker's detector found on the image (None: not detected yet).
        cut: The faces' thumbnails and crops, cut where they were detected; ``image`` is
            then None (it is not needed any more).
    """

    path: str
    size: int | None = None
    mtime: float | None = None
    hash: str | None = None
    image: np.ndarray | None = None
    scale: float = 1.0
    info: PhotoInfo | None = None
    error: str | None = None
    skipped: bool = False
    detections: Detections | None = None
    cut: FaceCuts | None = None


def read_photo(
    path: str,
    max_side: int | None,
    known_hashes: frozenset[str] | set[str] = frozenset(),
    force: bool = False,
    detector: object | None = None,
    crop_size: int | None = None,
) -> Decoded:
    """Stat, read, hash and (unless the hash is known and not ``force``) decode one file.

    With a ``detector``, the decoded photo's faces are found too (:attr:`Decoded.detections`)
    and cut (:attr:`Decoded.cut`: thumbnails, and crops of ``crop_size`` when given, in place
    of the image); if that fails they are left to the scan, which detects again and records why.
    """
    out = Decoded(path)
    try:
        st = os.stat(path)
        out.size, out.mtime = int(st.st_size), float(st.st_mtime)
        data = None
        if st.st_size <= READ_LIMIT:
            with open(path, "rb") as f:
                data = f.read()
            out.hash = hash_bytes(data)
        else:
            out.hash = hash_file(path)
    except OSError as e:
        out.error = f"{path}: cannot read file ({e.strerror or e})"
        return out
    if not force and out.hash in known_hashes:
        out.skipped = True
        return out
    try:
        out.image, out.scale, out.info = load_photo(path, max_side, data=data)
    except ImageError as e:
        out.error = str(e)
        return out
    if detector is not None:
        from .detection import detect_faces

        with contextlib.suppress(Exception):  # the scan detects again and records why
            out.detections = detect_faces(detector, out.image)
            if crop_size:
                out.cut = cut_faces(out.image, out.detections[0], crop_size)
                out.image = None
    return out


# ---------------------------------------------------------------------------- worker side
_state: dict = {}


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def _init_worker(
    parent: int, max_side: int | None, known_hashes: frozenset[str], detector: DetectorSpec | None = None
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the parent
        except Exception:  # noqa: BLE001 - the watchdog below covers it
            pass
    if os.getppid() != parent:
        os._exit(0)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="parent-watchdog").start()
    # a worker has nothing to clean up at exit, and tearing torch down takes it half a second
    # (while the scan waits for it): leave at once
    atexit.register(_leave)
    import torch  # decoding resizes with torch (and a worker detects with it): one thread each

    torch.set_num_threads(1)
    _state.update(max_side=max_side, known=known_hashes, spec=detector)


def _leave() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


def _detector() -> object | None:
    """This worker's detector, built on first use (None when there is none or it cannot load)."""
    if "detector" not in _state:
        _state["detector"] = None
        spec: DetectorSpec | None = _state.get("spec")
        if spec is not None:
            try:
                import torch

                from .detection import make_detector

                torch.set_num_threads(max(1, spec.threads))
                _state["detector"] = make_detector(spec.weights, "cpu", spec.min_face_size)
            except Exception:  # noqa: BLE001 - the main process detects and reports instead
                _state["detector"] = None
    return _state["detector"]


def _warm() -> None:
    _detector()


def _work(path: str, force: bool, crop_size: int | None = None) -> Decoded:
    detector = _detector()
    known = _state.get("known", frozenset())
    return read_photo(path, _state.get("max_side"), known, force, detector, crop_size)


def _thumbs(path: str, boxes: list[tuple[float, float, float, float]]) -> list[bytes] | None:
    from .thumbnails import thumbnails_from_file

    try:
        return thumbnails_from_file(path, boxes)
    except Exception:  # noqa: BLE001 - the working-size thumbnails stay
        return None


# ---------------------------------------------------------------------------- parent side
#: Environment variable that forces how workers start (``spawn`` or ``fork``).
START_METHOD_ENV = "FACEORGANIZER_WORKER_START"


def start_method() -> str:
    """How worker processes start here: ``fork`` or ``spawn``.

    ``fork`` only on Linux from a process whose only thread is the main one (the command
    line, a script): the child is a copy that needs no imports. A thread beside it (the
    window's GUI, the scan's own QThread) could hold a lock at the moment of the copy, so
    then, and on macOS and Windows, ``spawn``. :data:`START_METHOD_ENV` overrides it.
    """
    import multiprocessing

    forced = os.environ.get(START_METHOD_ENV, "")
    if forced in multiprocessing.get_all_start_methods():
        return forced
    single = threading.current_thread() is threading.main_thread() and threading.active_count() == 1
    if sys.platform.startswith("linux") and single and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


@dataclass
class _Slot:
    """One path in flight: its worker's future (once handed out), or the calling thread's result."""

    path: str
    future: Future | None = None
    result: Decoded | None = None
    taken: bool = False


class DecodePool:
    """Ordered, bounded decoding of many files in worker processes.

    Args:
        workers: Worker processes (0: decode in the calling thread).
        max_side: Working size passed to :func:`load_photo`.
        known_hashes: Content hashes the catalog already has (their files are not decoded).
        window: Photos in flight at most (default ``2 * workers + 6``: room for the calling
            thread to help while the workers start).
        detector: Detect faces in the workers too, with a CPU detector built from this
            (None: decode only; the caller detects).
    """

    def __init__(
        self,
        workers: int,
        max_side: int | None,
        known_hashes: Iterable[str] = (),
        window: int | None = None,
        detector: DetectorSpec | None = None,
    ) -> None:
        self.workers = max(0, int(workers))
        self.max_side = max_side
        self.known = frozenset(known_hashes)
        self.detector = detector
        self.window = window or (2 * self.workers + 6)
        #: The embedder's crop size: photos detected here come back cut (see :func:`read_photo`).
        self.crop_size: int | None = None
        self._executor: ProcessPoolExecutor | None = None
        self._worked = False  # a worker of the current pool started (or returned a result)
        self._failed_starts = 0

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            import multiprocessing

            executor = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context(start_method()),
                initializer=_init_worker,
                initargs=(os.getpid(), self.max_side, self.known, self.detector),
            )
            # one warm-up task per worker spawns them all here, from this thread: a worker
            # dies with the thread that started it (PR_SET_PDEATHSIG), so none may be started
            # from the pool's own thread (where imap's hand-out runs)
            self._executor = executor
            for _ in range(self.workers):
                _submit(executor, _warm).add_done_callback(self._warmed)
        return self._executor

    def _warmed(self, future: Future) -> None:
        current = getattr(future, "owner", None) is self._executor
        if current and not future.cancelled() and future.exception() is None:
            self._worked = True  # a worker came up: a later crash is not "workers cannot start here"

    def result(self, future: Future) -> object:
        """``future.result()`` of a worker task, without hanging on a dead worker.

        A worker killed while it sends a result leaves half a message in the pool's pipe,
        and the pool's own thread waits for the rest for ever instead of noticing the death.
        So while waiting, the workers are checked: when one has died and the pool has not
        noticed within :data:`LIVENESS_POLL`, it is broken up here, and the future fails with
        :class:`BrokenProcessPool` as for any other crash.
        """
        executor = getattr(future, "owner", None) or self._executor
        dead_since: float | None = None
        while not wait_futures([future], timeout=LIVENESS_POLL).done:
            if executor is None or not _has_dead_worker(executor):
                continue
            if dead_since is None:
                dead_since = time.monotonic()
            elif time.monotonic() - dead_since >= LIVENESS_POLL:
                _break_up(executor)
        return future.result()

    def start(self) -> None:
        """Start the workers now (they also build their detector), before the first path comes."""
        if self.workers > 0:
            self._start()

    def decode(self, path: str, force: bool = False, detector: object | None = None) -> Decoded:
        """Decode one file in the calling thread (no worker); with ``detector``, detect (and cut) too."""
        return read_photo(path, self.max_side, self.known, force, detector, self.crop_size)

    def imap(self, paths: Iterable[str], helper: Callable[[str], Decoded] | None = None) -> Iterator[Decoded]:
        """Results for ``paths`` in order, decoded ahead in the workers.

        Each worker is handed its next path the moment it finishes one (never a queue of
        them), so the paths no worker has started stay free for the calling thread.

        Args:
            paths: The files.
            helper: Handles one path in the calling thread. While the next result is not
                ready, the calling thread takes the earliest path no worker has started
                and handles it with ``helper`` itself, so its core is never idle (and the
                first photos are not kept waiting while the workers start).
        """
        here = helper or self.decode
        if self.workers == 0:
            yield from (here(path) for path in paths)
            return
        pending: collections.deque[_Slot] = collections.deque()
        lock = threading.RLock()
        it = iter(paths)
        exhausted = False
        depth = 1 if helper is not None else 2  # paths handed to each worker at a time
        broken = False

        def fill() -> None:
            nonlocal exhausted
            while not exhausted and len(pending) < self.window:
                path = next(it, None)
                if path is None:
                    exhausted = True
                    return
                pending.append(_Slot(path))

        def dispatch(done: Future | None = None) -> None:
            """Hand free paths to idle workers.

            Also run by the pool's own thread as a future ends (``done``): then it only uses
            the running pool (a broken one is for the calling thread to mend).
            """
            nonlocal broken
            with lock:
                executor = self._start() if done is None else self._executor
                if done is not None and getattr(done, "owner", None) is not executor:
                    return  # a future of a pool since replaced: its thread must not feed the new one
                busy = sum(1 for s in pending if s.future is not None and not s.future.done())
                for slot in pending:
                    if executor is None or busy >= self.workers * depth:
                        return
                    if slot.future is None and slot.result is None and not slot.taken:
                        try:
                            slot.future = _submit(executor, _work, slot.path, False, self.crop_size)
                        except (BrokenProcessPool, RuntimeError):  # broken or shut down
                            if done is None:
                                broken = True  # restarted by the loop below (not under the lock)
                            return
                        slot.future.add_done_callback(dispatch)
                        busy += 1

        def take() -> _Slot | None:
            """The earliest path no worker has started, now the calling thread's."""
            with lock:
                for slot in pending:
                    if slot.future is None and slot.result is None and not slot.taken:
                        slot.taken = True
                        return slot
            return None

        while True:
            if broken:  # a worker died while idle: a fresh pool for the rest
                broken = False
                self._restart()
            with lock:
                fill()
            dispatch()
            if not pending:
                return
            head = pending[0]
            while head.result is None and not (head.future is not None and head.future.done()):
                slot = take() if helper is not None else None
                if slot is None:
                    break
                slot.result = helper(slot.path)
                with lock:
                    fill()
                dispatch()
            if head.result is None and head.future is None:  # no helper and no worker took it yet
                dispatch()
                if head.future is None:
                    head.result = self.decode(head.path)
            with lock:
                pending.popleft()
            if head.result is not None:
                yield head.result
                continue
            try:
                result = self.result(head.future)
                self._worked = True
            except BrokenProcessPool:
                result = self._after_crash(head.path)
                if self.workers == 0:  # no worker could start: decode here from now on
                    yield result
                    for slot in list(pending):
                        yield slot.result or here(slot.path)
                    yield from (here(p) for p in it)
                    return
                with lock:
                    for slot in pending:
                        if slot.result is None:
                            slot.future, slot.taken = None, False
            yield result

    def _after_crash(self, path: str) -> Decoded:
        """A worker died: did ``path`` kill it (retried alone in a fresh pool), or is the pool unusable?

        A pool that breaks before any of its workers came up counts as a failed start; after
        two in a row the workers cannot start here (an unguarded ``__main__``, say), and the
        rest is decoded in the calling thread. A worker killed once from outside is not that.
        """
        if self._pool_failed():
            return self.decode(path)
        try:
            result = self.result(_submit(self._start(), _work, path, False, self.crop_size))
            self._worked = True
            return result
        except BrokenProcessPool:
            if self._pool_failed():
                return self.decode(path)
            return Decoded(path, error=f"{path}: the image decoder crashed on this file")

    def _pool_failed(self) -> bool:
        """Shut the broken pool down; True when the workers are given up (``workers`` is then 0)."""
        self._failed_starts = 0 if self._worked else self._failed_starts + 1
        self._restart()
        if self._failed_starts < 2:
            return False
        warnings.warn("decoding worker processes could not start; decoding in the main process", stacklevel=4)
        self.workers = 0
        return True

    def thumbnails(self, path: str, boxes: list[tuple[float, float, float, float]]) -> Future:
        """Sharper face thumbnails cut from the file (a future of JPEG bytes, or of None on failure)."""
        if self.workers > 0:
            try:
                return _submit(self._start(), _thumbs, path, boxes)
            except BrokenProcessPool:
                pass
        done: Future = Future()
        done.set_result(_thumbs(path, boxes))
        return done

    def thumbnails_result(self, future: Future | None) -> list[bytes] | None:
        """What :meth:`thumbnails` made, or None when it failed (a crashed worker included)."""
        if future is None:
            return None
        try:
            return self.result(future)  # type: ignore[return-value]
        except Exception:  # noqa: BLE001 - a crashed worker: the working-size thumbnails stay
            return None

    def _restart(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
            self._worked = False

    def close(self) -> None:
        """Stop the workers (pending work is dropped); safe to call twice."""
        self._restart()

    def __enter__(self) -> DecodePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _submit(executor: ProcessPoolExecutor, fn: Callable, *args: object) -> Future:
    """``executor.submit``, the future remembering its pool (see :meth:`DecodePool.result`)."""
    future = executor.submit(fn, *args)
    future.owner = executor  # type: ignore[attr-defined]
    return future


def _has_dead_worker(executor: ProcessPoolExecutor) -> bool:
    from multiprocessing.connection import wait

    try:
        sentinels = [p.sentinel for p in (executor._processes or {}).values()]
        return bool(sentinels) and bool(wait(sentinels, timeout=0))
    except (ValueError, OSError):  # a process object already closed: the pool is going
        return False


def _break_up(executor: ProcessPoolExecutor) -> None:
    """Kill a pool's workers and end its thread's wait on their pipe; the pool then marks itself broken.

    With every worker dead, closing this process's copy of the result pipe's write end
    leaves the pipe without writers, so the pool thread's read of a half-sent result ends
    (EOF) and it fails the pending futures with :class:`BrokenProcessPool`.
    """
    for process in list((executor._processes or {}).values()):
        with contextlib.suppress(Exception):
            process.kill()
    with contextlib.suppress(Exception):
        executor._result_queue._writer.close()  # type: ignore[attr-defined]
