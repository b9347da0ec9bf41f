"""Per-model clustering defaults, where they come from, and the one "sensitivity" knob.

Distances are Euclidean between L2-normalised embeddings (``d**2 = 2 - 2 cos``). The values
below are *operating points*, not verification thresholds: precision first (a wrong merge of
two relatives is the top complaint of family libraries; a missed merge costs one click).

Sources (see ``../shared/docs/ORGANIZER_ANCHORS.md`` sections 2.2 and 4.2):

* ``vggface2`` (Inception-ResNet-V1 / FaceNet trained on VGGFace2, 512-d): PhotoPrism clusters
  this very network, L2-normalised, with DBSCAN at ``ClusterDist = 0.64`` and
  ``ClusterCore = 4`` (``internal/ai/face/thresholds.go``); its docs call 0.60-0.70 (later up to
  0.85) reasonable. We keep eps 0.64 but use **3-face cores** (``min_samples=3``, the face
  itself plus two neighbours, as Immich's ``minFaces 3``): a family album has many people
  (grandparents, friends) with only 3-4 photos, whom 4-face cores would never group, while 2-face
  cores make DBSCAN a single-linkage chain at eps that walks from one sibling to the next.
  Suggestions follow PhotoPrism's matching radius: a marker joins a face cluster at
  ``SampleRadius (<= 0.35) + MatchDist 0.46``, i.e. up to 0.81; we suggest at <= 0.80 from the
  person's nearest confirmed faces or centroid, with a 0.10 margin over the next person.
* ``casia-webface`` (the same Inception-ResNet-V1 network family trained on CASIA-WebFace): no
  published clustering operating point; the VGGFace2 values are used until calibrated.
* ``dlib-resnet-v1`` (dlib's 128-d ResNet): dlib documents 0.6 as its same-person threshold
  (99.38 % on LFW; ``face_recognition``'s default tolerance). That is a pair-verification point;
  for precision-first clustering we take eps 0.50 below it, suggestions at <= 0.60 with a 0.08
  margin. Uncalibrated.
* Any other model: the VGGFace2 values (marked ``fallback``).

Calibration: the calibration benchmark (to be written) measures eps/suggest values on labelled
data and records them in :data:`CALIBRATED`; calibrated values win over the documented ones.

Sensitivity (catalog setting ``cluster.sensitivity``, 0..1, default 0.5): 0.5 gives the
defaults; 0 the strictest eps (more, smaller, purer groups), 1 the loosest (fewer, bigger
groups). eps moves linearly from ``eps_strict`` (0) through ``eps`` (0.5) to ``eps_loose`` (1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from .errors import PeopleError

#: Catalog setting holding the sensitivity.
SENSITIVITY_KEY = "cluster.sensitivity"
DEFAULT_SENSITIVITY = 0.5


@dataclass(frozen=True)
class ClusterSettings:
    """Clustering and suggestion parameters for one embedding model.

    Attributes:
        eps: DBSCAN radius (Euclidean on unit vectors) at the current sensitivity.
        min_samples: Faces (the face itself included) needed within eps for a core face.
        suggest_distance: Largest distance from a face to a named person's nearest confirmed
            face (or centroid) for a suggestion.
        suggest_margin: The next-nearest person must be at least this much farther.
        source: Where the values come from.
        eps_strict: eps at sensitivity 0.
        eps_loose: eps at sensitivity 1.
        attach_fraction: A whole group is attached to a named person (``assigned='auto'``) only
            when at least this fraction of its faces lie within eps of that person's confirmed
            faces, with the margin over any other person, and no face is closer to another.
        calibrated: True when the values were measured on labelled data.
        sensitivity: The sensitivity these values were computed for.
        eps_mid: eps at sensitivity 0.5 (0: same as ``eps``).
    """

    eps: float
    min_samples: int
    suggest_distance: float
    suggest_margin: float
    source: str
    eps_strict: float = 0.0
    eps_loose: float = 0.0
    attach_fraction: float = 0.6
    calibrated: bool = False
    sensitivity: float = DEFAULT_SENSITIVITY
    eps_mid: float = 0.0

    def with_sensitivity(self, sensitivity: float) -> ClusterSettings:
        """These settings with eps moved to ``sensitivity`` (0..1)."""
        s = validate_sensitivity(sensitivity)
        mid = self.eps_mid or self.eps
        if s <= 0.5:
            eps = self.eps_strict + (mid - self.eps_strict) * (s / 0.5)
        else:
            eps = mid + (self.eps_loose - mid) * ((s - 0.5) / 0.5)
        return replace(self, eps=float(eps), eps_mid=mid, sensitivity=s)


_VGGFACE2 = ClusterSettings(
    eps=0.64,
    min_samples=3,
    suggest_distance=0.80,
    suggest_margin=0.10,
    eps_strict=0.54,
    eps_loose=0.80,
    source="PhotoPrism ClusterDist 0.64 for this FaceNet/VGGFace2 network (internal/ai/face/thresholds.go); "
    "3-face cores (Immich minFaces 3) instead of PhotoPrism's 4 for small family albums; suggestions at "
    "PhotoPrism's SampleRadius 0.35 + MatchDist 0.46",
)

#: Documented defaults per model name (see the module docstring).
DEFAULTS: dict[str, ClusterSettings] = {
    "vggface2": _VGGFACE2,
    "casia-webface": replace(
        _VGGFACE2,
        source="uncalibrated: the VGGFace2 operating point of the same Inception-ResNet-V1 network family "
        "(no published clustering point for CASIA-WebFace)",
    ),
    "dlib-resnet-v1": ClusterSettings(
        eps=0.50,
        min_samples=3,
        suggest_distance=0.60,
        suggest_margin=0.08,
        eps_strict=0.42,
        eps_loose=0.60,
        source="uncalibrated: below dlib's documented same-person threshold 0.6 (128-d ResNet, LFW 99.38%), "
        "precision first",
    ),
}

#: Values measured by the calibration benchmark, keyed by model name; they replace the documented
#: defaults. Each entry maps field names of :class:`ClusterSettings` (eps, eps_strict, eps_loose,
#: min_samples, suggest_distance, suggest_margin) to measured values plus ``"source"``.
CALIBRATED: dict[str, dict[str, Any]] = {
    "dlib-resnet-v1": {
        "eps": 0.36,
        "eps_strict": 0.30,
        "eps_loose": 0.38,
        "min_samples": 3,
        "suggest_distance": 0.46,
        "suggest_margin": 0.04,
        "source": "measured by benchmarks/bench_clustering.py on three albums composed from lfw_sample "
        "(104 photos, 2-4 people each, 300 labelled faces + 59 bystanders): eps 0.36 / 3-face cores gave "
        "pairwise and BCubed precision 1.000 with 3 corrections (0.40 merged look-alikes: precision 0.84); "
        "suggestions at 0.46 with margin 0.04 were 149 right, 0 wrong. The strict/loose ends 0.30/0.38 keep "
        "every group pure on that set. dlib's own 0.6 is for raw descriptors (norm ~1.40), ~0.43 on unit "
        "vectors.",
    },
}


def default_settings(model: str | None, sensitivity: float = DEFAULT_SENSITIVITY) -> ClusterSettings:
    """The clustering settings of an embedding model at a sensitivity (default 0.5)."""
    base = DEFAULTS.get(model or "")
    if base is None:
        base = replace(_VGGFACE2, source=f"fallback for unknown model {model!r}: " + _VGGFACE2.source)
    measured = CALIBRATED.get(model or "")
    if measured:
        base = replace(base, **measured, calibrated=True)
    return base.with_sensitivity(sensitivity)


def validate_sensitivity(value: Any) -> float:
    """A sensitivity as a float in 0..1, or PeopleError."""
    try:
        s = float(value)
    except (TypeError, ValueError):
        raise PeopleError(f"sensitivity must be a number between 0 and 1, got {value!r}") from None
    if not 0.0 <= s <= 1.0 or math.isnan(s):
        raise PeopleError(f"sensitivity must be between 0 and 1, got {value!r}")
    return s


def catalog_settings(
    catalog: Any, model: str | None = None, sensitivity: float | None = None
) -> ClusterSettings:
    """Settings for a catalog: its model and its stored sensitivity unless given."""
    if model is None:
        model = current_model(catalog)
    if sensitivity is None:
        sensitivity = catalog.get_setting(SENSITIVITY_KEY, DEFAULT_SENSITIVITY)
    return default_settings(model, validate_sensitivity(sensitivity))


def current_model(catalog: Any) -> str | None:
    """The catalog's embedding model: setting ``"model"``, else the only model with embeddings."""
    model = catalog.get_setting("model")
    if model:
        return str(model)
    rows = catalog.query("SELECT DISTINCT model FROM embeddings LIMIT 2")
    return str(rows[0]["model"]) if len(rows) == 1 else None
