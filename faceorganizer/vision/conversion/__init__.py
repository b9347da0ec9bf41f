"""Convert the original TensorFlow facenet weights to faceorganizer state dicts.

* :func:`convert_tf_facenet`: an Inception-ResNet-V1 checkpoint (``.index`` +
  ``.data-*``) to an ``InceptionResnetV1`` state dict, read without TensorFlow by
  :mod:`~faceorganizer.vision.conversion.tf_bundle` (or with it, when asked).
* :func:`convert_mtcnn_npy_dir`: ``det1/2/3.npy`` to ``pnet/rnet/onet`` state dicts.

The command line wraps both: ``faceorganizer convert tf-facenet`` and
``faceorganizer convert mtcnn-npy``.
"""

from .mtcnn_npy import convert_mtcnn_npy, convert_mtcnn_npy_dir, load_npy_layers
from .tf_bundle import CheckpointReader, find_checkpoint, list_variables, read_checkpoint
from .tf_facenet import (
    TfFacenetConversion,
    convert_tf_facenet,
    convert_tf_facenet_variables,
    expected_tf_variables,
    save_state_dict,
)

__all__ = [
    "CheckpointReader",
    "TfFacenetConversion",
    "convert_mtcnn_npy",
    "convert_mtcnn_npy_dir",
    "convert_tf_facenet",
    "convert_tf_facenet_variables",
    "expected_tf_variables",
    "find_checkpoint",
    "list_variables",
    "load_npy_layers",
    "read_checkpoint",
    "save_state_dict",
]
