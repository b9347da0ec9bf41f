import pytest

from faceorganizer.__main__ import run, window_catalog


@pytest.mark.parametrize(
    "args, expected",
    [
        ([], (True, None)),
        (["--catalog", "/x/c.sqlite"], (True, "/x/c.sqlite")),
        (["--catalog=/x/c.sqlite"], (True, "/x/c.sqlite")),
        (["people", "--catalog", "/x/c.sqlite"], (False, None)),
        (["--help"], (False, None)),
    ],
)
def test_window_or_command_line(args, expected):
    assert window_catalog(args) == expected


def test_sub_command_runs_the_command_line(tmp_path, capsys):
    assert run(["people", "--catalog", str(tmp_path / "none.sqlite")]) == 1
    assert "faceorganizer: error:" in capsys.readouterr().err
    assert not (tmp_path / "none.sqlite").exists()
