"""Run independent CPU tensor jobs side by side, one torch thread each.

torch parallelises every CPU operator over its intra-op threads; for the many small and
memory-bound operators of a detection cascade that scales poorly (about 1.5x on two
cores). Running independent pieces of work (pyramid strips, crop chunks) concurrently on
``torch.get_num_threads()`` Python threads, each limited to one intra-op thread, keeps every
core busy instead. torch releases the GIL inside its operators, so the threads overlap.

The pool is created once per thread count (and anew in a forked child). Worker threads set
their own (thread-local) OpenMP thread count to one; the caller's setting is restored right
after they start.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

__all__ = ["parallel_map", "workers_only"]

T = TypeVar("T")
R = TypeVar("R")

_pools: dict[int, ThreadPoolExecutor] = {}
_lock = threading.Lock()
_local = threading.local()


def _forget_pools_in_child() -> None:
    # a forked child has the parent's pool objects but none of their threads
    global _lock
    _pools.clear()
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_in_child)


def _start_worker(ready: threading.Barrier) -> None:
    # torch initialises a thread's count lazily, from the process-wide value, on its first
    # query; do that first, or it would later undo the setting below
    torch.get_num_threads()
    torch.set_num_threads(1)
    _local.is_worker = True
    ready.wait()


def _pool(size: int) -> ThreadPoolExecutor:
    with _lock:
        pool = _pools.get(size)
        if pool is None:
            pool = ThreadPoolExecutor(size, thread_name_prefix="faceorganizer")
            ready = threading.Barrier(size + 1)
            for _ in range(size):  # start every worker now, then restore the caller's count
                pool.submit(_start_worker, ready)
            ready.wait()
            torch.set_num_threads(size)  # the caller's count, which sized the pool
            _pools[size] = pool
        return pool


def parallel_map(fn: Callable[[T], R], items: Sequence[T], device: torch.device) -> list[R]:
    """``[fn(item) for item in items]``, run concurrently on the CPU.

    Runs inline (in order) on other devices, with a single torch thread, for fewer than two
    items, or when called from one of the workers. Results keep the order of ``items``;
    the first exception raised by ``fn`` is re-raised.
    """
    threads = getattr(_local, "threads", None) or torch.get_num_threads()
    if (
        device.type != "cpu"
        or threads < 2
        or len(items) < 2
        or getattr(_local, "is_worker", False)
    ):
        return [fn(item) for item in items]
    grad = torch.is_grad_enabled()
    inference = torch.is_inference_mode_enabled()

    def run(item: T) -> R:
        # grad / inference mode are thread-local: carry the caller's into the worker
        with torch.inference_mode(inference), torch.set_grad_enabled(grad):
            return fn(item)

    return list(_pool(threads).map(run, items))


@contextlib.contextmanager
def workers_only(device: torch.device) -> Iterator[None]:
    """Keep the calling thread on one torch thread while it hands work to the workers.

    Between :func:`parallel_map` calls the caller runs only small operators. With more than
    one OpenMP thread, its idle team threads spin-wait for the next parallel region and
    take CPU time from the workers (measured on two cores: about 7% of a 540p detection).
    :func:`parallel_map` inside the block still uses the caller's original thread count;
    the count is restored on exit.
    """
    if device.type != "cpu" or getattr(_local, "is_worker", False) or getattr(_local, "threads", None):
        yield
        return
    threads = torch.get_num_threads()
    if threads > 1:
        _pool(threads)  # created (and the count restored) before the caller drops to one
    _local.threads = threads
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        _local.threads = None
