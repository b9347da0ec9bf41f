"""Item models and thumbnails: lazy pages, decoding only what is painted, in-place removal, drag data."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QPixmap
from ui_library import build_big_person

from faceorganizer.catalog import Catalog
from faceorganizer.ui.face_grid import FaceGrid
from faceorganizer.ui.models import FacesModel, decode_refs, encode_refs
from faceorganizer.ui.thumbnails import FaceThumbnails, PixmapLRU, decode_photo


def _visible_rows(grid: FaceGrid) -> int:
    vp = grid.viewport().rect()
    return sum(
        1 for r in range(grid.model().rowCount()) if grid.visualRect(grid.model().index(r)).intersects(vp)
    )


def test_ten_thousand_faces_load_page_by_page_and_decode_only_visible(qtbot, tmp_path):
    path, person = build_big_person(tmp_path, 10_000)
    cat = Catalog(path)
    thumbs = FaceThumbnails(cat)
    model = FacesModel(thumbs)
    model.set_faces(cat.query("SELECT id, photo_id FROM faces WHERE person_id = ? ORDER BY id", (person,)))
    assert model.total() == 10_000
    assert model.rowCount() == FacesModel.PAGE

    grid = FaceGrid(model)
    qtbot.addWidget(grid)
    grid.resize(640, 420)
    grid.show()
    qtbot.waitExposed(grid)
    qtbot.wait(50)
    thumbs.wait_idle()
    visible = _visible_rows(grid)
    assert 0 < visible < 60
    # Only the cells on screen were decoded.
    assert 0 < thumbs.decode_count <= visible
    first_decodes = thumbs.decode_count

    # Scrolling to the end of what is loaded asks the model for the next page.
    bar = grid.verticalScrollBar()
    bar.setValue(bar.maximum())
    qtbot.waitUntil(lambda: model.rowCount() == 2 * FacesModel.PAGE, timeout=3000)
    grid.viewport().repaint()
    thumbs.wait_idle()
    visible = _visible_rows(grid)
    assert thumbs.decode_count - first_decodes <= visible + 2
    assert thumbs.decode_count < 3 * 60  # nowhere near 800 loaded rows, let alone 10,000
    # A cell on screen has its real thumbnail, not the placeholder.
    idx = grid.indexAt(grid.viewport().rect().center())
    pix = model.data(idx, Qt.ItemDataRole.DecorationRole)
    assert isinstance(pix, QPixmap) and pix.width() == 96  # decoded at the size painted (stored: 64)
    cat.close()


def test_thumbnail_decoding_is_deferred_past_the_budget(qtbot, tmp_path, monkeypatch):
    import faceorganizer.ui.thumbnails as t

    path, person = build_big_person(tmp_path, 50)
    cat = Catalog(path)
    thumbs = FaceThumbnails(cat)
    monkeypatch.setattr(t, "DECODE_BUDGET_S", 0.0)  # every request must wait for a later turn
    ids = [r["id"] for r in cat.query("SELECT id FROM faces ORDER BY id")][:10]
    ready = []
    thumbs.ready.connect(lambda fid: ready.append(fid))
    assert [thumbs.get(i) for i in ids] == [None] * 10  # past the budget: placeholders for now
    assert thumbs.decode_count == 0
    qtbot.waitUntil(lambda: sorted(ready) == ids, timeout=2000)  # decoded on later turns
    assert all(thumbs.cached(i) is not None for i in ids)
    assert thumbs.decode_count == 10
    cat.close()


def test_faces_model_removes_rows_in_place_and_resets_otherwise(qtbot, tmp_path):
    path, _ = build_big_person(tmp_path, 1000)
    cat = Catalog(path)
    model = FacesModel(FaceThumbnails(cat))
    rows = cat.query("SELECT id FROM faces ORDER BY id")
    model.set_faces(rows)
    removed, resets = [], []
    model.rowsRemoved.connect(lambda _p, a, b: removed.append((a, b)))
    model.modelReset.connect(lambda: resets.append(1))
    keep = [r for r in rows if r["id"] not in (rows[3]["id"], rows[4]["id"], rows[900]["id"])]
    assert model.set_faces(keep) is False
    assert removed == [(3, 4)]  # row 900 is not loaded yet: nothing to announce
    assert resets == []
    assert model.rowCount() == FacesModel.PAGE - 2
    assert model.total() == 997
    assert model.face_id(3) == rows[5]["id"]
    # A new face appearing is a reset that keeps as many rows loaded as before.
    model.fetchMore(QModelIndex())
    loaded = model.rowCount()
    assert model.set_faces([*keep, {"id": 99999}]) is True
    assert resets == [1]
    assert model.rowCount() == loaded
    cat.close()


def test_pixmap_lru_evicts_least_recent_by_bytes(qtbot):
    lru = PixmapLRU(max_bytes=3 * 10 * 10 * 4)
    for k in range(3):
        lru.put(k, QPixmap(10, 10))
    lru.get(0)
    lru.put(3, QPixmap(10, 10))
    assert 1 not in lru and 0 in lru and 3 in lru and len(lru) == 3


def test_refs_round_trip_through_drag_data():
    refs = [("person", 3), ("group", 12)]
    assert decode_refs(encode_refs(refs)) == refs


def test_decode_photo_is_upright_and_scaled(tmp_path):
    from PIL import Image

    im = Image.new("RGB", (400, 200), (255, 0, 0))
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 CW to view: upright is 200 x 400
    path = tmp_path / "rot.jpg"
    im.save(path, exif=exif)
    before = path.read_bytes()
    image, full = decode_photo(path, 100)
    assert (image.width(), image.height()) == (50, 100)
    assert full == (200, 400)
    assert path.read_bytes() == before


def test_views_read_the_catalog_off_the_gui_thread(qtbot, session, library, monkeypatch):
    import threading

    from ui_library import settle

    from faceorganizer import people
    from faceorganizer.ui.people_view import PeopleView
    from faceorganizer.ui.person_view import PersonView
    from faceorganizer.ui.search_view import SearchView
    from faceorganizer.ui.unassigned_view import UnassignedView

    threads = []
    for name in ("list_people", "faces_of", "unassigned_faces", "search_photos"):
        real = getattr(people, name)

        def spy(*a, _real=real, _name=name, **k):
            threads.append((_name, threading.current_thread() is threading.main_thread()))
            return _real(*a, **k)

        monkeypatch.setattr(people, name, spy)
    views = [PeopleView(session), PersonView(session), UnassignedView(session), SearchView(session)]
    for v in views:
        qtbot.addWidget(v)
        v.show()
    views[1].show_ref(("person", library.people["Alice"]))
    for v in views:
        settle(qtbot, v)
    views[3].set_checked([library.people["Alice"]])
    settle(qtbot, views[3])
    assert {n for n, _ in threads} == {"list_people", "faces_of", "unassigned_faces", "search_photos"}
    assert not any(on_main for _, on_main in threads)
    assert views[1].grid.faces.total() == 6 and views[3].model.rowCount() == 6


def test_garbage_is_collected_on_the_gui_thread_only(qtbot):
    import gc
    import threading

    from faceorganizer.ui.thumbnails import install_gc_guard

    install_gc_guard()
    assert not gc.isenabled()
    seen = []

    class Cycle:
        def __del__(self):
            seen.append(threading.current_thread() is threading.main_thread())

    for _ in range(3):
        c = Cycle()
        c.me = c
    del c
    # A worker allocating lots of containers does not start a collection on its own thread.
    kept = []
    worker = threading.Thread(target=lambda: kept.extend([] for _ in range(5000)))
    worker.start()
    worker.join()
    assert seen == []
    qtbot.waitUntil(lambda: len(seen) == 3, timeout=3000)
    assert seen == [True, True, True]
