"""Screenshots of the main views, for the README: run under Xvfb by ``scripts/screenshots.sh``.

Builds a small library from ``../shared/images`` (LFW people and two scenes) in a temporary
folder, scans it through the window exactly as a user would (the offline dlib model, the real
MTCNN weights), names most groups after their LFW folder, and saves one PNG per view into the
output folder (default ``docs/screenshots``).

Usage: ``python tests/ui/screenshots.py [OUT_DIR]``
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("FACEORGANIZER_SHARED", REPO.parent / "shared")).resolve()
PEOPLE = ("Colin_Powell", "Hugo_Chavez", "Jacques_Chirac", "Vladimir_Putin")
PER_PERSON = 6
#: The offline model's default grouping radius chains these LFW faces together; a stricter
#: setting (Settings > Grouping, as a user would) keeps them apart.
SENSITIVITY = 0.2
SCENES = ("multiface.jpg", "video_frame_1080p_a.jpg")
SIZE = (1280, 820)


def build_library(folder: Path) -> None:
    for person in PEOPLE:
        for src in sorted((SHARED / "images" / "lfw_sample" / person).glob("*.jpg"))[:PER_PERSON]:
            shutil.copyfile(src, folder / src.name)
    for name in SCENES:
        shutil.copyfile(SHARED / "images" / "scenes" / name, folder / f"scene_{name}")


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else REPO / "docs" / "screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="fo-shots-"))
    os.environ.setdefault("FACEORGANIZER_CACHE", str(tmp / "cache"))
    os.environ["FACEORGANIZER_OFFLINE"] = "1"
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    photos = tmp / "Family Photos"
    photos.mkdir()
    build_library(photos)

    from PySide6.QtCore import QCoreApplication, QSettings

    from faceorganizer.ui.app import create_app

    app = create_app([sys.argv[0]])
    QCoreApplication.setOrganizationName("faceorganizer-screenshots")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp / "qsettings"))

    from faceorganizer.ui.main_window import MainWindow

    def wait(predicate, timeout: float = 300.0) -> None:
        end = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > end:
                raise TimeoutError("the window did not get there in time")
            app.processEvents()
            time.sleep(0.01)

    def settle(ms: int = 400) -> None:
        end = time.monotonic() + ms / 1000
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    def shot(widget, name: str) -> None:
        settle()
        path = out / f"{name}.png"
        if not widget.grab().save(str(path)):
            raise OSError(f"cannot write {path}")
        print(f"wrote {path}")

    settings = QSettings(str(tmp / "window.ini"), QSettings.Format.IniFormat)
    options = {
        "model": "dlib-resnet-v1",
        "mtcnn_weights": str(SHARED / "weights" / "mtcnn"),
        "device": "cpu",
        "cluster_every": 4,
        "batch_size": 4,
    }
    window = MainWindow(tmp / "catalog.sqlite", scan_options=options, settings=settings)
    window.resize(*SIZE)
    window.show()
    wait(lambda: window.engine_ready)
    shot(window, "welcome")

    from faceorganizer.ui.model_dialog import ModelDialog

    dialog = ModelDialog(None, window)
    dialog.show()
    shot(dialog, "model-dialog")
    dialog.close()

    window.session.catalog.set_setting("cluster.sensitivity", SENSITIVITY)
    window.add_folder(str(photos))
    wait(lambda: window.runner is None or window.pages["people"].model.rowCount() >= 2)
    if window.runner is not None:
        window.go("people")
        shot(window, "scanning")
    wait(lambda: window.runner is None)

    from faceorganizer import people

    cat = window.session.catalog
    rows = cat.query(
        "SELECT f.cluster_id AS c, p.path AS path FROM faces f JOIN photos p ON p.id = f.photo_id "
        "WHERE f.cluster_id IS NOT NULL AND f.person_id IS NULL AND f.ignored = 0"
    )
    votes: dict[int, Counter] = {}
    for r in rows:
        name = Path(r["path"]).stem.rsplit("_", 1)[0].replace("_", " ")
        votes.setdefault(r["c"], Counter())[name] += 1
    used = set()
    for i, (cluster_id, counter) in enumerate(sorted(votes.items(), key=lambda kv: -sum(kv[1].values()))):
        name, _n = counter.most_common(1)[0]
        if i >= len(PEOPLE) - 1 or name in used or name.startswith("scene"):
            continue  # leave a group or two unnamed, as in a real library
        people.name_group(cat, cluster_id, name)
        used.add(name)
    window.session.changed.emit()
    window.go("people")
    shot(window, "people")

    top = max(people.list_people(cat), key=lambda s: (s.id is not None, s.face_count))
    window.session.openPerson.emit(("person", top.id) if top.id is not None else ("group", top.cluster_id))
    shot(window, "person")

    window.go("unassigned")
    shot(window, "unassigned")

    scene = cat.scalar(
        "SELECT p.id FROM photos p JOIN faces f ON f.photo_id = p.id "
        "GROUP BY p.id ORDER BY COUNT(*) DESC LIMIT 1"
    )
    window.session.openPhoto.emit(int(scene))
    view = window.pages["photo"]
    if hasattr(view, "is_loaded"):
        wait(view.is_loaded, 30)
    shot(window, "photo")

    window.go("search")
    search = window.pages["search"]
    named = [s.id for s in people.list_people(cat) if s.id is not None]
    if hasattr(search, "set_checked") and named:
        search.set_checked(named[:1])
    shot(window, "search")

    window.go("export")
    shot(window, "export")
    window.go("settings")
    shot(window, "settings")

    from faceorganizer.ui.app import apply_palette, dark_palette

    app.setPalette(dark_palette())
    window.go("people")
    shot(window, "people-dark")
    apply_palette(app)

    window.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
