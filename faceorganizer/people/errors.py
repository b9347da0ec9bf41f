"""Errors of the people operations."""

from __future__ import annotations

from ..errors import PeopleError

__all__ = ["PeopleError", "NameExistsError"]


class NameExistsError(PeopleError):
    """A name is already used by another person; the caller may merge instead.

    Attributes:
        name: The name as the existing person spells it.
        person_id: The existing person's id.
    """

    def __init__(self, name: str, person_id: int) -> None:
        super().__init__(
            f"a person named {name!r} already exists (id {person_id}); merge into it instead "
            "(--merge on the command line)"
        )
        self.name = name
        self.person_id = person_id
