"""Pretrained weights: the registry, and finding, downloading, verifying and loading files."""

from .hub import (
    cache_dir,
    download,
    facenet_pytorch_cache_dir,
    find_local,
    import_file,
    load_state_dict,
    resolve,
    sha256_file,
    verify,
)
from .registry import WeightSpec, get_spec, list_specs, register

__all__ = [
    "WeightSpec",
    "cache_dir",
    "download",
    "facenet_pytorch_cache_dir",
    "find_local",
    "get_spec",
    "import_file",
    "list_specs",
    "load_state_dict",
    "register",
    "resolve",
    "sha256_file",
    "verify",
]
