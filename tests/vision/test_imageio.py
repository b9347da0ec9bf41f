"""Image loading: every PIL mode to RGB, EXIF orientation, and clear errors for bad files."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from faceorganizer.vision.errors import ImageError
from faceorganizer.vision.imageio import load_image, to_rgb


def _save(img: Image.Image, path, **kw):
    img.save(path, **kw)
    return path


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "CMYK", "I;16", "I", "F", "1", "YCbCr"])
def test_every_mode_becomes_rgb(mode):
    rgb = Image.new("RGB", (8, 6), (200, 100, 50))
    if mode == "I;16":
        img = Image.fromarray(np.full((6, 8), 40000, dtype=np.uint16))
    elif mode in ("I", "F"):
        img = rgb.convert("L").convert(mode)
    else:
        img = rgb.convert(mode)
    out = to_rgb(img)
    assert out.mode == "RGB" and out.size == (8, 6)


def test_transparent_pixels_composite_on_white():
    img = Image.new("RGBA", (2, 1), (0, 0, 0, 0))
    img.putpixel((1, 0), (10, 20, 30, 255))
    arr = np.asarray(to_rgb(img))
    assert arr[0, 0].tolist() == [255, 255, 255]
    assert arr[0, 1].tolist() == [10, 20, 30]


def test_sixteen_bit_grey_is_rescaled_not_clipped():
    arr16 = np.array([[0, 32768, 65535]], dtype=np.uint16)
    out = np.asarray(to_rgb(Image.fromarray(arr16)))
    assert out[0, :, 0].tolist() == [0, 128, 255]


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (40, 20), (0, 0, 0))
    img.paste((255, 0, 0), (0, 0, 10, 20))  # red stripe on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW on display
    path = _save(img, tmp_path / "rotated.jpg", exif=exif.tobytes(), quality=95)
    loaded = load_image(path)
    assert loaded.size == (20, 40)
    top = np.asarray(loaded)[:5].mean(axis=(0, 1))
    assert top[0] > 200 and top[1] < 60  # the red stripe is now at the top


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageError, match=r"empty.jpg: file is empty"):
        load_image(path)


def test_truncated_jpeg(tmp_path):
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(buf, format="JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageError, match=r"cut.jpg: corrupt or truncated"):
        load_image(path)


def test_text_file_named_jpg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("not an image")
    with pytest.raises(ImageError, match=r"notes.jpg: not an image file"):
        load_image(path)


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match=r"missing.png: cannot read"):
        load_image(tmp_path / "missing.png")


def test_decompression_bomb_is_refused(tmp_path):
    path = _save(Image.new("L", (300, 300)), tmp_path / "big.png")
    with pytest.raises(ImageError, match="decompression bomb"):
        load_image(path, max_pixels=300 * 299)
    assert load_image(path, max_pixels=None).size == (300, 300)


def test_tiny_image_loads(tmp_path):
    path = _save(Image.new("P", (1, 1)), tmp_path / "dot.gif")
    assert load_image(path).size == (1, 1)


@pytest.mark.parametrize(
    "rect",
    [(10, 5, 40, 33), (0, 0, 64, 48), (-7, -3, 20, 15), (50, 40, 80, 70), (70, 60, 90, 80), (3, 4, 4, 5)],
)
def test_crop_rgb_of_an_array_equals_pil_crop_black_outside(rect):
    from faceorganizer.vision.imageio import crop_rgb

    array = np.random.default_rng(1).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    whole = Image.fromarray(array, "RGB")
    got = crop_rgb(array, rect)
    assert got.mode == "RGB" and got.size == (rect[2] - rect[0], rect[3] - rect[1])
    assert np.array_equal(np.asarray(got), np.asarray(whole.crop(rect)))
    assert np.array_equal(np.asarray(crop_rgb(whole, rect)), np.asarray(whole.crop(rect)))


@pytest.mark.parametrize("size", [(1600, 1200), (640, 853), (977, 733), (31, 17), (2300, 1725)])
def test_resize_rgb_is_pillows_bilinear_to_one_level(size):
    """Shrinking (any factor) and enlarging: Pillow's BILINEAR, at most one level off, rarely."""
    from faceorganizer.vision.imageio import resize_rgb

    rng = np.random.default_rng(2)
    coarse = Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    smooth = coarse.resize((2016, 1512), Image.Resampling.BICUBIC)
    noisy = rng.integers(-40, 41, (1512, 2016, 3))
    photo = Image.fromarray(np.clip(np.asarray(smooth).astype(int) + noisy, 0, 255).astype(np.uint8))
    got = resize_rgb(photo, size)
    ref = np.asarray(photo.resize(size, Image.Resampling.BILINEAR))
    assert got.shape == ref.shape == (size[1], size[0], 3)
    assert got.dtype == np.uint8 and got.flags.c_contiguous
    diff = np.abs(got.astype(int) - ref.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.01


def test_resize_rgb_keeps_the_size_and_converts_modes():
    from faceorganizer.vision.imageio import resize_rgb

    array = np.random.default_rng(3).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    assert np.array_equal(resize_rgb(Image.fromarray(array), (30, 20)), array)
    grey = Image.fromarray(array[..., 0])
    assert np.array_equal(resize_rgb(grey, (30, 20)), np.asarray(grey.convert("RGB")))


def test_resize_rgb_by_pillow_is_pillows_own():
    from faceorganizer.vision.imageio import resize_rgb

    photo = Image.fromarray(np.random.default_rng(4).integers(0, 256, (300, 400, 3), dtype=np.uint8))
    expected = np.asarray(photo.resize((200, 150), Image.Resampling.BILINEAR))
    assert np.array_equal(resize_rgb(photo, (200, 150), engine="pillow"), expected)
    with pytest.raises(ValueError, match="unknown engine"):
        resize_rgb(photo, (200, 150), engine="magic")
