"""Options, input collection, progress bars and safe file writing shared by the commands."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from ..vision.errors import FaceOrganizerError, WeightsError

#: Test hook: after this many durable writes (output checkpoints, gallery commits), the
#: process kills itself with SIGKILL in the middle of the next one. Used by the test suite
#: to prove that an interrupted run leaves no corrupt output.
KILL_HOOK_ENV = "FACEORGANIZER_TEST_KILL_AFTER"

_durable_writes = 0


def durable_write_point() -> None:
    """Call in the middle of a durable write; dies there if the test hook says so."""
    global _durable_writes
    limit = os.environ.get(KILL_HOOK_ENV)
    if limit is not None and _durable_writes >= int(limit):
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)


def durable_write_done() -> None:
    """Count one completed durable write (see :data:`KILL_HOOK_ENV`)."""
    global _durable_writes
    _durable_writes += 1


# ---------------------------------------------------------------------------- options
def add_runtime_options(parser: argparse.ArgumentParser, *, batch_size: int = 8) -> None:
    """``--device``, ``--batch-size``, ``--workers``, ``--progress/--no-progress``."""
    g = parser.add_argument_group("runtime")
    g.add_argument(
        "--device",
        default="cpu",
        help="where the models run: cpu, cuda, cuda:1, mps (default: %(default)s)",
    )
    g.add_argument(
        "--batch-size",
        type=_positive_int,
        default=batch_size,
        metavar="N",
        help="images per detection batch (default: %(default)s)",
    )
    g.add_argument(
        "--workers",
        type=_non_negative_int,
        default=2,
        metavar="N",
        help="processes decoding images while the models run; 0 decodes in the main "
        "process (default: %(default)s)",
    )
    g.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar on stderr (default: when stderr is a terminal)",
    )


def add_detector_options(parser: argparse.ArgumentParser, *, margin: bool = True) -> None:
    """``--mtcnn-weights``, ``--min-face-size`` and (optionally) ``--margin``."""
    g = parser.add_argument_group("face detection (MTCNN)")
    g.add_argument(
        "--mtcnn-weights",
        type=Path,
        metavar="DIR",
        help="folder holding pnet.pt, rnet.pt and onet.pt (default: the weights cache, "
        "downloaded on first use)",
    )
    g.add_argument(
        "--min-face-size",
        type=_positive_int,
        default=20,
        metavar="PX",
        help="smallest face searched, in pixels (default: %(default)s)",
    )
    if margin:
        g.add_argument(
            "--margin",
            type=_non_negative_int,
            default=0,
            metavar="PX",
            help="margin added around each face crop, in crop pixels (default: %(default)s)",
        )


def add_embedder_options(parser: argparse.ArgumentParser) -> None:
    """``--weights`` for Inception-ResNet-V1."""
    g = parser.add_argument_group("face embedding (Inception-ResNet-V1)")
    g.add_argument(
        "--weights",
        default="vggface2",
        metavar="NAME|FILE",
        help="embedding weights: vggface2, casia-webface or a .pt state-dict file "
        "(default: %(default)s; see 'faceorganizer weights list')",
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def resolve_device(name: str) -> str:
    """Check that ``name`` is a usable torch device; returns it unchanged.

    Raises:
        FaceOrganizerError: unknown device, or CUDA/MPS requested where it is not available.
    """
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as e:
        raise FaceOrganizerError(f"--device {name!r} is not a torch device ({e})") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FaceOrganizerError(f"--device {name}: CUDA is not available on this machine")
    if device.type == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise FaceOrganizerError(f"--device {name}: MPS is not available on this machine")
    return name


# ---------------------------------------------------------------------------- inputs
def collect_images(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """Expand files and folders (searched recursively for images) into a file list.

    A file named on the command line is always included, whatever its extension, so that
    a broken or mislabelled file is reported rather than silently skipped.

    Raises:
        FaceOrganizerError: a path does not exist, or no image was found at all.
    """
    from ..vision.dataset import list_images

    files: list[str] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            skipped: list[Path] = []
            files.extend(str(f) for f in list_images(p, non_images=skipped))
            if skipped:
                shown = ", ".join(str(f) for f in skipped[:5]) + (", ..." if len(skipped) > 5 else "")
                warn(f"skipped {len(skipped)} non-image file(s) in {p}: {shown}")
        elif p.exists():
            files.append(str(p))
        else:
            raise FaceOrganizerError(f"{p}: no such file or folder")
    if not files:
        shown = ", ".join(str(p) for p in paths)
        raise FaceOrganizerError(f"no image files found in {shown}")
    seen: set[str] = set()
    unique = []
    for f in files:
        key = os.path.abspath(f)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


class OutputNames:
    """File names for per-image outputs (annotations, crops) that mirror the input tree.

    An image found inside a folder given on the command line keeps its path relative to
    that folder; a file given directly keeps its name. Clashes get a numeric suffix.
    """

    def __init__(self, roots: Sequence[str | os.PathLike[str]]) -> None:
        self.roots = [Path(r).resolve() for r in roots if Path(r).is_dir()]
        self.used: set[str] = set()

    def relative(self, path: str | os.PathLike[str]) -> Path:
        """The output-relative path for ``path`` (unique within this object)."""
        p = Path(path).resolve()
        rel = Path(p.name)
        for root in self.roots:
            with contextlib.suppress(ValueError):
                rel = p.relative_to(root)
                break
        candidate, n = rel, 1
        while str(candidate) in self.used:
            candidate = rel.with_name(f"{rel.stem}_{n}{rel.suffix}")
            n += 1
        self.used.add(str(candidate))
        return candidate


# ---------------------------------------------------------------------------- models
def build_pipeline(args: argparse.Namespace, *, embed: bool, **kwargs: Any) -> Any:
    """A :class:`~faceorganizer.vision.pipeline.FacePipeline` from the parsed options.

    A missing weight file raises :class:`WeightsError` whose message says where to get it,
    where to put it and which option points to a local copy.
    """
    from ..vision.pipeline import FacePipeline

    device = resolve_device(args.device)
    weights = args.weights if embed else None
    try:
        return FacePipeline.from_pretrained(
            weights,
            mtcnn_weights=args.mtcnn_weights,
            device=device,
            margin=getattr(args, "margin", 0),
            min_face_size=args.min_face_size,
            batch_size=args.batch_size,
            num_workers=args.workers,
            **kwargs,
        )
    except WeightsError as e:
        message = str(e)
        hint = ""
        if any(f"{n}.pt" in message or f"'{n}'" in message for n in ("pnet", "rnet", "onet")):
            hint = (
                "\n  Or give this command a folder holding pnet.pt, rnet.pt and onet.pt: --mtcnn-weights DIR"
            )
        elif embed:
            hint = "\n  Or give this command a local copy: --weights /path/to/file.pt"
        raise WeightsError(f"{e}{hint}") from e


# ---------------------------------------------------------------------------- progress
class _TextProgress:
    """Minimal progress line for when tqdm is not installed."""

    def __init__(self, total: int, desc: str) -> None:
        self.total, self.desc, self.n = total, desc, 0

    def update(self, n: int = 1) -> None:
        self.n += n
        sys.stderr.write(f"\r{self.desc}: {self.n}/{self.total}")
        sys.stderr.flush()

    def set_postfix_str(self, text: str) -> None:
        sys.stderr.write(f"\r{self.desc}: {self.n}/{self.total} {text}")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


@contextlib.contextmanager
def progress_bar(total: int, desc: str, enabled: bool | None) -> Iterator[Any]:
    """A progress bar on stderr (tqdm when installed), or a no-op when disabled.

    Args:
        total: Expected number of steps.
        desc: Label.
        enabled: True/False, or None for "when stderr is a terminal".
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    bar: Any
    if not enabled:
        bar = _NoProgress()
    else:
        try:
            from tqdm import tqdm
        except ImportError:
            bar = _TextProgress(total, desc)
        else:
            bar = tqdm(total=total, desc=desc, unit="img", file=sys.stderr, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()


# ---------------------------------------------------------------------------- writing
def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write a file atomically (:func:`faceorganizer._atomic.atomic_write`), with the test hooks.

    A crash at any point leaves either the old file or the new one, never a mix.
    """
    from .._atomic import atomic_write as write_atomically

    def write_then_hook(f: IO[bytes]) -> None:
        write(f)
        f.flush()
        durable_write_point()

    write_atomically(path, write_then_hook)
    durable_write_done()


def remove_stale_temporaries(path: Path) -> int:
    """Delete ``.<name>.*.tmp`` files a killed run left beside ``path``; returns the count."""
    removed = 0
    if path.parent.is_dir():
        for stale in path.parent.glob(f".{path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()
                removed += 1
    return removed


def warn(message: str) -> None:
    """Print a message for the user on stderr."""
    print(message, file=sys.stderr)


def add_catalog_option(parser: argparse.ArgumentParser) -> None:
    """The ``--catalog C`` option every catalog command takes."""
    parser.add_argument(
        "--catalog",
        type=Path,
        default=None,
        metavar="C",
        help="catalog file (default: $FACEORGANIZER_CATALOG, else catalog.sqlite in the user data folder)",
    )
