"""The first-run page: explains what happens and asks for a photo folder."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from .icons import icon


def choose_folder(parent: QWidget | None, title: str) -> str | None:
    """Ask for a folder with the platform's dialog; None when the user cancels."""
    path = QFileDialog.getExistingDirectory(parent, title, str(Path.home()))
    return path or None


class WelcomePage(QWidget):
    """Shown while the library has no folder.

    Signals:
        folderChosen(str): the user picked a photo folder.
    """

    folderChosen = Signal(str)

    def __init__(self, catalog_path: str | Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome")
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        logo = QLabel()
        logo.setPixmap(icon("app").pixmap(QSize(96, 96)))
        logo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(logo)
        title = QLabel(self.tr("Welcome to Face Organizer"))
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.8)
        font.setBold(True)
        title.setFont(font)
        layout.addWidget(title)
        text = QLabel(
            self.tr(
                "Choose the folder that holds your photos. Face Organizer finds the faces in them, "
                "groups the faces that look alike, and lets you name each person.\n"
                "Your photos are never changed, and nothing leaves this computer."
            )
        )
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setFixedWidth(520)
        text.setMinimumHeight(text.heightForWidth(520))  # centred in the layout, it gets no height-for-width
        layout.addWidget(text, 0, Qt.AlignmentFlag.AlignHCenter)
        self.button = QPushButton(icon("folder-add"), self.tr("Choose a Photo Folder…"))
        self.button.setObjectName("chooseFolder")
        self.button.setIconSize(QSize(22, 22))
        self.button.setMinimumHeight(40)
        self.button.setDefault(True)
        self.button.clicked.connect(self._choose)
        layout.addSpacing(12)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignHCenter)
        where = QLabel(self.tr("The catalog is kept in {path}").format(path=str(catalog_path)))
        where.setAlignment(Qt.AlignmentFlag.AlignCenter)
        where.setEnabled(False)
        where.setWordWrap(True)
        layout.addSpacing(12)
        layout.addWidget(where)
        layout.addStretch(3)

    def _choose(self) -> None:
        path = choose_folder(self, self.tr("Choose a Photo Folder"))
        if path:
            self.folderChosen.emit(path)
