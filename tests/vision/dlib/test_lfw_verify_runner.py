"""benchmarks/lfw_verify.py: the LFW protocol on the pairs whose photos exist, with the app's pipeline."""

from __future__ import annotations

import importlib.util
import io
import re

from shared_data import REPO, shared_path


def _runner():
    spec = importlib.util.spec_from_file_location("lfw_verify", REPO / "benchmarks" / "lfw_verify.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# 8 photos: 5 same-person and 5 different-person pairs, then two pairs with a missing photo
PAIRS = """10\t300
Colin_Powell\t1\t2
Colin_Powell\t1\t3
Colin_Powell\t2\t3
Tony_Blair\t1\t2
Tony_Blair\t1\t3
Colin_Powell\t1\tTony_Blair\t1
Colin_Powell\t2\tGeorge_W_Bush\t1
Tony_Blair\t2\tGeorge_W_Bush\t2
Colin_Powell\t3\tTony_Blair\t3
George_W_Bush\t1\tTony_Blair\t1
Colin_Powell\t1\t9999
Nobody_Here\t1\tTony_Blair\t1
"""


def test_runner_uses_the_usable_pairs_and_prints_10_fold_accuracy(tmp_path):
    pairs = tmp_path / "pairs.txt"
    pairs.write_text(PAIRS)
    out = io.StringIO()
    args = ["--lfw", str(shared_path("images", "lfw_sample")), "--pairs", str(pairs), "--no-all-pairs"]
    args += ["--mtcnn-weights", str(shared_path("weights", "mtcnn"))]
    assert _runner().main(args, out=out) == 0
    text = out.getvalue()
    assert "pairs: 10 of 12 usable (both photos present)" in text
    assert "dlib-resnet-v1" in text and "0 without a face" in text
    accuracy = float(re.search(r"LFW 10-fold over 10 pairs: accuracy (\d\.\d+)", text).group(1))
    assert accuracy >= 0.9  # ten pairs: at most one held-out mistake


def test_runner_builds_folder_pairs_when_none_is_usable(tmp_path):
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("1\t2\nColin_Powell\t99\t98\nColin_Powell\t97\tTony_Blair\t96\n")
    lfw = tmp_path / "lfw"
    for person in ("Colin_Powell", "Tony_Blair"):
        (lfw / person).mkdir(parents=True)
        for n in (1, 2, 3):
            name = f"{person}_{n:04d}.jpg"
            (lfw / person / name).symlink_to(shared_path("images", "lfw_sample", person, name))
    out = io.StringIO()
    args = ["--lfw", str(lfw), "--pairs", str(pairs), "--mtcnn-weights", str(shared_path("weights", "mtcnn"))]
    assert _runner().main(args, out=out) == 0
    text = out.getvalue()
    assert "pairs: 0 of 2 usable" in text
    assert "using 12 pairs built from the folder (6 same" in text
    assert re.search(r"LFW 10-fold over 12 pairs: accuracy \d\.\d+", text)
    assert re.search(r"all pairs of lfw: 6 same, 9 different; ROC AUC 1\.0000", text)
