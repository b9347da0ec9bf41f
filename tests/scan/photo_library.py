"""Build test photo libraries from ../shared/images: rotated copies, other formats, bad files."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from faceorganizer.catalog import Catalog

_SHARED = Path(os.environ.get("FACEORGANIZER_SHARED", Path(__file__).resolve().parents[2].parent / "shared"))


def shared_path(*parts: str) -> Path:
    """A file under ../shared (as tests/conftest.py's; that module's name is taken in this folder)."""
    path = _SHARED.resolve().joinpath(*parts)
    if not path.exists():
        pytest.fail(f"missing shared test data: {path} (../shared must sit beside the repo)")
    return path


#: EXIF orientation -> the transpose that turns upright pixels into the stored ones
#: (the inverse of what a viewer applies).
STORE_TRANSPOSE = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,  # viewer rotates 90 CW (ROTATE_270) to show it upright
    8: Image.Transpose.ROTATE_270,
}

PEOPLE = ["Colin_Powell", "George_W_Bush", "Tony_Blair", "Vladimir_Putin"]


def lfw(person: str, n: int = 1) -> Path:
    return shared_path("images", "lfw_sample", person, f"{person}_{n:04d}.jpg")


def scene(name: str) -> Path:
    return shared_path("images", "scenes", name)


def save_rotated(upright: Image.Image, orientation: int, path: Path) -> None:
    """Store ``upright`` turned so that EXIF ``orientation`` shows it upright again."""
    stored = upright.transpose(STORE_TRANSPOSE[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(path, "JPEG", quality=95, exif=exif.tobytes())


def file_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every regular file under ``root`` (links not followed)."""
    out = {}
    for dirpath, _dirs, filenames in os.walk(root):
        for name in filenames:
            p = Path(dirpath) / name
            if p.is_file() and not p.is_symlink():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def build_library(root: Path) -> dict[str, Path]:
    """The full test library; returns the notable paths by role."""
    root.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    people = root / "people"
    for person in PEOPLE:
        (people / person).mkdir(parents=True)
        for n in (1, 2):
            shutil.copy(lfw(person, n), people / person / f"{person}_{n:04d}.jpg")
    paths["original"] = people / "Colin_Powell" / "Colin_Powell_0001.jpg"
    events = root / "events"
    events.mkdir()
    shutil.copy(scene("multiface.jpg"), events / "group.jpg")
    big = Image.open(scene("paul_rudd.jpg")).convert("RGB")  # 1638x2048
    big.save(events / "paul.jpg", "JPEG", quality=95)
    paths["paul"] = events / "paul.jpg"
    rotated = root / "rotated"
    rotated.mkdir()
    for o in (3, 6, 8):
        save_rotated(big, o, rotated / f"paul_o{o}.jpg")
        paths[f"rot{o}"] = rotated / f"paul_o{o}.jpg"
    formats = root / "formats"
    formats.mkdir()
    small = Image.open(lfw("Tony_Blair", 3)).convert("RGB")
    small.save(formats / "blair.png")
    paths["png"] = formats / "blair.png"
    import pillow_heif

    pillow_heif.register_heif_opener()
    Image.open(lfw("Tony_Blair", 4)).convert("RGB").save(formats / "blair.heic", quality=90)
    paths["heic"] = formats / "blair.heic"
    Image.open(lfw("George_W_Bush", 3)).convert("RGB").save(formats / "bush.webp", quality=95)
    paths["webp"] = formats / "bush.webp"
    frame = Image.open(lfw("Vladimir_Putin", 3)).convert("RGB")
    frame.save(formats / "putin.gif", save_all=True, append_images=[Image.new("RGB", frame.size)])
    paths["gif"] = formats / "putin.gif"
    copies = root / "copies"
    copies.mkdir()
    shutil.copy(paths["original"], copies / "powell_copy.jpg")
    paths["duplicate"] = copies / "powell_copy.jpg"
    bad = root / "bad"
    bad.mkdir()
    data = scene("kate_siegel.jpg").read_bytes()
    (bad / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (bad / "empty.jpg").write_bytes(b"")
    (bad / "text.jpg").write_text("this is not a photo\n")
    (bad / "notes.txt").write_text("shopping list\n")
    paths.update(truncated=bad / "truncated.jpg", empty=bad / "empty.jpg", text=bad / "text.jpg")
    paths["notes"] = bad / "notes.txt"
    hidden = root / ".hidden"
    hidden.mkdir()
    shutil.copy(lfw("Hugo_Chavez"), hidden / "chavez.jpg")
    os.symlink(root, people / "loop")  # a symlink back to the library root
    return paths


def jpeg_bytes(image: Image.Image, quality: int = 95) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


#: Working size for the test catalogs (the 1638x2048 photos then go through draft + resize).
WORKING_SIZE = 800


def new_catalog(path: Path) -> Catalog:
    """A catalog that scans at :data:`WORKING_SIZE`."""
    cat = Catalog(path)
    cat.set_setting("scan.working_size", WORKING_SIZE)
    return cat
