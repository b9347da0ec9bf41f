"""Settings: library folders, compute device, clustering sensitivity (with a preview), minimum face size.

:class:`SettingsPanel` is the Settings page of the main window. Library settings live in the
catalog (``cluster.sensitivity``, ``scan.min_face_size``); the device is a property of this
computer, so it lives in ``QSettings`` (``scan/device``). Removing a folder, previewing the
number of groups a sensitivity gives, and re-grouping run on background threads.
"""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .icons import icon
from .session import UiSession
from .tasks import Task

DEVICES = ("auto", "cpu", "cuda", "mps")
SENSITIVITY_KEY = "cluster.sensitivity"
MIN_FACE_KEY = "scan.min_face_size"
#: Slider steps; the catalog stores ``step / SLIDER_STEPS`` (0 = strict, few merges; 1 = loose).
SLIDER_STEPS = 20
DEFAULT_SENSITIVITY = 0.5


def device_presence() -> dict[str, bool] | None:
    """Which devices this computer has, or None while torch is not loaded yet (never imports it)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    mps = getattr(getattr(torch, "backends", None), "mps", None)
    return {
        "auto": True,
        "cpu": True,
        "cuda": bool(torch.cuda.is_available()),
        "mps": bool(mps is not None and mps.is_available()),
    }


class _Rollback(Exception):
    pass


def count_groups(catalog: Any) -> int:
    """Unnamed groups of the catalog (faces with a group, no person, not ignored)."""
    return int(
        catalog.scalar(
            "SELECT COUNT(DISTINCT cluster_id) FROM faces "
            "WHERE cluster_id IS NOT NULL AND person_id IS NULL AND ignored = 0"
        )
        or 0
    )


def preview_groups(catalog: Any, sensitivity: float) -> int:
    """How many unnamed groups clustering at ``sensitivity`` would give; the catalog is left unchanged.

    The real clustering runs inside a transaction that is rolled back, so the preview and the
    real thing can never disagree.
    """
    from ..people import cluster

    result = 0
    try:
        with catalog.transaction():
            summary = cluster(catalog, sensitivity=sensitivity)
            result = int(getattr(summary, "groups", count_groups(catalog)))
            raise _Rollback
    except _Rollback:
        pass
    return result


def _regroup_job(catalog: Any, _task: Task) -> int:
    from ..people import cluster

    cluster(catalog)
    return count_groups(catalog)


def _remove_folder_job(path: str):
    def job(catalog: Any, _task: Task) -> str:
        from ..scan import remove_folder

        remove_folder(catalog, path)
        return path

    return job


def _models_job(_catalog: Any, _task: Task) -> list[str]:
    from ..vision.embedders import available_models

    return available_models()


def _switch_model_job(model: str):
    def job(catalog: Any, task: Task) -> str:
        from ..scan import ScanControl, reembed

        control = ScanControl()
        task.report(None)
        reembed(catalog, model, progress=task.report, control=control)
        return model

    return job


class SettingsPanel(QWidget):
    """The Settings page.

    Signals:
        addFolderRequested(): the user wants to add a folder (the window asks and scans).
        rescanRequested(): the user wants a rescan.
    """

    addFolderRequested = Signal()
    rescanRequested = Signal()

    def __init__(
        self, session: UiSession, settings: QSettings | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("settingsPanel")
        self.session = session
        self.settings = settings if settings is not None else QSettings()
        self.tasks: dict[str, Task] = {}
        self._stopped = False
        self.preview_count: int | None = None
        layout = QVBoxLayout(self)
        title = QLabel(self.tr("Settings"))
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        title.setFont(font)
        layout.addWidget(title)

        # --- library folders
        folders_box = QGroupBox(self.tr("Library folders"))
        fl = QVBoxLayout(folders_box)
        self.folders = QListWidget()
        self.folders.setObjectName("folders")
        self.folders.setMaximumHeight(140)
        self.folders.itemSelectionChanged.connect(self._update_buttons)
        fl.addWidget(self.folders)
        row = QHBoxLayout()
        self.add_button = QPushButton(icon("folder-add"), self.tr("Add…"))
        self.add_button.setObjectName("addFolder")
        self.add_button.clicked.connect(self.addFolderRequested.emit)
        self.remove_button = QPushButton(self.tr("Remove"))
        self.remove_button.setObjectName("removeFolder")
        self.remove_button.clicked.connect(self._remove_clicked)
        self.rescan_button = QPushButton(icon("rescan"), self.tr("Rescan"))
        self.rescan_button.setObjectName("rescan")
        self.rescan_button.clicked.connect(self.rescanRequested.emit)
        for b in (self.add_button, self.remove_button, self.rescan_button):
            row.addWidget(b)
        row.addStretch(1)
        fl.addLayout(row)
        note = QLabel(
            self.tr(
                "Removing a folder takes its photos out of the library; the names you gave are kept and "
                "come back if you add the folder again. The files themselves are never touched."
            )
        )
        note.setWordWrap(True)
        note.setEnabled(False)
        fl.addWidget(note)
        layout.addWidget(folders_box)

        # --- recognition
        rec_box = QGroupBox(self.tr("Recognition"))
        form = QFormLayout(rec_box)
        self.device = QComboBox()
        self.device.setObjectName("device")
        self.device.currentIndexChanged.connect(self._device_changed)
        self.model_label = QLabel()
        self.model_label.setObjectName("model")
        form.addRow(self.tr("Recognition model:"), self.model_label)
        switch_row = QHBoxLayout()
        self.model_choice = QComboBox()
        self.model_choice.setObjectName("modelChoice")
        self.model_choice.setToolTip(self.tr("Models whose weights are on this computer"))
        self.switch_button = QPushButton(self.tr("Switch Model"))
        self.switch_button.setObjectName("switchModel")
        self.switch_button.setToolTip(
            self.tr("Recompute every face with this model. Names, merges and corrections are kept.")
        )
        self.switch_button.clicked.connect(self._switch_clicked)
        self.switch_status = QLabel()
        self.switch_status.setObjectName("switchStatus")
        switch_row.addWidget(self.model_choice, 1)
        switch_row.addWidget(self.switch_button)
        form.addRow(self.tr("Use another model:"), switch_row)
        form.addRow("", self.switch_status)
        form.addRow(self.tr("Device:"), self.device)
        self.min_face = QSpinBox()
        self.min_face.setObjectName("minFaceSize")
        self.min_face.setRange(10, 400)
        self.min_face.setSuffix(self.tr(" px"))
        self.min_face.setToolTip(self.tr("Faces smaller than this are not detected in the next scans."))
        self.min_face.valueChanged.connect(self._min_face_changed)
        form.addRow(self.tr("Minimum face size:"), self.min_face)
        layout.addWidget(rec_box)

        # --- grouping
        group_box = QGroupBox(self.tr("Grouping"))
        gl = QVBoxLayout(group_box)
        slider_row = QHBoxLayout()
        slider_row.addWidget(QLabel(self.tr("Strict")))
        self.sensitivity = QSlider(Qt.Orientation.Horizontal)
        self.sensitivity.setObjectName("sensitivity")
        self.sensitivity.setRange(0, SLIDER_STEPS)
        self.sensitivity.setPageStep(2)
        self.sensitivity.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.sensitivity.valueChanged.connect(self._sensitivity_moved)
        slider_row.addWidget(self.sensitivity, 1)
        slider_row.addWidget(QLabel(self.tr("Loose")))
        gl.addLayout(slider_row)
        explain = QLabel(
            self.tr(
                "Strict keeps look-alikes (siblings, children) apart but splits one person into more "
                "groups; loose makes fewer, bigger groups. Your names and corrections are always kept."
            )
        )
        explain.setWordWrap(True)
        explain.setEnabled(False)
        gl.addWidget(explain)
        apply_row = QHBoxLayout()
        self.preview_label = QLabel()
        self.preview_label.setObjectName("preview")
        self.apply_button = QPushButton(self.tr("Regroup Now"))
        self.apply_button.setObjectName("regroup")
        self.apply_button.clicked.connect(self.regroup)
        apply_row.addWidget(self.preview_label, 1)
        apply_row.addWidget(self.apply_button)
        gl.addLayout(apply_row)
        layout.addWidget(group_box)
        layout.addStretch(1)

        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(300)
        self._preview_timer.timeout.connect(self.preview)
        self._loading = False
        session.changed.connect(self.reload)
        self.reload()

    # ----------------------------------------------------------------- state
    def reload(self) -> None:
        """Show the catalog's current settings and folders."""
        self._loading = True
        cat = self.session.catalog
        selected = {i.text() for i in self.folders.selectedItems()}
        self.folders.clear()
        for row in cat.query("SELECT path FROM folders ORDER BY path"):
            item = QListWidgetItem(row["path"])
            self.folders.addItem(item)
            item.setSelected(row["path"] in selected)
        from ..scan import DEFAULT_MIN_FACE_SIZE

        self.min_face.setValue(int(cat.get_setting(MIN_FACE_KEY, DEFAULT_MIN_FACE_SIZE)))
        model = cat.get_setting("model")
        self.model_label.setText(model or self.tr("not chosen yet (asked at the first scan)"))
        value = float(cat.get_setting(SENSITIVITY_KEY, DEFAULT_SENSITIVITY))
        self.sensitivity.setValue(round(value * SLIDER_STEPS))
        self.refresh_devices()
        self._loading = False
        self._update_buttons()

    def refresh_devices(self) -> None:
        """Fill the device list, marking the devices this computer lacks."""
        presence = device_presence()
        names = {
            "auto": self.tr("Automatic (best available)"),
            "cpu": self.tr("CPU"),
            "cuda": self.tr("CUDA (NVIDIA GPU)"),
            "mps": self.tr("MPS (Apple GPU)"),
        }
        current = str(self.settings.value("scan/device", "auto"))
        self.device.blockSignals(True)
        self.device.clear()
        for dev in DEVICES:
            label = names[dev]
            if presence is None and dev in ("cuda", "mps"):
                label += " " + self.tr("(checking…)")
            elif presence is not None and not presence[dev]:
                label += " " + self.tr("(not available)")
            elif dev in ("cuda", "mps"):
                label += " " + self.tr("(available)")
            self.device.addItem(label, dev)
        self.device.setCurrentIndex(DEVICES.index(current) if current in DEVICES else 0)
        self.device.blockSignals(False)

    def showEvent(self, event) -> None:  # noqa: N802, D102 - devices are known once torch is loaded
        super().showEvent(event)
        self.refresh_devices()
        self.preview()
        self.list_models()  # imports torch: only once the page is shown, never at start-up

    def list_models(self) -> None:
        """Fill the model choice with the models whose weights are here (in the background)."""
        self._start("models", _models_job, self._models_listed)

    def _models_listed(self, models: list[str]) -> None:
        current = self.session.catalog.get_setting("model")
        self.model_choice.clear()
        for name in models:
            if name != current:
                self.model_choice.addItem(name, name)
        self._update_buttons()

    def _switch_clicked(self) -> None:
        model = self.model_choice.currentData()
        if model:
            self.switch_model(str(model))

    def switch_model(self, model: str) -> None:
        """Embed every face again with ``model`` (in the background), keeping every decision."""
        task = self._start("switch", _switch_model_job(model), self._switched, self._switch_failed)
        if task is not None:
            task.progress.connect(self._switch_progress)
            self.switch_status.setText(self.tr("Switching to {model}…").format(model=model))

    def _switch_progress(self, p: Any) -> None:
        if p is not None:
            self.switch_status.setText(
                self.tr("Switching model: {done} of {total} photos").format(done=p.done, total=p.total)
            )

    def _switched(self, model: str) -> None:
        self.switch_status.setText(self.tr("Now using {model}; your names were kept.").format(model=model))
        self.session.message.emit(self.switch_status.text())
        self.session.changed.emit()
        self.list_models()  # the old model becomes a choice, the new one leaves the list

    def _switch_failed(self, message: str) -> None:
        self.switch_status.setText(message)
        self._failed(message)

    def _update_buttons(self) -> None:
        self.switch_button.setEnabled(self.model_choice.count() > 0 and "switch" not in self.tasks)
        busy = "remove" in self.tasks
        self.remove_button.setEnabled(bool(self.folders.selectedItems()) and not busy)
        self.rescan_button.setEnabled(self.folders.count() > 0)

    def _device_changed(self, index: int) -> None:
        if self._loading or index < 0:
            return
        self.settings.setValue("scan/device", self.device.itemData(index))
        self.session.message.emit(
            self.tr("The next scan uses: {device}").format(device=self.device.currentText())
        )

    def _min_face_changed(self, value: int) -> None:
        if not self._loading:
            self.session.catalog.set_setting(MIN_FACE_KEY, int(value))

    def sensitivity_value(self) -> float:
        """The slider's sensitivity in 0..1."""
        return self.sensitivity.value() / SLIDER_STEPS

    def _sensitivity_moved(self, _value: int) -> None:
        if self._loading:
            return
        self.session.catalog.set_setting(SENSITIVITY_KEY, self.sensitivity_value())
        self._preview_timer.start()

    # ----------------------------------------------------------------- background work
    def _start(self, key: str, job, on_done, on_failed=None) -> Task | None:
        if key in self.tasks:
            return None
        task = Task(job, self.session.catalog_path, self)
        self.tasks[key] = task

        def done(result: object) -> None:
            self.tasks.pop(key, None)
            if self._stopped:
                return
            on_done(result)
            self._update_buttons()

        def failed(message: str) -> None:
            self.tasks.pop(key, None)
            if self._stopped:
                return
            (on_failed or self._failed)(message)
            self._update_buttons()

        task.done.connect(done)
        task.failed.connect(failed)
        task.start()
        self._update_buttons()
        return task

    def _failed(self, message: str) -> None:
        self.preview_label.setText(message)
        self.session.message.emit(message)

    def preview(self) -> None:
        """Compute, in the background, how many groups the slider's sensitivity gives."""
        if not self.folders.count():
            return
        if "preview" in self.tasks:
            self._preview_timer.start()  # again when this one is done
            return
        value = self.sensitivity_value()
        self.preview_label.setText(self.tr("Counting groups…"))
        self._start("preview", lambda cat, _t: preview_groups(cat, value), self._preview_done)

    def _preview_done(self, count: int) -> None:
        self.preview_count = int(count)
        self.preview_label.setText(self.tr("Unnamed groups with this setting: {n}").format(n=count))

    def regroup(self) -> None:
        """Re-cluster the undecided faces with the current sensitivity."""
        self.apply_button.setEnabled(False)
        self._start("regroup", _regroup_job, self._regroup_done, self._regroup_failed)

    def _regroup_done(self, count: int) -> None:
        self.apply_button.setEnabled(True)
        self.session.message.emit(self.tr("Regrouped: {n} unnamed groups").format(n=count))
        self.session.changed.emit()

    def _regroup_failed(self, message: str) -> None:
        self.apply_button.setEnabled(True)
        self._failed(message)

    def _remove_clicked(self) -> None:
        items = self.folders.selectedItems()
        if not items:
            return
        path = items[0].text()
        answer = QMessageBox.question(
            self,
            self.tr("Remove Folder"),
            self.tr(
                "Remove {path} from the library? Its photos leave the library (the files stay on disk, "
                "and adding the folder again brings back the names you gave)."
            ).format(path=path),
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.remove_folder(path)

    def remove_folder(self, path: str) -> None:
        """Take ``path`` and its photos out of the library (in the background)."""
        self._start("remove", _remove_folder_job(path), self._removed)

    def _removed(self, path: str) -> None:
        self.session.message.emit(self.tr("Removed {path}").format(path=path))
        self.session.changed.emit()

    def stop(self) -> None:
        """Stop background work (the window is closing); late results are dropped."""
        self._stopped = True
        self._preview_timer.stop()
        for task in list(self.tasks.values()):
            task.stop()
        self.tasks.clear()
