"""Export: copy (or link) the photos of chosen people into one folder per person.

:class:`ExportPanel` is the Export page of the main window; :class:`ExportDialog` wraps it in
a dialog. The export itself runs :func:`faceorganizer.export.export_people` on a background
thread with its own catalog connection; progress shows while it runs and "Open Folder"
(through :class:`QDesktopServices`) is offered at the end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from .icons import icon
from .session import UiSession
from .tasks import Task

MODES = ("copy", "hardlink", "symlink")


def _export_job(out_dir: str, names: list[str], mode: str):
    def job(catalog: Any, task: Task) -> Any:
        from ..export import export_people

        return export_people(catalog, out_dir, people=names, mode=mode, progress=task.report, control=task)

    return job


class ExportPanel(QWidget):
    """Choose people, a destination folder and a mode, then export with progress."""

    def __init__(self, session: UiSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exportPanel")
        self.session = session
        self.task: Task | None = None
        self.summary: Any = None
        settings = QSettings()
        layout = QVBoxLayout(self)
        title = QLabel(self.tr("Export Photos by Person"))
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        title.setFont(font)
        layout.addWidget(title)
        explain = QLabel(
            self.tr(
                "Each person gets a folder with every photo they appear in. Your originals stay "
                "where they are; a photo with several chosen people goes into each of their folders."
            )
        )
        explain.setWordWrap(True)
        layout.addWidget(explain)

        form = QFormLayout()
        people_box = QVBoxLayout()
        self.people = QListWidget()
        self.people.setObjectName("exportPeople")
        self.people.setMinimumHeight(160)
        people_box.addWidget(self.people)
        row = QHBoxLayout()
        self.all_button = QPushButton(self.tr("Select All"))
        self.all_button.clicked.connect(lambda: self._check_all(True))
        self.none_button = QPushButton(self.tr("Select None"))
        self.none_button.clicked.connect(lambda: self._check_all(False))
        row.addWidget(self.all_button)
        row.addWidget(self.none_button)
        row.addStretch(1)
        people_box.addLayout(row)
        form.addRow(self.tr("People:"), people_box)

        dest_row = QHBoxLayout()
        default_dest = str(Path.home() / "Pictures" / "Face Organizer Export")
        self.destination = QLineEdit(str(settings.value("export/folder", default_dest)))
        self.destination.setObjectName("exportDestination")
        browse = QPushButton(self.tr("Browse…"))
        browse.clicked.connect(self._browse)
        dest_row.addWidget(self.destination, 1)
        dest_row.addWidget(browse)
        form.addRow(self.tr("Destination:"), dest_row)

        mode_row = QHBoxLayout()
        self.mode_group = QButtonGroup(self)
        labels = {
            "copy": (self.tr("Copy"), self.tr("Independent copies; uses disk space.")),
            "hardlink": (
                self.tr("Hard link"),
                self.tr("No extra space; same disk only (falls back to a copy elsewhere)."),
            ),
            "symlink": (self.tr("Symbolic link"), self.tr("Tiny links that point to the originals.")),
        }
        self.mode_buttons: dict[str, QRadioButton] = {}
        saved_mode = str(settings.value("export/mode", "copy"))
        for mode in MODES:
            text, tip = labels[mode]
            button = QRadioButton(text)
            button.setObjectName(f"mode_{mode}")
            button.setToolTip(tip)
            button.setChecked(mode == (saved_mode if saved_mode in MODES else "copy"))
            self.mode_group.addButton(button)
            self.mode_buttons[mode] = button
            mode_row.addWidget(button)
        mode_row.addStretch(1)
        form.addRow(self.tr("Mode:"), mode_row)
        layout.addLayout(form)

        actions = QHBoxLayout()
        self.export_button = QPushButton(icon("export"), self.tr("Export"))
        self.export_button.setObjectName("exportStart")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start)
        self.cancel_button = QPushButton(icon("cancel"), self.tr("Stop"))
        self.cancel_button.setObjectName("exportCancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button = QPushButton(self.tr("Open Folder"))
        self.open_button.setObjectName("exportOpen")
        self.open_button.setVisible(False)
        self.open_button.clicked.connect(self.open_folder)
        actions.addWidget(self.export_button)
        actions.addWidget(self.cancel_button)
        actions.addStretch(1)
        actions.addWidget(self.open_button)
        layout.addLayout(actions)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
        self.status = QLabel()
        self.status.setObjectName("exportStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        layout.addStretch(1)
        session.changed.connect(self.reload)
        self.reload()

    # ----------------------------------------------------------------- people list
    def reload(self) -> None:
        """Refresh the list of people, keeping the ticks."""
        if self.task is not None:
            return
        ticked = {n for n in self.checked_names()}
        first = self.people.count() == 0
        rows = self.session.catalog.query(
            "SELECT p.name, p.hidden, COUNT(DISTINCT f.photo_id) AS photos FROM people p "
            "LEFT JOIN faces f ON f.person_id = p.id AND f.assigned IN ('user', 'auto') AND f.ignored = 0 "
            "GROUP BY p.id ORDER BY p.name COLLATE NOCASE"
        )
        self.people.clear()
        for row in rows:
            text = self.tr("{name} ({n} photos)").format(name=row["name"], n=row["photos"])
            if row["hidden"]:
                text += " " + self.tr("[hidden]")
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, row["name"])
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            on = (not row["hidden"]) if first else row["name"] in ticked
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            self.people.addItem(item)
        self.export_button.setEnabled(bool(rows))
        if not rows:
            self.status.setText(self.tr("Name some people first; then you can export their photos."))
        elif self.summary is None:
            self.status.clear()

    def checked_names(self) -> list[str]:
        """Names of the ticked people."""
        out = []
        for i in range(self.people.count()):
            item = self.people.item(i)
            if item.checkState() == Qt.CheckState.Checked:
                out.append(item.data(Qt.ItemDataRole.UserRole))
        return out

    def set_checked(self, names: list[str]) -> None:
        """Tick exactly ``names``."""
        wanted = {n.casefold() for n in names}
        for i in range(self.people.count()):
            item = self.people.item(i)
            on = str(item.data(Qt.ItemDataRole.UserRole)).casefold() in wanted
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def _check_all(self, on: bool) -> None:
        for i in range(self.people.count()):
            self.people.item(i).setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.tr("Export To"), self.destination.text())
        if path:
            self.destination.setText(path)

    def mode(self) -> str:
        """The chosen mode."""
        for mode, button in self.mode_buttons.items():
            if button.isChecked():
                return mode
        return "copy"

    # ----------------------------------------------------------------- export
    def start(self) -> None:
        """Export the ticked people in the background."""
        if self.task is not None:
            return
        names = self.checked_names()
        out = self.destination.text().strip()
        if not names:
            self.status.setText(self.tr("Tick at least one person."))
            return
        if not out:
            self.status.setText(self.tr("Choose a destination folder."))
            return
        out = str(Path(out).expanduser())
        settings = QSettings()
        settings.setValue("export/folder", out)
        settings.setValue("export/mode", self.mode())
        self.summary = None
        self.open_button.setVisible(False)
        self.export_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.status.setText(self.tr("Exporting…"))
        self.task = Task(_export_job(out, names, self.mode()), self.session.catalog_path, self)
        self.task.progress.connect(self._on_progress)
        self.task.done.connect(self._on_done)
        self.task.failed.connect(self._on_failed)
        self.task.start()

    def cancel(self) -> None:
        """Stop the export after the current photo."""
        if self.task is not None:
            self.task.cancel()
            self.status.setText(self.tr("Stopping…"))

    def stop(self) -> None:
        """Cancel and wait (the window is closing)."""
        if self.task is not None:
            self.task.stop()
            self.task = None

    def _on_progress(self, p: Any) -> None:
        self.progress.setRange(0, max(1, p.total))
        self.progress.setValue(p.done)
        current = Path(p.current).name if p.current else ""
        self.status.setText(
            self.tr("Exporting {done} of {total} photos… {file}").format(
                done=p.done, total=p.total, file=current
            )
        )

    def _finish(self) -> None:
        self.task = None
        self.progress.setVisible(False)
        self.export_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _on_done(self, summary: Any) -> None:
        self._finish()
        self.summary = summary
        if summary.cancelled:
            text = self.tr("Export stopped: {written} files written.").format(written=summary.written)
        else:
            text = self.tr("Exported {people} people: {written} files written, {same} already there.").format(
                people=len(summary.people), written=summary.written, same=summary.unchanged
            )
        problems = list(summary.errors) + list(summary.skipped)
        if problems:
            text += "\n" + self.tr("{n} photos were not exported:").format(n=len(problems))
            for path, reason in problems[:10]:
                text += f"\n  {path}: {reason}"
        self.status.setText(text)
        self.open_button.setVisible(True)
        self.session.message.emit(text.splitlines()[0])

    def _on_failed(self, message: str) -> None:
        self._finish()
        self.status.setText(self.tr("Export failed: {message}").format(message=message))

    def open_folder(self) -> None:
        """Show the export folder in the file manager."""
        out = self.summary.out_dir if self.summary is not None else Path(self.destination.text())
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(out)))


class ExportDialog(QDialog):
    """The export panel in a dialog of its own."""

    def __init__(
        self, session: UiSession, names: list[str] | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Export"))
        layout = QVBoxLayout(self)
        self.panel = ExportPanel(session, self)
        if names:
            self.panel.set_checked(names)
        layout.addWidget(self.panel)
        self.resize(560, 520)

    def done(self, result: int) -> None:  # noqa: D102 - stop a running export first
        self.panel.stop()
        super().done(result)
