import numpy as np
import pytest
from people_synth import Album


@pytest.fixture
def album(tmp_path):
    al = Album(tmp_path / "catalog.sqlite")
    yield al
    al.cat.close()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
