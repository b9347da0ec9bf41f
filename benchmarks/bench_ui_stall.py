"""How long the window's event loop stalls while a scan runs, on a larger library than the tests use.

Usage: QT_QPA_PLATFORM=offscreen python benchmarks/bench_ui_stall.py [--shared ../shared] [--workers N]

The window (:class:`faceorganizer.ui.main_window.MainWindow`, People page on show, views
refreshing as groups appear) scans every ``lfw_sample`` photo plus the ``scenes`` photos with
the offline dlib model and the real MTCNN weights. A 10 ms QTimer ticks on the GUI thread the
whole time; the gaps between ticks are the stalls a user would feel. An idle sentinel process
records when the machine itself did not schedule anyone (other jobs), so that those pauses can
be told apart. Printed side by side with the reference: the issue's 100 ms bar.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BAR_MS = 100.0
SENTINEL = """
import time
last = time.monotonic()
while True:
    time.sleep(0.005)
    now = time.monotonic()
    if now - last > 0.03:
        print(f"{last:.6f} {now:.6f}", flush=True)
    last = now
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--workers", type=int, default=None, help="decoding processes (default: the scan's)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fo-stall-"))
    photos = tmp / "photos"
    shutil.copytree(args.shared / "images" / "lfw_sample", photos)
    for scene in (args.shared / "images" / "scenes").glob("*.jpg"):
        shutil.copyfile(scene, photos / scene.name)

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication([sys.argv[0]])
    from faceorganizer.ui.main_window import MainWindow

    options = {
        "model": "dlib-resnet-v1",
        "mtcnn_weights": str(args.shared / "weights" / "mtcnn"),
        "device": "cpu",
    }
    if args.workers is not None:
        options["workers"] = args.workers
    settings = QSettings(str(tmp / "window.ini"), QSettings.Format.IniFormat)
    window = MainWindow(tmp / "catalog.sqlite", scan_options=options, settings=settings)
    window.resize(1200, 800)
    window.show()
    while not window.engine_ready:
        app.processEvents()
        time.sleep(0.01)

    gaps: list[tuple[float, float]] = []
    last = [None]

    def tick() -> None:
        now = time.monotonic()
        if window.scanning and last[0] is not None:
            gaps.append((last[0], now))
        last[0] = now if window.scanning else None

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    sentinel = subprocess.Popen([sys.executable, "-c", SENTINEL], stdout=subprocess.PIPE, text=True)
    timer.start()
    start = time.monotonic()
    window.add_folder(str(photos))
    while window.runner is not None:
        app.processEvents()
        time.sleep(0.002)
    elapsed = time.monotonic() - start
    timer.stop()
    sentinel.kill()
    out, _ = sentinel.communicate(timeout=10)
    machine = [tuple(map(float, line.split())) for line in out.splitlines() if line.strip()]

    lengths = sorted((b - a) * 1000 for a, b in gaps)
    own = sorted(
        (b - a) * 1000
        for a, b in gaps
        if sum(max(0.0, min(b, y) - max(a, x)) for x, y in machine) < 0.5 * (b - a)
    )
    summary = window.last_summary
    p99 = lengths[int(0.99 * (len(lengths) - 1))] if lengths else 0.0
    worst = lengths[-1] if lengths else 0.0
    worst_own = own[-1] if own else 0.0
    print(f"scan: {summary.scanned} photos, {summary.faces} faces in {elapsed:.1f} s; {len(gaps)} ticks")
    print(f"{'':34s}{'measured':>10s}{'bar':>8s}{'ratio':>8s}")
    for label, value in (
        ("longest event-loop gap (ms)", worst),
        ("  not a machine-wide pause (ms)", worst_own),
        ("99th percentile gap (ms)", p99),
    ):
        print(f"{label:34s}{value:10.1f}{BAR_MS:8.0f}{value / BAR_MS:8.2f}")
    pause = max(((b - a) * 1000 for a, b in machine), default=0.0)
    print(f"longest machine-wide pause (sentinel): {pause:.1f} ms")
    window.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
