"""People commands: ``people``, ``faces``, ``name``, ``merge``, ``move``, ``not``, ``cluster``, ``undo``...

Naming things on the command line:

* a **person** by name (any case): ``Alice``;
* an **unnamed group** by its id with a ``#`` or ``group:`` prefix: ``#12``, ``group:12`` (as
  ``faceorganizer people`` prints them). ``name`` also takes the bare number, since its first
  argument is always a group;
* a **face** by its id (``faceorganizer faces`` prints them).

Every command takes ``--catalog C`` (default: the user's catalog; ``FACEORGANIZER_CATALOG``).
Exit status: 0 done, 1 error (printed as ``faceorganizer: error: ...``), 2 bad usage.
Nothing heavy is imported until a command runs (scikit-learn only for ``cluster``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import FaceOrganizerError, PeopleError
from ._common import add_catalog_option

#: Keys of ``faces --json`` (the fixed contract, plus ``id``).
FACE_KEYS = ("id", "path", "box", "prob", "person", "cluster", "assigned")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the people commands."""
    p = subparsers.add_parser(
        "people",
        help="list people and unnamed groups",
        description="List named people (by name) then unnamed groups (largest first). Groups are written "
        "#12 (or group:12) in the other commands.",
    )
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.add_argument("--all", action="store_true", help="include hidden people")
    p.add_argument("--photos", action="store_true", help="list each person's and group's photos too")
    add_catalog_option(p)
    p.set_defaults(func=_people)

    p = subparsers.add_parser("faces", help="list faces (JSON contract with --json)")
    p.add_argument(
        "--json",
        action="store_true",
        help="print a JSON array: path, box, prob, person, cluster, assigned, id",
    )
    who = p.add_mutually_exclusive_group()
    who.add_argument("--person", metavar="NAME", help="only this person's faces (suggestions included)")
    who.add_argument("--group", metavar="GROUP", help="only this unnamed group's faces (#12 or 12)")
    who.add_argument(
        "--unassigned", action="store_true", help="only faces without a person, similar ones together"
    )
    add_catalog_option(p)
    p.set_defaults(func=_faces)

    p = subparsers.add_parser("name", help="name an unnamed group (creates a person)")
    p.add_argument("group", metavar="GROUP", help="group id: #12, group:12 or 12")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--merge", action="store_true", help="when NAME exists, add the group to that person")
    add_catalog_option(p)
    p.set_defaults(func=_name)

    p = subparsers.add_parser("merge", help="merge people or groups: merge A [A...] B puts A into B")
    p.add_argument(
        "refs", nargs="+", metavar="A", help="person names or groups (#12); the last one is the target"
    )
    add_catalog_option(p)
    p.set_defaults(func=_merge)

    p = subparsers.add_parser("move", help="move faces to a person (created when new)")
    p.add_argument("faces", nargs="+", type=int, metavar="FACE")
    p.add_argument("--to", required=True, metavar="NAME")
    add_catalog_option(p)
    p.set_defaults(func=_move)

    p = subparsers.add_parser("not", help='remove faces from a person, remembered as "not this person"')
    p.add_argument("faces", nargs="+", type=int, metavar="FACE")
    p.add_argument("--person", required=True, metavar="NAME")
    add_catalog_option(p)
    p.set_defaults(func=_not)

    p = subparsers.add_parser("confirm", help="accept pending suggestions")
    p.add_argument("faces", nargs="+", type=int, metavar="FACE")
    add_catalog_option(p)
    p.set_defaults(func=_confirm)

    p = subparsers.add_parser("reject", help='decline pending suggestions ("not this person")')
    p.add_argument("faces", nargs="+", type=int, metavar="FACE")
    add_catalog_option(p)
    p.set_defaults(func=_reject)

    p = subparsers.add_parser("ignore", help="ignore faces (strangers, not a face)")
    p.add_argument("faces", nargs="+", type=int, metavar="FACE")
    p.add_argument("--restore", action="store_true", help="stop ignoring them")
    add_catalog_option(p)
    p.set_defaults(func=_ignore)

    p = subparsers.add_parser("cluster", help="group the undecided faces again")
    p.add_argument(
        "--sensitivity",
        type=float,
        metavar="S",
        help="0 (strict: more, purer groups) .. 1 (loose); stored in the catalog (default 0.5)",
    )
    p.add_argument("--model", metavar="NAME", help="embedding model (default: the catalog's)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_catalog_option(p)
    p.set_defaults(func=_cluster)

    p = subparsers.add_parser("undo", help="undo the latest people operation")
    add_catalog_option(p)
    p.set_defaults(func=_undo)

    p = subparsers.add_parser("redo", help="redo the latest undone operation")
    add_catalog_option(p)
    p.set_defaults(func=_redo)

    p = subparsers.add_parser("hide", help="hide a person from the people list")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--show", action="store_true", help="show the person again")
    add_catalog_option(p)
    p.set_defaults(func=_hide)

    p = subparsers.add_parser("rename", help="rename a person")
    p.add_argument("old", metavar="OLD")
    p.add_argument("new", metavar="NEW")
    p.add_argument("--merge", action="store_true", help="when NEW exists, merge OLD into it")
    add_catalog_option(p)
    p.set_defaults(func=_rename)

    p = subparsers.add_parser("delete-person", help="delete a person (their faces become unassigned)")
    p.add_argument("name", metavar="NAME")
    add_catalog_option(p)
    p.set_defaults(func=_delete)


# ---------------------------------------------------------------------------- helpers
def _open(args: argparse.Namespace):
    from ..catalog import open_catalog
    from ..paths import default_catalog_path

    path = args.catalog if args.catalog is not None else default_catalog_path()
    if not Path(path).is_file():
        raise FaceOrganizerError(f"no catalog at {path}; scan a folder first (faceorganizer scan PATH)")
    return open_catalog(path)


def parse_group(text: str, *, bare: bool = False) -> int | None:
    """The group id of ``#12`` / ``group:12`` (and ``12`` when ``bare``), else None."""
    t = text.strip()
    for prefix in ("#", "group:"):
        if t.lower().startswith(prefix):
            digits = t[len(prefix) :].strip()
            if not digits.isdigit():
                raise PeopleError(f"{text!r}: a group is written #12 or group:12")
            return int(digits)
    if bare and t.isdigit():
        return int(t)
    return None


def _person_id(cat, name: str) -> int:
    from ..people import person_by_name

    pid = person_by_name(cat, name)
    if pid is None:
        raise PeopleError(f"no person named {name!r} (see: faceorganizer people --all)")
    return pid


def _ref(cat, text: str) -> tuple[str, int]:
    group = parse_group(text)
    if group is not None:
        return ("group", group)
    return ("person", _person_id(cat, text))


def _describe(cat, ref: tuple[str, int]) -> str:
    if ref[0] == "group":
        return f"#{ref[1]}"
    return str(cat.scalar("SELECT name FROM people WHERE id = ?", (ref[1],)))


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


# ---------------------------------------------------------------------------- commands
def _people(args: argparse.Namespace) -> int:
    from ..people import faces_of, list_people

    with _open(args) as cat:
        rows = list_people(cat, include_hidden=args.all)
        photos: dict[int, list[str]] = {}
        if args.photos:
            for i, p in enumerate(rows):
                faces = (
                    faces_of(cat, person_id=p.id)
                    if p.id is not None
                    else faces_of(cat, cluster_id=p.cluster_id)
                )
                paths = {f["path"] for f in faces if f.get("assigned") != "suggested"}
                photos[i] = sorted(paths)
    if args.json:
        out = []
        for i, p in enumerate(rows):
            d = p.as_dict()
            d["kind"] = "person" if p.id is not None else "group"
            d["ref"] = p.name if p.id is not None else f"#{p.cluster_id}"
            if args.photos:
                d["photos"] = photos[i]
            out.append(d)
        _print_json(out)
        return 0
    if not rows:
        print("no people or groups yet (scan a folder, then: faceorganizer cluster)")
        return 0
    width = max(len(p.name or f"#{p.cluster_id}") for p in rows)
    for i, p in enumerate(rows):
        label = p.name if p.id is not None else f"#{p.cluster_id}"
        extra = []
        if p.id is None:
            extra.append("unnamed group")
        if p.suggested_count:
            extra.append(f"{p.suggested_count} suggested")
        if p.hidden:
            extra.append("hidden")
        tail = f"  ({', '.join(extra)})" if extra else ""
        print(f"{label:<{width}}  {p.face_count:6d} face(s){tail}")
        for path in photos.get(i, ()):
            print(f"    {path}")
    return 0


def _faces(args: argparse.Namespace) -> int:
    from ..people import faces_of, unassigned_faces

    with _open(args) as cat:
        if args.person is not None:
            faces = faces_of(cat, person_id=_person_id(cat, args.person))
        elif args.group is not None:
            gid = parse_group(args.group, bare=True)
            if gid is None:
                raise PeopleError(f"{args.group!r}: a group is written #12, group:12 or 12")
            faces = faces_of(cat, cluster_id=gid)
        elif args.unassigned:
            faces = unassigned_faces(cat)
        else:
            faces = faces_of(cat)
    if args.json:
        _print_json([{k: f[k] for k in FACE_KEYS} for f in faces])
        return 0
    for f in faces:
        who = (
            f["person"]
            if f["person"] is not None
            else (f"#{f['cluster']}" if f["cluster"] is not None else "-")
        )
        box = ",".join(f"{v:.0f}" for v in f["box"])
        print(f"{f['id']:>8}  {who:<20} {f['assigned'] or '-':<9} [{box}]  {f['path']}")
    return 0


def _name(args: argparse.Namespace) -> int:
    from ..people import name_group

    gid = parse_group(args.group, bare=True)
    if gid is None:
        raise PeopleError(
            f"{args.group!r}: a group is written #12, group:12 or 12 (see: faceorganizer people)"
        )
    with _open(args) as cat:
        name_group(cat, gid, args.name, merge=args.merge)
        print(f"named group #{gid} {args.name.strip()!r}")
    return 0


def _merge(args: argparse.Namespace) -> int:
    from ..people import merge

    if len(args.refs) < 2:
        raise PeopleError("merge needs at least two arguments: merge A B puts A into B")
    with _open(args) as cat:
        refs = [_ref(cat, r) for r in args.refs]
        sources, target = refs[:-1], refs[-1]
        merge(cat, sources, target)
        print(f"merged {', '.join(args.refs[:-1])} into {_describe(cat, target)}")
    return 0


def _move(args: argparse.Namespace) -> int:
    from ..people import name_faces

    with _open(args) as cat:
        name_faces(cat, args.faces, args.to, merge=True)
        print(f"moved {len(set(args.faces))} face(s) to {args.to.strip()!r}")
    return 0


def _not(args: argparse.Namespace) -> int:
    from ..people import not_person

    with _open(args) as cat:
        not_person(cat, args.faces, _person_id(cat, args.person))
        print(f"{len(set(args.faces))} face(s) marked as not {args.person!r}")
    return 0


def _confirm(args: argparse.Namespace) -> int:
    from ..people import confirm_suggestions

    with _open(args) as cat:
        confirm_suggestions(cat, args.faces)
        print(f"confirmed {len(set(args.faces))} suggestion(s)")
    return 0


def _reject(args: argparse.Namespace) -> int:
    from ..people import reject_suggestions

    with _open(args) as cat:
        reject_suggestions(cat, args.faces)
        print(f"rejected {len(set(args.faces))} suggestion(s)")
    return 0


def _ignore(args: argparse.Namespace) -> int:
    from ..people import ignore_faces

    with _open(args) as cat:
        ignore_faces(cat, args.faces, ignored=not args.restore)
        print(f"{'restored' if args.restore else 'ignored'} {len(set(args.faces))} face(s)")
    return 0


def _cluster(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from ..people import cluster

    with _open(args) as cat:
        s = cluster(cat, model=args.model, sensitivity=args.sensitivity)
    if args.json:
        _print_json(asdict(s))
        return 0
    if s.model is None:
        print("no embeddings in this catalog yet: scan a folder first")
        return 0
    print(
        f"{s.faces} undecided face(s) with model {s.model} (eps {s.eps:.3f}, {s.min_samples}-face cores, "
        f"sensitivity {s.sensitivity:g}): {s.groups} group(s) holding {s.grouped} face(s), "
        f"{s.noise} ungrouped, "
        f"{s.auto} attached to named people, {s.suggested} suggestion(s); {s.elapsed_s:.1f} s"
    )
    return 0


def _undo(args: argparse.Namespace) -> int:
    with _open(args) as cat:
        label = cat.undo()
    print(f"undone: {label}" if label else "nothing to undo")
    return 0


def _redo(args: argparse.Namespace) -> int:
    with _open(args) as cat:
        label = cat.redo()
    print(f"redone: {label}" if label else "nothing to redo")
    return 0


def _hide(args: argparse.Namespace) -> int:
    from ..people import hide_person

    with _open(args) as cat:
        hide_person(cat, _person_id(cat, args.name), hidden=not args.show)
    print(f"{'shown' if args.show else 'hidden'}: {args.name}")
    return 0


def _rename(args: argparse.Namespace) -> int:
    from ..people import rename_person

    with _open(args) as cat:
        rename_person(cat, _person_id(cat, args.old), args.new, merge=args.merge)
    print(f"renamed {args.old!r} to {args.new.strip()!r}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    from ..people import delete_person

    with _open(args) as cat:
        delete_person(cat, _person_id(cat, args.name))
    print(f"deleted {args.name!r} (their faces are unassigned)")
    return 0
