"""``faceorganizer convert``: turn the original TensorFlow facenet weights into faceorganizer files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..vision.errors import ConversionError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``convert`` command."""
    parser = subparsers.add_parser(
        "convert",
        help="convert TensorFlow facenet checkpoints and MTCNN .npy weights",
        description="Convert the original TensorFlow facenet weights to faceorganizer state "
        "dicts (the format of the published .pt files).",
    )
    sub = parser.add_subparsers(dest="convert_command", metavar="FORMAT", required=True)

    p = sub.add_parser(
        "tf-facenet",
        help="an Inception-ResNet-V1 checkpoint (model-*.ckpt-N.index + .data-*)",
        description="Convert a TensorFlow facenet Inception-ResNet-V1 checkpoint to a state "
        "dict that loads into faceorganizer's InceptionResnetV1 with strict=True. The head "
        "size comes from the checkpoint's Logits variables (no head when it has none). "
        "Reads the checkpoint with TensorFlow when it is installed, otherwise with "
        "faceorganizer's own reader (every checksum verified).",
    )
    p.add_argument(
        "checkpoint",
        type=Path,
        metavar="CHECKPOINT",
        help="folder holding the checkpoint (the .meta file is not needed), its prefix, or its .index file",
    )
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.pt")
    p.add_argument(
        "--no-tensorflow",
        dest="use_tensorflow",
        action="store_false",
        default=None,
        help="read the checkpoint with faceorganizer's pure-Python reader even when TensorFlow is installed",
    )
    p.set_defaults(func=_tf_facenet)

    p = sub.add_parser(
        "mtcnn-npy",
        help="the MTCNN det1.npy, det2.npy, det3.npy files",
        description="Convert det1.npy, det2.npy and det3.npy (TensorFlow facenet's MTCNN "
        "weights) to pnet.pt, rnet.pt and onet.pt.",
    )
    p.add_argument("folder", type=Path, metavar="DIR", help="folder holding det1/2/3.npy")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT_DIR")
    p.set_defaults(func=_mtcnn_npy)


def _check_loads(state: dict, num_classes: int | None, embedding_size: int) -> None:
    """Load the converted state dict into the model (strict) before anything is written."""
    if embedding_size != 512:
        print(
            f"faceorganizer: warning: the checkpoint's embedding size is {embedding_size}; "
            "faceorganizer's InceptionResnetV1 uses 512, so this file needs a model of that size",
            file=sys.stderr,
        )
        return
    from ..vision.models.inception_resnet_v1 import InceptionResnetV1

    model = InceptionResnetV1(num_classes=num_classes)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:  # pragma: no cover - the converter and the model disagree
        raise ConversionError(f"the converted weights do not fit InceptionResnetV1: {e}") from e


def _tf_facenet(args: argparse.Namespace) -> int:
    from ..vision.conversion import convert_tf_facenet, save_state_dict
    from ..vision.weights import sha256_file

    use_tf = args.use_tensorflow
    result = convert_tf_facenet(args.checkpoint, use_tensorflow=use_tf)
    _check_loads(result.state_dict, result.num_classes, result.embedding_size)
    out = save_state_dict(result.state_dict, args.output)
    head = f"{result.num_classes} classes" if result.num_classes else "none"
    print(f"read:   {result.checkpoint}")
    print(f"wrote:  {out} ({len(result.state_dict)} tensors, sha256 {sha256_file(out)})")
    print(f"head:   {head}; embedding size {result.embedding_size}")
    if result.ignored:
        print(f"ignored {len(result.ignored)} training-only variables (e.g. {result.ignored[0]})")
    return 0


def _mtcnn_npy(args: argparse.Namespace) -> int:
    from ..vision.conversion import convert_mtcnn_npy_dir

    states = convert_mtcnn_npy_dir(args.folder, args.output)
    for net in states:
        print(f"wrote:  {args.output / f'{net}.pt'} ({len(states[net])} tensors)")
    return 0
