"""``faceorganizer weights``: list, verify, download and import pretrained weight files."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..paths import cache_dir
from ..vision.errors import WeightsError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``weights`` command."""
    parser = subparsers.add_parser(
        "weights",
        help="list, verify, download or import pretrained weights",
        description=f"Manage pretrained weights. Cache folder: {cache_dir()} "
        "(set FACEORGANIZER_CACHE to change it).",
    )
    sub = parser.add_subparsers(dest="weights_command", metavar="ACTION", required=True)

    p = sub.add_parser("list", help="show the registry and what is cached")
    p.set_defaults(func=_list)

    p = sub.add_parser("verify", help="check cached files (size, sha256, structure)")
    p.add_argument("names", nargs="*", help="registry names (default: every cached file)")
    p.set_defaults(func=_verify)

    p = sub.add_parser("download", help="download weights into the cache")
    p.add_argument("names", nargs="+", help="registry names, e.g. vggface2 pnet rnet onet")
    p.set_defaults(func=_download)

    p = sub.add_parser(
        "import",
        help="check a manually downloaded file and place it in the cache",
        description="Check files you downloaded yourself and copy them into the cache. The "
        "registry entry is found from the file name (e.g. 20180402-114759-vggface2.pt, "
        "pnet.pt) or its sha256, or given with --name.",
    )
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--name", help="registry name (only with a single file)")
    p.set_defaults(func=_import)


def _list(args: argparse.Namespace) -> int:
    from ..vision.weights import find_local, list_specs

    print(f"cache: {cache_dir()}")
    header = f"{'name':<14} {'architecture':<20} {'size':>9} {'LFW':>7}  status"
    print(header)
    print("-" * len(header))
    for spec in list_specs():
        local = find_local(spec)
        status = f"cached at {local}" if local else "not downloaded"
        lfw = spec.meta.get("lfw_accuracy")
        lfw_text = f"{lfw:.4f}" if lfw else "-"
        print(f"{spec.name:<14} {spec.architecture:<20} {spec.approx_size:>9} {lfw_text:>7}  {status}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from ..vision.models import strict_validator
    from ..vision.weights import find_local, get_spec, list_specs, load_state_dict, verify

    specs = [get_spec(n) for n in args.names] if args.names else list_specs()
    failures = 0
    checked = 0
    for spec in specs:
        local = find_local(spec)
        if local is None:
            if args.names:
                print(f"MISSING {spec.name}: not in {cache_dir()}")
                failures += 1
            continue
        checked += 1
        problem = verify(spec, local)
        if problem is None and spec.meta.get("format") is None:  # other formats: size and sha256 only
            try:
                load_state_dict(local, validate=strict_validator(spec))
            except WeightsError as e:
                problem = str(e)
        if problem:
            failures += 1
            print(f"FAILED  {spec.name}: {local}: {problem}")
        else:
            print(f"OK      {spec.name}: {local}")
    if checked == 0 and not args.names:
        print(f"no weights cached in {cache_dir()}")
    return 1 if failures else 0


def _download(args: argparse.Namespace) -> int:
    from ..vision.weights import resolve

    for name in args.names:
        path = resolve(name)
        print(f"{name}: {path}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from ..vision.models import strict_validator
    from ..vision.weights import get_spec, import_file, list_specs
    from ..vision.weights.hub import registry_name_for_file

    if args.name and len(args.files) != 1:
        raise WeightsError("--name applies to a single file")
    for file in args.files:
        name = args.name or registry_name_for_file(file)
        if name is None:
            known = ", ".join(s.file_name for s in list_specs())
            raise WeightsError(
                f"{file}: cannot tell which weights this is; pass --name (file names: {known})"
            )
        spec = get_spec(name)
        target = import_file(name, file, validate=strict_validator(spec))
        print(f"{name}: imported {file} -> {target}")
    return 0
