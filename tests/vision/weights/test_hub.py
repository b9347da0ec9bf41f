"""Download, cache, verify and load weights against a real local HTTP server."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import pickle
import socket
import warnings
from pathlib import Path

import pytest
import torch
from shared_data import shared_path
from weight_server import WeightServer

from faceorganizer.vision.errors import WeightsError
from faceorganizer.vision.models import strict_validator
from faceorganizer.vision.weights import (
    cache_dir,
    download,
    get_spec,
    import_file,
    load_state_dict,
    registry,
    resolve,
    sha256_file,
)


@pytest.fixture
def pnet_bytes() -> bytes:
    return shared_path("weights", "mtcnn", "pnet.pt").read_bytes()


@pytest.fixture
def online(monkeypatch):
    monkeypatch.setenv("FACEORGANIZER_OFFLINE", "0")
    monkeypatch.setenv("FACEORGANIZER_DOWNLOAD_TIMEOUT", "1")
    monkeypatch.setenv("FACEORGANIZER_DOWNLOAD_RETRIES", "2")


@pytest.fixture
def server(pnet_bytes):
    with WeightServer() as srv:
        srv.files["pnet.pt"] = pnet_bytes
        yield srv


def pnet_spec(*urls: str) -> registry.WeightSpec:
    return dataclasses.replace(get_spec("pnet"), urls=urls)


@pytest.fixture
def registry_pnet_from(monkeypatch):
    """Point the registry's pnet entry at the given URLs."""

    def apply(*urls: str) -> None:
        monkeypatch.setitem(registry._REGISTRY, "pnet", pnet_spec(*urls))

    return apply


def leftovers(folder: Path) -> list[str]:
    """Files in the cache other than lock files and the manifest."""
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock"))


def test_registry_has_published_entries():
    vgg = get_spec("vggface2")
    assert vgg.file_name == "20180402-114759-vggface2.pt"
    assert vgg.urls[0].endswith("/v2.2.9/20180402-114759-vggface2.pt")
    assert vgg.meta["lfw_accuracy"] == 0.9965 and vgg.num_classes == 8631
    casia = get_spec("casia-webface")
    assert casia.meta["lfw_accuracy"] == 0.9905 and casia.num_classes == 10575
    for name in ("pnet", "rnet", "onet"):
        spec = get_spec(name)
        local = shared_path("weights", "mtcnn", f"{name}.pt")
        assert spec.sha256 == sha256_file(local)
        assert spec.size == local.stat().st_size
    with pytest.raises(KeyError, match="known: casia-webface"):
        get_spec("nope")


def test_download_success_is_verified_and_atomic(online, server, tmp_path, pnet_bytes):
    path = download(pnet_spec(server.url("pnet.pt")), tmp_path, progress=False)
    assert path == tmp_path / "pnet.pt"
    assert path.read_bytes() == pnet_bytes
    assert leftovers(tmp_path) == ["pnet.pt"]


def test_registry_name_downloads_into_cache_then_works_offline(
    online, server, registry_pnet_from, monkeypatch
):
    registry_pnet_from(server.url("pnet.pt"))
    state = load_state_dict("pnet", validate=strict_validator(get_spec("pnet")))
    assert "conv1.weight" in state
    assert server.hits["pnet.pt"] == 1
    monkeypatch.setenv("FACEORGANIZER_OFFLINE", "1")
    load_state_dict("pnet")
    assert server.hits["pnet.pt"] == 1  # served from the cache


def test_mirror_env_is_tried_first(online, server, registry_pnet_from, monkeypatch):
    registry_pnet_from(server.url("missing/pnet.pt"))
    monkeypatch.setenv("FACEORGANIZER_MIRROR", server.url(""))
    assert resolve("pnet").read_bytes() == server.files["pnet.pt"]
    assert "missing/pnet.pt" not in server.hits


def test_404_reports_url_file_and_folder(online, server, tmp_path):
    url = server.url("gone.pt")
    with pytest.raises(WeightsError) as info:
        download(pnet_spec(url), tmp_path, progress=False)
    message = str(info.value)
    assert "HTTP 404" in message and url in message
    assert "pnet.pt" in message and str(cache_dir()) in message
    assert server.hits["gone.pt"] == 1  # a 404 is not retried
    assert leftovers(tmp_path) == []


def test_connection_dropped_mid_file_is_retried_then_reported(online, server, tmp_path):
    server.modes["pnet.pt"] = "drop"
    with pytest.raises(WeightsError, match="(broke|sent) "):
        download(pnet_spec(server.url("pnet.pt")), tmp_path, progress=False)
    assert server.hits["pnet.pt"] == 2  # FACEORGANIZER_DOWNLOAD_RETRIES
    assert leftovers(tmp_path) == []


def test_transient_503_is_retried(online, server, tmp_path, pnet_bytes):
    server.modes["pnet.pt"] = "flaky"
    path = download(pnet_spec(server.url("pnet.pt")), tmp_path, progress=False)
    assert path.read_bytes() == pnet_bytes
    assert server.hits["pnet.pt"] == 2


def test_wrong_sha256_is_refused(online, server, tmp_path, pnet_bytes):
    corrupt = bytearray(pnet_bytes)
    corrupt[-100] ^= 0xFF
    server.files["pnet.pt"] = bytes(corrupt)
    with pytest.raises(WeightsError, match="sha256"):
        download(pnet_spec(server.url("pnet.pt")), tmp_path, progress=False)
    assert leftovers(tmp_path) == []


def test_html_error_page_is_never_saved(online, server, tmp_path):
    server.modes["pnet.pt"] = "html"
    with pytest.raises(WeightsError, match="HTML"):
        download(pnet_spec(server.url("pnet.pt")), tmp_path, progress=False)
    assert leftovers(tmp_path) == []


def test_slow_server_times_out(online, server, tmp_path):
    server.modes["pnet.pt"] = "slow"
    server.slow_seconds = 3.0
    with pytest.raises(WeightsError, match="pnet"):
        download(pnet_spec(server.url("pnet.pt")), tmp_path, progress=False)
    assert leftovers(tmp_path) == []


def test_no_server_at_all(online, tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/pnet.pt"
    with pytest.raises(WeightsError) as info:
        download(pnet_spec(url), tmp_path, progress=False)
    assert url in str(info.value) and "cannot reach" in str(info.value)
    assert leftovers(tmp_path) == []


def test_offline_mode_refuses_to_download(monkeypatch, registry_pnet_from):
    registry_pnet_from("http://127.0.0.1:9/pnet.pt")
    with pytest.raises(WeightsError, match="FACEORGANIZER_OFFLINE"):
        resolve("pnet")


def _download_in_process(url: str, folder: str, queue) -> None:
    import dataclasses as dc

    from faceorganizer.vision.weights import download as dl
    from faceorganizer.vision.weights import get_spec as gs

    path = dl(dc.replace(gs("pnet"), urls=(url,)), Path(folder), progress=False)
    queue.put(str(path))


def test_two_processes_downloading_the_same_file(online, server, tmp_path, pnet_bytes):
    server.chunk_delay = 0.02  # about 0.15 s per download: the two overlap
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_download_in_process, args=(server.url("pnet.pt"), str(tmp_path), queue))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert {queue.get(timeout=5) for _ in procs} == {str(tmp_path / "pnet.pt")}
    assert (tmp_path / "pnet.pt").read_bytes() == pnet_bytes
    assert server.hits["pnet.pt"] == 1  # the second found the verified file under the lock
    assert leftovers(tmp_path) == ["pnet.pt"]


def test_truncated_cached_file_is_detected_and_refetched(
    online, server, registry_pnet_from, pnet_bytes
):
    registry_pnet_from(server.url("pnet.pt"))
    cache_dir().mkdir(parents=True, exist_ok=True)
    (cache_dir() / "pnet.pt").write_bytes(pnet_bytes[:1000])
    with pytest.warns(UserWarning, match="corrupt"):
        path = resolve("pnet")
    assert path.read_bytes() == pnet_bytes
    assert server.hits["pnet.pt"] == 1


def test_corrupt_cached_file_offline_is_reported(pnet_bytes):
    cache_dir().mkdir(parents=True, exist_ok=True)
    (cache_dir() / "pnet.pt").write_bytes(pnet_bytes[:1000])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(WeightsError, match="corrupt"):
            load_state_dict("pnet")


def test_html_page_cached_as_pt_can_never_be_loaded(tmp_path):
    cache_dir().mkdir(parents=True, exist_ok=True)
    page = b"<!DOCTYPE html>\n<html><body>Not Found</body></html>"
    (cache_dir() / "20180402-114759-vggface2.pt").write_bytes(page)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(WeightsError, match="HTML"):
            load_state_dict("vggface2")
    explicit = tmp_path / "page.pt"
    explicit.write_bytes(page)
    with pytest.raises(WeightsError, match="cannot load weights"):
        load_state_dict(explicit)


class _Exploit:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_crafted_pickle_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as f:
        pickle.dump({"conv1.weight": _Exploit(str(marker))}, f, protocol=2)
    torch.save({"conv1.weight": _Exploit(str(marker))}, tmp_path / "evil_zip.pt")
    for path in (evil, tmp_path / "evil_zip.pt"):
        with pytest.raises(WeightsError, match="weights_only"):
            load_state_dict(path)
    assert not marker.exists()


def test_missing_explicit_path_is_reported(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        load_state_dict(tmp_path / "nope.pt")


def test_unpublished_hash_is_recorded_then_enforced(fill_weights_file):
    from faceorganizer.vision import InceptionResnetV1

    cache_dir().mkdir(parents=True, exist_ok=True)
    cached = cache_dir() / "20180402-114759-vggface2.pt"
    cached.write_bytes(fill_weights_file.read_bytes())
    InceptionResnetV1(pretrained="vggface2")
    manifest = json.loads((cache_dir() / "manifest.json").read_text())
    assert manifest[cached.name]["sha256"] == sha256_file(cached)
    # the same file with one weight changed is no longer accepted
    state = torch.load(cached, weights_only=True)
    state["last_linear.weight"][0, 0] += 1.0
    torch.save(state, cached)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(WeightsError, match="sha256"):
            InceptionResnetV1(pretrained="vggface2")


def test_structurally_invalid_file_is_not_recorded(tmp_path):
    from faceorganizer.vision import InceptionResnetV1

    cache_dir().mkdir(parents=True, exist_ok=True)
    torch.save({"conv1.weight": torch.zeros(1)}, cache_dir() / "20180402-114759-vggface2.pt")
    with pytest.raises(WeightsError, match="does not fit"):
        InceptionResnetV1(pretrained="vggface2")
    assert not (cache_dir() / "manifest.json").exists()


def test_import_file_checks_and_places_in_cache(tmp_path, pnet_bytes):
    good = tmp_path / "downloaded_pnet.pt"
    good.write_bytes(pnet_bytes)
    target = import_file("pnet", good, validate=strict_validator(get_spec("pnet")))
    assert target == cache_dir() / "pnet.pt" and target.read_bytes() == pnet_bytes
    bad = tmp_path / "bad.pt"
    bad.write_bytes(pnet_bytes[:-10])
    with pytest.raises(WeightsError, match="size"):
        import_file("rnet", bad)
    assert not (cache_dir() / "rnet.pt").exists()


def test_bare_file_name_without_suffix_is_a_path(tmp_path, monkeypatch, pnet_bytes):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mypnet").write_bytes(pnet_bytes)
    assert "conv1.weight" in load_state_dict("mypnet")
    # a registry name is never shadowed by a file of the same name in the working folder
    (tmp_path / "vggface2").write_bytes(pnet_bytes)
    with pytest.raises(WeightsError, match="20180402-114759-vggface2.pt"):
        load_state_dict("vggface2")
