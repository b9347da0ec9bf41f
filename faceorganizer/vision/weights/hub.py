"""Find, download, verify and load pretrained weight files.

Resolution order for a registry name: an explicit path, the faceorganizer cache
(``$FACEORGANIZER_CACHE``, default ``~/.cache/faceorganizer``), a file facenet-pytorch already
downloaded (``$TORCH_HOME/checkpoints``) or ships (its package ``data`` folder), and last
a download from the registry URLs. Downloads are streamed into a temporary file beside the
target, checked (size, sha256), then renamed atomically; a lock file makes two processes
fetching the same file safe. Every file is loaded with ``torch.load(weights_only=True)``.

Environment variables:
    FACEORGANIZER_CACHE: cache folder.
    FACEORGANIZER_OFFLINE: ``1`` forbids downloads.
    FACEORGANIZER_MIRROR: a base URL tried before the registry URLs (``<mirror>/<file_name>``).
    FACEORGANIZER_DOWNLOAD_TIMEOUT: socket timeout in seconds (default 30).
    FACEORGANIZER_DOWNLOAD_RETRIES: attempts per URL on transient errors (default 3).
    FACEORGANIZER_WEIGHTS_PATH: read-only folders searched after the cache (``os.pathsep``-separated;
        the packaged app points it at its bundled MTCNN weights).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import importlib.util
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import torch

from ..._atomic import atomic_write_bytes
from ...paths import cache_dir
from ..errors import WeightsError
from .registry import WeightSpec, get_spec, list_specs

StateDict = dict[str, torch.Tensor]
MANIFEST = "manifest.json"
_CHUNK = 1 << 20
_PICKLE_MAGIC = (b"\x80", b"PK")  # legacy torch pickle protocol 2+, or zip archive


def facenet_pytorch_cache_dir() -> Path:
    """Where facenet-pytorch caches its downloads (``$TORCH_HOME/checkpoints``)."""
    torch_home = os.environ.get("TORCH_HOME")
    if not torch_home:
        torch_home = os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "torch")
    return Path(torch_home).expanduser() / "checkpoints"


def _facenet_pytorch_data_dir() -> Path | None:
    """The ``data`` folder of an installed facenet-pytorch, found without importing it."""
    try:
        found = importlib.util.find_spec("facenet_pytorch")
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    return Path(next(iter(found.submodule_search_locations))) / "data"


def _offline() -> bool:
    return os.environ.get("FACEORGANIZER_OFFLINE", "").strip().lower() in ("1", "true", "yes")


def _candidate_urls(spec: WeightSpec) -> list[str]:
    mirror = os.environ.get("FACEORGANIZER_MIRROR", "").strip()
    urls = [mirror.rstrip("/") + "/" + spec.file_name] if mirror else []
    return urls + list(spec.urls)


def _missing_message(spec: WeightSpec, reason: str) -> str:
    urls = "\n".join(f"    {u}" for u in _candidate_urls(spec))
    return (
        f"pretrained weights {spec.name!r} ({spec.approx_size}) are not available: {reason}\n"
        f"  Download the file from:\n{urls}\n"
        f"  and save it as {cache_dir() / spec.file_name}\n"
        f"  (or run: faceorganizer weights import /path/to/{spec.file_name}; "
        f"or set FACEORGANIZER_CACHE to the folder that holds it)."
    )


# ----------------------------------------------------------------------------- hashing
def sha256_file(path: str | os.PathLike[str]) -> str:
    """The hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


# ----------------------------------------------------------------------------- manifest
def _read_manifest(folder: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _record_manifest(folder: Path, spec: WeightSpec, digest: str, size: int) -> None:
    with _file_lock(folder / f"{MANIFEST}.lock"):
        manifest = _read_manifest(folder)
        manifest[spec.file_name] = {"name": spec.name, "sha256": digest, "size": size}
        atomic_write_bytes(folder / MANIFEST, json.dumps(manifest, indent=1).encode())


def expected_sha256(spec: WeightSpec, folder: Path) -> str | None:
    """The published sha256 of ``spec``, else the one recorded in ``folder``'s manifest."""
    if spec.sha256:
        return spec.sha256
    entry = _read_manifest(folder).get(spec.file_name)
    return entry.get("sha256") if isinstance(entry, dict) else None


# ----------------------------------------------------------------------------- locking
@contextlib.contextmanager
def _file_lock(path: Path, timeout: float = 600.0) -> Iterator[None]:
    """An exclusive inter-process lock on ``path`` (fcntl where available)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: best effort, no lock
            yield
            return
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WeightsError(f"timed out waiting for the lock {path}") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# ----------------------------------------------------------------------------- download
class _Transient(Exception):
    """A download error worth retrying."""


class _CallbackProgress:
    """Adapts ``progress(received, total)`` to the progress-bar interface; it may raise to cancel."""

    def __init__(self, total: int | None, callback: Callable[[int, int | None], None]) -> None:
        self.total, self.received, self._callback = total, 0, callback

    def update(self, n: int) -> None:
        self.received += n
        self._callback(self.received, self.total)

    def close(self) -> None:
        pass


def _progress_bar(total: int | None, desc: str, enabled: Any) -> Any:
    if callable(enabled):
        return _CallbackProgress(total, enabled)
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc)


def _stream(url: str, out: IO[bytes], timeout: float, desc: str, progress: Any) -> str:
    """Stream ``url`` into ``out``; return the sha256. Raises _Transient or WeightsError."""
    request = urllib.request.Request(url, headers={"User-Agent": "faceorganizer"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code in (408, 429) or e.code >= 500:
            raise _Transient(f"HTTP {e.code} from {url}") from e
        raise WeightsError(f"HTTP {e.code} {e.reason} from {url}") from e
    except (urllib.error.URLError, OSError) as e:
        raise _Transient(f"cannot reach {url}: {getattr(e, 'reason', e)}") from e
    h = hashlib.sha256()
    received = 0
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        content_type = response.headers.get("Content-Type", "")
        if content_type.startswith("text/html"):
            raise WeightsError(f"{url} answered with an HTML page, not a weight file")
        bar = _progress_bar(total, desc, progress)
        try:
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except (OSError, http.client.HTTPException) as e:
                    raise _Transient(f"connection to {url} broke after {received} bytes") from e
                if not chunk:
                    break
                out.write(chunk)
                h.update(chunk)
                received += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    if total is not None and received != total:
        raise _Transient(f"{url} sent {received} of {total} bytes")
    return h.hexdigest()


def download(
    spec: WeightSpec,
    folder: Path | None = None,
    *,
    progress: bool | Callable[[int, int | None], None] | None = None,
) -> Path:
    """Download ``spec`` into ``folder`` (default: the cache), verified, atomically.

    ``progress`` is True/False/None for a terminal bar, or a callable ``(received, total)``
    called after each chunk (the window's progress bar; raising from it stops the download).

    Safe to call from several processes at once: one downloads, the others wait on the
    lock and then find the verified file.

    Raises:
        WeightsError: offline, every URL failed, or the file fails verification. The
            message names the weight, the URLs, the file name and the folder to use.
    """
    folder = folder or cache_dir()
    target = folder / spec.file_name
    if _offline():
        raise WeightsError(_missing_message(spec, "FACEORGANIZER_OFFLINE is set"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WeightsError(_missing_message(spec, f"cannot create {folder}: {e}")) from e
    timeout = float(os.environ.get("FACEORGANIZER_DOWNLOAD_TIMEOUT", "30"))
    attempts = max(1, int(os.environ.get("FACEORGANIZER_DOWNLOAD_RETRIES", "3")))
    errors: list[str] = []
    with _file_lock(folder / f"{spec.file_name}.lock"):
        if target.exists() and _verify_file(spec, target, folder) is None:
            return target  # another process finished it while we waited
        for url in _candidate_urls(spec):
            for attempt in range(attempts):
                fd, tmp = tempfile.mkstemp(prefix=f".{spec.file_name}.", suffix=".part", dir=folder)
                try:
                    with os.fdopen(fd, "wb") as out:
                        digest = _stream(url, out, timeout, spec.file_name, progress)
                        out.flush()
                        os.fsync(out.fileno())
                    problem = _check_bytes(spec, Path(tmp), digest, folder)
                    if problem:
                        raise WeightsError(f"{url}: {problem}")
                    os.replace(tmp, target)
                    return target
                except _Transient as e:
                    errors.append(f"{e} (attempt {attempt + 1}/{attempts})")
                    if attempt + 1 < attempts:
                        time.sleep(min(8.0, 0.5 * 2**attempt))
                except WeightsError as e:
                    errors.append(str(e))
                    break  # permanent for this URL: try the next one
                finally:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
    detail = "\n".join(f"    - {e}" for e in errors)
    raise WeightsError(_missing_message(spec, f"download failed:\n{detail}"))


# ----------------------------------------------------------------------------- verify
def _check_bytes(spec: WeightSpec, path: Path, digest: str, folder: Path) -> str | None:
    """Why the file at ``path`` with hash ``digest`` is not ``spec``'s file, or None."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(64)
    if head.lstrip()[:1] == b"<":
        return "the file is an HTML/XML page (an error page saved as weights?), not weights"
    torch_file = spec.meta.get("format") is None  # other formats are checked by size and sha256
    if torch_file and not head.startswith(_PICKLE_MAGIC):
        return "the file is not a PyTorch weight file (unknown header)"
    if spec.size is not None and size != spec.size:
        return f"size is {size} bytes, expected {spec.size} (truncated or wrong file)"
    want = expected_sha256(spec, folder)
    if want and digest != want:
        return f"sha256 is {digest}, expected {want} (corrupt or wrong file)"
    return None


def _verify_file(spec: WeightSpec, path: Path, folder: Path) -> str | None:
    return _check_bytes(spec, path, sha256_file(path), folder)


def verify(spec: WeightSpec | str, path: str | os.PathLike[str]) -> str | None:
    """Check a file against a registry entry without loading it.

    Returns:
        ``None`` when the file passes (size, header, sha256 where known), else the problem.
    """
    spec = get_spec(spec) if isinstance(spec, str) else spec
    p = Path(path)
    if not p.is_file():
        return f"{p} does not exist"
    return _verify_file(spec, p, p.parent)


# ----------------------------------------------------------------------------- resolve/load
def find_local(spec: WeightSpec) -> Path | None:
    """The first existing local copy of ``spec``: cache, ``$FACEORGANIZER_WEIGHTS_PATH``, facenet-pytorch."""
    extra = [Path(p) for p in os.environ.get("FACEORGANIZER_WEIGHTS_PATH", "").split(os.pathsep) if p]
    folders = [cache_dir(), *extra, facenet_pytorch_cache_dir()]
    data_dir = _facenet_pytorch_data_dir()
    if data_dir is not None:
        folders.append(data_dir)
    package = spec.meta.get("source_package")
    if package:  # shipped inside an installed Python package (e.g. the offline model)
        folders.extend(package_data_dirs(str(package)))
    for folder in folders:
        candidate = folder / spec.file_name
        if candidate.is_file():
            return candidate
    return None


def package_data_dirs(package: str) -> list[Path]:
    """The folders of an installed package and their ``models`` sub-folders, found without importing it."""
    import importlib.util

    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return []
    if found is None or not found.submodule_search_locations:
        return []
    out = []
    for location in found.submodule_search_locations:
        out += [Path(location), Path(location) / "models"]
    return [p for p in out if p.is_dir()]


def resolve(name: str, *, download_missing: bool = True, progress: bool | None = None) -> Path:
    """The local path of registry weight ``name``, downloading it when needed.

    A cached file that fails verification is reported and fetched again.
    """
    spec = get_spec(name)
    local = find_local(spec)
    if local is not None:
        problem = _verify_file(spec, local, local.parent)
        if problem is None:
            return local
        if local.parent != cache_dir():
            raise WeightsError(f"{local}: {problem}. Delete it or replace it with a good copy.")
        warnings.warn(f"cached weights {local} are corrupt ({problem}); fetching again", stacklevel=2)
        if not download_missing or _offline():
            raise WeightsError(_missing_message(spec, f"the cached copy {local} is corrupt: {problem}"))
    if not download_missing:
        raise WeightsError(_missing_message(spec, "the file is not in the cache"))
    return download(spec, progress=progress)


def _torch_load(path: Path) -> StateDict:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError, RuntimeError (zip), EOFError (truncated)
        kind = type(e).__name__
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise WeightsError(
            f"cannot load weights from {path}: {kind}: {first}\n"
            "  The file is truncated, corrupt, not a PyTorch state dict, or contains code "
            "(faceorganizer loads weights with weights_only=True and refuses pickled objects)."
        ) from e
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path} does not hold a state dict of tensors")
    return dict(obj)


def load_state_dict(
    weights: str | os.PathLike[str],
    *,
    validate: Callable[[StateDict], None] | None = None,
    progress: bool | None = None,
) -> StateDict:
    """Load a state dict from a registry name or a file path, on the CPU.

    Args:
        weights: A registry name (``"vggface2"``, ``"pnet"``, ...) or a path to a file.
        validate: Called with the loaded dict; raise to reject it. For registry weights
            without a published sha256, the hash is recorded in the cache manifest only
            after ``validate`` accepted the file, and enforced on every later load.
        progress: Show a download progress bar (default: when stderr is a terminal).

    Raises:
        WeightsError: the file is missing, cannot be fetched, or fails verification.
    """
    as_path = Path(weights)
    is_name = (
        isinstance(weights, str)
        and not as_path.suffix
        and os.sep not in weights
        # a registry name wins; any other bare word naming an existing file is that file
        and (weights in {spec.name for spec in list_specs()} or not as_path.is_file())
    )
    if not is_name:
        if not as_path.is_file():
            raise WeightsError(f"weight file {as_path} does not exist")
        state = _torch_load(as_path)
        if validate is not None:
            _validate(validate, state, as_path)
        return state
    spec = get_spec(str(weights))
    path = resolve(spec.name, progress=progress)
    state = _torch_load(path)
    if validate is not None:
        _validate(validate, state, path)
    if expected_sha256(spec, path.parent) is None and path.parent == cache_dir():
        _record_manifest(path.parent, spec, sha256_file(path), path.stat().st_size)
    return state


def _validate(validate: Callable[[StateDict], None], state: StateDict, path: Path) -> None:
    try:
        validate(state)
    except WeightsError:
        raise
    except Exception as e:
        raise WeightsError(f"{path} does not fit the model: {e}") from e


def import_file(
    name: str,
    source: str | os.PathLike[str],
    *,
    validate: Callable[[StateDict], None] | None = None,
) -> Path:
    """Check a manually downloaded file for registry entry ``name`` and copy it to the cache.

    ``validate`` (e.g. :func:`faceorganizer.vision.models.strict_validator`) checks the structure.

    Raises:
        WeightsError: the file fails verification; nothing is written to the cache.
    """
    spec = get_spec(name)
    src = Path(source)
    if not src.is_file():
        raise WeightsError(f"{src} does not exist")
    folder = cache_dir()
    problem = _check_bytes(spec, src, sha256_file(src), folder)
    if problem:
        raise WeightsError(f"{src} is not a valid {spec.name!r} file: {problem}")
    state = _torch_load(src)  # a state dict of tensors, loaded safely
    if validate is not None:
        _validate(validate, state, src)
    target = folder / spec.file_name
    with _file_lock(folder / f"{spec.file_name}.lock"):
        atomic_write_bytes(target, src.read_bytes())
    if expected_sha256(spec, folder) is None:
        _record_manifest(folder, spec, sha256_file(target), target.stat().st_size)
    return target


def registry_name_for_file(path: str | os.PathLike[str]) -> str | None:
    """The registry name whose file name or sha256 matches ``path``, if any."""
    p = Path(path)
    for spec in list_specs():
        if p.name == spec.file_name:
            return spec.name
    digest = sha256_file(p) if p.is_file() else None
    for spec in list_specs():
        if spec.sha256 and spec.sha256 == digest:
            return spec.name
    return None

