"""Clustering quality against ground truth: pairwise and BCubed P/R/F, and the corrections a user needs.

Conventions (``../shared/docs/ORGANIZER_ANCHORS.md`` section 4.1):

* ``truth``: one identity label per face; ``pred``: one group label per face, where a negative
  label or None means "not in any group" (DBSCAN noise, an unassigned face). Each such face is
  scored as its own singleton group.
* Pairwise precision/recall come from the contingency matrix ``n_ij`` (identity i, group j):
  ``tk = sum n_ij^2 - N``, ``pk = sum_j |C_j|^2 - N``, ``qk = sum_i |L_i|^2 - N``;
  ``P = tk / pk``, ``R = tk / qk`` (1.0 when the denominator is 0: no pair was claimed / exists).
* BCubed: per face, precision = faces of its group with its identity / group size, recall =
  the same / identity size; averaged over faces.
* Corrections (what the user still does in the People view): each group of two or more faces
  is taken to be the person most of its faces show (ties: the smallest label). Then
  ``merges`` = groups beyond the first for each person, and ``moves`` = faces in a group of
  another person plus faces in no group, less the faces whose suggestion names the right person
  (one-click confirms). A person with no group of their own and no right suggestion starts from
  one of their ungrouped faces (naming it is not a correction; a one-face person costs
  nothing, as in the truth). A wrong suggestion still costs the move (and is counted in
  ``wrong_suggestions``). The truth itself scores 0.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def _f(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def _groups(pred: Sequence[Any]) -> list[Any]:
    """Group labels with every unassigned face (negative or None) made its own singleton."""
    out: list[Any] = []
    for i, g in enumerate(pred):
        out.append(("single", i) if g is None or (isinstance(g, (int, float)) and g < 0) else ("group", g))
    return out


def _contingency(truth: Sequence[Any], pred: Sequence[Any]) -> tuple[Counter, Counter, Counter]:
    if len(truth) != len(pred):
        raise ValueError(f"{len(truth)} identity labels but {len(pred)} group labels")
    groups = _groups(pred)
    return Counter(zip(truth, groups)), Counter(truth), Counter(groups)


def pairwise_prf(truth: Sequence[Any], pred: Sequence[Any]) -> tuple[float, float, float]:
    """Pairwise precision, recall and F of a grouping."""
    n = len(truth)
    cells, rows, cols = _contingency(truth, pred)
    tk = sum(v * v for v in cells.values()) - n
    pk = sum(v * v for v in cols.values()) - n
    qk = sum(v * v for v in rows.values()) - n
    p = tk / pk if pk else 1.0
    r = tk / qk if qk else 1.0
    return p, r, _f(p, r)


def bcubed_prf(truth: Sequence[Any], pred: Sequence[Any]) -> tuple[float, float, float]:
    """BCubed precision, recall and F of a grouping."""
    n = len(truth)
    if n == 0:
        return 1.0, 1.0, 1.0
    cells, rows, cols = _contingency(truth, pred)
    p = sum(v * v / cols[g] for (_, g), v in cells.items()) / n
    r = sum(v * v / rows[t] for (t, _), v in cells.items()) / n
    return p, r, _f(p, r)


@dataclass
class Corrections:
    """What a user still has to do to turn a grouping into the truth."""

    groups: int  # groups of two or more faces
    people: int  # identities in the truth
    merges: int
    moves: int
    unassigned: int  # faces in no group
    confirms: int = 0  # right suggestions (one click each, not counted as corrections)
    wrong_suggestions: int = 0

    @property
    def total(self) -> int:
        """Merges plus moves."""
        return self.merges + self.moves


def corrections(
    truth: Sequence[Any], pred: Sequence[Any], suggested: Mapping[int, Any] | None = None
) -> Corrections:
    """Merges and moves needed to reach the truth (see the module doc).

    Args:
        truth: Identity per face.
        pred: Group per face (negative or None: no group).
        suggested: Face index -> the identity a suggestion proposes for an unassigned face.
    """
    groups = _groups(pred)
    members: dict[Any, list[int]] = {}
    for i, g in enumerate(groups):
        if g[0] == "group":
            members.setdefault(g, []).append(i)
    owner: dict[Any, Any] = {}
    for g, idx in members.items():
        counts = Counter(truth[i] for i in idx)
        best = max(counts.values())
        owner[g] = min((t for t, c in counts.items() if c == best), key=_sort_key)
    real = {g for g, idx in members.items() if len(idx) >= 2}
    per_person = Counter(owner[g] for g in real)
    merges = sum(c - 1 for c in per_person.values())
    misplaced = sum(1 for g in real for i in members[g] if truth[i] != owner[g])
    loose = [i for i, g in enumerate(groups) if g[0] == "single" or g not in real]
    suggested = suggested or {}
    right = {i for i in loose if i in suggested and suggested[i] == truth[i]}
    wrong = sum(1 for i in loose if i in suggested and suggested[i] != truth[i])
    moves = misplaced
    for person, count in Counter(truth[i] for i in loose if i not in right).items():
        starts_here = person not in per_person and not any(truth[i] == person for i in right)
        moves += count - (1 if starts_here else 0)
    return Corrections(
        groups=len(real),
        people=len(set(truth)),
        merges=merges,
        moves=moves,
        unassigned=len(loose),
        confirms=len(right),
        wrong_suggestions=wrong,
    )


def _sort_key(label: Any) -> tuple[str, str]:
    return (type(label).__name__, str(label))
