"""``blazepose opensim fetch | verify | path``: the OpenSim set-up files (``models.opensim_setup``).

``fetch`` downloads Pose2Sim's wheel once (``pip download --no-deps``, about 51 MB), keeps only
the BlazePose marker set, the scaling and IK set-ups, the model and its meshes (about 4 MB, each
checked by sha256) in the user cache folder; ``setup.sh`` runs it. ``verify`` checks them again,
``path`` prints their folder.
"""
from __future__ import annotations


def cmd_opensim(args) -> int:
    from ..models import opensim_setup

    if args.action == "path":
        print(opensim_setup.setup_dir())
        return 0
    if args.action == "fetch":
        print(opensim_setup.fetch())
        return 0
    state = opensim_setup.status()
    print(f"{opensim_setup.setup_dir()}: {state}" + ("" if state == "ok" else " (`blazepose opensim fetch` fetches them)"))
    return 0 if state == "ok" else 1


def register(subparsers) -> None:
    p = subparsers.add_parser("opensim", help="fetch, verify or locate the OpenSim set-up files (Pose2Sim's)")
    p.add_argument("action", choices=["fetch", "verify", "path"])
    p.set_defaults(func=cmd_opensim)
