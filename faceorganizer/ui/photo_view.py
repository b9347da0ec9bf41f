"""The Photo view: one photo, upright, with its face boxes and names.

The photo is decoded upright (EXIF orientation applied) on the thread pool
(:func:`faceorganizer.ui.thumbnails.decode_photo`, which uses the scan's ``load_photo``) and
shown in a :class:`~PySide6.QtWidgets.QGraphicsView` whose scene coordinates are the upright
full-resolution pixels the catalog's boxes use, so boxes need no conversion. The boxes are
drawn at once, before the pixels arrive.

Click a box to name it or change its name: an inline field with completion opens under the
box; Enter assigns the face to that person (an existing name adds it, a new one creates the
person), Escape cancels. Drag on an empty area to draw a box around a face the detector
missed: it is embedded in a worker by ``faceorganizer.scan.add_manual_face`` (with its own
catalog connection) and then opens the name field like any other face.

Object names for tests and the flow test:
    ``photoView`` (the QGraphicsView), ``photoScene`` (its QGraphicsScene; face boxes are
    :class:`FaceBox` items with ``face_id``, ``label_text``), ``photoNameEditor`` (the inline
    QLineEdit), ``photoTitle``, ``photoStatus`` (a label for messages such as a photo that
    cannot be read or a box being added).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QFont, QKeyEvent, QMouseEvent, QPainter, QPen, QPixmap, QTransform
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from ..catalog import Catalog
from ..errors import FaceOrganizerError
from .face_grid import ReloadingView
from .people_view import make_completer
from .thumbnails import PhotoLoader, run_in_pool

#: Longest side the photo is decoded at for display.
DISPLAY_MAX_SIDE = 2560
#: Smallest box (in view pixels) a drag must span to add a face.
MIN_DRAW_PX = 12

COLORS = {
    "named": QColor(70, 200, 90),
    "suggested": QColor(240, 160, 40),
    "group": QColor(240, 220, 60),
    "none": QColor(235, 235, 235),
}


class FaceBox(QGraphicsRectItem):
    """A face's box with its name label under it."""

    def __init__(self, face: dict[str, Any], label: str, kind: str) -> None:
        super().__init__(QRectF(QPointF(face["x1"], face["y1"]), QPointF(face["x2"], face["y2"])))
        self.face_id = int(face["id"])
        self.face = face
        self.label_text = label
        self.kind = kind
        pen = QPen(COLORS[kind], 2.5 if kind == "named" else 2.0)
        pen.setCosmetic(True)
        if kind in ("suggested", "none"):
            pen.setStyle(Qt.PenStyle.DashLine)
        self.setPen(pen)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(label)
        self.label = QGraphicsSimpleTextItem(label, self)
        font = QFont()
        font.setBold(kind == "named")
        self.label.setFont(font)
        self.label.setBrush(QBrush(QColor(255, 255, 255)))
        self.label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.label.setPos(self.rect().bottomLeft())
        self.label_bg = QGraphicsRectItem(self.label)
        br = self.label.boundingRect().adjusted(-3, -1, 3, 1)
        self.label_bg.setRect(br)
        self.label_bg.setBrush(QBrush(QColor(0, 0, 0, 150)))
        self.label_bg.setPen(QPen(Qt.PenStyle.NoPen))
        self.label_bg.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent)

    def hoverEnterEvent(self, event: Any) -> None:
        """Thicken the box under the pointer."""
        pen = self.pen()
        pen.setWidthF(pen.widthF() + 1.5)
        self.setPen(pen)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event: Any) -> None:
        """Restore the box's pen."""
        pen = self.pen()
        pen.setWidthF(max(1.0, pen.widthF() - 1.5))
        self.setPen(pen)
        super().hoverLeaveEvent(event)


class PhotoCanvas(QGraphicsView):
    """The photo with its boxes: click a box to name it, drag elsewhere to draw a new one.

    Signals:
        boxClicked: a face box was clicked (face id).
        boxDrawn: a new box was drawn (QRectF in upright full-resolution pixels).
    """

    boxClicked = Signal(int)
    boxDrawn = Signal(QRectF)

    def __init__(self, scene: QGraphicsScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setBackgroundBrush(QBrush(QColor(24, 24, 24)))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMouseTracking(True)
        self._press: QPointF | None = None
        self._press_view: Any = None
        self._rubber: QGraphicsRectItem | None = None
        self.can_draw = True

    def fit(self) -> None:
        """Fit the photo in the view."""
        rect = self.sceneRect()
        if rect.width() > 0 and rect.height() > 0:
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)

    def resizeEvent(self, event: Any) -> None:
        """Keep the photo fitted."""
        super().resizeEvent(event)
        self.fit()

    def box_at(self, view_pos: Any) -> FaceBox | None:
        """The face box under a viewport position (its label counts), or None."""
        for item in self.items(view_pos):
            while item is not None and not isinstance(item, FaceBox):
                item = item.parentItem()
            if isinstance(item, FaceBox):
                return item
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Click a box to name it; press elsewhere to start drawing one."""
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        pos = event.position().toPoint()
        box = self.box_at(pos)
        if box is not None:
            self.boxClicked.emit(box.face_id)
            event.accept()
            return
        scene_pos = self.mapToScene(pos)
        if self.can_draw and self.sceneRect().contains(scene_pos):
            self._press, self._press_view = scene_pos, pos
            self._rubber = QGraphicsRectItem(QRectF(scene_pos, scene_pos))
            pen = QPen(COLORS["suggested"], 2, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            self._rubber.setPen(pen)
            self._rubber.setZValue(10)
            self.scene().addItem(self._rubber)
            event.accept()
            return
        super().mousePressEvent(event)

    def _drag_rect(self, pos: Any) -> QRectF:
        end = self.mapToScene(pos)
        rect = QRectF(self._press, end).normalized()
        return rect.intersected(self.sceneRect())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Grow the box being drawn."""
        if self._rubber is not None:
            self._rubber.setRect(self._drag_rect(event.position().toPoint()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """Finish the box being drawn."""
        if self._rubber is not None:
            pos = event.position().toPoint()
            rect = self._drag_rect(pos)
            self.scene().removeItem(self._rubber)
            self._rubber = None
            big = (
                abs(pos.x() - self._press_view.x()) >= MIN_DRAW_PX
                and abs(pos.y() - self._press_view.y()) >= MIN_DRAW_PX
            )
            self._press = None
            if big and rect.width() >= 2 and rect.height() >= 2:
                self.boxDrawn.emit(rect)
            event.accept()
            return
        super().mouseReleaseEvent(event)


class _NameEditor(QLineEdit):
    cancelled = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
            event.accept()
            return
        super().keyPressEvent(event)


class PhotoView(ReloadingView):
    """One photo with its faces; see the module docstring."""

    def __init__(self, session: Any, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.photo_id: int | None = None
        self.photo: dict[str, Any] | None = None
        self.boxes: dict[int, FaceBox] = {}
        self.pending_adds = 0
        self._generation = 0
        self._pixmap_item: QGraphicsPixmapItem | None = None
        self._editing: int | None = None

        self.title = QLabel(self)
        self.title.setObjectName("photoTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = QLabel(self)
        self.status.setObjectName("photoStatus")
        self.scene = QGraphicsScene(self)
        self.scene.setObjectName("photoScene")
        self.canvas = PhotoCanvas(self.scene, self)
        self.canvas.setObjectName("photoView")
        self.canvas.boxClicked.connect(self.edit_face)
        self.canvas.boxDrawn.connect(self.add_face)
        self.editor = _NameEditor(self.canvas.viewport())
        self.editor.setObjectName("photoNameEditor")
        self.editor.setPlaceholderText(self.tr("Name"))
        self.editor.hide()
        self.editor.returnPressed.connect(self._commit_name)
        self.editor.cancelled.connect(self.close_editor)
        self.editor.installEventFilter(self)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.status)

        self.loader = PhotoLoader(self)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(self._on_failed)
        self.canvas.setToolTip(self.tr("Click a box to name the face; drag elsewhere to add a face"))

    # ---------------------------------------------------------------- loading
    def show_photo(self, photo_id: int) -> None:
        """Show one photo (decoded in the background) with its face boxes."""
        self.close_editor()
        self.photo_id = int(photo_id)
        self._generation += 1
        row = self.session.catalog.query(
            "SELECT id, path, width, height, missing FROM photos WHERE id = ?", (self.photo_id,)
        )
        self.scene.clear()
        self.boxes = {}
        self._pixmap_item = None
        if not row:
            self.photo = None
            self.title.setText(self.tr("This photo is no longer in the catalog"))
            return
        self.photo = row[0]
        w, h = int(self.photo["width"] or 0), int(self.photo["height"] or 0)
        self.title.setText(str(self.photo["path"]))
        self.status.setText(self.tr("Loading…"))
        if w > 0 and h > 0:
            self.scene.setSceneRect(QRectF(0, 0, w, h))
            backdrop = self.scene.addRect(
                QRectF(0, 0, w, h), QPen(Qt.PenStyle.NoPen), QBrush(QColor(60, 60, 60))
            )
            backdrop.setZValue(-2)
        self._draw_boxes()
        self.canvas.fit()
        self.loader.load((self.photo_id, self._generation), self.photo["path"], DISPLAY_MAX_SIDE)

    def reload(self) -> None:
        """Redraw the boxes and names (the pixels stay)."""
        self._dirty = False
        if self.photo_id is not None:
            self._draw_boxes()

    def faces(self) -> list[dict[str, Any]]:
        """The photo's faces (not ignored) with their person's name."""
        return self.session.catalog.query(
            "SELECT f.id, f.x1, f.y1, f.x2, f.y2, f.person_id, f.assigned, f.cluster_id, f.source, "
            "p.name FROM faces f LEFT JOIN people p ON p.id = f.person_id "
            "WHERE f.photo_id = ? AND f.ignored = 0 ORDER BY f.x1",
            (self.photo_id,),
        )

    def _label(self, face: dict[str, Any]) -> tuple[str, str]:
        if face["name"] and face["assigned"] == "suggested":
            return self.tr("{}?").format(face["name"]), "suggested"
        if face["name"]:
            return str(face["name"]), "named"
        if face["cluster_id"] is not None:
            return self.tr("Unnamed"), "group"
        return self.tr("Who is this?"), "none"

    def _draw_boxes(self) -> None:
        for box in self.boxes.values():
            self.scene.removeItem(box)
        self.boxes = {}
        for face in self.faces():
            text, kind = self._label(face)
            box = FaceBox(face, text, kind)
            box.setZValue(1)
            self.scene.addItem(box)
            self.boxes[box.face_id] = box

    @Slot(object, object, object)
    def _on_loaded(self, key: Any, image: Any, full: Any) -> None:
        if key != (self.photo_id, self._generation):
            return
        item = QGraphicsPixmapItem(QPixmap.fromImage(image))
        item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        if image.width() > 0 and image.height() > 0:  # image pixels -> upright full-resolution pixels
            item.setTransform(QTransform.fromScale(full[0] / image.width(), full[1] / image.height()))
        item.setZValue(-1)
        self.scene.addItem(item)
        self._pixmap_item = item
        if self.scene.sceneRect().isEmpty():
            self.scene.setSceneRect(item.sceneBoundingRect())
        self.canvas.fit()
        self.status.setText("")

    @Slot(object, str)
    def _on_failed(self, key: Any, message: str) -> None:
        if key != (self.photo_id, self._generation):
            return
        self.status.setText(self.tr("Cannot show this photo: {}").format(message))

    def is_loaded(self) -> bool:
        """Whether the photo's pixels are shown."""
        return self._pixmap_item is not None

    # ---------------------------------------------------------------- naming
    @Slot(int)
    def edit_face(self, face_id: int) -> None:
        """Open the inline name field under a face's box."""
        box = self.boxes.get(int(face_id))
        if box is None:
            return
        self._editing = box.face_id
        names = [r["name"] for r in self.session.catalog.query("SELECT name FROM people")]
        self.editor.setCompleter(make_completer(names, self.editor))
        self.editor.setText(box.face.get("name") or "")
        self.editor.selectAll()
        rect = self.canvas.mapFromScene(box.sceneBoundingRect()).boundingRect()
        width = max(160, rect.width())
        x = max(0, min(rect.center().x() - width // 2, self.canvas.viewport().width() - width))
        y = min(rect.bottom() + 4, self.canvas.viewport().height() - self.editor.sizeHint().height())
        self.editor.setGeometry(x, max(0, y), width, self.editor.sizeHint().height())
        self.editor.show()
        self.editor.raise_()
        self.editor.setFocus()

    @Slot()
    def close_editor(self) -> None:
        """Hide the name field without changing anything."""
        self._editing = None
        self.editor.hide()

    @Slot()
    def _commit_name(self) -> None:
        face_id = self._editing
        name = " ".join(self.editor.text().split())
        self.close_editor()
        if face_id is None or not name:
            return
        box = self.boxes.get(face_id)
        if box is not None and box.face.get("name") == name and box.face.get("assigned") != "suggested":
            return
        from .. import people

        self.session.run_op(self.tr("Name {}").format(name), people.name_faces, [face_id], name, parent=self)

    def eventFilter(self, obj: Any, event: QEvent) -> bool:
        """Close the name field when it loses focus (not to its completion popup)."""
        if obj is self.editor and event.type() == QEvent.Type.FocusOut:
            popup = self.editor.completer().popup() if self.editor.completer() else None
            if popup is None or not popup.isVisible():
                self.close_editor()
        return super().eventFilter(obj, event)

    # ---------------------------------------------------------------- drawing
    @Slot(QRectF)
    def add_face(self, rect: QRectF) -> bool:
        """Embed a drawn box as a new face in a worker; its name field opens when it is done."""
        if self.photo_id is None:
            return False
        try:
            from ..scan import add_manual_face  # type: ignore[attr-defined]
        except ImportError:
            QMessageBox.information(
                self, self.tr("Add a face"), self.tr("Adding faces needs the scan module.")
            )
            return False
        box = (rect.left(), rect.top(), rect.right(), rect.bottom())
        path, photo_id = self.session.catalog_path, self.photo_id

        def work() -> int:
            catalog = Catalog(path)
            try:
                return int(add_manual_face(catalog, photo_id, box))
            finally:
                catalog.close()

        self.pending_adds += 1
        self.status.setText(self.tr("Adding the face…"))
        run_in_pool(work, lambda fid: self._face_added(photo_id, fid), self._add_failed, self)
        return True

    def _face_added(self, photo_id: int, face_id: int) -> None:
        self.pending_adds -= 1
        self.status.setText("")
        self.session.message.emit(self.tr("Face added"))
        self.session.changed.emit()
        if photo_id == self.photo_id:
            self._draw_boxes()
            self.edit_face(face_id)

    def _add_failed(self, exc: Exception) -> None:
        self.pending_adds -= 1
        self.status.setText("")
        text = (
            str(exc)
            if isinstance(exc, FaceOrganizerError)
            else self.tr("Could not add the face: {}").format(exc)
        )
        QMessageBox.warning(self, self.tr("Add a face"), text)
