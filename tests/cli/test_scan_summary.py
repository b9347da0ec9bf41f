from faceorganizer.cli.scan import format_summary
from faceorganizer.scan import ScanSummary


def test_summary_says_when_the_offline_model_was_used():
    text = format_summary(
        ScanSummary(
            total=3,
            scanned=2,
            faces=4,
            errors=[("/p/bad.jpg", "truncated file")],
            model="dlib-resnet-v1",
            non_images=["/p/notes.txt"],
            elapsed_s=2.0,
        )
    )
    assert "    /p/bad.jpg: truncated file" in text
    assert "non-image files: 1 (.txt 1)" in text
    assert "model: dlib-resnet-v1" in text and "offline model" in text and "weights download vggface2" in text
    assert "offline model" not in format_summary(ScanSummary(model="vggface2", elapsed_s=1.0))
