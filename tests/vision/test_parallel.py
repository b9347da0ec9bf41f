import threading

import pytest
import torch

from faceorganizer.vision._parallel import parallel_map, workers_only

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_results_keep_the_order_of_the_items_and_run_on_workers():
    names = set()

    def job(i):
        names.add(threading.current_thread().name)
        return torch.full((3,), float(i)).sum().item(), torch.get_num_threads()

    out = parallel_map(job, list(range(20)), CPU)
    assert [v for v, _ in out] == [3.0 * i for i in range(20)]
    assert all(n == 1 for _, n in out)  # one torch thread per worker
    assert any(n.startswith("faceorganizer") for n in names)


def test_the_callers_thread_count_is_kept_for_it_and_for_new_threads():
    parallel_map(lambda i: i, [1, 2, 3], CPU)
    assert torch.get_num_threads() == 2
    seen = []
    t = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    t.start()
    t.join()
    assert seen == [2]


def test_an_exception_in_a_job_reaches_the_caller():
    def job(i):
        if i == 3:
            raise ValueError("bad item 3")
        return i

    with pytest.raises(ValueError, match="bad item 3"):
        parallel_map(job, list(range(6)), CPU)


def test_grad_and_inference_mode_follow_the_caller():
    with torch.inference_mode():
        flags = parallel_map(lambda i: torch.is_inference_mode_enabled(), [0, 1], CPU)
    assert flags == [True, True]
    with torch.no_grad():
        flags = parallel_map(lambda i: torch.is_grad_enabled(), [0, 1], CPU)
    assert flags == [False, False]
    assert parallel_map(lambda i: torch.is_grad_enabled(), [0, 1], CPU) == [True, True]


def test_runs_inline_with_one_thread_or_one_item():
    main = threading.current_thread().name
    assert parallel_map(lambda i: threading.current_thread().name, [0], CPU) == [main]
    torch.set_num_threads(1)
    assert parallel_map(lambda i: threading.current_thread().name, [0, 1], CPU) == [main, main]


def test_nested_calls_run_inline_in_the_worker():
    def outer(i):
        return parallel_map(lambda j: threading.current_thread().name, [0, 1], CPU)

    for names in parallel_map(outer, [0, 1], CPU):
        assert names[0] == names[1]


def _child_job(queue):
    torch.set_num_threads(2)
    queue.put(parallel_map(lambda i: i * i, [1, 2, 3], CPU))


def test_a_forked_child_gets_its_own_workers():
    import multiprocessing

    parallel_map(lambda i: i, [0, 1], CPU)  # the parent's pool exists before the fork
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_job, args=(queue,))
    child.start()
    child.join(timeout=60)
    if child.is_alive():  # hung on the parent's dead workers
        child.kill()
    assert child.exitcode == 0
    assert queue.get(timeout=5) == [1, 4, 9]


def test_workers_only_keeps_the_caller_on_one_thread_and_the_workers_busy():
    with workers_only(CPU):
        assert torch.get_num_threads() == 1  # no idle OpenMP team spinning beside the workers
        names = parallel_map(lambda i: threading.current_thread().name, list(range(8)), CPU)
        assert any(n.startswith("faceorganizer") for n in names)
        with workers_only(CPU):  # nested: no change
            assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_workers_only_restores_the_count_after_an_error():
    with pytest.raises(RuntimeError), workers_only(CPU):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == 2
    # and parallel_map outside the block sizes itself from the count again
    assert parallel_map(lambda i: torch.get_num_threads(), [0, 1], CPU) == [1, 1]
