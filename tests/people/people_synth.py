"""Synthetic catalogs for the people tests: photos, faces and embeddings put in through the catalog API.

Test modules import the ``album`` and ``rng`` fixtures (``album_fixture``, ``rng_fixture``) from
here. There is no conftest.py in this folder: a second module named ``conftest`` would shadow
``tests/conftest.py`` for the ``from conftest import ...`` of other test folders.

Identities are random unit vectors in 512-d; a face of an identity is the identity plus isotropic
noise of norm ``spread`` (renormalised), so two faces of one identity lie about
``sqrt(2) * spread / sqrt(1 + spread**2)`` apart and two identities about ``sqrt(2)`` apart.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from faceorganizer.catalog import Catalog

MODEL = "vggface2"
DIM = 512


def unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def identity(rng: np.random.Generator, dim: int = DIM) -> np.ndarray:
    return unit(rng.standard_normal(dim))


def lookalike(rng: np.random.Generator, centre: np.ndarray, distance: float) -> np.ndarray:
    """An identity at about ``distance`` from ``centre`` (a relative)."""
    g = rng.standard_normal(len(centre))
    g -= (g @ centre) * centre
    g = unit(g)
    cos = 1 - distance**2 / 2
    return unit(cos * centre + np.sqrt(1 - cos**2) * g)


def faces_of_identity(
    rng: np.random.Generator, centre: np.ndarray, n: int, spread: float = 0.25
) -> np.ndarray:
    noise = rng.standard_normal((n, len(centre))) * (spread / np.sqrt(len(centre)))
    return unit(centre[None, :] + noise)


class Album:
    """A catalog being filled with photos and faces, remembering each face's true identity."""

    def __init__(self, path: Path, model: str = MODEL) -> None:
        self.cat = Catalog(path)
        self.cat.set_setting("model", model)
        self.model = model
        self.truth: dict[int, str] = {}
        self.vectors: dict[int, np.ndarray] = {}
        self._n = 0

    def photo(self, name: str | None = None) -> int:
        self._n += 1
        name = name or f"/album/photo_{self._n:05d}.jpg"
        with self.cat.transaction():
            return int(
                self.cat.execute(
                    "INSERT INTO photos(path, status, width, height) VALUES (?, 'ok', 4000, 3000)", (name,)
                ).lastrowid
            )

    def face(
        self,
        photo_id: int,
        vec: np.ndarray,
        who: str,
        *,
        prob: float = 0.99,
        low_quality: int = 0,
        box=(100, 100, 300, 340),
        model: str | None = None,
    ) -> int:
        with self.cat.transaction():
            fid = int(
                self.cat.execute(
                    "INSERT INTO faces(photo_id, x1, y1, x2, y2, prob, low_quality, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (photo_id, *box, prob, low_quality, time.time()),
                ).lastrowid
            )
            self.cat.put_embedding(fid, model or self.model, vec)
        self.truth[fid] = who
        self.vectors[fid] = np.asarray(vec, np.float32)
        return fid

    def faces_alone(self, vecs: np.ndarray, who: str) -> list[int]:
        """One photo per face."""
        return [self.face(self.photo(), v, who) for v in vecs]

    def state(self) -> dict:
        """Every decision column, person and rejection: what undo must restore."""
        return {
            "faces": self.cat.query(
                "SELECT id, person_id, assigned, cluster_id, ignored FROM faces ORDER BY id"
            ),
            "people": self.cat.query("SELECT id, name, hidden, cover_face_id FROM people ORDER BY id"),
            "rejections": self.cat.query(
                "SELECT face_id, person_id FROM rejections ORDER BY face_id, person_id"
            ),
        }

    def groups(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for fid, cid in self.cat.conn.execute(
            "SELECT id, cluster_id FROM faces WHERE cluster_id IS NOT NULL AND person_id IS NULL ORDER BY id"
        ):
            out.setdefault(cid, []).append(fid)
        return out

    def row(self, fid: int) -> dict:
        return self.cat.query("SELECT * FROM faces WHERE id = ?", (fid,))[0]


def pairwise_precision(groups: dict[int, list[int]], truth: dict[int, str]) -> float:
    """Same-identity pairs among all pairs put in one group (1.0 when no pair is grouped)."""
    same = total = 0
    for members in groups.values():
        labels = [truth[f] for f in members]
        n = len(labels)
        total += n * (n - 1) // 2
        _, counts = np.unique(labels, return_counts=True)
        same += int((counts * (counts - 1) // 2).sum())
    return 1.0 if total == 0 else same / total


@pytest.fixture(name="album")
def album_fixture(tmp_path):
    """An empty album (catalog with model vggface2) in the test's folder."""
    al = Album(tmp_path / "catalog.sqlite")
    yield al
    al.cat.close()


@pytest.fixture(name="rng")
def rng_fixture():
    return np.random.default_rng(1234)
