"""What the PyInstaller spec files share: entry script, bundled files, hidden imports and exclusions.

Imported by ``packaging/faceorganizer.spec`` (Linux), ``packaging/macos/faceorganizer-macos.spec``
and ``packaging/windows/faceorganizer-windows.spec`` with the build environment's Python (the one
that has PyInstaller, torch 2.13.0 CPU and faceorganizer installed).

Bundled files (source -> destination inside the app):

- ``resources/`` -> ``faceorganizer/resources`` (the window's SVG icons, found by ``faceorganizer.ui.icons``);
- the MTCNN weights ``pnet.pt``, ``rnet.pt``, ``onet.pt`` from ``$FACEORGANIZER_MTCNN_DIR`` (the build
  script stages verified copies there) -> ``weights/mtcnn`` (found through ``FACEORGANIZER_WEIGHTS_PATH``,
  set by the runtime hook ``pyi_rth_faceorganizer.py``);
- the offline model's files from the installed ``face_recognition_models`` package
  (``dlib_face_recognition_resnet_model_v1.dat`` and ``shape_predictor_5_face_landmarks.dat``, not the
  100 MB 68-point predictor) -> ``face_recognition_models/models``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
from pathlib import Path

PACKAGING = Path(__file__).resolve().parent
REPO = PACKAGING.parent
ENTRY = PACKAGING / "faceorganizer_main.py"
RUNTIME_HOOK = PACKAGING / "pyi_rth_faceorganizer.py"
RESOURCES = REPO / "resources"
APP_ICON_SVG = RESOURCES / "icons" / "app.svg"

MTCNN_FILES = {
    "pnet.pt": "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
    "rnet.pt": "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
    "onet.pt": "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d",
}
OFFLINE_MODEL_FILES = ("dlib_face_recognition_resnet_model_v1.dat", "shape_predictor_5_face_landmarks.dat")

#: Modules the app never needs in a packaged build. The Qt list keeps QtCore, QtGui, QtWidgets,
#: QtSvg (icons), QtDBus/XcbQpa (platform plugins pull them) and drops the rest of PySide6-Essentials.
EXCLUDES = [
    # optional converters and test-only packages
    "tensorflow",
    "tf_slim",
    "keras",
    "tensorboard",
    "dlib",
    "_dlib_pybind11",
    "face_recognition",
    "pytest",
    "_pytest",
    "pytestqt",
    "ruff",
    "tests",
    "benchmarks",
    "IPython",
    "matplotlib",
    "tkinter",
    "_tkinter",
    "pandas",
    "pyarrow",
    # setuptools: only torch's C++-extension builder needs it; its runtime hook cost ~0.3 s per start
    "setuptools",
    "distutils",
    "_distutils_hack",
    "pkg_resources",
    # Qt modules the window does not use
    "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets",
    "PySide6.QtWebEngineQuick",
    "PySide6.QtWebChannel",
    "PySide6.QtWebSockets",
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtQuickControls2",
    "PySide6.QtQuickWidgets",
    "PySide6.QtQuick3D",
    "PySide6.Qt3DCore",
    "PySide6.QtMultimedia",
    "PySide6.QtMultimediaWidgets",
    "PySide6.QtPdf",
    "PySide6.QtPdfWidgets",
    "PySide6.QtCharts",
    "PySide6.QtDataVisualization",
    "PySide6.QtDesigner",
    "PySide6.QtHelp",
    "PySide6.QtUiTools",
    "PySide6.QtSql",
    "PySide6.QtTest",
    "PySide6.QtOpenGL",
    "PySide6.QtOpenGLWidgets",
    "PySide6.QtNetwork",
    "PySide6.QtBluetooth",
    "PySide6.QtPositioning",
    "PySide6.QtSerialPort",
    "PySide6.QtSpatialAudio",
    "PySide6.QtTextToSpeech",
    "PySide6.QtSvgWidgets",
    "PySide6.QtXml",
    "PySide6.QtConcurrent",
    "PySide6.QtPrintSupport",
    # torch parts that pull optional heavy dependencies
    "torch.utils.tensorboard",
    "torch.testing._internal.distributed",
    "torchvision",
    "torchaudio",
    "triton",
]

#: Files dropped from the collected data/binaries (matched against the destination path).
DROP_PATTERNS = (
    "torch/include/",
    "torch/share/cmake/",
    "torch/test/",
    "torch/lib/libtorchbind_test",
    "torch/lib/libjitbackend_test",
    "torch/lib/libbackend_with_compiler",
    "torch/lib/libaoti_custom_ops",
    "/tests/",
    "PySide6/Qt/translations/qtwebengine",
    "PySide6/Qt/lib/libQt6Quick",
    "PySide6/Qt/lib/libQt6Qml",
    "PySide6/Qt/lib/libQt6Pdf",
    "PySide6/Qt/lib/libQt6WebEngine",
    "PySide6/Qt/lib/libQt6Designer",
    "PySide6/Qt/lib/libQt6VirtualKeyboard",
    "PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboard",
    "PySide6/Qt/plugins/sqldrivers",
    "PySide6/Qt/plugins/multimedia",
    "PySide6/Qt/plugins/qmltooling",
    "PySide6/Qt/qml/",
)

#: CUDA/ROCm libraries that must never reach the bundle (a CPU build has none; checked after the build).
CUDA_MARKERS = ("libcuda", "libcudnn", "libcublas", "libcufft", "libcurand", "libcusparse", "libnccl",
                "libnvrtc", "libnvJitLink", "libcusolver", "libamdhip", "librocm", "libtorch_cuda")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def mtcnn_datas() -> list[tuple[str, str]]:
    """(source, destination) pairs of the verified MTCNN weights in ``$FACEORGANIZER_MTCNN_DIR``."""
    folder = os.environ.get("FACEORGANIZER_MTCNN_DIR")
    if not folder:
        raise SystemExit("spec: set FACEORGANIZER_MTCNN_DIR to the folder with pnet.pt, rnet.pt, onet.pt "
                         "(packaging/build.sh does this)")
    out = []
    for name, digest in MTCNN_FILES.items():
        path = Path(folder) / name
        if not path.is_file():
            raise SystemExit(f"spec: {path} is missing")
        if _sha256(path) != digest:
            raise SystemExit(f"spec: {path} does not have the published sha256 {digest}")
        out.append((str(path), "weights/mtcnn"))
    return out


def offline_model_datas() -> list[tuple[str, str]]:
    """(source, destination) pairs of the offline model's files from ``face_recognition_models``."""
    spec = importlib.util.find_spec("face_recognition_models")  # its __init__ needs pkg_resources
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("spec: face_recognition_models is not installed in the build environment")
    models = Path(next(iter(spec.submodule_search_locations))) / "models"
    out = []
    for name in OFFLINE_MODEL_FILES:
        path = models / name
        if not path.is_file():
            raise SystemExit(f"spec: {path} is missing")
        out.append((str(path), "face_recognition_models/models"))
    return out


def datas() -> list[tuple[str, str]]:
    """Every file bundled beside the code."""
    if not APP_ICON_SVG.is_file():
        raise SystemExit(f"spec: {APP_ICON_SVG} is missing")
    return [(str(RESOURCES), "faceorganizer/resources"), *mtcnn_datas(), *offline_model_datas()]


def hiddenimports() -> list[str]:
    """All of faceorganizer's modules: the CLI finds its sub-commands with pkgutil, not imports."""
    from PyInstaller.utils.hooks import collect_submodules

    return collect_submodules("faceorganizer")


def keep(entry: tuple) -> bool:
    """Whether a collected (destination, source, kind) TOC entry stays in the bundle."""
    dest = str(entry[0]).replace("\\", "/")
    if dest.startswith("torch/bin/"):  # C++ test programs and protoc; torch needs only its shm manager
        return dest.rsplit("/", 1)[-1].startswith("torch_shm_manager")
    return not any(p in dest or dest.startswith(p) for p in DROP_PATTERNS)


def prune(toc):
    """``toc`` without the entries :func:`keep` rejects."""
    return [e for e in toc if keep(e)]


_TEST_MODULE = re.compile(r"(^|\.)(tests?|conftest)(\.|$)")


def prune_modules(toc):
    """``toc`` of Python modules without test packages (``numpy._core.tests``, ``sklearn.*.tests``, ...)."""
    return [e for e in toc if not _TEST_MODULE.search(e[0])]
