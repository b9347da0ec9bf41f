"""Box mapping between the stored and the upright frame, checked against Pillow's exif_transpose."""

from __future__ import annotations

import numpy as np
import pytest
from metadata_photos import TO_UPRIGHT
from PIL import Image

from faceorganizer.metadata.orientation import stored_to_upright, upright_size, upright_to_stored

STORED = (40, 24)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_box_lands_where_exif_transpose_moves_the_pixels(orientation):
    # A marked rectangle in the stored grid; after Pillow turns the picture upright, the
    # marked pixels' bounding box must be the mapped box.
    stored_box = (5, 3, 17, 11)
    pixels = np.zeros((STORED[1], STORED[0]), np.uint8)
    pixels[stored_box[1] : stored_box[3], stored_box[0] : stored_box[2]] = 255
    image = Image.fromarray(pixels)
    upright = image.transpose(TO_UPRIGHT[orientation]) if orientation != 1 else image
    assert upright.size == upright_size(STORED, orientation)
    assert stored_to_upright(stored_box, STORED, orientation) == tuple(float(v) for v in upright.getbbox())
    assert upright_to_stored(upright.getbbox(), STORED, orientation) == tuple(float(v) for v in stored_box)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_the_two_directions_are_exact_inverses(orientation):
    rng = np.random.default_rng(orientation)
    for _ in range(50):
        x1, x2 = sorted(rng.uniform(0, STORED[0], 2))
        y1, y2 = sorted(rng.uniform(0, STORED[1], 2))
        box = (x1, y1, x2, y2)
        up = stored_to_upright(box, STORED, orientation)
        assert upright_to_stored(up, STORED, orientation) == pytest.approx(box, abs=1e-9)
        uw, uh = upright_size(STORED, orientation)
        ux1, ux2 = sorted(rng.uniform(0, uw, 2))
        uy1, uy2 = sorted(rng.uniform(0, uh, 2))
        ubox = (ux1, uy1, ux2, uy2)
        assert stored_to_upright(upright_to_stored(ubox, STORED, orientation), STORED, orientation) == (
            pytest.approx(ubox, abs=1e-9)
        )


def test_missing_or_invalid_orientation_means_as_stored():
    box = (1.0, 2.0, 3.0, 4.0)
    for value in (None, 0, 9, "x"):
        assert stored_to_upright(box, STORED, value) == box
        assert upright_size(STORED, value) == STORED
