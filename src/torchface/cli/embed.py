"""``torchface embed``: one row per face (file, face, box, probability, embedding) to a file.

The output is ``.npz`` or ``.parquet``. It also lists every file looked at with its
status, so a re-run skips files already done (faces, no face or unreadable alike) and
continues an interrupted run. The output is rewritten atomically at checkpoints and at the
end: a run killed at any point leaves the last complete checkpoint, never a broken file.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import TorchfaceError
from ._common import (
    add_detector_options,
    add_embedder_options,
    add_runtime_options,
    atomic_write,
    build_pipeline,
    collect_images,
    progress_bar,
    remove_stale_temporaries,
    warn,
)

if TYPE_CHECKING:
    import numpy as np

FORMAT = "torchface-embeddings/1"
_SUFFIXES = (".npz", ".parquet")

_EPILOG = """\
output columns (one row per face):
  file        absolute path of the image
  face        index of the face in the image (detector order)
  box         x1, y1, x2, y2 in image pixels
  prob        detection probability
  landmarks   5 x (x, y): eyes, nose, mouth corners
  embedding   L2-normalised embedding (512 floats)
plus, per file looked at: files, file_status (ok | no_face | error), file_reason; and the
model and preprocessing names. In .npz these are arrays (np.load(path)); in .parquet the
per-file list and the names are in the schema metadata key "torchface" (JSON).

Re-running with the same -o skips files already in it. The output is rewritten (atomically)
every --checkpoint-every files, every --checkpoint-seconds, and at the end.

examples:
  torchface embed photos/ -o faces.npz
  torchface embed photos/ -o faces.parquet --weights /models/20180402-114759-vggface2.pt
"""


@dataclass
class EmbeddingTable:
    """Rows of faces plus the status of every file looked at."""

    model: str
    preprocessing: str
    file: list[str] = field(default_factory=list)
    face: list[int] = field(default_factory=list)
    box: list[np.ndarray] = field(default_factory=list)
    prob: list[float] = field(default_factory=list)
    landmarks: list[np.ndarray] = field(default_factory=list)
    embedding: list[np.ndarray] = field(default_factory=list)
    files: dict[str, tuple[str, str]] = field(default_factory=dict)
    dim: int = 512

    def arrays(self) -> dict[str, np.ndarray]:
        """The table as numpy arrays (no object arrays)."""
        import numpy as np

        n = len(self.file)
        return {
            "file": np.array(self.file, dtype=str).reshape(n),
            "face": np.array(self.face, dtype=np.int32).reshape(n),
            "box": np.array(self.box, dtype=np.float32).reshape(n, 4),
            "prob": np.array(self.prob, dtype=np.float32).reshape(n),
            "landmarks": np.array(self.landmarks, dtype=np.float32).reshape(n, 5, 2),
            "embedding": np.array(self.embedding, dtype=np.float32).reshape(n, self.dim),
        }


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``embed`` command."""
    p = subparsers.add_parser(
        "embed",
        help="detect and embed every face in a folder, to .npz or .parquet (resumable)",
        description="Detect faces with MTCNN and embed them with Inception-ResNet-V1; write "
        "one row per face. Needs the Inception-ResNet-V1 weights (--weights).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="image folders or files")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="FILE",
        help="output file, .npz or .parquet (parquet needs pyarrow)",
    )
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=500,
        metavar="N",
        help="rewrite the output after every N files (default: %(default)s)",
    )
    p.add_argument(
        "--checkpoint-seconds",
        type=float,
        default=300.0,
        metavar="S",
        help="... or after S seconds since the last write (default: %(default)s)",
    )
    add_embedder_options(p)
    add_detector_options(p)
    add_runtime_options(p)
    p.set_defaults(func=run)


# ---------------------------------------------------------------------------- file formats
def _require_pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError as e:
        raise TorchfaceError(
            "writing .parquet needs pyarrow: pip install 'torchface[parquet]' (or use .npz)"
        ) from e
    return pyarrow


def _metadata(table: EmbeddingTable) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "model": table.model,
        "preprocessing": table.preprocessing,
        "files": [[f, s, r] for f, (s, r) in table.files.items()],
    }


def _write_npz(f: IO[bytes], **arrays: np.ndarray) -> None:
    """Write arrays as an ``.npz`` (what ``np.savez`` makes; it cannot take a ``file`` key)."""
    import numpy as np

    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, array in arrays.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def save_table(table: EmbeddingTable, path: Path) -> None:
    """Write ``table`` to ``path`` (.npz or .parquet) atomically."""
    import numpy as np

    arrays = table.arrays()
    if path.suffix == ".npz":
        names = list(table.files)

        def write(f: IO[bytes]) -> None:
            _write_npz(
                f,
                **arrays,
                files=np.array(names, dtype=str).reshape(len(names)),
                file_status=np.array([table.files[n][0] for n in names], dtype=str).reshape(-1),
                file_reason=np.array([table.files[n][1] for n in names], dtype=str).reshape(-1),
                model=np.array(table.model),
                preprocessing=np.array(table.preprocessing),
                format=np.array(FORMAT),
            )

    else:
        pa = _require_pyarrow()
        import pyarrow.parquet as pq

        def fixed(values: np.ndarray, width: int) -> Any:
            flat = pa.array(values.reshape(-1).astype(np.float32), type=pa.float32())
            return pa.FixedSizeListArray.from_arrays(flat, width)

        columns = {
            "file": pa.array(arrays["file"].tolist(), type=pa.string()),
            "face": pa.array(arrays["face"], type=pa.int32()),
            "box": fixed(arrays["box"], 4),
            "prob": pa.array(arrays["prob"], type=pa.float32()),
            "landmarks": fixed(arrays["landmarks"], 10),
            "embedding": fixed(arrays["embedding"], table.dim),
        }
        meta = {b"torchface": json.dumps(_metadata(table)).encode()}
        pa_table = pa.table(columns).replace_schema_metadata(meta)

        def write(f: IO[bytes]) -> None:
            pq.write_table(pa_table, f)

    atomic_write(path, write)


def load_table(path: Path) -> EmbeddingTable:
    """Read an output written by :func:`save_table`.

    Raises:
        TorchfaceError: the file is not a torchface embeddings file.
    """
    import numpy as np

    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                if str(z.get("format", "")) != FORMAT:
                    raise TorchfaceError(f"{path} is not a torchface embeddings file")
                table = EmbeddingTable(str(z["model"]), str(z["preprocessing"]))
                emb = z["embedding"]
                table.dim = int(emb.shape[1])
                table.file = z["file"].tolist()
                table.face = z["face"].tolist()
                table.box = list(z["box"])
                table.prob = z["prob"].tolist()
                table.landmarks = list(z["landmarks"])
                table.embedding = list(emb)
                table.files = {
                    f: (s, r)
                    for f, s, r in zip(
                        z["files"].tolist(), z["file_status"].tolist(), z["file_reason"].tolist()
                    )
                }
                return table
        _require_pyarrow()
        import pyarrow.parquet as pq

        pa_table = pq.read_table(path)
        raw = (pa_table.schema.metadata or {}).get(b"torchface")
        meta = json.loads(raw) if raw else {}
        if meta.get("format") != FORMAT:
            raise TorchfaceError(f"{path} is not a torchface embeddings file")
        table = EmbeddingTable(meta["model"], meta["preprocessing"])

        def matrix(name: str, width: int) -> np.ndarray:
            col = pa_table.column(name).combine_chunks()
            return col.flatten().to_numpy(zero_copy_only=False).reshape(-1, width)

        dim = pa_table.schema.field("embedding").type.list_size
        table.dim = int(dim)
        table.file = pa_table.column("file").to_pylist()
        table.face = pa_table.column("face").to_pylist()
        table.box = list(matrix("box", 4))
        table.prob = pa_table.column("prob").to_pylist()
        table.landmarks = list(matrix("landmarks", 10).reshape(-1, 5, 2))
        table.embedding = list(matrix("embedding", table.dim))
        table.files = {f: (s, r) for f, s, r in meta["files"]}
        return table
    except TorchfaceError:
        raise
    except Exception as e:  # noqa: BLE001 - any reader failure means an unusable file
        raise TorchfaceError(
            f"{path} exists but cannot be read as torchface embeddings ({type(e).__name__}: "
            f"{e}); move it away or choose another -o"
        ) from e


# ---------------------------------------------------------------------------- command
def run(args: argparse.Namespace) -> int:
    """Run ``torchface embed``."""
    out: Path = args.output
    if out.suffix not in _SUFFIXES:
        raise TorchfaceError(f"-o {out}: the output must end in .npz or .parquet")
    if out.suffix == ".parquet":
        _require_pyarrow()
    files = collect_images(args.paths)
    remove_stale_temporaries(out)
    previous = load_table(out) if out.exists() else None
    todo = [f for f in files if previous is None or os.path.abspath(f) not in previous.files]
    skipped = len(files) - len(todo)
    if not todo:
        warn(f"embed: nothing to do, all {len(files)} files are already in {out}")
        return 0
    pipeline = build_pipeline(args, embed=True, keep_crops=False)
    model, preprocessing = pipeline.model_name, pipeline.preprocessing
    if previous is not None and (previous.model, previous.preprocessing) != (model, preprocessing):
        raise TorchfaceError(
            f"{out} holds embeddings of model {previous.model!r} ({previous.preprocessing}); "
            f"this run uses {model!r} ({preprocessing}). Embeddings of different models are "
            "never mixed: choose another output file."
        )
    table = previous or EmbeddingTable(model, preprocessing)
    if skipped:
        warn(f"embed: resuming {out}: {skipped} files already done, {len(todo)} to go")
    counts = {"files": 0, "faces": 0, "no_face": 0, "error": 0}
    failures: list[str] = []
    since, last = 0, time.monotonic()
    with progress_bar(len(todo), "embed", args.progress) as bar:
        for result in pipeline.run(todo):
            counts["files"] += 1
            for face in result.faces:
                table.file.append(os.path.abspath(result.source))
                table.face.append(face.index)
                table.box.append(face.box)
                table.prob.append(face.prob)
                table.landmarks.append(face.landmarks)
                table.embedding.append(face.embedding)
                table.dim = int(face.embedding.shape[0])
            counts["faces"] += len(result.faces)
            if result.status != "ok":
                counts[result.status] += 1
            if result.error:
                failures.append(result.error)
            table.files[os.path.abspath(result.source)] = (result.status, result.reason or "")
            bar.update(1)
            since += 1
            if since >= args.checkpoint_every or time.monotonic() - last >= args.checkpoint_seconds:
                save_table(table, out)
                since, last = 0, time.monotonic()
    save_table(table, out)
    warn(
        f"embed: {counts['files']} files read ({skipped} skipped as already done), "
        f"{counts['faces']} faces found, {counts['no_face']} files without a face, "
        f"{counts['error']} failures; {len(table.file)} faces in {out}"
    )
    for message in failures:
        warn(f"  failed: {message}")
    return 0
