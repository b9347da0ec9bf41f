"""People: grouping faces (DBSCAN), named people, suggestions, user decisions and their undo.

Everything works on a :class:`~faceorganizer.catalog.Catalog`; decisions live on the face rows
(``person_id``, ``assigned``, ``cluster_id``, ``ignored``) and in ``rejections``, so they survive
rescans, reclustering and model switches. Importing this package does not import scikit-learn or
torch (scikit-learn loads when clustering runs).
"""

from .clustering import ClusterSummary, after_model_switch, cluster, new_group_id
from .errors import NameExistsError, PeopleError
from .operations import (
    MAX_NAME_LENGTH,
    Ref,
    confirm_suggestions,
    delete_person,
    find_person,
    hide_person,
    ignore_faces,
    merge,
    move_faces,
    name_faces,
    name_group,
    not_person,
    reject_suggestions,
    rename_person,
    set_cover,
    split_faces,
    validate_name,
)
from .queries import (
    PersonSummary,
    faces_of,
    list_people,
    person_by_name,
    search_photos,
    similarity_order,
    unassigned_faces,
)
from .settings import CALIBRATED, DEFAULTS, SENSITIVITY_KEY, ClusterSettings, default_settings
from .suggestions import suggest

__all__ = [
    "CALIBRATED",
    "DEFAULTS",
    "MAX_NAME_LENGTH",
    "SENSITIVITY_KEY",
    "ClusterSettings",
    "ClusterSummary",
    "NameExistsError",
    "PeopleError",
    "PersonSummary",
    "Ref",
    "after_model_switch",
    "cluster",
    "confirm_suggestions",
    "default_settings",
    "delete_person",
    "faces_of",
    "find_person",
    "hide_person",
    "ignore_faces",
    "list_people",
    "merge",
    "move_faces",
    "name_faces",
    "name_group",
    "new_group_id",
    "not_person",
    "person_by_name",
    "reject_suggestions",
    "rename_person",
    "search_photos",
    "set_cover",
    "similarity_order",
    "split_faces",
    "suggest",
    "unassigned_faces",
    "validate_name",
]
